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
#include <unistd.h>

#include "zcp-desc.h"
#include "zcp-event.h"
#include "zcp-liveness.h"
#include "zcp-pool.h"
#include "zcp-private.h"
#include "zcp-ring.h"

#define NO_POOL UINT32_MAX

struct zcp_publisher
{
  atomic_int refs;
  atomic_bool closed;
  struct zcp_control *control;
  char control_name[ZCP_SHM_NAME_SIZE];

  /* Guards the pool table, the slot states it moves and the maps below:
   * claims (upstream thread) and publishes (sink thread) both reclaim the
   * chunks of departed subscribers. */
  pthread_mutex_t lock;
  struct zcp_pool_map *maps[ZCP_MAX_POOLS];
  uint32_t current_pool;
  int64_t next_liveness_check;

  uint32_t mode;
  uint64_t sequence;            /* publishing thread only */
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

  /* Never take over, or remove, what another user made. */
  if (fstat (fd, &st) != 0 || st.st_uid != geteuid ()) {
    zcp_log (ZCP_LOG_WARNING, "channel %s: %s belongs to uid %u, not to us",
        channel, name, (unsigned) st.st_uid);
    close (fd);
    return -EACCES;
  }

  ret = zcp_liveness_acquire (fd, ZCP_LOCK_BYTE_PUBLISHER);
  if (ret == 0) {
    zcp_log (ZCP_LOG_INFO, "channel %s: replacing the segments of a dead "
        "publisher", channel);
    zcp_segment_unlink_pools (channel);
    shm_unlink (name);
  } else if (ret == -EAGAIN) {
    ret = -EBUSY;
  }
  close (fd);
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

  /* A second publisher that races us may create the name between our
   * clean-up and our O_EXCL create: look again a few times. */
  for (int attempt = 0;; attempt++) {
    ret = zcp_segment_create (name, mode, ZCP_CONTROL_SIZE, &fd, &base);
    if (ret != -EEXIST || attempt == 3)
      break;
    ret = remove_stale_channel (channel, name);
    if (ret < 0)
      return ret;
  }
  if (ret < 0)
    return ret;

  /* Nobody can hold the token of a file we just created, unless another
   * publisher found it half-made and took it for stale: then it wins. */
  ret = zcp_liveness_acquire (fd, ZCP_LOCK_BYTE_PUBLISHER);
  if (ret < 0) {
    munmap (base, ZCP_CONTROL_SIZE);
    close (fd);
    return ret == -EAGAIN ? -EBUSY : ret;
  }

  init_header (base, new_epoch ());
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
  self->current_pool = NO_POOL;
  self->mode = mode;

  /* release; pairs with the acquire load in zcp_segment_validate_header:
   * subscribers trust the header only after this store. */
  atomic_store_explicit (&control->header->state, ZCP_SEGMENT_STATE_READY,
      memory_order_release);
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

  if (zcp_segment_pool_name (control->channel, control->epoch, index,
          control->pools[index].generation, name, sizeof name) == 0)
    shm_unlink (name);
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
  zcp_event_reset (&slot->event);
  /* release; pairs with the acquire load in claim_slot: a new subscriber sees
   * the slot clean. */
  atomic_store_explicit (&slot->state, ZCP_SLOT_STATE_FREE,
      memory_order_release);
  zcp_log (ZCP_LOG_INFO, "channel %s: subscriber slot %u is gone, its chunks "
      "are back in the pool", control->channel, slot_index);
}

/* Frees retired pools that nobody holds any more. */
static void
collect_pools_locked (struct zcp_publisher *self)
{
  struct zcp_control *control = self->control;

  for (uint32_t index = 0; index < ZCP_MAX_POOLS; index++) {
    struct zcp_shm_pool *entry = &control->pools[index];

    if (index == self->current_pool || !self->maps[index] ||
        atomic_load_explicit (&entry->state, memory_order_relaxed) !=
        ZCP_POOL_STATE_RETIRED || !zcp_pool_is_idle (control, index))
      continue;

    unlink_pool (self, index);
    atomic_store_explicit (&entry->state, ZCP_POOL_STATE_FREE,
        memory_order_release);
    zcp_pool_map_unref (self->maps[index]);
    self->maps[index] = NULL;
    zcp_log (ZCP_LOG_DEBUG, "channel %s: retired pool %u removed",
        control->channel, index);
  }
}

