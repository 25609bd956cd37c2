/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Descriptor rings: order, wrap-around, full, and hostile indices. */
#include <errno.h>

#include "tap.h"
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

int
main (void)
{
  test_order_and_full ();
  test_wrap_around ();
  test_hostile_indices ();
  return tap_done ();
}
