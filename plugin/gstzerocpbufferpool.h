/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

#include "gstzerocpframepool.h"
#include "zcp.h"

G_BEGIN_DECLS

#define GST_TYPE_ZERO_CP_BUFFER_POOL (gst_zero_cp_buffer_pool_get_type ())
G_DECLARE_FINAL_TYPE (GstZeroCpBufferPool, gst_zero_cp_buffer_pool, GST,
    ZERO_CP_BUFFER_POOL, GstZeroCpFramePool)

/* A pool whose buffers are chunks of @publisher's channel, wrapped by
 * @allocator, that starts with @initial_chunks and grows on demand.  Holds a
 * reference to both. */
GstBufferPool *gst_zero_cp_buffer_pool_new (struct zcp_publisher *publisher,
    GstAllocator * allocator, guint initial_chunks);

G_END_DECLS
