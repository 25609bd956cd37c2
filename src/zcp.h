/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libzerocp: zero-copy media channels between processes on one host.
 *
 * A channel has one publisher and up to ZCP_SUBSCRIBERS_MAX subscribers.  The
 * publisher claims a chunk of shared memory, fills it, and publishes it with a
 * descriptor; every subscriber maps the same chunk read-only.  A chunk is
 * reused only when no process holds it any more.
 *
 * Conventions: functions return 0 or a negative errno and must be checked.
 * Blocking calls take a timeout in nanoseconds and a cancel flag: they return
 * -ECANCELED soon after another thread sets the flag and calls the matching
 * zcp_*_wake().  The library never prints; see zcp_log_set_handler().
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZCP_WARN_UNUSED __attribute__((warn_unused_result))

#define ZCP_CHANNEL_NAME_MAX 200u
#define ZCP_TIME_NONE UINT64_MAX
#define ZCP_VIDEO_MAX_PLANES 4u
#define ZCP_POOL_MAX_CHUNKS 256u
/* The deepest queue a subscriber may ask for (its ring's capacity). */
#define ZCP_QUEUE_MAX 64u
/* Subscribers a channel has room for at once. */
#define ZCP_SUBSCRIBERS_MAX 63u
/* Pool segments a channel has at once (active and retired). */
#define ZCP_POOLS_MAX 8u

struct zcp_publisher;
struct zcp_subscriber;
struct zcp_pool_map;

enum zcp_log_level
{
  ZCP_LOG_ERROR,
  ZCP_LOG_WARNING,
  ZCP_LOG_INFO,
  ZCP_LOG_DEBUG,
};

/* Routes the library's messages; process-wide; not thread-safe against
 * concurrent library calls, so set it once at start-up. */
void zcp_log_set_handler (void (*handler) (enum zcp_log_level level,
        const char *message, void *user_data), void *user_data);

/* 0 if @name can name a channel: 1 to ZCP_CHANNEL_NAME_MAX bytes of
 * [A-Za-z0-9_.-]; -EINVAL for an empty name or a bad byte, -ENAMETOOLONG. */
int zcp_channel_name_validate (const char *name) ZCP_WARN_UNUSED;

/* A reference to one chunk held by this process.  Fields are read-only for
 * callers.  Copyable only as a whole with its ownership. */
struct zcp_chunk
{
  struct zcp_pool_map *map;     /* keeps the mapping alive; NULL when empty */
  uint8_t *data;                /* start of the chunk in this process */
  uint64_t capacity;
  uint32_t pool_index;
  uint32_t pool_generation;
  uint32_t chunk_index;
  uint32_t holder_bit;          /* this process's bit in the holder mask */
};

/* Gives up this process's hold on @chunk: clears its bit in the holder mask
 * with one atomic fetch_and, and wakes the publisher if the chunk came free.
 * Thread-safe, never blocks, and a no-op on an empty chunk. */
void zcp_chunk_release (struct zcp_chunk *chunk);

struct zcp_video_layout
{
  uint32_t format;              /* opaque to the library */
  uint32_t width;
  uint32_t height;
  uint32_t n_planes;
  uint32_t flags;
  uint64_t offset[ZCP_VIDEO_MAX_PLANES];
  int32_t stride[ZCP_VIDEO_MAX_PLANES];
};

enum zcp_frame_kind
{
  ZCP_FRAME_KIND_BUFFER = 1,
  ZCP_FRAME_KIND_EOS = 2,
  ZCP_FRAME_KIND_EVENT = 3,     /* a serialized event, in order with frames */
};

/* Sticky kinds: the publisher keeps the latest event of each, and a
 * subscriber that joins gets them first.  What a kind means is the caller's
 * business. */
#define ZCP_STICKY_KINDS 12u
#define ZCP_STICKY_NONE UINT32_MAX
/* An event record's payload: the longest event (terminating NUL excluded)
 * that one record holds, and the part of a longer one in each of the
 * consecutive records it takes. */
#define ZCP_EVENT_MAX 4072u
/* A longer event takes up to this many records, few enough that a queued
 * event's records outlive it (docs/design.md, "Control segment"). */
#define ZCP_EVENT_PARTS_MAX 32u
/* Longest event payload, terminating NUL excluded. */
#define ZCP_EVENT_LONG_MAX (ZCP_EVENT_PARTS_MAX * ZCP_EVENT_MAX)
/* Longest sticky event payload: kept whole in records of its kind's own
 * for subscribers that join, eight of them. */
