/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "zcp-layout.h"

/*
 * Named events: a futex word in shared memory plus a count of sleepers.
 * Wake-ups are hints; the caller's condition holds the truth, so a merged or
 * spurious wake-up is harmless and a lost one cannot happen: the waiter
 * announces itself before it tests its condition, and the signaller publishes
 * its change before it looks for waiters (both sequentially consistent).
 */

/* Bumps the event and wakes its sleepers, with no system call when there are
 * none.  Call after making the waiters' condition true. */
void zcp_event_signal (struct zcp_shm_event *event);

/* Sleeps until @condition (@data) holds or @deadline_ns (CLOCK_MONOTONIC)
 * passes.  Returns 0 when the condition holds, -ETIMEDOUT otherwise. */
int zcp_event_wait_until (struct zcp_shm_event *event,
    bool (*condition) (void *data), void *data, int64_t deadline_ns);

/* Puts an event into its initial state; only while nobody else can see it. */
void zcp_event_reset (struct zcp_shm_event *event);
