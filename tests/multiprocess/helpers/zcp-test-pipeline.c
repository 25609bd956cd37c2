/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs one pipeline, as gst-launch-1.0 would, and reports on stdout, one line
 * each, what the multi-process tests check:
 *
 *   state started                   (set_state returned: a sink's channel
 *                                    exists, a source is subscribing)
 *   base-time NS                    (once the pipeline reaches PLAYING)
 *   event stream-start | segment    (reaching the element named "probe")
 *   event tag TAGLIST | custom STRUCTURE | gap pts=NS
 *   caps CAPS                       (likewise)
 *   frame N pts=NS dur=NS crc=HEX mem=TYPE ro=0|1 discont=0|1
 *         shm=FILE+OFFSET delta=0|1 size=BYTES tc=HH:MM:SS:FF|none
 *         sei=UUID/SIZE/MD5[,...]|none
 *                                   (one line; tc, the time code meta's;
 *                                    sei, each SEI user data meta's)
 *   overwritten N                   (a held frame changed under us)
 *   message STRUCTURE               (element messages named zerocp-*)
 *   warning DOMAIN CODE MESSAGE
 *   stats STRUCTURE                 (of "probe", if it has a stats property)
 *   eos | interrupted | error DOMAIN CODE MESSAGE
 *
 * Options: --hold N keeps the last N buffers and checks, as it lets each go,
 * that its bytes did not change; --delay-ms N makes the probe slow;
 * --eos-on-sigint ends the stream with EOS on SIGINT, as gst-launch-1.0 -e;
 * --idle-stats waits (10 s at most) after EOS until the probe's stats say no
 * chunk is in use, then prints them; --wait-subscribers N holds the pipeline
 * in PAUSED until the probe (a zerocpsink) has N subscribers (60 s at most);
 * --custom-every N sends a custom downstream event "zerocp-test,
 * before=(guint64)K" into the probe before every Nth buffer K but the first
 * (which a sink renders in preroll, perhaps before a subscriber is there);
 * --flip-every N swaps the width and height of the caps of the capsfilter
 * named "flip" between their values and half of them every N buffers.
 * Exit status: 0 after EOS or SIGINT, 1 after an error, 2 if a held frame
 * was overwritten.
 */
#include <glib-unix.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <stdio.h>
#include <string.h>

typedef struct
{
  GstBuffer *buffer;
  guint64 crc;
  guint64 number;
} HeldFrame;

static GMainLoop *loop;
static GstElement *pipeline;
static GQueue held = G_QUEUE_INIT;
static guint hold_count, delay_ms;
static gboolean eos_on_sigint, idle_stats;
static guint wait_subscribers;
static guint custom_every;
static guint flip_every;
static guint64 frame_count;
static gboolean overwritten;
static int exit_status;

static guint64
checksum (GstBuffer * buffer)
{
  guint64 hash = 1469598103934665603ull;        /* FNV-1a */
  GstMapInfo map;

  if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
    return 0;
  for (gsize i = 0; i < map.size; i++)
    hash = (hash ^ map.data[i]) * 1099511628211ull;
  gst_buffer_unmap (buffer, &map);
  return hash;
}

/* The buffer's H.264/H.265 SEI user data metas, newest first, each as its
 * UUID, size and digest, or "none". */
static gchar *
sei_user_data_of (GstBuffer * buffer)
{
  GString *text = g_string_new (NULL);
  gpointer state = NULL;
  GstMeta *meta;

  while ((meta = gst_buffer_iterate_meta_filtered (buffer, &state,
              GST_VIDEO_SEI_USER_DATA_UNREGISTERED_META_API_TYPE))) {
    GstVideoSEIUserDataUnregisteredMeta *sei =
        (GstVideoSEIUserDataUnregisteredMeta *) meta;
    gchar *digest = g_compute_checksum_for_data (G_CHECKSUM_MD5, sei->data,
        sei->size);

    if (text->len)
      g_string_append_c (text, ',');
    for (guint i = 0; i < sizeof sei->uuid; i++)
      g_string_append_printf (text, "%02x", sei->uuid[i]);
    g_string_append_printf (text, "/%" G_GSIZE_FORMAT "/%s", sei->size, digest);
    g_free (digest);
  }
  if (!text->len)
    g_string_append (text, "none");
  return g_string_free (text, FALSE);
}

/* Which file, and where in it, the kernel says these bytes live. */
static gchar *
backing_of (GstBuffer * buffer)
{
  gchar *result = g_strdup ("none");
  GstMapInfo map;
  gchar line[1024];
  FILE *maps;

  if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
    return result;
  maps = fopen ("/proc/self/maps", "r");
  while (maps && fgets (line, sizeof line, maps)) {
    guintptr start, end, address = (guintptr) map.data;
    unsigned long long offset;
    char path[512] = "";

    if (sscanf (line, "%" G_GINTPTR_MODIFIER "x-%" G_GINTPTR_MODIFIER
            "x %*s %llx %*s %*s %511s", &start, &end, &offset, path) < 3)
      continue;
    if (address >= start && address < end) {
      g_free (result);
      result = g_strdup_printf ("%s+%llu", path[0] ? path : "anonymous",
          offset + (address - start));
      break;
    }
  }
  if (maps)
    fclose (maps);
  gst_buffer_unmap (buffer, &map);
  return result;
}

static void
release_oldest (void)
{
  HeldFrame *frame = g_queue_pop_head (&held);

  if (checksum (frame->buffer) != frame->crc) {
    printf ("overwritten %" G_GUINT64_FORMAT "\n", frame->number);
    overwritten = TRUE;
  }
  gst_buffer_unref (frame->buffer);
  g_free (frame);
}

/* A resolution change upstream of the probe: the capsfilter's caps
 * alternate between their size and half of it. */
static void
flip_caps (void)
{
  GstElement *flip = gst_bin_get_by_name (GST_BIN (pipeline), "flip");
  static gboolean halved;
  GstStructure *structure;
  GstCaps *caps;
  gint width, height;

  if (!flip)
    return;
  g_object_get (flip, "caps", &caps, NULL);
  caps = gst_caps_make_writable (caps);
  structure = gst_caps_get_structure (caps, 0);
  gst_structure_get_int (structure, "width", &width);
  gst_structure_get_int (structure, "height", &height);
  halved = !halved;
  gst_structure_set (structure, "width", G_TYPE_INT, halved ? width / 2 :
      width * 2, "height", G_TYPE_INT, halved ? height / 2 : height * 2, NULL);
  g_object_set (flip, "caps", caps, NULL);
  gst_caps_unref (caps);
  gst_object_unref (flip);
}

/* Element messages are printed from the thread that posts them, so that
 * a source's "publisher lost" comes out in order with the probe's lines. */
static GstBusSyncReply
sync_message_cb (GstBus * bus, GstMessage * message, gpointer user_data)
{
  const GstStructure *structure = gst_message_get_structure (message);

  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ELEMENT &&
      g_str_has_prefix (gst_structure_get_name (structure), "zerocp-")) {
    gchar *string = gst_structure_to_string (structure);

    printf ("message %s\n", string);
    g_free (string);
  }
  return GST_BUS_PASS;
}

