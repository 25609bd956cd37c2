/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-zerocpsrc
 * @title: zerocpsrc
 * @see_also: zerocpsink
 *
 * Subscribes to a zerocp channel published by a zerocpsink in another
 * process.  Each buffer's memory is the publisher's chunk of shared memory,
 * mapped read-only: nothing is copied.  The chunk goes back to the publisher
 * when the last buffer that uses it is freed, so holding buffers (in a queue,
 * say) is safe: the publisher never writes a chunk a subscriber holds.
 *
 * Caps come from the channel and need not be written after the element, and
 * the publisher's serialized events (stream-start, segment, tags, gap,
 * custom events) follow in order with its buffers, which come with their
 * metas (reference timestamps, regions of interest, crop, time codes,
 * captions, AFD and bar data, SEI user data, protection, the planes of
 * non-interleaved audio, audio levels, and the custom metas this process
 * registered too); a source that joins late gets stream-start, caps, segment
 * and tags first.  Custom upstream events, force-key-unit among them, go to
 * the publisher's pipeline.  #GstZeroCpSrc:timestamp-mode says what becomes
 * of the publisher's timestamps: by default (live) they are turned into this
 * pipeline's running time on the shared monotonic clock, and the publisher's
 * latency is added to ours.  The source may start before the publisher: it
 * waits for the channel to appear (for #GstZeroCpSrc:publisher-timeout), and
 * sleeps (uses no CPU) while no frame comes; after 5 s without a publisher
 * it warns once, naming the channels there are, in case of a mistyped name.
 *
 * Each subscriber has a queue of its own in the channel, of
 * #GstZeroCpSrc:max-buffers frames, and chooses with #GstZeroCpSrc:leaky what
 * the publisher does when it is full, with the nicks of queue's property: a
 * live source defaults to `downstream` (a stalled viewer never stalls the
 * camera or the other subscribers; it skips to the newest frames), a
 * non-live one to `no` (file processing gets every frame, at the pace of the
 * slowest lossless subscriber).  A buffer after a gap is flagged DISCONT.
 *
 * When the publisher goes away without end-of-stream (it crashed, or its
 * pipeline stopped), #GstZeroCpSrc:on-publisher-lost decides: by default the
 * source waits for the next publisher on the channel and carries on with
 * it, pushing stream-start, caps and segment again and a DISCONT buffer.
 *
 * The source posts an element message when it attaches to a publisher
 * (`zerocp-publisher-connected`: channel, pid, slot) and when it loses it
 * (`zerocp-publisher-lost`: channel, pid, action).
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 zerocpsrc channel=cam0 ! videoconvert ! autovideosink
 * ]| Shows the video published on channel cam0.
 * |[
 * gst-launch-1.0 zerocpsrc channel=cam0 ! fakesink silent=false -v
 * ]| Prints every buffer received on channel cam0.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <gst/audio/audio.h>
#include <gst/tag/tag.h>
#include <gst/video/video.h>

#include "gstzerocpallocator.h"
#include "gstzerocpdescriptor.h"
#include "gstzerocpelements.h"
#include "gstzerocpevents.h"
#include "gstzerocpframepool.h"
#include "gstzerocpmetas.h"
#include "gstzerocpsrc.h"
#include "zcp.h"

GST_DEBUG_CATEGORY_STATIC (gst_zero_cp_src_debug);
GST_DEBUG_CATEGORY_STATIC (CAT_PERFORMANCE);
#define GST_CAT_DEFAULT gst_zero_cp_src_debug

#define DEFAULT_CHANNEL NULL
#define DEFAULT_IS_LIVE TRUE
#define DEFAULT_MAX_BUFFERS_LIVE 4
/* Slack for the publisher's wake-up: with 4, a fast stream of small frames
 * ran at a third of its rate with 8; deeper gained nothing and cost large
 * frames cache misses (docs/benchmark-analysis.md). */
#define DEFAULT_MAX_BUFFERS_NOT_LIVE 8
#define DEFAULT_LEAKY_LIVE GST_ZERO_CP_SRC_LEAKY_DOWNSTREAM
#define DEFAULT_LEAKY_NOT_LIVE GST_ZERO_CP_SRC_LEAKY_NO
#define DEFAULT_PUBLISHER_TIMEOUT 0
#define DEFAULT_ON_PUBLISHER_LOST GST_ZERO_CP_SRC_ON_LOST_WAIT
#define DEFAULT_TIMESTAMP_MODE_LIVE GST_ZERO_CP_SRC_TIMESTAMP_COMPENSATE
#define DEFAULT_TIMESTAMP_MODE_NOT_LIVE GST_ZERO_CP_SRC_TIMESTAMP_PASSTHROUGH
/* The shortest slice Linux grants: a frame's wake-up preempts whatever
 * holds the CPU, the publisher filling its next frame included. */
#define DEFAULT_SCHEDULER_SLICE (100 * GST_USECOND)
#define MAX_SCHEDULER_SLICE (100 * GST_MSECOND)
/* Small messages as fast as they go run at 50,000 to 300,000 a second on
 * two CPUs, 1080p at 10,000 at most: above 20,000 a second it pays to take
 * frames in batches rather than preempt the publisher for each
 * (docs/benchmark-analysis.md, "Subscribers that do not preempt"). */
#define DEFAULT_SCHEDULER_BATCH_RATE 20000
/* A frame a nanosecond: the shortest gap there is to time. */
#define MAX_SCHEDULER_BATCH_RATE 1000000000
/* One gap this many batch gaps long lifts the moving average (an eighth of
 * each gap) over twice the batch gap from wherever it was: it ends a
 * batch. */
#define BATCH_GAPS_TO_END 16
/* A batch thread's wait ends no sooner than this... */
#define BATCH_WAIT_MIN_NS (GST_MSECOND)
/* ...and may end this much later: a timer that may wait for the scheduler's
 * next tick (4 ms away at most at 250 Hz) is left to it, where one of its
 * own would reprogram the CPU's timer at every sleep, a VM exit on a guest,
 * which cost the subscribers of a fast stream a microsecond a frame
 * (docs/benchmark-analysis.md, "Subscribers that do not preempt"). */
#define BATCH_TIMER_SLACK_NS (4 * GST_MSECOND)
/* Subscribers come and go, and the application may move the thread: how
 * often they are counted against the CPUs, a system call each time. */
#define CROWD_COUNT_PERIOD (100 * GST_MSECOND)

/* How far after the last frame one that would go back in our timeline is
 * put: shorter than any frame, so that the frames after it, stamped in
 * their own time, catch up at once. */
#define MONOTONIC_STEP (GST_MSECOND)

/* One wait's length; a wait that ends empty-handed simply starts again. */
#define WAIT_SLICE_NS (GST_SECOND)
/* A channel that exists but is not usable yet (a publisher mid-start, a
 * dead publisher's segment not removed yet, or a full channel whose
 * publisher has a slot to give back) is looked at this often. */
#define RETRY_MS 50
/* Subscribers started before their publisher are the rule; one still alone
 * after this long more likely has a mistyped channel name, and says so once
 * (rtspsrc warns after the same 5 s without data). */
#define LONELY_WARNING_US (5 * G_USEC_PER_SEC)
/* A live publisher gives a slot back within 100 ms; waiting longer means
 * it does not run. */
#define SLOT_WAIT_DEBUG "every slot is taken, and the publisher has yet to " \
    "give back the slot of a subscriber that left or died (is the " \
    "publisher stopped?)"

enum
{
  PROP_0,
  PROP_CHANNEL,
  PROP_IS_LIVE,
  PROP_MAX_BUFFERS,
  PROP_LEAKY,
  PROP_PUBLISHER_TIMEOUT,
  PROP_ON_PUBLISHER_LOST,
  PROP_TIMESTAMP_MODE,
  PROP_SCHEDULER_SLICE,
  PROP_SCHEDULER_BATCH_RATE,
  PROP_STATS,
  N_PROPERTIES,
  /* basesrc's, overridden to warn */
  PROP_DO_TIMESTAMP = N_PROPERTIES
};

static GParamSpec *properties[N_PROPERTIES];

#define GST_TYPE_ZERO_CP_SRC_LEAKY (gst_zero_cp_src_leaky_get_type ())
static GType
gst_zero_cp_src_leaky_get_type (void)
{
  static GType type = 0;
  /* The values and nicks of queue's "leaky". */
  static const GEnumValue values[] = {
    {GST_ZERO_CP_SRC_LEAKY_NO, "Not Leaky: the publisher waits for room",
        "no"},
    {GST_ZERO_CP_SRC_LEAKY_UPSTREAM, "Leaky on upstream: drop the new frame",
        "upstream"},
    {GST_ZERO_CP_SRC_LEAKY_DOWNSTREAM, "Leaky on downstream: drop the oldest "
          "queued frame", "downstream"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstZeroCpSrcLeaky",
            values));
  return type;
}

#define GST_TYPE_ZERO_CP_SRC_ON_LOST (gst_zero_cp_src_on_lost_get_type ())
static GType
gst_zero_cp_src_on_lost_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_ZERO_CP_SRC_ON_LOST_WAIT, "Wait for the next publisher and carry "
          "on", "wait"},
    {GST_ZERO_CP_SRC_ON_LOST_EOS, "End the stream", "eos"},
    {GST_ZERO_CP_SRC_ON_LOST_ERROR, "Post an error", "error"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstZeroCpSrcOnLost",
            values));
  return type;
}

#define GST_TYPE_ZERO_CP_SRC_TIMESTAMP_MODE \
    (gst_zero_cp_src_timestamp_mode_get_type ())
static GType
gst_zero_cp_src_timestamp_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_ZERO_CP_SRC_TIMESTAMP_COMPENSATE, "The publisher's running time on "
          "the shared clock, turned into ours", "compensate"},
    {GST_ZERO_CP_SRC_TIMESTAMP_PASSTHROUGH, "The publisher's timestamps and "
          "segment, unchanged", "passthrough"},
    {GST_ZERO_CP_SRC_TIMESTAMP_RESTART, "Stamped on arrival with our running "
          "time", "restart"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (&type,
        g_enum_register_static ("GstZeroCpSrcTimestampMode", values));
  return type;
}

struct _GstZeroCpSrc
{
  GstPushSrc parent;

  gchar *channel;               /* protected by OBJECT_LOCK */
  guint max_buffers;            /* protected by OBJECT_LOCK */
  gboolean max_buffers_set;     /* protected by OBJECT_LOCK */
  GstZeroCpSrcLeaky leaky;      /* protected by OBJECT_LOCK */
  gboolean leaky_set;           /* protected by OBJECT_LOCK */
  guint64 publisher_timeout;    /* protected by OBJECT_LOCK */
  GstZeroCpSrcOnLost on_publisher_lost; /* protected by OBJECT_LOCK */
  GstZeroCpSrcTimestampMode timestamp_mode;     /* protected by OBJECT_LOCK */
  gboolean timestamp_mode_set;  /* protected by OBJECT_LOCK */
  guint64 scheduler_slice;      /* protected by OBJECT_LOCK */
  guint scheduler_batch_rate;   /* protected by OBJECT_LOCK */
  /* Written by the streaming thread (and start) under OBJECT_LOCK. */
  guint64 publisher_latency;
  guint64 frame_duration;       /* from the caps' framerate; 0 without */
  struct zcp_subscriber *subscriber;    /* protected by OBJECT_LOCK */
  guint reconnects;             /* protected by OBJECT_LOCK */

