/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-zerocpsink
 * @title: zerocpsink
 * @see_also: zerocpsrc
 *
 * Publishes a stream on a zerocp channel, for any number of zerocpsrc
 * elements in other processes on the same host.  The sink proposes a pool of
 * shared-memory chunks upstream, so that frames are written straight into
 * shared memory and never copied on their way to the subscribers; a buffer
 * that does not come from that pool is copied once into a chunk and counted
 * in #GstZeroCpSink:stats.
 *
 * Caps, timestamps, buffer flags, the video layout, the stream's events and
 * end-of-stream travel with the frames, and so do the metas that describe a
 * frame (reference timestamps, regions of interest, crop, time codes,
 * captions, AFD and bar data, SEI user data, protection, the planes of
 * non-interleaved audio, audio levels and custom metas); subscribers never
 * repeat the caps.  Each subscriber chooses what happens when its queue is
 * full (zerocpsrc's max-buffers and leaky): the sink waits for a lossless
 * one (while checking that it is alive, and never holding anything else up
 * while it waits), and drops frames for a leaky one, which costs the others
 * nothing.
 *
 * The pool sizes itself: it starts with room for the frames upstream has in
 * flight and what the subscribers queue and hold, and grows on demand (by as
 * many chunks again) up to #GstZeroCpSink:max-pool-bytes.  At that limit the
 * sink posts a warning and upstream waits for a chunk to come free.  A chunk
 * takes memory in /dev/shm from its first use, so a pool holds what its
 * stream uses, not what it may; a full /dev/shm stops it at the chunks it
 * has, with a warning of its own, until room comes back.
 *
 * With a zerocpsrc of the same channel in the same pipeline, set async=false
 * on the sink: it publishes only once the pipeline plays, and the pipeline
 * would otherwise wait for the zerocpsrc's sink to preroll on a frame that
 * never comes.
 *
 * The sink posts an element message when a subscriber comes
 * (`zerocp-subscriber-connected`: channel, slot, pid, max-buffers, leaky) or
 * goes (`zerocp-subscriber-left`: channel, slot, pid, delivered, dropped).
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc ! video/x-raw,format=NV12,width=1920,height=1080,framerate=30/1 ! zerocpsink channel=cam0
 * ]| Publishes test video on channel cam0; see zerocpsrc to receive it.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <gst/video/video.h>

#include "gstzerocpallocator.h"
#include "gstzerocpbufferpool.h"
#include "gstzerocpdescriptor.h"
#include "gstzerocpelements.h"
#include "gstzerocpevents.h"
#include "gstzerocpmetas.h"
#include "gstzerocpsink.h"
#include "zcp.h"

GST_DEBUG_CATEGORY_STATIC (gst_zero_cp_sink_debug);
#define GST_CAT_DEFAULT gst_zero_cp_sink_debug
GST_DEBUG_CATEGORY_STATIC (CAT_PERFORMANCE);

#define DEFAULT_CHANNEL NULL
#define DEFAULT_PERMS 0600
#define DEFAULT_WAIT_FOR_CONNECTION FALSE
#define DEFAULT_MAX_POOL_BYTES 0

/* Frames upstream has in flight: the minimum of the pool we propose. */
#define POOL_MIN_BUFFERS 2u
/* What the first pool allows each subscriber to hold downstream of its
 * queue, the queue depth assumed before any subscriber is there and the most
 * any one queue counts for (zerocpsrc's deeper default, a source that is not
 * live: a pool sized for the live default of 4 had to double as soon as such
 * a subscriber fell behind), and the most chunks the first pool has: growth
 * does the rest. */
#define POOL_HELD_PER_SUBSCRIBER 2u
#define POOL_DEFAULT_QUEUE 8u
#define POOL_MAX_INITIAL_CHUNKS 32u

/* How often the sink looks for subscribers that came or went. */
#define MONITOR_PERIOD_US (100 * G_TIME_SPAN_MILLISECOND)
/* At most one limit warning this often. */
#define LIMIT_WARNING_PERIOD_US (5 * G_TIME_SPAN_SECOND)

/* How long one wait for a free chunk lasts before it says so in the log. */
#define CLAIM_WAIT_NS (GST_SECOND)

enum
{
  PROP_0,
  PROP_CHANNEL,
  PROP_PERMS,
  PROP_WAIT_FOR_CONNECTION,
  PROP_MAX_POOL_BYTES,
  PROP_NUM_SUBSCRIBERS,
  PROP_STATS,
  N_PROPERTIES
};

static GParamSpec *properties[N_PROPERTIES];

struct _GstZeroCpSink
{
  GstBaseSink parent;

  gchar *channel;               /* protected by OBJECT_LOCK */
  guint perms;                  /* protected by OBJECT_LOCK */
  gboolean wait_for_connection; /* protected by OBJECT_LOCK */
  guint64 max_pool_bytes;       /* protected by OBJECT_LOCK */
  struct zcp_publisher *publisher;      /* protected by OBJECT_LOCK */
  GstBufferPool *pool;          /* protected by OBJECT_LOCK */

  /* set in start, used by the streaming thread */
  GstAllocator *allocator;
  gchar *channel_in_use;
  gboolean is_video;
  GstVideoInfo info;
  GstZeroCpClockCheck clock_check;
  /* The event type and structure name of each named sticky kind taken so
   * far. */
  gchar *named_sticky_names[GST_ZERO_CP_STICKY_NAMED_KINDS];
  /* The sticky kinds an event too long to keep was warned about, by bit. */
  guint32 long_sticky_warned;
  gboolean long_metas_warned;
  /* A LATENCY event came; set from the application's thread. */
  atomic_bool latency_configured;

  /* The sink pad flushes (a flush, or going to READY): a wait for
   * subscribers ends.  A pause does not set it; see
   * gst_zero_cp_sink_render. */
  atomic_bool flushing;

  /* The monitor thread posts a message when a subscriber comes or goes,
   * and sends the subscribers' upstream events up our pipeline. */
  GThread *monitor;
  atomic_bool monitor_stop;
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS_ANY);

#define gst_zero_cp_sink_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstZeroCpSink, gst_zero_cp_sink, GST_TYPE_BASE_SINK,
    G_IMPLEMENT_INTERFACE (GST_TYPE_URI_HANDLER, gst_zero_cp_uri_handler_init));
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (zerocpsink, "zerocpsink",
    GST_RANK_NONE, GST_TYPE_ZERO_CP_SINK, zero_cp_element_init (plugin));

static struct zcp_publisher *
gst_zero_cp_sink_ref_publisher (GstZeroCpSink * self)
{
  struct zcp_publisher *publisher = NULL;

  GST_OBJECT_LOCK (self);
  if (self->publisher)
    publisher = zcp_publisher_ref (self->publisher);
  GST_OBJECT_UNLOCK (self);
  return publisher;
}

