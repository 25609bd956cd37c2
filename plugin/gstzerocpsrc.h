/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/base/gstpushsrc.h>

G_BEGIN_DECLS

typedef enum
{
  GST_ZERO_CP_SRC_LEAKY_NO,
  GST_ZERO_CP_SRC_LEAKY_UPSTREAM,
  GST_ZERO_CP_SRC_LEAKY_DOWNSTREAM,
} GstZeroCpSrcLeaky;

typedef enum
{
  GST_ZERO_CP_SRC_ON_LOST_WAIT,
  GST_ZERO_CP_SRC_ON_LOST_EOS,
  GST_ZERO_CP_SRC_ON_LOST_ERROR,
} GstZeroCpSrcOnLost;

typedef enum
{
  GST_ZERO_CP_SRC_TIMESTAMP_COMPENSATE,
  GST_ZERO_CP_SRC_TIMESTAMP_PASSTHROUGH,
  GST_ZERO_CP_SRC_TIMESTAMP_RESTART,
} GstZeroCpSrcTimestampMode;

#define GST_TYPE_ZERO_CP_SRC (gst_zero_cp_src_get_type ())
G_DECLARE_FINAL_TYPE (GstZeroCpSrc, gst_zero_cp_src, GST, ZERO_CP_SRC,
    GstPushSrc)

G_END_DECLS
