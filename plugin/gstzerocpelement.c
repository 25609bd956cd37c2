/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <string.h>

#include <gst/base/gstbasesrc.h>

#include "gstzerocpelements.h"
#include "zcp.h"

GST_DEBUG_CATEGORY (gst_zero_cp_debug);
#define GST_CAT_DEFAULT gst_zero_cp_debug

/* The library's last warning in this thread: the check that failed, with
 * its numbers, which the error it returns next then carries. */
static GPrivate last_problem = G_PRIVATE_INIT (g_free);

static void
zero_cp_log_cb (enum zcp_log_level level, const char *message, void *user_data)
{
  static const GstDebugLevel levels[] = {
    [ZCP_LOG_ERROR] = GST_LEVEL_ERROR,
    [ZCP_LOG_WARNING] = GST_LEVEL_WARNING,
    [ZCP_LOG_INFO] = GST_LEVEL_INFO,
    [ZCP_LOG_DEBUG] = GST_LEVEL_DEBUG,
  };

  GST_CAT_LEVEL_LOG (gst_zero_cp_debug, levels[level], NULL, "%s", message);
  if (level <= ZCP_LOG_WARNING)
    g_private_replace (&last_problem, g_strdup (message));
}

void
zero_cp_element_init (GstPlugin * plugin)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized)) {
    GST_DEBUG_CATEGORY_INIT (gst_zero_cp_debug, "zerocp", 0,
        "zerocp shared-memory transport");
    zcp_log_set_handler (zero_cp_log_cb, NULL);
    g_once_init_leave (&initialized, 1);
  }
}

static const gchar *const uri_protocols[] = { "zerocp", NULL };

static GstURIType
gst_zero_cp_uri_get_type (GType type)
{
  return g_type_is_a (type, GST_TYPE_BASE_SRC) ? GST_URI_SRC : GST_URI_SINK;
}

static const gchar *const *
gst_zero_cp_uri_get_protocols (GType type)
{
  return uri_protocols;
}

static gchar *
gst_zero_cp_uri_get_uri (GstURIHandler * handler)
{
  gchar *channel = NULL, *uri;

  g_object_get (handler, "channel", &channel, NULL);
  uri = channel ? g_strdup_printf ("%s://%s", uri_protocols[0], channel) : NULL;
  g_free (channel);
  return uri;
}

static gboolean
gst_zero_cp_uri_set_uri (GstURIHandler * handler, const gchar * uri,
    GError ** error)
{
  gchar *channel = NULL;
  gboolean running;

  if (gst_uri_has_protocol (uri, uri_protocols[0]))
    channel = gst_uri_get_location (uri);
  if (!channel || zcp_channel_name_validate (channel) < 0) {
    g_set_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI, "Invalid "
        "zerocp URI '%s': use zerocp://CHANNEL, with 1 to %u of the "
        "characters A-Z a-z 0-9 _ - .", uri, ZCP_CHANNEL_NAME_MAX);
    g_free (channel);
    return FALSE;
  }

  /* The channel property is mutable in NULL and READY only. */
  GST_OBJECT_LOCK (handler);
  running = GST_STATE (handler) > GST_STATE_READY;
  GST_OBJECT_UNLOCK (handler);
  if (running) {
    g_set_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_STATE,
        "The channel cannot change while the element runs");
    g_free (channel);
    return FALSE;
  }
  g_object_set (handler, "channel", channel, NULL);
  g_free (channel);
  return TRUE;
}

void
gst_zero_cp_uri_handler_init (gpointer g_iface, gpointer iface_data)
{
  GstURIHandlerInterface *iface = g_iface;

  iface->get_type = gst_zero_cp_uri_get_type;
  iface->get_protocols = gst_zero_cp_uri_get_protocols;
  iface->get_uri = gst_zero_cp_uri_get_uri;
  iface->set_uri = gst_zero_cp_uri_set_uri;
}

void
gst_zero_cp_element_post_error (GstElement * element, int err,
    const gchar * channel, const gchar * operation, const gchar * file,
    const gchar * function, gint line)
{
  GQuark domain = GST_RESOURCE_ERROR;
  const gchar *problem;
  gint code;
  gchar *text, *debug;

  switch (-err) {
    case ENOENT:
      code = GST_RESOURCE_ERROR_NOT_FOUND;
      text = g_strdup_printf ("Channel '%s' does not exist.", channel);
      break;
    case EACCES:
    case EPERM:
      code = GST_RESOURCE_ERROR_NOT_AUTHORIZED;
      text = g_strdup_printf ("No permission to use channel '%s'.", channel);
      break;
    case EPROTO:
      code = GST_RESOURCE_ERROR_READ;
      text = g_strdup_printf ("Channel '%s' is corrupt or of another "
          "version of zerocp.", channel);
      break;
    case EPIPE:
      code = GST_RESOURCE_ERROR_READ;
      text = g_strdup_printf ("The publisher of channel '%s' went away.",
          channel);
      break;
    case ENOSPC:
    case ENOMEM:
      code = GST_RESOURCE_ERROR_NO_SPACE_LEFT;
      text = g_strdup_printf ("Not enough shared memory for channel '%s' "
          "(is /dev/shm full?).", channel);
      break;
    case EBUSY:
      code = GST_RESOURCE_ERROR_BUSY;
      text = g_strdup_printf ("Channel '%s' already has a live publisher.",
          channel);
      break;
    case ETIMEDOUT:
      /* Only opening a channel gets here: waits that time out are not
       * errors. */
      code = GST_RESOURCE_ERROR_BUSY;
      text = g_strdup_printf ("Channel '%s' is being removed by another "
          "process, which has not finished in a second (is it stopped?).",
          channel);
      break;
    case EUSERS:
      code = GST_RESOURCE_ERROR_BUSY;
      text = g_strdup_printf ("Channel '%s' has no free subscriber slot.",
          channel);
      break;
    case EMFILE:
    case ENFILE:
      code = GST_RESOURCE_ERROR_FAILED;
      text = g_strdup_printf ("Too many open files to use channel '%s' "
          "(raise the limit: ulimit -n).", channel);
      break;
    case EINVAL:
    case ENAMETOOLONG:
      code = GST_RESOURCE_ERROR_SETTINGS;
      text = g_strdup_printf ("Invalid channel name '%s': use 1 to %u of "
          "the characters A-Z a-z 0-9 _ - .", channel ? channel : "(null)",
          ZCP_CHANNEL_NAME_MAX);
      break;
    default:
      code = GST_RESOURCE_ERROR_FAILED;
      text = g_strdup_printf ("Failed to use channel '%s'.", channel);
      break;
  }

  problem = g_private_get (&last_problem);
  debug = g_strdup_printf ("%s: %s (errno %d)%s%s", operation,
      g_strerror (-err), -err, problem ? "; " : "", problem ? problem : "");
  g_private_replace (&last_problem, NULL);
  gst_element_message_full (element, GST_MESSAGE_ERROR, domain, code, text,
      debug, file, function, line);
}
