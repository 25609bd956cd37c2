/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Publisher and subscribers in separate processes, with real pipelines: each
 * runs in zcp-test-pipeline (see helpers/), which reports every frame.  No
 * sleeps: the test reads the children's reports and acts on them; every wait
 * on a child has a deadline, after which the child is SIGKILLed.
 */
#include "child.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

/* The two children saw the same frames: same bytes, in order, in the same
 * chunk of the same shared-memory file, at the same absolute time. */
static void
assert_same_frames (Child * pub, Child * sub, guint count, gboolean check_times)
{
  fail_unless_equals_int (pub->frames->len, count);
  fail_unless_equals_int (sub->frames->len, count);

  for (guint i = 0; i < count; i++) {
    gchar *pub_crc = frame_field (pub, i, "crc");
    gchar *sub_crc = frame_field (sub, i, "crc");
    gchar *pub_shm = frame_field (pub, i, "shm");
    gchar *sub_shm = frame_field (sub, i, "shm");
    gchar *pub_mem = frame_field (pub, i, "mem");
    gchar *sub_mem = frame_field (sub, i, "mem");

    fail_unless_equals_string (sub_crc, pub_crc);
    /* Zero copy: the publisher wrote into a chunk of the channel's pool,
     * and the subscriber's buffer is that very chunk. */
    fail_unless_equals_string (pub_mem, "ZeroCpMemory");
    fail_unless_equals_string (sub_mem, "ZeroCpMemory");
    fail_unless (g_str_has_prefix (pub_shm, "/dev/shm/zerocp."), "%s", pub_shm);
    fail_unless_equals_string (sub_shm, pub_shm);
    fail_unless_equals_uint64 (frame_number (sub, i, "ro"), 1);
    fail_unless_equals_uint64 (frame_number (sub, i, "dur"),
        frame_number (pub, i, "dur"));
    if (check_times)
      fail_unless_equals_uint64 (frame_number (sub, i, "pts") +
          sub->base_time, frame_number (pub, i, "pts") + pub->base_time);

    g_free (pub_crc);
    g_free (sub_crc);
    g_free (pub_shm);
    g_free (sub_shm);
    g_free (pub_mem);
    g_free (sub_mem);
  }
}

GST_START_TEST (test_subscriber_first)
{
  gchar *channel = unique_channel ("subfirst");
  gchar *sub_line = subscriber_line (channel, "");
  gchar *pub_line = publisher_line (channel, 300, "wait-for-connection=true");
  Child *sub, *pub;

  sub = child_start (NULL, sub_line);
  child_expect (sub, "state started", DEADLINE_S);
  pub = child_start (NULL, pub_line);

  child_expect (pub, "stats ", DEADLINE_S);
  fail_unless (strstr (pub->last_line, "frames-copied=(guint64)0") != NULL,
      "the publisher copied frames: %s", pub->last_line);
  fail_unless (strstr (pub->last_line, "frames-published=(guint64)300") !=
      NULL, "%s", pub->last_line);
  fail_unless_equals_int (child_finish (pub, DEADLINE_S), 0);
  fail_unless_equals_int (child_finish (sub, DEADLINE_S), 0);

  fail_unless (pub->caps != NULL);
  fail_unless_equals_string (sub->caps, pub->caps);
  assert_same_frames (pub, sub, 300, TRUE);
  assert_channel_gone (channel);

  child_free (pub);
  child_free (sub);
  g_free (pub_line);
  g_free (sub_line);
  g_free (channel);
}

GST_END_TEST;

GST_START_TEST (test_publisher_first)
{
  gchar *channel = unique_channel ("pubfirst");
  gchar *pub_line = publisher_line (channel, 300, "wait-for-connection=true");
  gchar *sub_line = subscriber_line (channel, "");
  Child *sub, *pub;

  pub = child_start (NULL, pub_line);
  child_expect (pub, "state started", DEADLINE_S);
  sub = child_start (NULL, sub_line);

  fail_unless_equals_int (child_finish (pub, DEADLINE_S), 0);
  fail_unless_equals_int (child_finish (sub, DEADLINE_S), 0);
  fail_unless_equals_string (sub->caps, pub->caps);
  /* Frames due before the subscriber's pipeline started are stamped 1 ms
   * apart from 0 in its running time, so only the bytes and the chunks are
   * compared. */
  assert_same_frames (pub, sub, 300, FALSE);
  assert_channel_gone (channel);

  child_free (pub);
  child_free (sub);
  g_free (pub_line);
  g_free (sub_line);
  g_free (channel);
}

GST_END_TEST;

