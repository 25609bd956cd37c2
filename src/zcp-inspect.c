/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zcp-liveness.h"
#include "zcp-pool.h"
#include "zcp-private.h"

/* What a pool's file takes in /dev/shm: the chunks reserved so far.  0 if
 * it is gone; stat needs no right to read it. */
static uint64_t
pool_shm_bytes (const char *channel, uint32_t epoch, uint32_t index,
    uint32_t generation)
{
  char name[ZCP_SHM_NAME_SIZE], path[ZCP_SHM_NAME_SIZE + sizeof ZCP_SHM_DIR];
  struct stat st;

  if (zcp_segment_pool_name (channel, epoch, index, generation, name,
          sizeof name) < 0)
    return 0;
  snprintf (path, sizeof path, ZCP_SHM_DIR "%s", name);
  if (stat (path, &st) != 0)
    return 0;
  return (uint64_t) st.st_blocks * 512;
}

const char *
zcp_leaky_nick (enum zcp_leaky leaky)
{
  switch (leaky) {
    case ZCP_LEAKY_UPSTREAM:
      return "upstream";
    case ZCP_LEAKY_DOWNSTREAM:
      return "downstream";
    default:
      return "no";
  }
}

/* Over the chunks of the pools in @snapshot that slot @s has its bit on. */
static uint64_t
oldest_held_age (struct zcp_control *control,
    const struct zcp_channel_snapshot *snapshot, uint32_t s)
{
  uint64_t oldest = UINT64_MAX, now = zcp_now_ns ();

  for (uint32_t i = 0; i < snapshot->n_pools; i++) {
    const struct zcp_pool_snapshot *pool = &snapshot->pools[i];

    for (uint32_t c = 0; c < pool->chunk_count; c++) {
      uint64_t published;

      if (!(atomic_load_explicit (zcp_control_mask (control, pool->index, c),
                  memory_order_relaxed) & (UINT64_C (1) << s)))
        continue;
      published = atomic_load_explicit (&control->published[(uint64_t)
              pool->index * ZCP_MAX_CHUNKS_PER_POOL + c], memory_order_relaxed);
      if (published < oldest)
        oldest = published;
    }
  }
  if (oldest == UINT64_MAX)
    return ZCP_TIME_NONE;
  return now > oldest ? now - oldest : 0;
}

