/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>

#include "zcp-private.h"

static void (*log_handler) (enum zcp_log_level, const char *, void *);
static void *log_user_data;

void
zcp_log_set_handler (void (*handler) (enum zcp_log_level level,
        const char *message, void *user_data), void *user_data)
{
  log_handler = handler;
  log_user_data = user_data;
}

void
zcp_log (enum zcp_log_level level, const char *format, ...)
{
  char message[512];
  va_list args;

  if (!log_handler)
    return;

  va_start (args, format);
  vsnprintf (message, sizeof message, format, args);
  va_end (args);
  log_handler (level, message, log_user_data);
}
