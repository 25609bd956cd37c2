/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "zcp-desc.h"
#include "zcp-event.h"
#include "zcp-liveness.h"
#include "zcp-pool.h"
#include "zcp-private.h"
#include "zcp-record.h"
#include "zcp-ring.h"

/* A pool grows by as many chunks as it has, so a handful of extents covers
 * any demand; the first one has at least this many. */
#define MIN_EXTENT_CHUNKS 2u

/* The fewest chunks a stream moves with, whatever the pool limit: one that a
 * subscriber keeps as its last frame, one that upstream writes. */
#define MIN_STREAM_CHUNKS 2u

/* After /dev/shm refused a chunk, how long the pools stay as they are
 * before a claim that finds every chunk held looks for room again: another
 * user of /dev/shm may have gone, and a failed reservation is not free. */
#define SPACE_RETRY_NS ZCP_NSEC_PER_SEC

/* What only the publisher knows of a pool it made.  A pool segment is a
 * hole in /dev/shm but for its chunks claimed so far: each is reserved on
 * its first claim, so that a pool takes the memory of the chunks it uses,
 * not of those it may. */
struct pool_backing
{
  int fd;                       /* to reserve chunks; -1 without a pool */
  uint32_t claimable;           /* chunks below this one may be claimed */
  uint64_t reserved[ZCP_MAX_CHUNKS_PER_POOL / 64];      /* a bit per chunk */
};

struct zcp_publisher
{
  atomic_int refs;
  atomic_bool closed;
  struct zcp_control *control;
  char control_name[ZCP_SHM_NAME_SIZE];

  /* Guards the pool table, the slot states it moves and the fields below:
   * claims (upstream thread) and publishes (sink thread) both reclaim the
   * chunks of departed subscribers.  Pool states are our own copy: the
   * control segment is writable by subscribers, so we never take its word
   * for what we made. */
  pthread_mutex_t lock;
  struct zcp_pool_map *maps[ZCP_MAX_POOLS];
  uint32_t pool_state[ZCP_MAX_POOLS];   /* ZCP_POOL_STATE_* */
  struct pool_backing backing[ZCP_MAX_POOLS];
  /* /dev/shm refused a chunk: no growth, and pools cut short stay short,
   * until this time; 0 while /dev/shm has not refused. */
  int64_t space_retry_at;
  uint64_t space_refusals;      /* since the last configure; the first warns */
  uint64_t active_chunk_size;   /* of every active pool; 0 if none */
  uint64_t pool_limit;          /* bytes of active pools, at most */
  uint64_t limit_waits;         /* claims that waited at the limit */
  bool at_limit;                /* the last claim that found no chunk did */
  int64_t next_liveness_check;

  uint32_t mode;
  uint64_t sequence;            /* publishing thread only */
  uint64_t event_number;        /* publishing thread only */
  uint64_t last_long_event;     /* publishing thread only; 0: none yet */
  /* Caps set and not yet sent in order to the subscribers; publishing
   * thread only. */
  char *unsent_caps;
  uint32_t unsent_caps_generation;
};

static uint32_t
new_epoch (void)
{
  uint32_t epoch = 0;

  /* The epoch names the pool segments of one publisher's life, so that a
   * restarted publisher never collides with names a dead one left behind. */
  while (epoch == 0)
    if (getrandom (&epoch, sizeof epoch, 0) != sizeof epoch)
      epoch = (uint32_t) zcp_now_ns () ^ (uint32_t) getpid ();
  return epoch;
}

static void
init_header (struct zcp_shm_header *header, uint32_t epoch)
{
  header->magic = ZCP_MAGIC;
  header->layout_version = ZCP_LAYOUT_VERSION;
  header->header_size = sizeof (struct zcp_shm_header);
  header->segment_size = ZCP_CONTROL_SIZE;
  header->max_pools = ZCP_MAX_POOLS;
  header->pool_stride = sizeof (struct zcp_shm_pool);
  header->max_chunks_per_pool = ZCP_MAX_CHUNKS_PER_POOL;
  header->max_subscribers = ZCP_MAX_SUBSCRIBERS;
  header->slot_stride = sizeof (struct zcp_shm_slot);
  header->ring_capacity = ZCP_RING_CAPACITY;
  header->desc_size = sizeof (struct zcp_shm_desc);
  header->caps_entries = ZCP_CAPS_ENTRIES;
  header->caps_entry_size = ZCP_CAPS_ENTRY_SIZE;
  header->pools_offset = ZCP_POOLS_OFFSET;
  header->masks_offset = ZCP_MASKS_OFFSET;
  header->caps_offset = ZCP_CAPS_OFFSET;
  header->slots_offset = ZCP_SLOTS_OFFSET;
  header->events_offset = ZCP_EVENTS_OFFSET;
  header->event_records = ZCP_EVENT_RECORDS;
  header->sticky_records = ZCP_SHM_STICKY_KINDS * ZCP_STICKY_PARTS;
  header->epoch = epoch;
  header->publisher_pid = (uint32_t) getpid ();
}

/* The channel's name exists.  If its publisher is dead, remove what it left
 * so that we can create the channel anew; -EBUSY if it lives. */
static int
remove_stale_channel (const char *channel, const char *name)
{
  int fd = shm_open (name, O_RDWR | O_CLOEXEC, 0);
  struct stat st;
  int ret;

  if (fd < 0)
    return errno == ENOENT ? 0 : -errno;

  if (fstat (fd, &st) != 0) {
    ret = -errno;
    close (fd);
    return ret;
  }
  /* Never take over, or remove, what another user made. */
  if (st.st_uid != geteuid ()) {
    zcp_log (ZCP_LOG_WARNING, "channel %s: %s belongs to uid %u, not to us",
        channel, name, (unsigned) st.st_uid);
    close (fd);
    return -EACCES;
  }

  ret = zcp_segment_remove_dead_channel (channel, fd);
  if (ret == 0)
    zcp_log (ZCP_LOG_INFO, "channel %s: replacing the segments of a dead "
        "publisher", channel);
  close (fd);
  /* Removed or replaced meanwhile by someone else: try the name again. */
  return ret == -ENOENT || ret == -ESTALE ? 0 : ret;
}

uint64_t
zcp_publisher_default_pool_limit (void)
{
  struct statvfs st;

  /* Half of /dev/shm leaves room for other channels and for the
   * subscribers' own use, and a full /dev/shm is an error at claim time
   * (posix_fallocate), never a SIGBUS. */
  if (statvfs (ZCP_SHM_DIR, &st) != 0 || st.f_blocks == 0)
    return UINT64_C (256) << 20;
  return (uint64_t) st.f_blocks * st.f_frsize / 2;
}

/* Takes the channel's name: links our unnamed segment @fd there, or makes
 * the segment under it.  A dead publisher's channel in the way is removed
 * first; a second publisher that races us may take the name between that
 * and our own try: look again a few times. */
static int
take_name (const char *channel, const char *name, uint32_t mode, bool link,
    int *fd, void **base)
{
  for (int attempt = 0;; attempt++) {
    int ret = link ? zcp_segment_link (*fd, name) :
        zcp_segment_create_with_token (name, mode, ZCP_CONTROL_SIZE,
        ZCP_CONTROL_SIZE, ZCP_LOCK_BYTE_PUBLISHER, fd, base);

    if (ret != -EEXIST || attempt == 3)
      return ret;
    ret = remove_stale_channel (channel, name);
    if (ret < 0)
      return ret;
  }
}

/* The channel's control segment, ready for subscribers, with our token:
 * made unnamed and then named, or made under its name.  -EAGAIN when made
 * under its name and taken for a dead publisher's before we held its
 * token: to be made again. */
static int
make_control (const char *channel, const char *name, uint32_t mode,
    bool unnamed, int *fd, void **base)
{
  int ret = unnamed ? zcp_segment_create_unnamed (mode, ZCP_CONTROL_SIZE,
      ZCP_CONTROL_SIZE, fd, base) : take_name (channel, name, mode, false, fd,
      base);

  if (ret < 0)
    return ret;
  /* Nobody else can hold the token of an unnamed file.  One made under its
   * name has had its token from the moment it had a size, but a remover
   * (another publisher, zerocp-inspect --clean) that found it in the moment
   * before may have unlinked the name since, or given it to a new
   * publisher. */
  if (unnamed)
    ret = zcp_liveness_acquire (*fd, ZCP_LOCK_BYTE_PUBLISHER);
  else if (!zcp_segment_is_named (*fd, name))
    ret = -EAGAIN;
  if (ret == 0) {
    init_header (*base, new_epoch ());
    /* release; pairs with the acquire load in zcp_segment_validate_header:
     * subscribers trust the header only after this store. */
    atomic_store_explicit (&((struct zcp_shm_header *) *base)->state,
        ZCP_SEGMENT_STATE_READY, memory_order_release);
    if (unnamed)
      ret = take_name (channel, name, mode, true, fd, base);
  }
  if (ret < 0) {
    munmap (*base, ZCP_CONTROL_SIZE);
    close (*fd);
  }
  return ret;
}