  /* set in start, used by the streaming thread */
  gchar *channel_in_use;
  GstAllocator *allocator;
  GstBufferPool *frame_pool;
  gboolean have_caps;
  guint32 caps_generation;
  GstVideoInfo video_info;      /* of the caps, if raw video */
  GstAudioInfo audio_info;      /* of the caps, if raw audio */
  gboolean is_raw_audio;
  gboolean is_raw_video;
  gboolean is_raw;              /* raw video or audio */
  gboolean downstream_video_meta;       /* downstream reads GstVideoMeta */
  GstZeroCpSrcTimestampMode mode_in_use;
  gboolean live_in_use;         /* is-live may only change in READY */
  guint64 first_pts;            /* origin of a non-live timeline */
  GstZeroCpClockCheck clock_check;
  gboolean have_sequence;
  guint64 next_sequence;        /* of the frame expected next */
  gboolean have_buffer;         /* a buffer went out since the last segment */
  gboolean have_segment;
  GstSegment last_segment;      /* the publisher's, as last forwarded */
  gboolean discont;             /* flag the next buffer */
  gboolean new_stream;          /* a new publisher: stream-start first */
  gboolean joined;              /* no buffer yet from this publisher */
  GstClockTime last_stamp;      /* running time of the last DTS, or PTS */
  gboolean last_stamp_is_dts;
  /* The streaming thread's slice as we set it and as it was before (0: not
   * set), for that thread alone. */
  guint64 thread_slice;
  guint64 thread_slice_before;
  /* The pace of the frames, for that thread alone: the gap below which it
   * goes SCHED_BATCH (0: never), when the last frame came (NONE: none yet
   * in this task), the gaps' moving average, and whether we made it so. */
  gint64 batch_gap;
  GstClockTime last_frame_time;
  gint64 average_gap;
  gboolean thread_batched;
  /* Whether the publisher and the channel's subscribers outnumber the CPUs
   * the thread may run on, as last counted, and when to count again. */
  gboolean crowded;
  GstClockTime next_crowd_count;

  /* Frames handed on in our own memory (downstream held our share of a pool
   * that may not grow, or reads only the caps' layout); read by the
   * application's thread. */
  atomic_uint_fast64_t frames_copied;

  /* GstBaseSrc's do-timestamp, mirrored: asking GstBaseSrc takes the
   * element's lock, at every frame. */
  atomic_bool do_timestamp;
  atomic_bool unlocking;
  int wake_fd;                  /* readable while unlocking */
};

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS_ANY);

#define gst_zero_cp_src_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstZeroCpSrc, gst_zero_cp_src, GST_TYPE_PUSH_SRC,
    G_IMPLEMENT_INTERFACE (GST_TYPE_URI_HANDLER, gst_zero_cp_uri_handler_init));
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (zerocpsrc, "zerocpsrc",
    GST_RANK_NONE, GST_TYPE_ZERO_CP_SRC, zero_cp_element_init (plugin));

/* What leaky is, given whether it was set and whether the source is live.
 * Call with the OBJECT_LOCK. */
static GstZeroCpSrcLeaky
gst_zero_cp_src_effective_leaky (GstZeroCpSrc * self)
{
  if (self->leaky_set)
    return self->leaky;
  /* The field, not gst_base_src_is_live(): that takes the OBJECT_LOCK we hold. */
  return GST_BASE_SRC (self)->is_live ? DEFAULT_LEAKY_LIVE :
      DEFAULT_LEAKY_NOT_LIVE;
}

/* The same for max-buffers.  Call with the OBJECT_LOCK. */
static guint
gst_zero_cp_src_effective_max_buffers (GstZeroCpSrc * self)
{
  if (self->max_buffers_set)
    return self->max_buffers;
  return GST_BASE_SRC (self)->is_live ? DEFAULT_MAX_BUFFERS_LIVE :
      DEFAULT_MAX_BUFFERS_NOT_LIVE;
}

/* The same for timestamp-mode.  Call with the OBJECT_LOCK. */
static GstZeroCpSrcTimestampMode
gst_zero_cp_src_effective_timestamp_mode (GstZeroCpSrc * self)
{
  if (self->timestamp_mode_set)
    return self->timestamp_mode;
  return GST_BASE_SRC (self)->is_live ? DEFAULT_TIMESTAMP_MODE_LIVE :
      DEFAULT_TIMESTAMP_MODE_NOT_LIVE;
}

static enum zcp_leaky
zcp_leaky_of (GstZeroCpSrcLeaky leaky)
{
  switch (leaky) {
    case GST_ZERO_CP_SRC_LEAKY_UPSTREAM:
      return ZCP_LEAKY_UPSTREAM;
    case GST_ZERO_CP_SRC_LEAKY_DOWNSTREAM:
      return ZCP_LEAKY_DOWNSTREAM;
    default:
      return ZCP_LEAKY_NO;
  }
}

/* Tells the publisher our queue policy.  Call with the OBJECT_LOCK. */
static void
gst_zero_cp_src_update_queue (GstZeroCpSrc * self)
{
  if (self->subscriber)
    zcp_subscriber_set_queue (self->subscriber,
        gst_zero_cp_src_effective_max_buffers (self),
        zcp_leaky_of (gst_zero_cp_src_effective_leaky (self)));
}

/* Our queue sets how late downstream may be (the maximum latency): a
 * pipeline recomputes it when told. */
static void
gst_zero_cp_src_latency_changed (GstZeroCpSrc * self)
{
  gst_element_post_message (GST_ELEMENT_CAST (self),
      gst_message_new_latency (GST_OBJECT_CAST (self)));
}

/* How much later than the minimum downstream may take a frame before we
 * lose one: our queue in the channel holds max-buffers frames, and a
 * lossless one any number (the publisher waits for it).  Unknown without
 * a framerate.  Call with the OBJECT_LOCK. */
static GstClockTime
gst_zero_cp_src_queue_time (GstZeroCpSrc * self)
{
  if (gst_zero_cp_src_effective_leaky (self) == GST_ZERO_CP_SRC_LEAKY_NO ||
      self->frame_duration == 0)
    return GST_CLOCK_TIME_NONE;
  return gst_zero_cp_src_effective_max_buffers (self) * self->frame_duration;
}

static GstStructure *
gst_zero_cp_src_make_stats (GstZeroCpSrc * self)
{
  struct zcp_subscriber_stats stats = { 0 };
  GEnumValue *leaky;
  gboolean connected;
  guint reconnects, max_buffers;

  GST_OBJECT_LOCK (self);
  connected = self->subscriber != NULL;
  if (connected)
    zcp_subscriber_get_stats (self->subscriber, &stats);
  reconnects = self->reconnects;
  max_buffers = gst_zero_cp_src_effective_max_buffers (self);
  leaky = g_enum_get_value (g_type_class_peek (GST_TYPE_ZERO_CP_SRC_LEAKY),
      gst_zero_cp_src_effective_leaky (self));
  GST_OBJECT_UNLOCK (self);

  return gst_structure_new ("application/x-zerocp-src-stats",
      "connected", G_TYPE_BOOLEAN, connected,
      "publisher-pid", G_TYPE_UINT, stats.publisher_pid,
      "delivered", G_TYPE_UINT64, stats.delivered,
      "dropped", G_TYPE_UINT64, stats.dropped,
      "queued", G_TYPE_UINT, stats.queued,
      "max-buffers", G_TYPE_UINT, max_buffers,
      "leaky", G_TYPE_STRING, leaky->value_nick,
      "slot", G_TYPE_UINT, stats.slot,
      "subscribers", G_TYPE_UINT, stats.subscribers,
      "reconnects", G_TYPE_UINT, reconnects,
      "frames-copied", G_TYPE_UINT64, (guint64) atomic_load
      (&self->frames_copied), NULL);
}

