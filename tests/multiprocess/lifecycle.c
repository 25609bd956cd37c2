/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Many subscribers, flow control and lifecycle, with real pipelines in real
 * processes: fan-out to 32, a stalled leaky subscriber, a lossless chain
 * interrupted, a publisher killed and restarted with other caps,
 * subscribers coming and going in a loop, and a killed publisher's channel
 * removed by the next subscriber.
 */
#include "child.h"

#include <signal.h>
#include <string.h>

static const gchar *
child_pid (Child * child)
{
  return g_subprocess_get_identifier (child->process);
}

/* The entry for @pid in a publisher's subscriber-stats. */
static const GstStructure *
subscriber_entry (const GstStructure * stats, const gchar * pid)
{
  const GValue *list = gst_structure_get_value (stats, "subscriber-stats");

  fail_unless (list != NULL && GST_VALUE_HOLDS_ARRAY (list), "%"
      GST_PTR_FORMAT, stats);
  for (guint i = 0; i < gst_value_array_get_size (list); i++) {
    const GstStructure *entry =
        gst_value_get_structure (gst_value_array_get_value (list, i));
    guint entry_pid = 0;

    gst_structure_get_uint (entry, "pid", &entry_pid);
    if (entry_pid == (guint) atoi (pid))
      return entry;
  }
  fail ("no subscriber %s in the publisher's stats", pid);
  return NULL;
}

static guint
stats_uint (const GstStructure * stats, const gchar * field)
{
  guint value = 0;

  fail_unless (gst_structure_get_uint (stats, field, &value), "no %s", field);
  return value;
}

/* Every frame the subscriber got is the publisher's, in the same chunk of
 * the same file: written once, read by all. */
static void
assert_shared_frames (Child * pub, Child * sub)
{
  fail_unless_equals_int (sub->frames->len, pub->frames->len);
  for (guint i = 0; i < sub->frames->len; i++) {
    gchar *pub_crc = frame_field (pub, i, "crc");
    gchar *sub_crc = frame_field (sub, i, "crc");
    gchar *pub_shm = frame_field (pub, i, "shm");
    gchar *sub_shm = frame_field (sub, i, "shm");

    fail_unless_equals_string (sub_crc, pub_crc);
    fail_unless (g_str_has_prefix (pub_shm, "/dev/shm/zerocp."), "%s", pub_shm);
    fail_unless_equals_string (sub_shm, pub_shm);
    g_free (pub_crc);
    g_free (sub_crc);
    g_free (pub_shm);
    g_free (sub_shm);
  }
}

/* Waits for whoever removes @channel's control segment (its subscribers, or
 * one that comes), then checks that nothing of the channel is left. */
static void
wait_for_channel_gone (const gchar * channel)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_S * G_USEC_PER_SEC;
  gchar *control = g_strdup_printf ("/dev/shm/zerocp.%s", channel);

  while (g_file_test (control, G_FILE_TEST_EXISTS) &&
      g_get_monotonic_time () < deadline)
    g_usleep (10 * 1000);
  assert_channel_gone (channel);
  g_free (control);
}

#define FANOUT 32

GST_START_TEST (test_fan_out_to_32)
{
  gchar *channel = unique_channel ("fanout");
  gchar *pub_line = publisher_line (channel, 100, "");
  gchar *sub_line = subscriber_line (channel, "");
  gchar *options = g_strdup_printf ("--wait-subscribers %d", FANOUT);
  Child *subs[FANOUT], *pub;
  GstStructure *stats;

  /* The publisher plays once all of them are attached, so each must get
   * every frame. */
  pub = child_start (options, pub_line);
  for (guint s = 0; s < FANOUT; s++)
    subs[s] = child_start (NULL, sub_line);

  child_expect (pub, "stats ", DEADLINE_S);
  stats = child_stats (pub);
  fail_unless_equals_uint64 (stats_uint64 (stats, "frames-published"), 100);
  fail_unless_equals_uint64 (stats_uint64 (stats, "frames-copied"), 0);
  gst_structure_free (stats);
  fail_unless_equals_int (child_finish (pub, DEADLINE_S), 0);

  for (guint s = 0; s < FANOUT; s++) {
    fail_unless_equals_int (child_finish (subs[s], DEADLINE_S), 0);
    fail_unless_equals_string (subs[s]->caps, pub->caps);
    assert_shared_frames (pub, subs[s]);
    child_free (subs[s]);
  }
  assert_channel_gone (channel);

  child_free (pub);
  g_free (options);
  g_free (sub_line);
  g_free (pub_line);
  g_free (channel);
}

