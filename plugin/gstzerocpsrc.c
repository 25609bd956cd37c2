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
 * Caps come from the channel and need not be written after the element.
 * Timestamps are turned into this pipeline's running time, on the shared
 * monotonic clock.  The source may start before the publisher: it waits for
 * the channel to appear, and sleeps (uses no CPU) while no frame comes.
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
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "gstzerocpallocator.h"
#include "gstzerocpdescriptor.h"
#include "gstzerocpelements.h"
#include "gstzerocpsrc.h"
#include "zcp.h"

GST_DEBUG_CATEGORY_STATIC (gst_zero_cp_src_debug);
#define GST_CAT_DEFAULT gst_zero_cp_src_debug

#define DEFAULT_CHANNEL NULL
#define DEFAULT_IS_LIVE TRUE

/* One wait's length; a wait that ends empty-handed simply starts again. */
#define WAIT_SLICE_NS (GST_SECOND)
/* A channel that exists but is not usable yet (a publisher mid-start, or a
 * dead publisher's segment waiting to be replaced) is looked at this often. */
#define RETRY_MS 50

enum
{
  PROP_0,
  PROP_CHANNEL,
  PROP_IS_LIVE,
  PROP_STATS,
  N_PROPERTIES
};

static GParamSpec *properties[N_PROPERTIES];

struct _GstZeroCpSrc
{
  GstPushSrc parent;

  gchar *channel;               /* protected by OBJECT_LOCK */
  struct zcp_subscriber *subscriber;    /* protected by OBJECT_LOCK */

  /* set in start, used by the streaming thread */
  gchar *channel_in_use;
  GstAllocator *allocator;
  gboolean have_caps;
  guint32 caps_generation;
  guint64 first_pts;            /* origin of a non-live timeline */

  atomic_bool unlocking;
  int wake_fd;                  /* readable while unlocking */
};

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS_ANY);

#define gst_zero_cp_src_parent_class parent_class
G_DEFINE_TYPE (GstZeroCpSrc, gst_zero_cp_src, GST_TYPE_PUSH_SRC);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (zerocpsrc, "zerocpsrc",
    GST_RANK_NONE, GST_TYPE_ZERO_CP_SRC, zero_cp_element_init (plugin));

static GstStructure *
gst_zero_cp_src_make_stats (GstZeroCpSrc * self)
{
  struct zcp_subscriber_stats stats = { 0 };
  gboolean connected;

  GST_OBJECT_LOCK (self);
  connected = self->subscriber != NULL;
  if (connected)
    zcp_subscriber_get_stats (self->subscriber, &stats);
  GST_OBJECT_UNLOCK (self);

  return gst_structure_new ("application/x-zerocp-src-stats",
      "connected", G_TYPE_BOOLEAN, connected,
      "delivered", G_TYPE_UINT64, stats.delivered,
      "dropped", G_TYPE_UINT64, stats.dropped,
      "slot", G_TYPE_UINT, stats.slot, NULL);
}

static void
gst_zero_cp_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstZeroCpSrc *self = GST_ZERO_CP_SRC (object);

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
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ, (NULL),
        ("eventfd: %s", g_strerror (errno)));
    g_free (channel);
    return FALSE;
  }

  self->allocator = gst_zero_cp_allocator_new ();
  self->have_caps = FALSE;
  self->first_pts = ZCP_TIME_NONE;
  atomic_store (&self->unlocking, false);

  GST_OBJECT_LOCK (self);
  self->channel_in_use = channel;
  GST_OBJECT_UNLOCK (self);
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

  /* Buffers still downstream keep their chunks until they are freed. */
  zcp_subscriber_close (subscriber);
  g_free (channel);
  gst_clear_object (&self->allocator);
  if (self->wake_fd >= 0)
    close (self->wake_fd);
  self->wake_fd = -1;
  return TRUE;
}

/* Sleeps @ms unless unlock() comes first; FALSE if it did. */
static gboolean
gst_zero_cp_src_sleep (GstZeroCpSrc * self, int ms)
{
  struct pollfd fd = {.fd = self->wake_fd,.events = POLLIN };

  return poll (&fd, 1, ms) <= 0 || !(fd.revents & POLLIN);
}

static GstFlowReturn
gst_zero_cp_src_attach (GstZeroCpSrc * self)
{
  struct zcp_subscriber *subscriber;
  gboolean told = FALSE;
  int ret;

  for (;;) {
    if (atomic_load (&self->unlocking))
      return GST_FLOW_FLUSHING;

    ret = zcp_subscriber_open (self->channel_in_use, &subscriber);
    if (ret == 0)
      break;

    if (!told && (ret == -ENOENT || ret == -ENOTCONN)) {
      GST_INFO_OBJECT (self, "waiting for a publisher on channel %s",
          self->channel_in_use);
      told = TRUE;
    }

    switch (-ret) {
      case ENOENT:
        ret = zcp_channel_wait_exists (self->channel_in_use, WAIT_SLICE_NS,
            self->wake_fd);
        if (ret == -ECANCELED)
          return GST_FLOW_FLUSHING;
        break;
      case EAGAIN:
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

  GST_OBJECT_LOCK (self);
  self->subscriber = subscriber;
  GST_OBJECT_UNLOCK (self);
  GST_INFO_OBJECT (self, "subscribed to channel %s", self->channel_in_use);
  return GST_FLOW_OK;
}

static gboolean
gst_zero_cp_src_update_caps (GstZeroCpSrc * self, guint32 generation)
{
  gchar *caps_string = NULL;
  GstCaps *caps;
  int ret;

  ret = zcp_subscriber_get_caps (self->subscriber, generation, &caps_string);
  if (ret < 0) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Channel '%s' lost the caps of "
            "a frame.", self->channel_in_use), ("caps generation %u: %s",
            generation, g_strerror (-ret)));
    return FALSE;
  }

  caps = gst_caps_from_string (caps_string);
  if (!caps || !gst_caps_is_fixed (caps)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Channel '%s' carries invalid "
            "caps.", self->channel_in_use), ("caps '%s'", caps_string));
    gst_clear_caps (&caps);
    free (caps_string);
    return FALSE;
  }
  free (caps_string);

  GST_DEBUG_OBJECT (self, "caps %" GST_PTR_FORMAT, caps);
  if (!gst_base_src_set_caps (GST_BASE_SRC (self), caps)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("downstream refused the channel's caps %" GST_PTR_FORMAT, caps));
    gst_caps_unref (caps);
    return FALSE;
  }
  gst_caps_unref (caps);

  self->have_caps = TRUE;
  self->caps_generation = generation;
  return TRUE;
}

