/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zcp-event.h"
#include "zcp-pool.h"
#include "zcp-private.h"

struct zcp_control *
zcp_control_new (const char *channel, int fd, void *base)
{
  struct zcp_control *control = calloc (1, sizeof *control);

  if (!control)
    return NULL;

  atomic_init (&control->refs, 1);
  control->fd = fd;
  control->base = base;
  control->header = base;
  control->pools = (struct zcp_shm_pool *) (control->base + ZCP_POOLS_OFFSET);
  control->masks = (_Atomic uint64_t *) (control->base + ZCP_MASKS_OFFSET);
  control->published = (_Atomic uint64_t *) (control->base +
      ZCP_PUBLISHED_OFFSET);
  control->caps = (struct zcp_shm_caps *) (control->base + ZCP_CAPS_OFFSET);
  control->slots = (struct zcp_shm_slot *) (control->base + ZCP_SLOTS_OFFSET);
  control->events = (struct zcp_shm_event_record *) (control->base +
      ZCP_EVENTS_OFFSET);
  control->sticky = control->events + ZCP_EVENT_RECORDS;
  control->epoch = control->header->epoch;
  {
    struct stat st;
    control->owner = fstat (fd, &st) == 0 ? (uint32_t) st.st_uid : UINT32_MAX;
  }
  snprintf (control->channel, sizeof control->channel, "%s", channel);
  return control;
}

int
zcp_control_open (const char *channel, bool writable, struct zcp_control **out)
{
  char name[ZCP_SHM_NAME_SIZE];
  struct zcp_control *control;
  void *base;
  int fd, ret;

  ret = zcp_segment_control_name (channel, name, sizeof name);
  if (ret < 0)
    return ret;
  ret = zcp_segment_open (name, writable, ZCP_CONTROL_SIZE, &fd, &base);
  if (ret < 0)
    return ret;
  ret = zcp_segment_validate_header (base);
  control = ret == 0 ? zcp_control_new (channel, fd, base) : NULL;
  if (!control) {
    munmap (base, ZCP_CONTROL_SIZE);
    close (fd);
    return ret < 0 ? ret : -ENOMEM;
  }
  *out = control;
  return 0;
}

struct zcp_control *
zcp_control_ref (struct zcp_control *control)
{
  atomic_fetch_add_explicit (&control->refs, 1, memory_order_relaxed);
  return control;
}

void
zcp_control_unref (struct zcp_control *control)
{
  /* acq_rel: the last owner must see every other owner's writes before it
   * unmaps. */
  if (atomic_fetch_sub_explicit (&control->refs, 1, memory_order_acq_rel) != 1)
    return;

  munmap (control->base, ZCP_CONTROL_SIZE);
  /* Closing the file drops this process's liveness tokens. */
  close (control->fd);
  free (control);
}

struct zcp_pool_map *
zcp_pool_map_new (struct zcp_control *control, uint32_t index,
    uint32_t generation, void *base, uint64_t mapped_size, uint64_t chunk_size,
    uint64_t chunk_stride, uint32_t chunk_count)
{
  struct zcp_pool_map *map = calloc (1, sizeof *map);

  if (!map)
    return NULL;

  atomic_init (&map->refs, 1);
  map->control = zcp_control_ref (control);
  map->base = base;
  map->mapped_size = mapped_size;
  map->chunk_size = chunk_size;
  map->chunk_stride = chunk_stride;
  map->chunk_count = chunk_count;
  map->index = index;
  map->generation = generation;
  return map;
}

