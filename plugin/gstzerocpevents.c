/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Events across the process boundary: a GstEvent is its type and its
 * structure, and both serialize.  A structure string is what gst-launch and
 * the debug log print, so a channel's events can be read by a human too. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <stdatomic.h>
#include <string.h>

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
    case GST_EVENT_TOC:
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

void
gst_zero_cp_structure_keep_readable (GstStructure * structure,
    const gchar * what)
{
  gst_structure_filter_and_map_in_place (structure,
      gst_zero_cp_keep_field_that_reads_back, (gpointer) what);
}

/* The characters of an unquoted value in GStreamer's text. */
static gboolean
is_simple_char (gchar c)
{
  /* Once a character of every text a peer sends: no strchr(). */
  return g_ascii_isalnum (c) || c == '_' || c == '-' || c == '+' ||
      c == '/' || c == ':' || c == '.';
}

typedef gboolean (*TokenCheck) (const gchar * token, gsize length,
    gpointer data);

/* Whether each token of the value at @at, just after its type (one, or an
 * array, list or set of them), passes @check; @end is set past it.  Escapes
 * of any depth of nesting are skipped around tokens and kept in them, and
 * anything unusual (quotes, an empty token) is refused rather than
 * understood. */
static gboolean
value_tokens_pass (const gchar * at, const gchar ** end, TokenCheck check,
    gpointer data)
{
  guint depth = 0;

  do {
    const gchar *token;

    while (g_ascii_isspace (*at) || *at == '\\' || (depth > 0 && *at == ','))
      at++;
    if (*at == '<' || *at == '{' || *at == '[') {
      depth++;
      at++;
      continue;
    }
    if (depth > 0 && (*at == '>' || *at == '}' || *at == ']')) {
      depth--;
      at++;
      continue;
    }
    for (token = at; is_simple_char (*at) || (*at == '\\' &&
            is_simple_char (at[1])); at++)
      if (*at == '\\')
        at++;
    if (at == token || !check (token, at - token, data))
      return FALSE;
  } while (depth > 0);
  *end = at;
  return TRUE;
}

/* A buffer's text: hex digits, two a byte, escapes aside. */
static gboolean
buffer_token_is_hex (const gchar * token, gsize length, gpointer unused)
{
  gsize digits = 0;

  for (gsize i = 0; i < length; i++) {
    if (token[i] == '\\')
      continue;
    if (!g_ascii_isxdigit (token[i]))
      return FALSE;
    digits++;
  }
  return digits > 0 && digits % 2 == 0;
}

/* Deeper than any text a publisher writes (a region's params in an array,
 * a structure in a string): GStreamer's parser recurses once a level and has
 * no limit of its own, so a hostile publisher's thousands of nested arrays
 * would overflow the streaming thread's stack. */
#define TEXT_DEPTH_MAX 32

static gboolean
is_octal_digit (gchar c)
{
  return c >= '0' && c <= '7';
}

/* The quoted string that opens at @text[*@at], as GStreamer's parser reads
 * it: a backslash and three octal digits, the first 0 to 3, are that byte
 * ("\\074" is '<'); a backslash and any other character are that
 * character.  *@at is left on the closing quote. */
static GString *
text_read_quoted (const gchar * text, gsize length, gsize * at)
{
  GString *inner = g_string_new (NULL);
  gsize i;

  for (i = *at + 1; i < length && text[i] != '"'; i++) {
    if (text[i] == '\\' && i + 1 < length) {
      i++;
      if (i + 2 < length && text[i] >= '0' && text[i] <= '3' &&
          is_octal_digit (text[i + 1]) && is_octal_digit (text[i + 2])) {
        g_string_append_c (inner, (gchar) ((text[i] - '0') << 6 |
                (text[i + 1] - '0') << 3 | (text[i + 2] - '0')));
        i += 2;
        continue;
      }
    }
    g_string_append_c (inner, text[i]);
  }
  *at = i;
  return inner;
}

