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
 *
 * A sleeper that has been woken but has not run yet still counts itself, and
 * on a busy CPU that lasts: every signal meanwhile would make a wake-up call
 * that finds nobody in the kernel (a third to two thirds of a publisher's
 * calls with four subscribers of small frames sent as fast as they go, and
 * nearly all of theirs to it).  So the
 * signaller that makes the call marks the count (ZCP_SHM_SLEEPERS_WAKING),
 * the others leave it to that call, and each sleeper clears the mark before
 * it tests its condition again: a change it would miss, the next signaller
 * sees unmarked.  A signaller that dies between its mark and its call
 * leaves the mark: no wait sleeps longer than ZCP_EVENT_SLEEP_SLICE_NS at a
 * time, and the next look clears it.
 */

/* Bumps the event and wakes its sleepers, with no system call when there are
 * none or a wake-up call is already on its way to them.  Call after making
 * the waiters' condition true. */
void zcp_event_signal (struct zcp_shm_event *event);

/* Sleeps until @condition (@data) holds or @deadline_ns (CLOCK_MONOTONIC)
 * passes.  Returns 0 when the condition holds, -ETIMEDOUT otherwise. */
int zcp_event_wait_until (struct zcp_shm_event *event,
    bool (*condition) (void *data), void *data, int64_t deadline_ns);

/*
 * Shared events: many sleepers on one futex word, each with a count of its
 * own and a bit (its index modulo 32), so that one system call wakes every
 * sleeper a change concerns and, but for aliased bits, no other.  The same
 * rules as above: a sleeper counts itself before it tests its condition, a
 * signaller makes the conditions true before it looks at the counts.
 */

/* The bit of sleeper @index. */
static inline uint32_t
zcp_event_bit (uint32_t index)
{
  return UINT32_C (1) << (index % 32u);
}

/* Makes the caller's changes to the sleepers' conditions visible before the
 * counts it reads next: once, before a run of zcp_event_claim_wake().
 * Sequentially consistent, so that a sleeper it misses sees the changes. */
static inline void
zcp_event_before_looking (void)
{
  atomic_thread_fence (memory_order_seq_cst);
}

/* True when someone sleeps on @sleepers and no wake-up call is on its way
 * to them: the caller then owns that call and must make it.  After
 * zcp_event_before_looking(). */
static inline bool
zcp_event_claim_wake (_Atomic uint32_t * sleepers)
{
  /* A load first: with nobody asleep, as in a fast stream, nothing is
   * written to a line the sleeper writes. */
  uint32_t sleeping = atomic_load_explicit (sleepers, memory_order_seq_cst);

  if (sleeping == 0 || (sleeping & ZCP_SHM_SLEEPERS_WAKING))
    return false;
  return !(atomic_fetch_or_explicit (sleepers, ZCP_SHM_SLEEPERS_WAKING,
          memory_order_seq_cst) & ZCP_SHM_SLEEPERS_WAKING);
}

/* Puts a count of sleepers into its initial state; only while nobody else
 * can sleep on it. */
static inline void
zcp_event_reset_sleepers (_Atomic uint32_t * sleepers)
{
  atomic_store_explicit (sleepers, 0, memory_order_relaxed);
}

/* Bumps @word and wakes its sleepers whose bits are in @bits. */
void zcp_event_wake_shared (_Atomic uint32_t * word, uint32_t bits);

/* zcp_event_signal for one sleeper, @index of @word, counted in @sleepers;
 * a signaller of several looks at their counts itself and wakes them all
 * with one zcp_event_wake_shared(). */
void zcp_event_signal_shared (_Atomic uint32_t * word,
    _Atomic uint32_t * sleepers, uint32_t index);

/* The longest any wait sleeps before it looks again, whatever its deadline:
 * a signaller that dies between marking a wake-up and making it holds up
 * the wake-ups of those it marked for no longer. */
#define ZCP_EVENT_SLEEP_SLICE_NS (100 * 1000 * 1000)

/* How long a shared wait looks at its condition before it sleeps. */
#define ZCP_EVENT_LOOK_NS 2000

/* As zcp_event_wait_until, for sleeper @index of @word, counted in
 * @sleepers; it looks at @condition for ZCP_EVENT_LOOK_NS first, which at
 * high rates saves a wait that would not sleep and a wake-up that would find
 * nobody.  @slack_ns, if above 0, is the thread's timer slack while it
 * sleeps (prctl PR_SET_TIMERSLACK), given back as it returns: its timeout
 * may then end that much late, in a timer the kernel had programmed
 * anyway. */
int zcp_event_wait_shared_until (_Atomic uint32_t * word,
    _Atomic uint32_t * sleepers, uint32_t index,
    bool (*condition) (void *data), void *data, int64_t deadline_ns,
    int64_t slack_ns);
