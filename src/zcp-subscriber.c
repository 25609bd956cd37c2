/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zcp-desc.h"
#include "zcp-event.h"
#include "zcp-liveness.h"
#include "zcp-pool.h"
#include "zcp-private.h"
#include "zcp-record.h"
#include "zcp-ring.h"

struct zcp_subscriber
{
  struct zcp_control *control;
  struct zcp_shm_slot *slot;
  uint32_t slot_index;
  /* The mapping of each pool as of the last descriptor that named it; chunks
   * keep older mappings alive by their own references.  Only the thread
   * that calls zcp_subscriber_next touches this. */
  struct zcp_pool_map *maps[ZCP_MAX_POOLS];
  /* The sticky events the channel had when we joined, handed out first, in
   * kind order; the same events met again in the ring are skipped. */
  char *replay[ZCP_STICKY_KINDS];
  uint64_t replay_number[ZCP_STICKY_KINDS];
  uint32_t replay_next;
  /* zcp_subscriber_hold_budget's last answer and what it was worked out
   * from: both change seldom, and a frame then costs two loads. */
  uint32_t budget_capacity;
  uint64_t budget_slots;
  uint32_t budget;
  /* The caps the publisher last sent in order (ZCP_SHM_EVENT_CAPS), which
   * the frames after them have; only the thread that calls
   * zcp_subscriber_next touches them. */
  char *sent_caps;
  uint32_t sent_caps_generation;
  /* zcp_subscriber_set_timeout_slack's; only the thread that calls
   * zcp_subscriber_next touches it. */
  int64_t timeout_slack_ns;
};

static uint32_t
slot_leaky (enum zcp_leaky leaky)
{
  switch (leaky) {
    case ZCP_LEAKY_UPSTREAM:
      return ZCP_SLOT_LEAKY_UPSTREAM;
    case ZCP_LEAKY_DOWNSTREAM:
      return ZCP_SLOT_LEAKY_DOWNSTREAM;
    default:
      return ZCP_SLOT_LEAKY_NO;
  }
}

/* A slot whose owner is gone (its token free) in a state the publisher
 * gives back: free again once it has taken back the chunks it held. */
static bool
slot_being_given_back (uint32_t state)
{
  return state == ZCP_SLOT_STATE_ACTIVE || state == ZCP_SLOT_STATE_LEAVING ||
      state == ZCP_SLOT_STATE_RECLAIMING;
}

static int
claim_slot (struct zcp_control *control, uint32_t max_buffers,
    enum zcp_leaky leaky, uint32_t * slot_out)
{
  bool any_given_back = false;

  for (uint32_t s = 0; s < ZCP_MAX_SUBSCRIBERS; s++) {
    struct zcp_shm_slot *slot = &control->slots[s];
    uint32_t expected = ZCP_SLOT_STATE_FREE;
    uint32_t state;

    /* Holding the token first means the previous owner of the slot is gone;
     * the state says whether the publisher has cleaned up after it. */
    if (zcp_liveness_acquire (control->fd, ZCP_LOCK_BYTE_SLOT (s)) != 0)
      continue;

    /* acquire; pairs with the release store of FREE in reclaim_slot_locked */
    state = atomic_load_explicit (&slot->state, memory_order_acquire);
    any_given_back |= slot_being_given_back (state);
    if (state == ZCP_SLOT_STATE_FREE) {
      atomic_store_explicit (&slot->pid, (uint32_t) getpid (),
          memory_order_relaxed);
      atomic_store_explicit (&slot->delivered, 0, memory_order_relaxed);
      atomic_store_explicit (&slot->taking, 0, memory_order_relaxed);
      atomic_store_explicit (&slot->dropped, 0, memory_order_relaxed);
      atomic_store_explicit (&slot->max_buffers, max_buffers,
          memory_order_relaxed);
      atomic_store_explicit (&slot->leaky, slot_leaky (leaky),
          memory_order_relaxed);
      zcp_event_reset_sleepers (&slot->sleepers);
      atomic_store_explicit (&slot->upstream_write, 0, memory_order_relaxed);
      atomic_store_explicit (&slot->upstream_read, 0, memory_order_relaxed);
      /* Before ACTIVE, so that whoever sees us active (the sink counting its
       * subscribers) sees the publisher push to us from then on.  Should the
       * claim fail, the stray bit costs the publisher one look a frame. */
      atomic_fetch_or_explicit (&control->header->active_slots,
          UINT64_C (1) << s, memory_order_relaxed);
      /* release; pairs with the acquire load in push_to_subscribers: the
       * publisher sees the slot reset before it pushes to it. */
      if (atomic_compare_exchange_strong_explicit (&slot->state, &expected,
              ZCP_SLOT_STATE_ACTIVE, memory_order_acq_rel,
              memory_order_relaxed)) {
        *slot_out = s;
        return 0;
      }
    }
    zcp_liveness_release (control->fd, ZCP_LOCK_BYTE_SLOT (s));
  }
  /* A subscriber that restarts on a full channel must not fail for the
   * moment between its old self leaving and the publisher noticing; its own
   * code, so that a caller who waits too long can say which it waited for. */
  return any_given_back ? -EBUSY : -EUSERS;
}

