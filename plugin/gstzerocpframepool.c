/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:gstzerocpframepool
 * @title: GstZeroCpFramePool
 * @short_description: the buffers zerocpsrc pushes, kept for the next frame
 *
 * A subscriber's frame is a #GstBuffer with one zerocp #GstMemory on a chunk
 * and a #GstVideoMeta.  Making and freeing those three for every frame was a
 * sixth of what a subscriber spends on a small frame, so this pool keeps the
 * buffer, its memory and its meta when downstream lets go: the memory gives
 * up its chunk at once (the cross-process reference count still follows the
 * buffer's lifetime) and takes the next frame's chunk on reuse.
 *
 * A memory that something else still references (a buffer that shares it, a
 * sub-memory) leaves the buffer instead and keeps its chunk until it goes.
 * Acquire and release are ours: the base class's queue signals a #GstPoll on
 * every release to an empty pool, a system call per frame here.
 *
 * zerocpsink's pool (#GstZeroCpBufferPool) is a subclass that claims each
 * chunk from the publisher before it takes a buffer.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstzerocpallocator.h"
#include "gstzerocpframepool.h"

GST_DEBUG_CATEGORY_STATIC (gst_zero_cp_frame_pool_debug);
#define GST_CAT_DEFAULT gst_zero_cp_frame_pool_debug

typedef struct
{
  GstAllocator *allocator;
  GstAtomicQueue *shells;
} GstZeroCpFramePoolPrivate;

G_DEFINE_TYPE_WITH_CODE (GstZeroCpFramePool, gst_zero_cp_frame_pool,
    GST_TYPE_BUFFER_POOL, G_ADD_PRIVATE (GstZeroCpFramePool);
    GST_DEBUG_CATEGORY_INIT (gst_zero_cp_frame_pool_debug, "zerocpframepool",
        0, "zerocp buffers on chunks"));

/* Unchecked: only our own vfuncs and functions use it, on every frame. */
#define GET_PRIV(pool) \
  ((GstZeroCpFramePoolPrivate *) \
      gst_zero_cp_frame_pool_get_instance_private ((GstZeroCpFramePool *) (pool)))

static GstFlowReturn
gst_zero_cp_frame_pool_alloc_buffer (GstBufferPool * pool,
    GstBuffer ** buffer, GstBufferPoolAcquireParams * params)
{
  /* Bare: the memory comes with the first chunk. */
  *buffer = gst_buffer_new ();
  return GST_FLOW_OK;
}

GstBuffer *
gst_zero_cp_frame_pool_take_shell (GstZeroCpFramePool * pool,
    GstBufferPoolAcquireParams * params)
{
  GstBuffer *shell = gst_atomic_queue_pop (GET_PRIV (pool)->shells);

  if (!shell &&
      GST_BUFFER_POOL_GET_CLASS (pool)->alloc_buffer (GST_BUFFER_POOL_CAST
          (pool), &shell, params) != GST_FLOW_OK)
    shell = gst_buffer_new ();
  return shell;
}

static GstFlowReturn
gst_zero_cp_frame_pool_acquire_buffer (GstBufferPool * pool,
    GstBuffer ** buffer, GstBufferPoolAcquireParams * params)
{
  if (GST_BUFFER_POOL_IS_FLUSHING (pool))
    return GST_FLOW_FLUSHING;
  *buffer = gst_zero_cp_frame_pool_take_shell (GST_ZERO_CP_FRAME_POOL (pool),
      params);
  return GST_FLOW_OK;
}

static void
gst_zero_cp_frame_pool_reset_buffer (GstBufferPool * pool, GstBuffer * buffer)
{
  /* The chunk's hold goes now, or with the last buffer sharing the memory. */
  gst_zero_cp_buffer_release_chunk (buffer, GET_PRIV (pool)->allocator);

  /* Timestamps, flags but the tag, and every meta not flagged POOLED go. */
  GST_BUFFER_POOL_CLASS (gst_zero_cp_frame_pool_parent_class)->reset_buffer
      (pool, buffer);
}

static void
gst_zero_cp_frame_pool_release_buffer (GstBufferPool * pool, GstBuffer * buffer)
{
  gst_atomic_queue_push (GET_PRIV (pool)->shells, buffer);
}

static void
gst_zero_cp_frame_pool_drain (GstZeroCpFramePoolPrivate * priv)
{
  GstBuffer *shell;

  while ((shell = gst_atomic_queue_pop (priv->shells)))
    gst_buffer_unref (shell);
}

static gboolean
gst_zero_cp_frame_pool_stop (GstBufferPool * pool)
{
  gst_zero_cp_frame_pool_drain (GET_PRIV (pool));
  return GST_BUFFER_POOL_CLASS (gst_zero_cp_frame_pool_parent_class)->stop
      (pool);
}

static void
gst_zero_cp_frame_pool_finalize (GObject * object)
{
  GstZeroCpFramePoolPrivate *priv = GET_PRIV (object);

  gst_zero_cp_frame_pool_drain (priv);
  gst_atomic_queue_unref (priv->shells);
  gst_clear_object (&priv->allocator);

  G_OBJECT_CLASS (gst_zero_cp_frame_pool_parent_class)->finalize (object);
}

static void
gst_zero_cp_frame_pool_class_init (GstZeroCpFramePoolClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstBufferPoolClass *pool_class = GST_BUFFER_POOL_CLASS (klass);

  gobject_class->finalize = gst_zero_cp_frame_pool_finalize;

  pool_class->stop = gst_zero_cp_frame_pool_stop;
  pool_class->alloc_buffer = gst_zero_cp_frame_pool_alloc_buffer;
  pool_class->acquire_buffer = gst_zero_cp_frame_pool_acquire_buffer;
  pool_class->reset_buffer = gst_zero_cp_frame_pool_reset_buffer;
  pool_class->release_buffer = gst_zero_cp_frame_pool_release_buffer;
}

static void
gst_zero_cp_frame_pool_init (GstZeroCpFramePool * self)
{
  GET_PRIV (self)->shells = gst_atomic_queue_new (16);
}

void
gst_zero_cp_frame_pool_set_allocator (GstZeroCpFramePool * pool,
    GstAllocator * allocator)
{
  gst_object_replace ((GstObject **) & GET_PRIV (pool)->allocator,
      GST_OBJECT_CAST (allocator));
}

void
gst_zero_cp_frame_pool_attach (GstZeroCpFramePool * pool, GstBuffer * buffer,
    struct zcp_chunk *chunk, gsize offset, gsize size, gboolean readonly)
{
  gst_zero_cp_buffer_attach_chunk (buffer, GET_PRIV (pool)->allocator, chunk,
      offset, size, readonly);
}

GstBufferPool *
gst_zero_cp_frame_pool_new (GstAllocator * allocator)
{
  GstZeroCpFramePool *self = g_object_new (GST_TYPE_ZERO_CP_FRAME_POOL, NULL);

  gst_zero_cp_frame_pool_set_allocator (self, allocator);
  /* The default config (no caps, no size, no bounds) is all it needs. */
  if (!gst_buffer_pool_set_config (GST_BUFFER_POOL_CAST (self),
          gst_buffer_pool_get_config (GST_BUFFER_POOL_CAST (self))) ||
      !gst_buffer_pool_set_active (GST_BUFFER_POOL_CAST (self), TRUE))
    GST_WARNING_OBJECT (self, "cannot activate: every frame gets new buffers");
  return GST_BUFFER_POOL_CAST (self);
}

GstBuffer *
gst_zero_cp_frame_pool_wrap (GstBufferPool * pool, struct zcp_chunk *chunk,
    gsize offset, gsize size)
{
  GstBuffer *buffer = NULL;

  if (gst_buffer_pool_acquire_buffer (pool, &buffer, NULL) != GST_FLOW_OK)
    buffer = gst_buffer_new ();

  gst_zero_cp_frame_pool_attach (GST_ZERO_CP_FRAME_POOL (pool), buffer, chunk,
      offset, size, TRUE);
  return buffer;
}