static GstStructure *
gst_zero_cp_sink_make_stats (GstZeroCpSink * self)
{
  struct zcp_subscriber_info infos[ZCP_SUBSCRIBERS_MAX];
  struct zcp_publisher_stats stats = { 0 };
  struct zcp_publisher *publisher = gst_zero_cp_sink_ref_publisher (self);
  GValue list = G_VALUE_INIT;
  GstStructure *structure;
  guint count = 0;

  if (publisher) {
    zcp_publisher_get_stats (publisher, &stats);
    count = zcp_publisher_list_subscribers (publisher, infos,
        G_N_ELEMENTS (infos));
    zcp_publisher_unref (publisher);
  }

  gst_value_array_init (&list, count);
  for (guint i = 0; i < count; i++) {
    GValue item = G_VALUE_INIT;

    g_value_init (&item, GST_TYPE_STRUCTURE);
    g_value_take_boxed (&item, gst_structure_new ("subscriber",
            "slot", G_TYPE_UINT, infos[i].slot,
            "pid", G_TYPE_UINT, infos[i].pid,
            "delivered", G_TYPE_UINT64, infos[i].delivered,
            "dropped", G_TYPE_UINT64, infos[i].dropped,
            "queued", G_TYPE_UINT, infos[i].queued,
            "max-buffers", G_TYPE_UINT, infos[i].max_buffers,
            "leaky", G_TYPE_STRING, zcp_leaky_nick (infos[i].leaky), NULL));
    gst_value_array_append_and_take_value (&list, &item);
  }

  structure = gst_structure_new ("application/x-zerocp-sink-stats",
      "frames-published", G_TYPE_UINT64, stats.frames_published,
      "frames-copied", G_TYPE_UINT64, stats.frames_copied,
      "subscribers", G_TYPE_UINT, stats.subscribers,
      "chunk-size", G_TYPE_UINT64, stats.chunk_size,
      "chunks-total", G_TYPE_UINT, stats.chunks_total,
      "chunks-in-use", G_TYPE_UINT, stats.chunks_in_use,
      "chunks-free", G_TYPE_UINT, stats.chunks_total - stats.chunks_in_use,
      "pools", G_TYPE_UINT, stats.pools,
      "pool-bytes", G_TYPE_UINT64, stats.pool_bytes,
      "shm-bytes", G_TYPE_UINT64, stats.shm_bytes,
      "max-pool-bytes", G_TYPE_UINT64, stats.pool_limit,
      "pool-limit-waits", G_TYPE_UINT64, stats.limit_waits, NULL);
  gst_structure_take_value (structure, "subscriber-stats", &list);
  return structure;
}

