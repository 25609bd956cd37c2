/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "zcp-ring.h"

/* Entries are copied a 64-bit word at a time with relaxed atomics: a taker
 * may read an entry while the producer rewrites it (after another taker
 * moved read_index on), and such a copy is thrown away when its CAS fails.
 * Word-wise atomics make that race benign instead of undefined. */
#define DESC_WORDS (sizeof (struct zcp_shm_desc) / sizeof (uint64_t))
_Static_assert (sizeof (struct zcp_shm_desc) % sizeof (uint64_t) == 0,
    "descriptors are copied in 64-bit words");
_Static_assert (_Alignof (struct zcp_shm_desc) >= _Alignof (uint64_t),
    "descriptors are 64-bit aligned");

static void
store_desc (struct zcp_shm_desc *entry, const struct zcp_shm_desc *desc)
{
  uint64_t words[DESC_WORDS];

  memcpy (words, desc, sizeof words);
  for (size_t w = 0; w < DESC_WORDS; w++)
    __atomic_store_n ((uint64_t *) entry + w, words[w], __ATOMIC_RELAXED);
}

static void
load_desc (struct zcp_shm_desc *desc, const struct zcp_shm_desc *entry)
{
  uint64_t words[DESC_WORDS];

  for (size_t w = 0; w < DESC_WORDS; w++)
    words[w] = __atomic_load_n ((const uint64_t *) entry + w, __ATOMIC_RELAXED);
  memcpy (desc, words, sizeof words);
}

uint32_t
zcp_ring_fill (struct zcp_shm_slot *slot)
{
  /* acquire; pairs with the release stores in zcp_ring_push/zcp_ring_pop */
  uint32_t write_index =
      atomic_load_explicit (&slot->write_index, memory_order_acquire);
  uint32_t read_index =
      atomic_load_explicit (&slot->read_index, memory_order_acquire);
  uint32_t fill = write_index - read_index;

  return fill <= ZCP_RING_CAPACITY ? fill : UINT32_MAX;
}

uint32_t
zcp_ring_count_buffers (struct zcp_shm_slot *slot)
{
  uint32_t write_index =
      atomic_load_explicit (&slot->write_index, memory_order_acquire);
  uint32_t read_index =
      atomic_load_explicit (&slot->read_index, memory_order_acquire);
  uint32_t fill = write_index - read_index, buffers = 0;

  /* Entries between the indices stay as they are until taken; one taken
   * meanwhile makes the count high by one, which errs on the safe side. */
  if (fill > ZCP_RING_CAPACITY)
    return UINT32_MAX;
  for (uint32_t i = read_index; i != write_index; i++)
    if (slot->ring[i % ZCP_RING_CAPACITY].kind == ZCP_SHM_DESC_KIND_BUFFER)
      buffers++;
  return buffers;
}

bool
zcp_ring_holds_records (struct zcp_shm_slot *slot, uint64_t number)
{
  uint32_t write_index =
      atomic_load_explicit (&slot->write_index, memory_order_acquire);
  uint32_t read_index =
      atomic_load_explicit (&slot->read_index, memory_order_acquire);

  if (write_index - read_index > ZCP_RING_CAPACITY)
    return false;
  for (uint32_t i = read_index; i != write_index; i++) {
    const struct zcp_shm_desc *desc = &slot->ring[i % ZCP_RING_CAPACITY];

    /* Buffers without metas and end-of-stream have number 0, which no
     * record has. */
    if (desc->event_number == number)
      return true;
  }
  return false;
}

bool
zcp_ring_push (struct zcp_shm_slot *slot, const struct zcp_shm_desc *desc)
{
  uint32_t write_index =
      atomic_load_explicit (&slot->write_index, memory_order_relaxed);
  /* acquire; pairs with the release CAS in zcp_ring_pop: whoever took the
   * entry we are about to overwrite has copied it. */
  uint32_t read_index =
      atomic_load_explicit (&slot->read_index, memory_order_acquire);

  /* A hostile consumer may move read_index anywhere: anything but a fill in
   * [0, capacity) counts as full, so we never write outside the ring. */
  if (write_index - read_index >= ZCP_RING_CAPACITY)
    return false;

  store_desc (&slot->ring[write_index % ZCP_RING_CAPACITY], desc);
  /* release; pairs with the acquire load in zcp_ring_pop */
  atomic_store_explicit (&slot->write_index, write_index + 1,
      memory_order_release);
  return true;
}

/* Takes the oldest entry, if @only_buffers is false or it is a buffer. */
static int
take_head (struct zcp_shm_slot *slot, struct zcp_shm_desc *desc,
    bool only_buffers)
{
  uint32_t read_index =
      atomic_load_explicit (&slot->read_index, memory_order_acquire);

  for (;;) {
    /* acquire; pairs with the release store in zcp_ring_push */
    uint32_t write_index =
        atomic_load_explicit (&slot->write_index, memory_order_acquire);
    uint32_t fill = write_index - read_index;

    if (fill == 0)
      return 0;
    if (fill > ZCP_RING_CAPACITY)
      return -EPROTO;

    /* Copy first, then claim the entry: once read_index moves on, the
     * producer may overwrite it.  If another taker claimed it first, the
     * CAS fails, reloads read_index and we look again. */
    load_desc (desc, &slot->ring[read_index % ZCP_RING_CAPACITY]);
    if (only_buffers && desc->kind != ZCP_SHM_DESC_KIND_BUFFER) {
      /* Unless the entry moved under us, the head is an event. */
      uint32_t now = atomic_load_explicit (&slot->read_index,
          memory_order_acquire);
      if (now == read_index)
        return 0;
      read_index = now;
      continue;
    }
    /* release: our copy is done before the producer reuses the entry;
     * acquire on failure: the fresh read_index orders the next copy. */
    if (atomic_compare_exchange_weak_explicit (&slot->read_index, &read_index,
            read_index + 1, memory_order_acq_rel, memory_order_acquire))
      return 1;
  }
}

int
zcp_ring_pop (struct zcp_shm_slot *slot, struct zcp_shm_desc *desc)
{
  return take_head (slot, desc, false);
}

int
zcp_ring_take_buffer (struct zcp_shm_slot *slot, struct zcp_shm_desc *desc)
{
  return take_head (slot, desc, true);
}

void
zcp_ring_reset (struct zcp_shm_slot *slot)
{
  atomic_store_explicit (&slot->write_index, 0, memory_order_relaxed);
  atomic_store_explicit (&slot->read_index, 0, memory_order_relaxed);
}