int
zcp_publisher_open (const char *channel, uint32_t mode,
    struct zcp_publisher **out)
{
  struct zcp_publisher *self;
  struct zcp_control *control;
  char name[ZCP_SHM_NAME_SIZE];
  void *base = NULL;
  int fd = -1, ret;

  ret = zcp_segment_control_name (channel, name, sizeof name);
  if (ret < 0)
    return ret;

  /* Made whole, its header written and our token taken, before it has a
   * name: nobody (zerocp-inspect --clean, a second publisher) can take a
   * channel half made for one whose publisher died, and remove it from
   * under us.  Without O_TMPFILE or /proc, made under its name, with our
   * token from the moment it has a size; made again should a remover take
   * it for a dead publisher's in the moment before. */
  ret = make_control (channel, name, mode, true, &fd, &base);
  for (int attempt = 0; ret == -EOPNOTSUPP || (ret == -EAGAIN &&
          attempt < 5); attempt++)
    ret = make_control (channel, name, mode, false, &fd, &base);
  if (ret < 0)
    return ret == -EAGAIN ? -EBUSY : ret;

  control = zcp_control_new (channel, fd, base);
  self = calloc (1, sizeof *self);
  if (!control || !self) {
    shm_unlink (name);
    if (control)
      zcp_control_unref (control);
    else {
      munmap (base, ZCP_CONTROL_SIZE);
      close (fd);
    }
    free (self);
    return -ENOMEM;
  }

  atomic_init (&self->refs, 1);
  self->control = control;
  snprintf (self->control_name, sizeof self->control_name, "%s", name);
  pthread_mutex_init (&self->lock, NULL);
  self->pool_limit = zcp_publisher_default_pool_limit ();
  self->mode = mode;
  for (uint32_t p = 0; p < ZCP_MAX_POOLS; p++)
    self->backing[p].fd = -1;

  zcp_log (ZCP_LOG_INFO, "channel %s: publishing (epoch %08x)", channel,
      control->epoch);
  *out = self;
  return 0;
}

static void
unlink_pool (struct zcp_publisher *self, uint32_t index)
{
  char name[ZCP_SHM_NAME_SIZE];
  struct zcp_control *control = self->control;

  /* Our own map's generation, not the pool table's: a hostile process can
   * rewrite the table, and must not make us leave a file behind. */
  if (zcp_segment_pool_name (control->channel, control->epoch, index,
          self->maps[index]->generation, name, sizeof name) == 0)
    shm_unlink (name);
}

/* Drops our map of pool @index and what we kept to reserve its chunks. */
static void
forget_pool (struct zcp_publisher *self, uint32_t index)
{
  struct pool_backing *backing = &self->backing[index];

  zcp_pool_map_unref (self->maps[index]);
  self->maps[index] = NULL;
  if (backing->fd >= 0)
    close (backing->fd);
  memset (backing, 0, sizeof *backing);
  backing->fd = -1;
}

/* Gives back a departed subscriber's slot and every chunk it held.  Clearing
 * a bit twice is harmless, so a slot reclaimed twice costs nothing. */
static void
reclaim_slot_locked (struct zcp_publisher *self, uint32_t slot_index)
{
  struct zcp_control *control = self->control;
  struct zcp_shm_slot *slot = &control->slots[slot_index];
  uint32_t state = atomic_load_explicit (&slot->state, memory_order_acquire);

  if (state != ZCP_SLOT_STATE_ACTIVE && state != ZCP_SLOT_STATE_LEAVING)
    return;
  /* A subscriber that claims the slot now finds it taken and moves on. */
  if (!atomic_compare_exchange_strong_explicit (&slot->state, &state,
          ZCP_SLOT_STATE_RECLAIMING, memory_order_acq_rel,
          memory_order_relaxed))
    return;

  for (uint32_t pool = 0; pool < ZCP_MAX_POOLS; pool++) {
    if (!self->maps[pool])
      continue;
    for (uint32_t chunk = 0; chunk < self->maps[pool]->chunk_count; chunk++)
      zcp_control_clear_holder (control, pool, chunk, slot_index);
  }
  zcp_ring_reset (slot);
  zcp_event_reset_sleepers (&slot->sleepers);
  /* Before FREE: the next owner sets the bit again after it sees FREE. */
  atomic_fetch_and_explicit (&control->header->active_slots,
      ~(UINT64_C (1) << slot_index), memory_order_relaxed);
  /* release; pairs with the acquire load in claim_slot: a new subscriber sees
   * the slot clean. */
  atomic_store_explicit (&slot->state, ZCP_SLOT_STATE_FREE,
      memory_order_release);
  zcp_log (ZCP_LOG_INFO, "channel %s: subscriber slot %u is gone, its chunks "
      "are back in the pool", control->channel, slot_index);
}

static void publish_capacity_locked (struct zcp_publisher *self);

/* Frees retired pools that nobody holds any more, and tells subscribers
 * the capacity their free entries of the pool table add.  Whether it freed
 * any. */
static bool
collect_pools_locked (struct zcp_publisher *self)
{
  struct zcp_control *control = self->control;
  bool freed = false;

  for (uint32_t index = 0; index < ZCP_MAX_POOLS; index++) {
    struct zcp_shm_pool *entry = &control->pools[index];

    if (!self->maps[index] || self->pool_state[index] != ZCP_POOL_STATE_RETIRED
        || !zcp_pool_is_idle (control, index))
      continue;

    unlink_pool (self, index);
    self->pool_state[index] = ZCP_POOL_STATE_FREE;
    atomic_store_explicit (&entry->state, ZCP_POOL_STATE_FREE,
        memory_order_release);
    forget_pool (self, index);
    freed = true;
    zcp_log (ZCP_LOG_DEBUG, "channel %s: retired pool %u removed",
        control->channel, index);
  }
  /* Its entry of the pool table is free for the active pools to grow. */
  if (freed)
    publish_capacity_locked (self);
  return freed;
}

static void
check_subscribers_locked (struct zcp_publisher *self)
{
  struct zcp_control *control = self->control;
  _Atomic uint64_t *active_slots = &control->header->active_slots;

  for (uint32_t s = 0; s < ZCP_MAX_SUBSCRIBERS; s++) {
    uint64_t bit = UINT64_C (1) << s;
    uint32_t state = atomic_load_explicit (&control->slots[s].state,
        memory_order_relaxed);

    if ((state == ZCP_SLOT_STATE_ACTIVE || state == ZCP_SLOT_STATE_LEAVING) &&
        zcp_liveness_probe (control->fd, ZCP_LOCK_BYTE_SLOT (s)) == 0) {
      reclaim_slot_locked (self, s);
    } else if (state == ZCP_SLOT_STATE_ACTIVE &&
        !(atomic_load_explicit (active_slots, memory_order_relaxed) & bit)) {
      /* Only a process writing where it should not clears a live slot's
       * bit; without it the slot would get no frames. */
      zcp_log (ZCP_LOG_WARNING, "channel %s: subscriber %u was missing from "
          "the active slots, put back", control->channel, s);
      atomic_fetch_or_explicit (active_slots, bit, memory_order_relaxed);
    }
  }
  collect_pools_locked (self);
  self->next_liveness_check = zcp_now_ns () + ZCP_LIVENESS_PERIOD_NS;
}

static void
check_subscribers (struct zcp_publisher *self)
{
  pthread_mutex_lock (&self->lock);
  check_subscribers_locked (self);
  pthread_mutex_unlock (&self->lock);
}

static uint64_t
round_up (uint64_t value, uint64_t multiple)
{
  return (value + multiple - 1) / multiple * multiple;
}