GST_END_TEST;

static const gchar *stalled_policies[] = { "downstream", "upstream" };

/* A subscriber that never reads, with a leaky queue of 2, while two lossless
 * ones get every frame: the publisher is not held up and counts the drops. */
GST_START_TEST (test_stopped_leaky_subscriber_costs_nothing)
{
  const gchar *policy = stalled_policies[__i__];
  gchar *channel = unique_channel ("stalled");
  gchar *pub_line = publisher_line (channel, 300, "");
  gchar *lossless_line = subscriber_line (channel, "");
  gchar *stalled_line = g_strdup_printf ("zerocpsrc channel=%s leaky=%s "
      "max-buffers=2 ! fakesink name=probe", channel, policy);
  Child *lossless[2], *stalled, *pub;
  const GstStructure *entry;
  GstStructure *stats;
  GList *left = NULL;
  const gchar *line;

  pub = child_start ("--wait-subscribers 3", pub_line);
  stalled = child_start (NULL, stalled_line);
  child_expect (stalled, "message zerocp-publisher-connected", DEADLINE_S);
  child_signal (stalled, SIGSTOP);
  for (guint s = 0; s < G_N_ELEMENTS (lossless); s++)
    lossless[s] = child_start (NULL, lossless_line);

  while ((line = child_next_line (pub, DEADLINE_S)) &&
      !g_str_has_prefix (line, "stats "))
    if (g_str_has_prefix (line, "message zerocp-subscriber-left"))
      left = g_list_prepend (left, gst_structure_from_string (line + 8, NULL));
  fail_unless (line != NULL, "the publisher printed no stats");
  stats = child_stats (pub);
  entry = subscriber_entry (stats, child_pid (stalled));
  GST_INFO ("stalled subscriber, leaky=%s: %" GST_PTR_FORMAT, policy, entry);
  fail_unless_equals_string (gst_structure_get_string (entry, "leaky"), policy);
  /* Two frames wait in its queue (with the events, end-of-stream among
   * them, which count against no limit); every other frame was dropped. */
  fail_unless_equals_int (stats_uint (entry, "queued"), 2);
  fail_unless_equals_uint64 (stats_uint64 (entry, "dropped"), 298);
  gst_structure_free (stats);
  /* The lossless ones, gone by then, lost nothing. */
  for (GList * l = left; l; l = l->next) {
    fail_unless (l->data != NULL);
    fail_unless_equals_uint64 (stats_uint64 (l->data, "dropped"), 0);
  }
  g_list_free_full (left, (GDestroyNotify) gst_structure_free);
  fail_unless_equals_int (child_finish (pub, DEADLINE_S), 0);

  for (guint s = 0; s < G_N_ELEMENTS (lossless); s++) {
    fail_unless_equals_int (child_finish (lossless[s], DEADLINE_S), 0);
    assert_shared_frames (pub, lossless[s]);
    child_free (lossless[s]);
  }
  fail_unless_equals_int (stalled->frames->len, 0);
  child_signal (stalled, SIGKILL);
  child_signal (stalled, SIGCONT);
  fail_unless_equals_int (child_finish (stalled, DEADLINE_S), 128 + SIGKILL);
  assert_channel_gone (channel);

  child_free (stalled);
  child_free (pub);
  g_free (stalled_line);
  g_free (lossless_line);
  g_free (pub_line);
  g_free (channel);
}

GST_END_TEST;

