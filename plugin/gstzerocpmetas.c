/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Buffer metas across the process boundary.  GStreamer 1.22 cannot
 * serialize a meta (gst_meta_serialize came with 1.24), so each kind that
 * describes the frame, rather than an object of the publisher's process, is
 * written here as a structure and made again with its own API on the
 * subscriber's buffer (whose pool drops it when the buffer comes back). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/audio/audio.h>
#include <gst/video/video.h>

#include "gstzerocpelements.h"
#include "gstzerocpevents.h"
#include "gstzerocpmetas.h"

#define GST_CAT_DEFAULT gst_zero_cp_debug

/* A copy of @structure without the fields that would not read back, as a
 * value: a structure nested in another reads back whole or not at all. */
static void
init_readable_structure (GValue * value, const GstStructure * structure,
    const gchar * what)
{
  GstStructure *readable = gst_structure_copy (structure);

  gst_zero_cp_structure_keep_readable (readable, what);
  g_value_init (value, GST_TYPE_STRUCTURE);
  g_value_take_boxed (value, readable);
}

static GstStructure *
reference_timestamp_to_structure (GstMeta * meta, const gchar * name)
{
  GstReferenceTimestampMeta *reference = (GstReferenceTimestampMeta *) meta;

  return gst_structure_new (name,
      "reference", GST_TYPE_CAPS, reference->reference,
      "timestamp", G_TYPE_UINT64, reference->timestamp,
      "duration", G_TYPE_UINT64, reference->duration, NULL);
}

static gboolean
add_reference_timestamp (GstBuffer * buffer, const GstStructure * structure,
    const GstAudioInfo * audio_info)
{
  GstCaps *reference = NULL;
  guint64 timestamp, duration;

  if (!gst_structure_get (structure, "timestamp", G_TYPE_UINT64, &timestamp,
          "duration", G_TYPE_UINT64, &duration, NULL) ||
      !gst_structure_get (structure, "reference", GST_TYPE_CAPS, &reference,
          NULL))
    return FALSE;
  if (!reference)
    return FALSE;
  gst_buffer_add_reference_timestamp_meta (buffer, reference, timestamp,
      duration);
  gst_caps_unref (reference);
  return TRUE;
}

static GstStructure *
region_of_interest_to_structure (GstMeta * meta, const gchar * name)
{
  GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
  GstStructure *structure = gst_structure_new (name,
      "id", G_TYPE_INT, roi->id, "parent-id", G_TYPE_INT, roi->parent_id,
      "x", G_TYPE_UINT, roi->x, "y", G_TYPE_UINT, roi->y,
      "w", G_TYPE_UINT, roi->w, "h", G_TYPE_UINT, roi->h, NULL);
  GValue params = G_VALUE_INIT;

  if (roi->roi_type)
    gst_structure_set (structure, "type", G_TYPE_STRING,
        g_quark_to_string (roi->roi_type), NULL);
  if (!roi->params)
    return structure;
  g_value_init (&params, GST_TYPE_ARRAY);
  for (GList * l = roi->params; l; l = l->next) {
    GValue param = G_VALUE_INIT;

    init_readable_structure (&param, l->data, name);
    gst_value_array_append_and_take_value (&params, &param);
  }
  gst_structure_take_value (structure, "params", &params);
  return structure;
}

