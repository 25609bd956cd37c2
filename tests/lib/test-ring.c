/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Descriptor rings: order, wrap-around, full, hostile indices, and two
 * takers racing for the head. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "tap.h"
#include "zcp-private.h"
#include "zcp-ring.h"

static struct zcp_shm_slot slot;

static struct zcp_shm_desc
desc_with (uint64_t sequence)
{
  struct zcp_shm_desc desc = {.kind = ZCP_SHM_DESC_KIND_BUFFER };

  desc.sequence = sequence;
  return desc;
}

static void
test_order_and_full (void)
{
  struct zcp_shm_desc out;
  bool order_kept = true;
  uint32_t pushed = 0;

  zcp_ring_reset (&slot);
  is_int (zcp_ring_pop (&slot, &out), 0, "an empty ring pops nothing");
  while (zcp_ring_push (&slot, &(struct zcp_shm_desc) {.sequence = pushed }))
    pushed++;
  is_int (pushed, ZCP_RING_CAPACITY, "a ring takes exactly its capacity");
  is_int (zcp_ring_fill (&slot), ZCP_RING_CAPACITY, "and says it is full");

  for (uint32_t i = 0; i < pushed; i++)
    order_kept &= zcp_ring_pop (&slot, &out) == 1 && out.sequence == i;
  ok (order_kept, "entries come out in the order they went in");
  is_int (zcp_ring_fill (&slot), 0, "and the ring is empty again");
}

static void
test_wrap_around (void)
{
  struct zcp_shm_desc out;
  bool order_kept = true;

  /* Free-running indices cross 2^32 without a hiccup. */
  atomic_store (&slot.write_index, UINT32_MAX - 5);
  atomic_store (&slot.read_index, UINT32_MAX - 5);
  for (uint64_t i = 0; i < 3 * ZCP_RING_CAPACITY; i++) {
    order_kept &= zcp_ring_push (&slot, &(struct zcp_shm_desc) {
          .sequence = i
        });
    order_kept &= zcp_ring_pop (&slot, &out) == 1 && out.sequence == i;
  }
  ok (order_kept, "order holds across the 2^32 wrap of the indices");
  ok (atomic_load (&slot.write_index) < 1000, "the indices did wrap");
  (void) desc_with;
}

static void
test_hostile_indices (void)
{
  struct zcp_shm_desc out;

  zcp_ring_reset (&slot);
  /* A consumer that claims to have read more than was written. */
  atomic_store (&slot.read_index, 10);
  atomic_store (&slot.write_index, 5);
  is_int (zcp_ring_pop (&slot, &out), -EPROTO,
      "pop refuses indices further apart than the capacity");
  ok (!zcp_ring_push (&slot, &out), "push refuses them too");
  is_int (zcp_ring_fill (&slot), UINT32_MAX, "fill reports them");
  zcp_ring_reset (&slot);
}

#define RACE_ENTRIES 200000u
#define RACE_EVENT_EVERY 7u

struct taker
{
  bool only_buffers;
  atomic_bool *done;
  uint8_t *taken;               /* per sequence: how often it was taken */
  bool in_order;
  bool took_event;
  uint32_t count;
  atomic_bool took_any;         /* read by the pusher while we run */
};

static void *
take_all (void *data)
{
  struct taker *taker = data;
  uint64_t last = 0;
  bool first = true;

  for (;;) {
    struct zcp_shm_desc out;
    int ret = taker->only_buffers ? zcp_ring_take_buffer (&slot, &out) :
        zcp_ring_pop (&slot, &out);

    if (ret == 1) {
      if (out.sequence < RACE_ENTRIES)
        __atomic_fetch_add (&taker->taken[out.sequence], 1, __ATOMIC_RELAXED);
      if (!first && out.sequence <= last)
        taker->in_order = false;
      if (out.kind != ZCP_SHM_DESC_KIND_BUFFER)
        taker->took_event = true;
      last = out.sequence;
      first = false;
      if (taker->count++ == 0)
        atomic_store_explicit (&taker->took_any, true, memory_order_relaxed);
    } else if (atomic_load (taker->done) && zcp_ring_fill (&slot) == 0) {
      return NULL;
    }
  }
}

/* The subscriber pops while the publisher takes the oldest buffers back
 * (leaky=downstream): every entry is taken exactly once, each taker sees
 * them in order, and the publisher never takes an event. */
static void
test_two_takers (void)
{
  uint8_t *taken = calloc (RACE_ENTRIES, 1);
  atomic_bool done = false;
  struct taker subscriber = { false, &done, taken, true, false, 0, false };
  struct taker dropper = { true, &done, taken, true, false, 0, false };
  pthread_t threads[2];
  bool each_once = true;
  int64_t give_up = zcp_now_ns () + 10 * (int64_t) 1000000000;

  zcp_ring_reset (&slot);
  pthread_create (&threads[0], NULL, take_all, &subscriber);
  pthread_create (&threads[1], NULL, take_all, &dropper);
  for (uint32_t i = 0; i < RACE_ENTRIES; i++) {
    struct zcp_shm_desc desc = desc_with (i);

    if (i % RACE_EVENT_EVERY == 0)
      desc.kind = ZCP_SHM_DESC_KIND_EOS;
    while (!zcp_ring_push (&slot, &desc));
  }
  /* On a loaded machine the dropper may not have run yet: more buffers (past
   * the counted ones) until it has taken one, so that the race did happen. */
  for (uint32_t i = RACE_ENTRIES; !atomic_load (&dropper.took_any) &&
      zcp_now_ns () < give_up; i++) {
    struct zcp_shm_desc desc = desc_with (i);

    while (!zcp_ring_push (&slot, &desc));
  }
  atomic_store (&done, true);
  pthread_join (threads[0], NULL);
  pthread_join (threads[1], NULL);

  for (uint32_t i = 0; i < RACE_ENTRIES; i++)
    each_once &= taken[i] == 1;
  ok (each_once, "each of %u entries taken exactly once", RACE_ENTRIES);
  ok (subscriber.in_order && dropper.in_order, "each taker in order");
  ok (!dropper.took_event, "the dropper never took an event");
  ok (dropper.count > 0 && subscriber.count > RACE_ENTRIES / RACE_EVENT_EVERY,
      "both took entries (dropper %u, subscriber %u)", dropper.count,
      subscriber.count);
  free (taken);
}

int
main (void)
{
  test_order_and_full ();
  test_wrap_around ();
  test_hostile_indices ();
  test_two_takers ();
  return tap_done ();
}
