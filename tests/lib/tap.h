/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Just enough TAP for meson's 'tap' protocol. */

#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

static int tap_count, tap_failed;

#define ok(cond, ...) \
  do { \
    int ok_ = !!(cond); \
    tap_count++; \
    if (!ok_) tap_failed++; \
    printf ("%s %d - ", ok_ ? "ok" : "not ok", tap_count); \
    printf (__VA_ARGS__); \
    printf ("\n"); \
    if (!ok_) \
      printf ("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
    fflush (stdout); \
  } while (0)

#define is_int(got, expected, ...) \
  do { \
    long long got_ = (long long) (got), expected_ = (long long) (expected); \
    ok (got_ == expected_, __VA_ARGS__); \
    if (got_ != expected_) \
      printf ("#   got %lld, expected %lld\n", got_, expected_); \
  } while (0)

static inline int
tap_done (void)
{
  printf ("1..%d\n", tap_count);
  return tap_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* A channel name no other test (or run) uses. */
static inline const char *
tap_channel (const char *test)
{
  static char name[128];

  snprintf (name, sizeof name, "test-%s-%ld", test, (long) getpid ());
  return name;
}

/* Gives the calling process a mount namespace of its own (as root, or in an
 * unprivileged user namespace) and mounts an empty tmpfs of @options on
 * @target there; false where neither is allowed. */
static inline bool
tap_private_tmpfs (const char *target, const char *options)
{
  return (unshare (CLONE_NEWNS) == 0 ||
      unshare (CLONE_NEWUSER | CLONE_NEWNS) == 0) &&
      mount ("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == 0 &&
      mount ("tmpfs", target, "tmpfs", 0, options) == 0;
}
