/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

#include "zcp.h"

G_BEGIN_DECLS

/* The sticky kinds of a channel, in the order a joining subscriber must get
 * them (libzerocp replays them in kind order). */
enum
{
  GST_ZERO_CP_STICKY_STREAM_START = 0,
  GST_ZERO_CP_STICKY_SEGMENT = 1,
  GST_ZERO_CP_STICKY_GLOBAL_TAGS = 2,
  GST_ZERO_CP_STICKY_STREAM_TAGS = 3,
  /* Custom sticky, TOC and protection events, one kind per type and
   * structure name, as a pad keeps one of each, in the order they first
   * came. */
  GST_ZERO_CP_STICKY_NAMED = 4,
};

#define GST_ZERO_CP_STICKY_NAMED_KINDS \
  (ZCP_STICKY_KINDS - GST_ZERO_CP_STICKY_NAMED)

/* The field a GAP event travels with: its timestamp as an absolute clock
 * time, as buffers' PTS travel. */
#define GST_ZERO_CP_GAP_CLOCK_TIME_FIELD "zerocp-clock-time"

/* Whether events of @type travel as event records, for subscribers to pass
 * on: the stream's own serialized events.  Caps and end-of-stream travel on
 * their own; flushes, stream collections and sink messages belong to the
 * publisher's pipeline and stay there. */
gboolean gst_zero_cp_event_is_carried (GstEventType type);

/* "<event type number> <structure>", or NULL for an event without a
 * structure (they carry nothing we could send).  Fields that cannot be
 * written as text (objects) are left out. */
gchar *gst_zero_cp_event_to_string (GstEvent * event);

/* The event back, or NULL (with a reason in the debug log) if @string is not
 * one of ours. */
GstEvent *gst_zero_cp_event_from_string (const gchar * string);

/* Whether GStreamer 1.22's parser can be given @text, of a publisher or a
 * subscriber, caps included, without harm: nested at most 32 deep (the
 * parser recurses without a limit, and thousands of nested arrays overflow
 * the stack), and every buffer value, at any depth of nesting, hex digits,
 * two a byte (on one that is not, gst_value_deserialize_buffer unrefs the
 * buffer, then unmaps it); quoted strings are read as the parser reads
 * them, octal escapes included.  It refuses some text that would parse (a quoted
 * buffer, say) and lets none of those through. */
gboolean gst_zero_cp_text_is_safe_to_parse (const gchar * text);

/* Leaves out of @structure the fields that do not read back from their text
 * (objects), which would make the whole of it unreadable to subscribers;
 * @what names it in the debug log. */
void gst_zero_cp_structure_keep_readable (GstStructure * structure,
    const gchar * what);

/* libzerocp's sticky kind for @event: the kinds above but the named ones,
 * or ZCP_STICKY_NONE. */
guint32 gst_zero_cp_event_sticky_kind (GstEvent * event);

G_END_DECLS