static int
create_pool_locked (struct zcp_publisher *self, uint64_t chunk_size,
    uint32_t chunk_count, uint32_t * index_out)
{
  struct zcp_control *control = self->control;
  uint64_t page = (uint64_t) sysconf (_SC_PAGESIZE), stride, segment_size;
  struct zcp_shm_pool *entry = NULL;
  char name[ZCP_SHM_NAME_SIZE];
  uint32_t index, generation;
  struct zcp_pool_map *map;
  void *base;
  int fd, ret;

  for (index = 0; index < ZCP_MAX_POOLS; index++) {
    if (!self->maps[index]) {
      entry = &control->pools[index];
      break;
    }
  }
  if (!entry)
    return -EBUSY;

  /* Page-aligned chunks: any alignment a video pool asks for holds. */
  if (chunk_size > UINT64_MAX - page)
    return -EINVAL;
  stride = round_up (chunk_size, page);
  if (__builtin_mul_overflow (stride, (uint64_t) chunk_count, &segment_size))
    return -EINVAL;

  generation = atomic_load_explicit (&entry->generation,
      memory_order_relaxed) + 1;
  if (generation == 0)
    generation = 1;
  ret = zcp_segment_pool_name (control->channel, control->epoch, index,
      generation, name, sizeof name);
  if (ret < 0)
    return ret;
  /* Subscribers open pools with the rights they open the channel with.  The
   * first chunk is reserved now, so that a stream that cannot have even one
   * fails here; the others on their first claim. */
  ret = zcp_segment_create (name, self->mode, segment_size, stride, &fd, &base);
  if (ret < 0)
    return ret;

  map = zcp_pool_map_new (control, index, generation, base, segment_size,
      chunk_size, stride, chunk_count);
  if (!map) {
    munmap (base, segment_size);
    close (fd);
    shm_unlink (name);
    return -ENOMEM;
  }
  memset (&self->backing[index], 0, sizeof self->backing[index]);
  self->backing[index].fd = fd;
  self->backing[index].claimable = chunk_count;
  self->backing[index].reserved[0] = 1;

  entry->chunk_count = chunk_count;
  entry->chunk_size = chunk_size;
  entry->chunk_stride = stride;
  entry->segment_size = segment_size;
  /* release; pairs with the acquire loads in zcp_pool_map_open */
  atomic_store_explicit (&entry->generation, generation, memory_order_release);
  atomic_store_explicit (&entry->state, ZCP_POOL_STATE_ACTIVE,
      memory_order_release);
  self->maps[index] = map;
  self->pool_state[index] = ZCP_POOL_STATE_ACTIVE;
  self->active_chunk_size = chunk_size;
  *index_out = index;
  zcp_log (ZCP_LOG_INFO, "channel %s: pool %u: %u chunks of %" PRIu64
      " bytes", control->channel, index, chunk_count, chunk_size);
  return 0;
}

static uint64_t
pool_stride (uint64_t chunk_size)
{
  uint64_t page = (uint64_t) sysconf (_SC_PAGESIZE);

  return round_up (chunk_size, page);
}

/* Chunks that claims may hand out (all of them unless /dev/shm ran out of
 * room) and bytes of the active pools. */
static void
count_active_locked (struct zcp_publisher *self, uint32_t * chunks,
    uint64_t * bytes)
{
  *chunks = 0;
  *bytes = 0;
  for (uint32_t p = 0; p < ZCP_MAX_POOLS; p++) {
    if (self->pool_state[p] != ZCP_POOL_STATE_ACTIVE)
      continue;
    *chunks += self->backing[p].claimable;
    *bytes += self->maps[p]->mapped_size;
  }
}

/* Chunks that fit under the limit next to @active_bytes, at most @wanted. */
static uint32_t
chunks_within_limit_locked (struct zcp_publisher *self, uint64_t chunk_size,
    uint64_t active_bytes, uint32_t wanted)
{
  uint64_t stride = pool_stride (chunk_size), room;

  room = active_bytes < self->pool_limit ? self->pool_limit - active_bytes : 0;
  if (room / stride < wanted)
    return (uint32_t) (room / stride);
  return wanted;
}

/* Chunks the next extent of a pool of @chunks asks for: as many again. */
static uint32_t
next_extent (uint32_t chunks)
{
  return (uint32_t) zcp_min_i64 (ZCP_MAX_CHUNKS_PER_POOL,
      chunks < MIN_EXTENT_CHUNKS ? MIN_EXTENT_CHUNKS : chunks);
}

/* Bytes /dev/shm can still give; as good as unlimited if it cannot say. */
static uint64_t
shm_room (void)
{
  struct statvfs st;

  if (statvfs (ZCP_SHM_DIR, &st) != 0)
    return UINT64_MAX;
  return (uint64_t) st.f_bavail * st.f_frsize;
}

/* Chunks of the active pools that have their room in /dev/shm already. */
static uint32_t
count_reserved_locked (struct zcp_publisher *self)
{
  uint32_t reserved = 0;

  for (uint32_t p = 0; p < ZCP_MAX_POOLS; p++) {
    if (self->pool_state[p] != ZCP_POOL_STATE_ACTIVE)
      continue;
    for (uint32_t c = 0; c < self->backing[p].claimable; c++)
      reserved += (self->backing[p].reserved[c / 64] >> (c % 64)) & 1;
  }
  return reserved;
}

/* Tells subscribers the most chunks the active pools may have: grows them
 * on paper as grow_locked() would, within the limit and the free entries of
 * the pool table, and keeps the chunks not reserved yet to what /dev/shm
 * has room for now (other channels share it), unless it refused room
 * lately.  Called when a pool is made, grows or goes, or the limit or the
 * room changes; an estimate too high would let a subscriber hold what the
 * publisher will need. */
static void
publish_capacity_locked (struct zcp_publisher *self)
{
  uint64_t stride = pool_stride (self->active_chunk_size), bytes, fit;
  uint32_t chunks, extent, reserved, free_entries = 0;

  count_active_locked (self, &chunks, &bytes);
  if (self->active_chunk_size != 0 && self->space_retry_at == 0)
    for (uint32_t p = 0; p < ZCP_MAX_POOLS; p++)
      free_entries += self->maps[p] == NULL;
  for (; free_entries > 0; free_entries--) {
    extent = chunks_within_limit_locked (self, self->active_chunk_size, bytes,
        next_extent (chunks));
    if (extent == 0)
      break;
    chunks += extent;
    bytes += stride * extent;
  }
  if (self->active_chunk_size != 0) {
    reserved = count_reserved_locked (self);
    fit = shm_room () / stride;
    if (chunks - reserved > fit)
      chunks = reserved + (uint32_t) fit;
  }
  atomic_store_explicit (&self->control->header->chunk_capacity, chunks,
      memory_order_relaxed);
}

/* /dev/shm refused @what with @err: the pools stay at the chunks they have
 * for SPACE_RETRY_NS.  Warns the first time after a configure; a stream
 * held at that size would say it again every SPACE_RETRY_NS. */
static void
note_out_of_space_locked (struct zcp_publisher *self, const char *what, int err)
{
  uint32_t chunks;
  uint64_t bytes;

  self->space_retry_at = zcp_now_ns () + SPACE_RETRY_NS;
  publish_capacity_locked (self);
  count_active_locked (self, &chunks, &bytes);
  zcp_log (self->space_refusals++ == 0 ? ZCP_LOG_WARNING : ZCP_LOG_DEBUG,
      "channel %s: /dev/shm has no room for %s (%s): the pool stays at %u "
      "chunks until it has", self->control->channel, what, strerror (-err),
      chunks);
}

/* Adds an extent to the active pools when every chunk is held: as many
 * chunks again as there are, within the limit.  -ENOSPC at the limit or
 * when /dev/shm is full. */
static int
grow_locked (struct zcp_publisher *self)
{
  uint32_t chunks, extent, index;
  uint64_t bytes;
  int ret;

  if (self->active_chunk_size == 0)
    return -EINVAL;
  count_active_locked (self, &chunks, &bytes);
  extent = chunks_within_limit_locked (self, self->active_chunk_size, bytes,
      next_extent (chunks));
  if (extent == 0)
    return -ENOSPC;

  ret = create_pool_locked (self, self->active_chunk_size, extent, &index);
  if (ret == -ENOSPC)
    note_out_of_space_locked (self, "a new extent", ret);
  if (ret == -EBUSY || ret == -ENOSPC)
    return -ENOSPC;
  if (ret == 0) {
    zcp_log (ZCP_LOG_INFO, "channel %s: every chunk was held; grew by %u "
        "chunks to %u", self->control->channel, extent, chunks + extent);
    /* Other channels may have taken some of /dev/shm since. */
    publish_capacity_locked (self);
  }
  return ret;
}