static GstPadProbeReturn
probe_cb (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);

    if (GST_EVENT_TYPE (event) == GST_EVENT_STREAM_START ||
        GST_EVENT_TYPE (event) == GST_EVENT_SEGMENT) {
      printf ("event %s\n", GST_EVENT_TYPE_NAME (event));
    } else if (GST_EVENT_TYPE (event) == GST_EVENT_TAG) {
      GstTagList *tags;
      gchar *string;

      gst_event_parse_tag (event, &tags);
      string = gst_tag_list_to_string (tags);
      printf ("event tag %s\n", string);
      g_free (string);
    } else if (GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_DOWNSTREAM) {
      gchar *string = gst_structure_to_string (gst_event_get_structure (event));

      printf ("event custom %s\n", string);
      g_free (string);
    } else if (GST_EVENT_TYPE (event) == GST_EVENT_GAP) {
      GstClockTime timestamp;

      gst_event_parse_gap (event, &timestamp, NULL);
      printf ("event gap pts=%" G_GUINT64_FORMAT "\n", timestamp);
    } else if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
      GstCaps *caps;
      gchar *string;

      gst_event_parse_caps (event, &caps);
      string = gst_caps_to_string (caps);
      printf ("caps %s\n", string);
      g_free (string);
    }
  } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
    GstMemory *mem = gst_buffer_peek_memory (buffer, 0);
    guint64 crc = checksum (buffer);
    gchar *backing = backing_of (buffer);
    GstVideoTimeCodeMeta *tc_meta =
        gst_buffer_get_video_time_code_meta (buffer);
    gchar *tc =
        tc_meta ? gst_video_time_code_to_string (&tc_meta->tc) :
        g_strdup ("none");
    gchar *sei = sei_user_data_of (buffer);

    if (custom_every && frame_count && frame_count % custom_every == 0)
      gst_pad_send_event (pad, gst_event_new_custom
          (GST_EVENT_CUSTOM_DOWNSTREAM, gst_structure_new ("zerocp-test",
                  "before", G_TYPE_UINT64, frame_count, NULL)));

    printf ("frame %" G_GUINT64_FORMAT " pts=%" G_GUINT64_FORMAT " dur=%"
        G_GUINT64_FORMAT " crc=%016" G_GINT64_MODIFIER "x mem=%s ro=%d "
        "discont=%d shm=%s delta=%d size=%" G_GSIZE_FORMAT " tc=%s sei=%s\n",
        frame_count,
        GST_BUFFER_PTS (buffer),
        GST_BUFFER_DURATION (buffer), crc, mem->allocator ?
        mem->allocator->mem_type : "?", GST_MEMORY_IS_READONLY (mem),
        GST_BUFFER_IS_DISCONT (buffer), backing,
        GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT),
        gst_buffer_get_size (buffer), tc, sei);
    if (flip_every && frame_count && frame_count % flip_every == 0)
      flip_caps ();
    g_free (backing);
    g_free (tc);
    g_free (sei);

    if (hold_count) {
      HeldFrame *frame = g_new (HeldFrame, 1);

      frame->buffer = gst_buffer_ref (buffer);
      frame->crc = crc;
      frame->number = frame_count;
      g_queue_push_tail (&held, frame);
      if (held.length > hold_count)
        release_oldest ();
    }
    frame_count++;
    if (delay_ms)
      g_usleep (delay_ms * 1000);
  }
  return GST_PAD_PROBE_OK;
}