GST_START_TEST (test_holding_subscriber_never_sees_overwrite)
{
  gchar *channel = unique_channel ("hold");
  gchar *pub_line = publisher_line (channel, 200, "wait-for-connection=true");
  gchar *sub_line = subscriber_line (channel,
      "queue max-size-buffers=50 max-size-bytes=0 max-size-time=0 !");
  Child *sub, *pub;

  /* The subscriber is slow and holds frames twice over: 50 in a queue and
   * 8 more in its probe, each checked again as it is let go. */
  sub = child_start ("--hold 8 --delay-ms 2", sub_line);
  child_expect (sub, "state started", DEADLINE_S);
  pub = child_start (NULL, pub_line);

  fail_unless_equals_int (child_finish (pub, DEADLINE_S), 0);
  fail_unless_equals_int (child_finish (sub, DEADLINE_S), 0);
  assert_same_frames (pub, sub, 200, TRUE);
  assert_channel_gone (channel);

  child_free (pub);
  child_free (sub);
  g_free (pub_line);
  g_free (sub_line);
  g_free (channel);
}

GST_END_TEST;

GST_START_TEST (test_interrupted_publisher_ends_subscribers)
{
  gchar *channel = unique_channel ("intpub");
  gchar *pub_line = g_strdup_printf ("videotestsrc is-live=true ! "
      SMALL_VIDEO " ! zerocpsink name=probe channel=%s", channel);
  gchar *eos_line = g_strdup_printf ("zerocpsrc channel=%s "
      "on-publisher-lost=eos ! fakesink name=probe", channel);
  gchar *error_line = g_strdup_printf ("zerocpsrc channel=%s "
      "on-publisher-lost=error ! fakesink name=probe", channel);
  Child *ends, *fails, *pub;

  ends = child_start (NULL, eos_line);
  fails = child_start (NULL, error_line);
  child_expect (ends, "state started", DEADLINE_S);
  child_expect (fails, "state started", DEADLINE_S);
  pub = child_start (NULL, pub_line);
  child_wait_frames (ends, 10, DEADLINE_S);
  child_wait_frames (fails, 10, DEADLINE_S);

  /* Interrupted without end-of-stream: the subscribers learn at once that
   * their publisher left, and do what on-publisher-lost says. */
  child_signal (pub, SIGINT);
  fail_unless_equals_int (child_finish (pub, PROMPT_S), 0);
  fail_unless_equals_int (child_finish (ends, PROMPT_S), 0);
  fail_unless_equals_string (ends->last_line, "eos");
  fail_unless_equals_int (child_finish (fails, PROMPT_S), 1);
  fail_unless (g_str_has_prefix (fails->last_line, "error "), "%s",
      fails->last_line);
  assert_channel_gone (channel);

  child_free (pub);
  child_free (ends);
  child_free (fails);
  g_free (pub_line);
  g_free (eos_line);
  g_free (error_line);
  g_free (channel);
}

GST_END_TEST;

GST_START_TEST (test_interrupted_subscriber_leaves_others_running)
{
  gchar *channel = unique_channel ("intsub");
  gchar *pub_line = publisher_line (channel, 300,
      "wait-for-connection=true");
  gchar *sub_line = subscriber_line (channel, "");
  Child *slow, *steady, *pub;

  /* The slow subscriber sets the lossless publisher's pace, so the
   * publisher is waiting on it when it goes. */
  slow = child_start ("--delay-ms 10", sub_line);
  steady = child_start (NULL, sub_line);
  child_expect (slow, "state started", DEADLINE_S);
  child_expect (steady, "state started", DEADLINE_S);
  pub = child_start (NULL, pub_line);
  child_wait_frames (slow, 20, DEADLINE_S);

  child_signal (slow, SIGINT);
  fail_unless_equals_int (child_finish (slow, PROMPT_S), 0);
  /* Neither the publisher nor the other subscriber is held up. */
  fail_unless_equals_int (child_finish (pub, DEADLINE_S), 0);
  fail_unless_equals_int (child_finish (steady, DEADLINE_S), 0);
  fail_unless_equals_int (pub->frames->len, 300);

  /* The steady subscriber may have joined a few frames late; from then on
   * it got every frame, in order. */
  assert_every_frame_since_join (pub, steady);
  assert_channel_gone (channel);

  child_free (pub);
  child_free (steady);
  child_free (slow);
  g_free (pub_line);
  g_free (sub_line);
  g_free (channel);
}

GST_END_TEST;

