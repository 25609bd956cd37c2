/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

#include "zcp.h"

G_BEGIN_DECLS

#define GST_ZERO_CP_MEMORY_TYPE "ZeroCpMemory"

#define GST_TYPE_ZERO_CP_ALLOCATOR (gst_zero_cp_allocator_get_type ())
G_DECLARE_FINAL_TYPE (GstZeroCpAllocator, gst_zero_cp_allocator, GST,
    ZERO_CP_ALLOCATOR, GstAllocator)

/* An allocator for the chunks of a channel; @publisher, zerocpsink's (NULL
 * in a subscriber), is where copies of its memory go when it has a chunk
 * free. */
GstAllocator *gst_zero_cp_allocator_new (struct zcp_publisher *publisher);

/* Gives up @buffer's hold on its chunk, for a pool's reset: its one memory
 * stays, bare, for the next chunk if it is a root memory of @allocator that
 * nothing else references (no other buffer, no share); otherwise every
 * memory leaves @buffer, and a shared one keeps its hold until it goes.
 * @buffer is flagged GST_BUFFER_FLAG_TAG_MEMORY until the next attach. */
void gst_zero_cp_buffer_release_chunk (GstBuffer * buffer,
    GstAllocator * allocator);

/* Puts @chunk (its hold is taken over) in @buffer as @size bytes at
 * @offset: in the bare memory gst_zero_cp_buffer_release_chunk() left there,
 * or else in a new memory of @allocator appended to an empty @buffer,
 * flagged read-only if @readonly so that GStreamer copies before anyone
 * writes.  Clears GST_BUFFER_FLAG_TAG_MEMORY. */
void gst_zero_cp_buffer_attach_chunk (GstBuffer * buffer,
    GstAllocator * allocator, struct zcp_chunk *chunk, gsize offset,
    gsize size, gboolean readonly);

/* Chunks held by memories of @allocator now: attached and not yet given
 * up. */
guint gst_zero_cp_allocator_chunks_held (GstAllocator * allocator);

/* The chunk behind @mem, or NULL unless @mem is memory of @allocator. */
const struct zcp_chunk *gst_zero_cp_memory_get_chunk (GstAllocator * allocator,
    GstMemory * mem);

G_END_DECLS