/* Whether every live subscriber but the one in @except_slot (none if it is
 * ZCP_MAX_SUBSCRIBERS) has taken all it was sent, the pools of which it
 * opens as it takes them: its ring empty, and not in the middle of taking
 * the last descriptor. */
static bool
others_drained (struct zcp_control *control, uint32_t except_slot)
{
  for (uint32_t s = 0; s < ZCP_MAX_SUBSCRIBERS; s++) {
    struct zcp_shm_slot *slot = &control->slots[s];

    if (s == except_slot ||
        atomic_load_explicit (&slot->state, memory_order_acquire) !=
        ZCP_SLOT_STATE_ACTIVE || (zcp_ring_fill (slot) == 0 &&
            /* acquire, after the fill's: pairs with the release store that
             * ends a take; a pop seen is a take begun. */
            atomic_load_explicit (&slot->taking, memory_order_acquire) == 0))
      continue;
    if (zcp_liveness_probe (control->fd, ZCP_LOCK_BYTE_SLOT (s)) != 0)
      return false;
  }
  return true;
}

/* A dead publisher's segments would hold their memory in /dev/shm until
 * the next publisher or zerocp-inspect --clean.  The last of its
 * subscribers to take what it was sent removes them (what is mapped stays
 * mapped), as any remover of a dead channel does; so does a subscriber that
 * comes to the channel when none is left to (@except_slot
 * ZCP_MAX_SUBSCRIBERS): a slot claimed after the publisher died has no
 * frames to take.  Nothing of another user. */
static void
remove_dead_publisher_channel (struct zcp_control *control,
    uint32_t except_slot)
{
  if (control->owner != geteuid () || !others_drained (control, except_slot))
    return;
  /* A new publisher's segment under the name, or none: whoever put it
   * there or took it away removed the pools too. */
  if (zcp_segment_remove_dead_channel (control->channel, control->fd) == 0)
    zcp_log (ZCP_LOG_INFO, "channel %s: removed the dead publisher's "
        "segments", control->channel);
}

/* The latest event of sticky kind @kind, from its records: -ENOENT if it
 * has none, -ESTALE if the publisher is writing a new one (which our ring
 * then brings), -EPROTO if its first part claims more than one can be. */
static int
read_sticky (struct zcp_control *control, uint32_t kind, uint64_t * number,
    char **data_out)
{
  const struct zcp_shm_event_record *records =
      &control->sticky[kind * ZCP_STICKY_PARTS];
  uint32_t sticky, length, total_length;
  int ret;

  /* The first part's number and the event's length; then every part, the
   * first included, checked as one event. */
  ret = zcp_record_read_into (records, number, &sticky, NULL, &length,
      &total_length);
  if (ret < 0)
    return ret;
  return zcp_records_read (records, ZCP_STICKY_PARTS, 0, *number,
      total_length, data_out);
}