GST_START_TEST (test_stopped_subscriber_does_not_hang_publisher)
{
  gchar *channel = unique_channel ("sigstop");
  gchar *pub_line = publisher_line (channel, 100000,
      "wait-for-connection=true");
  /* A queue deep enough that the publisher goes well past the stop. */
  gchar *sub_line = g_strdup_printf ("zerocpsrc channel=%s leaky=no "
      "max-buffers=16 ! fakesink name=probe", channel);
  Child *sub, *pub;

  sub = child_start (NULL, sub_line);
  child_expect (sub, "state started", DEADLINE_S);
  pub = child_start (NULL, pub_line);
  child_wait_frames (sub, 20, DEADLINE_S);

  /* shmsink hangs for good here: the reader stops reading. */
  child_signal (sub, SIGSTOP);
  /* The lossless publisher runs until the subscriber's queue is full, then
   * waits; we let it get well past the stop before we interrupt it. */
  child_wait_frames (pub, sub->frames->len + 10, DEADLINE_S);
  child_signal (pub, SIGINT);
  fail_unless_equals_int (child_finish (pub, PROMPT_S), 0);

  child_signal (sub, SIGKILL);
  child_signal (sub, SIGCONT);
  child_finish (sub, DEADLINE_S);
  assert_channel_gone (channel);

  child_free (pub);
  child_free (sub);
  g_free (pub_line);
  g_free (sub_line);
  g_free (channel);
}

GST_END_TEST;

/* Kills random subscribers at random instants (after a random number of
 * frames, while they hold frames), while two lossless subscribers check every
 * frame.  The frame size changes every 7 frames, so the victims die holding
 * chunks of pools the publisher has retired as well as of its current one.
 * ZCP_KILLS sets the number of kills (tests/soak/kill-loop.sh runs
 * thousands). */
GST_START_TEST (test_kill_loop)
{
  const gchar *kills_env = g_getenv ("ZCP_KILLS");
  guint kills = kills_env ? atoi (kills_env) : 100;
  guint32 seed = g_random_int ();
  GRand *rand = g_rand_new_with_seed (seed);
  gchar *channel = unique_channel ("killloop");
  gchar *pub_line = g_strdup_printf ("videotestsrc pattern=snow ! "
      "capsfilter name=flip caps=" SMALL_VIDEO " ! zerocpsink name=probe "
      "channel=%s sync=false wait-for-connection=true "
      "enable-last-sample=false", channel);
  gchar *verifier_line = subscriber_line (channel, "");
  /* Half the victims keep the live default, leaky downstream; the others
   * are lossless with a short queue, so that the publisher is often waiting
   * for room in a victim's queue when the victim dies. */
  gchar *victim_lines[2] = {
    g_strdup_printf ("zerocpsrc channel=%s ! fakesink name=probe", channel),
    g_strdup_printf ("zerocpsrc channel=%s leaky=no max-buffers=2 ! "
        "fakesink name=probe", channel),
  };
  Child *verifiers[2], *victims[4], *pub;
  guint done = 0, joined_at[2] = { 0 };

  GST_INFO ("kill loop: %u kills, seed %u", kills, seed);
  for (guint v = 0; v < G_N_ELEMENTS (verifiers); v++) {
    verifiers[v] = child_start (NULL, verifier_line);
    child_expect (verifiers[v], "state started", DEADLINE_S);
  }
  pub = child_start ("--eos-on-sigint --idle-stats --flip-every 7", pub_line);
  child_wait_frames (verifiers[0], 1, DEADLINE_S);
  for (guint v = 0; v < G_N_ELEMENTS (victims); v++)
    victims[v] = child_start ("--hold 3", victim_lines[v % 2]);

  while (done < kills) {
    guint v = g_rand_int_range (rand, 0, G_N_ELEMENTS (victims));
    guint frames = victims[v]->frames->len + g_rand_int_range (rand, 1, 6);

    /* Meanwhile the lossless subscribers and the publisher must not stall:
     * each read below has a deadline. */
    child_wait_frames (victims[v], frames, DEADLINE_S);
    child_signal (victims[v], SIGKILL);
    fail_unless_equals_int (child_finish (victims[v], DEADLINE_S),
        128 + SIGKILL);
    child_free (victims[v]);
    victims[v] = child_start ("--hold 3", victim_lines[v % 2]);
    done++;
    /* Keep the reports of the others flowing into their queues. */
    for (guint w = 0; w < G_N_ELEMENTS (verifiers); w++)
      while (g_async_queue_length (verifiers[w]->lines) > 0)
        child_next_line (verifiers[w], DEADLINE_S);
  }
  for (guint v = 0; v < G_N_ELEMENTS (victims); v++) {
    child_signal (victims[v], SIGKILL);
    child_finish (victims[v], DEADLINE_S);
    child_free (victims[v]);
  }

  child_signal (pub, SIGINT);
  child_expect (pub, "stats ", DEADLINE_S);
  fail_unless (strstr (pub->last_line, "chunks-in-use=(uint)0") != NULL,
      "chunks still held after every subscriber left: %s", pub->last_line);
  fail_unless_equals_int (child_finish (pub, DEADLINE_S), 0);
  for (guint v = 0; v < G_N_ELEMENTS (verifiers); v++) {
    fail_unless_equals_int (child_finish (verifiers[v], DEADLINE_S), 0);
    /* The publisher waits for one subscriber, so the second may join a few
     * frames late.  From then on, lossless: every frame, in order, byte for
     * byte, to the last. */
    joined_at[v] = assert_every_frame_since_join (pub, verifiers[v]);
    fail_unless (joined_at[v] < 100, "verifier %u missed %u frames", v,
        joined_at[v]);
  }
  assert_channel_gone (channel);
  g_print ("kill loop: %u subscribers SIGKILLed (seed %u); 2 lossless "
      "subscribers verified every frame from the one they joined at (%u, %u) "
      "to the last of %u; no chunk in use at the end; nothing left in "
      "/dev/shm\n", kills, seed, joined_at[0], joined_at[1], pub->frames->len);

  for (guint v = 0; v < G_N_ELEMENTS (verifiers); v++)
    child_free (verifiers[v]);
  child_free (pub);
  g_rand_free (rand);
  g_free (victim_lines[0]);
  g_free (victim_lines[1]);
  g_free (verifier_line);
  g_free (pub_line);
  g_free (channel);
}