static gboolean
add_region_of_interest (GstBuffer * buffer, const GstStructure * structure,
    const GstAudioInfo * audio_info)
{
  const gchar *type = gst_structure_get_string (structure, "type");
  const GValue *params = gst_structure_get_value (structure, "params");
  GstVideoRegionOfInterestMeta *roi;
  gint id, parent_id;
  guint x, y, w, h;

  if (!gst_structure_get (structure, "id", G_TYPE_INT, &id,
          "parent-id", G_TYPE_INT, &parent_id, "x", G_TYPE_UINT, &x,
          "y", G_TYPE_UINT, &y, "w", G_TYPE_UINT, &w, "h", G_TYPE_UINT, &h,
          NULL))
    return FALSE;
  if (params) {
    if (!GST_VALUE_HOLDS_ARRAY (params))
      return FALSE;
    for (guint i = 0; i < gst_value_array_get_size (params); i++) {
      const GValue *param = gst_value_array_get_value (params, i);

      if (!GST_VALUE_HOLDS_STRUCTURE (param) ||
          !gst_value_get_structure (param))
        return FALSE;
    }
  }
  /* Its type becomes a quark, for good. */
  if (type && !gst_zero_cp_text_keep_name (type))
    return FALSE;

  roi = gst_buffer_add_video_region_of_interest_meta_id (buffer,
      type ? g_quark_from_string (type) : 0, x, y, w, h);
  roi->id = id;
  roi->parent_id = parent_id;
  for (guint i = 0; params && i < gst_value_array_get_size (params); i++)
    gst_video_region_of_interest_meta_add_param (roi,
        gst_structure_copy (gst_value_get_structure
            (gst_value_array_get_value (params, i))));
  return TRUE;
}

static GstStructure *
crop_to_structure (GstMeta * meta, const gchar * name)
{
  GstVideoCropMeta *crop = (GstVideoCropMeta *) meta;

  return gst_structure_new (name, "x", G_TYPE_UINT, crop->x,
      "y", G_TYPE_UINT, crop->y, "width", G_TYPE_UINT, crop->width,
      "height", G_TYPE_UINT, crop->height, NULL);
}

static gboolean
add_crop (GstBuffer * buffer, const GstStructure * structure,
    const GstAudioInfo * audio_info)
{
  GstVideoCropMeta *crop;
  guint x, y, width, height;

  if (!gst_structure_get (structure, "x", G_TYPE_UINT, &x,
          "y", G_TYPE_UINT, &y, "width", G_TYPE_UINT, &width,
          "height", G_TYPE_UINT, &height, NULL))
    return FALSE;
  crop = gst_buffer_add_video_crop_meta (buffer);
  crop->x = x;
  crop->y = y;
  crop->width = width;
  crop->height = height;
  return TRUE;
}

static GstStructure *
time_code_to_structure (GstMeta * meta, const gchar * name)
{
  const GstVideoTimeCode *tc = &((GstVideoTimeCodeMeta *) meta)->tc;
  GstStructure *structure = gst_structure_new (name,
      "fps-n", G_TYPE_UINT, tc->config.fps_n,
      "fps-d", G_TYPE_UINT, tc->config.fps_d,
      "flags", G_TYPE_UINT, (guint) tc->config.flags,
      "hours", G_TYPE_UINT, tc->hours, "minutes", G_TYPE_UINT, tc->minutes,
      "seconds", G_TYPE_UINT, tc->seconds, "frames", G_TYPE_UINT, tc->frames,
      "field-count", G_TYPE_UINT, tc->field_count, NULL);

  if (tc->config.latest_daily_jam) {
    gchar *jam = g_date_time_format_iso8601 (tc->config.latest_daily_jam);

    gst_structure_set (structure, "daily-jam", G_TYPE_STRING, jam, NULL);
    g_free (jam);
  }
  return structure;
}

static gboolean
add_time_code (GstBuffer * buffer, const GstStructure * structure,
    const GstAudioInfo * audio_info)
{
  const gchar *jam_text = gst_structure_get_string (structure, "daily-jam");
  GDateTime *jam = NULL;
  guint fps_n, fps_d, flags, hours, minutes, seconds, frames, field_count;
  GstVideoTimeCode tc;
  gboolean valid;

  if (!gst_structure_get (structure, "fps-n", G_TYPE_UINT, &fps_n,
          "fps-d", G_TYPE_UINT, &fps_d, "flags", G_TYPE_UINT, &flags,
          "hours", G_TYPE_UINT, &hours, "minutes", G_TYPE_UINT, &minutes,
          "seconds", G_TYPE_UINT, &seconds, "frames", G_TYPE_UINT, &frames,
          "field-count", G_TYPE_UINT, &field_count, NULL))
    return FALSE;
  if (jam_text && !(jam = g_date_time_new_from_iso8601 (jam_text, NULL)))
    return FALSE;

  gst_video_time_code_init (&tc, fps_n, fps_d, jam, flags, hours, minutes,
      seconds, frames, field_count);
  /* The API asserts what it takes is valid: it must not be the
   * publisher's to make us fail one. */
  valid = gst_video_time_code_is_valid (&tc);
  if (valid)
    gst_buffer_add_video_time_code_meta (buffer, &tc);
  gst_video_time_code_clear (&tc);
  if (jam)
    g_date_time_unref (jam);
  return valid;
}

