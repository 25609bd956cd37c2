/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/audio/audio.h>
#include <gst/gst.h>

G_BEGIN_DECLS

/* The metas of @buffer that cross to subscribers, as text (one structure a
 * line), or NULL if it has none of them.  The video layout is not among
 * them: it travels in the frame's descriptor. */
gchar *gst_zero_cp_metas_to_string (GstBuffer * buffer);

/* Adds to @buffer the metas that @string, from the publisher, describes;
 * @audio_info is that of the caps if they are raw audio (an audio meta takes
 * the rest of its description from them), else NULL.  A meta that does not
 * read back, or whose values its API refuses, is left out with a warning in
 * the debug log; a custom meta this process has not registered, with a note
 * there. */
void gst_zero_cp_metas_add_from_string (GstBuffer * buffer,
    const gchar * string, const GstAudioInfo * audio_info);

/* Non-interleaved audio cannot be mapped without its GstAudioMeta, which
 * comes with the frame's metas: if they were lost (written over before a
 * leaky subscriber far behind read them) or could not be read, this takes
 * the planes of @buffer, raw audio of @audio_info, as packed, the layout
 * decoders give, rather than let it go downstream to GStreamer's audio
 * functions, which assert on it. */
void gst_zero_cp_metas_ensure_audio_layout (GstBuffer * buffer,
    const GstAudioInfo * audio_info);

G_END_DECLS