/* The value after the next cast in @text, from *@from on, to one of the
 * @n_names type names in @names ("(buffer)", with the white space and
 * escapes GStreamer allows around the name), or NULL past the last;
 * *@from is left where the search goes on.  Casts in quoted strings are
 * left to the look at each string as the parser reads it, a level deeper:
 * looking here too would look at each again at every level around it. */
static const gchar *
text_next_cast (const gchar ** from, const gchar * const *names, guint n_names)
{
  const gchar *at = *from;

  while ((at = strpbrk (at, "(\""))) {
    const gchar *value = NULL;

    if (*at == '"') {
      for (at++; *at && *at != '"'; at++)
        if (*at == '\\' && at[1])
          at++;
      if (*at)
        at++;
      continue;
    }
    at++;
    while (g_ascii_isspace (*at) || *at == '\\')
      at++;
    for (guint i = 0; i < n_names && !value; i++)
      if (g_str_has_prefix (at, names[i]))
        value = at + strlen (names[i]);
    if (!value)
      continue;
    while (g_ascii_isspace (*value) || *value == '\\')
      value++;
    if (*value != ')')
      continue;
    *from = value + 1;
    return value + 1;
  }
  return NULL;
}

static gboolean
text_buffers_are_hex (const gchar * text)
{
  static const gchar *const names[] = { "buffer", "GstBuffer" };
  const gchar *from = text, *value;

  while ((value = text_next_cast (&from, names, G_N_ELEMENTS (names))))
    if (!value_tokens_pass (value, &from, buffer_token_is_hex, NULL))
      return FALSE;
  return TRUE;
}

/* What a quark costs beyond its name: its entries in GLib's table and
 * array of quarks, which grow by doubling. */
#define QUARK_OVERHEAD 48
/* Names up to this long are looked up without a copy on the heap. */
#define NAME_ON_STACK 128

/* Of GST_ZERO_CP_TEXT_KEPT_MAX, what the parser kept of peers' text and
 * what parses under way may keep.  GLib never frees a quark, and the
 * parser makes one of every structure, field and caps feature name it
 * reads; GStreamer 1.22 also leaks the values of an array or a list that
 * fails to parse.  Without a limit a hostile peer could grow a process's
 * memory without end, with names made up frame after frame or arrays that
 * fail. */
static atomic_size_t text_kept;

typedef struct
{
  GHashTable *new_names;        /* gchar *, those GLib has no quark for */
  gboolean brackets;            /* an array, list or range at any level */
} TextScan;

/* Whether the run of @run name characters at @text[@at] may become a
 * quark: a structure, caps feature or field name.  The first two start
 * with a letter (GStreamer refuses others), a field name may start with
 * anything but has '=' after it; a type's name, in brackets before a
 * value, never becomes one.  Values are left out: numbers, most of
 * them. */
static gboolean
text_run_may_be_name (const gchar * text, gsize length, gsize at, gsize run)
{
  gsize next = at + run, before = at;

  while (next < length && g_ascii_isspace (text[next]))
    next++;
  if (next < length && text[next] == '=')
    return TRUE;
  if (!g_ascii_isalpha (text[at]))
    return FALSE;
  while (before > 0 && g_ascii_isspace (text[before - 1]))
    before--;
  if (before == 0 || text[before - 1] != '(' || next >= length ||
      text[next] != ')')
    return TRUE;
  /* "(name)": a type after '=' or in an array, a caps feature after the
   * structure's name. */
  before--;
  while (before > 0 && g_ascii_isspace (text[before - 1]))
    before--;
  return before > 0 && !strchr ("=,<{[", text[before - 1]);
}

/* Notes the @length bytes at @name if GLib has no quark for them yet. */
static void
text_scan_note_name (TextScan * scan, const gchar * name, gsize length)
{
  gchar on_stack[NAME_ON_STACK];
  gchar *copy;

  if (length < NAME_ON_STACK) {
    memcpy (on_stack, name, length);
    on_stack[length] = '\0';
    /* An escaped NUL ends a string where the parser reads it too. */
    if (!on_stack[0] || g_quark_try_string (on_stack) != 0)
      return;
  }
  copy = g_strndup (name, length);
  if (!*copy || g_quark_try_string (copy) != 0) {
    g_free (copy);
    return;
  }
  if (!scan->new_names)
    scan->new_names = g_hash_table_new_full (g_str_hash, g_str_equal,
        g_free, NULL);
  g_hash_table_add (scan->new_names, copy);
}

