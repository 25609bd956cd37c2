/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Children running zcp-test-pipeline (see helpers/), for the multi-process
 * tests: start, read reports, signal, reap.  Every wait has a deadline.
 */
#include "child.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>

static gpointer
reader_thread (gpointer data)
{
  Child *child = data;
  GInputStream *out = g_subprocess_get_stdout_pipe (child->process);
  GDataInputStream *lines = g_data_input_stream_new (out);
  gchar *line;

  while ((line = g_data_input_stream_read_line (lines, NULL, NULL, NULL)))
    g_async_queue_push (child->lines, line);
  g_async_queue_push (child->lines, g_strdup (""));
  g_object_unref (lines);
  return NULL;
}

/* A failed check ends the test process at once: its children must not
 * outlive it and keep channels open. */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* Starts zcp-test-pipeline, as @user if not NULL (then with a registry of
 * that user's own). */
Child *
child_start_as (const gchar * user, const gchar * options,
    const gchar * description)
{
  const gchar *helper = g_getenv ("ZCP_TEST_HELPER");
  GError *error = NULL;
  Child *child = g_new0 (Child, 1);
  GPtrArray *argv = g_ptr_array_new ();
  gchar **split = g_strsplit (options ? options : "", " ", -1);
  gchar *registry = g_strdup_printf ("GST_REGISTRY=/tmp/zcp-test-registry-"
      "%s.bin", user ? user : "root");
  gchar *reuid = g_strdup_printf ("--reuid=%s", user ? user : "");
  gchar *regid = NULL;
  GSubprocessLauncher *launcher;

  fail_unless (helper != NULL, "ZCP_TEST_HELPER is not set");
  if (user) {
    /* setpriv execs in place, so signals reach the pipeline itself. */
    gchar *command = g_strdup_printf ("id -g %s", user), *gid = NULL;

    fail_unless (g_spawn_command_line_sync (command, &gid, NULL, NULL, NULL));
    regid = g_strdup_printf ("--regid=%d", atoi (gid));
    g_free (command);
    g_free (gid);
    g_ptr_array_add (argv, (gpointer) "setpriv");
    g_ptr_array_add (argv, reuid);
    g_ptr_array_add (argv, regid);
    g_ptr_array_add (argv, (gpointer) "--init-groups");
    g_ptr_array_add (argv, (gpointer) "--");
    g_ptr_array_add (argv, (gpointer) "env");
    g_ptr_array_add (argv, registry);
  }
  g_ptr_array_add (argv, (gpointer) helper);
  for (gchar ** o = split; *o; o++)
    if (**o)
      g_ptr_array_add (argv, *o);
  g_ptr_array_add (argv, (gpointer) description);
  g_ptr_array_add (argv, NULL);

  GST_INFO ("starting %s", description);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  child->process = g_subprocess_launcher_spawnv (launcher,
      (const gchar * const *) argv->pdata, &error);
  g_object_unref (launcher);
  fail_unless (child->process != NULL, "cannot start %s: %s", helper,
      error ? error->message : "?");
  child->lines = g_async_queue_new_full (g_free);
  child->frames = g_ptr_array_new_with_free_func (g_free);
  child->reader = g_thread_new ("reader", reader_thread, child);
  g_ptr_array_free (argv, TRUE);
  g_strfreev (split);
  g_free (registry);
  g_free (reuid);
  g_free (regid);
  return child;
}

Child *
child_start (const gchar * options, const gchar * description)
{
  return child_start_as (NULL, options, description);
}

/* Takes the child's next report line, keeping what the tests look at.
 * NULL at EOF; fails the test past @timeout_s. */
const gchar *
child_next_line (Child * child, guint timeout_s)
{
  gchar *line;

  if (child->eof)
    return NULL;
  line = g_async_queue_timeout_pop (child->lines,
      (guint64) timeout_s * G_USEC_PER_SEC);
  if (!line) {
    g_subprocess_force_exit (child->process);
    fail ("a child said nothing for %u s", timeout_s);
  }
  if (!*line) {
    g_free (line);
    child->eof = TRUE;
    return NULL;
  }

  GST_LOG ("child: %s", line);
  if (g_str_has_prefix (line, "frame ")) {
    g_ptr_array_add (child->frames, g_strdup (line));
  } else if (g_str_has_prefix (line, "caps ")) {
    g_free (child->caps);
    child->caps = g_strdup (line + 5);
  } else if (g_str_has_prefix (line, "base-time ")) {
    child->base_time = g_ascii_strtoull (line + 10, NULL, 10);
  }
  /* The child owns the line until the next call. */
  g_free (child->last_line);
  child->last_line = line;
  return line;
}

/* Reads reports until one starts with @prefix; fails if the child ends
 * first or says nothing for @timeout_s. */
void
child_expect (Child * child, const gchar * prefix, guint timeout_s)
{
  const gchar *line;

  while ((line = child_next_line (child, timeout_s)))
    if (g_str_has_prefix (line, prefix))
      return;
  fail ("child ended without saying '%s'", prefix);
}

void
child_wait_frames (Child * child, guint count, guint timeout_s)
{
  while (child->frames->len < count)
    fail_unless (child_next_line (child, timeout_s) != NULL,
        "child ended after %u of %u frames", child->frames->len, count);
}

/* Reads the child's reports to the end and reaps it; returns its exit
 * status, or fails past @timeout_s (SIGKILLing it). */
gint
child_finish (Child * child, guint timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;
  gint status;

  while (child_next_line (child, timeout_s)) {
    if (g_get_monotonic_time () > deadline) {
      g_subprocess_force_exit (child->process);
      fail ("child still running after %u s", timeout_s);
    }
  }
  fail_unless (g_subprocess_wait (child->process, NULL, NULL));
  g_thread_join (child->reader);
  status = g_subprocess_get_if_exited (child->process) ?
      g_subprocess_get_exit_status (child->process) : 128 +
      g_subprocess_get_term_sig (child->process);
  return status;
}

void
child_free (Child * child)
{
  if (!child->eof) {
    g_subprocess_force_exit (child->process);
    child_finish (child, DEADLINE_S);
  }
  g_object_unref (child->process);
  g_async_queue_unref (child->lines);
  g_ptr_array_unref (child->frames);
  g_free (child->caps);
  g_free (child->last_line);
  g_free (child);
}

void
child_signal (Child * child, int signal)
{
  g_subprocess_send_signal (child->process, signal);
}

gchar *
frame_field (Child * child, guint index, const gchar * name)
{
  const gchar *line = g_ptr_array_index (child->frames, index);
  gchar *key = g_strdup_printf (" %s=", name);
  const gchar *start = strstr (line, key);
  gchar *value;

  fail_unless (start != NULL, "no %s in '%s'", name, line);
  start += strlen (key);
  value = g_strndup (start, strcspn (start, " "));
  g_free (key);
  return value;
}

guint64
frame_number (Child * child, guint index, const gchar * name)
{
  gchar *value = frame_field (child, index, name);
  guint64 number = g_ascii_strtoull (value, NULL, 10);

  g_free (value);
  return number;
}

gchar *
unique_channel (const gchar * test)
{
  return g_strdup_printf ("mp-%s-%d", test, (int) getpid ());
}

GstStructure *
child_stats (Child * child)
{
  GstStructure *stats;

  fail_unless (g_str_has_prefix (child->last_line, "stats "), "%s",
      child->last_line);
  stats = gst_structure_from_string (child->last_line + 6, NULL);
  fail_unless (stats != NULL, "cannot parse %s", child->last_line);
  return stats;
}

guint64
stats_uint64 (const GstStructure * stats, const gchar * field)
{
  guint64 value = 0;

  fail_unless (gst_structure_get_uint64 (stats, field, &value), "no %s", field);
  return value;
}

void
assert_channel_gone (const gchar * channel)
{
  gchar *prefix = g_strdup_printf ("zerocp.%s", channel);
  GDir *dir = g_dir_open ("/dev/shm", 0, NULL);
  const gchar *name;

  while (dir && (name = g_dir_read_name (dir)))
    fail_if (g_str_has_prefix (name, prefix), "/dev/shm/%s left behind", name);
  if (dir)
    g_dir_close (dir);
  g_free (prefix);
}

guint
count_pool_segments (const gchar * channel)
{
  gchar *prefix = g_strdup_printf ("zerocp.%s@", channel);
  GDir *dir = g_dir_open ("/dev/shm", 0, NULL);
  const gchar *name;
  guint count = 0;

  while (dir && (name = g_dir_read_name (dir)))
    count += g_str_has_prefix (name, prefix);
  if (dir)
    g_dir_close (dir);
  g_free (prefix);
  return count;
}

/* @sub joined @pub's stream at some frame, and from then on got every frame,
 * in order, byte for byte, to the last.  Returns how many it missed at the
 * start. */
guint
assert_every_frame_since_join (Child * pub, Child * sub)
{
  guint skipped;

  fail_unless (sub->frames->len > 0, "the subscriber got no frame");
  fail_unless (sub->frames->len <= pub->frames->len, "%u frames from %u",
      sub->frames->len, pub->frames->len);
  skipped = pub->frames->len - sub->frames->len;
  for (guint i = 0; i < sub->frames->len; i++) {
    gchar *expected = frame_field (pub, skipped + i, "crc");
    gchar *got = frame_field (sub, i, "crc");

    fail_unless_equals_string (got, expected);
    g_free (expected);
    g_free (got);
  }
  return skipped;
}

/* Runs in the parent once the test case is over, even when a test failed
 * half-way: its children are dead (die_with_parent); remove what they left,
 * and only that.  Every "mp-" channel went once, the live ones of another
 * suite run at the same time among them, whose subscribers then waited for
 * a publisher that published to a name no longer there. */
void
remove_leftover_channels (void)
{
  GDir *dir = g_dir_open ("/dev/shm", 0, NULL);
  gchar *ours = g_strdup_printf ("-%d", (int) getpid ());
  const gchar *name;

  while (dir && (name = g_dir_read_name (dir))) {
    /* zerocp.CHANNEL, or zerocp.CHANNEL@EPOCH.POOL.GENERATION */
    gchar *channel = g_strndup (name, strcspn (name, "@"));

    if (g_str_has_prefix (channel, "zerocp.mp-") &&
        g_str_has_suffix (channel, ours)) {
      gchar *shm_name = g_strdup_printf ("/%s", name);

      shm_unlink (shm_name);
      g_free (shm_name);
    }
    g_free (channel);
  }
  if (dir)
    g_dir_close (dir);
  g_free (ours);
}

gchar *
publisher_line (const gchar * channel, guint frames, const gchar * extra)
{
  return g_strdup_printf ("videotestsrc num-buffers=%u pattern=snow ! "
      SMALL_VIDEO " ! zerocpsink name=probe channel=%s sync=false %s",
      frames, channel, extra);
}

gchar *
subscriber_line (const gchar * channel, const gchar * middle)
{
  return g_strdup_printf ("zerocpsrc channel=%s leaky=no ! %s "
      "fakesink name=probe", channel, middle);
}
