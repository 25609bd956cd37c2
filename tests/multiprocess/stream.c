/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Stream semantics across the process boundary, with real pipelines in real
 * processes: events in order, what a late joiner gets, metas with their
 * frames, a keyframe for an H.264 joiner, an mp4 round trip, resolution
 * flips, audio and video of one producer kept in sync by a muxing consumer,
 * a stream whose pool limit is below two frames, and a decoder that
 * publishes without a copy.
 */
#include "child.h"

#include <glib/gstdio.h>
#include <gst/video/video.h>
#include <string.h>
#include <unistd.h>

/* What @child's streaming thread prints (caps, events, frames) until it
 * ends, which must be with EOS.  Bus reports such as "base-time" come from
 * the child's main thread, so their place among these is a race. */
static GPtrArray *
stream_lines (Child * child)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);
  const gchar *line;

  while ((line = child_next_line (child, DEADLINE_S)))
    if (g_str_has_prefix (line, "frame ") || g_str_has_prefix (line, "event ")
        || g_str_has_prefix (line, "caps "))
      g_ptr_array_add (lines, g_strdup (line));
  fail_unless_equals_int (child_finish (child, DEADLINE_S), 0);
  return lines;
}

static guint
index_of (GPtrArray * lines, const gchar * prefix, guint from)
{
  for (guint i = from; i < lines->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (lines, i), prefix))
      return i;
  return G_MAXUINT;
}

static guint
count_of (GPtrArray * lines, const gchar * prefix)
{
  guint count = 0;

  for (guint i = 0; i < lines->len; i++)
    count += g_str_has_prefix (g_ptr_array_index (lines, i), prefix);
  return count;
}

static guint64
line_number (const gchar * line, const gchar * name)
{
  gchar *key = g_strdup_printf (" %s=", name);
  const gchar *at = strstr (line, key);

  fail_unless (at != NULL, "no %s in '%s'", name, line);
  g_free (key);
  return g_ascii_strtoull (strchr (at + 1, '=') + 1, NULL, 10);
}

/* A publisher that waits for its one subscriber before it plays, and that
 * subscriber, on a channel of their own. */
typedef struct
{
  gchar *channel;
  Child *pub, *sub;
} Pair;

/* Starts the publisher of @pub_format, a pipeline whose one %s is the
 * channel, with @pub_options besides "--wait-subscribers 1"; then a
 * lossless subscriber with @sub_middle before its sink. */
static void
pair_start (Pair * pair, const gchar * name, const gchar * pub_options,
    const gchar * pub_format, const gchar * sub_middle)
{
  gchar *options = g_strconcat ("--wait-subscribers 1 ", pub_options, NULL);
  gchar *pub_line, *sub_line;

  pair->channel = unique_channel (name);
  pub_line = g_strdup_printf (pub_format, pair->channel);
  sub_line = subscriber_line (pair->channel, sub_middle);
  pair->pub = child_start (options, pub_line);
  pair->sub = child_start (NULL, sub_line);
  g_free (sub_line);
  g_free (pub_line);
  g_free (options);
}

/* Checks that the pair left nothing of its channel, and frees it. */
static void
pair_finish (Pair * pair)
{
  assert_channel_gone (pair->channel);
  child_free (pair->sub);
  child_free (pair->pub);
  g_free (pair->channel);
}

/* Custom events sent before every 10th buffer reach a subscriber right
 * before that buffer, after stream-start, caps, segment and tags, with one
 * segment in all. */