static void
print_stats (void)
{
  GstElement *probe = gst_bin_get_by_name (GST_BIN (pipeline), "probe");
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  GstStructure *stats = NULL;
  gchar *string;

  if (!probe)
    return;
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (probe), "stats")) {
    g_object_get (probe, "stats", &stats, NULL);
    /* Subscribers let go of their last frames a moment after EOS. */
    while (idle_stats && g_get_monotonic_time () < deadline) {
      guint in_use = 0;

      gst_structure_get_uint (stats, "chunks-in-use", &in_use);
      if (in_use == 0)
        break;
      gst_structure_free (stats);
      g_usleep (10000);
      g_object_get (probe, "stats", &stats, NULL);
    }
    string = gst_structure_to_string (stats);
    printf ("stats %s\n", string);
    g_free (string);
    gst_structure_free (stats);
  }
  gst_object_unref (probe);
}

static gboolean
bus_cb (GstBus * bus, GstMessage * message, gpointer user_data)
{
  switch (GST_MESSAGE_TYPE (message)) {
    case GST_MESSAGE_EOS:
      print_stats ();
      printf ("eos\n");
      g_main_loop_quit (loop);
      break;
    case GST_MESSAGE_ERROR:{
      GError *error = NULL;
      gchar *debug = NULL;

      gst_message_parse_error (message, &error, &debug);
      printf ("error %s %d %s\n", g_quark_to_string (error->domain),
          error->code, error->message);
      g_printerr ("debug: %s\n", debug ? debug : "");
      g_error_free (error);
      g_free (debug);
      exit_status = 1;
      g_main_loop_quit (loop);
      break;
    }
    case GST_MESSAGE_WARNING:{
      GError *error = NULL;

      gst_message_parse_warning (message, &error, NULL);
      printf ("warning %s %d %s\n", g_quark_to_string (error->domain),
          error->code, error->message);
      g_error_free (error);
      break;
    }
    case GST_MESSAGE_STATE_CHANGED:{
      GstState new_state;

      gst_message_parse_state_changed (message, NULL, &new_state, NULL);
      if (GST_MESSAGE_SRC (message) == GST_OBJECT_CAST (pipeline) &&
          new_state == GST_STATE_PLAYING)
        printf ("base-time %" G_GUINT64_FORMAT "\n",
            gst_element_get_base_time (pipeline));
      break;
    }
    default:
      break;
  }
  return TRUE;
}