static void
retire_active_locked (struct zcp_publisher *self)
{
  for (uint32_t p = 0; p < ZCP_MAX_POOLS; p++) {
    if (self->pool_state[p] != ZCP_POOL_STATE_ACTIVE)
      continue;
    self->pool_state[p] = ZCP_POOL_STATE_RETIRED;
    atomic_store_explicit (&self->control->pools[p].state,
        ZCP_POOL_STATE_RETIRED, memory_order_release);
  }
  self->active_chunk_size = 0;
}

int
zcp_publisher_configure_pool (struct zcp_publisher *self, uint64_t chunk_size,
    uint32_t chunk_count)
{
  uint32_t index, chunks, fewest;
  int ret = 0;

  if (chunk_size == 0 || chunk_count == 0 ||
      chunk_count > ZCP_MAX_CHUNKS_PER_POOL ||
      chunk_size > UINT64_MAX / ZCP_MAX_CHUNKS_PER_POOL)
    return -EINVAL;
  if (atomic_load_explicit (&self->closed, memory_order_acquire))
    return -EPIPE;

  pthread_mutex_lock (&self->lock);
  /* Keep pools that fit: renegotiating to a smaller size must not churn
   * segments that subscribers have mapped; growth adds chunks later. */
  if (self->active_chunk_size >= chunk_size) {
    pthread_mutex_unlock (&self->lock);
    return 0;
  }

  check_subscribers_locked (self);
  retire_active_locked (self);
  /* /dev/shm may have room again, and the new pool will say if not. */
  self->space_retry_at = 0;
  self->space_refusals = 0;
  /* The first pool respects the limit too, but a stream gets two chunks
   * (if it asks for as many) whatever the limit says: a subscriber's sink
   * keeps the last frame it rendered, and upstream needs another to write
   * the next one into.  Every pool is retired now: nothing active counts
   * against the limit. */
  fewest = (uint32_t) zcp_min_i64 (chunk_count, MIN_STREAM_CHUNKS);
  chunks = chunks_within_limit_locked (self, chunk_size, 0, chunk_count);
  if (chunks < fewest) {
    chunks = fewest;
    zcp_log (ZCP_LOG_WARNING, "channel %s: a pool limit of %" PRIu64 " bytes "
        "is less than %u chunks of %" PRIu64 " bytes; making %u",
        self->control->channel, self->pool_limit, chunks, chunk_size, chunks);
  }
  ret = create_pool_locked (self, chunk_size, chunks, &index);
  if (ret < 0)
    zcp_log (ZCP_LOG_WARNING, "channel %s: no pool of chunks of %" PRIu64
        " bytes: %s", self->control->channel, chunk_size, strerror (-ret));
  /* The pool made changes the capacity, whether or not one was freed. */
  if (!collect_pools_locked (self))
    publish_capacity_locked (self);
  pthread_mutex_unlock (&self->lock);
  return ret;
}

void
zcp_publisher_set_pool_limit (struct zcp_publisher *self, uint64_t max_bytes)
{
  pthread_mutex_lock (&self->lock);
  self->pool_limit = max_bytes ? max_bytes :
      zcp_publisher_default_pool_limit ();
  publish_capacity_locked (self);
  pthread_mutex_unlock (&self->lock);
  /* A claim waiting at the old limit looks again. */
  zcp_publisher_wake (self);
}

uint64_t
zcp_publisher_chunk_size (struct zcp_publisher *self)
{
  uint64_t size;

  pthread_mutex_lock (&self->lock);
  size = self->active_chunk_size;
  pthread_mutex_unlock (&self->lock);
  return size;
}

struct claim_wait
{
  struct zcp_publisher *self;
  const atomic_bool *cancel;
};

static bool
cancelled (const atomic_bool * cancel)
{
  return cancel && atomic_load_explicit (cancel, memory_order_acquire);
}

static bool
claim_possible (void *data)
{
  struct claim_wait *wait = data;
  struct zcp_publisher *self = wait->self;
  bool possible = cancelled (wait->cancel);

  pthread_mutex_lock (&self->lock);
  if (self->active_chunk_size == 0)
    possible = true;
  for (uint32_t p = 0; p < ZCP_MAX_POOLS && !possible; p++) {
    struct zcp_pool_map *map = self->maps[p];

    if (self->pool_state[p] != ZCP_POOL_STATE_ACTIVE)
      continue;
    for (uint32_t c = 0; c < self->backing[p].claimable && !possible; c++)
      possible = atomic_load_explicit (zcp_control_mask (self->control,
              map->index, c), memory_order_relaxed) == 0;
  }
  pthread_mutex_unlock (&self->lock);
  return possible;
}

/* Reserves chunk @c of pool @p in /dev/shm on its first claim.  If there is
 * no room, gives the claim back, and the pool ends below @c until
 * retry_space_locked: chunk 0 was reserved with the pool, so every pool
 * keeps at least one. */
static int
reserve_chunk_locked (struct zcp_publisher *self, uint32_t p, uint32_t c)
{
  struct pool_backing *backing = &self->backing[p];
  struct zcp_pool_map *map = self->maps[p];
  uint64_t bit = UINT64_C (1) << (c % 64);
  int ret;

  if (backing->reserved[c / 64] & bit)
    return 0;
  ret = zcp_segment_reserve (backing->fd, map->base, map->chunk_stride * c,
      map->chunk_stride);
  if (ret == 0) {
    backing->reserved[c / 64] |= bit;
    return 0;
  }

  zcp_control_clear_holder (self->control, p, c, ZCP_PUBLISHER_BIT);
  backing->claimable = c;
  note_out_of_space_locked (self, "another chunk", ret);
  return ret;
}

/* Once SPACE_RETRY_NS have passed since /dev/shm last refused, gives the
 * pools it cut short their chunks back and lets them grow, so that the
 * claims that follow try again.  False if it is too early. */
static bool
retry_space_locked (struct zcp_publisher *self)
{
  if (zcp_now_ns () < self->space_retry_at)
    return false;
  for (uint32_t p = 0; p < ZCP_MAX_POOLS; p++)
    if (self->pool_state[p] == ZCP_POOL_STATE_ACTIVE)
      self->backing[p].claimable = self->maps[p]->chunk_count;
  self->space_retry_at = 0;
  publish_capacity_locked (self);
  return true;
}

/* Claims from the active pools, oldest first, and grows them if every chunk
 * is held.  -EAGAIN at the limit, -EINVAL with no pool. */
static int
try_claim_locked (struct zcp_publisher *self, struct zcp_chunk *chunk)
{
  bool reclaimed = false;

  if (self->active_chunk_size == 0)
    return -EINVAL;

  for (;;) {
    for (uint32_t p = 0; p < ZCP_MAX_POOLS; p++) {
      int index;

      if (self->pool_state[p] != ZCP_POOL_STATE_ACTIVE)
        continue;
      index = zcp_pool_try_claim (self->maps[p], self->backing[p].claimable);
      if (index >= 0 && reserve_chunk_locked (self, p, (uint32_t) index) == 0) {
        zcp_pool_map_fill_chunk (self->maps[p], (uint32_t) index,
            ZCP_PUBLISHER_BIT, chunk);
        self->at_limit = false;
        return 0;
      }
    }
    /* Before the pool grows, take back what dead subscribers held. */
    if (!reclaimed) {
      check_subscribers_locked (self);
      reclaimed = true;
      continue;
    }
    if (self->space_retry_at != 0) {
      if (!retry_space_locked (self))
        break;
      continue;
    }
    if (grow_locked (self) != 0)
      break;
  }

  if (!self->at_limit) {
    /* A slow subscriber keeps the pool at its limit frame after frame: warn
     * once, and let the sink's rate-limited message say it again. */
    enum zcp_log_level level = self->limit_waits == 0 ? ZCP_LOG_WARNING :
        ZCP_LOG_DEBUG;
    uint32_t chunks;
    uint64_t bytes;

    count_active_locked (self, &chunks, &bytes);
    if (self->space_retry_at != 0)
      zcp_log (level, "channel %s: all %u chunks are held and /dev/shm has "
          "no room for another: waiting for one to come free",
          self->control->channel, chunks);
    else
      zcp_log (level, "channel %s: all %u chunks (%" PRIu64 " bytes) are "
          "held and the pool may not grow past %" PRIu64 " bytes: waiting "
          "for one to come free", self->control->channel, chunks, bytes,
          self->pool_limit);
    self->at_limit = true;
    self->limit_waits++;
    /* However far publish_capacity_locked() expected the pools to grow,
     * this is as far as they could. */
    atomic_store_explicit (&self->control->header->chunk_capacity, chunks,
        memory_order_relaxed);
  }
  return -EAGAIN;
}

