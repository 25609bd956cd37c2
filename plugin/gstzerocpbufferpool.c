/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:gstzerocpbufferpool
 * @title: GstZeroCpBufferPool
 * @short_description: the pool zerocpsink proposes upstream
 *
 * Upstream writes each frame straight into a chunk of shared memory.
 * Acquiring a buffer claims a free chunk; releasing it gives up only the
 * publisher's hold, because subscribers may still read the chunk: the chunk
 * is free again when its holder mask is zero.  That is why acquire_buffer
 * and release_buffer are ours and the base class's queue is not used for
 * chunks: it would hand a chunk out again while another process reads it.
 * What the pool keeps are the buffers themselves, each with its memory, bare
 * (no chunk) when nothing else references it: that is #GstZeroCpFramePool's
 * work, whose subclass this is; acquire claims a chunk and attaches it to
 * one of them.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdatomic.h>

#include <gst/video/video.h>
#include <gst/video/gstvideopool.h>

#include "gstzerocpallocator.h"
#include "gstzerocpbufferpool.h"
#include "gstzerocpdescriptor.h"

GST_DEBUG_CATEGORY_STATIC (gst_zero_cp_buffer_pool_debug);
#define GST_CAT_DEFAULT gst_zero_cp_buffer_pool_debug

/* How long one wait for a free chunk lasts before it says so in the log. */
#define CLAIM_WAIT_NS (GST_SECOND)

struct _GstZeroCpBufferPool
{
  GstZeroCpFramePool parent;

  struct zcp_publisher *publisher;
  guint initial_chunks;

  /* set in set_config, read in start and acquire */
  guint size;
  guint chunk_count;
  gboolean add_video_meta;
  gboolean is_video;
  GstVideoInfo info;
  GstVideoAlignment align;

  atomic_bool flushing;
};

G_DEFINE_TYPE_WITH_CODE (GstZeroCpBufferPool, gst_zero_cp_buffer_pool,
    GST_TYPE_ZERO_CP_FRAME_POOL,
    GST_DEBUG_CATEGORY_INIT (gst_zero_cp_buffer_pool_debug, "zerocppool", 0,
        "zerocp buffer pool"));

static const gchar **
gst_zero_cp_buffer_pool_get_options (GstBufferPool * pool)
{
  static const gchar *options[] = {
    GST_BUFFER_POOL_OPTION_VIDEO_META,
    GST_BUFFER_POOL_OPTION_VIDEO_ALIGNMENT,
    NULL
  };

  return options;
}

static gboolean
gst_zero_cp_buffer_pool_set_config (GstBufferPool * pool, GstStructure * config)
{
  GstZeroCpBufferPool *self = GST_ZERO_CP_BUFFER_POOL (pool);
  guint size, min_buffers, max_buffers, chunk_count;
  gboolean edited = FALSE;
  GstCaps *caps;

  if (!gst_buffer_pool_config_get_params (config, &caps, &size, &min_buffers,
          &max_buffers))
    goto wrong_config;

  self->is_video = caps && gst_zero_cp_caps_are_video (caps) &&
      gst_video_info_from_caps (&self->info, caps);
  self->add_video_meta = gst_buffer_pool_config_has_option (config,
      GST_BUFFER_POOL_OPTION_VIDEO_META);
  gst_video_alignment_reset (&self->align);

  if (self->is_video) {
    if (self->info.size > size) {
      size = self->info.size;
      edited = TRUE;
    }
    if (gst_buffer_pool_config_has_option (config,
            GST_BUFFER_POOL_OPTION_VIDEO_ALIGNMENT)) {
      gst_buffer_pool_config_get_video_alignment (config, &self->align);
      if (!gst_video_info_align (&self->info, &self->align))
        goto wrong_config;
      /* Padded planes need the meta to be read right downstream. */
      self->add_video_meta = TRUE;
      gst_buffer_pool_config_set_video_alignment (config, &self->align);
      /* The room the padding asks for is what the caller asked for, not an
       * edit to refuse: GstVideoBufferPool takes it the same way, and a
       * decoder (avdec_h264) writes into our chunks only if this is TRUE. */
      size = MAX (size, self->info.size);
    }
  }
  if (size == 0)
    goto wrong_config;

  /* Every buffer of the pool is a chunk.  The pool starts as zerocpsink
   * sized it and grows on demand up to its limit, whatever bound upstream
   * names: max-buffers is upstream's to choose. */
  chunk_count = MIN (MAX (self->initial_chunks, min_buffers),
      ZCP_POOL_MAX_CHUNKS);
  if (min_buffers > chunk_count) {
    min_buffers = chunk_count;
    edited = TRUE;
  }
  self->size = size;
  self->chunk_count = chunk_count;

  gst_buffer_pool_config_set_params (config, caps, size, min_buffers,
      max_buffers);
  GST_DEBUG_OBJECT (pool, "%u chunks of %u bytes, video meta %d", chunk_count,
      size, self->add_video_meta);

  /* FALSE with a config that validates tells the caller to take our edits,
   * rather than to fall back to a pool of its own. */
  return GST_BUFFER_POOL_CLASS (gst_zero_cp_buffer_pool_parent_class)
      ->set_config (pool, config) && !edited;

wrong_config:
  GST_WARNING_OBJECT (pool, "invalid config %" GST_PTR_FORMAT, config);
  return FALSE;
}

