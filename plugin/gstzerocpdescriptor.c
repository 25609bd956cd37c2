/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <time.h>

#include "gstzerocpdescriptor.h"
#include "gstzerocpelements.h"

/* Flags that mean something only inside one process. */
#define LOCAL_BUFFER_FLAGS (GST_BUFFER_FLAG_TAG_MEMORY | \
    GST_MINI_OBJECT_FLAG_LOCKABLE | GST_MINI_OBJECT_FLAG_LOCK_READONLY | \
    GST_MINI_OBJECT_FLAG_MAY_BE_LEAKED)

static guint64
time_to_wire (GstClockTime time)
{
  return GST_CLOCK_TIME_IS_VALID (time) ? time : ZCP_TIME_NONE;
}

static GstClockTime
time_from_wire (guint64 time)
{
  return time == ZCP_TIME_NONE ? GST_CLOCK_TIME_NONE : time;
}

gboolean
gst_zero_cp_caps_are_video (const GstCaps * caps)
{
  return gst_caps_get_size (caps) > 0 &&
      g_str_has_prefix (gst_structure_get_name (gst_caps_get_structure (caps,
              0)), "video/");
}

guint64
gst_zero_cp_time_to_clock (const GstSegment * segment, GstClockTime base_time,
    GstClockTime time)
{
  GstClockTime running_time;

  /* Without a TIME segment (appsrc's default is BYTES) a timestamp has no
   * running time, so no clock time: a live subscriber times the frame on
   * arrival rather than take it for a moment of the clock. */
  if (!GST_CLOCK_TIME_IS_VALID (time) || segment->format != GST_FORMAT_TIME)
    return ZCP_TIME_NONE;

  running_time = gst_segment_to_running_time (segment, GST_FORMAT_TIME, time);
  if (!GST_CLOCK_TIME_IS_VALID (running_time))
    return ZCP_TIME_NONE;
  return running_time + base_time;
}

static gboolean
clock_is_monotonic (GstClock * clock)
{
  GstClockType type = GST_CLOCK_TYPE_REALTIME;

  /* Subclasses of the system clock, GstAudioClock among them, keep their
   * own time. */
  if (G_OBJECT_TYPE (clock) != GST_TYPE_SYSTEM_CLOCK)
    return FALSE;
  g_object_get (clock, "clock-type", &type, NULL);
  return type == GST_CLOCK_TYPE_MONOTONIC;
}

GstClockTime
gst_zero_cp_wire_base_time (GstElement * element, GstZeroCpClockCheck * check)
{
  GstClockTime base_time, clock_now;
  GstClock *clock;
  struct timespec now;
  gint64 shifted;

  GST_OBJECT_LOCK (element);
  base_time = element->base_time;
  clock = element->clock;
  if (clock == check->clock && check->is_monotonic) {
    GST_OBJECT_UNLOCK (element);
    return base_time;
  }
  if (clock)
    gst_object_ref (clock);
  GST_OBJECT_UNLOCK (element);
  if (!clock)
    return base_time;

  if (clock != check->clock) {
    gst_object_replace ((GstObject **) & check->clock, GST_OBJECT (clock));
    check->is_monotonic = clock_is_monotonic (clock);
    GST_CAT_INFO_OBJECT (gst_zero_cp_debug, element, "clock %"
        GST_PTR_FORMAT " %s CLOCK_MONOTONIC", clock, check->is_monotonic ?
        "is" : "is not");
  }
  if (!check->is_monotonic) {
    clock_now = gst_clock_get_time (clock);
    clock_gettime (CLOCK_MONOTONIC, &now);
    shifted = (gint64) base_time + GST_TIMESPEC_TO_TIME (now) -
        (gint64) clock_now;
    base_time = MAX (shifted, 0);
  }
  gst_object_unref (clock);
  return base_time;
}

void
gst_zero_cp_clock_check_clear (GstZeroCpClockCheck * check)
{
  gst_clear_object (&check->clock);
  check->is_monotonic = FALSE;
}