int
zcp_publisher_claim (struct zcp_publisher *self, struct zcp_chunk *chunk,
    int64_t timeout_ns, const atomic_bool * cancel)
{
  int64_t deadline = zcp_deadline (timeout_ns);
  struct claim_wait wait = { self, cancel };

  for (;;) {
    int ret;

    if (atomic_load_explicit (&self->closed, memory_order_acquire))
      return -EPIPE;

    pthread_mutex_lock (&self->lock);
    ret = try_claim_locked (self, chunk);
    pthread_mutex_unlock (&self->lock);

    if (ret != -EAGAIN)
      return ret;
    if (timeout_ns == 0)
      return -EAGAIN;
    if (cancelled (cancel))
      return -ECANCELED;
    if (zcp_now_ns () >= deadline)
      return -ETIMEDOUT;

    if (zcp_event_wait_until (&self->control->header->publisher_event,
            claim_possible, &wait, zcp_min_i64 (deadline,
                zcp_now_ns () + ZCP_LIVENESS_PERIOD_NS)) == -ETIMEDOUT) {
      zcp_log (ZCP_LOG_DEBUG, "channel %s: every chunk is held, waiting",
          self->control->channel);
      /* A dead subscriber may be holding what we wait for. */
      check_subscribers (self);
    }
  }
}

int
zcp_publisher_set_caps (struct zcp_publisher *self, const char *caps)
{
  struct zcp_shm_header *header = self->control->header;
  size_t length = strlen (caps);
  struct zcp_shm_caps *entry;
  uint32_t generation, seq;

  if (length >= sizeof entry->data)
    return -E2BIG;

  generation = atomic_load_explicit (&header->caps_generation,
      memory_order_relaxed) + 1;
  entry = &self->control->caps[generation % ZCP_CAPS_ENTRIES];

  /* seqlock writer: odd while the entry is being written */
  seq = atomic_load_explicit (&entry->seq, memory_order_relaxed);
  atomic_store_explicit (&entry->seq, seq + 1, memory_order_relaxed);
  /* release fence; pairs with the acquire fence in read_caps */
  atomic_thread_fence (memory_order_release);
  atomic_store_explicit (&entry->generation, generation, memory_order_relaxed);
  atomic_store_explicit (&entry->length, (uint32_t) length,
      memory_order_relaxed);
  memcpy (entry->data, caps, length + 1);
  /* release; pairs with the acquire re-read of seq in read_caps */
  atomic_store_explicit (&entry->seq, seq + 2, memory_order_release);
  atomic_store_explicit (&header->caps_generation, generation,
      memory_order_release);

  /* Sent in order before the next frame or event; without memory for it,
   * subscribers read the entry, as they did before. */
  free (self->unsent_caps);
  self->unsent_caps = length <= ZCP_EVENT_MAX ? strdup (caps) : NULL;
  self->unsent_caps_generation = generation;
  return 0;
}

/* A slot's queue policy, as the subscriber wrote it: out-of-range values
 * (zero from a subscriber of the first release, or anything from a hostile
 * one) read as the lossless, ring-deep default. */
static uint32_t
slot_max_buffers (struct zcp_shm_slot *slot)
{
  uint32_t max_buffers = atomic_load_explicit (&slot->max_buffers,
      memory_order_relaxed);

  return max_buffers == 0 || max_buffers > ZCP_RING_CAPACITY ?
      ZCP_RING_CAPACITY : max_buffers;
}

static uint32_t
slot_leaky (struct zcp_shm_slot *slot)
{
  uint32_t leaky = atomic_load_explicit (&slot->leaky, memory_order_relaxed);

  return leaky == ZCP_SLOT_LEAKY_UPSTREAM ||
      leaky == ZCP_SLOT_LEAKY_DOWNSTREAM ? leaky : ZCP_SLOT_LEAKY_NO;
}

/* How many descriptors @slot may have queued before @desc: its own
 * max_buffers for a buffer; events may use the whole ring. */
static uint32_t
queue_limit (struct zcp_shm_slot *slot, const struct zcp_shm_desc *desc)
{
  return desc->kind == ZCP_SHM_DESC_KIND_BUFFER ? slot_max_buffers (slot) :
      ZCP_RING_CAPACITY;
}

/* Whether @desc must wait (or be dropped) for @slot: the ring is full, or
 * @limit buffers are queued; queued events do not count against it. */
static bool
queue_full (struct zcp_shm_slot *slot, const struct zcp_shm_desc *desc,
    uint32_t limit)
{
  uint32_t fill = zcp_ring_fill (slot);

  if (fill >= ZCP_RING_CAPACITY)
    return true;
  if (fill < limit)
    return false;
  /* Rarely reached: only a subscriber at its limit costs this scan. */
  return desc->kind != ZCP_SHM_DESC_KIND_BUFFER ||
      zcp_ring_count_buffers (slot) >= limit;
}

struct space_wait
{
  struct zcp_shm_slot *slot;
  const struct zcp_shm_desc *desc;
  uint32_t limit;
  const atomic_bool *cancel;
};

static bool
slot_has_space (void *data)
{
  struct space_wait *wait = data;

  return cancelled (wait->cancel) ||
      atomic_load_explicit (&wait->slot->state, memory_order_acquire) !=
      ZCP_SLOT_STATE_ACTIVE || !queue_full (wait->slot, wait->desc,
      wait->limit);
}

/* leaky=downstream: takes the oldest queued buffer back from subscriber
 * @s, as if it had been delivered and released.  False if the oldest entry
 * is not a buffer (events are never dropped) or the subscriber took it
 * first. */
static bool
drop_oldest_locked (struct zcp_publisher *self, uint32_t s)
{
  struct zcp_shm_slot *slot = &self->control->slots[s];
  struct zcp_shm_desc oldest;

  if (zcp_ring_take_buffer (slot, &oldest) != 1)
    return false;
  /* The entry came from a segment the subscriber can write to. */
  if (oldest.pool_index < ZCP_MAX_POOLS &&
      oldest.chunk_index < ZCP_MAX_CHUNKS_PER_POOL)
    zcp_control_clear_holder (self->control, oldest.pool_index,
        oldest.chunk_index, s);
  return true;
}

enum push_result
{
  PUSHED,
  SKIPPED,                      /* not active, or a leaky drop of this frame */
  FULL,
};

static enum push_result
push_one_locked (struct zcp_publisher *self, uint32_t s,
    const struct zcp_shm_desc *desc, uint32_t limit)
{
  struct zcp_control *control = self->control;
  struct zcp_shm_slot *slot = &control->slots[s];
  uint32_t leaky = slot_leaky (slot);
  bool is_buffer = desc->kind == ZCP_SHM_DESC_KIND_BUFFER;

  if (atomic_load_explicit (&slot->state, memory_order_acquire) !=
      ZCP_SLOT_STATE_ACTIVE)
    return SKIPPED;

  /* Room for one more, dropping the oldest queued buffer if the subscriber
   * asked for that; each drop frees a place, so this ends. */
  while (queue_full (slot, desc, limit)) {
    if (leaky != ZCP_SLOT_LEAKY_DOWNSTREAM || !drop_oldest_locked (self, s))
      break;
    atomic_fetch_add_explicit (&slot->dropped, 1, memory_order_relaxed);
  }

  if (queue_full (slot, desc, limit)) {
    /* The oldest entry is an event, or the policy is not downstream: drop
     * the new frame rather than wait, unless the subscriber is lossless.
     * Caps sent in order go the same way: the channel's caps entries still
     * have them, and a leaky subscriber that stopped reading must not hold
     * the publisher once its ring is full of them (caps that change at
     * every frame would fill it in 64). */
    bool skippable = is_buffer || (desc->kind == ZCP_SHM_DESC_KIND_EVENT &&
        desc->event_sticky == ZCP_SHM_EVENT_CAPS);

    if (leaky == ZCP_SLOT_LEAKY_NO || !skippable)
      return FULL;
    if (is_buffer)
      atomic_fetch_add_explicit (&slot->dropped, 1, memory_order_relaxed);
    return SKIPPED;
  }

  if (is_buffer)
    /* relaxed: the release store of write_index in zcp_ring_push publishes
     * the bit together with the descriptor. */
    atomic_fetch_or_explicit (zcp_control_mask (control, desc->pool_index,
            desc->chunk_index), UINT64_C (1) << s, memory_order_relaxed);
  if (!zcp_ring_push (slot, desc)) {
    /* Only a hostile subscriber moves its read index so that a ring with
     * room refuses a push: take our bit back and treat it as gone. */
    if (is_buffer)
      zcp_control_clear_holder (control, desc->pool_index, desc->chunk_index,
          s);
    return SKIPPED;
  }
  return PUSHED;
}

