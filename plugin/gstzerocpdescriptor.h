/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include "zcp.h"

G_BEGIN_DECLS

/* Whether @caps are raw or encoded video (gst_video_info_from_caps() logs
 * an error for anything else). */
gboolean gst_zero_cp_caps_are_video (const GstCaps * caps);

/* @time of @segment as an absolute clock time (running time plus
 * @base_time), ZCP_TIME_NONE if it has none. */
guint64 gst_zero_cp_time_to_clock (const GstSegment * segment,
    GstClockTime base_time, GstClockTime time);

/* An absolute clock time from the wire as running time after @base_time;
 * a time before it is clamped to 0. */
GstClockTime gst_zero_cp_time_from_clock (guint64 time,
    GstClockTime base_time);

/* What gst_zero_cp_wire_base_time() learnt of the last clock it saw. */
typedef struct
{
  GstClock *clock;
  gboolean is_monotonic;
} GstZeroCpClockCheck;

/* @element's base time on CLOCK_MONOTONIC, the clock of the times on the
 * wire.  On GStreamer's default system clock the two are the same; on any
 * other (an audio device's, a network clock) the base time is moved by how
 * far that clock is from CLOCK_MONOTONIC now, so that the publisher's and
 * the subscriber's times still meet.  Call from one thread; @check keeps
 * the verdict on the element's clock until it changes. */
GstClockTime gst_zero_cp_wire_base_time (GstElement * element,
    GstZeroCpClockCheck * check);

void gst_zero_cp_clock_check_clear (GstZeroCpClockCheck * check);

/* Fills @frame's times, flags and video layout from @buffer.  PTS and DTS
 * become absolute clock times: running time through @segment plus
 * @base_time, so that a subscriber on the same clock (the system monotonic
 * clock, GStreamer's default) only subtracts its own base time.  @info, if
 * not NULL, gives the layout of a buffer without a GstVideoMeta. */
void gst_zero_cp_frame_from_buffer (struct zcp_frame * frame,
    GstBuffer * buffer, const GstSegment * segment, GstClockTime base_time,
    const GstVideoInfo * info);

/* Sets @buffer's times, flags and GstVideoMeta from @frame, turning absolute
 * times back into running time by subtracting @base_time.  The meta is
 * flagged POOLED, and one so flagged is reused.  Returns FALSE, with
 * @problem set, if the frame's video layout does not fit the buffer. */
gboolean gst_zero_cp_buffer_apply_frame (GstBuffer * buffer,
    const struct zcp_frame * frame, GstClockTime base_time,
    gchar ** problem);

G_END_DECLS