/* camera -> relay -> slow viewer, all lossless, so every process is waiting
 * on the next one when Ctrl-C reaches all of them. */
GST_START_TEST (test_interrupted_lossless_chain)
{
  gchar *camera_channel = unique_channel ("chain-a");
  gchar *relay_channel = unique_channel ("chain-b");
  gchar *camera_line = g_strdup_printf ("videotestsrc is-live=true ! "
      SMALL_VIDEO " ! zerocpsink name=probe channel=%s", camera_channel);
  gchar *relay_line = g_strdup_printf ("zerocpsrc channel=%s leaky=no "
      "max-buffers=1 ! zerocpsink name=probe channel=%s", camera_channel,
      relay_channel);
  gchar *viewer_line = g_strdup_printf ("zerocpsrc channel=%s leaky=no "
      "max-buffers=1 ! fakesink name=probe", relay_channel);
  Child *viewer, *relay, *camera;

  viewer = child_start ("--delay-ms 200", viewer_line);
  child_expect (viewer, "state started", DEADLINE_S);
  relay = child_start (NULL, relay_line);
  child_expect (relay, "state started", DEADLINE_S);
  camera = child_start (NULL, camera_line);
  child_wait_frames (viewer, 5, DEADLINE_S);

  child_signal (viewer, SIGINT);
  child_signal (relay, SIGINT);
  child_signal (camera, SIGINT);
  fail_unless_equals_int (child_finish (viewer, PROMPT_S), 0);
  fail_unless_equals_int (child_finish (relay, PROMPT_S), 0);
  fail_unless_equals_int (child_finish (camera, PROMPT_S), 0);
  assert_channel_gone (camera_channel);
  assert_channel_gone (relay_channel);

  child_free (camera);
  child_free (relay);
  child_free (viewer);
  g_free (viewer_line);
  g_free (relay_line);
  g_free (camera_line);
  g_free (relay_channel);
  g_free (camera_channel);
}

GST_END_TEST;

/* What a subscriber reported after its publisher was lost, in order. */
typedef struct
{
  gboolean lost;
  gboolean reconnected;
  guint seen;                   /* of stream-start, caps, segment, frame */
  guint first_frame;
  gboolean first_discont;
} Restart;

static void
follow_restart (Child * sub, Restart * restart, const gchar * line)
{
  static const gchar *order[] = { "event stream-start", "caps ",
    "event segment", "frame "
  };

  if (g_str_has_prefix (line, "message zerocp-publisher-lost")) {
    fail_unless (strstr (line, "action=(string)wait") != NULL, "%s", line);
    restart->lost = TRUE;
  } else if (restart->lost &&
      g_str_has_prefix (line, "message zerocp-publisher-connected")) {
    restart->reconnected = TRUE;
  } else if (restart->lost && restart->seen < G_N_ELEMENTS (order)) {
    /* Probe lines: a new stream, then its caps, segment and first frame. */
    if (g_str_has_prefix (line, order[restart->seen])) {
      restart->seen++;
      if (restart->seen == G_N_ELEMENTS (order)) {
        restart->first_frame = sub->frames->len - 1;
        restart->first_discont = strstr (line, " discont=1 ") != NULL;
      }
    } else {
      fail_unless (!g_str_has_prefix (line, "frame ") &&
          !g_str_has_prefix (line, "event ") &&
          !g_str_has_prefix (line, "caps "), "'%s' before '%s'", line,
          order[restart->seen]);
    }
  }
}

/* Run 0 starts the next publisher at once, so that it may take the dead
 * one's channel over; run 1 once the subscribers have removed it, which
 * they do as soon as they have all taken what it sent (one of them still
 * holding frames of its pool), and then wait for a channel that is not
 * there. */
