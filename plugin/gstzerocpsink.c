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
 * Caps, timestamps, buffer flags, the video layout and end-of-stream travel
 * with the frames; subscribers never repeat the caps.  Delivery is lossless:
 * when a subscriber's queue is full, the sink waits for it (while checking
 * that it is alive) and never blocks anything else while it waits.
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

#include <gst/video/video.h>

#include "gstzerocpallocator.h"
#include "gstzerocpbufferpool.h"
#include "gstzerocpdescriptor.h"
#include "gstzerocpelements.h"
#include "gstzerocpsink.h"
#include "zcp.h"

GST_DEBUG_CATEGORY_STATIC (gst_zero_cp_sink_debug);
#define GST_CAT_DEFAULT gst_zero_cp_sink_debug
GST_DEBUG_CATEGORY_STATIC (CAT_PERFORMANCE);

#define DEFAULT_CHANNEL NULL
#define DEFAULT_PERMS 0600
#define DEFAULT_WAIT_FOR_CONNECTION FALSE

#define POOL_MIN_BUFFERS 2u

/* How long one wait for a free chunk lasts before it says so in the log. */
#define CLAIM_WAIT_NS (GST_SECOND)

enum
{
  PROP_0,
  PROP_CHANNEL,
  PROP_PERMS,
  PROP_WAIT_FOR_CONNECTION,
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
  struct zcp_publisher *publisher;      /* protected by OBJECT_LOCK */
  GstBufferPool *pool;          /* protected by OBJECT_LOCK */

  /* set in start, used by the streaming thread */
  GstAllocator *allocator;
  gchar *channel_in_use;
  gboolean is_video;
  GstVideoInfo info;

  atomic_bool unlocking;
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS_ANY);

#define gst_zero_cp_sink_parent_class parent_class
G_DEFINE_TYPE (GstZeroCpSink, gst_zero_cp_sink, GST_TYPE_BASE_SINK);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (zerocpsink, "zerocpsink",
    GST_RANK_NONE, GST_TYPE_ZERO_CP_SINK, zero_cp_element_init (plugin));