static void
gst_zero_cp_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstZeroCpSrc *self = GST_ZERO_CP_SRC (object);
  GstClockTime queue_time;
  gboolean queue_time_changed;

  switch (prop_id) {
    case PROP_CHANNEL:
      GST_OBJECT_LOCK (self);
      if (self->channel_in_use) {
        GST_WARNING_OBJECT (self, "channel cannot change while the source "
            "runs");
      } else {
        g_free (self->channel);
        self->channel = g_value_dup_string (value);
      }
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_IS_LIVE:
      gst_base_src_set_live (GST_BASE_SRC (self), g_value_get_boolean (value));
      break;
    case PROP_MAX_BUFFERS:
      GST_OBJECT_LOCK (self);
      queue_time = gst_zero_cp_src_queue_time (self);
      self->max_buffers = g_value_get_uint (value);
      self->max_buffers_set = TRUE;
      gst_zero_cp_src_update_queue (self);
      queue_time_changed = queue_time != gst_zero_cp_src_queue_time (self);
      GST_OBJECT_UNLOCK (self);
      if (queue_time_changed)
        gst_zero_cp_src_latency_changed (self);
      break;
    case PROP_LEAKY:
      GST_OBJECT_LOCK (self);
      queue_time = gst_zero_cp_src_queue_time (self);
      self->leaky = g_value_get_enum (value);
      self->leaky_set = TRUE;
      gst_zero_cp_src_update_queue (self);
      queue_time_changed = queue_time != gst_zero_cp_src_queue_time (self);
      GST_OBJECT_UNLOCK (self);
      if (queue_time_changed)
        gst_zero_cp_src_latency_changed (self);
      break;
    case PROP_PUBLISHER_TIMEOUT:
      GST_OBJECT_LOCK (self);
      self->publisher_timeout = g_value_get_uint64 (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_ON_PUBLISHER_LOST:
      GST_OBJECT_LOCK (self);
      self->on_publisher_lost = g_value_get_enum (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_TIMESTAMP_MODE:
      GST_OBJECT_LOCK (self);
      self->timestamp_mode = g_value_get_enum (value);
      self->timestamp_mode_set = TRUE;
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_SCHEDULER_SLICE:
      GST_OBJECT_LOCK (self);
      self->scheduler_slice = g_value_get_uint64 (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_SCHEDULER_BATCH_RATE:
      GST_OBJECT_LOCK (self);
      self->scheduler_batch_rate = g_value_get_uint (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_DO_TIMESTAMP:
      if (g_value_get_boolean (value))
        GST_WARNING_OBJECT (self, "do-timestamp=true overrides the timestamps "
            "the publisher sent: buffers are stamped on arrival, as with "
            "timestamp-mode=restart");
      gst_base_src_set_do_timestamp (GST_BASE_SRC (self),
          g_value_get_boolean (value));
      atomic_store (&self->do_timestamp, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_zero_cp_src_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstZeroCpSrc *self = GST_ZERO_CP_SRC (object);

  switch (prop_id) {
    case PROP_CHANNEL:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->channel);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_IS_LIVE:
      g_value_set_boolean (value, gst_base_src_is_live (GST_BASE_SRC (self)));
      break;
    case PROP_MAX_BUFFERS:
      GST_OBJECT_LOCK (self);
      g_value_set_uint (value, gst_zero_cp_src_effective_max_buffers (self));
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_LEAKY:
      GST_OBJECT_LOCK (self);
      g_value_set_enum (value, gst_zero_cp_src_effective_leaky (self));
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_PUBLISHER_TIMEOUT:
      GST_OBJECT_LOCK (self);
      g_value_set_uint64 (value, self->publisher_timeout);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_ON_PUBLISHER_LOST:
      GST_OBJECT_LOCK (self);
      g_value_set_enum (value, self->on_publisher_lost);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_TIMESTAMP_MODE:
      GST_OBJECT_LOCK (self);
      g_value_set_enum (value, gst_zero_cp_src_effective_timestamp_mode (self));
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_SCHEDULER_SLICE:
      GST_OBJECT_LOCK (self);
      g_value_set_uint64 (value, self->scheduler_slice);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_SCHEDULER_BATCH_RATE:
      GST_OBJECT_LOCK (self);
      g_value_set_uint (value, self->scheduler_batch_rate);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_DO_TIMESTAMP:
      g_value_set_boolean (value,
          gst_base_src_get_do_timestamp (GST_BASE_SRC (self)));
      break;
    case PROP_STATS:
      g_value_take_boxed (value, gst_zero_cp_src_make_stats (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static gboolean
gst_zero_cp_src_start (GstBaseSrc * bsrc)
{
  GstZeroCpSrc *self = GST_ZERO_CP_SRC (bsrc);
  gchar *channel;
  int ret;

  GST_OBJECT_LOCK (self);
  channel = g_strdup (self->channel);
  GST_OBJECT_UNLOCK (self);

  if (!channel) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("No channel set."),
        ("set the 'channel' property"));
    return FALSE;
  }
  ret = zcp_channel_name_validate (channel);
  if (ret < 0) {
    GST_ZERO_CP_ELEMENT_ERROR (self, ret, channel, "channel name");
    g_free (channel);
    return FALSE;
  }

  self->wake_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (self->wake_fd < 0) {
    GST_ZERO_CP_ELEMENT_ERROR (self, -errno, channel, "eventfd");
    g_free (channel);
    return FALSE;
  }

  self->allocator = gst_zero_cp_allocator_new (NULL);
  self->frame_pool = gst_zero_cp_frame_pool_new (self->allocator);
  atomic_store (&self->frames_copied, 0);
  self->have_caps = FALSE;
  self->is_raw_video = FALSE;
  self->is_raw_audio = FALSE;
  self->downstream_video_meta = FALSE;
  self->first_pts = ZCP_TIME_NONE;
  self->new_stream = FALSE;
  self->discont = FALSE;
  self->last_stamp = GST_CLOCK_TIME_NONE;
  self->have_sequence = FALSE;
  self->have_buffer = FALSE;
  self->have_segment = FALSE;
  atomic_store (&self->unlocking, false);

  GST_OBJECT_LOCK (self);
  self->channel_in_use = channel;
  self->reconnects = 0;
  self->publisher_latency = 0;
  self->frame_duration = 0;
  self->mode_in_use = gst_zero_cp_src_effective_timestamp_mode (self);
  self->live_in_use = GST_BASE_SRC (self)->is_live;
  GST_OBJECT_UNLOCK (self);
  /* Set through GstBaseSrc's own API too, perhaps. */
  atomic_store (&self->do_timestamp,
      gst_base_src_get_do_timestamp (GST_BASE_SRC (self)));
  return TRUE;
}

static gboolean
gst_zero_cp_src_stop (GstBaseSrc * bsrc)
{
  GstZeroCpSrc *self = GST_ZERO_CP_SRC (bsrc);
  struct zcp_subscriber *subscriber;
  gchar *channel;

  GST_OBJECT_LOCK (self);
  subscriber = self->subscriber;
  self->subscriber = NULL;
  channel = self->channel_in_use;
  self->channel_in_use = NULL;
  GST_OBJECT_UNLOCK (self);

  /* Buffers still downstream keep their chunks, and the pool, until they
   * are freed. */
  zcp_subscriber_close (subscriber);
  g_free (channel);
  if (self->frame_pool)
    gst_buffer_pool_set_active (self->frame_pool, FALSE);
  gst_clear_object (&self->frame_pool);
  gst_clear_object (&self->allocator);
  if (self->wake_fd >= 0)
    close (self->wake_fd);
  self->wake_fd = -1;
  gst_zero_cp_clock_check_clear (&self->clock_check);
  return TRUE;
}

/* Sleeps @ms unless unlock() comes first; FALSE if it did. */
static gboolean
gst_zero_cp_src_sleep (GstZeroCpSrc * self, int ms)
{
  struct pollfd fd = {.fd = self->wake_fd,.events = POLLIN };

  return poll (&fd, 1, ms) <= 0 || !(fd.revents & POLLIN);
}

static void
gst_zero_cp_src_post_publisher (GstZeroCpSrc * self, const gchar * name,
    guint pid, guint slot, const gchar * action)
{
  GstStructure *structure = gst_structure_new (name,
      "channel", G_TYPE_STRING, self->channel_in_use,
      "pid", G_TYPE_UINT, pid, NULL);

  if (action)
    gst_structure_set (structure, "action", G_TYPE_STRING, action, NULL);
  else
    gst_structure_set (structure, "slot", G_TYPE_UINT, slot, NULL);
  GST_INFO_OBJECT (self, "%" GST_PTR_FORMAT, structure);
  gst_element_post_message (GST_ELEMENT_CAST (self),
      gst_message_new_element (GST_OBJECT_CAST (self), structure));
}

/* Says, as a warning, that nobody publishes on our channel yet, and which
 * channels /dev/shm has instead. */
static void
gst_zero_cp_src_warn_lonely (GstZeroCpSrc * self)
{
  char **channels = zcp_channel_list ();
  gchar *present = channels && channels[0] ?
      g_strjoinv (", ", channels) : g_strdup ("none");

  GST_ELEMENT_WARNING (self, RESOURCE, NOT_FOUND, ("No publisher on "
          "channel '%s' yet; still waiting.", self->channel_in_use),
      ("channels in /dev/shm: %s (zerocp-inspect tells more); "
          "publisher-timeout turns the wait into an error", present));
  g_free (present);
  zcp_channel_list_free (channels);
}

/* Subscribes to the channel's publisher, waiting for one to appear;
 * @first is the wait at start, not the one after a publisher went away. */
static GstFlowReturn
gst_zero_cp_src_attach (GstZeroCpSrc * self, gboolean first)
{
  struct zcp_subscriber_stats stats;
  struct zcp_subscriber *subscriber;
  gint64 deadline = G_MAXINT64;
  gint64 lonely_at = first ? g_get_monotonic_time () + LONELY_WARNING_US :
      G_MAXINT64;
  guint64 timeout_ns;
  gboolean told = FALSE;
  guint max_buffers;
  enum zcp_leaky leaky;
  int ret;

  GST_OBJECT_LOCK (self);
  timeout_ns = self->publisher_timeout;
  GST_OBJECT_UNLOCK (self);
  if (timeout_ns != 0 && timeout_ns / GST_USECOND < G_MAXINT64 / 2)
    deadline = g_get_monotonic_time () + (gint64) (timeout_ns / GST_USECOND);

  for (;;) {
    if (atomic_load (&self->unlocking))
      return GST_FLOW_FLUSHING;

    GST_OBJECT_LOCK (self);
    max_buffers = gst_zero_cp_src_effective_max_buffers (self);
    leaky = zcp_leaky_of (gst_zero_cp_src_effective_leaky (self));
    GST_OBJECT_UNLOCK (self);

    ret = zcp_subscriber_open_with_queue (self->channel_in_use, max_buffers,
        leaky, &subscriber);
    if (ret == 0)
      break;

    if (!told && (ret == -ENOENT || ret == -ENOTCONN)) {
      GST_INFO_OBJECT (self, "waiting for a publisher on channel %s",
          self->channel_in_use);
      told = TRUE;
    }
    if (ret == -EBUSY && g_get_monotonic_time () >= deadline) {
      GST_ELEMENT_ERROR (self, RESOURCE, BUSY, ("Channel '%s' has no free "
              "subscriber slot after %" G_GUINT64_FORMAT " ms.",
              self->channel_in_use, timeout_ns / GST_MSECOND),
          ("%s; publisher-timeout is %" GST_TIME_FORMAT, SLOT_WAIT_DEBUG,
              GST_TIME_ARGS (timeout_ns)));
      return GST_FLOW_ERROR;
    }
    if ((ret == -ENOENT || ret == -ENOTCONN || ret == -EAGAIN) &&
        g_get_monotonic_time () >= deadline) {
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("No publisher on "
              "channel '%s' after %" G_GUINT64_FORMAT " ms.",
              self->channel_in_use, timeout_ns / GST_MSECOND),
          ("publisher-timeout is %" GST_TIME_FORMAT "; 0 waits forever",
              GST_TIME_ARGS (timeout_ns)));
      return GST_FLOW_ERROR;
    }
    if (g_get_monotonic_time () >= lonely_at) {
      if (ret == -EBUSY)
        GST_ELEMENT_WARNING (self, RESOURCE, BUSY, ("Channel '%s' has no "
                "free subscriber slot yet; still waiting.",
                self->channel_in_use), ("%s", SLOT_WAIT_DEBUG));
      else
        gst_zero_cp_src_warn_lonely (self);
      lonely_at = G_MAXINT64;
    }

    switch (-ret) {
      case ENOENT:{
        /* One slice at most, so that a far deadline cannot overflow, and
         * none past the warning. */
        gint64 slice_us = CLAMP (MIN (deadline, lonely_at) -
            g_get_monotonic_time (), 1,
            (gint64) (WAIT_SLICE_NS / GST_USECOND));

        ret = zcp_channel_wait_exists (self->channel_in_use,
            slice_us * GST_USECOND, self->wake_fd);
        if (ret == -ECANCELED)
          return GST_FLOW_FLUSHING;
        break;
      }
      case EAGAIN:
      case EBUSY:
      case ENOTCONN:
        if (!gst_zero_cp_src_sleep (self, RETRY_MS))
          return GST_FLOW_FLUSHING;
        break;
      default:
        GST_ZERO_CP_ELEMENT_ERROR (self, ret, self->channel_in_use,
            "zcp_subscriber_open");
        return GST_FLOW_ERROR;
    }
  }

  zcp_subscriber_get_stats (subscriber, &stats);
  GST_OBJECT_LOCK (self);
  self->subscriber = subscriber;
  GST_OBJECT_UNLOCK (self);
  self->joined = TRUE;
  GST_INFO_OBJECT (self, "subscribed to channel %s", self->channel_in_use);
  gst_zero_cp_src_post_publisher (self, "zerocp-publisher-connected",
      stats.publisher_pid, stats.slot, NULL);
  return GST_FLOW_OK;
}

/* The publisher went away without end-of-stream.  GST_FLOW_OK once attached
 * to the next one (on-publisher-lost=wait). */
static GstFlowReturn
gst_zero_cp_src_publisher_lost (GstZeroCpSrc * self)
{
  struct zcp_subscriber_stats stats;
  struct zcp_subscriber *subscriber;
  GstZeroCpSrcOnLost action;
  GEnumValue *nick;

  GST_OBJECT_LOCK (self);
  action = self->on_publisher_lost;
  subscriber = self->subscriber;
  self->subscriber = NULL;
  GST_OBJECT_UNLOCK (self);

  zcp_subscriber_get_stats (subscriber, &stats);
  /* What we held of the old publisher: its undelivered frames go now, the
   * buffers downstream keep their own mappings until they are freed. */
  zcp_subscriber_close (subscriber);
  nick = g_enum_get_value (g_type_class_peek (GST_TYPE_ZERO_CP_SRC_ON_LOST),
      action);
  gst_zero_cp_src_post_publisher (self, "zerocp-publisher-lost",
      stats.publisher_pid, 0, nick->value_nick);

  switch (action) {
    case GST_ZERO_CP_SRC_ON_LOST_EOS:
      GST_INFO_OBJECT (self, "publisher lost: end of stream");
      return GST_FLOW_EOS;
    case GST_ZERO_CP_SRC_ON_LOST_ERROR:
      GST_ZERO_CP_ELEMENT_ERROR (self, -EPIPE, self->channel_in_use,
          "zcp_subscriber_next");
      return GST_FLOW_ERROR;
    default:
      break;
  }

  GST_INFO_OBJECT (self, "publisher %u lost: waiting for the next one",
      stats.publisher_pid);
  GST_OBJECT_LOCK (self);
  self->reconnects++;
  GST_OBJECT_UNLOCK (self);
  self->have_caps = FALSE;
  self->have_sequence = FALSE;
  self->new_stream = TRUE;
  self->discont = TRUE;
  return gst_zero_cp_src_attach (self, FALSE);
}

/* The channel's caps are the only ones we can offer.  Asked before they are
 * set, so that a refusal is an error that names the channel and both sides'
 * formats, not basesrc's "Internal data stream error" at the next push. */
static gboolean
gst_zero_cp_src_downstream_accepts (GstZeroCpSrc * self, GstCaps * caps)
{
  GstPad *pad = GST_BASE_SRC_PAD (self);
  GstCaps *accepted;

  /* Unlinked, the push fails as not-linked, which says so itself. */
  if (!gst_pad_is_linked (pad) || gst_pad_peer_query_accept_caps (pad, caps))
    return TRUE;

  accepted = gst_pad_peer_query_caps (pad, NULL);
  GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("Channel '%s' carries a "
          "format that downstream does not accept.", self->channel_in_use),
      ("channel caps %" GST_PTR_FORMAT "; downstream accepts %" GST_PTR_FORMAT,
          caps, accepted));
  gst_clear_caps (&accepted);
  return FALSE;
}

/* Encoded video carries a framerate too; audio and byte streams do not. */
static void
gst_zero_cp_src_set_frame_duration (GstZeroCpSrc * self, GstCaps * caps)
{
  gint fps_n = 0, fps_d = 1;
  guint64 duration = 0;

  if (gst_structure_get_fraction (gst_caps_get_structure (caps, 0),
          "framerate", &fps_n, &fps_d) && fps_n > 0 && fps_d > 0)
    duration = gst_util_uint64_scale_int (GST_SECOND, fps_d, fps_n);
  /* Only this thread writes it: read without the lock. */
  if (duration == self->frame_duration)
    return;
  GST_OBJECT_LOCK (self);
  self->frame_duration = duration;
  GST_OBJECT_UNLOCK (self);
  gst_zero_cp_src_latency_changed (self);
}

static gboolean
gst_zero_cp_src_update_caps (GstZeroCpSrc * self, guint32 generation)
{
  gchar *caps_string = NULL;
  GstCaps *caps, *current;
  const gchar *why = "they are not fixed";
  int ret;

  ret = zcp_subscriber_get_caps (self->subscriber, generation, &caps_string);
  if (ret < 0) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Channel '%s' lost the caps of "
            "a frame.", self->channel_in_use), ("caps generation %u: %s",
            generation, g_strerror (-ret)));
    return FALSE;
  }

  caps = gst_zero_cp_caps_from_text (caps_string, &why);
  if (!caps || !gst_caps_is_fixed (caps)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Channel '%s' carries invalid "
            "caps.", self->channel_in_use), ("caps '%s': %s", caps_string,
            why));
    gst_clear_caps (&caps);
    free (caps_string);
    return FALSE;
  }
  free (caps_string);

  GST_DEBUG_OBJECT (self, "caps %" GST_PTR_FORMAT, caps);
  current = gst_pad_get_current_caps (GST_BASE_SRC_PAD (self));
  if (current && gst_caps_is_equal (current, caps)) {
    /* basesrc skips caps equal to the current ones, but a new stream (the
     * next publisher) must carry its caps after its stream-start. */
    gst_pad_push_event (GST_BASE_SRC_PAD (self), gst_event_new_caps (caps));
  } else if (!gst_zero_cp_src_downstream_accepts (self, caps) ||
      !gst_base_src_set_caps (GST_BASE_SRC (self), caps)) {
    gst_clear_caps (&current);
    gst_caps_unref (caps);
    return FALSE;
  }
  gst_clear_caps (&current);

  self->is_raw_video = gst_zero_cp_caps_are_video (caps) &&
      gst_video_info_from_caps (&self->video_info, caps) &&
      GST_VIDEO_INFO_FORMAT (&self->video_info) != GST_VIDEO_FORMAT_ENCODED;
  self->is_raw = self->is_raw_video ||
      gst_structure_has_name (gst_caps_get_structure (caps, 0), "audio/x-raw");
  self->is_raw_audio = !self->is_raw_video && self->is_raw &&
      gst_audio_info_from_caps (&self->audio_info, caps);
  gst_zero_cp_src_set_frame_duration (self, caps);
  gst_caps_unref (caps);
  /* What downstream reads is only known with the caps: the allocation
   * query at start had none. */
  gst_base_src_negotiate (GST_BASE_SRC (self));

  self->have_caps = TRUE;
  self->caps_generation = generation;
  return TRUE;
}