GST_START_TEST (test_events_in_order)
{
  Pair pair;
  GPtrArray *lines;
  guint caps_at, segment_at, tag_at, first_frame_at;

  pair_start (&pair, "events", "--custom-every 10", "videotestsrc "
      "num-buffers=60 ! " SMALL_VIDEO " ! taginject tags=\"title=zerocp\" ! "
      "zerocpsink name=probe channel=%s sync=false", "");
  lines = stream_lines (pair.sub);
  fail_unless_equals_int (child_finish (pair.pub, DEADLINE_S), 0);

  caps_at = index_of (lines, "caps ", 0);
  segment_at = index_of (lines, "event segment", 0);
  tag_at = index_of (lines, "event tag ", 0);
  first_frame_at = index_of (lines, "frame ", 0);
  fail_unless (index_of (lines, "event stream-start", 0) < caps_at);
  fail_unless (caps_at < segment_at && segment_at < tag_at &&
      tag_at < first_frame_at, "caps %u, segment %u, tag %u, frame %u",
      caps_at, segment_at, tag_at, first_frame_at);
  fail_unless (strstr (g_ptr_array_index (lines, tag_at), "zerocp") != NULL);
  fail_unless_equals_int (count_of (lines, "event segment"), 1);
  fail_unless_equals_int (count_of (lines, "frame "), 60);

  /* Each custom event, right before the frame it was sent before. */
  fail_unless_equals_int (count_of (lines, "event custom zerocp-test"), 5);
  for (guint i = 0; i < lines->len; i++) {
    const gchar *line = g_ptr_array_index (lines, i);

    if (!g_str_has_prefix (line, "event custom zerocp-test"))
      continue;
    fail_unless (i + 1 < lines->len);
    fail_unless (g_str_has_prefix (g_ptr_array_index (lines, i + 1),
            "frame "), "after '%s': '%s'", line,
        (gchar *) g_ptr_array_index (lines, i + 1));
    fail_unless_equals_uint64 (g_ascii_strtoull (strchr (line, ')') + 1,
            NULL, 10), g_ascii_strtoull ((gchar *) g_ptr_array_index (lines,
                i + 1) + 6, NULL, 10));
  }
  pair_finish (&pair);
  g_ptr_array_unref (lines);
}

GST_END_TEST;

/* Runs the pair to its end: the subscriber printed @frames frames, each
 * with the @field the publisher printed for it, which was not "none" in
 * @with_field of them (the element meant to make it did). */
static void
check_frames_carry (Pair * pair, guint frames, const gchar * field,
    guint with_field)
{
  GPtrArray *sub_lines = stream_lines (pair->sub);
  GPtrArray *pub_lines = stream_lines (pair->pub);
  guint set = 0;

  fail_unless_equals_int (pair->sub->frames->len, frames);
  fail_unless_equals_int (pair->pub->frames->len, frames);
  for (guint i = 0; i < frames; i++) {
    gchar *sent = frame_field (pair->pub, i, field);
    gchar *got = frame_field (pair->sub, i, field);

    fail_unless_equals_string (got, sent);
    set += !g_str_equal (sent, "none");
    g_free (got);
    g_free (sent);
  }
  fail_unless_equals_int (set, with_field);
  g_ptr_array_unref (sub_lines);
  g_ptr_array_unref (pub_lines);
}

/* A time code meta (timecodestamper's) comes with each frame to the
 * subscriber's pad, the same as on the publisher's. */
GST_START_TEST (test_time_codes_cross)
{
  Pair pair;

  pair_start (&pair, "timecode", "", "videotestsrc num-buffers=30 ! "
      SMALL_VIDEO " ! timecodestamper ! zerocpsink name=probe channel=%s "
      "sync=false", "");
  check_frames_carry (&pair, 30, "tc", 30);
  pair_finish (&pair);
}

GST_END_TEST;

/* H.264 SEI user data comes with its frame: x264enc writes its settings
 * into one before the first frame, h264parse makes a meta of it.  The
 * sink renders x264enc's first frames while still PAUSED (their DTS is
 * before the segment, so basesink does not hold them for preroll): it
 * waits for the subscriber itself. */
GST_START_TEST (test_sei_user_data_crosses)
{
  Pair pair;

  pair_start (&pair, "sei", "", "videotestsrc num-buffers=10 ! "
      SMALL_VIDEO " ! x264enc ! h264parse ! zerocpsink name=probe "
      "channel=%s sync=false wait-for-connection=true", "");
  check_frames_carry (&pair, 10, "sei", 1);
  pair_finish (&pair);
}

GST_END_TEST;

/* A subscriber that joins a running live stream gets stream-start, caps,
 * segment and tags before its first buffer; the tags whole, though they
 * take more than one record (a comment of 6,000 letters, as long as song
 * lyrics). */