static GstStructure *
gst_zero_cp_sink_make_stats (GstZeroCpSink * self)
{
  struct zcp_publisher_stats stats = { 0 };

  GST_OBJECT_LOCK (self);
  if (self->publisher)
    zcp_publisher_get_stats (self->publisher, &stats);
  GST_OBJECT_UNLOCK (self);

  return gst_structure_new ("application/x-zerocp-sink-stats",
      "frames-published", G_TYPE_UINT64, stats.frames_published,
      "frames-copied", G_TYPE_UINT64, stats.frames_copied,
      "subscribers", G_TYPE_UINT, stats.subscribers,
      "chunks-total", G_TYPE_UINT, stats.chunks_total,
      "chunks-in-use", G_TYPE_UINT, stats.chunks_in_use,
      "pools", G_TYPE_UINT, stats.pools, NULL);
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

static gboolean
gst_zero_cp_sink_start (GstBaseSink * bsink)
{
  GstZeroCpSink *self = GST_ZERO_CP_SINK (bsink);
  struct zcp_publisher *publisher;
  gchar *channel;
  guint perms;
  int ret;

  GST_OBJECT_LOCK (self);
  channel = g_strdup (self->channel);
  perms = self->perms;
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

  /* A new allocator per run: memory of an earlier run's pool belongs to a
   * channel that is gone and must take the copy path. */
  self->allocator = gst_zero_cp_allocator_new ();
  self->channel_in_use = channel;
  self->is_video = FALSE;
  atomic_store (&self->unlocking, false);

  GST_OBJECT_LOCK (self);
  self->publisher = publisher;
  GST_OBJECT_UNLOCK (self);

  GST_INFO_OBJECT (self, "publishing on channel %s", channel);
  return TRUE;
}

static gboolean
gst_zero_cp_sink_stop (GstBaseSink * bsink)
{
  GstZeroCpSink *self = GST_ZERO_CP_SINK (bsink);
  struct zcp_publisher *publisher;
  GstBufferPool *pool;

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
  return TRUE;
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

  self->is_video = gst_video_info_from_caps (&self->info, caps) &&
      GST_VIDEO_INFO_FORMAT (&self->info) != GST_VIDEO_FORMAT_ENCODED;
  return TRUE;
}

static GstBufferPool *
gst_zero_cp_sink_make_pool (GstZeroCpSink * self, GstCaps * caps, guint size)
{
  struct zcp_publisher *publisher;
  GstBufferPool *pool;
  GstStructure *config;
  guint chunks = gst_zero_cp_buffer_pool_default_chunks (size);

  GST_OBJECT_LOCK (self);
  publisher = self->publisher ? zcp_publisher_ref (self->publisher) : NULL;
  GST_OBJECT_UNLOCK (self);
  if (!publisher)
    return NULL;

  pool = gst_zero_cp_buffer_pool_new (publisher, self->allocator);
  zcp_publisher_unref (publisher);

  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, caps, size, POOL_MIN_BUFFERS,
      chunks);
  gst_buffer_pool_config_add_option (config, GST_BUFFER_POOL_OPTION_VIDEO_META);
  if (!gst_buffer_pool_set_config (pool, config)) {
    config = gst_buffer_pool_get_config (pool);
    if (!gst_buffer_pool_config_validate_params (config, caps, size,
            POOL_MIN_BUFFERS, chunks) ||
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
  GstBufferPool *pool = NULL;
  gboolean need_pool;
  GstVideoInfo info;
  GstCaps *caps;
  guint size;

  gst_query_parse_allocation (query, &caps, &need_pool);
  if (!caps) {
    GST_DEBUG_OBJECT (self, "allocation query without caps");
    return FALSE;
  }

  /* Without a frame size we cannot size chunks; such streams take the copy
   * path, which sizes chunks from the buffers themselves. */
  if (!gst_video_info_from_caps (&info, caps) ||
      GST_VIDEO_INFO_FORMAT (&info) == GST_VIDEO_FORMAT_ENCODED) {
    GST_DEBUG_OBJECT (self, "no frame size in %" GST_PTR_FORMAT, caps);
    return TRUE;
  }
  size = info.size;

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
      pool = gst_zero_cp_sink_make_pool (self, caps, size);
      if (!pool)
        return FALSE;
      GST_OBJECT_LOCK (self);
      gst_object_replace ((GstObject **) & self->pool, GST_OBJECT (pool));
      GST_OBJECT_UNLOCK (self);
    }

    gst_query_add_allocation_pool (query, pool, size, POOL_MIN_BUFFERS,
        gst_zero_cp_buffer_pool_default_chunks (size));
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
  int ret;

  if (zcp_publisher_chunk_size (self->publisher) < MAX (size, 1)) {
    ret = zcp_publisher_configure_pool (self->publisher, MAX (size, 1),
        gst_zero_cp_buffer_pool_default_chunks (size));
    if (ret < 0) {
      GST_ZERO_CP_ELEMENT_ERROR (self, ret, self->channel_in_use,
          "zcp_publisher_configure_pool");
      return GST_FLOW_ERROR;
    }
  }

  while ((ret = zcp_publisher_claim (self->publisher, chunk, CLAIM_WAIT_NS,
              &self->unlocking)) == -ETIMEDOUT)
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

  if (!wait || zcp_publisher_count_subscribers (self->publisher) > 0)
    return GST_FLOW_OK;

  GST_INFO_OBJECT (self, "waiting for a subscriber on channel %s",
      self->channel_in_use);
  while ((ret = zcp_publisher_wait_subscriber (self->publisher,
              CLAIM_WAIT_NS, &self->unlocking)) == -ETIMEDOUT)
    GST_LOG_OBJECT (self, "still no subscriber");
  return ret == 0 ? GST_FLOW_OK : GST_FLOW_FLUSHING;
}

static GstFlowReturn
gst_zero_cp_sink_render (GstBaseSink * bsink, GstBuffer * buffer)
{
  GstZeroCpSink *self = GST_ZERO_CP_SINK (bsink);
  struct zcp_frame frame = { 0 };
  struct zcp_chunk copy = { 0 };
  const struct zcp_chunk *chunk = NULL;
  GstMemory *mem = NULL;
  GstFlowReturn flow;
  int ret;

  flow = gst_zero_cp_sink_wait_for_subscriber (self);
  if (flow != GST_FLOW_OK)
    return flow;

  if (gst_buffer_n_memory (buffer) == 1)
    mem = gst_buffer_peek_memory (buffer, 0);
  if (mem && mem->allocator == self->allocator)
    chunk = gst_zero_cp_memory_get_chunk (mem);

  gst_zero_cp_frame_from_buffer (&frame, buffer, &bsink->segment,
      gst_element_get_base_time (GST_ELEMENT_CAST (self)),
      self->is_video ? &self->info : NULL);

  if (chunk) {
    frame.offset = mem->offset;
    frame.size = mem->size;
  } else {
    flow = gst_zero_cp_sink_copy_into_chunk (self, buffer, &copy);
    if (flow != GST_FLOW_OK)
      return flow;
    chunk = &copy;
    frame.offset = 0;
    frame.size = gst_buffer_get_size (buffer);
  }

  ret = zcp_publisher_publish (self->publisher, chunk, &frame,
      &self->unlocking);
  /* Subscribers hold the chunk on their own from here on. */
  zcp_chunk_release (&copy);

  if (ret == -ECANCELED)
    return GST_FLOW_FLUSHING;
  if (ret < 0) {
    GST_ZERO_CP_ELEMENT_ERROR (self, ret, self->channel_in_use,
        "zcp_publisher_publish");
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

static gboolean
gst_zero_cp_sink_event (GstBaseSink * bsink, GstEvent * event)
{
  GstZeroCpSink *self = GST_ZERO_CP_SINK (bsink);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    int ret = zcp_publisher_send_eos (self->publisher, &self->unlocking);

    /* EOS means "everything was delivered": wait until each live subscriber
     * has taken it all, for as long as they live, or until unlock(). */
    if (ret == 0)
      ret = zcp_publisher_drain (self->publisher, -1, &self->unlocking);
    if (ret < 0 && ret != -ECANCELED)
      GST_WARNING_OBJECT (self, "end-of-stream not delivered: %s",
          g_strerror (-ret));
  }

  return GST_BASE_SINK_CLASS (parent_class)->event (bsink, event);
}

static gboolean
gst_zero_cp_sink_unlock (GstBaseSink * bsink)
{
  GstZeroCpSink *self = GST_ZERO_CP_SINK (bsink);

  atomic_store (&self->unlocking, true);
  GST_OBJECT_LOCK (self);
  if (self->publisher)
    zcp_publisher_wake (self->publisher);
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_zero_cp_sink_unlock_stop (GstBaseSink * bsink)
{
  GstZeroCpSink *self = GST_ZERO_CP_SINK (bsink);

  atomic_store (&self->unlocking, false);
  return TRUE;
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
   * Block the stream until a subscriber is attached, so that the first
   * frames are not published to nobody.
   */
  properties[PROP_WAIT_FOR_CONNECTION] = g_param_spec_boolean
      ("wait-for-connection", "Wait for connection",
      "Hold the first frame until at least one subscriber is attached "
      "(default: false: publish at the stream's own pace, to whoever is "
      "there)", DEFAULT_WAIT_FOR_CONNECTION,
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
   * did not come from the proposed pool), subscribers, chunks-total and
   * chunks-in-use (of the current pool) and pools.
   */
  properties[PROP_STATS] = g_param_spec_boxed ("stats", "Statistics",
      "Counters of the channel: frames published and copied, subscribers, "
      "chunks in use", GST_TYPE_STRUCTURE,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (gobject_class, N_PROPERTIES, properties);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class,
      "Zero-copy shared memory sink", "Sink",
      "Publishes a stream to other processes through shared memory, "
      "without copying frames", "zerocp developers");

  basesink_class->start = GST_DEBUG_FUNCPTR (gst_zero_cp_sink_start);
  basesink_class->stop = GST_DEBUG_FUNCPTR (gst_zero_cp_sink_stop);
  basesink_class->set_caps = GST_DEBUG_FUNCPTR (gst_zero_cp_sink_set_caps);
  basesink_class->propose_allocation =
      GST_DEBUG_FUNCPTR (gst_zero_cp_sink_propose_allocation);
  basesink_class->render = GST_DEBUG_FUNCPTR (gst_zero_cp_sink_render);
  basesink_class->event = GST_DEBUG_FUNCPTR (gst_zero_cp_sink_event);
  basesink_class->unlock = GST_DEBUG_FUNCPTR (gst_zero_cp_sink_unlock);
  basesink_class->unlock_stop =
      GST_DEBUG_FUNCPTR (gst_zero_cp_sink_unlock_stop);

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
}