/* Only learns whether downstream reads GstVideoMeta: our buffers are the
 * publisher's chunks, never a pool's, so a pool downstream offers is left
 * inactive rather than filled for nothing. */
static gboolean
gst_zero_cp_src_decide_allocation (GstBaseSrc * bsrc, GstQuery * query)
{
  GstZeroCpSrc *self = GST_ZERO_CP_SRC (bsrc);

  self->downstream_video_meta = gst_query_find_allocation_meta (query,
      GST_VIDEO_META_API_TYPE, NULL);
  while (gst_query_get_n_allocation_pools (query) > 0)
    gst_query_remove_nth_allocation_pool (query, 0);
  GST_DEBUG_OBJECT (self, "downstream reads video meta: %d",
      self->downstream_video_meta);
  return TRUE;
}

static GstClockTime
gst_zero_cp_src_time_origin (GstZeroCpSrc * self, guint64 first_time)
{
  /* Once a frame: not gst_base_src_is_live(), which takes the OBJECT_LOCK. */
  if (self->live_in_use)
    return gst_zero_cp_wire_base_time (GST_ELEMENT_CAST (self),
        &self->clock_check);

  /* Without a live clock to share, the stream starts at 0. */
  if (self->first_pts == ZCP_TIME_NONE)
    self->first_pts = first_time;
  return self->first_pts == ZCP_TIME_NONE ? 0 : self->first_pts;
}

/* Our running time now, for timestamp-mode=restart. */
static GstClockTime
gst_zero_cp_src_now (GstZeroCpSrc * self)
{
  GstClock *clock = gst_element_get_clock (GST_ELEMENT_CAST (self));
  GstClockTime now, base_time;

  if (!clock)
    return GST_CLOCK_TIME_NONE;
  now = gst_clock_get_time (clock);
  base_time = gst_element_get_base_time (GST_ELEMENT_CAST (self));
  gst_object_unref (clock);
  return now > base_time ? now - base_time : 0;
}

/* Caps go out before anything that depends on them: every event but
 * stream-start, and every buffer. */
static gboolean
gst_zero_cp_src_ensure_caps (GstZeroCpSrc * self, guint32 generation)
{
  if (generation == 0 || (self->have_caps &&
          generation == self->caps_generation))
    return TRUE;
  return gst_zero_cp_src_update_caps (self, generation);
}

static void
gst_zero_cp_src_push_stream_start (GstZeroCpSrc * self, GstEvent * event)
{
  GstBaseSrc *bsrc = GST_BASE_SRC (self);
  GstSegment segment;

  gst_pad_push_event (GST_BASE_SRC_PAD (bsrc), event);
  self->new_stream = FALSE;
  self->have_segment = FALSE;
  self->have_buffer = FALSE;
  /* A new stream needs its caps and a segment again; the publisher's
   * segment comes next in passthrough, ours is the same timeline. */
  self->have_caps = FALSE;
  if (self->mode_in_use != GST_ZERO_CP_SRC_TIMESTAMP_PASSTHROUGH) {
    gst_segment_copy_into (&bsrc->segment, &segment);
    gst_base_src_new_segment (bsrc, &segment);
  }
}

/* A new publisher that sent no stream-start (publishers do, and a joining
 * subscriber gets it first): ours, then (with the first frame) its caps and
 * a segment. */
static void
gst_zero_cp_src_start_new_stream (GstZeroCpSrc * self)
{
  GstBaseSrc *bsrc = GST_BASE_SRC (self);
  gchar *stream_id;
  GstEvent *event;
  guint reconnects;

  GST_OBJECT_LOCK (self);
  reconnects = self->reconnects;
  GST_OBJECT_UNLOCK (self);

  stream_id = gst_pad_create_stream_id_printf (GST_BASE_SRC_PAD (bsrc),
      GST_ELEMENT_CAST (self), "%s/%u", self->channel_in_use, reconnects);
  event = gst_event_new_stream_start (stream_id);
  gst_event_set_group_id (event, gst_util_group_id_next ());
  g_free (stream_id);
  gst_zero_cp_src_push_stream_start (self, event);
}

static void
gst_zero_cp_src_forward_segment (GstZeroCpSrc * self, GstEvent * event)
{
  const GstSegment *segment;

  /* Our timeline is our running time: the publisher's segment has been
   * applied to the timestamps already. */
  if (self->mode_in_use != GST_ZERO_CP_SRC_TIMESTAMP_PASSTHROUGH)
    return;

  gst_event_parse_segment (event, &segment);
  if (segment->format != GST_FORMAT_TIME) {
    GST_WARNING_OBJECT (self, "the publisher's segment is in %s, not time: "
        "keeping ours", gst_format_get_name (segment->format));
    return;
  }
  /* The same segment again must not reset the stream downstream. */
  if (self->have_segment && gst_segment_is_equal (segment, &self->last_segment))
    return;
  gst_segment_copy_into (segment, &self->last_segment);
  self->have_segment = TRUE;
  self->have_buffer = FALSE;
  gst_base_src_new_segment (GST_BASE_SRC (self), segment);
}