GST_START_TEST (test_publisher_killed_and_restarted_with_new_caps)
{
  const gboolean after_removal = __i__ == 1;
  gchar *channel = unique_channel ("restart");
  gchar *first_line = g_strdup_printf ("videotestsrc is-live=true "
      "pattern=snow ! " SMALL_VIDEO " ! zerocpsink name=probe channel=%s",
      channel);
  gchar *second_line = g_strdup_printf ("videotestsrc is-live=true "
      "num-buffers=30 pattern=snow ! video/x-raw,format=NV12,width=640,"
      "height=480,framerate=30/1 ! zerocpsink name=probe channel=%s", channel);
  /* The defaults of a live subscriber: wait for the next publisher, leaky
   * downstream. */
  gchar *sub_line = g_strdup_printf ("zerocpsrc channel=%s ! "
      "fakesink name=probe", channel);
  Child *subs[3], *old_pub, *new_pub;
  Restart restarts[3];
  const gchar *line;

  memset (restarts, 0, sizeof restarts);
  for (guint s = 0; s < G_N_ELEMENTS (subs); s++) {
    /* One holds frames of the old publisher across the restart. */
    subs[s] = child_start (s == 0 ? "--hold 4" : NULL, sub_line);
    child_expect (subs[s], "state started", DEADLINE_S);
  }
  old_pub = child_start (NULL, first_line);
  for (guint s = 0; s < G_N_ELEMENTS (subs); s++)
    child_wait_frames (subs[s], 10, DEADLINE_S);

  child_signal (old_pub, SIGKILL);
  fail_unless_equals_int (child_finish (old_pub, DEADLINE_S), 128 + SIGKILL);
  if (after_removal)
    wait_for_channel_gone (channel);
  new_pub = child_start ("--wait-subscribers 3", second_line);

  for (guint s = 0; s < G_N_ELEMENTS (subs); s++) {
    while ((line = child_next_line (subs[s], DEADLINE_S)))
      follow_restart (subs[s], &restarts[s], line);
    fail_unless_equals_int (child_finish (subs[s], DEADLINE_S), 0);
  }
  fail_unless_equals_int (child_finish (new_pub, DEADLINE_S), 0);

  for (guint s = 0; s < G_N_ELEMENTS (subs); s++) {
    Restart *restart = &restarts[s];
    guint next = 0;

    fail_unless_equals_string (subs[s]->last_line, "eos");
    fail_unless (restart->lost && restart->reconnected);
    fail_unless_equals_int (restart->seen, 4);
    fail_unless (restart->first_discont, "no DISCONT on the first frame of "
        "the new publisher");
    fail_unless (strstr (subs[s]->caps, "width=(int)640") != NULL, "%s",
        subs[s]->caps);

    /* From the new publisher: its frames, in order (a leaky subscriber may
     * miss some under load). */
    for (guint i = restart->first_frame; i < subs[s]->frames->len; i++) {
      gchar *crc = frame_field (subs[s], i, "crc");
      gboolean found = FALSE;

      while (!found && next < new_pub->frames->len) {
        gchar *expected = frame_field (new_pub, next++, "crc");
        found = g_str_equal (crc, expected);
        g_free (expected);
      }
      fail_unless (found, "frame %u is not the new publisher's", i);
      g_free (crc);
    }
    GST_INFO ("subscriber %u: %u frames of the new publisher", s,
        subs[s]->frames->len - restart->first_frame);
  }
  assert_channel_gone (channel);

  for (guint s = 0; s < G_N_ELEMENTS (subs); s++)
    child_free (subs[s]);
  child_free (new_pub);
  child_free (old_pub);
  g_free (sub_line);
  g_free (second_line);
  g_free (first_line);
  g_free (channel);
}

GST_END_TEST;

/* A publisher killed with nobody subscribed leaves its channel in
 * /dev/shm; the first subscriber to come removes it, waits for the next
 * publisher and gets its frames. */