static GstStructure *
caption_to_structure (GstMeta * meta, const gchar * name)
{
  GstVideoCaptionMeta *caption = (GstVideoCaptionMeta *) meta;
  GstStructure *structure;
  GstBuffer *data;

  if (caption->size == 0)
    return NULL;
  data = gst_buffer_new_memdup (caption->data, caption->size);
  structure = gst_structure_new (name,
      "type", G_TYPE_INT, (gint) caption->caption_type,
      "data", GST_TYPE_BUFFER, data, NULL);
  gst_buffer_unref (data);
  return structure;
}

/* The buffer in @field of @structure, or NULL; owned by @structure. */
static GstBuffer *
structure_peek_buffer (const GstStructure * structure, const gchar * field)
{
  const GValue *value = gst_structure_get_value (structure, field);

  return value && GST_VALUE_HOLDS_BUFFER (value) ?
      gst_value_get_buffer (value) : NULL;
}

static gboolean
add_caption (GstBuffer * buffer, const GstStructure * structure,
    const GstAudioInfo * audio_info)
{
  GstBuffer *data = structure_peek_buffer (structure, "data");
  GstMapInfo map;
  gint type;
  gboolean added = FALSE;

  if (!gst_structure_get_int (structure, "type", &type) ||
      type < GST_VIDEO_CAPTION_TYPE_CEA608_RAW ||
      type > GST_VIDEO_CAPTION_TYPE_CEA708_CDP || !data ||
      !gst_buffer_map (data, &map, GST_MAP_READ))
    return FALSE;
  if (map.size > 0) {
    gst_buffer_add_video_caption_meta (buffer, (GstVideoCaptionType) type,
        map.data, map.size);
    added = TRUE;
  }
  gst_buffer_unmap (data, &map);
  return added;
}

/* Active Format Description: which part of the frame a display should show
 * (what decklinkvideosrc output-afd-bar=true and the parsers of broadcast
 * streams give, and decklinkvideosink writes out). */
static GstStructure *
afd_to_structure (GstMeta * meta, const gchar * name)
{
  GstVideoAFDMeta *afd = (GstVideoAFDMeta *) meta;

  return gst_structure_new (name, "field", G_TYPE_UINT, (guint) afd->field,
      "spec", G_TYPE_INT, (gint) afd->spec, "afd", G_TYPE_INT,
      (gint) afd->afd, NULL);
}

static gboolean
add_afd (GstBuffer * buffer, const GstStructure * structure,
    const GstAudioInfo * audio_info)
{
  guint field;
  gint spec, afd;

  /* Four bits, but gst_buffer_add_video_afd_meta asserts on the codes
   * every spec reserves (1, 5 to 7, 12) and on 0 for DVB's. */
  if (!gst_structure_get (structure, "field", G_TYPE_UINT, &field,
          "spec", G_TYPE_INT, &spec, "afd", G_TYPE_INT, &afd, NULL) ||
      field > 1 || spec < GST_VIDEO_AFD_SPEC_DVB_ETSI ||
      spec > GST_VIDEO_AFD_SPEC_SMPTE_ST2016_1 || afd < 0 || afd > 15 ||
      afd == 1 || (afd >= 5 && afd <= 7) || afd == 12 ||
      (afd == 0 && spec == GST_VIDEO_AFD_SPEC_DVB_ETSI))
    return FALSE;
  gst_buffer_add_video_afd_meta (buffer, (guint8) field,
      (GstVideoAFDSpec) spec, (GstVideoAFDValue) afd);
  return TRUE;
}

