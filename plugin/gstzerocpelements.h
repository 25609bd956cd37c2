/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (gst_zero_cp_debug);

void zero_cp_element_init (GstPlugin * plugin);

/* Posts an error for a negative errno @err from libzerocp, with the domain
 * and code a GStreamer application expects for it. */
void gst_zero_cp_element_post_error (GstElement * element, int err,
    const gchar * channel, const gchar * operation, const gchar * file,
    const gchar * function, gint line);

#define GST_ZERO_CP_ELEMENT_ERROR(element, err, channel, operation) \
  gst_zero_cp_element_post_error (GST_ELEMENT_CAST (element), (err), \
      (channel), (operation), __FILE__, GST_FUNCTION, __LINE__)

/* GstURIHandler for both elements: zerocp://CHANNEL names a channel wherever
 * GStreamer takes a URI (playbin, uridecodebin, gst_element_make_from_uri()),
 * through the element's "channel" property. */
void gst_zero_cp_uri_handler_init (gpointer g_iface, gpointer iface_data);

GST_ELEMENT_REGISTER_DECLARE (zerocpsink);
GST_ELEMENT_REGISTER_DECLARE (zerocpsrc);

G_END_DECLS