static void
gst_zero_cp_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstZeroCpSink *self = GST_ZERO_CP_SINK (object);

  GST_OBJECT_LOCK (self);
  if (self->publisher && (prop_id == PROP_CHANNEL || prop_id == PROP_PERMS)) {
    GST_WARNING_OBJECT (self, "%s cannot change while the sink runs",
        pspec->name);
    GST_OBJECT_UNLOCK (self);
    return;
  }

  switch (prop_id) {
    case PROP_CHANNEL:
      g_free (self->channel);
      self->channel = g_value_dup_string (value);
      break;
    case PROP_PERMS:
      self->perms = g_value_get_uint (value);
      break;
    case PROP_WAIT_FOR_CONNECTION:
      self->wait_for_connection = g_value_get_boolean (value);
      break;
    case PROP_MAX_POOL_BYTES:
      self->max_pool_bytes = g_value_get_uint64 (value);
      if (self->publisher)
        zcp_publisher_set_pool_limit (self->publisher, self->max_pool_bytes);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_zero_cp_sink_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstZeroCpSink *self = GST_ZERO_CP_SINK (object);

  switch (prop_id) {
    case PROP_CHANNEL:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->channel);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_PERMS:
      GST_OBJECT_LOCK (self);
      g_value_set_uint (value, self->perms);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_WAIT_FOR_CONNECTION:
      GST_OBJECT_LOCK (self);
      g_value_set_boolean (value, self->wait_for_connection);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_MAX_POOL_BYTES:
      GST_OBJECT_LOCK (self);
      g_value_set_uint64 (value, self->max_pool_bytes);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_NUM_SUBSCRIBERS:
      GST_OBJECT_LOCK (self);
      g_value_set_uint (value, self->publisher ?
          zcp_publisher_count_subscribers (self->publisher) : 0);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_STATS:
      g_value_take_boxed (value, gst_zero_cp_sink_make_stats (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_zero_cp_sink_post_subscriber (GstZeroCpSink * self, const gchar * name,
    const struct zcp_subscriber_info *info)
{
  GstStructure *structure = gst_structure_new (name,
      "channel", G_TYPE_STRING, self->channel_in_use,
      "slot", G_TYPE_UINT, info->slot,
      "pid", G_TYPE_UINT, info->pid, NULL);

  if (strcmp (name, "zerocp-subscriber-connected") == 0)
    gst_structure_set (structure,
        "max-buffers", G_TYPE_UINT, info->max_buffers,
        "leaky", G_TYPE_STRING, zcp_leaky_nick (info->leaky), NULL);
  else
    gst_structure_set (structure,
        "delivered", G_TYPE_UINT64, info->delivered,
        "dropped", G_TYPE_UINT64, info->dropped, NULL);

  GST_INFO_OBJECT (self, "%" GST_PTR_FORMAT, structure);
  gst_element_post_message (GST_ELEMENT_CAST (self),
      gst_message_new_element (GST_OBJECT_CAST (self), structure));
}

/* With its final counters if its slot still has them, else as last seen. */
static void
gst_zero_cp_sink_post_departed (GstZeroCpSink * self,
    struct zcp_publisher *publisher, struct zcp_subscriber_info *info)
{
  if (zcp_publisher_get_departed (publisher, info) < 0)
    GST_DEBUG_OBJECT (self, "slot %u taken again: counters of pid %u as last "
        "seen", info->slot, info->pid);
  gst_zero_cp_sink_post_subscriber (self, "zerocp-subscriber-left", info);
}

/* Until @until (monotonic time), sends what subscribers send upstream up
 * our pipeline, as it comes. */
static void
gst_zero_cp_sink_relay_upstream (GstZeroCpSink * self,
    struct zcp_publisher *publisher, gint64 until)
{
  gint64 remaining_us;

  while ((remaining_us = until - g_get_monotonic_time ()) > 0) {
    GstEvent *event;
    gchar *string;
    int ret;

    ret = zcp_publisher_take_upstream (publisher, &string,
        remaining_us * GST_USECOND, &self->monitor_stop);
    if (ret == -ETIMEDOUT || ret == -ECANCELED)
      return;
    if (ret < 0)
      continue;

    event = gst_zero_cp_event_from_string (string);
    /* Only what a subscriber may ask of us: never a flush or a seek. */
    if (event && (GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_UPSTREAM ||
            GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_BOTH ||
            GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_BOTH_OOB)) {
      GST_DEBUG_OBJECT (self, "upstream event from a subscriber: %s", string);
      if (!gst_pad_push_event (GST_BASE_SINK_PAD (self), event))
        GST_DEBUG_OBJECT (self, "nobody upstream handled it");
    } else {
      GST_WARNING_OBJECT (self, "ignored an upstream event from a subscriber: "
          "%.200s", string);
      gst_clear_event (&event);
    }
    free (string);
  }
}

/* Watches the channel's subscribers while the sink runs, streaming or not:
 * posts a message for each that came or went (and so reclaims the chunks of
 * dead ones without waiting for the next frame), and warns when the pool
 * has hit its limit; between two looks, relays what subscribers send
 * upstream. */
static gpointer
gst_zero_cp_sink_monitor (gpointer data)
{
  GstZeroCpSink *self = data;
  struct zcp_subscriber_info known[ZCP_SUBSCRIBERS_MAX];
  struct zcp_subscriber_info now[ZCP_SUBSCRIBERS_MAX];
  struct zcp_publisher *publisher = gst_zero_cp_sink_ref_publisher (self);
  guint n_known = 0, n_now;
  guint64 limit_waits = 0;
  gint64 next_warning = 0;

  while (publisher && !atomic_load (&self->monitor_stop)) {
    struct zcp_publisher_stats stats;
    gint64 next_round = g_get_monotonic_time () + MONITOR_PERIOD_US;

    n_now = zcp_publisher_list_subscribers (publisher, now, G_N_ELEMENTS (now));
    /* Both lists are in slot order: merge them. */
    for (guint k = 0, n = 0; k < n_known || n < n_now;) {
      if (n == n_now || (k < n_known && known[k].slot < now[n].slot)) {
        gst_zero_cp_sink_post_departed (self, publisher, &known[k++]);
      } else if (k == n_known || now[n].slot < known[k].slot) {
        gst_zero_cp_sink_post_subscriber (self, "zerocp-subscriber-connected",
            &now[n++]);
      } else if (known[k].pid != now[n].pid) {
        gst_zero_cp_sink_post_departed (self, publisher, &known[k++]);
        gst_zero_cp_sink_post_subscriber (self, "zerocp-subscriber-connected",
            &now[n++]);
      } else {
        k++;
        n++;
      }
    }
    memcpy (known, now, n_now * sizeof now[0]);
    n_known = n_now;

    zcp_publisher_get_stats (publisher, &stats);
    if (stats.limit_waits > limit_waits &&
        g_get_monotonic_time () >= next_warning) {
      /* Which limit: /dev/shm's room, or ours. */
      gchar *reached = stats.out_of_space ?
          g_strdup_printf ("No room left in /dev/shm for the pool of channel "
          "'%s'", self->channel_in_use) :
          g_strdup_printf ("The pool of channel '%s' reached its limit of %"
          G_GUINT64_FORMAT " bytes", self->channel_in_use, stats.pool_limit);

      GST_ELEMENT_WARNING (self, RESOURCE, NO_SPACE_LEFT, ("%s; upstream "
              "waits for subscribers to release frames.", reached),
          ("all %u chunks of %" G_GUINT64_FORMAT " bytes are held%s, or lower "
              "the subscribers' max-buffers or what they hold",
              stats.chunks_total, stats.chunk_size, stats.out_of_space ?
              " and /dev/shm has no room for another: make room there (a "
              "container's --shm-size)" : "; raise max-pool-bytes"));
      g_free (reached);
      limit_waits = stats.limit_waits;
      next_warning = g_get_monotonic_time () + LIMIT_WARNING_PERIOD_US;
    }

    gst_zero_cp_sink_relay_upstream (self, publisher, next_round);
  }

  if (publisher)
    zcp_publisher_unref (publisher);
  return NULL;
}

static gboolean
gst_zero_cp_sink_start (GstBaseSink * bsink)
{
  GstZeroCpSink *self = GST_ZERO_CP_SINK (bsink);
  struct zcp_publisher *publisher;
  guint64 max_pool_bytes;
  gchar *channel;
  guint perms;
  int ret;

  GST_OBJECT_LOCK (self);
  channel = g_strdup (self->channel);
  perms = self->perms;
  max_pool_bytes = self->max_pool_bytes;
  GST_OBJECT_UNLOCK (self);

  if (!channel) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("No channel set."),
        ("set the 'channel' property"));
    return FALSE;
  }

  ret = zcp_publisher_open (channel, perms, &publisher);
  if (ret < 0) {
    GST_ZERO_CP_ELEMENT_ERROR (self, ret, channel, "zcp_publisher_open");
    g_free (channel);
    return FALSE;
  }

  zcp_publisher_set_pool_limit (publisher, max_pool_bytes);

  /* A new allocator per run: memory of an earlier run's pool belongs to a
   * channel that is gone and must take the copy path. */
  self->allocator = gst_zero_cp_allocator_new (publisher);
  self->channel_in_use = channel;
  self->is_video = FALSE;
  atomic_store (&self->latency_configured, false);

  GST_OBJECT_LOCK (self);
  self->publisher = publisher;
  GST_OBJECT_UNLOCK (self);

  atomic_store (&self->monitor_stop, false);
  self->monitor = g_thread_new ("zerocpsink-monitor", gst_zero_cp_sink_monitor,
      self);

  GST_INFO_OBJECT (self, "publishing on channel %s", channel);
  return TRUE;
}

static gboolean
gst_zero_cp_sink_stop (GstBaseSink * bsink)
{
  GstZeroCpSink *self = GST_ZERO_CP_SINK (bsink);
  struct zcp_publisher *publisher;
  GstBufferPool *pool;

  if (self->monitor) {
    atomic_store (&self->monitor_stop, true);
    zcp_publisher_wake (self->publisher);
    g_thread_join (self->monitor);
    self->monitor = NULL;
  }

  GST_OBJECT_LOCK (self);
  publisher = self->publisher;
  self->publisher = NULL;
  pool = self->pool;
  self->pool = NULL;
  GST_OBJECT_UNLOCK (self);

  /* Pools upstream keep their own reference; their claims fail from now. */
  zcp_publisher_close (publisher);
  gst_clear_object (&pool);
  gst_clear_object (&self->allocator);
  g_clear_pointer (&self->channel_in_use, g_free);
  gst_zero_cp_clock_check_clear (&self->clock_check);
  for (guint i = 0; i < GST_ZERO_CP_STICKY_NAMED_KINDS; i++)
    g_clear_pointer (&self->named_sticky_names[i], g_free);
  self->long_sticky_warned = 0;
  self->long_metas_warned = FALSE;
  return TRUE;
}

/* Subscribers add our latency to theirs: a frame stamped T leaves here at
 * T plus this much, and they render it at T plus their own latency. */
static void
gst_zero_cp_sink_publish_latency (GstZeroCpSink * self, GstClockTime latency)
{
  struct zcp_publisher *publisher = gst_zero_cp_sink_ref_publisher (self);

  if (!publisher)
    return;
  GST_DEBUG_OBJECT (self, "publishing latency %" GST_TIME_FORMAT,
      GST_TIME_ARGS (latency));
  zcp_publisher_set_latency (publisher, latency);
  zcp_publisher_unref (publisher);
}

/* The pipeline's latency, when it has one (a live pipeline that syncs). */
static gboolean
gst_zero_cp_sink_send_element_event (GstElement * element, GstEvent * event)
{
  GstZeroCpSink *self = GST_ZERO_CP_SINK (element);

  if (GST_EVENT_TYPE (event) == GST_EVENT_LATENCY) {
    GstClockTime latency;

    gst_event_parse_latency (event, &latency);
    atomic_store (&self->latency_configured, true);
    gst_zero_cp_sink_publish_latency (self, latency);
  }
  return GST_ELEMENT_CLASS (parent_class)->send_event (element, event);
}

/* Without a configured latency (sync=false), what upstream says. */
static void
gst_zero_cp_sink_query_latency (GstZeroCpSink * self)
{
  gboolean live, upstream_live;
  GstClockTime min;

  if (atomic_load (&self->latency_configured))
    return;
  if (gst_base_sink_query_latency (GST_BASE_SINK (self), &live,
          &upstream_live, &min, NULL) && upstream_live)
    gst_zero_cp_sink_publish_latency (self, min);
}

/* Frames cross in system memory.  Memory of another kind (a DMABuf, a GPU
 * surface such as DeepStream's memory:NVMM) would be copied as the bytes of
 * its handle, and the subscriber would take those for the frame: upstream
 * is offered the caps it asks about in system memory only, so that it
 * converts, and caps in any other memory are not accepted. */
static GstCaps *
gst_zero_cp_sink_get_caps (GstBaseSink * bsink, GstCaps * filter)
{
  GstCaps *caps;

  if (!filter)
    return gst_caps_new_any ();
  caps = gst_caps_copy (filter);
  for (guint i = 0; i < gst_caps_get_size (caps); i++)
    gst_caps_set_features (caps, i, NULL);
  return gst_caps_simplify (caps);
}

static gboolean
gst_zero_cp_sink_query (GstBaseSink * bsink, GstQuery * query)
{
  GstCaps *caps;

  if (GST_QUERY_TYPE (query) == GST_QUERY_ACCEPT_CAPS) {
    gst_query_parse_accept_caps (query, &caps);
    for (guint i = 0; i < gst_caps_get_size (caps); i++) {
      GstCapsFeatures *features = gst_caps_get_features (caps, i);

      if (!gst_caps_features_is_equal (features,
              GST_CAPS_FEATURES_MEMORY_SYSTEM_MEMORY)) {
        gst_query_set_accept_caps_result (query, FALSE);
        return TRUE;
      }
    }
  }
  return GST_BASE_SINK_CLASS (gst_zero_cp_sink_parent_class)->query (bsink,
      query);
}

static gboolean
gst_zero_cp_sink_set_caps (GstBaseSink * bsink, GstCaps * caps)
{
  GstZeroCpSink *self = GST_ZERO_CP_SINK (bsink);
  gchar *caps_string = gst_caps_to_string (caps);
  int ret;

  ret = zcp_publisher_set_caps (self->publisher, caps_string);
  if (ret < 0) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Caps too long for a zerocp "
            "channel."), ("%s: %" G_GSIZE_FORMAT " bytes", g_strerror (-ret),
            strlen (caps_string)));
    g_free (caps_string);
    return FALSE;
  }
  GST_DEBUG_OBJECT (self, "caps %s", caps_string);
  g_free (caps_string);

  self->is_video = gst_zero_cp_caps_are_video (caps) &&
      gst_video_info_from_caps (&self->info, caps) &&
      GST_VIDEO_INFO_FORMAT (&self->info) != GST_VIDEO_FORMAT_ENCODED;
  gst_zero_cp_sink_query_latency (self);
  return TRUE;
}