static void
gst_zero_cp_src_push_gap (GstZeroCpSrc * self, GstEvent * event)
{
  GstClockTime timestamp, duration;
  guint64 clock_time = ZCP_TIME_NONE;

  /* Before any buffer the segment is not out yet, and a gap at the start
   * tells a subscriber nothing. */
  if (!self->have_buffer) {
    GST_DEBUG_OBJECT (self, "gap before the first buffer: dropped");
    return;
  }
  gst_event_parse_gap (event, &timestamp, &duration);
  switch (self->mode_in_use) {
    case GST_ZERO_CP_SRC_TIMESTAMP_COMPENSATE:
      gst_structure_get_uint64 (gst_event_get_structure (event),
          GST_ZERO_CP_GAP_CLOCK_TIME_FIELD, &clock_time);
      timestamp = gst_zero_cp_time_from_clock (clock_time,
          gst_zero_cp_src_time_origin (self, clock_time));
      break;
    case GST_ZERO_CP_SRC_TIMESTAMP_RESTART:
      timestamp = gst_zero_cp_src_now (self);
      break;
    default:
      break;
  }
  if (GST_CLOCK_TIME_IS_VALID (timestamp))
    gst_pad_push_event (GST_BASE_SRC_PAD (self),
        gst_event_new_gap (timestamp, duration));
}

/* An event from the publisher, in order with its buffers. */
static GstFlowReturn
gst_zero_cp_src_handle_event (GstZeroCpSrc * self,
    const struct zcp_frame *frame)
{
  GstEvent *event = gst_zero_cp_event_from_string (frame->event);

  if (!event) {
    GST_WARNING_OBJECT (self, "unreadable event from the publisher: %.200s",
        frame->event);
    return GST_FLOW_OK;
  }
  GST_DEBUG_OBJECT (self, "event %" GST_PTR_FORMAT "%s", event,
      frame->replayed ? " (as the channel had it when we joined)" : "");

  if (!gst_zero_cp_event_is_carried (GST_EVENT_TYPE (event))) {
    GST_DEBUG_OBJECT (self, "not for a subscriber: %" GST_PTR_FORMAT, event);
    gst_event_unref (event);
    return GST_FLOW_OK;
  }
  if (GST_EVENT_TYPE (event) == GST_EVENT_STREAM_START) {
    gst_zero_cp_src_push_stream_start (self, event);
    return GST_FLOW_OK;
  }
  if (!gst_zero_cp_src_ensure_caps (self, frame->caps_generation)) {
    gst_event_unref (event);
    return GST_FLOW_NOT_NEGOTIATED;
  }

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_SEGMENT:
      gst_zero_cp_src_forward_segment (self, event);
      break;
    case GST_EVENT_GAP:
      gst_zero_cp_src_push_gap (self, event);
      break;
    default:
      /* Before the stream's first buffer basesrc may still owe downstream
       * its segment: what it queues, it sends after that, right before our
       * buffer (custom sticky events and segment-done it does not queue).
       * Once a buffer is out, pushing at once keeps every event in order
       * with the rest, sticky or not. */
      if (self->have_buffer || !gst_element_send_event (GST_ELEMENT_CAST
              (self), gst_event_ref (event)))
        gst_pad_push_event (GST_BASE_SRC_PAD (self), gst_event_ref (event));
      break;
  }
  gst_event_unref (event);
  return GST_FLOW_OK;
}

/* Gives the streaming thread SCHED_OTHER back, unless the application
 * changed its policy since (-EALREADY, -EOPNOTSUPP): then it is theirs. */
static void
gst_zero_cp_src_end_batch (GstZeroCpSrc * self)
{
  int ret = zcp_thread_set_batch (false);

  if (ret == -EALREADY || ret == -EOPNOTSUPP)
    GST_DEBUG_OBJECT (self, "the streaming thread's policy is no longer "
        "ours: %s", g_strerror (-ret));
  else if (ret != 0)
    GST_WARNING_OBJECT (self, "could not take the streaming thread out of "
        "SCHED_BATCH: %s", g_strerror (-ret));
  self->thread_batched = FALSE;
}

/* Takes the next frame from the publisher, following it to the next one
 * if it goes away (on-publisher-lost=wait). */
static GstFlowReturn
gst_zero_cp_src_next (GstZeroCpSrc * self, struct zcp_frame *frame,
    struct zcp_chunk *chunk)
{
  int ret;

  if (!self->subscriber) {
    GstFlowReturn flow = gst_zero_cp_src_attach (self, TRUE);
    if (flow != GST_FLOW_OK)
      return flow;
  }

  for (;;) {
    gint64 timeout = WAIT_SLICE_NS, slack = 0;
    GstFlowReturn flow;

    /* The pace ends a batch at the frame after a long gap; ending it while
     * a long wait goes on lets that frame preempt too, as the first after
     * a pause should.  The slack is set at each call: a new publisher
     * brings a new subscriber. */
    if (self->thread_batched) {
      timeout = MAX (BATCH_GAPS_TO_END * self->batch_gap, BATCH_WAIT_MIN_NS);
      slack = BATCH_TIMER_SLACK_NS;
    }
    zcp_subscriber_set_timeout_slack (self->subscriber, slack);
    ret = zcp_subscriber_next (self->subscriber, frame, chunk, timeout,
        &self->unlocking);
    if (ret == -ETIMEDOUT) {
      GST_LOG_OBJECT (self, "no frame yet");
      if (self->thread_batched) {
        GST_DEBUG_OBJECT (self, "no frame for a while: the next preempts");
        gst_zero_cp_src_end_batch (self);
      }
      continue;
    }
    if (ret != -EPIPE)
      break;
    flow = gst_zero_cp_src_publisher_lost (self);
    if (flow != GST_FLOW_OK)
      return flow;
  }

  switch (-ret) {
    case 0:
      break;
    case ECANCELED:
      return GST_FLOW_FLUSHING;
    default:
      GST_ZERO_CP_ELEMENT_ERROR (self, ret, self->channel_in_use,
          "zcp_subscriber_next");
      return GST_FLOW_ERROR;
  }

  /* A gap in the publisher's count: frames dropped for our leaky queue. */
  if (!frame->replayed) {
    if (self->have_sequence && frame->sequence != self->next_sequence) {
      GST_DEBUG_OBJECT (self, "frames %" G_GUINT64_FORMAT " to %"
          G_GUINT64_FORMAT " dropped", self->next_sequence, frame->sequence);
      self->discont = TRUE;
    }
    self->next_sequence = frame->sequence + 1;
    self->have_sequence = TRUE;
  }
  return GST_FLOW_OK;
}

static gboolean gst_zero_cp_src_event (GstBaseSrc * bsrc, GstEvent * event);

/* Joining a stream of keyframes and deltas (H.264, say) between two
 * keyframes: ask the publisher's encoder for one now, rather than wait for
 * the next. */
static void
gst_zero_cp_src_request_keyframe (GstZeroCpSrc * self, GstBuffer * buffer)
{
  GstEvent *event;

  if (!self->joined)
    return;
  self->joined = FALSE;
  if (!GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT))
    return;
  GST_INFO_OBJECT (self, "joined between keyframes: asking for one");
  event = gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE,
      TRUE, 0);
  gst_zero_cp_src_event (GST_BASE_SRC (self), event);
  gst_event_unref (event);
}

/* Posts a latency message when the publisher's latency changes: ours
 * includes it. */
static void
gst_zero_cp_src_check_latency (GstZeroCpSrc * self)
{
  guint64 latency = zcp_subscriber_get_latency (self->subscriber);

  /* Once a frame: no lock to read what only this thread writes. */
  if (latency == self->publisher_latency)
    return;
  GST_OBJECT_LOCK (self);
  self->publisher_latency = latency;
  GST_OBJECT_UNLOCK (self);

  GST_INFO_OBJECT (self, "publisher latency %" GST_TIME_FORMAT,
      GST_TIME_ARGS (latency));
  gst_element_post_message (GST_ELEMENT_CAST (self),
      gst_message_new_latency (GST_OBJECT_CAST (self)));
}

/* @time moved by as much as @from to @to, within GstClockTime's range. */
static GstClockTime
gst_zero_cp_src_move_time (guint64 time, guint64 from, GstClockTime to)
{
  if (time == ZCP_TIME_NONE)
    return GST_CLOCK_TIME_NONE;
  if (time < from)
    return from - time < to ? to - (from - time) : 0;
  return time - from < GST_CLOCK_TIME_NONE - 1 - to ?
      to + (time - from) : GST_CLOCK_TIME_NONE - 1;
}

/* Our timeline never goes back.  A frame stamped before our pipeline
 * started, or before the one sent last, goes MONOTONIC_STEP after that one
 * (the first at 0), PTS and DTS moved together.  Such frames come when we
 * join: a publisher that syncs sends each frame its latency after it was
 * stamped, and one that waited for us sends what it held.  Clamping them
 * all to 0, as before, repeated a timestamp, which encoders and muxers
 * refuse (x264enc ! mp4mux: "Buffer has no PTS"). */
static void
gst_zero_cp_src_keep_monotonic (GstZeroCpSrc * self, GstBuffer * buffer,
    const struct zcp_frame *frame, GstClockTime origin)
{
  gboolean is_dts = frame->dts != ZCP_TIME_NONE;
  guint64 stamp = is_dts ? frame->dts : frame->pts;
  GstClockTime wanted;

  if (stamp == ZCP_TIME_NONE)
    return;
  /* A PTS after a DTS may be a reordered frame's, before it and right. */
  if (stamp >= origin && (self->last_stamp == GST_CLOCK_TIME_NONE ||
          is_dts != self->last_stamp_is_dts ||
          stamp - origin >= self->last_stamp)) {
    self->last_stamp = stamp - origin;
    self->last_stamp_is_dts = is_dts;
    return;
  }

  /* The last stamp plus the step, within range. */
  wanted = self->last_stamp == GST_CLOCK_TIME_NONE ? 0 :
      gst_zero_cp_src_move_time (self->last_stamp, 0, MONOTONIC_STEP);
  GST_BUFFER_PTS (buffer) = gst_zero_cp_src_move_time (frame->pts, stamp,
      wanted);
  GST_BUFFER_DTS (buffer) = gst_zero_cp_src_move_time (frame->dts, stamp,
      wanted);
  GST_DEBUG_OBJECT (self, "frame %" G_GUINT64_FORMAT " stamped before our "
      "start or our last frame: at %" GST_TIME_FORMAT, frame->sequence,
      GST_TIME_ARGS (wanted));
  self->last_stamp = wanted;
  self->last_stamp_is_dts = is_dts;
  self->discont = TRUE;
}