GST_END_TEST;

GST_START_TEST (test_killed_publisher)
{
  gchar *channel = unique_channel ("killpub");
  gchar *pub_line = g_strdup_printf ("videotestsrc is-live=true ! "
      SMALL_VIDEO " ! zerocpsink name=probe channel=%s", channel);
  gchar *sub_line = g_strdup_printf ("zerocpsrc channel=%s "
      "on-publisher-lost=error ! queue ! fakesink name=probe", channel);
  Child *subs[2], *pub, *again;

  for (guint s = 0; s < G_N_ELEMENTS (subs); s++) {
    subs[s] = child_start ("--hold 2", sub_line);
    child_expect (subs[s], "state started", DEADLINE_S);
  }
  pub = child_start (NULL, pub_line);
  child_wait_frames (subs[0], 10, DEADLINE_S);
  child_wait_frames (subs[1], 10, DEADLINE_S);
  fail_unless (count_pool_segments (channel) > 0);

  child_signal (pub, SIGKILL);
  fail_unless_equals_int (child_finish (pub, DEADLINE_S), 128 + SIGKILL);
  /* Subscribers notice within the liveness period and end with an error;
   * none hangs or crashes. */
  for (guint s = 0; s < G_N_ELEMENTS (subs); s++) {
    fail_unless_equals_int (child_finish (subs[s], PROMPT_S), 1);
    fail_unless (g_str_has_prefix (subs[s]->last_line, "error "), "%s",
        subs[s]->last_line);
  }
  /* Those that saw it die removed its segments, frames they held and
   * all. */
  assert_channel_gone (channel);

  /* The channel is published again as if new, and nothing is left. */
  g_free (pub_line);
  pub_line = publisher_line (channel, 10, "");
  again = child_start (NULL, pub_line);
  fail_unless_equals_int (child_finish (again, DEADLINE_S), 0);
  assert_channel_gone (channel);

  for (guint s = 0; s < G_N_ELEMENTS (subs); s++)
    child_free (subs[s]);
  child_free (again);
  child_free (pub);
  g_free (pub_line);
  g_free (sub_line);
  g_free (channel);
}

GST_END_TEST;

#define SHARE_GROUP "zcptest-share"

static gboolean
run_quietly (const gchar * command)
{
  gint status = -1;

  return g_spawn_command_line_sync (command, NULL, NULL, &status, NULL) &&
      g_spawn_check_wait_status (status, NULL);
}

/* Users for the permission tests: a publisher whose primary group is the
 * shared one, a subscriber in that group, and one outside it. */
static gboolean
ensure_users (void)
{
  if (geteuid () != 0)
    return FALSE;
  run_quietly ("groupadd -f " SHARE_GROUP);
  run_quietly ("useradd -M -N -s /usr/sbin/nologin -g " SHARE_GROUP
      " zcptest-pub");
  run_quietly ("useradd -M -N -s /usr/sbin/nologin -G " SHARE_GROUP
      " zcptest-sub");
  run_quietly ("useradd -M -N -s /usr/sbin/nologin zcptest-other");
  return run_quietly ("id zcptest-pub") && run_quietly ("id zcptest-sub") &&
      run_quietly ("id zcptest-other") &&
      run_quietly ("setpriv --reuid=zcptest-sub --regid=100 --init-groups "
      "true");
}