static gboolean text_level_is_safe (const gchar * text, gsize length,
    guint depth, TextScan * scan);

typedef struct
{
  guint depth;
  TextScan *scan;
} SampleCheck;

/* Whether a sample's text is safe to parse: its buffer in hex, then its
 * caps, segment and info, each text GStreamer parses once it has decoded
 * it from base64 ('_' for '='), in place, as far as the first NUL there.
 * They are looked at as it reads them, a level deeper; what they may make
 * quarks of goes to the scan.  Escapes in it are refused: GStreamer does
 * not read a sample in quotes, where they would be. */
static gboolean
sample_token_is_safe (const gchar * token, gsize length, gpointer data)
{
  const SampleCheck *check = data;
  gchar *copy = g_strndup (token, length);
  gchar **parts = g_strsplit (copy, ":", -1);
  gboolean safe = !strchr (copy, '\\') && g_strv_length (parts) == 4 &&
      check->depth < TEXT_DEPTH_MAX;

  /* GStreamer 1.22 reads a buffer of "None" as hex too. */
  safe = safe && buffer_token_is_hex (parts[0], strlen (parts[0]), NULL);
  for (guint i = 1; safe && i < 4; i++) {
    gsize size;

    if (g_str_equal (parts[i], "None"))
      continue;
    /* GLib's decoder asserts on less. */
    if (strlen (parts[i]) < 2) {
      safe = FALSE;
      continue;
    }
    g_strdelimit (parts[i], "_", '=');
    g_base64_decode_inplace (parts[i], &size);
    safe = text_level_is_safe (parts[i], strlen (parts[i]), check->depth + 1,
        check->scan);
  }
  g_strfreev (parts);
  g_free (copy);
  return safe;
}

/* A sample's caps, segment and info are text in base64, which the other
 * checks cannot read.  Each is looked at once, at the level where it is out
 * of quotes (text_next_cast()): samples nested in samples, looked at from
 * every level around them, would cost a power of their depth. */
static gboolean
text_samples_are_safe (const gchar * text, guint depth, TextScan * scan)
{
  static const gchar *const names[] = { "sample", "GstSample" };
  SampleCheck check = {.depth = depth,.scan = scan };
  const gchar *from = text, *value;

  while ((value = text_next_cast (&from, names, G_N_ELEMENTS (names))))
    if (!value_tokens_pass (value, &from, sample_token_is_safe, &check))
      return FALSE;
  return TRUE;
}

/* Whether GStreamer's parser can be given the @length bytes of @text,
 * @depth deep already: it goes at most TEXT_DEPTH_MAX deep (arrays, lists
 * and ranges in each other, and whatever a quoted string holds, a structure
 * or caps parsed again once unescaped), and every buffer it meets is hex.
 * Each quoted string is looked at again as the parser reads it, so that
 * escapes cannot hide a bracket or a buffer's type from these checks.
 * @scan gets, at every level, each name the parser could make a quark of
 * that GLib has none for yet, and whether there are brackets. */
