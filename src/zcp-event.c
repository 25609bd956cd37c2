/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zcp-event.h"
#include "zcp-private.h"

/* Not FUTEX_PRIVATE_FLAG: the words are shared between processes.  The
 * bitset variants, for one call to wake a chosen few of a word's sleepers;
 * their timeout is absolute, on CLOCK_MONOTONIC. */

static int
futex_wait_bits (_Atomic uint32_t * word, uint32_t expected,
    int64_t deadline_ns, uint32_t bits)
{
  struct timespec deadline = {
    .tv_sec = deadline_ns / ZCP_NSEC_PER_SEC,
    .tv_nsec = deadline_ns % ZCP_NSEC_PER_SEC,
  };

  if (syscall (SYS_futex, (uint32_t *) word, FUTEX_WAIT_BITSET, expected,
          &deadline, NULL, bits) == 0)
    return 0;
  return -errno;
}

static void
futex_wake_bits (_Atomic uint32_t * word, uint32_t bits)
{
  syscall (SYS_futex, (uint32_t *) word, FUTEX_WAKE_BITSET, INT_MAX, NULL,
      NULL, bits);
}

/* The calling thread's timer slack, set to @slack_ns; its old value in
 * @old_ns, or -1 if it was left alone. */
static void
set_timer_slack (int64_t slack_ns, long *old_ns)
{
  long old = prctl (PR_GET_TIMERSLACK, 0, 0, 0, 0);

  *old_ns = -1;
  if (old >= 0 && old != slack_ns
      && prctl (PR_SET_TIMERSLACK, (unsigned long) slack_ns, 0, 0, 0) == 0)
    *old_ns = old;
}

static int
wait_until (_Atomic uint32_t * word, _Atomic uint32_t * sleepers,
    uint32_t bits, bool (*condition) (void *data), void *data,
    int64_t deadline_ns, int64_t slack_ns)
{
  long old_slack_ns = -1;
  bool slack_asked = false;
  int ret = 0;

  /* seq_cst; pairs with the fence of zcp_event_before_looking: either the
   * signaller sees us sleeping, or we see its change in condition(). */
  atomic_fetch_add_explicit (sleepers, 1, memory_order_seq_cst);

  for (;;) {
    int64_t now;
    uint32_t seq;

    /* seq_cst, as the count: a signaller that marked the count before this
     * has made or will make its call; one after it sees the mark gone, or
     * made its change before and we see that change below. */
    atomic_fetch_and_explicit (sleepers, ~ZCP_SHM_SLEEPERS_WAKING,
        memory_order_seq_cst);
    /* acquire; pairs with the release increment in zcp_event_wake_shared */
    seq = atomic_load_explicit (word, memory_order_acquire);

    if (condition (data))
      break;
    now = zcp_now_ns ();
    if (now >= deadline_ns) {
      ret = -ETIMEDOUT;
      break;
    }
    /* Asked for only now that the thread sleeps: most waits of a fast
     * stream end before. */
    if (slack_ns > 0 && !slack_asked) {
      set_timer_slack (slack_ns, &old_slack_ns);
      slack_asked = true;
    }
    /* EAGAIN: the word moved before we slept; EINTR: a signal; ETIMEDOUT:
     * the deadline or the slice passed.  All three mean "look again". */
    (void) futex_wait_bits (word, seq, zcp_min_i64 (deadline_ns,
            now + ZCP_EVENT_SLEEP_SLICE_NS), bits);
  }

  if (old_slack_ns >= 0)
    (void) prctl (PR_SET_TIMERSLACK, (unsigned long) old_slack_ns, 0, 0, 0);
  atomic_fetch_sub_explicit (sleepers, 1, memory_order_relaxed);
  return ret;
}

void
zcp_event_wake_shared (_Atomic uint32_t * word, uint32_t bits)
{
  /* release; pairs with the acquire load of the word in wait_until */
  atomic_fetch_add_explicit (word, 1, memory_order_release);
  futex_wake_bits (word, bits);
}

int
zcp_event_wait_shared_until (_Atomic uint32_t * word,
    _Atomic uint32_t * sleepers, uint32_t index,
    bool (*condition) (void *data), void *data, int64_t deadline_ns,
    int64_t slack_ns)
{
  /* Most of a fast stream's waits would end at once: the next descriptor
   * lands while the sleeper is on its way into the kernel, the wait returns
   * EAGAIN and the signaller's wake-up finds nobody.  Looking for a moment
   * first saves both system calls; an idle wait still sleeps after it. */
  int64_t look_until = zcp_now_ns () + ZCP_EVENT_LOOK_NS;

  do {
    if (condition (data))
      return 0;
    zcp_cpu_relax ();
  } while (zcp_now_ns () < look_until);

  return wait_until (word, sleepers, zcp_event_bit (index), condition, data,
      deadline_ns, slack_ns);
}

static void
signal_bits (_Atomic uint32_t * word, _Atomic uint32_t * sleepers,
    uint32_t bits)
{
  zcp_event_before_looking ();
  if (zcp_event_claim_wake (sleepers))
    zcp_event_wake_shared (word, bits);
}

void
zcp_event_signal_shared (_Atomic uint32_t * word, _Atomic uint32_t * sleepers,
    uint32_t index)
{
  signal_bits (word, sleepers, zcp_event_bit (index));
}

void
zcp_event_signal (struct zcp_shm_event *event)
{
  signal_bits (&event->seq, &event->waiters, FUTEX_BITSET_MATCH_ANY);
}

int
zcp_event_wait_until (struct zcp_shm_event *event,
    bool (*condition) (void *data), void *data, int64_t deadline_ns)
{
  return wait_until (&event->seq, &event->waiters, FUTEX_BITSET_MATCH_ANY,
      condition, data, deadline_ns, 0);
}