/* Wakes those subscribers in @pending that sleep and have no wake-up on its
 * way, all with one call, and forgets them. */
static void
signal_pushed (struct zcp_control *control, uint64_t * pending)
{
  uint32_t bits = 0;

  zcp_event_before_looking ();
  while (*pending) {
    uint32_t s = (uint32_t) __builtin_ctzll (*pending);

    if (zcp_event_claim_wake (&control->slots[s].sleepers))
      bits |= zcp_event_bit (s);
    *pending &= *pending - 1;
  }
  if (bits)
    zcp_event_wake_shared (&control->header->subscriber_wake, bits);
}

/* Pushes @desc to every active subscriber; see zcp_publisher_publish.  One
 * pass under the lock, let go only to wait for a lossless subscriber; the
 * wake-ups come after, outside it. */
static int
push_to_subscribers (struct zcp_publisher *self,
    const struct zcp_shm_desc *desc, const atomic_bool * cancel)
{
  struct zcp_control *control = self->control;
  uint64_t pending = 0, active;
  int ret = 0;

  pthread_mutex_lock (&self->lock);
  if (zcp_now_ns () >= self->next_liveness_check)
    check_subscribers_locked (self);

  /* Ascending, as a loop over every slot would go; a stray bit above the
   * last slot is a subscriber's scribble. */
  active = atomic_load_explicit (&control->header->active_slots,
      memory_order_relaxed) & ZCP_ALL_SLOTS;
  for (; active && ret == 0; active &= active - 1) {
    uint32_t s = (uint32_t) __builtin_ctzll (active);
    struct zcp_shm_slot *slot = &control->slots[s];
    struct space_wait wait = { slot, desc, 0, cancel };
    enum push_result result;

    /* The bit may be stale or forged: the state decides (push_one_locked
     * looks again, as the state may change while it waits). */
    if (atomic_load_explicit (&slot->state, memory_order_relaxed) !=
        ZCP_SLOT_STATE_ACTIVE)
      continue;
    wait.limit = queue_limit (slot, desc);

    while ((result = push_one_locked (self, s, desc, wait.limit)) == FULL) {
      pthread_mutex_unlock (&self->lock);
      /* Those already served must not wait with us. */
      signal_pushed (control, &pending);

      /* Lossless: wait for this subscriber, and for as long as it lives. */
      if (zcp_event_wait_until (&control->header->publisher_event,
              slot_has_space, &wait, zcp_now_ns () + ZCP_LIVENESS_PERIOD_NS)
          == -ETIMEDOUT) {
        zcp_log (ZCP_LOG_DEBUG, "channel %s: subscriber %u is full, waiting",
            control->channel, s);
        check_subscribers (self);
      }
      pthread_mutex_lock (&self->lock);
      if (cancelled (cancel)) {
        ret = -ECANCELED;
        break;
      }
      /* The subscriber may have changed its policy meanwhile. */
      wait.limit = queue_limit (slot, desc);
    }
    if (result == PUSHED)
      pending |= UINT64_C (1) << s;
  }
  pthread_mutex_unlock (&self->lock);
  signal_pushed (control, &pending);
  return ret;
}

struct long_event_wait
{
  struct zcp_control *control;
  uint64_t number;
  const atomic_bool *cancel;
};

static bool
long_event_taken (struct zcp_control *control, uint64_t number)
{
  for (uint32_t s = 0; s < ZCP_MAX_SUBSCRIBERS; s++) {
    struct zcp_shm_slot *slot = &control->slots[s];

    if (atomic_load_explicit (&slot->state, memory_order_acquire) ==
        ZCP_SLOT_STATE_ACTIVE && slot_leaky (slot) == ZCP_SLOT_LEAKY_NO &&
        zcp_ring_holds_records (slot, number))
      return false;
  }
  return true;
}

static bool
long_event_taken_or_cancelled (void *data)
{
  struct long_event_wait *wait = data;

  return long_event_taken (wait->control, wait->number) ||
      cancelled (wait->cancel);
}

/* An event (or a frame's metas) in several records is sent only once no
 * lossless subscriber has the last such event queued: with one queued at a
 * time, and each at most ZCP_EVENT_PARTS_MAX records, the records of a
 * queued event, or of one a subscriber is reading, are not written again
 * before it is read.  A leaky subscriber that sits on one loses it (its
 * numbers no longer match) rather than hold the publisher. */
static int
wait_long_event_taken (struct zcp_publisher *self, const atomic_bool * cancel)
{
  struct long_event_wait wait = { self->control, self->last_long_event,
    cancel
  };

  while (!long_event_taken (wait.control, wait.number)) {
    if (cancelled (cancel))
      return -ECANCELED;
    if (zcp_event_wait_until (&self->control->header->publisher_event,
            long_event_taken_or_cancelled, &wait,
            zcp_now_ns () + ZCP_LIVENESS_PERIOD_NS) == -ETIMEDOUT)
      check_subscribers (self);
  }
  return 0;
}

/* Whether records can carry @length bytes, of sticky kind @sticky. */
static bool
payload_fits (size_t length, uint32_t sticky)
{
  return length <= (sticky == ZCP_STICKY_NONE ? ZCP_EVENT_LONG_MAX :
      ZCP_STICKY_MAX);
}

/* Writes @payload, which payload_fits(), into the records from the next
 * number on, several if it is longer than one holds (after the wait that
 * makes that safe), and into its sticky kind's records; gives the first
 * number.  Before the descriptor that names them is pushed. */
static int
write_records (struct zcp_publisher *self, const char *payload, size_t length,
    uint32_t sticky, const atomic_bool * cancel, uint64_t * first)
{
  struct zcp_control *control = self->control;
  uint32_t parts = 1;
  uint64_t number;
  int ret;

  if (length > ZCP_EVENT_MAX) {
    parts = (uint32_t) ((length + ZCP_EVENT_MAX - 1) / ZCP_EVENT_MAX);
    if (self->last_long_event != 0) {
      ret = wait_long_event_taken (self, cancel);
      if (ret < 0)
        return ret;
    }
  }

  number = self->event_number + 1;
  self->event_number += parts;
  if (parts > 1)
    self->last_long_event = number;
  zcp_records_write (control->events, ZCP_EVENT_RECORDS,
      (uint32_t) (number % ZCP_EVENT_RECORDS), number, sticky, payload, length);
  /* The same numbers: a subscriber that joins and reads them skips the
   * event when its ring hands it over too. */
  if (sticky != ZCP_STICKY_NONE)
    zcp_records_write (&control->sticky[sticky * ZCP_STICKY_PARTS],
        ZCP_STICKY_PARTS, 0, number, sticky, payload, length);
  *first = number;
  return 0;
}

/* Sends the caps set since the last frame or event, in an event record:
 * queued frames refer to their generation, which the caps entries may have
 * dropped by the time a subscriber many renegotiations behind reads them.
 * Takes no sequence number: subscribers keep it to themselves. */
static int
send_unsent_caps (struct zcp_publisher *self, const atomic_bool * cancel)
{
  struct zcp_frame frame = {.kind = ZCP_FRAME_KIND_EVENT };
  struct zcp_shm_desc desc;
  uint64_t number;
  int ret;

  if (!self->unsent_caps)
    return 0;
  /* One record at most (zcp_publisher_set_caps keeps no longer caps): no
   * wait. */
  frame.size = strlen (self->unsent_caps);
  ret = write_records (self, self->unsent_caps, frame.size, ZCP_STICKY_NONE,
      cancel, &number);
  if (ret < 0)
    return ret;
  frame.sequence = self->sequence;
  frame.caps_generation = self->unsent_caps_generation;
  frame.event_number = number;
  frame.event_sticky = ZCP_SHM_EVENT_CAPS;
  zcp_desc_from_frame (&desc, NULL, &frame);
  ret = push_to_subscribers (self, &desc, cancel);
  if (ret == 0) {
    free (self->unsent_caps);
    self->unsent_caps = NULL;
  }
  return ret;
}