/* Chunks of the first pool: what upstream has in flight, the deepest
 * subscriber queue (up to a point) and what each subscriber holds, within
 * the limit.  Growth covers the rest, so this errs small. */
static guint
gst_zero_cp_sink_initial_chunks (struct zcp_publisher *publisher, gsize size)
{
  struct zcp_subscriber_info infos[ZCP_SUBSCRIBERS_MAX];
  guint count = zcp_publisher_list_subscribers (publisher, infos,
      G_N_ELEMENTS (infos));
  guint depth = count ? 0 : POOL_DEFAULT_QUEUE, chunks;
  struct zcp_publisher_stats stats;
  gsize stride;

  for (guint i = 0; i < count; i++)
    depth = MAX (depth, infos[i].max_buffers);
  chunks = POOL_MIN_BUFFERS + MIN (depth, POOL_DEFAULT_QUEUE) +
      POOL_HELD_PER_SUBSCRIBER * MAX (count, 1);
  chunks = MIN (chunks, POOL_MAX_INITIAL_CHUNKS);

  /* Chunks start on pages of their own, as the library lays them out. */
  stride = GST_ROUND_UP_N (MAX (size, 1), (gsize) sysconf (_SC_PAGESIZE));
  zcp_publisher_get_stats (publisher, &stats);
  /* Never below the pool's minimum: the publisher makes two chunks whatever
   * the limit (see zcp_publisher_configure_pool). */
  if (stats.pool_limit / stride < chunks)
    chunks = MAX (stats.pool_limit / stride, POOL_MIN_BUFFERS);
  return chunks;
}

/* Makes @publisher's pool for frames of @size bytes (it keeps one that fits),
 * or posts an error that says why it cannot. */
static gboolean
gst_zero_cp_sink_configure_pool (GstZeroCpSink * self,
    struct zcp_publisher *publisher, gsize size, guint chunks)
{
  int ret = zcp_publisher_configure_pool (publisher, MAX (size, 1), chunks);

  if (ret == -EBUSY)
    /* Not a second publisher, as EBUSY means elsewhere: the pool table. */
    GST_ELEMENT_ERROR (self, RESOURCE, BUSY, ("Subscribers of channel '%s' "
            "still hold frames of all %u earlier pools: no room for a pool "
            "of the new frame size.", self->channel_in_use, ZCP_POOLS_MAX),
        ("zcp_publisher_configure_pool: chunks of %" G_GSIZE_FORMAT " bytes",
            size));
  else if (ret < 0)
    GST_ZERO_CP_ELEMENT_ERROR (self, ret, self->channel_in_use,
        "zcp_publisher_configure_pool");
  return ret == 0;
}