static GstClockTime
gst_zero_cp_src_time_origin (GstZeroCpSrc * self, const struct zcp_frame *frame)
{
  if (gst_base_src_is_live (GST_BASE_SRC (self)))
    return gst_element_get_base_time (GST_ELEMENT_CAST (self));

  /* Without a live clock to share, the stream starts at 0. */
  if (self->first_pts == ZCP_TIME_NONE)
    self->first_pts = frame->pts;
  return self->first_pts == ZCP_TIME_NONE ? 0 : self->first_pts;
}

static GstFlowReturn
gst_zero_cp_src_create (GstPushSrc * psrc, GstBuffer ** outbuf)
{
  GstZeroCpSrc *self = GST_ZERO_CP_SRC (psrc);
  struct zcp_frame frame;
  struct zcp_chunk chunk;
  gchar *problem = NULL;
  GstBuffer *buffer;
  GstMemory *mem;
  int ret;

  if (!self->subscriber) {
    GstFlowReturn flow = gst_zero_cp_src_attach (self);
    if (flow != GST_FLOW_OK)
      return flow;
  }

  while ((ret = zcp_subscriber_next (self->subscriber, &frame, &chunk,
              WAIT_SLICE_NS, &self->unlocking)) == -ETIMEDOUT)
    GST_LOG_OBJECT (self, "no frame yet");

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

  if (frame.kind == ZCP_FRAME_KIND_EOS) {
    GST_INFO_OBJECT (self, "end of stream from the publisher");
    return GST_FLOW_EOS;
  }

  if (!self->have_caps || frame.caps_generation != self->caps_generation) {
    if (!gst_zero_cp_src_update_caps (self, frame.caps_generation)) {
      zcp_chunk_release (&chunk);
      return GST_FLOW_NOT_NEGOTIATED;
    }
  }

  buffer = gst_buffer_new ();
  mem = gst_zero_cp_allocator_wrap (self->allocator, &chunk, frame.offset,
      frame.size, TRUE);
  gst_buffer_append_memory (buffer, mem);
  /* The memory is where the buffer was born, not a later change. */
  GST_BUFFER_FLAG_UNSET (buffer, GST_BUFFER_FLAG_TAG_MEMORY);

  if (!gst_zero_cp_buffer_apply_frame (buffer, &frame,
          gst_zero_cp_src_time_origin (self, &frame), &problem)) {
    GST_ELEMENT_ERROR (self, RESOURCE, READ, ("Channel '%s' is corrupt or of "
            "another version of zerocp.", self->channel_in_use),
        ("frame %" G_GUINT64_FORMAT ": %s", frame.sequence, problem));
    g_free (problem);
    gst_buffer_unref (buffer);
    return GST_FLOW_ERROR;
  }

  GST_LOG_OBJECT (self, "frame %" G_GUINT64_FORMAT ": %" GST_PTR_FORMAT,
      frame.sequence, buffer);
  *outbuf = buffer;
  return GST_FLOW_OK;
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
   * comes, with a timeline that starts at 0.
   */
  properties[PROP_IS_LIVE] = g_param_spec_boolean ("is-live", "Is live",
      "Act as a live source on the clock shared with the publisher (default: "
      "true); false gives a non-live stream whose timeline starts at 0",
      DEFAULT_IS_LIVE, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY);

  /**
   * GstZeroCpSrc:stats:
   *
   * Counters of this subscriber: connected, delivered, dropped and its slot
   * in the channel.
   */
  properties[PROP_STATS] = g_param_spec_boxed ("stats", "Statistics",
      "Counters of this subscriber: connected, frames delivered and dropped, "
      "slot", GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (gobject_class, N_PROPERTIES, properties);

  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Zero-copy shared memory source", "Source",
      "Receives a stream published by zerocpsink in another process, "
      "without copying frames", "zerocp developers");

  basesrc_class->start = GST_DEBUG_FUNCPTR (gst_zero_cp_src_start);
  basesrc_class->stop = GST_DEBUG_FUNCPTR (gst_zero_cp_src_stop);
  basesrc_class->negotiate = GST_DEBUG_FUNCPTR (gst_zero_cp_src_negotiate);
  basesrc_class->unlock = GST_DEBUG_FUNCPTR (gst_zero_cp_src_unlock);
  basesrc_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_zero_cp_src_unlock_stop);
  pushsrc_class->create = GST_DEBUG_FUNCPTR (gst_zero_cp_src_create);

  GST_DEBUG_CATEGORY_INIT (gst_zero_cp_src_debug, "zerocpsrc", 0,
      "zerocp subscriber");
}

static void
gst_zero_cp_src_init (GstZeroCpSrc * self)
{
  self->channel = g_strdup (DEFAULT_CHANNEL);
  self->wake_fd = -1;
  gst_base_src_set_live (GST_BASE_SRC (self), DEFAULT_IS_LIVE);
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
}
