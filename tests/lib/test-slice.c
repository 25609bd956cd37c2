/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A thread's scheduler slice and batch policy: asked for, given back,
 * nothing else touched. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "tap.h"
#include "zcp.h"

#define SHORT_SLICE_NS UINT64_C(100000)

static int
own_nice (void)
{
  return getpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid));
}

/* A nice value of its own, which changing anything else must not reset. */
static int
nice_thread (void)
{
  ok (setpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid), 3) == 0,
      "thread niced to 3");
  return own_nice ();
}

/* On a kernel without per-thread slices both calls must say so, harmlessly. */
static void
test_without_slices (void)
{
  uint64_t slice = 0;

  is_int (zcp_thread_set_slice (SHORT_SLICE_NS, &slice), -EOPNOTSUPP,
      "no slice to set");
  is_int (zcp_thread_get_slice (&slice), -EOPNOTSUPP, "and none appears");
}

static void
test_set_and_give_back (uint64_t original)
{
  uint64_t slice = 0;
  int nice_before;

  nice_before = nice_thread ();
  ok (original > SHORT_SLICE_NS, "the default slice (%llu ns) is longer "
      "than the one we ask for", (unsigned long long) original);
  is_int (zcp_thread_set_slice (SHORT_SLICE_NS, &slice), 0, "slice set");
  is_int (slice, SHORT_SLICE_NS, "the shorter slice is granted");
  is_int (zcp_thread_get_slice (&slice), 0, "slice read");
  is_int (slice, SHORT_SLICE_NS, "and it is the one granted");
  is_int (own_nice (), nice_before, "nice value untouched");
  is_int (zcp_thread_set_slice (original, &slice), 0, "slice set back");
  is_int (slice, original, "the original is given back");
  is_int (zcp_thread_set_slice (0, &slice), 0, "slice set to 0");
  is_int (slice, original, "which is the kernel's default");
}

static void *
run_in_fresh_thread (void *data)
{
  uint64_t original = 0;

  (void) data;
  if (zcp_thread_get_slice (&original) == -EOPNOTSUPP) {
    printf ("# this kernel has no per-thread slices (before Linux 6.12)\n");
    test_without_slices ();
  } else {
    test_set_and_give_back (original);
  }
  return NULL;
}

/* A batch thread is never woken to preempt anyone: it is left alone. */
static void *
run_as_batch (void *data)
{
  struct sched_param param = { 0 };
  uint64_t slice = 0;

  (void) data;
  ok (pthread_setschedparam (pthread_self (), SCHED_BATCH, &param) == 0,
      "thread set to SCHED_BATCH");
  is_int (zcp_thread_get_slice (&slice), -EOPNOTSUPP,
      "a batch thread has no slice to ask for");
  is_int (zcp_thread_set_slice (SHORT_SLICE_NS, &slice), -EOPNOTSUPP,
      "and gets none");
  is_int (zcp_thread_set_batch (true), -EALREADY, "it is batch already");
  return NULL;
}

/* SCHED_OTHER to SCHED_BATCH and back, the nice value and the slice kept. */
static void *
run_batch_and_back (void *data)
{
  uint64_t before = 0, after = 0;
  int has_slice, nice_before;

  (void) data;
  nice_before = nice_thread ();
  /* A slice of its own, which the policy's change must not reset. */
  has_slice = zcp_thread_set_slice (SHORT_SLICE_NS, &before) == 0;
  is_int (zcp_thread_set_batch (false), -EALREADY, "not batch yet");
  is_int (zcp_thread_set_batch (true), 0, "made batch");
  is_int (sched_getscheduler (0), SCHED_BATCH, "and it is");
  is_int (own_nice (), nice_before, "nice value untouched");
  is_int (zcp_thread_set_batch (true), -EALREADY, "batch only once");
  is_int (zcp_thread_set_batch (false), 0, "made SCHED_OTHER again");
  is_int (sched_getscheduler (0), SCHED_OTHER, "and it is");
  is_int (own_nice (), nice_before, "nice value still untouched");
  if (has_slice) {
    is_int (zcp_thread_get_slice (&after), 0, "slice read");
    is_int (after, before, "the slice asked for before is kept");
  }
  return NULL;
}

/* Idle, as any policy but the two fair ones, is not ours to change. */
static void *
run_as_idle (void *data)
{
  struct sched_param param = { 0 };

  (void) data;
  ok (pthread_setschedparam (pthread_self (), SCHED_IDLE, &param) == 0,
      "thread set to SCHED_IDLE");
  is_int (zcp_thread_set_batch (true), -EOPNOTSUPP, "not made batch");
  is_int (zcp_thread_set_batch (false), -EOPNOTSUPP, "nor SCHED_OTHER");
  is_int (sched_getscheduler (0), SCHED_IDLE, "still idle");
  return NULL;
}

int
main (void)
{
  pthread_t thread;

  /* Threads of their own: the nice value and the batch policy stay there. */
  pthread_create (&thread, NULL, run_in_fresh_thread, NULL);
  pthread_join (thread, NULL);
  pthread_create (&thread, NULL, run_as_batch, NULL);
  pthread_join (thread, NULL);
  pthread_create (&thread, NULL, run_batch_and_back, NULL);
  pthread_join (thread, NULL);
  pthread_create (&thread, NULL, run_as_idle, NULL);
  pthread_join (thread, NULL);
  return tap_done ();
}