GST_START_TEST (test_late_joiner_gets_sticky_events)
{
  gchar *channel = unique_channel ("latejoin");
  gchar *comment = g_strnfill (6000, 'z');
  gchar *pub_line = g_strdup_printf ("videotestsrc is-live=true "
      "num-buffers=90 ! " SMALL_VIDEO " ! taginject tags=\"title=late,"
      "comment=%s\" ! zerocpsink name=probe channel=%s", comment, channel);
  gchar *sub_line = g_strdup_printf ("zerocpsrc channel=%s num-buffers=5 ! "
      "fakesink name=probe", channel);
  Child *pub, *sub;
  GPtrArray *lines;
  guint stream_start_at, caps_at, segment_at, tag_at, first_frame_at;

  pub = child_start (NULL, pub_line);
  child_wait_frames (pub, 15, DEADLINE_S);
  sub = child_start (NULL, sub_line);
  lines = stream_lines (sub);

  stream_start_at = index_of (lines, "event stream-start", 0);
  caps_at = index_of (lines, "caps ", 0);
  segment_at = index_of (lines, "event segment", 0);
  tag_at = index_of (lines, "event tag ", 0);
  first_frame_at = index_of (lines, "frame ", 0);
  fail_unless (stream_start_at < caps_at && caps_at < segment_at &&
      segment_at < tag_at && tag_at < first_frame_at,
      "stream-start %u, caps %u, segment %u, tag %u, frame %u",
      stream_start_at, caps_at, segment_at, tag_at, first_frame_at);
  fail_unless (strstr (g_ptr_array_index (lines, tag_at), "late") != NULL);
  fail_unless (strstr (g_ptr_array_index (lines, tag_at), comment) != NULL,
      "the tags came without their long comment");
  fail_unless_equals_int (count_of (lines, "frame "), 5);

  fail_unless_equals_int (child_finish (pub, DEADLINE_S), 0);
  assert_channel_gone (channel);
  g_ptr_array_unref (lines);
  child_free (sub);
  child_free (pub);
  g_free (sub_line);
  g_free (pub_line);
  g_free (comment);
  g_free (channel);
}

GST_END_TEST;

/* An H.264 stream with a keyframe every 1000 frames: subscribers that join
 * at frame 15 ask for one and decode from their first frames on (one
 * watches the frames before its decoder, the other after it, with
 * undecodable frames dropped). */
GST_START_TEST (test_h264_joiner_gets_a_keyframe)
{
  gchar *channel = unique_channel ("h264join");
  gchar *pub_line = g_strdup_printf ("videotestsrc is-live=true "
      "num-buffers=120 ! " SMALL_VIDEO " ! x264enc key-int-max=1000 "
      "tune=zerolatency speed-preset=ultrafast ! h264parse ! "
      "zerocpsink name=probe channel=%s", channel);
  gchar *sub_line = g_strdup_printf ("zerocpsrc channel=%s num-buffers=20 ! "
      "h264parse ! identity name=probe ! avdec_h264 ! fakesink", channel);
  gchar *decoding_line = g_strdup_printf ("zerocpsrc channel=%s "
      "num-buffers=20 ! h264parse ! avdec_h264 output-corrupt=false ! "
      "fakesink name=probe", channel);
  Child *pub, *sub, *decoding;
  GPtrArray *lines, *decoded_lines;
  guint keyframe_at = G_MAXUINT, frames = 0, decoded;

  pub = child_start (NULL, pub_line);
  child_wait_frames (pub, 15, DEADLINE_S);
  sub = child_start (NULL, sub_line);
  decoding = child_start (NULL, decoding_line);
  lines = stream_lines (sub);
  decoded_lines = stream_lines (decoding);

  for (guint i = 0; i < lines->len; i++) {
    const gchar *line = g_ptr_array_index (lines, i);

    if (!g_str_has_prefix (line, "frame "))
      continue;
    if (keyframe_at == G_MAXUINT && line_number (line, "delta") == 0)
      keyframe_at = frames;
    frames++;
  }
  GST_INFO ("keyframe at the subscriber's frame %u of %u", keyframe_at, frames);
  /* A few frames in flight when the request reached the encoder. */
  fail_unless (keyframe_at < 10, "no keyframe in the first 10 frames");
  fail_unless_equals_int (frames, 20);

  decoded = count_of (decoded_lines, "frame ");
  GST_INFO ("decoded %u of 20 frames", decoded);
  fail_unless (index_of (decoded_lines, "caps video/x-raw", 0) != G_MAXUINT);
  fail_unless (decoded >= 11 && decoded <= 20, "decoded %u of 20", decoded);

  fail_unless_equals_int (child_finish (pub, DEADLINE_S), 0);
  assert_channel_gone (channel);
  g_ptr_array_unref (decoded_lines);
  g_ptr_array_unref (lines);
  child_free (decoding);
  child_free (sub);
  child_free (pub);
  g_free (decoding_line);
  g_free (sub_line);
  g_free (pub_line);
  g_free (channel);
}

GST_END_TEST;

static gchar *
temp_path (const gchar * name)
{
  gchar *file = g_strdup_printf ("zerocp-%d-%s", (int) getpid (), name);
  gchar *path = g_build_filename (g_get_tmp_dir (), file, NULL);

  g_free (file);
  return path;
}

