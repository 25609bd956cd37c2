/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

#include "zcp.h"

G_BEGIN_DECLS

#define GST_ZERO_CP_MEMORY_TYPE "ZeroCpMemory"

#define GST_TYPE_ZERO_CP_ALLOCATOR (gst_zero_cp_allocator_get_type ())
G_DECLARE_FINAL_TYPE (GstZeroCpAllocator, gst_zero_cp_allocator, GST,
    ZERO_CP_ALLOCATOR, GstAllocator)

GstAllocator *gst_zero_cp_allocator_new (void);

/* Wraps @chunk (its hold is taken over: freeing the memory releases it) as a
 * memory of @size bytes at @offset in the chunk.  A @readonly memory is
 * flagged so that GStreamer copies before anyone writes. */
GstMemory *gst_zero_cp_allocator_wrap (GstAllocator * allocator,
    struct zcp_chunk *chunk, gsize offset, gsize size, gboolean readonly);

/* Gives up @mem's hold on its chunk but keeps the memory, bare, for the
 * next frame: only for a root memory nothing else references (a share or
 * another buffer keeps the chunk in use).  FALSE, and nothing done, if @mem
 * is not such a memory. */
gboolean gst_zero_cp_memory_drop_chunk (GstMemory * mem);

/* Makes a bare memory (see gst_zero_cp_memory_drop_chunk()) hold @chunk, as
 * gst_zero_cp_allocator_wrap() would, without an allocation. */
void gst_zero_cp_memory_rebind (GstMemory * mem, struct zcp_chunk *chunk,
    gsize offset, gsize size);

gboolean gst_is_zero_cp_memory (GstMemory * mem);

/* The chunk behind @mem, or NULL if @mem is not zerocp memory. */
const struct zcp_chunk *gst_zero_cp_memory_get_chunk (GstMemory * mem);

G_END_DECLS