void
gst_zero_cp_frame_from_buffer (struct zcp_frame *frame, GstBuffer * buffer,
    const GstSegment * segment, GstClockTime base_time,
    const GstVideoInfo * info)
{
  GstVideoMeta *meta = gst_buffer_get_video_meta (buffer);

  frame->kind = ZCP_FRAME_KIND_BUFFER;
  frame->pts =
      gst_zero_cp_time_to_clock (segment, base_time, GST_BUFFER_PTS (buffer));
  frame->dts =
      gst_zero_cp_time_to_clock (segment, base_time, GST_BUFFER_DTS (buffer));
  frame->segment_pts = time_to_wire (GST_BUFFER_PTS (buffer));
  frame->segment_dts = time_to_wire (GST_BUFFER_DTS (buffer));
  frame->duration = time_to_wire (GST_BUFFER_DURATION (buffer));
  frame->media_offset = GST_BUFFER_OFFSET (buffer);
  frame->media_offset_end = GST_BUFFER_OFFSET_END (buffer);
  frame->buffer_flags = GST_BUFFER_FLAGS (buffer) & ~LOCAL_BUFFER_FLAGS;
  frame->has_video = FALSE;

  if (meta) {
    frame->has_video = TRUE;
    frame->video.format = meta->format;
    frame->video.width = meta->width;
    frame->video.height = meta->height;
    frame->video.n_planes = MIN (meta->n_planes, ZCP_VIDEO_MAX_PLANES);
    frame->video.flags = meta->flags;
    for (guint p = 0; p < frame->video.n_planes; p++) {
      frame->video.offset[p] = meta->offset[p];
      frame->video.stride[p] = meta->stride[p];
    }
  } else if (info && GST_VIDEO_INFO_FORMAT (info) != GST_VIDEO_FORMAT_ENCODED) {
    frame->has_video = TRUE;
    frame->video.format = GST_VIDEO_INFO_FORMAT (info);
    frame->video.width = GST_VIDEO_INFO_WIDTH (info);
    frame->video.height = GST_VIDEO_INFO_HEIGHT (info);
    frame->video.n_planes = GST_VIDEO_INFO_N_PLANES (info);
    frame->video.flags = 0;
    for (guint p = 0; p < frame->video.n_planes; p++) {
      frame->video.offset[p] = info->offset[p];
      frame->video.stride[p] = info->stride[p];
    }
  }
}

GstClockTime
gst_zero_cp_time_from_clock (guint64 time, GstClockTime base_time)
{
  if (time == ZCP_TIME_NONE)
    return GST_CLOCK_TIME_NONE;
  /* A frame stamped before this pipeline started is due at once (zerocpsrc
   * then keeps its timeline from going back). */
  return time > base_time ? time - base_time : 0;
}