/* Bar data: the letterbox or pillarbox bars that go with AFD. */
static GstStructure *
bar_to_structure (GstMeta * meta, const gchar * name)
{
  GstVideoBarMeta *bar = (GstVideoBarMeta *) meta;

  return gst_structure_new (name, "field", G_TYPE_UINT, (guint) bar->field,
      "is-letterbox", G_TYPE_BOOLEAN, bar->is_letterbox,
      "bar-data1", G_TYPE_UINT, bar->bar_data1,
      "bar-data2", G_TYPE_UINT, bar->bar_data2, NULL);
}

static gboolean
add_bar (GstBuffer * buffer, const GstStructure * structure,
    const GstAudioInfo * audio_info)
{
  gboolean is_letterbox;
  guint field, bar_data1, bar_data2;

  if (!gst_structure_get (structure, "field", G_TYPE_UINT, &field,
          "is-letterbox", G_TYPE_BOOLEAN, &is_letterbox,
          "bar-data1", G_TYPE_UINT, &bar_data1,
          "bar-data2", G_TYPE_UINT, &bar_data2, NULL) || field > 1)
    return FALSE;
  gst_buffer_add_video_bar_meta (buffer, (guint8) field, is_letterbox,
      bar_data1, bar_data2);
  return TRUE;
}

/* H.264/H.265 SEI user data unregistered, as h264parse and h265parse give
 * it: a UUID and bytes only its owner reads (MISB's precision time stamps
 * of drone video, an encoder's own notes). */
static GstStructure *
sei_user_data_unregistered_to_structure (GstMeta * meta, const gchar * name)
{
  GstVideoSEIUserDataUnregisteredMeta *sei =
      (GstVideoSEIUserDataUnregisteredMeta *) meta;
  GstBuffer *uuid, *data;
  GstStructure *structure;

  /* GStreamer 1.22 cannot copy one without bytes (its transform asserts on
   * the NULL they are kept as), and any element downstream may copy. */
  if (sei->size == 0)
    return NULL;
  uuid = gst_buffer_new_memdup (sei->uuid, sizeof sei->uuid);
  data = gst_buffer_new_memdup (sei->data, sei->size);
  structure = gst_structure_new (name, "uuid", GST_TYPE_BUFFER, uuid,
      "data", GST_TYPE_BUFFER, data, NULL);
  gst_buffer_unref (data);
  gst_buffer_unref (uuid);
  return structure;
}

static gboolean
add_sei_user_data_unregistered (GstBuffer * buffer,
    const GstStructure * structure, const GstAudioInfo * audio_info)
{
  GstBuffer *uuid = structure_peek_buffer (structure, "uuid");
  GstBuffer *data = structure_peek_buffer (structure, "data");
  guint8 uuid_bytes[16];
  GstMapInfo map;
  gboolean added = FALSE;

  if (!uuid || gst_buffer_get_size (uuid) != sizeof uuid_bytes || !data ||
      !gst_buffer_map (data, &map, GST_MAP_READ))
    return FALSE;
  gst_buffer_extract (uuid, 0, uuid_bytes, sizeof uuid_bytes);
  if (map.size > 0) {
    gst_buffer_add_video_sei_user_data_unregistered_meta (buffer, uuid_bytes,
        map.data, map.size);
    added = TRUE;
  }
  gst_buffer_unmap (data, &map);
  return added;
}

/* Per-buffer encryption: the key id, IV and subsamples, as buffers. */
static GstStructure *
protection_to_structure (GstMeta * meta, const gchar * name)
{
  GstStructure *structure = gst_structure_new_empty (name);
  GValue info = G_VALUE_INIT;

  init_readable_structure (&info, ((GstProtectionMeta *) meta)->info, name);
  gst_structure_take_value (structure, "info", &info);
  return structure;
}