static GstBufferPool *
gst_zero_cp_sink_make_pool (GstZeroCpSink * self, GstCaps * caps, guint size,
    guint chunks, guint max_chunks)
{
  struct zcp_publisher *publisher = gst_zero_cp_sink_ref_publisher (self);
  GstBufferPool *pool;
  GstStructure *config;

  if (!publisher)
    return NULL;

  pool = gst_zero_cp_buffer_pool_new (publisher, self->allocator, chunks);
  zcp_publisher_unref (publisher);

  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, caps, size, POOL_MIN_BUFFERS,
      max_chunks);
  gst_buffer_pool_config_add_option (config, GST_BUFFER_POOL_OPTION_VIDEO_META);
  if (!gst_buffer_pool_set_config (pool, config)) {
    config = gst_buffer_pool_get_config (pool);
    if (!gst_buffer_pool_config_validate_params (config, caps, size,
            POOL_MIN_BUFFERS, max_chunks) ||
        !gst_buffer_pool_set_config (pool, config)) {
      GST_WARNING_OBJECT (self, "our pool refused its own config");
      gst_object_unref (pool);
      return NULL;
    }
  }
  return pool;
}

static gboolean
gst_zero_cp_sink_propose_allocation (GstBaseSink * bsink, GstQuery * query)
{
  GstZeroCpSink *self = GST_ZERO_CP_SINK (bsink);
  struct zcp_publisher *publisher;
  GstBufferPool *pool = NULL;
  gboolean need_pool;
  GstVideoInfo info;
  GstCaps *caps;
  guint size, chunks, max_chunks = 0;
  gboolean made;

  gst_query_parse_allocation (query, &caps, &need_pool);
  if (!caps) {
    GST_DEBUG_OBJECT (self, "allocation query without caps");
    return FALSE;
  }

  /* Without a frame size we cannot size chunks; such streams take the copy
   * path, which sizes chunks from the buffers themselves. */
  if (!gst_zero_cp_caps_are_video (caps) ||
      !gst_video_info_from_caps (&info, caps) ||
      GST_VIDEO_INFO_FORMAT (&info) == GST_VIDEO_FORMAT_ENCODED) {
    GST_DEBUG_OBJECT (self, "no frame size in %" GST_PTR_FORMAT, caps);
    return TRUE;
  }
  size = info.size;
  publisher = gst_zero_cp_sink_ref_publisher (self);
  if (!publisher)
    return FALSE;
  chunks = gst_zero_cp_sink_initial_chunks (publisher, size);
  /* The first chunk's shared memory, now: a /dev/shm that cannot hold one
   * frame must be an error that says so, not a pool that upstream fails to
   * start (which GstBaseSrc reports as not-negotiated).  The pool's start
   * keeps what this makes. */
  made = !need_pool ||
      gst_zero_cp_sink_configure_pool (self, publisher, size, chunks);
  if (made && need_pool) {
    struct zcp_publisher_stats stats;

    /* Upstream reads the maximum as a bound: a decoder that keeps 16
     * reference frames passes over a pool that may not reach 32 and
     * decodes into its own, which the sink then copies.  So it is the most
     * chunks the pool may grow to, not the number it starts with. */
    zcp_publisher_get_stats (publisher, &stats);
    max_chunks = MAX (stats.chunk_capacity, chunks);
  }
  zcp_publisher_unref (publisher);
  if (!made)
    return FALSE;

  if (need_pool) {
    GST_OBJECT_LOCK (self);
    if (self->pool)
      pool = gst_object_ref (self->pool);
    GST_OBJECT_UNLOCK (self);

    if (pool) {
      GstStructure *config = gst_buffer_pool_get_config (pool);
      GstCaps *pool_caps = NULL;

      gst_buffer_pool_config_get_params (config, &pool_caps, NULL, NULL, NULL);
      /* An active pool stays with its users and drains; a new one serves
       * the new request. */
      if (!pool_caps || !gst_caps_is_equal (caps, pool_caps) ||
          gst_buffer_pool_is_active (pool))
        gst_clear_object (&pool);
      gst_structure_free (config);
    }

    if (!pool) {
      pool = gst_zero_cp_sink_make_pool (self, caps, size, chunks, max_chunks);
      if (!pool)
        return FALSE;
      GST_OBJECT_LOCK (self);
      gst_object_replace ((GstObject **) & self->pool, GST_OBJECT (pool));
      GST_OBJECT_UNLOCK (self);
    }

    gst_query_add_allocation_pool (query, pool, size, POOL_MIN_BUFFERS,
        max_chunks);
    gst_object_unref (pool);
  }

  gst_query_add_allocation_meta (query, GST_VIDEO_META_API_TYPE, NULL);
  return TRUE;
}

/* Copies a buffer that is not ours into a fresh chunk, once. */
static GstFlowReturn
gst_zero_cp_sink_copy_into_chunk (GstZeroCpSink * self, GstBuffer * buffer,
    struct zcp_chunk *chunk)
{
  gsize size = gst_buffer_get_size (buffer);
  guint64 chunk_size = zcp_publisher_chunk_size (self->publisher);
  int ret;

  if (chunk_size < MAX (size, 1)) {
    /* Buffers that vary in size (encoded video, audio) would make a new pool,
     * which every subscriber maps, at each new largest one: leave room for
     * half as much again, and up to the page that the chunk ends in. */
    gsize wanted = GST_ROUND_UP_N (MAX (size, chunk_size + chunk_size / 2),
        (gsize) sysconf (_SC_PAGESIZE));

    if (!gst_zero_cp_sink_configure_pool (self, self->publisher, wanted,
            gst_zero_cp_sink_initial_chunks (self->publisher, wanted)))
      return GST_FLOW_ERROR;
  }

  while ((ret = zcp_publisher_claim (self->publisher, chunk, CLAIM_WAIT_NS,
              &self->flushing)) == -ETIMEDOUT)
    GST_DEBUG_OBJECT (self, "every chunk is held; still waiting");

  if (ret == -ECANCELED)
    return GST_FLOW_FLUSHING;
  if (ret < 0) {
    GST_ZERO_CP_ELEMENT_ERROR (self, ret, self->channel_in_use,
        "zcp_publisher_claim");
    return GST_FLOW_ERROR;
  }

  gst_buffer_extract (buffer, 0, chunk->data, size);
  zcp_publisher_count_copy (self->publisher);
  GST_CAT_LOG_OBJECT (CAT_PERFORMANCE, self, "copied a buffer of %"
      G_GSIZE_FORMAT " bytes that did not come from our pool", size);
  return GST_FLOW_OK;
}

