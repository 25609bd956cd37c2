/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzzes what a subscriber makes of the text a publisher writes into the
 * event records: events (gst_zero_cp_event_from_string) and a frame's metas
 * (gst_zero_cp_metas_add_from_string), as a broken or hostile publisher
 * could write them.
 *
 * Nothing may crash, leak or fail an assertion of GLib's or GStreamer's
 * (criticals and warnings abort here).  What comes out is then used as an
 * element downstream would use it: an event is read with GStreamer's parse
 * function for its type, its tags with the getter for each tag's type and
 * merged; a buffer with its metas is copied, which runs each meta's
 * transform.
 *
 * Input: one byte, then the text.  Byte & 0x80: a channel's caps, read as
 * the source reads them.  Otherwise byte & 1: 0, an event; 1, metas.  For
 * metas, byte & 2 gives the frame raw audio caps (stereo F32, planar if
 * byte & 4), as the source does for audio, and video otherwise.
 */
#include <stdlib.h>
#include <string.h>

#include <gst/audio/audio.h>
#include <gst/tag/tag.h>
#include <gst/video/video.h>

#include "gstzerocpelements.h"
#include "gstzerocpevents.h"
#include "gstzerocpmetas.h"

GST_DEBUG_CATEGORY (gst_zero_cp_debug);

#define FRAME_SIZE 4096

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

static void
read_tag (const GstTagList * tags, const gchar * tag, gpointer user_data)
{
  GType type = gst_tag_get_type (tag);

  for (guint i = 0; i < gst_tag_list_get_tag_size (tags, tag); i++) {
    const GValue *value = gst_tag_list_get_value_index (tags, tag, i);
    gchar *text = gst_value_serialize (value);

    g_free (text);
  }
  if (type == G_TYPE_STRING) {
    gchar *text = NULL;

    if (gst_tag_list_get_string (tags, tag, &text))
      g_free (text);
  } else if (type == G_TYPE_UINT) {
    guint number;

    gst_tag_list_get_uint (tags, tag, &number);
  } else if (type == G_TYPE_DOUBLE) {
    gdouble number;

    gst_tag_list_get_double (tags, tag, &number);
  } else if (type == GST_TYPE_DATE_TIME) {
    GstDateTime *date_time = NULL;

    if (gst_tag_list_get_date_time (tags, tag, &date_time))
      gst_date_time_unref (date_time);
  } else if (type == GST_TYPE_SAMPLE) {
    GstSample *sample = NULL;

    if (gst_tag_list_get_sample (tags, tag, &sample))
      gst_sample_unref (sample);
  }
}

static void
read_tags (const GstTagList * tags)
{
  GstTagList *merged;

  if (!tags)
    return;
  gst_tag_list_foreach (tags, read_tag, NULL);
  /* What a muxer or an encoder does with upstream's tags. */
  merged = gst_tag_list_merge (tags, tags, GST_TAG_MERGE_APPEND);
  gst_tag_list_unref (merged);
}

static void
read_toc_entries (GList * entries)
{
  for (GList * l = entries; l; l = l->next) {
    GstTocEntry *entry = l->data;
    gint64 start, stop;

    gst_toc_entry_get_start_stop_times (entry, &start, &stop);
    read_tags (gst_toc_entry_get_tags (entry));
    read_toc_entries (gst_toc_entry_get_sub_entries (entry));
  }
}

static void
read_event (GstEvent * event)
{
  const GstSegment *segment;
  GstSegment copy;
  const gchar *text;
  GstTagList *tags;
  GstToc *toc;
  GstBuffer *buffer;
  GstClockTime timestamp, duration;
  GstStreamFlags flags;
  GstFormat format;
  gint64 position;
  guint group_id;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_STREAM_START:
      gst_event_parse_stream_start (event, &text);
      gst_event_parse_stream_flags (event, &flags);
      gst_event_parse_group_id (event, &group_id);
      break;
    case GST_EVENT_SEGMENT:
      gst_event_parse_segment (event, &segment);
      gst_event_copy_segment (event, &copy);
      gst_segment_to_running_time (&copy, copy.format, copy.start);
      break;
    case GST_EVENT_TAG:
      gst_event_parse_tag (event, &tags);
      read_tags (tags);
      break;
    case GST_EVENT_TOC:
      gst_event_parse_toc (event, &toc, NULL);
      read_tags (gst_toc_get_tags (toc));
      read_toc_entries (gst_toc_get_entries (toc));
      gst_toc_unref (toc);
      break;
    case GST_EVENT_GAP:
      gst_event_parse_gap (event, &timestamp, &duration);
      break;
    case GST_EVENT_SEGMENT_DONE:
      gst_event_parse_segment_done (event, &format, &position);
      break;
    case GST_EVENT_PROTECTION:
      gst_event_parse_protection (event, &text, &buffer, &text);
      break;
    default:
      break;
  }
  gst_event_unref (gst_event_copy (event));
}