int
zcp_subscriber_open (const char *channel, struct zcp_subscriber **out)
{
  return zcp_subscriber_open_with_queue (channel, 0, ZCP_LEAKY_NO, out);
}

int
zcp_subscriber_open_with_queue (const char *channel, uint32_t max_buffers,
    enum zcp_leaky leaky, struct zcp_subscriber **out)
{
  struct zcp_subscriber *self;
  struct zcp_control *control;
  uint32_t slot;
  int ret;

  /* Read-write: a subscriber clears its holder bits and moves its read
   * index. */
  ret = zcp_control_open (channel, true, &control);
  if (ret < 0)
    return ret;
  if (atomic_load_explicit (&control->header->state,
          memory_order_acquire) == ZCP_SEGMENT_STATE_CLOSED)
    ret = -ENOTCONN;
  if (ret == 0) {
    ret = zcp_liveness_probe (control->fd, ZCP_LOCK_BYTE_PUBLISHER);
    /* The segment of a dead publisher, waiting to be replaced; gone now if
     * no subscriber of it has frames left to take. */
    if (ret == 0) {
      remove_dead_publisher_channel (control, ZCP_MAX_SUBSCRIBERS);
      ret = -ENOTCONN;
    } else if (ret == 1) {
      ret = 0;
    }
  }
  if (ret < 0) {
    zcp_control_unref (control);
    return ret;
  }

  if (max_buffers > ZCP_RING_CAPACITY)
    max_buffers = ZCP_RING_CAPACITY;
  ret = claim_slot (control, max_buffers, leaky, &slot);
  self = ret == 0 ? calloc (1, sizeof *self) : NULL;
  if (!self) {
    zcp_control_unref (control);
    return ret < 0 ? ret : -ENOMEM;
  }

  self->control = control;
  self->slot_index = slot;
  self->slot = &control->slots[slot];
  /* After the slot is active: a sticky event sent from now on is in our
   * ring as well, and skipped there if we replay it. */
  for (uint32_t k = 0; k < ZCP_STICKY_KINDS; k++) {
    ret = read_sticky (control, k, &self->replay_number[k], &self->replay[k]);
    if (ret < 0 && ret != -ENOENT)
      zcp_log (ZCP_LOG_INFO, "channel %s: sticky event %u not replayed: %s",
          channel, k, strerror (-ret));
    if (ret < 0)
      self->replay_number[k] = 0;
  }
  /* Tell the publisher a subscriber came. */
  zcp_event_signal (&control->header->publisher_event);
  zcp_log (ZCP_LOG_INFO, "channel %s: subscribed in slot %u", channel, slot);
  *out = self;
  return 0;
}

/* Whether the publisher closed the channel or died. */
static bool
publisher_gone (struct zcp_subscriber *self)
{
  struct zcp_control *control = self->control;

  return atomic_load_explicit (&control->header->state,
      memory_order_acquire) != ZCP_SEGMENT_STATE_READY ||
      zcp_liveness_probe (control->fd, ZCP_LOCK_BYTE_PUBLISHER) == 0;
}

static int
pool_map_for (struct zcp_subscriber *self, uint32_t index,
    uint32_t generation, struct zcp_pool_map **map_out)
{
  struct zcp_pool_map *map;
  int ret;

  if (index >= ZCP_MAX_POOLS)
    return -EPROTO;

  map = self->maps[index];
  if (!map || map->generation != generation) {
    ret = zcp_pool_map_open (self->control, index, generation, false, &map);
    if (ret < 0)
      return ret;
    if (self->maps[index])
      zcp_pool_map_unref (self->maps[index]);
    self->maps[index] = map;
  }
  *map_out = map;
  return 0;
}