static gboolean
add_protection (GstBuffer * buffer, const GstStructure * structure,
    const GstAudioInfo * audio_info)
{
  const GValue *info = gst_structure_get_value (structure, "info");

  if (!info || !GST_VALUE_HOLDS_STRUCTURE (info) ||
      !gst_value_get_structure (info))
    return FALSE;
  gst_buffer_add_protection_meta (buffer,
      gst_structure_copy (gst_value_get_structure (info)));
  return TRUE;
}

/* gst_meta_register_custom()'s: its name and its structure's fields. */
static GstStructure *
custom_to_structure (GstMeta * meta, const gchar * name)
{
  const gchar *custom_name = g_type_name (meta->info->type);
  GstStructure *structure = gst_structure_new (name,
      "name", G_TYPE_STRING, custom_name, NULL);
  GValue fields = G_VALUE_INIT;

  init_readable_structure (&fields,
      gst_custom_meta_get_structure ((GstCustomMeta *) meta), custom_name);
  gst_structure_take_value (structure, "fields", &fields);
  return structure;
}

static gboolean
copy_field (GQuark field, const GValue * value, gpointer user_data)
{
  gst_structure_id_set_value (user_data, field, value);
  return TRUE;
}

static gboolean
add_custom (GstBuffer * buffer, const GstStructure * structure,
    const GstAudioInfo * audio_info)
{
  const gchar *custom_name = gst_structure_get_string (structure, "name");
  const GValue *fields = gst_structure_get_value (structure, "fields");
  const GstMetaInfo *info;
  GstCustomMeta *custom;

  if (!custom_name || !fields || !GST_VALUE_HOLDS_STRUCTURE (fields) ||
      !gst_value_get_structure (fields))
    return FALSE;
  /* Only a meta this process registered, as the publisher's did. */
  info = gst_meta_get_info (custom_name);
  if (!info || !gst_meta_info_is_custom (info)) {
    GST_DEBUG ("custom meta '%s' is not registered in this process: left "
        "out", custom_name);
    return TRUE;
  }
  custom = gst_buffer_add_custom_meta (buffer, custom_name);
  gst_structure_foreach (gst_value_get_structure (fields), copy_field,
      gst_custom_meta_get_structure (custom));
  return TRUE;
}

/* The sample count and plane offsets of non-interleaved audio, without
 * which such a buffer cannot be mapped; the rest of its GstAudioInfo comes
 * from the caps on the subscriber's side. */
static GstStructure *
audio_to_structure (GstMeta * meta, const gchar * name)
{
  GstAudioMeta *audio = (GstAudioMeta *) meta;
  GstStructure *structure = gst_structure_new (name,
      "channels", G_TYPE_INT, GST_AUDIO_INFO_CHANNELS (&audio->info),
      "samples", G_TYPE_UINT64, (guint64) audio->samples, NULL);
  GValue offsets = G_VALUE_INIT;

  if (!audio->offsets)
    return structure;
  g_value_init (&offsets, GST_TYPE_ARRAY);
  for (gint c = 0; c < GST_AUDIO_INFO_CHANNELS (&audio->info); c++) {
    GValue offset = G_VALUE_INIT;

    g_value_init (&offset, G_TYPE_UINT64);
    g_value_set_uint64 (&offset, audio->offsets[c]);
    gst_value_array_append_and_take_value (&offsets, &offset);
  }
  gst_structure_take_value (structure, "offsets", &offsets);
  return structure;
}