GST_START_TEST (test_subscriber_removes_an_orphaned_channel)
{
  gchar *channel = unique_channel ("orphan");
  gchar *dead_line = g_strdup_printf ("videotestsrc is-live=true "
      "pattern=snow ! " SMALL_VIDEO " ! zerocpsink name=probe channel=%s",
      channel);
  gchar *next_line = g_strdup_printf ("videotestsrc is-live=true "
      "num-buffers=30 pattern=snow ! " SMALL_VIDEO " ! zerocpsink name=probe "
      "channel=%s wait-for-connection=true", channel);
  /* Lossless, so that it must get every frame, however loaded the machine. */
  gchar *sub_line = g_strdup_printf ("zerocpsrc channel=%s leaky=no ! "
      "fakesink name=probe", channel);
  gchar *control = g_strdup_printf ("/dev/shm/zerocp.%s", channel);
  Child *dead_pub, *sub, *next_pub;

  dead_pub = child_start (NULL, dead_line);
  child_wait_frames (dead_pub, 5, DEADLINE_S);
  child_signal (dead_pub, SIGKILL);
  fail_unless_equals_int (child_finish (dead_pub, DEADLINE_S), 128 + SIGKILL);
  fail_unless (g_file_test (control, G_FILE_TEST_EXISTS));
  fail_unless (count_pool_segments (channel) > 0);

  sub = child_start (NULL, sub_line);
  wait_for_channel_gone (channel);

  next_pub = child_start (NULL, next_line);
  fail_unless_equals_int (child_finish (next_pub, DEADLINE_S), 0);
  fail_unless_equals_int (child_finish (sub, DEADLINE_S), 0);
  fail_unless_equals_string (sub->last_line, "eos");
  fail_unless_equals_int (sub->frames->len, 30);
  assert_channel_gone (channel);

  child_free (next_pub);
  child_free (sub);
  child_free (dead_pub);
  g_free (control);
  g_free (sub_line);
  g_free (next_line);
  g_free (dead_line);
  g_free (channel);
}

GST_END_TEST;

static guint
count_lines (GPtrArray * lines, const gchar * prefix)
{
  guint count = 0;

  for (guint i = 0; i < lines->len; i++)
    count += g_str_has_prefix (g_ptr_array_index (lines, i), prefix);
  return count;
}

/* Subscribers come and go, lossless or leaky, leaving by Ctrl-C or SIGKILL,
 * some holding frames: at the end the publisher has every chunk back.
 * ZCP_JOIN_LEAVE sets the number of rounds. */