/* An event's or a buffer's metas' @size bytes from the ring's records of
 * numbers @first on: -EPROTO for more than the publisher sends in one. */
static int
read_records (struct zcp_control *control, uint64_t first, uint64_t size,
    char **data_out)
{
  if (size > ZCP_EVENT_LONG_MAX)
    return -EPROTO;
  return zcp_records_read (control->events, ZCP_EVENT_RECORDS,
      (uint32_t) (first % ZCP_EVENT_RECORDS), first, size, data_out);
}

/* Sticky event @number of kind @kind, from the kind's records: -ESTALE if
 * they hold another. */
static int
read_sticky_numbered (struct zcp_control *control, uint32_t kind,
    uint64_t number, char **data_out)
{
  uint64_t kept;
  int ret = read_sticky (control, kind, &kept, data_out);

  if (ret == 0 && kept != number) {
    free (*data_out);
    ret = -ESTALE;
  }
  return ret;
}

/* An event descriptor: its records, or -EAGAIN to skip it (replayed when we
 * joined, or its records overwritten, which only a subscriber descheduled
 * for ZCP_EVENT_RECORDS events, or a leaky one sitting on a long event,
 * sees: a sticky one still the latest of its kind comes from the kind's
 * records then). */
static int
accept_event (struct zcp_subscriber *self, const struct zcp_shm_desc *desc,
    struct zcp_frame *frame)
{
  char *data;
  int ret;

  if (desc->event_sticky < ZCP_STICKY_KINDS &&
      desc->event_number <= self->replay_number[desc->event_sticky])
    return -EAGAIN;

  ret = read_records (self->control, desc->event_number, desc->size, &data);
  if (ret == -ESTALE && desc->event_sticky < ZCP_STICKY_KINDS)
    ret = read_sticky_numbered (self->control, desc->event_sticky,
        desc->event_number, &data);
  if (ret < 0) {
    zcp_log (ZCP_LOG_WARNING, "channel %s: event %" PRIu64 " lost: %s",
        self->control->channel, desc->event_number, strerror (-ret));
    return ret == -ENOMEM ? ret : -EAGAIN;
  }
  if (desc->event_sticky == ZCP_SHM_EVENT_CAPS) {
    free (self->sent_caps);
    self->sent_caps = data;
    self->sent_caps_generation = desc->caps_generation;
    return -EAGAIN;
  }
  zcp_desc_to_frame (frame, desc);
  if (frame->event_sticky >= ZCP_STICKY_KINDS)
    frame->event_sticky = ZCP_STICKY_NONE;
  frame->event = data;
  return 0;
}

/* The next sticky event of those the channel had when we joined. */
static bool
take_replay (struct zcp_subscriber *self, struct zcp_frame *frame)
{
  while (self->replay_next < ZCP_STICKY_KINDS) {
    uint32_t k = self->replay_next++;

    if (!self->replay[k])
      continue;
    memset (frame, 0, sizeof *frame);
    frame->kind = ZCP_FRAME_KIND_EVENT;
    frame->replayed = true;
    frame->event_number = self->replay_number[k];
    frame->event_sticky = k;
    frame->event = self->replay[k];
    self->replay[k] = NULL;
    frame->caps_generation =
        atomic_load_explicit (&self->control->header->caps_generation,
        memory_order_acquire);
    frame->pts = frame->dts = frame->duration = ZCP_TIME_NONE;
    frame->segment_pts = frame->segment_dts = ZCP_TIME_NONE;
    return true;
  }
  return false;
}

/* Checks a popped descriptor and takes the chunk it hands us.  The
 * descriptor came from shared memory: every field is checked before use. */
static int
accept_desc (struct zcp_subscriber *self, const struct zcp_shm_desc *desc,
    struct zcp_frame *frame, struct zcp_chunk *chunk)
{
  const char *channel = self->control->channel;
  struct zcp_pool_map *map;
  int ret;