static void
assert_segment_mode (const gchar * channel, guint mode, const gchar * owner)
{
  gchar *path = g_strdup_printf ("/dev/shm/zerocp.%s", channel);
  gchar *id = g_strdup_printf ("id -u %s", owner);
  gchar *uid = NULL;
  GStatBuf st;

  fail_unless (g_stat (path, &st) == 0, "no %s", path);
  fail_unless_equals_int (st.st_mode & 0777, mode);
  fail_unless (g_spawn_command_line_sync (id, &uid, NULL, NULL, NULL));
  fail_unless_equals_int (st.st_uid, atoi (uid));
  g_free (uid);
  g_free (id);
  g_free (path);
}

/* Runs a publisher as zcptest-pub with @perms and a subscriber as @user;
 * returns the subscriber's last report. */
static gchar *
subscribe_as (const gchar * user, const gchar * perms, guint expected_mode)
{
  gchar *channel = unique_channel ("perms");
  gchar *pub_line = publisher_line (channel, 30, perms);
  gchar *sub_line = subscriber_line (channel, "");
  Child *pub, *sub;
  gchar *last;
  gint status;

  pub = child_start_as ("zcptest-pub", NULL, pub_line);
  child_expect (pub, "state started", DEADLINE_S);
  assert_segment_mode (channel, expected_mode, "zcptest-pub");
  sub = child_start_as (user, NULL, sub_line);
  status = child_finish (sub, DEADLINE_S);
  last = g_strdup (sub->last_line);
  if (status != 0) {
    /* The publisher waits for a subscriber that never came. */
    child_signal (pub, SIGINT);
  } else {
    fail_unless_equals_int (sub->frames->len, 30);
  }
  fail_unless_equals_int (child_finish (pub, DEADLINE_S), 0);
  assert_channel_gone (channel);

  child_free (sub);
  child_free (pub);
  g_free (sub_line);
  g_free (pub_line);
  g_free (channel);
  return last;
}

GST_START_TEST (test_permissions)
{
  gchar *expected_refusal = g_strdup_printf ("error %s %d ",
      g_quark_to_string (GST_RESOURCE_ERROR),
      GST_RESOURCE_ERROR_NOT_AUTHORIZED);
  gchar *last;

  if (!ensure_users ()) {
    g_print ("test_permissions: SKIPPED: cannot create test users (needs "
        "root, useradd and setpriv)\n");
    g_free (expected_refusal);
    return;
  }

  /* Default 0600: only the publisher's user may subscribe. */
  last = subscribe_as ("zcptest-sub", "wait-for-connection=true", 0600);
  fail_unless (g_str_has_prefix (last, expected_refusal), "got '%s'", last);
  g_free (last);

  /* 0660: the publisher's group may. */
  last = subscribe_as ("zcptest-sub",
      "wait-for-connection=true perms=0660", 0660);
  fail_unless_equals_string (last, "eos");
  g_free (last);

  /* Others may not. */
  last = subscribe_as ("zcptest-other",
      "wait-for-connection=true perms=0660", 0660);
  fail_unless (g_str_has_prefix (last, expected_refusal), "got '%s'", last);
  g_free (last);
  g_free (expected_refusal);
}

GST_END_TEST;

static Suite *
pubsub_suite (void)
{
  Suite *s = suite_create ("pubsub");
  TCase *tc = tcase_create ("general");

  /* Within meson's 300 s; the soak script asks for more kills, and time. */
  tcase_set_timeout (tc, 120 + (g_getenv ("ZCP_KILLS") ?
          atoi (g_getenv ("ZCP_KILLS")) : 0));
  suite_add_tcase (s, tc);
  tcase_add_unchecked_fixture (tc, NULL, remove_leftover_channels);
  tcase_add_test (tc, test_subscriber_first);
  tcase_add_test (tc, test_publisher_first);
  tcase_add_test (tc, test_holding_subscriber_never_sees_overwrite);
  tcase_add_test (tc, test_interrupted_publisher_ends_subscribers);
  tcase_add_test (tc, test_interrupted_subscriber_leaves_others_running);
  tcase_add_test (tc, test_stopped_subscriber_does_not_hang_publisher);
  tcase_add_test (tc, test_kill_loop);
  tcase_add_test (tc, test_killed_publisher);
  tcase_add_test (tc, test_permissions);
  return s;
}

GST_CHECK_MAIN (pubsub);