static void
check_subscribers_locked (struct zcp_publisher *self)
{
  struct zcp_control *control = self->control;

  for (uint32_t s = 0; s < ZCP_MAX_SUBSCRIBERS; s++) {
    uint32_t state = atomic_load_explicit (&control->slots[s].state,
        memory_order_relaxed);

    if ((state == ZCP_SLOT_STATE_ACTIVE || state == ZCP_SLOT_STATE_LEAVING) &&
        zcp_liveness_probe (control->fd, ZCP_LOCK_BYTE_SLOT (s)) == 0)
      reclaim_slot_locked (self, s);
  }
  collect_pools_locked (self);
  self->next_liveness_check = zcp_now_ns () + ZCP_LIVENESS_PERIOD_NS;
}

static void
check_subscribers (struct zcp_publisher *self, bool only_if_due)
{
  pthread_mutex_lock (&self->lock);
  if (!only_if_due || zcp_now_ns () >= self->next_liveness_check)
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
    if (!self->maps[index] &&
        atomic_load_explicit (&control->pools[index].state,
            memory_order_relaxed) == ZCP_POOL_STATE_FREE) {
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
  /* Subscribers open pools with the rights they open the channel with. */
  ret = zcp_segment_create (name, self->mode, segment_size, &fd, &base);
  if (ret < 0)
    return ret;
  close (fd);

  map = zcp_pool_map_new (control, index, generation, base, segment_size,
      chunk_size, stride, chunk_count);
  if (!map) {
    munmap (base, segment_size);
    shm_unlink (name);
    return -ENOMEM;
  }

  entry->chunk_count = chunk_count;
  entry->chunk_size = chunk_size;
  entry->chunk_stride = stride;
  entry->segment_size = segment_size;
  /* release; pairs with the acquire loads in zcp_pool_map_open */
  atomic_store_explicit (&entry->generation, generation, memory_order_release);
  atomic_store_explicit (&entry->state, ZCP_POOL_STATE_ACTIVE,
      memory_order_release);
  self->maps[index] = map;
  *index_out = index;
  zcp_log (ZCP_LOG_INFO, "channel %s: pool %u: %u chunks of %" PRIu64
      " bytes", control->channel, index, chunk_count, chunk_size);
  return 0;
}

int
zcp_publisher_configure_pool (struct zcp_publisher *self, uint64_t chunk_size,
    uint32_t chunk_count)
{
  struct zcp_control *control = self->control;
  uint32_t index, old;
  int ret;

  if (chunk_size == 0 || chunk_count == 0 ||
      chunk_count > ZCP_MAX_CHUNKS_PER_POOL)
    return -EINVAL;
  if (atomic_load_explicit (&self->closed, memory_order_acquire))
    return -EPIPE;

  pthread_mutex_lock (&self->lock);
  old = self->current_pool;
  /* Keep a pool that fits: renegotiating to a smaller size must not churn
   * segments that subscribers have mapped. */
  if (old != NO_POOL && self->maps[old]->chunk_size >= chunk_size &&
      self->maps[old]->chunk_count >= chunk_count) {
    pthread_mutex_unlock (&self->lock);
    return 0;
  }

  check_subscribers_locked (self);
  ret = create_pool_locked (self, chunk_size, chunk_count, &index);
  if (ret == 0) {
    if (old != NO_POOL)
      atomic_store_explicit (&control->pools[old].state,
          ZCP_POOL_STATE_RETIRED, memory_order_release);
    self->current_pool = index;
    collect_pools_locked (self);
  }
  pthread_mutex_unlock (&self->lock);
  return ret;
}

uint64_t
zcp_publisher_chunk_size (struct zcp_publisher *self)
{
  uint64_t size = 0;

  pthread_mutex_lock (&self->lock);
  if (self->current_pool != NO_POOL)
    size = self->maps[self->current_pool]->chunk_size;
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
  if (self->current_pool == NO_POOL)
    possible = true;
  else if (!possible) {
    struct zcp_pool_map *map = self->maps[self->current_pool];

    for (uint32_t c = 0; c < map->chunk_count && !possible; c++)
      possible = atomic_load_explicit (zcp_control_mask (self->control,
              map->index, c), memory_order_relaxed) == 0;
  }
  pthread_mutex_unlock (&self->lock);
  return possible;
}

int
zcp_publisher_claim (struct zcp_publisher *self, struct zcp_chunk *chunk,
    int64_t timeout_ns, const atomic_bool * cancel)
{
  int64_t deadline = zcp_deadline (timeout_ns);
  struct claim_wait wait = { self, cancel };

  for (;;) {
    int index = -EINVAL;

    if (atomic_load_explicit (&self->closed, memory_order_acquire))
      return -EPIPE;

    pthread_mutex_lock (&self->lock);
    if (self->current_pool != NO_POOL) {
      struct zcp_pool_map *map = self->maps[self->current_pool];

      index = zcp_pool_try_claim (map);
      if (index >= 0)
        zcp_pool_map_fill_chunk (map, (uint32_t) index, ZCP_PUBLISHER_BIT,
            chunk);
    }
    pthread_mutex_unlock (&self->lock);

    if (index >= 0)
      return 0;
    if (index != -EAGAIN)
      return index;
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
      check_subscribers (self, false);
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
  return 0;
}

struct space_wait
{
  struct zcp_shm_slot *slot;
  const atomic_bool *cancel;
};

static bool
slot_has_space (void *data)
{
  struct space_wait *wait = data;

  return cancelled (wait->cancel) ||
      atomic_load_explicit (&wait->slot->state, memory_order_acquire) !=
      ZCP_SLOT_STATE_ACTIVE || zcp_ring_fill (wait->slot) < ZCP_RING_CAPACITY;
}

/* Pushes @desc to every active subscriber; see zcp_publisher_publish. */
static int
push_to_subscribers (struct zcp_publisher *self,
    const struct zcp_shm_desc *desc, const atomic_bool * cancel)
{
  struct zcp_control *control = self->control;

  check_subscribers (self, true);

  for (uint32_t s = 0; s < ZCP_MAX_SUBSCRIBERS; s++) {
    struct zcp_shm_slot *slot = &control->slots[s];
    struct space_wait wait = { slot, cancel };

    for (;;) {
      bool pushed = false, active;

      pthread_mutex_lock (&self->lock);
      active = atomic_load_explicit (&slot->state, memory_order_acquire) ==
          ZCP_SLOT_STATE_ACTIVE;
      if (active && zcp_ring_fill (slot) < ZCP_RING_CAPACITY) {
        if (desc->kind == ZCP_SHM_DESC_KIND_BUFFER)
          /* relaxed: the release store of write_index in zcp_ring_push
           * publishes the bit together with the descriptor. */
          atomic_fetch_or_explicit (zcp_control_mask (control,
                  desc->pool_index, desc->chunk_index), UINT64_C (1) << s,
              memory_order_relaxed);
        pushed = zcp_ring_push (slot, desc);
      }
      pthread_mutex_unlock (&self->lock);

      if (pushed)
        zcp_event_signal (&slot->event);
      if (pushed || !active)
        break;

      /* Lossless: wait for this subscriber, and for as long as it lives. */
      if (zcp_event_wait_until (&control->header->publisher_event,
              slot_has_space, &wait, zcp_now_ns () + ZCP_LIVENESS_PERIOD_NS)
          == -ETIMEDOUT) {
        zcp_log (ZCP_LOG_DEBUG, "channel %s: subscriber %u is full, waiting",
            control->channel, s);
        check_subscribers (self, false);
      }
      if (cancelled (cancel))
        return -ECANCELED;
    }
  }
  return 0;
}

int
zcp_publisher_publish (struct zcp_publisher *self,
    const struct zcp_chunk *chunk, struct zcp_frame *frame,
    const atomic_bool * cancel)
{
  struct zcp_shm_header *header = self->control->header;
  struct zcp_shm_desc desc;
  int ret;

  if (!chunk->map || chunk->map->control != self->control)
    return -EINVAL;
  if (frame->offset > chunk->capacity ||
      frame->size > chunk->capacity - frame->offset)
    return -EINVAL;

  frame->kind = ZCP_FRAME_KIND_BUFFER;
  frame->sequence = self->sequence++;
  frame->caps_generation = atomic_load_explicit (&header->caps_generation,
      memory_order_relaxed);
  zcp_desc_from_frame (&desc, chunk, frame);

  ret = push_to_subscribers (self, &desc, cancel);
  if (ret == 0)
    atomic_fetch_add_explicit (&header->frames_published, 1,
        memory_order_relaxed);
  return ret;
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
        ZCP_SLOT_STATE_ACTIVE && zcp_ring_fill (slot) != 0)
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
    check_subscribers (self, false);
  }
}

