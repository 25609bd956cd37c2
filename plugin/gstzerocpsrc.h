/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/base/gstpushsrc.h>

G_BEGIN_DECLS

#define GST_TYPE_ZERO_CP_SRC (gst_zero_cp_src_get_type ())
G_DECLARE_FINAL_TYPE (GstZeroCpSrc, gst_zero_cp_src, GST, ZERO_CP_SRC,
    GstPushSrc)

G_END_DECLS