#define ZCP_STICKY_MAX (8u * ZCP_EVENT_MAX)
#define ZCP_UPSTREAM_EVENT_MAX 1016u

/* What travels with a chunk.  Times in nanoseconds, ZCP_TIME_NONE if unset. */
struct zcp_frame
{
  enum zcp_frame_kind kind;
  uint64_t offset;              /* of the data within the chunk */
  uint64_t size;
  uint64_t pts;                 /* absolute: the clock's time */
  uint64_t dts;
  uint64_t segment_pts;         /* the buffer's own, in its segment */
  uint64_t segment_dts;
  uint64_t duration;
  uint64_t media_offset;
  uint64_t media_offset_end;
  uint64_t sequence;            /* publisher's frame counter, set on publish */
  uint32_t buffer_flags;
  uint32_t caps_generation;     /* set on publish from the current caps */
  bool has_video;
  struct zcp_video_layout video;
  /* An event: its number (from 1, set on send), its sticky kind or
   * ZCP_STICKY_NONE, whether it is a replay of a sticky event for a
   * subscriber that joined (it then has no sequence), and from
   * zcp_subscriber_next() its NUL-terminated payload, which the caller frees
   * with free().  A buffer's @event is its metas, opaque text that travels
   * in the event records, or NULL: given to zcp_publisher_publish(), and
   * from zcp_subscriber_next() for the caller to free; @event_number is the
   * number of their first record, 0 without. */
  uint64_t event_number;
  uint32_t event_sticky;
  bool replayed;
  char *event;
};

/* ---- publisher ---------------------------------------------------------- */

/* What the publisher does when a subscriber's queue is full. */
enum zcp_leaky
{
  ZCP_LEAKY_NO,                 /* wait for room: lossless */
  ZCP_LEAKY_UPSTREAM,           /* drop the new frame for this subscriber */
  ZCP_LEAKY_DOWNSTREAM,         /* drop its oldest queued frame */
};

/* "no", "upstream" or "downstream": the nicks of GStreamer's queue. */
const char *zcp_leaky_nick (enum zcp_leaky leaky);

struct zcp_publisher_stats
{
  uint64_t frames_published;
  uint64_t frames_copied;
  uint32_t subscribers;
  uint32_t chunks_total;        /* of the active pools */
  uint32_t chunks_in_use;
  uint32_t pools;               /* active and retired */
  uint64_t chunk_size;          /* of the active pools */
  uint64_t pool_bytes;          /* of the active pools */
  uint64_t shm_bytes;           /* of /dev/shm that all pools take */
  uint64_t pool_limit;
  uint32_t chunk_capacity;      /* the most chunks the active pools may grow
                                 * to (see zcp_subscriber_hold_budget) */
  uint64_t limit_waits;         /* times a claim found the pool at its limit */
  bool out_of_space;            /* the limit was /dev/shm's room, not ours */
};

/* One attached subscriber as the publisher sees it.  Its numbers come from
 * a segment the subscriber writes: fine to report, not to trust. */
struct zcp_subscriber_info
{
  uint32_t slot;
  uint32_t pid;
  uint64_t delivered;
  uint64_t dropped;
  uint32_t queued;              /* buffers; events do not count */
  uint32_t max_buffers;
  enum zcp_leaky leaky;
};

/* Creates channel @channel with segments of mode @mode (e.g. 0600) and
 * becomes its only publisher.  A segment left by a dead publisher is replaced;
 * -EBUSY if a live publisher owns the channel, -ETIMEDOUT if another process
 * is removing a dead one's and has not finished in a second (stopped?).
 * Not thread-safe against other calls on the same publisher until it
 * returns. */
int zcp_publisher_open (const char *channel, uint32_t mode,
    struct zcp_publisher **out) ZCP_WARN_UNUSED;

/* Marks the channel closed, wakes every subscriber, removes the channel's
 * names from /dev/shm and drops the caller's reference.  Other references
 * (zcp_publisher_ref) stay valid, but claims fail with -EPIPE from now on.
 * Mappings live on until the last chunk reference of this process goes. */
void zcp_publisher_close (struct zcp_publisher *self);

/* Thread-safe reference counting, for objects that outlive the owner's
 * zcp_publisher_close (a buffer pool upstream, for instance). */
struct zcp_publisher *zcp_publisher_ref (struct zcp_publisher *self);
void zcp_publisher_unref (struct zcp_publisher *self);