GST_START_TEST (test_join_leave_loop)
{
  const gchar *rounds_env = g_getenv ("ZCP_JOIN_LEAVE");
  guint rounds = rounds_env ? atoi (rounds_env) : 200;
  gchar *channel = unique_channel ("joinleave");
  gchar *pub_line = g_strdup_printf ("videotestsrc is-live=true ! "
      "video/x-raw,format=NV12,width=320,height=240,framerate=120/1 ! "
      "zerocpsink name=probe channel=%s enable-last-sample=false", channel);
  gchar *lines[2] = {
    subscriber_line (channel, ""),
    g_strdup_printf ("zerocpsrc channel=%s ! fakesink name=probe", channel),
  };
  GPtrArray *messages = g_ptr_array_new_with_free_func (g_free);
  gchar *sentinel_pid;
  GstStructure *stats;
  const gchar *line;
  Child *pub, *sentinel;

  pub = child_start ("--eos-on-sigint --idle-stats", pub_line);
  child_expect (pub, "state started", DEADLINE_S);
  for (guint round = 0; round < rounds; round++) {
    Child *sub = child_start (round % 3 == 0 ? "--hold 2" : NULL,
        lines[round % 2]);
    gboolean killed = round % 4 >= 2;

    child_wait_frames (sub, 2, DEADLINE_S);
    child_signal (sub, killed ? SIGKILL : SIGINT);
    fail_unless_equals_int (child_finish (sub, DEADLINE_S),
        killed ? 128 + SIGKILL : 0);
    child_free (sub);
    /* Keep the publisher's reports flowing. */
    while (g_async_queue_length (pub->lines) > 0)
      if ((line = child_next_line (pub, DEADLINE_S)) &&
          g_str_has_prefix (line, "message "))
        g_ptr_array_add (messages, g_strdup (line));
  }

  /* The publisher looks at its subscribers every 100 ms, and a killed one
   * is in its list until it looks: a last subscriber, which it sees come,
   * proves it has looked since all the others were gone. Once it has seen
   * that one go too, it has reported every departure. */
  sentinel = child_start (NULL, lines[1]);
  sentinel_pid = g_strdup_printf (", pid=(uint)%s,", child_pid (sentinel));
  while ((line = child_next_line (pub, DEADLINE_S)) &&
      !(g_str_has_prefix (line, "message zerocp-subscriber-connected") &&
          strstr (line, sentinel_pid)))
    if (g_str_has_prefix (line, "message "))
      g_ptr_array_add (messages, g_strdup (line));
  fail_unless (line != NULL, "the publisher ended before it saw %s",
      sentinel_pid);
  g_ptr_array_add (messages, g_strdup (line));
  child_signal (sentinel, SIGINT);
  fail_unless_equals_int (child_finish (sentinel, DEADLINE_S), 0);
  child_free (sentinel);
  while (count_lines (messages, "message zerocp-subscriber-left") <
      count_lines (messages, "message zerocp-subscriber-connected"))
    if ((line = child_next_line (pub, DEADLINE_S)) &&
        g_str_has_prefix (line, "message "))
      g_ptr_array_add (messages, g_strdup (line));

  child_signal (pub, SIGINT);
  while ((line = child_next_line (pub, DEADLINE_S)) &&
      !g_str_has_prefix (line, "stats "))
    if (g_str_has_prefix (line, "message "))
      g_ptr_array_add (messages, g_strdup (line));
  fail_unless (line != NULL, "the publisher printed no stats");
  stats = child_stats (pub);
  GST_INFO ("after %u rounds: %" GST_PTR_FORMAT, rounds, stats);
  fail_unless_equals_int (stats_uint (stats, "subscribers"), 0);
  fail_unless_equals_int (stats_uint (stats, "chunks-in-use"), 0);
  fail_unless_equals_int (stats_uint (stats, "chunks-free"),
      stats_uint (stats, "chunks-total"));
  gst_structure_free (stats);
  fail_unless_equals_int (child_finish (pub, DEADLINE_S), 0);
  fail_unless_equals_string (pub->last_line, "eos");

  /* Every subscriber the publisher saw come, it saw go (one that came and
   * went between two of its looks is not seen at all). */
  fail_unless (count_lines (messages, "message zerocp-subscriber-connected")
      > 0);
  fail_unless_equals_int (count_lines (messages,
          "message zerocp-subscriber-connected"), count_lines (messages,
          "message zerocp-subscriber-left"));
  assert_channel_gone (channel);
  g_print ("join/leave: %u subscribers came and went; the publisher saw %u "
      "of them; every chunk free at the end; nothing left in /dev/shm\n",
      rounds + 1, count_lines (messages,
          "message zerocp-subscriber-connected"));

  child_free (pub);
  g_ptr_array_unref (messages);
  g_free (sentinel_pid);
  g_free (lines[0]);
  g_free (lines[1]);
  g_free (pub_line);
  g_free (channel);
}

GST_END_TEST;

static Suite *
lifecycle_suite (void)
{
  Suite *s = suite_create ("lifecycle");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 150);
  suite_add_tcase (s, tc);
  tcase_add_unchecked_fixture (tc, NULL, remove_leftover_channels);
  tcase_add_test (tc, test_fan_out_to_32);
  tcase_add_loop_test (tc, test_stopped_leaky_subscriber_costs_nothing, 0,
      G_N_ELEMENTS (stalled_policies));
  tcase_add_test (tc, test_interrupted_lossless_chain);
  tcase_add_loop_test (tc, test_publisher_killed_and_restarted_with_new_caps,
      0, 2);
  tcase_add_test (tc, test_join_leave_loop);
  tcase_add_test (tc, test_subscriber_removes_an_orphaned_channel);
  return s;
}

GST_CHECK_MAIN (lifecycle);
