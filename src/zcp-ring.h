/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "zcp-layout.h"

/*
 * A subscriber slot's descriptor ring: one producer (the publisher) and two
 * takers: the subscriber, and the publisher itself when it drops the oldest
 * entry of a leaky subscriber.  Takers claim the head entry with a CAS on
 * read_index, so each entry is taken exactly once.  Indices run free and wrap
 * at 2^32; the entry of index i is ring[i % ZCP_RING_CAPACITY].
 */

/* Entries the consumer has not taken yet, or UINT32_MAX if the indices are
 * inconsistent (only a corrupt or hostile segment does that). */
uint32_t zcp_ring_fill (struct zcp_shm_slot *slot);

/* Buffer descriptors among those entries (events do not count against a
 * subscriber's max-buffers), or UINT32_MAX like zcp_ring_fill. */
uint32_t zcp_ring_count_buffers (struct zcp_shm_slot *slot);

/* Whether an entry not taken yet names the records from @number on (an
 * event, or a buffer's metas); false if the indices are inconsistent. */
bool zcp_ring_holds_records (struct zcp_shm_slot *slot, uint64_t number);

/* Producer: false if the ring is full. */
bool zcp_ring_push (struct zcp_shm_slot *slot, const struct zcp_shm_desc *desc);

/* Taker: takes the oldest entry.  1 with *desc filled, 0 if empty, -EPROTO
 * if the indices are inconsistent. */
int zcp_ring_pop (struct zcp_shm_slot *slot, struct zcp_shm_desc *desc);

/* Taker: takes the oldest entry only if it is a buffer descriptor; 0 if the
 * ring is empty or its oldest entry is an event. */
int zcp_ring_take_buffer (struct zcp_shm_slot *slot,
    struct zcp_shm_desc *desc);

/* Empties the ring; only while no producer and no consumer run. */
void zcp_ring_reset (struct zcp_shm_slot *slot);