static gboolean
add_audio (GstBuffer * buffer, const GstStructure * structure,
    const GstAudioInfo * info)
{
  const GValue *offset_values = gst_structure_get_value (structure, "offsets");
  gsize size = gst_buffer_get_size (buffer), offsets[64];
  guint64 samples, plane_size;
  gint channels;

  if (!info || !gst_structure_get (structure, "channels", G_TYPE_INT,
          &channels, "samples", G_TYPE_UINT64, &samples, NULL) ||
      channels != GST_AUDIO_INFO_CHANNELS (info) ||
      channels > (gint) G_N_ELEMENTS (offsets) ||
      samples > G_MAXSIZE / GST_AUDIO_INFO_BPF (info))
    return FALSE;

  /* gst_buffer_add_audio_meta asserts that every plane is in the buffer. */
  if (GST_AUDIO_INFO_LAYOUT (info) == GST_AUDIO_LAYOUT_INTERLEAVED) {
    if (offset_values || samples * GST_AUDIO_INFO_BPF (info) > size)
      return FALSE;
    gst_buffer_add_audio_meta (buffer, info, samples, NULL);
    return TRUE;
  }
  if (!offset_values || !GST_VALUE_HOLDS_ARRAY (offset_values) ||
      gst_value_array_get_size (offset_values) != (guint) channels)
    return FALSE;
  plane_size = samples * GST_AUDIO_INFO_BPS (info);
  for (gint c = 0; c < channels; c++) {
    const GValue *offset = gst_value_array_get_value (offset_values, c);

    if (!G_VALUE_HOLDS_UINT64 (offset) ||
        g_value_get_uint64 (offset) > size ||
        plane_size > size - g_value_get_uint64 (offset))
      return FALSE;
    offsets[c] = g_value_get_uint64 (offset);
  }
  /* And that no two planes overlap. */
  for (gint c = 0; c < channels; c++)
    for (gint d = c + 1; d < channels; d++)
      if (offsets[c] < offsets[d] + plane_size &&
          offsets[d] < offsets[c] + plane_size)
        return FALSE;
  gst_buffer_add_audio_meta (buffer, info, samples, offsets);
  return TRUE;
}

/* RFC 6464's level of the audio in the buffer. */
static GstStructure *
audio_level_to_structure (GstMeta * meta, const gchar * name)
{
  GstAudioLevelMeta *level = (GstAudioLevelMeta *) meta;

  return gst_structure_new (name, "level", G_TYPE_UINT, (guint) level->level,
      "voice-activity", G_TYPE_BOOLEAN, level->voice_activity, NULL);
}

static gboolean
add_audio_level (GstBuffer * buffer, const GstStructure * structure,
    const GstAudioInfo * audio_info)
{
  gboolean voice_activity;
  guint level;

  if (!gst_structure_get (structure, "level", G_TYPE_UINT, &level,
          "voice-activity", G_TYPE_BOOLEAN, &voice_activity, NULL) ||
      level > G_MAXUINT8)
    return FALSE;
  gst_buffer_add_audio_level_meta (buffer, (guint8) level, voice_activity);
  return TRUE;
}

static const struct
{
  const gchar *name;
  /* NULL for custom metas, which have an API type each. */
    GType (*api) (void);
  GstStructure *(*to_structure) (GstMeta * meta, const gchar * name);
  /* @audio_info: of the caps, if raw audio. */
    gboolean (*add) (GstBuffer * buffer, const GstStructure * structure,
      const GstAudioInfo * audio_info);
} carried_metas[] = {
  {"reference-timestamp", gst_reference_timestamp_meta_api_get_type,
      reference_timestamp_to_structure, add_reference_timestamp},
  {"region-of-interest", gst_video_region_of_interest_meta_api_get_type,
      region_of_interest_to_structure, add_region_of_interest},
  {"crop", gst_video_crop_meta_api_get_type, crop_to_structure, add_crop},
  {"time-code", gst_video_time_code_meta_api_get_type,
      time_code_to_structure, add_time_code},
  {"caption", gst_video_caption_meta_api_get_type, caption_to_structure,
      add_caption},
  {"afd", gst_video_afd_meta_api_get_type, afd_to_structure, add_afd},
  {"bar", gst_video_bar_meta_api_get_type, bar_to_structure, add_bar},
  {"sei-user-data-unregistered",
        gst_video_sei_user_data_unregistered_meta_api_get_type,
        sei_user_data_unregistered_to_structure,
      add_sei_user_data_unregistered},
  {"protection", gst_protection_meta_api_get_type, protection_to_structure,
      add_protection},
  {"audio", gst_audio_meta_api_get_type, audio_to_structure, add_audio},
  {"audio-level", gst_audio_level_meta_api_get_type,
      audio_level_to_structure, add_audio_level},
  {"custom", NULL, custom_to_structure, add_custom},
};