static GstFlowReturn
gst_zero_cp_sink_wait_for_subscriber (GstZeroCpSink * self)
{
  gboolean wait;
  int ret;

  GST_OBJECT_LOCK (self);
  wait = self->wait_for_connection;
  GST_OBJECT_UNLOCK (self);

  if (!wait || zcp_publisher_has_subscribers (self->publisher))
    return GST_FLOW_OK;

  GST_INFO_OBJECT (self, "waiting for a subscriber on channel %s",
      self->channel_in_use);
  while ((ret = zcp_publisher_wait_subscriber (self->publisher,
              CLAIM_WAIT_NS, &self->flushing)) == -ETIMEDOUT)
    GST_LOG_OBJECT (self, "still no subscriber");
  return ret == 0 ? GST_FLOW_OK : GST_FLOW_FLUSHING;
}

/* The metas of @buffer that cross, as text, or NULL. */
static gchar *
gst_zero_cp_sink_metas (GstZeroCpSink * self, GstBuffer * buffer)
{
  gchar *metas = gst_zero_cp_metas_to_string (buffer);
  gsize length;

  if (!metas)
    return NULL;
  length = strlen (metas);
  if (length <= ZCP_EVENT_LONG_MAX)
    return metas;
  if (!self->long_metas_warned) {
    self->long_metas_warned = TRUE;
    GST_ELEMENT_WARNING (self, STREAM, ENCODE, ("Buffer metas too long to "
            "cross: frames go without them."), ("%" G_GSIZE_FORMAT " bytes "
            "of metas, at most %u", length, ZCP_EVENT_LONG_MAX));
  }
  g_free (metas);
  return NULL;
}

