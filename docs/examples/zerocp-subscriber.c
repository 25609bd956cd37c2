/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A subscriber that reads frames itself: zerocpsrc ! appsink.
 *
 *   zerocp-subscriber CHANNEL
 *
 * Each sample's memory is the publisher's shared-memory chunk, mapped
 * read-only: reading it copies nothing, and the chunk goes back to the
 * publisher when the sample is freed.  While frames flow it keeps one
 * status line up to date (frames, frames/s, latency, subscribers), and at
 * the end of the stream prints a summary.  Latency is how long after its
 * timestamp (in the publisher's timeline, which zerocpsrc carries over to
 * ours) a frame reached us.
 */
#include <gst/app/app.h>
#include <gst/gst.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct
{
  GArray *latencies;            /* of the current second, in ns */
  GArray *all_latencies;
  guint64 frames, frames_this_second, checksum;
  gint64 started, second_started;
} Tally;

static int
compare_u64 (gconstpointer a, gconstpointer b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;

  return x < y ? -1 : x > y;
}

static guint64
percentile (GArray * values, guint percent)
{
  if (values->len == 0)
    return 0;
  g_array_sort (values, compare_u64);
  return g_array_index (values, guint64, (values->len - 1) * percent / 100);
}

static void
print_status (Tally * tally, GstElement * src, gboolean tty)
{
  gdouble seconds = (g_get_monotonic_time () - tally->second_started) / 1e6;
  GstStructure *stats;
  guint subscribers = 0;

  g_object_get (src, "stats", &stats, NULL);
  gst_structure_get_uint (stats, "subscribers", &subscribers);
  gst_structure_free (stats);
  g_print ("%sframes %" G_GUINT64_FORMAT " | %.1f frames/s | latency p50 "
      "%.2f ms, max %.2f ms | subscribers %u%s", tty ? "\r" : "",
      tally->frames, tally->frames_this_second / seconds,
      percentile (tally->latencies, 50) / 1e6,
      percentile (tally->latencies, 100) / 1e6, subscribers,
      tty ? "   " : "\n");
  g_array_set_size (tally->latencies, 0);
  tally->frames_this_second = 0;
  tally->second_started = g_get_monotonic_time ();
}

/* Time between the frame's timestamp and now, both as clock times. */
static void
measure (Tally * tally, GstElement * pipeline, GstSample * sample)
{
  GstBuffer *buffer = gst_sample_get_buffer (sample);
  const GstSegment *segment = gst_sample_get_segment (sample);
  GstClock *clock = gst_element_get_clock (pipeline);
  guint64 running_time = gst_segment_to_running_time (segment,
      GST_FORMAT_TIME, GST_BUFFER_PTS (buffer));

  if (clock && GST_CLOCK_TIME_IS_VALID (running_time)) {
    GstClockTime now = gst_clock_get_time (clock);
    GstClockTime due = running_time + gst_element_get_base_time (pipeline);
    guint64 latency = now > due ? now - due : 0;

    g_array_append_val (tally->latencies, latency);
    g_array_append_val (tally->all_latencies, latency);
  }
  if (clock)
    gst_object_unref (clock);
}

int
main (int argc, char **argv)
{
  GstElement *pipeline, *src, *appsink;
  GstCaps *caps = NULL;
  Tally tally = { 0 };
  gboolean tty = isatty (STDOUT_FILENO);
  GError *parse_error = NULL;
  int status = 0;

  gst_init (&argc, &argv);
  if (argc < 2) {
    g_printerr ("usage: %s CHANNEL\n", argv[0]);
    return 2;
  }
  /* Lossless, so that the count at the end is every frame published. */
  pipeline = gst_parse_launch ("zerocpsrc name=src leaky=no ! "
      "appsink name=sink sync=false max-buffers=1", &parse_error);
  if (!pipeline || parse_error) {
    g_printerr ("%s: set GST_PLUGIN_PATH to build/plugin\n",
        parse_error ? parse_error->message : "no pipeline");
    g_clear_error (&parse_error);
    return 1;
  }
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  appsink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  /* A property, not text in the launch line: the element checks the name,
   * whatever the user typed. */
  g_object_set (src, "channel", argv[1], NULL);
  tally.latencies = g_array_new (FALSE, FALSE, sizeof (guint64));
  tally.all_latencies = g_array_new (FALSE, FALSE, sizeof (guint64));
  tally.second_started = g_get_monotonic_time ();

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (;;) {
    GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (appsink),
        100 * GST_MSECOND);
    GstMessage *error;

    if (sample) {
      GstBuffer *buffer = gst_sample_get_buffer (sample);
      GstMapInfo map;

      measure (&tally, pipeline, sample);
      /* Reading the chunk in place: a sum of every 4096th byte. */
      if (gst_buffer_map (buffer, &map, GST_MAP_READ)) {
        for (gsize i = 0; i < map.size; i += 4096)
          tally.checksum += map.data[i];
        gst_buffer_unmap (buffer, &map);
      }
      if (!caps)
        caps = gst_caps_ref (gst_sample_get_caps (sample));
      if (tally.frames++ == 0)
        tally.started = g_get_monotonic_time ();
      tally.frames_this_second++;
      gst_sample_unref (sample);
    } else if (gst_app_sink_is_eos (GST_APP_SINK (appsink))) {
      break;
    }

    error = gst_bus_pop_filtered (GST_ELEMENT_BUS (pipeline),
        GST_MESSAGE_ERROR);
    if (error) {
      GError *gerror = NULL;

      gst_message_parse_error (error, &gerror, NULL);
      g_printerr ("\nerror: %s\n", gerror->message);
      g_error_free (gerror);
      gst_message_unref (error);
      status = 1;
      break;
    }
    if (g_get_monotonic_time () - tally.second_started >= G_USEC_PER_SEC)
      print_status (&tally, src, tty);
  }

  if (tty)
    g_print ("\n");
  if (tally.frames > 0) {
    gdouble seconds = (g_get_monotonic_time () - tally.started) / 1e6;
    gchar *caps_string = caps ? gst_caps_to_string (caps) : g_strdup ("-");

    g_print ("received %" G_GUINT64_FORMAT " frames in %.1f s (%.1f "
        "frames/s); latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n"
        "caps: %s\nsum of every 4096th byte read: %" G_GUINT64_FORMAT "\n",
        tally.frames, seconds, tally.frames / MAX (seconds, 1e-3),
        percentile (tally.all_latencies, 50) / 1e6,
        percentile (tally.all_latencies, 99) / 1e6,
        percentile (tally.all_latencies, 100) / 1e6, caps_string,
        tally.checksum);
    g_free (caps_string);
  } else {
    g_print ("received no frame\n");
  }

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_clear_caps (&caps);
  g_array_unref (tally.latencies);
  g_array_unref (tally.all_latencies);
  gst_object_unref (appsink);
  gst_object_unref (src);
  gst_object_unref (pipeline);
  return status;
}