static gboolean
text_is_safe_at (const gchar * text, gsize length, guint depth, TextScan * scan)
{
  /* Closing brackets of its own cannot take a level above where it began. */
  const guint outer = depth;

  for (gsize i = 0; i < length; i++) {
    gsize run = 0;
    gchar c;

    while (i + run < length && is_simple_char (text[i + run]))
      run++;
    if (run > 0) {
      if (text_run_may_be_name (text, length, i, run))
        text_scan_note_name (scan, text + i, run);
      i += run;
      if (i >= length)
        break;
    }
    c = text[i];
    if (c == '\\') {
      i++;
    } else if (c == '"') {
      GString *inner = text_read_quoted (text, length, &i);
      gboolean safe = depth < TEXT_DEPTH_MAX &&
          text_level_is_safe (inner->str, inner->len, depth + 1, scan);

      g_string_free (inner, TRUE);
      if (!safe)
        return FALSE;
    } else if (c == '<' || c == '{' || c == '[') {
      scan->brackets = TRUE;
      if (++depth > TEXT_DEPTH_MAX)
        return FALSE;
    } else if ((c == '>' || c == '}' || c == ']') && depth > outer) {
      depth--;
    }
  }
  return TRUE;
}

/* The checks above, for one level of text: the whole text, or a quoted
 * string or a sample's part in it, @depth deep. */
static gboolean
text_level_is_safe (const gchar * text, gsize length, guint depth,
    TextScan * scan)
{
  return text_buffers_are_hex (text) &&
      text_samples_are_safe (text, depth, scan) &&
      text_is_safe_at (text, length, depth, scan);
}

static gsize
quark_cost (const gchar * name)
{
  return strlen (name) + 1 + QUARK_OVERHEAD;
}

/* Takes @cost of what is left of GST_ZERO_CP_TEXT_KEPT_MAX, if it is. */
static gboolean
text_kept_take (gsize cost)
{
  gsize kept;

  /* Most texts: names known, no brackets. */
  if (cost == 0)
    return TRUE;
  kept = atomic_load (&text_kept);
  do {
    if (cost > GST_ZERO_CP_TEXT_KEPT_MAX - kept)
      return FALSE;
  } while (!atomic_compare_exchange_weak (&text_kept, &kept, kept + cost));
  return TRUE;
}

gboolean
gst_zero_cp_text_admit (const gchar * text,
    GstZeroCpTextAdmission * admission, const gchar ** why)
{
  TextScan scan = { 0 };
  gsize length = strlen (text), names_cost = 0;
  gboolean safe;
  GHashTableIter iter;
  gpointer name;

  memset (admission, 0, sizeof *admission);
  safe = text_level_is_safe (text, length, 0, &scan);
  if (!safe) {
    g_clear_pointer (&scan.new_names, g_hash_table_unref);
    *why = "nested too deep, or with a buffer that is not hex or a sample "
        "not as GStreamer writes one";
    return FALSE;
  }

  if (scan.new_names) {
    g_hash_table_iter_init (&iter, scan.new_names);
    while (g_hash_table_iter_next (&iter, &name, NULL))
      names_cost += quark_cost (name);
  }
  admission->leak_cost = scan.brackets ?
      GST_ZERO_CP_TEXT_LEAK_PER_BYTE * length : 0;
  admission->reserved = names_cost + admission->leak_cost;
  if (!text_kept_take (admission->reserved)) {
    g_clear_pointer (&scan.new_names, g_hash_table_unref);
    *why = "what GStreamer's parser could keep of it for good would take "
        "this process past the 32 MiB zerocp lets peers' text take";
    return FALSE;
  }
  admission->new_names = scan.new_names;
  return TRUE;
}

void
gst_zero_cp_text_settle (GstZeroCpTextAdmission * admission, gboolean parsed)
{
  gsize kept = parsed ? 0 : admission->leak_cost;
  GHashTableIter iter;
  gpointer name;

  if (admission->new_names) {
    g_hash_table_iter_init (&iter, admission->new_names);
    while (g_hash_table_iter_next (&iter, &name, NULL))
      if (g_quark_try_string (name) != 0)
        kept += quark_cost (name);
  }
  /* A name another thread made a quark of meanwhile is charged to this
   * text: it was reserved for. */
  if (admission->reserved > kept)
    atomic_fetch_sub (&text_kept, admission->reserved - kept);
  g_clear_pointer (&admission->new_names, g_hash_table_unref);
}

gboolean
gst_zero_cp_text_keep_name (const gchar * name)
{
  return g_quark_try_string (name) != 0 || text_kept_take (quark_cost (name));
}

