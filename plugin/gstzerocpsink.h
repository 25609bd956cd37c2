/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/base/gstbasesink.h>

G_BEGIN_DECLS

#define GST_TYPE_ZERO_CP_SINK (gst_zero_cp_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstZeroCpSink, gst_zero_cp_sink, GST, ZERO_CP_SINK,
    GstBaseSink)

G_END_DECLS
