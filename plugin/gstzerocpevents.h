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

/* What GStreamer's parser may keep of peers' text for good, in one process,
 * at most (gst_zero_cp_text_admit()); the fuzzers build with no limit. */
#ifndef GST_ZERO_CP_TEXT_KEPT_MAX
#define GST_ZERO_CP_TEXT_KEPT_MAX ((gsize) 32 << 20)
#endif
/* What a failed parse of text with arrays, lists or ranges is charged, a
 * byte of text: GStreamer 1.22 leaks up to 98 (docs/design.md). */
#define GST_ZERO_CP_TEXT_LEAK_PER_BYTE 128

/* A text admitted to GStreamer's parser: what it may cost the process for
 * good, reserved until gst_zero_cp_text_settle(). */
typedef struct
{
  GHashTable *new_names;        /* names GLib had no quark for */
  gsize reserved;
  gsize leak_cost;              /* of a failed parse */
} GstZeroCpTextAdmission;

/* Whether GStreamer 1.22's parser may be given @text, a peer's event,
 * metas or caps.  It must be safe to parse: nested at most 32 deep (the
 * parser recurses without a limit, and thousands of nested arrays overflow
 * the stack), and every buffer value, at any depth of nesting, hex digits,
 * two a byte (on one that is not, gst_value_deserialize_buffer unrefs the
 * buffer, then unmaps it); quoted strings are read as the parser reads
 * them, octal escapes included, and so are a sample's caps, segment and
 * info, which it decodes from base64.  This refuses some text that would
 * parse (a quoted buffer, say) and lets none of those through.  And what
 * the parser could keep of it for good must fit in what is left of the
 * 32 MiB a process allows peers' text: the quarks of names GLib has not
 * seen (it never frees one), and, for text with arrays, what GStreamer
 * 1.22 leaks when they fail to parse.  That much is reserved; @why says
 * what stood in the way of a refusal.  Call gst_zero_cp_text_settle()
 * after the parse, and after anything made of what it gave that may make
 * quarks. */
gboolean gst_zero_cp_text_admit (const gchar * text,
    GstZeroCpTextAdmission * admission, const gchar ** why);

/* Keeps of the reservation what the parse kept (the quarks it made, and
 * the leak of one that failed, @parsed FALSE), and gives back the rest. */
void gst_zero_cp_text_settle (GstZeroCpTextAdmission * admission,
    gboolean parsed);

/* For a quark made of a value a peer sent (a region of interest's type):
 * whether @name is one already, or its cost was taken from what is left.
 * A name a text's admission counted too may be counted twice, once. */
gboolean gst_zero_cp_text_keep_name (const gchar * name);

/* What peers' text has cost this process for good, and what parses under
 * way may cost. */
gsize gst_zero_cp_text_kept (void);

/* Caps from a peer's text, admitted and settled as above; NULL, with @why
 * set, if they are refused or do not parse. */
GstCaps *gst_zero_cp_caps_from_text (const gchar * text, const gchar ** why);

/* Leaves out of @structure the fields that do not read back from their text
 * (objects), which would make the whole of it unreadable to subscribers;
 * @what names it in the debug log. */
void gst_zero_cp_structure_keep_readable (GstStructure * structure,
    const gchar * what);

/* libzerocp's sticky kind for @event: the kinds above but the named ones,
 * or ZCP_STICKY_NONE. */
guint32 gst_zero_cp_event_sticky_kind (GstEvent * event);

G_END_DECLS