int
zcp_publisher_publish (struct zcp_publisher *self,
    const struct zcp_chunk *chunk, struct zcp_frame *frame,
    const atomic_bool * cancel)
{
  struct zcp_shm_header *header = self->control->header;
  size_t meta_size = frame->event ? strlen (frame->event) : 0;
  struct zcp_shm_desc desc;
  int ret;

  if (!chunk->map || chunk->map->control != self->control)
    return -EINVAL;
  if (frame->offset > chunk->capacity ||
      frame->size > chunk->capacity - frame->offset)
    return -EINVAL;
  if (!payload_fits (meta_size, ZCP_STICKY_NONE))
    return -E2BIG;
  /* One bit per subscriber cannot count two holds: a chunk still held from
   * an earlier publish (a buffer rendered twice, as videorate does) goes out
   * as a copy.  Only subscribers clear their bits, so a zero seen here stays
   * zero until we push. */
  if (atomic_load_explicit (zcp_control_mask (self->control,
              chunk->pool_index, chunk->chunk_index), memory_order_relaxed) &
      ~(UINT64_C (1) << ZCP_PUBLISHER_BIT))
    return -EBUSY;
  ret = send_unsent_caps (self, cancel);
  if (ret < 0)
    return ret;
  frame->event_number = 0;
  if (meta_size > 0) {
    ret = write_records (self, frame->event, meta_size, ZCP_STICKY_NONE,
        cancel, &frame->event_number);
    if (ret < 0)
      return ret;
  }

  frame->kind = ZCP_FRAME_KIND_BUFFER;
  frame->sequence = self->sequence++;
  frame->caps_generation = atomic_load_explicit (&header->caps_generation,
      memory_order_relaxed);
  zcp_desc_from_frame (&desc, chunk, frame);
  desc.meta_size = (uint32_t) meta_size;
  /* Before the push: no subscriber can hold the chunk before this time. */
  atomic_store_explicit (&self->control->published[(uint64_t)
          chunk->pool_index * ZCP_MAX_CHUNKS_PER_POOL + chunk->chunk_index],
      zcp_now_ns (), memory_order_relaxed);

  ret = push_to_subscribers (self, &desc, cancel);
  if (ret == 0)
    atomic_fetch_add_explicit (&header->frames_published, 1,
        memory_order_relaxed);
  return ret;
}

int
zcp_publisher_send_event (struct zcp_publisher *self, const char *event,
    uint32_t sticky, const atomic_bool * cancel)
{
  struct zcp_control *control = self->control;
  struct zcp_frame frame = {.kind = ZCP_FRAME_KIND_EVENT };
  size_t length = strlen (event);
  struct zcp_shm_desc desc;
  uint64_t number;
  int ret;

  if (sticky >= ZCP_STICKY_KINDS)
    sticky = ZCP_STICKY_NONE;
  if (!payload_fits (length, sticky))
    return -E2BIG;
  ret = send_unsent_caps (self, cancel);
  if (ret < 0)
    return ret;
  ret = write_records (self, event, length, sticky, cancel, &number);
  if (ret < 0)
    return ret;

  frame.sequence = self->sequence++;
  frame.caps_generation =
      atomic_load_explicit (&control->header->caps_generation,
      memory_order_relaxed);
  frame.event_number = number;
  frame.event_sticky = sticky;
  frame.size = length;
  zcp_desc_from_frame (&desc, NULL, &frame);
  return push_to_subscribers (self, &desc, cancel);
}

void
zcp_publisher_forget_sticky (struct zcp_publisher *self, uint32_t sticky)
{
  if (sticky < ZCP_STICKY_KINDS)
    zcp_record_clear (&self->control->sticky[sticky * ZCP_STICKY_PARTS]);
}

void
zcp_publisher_set_latency (struct zcp_publisher *self, uint64_t latency_ns)
{
  atomic_store_explicit (&self->control->header->latency, latency_ns,
      memory_order_relaxed);
}

struct upstream_wait
{
  struct zcp_control *control;
  const atomic_bool *cancel;
};

static bool
upstream_waiting (void *data)
{
  struct upstream_wait *wait = data;

  if (cancelled (wait->cancel))
    return true;
  for (uint32_t s = 0; s < ZCP_MAX_SUBSCRIBERS; s++) {
    struct zcp_shm_slot *slot = &wait->control->slots[s];

    if (atomic_load_explicit (&slot->state, memory_order_acquire) ==
        ZCP_SLOT_STATE_ACTIVE &&
        atomic_load_explicit (&slot->upstream_write, memory_order_acquire) !=
        atomic_load_explicit (&slot->upstream_read, memory_order_relaxed))
      return true;
  }
  return false;
}

/* Takes slot @s's oldest upstream record: 1 with *event set, 0 if none. */
static int
take_upstream_from (struct zcp_control *control, uint32_t s, char **event)
{
  struct zcp_shm_slot *slot = &control->slots[s];
  uint32_t read = atomic_load_explicit (&slot->upstream_read,
      memory_order_relaxed);
  /* acquire; pairs with the release store in zcp_subscriber_send_upstream:
   * the record is written before the index says so. */
  uint32_t write = atomic_load_explicit (&slot->upstream_write,
      memory_order_acquire);
  struct zcp_shm_upstream_record *record;
  uint32_t length;
  int ret = 1;

  if (read == write ||
      atomic_load_explicit (&slot->state, memory_order_acquire) !=
      ZCP_SLOT_STATE_ACTIVE)
    return 0;

  /* Both indices are the subscriber's to corrupt: never trust the distance
   * or the length. */
  record = &slot->upstream[read % ZCP_UPSTREAM_RECORDS];
  length = record->length;
  if (write - read > ZCP_UPSTREAM_RECORDS || length >= sizeof record->data) {
    zcp_log (ZCP_LOG_WARNING, "channel %s: malformed upstream event from "
        "slot %u", control->channel, s);
    atomic_store_explicit (&slot->upstream_read, write, memory_order_release);
    return -EPROTO;
  }
  *event = malloc (length + 1);
  if (*event) {
    memcpy (*event, record->data, length);
    (*event)[length] = '\0';
  } else {
    ret = -ENOMEM;
  }
  /* release: the record is copied before the subscriber may reuse it */
  atomic_store_explicit (&slot->upstream_read, read + 1, memory_order_release);
  return ret;
}

int
zcp_publisher_take_upstream (struct zcp_publisher *self, char **event,
    int64_t timeout_ns, const atomic_bool * cancel)
{
  struct upstream_wait wait = { self->control, cancel };
  int64_t deadline = zcp_deadline (timeout_ns);

  for (;;) {
    for (uint32_t s = 0; s < ZCP_MAX_SUBSCRIBERS; s++) {
      int ret = take_upstream_from (self->control, s, event);

      if (ret != 0)
        return ret < 0 ? ret : 0;
    }
    if (cancelled (cancel))
      return -ECANCELED;
    if (zcp_event_wait_until (&self->control->header->upstream_event,
            upstream_waiting, &wait, deadline) == -ETIMEDOUT)
      return -ETIMEDOUT;
  }
}

int
zcp_publisher_send_eos (struct zcp_publisher *self, const atomic_bool * cancel)
{
  struct zcp_frame frame = {.kind = ZCP_FRAME_KIND_EOS };
  struct zcp_shm_desc desc;

  frame.sequence = self->sequence++;
  zcp_desc_from_frame (&desc, NULL, &frame);
  return push_to_subscribers (self, &desc, cancel);
}

struct drain_wait
{
  struct zcp_control *control;
  const atomic_bool *cancel;
};

static bool
all_drained (void *data)
{
  struct drain_wait *wait = data;

  if (cancelled (wait->cancel))
    return true;
  for (uint32_t s = 0; s < ZCP_MAX_SUBSCRIBERS; s++) {
    struct zcp_shm_slot *slot = &wait->control->slots[s];

    if (atomic_load_explicit (&slot->state, memory_order_acquire) ==
        ZCP_SLOT_STATE_ACTIVE && slot_leaky (slot) == ZCP_SLOT_LEAKY_NO &&
        zcp_ring_fill (slot) != 0)
      return false;
  }
  return true;
}

int
zcp_publisher_drain (struct zcp_publisher *self, int64_t timeout_ns,
    const atomic_bool * cancel)
{
  int64_t deadline = zcp_deadline (timeout_ns);
  struct drain_wait wait = { self->control, cancel };

  for (;;) {
    int ret = zcp_event_wait_until (&self->control->header->publisher_event,
        all_drained, &wait, zcp_min_i64 (deadline,
            zcp_now_ns () + ZCP_LIVENESS_PERIOD_NS));

    if (ret == 0)
      return cancelled (cancel) ? -ECANCELED : 0;
    if (zcp_now_ns () >= deadline)
      return -ETIMEDOUT;
    check_subscribers (self);
  }
}

