/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers shared by the library's modules; never installed. */

#include <stdint.h>
#include <time.h>

#include "zcp.h"

#define ZCP_NSEC_PER_SEC INT64_C(1000000000)
#define ZCP_NSEC_PER_MSEC INT64_C(1000000)

/* How often a blocked party looks at whether its peer is still alive. */
#define ZCP_LIVENESS_PERIOD_NS (100 * ZCP_NSEC_PER_MSEC)

void zcp_log (enum zcp_log_level level, const char *format, ...)
    __attribute__((format (printf, 2, 3)));

static inline int64_t
zcp_now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * ZCP_NSEC_PER_SEC + ts.tv_nsec;
}

/* Deadline for a timeout, saturating instead of overflowing. */
static inline int64_t
zcp_deadline (int64_t timeout_ns)
{
  int64_t now = zcp_now_ns (), deadline;

  if (timeout_ns < 0 || __builtin_add_overflow (now, timeout_ns, &deadline))
    return INT64_MAX;
  return deadline;
}

/* Tells the CPU we are polling: the other hyperthread gets the core, and
 * leaving the loop costs no pipeline flush. */
static inline void
zcp_cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#elif defined(__aarch64__)
  __asm__ __volatile__ ("yield");
#endif
}

static inline int64_t
zcp_min_i64 (int64_t a, int64_t b)
{
  return a < b ? a : b;
}
