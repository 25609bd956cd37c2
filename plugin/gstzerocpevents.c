/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Events across the process boundary: a GstEvent is its type and its
 * structure, and both serialize.  A structure string is what gst-launch and
 * the debug log print, so a channel's events can be read by a human too. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstzerocpelements.h"
#include "gstzerocpevents.h"
#include "zcp.h"

#define GST_CAT_DEFAULT gst_zero_cp_debug

gboolean
gst_zero_cp_event_is_carried (GstEventType type)
{
  switch (type) {
    case GST_EVENT_STREAM_START:
    case GST_EVENT_SEGMENT:
    case GST_EVENT_GAP:
    case GST_EVENT_TAG:
    case GST_EVENT_CUSTOM_DOWNSTREAM:
    case GST_EVENT_CUSTOM_DOWNSTREAM_STICKY:
    case GST_EVENT_CUSTOM_BOTH:
    case GST_EVENT_PROTECTION:
    case GST_EVENT_SEGMENT_DONE:
      return TRUE;
    default:
      return FALSE;
  }
}

/* Whether @value reads back from its text.  An object serializes as its type
 * and name only, which no other process can make it again from: the
 * GstStream that decodebin3 and parsebin put in a stream-start is one. */
static gboolean
gst_zero_cp_value_reads_back (const GValue * value)
{
  gchar *text = gst_value_serialize (value);
  GValue back = G_VALUE_INIT;
  gboolean reads_back;

  if (!text)
    return FALSE;
  g_value_init (&back, G_VALUE_TYPE (value));
  reads_back = gst_value_deserialize (&back, text);
  g_value_unset (&back);
  g_free (text);
  return reads_back;
}

static gboolean
gst_zero_cp_keep_field_that_reads_back (GQuark field, GValue * value,
    gpointer user_data)
{
  if (gst_zero_cp_value_reads_back (value))
    return TRUE;
  GST_DEBUG ("%s: field '%s' (%s) left out, it cannot be written as text",
      (const gchar *) user_data, g_quark_to_string (field),
      G_VALUE_TYPE_NAME (value));
  return FALSE;
}

gchar *
gst_zero_cp_event_to_string (GstEvent * event)
{
  const GstStructure *structure = gst_event_get_structure (event);
  GstStructure *readable;
  gchar *fields, *string;

  if (!structure)
    return NULL;
  /* One unreadable field made the whole event unreadable to subscribers. */
  readable = gst_structure_copy (structure);
  gst_structure_filter_and_map_in_place (readable,
      gst_zero_cp_keep_field_that_reads_back,
      (gpointer) GST_EVENT_TYPE_NAME (event));
  fields = gst_structure_to_string (readable);
  string = g_strdup_printf ("%u %s", (guint) GST_EVENT_TYPE (event), fields);
  gst_structure_free (readable);
  g_free (fields);
  return string;
}

GstEvent *
gst_zero_cp_event_from_string (const gchar * string)
{
  GstStructure *structure;
  gchar *end;
  guint64 type = g_ascii_strtoull (string, &end, 10);

  /* Only the types an event can be made of: no caps (they travel on their
   * own), nothing out of range. */
  if (end == string || *end != ' ' || type > G_MAXUINT32 ||
      type == GST_EVENT_CAPS ||
      !gst_event_type_get_name ((GstEventType) type) ||
      g_str_equal (gst_event_type_get_name ((GstEventType) type), "unknown")) {
    GST_WARNING ("not an event: '%.64s'", string);
    return NULL;
  }
  structure = gst_structure_from_string (end + 1, NULL);
  if (!structure) {
    GST_WARNING ("event of type %" G_GUINT64_FORMAT " with an unreadable "
        "structure: '%.64s'", type, end + 1);
    return NULL;
  }
  return gst_event_new_custom ((GstEventType) type, structure);
}

guint32
gst_zero_cp_event_sticky_kind (GstEvent * event)
{
  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_STREAM_START:
      return GST_ZERO_CP_STICKY_STREAM_START;
    case GST_EVENT_SEGMENT:
      return GST_ZERO_CP_STICKY_SEGMENT;
    case GST_EVENT_TAG:{
      GstTagList *tags;

      gst_event_parse_tag (event, &tags);
      return gst_tag_list_get_scope (tags) == GST_TAG_SCOPE_GLOBAL ?
          GST_ZERO_CP_STICKY_GLOBAL_TAGS : GST_ZERO_CP_STICKY_STREAM_TAGS;
    }
    default:
      return ZCP_STICKY_NONE;
  }
}