  if (desc->kind == ZCP_SHM_DESC_KIND_EOS) {
    zcp_desc_to_frame (frame, desc);
    return 0;
  }
  if (desc->kind == ZCP_SHM_DESC_KIND_EVENT)
    return accept_event (self, desc, frame);
  if (desc->kind != ZCP_SHM_DESC_KIND_BUFFER) {
    zcp_log (ZCP_LOG_WARNING, "channel %s: descriptor of unknown kind %u",
        channel, desc->kind);
    return -EPROTO;
  }

  ret = pool_map_for (self, desc->pool_index, desc->pool_generation, &map);
  if (ret == -ENOENT && publisher_gone (self)) {
    /* A publisher that did not wait for us (we are leaky, or it stopped
     * without end-of-stream) unlinked its pools as it left: a frame of one
     * we had not mapped is lost, not the rest of the queue. */
    zcp_log (ZCP_LOG_WARNING, "channel %s: a frame of pool %u is lost: the "
        "publisher left and took the pool with it", channel, desc->pool_index);
    return -EAGAIN;
  }
  if (ret < 0) {
    zcp_log (ZCP_LOG_WARNING, "channel %s: descriptor names pool %u "
        "generation %u, which is not there", channel, desc->pool_index,
        desc->pool_generation);
    return ret;
  }
  if (desc->chunk_index >= map->chunk_count) {
    zcp_log (ZCP_LOG_WARNING, "channel %s: chunk index %u out of range "
        "(pool %u has %u)", channel, desc->chunk_index, desc->pool_index,
        map->chunk_count);
    return -EPROTO;
  }

  /* From here on the descriptor names a real chunk whose bit the publisher
   * set for us: give it back if the rest does not check out. */
  zcp_pool_map_fill_chunk (map, desc->chunk_index, self->slot_index, chunk);
  if (desc->offset > map->chunk_size ||
      desc->size > map->chunk_size - desc->offset) {
    zcp_log (ZCP_LOG_WARNING, "channel %s: data at %" PRIu64 "+%" PRIu64
        " overruns a chunk of %" PRIu64 " bytes", channel, desc->offset,
        desc->size, map->chunk_size);
    zcp_chunk_release (chunk);
    return -EPROTO;
  }
  if (desc->has_video && (desc->video.n_planes == 0 ||
          desc->video.n_planes > ZCP_MAX_PLANES)) {
    zcp_log (ZCP_LOG_WARNING, "channel %s: video layout with %u planes",
        channel, desc->video.n_planes);
    zcp_chunk_release (chunk);
    return -EPROTO;
  }
  zcp_desc_to_frame (frame, desc);
  if (desc->meta_size > 0) {
    /* Lost metas (their records written again under a leaky subscriber, or
     * a length no record set has) leave the frame without them. */
    ret = desc->event_number == 0 ? -EPROTO : read_records (self->control,
        desc->event_number, desc->meta_size, &frame->event);
    if (ret == -ENOMEM) {
      zcp_chunk_release (chunk);
      return ret;
    }
    if (ret < 0)
      zcp_log (ZCP_LOG_WARNING, "channel %s: the metas of frame %" PRIu64
          " are lost: %s", channel, desc->sequence, strerror (-ret));
  }
  return 0;
}

struct next_wait
{
  struct zcp_subscriber *self;
  const atomic_bool *cancel;
};

static bool
next_ready (void *data)
{
  struct next_wait *wait = data;
  struct zcp_subscriber *self = wait->self;

  return (wait->cancel && atomic_load_explicit (wait->cancel,
          memory_order_acquire)) || zcp_ring_fill (self->slot) != 0 ||
      atomic_load_explicit (&self->control->header->state,
      memory_order_acquire) != ZCP_SEGMENT_STATE_READY;
}

