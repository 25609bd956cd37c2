/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <gst/check/gstcheck.h>

G_BEGIN_DECLS

#define DEADLINE_S 60
/* How fast an interrupted or orphaned pipeline must end.  The promise is one
 * second; the slack is for a loaded CI machine, not for the design. */
#define PROMPT_S 3

typedef struct
{
  GSubprocess *process;
  GAsyncQueue *lines;           /* gchar*, then "" at EOF */
  GThread *reader;
  GPtrArray *frames;            /* "frame ..." lines, in order */
  gchar *caps;
  gchar *last_line;
  guint64 base_time;
  gboolean eof;
} Child;

#define SMALL_VIDEO "video/x-raw,format=NV12,width=320,height=240," \
  "framerate=30/1"

/* Runs zcp-test-pipeline with @options on @description, as @user if not NULL. */
Child * child_start_as (const gchar * user, const gchar * options,
    const gchar * description);
Child * child_start (const gchar * options, const gchar * description);
/* Each fails the test, and kills the child, past @timeout_s. */
const gchar * child_next_line (Child * child, guint timeout_s);
void child_expect (Child * child, const gchar * prefix, guint timeout_s);
void child_wait_frames (Child * child, guint count, guint timeout_s);
gint child_finish (Child * child, guint timeout_s);
void child_free (Child * child);
void child_signal (Child * child, int signal);
/* Field @name of frame @index the child reported, as text or as a number. */
gchar * frame_field (Child * child, guint index, const gchar * name);
guint64 frame_number (Child * child, guint index, const gchar * name);
gchar * unique_channel (const gchar * test);
void assert_channel_gone (const gchar * channel);
/* How many pool segments of @channel /dev/shm holds. */
guint count_pool_segments (const gchar * channel);
/* The stats structure @child printed last ("stats ..."), and one of its
 * 64-bit counters. */
GstStructure * child_stats (Child * child);
guint64 stats_uint64 (const GstStructure * stats, const gchar * field);
/* A publisher of @frames frames of snow, as fast as it can, and a lossless
 * subscriber (so that the checks may expect every frame) with @middle
 * before its sink; each has its probe. */
gchar * publisher_line (const gchar * channel, guint frames,
    const gchar * extra);
gchar * subscriber_line (const gchar * channel, const gchar * middle);
guint assert_every_frame_since_join (Child * pub, Child * sub);
/* For tcase_add_unchecked_fixture(): what children of a failed test left. */
void remove_leftover_channels (void);

G_END_DECLS