static gboolean
add_video_meta (GstBuffer * buffer, const struct zcp_frame *frame,
    gchar ** problem)
{
  const struct zcp_video_layout *video = &frame->video;
  const GstVideoFormatInfo *finfo;
  GstVideoMeta *meta;
  gsize offset[GST_VIDEO_MAX_PLANES] = { 0 };
  gint stride[GST_VIDEO_MAX_PLANES] = { 0 };
  gsize plane_size[GST_VIDEO_MAX_PLANES] = { 0 };
  gsize buffer_size = gst_buffer_get_size (buffer);

  finfo = video->format > GST_VIDEO_FORMAT_ENCODED ?
      gst_video_format_get_info (video->format) : NULL;
  if (!finfo || GST_VIDEO_FORMAT_INFO_N_PLANES (finfo) != video->n_planes ||
      video->width == 0 || video->height == 0 || video->width > G_MAXINT ||
      video->height > G_MAXINT) {
    *problem = g_strdup_printf ("impossible video layout: format %u, %ux%u, "
        "%u planes", video->format, video->width, video->height,
        video->n_planes);
    return FALSE;
  }

  for (guint p = 0; p < video->n_planes; p++) {
    if (video->stride[p] <= 0 || video->offset[p] > buffer_size) {
      *problem = g_strdup_printf ("plane %u at %" G_GUINT64_FORMAT
          " with stride %d does not fit a buffer of %" G_GSIZE_FORMAT,
          p, video->offset[p], video->stride[p], buffer_size);
      return FALSE;
    }
    offset[p] = video->offset[p];
    stride[p] = video->stride[p];
  }

  /* Every row of every plane must lie inside the buffer, or a reader runs
   * off it.  Computed here: gst_video_meta_get_plane_size() also insists
   * that the strides are the default ones for an alignment, which a
   * decoder's padded frames are not. */
  for (guint c = 0; c < GST_VIDEO_FORMAT_INFO_N_COMPONENTS (finfo) &&
      !GST_VIDEO_FORMAT_INFO_IS_TILED (finfo); c++) {
    guint p = GST_VIDEO_FORMAT_INFO_PLANE (finfo, c);
    gsize rows = GST_VIDEO_FORMAT_INFO_SCALE_HEIGHT (finfo, c, video->height);
    gsize row = (gsize) GST_VIDEO_FORMAT_INFO_SCALE_WIDTH (finfo, c,
        video->width) * GST_VIDEO_FORMAT_INFO_PSTRIDE (finfo, c);

    if (row == 0 || row > (gsize) stride[p])
      row = stride[p];
    plane_size[p] = MAX (plane_size[p], (rows - 1) * stride[p] + row);
  }
  for (guint p = 0; p < video->n_planes; p++) {
    if (plane_size[p] > buffer_size - offset[p]) {
      *problem = g_strdup_printf ("plane %u (%" G_GSIZE_FORMAT " bytes at %"
          G_GSIZE_FORMAT ") overruns a buffer of %" G_GSIZE_FORMAT, p,
          plane_size[p], offset[p], buffer_size);
      return FALSE;
    }
  }

  /* A buffer of zerocpsrc's pool keeps its meta from the last frame: filling
   * it in costs less than a new one and its removal. */
  meta = gst_buffer_get_video_meta (buffer);
  if (meta && GST_META_FLAG_IS_SET (meta, GST_META_FLAG_POOLED)) {
    meta->flags = video->flags;
    meta->format = video->format;
    meta->width = video->width;
    meta->height = video->height;
    meta->n_planes = video->n_planes;
    memcpy (meta->offset, offset, sizeof offset);
    memcpy (meta->stride, stride, sizeof stride);
    gst_video_alignment_reset (&meta->alignment);
  } else {
    meta = gst_buffer_add_video_meta_full (buffer, video->flags,
        video->format, video->width, video->height, video->n_planes, offset,
        stride);
    GST_META_FLAG_SET (meta, GST_META_FLAG_POOLED);
  }
  return TRUE;
}

static void
remove_pooled_video_meta (GstBuffer * buffer)
{
  GstVideoMeta *meta = gst_buffer_get_video_meta (buffer);

  if (meta && GST_META_FLAG_IS_SET (meta, GST_META_FLAG_POOLED))
    gst_buffer_remove_meta (buffer, (GstMeta *) meta);
}

gboolean
gst_zero_cp_buffer_apply_frame (GstBuffer * buffer,
    const struct zcp_frame *frame, GstClockTime base_time, gchar ** problem)
{
  GST_BUFFER_PTS (buffer) = gst_zero_cp_time_from_clock (frame->pts, base_time);
  GST_BUFFER_DTS (buffer) = gst_zero_cp_time_from_clock (frame->dts, base_time);
  GST_BUFFER_DURATION (buffer) = time_from_wire (frame->duration);
  GST_BUFFER_OFFSET (buffer) = frame->media_offset;
  GST_BUFFER_OFFSET_END (buffer) = frame->media_offset_end;
  GST_BUFFER_FLAG_SET (buffer, frame->buffer_flags & ~LOCAL_BUFFER_FLAGS);

  if (frame->has_video)
    return add_video_meta (buffer, frame, problem);
  remove_pooled_video_meta (buffer);
  return TRUE;
}