int
zcp_subscriber_next (struct zcp_subscriber *self, struct zcp_frame *frame,
    struct zcp_chunk *chunk, int64_t timeout_ns, const atomic_bool * cancel)
{
  struct zcp_control *control = self->control;
  int64_t deadline = zcp_deadline (timeout_ns);
  struct next_wait wait = { self, cancel };

  memset (chunk, 0, sizeof *chunk);
  if (take_replay (self, frame))
    return 0;

  for (;;) {
    struct zcp_shm_desc desc;
    int64_t now;
    int ret;

    /* relaxed: the pop's release CAS of read_index publishes it. */
    atomic_store_explicit (&self->slot->taking, 1, memory_order_relaxed);
    ret = zcp_ring_pop (self->slot, &desc);
    if (ret == 1) {
      /* Room in the ring: a lossless publisher may be waiting for it. */
      zcp_event_signal (&control->header->publisher_event);
      ret = accept_desc (self, &desc, frame, chunk);
      /* release; pairs with the acquire load in others_drained: the pool
       * is open. */
      atomic_store_explicit (&self->slot->taking, 0, memory_order_release);
      if (ret == -EAGAIN)
        continue;
      if (ret == 0 && frame->kind == ZCP_FRAME_KIND_BUFFER)
        atomic_fetch_add_explicit (&self->slot->delivered, 1,
            memory_order_relaxed);
      return ret;
    }
    atomic_store_explicit (&self->slot->taking, 0, memory_order_relaxed);
    if (ret < 0) {
      zcp_log (ZCP_LOG_WARNING, "channel %s: ring indices of slot %u are "
          "inconsistent", control->channel, self->slot_index);
      return ret;
    }

    /* The ring is empty; only now does the publisher's departure count, so
     * that everything it sent before it left is delivered. */
    if (atomic_load_explicit (&control->header->state, memory_order_acquire)
        != ZCP_SEGMENT_STATE_READY)
      return -EPIPE;
    if (cancel && atomic_load_explicit (cancel, memory_order_acquire))
      return -ECANCELED;
    now = zcp_now_ns ();
    if (now >= deadline)
      return -ETIMEDOUT;

    if (zcp_event_wait_shared_until (&control->header->subscriber_wake,
            &self->slot->sleepers, self->slot_index, next_ready, &wait,
            zcp_min_i64 (deadline, now + ZCP_LIVENESS_PERIOD_NS),
            self->timeout_slack_ns)
        == -ETIMEDOUT && zcp_liveness_probe (control->fd,
            ZCP_LOCK_BYTE_PUBLISHER) == 0 && zcp_ring_fill (self->slot) == 0) {
      zcp_log (ZCP_LOG_WARNING, "channel %s: the publisher died",
          control->channel);
      remove_dead_publisher_channel (control, self->slot_index);
      return -EPIPE;
    }
  }
}

void
zcp_subscriber_set_timeout_slack (struct zcp_subscriber *self, int64_t slack_ns)
{
  self->timeout_slack_ns = slack_ns;
}

int
zcp_subscriber_get_caps (struct zcp_subscriber *self, uint32_t generation,
    char **caps_out)
{
  if (self->sent_caps && generation == self->sent_caps_generation) {
    *caps_out = strdup (self->sent_caps);
    return *caps_out ? 0 : -ENOMEM;
  }
  return zcp_control_read_caps (self->control, generation, caps_out);
}

void
zcp_subscriber_wake (struct zcp_subscriber *self)
{
  zcp_event_signal_shared (&self->control->header->subscriber_wake,
      &self->slot->sleepers, self->slot_index);
}

