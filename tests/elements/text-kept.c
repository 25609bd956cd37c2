/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What GStreamer's parser keeps of peers' text for good, bounded: the
 * plugin's readers of events, metas and caps, built in, fed what a hostile
 * peer could write.  GLib never frees a quark, and GStreamer 1.22 leaks
 * the values of an array that fails to parse, up to 98 bytes a byte of
 * text. */
#include <malloc.h>

#include <gst/check/gstcheck.h>

#include <gst/video/video.h>

#include "gstzerocpelements.h"
#include "gstzerocpevents.h"
#include "gstzerocpmetas.h"

GST_DEBUG_CATEGORY (gst_zero_cp_debug);

#define KEPT_MAX GST_ZERO_CP_TEXT_KEPT_MAX
#define LEAK_PER_BYTE GST_ZERO_CP_TEXT_LEAK_PER_BYTE

static gsize
heap_in_use (void)
{
  struct mallinfo2 info = mallinfo2 ();

  return info.uordblks + info.hblkhd;
}

/* A custom event's text, @length bytes or a few more, whose array of empty
 * arrays fails to parse at its end: what leaks most a byte of text. */
static gchar *
failing_array_event (gsize length)
{
  GString *text = g_string_new (NULL);

  g_string_printf (text, "%u zerocp-test, a=(int)<",
      (guint) GST_EVENT_CUSTOM_DOWNSTREAM);
  while (text->len + 10 < length)
    g_string_append (text, "<>,");
  g_string_append (text, "(int)zz>");
  return g_string_free (text, FALSE);
}

/* A custom event's text with a field named @field. */
static gchar *
event_with_field (const gchar * field)
{
  return g_strdup_printf ("%u zerocp-test, %s=(int)1",
      (guint) GST_EVENT_CUSTOM_DOWNSTREAM, field);
}

/* A name of @length characters no text has used. */
static gchar *
new_name (gsize length)
{
  static guint count;
  gchar *name = g_strnfill (length, 'n');
  gchar *prefix = g_strdup_printf ("u%u-", count++);

  memcpy (name, prefix, MIN (strlen (prefix), length));
  g_free (prefix);
  return name;
}

/* A name is charged when it becomes a quark, once; text that parses with
 * an array keeps nothing of the leak reserved for its failure. */
GST_START_TEST (test_names_are_charged_once)
{
  gchar *field = new_name (40);
  gchar *text = event_with_field (field);
  gchar *array = g_strdup_printf ("%u zerocp-test, %s=(int)<1,2,3>",
      (guint) GST_EVENT_CUSTOM_DOWNSTREAM, field);
  GstEvent *event;
  gsize before = gst_zero_cp_text_kept (), after_first;

  event = gst_zero_cp_event_from_string (text);
  fail_unless (event != NULL);
  gst_event_unref (event);
  after_first = gst_zero_cp_text_kept ();
  fail_unless (after_first >= before + strlen (field) + 1,
      "a new name charged %" G_GSIZE_FORMAT " bytes", after_first - before);

  for (guint i = 0; i < 100; i++) {
    event = gst_zero_cp_event_from_string (i % 2 ? text : array);
    fail_unless (event != NULL);
    gst_event_unref (event);
  }
  fail_unless_equals_uint64 (gst_zero_cp_text_kept (), after_first);

  g_free (array);
  g_free (text);
  g_free (field);
}

GST_END_TEST;

/* Twenty texts that would leak about 9 MB each (180 MB in all) take the
 * heap no further than the limit: those the limit has no room for are
 * refused before they are parsed. */