int
zcp_channel_inspect (const char *channel, struct zcp_channel_snapshot *snapshot)
{
  struct zcp_control *control;
  struct zcp_shm_header *header;
  uint32_t generation;
  int ret;

  memset (snapshot, 0, sizeof *snapshot);
  /* Read-only: looking changes nothing. */
  ret = zcp_control_open (channel, false, &control);
  if (ret < 0)
    return ret;
  header = control->header;

  snprintf (snapshot->channel, sizeof snapshot->channel, "%s", channel);
  snapshot->publisher_pid = header->publisher_pid;
  snapshot->publisher_alive =
      zcp_liveness_probe (control->fd, ZCP_LOCK_BYTE_PUBLISHER) == 1;
  snapshot->closed = atomic_load_explicit (&header->state,
      memory_order_acquire) == ZCP_SEGMENT_STATE_CLOSED;
  snapshot->frames_published = atomic_load_explicit (&header->frames_published,
      memory_order_relaxed);
  snapshot->frames_copied = atomic_load_explicit (&header->frames_copied,
      memory_order_relaxed);
  snapshot->latency_ns = atomic_load_explicit (&header->latency,
      memory_order_relaxed);
  generation = atomic_load_explicit (&header->caps_generation,
      memory_order_acquire);
  if (generation == 0 ||
      zcp_control_read_caps (control, generation, &snapshot->caps) < 0)
    snapshot->caps = NULL;

  for (uint32_t p = 0; p < ZCP_MAX_POOLS; p++) {
    struct zcp_shm_pool *pool = &control->pools[p];
    uint32_t pool_generation = atomic_load_explicit (&pool->generation,
        memory_order_acquire);
    uint32_t state = atomic_load_explicit (&pool->state, memory_order_acquire);
    struct zcp_pool_snapshot *entry;
    uint32_t chunk_count = pool->chunk_count;

    if (state != ZCP_POOL_STATE_ACTIVE && state != ZCP_POOL_STATE_RETIRED)
      continue;
    /* A hostile count must not send us past the mask table. */
    if (chunk_count > ZCP_MAX_CHUNKS_PER_POOL)
      chunk_count = ZCP_MAX_CHUNKS_PER_POOL;
    entry = &snapshot->pools[snapshot->n_pools++];
    entry->index = p;
    entry->retired = state == ZCP_POOL_STATE_RETIRED;
    entry->chunk_size = pool->chunk_size;
    entry->chunk_count = chunk_count;
    entry->shm_bytes = pool_shm_bytes (channel, control->epoch, p,
        pool_generation);
    for (uint32_t c = 0; c < chunk_count; c++)
      if (atomic_load_explicit (zcp_control_mask (control, p, c),
              memory_order_relaxed) != 0)
        entry->chunks_in_use++;
  }

  for (uint32_t s = 0; s < ZCP_MAX_SUBSCRIBERS; s++) {
    uint32_t state = atomic_load_explicit (&control->slots[s].state,
        memory_order_acquire);
    struct zcp_subscriber_snapshot *entry;

    if (state != ZCP_SLOT_STATE_ACTIVE && state != ZCP_SLOT_STATE_LEAVING)
      continue;
    entry = &snapshot->subscribers[snapshot->n_subscribers++];
    zcp_control_read_slot_info (control, s, &entry->info);
    entry->alive = zcp_liveness_probe (control->fd, ZCP_LOCK_BYTE_SLOT (s))
        == 1;
    entry->leaving = state == ZCP_SLOT_STATE_LEAVING;
    entry->oldest_held_age_ns = oldest_held_age (control, snapshot, s);
  }

  zcp_control_unref (control);
  return 0;
}

void
zcp_channel_snapshot_clear (struct zcp_channel_snapshot *snapshot)
{
  free (snapshot->caps);
  snapshot->caps = NULL;
}

static int
compare_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

char **
zcp_channel_list (void)
{
  static const char prefix[] = "zerocp.";
  size_t count = 0, allocated = 16;
  char **channels = calloc (allocated + 1, sizeof *channels);
  struct dirent *entry;
  DIR *dir;

  if (!channels)
    return NULL;
  dir = opendir (ZCP_SHM_DIR);
  if (!dir)
    return channels;
  while ((entry = readdir (dir))) {
    const char *channel = entry->d_name + strlen (prefix);

    /* Pool segments carry '@', which no channel name may. */
    if (strncmp (entry->d_name, prefix, strlen (prefix)) != 0 ||
        zcp_channel_name_validate (channel) < 0)
      continue;
    if (count == allocated) {
      char **more = realloc (channels, (2 * allocated + 1) * sizeof *more);

      if (!more)
        break;
      channels = more;
      allocated *= 2;
    }
    if (!(channels[count] = strdup (channel)))
      break;
    channels[++count] = NULL;
  }
  closedir (dir);
  qsort (channels, count, sizeof *channels, compare_names);
  return channels;
}

void
zcp_channel_list_free (char **channels)
{
  if (!channels)
    return;
  for (char **channel = channels; *channel; channel++)
    free (*channel);
  free (channels);
}

int
zcp_channel_clean (const char *channel)
{
  char name[ZCP_SHM_NAME_SIZE];
  int fd, ret;

  ret = zcp_segment_control_name (channel, name, sizeof name);
  if (ret < 0)
    return ret;
  /* Writable: the removal byte and the token are write locks. */
  fd = shm_open (name, O_RDWR | O_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  /* Whatever the segment holds (a corrupt one too), a live publisher
   * holds its token. */
  ret = zcp_segment_remove_dead_channel (channel, fd);
  close (fd);
  /* Removed by someone else as we looked, or replaced by a new publisher. */
  if (ret == -ENOENT)
    return 0;
  return ret == -ESTALE ? -EBUSY : ret;
}