/* Now, on the wire's clock whose time our running time starts at @origin. */
static guint64
gst_zero_cp_src_arrival_time (GstZeroCpSrc * self, GstClockTime origin)
{
  GstClockTime now = gst_zero_cp_src_now (self);

  return GST_CLOCK_TIME_IS_VALID (now) ? origin + now : ZCP_TIME_NONE;
}

/* Sets @buffer's timestamps as timestamp-mode says.  FALSE, with @problem
 * set, if the frame's video layout does not fit. */
static gboolean
gst_zero_cp_src_apply_frame (GstZeroCpSrc * self, GstBuffer * buffer,
    struct zcp_frame *frame, gchar ** problem)
{
  GstClockTime origin = 0;

  switch (self->mode_in_use) {
    case GST_ZERO_CP_SRC_TIMESTAMP_PASSTHROUGH:
      frame->pts = frame->segment_pts;
      frame->dts = frame->segment_dts;
      break;
    default:
      origin = gst_zero_cp_src_time_origin (self, frame->pts);
      /* A live source stamps what it sends, as udpsrc does by default: raw
       * frames a publisher sent without time (appsrc, say) would stop an
       * encoder or a muxer downstream.  Encoded ones may lack a time and be
       * right (parsers fill it in). */
      if (self->mode_in_use == GST_ZERO_CP_SRC_TIMESTAMP_COMPENSATE &&
          self->live_in_use && self->is_raw && frame->pts == ZCP_TIME_NONE &&
          frame->dts == ZCP_TIME_NONE)
        frame->pts = gst_zero_cp_src_arrival_time (self, origin);
      break;
  }

  if (!gst_zero_cp_buffer_apply_frame (buffer, frame, origin, problem))
    return FALSE;
  if (self->mode_in_use == GST_ZERO_CP_SRC_TIMESTAMP_COMPENSATE)
    gst_zero_cp_src_keep_monotonic (self, buffer, frame, origin);

  if (self->mode_in_use == GST_ZERO_CP_SRC_TIMESTAMP_RESTART) {
    GST_BUFFER_PTS (buffer) = gst_zero_cp_src_now (self);
    GST_BUFFER_DTS (buffer) = GST_CLOCK_TIME_NONE;
  }
  /* basesrc stamps buffers without timestamps on arrival. */
  if (atomic_load_explicit (&self->do_timestamp, memory_order_relaxed)) {
    GST_BUFFER_PTS (buffer) = GST_CLOCK_TIME_NONE;
    GST_BUFFER_DTS (buffer) = GST_CLOCK_TIME_NONE;
  }
  return TRUE;
}

/* Whether @layout is the one the caps imply, which is all downstream can
 * read without GstVideoMeta. */
static gboolean
gst_zero_cp_src_layout_is_default (GstZeroCpSrc * self,
    const struct zcp_video_layout *layout)
{
  const GstVideoInfo *info = &self->video_info;

  /* Without a layout the frame is in the caps' own. */
  if (layout->n_planes == 0)
    return TRUE;
  /* A frame of another size or format than its caps say cannot be laid out
   * as they say; it goes as it is. */
  if (layout->format != (guint32) GST_VIDEO_INFO_FORMAT (info) ||
      layout->width != (guint32) GST_VIDEO_INFO_WIDTH (info) ||
      layout->height != (guint32) GST_VIDEO_INFO_HEIGHT (info) ||
      layout->n_planes != GST_VIDEO_INFO_N_PLANES (info))
    return TRUE;
  for (guint p = 0; p < layout->n_planes; p++)
    if (layout->offset[p] != GST_VIDEO_INFO_PLANE_OFFSET (info, p) ||
        layout->stride[p] != GST_VIDEO_INFO_PLANE_STRIDE (info, p))
      return FALSE;
  return TRUE;
}

/* Downstream that does not read GstVideoMeta reads frames in the caps'
 * layout, the promise every producer keeps (GstVideoDecoder, v4l2src): a
 * frame with padded planes (a decoder's, written into the publisher's pool)
 * goes out as a copy in that layout, and its chunk back at once. */
static GstBuffer *
gst_zero_cp_src_copy_to_default_layout (GstZeroCpSrc * self, GstBuffer * buffer)
{
  GstBuffer *copy = gst_buffer_new_allocate (NULL,
      GST_VIDEO_INFO_SIZE (&self->video_info), NULL);
  GstVideoFrame in, out;
  gboolean copied = FALSE;

  if (gst_video_frame_map (&in, &self->video_info, buffer, GST_MAP_READ)) {
    if (gst_video_frame_map (&out, &self->video_info, copy, GST_MAP_WRITE)) {
      copied = gst_video_frame_copy (&out, &in);
      gst_video_frame_unmap (&out);
    }
    gst_video_frame_unmap (&in);
  }
  if (!copied) {
    GST_WARNING_OBJECT (self, "cannot lay out %" GST_PTR_FORMAT " as its "
        "caps say; handing it on as it is", buffer);
    gst_buffer_unref (copy);
    return buffer;
  }

  gst_buffer_copy_into (copy, buffer, GST_BUFFER_COPY_FLAGS |
      GST_BUFFER_COPY_TIMESTAMPS, 0, -1);
  gst_buffer_unref (buffer);
  atomic_fetch_add (&self->frames_copied, 1);
  GST_CAT_LOG_OBJECT (CAT_PERFORMANCE, self, "copied a frame into the "
      "default layout: downstream does not read GstVideoMeta");
  return copy;
}

/* Downstream holds our share of a pool that may not grow (an encoder's
 * look-ahead, an unbounded queue): the frame goes out in our own memory and
 * its chunk back to the publisher at once, so that what we keep cannot
 * stall the publisher and the other subscribers.  The same copy
 * GST_MAP_WRITE would make, once per frame beyond the share. */
static GstBuffer *
gst_zero_cp_src_copy_frame (GstZeroCpSrc * self, struct zcp_chunk *chunk,
    const struct zcp_frame *frame, guint hold_budget)
{
  GstBuffer *buffer = gst_buffer_new_allocate (NULL, frame->size, NULL);

  gst_buffer_fill (buffer, 0, chunk->data + frame->offset, frame->size);
  zcp_chunk_release (chunk);
  if (atomic_fetch_add (&self->frames_copied, 1) == 0)
    GST_ELEMENT_WARNING (self, RESOURCE, NO_SPACE_LEFT, ("Downstream holds "
            "%u frames of channel '%s', this subscriber's share of a pool "
            "that may not grow: frames beyond them are copied.", hold_budget,
            self->channel_in_use), ("raise zerocpsink's max-pool-bytes or "
            "the size of /dev/shm, or hold fewer frames downstream"));
  GST_CAT_LOG_OBJECT (CAT_PERFORMANCE, self, "copied frame %" G_GUINT64_FORMAT
      " of %" G_GUINT64_FORMAT " bytes", frame->sequence, frame->size);
  return buffer;
}

/* The CPUs the calling thread may run on: its affinity, which the
 * application may have narrowed (GLib counts it only since 2.78). */
static guint
thread_cpu_count (void)
{
  cpu_set_t cpus;

  /* More CPUs than a cpu_set_t holds: EINVAL. */
  if (sched_getaffinity (0, sizeof cpus, &cpus) != 0)
    return g_get_num_processors ();
  return (guint) CPU_COUNT (&cpus);
}

/* Whether the publisher and the channel's subscribers outnumber the CPUs
 * this thread may run on, counted again every CROWD_COUNT_PERIOD. */
static gboolean
gst_zero_cp_src_is_crowded (GstZeroCpSrc * self, GstClockTime now)
{
  guint processes, cpus;
  gboolean crowded;

  if (now < self->next_crowd_count)
    return self->crowded;
  self->next_crowd_count = now + CROWD_COUNT_PERIOD;
  processes = zcp_subscriber_count_subscribers (self->subscriber) + 1;
  cpus = thread_cpu_count ();
  crowded = processes > cpus;
  if (crowded != self->crowded)
    GST_DEBUG_OBJECT (self, "publisher and subscribers: %u, CPUs: %u",
        processes, cpus);
  self->crowded = crowded;
  return crowded;
}

/* A stream faster than the batch rate makes the streaming thread
 * SCHED_BATCH, and one slower than half of it SCHED_OTHER again.  Woken
 * with its short slice, the thread preempts the publisher at every frame;
 * with four subscribers of small messages on two CPUs the publisher spent
 * its time switching.  A batch thread lets it go on, and takes the frames
 * that came meanwhile in one turn.  Video's gaps are far longer: each frame
 * still preempts.  Only where the publisher and its subscribers outnumber
 * the CPUs: otherwise batches saved nothing (one subscriber on two CPUs as
 * fast as it goes) and only delayed each frame (at 30,000 frames a second,
 * a p50 of 28 us against 8). */
static void
gst_zero_cp_src_pace (GstZeroCpSrc * self)
{
  GstClockTime now;
  gint64 gap;
  int ret;

  if (self->batch_gap == 0)
    return;
  now = gst_util_get_timestamp ();
  if (self->last_frame_time == GST_CLOCK_TIME_NONE) {
    /* A new task starts as a slow stream, a few frames from batching. */
    self->average_gap = 2 * self->batch_gap;
    self->last_frame_time = now;
    return;
  }
  gap = (gint64) (now - self->last_frame_time);
  self->last_frame_time = now;
  /* An eighth of each gap: one of more than BATCH_GAPS_TO_END batch gaps
   * ends a batch at once. */
  self->average_gap += (gap - self->average_gap) / 8;

  /* Counted only where the pace alone would batch, or keep a batch: a
   * slow stream (video) never pays for the count. */
  if (!self->thread_batched) {
    if (self->average_gap >= self->batch_gap ||
        !gst_zero_cp_src_is_crowded (self, now))
      return;
    ret = zcp_thread_set_batch (true);
    if (ret == 0) {
      self->thread_batched = TRUE;
      GST_DEBUG_OBJECT (self, "frames every %" G_GINT64_FORMAT " ns: the "
          "streaming thread takes them in batches", self->average_gap);
    } else {
      /* The application's policy (real-time, its own batch) stays. */
      GST_DEBUG_OBJECT (self, "the streaming thread stays as it is: %s",
          g_strerror (-ret));
      self->batch_gap = 0;
    }
  } else if (self->average_gap > 2 * self->batch_gap) {
    GST_DEBUG_OBJECT (self, "frames every %" G_GINT64_FORMAT " ns: each "
        "preempts again", self->average_gap);
    gst_zero_cp_src_end_batch (self);
  } else if (!gst_zero_cp_src_is_crowded (self, now)) {
    GST_DEBUG_OBJECT (self, "a CPU for the publisher and each subscriber: "
        "each frame preempts again");
    gst_zero_cp_src_end_batch (self);
  }
}