int
zcp_pool_map_open (struct zcp_control *control, uint32_t index,
    uint32_t generation, bool writable, struct zcp_pool_map **out)
{
  struct zcp_shm_pool *entry;
  uint64_t chunk_size, chunk_stride, mapped_size;
  uint32_t chunk_count, state;
  char name[ZCP_SHM_NAME_SIZE];
  struct zcp_pool_map *map;
  void *base;
  int fd, ret;

  if (index >= ZCP_MAX_POOLS)
    return -EPROTO;
  entry = &control->pools[index];

  /* acquire; pairs with the release stores in publisher_create_pool: the
   * entry's fields were written before its generation and state. */
  state = atomic_load_explicit (&entry->state, memory_order_acquire);
  if (atomic_load_explicit (&entry->generation, memory_order_acquire) !=
      generation || state == ZCP_POOL_STATE_FREE)
    return -EPROTO;

  chunk_count = entry->chunk_count;
  chunk_size = entry->chunk_size;
  chunk_stride = entry->chunk_stride;

  if (chunk_count == 0 || chunk_count > ZCP_MAX_CHUNKS_PER_POOL ||
      chunk_size == 0 || chunk_size > chunk_stride ||
      __builtin_mul_overflow (chunk_stride, (uint64_t) chunk_count,
          &mapped_size) || mapped_size > entry->segment_size) {
    zcp_log (ZCP_LOG_WARNING, "channel %s: pool %u has an impossible shape "
        "(%u chunks of %" PRIu64 " bytes, stride %" PRIu64 ")",
        control->channel, index, chunk_count, chunk_size, chunk_stride);
    return -EPROTO;
  }

  /* The entry may have been reused while we read it. */
  atomic_thread_fence (memory_order_acquire);
  if (atomic_load_explicit (&entry->generation, memory_order_relaxed) !=
      generation)
    return -EPROTO;

  ret = zcp_segment_pool_name (control->channel, control->epoch, index,
      generation, name, sizeof name);
  if (ret < 0)
    return ret;
  ret = zcp_segment_open (name, writable, mapped_size, &fd, &base);
  if (ret < 0) {
    zcp_log (ZCP_LOG_WARNING, "channel %s: cannot map pool %s: %s",
        control->channel, name, strerror (-ret));
    return ret == -EAGAIN ? -EPROTO : ret;
  }
  /* A pool is the channel owner's, or a squatter's who guessed its name. */
  {
    struct stat st;

    if (fstat (fd, &st) != 0)
      ret = -errno;
    else if ((uint32_t) st.st_uid != control->owner) {
      zcp_log (ZCP_LOG_WARNING, "channel %s: pool %s belongs to uid %u, the "
          "channel to uid %u", control->channel, name, (unsigned) st.st_uid,
          control->owner);
      ret = -EPROTO;
    }
    if (ret < 0) {
      munmap (base, mapped_size);
      close (fd);
      return ret;
    }
  }
  /* The mapping keeps the pages; the descriptor is not needed any more. */
  close (fd);

  map = zcp_pool_map_new (control, index, generation, base, mapped_size,
      chunk_size, chunk_stride, chunk_count);
  if (!map) {
    munmap (base, mapped_size);
    return -ENOMEM;
  }
  *out = map;
  return 0;
}

struct zcp_pool_map *
zcp_pool_map_ref (struct zcp_pool_map *map)
{
  atomic_fetch_add_explicit (&map->refs, 1, memory_order_relaxed);
  return map;
}

void
zcp_pool_map_unref (struct zcp_pool_map *map)
{
  if (atomic_fetch_sub_explicit (&map->refs, 1, memory_order_acq_rel) != 1)
    return;

  munmap (map->base, map->mapped_size);
  zcp_control_unref (map->control);
  free (map);
}

void
zcp_pool_map_fill_chunk (struct zcp_pool_map *map, uint32_t chunk_index,
    uint32_t bit, struct zcp_chunk *chunk)
{
  chunk->map = zcp_pool_map_ref (map);
  chunk->data = map->base + map->chunk_stride * chunk_index;
  chunk->capacity = map->chunk_size;
  chunk->pool_index = map->index;
  chunk->pool_generation = map->generation;
  chunk->chunk_index = chunk_index;
  chunk->holder_bit = bit;
}

