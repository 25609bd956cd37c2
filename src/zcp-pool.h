/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "zcp-layout.h"
#include "zcp-segment.h"
#include "zcp.h"

/*
 * The mapped control segment and the mapped pools of one process, both
 * reference counted: every chunk held by this process keeps its pool mapping,
 * and every pool mapping keeps the control segment (whose open file carries
 * this process's liveness token) alive.
 */
_Static_assert (ZCP_POOL_MAX_CHUNKS == ZCP_MAX_CHUNKS_PER_POOL, "pool size");
_Static_assert (ZCP_VIDEO_MAX_PLANES == ZCP_MAX_PLANES, "planes");
_Static_assert (ZCP_QUEUE_MAX == ZCP_RING_CAPACITY, "queue depth");
_Static_assert (ZCP_SUBSCRIBERS_MAX == ZCP_MAX_SUBSCRIBERS, "subscribers");
_Static_assert (ZCP_POOLS_MAX == ZCP_MAX_POOLS, "pools");

struct zcp_control
{
  atomic_int refs;
  int fd;
  uint8_t *base;
  struct zcp_shm_header *header;
  struct zcp_shm_pool *pools;
  _Atomic uint64_t *masks;
  _Atomic uint64_t *published;  /* when each chunk was last published */
  struct zcp_shm_caps *caps;
  struct zcp_shm_slot *slots;
  struct zcp_shm_event_record *events;  /* the ring of event records */
  /* ZCP_STICKY_PARTS records a sticky kind: kind k's from
   * k * ZCP_STICKY_PARTS on */
  struct zcp_shm_event_record *sticky;
  uint32_t epoch;
  uint32_t owner;               /* uid that made the channel */
  char channel[ZCP_CHANNEL_NAME_MAX + 1];
};

struct zcp_pool_map
{
  atomic_int refs;
  struct zcp_control *control;
  uint8_t *base;
  uint64_t mapped_size;
  uint64_t chunk_size;
  uint64_t chunk_stride;
  uint32_t chunk_count;
  uint32_t index;
  uint32_t generation;
};

/* Wraps a mapped control segment; takes ownership of @fd and the mapping. */
struct zcp_control *zcp_control_new (const char *channel, int fd, void *base);
/* Maps @channel's control segment (read-only unless @writable) and checks
 * its header against this build's layout: the errors of zcp_segment_open()
 * and zcp_segment_validate_header(). */
int zcp_control_open (const char *channel, bool writable,
    struct zcp_control **out) ZCP_WARN_UNUSED;
struct zcp_control *zcp_control_ref (struct zcp_control *control);
void zcp_control_unref (struct zcp_control *control);

/* The caps of @generation, as a string the caller frees; -ESTALE if the
 * publisher has since written a newer generation in its entry, -EAGAIN if
 * a hostile publisher never lets the seqlock settle.  Only reads. */
int zcp_control_read_caps (struct zcp_control *control, uint32_t generation,
    char **caps) ZCP_WARN_UNUSED;

/* What slot @s says of its subscriber (numbers it writes itself: fine to
 * report, not to trust).  Only reads.  Defined in zcp-publisher.c, beside
 * the readers of the queue policy it uses. */
void zcp_control_read_slot_info (struct zcp_control *control, uint32_t s,
    struct zcp_subscriber_info *info);

static inline _Atomic uint64_t *
zcp_control_mask (struct zcp_control *control, uint32_t pool, uint32_t chunk)
{
  return &control->masks[(uint64_t) pool * ZCP_MAX_CHUNKS_PER_POOL + chunk];
}

/* Maps pool @index of @control as its table entry describes it, after checking
 * every field of the entry against the layout's limits and the segment's real
 * size.  -EPROTO if the entry is not generation @generation or fails a
 * check. */
int zcp_pool_map_open (struct zcp_control *control, uint32_t index,
    uint32_t generation, bool writable, struct zcp_pool_map **out);

/* Wraps a pool segment this process has just created and mapped. */
struct zcp_pool_map *zcp_pool_map_new (struct zcp_control *control,
    uint32_t index, uint32_t generation, void *base, uint64_t mapped_size,
    uint64_t chunk_size, uint64_t chunk_stride, uint32_t chunk_count);

struct zcp_pool_map *zcp_pool_map_ref (struct zcp_pool_map *map);
void zcp_pool_map_unref (struct zcp_pool_map *map);

/* Fills @chunk as a hold of @bit on chunk @chunk_index of @map; takes a
 * reference to @map. */
void zcp_pool_map_fill_chunk (struct zcp_pool_map *map, uint32_t chunk_index,
    uint32_t bit, struct zcp_chunk *chunk);

/* Clears @bit in the mask of (@pool, @chunk) and wakes the publisher if that
 * freed the chunk.  True if this very call freed it: of several processes
 * that let go at once, exactly one sees that. */
bool zcp_control_clear_holder (struct zcp_control *control, uint32_t pool,
    uint32_t chunk, uint32_t bit);

/* Claims the lowest chunk of pool @map below @chunk_limit whose mask is 0.
 * Returns the chunk index, or -EAGAIN if every such chunk is held. */
int zcp_pool_try_claim (struct zcp_pool_map *map, uint32_t chunk_limit);

/* true if no process holds any chunk of pool @index. */
bool zcp_pool_is_idle (struct zcp_control *control, uint32_t index);