gsize
gst_zero_cp_text_kept (void)
{
  return atomic_load (&text_kept);
}

GstCaps *
gst_zero_cp_caps_from_text (const gchar * text, const gchar ** why)
{
  GstZeroCpTextAdmission admission;
  GstCaps *caps;

  if (!gst_zero_cp_text_admit (text, &admission, why))
    return NULL;
  caps = gst_caps_from_string (text);
  gst_zero_cp_text_settle (&admission, caps != NULL);
  if (!caps)
    *why = "it does not parse";
  return caps;
}

/* Whether @value may be a value of a tag of @type: a string or boxed value
 * that is there (the tag getters' callers take one for granted). */
static gboolean
gst_zero_cp_tag_value_fits (GType type, const GValue * value)
{
  if (!value || G_VALUE_TYPE (value) != type)
    return FALSE;
  if (type == G_TYPE_STRING)
    return g_value_get_string (value) != NULL;
  if (G_TYPE_IS_BOXED (type))
    return g_value_get_boxed (value) != NULL;
  return TRUE;
}

/* Leaves out of @tags, which it takes, what this process cannot read as a
 * tag: a tag it has not registered (every element that merges tag lists
 * warns on one) and values not of the tag's type (the tag getters assert on
 * them), as a broken or hostile publisher may send.  Returns the tags left,
 * a copy if any went. */
static GstTagList *
gst_zero_cp_tag_list_keep_known (GstTagList * tags)
{
  GPtrArray *unknown = g_ptr_array_new_with_free_func (g_free);

  for (gint i = 0; i < gst_tag_list_n_tags (tags); i++) {
    const gchar *tag = gst_tag_list_nth_tag_name (tags, i);
    GType type = gst_tag_exists (tag) ? gst_tag_get_type (tag) : G_TYPE_NONE;
    gboolean fits = type != G_TYPE_NONE;

    for (guint n = 0; fits && n < gst_tag_list_get_tag_size (tags, tag); n++)
      fits = gst_zero_cp_tag_value_fits (type,
          gst_tag_list_get_value_index (tags, tag, n));
    if (!fits)
      g_ptr_array_add (unknown, g_strdup (tag));
  }
  if (unknown->len)
    tags = gst_tag_list_make_writable (tags);
  for (guint i = 0; i < unknown->len; i++) {
    GST_WARNING ("tag '%s' of the publisher's is not one this process "
        "knows with that type: left out", (const gchar *) unknown->pdata[i]);
    gst_tag_list_remove_tag (tags, unknown->pdata[i]);
  }
  g_ptr_array_unref (unknown);
  return tags;
}

/* The tag list in @field of @structure, with only what this process can
 * read as tags; NULL if there is none. */
static GstTagList *
gst_zero_cp_structure_get_known_tags (const GstStructure * structure,
    const gchar * field)
{
  GstTagList *tags = NULL;

  if (!gst_structure_get (structure, field, GST_TYPE_TAG_LIST, &tags, NULL) ||
      !tags)
    return NULL;
  return gst_zero_cp_tag_list_keep_known (tags);
}

/* A GstToc has no text form: the TOC event's structure gets its scope, its
 * tags and its entries, these as structures in one array, depth first, each
 * with its depth.  Nothing nested deeper: each level of nesting in a
 * structure's text escapes what it holds once more, and a titled chapter
 * of an edition took 900 bytes as nested structures, 350 so. */
#define TOC_SCOPE_FIELD "zerocp-toc-scope"
#define TOC_TAGS_FIELD "zerocp-toc-tags"
#define TOC_ENTRIES_FIELD "zerocp-toc-entries"

/* Deeper than any TOC (editions, chapters, their sub-chapters): a hostile
 * publisher's nesting stops here. */
#define TOC_DEPTH_MAX 8