/* Frames the file at @path holds, demuxed by @demuxer. */
static guint
frames_in_file (const gchar * path, const gchar * demuxer_and_pad,
    const gchar * parser)
{
  gchar *line = g_strdup_printf ("filesrc location=%s ! %s ! %s ! fakesink "
      "name=probe", path, demuxer_and_pad, parser);
  Child *child = child_start (NULL, line);
  GPtrArray *lines = stream_lines (child);
  guint frames = count_of (lines, "frame ");

  g_ptr_array_unref (lines);
  child_free (child);
  g_free (line);
  return frames;
}

/* filesrc ! decodebin ! zerocpsink and zerocpsrc is-live=false ! x264enc !
 * mp4mux, with -e: a valid out.mp4 with every frame. */
GST_START_TEST (test_mp4_round_trip)
{
  gchar *channel = unique_channel ("mp4");
  gchar *in_path = temp_path ("in.mp4"), *out_path = temp_path ("out.mp4");
  gchar *make_line = g_strdup_printf ("videotestsrc num-buffers=90 ! "
      SMALL_VIDEO " ! x264enc speed-preset=ultrafast ! mp4mux ! filesink "
      "location=%s", in_path);
  gchar *pub_line = g_strdup_printf ("filesrc location=%s ! decodebin ! "
      "zerocpsink name=probe channel=%s", in_path, channel);
  gchar *sub_line = g_strdup_printf ("zerocpsrc channel=%s is-live=false ! "
      "x264enc speed-preset=ultrafast ! mp4mux ! filesink location=%s",
      channel, out_path);
  Child *make, *pub, *sub;

  make = child_start (NULL, make_line);
  fail_unless_equals_int (child_finish (make, DEADLINE_S), 0);
  fail_unless_equals_int (frames_in_file (in_path, "qtdemux", "h264parse"), 90);

  pub = child_start ("--wait-subscribers 1", pub_line);
  sub = child_start ("--eos-on-sigint", sub_line);
  fail_unless_equals_int (child_finish (pub, DEADLINE_S), 0);
  fail_unless_equals_int (child_finish (sub, DEADLINE_S), 0);
  fail_unless_equals_int (frames_in_file (out_path, "qtdemux", "h264parse"),
      90);
  assert_channel_gone (channel);

  g_unlink (in_path);
  g_unlink (out_path);
  child_free (make);
  child_free (pub);
  child_free (sub);
  g_free (make_line);
  g_free (pub_line);
  g_free (sub_line);
  g_free (in_path);
  g_free (out_path);
  g_free (channel);
}

GST_END_TEST;

/* Frames among @lines, each checked to have the size of the last caps
 * before it; @caps_changes, if not NULL, gets how many caps came. */
static guint
count_frames_of_their_caps (GPtrArray * lines, guint * caps_changes)
{
  guint64 frame_size = 0;
  guint frames = 0, changes = 0;

  for (guint i = 0; i < lines->len; i++) {
    const gchar *line = g_ptr_array_index (lines, i);

    if (g_str_has_prefix (line, "caps ")) {
      GstCaps *caps = gst_caps_from_string (line + 5);
      GstVideoInfo info;

      fail_unless (gst_video_info_from_caps (&info, caps), "%s", line);
      frame_size = info.size;
      changes++;
      gst_caps_unref (caps);
    } else if (g_str_has_prefix (line, "frame ")) {
      fail_unless_equals_uint64 (line_number (line, "size"), frame_size);
      frames++;
    }
  }
  if (caps_changes)
    *caps_changes = changes;
  return frames;
}

/* The resolution flips every 10 frames, 30 times: each frame reaches the
 * subscriber after the caps of its size, each size gets a pool of its own
 * while the last one is retired, and nothing stays in /dev/shm. */