static bool
slot_is_active (struct zcp_publisher *self, uint32_t slot)
{
  return atomic_load_explicit (&self->control->slots[slot].state,
      memory_order_acquire) == ZCP_SLOT_STATE_ACTIVE;
}

uint32_t
zcp_publisher_count_subscribers (struct zcp_publisher *self)
{
  uint32_t count = 0;

  for (uint32_t s = 0; s < ZCP_MAX_SUBSCRIBERS; s++)
    count += slot_is_active (self, s);
  return count;
}

bool
zcp_publisher_has_subscribers (struct zcp_publisher *self)
{
  for (uint32_t s = 0; s < ZCP_MAX_SUBSCRIBERS; s++)
    if (slot_is_active (self, s))
      return true;
  return false;
}

struct subscriber_wait
{
  struct zcp_publisher *self;
  const atomic_bool *cancel;
};

static bool
has_subscriber (void *data)
{
  struct subscriber_wait *wait = data;

  return cancelled (wait->cancel) || zcp_publisher_has_subscribers (wait->self);
}

int
zcp_publisher_wait_subscriber (struct zcp_publisher *self,
    int64_t timeout_ns, const atomic_bool * cancel)
{
  struct subscriber_wait wait = { self, cancel };

  /* zcp_subscriber_open signals the publisher's event once it is in. */
  if (zcp_event_wait_until (&self->control->header->publisher_event,
          has_subscriber, &wait, zcp_deadline (timeout_ns)) < 0)
    return -ETIMEDOUT;
  return cancelled (cancel) ? -ECANCELED : 0;
}

void
zcp_publisher_wake (struct zcp_publisher *self)
{
  /* Every waiter of the publisher sleeps on one of these two. */
  zcp_event_signal (&self->control->header->publisher_event);
  zcp_event_signal (&self->control->header->upstream_event);
}

void
zcp_publisher_count_copy (struct zcp_publisher *self)
{
  atomic_fetch_add_explicit (&self->control->header->frames_copied, 1,
      memory_order_relaxed);
}

void
zcp_publisher_get_stats (struct zcp_publisher *self,
    struct zcp_publisher_stats *stats)
{
  struct zcp_control *control = self->control;

  /* Count what live processes hold: give back what dead ones held. */
  check_subscribers (self);
  memset (stats, 0, sizeof *stats);
  stats->frames_published =
      atomic_load_explicit (&control->header->frames_published,
      memory_order_relaxed);
  stats->frames_copied =
      atomic_load_explicit (&control->header->frames_copied,
      memory_order_relaxed);
  stats->subscribers = zcp_publisher_count_subscribers (self);

  pthread_mutex_lock (&self->lock);
  for (uint32_t p = 0; p < ZCP_MAX_POOLS; p++) {
    struct zcp_pool_map *map = self->maps[p];

    if (!map)
      continue;
    stats->pools++;
    for (uint32_t w = 0; w < ZCP_MAX_CHUNKS_PER_POOL / 64; w++)
      stats->shm_bytes += map->chunk_stride *
          (uint64_t) __builtin_popcountll (self->backing[p].reserved[w]);
    if (self->pool_state[p] != ZCP_POOL_STATE_ACTIVE)
      continue;
    stats->chunk_size = map->chunk_size;
    stats->chunks_total += self->backing[p].claimable;
    stats->pool_bytes += map->mapped_size;
    for (uint32_t c = 0; c < self->backing[p].claimable; c++)
      if (atomic_load_explicit (zcp_control_mask (control, map->index, c),
              memory_order_relaxed) != 0)
        stats->chunks_in_use++;
  }
  stats->pool_limit = self->pool_limit;
  stats->chunk_capacity =
      atomic_load_explicit (&control->header->chunk_capacity,
      memory_order_relaxed);
  stats->limit_waits = self->limit_waits;
  stats->out_of_space = self->space_retry_at != 0;
  pthread_mutex_unlock (&self->lock);
}

/* What slot @s says of its subscriber: numbers a subscriber wrote, reported,
 * never trusted. */
void
zcp_control_read_slot_info (struct zcp_control *control, uint32_t s,
    struct zcp_subscriber_info *info)
{
  struct zcp_shm_slot *slot = &control->slots[s];
  uint32_t fill = zcp_ring_count_buffers (slot);

  info->slot = s;
  info->pid = atomic_load_explicit (&slot->pid, memory_order_relaxed);
  info->delivered = atomic_load_explicit (&slot->delivered,
      memory_order_relaxed);
  info->dropped = atomic_load_explicit (&slot->dropped, memory_order_relaxed);
  info->queued = fill == UINT32_MAX ? 0 : fill;
  info->max_buffers = slot_max_buffers (slot);
  switch (slot_leaky (slot)) {
    case ZCP_SLOT_LEAKY_UPSTREAM:
      info->leaky = ZCP_LEAKY_UPSTREAM;
      break;
    case ZCP_SLOT_LEAKY_DOWNSTREAM:
      info->leaky = ZCP_LEAKY_DOWNSTREAM;
      break;
    default:
      info->leaky = ZCP_LEAKY_NO;
      break;
  }
}

uint32_t
zcp_publisher_list_subscribers (struct zcp_publisher *self,
    struct zcp_subscriber_info *infos, uint32_t max_infos)
{
  struct zcp_control *control = self->control;
  uint32_t count = 0;

  /* Never list one that is already dead: a caller that reports arrivals
   * would report the arrival of a subscriber that is gone. */
  check_subscribers (self);
  for (uint32_t s = 0; s < ZCP_MAX_SUBSCRIBERS && count < max_infos; s++) {
    if (atomic_load_explicit (&control->slots[s].state,
            memory_order_acquire) == ZCP_SLOT_STATE_ACTIVE)
      zcp_control_read_slot_info (control, s, &infos[count++]);
  }
  return count;
}

int
zcp_publisher_get_departed (struct zcp_publisher *self,
    struct zcp_subscriber_info *info)
{
  struct zcp_subscriber_info last;
  uint32_t pid = info->pid;

  if (info->slot >= ZCP_MAX_SUBSCRIBERS)
    return -EINVAL;
  /* A subscriber leaves its counters in the slot; the next one to claim it
   * writes its own pid before it resets them. */
  zcp_control_read_slot_info (self->control, info->slot, &last);
  if (last.pid != pid)
    return -ESRCH;
  *info = last;
  info->queued = 0;
  return 0;
}

struct zcp_publisher *
zcp_publisher_ref (struct zcp_publisher *self)
{
  atomic_fetch_add_explicit (&self->refs, 1, memory_order_relaxed);
  return self;
}

void
zcp_publisher_unref (struct zcp_publisher *self)
{
  if (!self || atomic_fetch_sub_explicit (&self->refs, 1,
          memory_order_acq_rel) != 1)
    return;

  for (uint32_t p = 0; p < ZCP_MAX_POOLS; p++)
    if (self->maps[p])
      forget_pool (self, p);
  pthread_mutex_destroy (&self->lock);
  zcp_control_unref (self->control);
  free (self->unsent_caps);
  free (self);
}

void
zcp_publisher_close (struct zcp_publisher *self)
{
  struct zcp_control *control;

  if (!self)
    return;

  control = self->control;
  atomic_store_explicit (&self->closed, true, memory_order_release);
  pthread_mutex_lock (&self->lock);
  /* release; pairs with the acquire load in zcp_subscriber_next: subscribers
   * that see CLOSED have seen every descriptor pushed before it. */
  atomic_store_explicit (&control->header->state, ZCP_SEGMENT_STATE_CLOSED,
      memory_order_release);
  zcp_event_wake_shared (&control->header->subscriber_wake, UINT32_MAX);

  /* Only our own: had the name been cleaned away by hand, a new publisher
   * may have it by now. */
  if (zcp_segment_is_named (control->fd, self->control_name))
    shm_unlink (self->control_name);
  for (uint32_t p = 0; p < ZCP_MAX_POOLS; p++)
    if (self->maps[p])
      unlink_pool (self, p);
  retire_active_locked (self);
  pthread_mutex_unlock (&self->lock);

  zcp_log (ZCP_LOG_INFO, "channel %s: publisher closed", control->channel);
  /* Wake a claim that waits, so that it sees we are closed. */
  zcp_publisher_wake (self);
  zcp_publisher_unref (self);
}