static GstStructure *
gst_zero_cp_toc_entry_to_structure (const GstTocEntry * entry, guint depth)
{
  GstStructure *structure;
  GstTocLoopType loop_type = GST_TOC_LOOP_NONE;
  gint64 start = -1, stop = -1;
  gint repeat_count = 0;
  GstTagList *tags = gst_toc_entry_get_tags (entry);

  gst_toc_entry_get_start_stop_times (entry, &start, &stop);
  gst_toc_entry_get_loop (entry, &loop_type, &repeat_count);
  structure = gst_structure_new ("entry", "depth", G_TYPE_UINT, depth,
      "type", G_TYPE_INT, (gint) gst_toc_entry_get_entry_type (entry),
      "uid", G_TYPE_STRING, gst_toc_entry_get_uid (entry),
      "start", G_TYPE_INT64, start, "stop", G_TYPE_INT64, stop,
      "loop-type", G_TYPE_INT, (gint) loop_type,
      "repeat-count", G_TYPE_INT, repeat_count, NULL);
  if (tags)
    gst_structure_set (structure, "tags", GST_TYPE_TAG_LIST, tags, NULL);
  return structure;
}

/* Appends @entries and their sub-entries, from @depth on, to @array. */
static void
gst_zero_cp_toc_entries_to_array (GValue * array, GList * entries, guint depth)
{
  for (GList * l = entries; l; l = l->next) {
    GValue value = G_VALUE_INIT;

    g_value_init (&value, GST_TYPE_STRUCTURE);
    g_value_take_boxed (&value, gst_zero_cp_toc_entry_to_structure (l->data,
            depth));
    gst_value_array_append_and_take_value (array, &value);
    gst_zero_cp_toc_entries_to_array (array,
        gst_toc_entry_get_sub_entries (l->data), depth + 1);
  }
}

/* Sets the fields of @toc on @structure, a TOC event's. */
static void
gst_zero_cp_toc_to_fields (const GstToc * toc, GstStructure * structure)
{
  GstTagList *tags = gst_toc_get_tags (toc);
  GValue entries = G_VALUE_INIT;

  gst_structure_set (structure, TOC_SCOPE_FIELD, G_TYPE_INT,
      (gint) gst_toc_get_scope (toc), NULL);
  if (tags)
    gst_structure_set (structure, TOC_TAGS_FIELD, GST_TYPE_TAG_LIST, tags,
        NULL);
  g_value_init (&entries, GST_TYPE_ARRAY);
  gst_zero_cp_toc_entries_to_array (&entries, gst_toc_get_entries (toc), 0);
  gst_structure_take_value (structure, TOC_ENTRIES_FIELD, &entries);
}

static GstTocEntry *
gst_zero_cp_toc_entry_from_structure (const GstStructure * structure)
{
  gint type, loop_type, repeat_count;
  GstTagList *tags = NULL;
  gint64 start, stop;
  GstTocEntry *entry;
  const gchar *uid = gst_structure_get_string (structure, "uid");

  if (!uid || !gst_structure_get (structure, "type", G_TYPE_INT, &type,
          "start", G_TYPE_INT64, &start, "stop", G_TYPE_INT64, &stop,
          "loop-type", G_TYPE_INT, &loop_type,
          "repeat-count", G_TYPE_INT, &repeat_count, NULL) ||
      type < GST_TOC_ENTRY_TYPE_ANGLE || type > GST_TOC_ENTRY_TYPE_CHAPTER ||
      loop_type < GST_TOC_LOOP_NONE || loop_type > GST_TOC_LOOP_PING_PONG)
    return NULL;

  entry = gst_toc_entry_new ((GstTocEntryType) type, uid);
  gst_toc_entry_set_start_stop_times (entry, start, stop);
  gst_toc_entry_set_loop (entry, (GstTocLoopType) loop_type, repeat_count);
  if ((tags = gst_zero_cp_structure_get_known_tags (structure, "tags")))
    gst_toc_entry_set_tags (entry, tags);
  return entry;
}

/* Adds to @toc the entries of @structure: each at depth 0 an entry of the
 * TOC, each deeper one a sub-entry of the last entry one level up.  FALSE
 * for an entry that does not read, or that has no such parent. */
