/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A publisher that makes its own frames: appsrc ! zerocpsink.
 *
 *   zerocp-publisher CHANNEL [FRAMES]
 *
 * The application asks zerocpsink for its pool (an ALLOCATION query, as a
 * GStreamer element upstream of it would) and draws each frame straight
 * into a shared-memory chunk: no copy on the way to any subscriber.  It
 * waits for a first subscriber (wait-for-connection=true: one that attaches
 * while the sink prerolls would miss the first frame), sends FRAMES frames
 * (default 300) of 640x360 NV12 at 30 fps, then EOS, and says how many were
 * copied (0, unless the pool was refused).
 */
#include <gst/app/app.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH 640
#define HEIGHT 360
#define FPS 30

/* The sink's pool, configured for @caps and active; NULL if it offers none. */
static GstBufferPool *
get_sink_pool (GstElement * appsrc, GstCaps * caps, guint size)
{
  GstPad *pad = gst_element_get_static_pad (appsrc, "src");
  GstQuery *query = gst_query_new_allocation (caps, TRUE);
  GstBufferPool *pool = NULL;
  GstStructure *config;
  guint min = 0, max = 0;

  if (gst_pad_peer_query (pad, query) &&
      gst_query_get_n_allocation_pools (query) > 0)
    gst_query_parse_nth_allocation_pool (query, 0, &pool, NULL, &min, &max);
  gst_query_unref (query);
  gst_object_unref (pad);
  if (!pool)
    return NULL;

  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, caps, size, min, max);
  gst_buffer_pool_config_add_option (config, GST_BUFFER_POOL_OPTION_VIDEO_META);
  if (!gst_buffer_pool_set_config (pool, config) ||
      !gst_buffer_pool_set_active (pool, TRUE)) {
    gst_object_unref (pool);
    return NULL;
  }
  return pool;
}

/* A moving picture: the luma ramps with the frame number. */
static void
draw (GstBuffer * buffer, const GstVideoInfo * info, guint n)
{
  GstVideoFrame frame;

  if (!gst_video_frame_map (&frame, (GstVideoInfo *) info, buffer,
          GST_MAP_WRITE))
    return;
  for (guint y = 0; y < HEIGHT; y++)
    memset ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 0) +
        y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0), (y + 4 * n) & 0xff,
        WIDTH);
  for (guint y = 0; y < HEIGHT / 2; y++)
    memset ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 1) +
        y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 1), 128, WIDTH);
  gst_video_frame_unmap (&frame);
}

/* Prints the error that @message carries. */
static void
print_error (GstMessage * message)
{
  GError *error = NULL;

  gst_message_parse_error (message, &error, NULL);
  g_printerr ("error: %s\n", error->message);
  g_error_free (error);
}

int
main (int argc, char **argv)
{
  GstElement *pipeline, *appsrc, *sink;
  GstBufferPool *pool;
  GstStructure *stats;
  GstMessage *message;
  GstVideoInfo info;
  GstCaps *caps;
  GError *parse_error = NULL;
  guint frames;
  guint64 published = 0, copied = 0;
  int status = 0;

  gst_init (&argc, &argv);
  if (argc < 2) {
    g_printerr ("usage: %s CHANNEL [FRAMES]\n", argv[0]);
    return 2;
  }
  frames = argc > 2 ? atoi (argv[2]) : 300;

  pipeline = gst_parse_launch ("appsrc name=src format=time is-live=true "
      "do-timestamp=false ! zerocpsink name=sink wait-for-connection=true",
      &parse_error);
  if (!pipeline || parse_error) {
    g_printerr ("%s: set GST_PLUGIN_PATH to build/plugin\n",
        parse_error ? parse_error->message : "no pipeline");
    g_clear_error (&parse_error);
    return 1;
  }
  appsrc = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  /* A property, not text in the launch line: the element checks the name,
   * whatever the user typed. */
  g_object_set (sink, "channel", argv[1], NULL);

  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_NV12, WIDTH, HEIGHT);
  GST_VIDEO_INFO_FPS_N (&info) = FPS;
  GST_VIDEO_INFO_FPS_D (&info) = 1;
  caps = gst_video_info_to_caps (&info);
  gst_app_src_set_caps (GST_APP_SRC (appsrc), caps);

  /* Once set_state() returns the sink has opened its channel and its pad
   * is active, so it answers the query.  (Waiting for PLAYING would wait
   * for the first frame, which the sink needs to preroll.) */
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    /* The sink said why on the bus: a bad channel name, a channel that
     * already has a publisher, no room in /dev/shm. */
    message = gst_bus_pop_filtered (GST_ELEMENT_BUS (pipeline),
        GST_MESSAGE_ERROR);
    if (message) {
      print_error (message);
      gst_message_unref (message);
    } else {
      g_printerr ("cannot start: run with GST_DEBUG=zerocp*:4\n");
    }
    return 1;
  }
  pool = get_sink_pool (appsrc, caps, info.size);
  if (!pool)
    g_printerr ("zerocpsink offered no pool: frames will be copied\n");

  for (guint n = 0; n < frames; n++) {
    GstBuffer *buffer = NULL;

    if (pool) {
      /* Blocks while every chunk is held by subscribers. */
      if (gst_buffer_pool_acquire_buffer (pool, &buffer, NULL) != GST_FLOW_OK)
        break;
    } else {
      buffer = gst_buffer_new_allocate (NULL, info.size, NULL);
    }
    draw (buffer, &info, n);
    GST_BUFFER_PTS (buffer) = gst_util_uint64_scale (n, GST_SECOND, FPS);
    GST_BUFFER_DURATION (buffer) = gst_util_uint64_scale (1, GST_SECOND, FPS);
    if (gst_app_src_push_buffer (GST_APP_SRC (appsrc), buffer) != GST_FLOW_OK)
      break;
  }
  gst_app_src_end_of_stream (GST_APP_SRC (appsrc));

  message = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline),
      GST_CLOCK_TIME_NONE, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR) {
    print_error (message);
    status = 1;
  }
  gst_message_unref (message);

  g_object_get (sink, "stats", &stats, NULL);
  gst_structure_get_uint64 (stats, "frames-published", &published);
  gst_structure_get_uint64 (stats, "frames-copied", &copied);
  gst_structure_free (stats);
  g_print ("published %" G_GUINT64_FORMAT " frames, %" G_GUINT64_FORMAT
      " of them copied\n", published, copied);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  if (pool) {
    gst_buffer_pool_set_active (pool, FALSE);
    gst_object_unref (pool);
  }
  gst_caps_unref (caps);
  gst_object_unref (sink);
  gst_object_unref (appsrc);
  gst_object_unref (pipeline);
  return status;
}