/* Looked for on every frame: the API types once, not a call each. */
static GType carried_apis[G_N_ELEMENTS (carried_metas)];
static GType video_meta_api;

static gpointer
find_carried_apis (gpointer data)
{
  for (guint i = 0; i < G_N_ELEMENTS (carried_metas); i++)
    carried_apis[i] = carried_metas[i].api ? carried_metas[i].api () : 0;
  video_meta_api = GST_VIDEO_META_API_TYPE;
  return NULL;
}

static GstStructure *
meta_to_structure (GstMeta * meta)
{
  /* Most frames have only this one, which travels in the descriptor. */
  if (meta->info->api == video_meta_api)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (carried_metas); i++) {
    if (carried_apis[i] ? meta->info->api == carried_apis[i] :
        gst_meta_info_is_custom (meta->info))
      return carried_metas[i].to_structure (meta, carried_metas[i].name);
  }
  return NULL;
}

gchar *
gst_zero_cp_metas_to_string (GstBuffer * buffer)
{
  static GOnce apis_found = G_ONCE_INIT;
  GString *text = NULL;
  gpointer state = NULL;
  GstMeta *meta;

  g_once (&apis_found, find_carried_apis, NULL);
  while ((meta = gst_buffer_iterate_meta (buffer, &state))) {
    GstStructure *structure = meta_to_structure (meta);
    gchar *line;

    if (!structure)
      continue;
    line = gst_structure_to_string (structure);
    gst_structure_free (structure);
    if (!text)
      text = g_string_new (NULL);
    /* Iteration goes from the latest meta added; the subscriber adds them
     * in the order of the lines, so the oldest comes first. */
    g_string_prepend_c (text, '\n');
    g_string_prepend (text, line);
    g_free (line);
  }
  return text ? g_string_free (text, FALSE) : NULL;
}

void
gst_zero_cp_metas_add_from_string (GstBuffer * buffer, const gchar * string,
    const GstAudioInfo * audio_info)
{
  GstZeroCpTextAdmission admission;
  const gchar *at = string, *why;
  gboolean parsed = TRUE;

  if (!gst_zero_cp_text_admit (string, &admission, &why)) {
    GST_WARNING ("metas refused, %s: '%.64s'", why, string);
    return;
  }
  for (;;) {
    GstStructure *structure;
    const gchar *name;
    gchar *end = NULL;
    guint i;

    while (g_ascii_isspace (*at))
      at++;
    if (!*at)
      break;
    structure = gst_structure_from_string (at, &end);
    if (!structure) {
      /* The rest cannot be told apart either. */
      GST_WARNING ("unreadable metas, left out: '%.64s'", at);
      parsed = FALSE;
      break;
    }
    at = end;

    name = gst_structure_get_name (structure);
    for (i = 0; i < G_N_ELEMENTS (carried_metas); i++)
      if (g_str_equal (name, carried_metas[i].name))
        break;
    if (i == G_N_ELEMENTS (carried_metas))
      GST_WARNING ("a meta of unknown kind '%s', left out", name);
    else if (!carried_metas[i].add (buffer, structure, audio_info))
      GST_WARNING ("a %s meta that cannot be made from its text, left out: %"
          GST_PTR_FORMAT, name, structure);
    gst_structure_free (structure);
  }
  gst_zero_cp_text_settle (&admission, parsed);
}

void
gst_zero_cp_metas_ensure_audio_layout (GstBuffer * buffer,
    const GstAudioInfo * audio_info)
{
  if (GST_AUDIO_INFO_LAYOUT (audio_info) != GST_AUDIO_LAYOUT_NON_INTERLEAVED ||
      gst_buffer_get_audio_meta (buffer))
    return;
  GST_WARNING ("non-interleaved audio without its planes' layout: taken as "
      "packed");
  gst_buffer_add_audio_meta (buffer, audio_info,
      gst_buffer_get_size (buffer) / GST_AUDIO_INFO_BPF (audio_info), NULL);
}