int
zcp_subscriber_send_upstream (struct zcp_subscriber *self, const char *event)
{
  struct zcp_shm_slot *slot = self->slot;
  size_t length = strlen (event);
  uint32_t write = atomic_load_explicit (&slot->upstream_write,
      memory_order_relaxed);
  /* acquire; pairs with the release store in take_upstream_from: the
   * publisher is done with the record we are about to reuse. */
  uint32_t read = atomic_load_explicit (&slot->upstream_read,
      memory_order_acquire);
  struct zcp_shm_upstream_record *record;

  if (length >= ZCP_UPSTREAM_EVENT_MAX)
    return -E2BIG;
  if (write - read >= ZCP_UPSTREAM_RECORDS)
    return -EAGAIN;

  record = &slot->upstream[write % ZCP_UPSTREAM_RECORDS];
  memcpy (record->data, event, length);
  record->length = (uint32_t) length;
  /* release; pairs with the acquire load in take_upstream_from */
  atomic_store_explicit (&slot->upstream_write, write + 1,
      memory_order_release);
  zcp_event_signal (&self->control->header->upstream_event);
  return 0;
}

uint64_t
zcp_subscriber_get_latency (struct zcp_subscriber *self)
{
  return atomic_load_explicit (&self->control->header->latency,
      memory_order_relaxed);
}

/* The subscribers that the header's set of active slots @slots names. */
static uint32_t
subscribers_in (uint64_t slots)
{
  return (uint32_t) __builtin_popcountll (slots);
}

uint32_t
zcp_subscriber_count_subscribers (struct zcp_subscriber *self)
{
  /* relaxed: a count that is stale as soon as it is read either way. */
  return subscribers_in (atomic_load_explicit
      (&self->control->header->active_slots, memory_order_relaxed));
}

/* What upstream of the publisher holds at most when it streams: the frame it
 * writes and the one the sink publishes. */
#define UPSTREAM_CHUNKS 2u

uint32_t
zcp_subscriber_hold_budget (struct zcp_subscriber *self)
{
  struct zcp_shm_header *header = self->control->header;
  uint32_t capacity = atomic_load_explicit (&header->chunk_capacity,
      memory_order_relaxed), subscribers, share;
  uint64_t slots = atomic_load_explicit (&header->active_slots,
      memory_order_relaxed);

  if (capacity == self->budget_capacity && slots == self->budget_slots)
    return self->budget;

  subscribers = subscribers_in (slots);
  /* Upstream of the publisher keeps what the pool gives it first. */
  share = capacity > UPSTREAM_CHUNKS ?
      (capacity - UPSTREAM_CHUNKS) / (subscribers ? subscribers : 1) : 0;
  self->budget_capacity = capacity;
  self->budget_slots = slots;
  self->budget = capacity == 0 ? 0 : share > 0 ? share : 1;
  return self->budget;
}

void
zcp_subscriber_set_queue (struct zcp_subscriber *self, uint32_t max_buffers,
    enum zcp_leaky leaky)
{
  if (max_buffers > ZCP_RING_CAPACITY)
    max_buffers = ZCP_RING_CAPACITY;
  atomic_store_explicit (&self->slot->max_buffers, max_buffers,
      memory_order_relaxed);
  atomic_store_explicit (&self->slot->leaky, slot_leaky (leaky),
      memory_order_relaxed);
  /* A lossless publisher waiting for room looks at the new limit. */
  zcp_event_signal (&self->control->header->publisher_event);
}

void
zcp_subscriber_get_stats (struct zcp_subscriber *self,
    struct zcp_subscriber_stats *stats)
{
  uint32_t fill = zcp_ring_count_buffers (self->slot);

  stats->delivered = atomic_load_explicit (&self->slot->delivered,
      memory_order_relaxed);
  stats->dropped = atomic_load_explicit (&self->slot->dropped,
      memory_order_relaxed);
  stats->slot = self->slot_index;
  stats->queued = fill == UINT32_MAX ? 0 : fill;
  stats->publisher_pid = self->control->header->publisher_pid;
  stats->subscribers = 0;
  for (uint32_t s = 0; s < ZCP_MAX_SUBSCRIBERS; s++)
    if (atomic_load_explicit (&self->control->slots[s].state,
            memory_order_relaxed) == ZCP_SLOT_STATE_ACTIVE)
      stats->subscribers++;
}