static void
read_metas (const gchar * text, guint8 selector)
{
  GstBuffer *buffer = gst_buffer_new_allocate (NULL, FRAME_SIZE, NULL);
  GstAudioInfo info;
  GstBuffer *copy;

  if (selector & 2) {
    gst_audio_info_set_format (&info, GST_AUDIO_FORMAT_F32LE, 48000, 2, NULL);
    if (selector & 4)
      info.layout = GST_AUDIO_LAYOUT_NON_INTERLEAVED;
  }
  gst_zero_cp_metas_add_from_string (buffer, text, selector & 2 ? &info : NULL);
  if (selector & 2) {
    GstAudioBuffer audio;

    /* As the source does; then what an audio element does first. */
    gst_zero_cp_metas_ensure_audio_layout (buffer, &info);
    if (gst_audio_buffer_map (&audio, &info, buffer, GST_MAP_READ))
      gst_audio_buffer_unmap (&audio);
  }
  copy = gst_buffer_copy (buffer);
  gst_buffer_unref (copy);
  gst_buffer_unref (buffer);
}

/* Criticals and warnings GStreamer 1.22's own text parser raises on
 * malformed text, and then goes on (a reversed range, a tag list not named
 * "taglist", a structure name that starts with a digit or is a raw caps name
 * of GStreamer 0.10, a quoted number or boolean, a caps feature name that is
 * not one, an abstract type such as GFlags, a gdatetime that is not a date,
 * text after a nested structure, whose parse it asks for without an end
 * pointer): its faults, which cost a line in the log and nothing else; the
 * plugin makes no such call with such values itself.  (Its one fault that
 * costs more, reading a freed buffer on hex that does not parse, the plugin
 * keeps from it.) */
static const gchar *const parser_faults[] = {
  "gst_value_set_int_range_step: assertion",
  "gst_value_set_int64_range_step: assertion",
  "gst_value_set_double_range: assertion",
  "gst_value_set_fraction_range: assertion",
  "gst_tag_list_new_from_string: assertion",
  "gst_structure_new_empty: assertion 'gst_structure_validate_name (name)'",
  "0.10-style raw ",
  "Received a structure string that contains '=\"",
  "Invalid caps feature name",
  "Failed deserialize caps features",
  "gst_value_deserialize_with_pspec: assertion 'G_IS_VALUE (dest)'",
  "gst_date_time_to_g_date_time: assertion 'datetime != NULL'",
  /* The plugin always gives an end pointer: only nested ones warn. */
  "gst_structure_from_string did not consume whole string",
};

/* Any other critical or warning is a finding: abort, which libFuzzer
 * catches and saves the input of (G_BREAKPOINT's SIGTRAP it does not). */
static void
abort_on_warning (const gchar * domain, GLogLevelFlags level,
    const gchar * message, gpointer unused)
{
  if (!(level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL |
              G_LOG_LEVEL_WARNING)))
    return;
  for (guint i = 0; i < G_N_ELEMENTS (parser_faults); i++)
    if (g_str_has_prefix (message, parser_faults[i]))
      return;
  g_printerr ("%s: %s\n", domain ? domain : "", message);
  abort ();
}

/* What the source makes of the caps of a channel. */
static void
read_caps (const gchar * text)
{
  GstCaps *caps;
  GstVideoInfo video_info;
  GstAudioInfo audio_info;
  const gchar *why;

  if (!(caps = gst_zero_cp_caps_from_text (text, &why)))
    return;
  if (gst_caps_is_fixed (caps)) {
    gst_video_info_from_caps (&video_info, caps);
    gst_audio_info_from_caps (&audio_info, caps);
  }
  gst_caps_unref (caps);
}

static gpointer
set_up (gpointer unused)
{
  static const gchar *no_tags[] = { NULL };

  gst_init (NULL, NULL);
  GST_DEBUG_CATEGORY_INIT (gst_zero_cp_debug, "zerocp", 0, "fuzz-text");
  gst_tag_register_musicbrainz_tags ();
  /* A custom meta known to this process, as the source requires. */
  gst_meta_register_custom ("zerocp-fuzz-meta", no_tags, NULL, NULL, NULL);
  g_log_set_default_handler (abort_on_warning, NULL);
  return NULL;
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  static GOnce once = G_ONCE_INIT;
  gchar *text;

  g_once (&once, set_up, NULL);
  if (size < 1)
    return 0;
  text = g_strndup ((const gchar *) data + 1, size - 1);
  if (data[0] & 0x80) {
    read_caps (text);
  } else if (data[0] & 1) {
    read_metas (text, data[0]);
  } else {
    GstEvent *event = gst_zero_cp_event_from_string (text);

    if (event) {
      read_event (event);
      gst_event_unref (event);
    }
  }
  g_free (text);
  return 0;
}
