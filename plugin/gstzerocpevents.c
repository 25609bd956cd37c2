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

gchar *
gst_zero_cp_event_to_string (GstEvent * event)
{
  const GstStructure *structure = gst_event_get_structure (event);
  gchar *fields, *string;

  if (!structure)
    return NULL;
  fields = gst_structure_to_string (structure);
  string = g_strdup_printf ("%u %s", (guint) GST_EVENT_TYPE (event), fields);
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