static gboolean
gst_zero_cp_toc_entries_from_structure (const GstStructure * structure,
    GstToc * toc)
{
  const GValue *entries = gst_structure_get_value (structure,
      TOC_ENTRIES_FIELD);
  /* The last entry read at each depth up to the last entry's, and the
   * deepest the next may be, one below it; a sub-entry is held by its
   * parent. */
  GstTocEntry *last[TOC_DEPTH_MAX];
  guint deepest_allowed = 0;

  if (!entries)
    return TRUE;
  if (!GST_VALUE_HOLDS_ARRAY (entries))
    return FALSE;
  for (guint i = 0; i < gst_value_array_get_size (entries); i++) {
    const GValue *value = gst_value_array_get_value (entries, i);
    const GstStructure *fields;
    GstTocEntry *entry;
    guint depth;

    if (!GST_VALUE_HOLDS_STRUCTURE (value))
      return FALSE;
    fields = gst_value_get_structure (value);
    if (!gst_structure_get_uint (fields, "depth", &depth) ||
        depth > deepest_allowed || depth >= TOC_DEPTH_MAX)
      return FALSE;
    entry = gst_zero_cp_toc_entry_from_structure (fields);
    if (!entry)
      return FALSE;
    if (depth == 0)
      gst_toc_append_entry (toc, entry);
    else
      gst_toc_entry_append_sub_entry (last[depth - 1], entry);
    last[depth] = entry;
    deepest_allowed = depth + 1;
  }
  return TRUE;
}

/* The TOC event of @structure, which it takes; NULL if it holds none. */
static GstEvent *
gst_zero_cp_toc_event_from_structure (GstStructure * structure)
{
  gboolean updated = FALSE;
  GstTagList *tags = NULL;
  GstEvent *event = NULL;
  gint scope;
  GstToc *toc;

  if (!gst_structure_get_int (structure, TOC_SCOPE_FIELD, &scope) ||
      (scope != GST_TOC_SCOPE_GLOBAL && scope != GST_TOC_SCOPE_CURRENT))
    goto done;

  toc = gst_toc_new ((GstTocScope) scope);
  if ((tags = gst_zero_cp_structure_get_known_tags (structure, TOC_TAGS_FIELD)))
    gst_toc_set_tags (toc, tags);
  gst_structure_get_boolean (structure, "updated", &updated);
  if (gst_zero_cp_toc_entries_from_structure (structure, toc))
    event = gst_event_new_toc (toc, updated);
  gst_toc_unref (toc);

done:
  gst_structure_free (structure);
  return event;
}

/* Whether @structure has what GStreamer's parse function for an event of
 * @type reads without looking, and nothing its constructor refuses: a
 * broken or hostile publisher's event without it would fail an assertion
 * here, or crash an element downstream. */
static gboolean
gst_zero_cp_event_fields_are_sound (GstEventType type,
    const GstStructure * structure)
{
  const GValue *value;
  guint64 timestamp, duration;
  GstFormat format;
  gint64 position;

  switch (type) {
    case GST_EVENT_STREAM_START:
      return gst_structure_get_string (structure, "stream-id") != NULL;
    case GST_EVENT_SEGMENT:{
      const GstSegment *segment;

      value = gst_structure_get_value (structure, "segment");
      if (!value || G_VALUE_TYPE (value) != GST_TYPE_SEGMENT ||
          !(segment = g_value_get_boxed (value)))
        return FALSE;
      return isfinite (segment->rate) && segment->rate != 0.0 &&
          isfinite (segment->applied_rate) && segment->applied_rate != 0.0 &&
          segment->format != GST_FORMAT_UNDEFINED;
    }
    case GST_EVENT_TAG:
      value = gst_structure_get_value (structure, "taglist");
      return value && G_VALUE_TYPE (value) == GST_TYPE_TAG_LIST &&
          g_value_get_boxed (value);
    case GST_EVENT_GAP:
      return gst_structure_get (structure, "timestamp", G_TYPE_UINT64,
          &timestamp, "duration", G_TYPE_UINT64, &duration, NULL) &&
          GST_CLOCK_TIME_IS_VALID (timestamp);
    case GST_EVENT_SEGMENT_DONE:
      return gst_structure_get (structure, "format", GST_TYPE_FORMAT, &format,
          "position", G_TYPE_INT64, &position, NULL);
    case GST_EVENT_PROTECTION:
      value = gst_structure_get_value (structure, "data");
      return value && GST_VALUE_HOLDS_BUFFER (value) &&
          gst_value_get_buffer (value) &&
          gst_structure_get_string (structure, "system_id") &&
          (!gst_structure_has_field (structure, "origin") ||
          gst_structure_get_string (structure, "origin"));
    default:
      return TRUE;
  }
}