uint32_t
zcp_publisher_count_subscribers (struct zcp_publisher *self)
{
  uint32_t count = 0;

  for (uint32_t s = 0; s < ZCP_MAX_SUBSCRIBERS; s++)
    if (atomic_load_explicit (&self->control->slots[s].state,
            memory_order_acquire) == ZCP_SLOT_STATE_ACTIVE)
      count++;
  return count;
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

  return cancelled (wait->cancel) ||
      zcp_publisher_count_subscribers (wait->self) > 0;
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
  /* Every waiter of the publisher sleeps on this one event. */
  zcp_event_signal (&self->control->header->publisher_event);
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
  check_subscribers (self, false);
  memset (stats, 0, sizeof *stats);
  stats->frames_published =
      atomic_load_explicit (&control->header->frames_published,
      memory_order_relaxed);
  stats->frames_copied =
      atomic_load_explicit (&control->header->frames_copied,
      memory_order_relaxed);
  stats->subscribers = zcp_publisher_count_subscribers (self);

  pthread_mutex_lock (&self->lock);
  for (uint32_t p = 0; p < ZCP_MAX_POOLS; p++)
    if (self->maps[p])
      stats->pools++;
  if (self->current_pool != NO_POOL) {
    struct zcp_pool_map *map = self->maps[self->current_pool];

    stats->chunks_total = map->chunk_count;
    for (uint32_t c = 0; c < map->chunk_count; c++)
      if (atomic_load_explicit (zcp_control_mask (control, map->index, c),
              memory_order_relaxed) != 0)
        stats->chunks_in_use++;
  }
  pthread_mutex_unlock (&self->lock);
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
      zcp_pool_map_unref (self->maps[p]);
  pthread_mutex_destroy (&self->lock);
  zcp_control_unref (self->control);
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
  for (uint32_t s = 0; s < ZCP_MAX_SUBSCRIBERS; s++)
    zcp_event_signal (&control->slots[s].event);

  shm_unlink (self->control_name);
  for (uint32_t p = 0; p < ZCP_MAX_POOLS; p++)
    if (self->maps[p])
      unlink_pool (self, p);
  self->current_pool = NO_POOL;
  pthread_mutex_unlock (&self->lock);

  zcp_log (ZCP_LOG_INFO, "channel %s: publisher closed", control->channel);
  /* Wake a claim that waits, so that it sees we are closed. */
  zcp_publisher_wake (self);
  zcp_publisher_unref (self);
}