/* Makes a pool of @chunk_count chunks of at least @chunk_size bytes the one
 * that zcp_publisher_claim() draws from (fewer if the pool limit says so,
 * but not fewer than two: a subscriber's sink keeps its last frame).
 * Active pools whose chunks are large enough are kept; otherwise they are
 * retired (removed once no process holds any of their chunks).  Claims grow
 * the pool on demand, up to the limit.  The segment takes memory only for
 * the chunks used: the first is reserved here (posix_fallocate), so that a
 * full /dev/shm gives -ENOSPC here and never SIGBUS later, and each other on
 * its first claim, where a full /dev/shm stops the pool at the chunks it has
 * until a claim a second later finds room.
 * -EBUSY when every pool entry is still held.  Call from one thread at a
 * time. */
int zcp_publisher_configure_pool (struct zcp_publisher *self,
    uint64_t chunk_size, uint32_t chunk_count) ZCP_WARN_UNUSED;

/* Bytes the active pools may take in all; 0 restores the default, half of
 * the size of /dev/shm (zcp_publisher_default_pool_limit).  Thread-safe. */
void zcp_publisher_set_pool_limit (struct zcp_publisher *self,
    uint64_t max_bytes);
uint64_t zcp_publisher_default_pool_limit (void);

/* Chunk size of the pool that claims draw from, or 0 if none. */
uint64_t zcp_publisher_chunk_size (struct zcp_publisher *self);

/* Claims a free chunk of the current pool for writing.  If every chunk is
 * held, the pool grows (by as many chunks again, within the limit); at the
 * limit, waits up to @timeout_ns for a chunk to come free (-ETIMEDOUT), 0
 * means "do not wait" (-EAGAIN).  While it waits it reclaims the chunks of
 * dead subscribers.  -EPIPE once the publisher is closed.  Thread-safe. */
int zcp_publisher_claim (struct zcp_publisher *self, struct zcp_chunk *chunk,
    int64_t timeout_ns, const atomic_bool *cancel) ZCP_WARN_UNUSED;

/* Publishes new caps (an opaque string) for the frames published after it;
 * they are also sent to the subscribers in order, ahead of the next frame
 * or event.  -E2BIG if longer than the channel can carry.  Call from the
 * publishing thread. */
int zcp_publisher_set_caps (struct zcp_publisher *self, const char *caps)
    ZCP_WARN_UNUSED;

/* Hands @chunk to every connected subscriber: sets its bit in the holder mask,
 * pushes the descriptor to its ring, and wakes it.  Metas in @frame->event go
 * into event records first, as many as an event of their length takes (with
 * the same wait when that is several; -E2BIG beyond ZCP_EVENT_LONG_MAX).  The
 * caller keeps its own hold.  A subscriber whose queue is full gets what it
 * asked for: a lossless one is waited for, with its liveness checked every
 * period; a leaky one loses this frame or its oldest queued one, and its
 * dropped count grows.  -ECANCELED if cancelled (subscribers not yet reached do
 * not get the frame).  -EBUSY, before anything is pushed, if a subscriber still
 * holds @chunk from an earlier publish: publish a copy instead.  Call from one
 * thread at a time. */
int zcp_publisher_publish (struct zcp_publisher *self,
    const struct zcp_chunk *chunk, struct zcp_frame *frame,
    const atomic_bool *cancel) ZCP_WARN_UNUSED;

/* Sends @event, an opaque NUL-terminated payload, to every subscriber in
 * order with the frames; like a buffer it waits for room in a lossless
 * subscriber's ring, but no leaky policy ever drops it.  With @sticky below
 * ZCP_STICKY_KINDS it also becomes the latest of that kind, which every
 * subscriber that joins from now gets before anything else.  An event
 * longer than ZCP_EVENT_MAX takes several records, and waits until every
 * lossless subscriber has taken the last event that did.  -E2BIG for a
 * sticky event longer than ZCP_STICKY_MAX, or any longer than
 * ZCP_EVENT_LONG_MAX.  Call from the publishing thread. */
int zcp_publisher_send_event (struct zcp_publisher *self, const char *event,
    uint32_t sticky, const atomic_bool *cancel) ZCP_WARN_UNUSED;

/* Forgets the latest event of sticky kind @sticky: subscribers that join
 * from now do not get one. */
void zcp_publisher_forget_sticky (struct zcp_publisher *self,
    uint32_t sticky);

