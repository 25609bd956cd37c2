/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

#include "zcp.h"

G_BEGIN_DECLS

#define GST_TYPE_ZERO_CP_FRAME_POOL (gst_zero_cp_frame_pool_get_type ())
G_DECLARE_DERIVABLE_TYPE (GstZeroCpFramePool, gst_zero_cp_frame_pool, GST,
    ZERO_CP_FRAME_POOL, GstBufferPool)

struct _GstZeroCpFramePoolClass
{
  GstBufferPoolClass parent_class;
};

/* An active pool of the buffers zerocpsrc pushes, whose memories
 * @allocator wraps.  Holds a reference to @allocator. */
GstBufferPool *gst_zero_cp_frame_pool_new (GstAllocator * allocator);

/* A buffer whose one memory holds @chunk (the hold is taken over) as @size
 * bytes at @offset, read-only.  From @pool while it is active, else a new
 * one: it never fails. */
GstBuffer *gst_zero_cp_frame_pool_wrap (GstBufferPool * pool,
    struct zcp_chunk *chunk, gsize offset, gsize size);

/* For subclasses, which wrap their chunks themselves. */

/* Sets the allocator that wraps the pool's memories; once, before use. */
void gst_zero_cp_frame_pool_set_allocator (GstZeroCpFramePool * pool,
    GstAllocator * allocator);

/* A buffer kept from an earlier frame, else a new one from the class's
 * alloc_buffer; never NULL. */
GstBuffer *gst_zero_cp_frame_pool_take_shell (GstZeroCpFramePool * pool,
    GstBufferPoolAcquireParams * params);

/* Gives @chunk (the hold is taken over) to @buffer's memory as @size bytes
 * at @offset; read-only if @readonly. */
void gst_zero_cp_frame_pool_attach (GstZeroCpFramePool * pool,
    GstBuffer * buffer, struct zcp_chunk *chunk, gsize offset, gsize size,
    gboolean readonly);

G_END_DECLS