static gboolean
sigint_cb (gpointer user_data)
{
  if (eos_on_sigint) {
    gst_element_send_event (pipeline, gst_event_new_eos ());
    return G_SOURCE_REMOVE;
  }
  print_stats ();
  printf ("interrupted\n");
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

/* A zerocpsink opens its channel on the way to PAUSED, and publishes no
 * frame basesink holds for preroll before PLAYING: subscribers can attach
 * in between.  (basesink renders at once a buffer it does not sync on, one
 * whose DTS is before the segment, say: x264enc's first frames.) */
static gboolean
wait_for_subscribers (void)
{
  GstElement *probe = gst_bin_get_by_name (GST_BIN (pipeline), "probe");
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  guint count = 0;

  if (!probe || gst_element_set_state (pipeline, GST_STATE_PAUSED) ==
      GST_STATE_CHANGE_FAILURE) {
    gst_clear_object (&probe);
    return FALSE;
  }
  while (g_get_monotonic_time () < deadline) {
    g_object_get (probe, "num-subscribers", &count, NULL);
    if (count >= wait_subscribers)
      break;
    g_usleep (10000);
  }
  gst_object_unref (probe);
  return count >= wait_subscribers;
}

int
main (int argc, char **argv)
{
  GOptionEntry entries[] = {
    {"hold", 0, 0, G_OPTION_ARG_INT, &hold_count,
        "Keep the last N buffers and check them as they go", "N"},
    {"delay-ms", 0, 0, G_OPTION_ARG_INT, &delay_ms,
        "Spend N ms on each buffer", "N"},
    {"eos-on-sigint", 0, 0, G_OPTION_ARG_NONE, &eos_on_sigint,
        "End the stream with EOS on SIGINT", NULL},
    {"idle-stats", 0, 0, G_OPTION_ARG_NONE, &idle_stats,
        "After EOS, print stats once no chunk is in use", NULL},
    {"wait-subscribers", 0, 0, G_OPTION_ARG_INT, &wait_subscribers,
        "Stay in PAUSED until the probe has N subscribers", "N"},
    {"custom-every", 0, 0, G_OPTION_ARG_INT, &custom_every,
        "Send a custom event into the probe before every Nth buffer", "N"},
    {"flip-every", 0, 0, G_OPTION_ARG_INT, &flip_every,
        "Halve or restore the size in capsfilter 'flip' every N buffers", "N"},
    {NULL}
  };
  GOptionContext *context = g_option_context_new ("PIPELINE-DESCRIPTION");
  GError *error = NULL;
  GstElement *probe;
  GstBus *bus;

  setvbuf (stdout, NULL, _IOLBF, 0);
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_group (context, gst_init_get_option_group ());
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 2) {
    g_printerr ("usage: %s [--hold N] [--delay-ms N] PIPELINE\n", argv[0]);
    return 64;
  }
  g_option_context_free (context);

  pipeline = gst_parse_launch (argv[1], &error);
  if (!pipeline || error) {
    printf ("error parse 0 %s\n", error ? error->message : "?");
    return 1;
  }

  probe = gst_bin_get_by_name (GST_BIN (pipeline), "probe");
  if (probe) {
    GstPad *pad = gst_element_get_static_pad (probe, "sink");

    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
        GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, probe_cb, NULL, NULL);
    gst_object_unref (pad);
    gst_object_unref (probe);
  }

  loop = g_main_loop_new (NULL, FALSE);
  bus = gst_element_get_bus (pipeline);
  gst_bus_set_sync_handler (bus, sync_message_cb, NULL, NULL);
  gst_bus_add_watch (bus, bus_cb, NULL);
  g_unix_signal_add (SIGINT, sigint_cb, NULL);

  if (wait_subscribers && !wait_for_subscribers ()) {
    printf ("error helper 0 fewer than %u subscribers after 60 s\n",
        wait_subscribers);
    exit_status = 1;
  } else if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    /* The error message on the bus says why. */
    g_main_loop_run (loop);
  } else {
    printf ("state started\n");
    g_main_loop_run (loop);
  }

  gst_element_set_state (pipeline, GST_STATE_NULL);
  while (held.length)
    release_oldest ();
  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  g_main_loop_unref (loop);
  return overwritten ? 2 : exit_status;
}