/* Tells subscribers the latency of the publishing pipeline. */
void zcp_publisher_set_latency (struct zcp_publisher *self,
    uint64_t latency_ns);

/* Waits up to @timeout_ns (-ETIMEDOUT) until a subscriber has sent an
 * upstream event, then copies the oldest one of the lowest slot that has
 * one into a new NUL-terminated string that the caller frees with free()
 * (0).  -EPROTO, and the event is dropped, if it is malformed.
 * Thread-safe against the publishing thread; one caller at a time. */
int zcp_publisher_take_upstream (struct zcp_publisher *self, char **event,
    int64_t timeout_ns, const atomic_bool *cancel) ZCP_WARN_UNUSED;

/* Sends end-of-stream to every subscriber, in order with the frames. */
int zcp_publisher_send_eos (struct zcp_publisher *self,
    const atomic_bool *cancel) ZCP_WARN_UNUSED;

/* Waits until every live lossless (ZCP_LEAKY_NO) subscriber has taken
 * everything from its ring: a leaky one asked not to hold us back, and finds
 * the rest, end-of-stream included, in its ring when it reads again.
 * -ETIMEDOUT after @timeout_ns. */
int zcp_publisher_drain (struct zcp_publisher *self, int64_t timeout_ns,
    const atomic_bool *cancel) ZCP_WARN_UNUSED;

/* Waits until at least one subscriber is attached.  -ETIMEDOUT after
 * @timeout_ns, -ECANCELED when cancelled. */
int zcp_publisher_wait_subscriber (struct zcp_publisher *self,
    int64_t timeout_ns, const atomic_bool *cancel) ZCP_WARN_UNUSED;

/* Number of attached subscribers.  Thread-safe, never blocks. */
uint32_t zcp_publisher_count_subscribers (struct zcp_publisher *self);

/* Whether any subscriber is attached: the same, for a check on every frame,
 * stopping at the first. */
bool zcp_publisher_has_subscribers (struct zcp_publisher *self);

/* Wakes the publisher's blocking calls so that they look at their cancel
 * flag.  Thread-safe, async-signal-unsafe. */
void zcp_publisher_wake (struct zcp_publisher *self);

/* Counts a frame that had to be copied into a chunk. */
void zcp_publisher_count_copy (struct zcp_publisher *self);

/* Counters and chunk use, after reclaiming what dead subscribers held.
 * Thread-safe; never blocks on another process. */
void zcp_publisher_get_stats (struct zcp_publisher *self,
    struct zcp_publisher_stats *stats);

/* Fills up to @max_infos entries with the attached subscribers, in slot
 * order, and returns how many it filled.  Reclaims dead subscribers' slots
 * first, so none of them is listed.  Thread-safe; never blocks on another
 * process. */
uint32_t zcp_publisher_list_subscribers (struct zcp_publisher *self,
    struct zcp_subscriber_info *infos, uint32_t max_infos);

/* Updates @info, an entry of a subscriber that has since left, with the
 * counters it left in its slot.  -ESRCH if the slot has been taken again. */
int zcp_publisher_get_departed (struct zcp_publisher *self,
    struct zcp_subscriber_info *info);

/* ---- subscriber --------------------------------------------------------- */

struct zcp_subscriber_stats
{
  uint64_t delivered;
  uint64_t dropped;             /* by the publisher, for a leaky queue */
  uint32_t slot;
  uint32_t queued;              /* buffers; events do not count */
  uint32_t publisher_pid;
  uint32_t subscribers;         /* of the channel, this one included */
};

/* Attaches to channel @channel as a new subscriber.  -ENOENT if the channel
 * does not exist (yet), -ENOTCONN if its publisher is gone (the segment
 * waits for the next one), -EAGAIN while its publisher is still setting it up,
 * -EBUSY while every slot is taken and the publisher has yet to give back
 * that of a subscriber that left or died (it looks when it publishes, at
 * most every 100 ms, and when it lists its subscribers), -EACCES without
 * permission, -EPROTO for a corrupt or foreign segment, -EUSERS when every
 * slot is taken by a live subscriber.  Never blocks; worth retrying after
 * -ENOENT, -ENOTCONN, -EAGAIN and -EBUSY. */
int zcp_subscriber_open (const char *channel, struct zcp_subscriber **out)
    ZCP_WARN_UNUSED;

/* The same, with the queue policy of zcp_subscriber_set_queue() in place
 * before the publisher first sees the subscriber. */
