/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "zcp-ring.h"

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

bool
zcp_ring_push (struct zcp_shm_slot *slot, const struct zcp_shm_desc *desc)
{
  uint32_t write_index =
      atomic_load_explicit (&slot->write_index, memory_order_relaxed);
  /* acquire; pairs with the release store in zcp_ring_pop: the consumer is
   * done reading the entry we are about to overwrite. */
  uint32_t read_index =
      atomic_load_explicit (&slot->read_index, memory_order_acquire);

  /* A hostile consumer may move read_index anywhere: anything but a fill in
   * [0, capacity) counts as full, so we never write outside the ring. */
  if (write_index - read_index >= ZCP_RING_CAPACITY)
    return false;

  slot->ring[write_index % ZCP_RING_CAPACITY] = *desc;
  /* release; pairs with the acquire load in zcp_ring_pop */
  atomic_store_explicit (&slot->write_index, write_index + 1,
      memory_order_release);
  return true;
}

int
zcp_ring_pop (struct zcp_shm_slot *slot, struct zcp_shm_desc *desc)
{
  uint32_t read_index =
      atomic_load_explicit (&slot->read_index, memory_order_relaxed);
  /* acquire; pairs with the release store in zcp_ring_push */
  uint32_t write_index =
      atomic_load_explicit (&slot->write_index, memory_order_acquire);
  uint32_t fill = write_index - read_index;

  if (fill == 0)
    return 0;
  if (fill > ZCP_RING_CAPACITY)
    return -EPROTO;

  /* Copy out before handing the entry back: from the release below on, the
   * producer may overwrite it. */
  memcpy (desc, &slot->ring[read_index % ZCP_RING_CAPACITY], sizeof *desc);
  /* release; pairs with the acquire load in zcp_ring_push */
  atomic_store_explicit (&slot->read_index, read_index + 1,
      memory_order_release);
  return 1;
}

void
zcp_ring_reset (struct zcp_shm_slot *slot)
{
  atomic_store_explicit (&slot->write_index, 0, memory_order_relaxed);
  atomic_store_explicit (&slot->read_index, 0, memory_order_relaxed);
}
