/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers shared by the element tests. */

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/gstvideopool.h>
#include <gst/video/video.h>
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#define ZERO_CP_MEMORY_TYPE "ZeroCpMemory"
#define VIDEO_CAPS "video/x-raw,format=NV12,width=320,height=240,framerate=30/1"
#define VIDEO_SIZE (320 * 240 * 3 / 2)

/* A channel name no other test, or other run, uses. */
static inline gchar *
unique_channel (const gchar * test)
{
  static gint counter;

  return g_strdup_printf ("check-%s-%d-%d", test, (int) getpid (),
      g_atomic_int_add (&counter, 1));
}

static inline gboolean
is_zero_cp_memory (GstMemory * mem)
{
  return gst_memory_is_type (mem, ZERO_CP_MEMORY_TYPE);
}

static inline guint64
element_stat (GstElement * sink, const gchar * field)
{
  GstStructure *stats;
  guint64 value64 = 0;
  guint value = 0;

  g_object_get (sink, "stats", &stats, NULL);
  if (!gst_structure_get_uint64 (stats, field, &value64) &&
      gst_structure_get_uint (stats, field, &value))
    value64 = value;
  gst_structure_free (stats);
  return value64;
}

/* Checks an error or a warning (@message, which may be NULL: nothing came
 * from @what) as playbin's tests do: its domain and code, and that its
 * message contains @message_contains and its debug text @debug_contains
 * (each if not NULL); then frees it. */
static inline void
check_error_message (GstMessage * message, const gchar * what, GQuark domain,
    gint code, const gchar * message_contains, const gchar * debug_contains)
{
  GError *error = NULL;
  gchar *debug = NULL;

  fail_unless (message != NULL, "no error or warning from %s", what);
  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_WARNING) {
    gst_message_parse_warning (message, &error, &debug);
  } else {
    fail_unless_equals_int (GST_MESSAGE_TYPE (message), GST_MESSAGE_ERROR);
    gst_message_parse_error (message, &error, &debug);
  }
  GST_INFO ("%s: %s (%s)", what, error->message, debug);
  fail_unless (g_error_matches (error, domain, code),
      "%s: expected %s %d, got %s %d: %s", what, g_quark_to_string (domain),
      code, g_quark_to_string (error->domain), error->code, error->message);
  fail_unless (!message_contains || strstr (error->message, message_contains),
      "%s: message '%s' does not say '%s'", what, error->message,
      message_contains);
  fail_unless (!debug_contains || (debug && strstr (debug, debug_contains)),
      "%s: debug text '%s' does not say '%s'", what, debug, debug_contains);

  g_error_free (error);
  g_free (debug);
  gst_message_unref (message);
}

/* Waits (10 s at most) for @pipeline, already started, to post an error,
 * which check_error_message checks; then stops and frees the pipeline. */
static inline void
expect_pipeline_error (GstElement * pipeline, const gchar * what,
    GQuark domain, gint code, const gchar * message_contains,
    const gchar * debug_contains)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *message = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
      GST_MESSAGE_ERROR | GST_MESSAGE_EOS);

  check_error_message (message, what, domain, code, message_contains,
      debug_contains);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
}

/* Runs @description until it errors; see expect_pipeline_error. */
static inline void
assert_pipeline_error_full (const gchar * description, GQuark domain,
    gint code, const gchar * debug_contains)
{
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (description, &error);

  fail_unless (pipeline != NULL && error == NULL, "cannot parse %s: %s",
      description, error ? error->message : "?");
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  expect_pipeline_error (pipeline, description, domain, code, NULL,
      debug_contains);
}

static inline void
assert_pipeline_error (const gchar * description, GQuark domain, gint code)
{
  assert_pipeline_error_full (description, domain, code, NULL);
}

/* Runs @description, whose channel is @channel, in a child process with
 * every file descriptor taken, and checks it fails with an error that says
 * so.  A child, so that the
 * test process keeps its descriptors, and the threads GStreamer starts
 * meanwhile, out of it (under LeakSanitizer a thread that had met no
 * descriptor crashed its check at exit, 1 run in 8).  The system clock and
 * the bus are made first: GStreamer itself needs descriptors for them.  The
 * child's exit status is the step that failed. */
static inline void
assert_error_without_file_descriptors (const gchar * description,
    const gchar * channel)
{
  gchar report[512] = { 0 };
  gchar *control;
  int status, pipe_fds[2];
  pid_t child;

  fail_unless (pipe (pipe_fds) == 0);
  child = fork ();
  fail_unless (child >= 0);
  if (child == 0) {
    GstElement *pipeline = gst_parse_launch (description, NULL);
    GstClock *clock = gst_system_clock_obtain ();
    GstBus *bus = gst_element_get_bus (pipeline);
    GstMessage *message;
    GError *error = NULL;
    gboolean matches;

    close (pipe_fds[0]);
    while (dup (STDIN_FILENO) >= 0)
      continue;
    if (errno != EMFILE)
      _exit (1);
    gst_element_set_state (pipeline, GST_STATE_PLAYING);
    message = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
        GST_MESSAGE_ERROR);
    if (!message)
      _exit (2);
    gst_message_parse_error (message, &error, NULL);
    if (write (pipe_fds[1], error->message, strlen (error->message)) < 0)
      _exit (3);
    matches = g_error_matches (error, GST_RESOURCE_ERROR,
        GST_RESOURCE_ERROR_FAILED);

    /* Torn down all the same: valgrind checks the child's leaks too. */
    g_error_free (error);
    gst_message_unref (message);
    gst_element_set_state (pipeline, GST_STATE_NULL);
    gst_object_unref (bus);
    gst_object_unref (pipeline);
    gst_object_unref (clock);
    _exit (matches ? 0 : 4);
  }
  close (pipe_fds[1]);
  fail_unless (read (pipe_fds[0], report, sizeof report - 1) >= 0);
  close (pipe_fds[0]);
  fail_unless (waitpid (child, &status, 0) == child);
  fail_unless (WIFEXITED (status) && WEXITSTATUS (status) == 0,
      "%s: the child without descriptors failed at step %d (status %d): %s",
      description, WIFEXITED (status) ? WEXITSTATUS (status) : -1, status,
      report);
  fail_unless (strstr (report, "Too many open files") != NULL, "%s: %s",
      description, report);

  /* Linux finds a descriptor before it creates the file, but valgrind
   * refuses the descriptor after the kernel made both: under valgrind the
   * sink's shm_open leaves a control file it never knew it created. */
  control = g_strdup_printf ("/dev/shm/zerocp.%s", channel);
  unlink (control);
  g_free (control);
}