GST_START_TEST (test_caps_flip)
{
  Pair pair;
  GPtrArray *lines;
  GstStructure *stats;
  guint frames, caps_changes = 0, pools = 0;

  pair_start (&pair, "flip", "--flip-every 10 --idle-stats", "videotestsrc "
      "num-buffers=300 ! capsfilter name=flip caps=" SMALL_VIDEO " ! "
      "zerocpsink name=probe channel=%s sync=false", "");
  lines = stream_lines (pair.sub);
  child_expect (pair.pub, "stats ", DEADLINE_S);
  stats = gst_structure_from_string (pair.pub->last_line + 6, NULL);
  fail_unless (stats != NULL, "%s", pair.pub->last_line);
  /* Thirty pools were made one after the other; each was unlinked once the
   * subscriber let go of its last chunk, and only the last one is left. */
  fail_unless (gst_structure_get_uint (stats, "pools", &pools), "%"
      GST_PTR_FORMAT, stats);
  fail_unless_equals_int (pools, 1);
  gst_structure_free (stats);
  fail_unless_equals_int (child_finish (pair.pub, DEADLINE_S), 0);

  frames = count_frames_of_their_caps (lines, &caps_changes);
  fail_unless_equals_int (frames, 300);
  fail_unless (caps_changes >= 25, "only %u caps", caps_changes);
  pair_finish (&pair);
  g_ptr_array_unref (lines);
}

GST_END_TEST;

/* Caps that change at every frame, to a lossless subscriber that falls
 * many frames behind: each frame still comes after the caps of its size
 * (the channel keeps only the last four generations; the rest travel in
 * order with the frames). */
GST_START_TEST (test_caps_every_frame_to_a_slow_subscriber)
{
  Pair pair;
  guint frames;
  GPtrArray *lines;

  pair_start (&pair, "flip-slow", "--flip-every 1", "videotestsrc "
      "num-buffers=40 ! capsfilter name=flip caps=" SMALL_VIDEO " ! "
      "zerocpsink name=probe channel=%s sync=false",
      "identity sleep-time=20000 !");
  lines = stream_lines (pair.sub);
  fail_unless_equals_int (child_finish (pair.pub, DEADLINE_S), 0);

  frames = count_frames_of_their_caps (lines, NULL);
  fail_unless_equals_int (frames, 40);
  pair_finish (&pair);
  g_ptr_array_unref (lines);
}

GST_END_TEST;

/* A limit below two frames (max-pool-bytes, or half of a small /dev/shm)
 * still streams to a sink that keeps its last frame, as fakesink and
 * appsink do by default: with one chunk, that frame would be the only one,
 * and upstream would wait for it forever. */
GST_START_TEST (test_pool_limit_below_two_frames_streams)
{
  gchar *channel = unique_channel ("tiny-limit");
  gchar *pub_line = g_strdup_printf ("videotestsrc num-buffers=30 ! "
      SMALL_VIDEO " ! zerocpsink channel=%s max-pool-bytes=1 "
      "wait-for-connection=true", channel);
  gchar *sub_line = g_strdup_printf ("zerocpsrc channel=%s leaky=no ! "
      "fakesink name=probe", channel);
  GPtrArray *lines;
  Child *pub, *sub;

  sub = child_start (NULL, sub_line);
  pub = child_start (NULL, pub_line);
  lines = stream_lines (sub);
  fail_unless_equals_int (count_of (lines, "frame "), 30);
  fail_unless_equals_int (child_finish (pub, DEADLINE_S), 0);
  assert_channel_gone (channel);

  g_ptr_array_unref (lines);
  child_free (sub);
  child_free (pub);
  g_free (sub_line);
  g_free (pub_line);
  g_free (channel);
}

GST_END_TEST;

/* A decoder publishes without a copy: avdec_h264 decodes into the pool,
 * and GstVideoDecoder's copies of the frames it keeps as references are
 * chunks too. */
GST_START_TEST (test_decoder_publishes_without_copies)
{
  gchar *channel = unique_channel ("avdec");
  gchar *pub_line = g_strdup_printf ("videotestsrc num-buffers=30 ! "
      "video/x-raw,format=I420,width=320,height=240 ! "
      "x264enc tune=zerolatency ! avdec_h264 ! zerocpsink name=probe channel=%s "
      "wait-for-connection=true", channel);
  gchar *sub_line = g_strdup_printf ("zerocpsrc channel=%s leaky=no ! "
      "fakesink name=probe", channel);
  GstStructure *stats;
  GPtrArray *lines;
  Child *pub, *sub;

  sub = child_start (NULL, sub_line);
  pub = child_start (NULL, pub_line);
  lines = stream_lines (sub);
  fail_unless_equals_int (count_of (lines, "frame "), 30);
  child_expect (pub, "stats ", DEADLINE_S);
  stats = child_stats (pub);
  fail_unless_equals_uint64 (stats_uint64 (stats, "frames-published"), 30);
  fail_unless_equals_uint64 (stats_uint64 (stats, "frames-copied"), 0);
  fail_unless_equals_int (child_finish (pub, DEADLINE_S), 0);
  assert_channel_gone (channel);

  gst_structure_free (stats);
  g_ptr_array_unref (lines);
  child_free (sub);
  child_free (pub);
  g_free (sub_line);
  g_free (pub_line);
  g_free (channel);
}