static GstFlowReturn
gst_zero_cp_src_create (GstPushSrc * psrc, GstBuffer ** outbuf)
{
  GstZeroCpSrc *self = GST_ZERO_CP_SRC (psrc);
  struct zcp_frame frame;
  struct zcp_chunk chunk;
  gchar *problem = NULL;
  GstBuffer *buffer;
  guint held, hold_budget;
  gboolean to_default_layout;

  for (;;) {
    GstFlowReturn flow = gst_zero_cp_src_next (self, &frame, &chunk);

    if (flow != GST_FLOW_OK)
      return flow;
    if (frame.kind == ZCP_FRAME_KIND_BUFFER)
      break;
    if (frame.kind == ZCP_FRAME_KIND_EOS) {
      GST_INFO_OBJECT (self, "end of stream from the publisher");
      return GST_FLOW_EOS;
    }
    flow = gst_zero_cp_src_handle_event (self, &frame);
    free (frame.event);
    if (flow != GST_FLOW_OK)
      return flow;
  }

  gst_zero_cp_src_pace (self);
  gst_zero_cp_src_check_latency (self);
  /* A publisher that sent no stream-start of its own. */
  if (self->new_stream)
    gst_zero_cp_src_start_new_stream (self);
  if (!gst_zero_cp_src_ensure_caps (self, frame.caps_generation)) {
    zcp_chunk_release (&chunk);
    free (frame.event);
    return GST_FLOW_NOT_NEGOTIATED;
  }

  /* A frame that goes out copied into the caps' layout gives its chunk back
   * with that copy: one copy, whatever downstream holds. */
  to_default_layout = G_UNLIKELY (!self->downstream_video_meta) &&
      self->is_raw_video &&
      !gst_zero_cp_src_layout_is_default (self, &frame.video);
  held = gst_zero_cp_allocator_chunks_held (self->allocator);
  hold_budget = held > 0 && !to_default_layout ?
      zcp_subscriber_hold_budget (self->subscriber) : 0;
  if (hold_budget > 0 && held >= hold_budget)
    buffer = gst_zero_cp_src_copy_frame (self, &chunk, &frame, hold_budget);
  else
    buffer = gst_zero_cp_frame_pool_wrap (self->frame_pool, &chunk,
        frame.offset, frame.size);

  if (!gst_zero_cp_src_apply_frame (self, buffer, &frame, &problem)) {
    GST_ELEMENT_ERROR (self, RESOURCE, READ, ("Channel '%s' is corrupt or of "
            "another version of zerocp.", self->channel_in_use),
        ("frame %" G_GUINT64_FORMAT ": %s", frame.sequence, problem));
    g_free (problem);
    gst_buffer_unref (buffer);
    free (frame.event);
    return GST_FLOW_ERROR;
  }

  if (to_default_layout)
    buffer = gst_zero_cp_src_copy_to_default_layout (self, buffer);
  if (frame.event) {
    gst_zero_cp_metas_add_from_string (buffer, frame.event,
        self->is_raw_audio ? &self->audio_info : NULL);
    free (frame.event);
  }
  if (self->is_raw_audio)
    gst_zero_cp_metas_ensure_audio_layout (buffer, &self->audio_info);

  if (self->discont) {
    GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_DISCONT);
    self->discont = FALSE;
  }
  self->have_buffer = TRUE;
  gst_zero_cp_src_request_keyframe (self, buffer);

  GST_LOG_OBJECT (self, "frame %" G_GUINT64_FORMAT ": %" GST_PTR_FORMAT,
      frame.sequence, buffer);
  *outbuf = buffer;
  return GST_FLOW_OK;
}

/* Our minimum latency includes the publisher's: its frames reach us that
 * late.  Our queue in the channel sets the maximum: GstBaseSrc's answer,
 * the minimum again (no buffering), made every sink with a processing
 * deadline warn "Pipeline construction is invalid, please add queues". */
static gboolean
gst_zero_cp_src_query (GstBaseSrc * bsrc, GstQuery * query)
{
  GstZeroCpSrc *self = GST_ZERO_CP_SRC (bsrc);
  GstClockTime min, max, queue_time;
  gboolean live;

  if (!GST_BASE_SRC_CLASS (parent_class)->query (bsrc, query))
    return FALSE;
  if (GST_QUERY_TYPE (query) != GST_QUERY_LATENCY)
    return TRUE;
  gst_query_parse_latency (query, &live, &min, &max);
  if (!live)
    return TRUE;

  GST_OBJECT_LOCK (self);
  if (self->mode_in_use == GST_ZERO_CP_SRC_TIMESTAMP_COMPENSATE)
    min += self->publisher_latency;
  queue_time = gst_zero_cp_src_queue_time (self);
  GST_OBJECT_UNLOCK (self);

  max = GST_CLOCK_TIME_IS_VALID (queue_time) ? min + queue_time :
      GST_CLOCK_TIME_NONE;
  GST_DEBUG_OBJECT (self, "latency min %" GST_TIME_FORMAT " max %"
      GST_TIME_FORMAT, GST_TIME_ARGS (min), GST_TIME_ARGS (max));
  gst_query_set_latency (query, live, min, max);
  return TRUE;
}

/* Custom upstream events (force-key-unit among them) go to the publisher's
 * pipeline. */
static gboolean
gst_zero_cp_src_event (GstBaseSrc * bsrc, GstEvent * event)
{
  GstZeroCpSrc *self = GST_ZERO_CP_SRC (bsrc);
  gchar *string;
  int ret = -ENOTCONN;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CUSTOM_UPSTREAM:
    case GST_EVENT_CUSTOM_BOTH:
    case GST_EVENT_CUSTOM_BOTH_OOB:
      break;
    default:
      return GST_BASE_SRC_CLASS (parent_class)->event (bsrc, event);
  }

  string = gst_zero_cp_event_to_string (event);
  if (!string)
    return FALSE;
  GST_OBJECT_LOCK (self);
  if (self->subscriber)
    ret = zcp_subscriber_send_upstream (self->subscriber, string);
  GST_OBJECT_UNLOCK (self);

  if (ret < 0)
    GST_WARNING_OBJECT (self, "upstream event not sent to the publisher: %s: "
        "%.200s", g_strerror (-ret), string);
  else
    GST_DEBUG_OBJECT (self, "sent upstream: %s", string);
  g_free (string);
  return ret == 0;
}

static gboolean
gst_zero_cp_src_negotiate (GstBaseSrc * bsrc)
{
  /* The channel decides the caps, with its first frame: see create(). */
  return TRUE;
}

static gboolean
gst_zero_cp_src_unlock (GstBaseSrc * bsrc)
{
  GstZeroCpSrc *self = GST_ZERO_CP_SRC (bsrc);
  const guint64 one = 1;

  atomic_store (&self->unlocking, true);
  if (self->wake_fd >= 0 && write (self->wake_fd, &one, sizeof one) < 0)
    GST_WARNING_OBJECT (self, "cannot wake the streaming thread: %s",
        g_strerror (errno));

  GST_OBJECT_LOCK (self);
  if (self->subscriber)
    zcp_subscriber_wake (self->subscriber);
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_zero_cp_src_unlock_stop (GstBaseSrc * bsrc)
{
  GstZeroCpSrc *self = GST_ZERO_CP_SRC (bsrc);
  guint64 count;

  atomic_store (&self->unlocking, false);
  if (self->wake_fd >= 0 && read (self->wake_fd, &count, sizeof count) < 0 &&
      errno != EAGAIN)
    GST_WARNING_OBJECT (self, "cannot reset the wake-up: %s",
        g_strerror (errno));
  return TRUE;
}

/* Runs in the streaming thread as it starts its task: the slice is the
 * thread's, so it is asked for there and given back as the thread leaves
 * for the task pool, where another element's task may reuse it. */
static void
gst_zero_cp_src_enter_thread (GstZeroCpSrc * self)
{
  guint64 wanted, before, granted;
  guint batch_rate;

  GST_OBJECT_LOCK (self);
  wanted = self->scheduler_slice;
  batch_rate = self->scheduler_batch_rate;
  GST_OBJECT_UNLOCK (self);

  self->batch_gap = batch_rate ? (gint64) (GST_SECOND / batch_rate) : 0;
  self->last_frame_time = GST_CLOCK_TIME_NONE;
  self->thread_batched = FALSE;
  self->crowded = FALSE;
  self->next_crowd_count = 0;

  /* A thread the application gave a shorter slice, or made real-time (no
   * slice), keeps what it has. */
  if (wanted == 0 || zcp_thread_get_slice (&before) != 0 || before <= wanted)
    return;
  if (zcp_thread_set_slice (wanted, &granted) != 0)
    return;
  self->thread_slice = granted;
  self->thread_slice_before = before;
  GST_DEBUG_OBJECT (self, "streaming thread's slice %" G_GUINT64_FORMAT
      " ns, was %" G_GUINT64_FORMAT, granted, before);
}

static void
gst_zero_cp_src_leave_thread (GstZeroCpSrc * self)
{
  guint64 now, restored;

  if (self->thread_batched)
    gst_zero_cp_src_end_batch (self);
  /* Only our task's thread is paced: the thread is the pool's again. */
  self->batch_gap = 0;
  if (self->thread_slice && zcp_thread_get_slice (&now) == 0 &&
      now == self->thread_slice &&
      zcp_thread_set_slice (self->thread_slice_before, &restored) != 0)
    GST_WARNING_OBJECT (self, "could not give the streaming thread its slice "
        "of %" G_GUINT64_FORMAT " ns back", self->thread_slice_before);
  self->thread_slice = 0;
}

static gboolean
gst_zero_cp_src_post_message (GstElement * element, GstMessage * message)
{
  GstZeroCpSrc *self = GST_ZERO_CP_SRC (element);

  /* The pad posts these from the streaming thread itself, before the
   * application's sync handler sees them: one that sets a policy or a
   * slice of its own on ENTER has the last word. */
  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_STREAM_STATUS &&
      GST_MESSAGE_SRC (message) == GST_OBJECT (GST_BASE_SRC_PAD (self))) {
    GstStreamStatusType type;
    GstElement *owner;

    gst_message_parse_stream_status (message, &type, &owner);
    if (type == GST_STREAM_STATUS_TYPE_ENTER)
      gst_zero_cp_src_enter_thread (self);
    else if (type == GST_STREAM_STATUS_TYPE_LEAVE)
      gst_zero_cp_src_leave_thread (self);
  }
  return GST_ELEMENT_CLASS (parent_class)->post_message (element, message);
}