gchar *
gst_zero_cp_event_to_string (GstEvent * event)
{
  const GstStructure *structure = gst_event_get_structure (event);
  GstStructure *readable;
  gchar *fields, *string;

  if (!structure)
    return NULL;
  /* A field that does not read back would make the whole event unreadable
   * to subscribers: it is left out, the rest goes. */
  readable = gst_structure_copy (structure);
  if (GST_EVENT_TYPE (event) == GST_EVENT_TOC) {
    GstToc *toc;

    gst_event_parse_toc (event, &toc, NULL);
    gst_zero_cp_toc_to_fields (toc, readable);
    gst_toc_unref (toc);
  }
  gst_zero_cp_structure_keep_readable (readable, GST_EVENT_TYPE_NAME (event));
  fields = gst_structure_to_string (readable);
  string = g_strdup_printf ("%u %s", (guint) GST_EVENT_TYPE (event), fields);
  gst_structure_free (readable);
  g_free (fields);
  return string;
}

GstEvent *
gst_zero_cp_event_from_string (const gchar * string)
{
  GstZeroCpTextAdmission admission;
  GstStructure *structure;
  gchar *end, *rest = NULL;
  guint64 type = g_ascii_strtoull (string, &end, 10);
  const gchar *why;

  /* Only the types an event can be made of: no caps (they travel on their
   * own), nothing out of range. */
  if (end == string || *end != ' ' || type > G_MAXUINT32 ||
      type == GST_EVENT_CAPS ||
      !gst_event_type_get_name ((GstEventType) type) ||
      g_str_equal (gst_event_type_get_name ((GstEventType) type), "unknown")) {
    GST_WARNING ("not an event: '%.64s'", string);
    return NULL;
  }
  if (!gst_zero_cp_text_admit (end + 1, &admission, &why)) {
    GST_WARNING ("event of type %" G_GUINT64_FORMAT " refused, %s: '%.64s'",
        type, why, end + 1);
    return NULL;
  }
  /* With no end pointer GStreamer warns (g_warning) on text after the
   * structure. */
  structure = gst_structure_from_string (end + 1, &rest);
  gst_zero_cp_text_settle (&admission, structure != NULL);
  while (rest && g_ascii_isspace (*rest))
    rest++;
  if (structure && rest && *rest) {
    gst_structure_free (structure);
    structure = NULL;
  }
  if (!structure) {
    GST_WARNING ("event of type %" G_GUINT64_FORMAT " with an unreadable "
        "structure: '%.64s'", type, end + 1);
    return NULL;
  }
  if (type == GST_EVENT_TOC)
    return gst_zero_cp_toc_event_from_structure (structure);
  if (!gst_zero_cp_event_fields_are_sound ((GstEventType) type, structure)) {
    GST_WARNING ("%s event without what GStreamer needs of one: %"
        GST_PTR_FORMAT, gst_event_type_get_name ((GstEventType) type),
        structure);
    gst_structure_free (structure);
    return NULL;
  }
  if (type == GST_EVENT_TAG) {
    GstTagList *tags = gst_zero_cp_structure_get_known_tags (structure,
        "taglist");

    gst_structure_set (structure, "taglist", GST_TYPE_TAG_LIST, tags, NULL);
    gst_tag_list_unref (tags);
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