GST_END_TEST;

/* The last timestamp of the stream @pad of @path, in nanoseconds. */
static guint64
last_end_time (const gchar * path, const gchar * pad)
{
  gchar *line = g_strdup_printf ("filesrc location=%s ! matroskademux name=d "
      "d.%s ! fakesink name=probe", path, pad);
  Child *child = child_start (NULL, line);
  GPtrArray *lines = stream_lines (child);
  guint last = index_of (lines, "frame ", 0), i;
  guint64 end;

  fail_unless (last != G_MAXUINT, "no %s in %s", pad, path);
  for (i = last; i < lines->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (lines, i), "frame "))
      last = i;
  end = line_number (g_ptr_array_index (lines, last), "pts") +
      line_number (g_ptr_array_index (lines, last), "dur");
  g_ptr_array_unref (lines);
  child_free (child);
  g_free (line);
  return end;
}

/* Audio and video of one producer, 30 s of each, through two channels into
 * one muxing consumer: in the file they end within one video frame. */
GST_START_TEST (test_audio_video_stay_in_sync)
{
  gchar *video = unique_channel ("av-video"), *audio = unique_channel
      ("av-audio");
  gchar *path = temp_path ("av.mkv");
  gchar *pub_line = g_strdup_printf ("videotestsrc num-buffers=900 ! "
      "video/x-raw,format=I420,width=160,height=120,framerate=30/1 ! "
      "zerocpsink name=probe channel=%s wait-for-connection=true sync=false "
      "audiotestsrc num-buffers=1500 samplesperbuffer=960 ! "
      "audio/x-raw,format=S16LE,channels=2,rate=48000 ! zerocpsink "
      "channel=%s wait-for-connection=true sync=false", video, audio);
  gchar *sub_line = g_strdup_printf ("matroskamux name=mux ! filesink "
      "location=%s zerocpsrc channel=%s is-live=false ! x264enc "
      "speed-preset=ultrafast ! mux.video_0 zerocpsrc channel=%s "
      "is-live=false ! mux.audio_0", path, video, audio);
  const guint64 frame = GST_SECOND / 30;
  guint64 video_end, audio_end;
  Child *pub, *sub;

  sub = child_start (NULL, sub_line);
  pub = child_start (NULL, pub_line);
  fail_unless_equals_int (child_finish (pub, DEADLINE_S), 0);
  fail_unless_equals_int (child_finish (sub, DEADLINE_S), 0);

  video_end = last_end_time (path, "video_0");
  audio_end = last_end_time (path, "audio_0");
  GST_INFO ("video ends at %" GST_TIME_FORMAT ", audio at %" GST_TIME_FORMAT,
      GST_TIME_ARGS (video_end), GST_TIME_ARGS (audio_end));
  fail_unless (video_end + frame >= 30 * GST_SECOND &&
      video_end <= 30 * GST_SECOND + frame);
  fail_unless (audio_end + frame >= video_end &&
      audio_end <= video_end + frame);
  assert_channel_gone (video);
  assert_channel_gone (audio);

  g_unlink (path);
  child_free (pub);
  child_free (sub);
  g_free (pub_line);
  g_free (sub_line);
  g_free (path);
  g_free (video);
  g_free (audio);
}

GST_END_TEST;

static Suite *
stream_suite (void)
{
  Suite *suite = suite_create ("stream");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 120);
  tcase_add_unchecked_fixture (tc, NULL, remove_leftover_channels);
  tcase_add_test (tc, test_events_in_order);
  tcase_add_test (tc, test_time_codes_cross);
  tcase_add_test (tc, test_sei_user_data_crosses);
  tcase_add_test (tc, test_late_joiner_gets_sticky_events);
  tcase_add_test (tc, test_h264_joiner_gets_a_keyframe);
  tcase_add_test (tc, test_mp4_round_trip);
  tcase_add_test (tc, test_caps_flip);
  tcase_add_test (tc, test_caps_every_frame_to_a_slow_subscriber);
  tcase_add_test (tc, test_audio_video_stay_in_sync);
  tcase_add_test (tc, test_pool_limit_below_two_frames_streams);
  tcase_add_test (tc, test_decoder_publishes_without_copies);
  suite_add_tcase (suite, tc);
  return suite;
}

GST_CHECK_MAIN (stream);
