/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include "zcp.h"

G_BEGIN_DECLS

/* Fills @frame's times, flags and video layout from @buffer.  PTS and DTS
 * become absolute clock times: running time through @segment plus
 * @base_time, so that a subscriber on the same clock (the system monotonic
 * clock, GStreamer's default) only subtracts its own base time.  @info, if
 * not NULL, gives the layout of a buffer without a GstVideoMeta. */
void gst_zero_cp_frame_from_buffer (struct zcp_frame * frame,
    GstBuffer * buffer, const GstSegment * segment, GstClockTime base_time,
    const GstVideoInfo * info);

/* Sets @buffer's times, flags and GstVideoMeta from @frame, turning absolute
 * times back into running time by subtracting @base_time.  Returns FALSE,
 * with @problem set, if the frame's video layout does not fit the buffer. */
gboolean gst_zero_cp_buffer_apply_frame (GstBuffer * buffer,
    const struct zcp_frame * frame, GstClockTime base_time,
    gchar ** problem);

G_END_DECLS
