/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zcp-event.h"
#include "zcp-private.h"

static int
futex_wait (_Atomic uint32_t * word, uint32_t expected, int64_t timeout_ns)
{
  struct timespec timeout = {
    .tv_sec = timeout_ns / ZCP_NSEC_PER_SEC,
    .tv_nsec = timeout_ns % ZCP_NSEC_PER_SEC,
  };

  /* Not FUTEX_PRIVATE_FLAG: the word is shared between processes. */
  if (syscall (SYS_futex, (uint32_t *) word, FUTEX_WAIT, expected, &timeout,
          NULL, 0) == 0)
    return 0;
  return -errno;
}

static void
futex_wake_all (_Atomic uint32_t * word)
{
  syscall (SYS_futex, (uint32_t *) word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

void
zcp_event_signal (struct zcp_shm_event *event)
{
  /* seq_cst: the caller's change must be visible before we read waiters;
   * pairs with the seq_cst increment of waiters in zcp_event_wait_until. */
  atomic_thread_fence (memory_order_seq_cst);
  if (atomic_load_explicit (&event->waiters, memory_order_seq_cst) == 0)
    return;

  /* release; pairs with the acquire load of seq in zcp_event_wait_until */
  atomic_fetch_add_explicit (&event->seq, 1, memory_order_release);
  futex_wake_all (&event->seq);
}

int
zcp_event_wait_until (struct zcp_shm_event *event,
    bool (*condition) (void *data), void *data, int64_t deadline_ns)
{
  int ret = 0;

  /* seq_cst; pairs with the fence in zcp_event_signal: either the signaller
   * sees us waiting, or we see its change in condition(). */
  atomic_fetch_add_explicit (&event->waiters, 1, memory_order_seq_cst);

  for (;;) {
    /* acquire; pairs with the release increment in zcp_event_signal */
    uint32_t seq = atomic_load_explicit (&event->seq, memory_order_acquire);
    int64_t remaining;

    if (condition (data))
      break;

    remaining = deadline_ns - zcp_now_ns ();
    if (remaining <= 0) {
      ret = -ETIMEDOUT;
      break;
    }

    /* EAGAIN: seq moved before we slept; EINTR: a signal; ETIMEDOUT: the
     * slice ran out.  All three mean "look again". */
    (void) futex_wait (&event->seq, seq, remaining);
  }

  atomic_fetch_sub_explicit (&event->waiters, 1, memory_order_relaxed);
  return ret;
}

void
zcp_event_reset (struct zcp_shm_event *event)
{
  atomic_store_explicit (&event->waiters, 0, memory_order_relaxed);
}