static GstFlowReturn
gst_zero_cp_sink_publish_buffer (GstZeroCpSink * self, GstBuffer * buffer)
{
  GstBaseSink *bsink = GST_BASE_SINK_CAST (self);
  struct zcp_frame frame = { 0 };
  struct zcp_chunk copy = { 0 };
  const struct zcp_chunk *chunk = NULL;
  GstMemory *mem = NULL;
  gchar *metas;
  GstFlowReturn flow;
  int ret;

  flow = gst_zero_cp_sink_wait_for_subscriber (self);
  if (flow != GST_FLOW_OK)
    return flow;

  if (gst_buffer_n_memory (buffer) == 1) {
    mem = gst_buffer_peek_memory (buffer, 0);
    chunk = gst_zero_cp_memory_get_chunk (self->allocator, mem);
  }

  gst_zero_cp_frame_from_buffer (&frame, buffer, &bsink->segment,
      gst_zero_cp_wire_base_time (GST_ELEMENT_CAST (self), &self->clock_check),
      self->is_video ? &self->info : NULL);
  metas = gst_zero_cp_sink_metas (self, buffer);
  frame.event = metas;

  if (chunk) {
    frame.offset = mem->offset;
    frame.size = mem->size;
  } else {
    flow = gst_zero_cp_sink_copy_into_chunk (self, buffer, &copy);
    if (flow != GST_FLOW_OK) {
      g_free (metas);
      return flow;
    }
    chunk = &copy;
    frame.offset = 0;
    frame.size = gst_buffer_get_size (buffer);
  }

  ret = zcp_publisher_publish (self->publisher, chunk, &frame, &self->flushing);
  if (ret == -EBUSY && chunk != &copy) {
    /* The same buffer again, its chunk still held by a subscriber. */
    GST_DEBUG_OBJECT (self, "buffer rendered again while subscribers hold "
        "it: publishing a copy");
    flow = gst_zero_cp_sink_copy_into_chunk (self, buffer, &copy);
    if (flow != GST_FLOW_OK) {
      g_free (metas);
      return flow;
    }
    frame.offset = 0;
    frame.size = gst_buffer_get_size (buffer);
    ret = zcp_publisher_publish (self->publisher, &copy, &frame,
        &self->flushing);
  }
  /* Subscribers hold the chunk on their own from here on. */
  zcp_chunk_release (&copy);
  g_free (metas);

  if (ret == -ECANCELED)
    return GST_FLOW_FLUSHING;
  if (ret < 0) {
    GST_ZERO_CP_ELEMENT_ERROR (self, ret, self->channel_in_use,
        "zcp_publisher_publish");
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

/* basesink renders, and hands us serialized events, with its PREROLL_LOCK
 * held.  Whatever may wait for subscribers runs without it, as basesink's
 * own clock wait does, so that no state change waits for a subscriber:
 * PAUSED to PLAYING takes the lock without unlock() (with publisher and
 * subscriber in one pipeline, the subscriber only comes in PLAYING), and a
 * pause lets the wait go on rather than end the stream. */
static GstFlowReturn
gst_zero_cp_sink_render (GstBaseSink * bsink, GstBuffer * buffer)
{
  GstFlowReturn flow;

  GST_BASE_SINK_PREROLL_UNLOCK (bsink);
  flow = gst_zero_cp_sink_publish_buffer (GST_ZERO_CP_SINK (bsink), buffer);
  GST_BASE_SINK_PREROLL_LOCK (bsink);
  return flow;
}

/* A tag list too long to be kept sticky is one with a picture in it
 * (cover art, a preview: samples and buffers serialize in full): the same
 * list without them, which still says the rest (title, codec, bitrate).
 * NULL if it has none to leave out. */
static GstEvent *
gst_zero_cp_tags_without_pictures (GstEvent * event)
{
  GstTagList *tags, *lean;
  gboolean left_out = FALSE;

  gst_event_parse_tag (event, &tags);
  lean = gst_tag_list_copy (tags);
  for (gint i = gst_tag_list_n_tags (tags) - 1; i >= 0; i--) {
    const gchar *name = gst_tag_list_nth_tag_name (tags, i);
    GType type = gst_tag_get_type (name);

    if (type == GST_TYPE_SAMPLE || type == GST_TYPE_BUFFER) {
      gst_tag_list_remove_tag (lean, name);
      left_out = TRUE;
    }
  }
  if (!left_out) {
    gst_tag_list_unref (lean);
    return NULL;
  }
  return gst_event_new_tag (lean);
}

/* The sticky kind @event is kept under for subscribers that join: one of
 * those a pad keeps one of each name of (custom sticky events, TOCs,
 * protection events; tags have their kinds) takes the kind of its type and
 * structure name, the first free one for a new name. */
static guint32
gst_zero_cp_sink_sticky_kind (GstZeroCpSink * self, GstEvent * event)
{
  const GstStructure *structure = gst_event_get_structure (event);
  guint32 kind = gst_zero_cp_event_sticky_kind (event);
  gchar *name;

  if (kind != ZCP_STICKY_NONE || !structure ||
      !(gst_event_type_get_flags (GST_EVENT_TYPE (event)) &
          GST_EVENT_TYPE_STICKY_MULTI))
    return kind;

  name = g_strdup_printf ("%s/%s", GST_EVENT_TYPE_NAME (event),
      gst_structure_get_name (structure));
  for (guint i = 0; i < GST_ZERO_CP_STICKY_NAMED_KINDS; i++) {
    if (!self->named_sticky_names[i])
      self->named_sticky_names[i] = g_strdup (name);
    if (g_str_equal (self->named_sticky_names[i], name)) {
      kind = GST_ZERO_CP_STICKY_NAMED + i;
      break;
    }
  }
  if (kind == ZCP_STICKY_NONE)
    GST_ELEMENT_WARNING (self, STREAM, ENCODE, ("A sticky event (%s) will not "
            "reach subscribers that join later.", name), ("a channel keeps "
            "%u kinds of custom sticky, TOC and protection event, and all are "
            "taken", GST_ZERO_CP_STICKY_NAMED_KINDS));
  g_free (name);
  return kind;
}

/* Sends @event to the subscribers, in order with the frames.  A GAP also
 * carries its timestamp as a clock time, as buffers do. */
static void
gst_zero_cp_sink_send_event (GstZeroCpSink * self, GstEvent * event)
{
  guint32 sticky = gst_zero_cp_sink_sticky_kind (self, event);
  gchar *string;
  gsize length;
  int ret;

  if (GST_EVENT_TYPE (event) == GST_EVENT_GAP) {
    GstEvent *gap = gst_event_make_writable (gst_event_ref (event));
    GstClockTime timestamp;

    gst_event_parse_gap (gap, &timestamp, NULL);
    gst_structure_set (gst_event_writable_structure (gap),
        GST_ZERO_CP_GAP_CLOCK_TIME_FIELD, G_TYPE_UINT64,
        gst_zero_cp_time_to_clock (&GST_BASE_SINK (self)->segment,
            gst_zero_cp_wire_base_time (GST_ELEMENT_CAST (self),
                &self->clock_check), timestamp), NULL);
    string = gst_zero_cp_event_to_string (gap);
    gst_event_unref (gap);
  } else {
    string = gst_zero_cp_event_to_string (event);
  }
  if (!string)
    return;
  if (strlen (string) > ZCP_STICKY_MAX && GST_EVENT_TYPE (event) ==
      GST_EVENT_TAG) {
    GstEvent *lean = gst_zero_cp_tags_without_pictures (event);

    if (lean) {
      GST_INFO_OBJECT (self, "tags of %" G_GSIZE_FORMAT " bytes sent without "
          "their pictures", strlen (string));
      g_free (string);
      string = gst_zero_cp_event_to_string (lean);
      gst_event_unref (lean);
      if (!string)
        return;
    }
  }

  length = strlen (string);

  /* The records of a sticky kind keep its latest event for subscribers that
   * join: a longer one reaches those here now, and no older one of its kind
   * may stand in for it. */
  if (sticky != ZCP_STICKY_NONE && length > ZCP_STICKY_MAX) {
    if (!(self->long_sticky_warned & (1u << sticky))) {
      self->long_sticky_warned |= 1u << sticky;
      GST_ELEMENT_WARNING (self, STREAM, ENCODE, ("A %s event too long to be "
              "kept for subscribers that join later: only those subscribed "
              "now get it.", GST_EVENT_TYPE_NAME (event)), ("%" G_GSIZE_FORMAT
              " bytes, at most %u kept", length, ZCP_STICKY_MAX));
    }
    zcp_publisher_forget_sticky (self->publisher, sticky);
    sticky = ZCP_STICKY_NONE;
  }

  /* A subscriber that joins gets the sticky kinds from their records; any
   * other event is lost to it, and wait-for-connection holds the stream. */
  if (sticky == ZCP_STICKY_NONE &&
      gst_zero_cp_sink_wait_for_subscriber (self) != GST_FLOW_OK) {
    g_free (string);
    return;
  }

  /* A new stream has no stream tags yet: a subscriber joining now must not
   * get the last stream's. */
  if (GST_EVENT_TYPE (event) == GST_EVENT_STREAM_START)
    zcp_publisher_forget_sticky (self->publisher,
        GST_ZERO_CP_STICKY_STREAM_TAGS);

  ret = zcp_publisher_send_event (self->publisher, string, sticky,
      &self->flushing);
  if (ret == -E2BIG)
    GST_ELEMENT_WARNING (self, STREAM, ENCODE, ("An event too large for a "
            "zerocp channel was not sent."), ("%" G_GSIZE_FORMAT " bytes, "
            "at most %u: %.200s", length, ZCP_EVENT_LONG_MAX, string));
  else if (ret < 0 && ret != -ECANCELED)
    GST_WARNING_OBJECT (self, "event not sent: %s", g_strerror (-ret));
  else
    GST_DEBUG_OBJECT (self, "sent %s", string);
  g_free (string);
}

/* EOS means "everything was delivered": waits until each live subscriber
 * has taken it all, for as long as they live, or until the pad flushes. */
static void
gst_zero_cp_sink_send_eos (GstZeroCpSink * self)
{
  int ret = zcp_publisher_send_eos (self->publisher, &self->flushing);

  if (ret == 0)
    ret = zcp_publisher_drain (self->publisher, -1, &self->flushing);
  if (ret < 0 && ret != -ECANCELED)
    GST_WARNING_OBJECT (self, "end-of-stream not delivered: %s",
        g_strerror (-ret));
}

static gboolean
gst_zero_cp_sink_event (GstBaseSink * bsink, GstEvent * event)
{
  GstZeroCpSink *self = GST_ZERO_CP_SINK (bsink);
  GstEventType type = GST_EVENT_TYPE (event);

  if (type == GST_EVENT_FLUSH_STOP)
    atomic_store (&self->flushing, false);

  if (gst_zero_cp_event_is_carried (type) || type == GST_EVENT_EOS) {
    /* basesink holds its PREROLL_LOCK for these, serialized all of them:
     * see gst_zero_cp_sink_render. */
    g_assert (GST_EVENT_IS_SERIALIZED (event));
    GST_BASE_SINK_PREROLL_UNLOCK (bsink);
    if (type != GST_EVENT_EOS)
      gst_zero_cp_sink_send_event (self, event);
    else
      gst_zero_cp_sink_send_eos (self);
    GST_BASE_SINK_PREROLL_LOCK (bsink);
  }

  return GST_BASE_SINK_CLASS (parent_class)->event (bsink, event);
}

/* basesink calls it before a flush, before going to READY, and before a
 * pause.  Only the first two end a wait for subscribers: the pad is
 * flushing by then.  No unlock_stop(): basesink calls it as soon as it has
 * the PREROLL_LOCK, which our waits do not hold, so the wait could miss it;
 * the flag holds until FLUSH_STOP or the next READY to PAUSED. */
static gboolean
gst_zero_cp_sink_unlock (GstBaseSink * bsink)
{
  GstZeroCpSink *self = GST_ZERO_CP_SINK (bsink);
  GstPad *pad = GST_BASE_SINK_PAD (bsink);
  gboolean pad_flushing;

  GST_OBJECT_LOCK (pad);
  pad_flushing = GST_PAD_IS_FLUSHING (pad);
  GST_OBJECT_UNLOCK (pad);
  if (!pad_flushing)
    return TRUE;

  atomic_store (&self->flushing, true);
  GST_OBJECT_LOCK (self);
  if (self->publisher)
    zcp_publisher_wake (self->publisher);
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static GstStateChangeReturn
gst_zero_cp_sink_change_state (GstElement * element, GstStateChange transition)
{
  GstZeroCpSink *self = GST_ZERO_CP_SINK (element);

  /* Before the pad is active again: nothing streams yet. */
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED)
    atomic_store (&self->flushing, false);
  return GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
}

static void
gst_zero_cp_sink_finalize (GObject * object)
{
  GstZeroCpSink *self = GST_ZERO_CP_SINK (object);

  g_free (self->channel);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_zero_cp_sink_class_init (GstZeroCpSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *basesink_class = GST_BASE_SINK_CLASS (klass);

  gobject_class->set_property = gst_zero_cp_sink_set_property;
  gobject_class->get_property = gst_zero_cp_sink_get_property;
  gobject_class->finalize = gst_zero_cp_sink_finalize;

  /**
   * GstZeroCpSink:channel:
   *
   * Name of the channel to publish on; zerocpsrc elements subscribe to it by
   * the same name.
   */
  properties[PROP_CHANNEL] = g_param_spec_string ("channel", "Channel",
      "Name of the channel to publish on: 1 to 200 characters of A-Z a-z 0-9 "
      "_ - . (default: none, must be set)", DEFAULT_CHANNEL,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);

  /**
   * GstZeroCpSink:perms:
   *
   * Permissions of the channel's shared-memory segments.  The default lets
   * only the publisher's user subscribe; 0660 lets its group in too.
   */
  properties[PROP_PERMS] = g_param_spec_uint ("perms", "Permissions",
      "Permissions of the channel's shared-memory segments, as an octal mode "
      "(default: 0600, the publisher's user only)", 0, 0777, DEFAULT_PERMS,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);

  /**
   * GstZeroCpSink:wait-for-connection:
   *
   * Block the stream while no subscriber is attached, so that frames and
   * events are not published to nobody: at the start, and again whenever
   * the last subscriber leaves, as shmsink's property of the same name does
   * for frames.  A subscriber that joins gets the sticky events sent before
   * it (stream-start, segment, tags and the like) all the same.
   */
  properties[PROP_WAIT_FOR_CONNECTION] = g_param_spec_boolean
      ("wait-for-connection", "Wait for connection",
      "Hold the stream while no subscriber is attached, at the start and "
      "whenever the last one leaves (default: false: publish at the "
      "stream's own pace, to whoever is there)", DEFAULT_WAIT_FOR_CONNECTION,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);

  /**
   * GstZeroCpSink:max-pool-bytes:
   *
   * The most shared memory the channel's pool may take.  The pool starts
   * small and grows when every chunk is held; at this limit upstream waits
   * for a chunk to come free instead, and the sink posts a warning.  0
   * means half of the size of /dev/shm.  A limit below two frames still
   * gives two chunks: with one, a subscriber's sink keeping its last frame
   * would hold the stream.
   */
  properties[PROP_MAX_POOL_BYTES] = g_param_spec_uint64 ("max-pool-bytes",
      "Maximum pool bytes", "Most bytes of shared memory the pool may grow "
      "to; at the limit upstream waits for a free chunk (0 = half of the "
      "size of /dev/shm)", 0, G_MAXUINT64, DEFAULT_MAX_POOL_BYTES,
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);

  /**
   * GstZeroCpSink:num-subscribers:
   *
   * Number of subscribers attached to the channel now.
   */
  properties[PROP_NUM_SUBSCRIBERS] = g_param_spec_uint ("num-subscribers",
      "Number of subscribers", "Number of subscribers attached to the "
      "channel now", 0, G_MAXUINT, 0,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * GstZeroCpSink:stats:
   *
   * Counters of the channel: frames-published, frames-copied (buffers that
   * did not come from the proposed pool), subscribers, chunk-size,
   * chunks-total, chunks-in-use and chunks-free (of the pools claims draw
   * from), pools (with retired ones still held), pool-bytes (the active
   * pools' size, which max-pool-bytes bounds), shm-bytes (what all pools
   * take in /dev/shm: the chunks used so far), max-pool-bytes,
   * pool-limit-waits, and subscriber-stats: an array with, per subscriber,
   * slot, pid, delivered, dropped, queued, max-buffers and leaky.
   */
  properties[PROP_STATS] = g_param_spec_boxed ("stats", "Statistics",
      "Counters of the channel: frames published and copied, chunks and "
      "pool bytes, and per subscriber frames delivered, dropped and queued",
      GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (gobject_class, N_PROPERTIES, properties);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class,
      "Zero-copy shared memory sink", "Sink",
      "Publishes a stream to other processes through shared memory, "
      "without copying frames", "zerocp developers");

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_zero_cp_sink_change_state);
  element_class->send_event =
      GST_DEBUG_FUNCPTR (gst_zero_cp_sink_send_element_event);
  basesink_class->start = GST_DEBUG_FUNCPTR (gst_zero_cp_sink_start);
  basesink_class->stop = GST_DEBUG_FUNCPTR (gst_zero_cp_sink_stop);
  basesink_class->get_caps = GST_DEBUG_FUNCPTR (gst_zero_cp_sink_get_caps);
  basesink_class->query = GST_DEBUG_FUNCPTR (gst_zero_cp_sink_query);
  basesink_class->set_caps = GST_DEBUG_FUNCPTR (gst_zero_cp_sink_set_caps);
  basesink_class->propose_allocation =
      GST_DEBUG_FUNCPTR (gst_zero_cp_sink_propose_allocation);
  basesink_class->render = GST_DEBUG_FUNCPTR (gst_zero_cp_sink_render);
  basesink_class->event = GST_DEBUG_FUNCPTR (gst_zero_cp_sink_event);
  basesink_class->unlock = GST_DEBUG_FUNCPTR (gst_zero_cp_sink_unlock);

  GST_DEBUG_CATEGORY_INIT (gst_zero_cp_sink_debug, "zerocpsink", 0,
      "zerocp publisher");
  GST_DEBUG_CATEGORY_GET (CAT_PERFORMANCE, "GST_PERFORMANCE");
}

static void
gst_zero_cp_sink_init (GstZeroCpSink * self)
{
  self->channel = g_strdup (DEFAULT_CHANNEL);
  self->perms = DEFAULT_PERMS;
  self->wait_for_connection = DEFAULT_WAIT_FOR_CONNECTION;
  self->max_pool_bytes = DEFAULT_MAX_POOL_BYTES;
}