void
zcp_subscriber_close (struct zcp_subscriber *self)
{
  struct zcp_control *control;
  struct zcp_shm_desc desc;

  if (!self)
    return;
  control = self->control;

  /* The publisher stops pushing to us; what it pushed we give back now.  The
   * publisher reclaims the slot itself once our token goes, which is when
   * the last chunk the application still holds is released. */
  atomic_store_explicit (&self->slot->state, ZCP_SLOT_STATE_LEAVING,
      memory_order_release);
  while (zcp_ring_pop (self->slot, &desc) == 1) {
    if (desc.kind == ZCP_SHM_DESC_KIND_BUFFER &&
        desc.pool_index < ZCP_MAX_POOLS &&
        desc.chunk_index < ZCP_MAX_CHUNKS_PER_POOL)
      zcp_control_clear_holder (control, desc.pool_index, desc.chunk_index,
          self->slot_index);
  }
  for (uint32_t p = 0; p < ZCP_MAX_POOLS; p++)
    if (self->maps[p])
      zcp_pool_map_unref (self->maps[p]);
  for (uint32_t k = 0; k < ZCP_STICKY_KINDS; k++)
    free (self->replay[k]);
  zcp_event_signal (&control->header->publisher_event);
  zcp_log (ZCP_LOG_INFO, "channel %s: left slot %u", control->channel,
      self->slot_index);
  free (self->sent_caps);
  free (self);
  zcp_control_unref (control);
}

static bool
shm_name_exists (const char *channel)
{
  char path[ZCP_SHM_NAME_SIZE + sizeof ZCP_SHM_DIR];

  snprintf (path, sizeof path, ZCP_SHM_DIR "/zerocp.%s", channel);
  return access (path, F_OK) == 0;
}

int
zcp_channel_wait_exists (const char *channel, int64_t timeout_ns, int cancel_fd)
{
  int64_t deadline = zcp_deadline (timeout_ns);
  int ret = zcp_channel_name_validate (channel);
  int inotify_fd;

  if (ret < 0)
    return ret;

  inotify_fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd >= 0 && inotify_add_watch (inotify_fd, ZCP_SHM_DIR,
          IN_CREATE | IN_MOVED_TO) < 0) {
    close (inotify_fd);
    inotify_fd = -1;
  }
  if (inotify_fd < 0)
    zcp_log (ZCP_LOG_DEBUG, "no inotify on " ZCP_SHM_DIR ", looking for "
        "channel %s every %" PRId64 " ms", channel,
        ZCP_LIVENESS_PERIOD_NS / ZCP_NSEC_PER_MSEC);

  /* The watch is in place before we look, so a creation between the look
   * and the poll still wakes us. */
  for (;;) {
    struct pollfd fds[2] = {
      {.fd = inotify_fd,.events = POLLIN},
      {.fd = cancel_fd,.events = POLLIN},
    };
    int64_t remaining;
    int timeout_ms;

    if (shm_name_exists (channel)) {
      ret = 0;
      break;
    }
    remaining = deadline - zcp_now_ns ();
    if (remaining <= 0) {
      ret = -ETIMEDOUT;
      break;
    }
    if (inotify_fd < 0)
      remaining = zcp_min_i64 (remaining, ZCP_LIVENESS_PERIOD_NS);
    timeout_ms = (int) zcp_min_i64 ((remaining + ZCP_NSEC_PER_MSEC - 1) /
        ZCP_NSEC_PER_MSEC, 60000);

    if (poll (fds, 2, timeout_ms) < 0 && errno != EINTR) {
      ret = -errno;
      break;
    }
    if (fds[1].revents & POLLIN) {
      ret = -ECANCELED;
      break;
    }
    if (fds[0].revents & POLLIN) {
      char events[4096];
      while (read (inotify_fd, events, sizeof events) > 0);
    }
  }

  if (inotify_fd >= 0)
    close (inotify_fd);
  return ret;
}