GST_START_TEST (test_failed_arrays_keep_at_most_the_limit)
{
  const gsize length = 100000;
  gchar *text = failing_array_event (length);
  gsize heap_before = heap_in_use (), kept_before = gst_zero_cp_text_kept ();
  gsize heap_after;

  for (guint i = 0; i < 20; i++)
    fail_unless (gst_zero_cp_event_from_string (text) == NULL);

  /* Under a sanitizer or valgrind, whose allocators glibc does not see,
   * both read the same. */
  heap_after = heap_in_use ();
  fail_unless (heap_after <= heap_before + KEPT_MAX,
      "the heap grew by %" G_GSIZE_FORMAT " bytes", heap_after - heap_before);
  fail_unless (gst_zero_cp_text_kept () <= KEPT_MAX);
  /* The first was parsed (this process had the room) and charged. */
  fail_unless (kept_before + LEAK_PER_BYTE * length > KEPT_MAX ||
      gst_zero_cp_text_kept () >= kept_before + LEAK_PER_BYTE * length);

  g_free (text);
}

GST_END_TEST;

/* Once failed texts have taken nearly all of the limit, a text with a new
 * name longer than what is left is refused, events and caps alike, and so
 * is a region of interest of a new type, while text of names already known
 * still parses. */
GST_START_TEST (test_spent_limit_refuses_new_names)
{
  gchar *known = event_with_field ("a");
  gchar *field, *text, *caps_text, *metas;
  const gchar *why = NULL;
  GstBuffer *buffer;
  GstEvent *event;
  gsize left;

  /* Known from here on. */
  event = gst_zero_cp_event_from_string (known);
  fail_unless (event != NULL);
  gst_event_unref (event);

  /* Each failed text takes about half of what is left. */
  while ((left = KEPT_MAX - gst_zero_cp_text_kept ()) > 65536) {
    text = failing_array_event (left / LEAK_PER_BYTE / 2);
    fail_unless (gst_zero_cp_event_from_string (text) == NULL);
    g_free (text);
  }

  field = new_name (2 * left);
  text = event_with_field (field);
  fail_unless (gst_zero_cp_event_from_string (text) == NULL);
  caps_text = g_strdup_printf ("video/x-%s", field);
  fail_unless (gst_zero_cp_caps_from_text (caps_text, &why) == NULL);
  fail_unless (why && strstr (why, "32 MiB"), "refused because %s", why);
  fail_if (g_quark_try_string (field));

  event = gst_zero_cp_event_from_string (known);
  fail_unless (event != NULL);
  gst_event_unref (event);
  fail_unless_equals_uint64 (KEPT_MAX - gst_zero_cp_text_kept (), left);

  /* A region of interest's type, a value, becomes a quark too: a type
   * longer than what is left leaves the meta out, the others kept (their
   * names, new here, are charged). */
  metas = g_strdup_printf ("region-of-interest, id=(int)0, "
      "parent-id=(int)-1, x=(uint)1, y=(uint)2, w=(uint)3, h=(uint)4, "
      "type=(string)9%s;\ncrop, x=(uint)1, y=(uint)2, width=(uint)3, "
      "height=(uint)4;", field);
  buffer = gst_buffer_new ();
  gst_zero_cp_metas_add_from_string (buffer, metas, NULL);
  fail_if (gst_buffer_get_video_region_of_interest_meta (buffer));
  fail_unless (gst_buffer_get_video_crop_meta (buffer));
  gst_buffer_unref (buffer);

  g_free (metas);
  g_free (caps_text);
  g_free (text);
  g_free (field);
  g_free (known);
}

GST_END_TEST;

static Suite *
text_kept_suite (void)
{
  Suite *s = suite_create ("text-kept");
  TCase *tc = tcase_create ("general");

  GST_DEBUG_CATEGORY_INIT (gst_zero_cp_debug, "zerocp", 0, "text-kept");
  suite_add_tcase (s, tc);
  /* In this order: without a fork for each test (CK_FORK=no, as the ASan
   * build runs them) the later ones start with what the earlier left. */
  tcase_add_test (tc, test_names_are_charged_once);
  tcase_add_test (tc, test_failed_arrays_keep_at_most_the_limit);
  tcase_add_test (tc, test_spent_limit_refuses_new_names);
  return s;
}

GST_CHECK_MAIN (text_kept);