static gboolean
gst_zero_cp_buffer_pool_start (GstBufferPool * pool)
{
  GstZeroCpBufferPool *self = GST_ZERO_CP_BUFFER_POOL (pool);
  int ret;

  ret = zcp_publisher_configure_pool (self->publisher, self->size,
      self->chunk_count);
  if (ret < 0) {
    GST_ERROR_OBJECT (pool, "cannot make %u chunks of %u bytes: %s",
        self->chunk_count, self->size, g_strerror (-ret));
    return FALSE;
  }
  atomic_store (&self->flushing, false);

  /* No chain-up: the base class would preallocate min-buffers shells behind
   * our back and count them, and then refuse to stop while our queue holds
   * them.  Shells are made on demand and cost nothing to keep. */
  return TRUE;
}

static GstFlowReturn
gst_zero_cp_buffer_pool_alloc_buffer (GstBufferPool * pool,
    GstBuffer ** buffer, GstBufferPoolAcquireParams * params)
{
  GstZeroCpBufferPool *self = GST_ZERO_CP_BUFFER_POOL (pool);
  GstBuffer *shell = gst_buffer_new ();

  if (self->is_video && self->add_video_meta) {
    GstVideoMeta *meta = gst_buffer_add_video_meta_full (shell,
        GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_INFO_FORMAT (&self->info),
        GST_VIDEO_INFO_WIDTH (&self->info),
        GST_VIDEO_INFO_HEIGHT (&self->info),
        GST_VIDEO_INFO_N_PLANES (&self->info), self->info.offset,
        self->info.stride);

    gst_video_meta_set_alignment (meta, self->align);
    /* The layout is the pool's: it stays with the shell across reuses. */
    GST_META_FLAG_SET (meta, GST_META_FLAG_POOLED);
  }

  *buffer = shell;
  return GST_FLOW_OK;
}

static GstFlowReturn
gst_zero_cp_buffer_pool_acquire_buffer (GstBufferPool * pool,
    GstBuffer ** buffer, GstBufferPoolAcquireParams * params)
{
  GstZeroCpBufferPool *self = GST_ZERO_CP_BUFFER_POOL (pool);
  gboolean dontwait = params &&
      (params->flags & GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT);
  struct zcp_chunk chunk;
  int ret;

  for (;;) {
    ret = zcp_publisher_claim (self->publisher, &chunk,
        dontwait ? 0 : CLAIM_WAIT_NS, &self->flushing);
    if (ret != -ETIMEDOUT)
      break;
    GST_DEBUG_OBJECT (pool, "every chunk is held by this process or a "
        "subscriber; still waiting");
  }

  switch (-ret) {
    case 0:
      break;
    case EAGAIN:
      /* What the base class answers DONTWAIT with when it is empty. */
      return GST_FLOW_EOS;
    case ECANCELED:
    case EPIPE:
      return GST_FLOW_FLUSHING;
    default:
      GST_ERROR_OBJECT (pool, "cannot claim a chunk: %s", g_strerror (-ret));
      return GST_FLOW_ERROR;
  }

  *buffer = gst_zero_cp_frame_pool_take_shell (GST_ZERO_CP_FRAME_POOL (pool),
      params);
  gst_zero_cp_frame_pool_attach (GST_ZERO_CP_FRAME_POOL (pool), *buffer,
      &chunk, 0, self->size, FALSE);
  return GST_FLOW_OK;
}

static void
gst_zero_cp_buffer_pool_flush_start (GstBufferPool * pool)
{
  GstZeroCpBufferPool *self = GST_ZERO_CP_BUFFER_POOL (pool);

  atomic_store (&self->flushing, true);
  zcp_publisher_wake (self->publisher);
}

static void
gst_zero_cp_buffer_pool_flush_stop (GstBufferPool * pool)
{
  GstZeroCpBufferPool *self = GST_ZERO_CP_BUFFER_POOL (pool);

  atomic_store (&self->flushing, false);
}

static void
gst_zero_cp_buffer_pool_finalize (GObject * object)
{
  GstZeroCpBufferPool *self = GST_ZERO_CP_BUFFER_POOL (object);

  zcp_publisher_unref (self->publisher);

  G_OBJECT_CLASS (gst_zero_cp_buffer_pool_parent_class)->finalize (object);
}

static void
gst_zero_cp_buffer_pool_class_init (GstZeroCpBufferPoolClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstBufferPoolClass *pool_class = GST_BUFFER_POOL_CLASS (klass);

  gobject_class->finalize = gst_zero_cp_buffer_pool_finalize;

  pool_class->get_options = gst_zero_cp_buffer_pool_get_options;
  pool_class->set_config = gst_zero_cp_buffer_pool_set_config;
  pool_class->start = gst_zero_cp_buffer_pool_start;
  pool_class->alloc_buffer = gst_zero_cp_buffer_pool_alloc_buffer;
  pool_class->acquire_buffer = gst_zero_cp_buffer_pool_acquire_buffer;
  pool_class->flush_start = gst_zero_cp_buffer_pool_flush_start;
  pool_class->flush_stop = gst_zero_cp_buffer_pool_flush_stop;
}

static void
gst_zero_cp_buffer_pool_init (GstZeroCpBufferPool * self)
{
}

GstBufferPool *
gst_zero_cp_buffer_pool_new (struct zcp_publisher *publisher,
    GstAllocator * allocator, guint initial_chunks)
{
  GstZeroCpBufferPool *self = g_object_new (GST_TYPE_ZERO_CP_BUFFER_POOL, NULL);

  self->publisher = zcp_publisher_ref (publisher);
  self->initial_chunks = initial_chunks;
  gst_zero_cp_frame_pool_set_allocator (GST_ZERO_CP_FRAME_POOL (self),
      allocator);
  return GST_BUFFER_POOL_CAST (self);
}