bool
zcp_control_clear_holder (struct zcp_control *control, uint32_t pool,
    uint32_t chunk, uint32_t bit)
{
  uint64_t bit_mask = UINT64_C (1) << bit;
  /* release: our reads of the chunk happen before its next writer's claim;
   * pairs with the acquire CAS in zcp_pool_try_claim. */
  uint64_t before = atomic_fetch_and_explicit (zcp_control_mask (control, pool,
          chunk), ~bit_mask, memory_order_release);

  if ((before & bit_mask) && (before & ~bit_mask) == 0) {
    zcp_event_signal (&control->header->publisher_event);
    return true;
  }
  return false;
}

void
zcp_chunk_release (struct zcp_chunk *chunk)
{
  struct zcp_pool_map *map = chunk->map;

  if (!map)
    return;

  zcp_control_clear_holder (map->control, map->index, chunk->chunk_index,
      chunk->holder_bit);
  chunk->map = NULL;
  chunk->data = NULL;
  zcp_pool_map_unref (map);
}

int
zcp_pool_try_claim (struct zcp_pool_map *map, uint32_t chunk_limit)
{
  /* Lowest free chunk first: the chunks freed last are the ones still in
   * the caches, and a lightly used pool keeps its working set (and the
   * chunks it reserves in /dev/shm) small. */
  for (uint32_t chunk = 0; chunk < map->chunk_count && chunk < chunk_limit;
      chunk++) {
    _Atomic uint64_t *mask = zcp_control_mask (map->control, map->index, chunk);
    uint64_t expected = 0;

    /* Free means mask == 0: there is no free list to corrupt.  acquire;
     * pairs with the release fetch_and in zcp_control_clear_holder. */
    if (atomic_load_explicit (mask, memory_order_relaxed) == 0 &&
        atomic_compare_exchange_strong_explicit (mask, &expected,
            UINT64_C (1) << ZCP_PUBLISHER_BIT, memory_order_acquire,
            memory_order_relaxed))
      return (int) chunk;
  }
  return -EAGAIN;
}

bool
zcp_pool_is_idle (struct zcp_control *control, uint32_t index)
{
  for (uint32_t chunk = 0; chunk < ZCP_MAX_CHUNKS_PER_POOL; chunk++)
    if (atomic_load_explicit (zcp_control_mask (control, index, chunk),
            memory_order_acquire) != 0)
      return false;
  return true;
}

int
zcp_control_read_caps (struct zcp_control *control, uint32_t generation,
    char **caps_out)
{
  struct zcp_shm_caps *entry = &control->caps[generation % ZCP_CAPS_ENTRIES];
  char *caps = malloc (sizeof entry->data);

  if (!caps)
    return -ENOMEM;

  /* seqlock reader; a writer rewrites an entry only every ZCP_CAPS_ENTRIES
   * renegotiations, so a few tries always suffice unless the publisher is
   * hostile. */
  for (int attempt = 0; attempt < 1000; attempt++) {
    /* acquire; pairs with the final release store of seq in
     * zcp_publisher_set_caps */
    uint32_t seq = atomic_load_explicit (&entry->seq, memory_order_acquire);
    uint32_t length, stored_generation;

    if (seq & 1)
      continue;
    stored_generation = atomic_load_explicit (&entry->generation,
        memory_order_relaxed);
    length = atomic_load_explicit (&entry->length, memory_order_relaxed);
    if (length >= sizeof entry->data)
      length = sizeof entry->data - 1;
    memcpy (caps, entry->data, length);
    /* acquire fence; pairs with the release fence in zcp_publisher_set_caps:
     * if the copy overlapped a write, seq has moved. */
    atomic_thread_fence (memory_order_acquire);
    if (atomic_load_explicit (&entry->seq, memory_order_relaxed) != seq)
      continue;

    if (stored_generation != generation) {
      free (caps);
      return -ESTALE;
    }
    caps[length] = '\0';
    *caps_out = caps;
    return 0;
  }
  free (caps);
  return -EAGAIN;
}