int zcp_subscriber_open_with_queue (const char *channel, uint32_t max_buffers,
    enum zcp_leaky leaky, struct zcp_subscriber **out) ZCP_WARN_UNUSED;

/* Waits until channel @channel exists, without polling (inotify on
 * /dev/shm), for at most @timeout_ns (-ETIMEDOUT).  @cancel_fd, if >= 0, is a
 * descriptor that becomes readable to cancel the wait (-ECANCELED). */
int zcp_channel_wait_exists (const char *channel, int64_t timeout_ns,
    int cancel_fd) ZCP_WARN_UNUSED;

/* Leaves the channel.  Undelivered descriptors are released at once; chunks
 * still referenced by the caller stay mapped and held until released. */
void zcp_subscriber_close (struct zcp_subscriber *self);

/* Takes the next frame.  For a buffer, @chunk receives a read-only hold on its
 * chunk, to be given up with zcp_chunk_release().  Waits up to @timeout_ns
 * (-ETIMEDOUT).  -EPIPE once the publisher has closed or died and the ring is
 * empty (the last subscriber of a dead one to get there removes its
 * segments from /dev/shm); -EPROTO for a descriptor that fails validation.
 * Call from one thread at a time. */
int zcp_subscriber_next (struct zcp_subscriber *self, struct zcp_frame *frame,
    struct zcp_chunk *chunk, int64_t timeout_ns, const atomic_bool *cancel)
    ZCP_WARN_UNUSED;

/* Lets zcp_subscriber_next's sleep end up to @slack_ns after its timeout (0,
 * the default: the thread's own timer slack), so that the kernel may end it
 * with a timer it has programmed anyway, such as the scheduler's tick,
 * rather than program one of its own: on a virtual machine each
 * programming exits to the host.  The thread's slack is set only while it
 * sleeps.  Call from the thread that calls zcp_subscriber_next. */
void zcp_subscriber_set_timeout_slack (struct zcp_subscriber *self,
    int64_t slack_ns);

/* Copies the caps of @generation into a new NUL-terminated string that the
 * caller frees with free(): those the publisher last sent in order, which
 * every frame after them has however many renegotiations later it is read,
 * or else the channel's entry.  -ESTALE if the channel no longer holds them
 * (caps too long for an event record, ZCP_CAPS_ENTRIES changes since).
 * Call from the thread that calls zcp_subscriber_next. */
int zcp_subscriber_get_caps (struct zcp_subscriber *self, uint32_t generation,
    char **caps) ZCP_WARN_UNUSED;

void zcp_subscriber_wake (struct zcp_subscriber *self);

/* Sends @event, an opaque NUL-terminated payload, to the publisher
 * (zcp_publisher_take_upstream).  -EAGAIN if ZCP_UPSTREAM_RECORDS of ours
 * are still waiting there, -E2BIG if longer than ZCP_UPSTREAM_EVENT_MAX.
 * Never blocks; one caller at a time. */
int zcp_subscriber_send_upstream (struct zcp_subscriber *self,
    const char *event) ZCP_WARN_UNUSED;

/* How many chunks this subscriber should hold at most, counting frames it
 * handed on and has not released: its share of the most chunks the
 * publisher's pools may have (their capacity less upstream's two, over the
 * subscribers), at least 1; 0 before the publisher has a pool.  Frames
 * beyond it should be copied and their chunks released at once, or what
 * this subscriber keeps can stall the publisher and every other subscriber.
 * Two relaxed loads while neither changes; one caller at a time. */
uint32_t zcp_subscriber_hold_budget (struct zcp_subscriber *self);

/* Latency of the publishing pipeline, in nanoseconds. */
uint64_t zcp_subscriber_get_latency (struct zcp_subscriber *self);

/* How many subscribers the channel has, this one included, as the set of
 * slots that may be active says: one load, for a heuristic (it may change
 * at once). */
uint32_t zcp_subscriber_count_subscribers (struct zcp_subscriber *self);

/* Asks the publisher to queue at most @max_buffers frames for us (1 to
 * ZCP_QUEUE_MAX; 0 means ZCP_QUEUE_MAX) and what to do when that many are
 * queued.  zcp_subscriber_open() starts lossless with the whole ring.  May be
 * called at any time; thread-safe. */
void zcp_subscriber_set_queue (struct zcp_subscriber *self,
    uint32_t max_buffers, enum zcp_leaky leaky);