static void
gst_zero_cp_src_finalize (GObject * object)
{
  GstZeroCpSrc *self = GST_ZERO_CP_SRC (object);

  g_free (self->channel);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_zero_cp_src_class_init (GstZeroCpSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS (klass);
  GstPushSrcClass *pushsrc_class = GST_PUSH_SRC_CLASS (klass);

  gobject_class->set_property = gst_zero_cp_src_set_property;
  gobject_class->get_property = gst_zero_cp_src_get_property;
  gobject_class->finalize = gst_zero_cp_src_finalize;

  /* The tags of GStreamer's tag library (MusicBrainz ids, capture
   * settings), which the publisher's demuxers and parsers put in its tag
   * lists: a tag this process does not know is left out of them. */
  gst_tag_register_musicbrainz_tags ();

  /**
   * GstZeroCpSrc:channel:
   *
   * Name of the channel to subscribe to, as set on the publishing
   * zerocpsink.
   */
  properties[PROP_CHANNEL] = g_param_spec_string ("channel", "Channel",
      "Name of the channel to subscribe to: 1 to 200 characters of A-Z a-z "
      "0-9 _ - . (default: none, must be set)", DEFAULT_CHANNEL,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);

  /**
   * GstZeroCpSrc:is-live:
   *
   * Whether to act as a live source, with timestamps on the clock shared
   * with the publisher.  Turn it off to process a stream as fast as it
   * comes: #GstZeroCpSrc:timestamp-mode then defaults to passthrough and
   * #GstZeroCpSrc:leaky to no.
   */
  properties[PROP_IS_LIVE] = g_param_spec_boolean ("is-live", "Is live",
      "Act as a live source on the clock shared with the publisher (default: "
      "true); false gives a non-live source for processing files, with the "
      "publisher's timestamps and every frame",
      DEFAULT_IS_LIVE, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY);

  /**
   * GstZeroCpSrc:max-buffers:
   *
   * Frames the publisher may queue for this subscriber; what happens beyond
   * is #GstZeroCpSrc:leaky's choice.  A deeper queue rides out longer
   * hiccups downstream, at the cost of latency and of chunks held.  Unless
   * set, it is 4 for a live source (at most 4 frames stale) and 8 for a
   * non-live one (room for the publisher to run ahead while it wakes).
   */
  properties[PROP_MAX_BUFFERS] = g_param_spec_uint ("max-buffers",
      "Max buffers", "Frames the publisher may queue for this subscriber "
      "(1 to 64; default: 4 if is-live, else 8)", 1, ZCP_QUEUE_MAX,
      DEFAULT_MAX_BUFFERS_LIVE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);

  /**
   * GstZeroCpSrc:leaky:
   *
   * What the publisher does when this subscriber's queue is full: wait for
   * room (no: lossless, the slowest lossless subscriber sets the pace), drop
   * the new frame (upstream) or drop the oldest queued frame (downstream).
   * Either leaky choice costs the publisher and the other subscribers
   * nothing.  Unless set, it is downstream for a live source and no for a
   * non-live one.
   */
  properties[PROP_LEAKY] = g_param_spec_enum ("leaky", "Leaky",
      "When this subscriber's queue is full: the publisher waits (no), drops "
      "the new frame (upstream) or the oldest queued one (downstream) "
      "(default: downstream if is-live, else no)", GST_TYPE_ZERO_CP_SRC_LEAKY,
      DEFAULT_LEAKY_LIVE, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_PLAYING);

  /**
   * GstZeroCpSrc:publisher-timeout:
   *
   * How long to wait for a publisher, when starting or after losing one
   * (on-publisher-lost=wait), before posting an error.  On a full channel
   * it also bounds the wait for the publisher to give back the slot of a
   * subscriber that left.
   */
  properties[PROP_PUBLISHER_TIMEOUT] = g_param_spec_uint64
      ("publisher-timeout", "Publisher timeout",
      "Nanoseconds to wait for a publisher, at start or after losing one, "
      "or for a full channel's publisher to give back a slot, before an "
      "error (0 = forever)", 0, G_MAXUINT64,
      DEFAULT_PUBLISHER_TIMEOUT, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_PLAYING);

  /**
   * GstZeroCpSrc:on-publisher-lost:
   *
   * What to do when the publisher goes away without end-of-stream (it was
   * killed, or its pipeline stopped): wait for the next publisher on the
   * channel and carry on (a new stream-start, caps, segment and a DISCONT
   * buffer), end the stream, or post an error.
   */
  properties[PROP_ON_PUBLISHER_LOST] = g_param_spec_enum ("on-publisher-lost",
      "On publisher lost", "When the publisher goes away without "
      "end-of-stream: wait for the next one, end the stream (eos) or fail "
      "(error)", GST_TYPE_ZERO_CP_SRC_ON_LOST, DEFAULT_ON_PUBLISHER_LOST,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);

  /**
   * GstZeroCpSrc:timestamp-mode:
   *
   * What becomes of the publisher's timestamps.  `compensate`: its running
   * time on the shared monotonic clock turned into ours, so that a sink
   * that syncs plays at the publisher's pace and streams of one publisher
   * stay in sync; the publisher's latency is added to ours.  `passthrough`:
   * its timestamps and segment unchanged, for processing a file.
   * `restart`: stamped on arrival with our running time, as shmsrc users
   * get with do-timestamp.  Unless set, compensate for a live source and
   * passthrough for a non-live one.
   */
  properties[PROP_TIMESTAMP_MODE] = g_param_spec_enum ("timestamp-mode",
      "Timestamp mode", "What becomes of the publisher's timestamps: turned "
      "into our running time on the shared clock (compensate), kept with its "
      "segment (passthrough) or replaced by the arrival time (restart) "
      "(default: compensate if is-live, else passthrough)",
      GST_TYPE_ZERO_CP_SRC_TIMESTAMP_MODE, DEFAULT_TIMESTAMP_MODE_LIVE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);

  /**
   * GstZeroCpSrc:scheduler-slice:
   *
   * Time slice the streaming thread asks of the Linux scheduler (EEVDF,
   * kernel 6.12 or later; elsewhere nothing happens).  A thread woken with a
   * slice shorter than the running one's preempts it, so a frame is taken
   * as soon as it is published even when the publisher, or anything else,
   * is busy on that CPU; with the default slice it could wait out the
   * other's, milliseconds.  The thread's share of the CPU is unchanged.
   * The thread gets its old slice back when it leaves the task; a thread
   * that already has a shorter slice, or a real-time policy (which an
   * application sets on the stream-status message), is left alone.
   */
  properties[PROP_SCHEDULER_SLICE] = g_param_spec_uint64 ("scheduler-slice",
      "Scheduler slice", "Nanoseconds of CPU the streaming thread asks for at "
      "a time, so that a new frame preempts a busy CPU (Linux 6.12 or later; "
      "0 = leave the thread's scheduling alone)", 0, MAX_SCHEDULER_SLICE,
      DEFAULT_SCHEDULER_SLICE, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY);

  /**
   * GstZeroCpSrc:scheduler-batch-rate:
   *
   * Frames per second above which the streaming thread, if it is
   * SCHED_OTHER, becomes SCHED_BATCH until the stream falls below half of
   * it, while the publisher and the channel's subscribers outnumber the
   * CPUs the thread may run on.  Woken by a frame, a batch thread does not
   * preempt the running one (the publisher, on its CPU): it runs when a CPU
   * is free or that slice ends, and takes the frames that came meanwhile in
   * one turn.  Small messages sent as fast as they go to several
   * subscribers cost the publisher and the subscribers less CPU this way,
   * at the price of some latency for each; video rates stay far below it,
   * and with a CPU for each process there is nobody to preempt.  A wait of
   * sixteen periods of the rate for the next frame, at least 1 ms (1 to
   * 5 ms at the default rate, as the scheduler's tick falls), ends the
   * batch, so that the first frame after a pause preempts.  The thread gets
   * its policy back when it leaves the task; a real-time thread is left
   * alone.
   */
  properties[PROP_SCHEDULER_BATCH_RATE] =
      g_param_spec_uint ("scheduler-batch-rate", "Scheduler batch rate",
      "Frames per second above which the streaming thread takes frames in "
      "batches (SCHED_BATCH) rather than preempt the publisher for each, "
      "when the publisher and the subscribers outnumber the CPUs (0 = never)",
      0, MAX_SCHEDULER_BATCH_RATE, DEFAULT_SCHEDULER_BATCH_RATE,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);

  /**
   * GstZeroCpSrc:stats:
   *
   * Counters of this subscriber: connected, publisher-pid, delivered,
   * dropped (by the publisher for a leaky queue), queued, max-buffers,
   * leaky, slot in the channel, subscribers (of the channel, this one
   * included), reconnects (publishers lost and replaced) and frames-copied
   * (frames handed on in our own memory: because downstream held this
   * subscriber's share of a pool that may not grow, or because it does not
   * read GstVideoMeta and the frame's planes are laid out otherwise than
   * its caps say).
   */
  properties[PROP_STATS] = g_param_spec_boxed ("stats", "Statistics",
      "Counters of this subscriber: frames delivered, dropped and queued, "
      "publisher pid, subscribers of the channel, reconnects, frames copied "
      "(downstream held too many, or reads only the caps' layout)",
      GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (gobject_class, N_PROPERTIES, properties);
  /* To warn that it throws away the timestamps the publisher sent. */
  g_object_class_override_property (gobject_class, PROP_DO_TIMESTAMP,
      "do-timestamp");
  gst_type_mark_as_plugin_api (GST_TYPE_ZERO_CP_SRC_LEAKY, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_ZERO_CP_SRC_TIMESTAMP_MODE, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_ZERO_CP_SRC_ON_LOST, 0);

  element_class->post_message =
      GST_DEBUG_FUNCPTR (gst_zero_cp_src_post_message);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Zero-copy shared memory source", "Source",
      "Receives a stream published by zerocpsink in another process, "
      "without copying frames", "zerocp developers");

  basesrc_class->start = GST_DEBUG_FUNCPTR (gst_zero_cp_src_start);
  basesrc_class->stop = GST_DEBUG_FUNCPTR (gst_zero_cp_src_stop);
  basesrc_class->negotiate = GST_DEBUG_FUNCPTR (gst_zero_cp_src_negotiate);
  basesrc_class->decide_allocation =
      GST_DEBUG_FUNCPTR (gst_zero_cp_src_decide_allocation);
  basesrc_class->unlock = GST_DEBUG_FUNCPTR (gst_zero_cp_src_unlock);
  basesrc_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_zero_cp_src_unlock_stop);
  basesrc_class->query = GST_DEBUG_FUNCPTR (gst_zero_cp_src_query);
  basesrc_class->event = GST_DEBUG_FUNCPTR (gst_zero_cp_src_event);
  pushsrc_class->create = GST_DEBUG_FUNCPTR (gst_zero_cp_src_create);

  GST_DEBUG_CATEGORY_INIT (gst_zero_cp_src_debug, "zerocpsrc", 0,
      "zerocp subscriber");
  GST_DEBUG_CATEGORY_GET (CAT_PERFORMANCE, "GST_PERFORMANCE");
}

static void
gst_zero_cp_src_init (GstZeroCpSrc * self)
{
  self->channel = g_strdup (DEFAULT_CHANNEL);
  self->max_buffers = DEFAULT_MAX_BUFFERS_LIVE;
  self->leaky = DEFAULT_LEAKY_LIVE;
  self->publisher_timeout = DEFAULT_PUBLISHER_TIMEOUT;
  self->on_publisher_lost = DEFAULT_ON_PUBLISHER_LOST;
  self->timestamp_mode = DEFAULT_TIMESTAMP_MODE_LIVE;
  self->scheduler_slice = DEFAULT_SCHEDULER_SLICE;
  self->scheduler_batch_rate = DEFAULT_SCHEDULER_BATCH_RATE;
  self->wake_fd = -1;
  gst_base_src_set_live (GST_BASE_SRC (self), DEFAULT_IS_LIVE);
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
}