void zcp_subscriber_get_stats (struct zcp_subscriber *self,
    struct zcp_subscriber_stats *stats);

/* ---- inspection --------------------------------------------------------- */

/* A look at a channel from outside: read-only, validated as a subscriber
 * validates, and taking no slot.  The numbers come from segments that the
 * publisher and subscribers write: a snapshot, not a promise. */

struct zcp_pool_snapshot
{
  uint32_t index;
  bool retired;                 /* no new claims; unlinked once all free */
  uint64_t chunk_size;
  uint32_t chunk_count;
  uint32_t chunks_in_use;
  uint64_t shm_bytes;           /* taken in /dev/shm: the chunks used so far */
};

struct zcp_subscriber_snapshot
{
  struct zcp_subscriber_info info;
  bool alive;                   /* holds its liveness token */
  bool leaving;
  /* How long ago the oldest chunk it holds or has queued was published;
   * ZCP_TIME_NONE if it holds none. */
  uint64_t oldest_held_age_ns;
};

struct zcp_channel_snapshot
{
  char channel[ZCP_CHANNEL_NAME_MAX + 1];
  uint32_t publisher_pid;
  bool publisher_alive;
  bool closed;                  /* the publisher left in an orderly way */
  char *caps;                   /* NULL before the first caps */
  uint64_t frames_published;
  uint64_t frames_copied;
  uint64_t latency_ns;
  uint32_t n_pools;
  struct zcp_pool_snapshot pools[ZCP_POOLS_MAX];
  uint32_t n_subscribers;
  struct zcp_subscriber_snapshot subscribers[ZCP_SUBSCRIBERS_MAX];
};

/* Fills @snapshot for @channel.  -ENOENT if it does not exist, -EAGAIN
 * while its publisher sets it up, -EACCES without permission, -EPROTO for
 * a corrupt or foreign segment.  Free with zcp_channel_snapshot_clear(). */
int zcp_channel_inspect (const char *channel,
    struct zcp_channel_snapshot *snapshot) ZCP_WARN_UNUSED;
void zcp_channel_snapshot_clear (struct zcp_channel_snapshot *snapshot);

/* The names of the channels in /dev/shm, sorted, as a NULL-terminated array
 * that the caller frees with zcp_channel_list_free(); NULL without memory. */
char **zcp_channel_list (void);
void zcp_channel_list_free (char **channels);

/* Removes the segments of @channel if its publisher is dead: -EBUSY if it
 * lives (or if the channel was replaced while we looked), -ENOENT if there
 * is no such channel, -EACCES if we may not write to it, -ETIMEDOUT as for
 * zcp_publisher_open().  A corrupt control
 * segment is removed too: nothing could use it. */
int zcp_channel_clean (const char *channel) ZCP_WARN_UNUSED;

/* ---- the calling thread ------------------------------------------------- */

/*
 * Its time slice under Linux's EEVDF scheduler, which since 6.12 lets a
 * SCHED_OTHER thread ask for its own (the kernel keeps it within 0.1 to
 * 100 ms).  A thread woken with a shorter slice than the running one's
 * preempts it at once; with the default slice (1.4 ms on two CPUs) it may
 * wait out the other's, as a subscriber woken on the CPU where its
 * publisher fills the next frame does.  -EOPNOTSUPP where there is no slice
 * to ask for: a kernel before 6.12, a thread that is not SCHED_OTHER
 * (real-time, batch, idle).
 */
int zcp_thread_get_slice (uint64_t * slice_ns) ZCP_WARN_UNUSED;

/* Asks for @slice_ns (0: the kernel's default), leaving the thread's policy
 * and nice value alone, and gives the slice it now has in @granted_ns.
 * -EOPNOTSUPP as above, or the kernel's refusal; then nothing changed. */
int zcp_thread_set_slice (uint64_t slice_ns, uint64_t * granted_ns)
    ZCP_WARN_UNUSED;

/* Moves the calling thread from SCHED_OTHER to SCHED_BATCH (@batch true) or
 * back, leaving its nice value and slice alone.  A batch thread that is
 * woken does not preempt the running one: it runs when a CPU is free or the
 * running thread's slice ends.  -EALREADY if the thread has the policy
 * asked for, -EOPNOTSUPP if it has another (real-time, idle, deadline), or
 * the kernel's refusal; then nothing changed. */
int zcp_thread_set_batch (bool batch) ZCP_WARN_UNUSED;
