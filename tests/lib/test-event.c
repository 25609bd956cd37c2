/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Named events: signal, wait, timeout, across threads and processes. */
#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "zcp-event.h"

#define MSEC INT64_C(1000000)

struct shared
{
  struct zcp_shm_event event;
  _Atomic uint32_t flag;
};

static int64_t
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool
flag_set (void *data)
{
  return atomic_load (&((struct shared *) data)->flag) != 0;
}

static void *
set_flag_thread (void *data)
{
  struct shared *shared = data;

  atomic_store (&shared->flag, 1);
  zcp_event_signal (&shared->event);
  return NULL;
}

static void
test_timeout (struct shared *shared)
{
  int64_t start = now_ns ();

  atomic_store (&shared->flag, 0);
  is_int (zcp_event_wait_until (&shared->event, flag_set, shared,
          start + 50 * MSEC), -ETIMEDOUT, "a wait with nothing to see times "
      "out");
  ok (now_ns () - start >= 50 * MSEC, "but not before its deadline");
  is_int (atomic_load (&shared->event.waiters), 0, "and leaves no waiter");

  zcp_event_signal (&shared->event);
  is_int (atomic_load (&shared->event.seq), 0,
      "a signal nobody waits for costs nothing: the word is untouched");
}

static void
test_threads (struct shared *shared)
{
  int woken = 0;

  for (int round = 0; round < 2000; round++) {
    pthread_t thread;

    atomic_store (&shared->flag, 0);
    pthread_create (&thread, NULL, set_flag_thread, shared);
    woken += zcp_event_wait_until (&shared->event, flag_set, shared,
        now_ns () + 5000 * MSEC) == 0;
    pthread_join (thread, NULL);
  }
  is_int (woken, 2000, "every signal from another thread is seen: no lost "
      "wake-up in 2000 races");
}

static void
test_processes (struct shared *shared)
{
  int status;
  pid_t child;

  atomic_store (&shared->flag, 0);
  child = fork ();
  if (child == 0) {
    int ret = zcp_event_wait_until (&shared->event, flag_set, shared,
        now_ns () + 10000 * MSEC);
    _exit (ret == 0 ? 0 : 1);
  }
  /* Signal once the child sleeps, or before: both must work. */
  set_flag_thread (shared);
  waitpid (child, &status, 0);
  ok (WIFEXITED (status) && WEXITSTATUS (status) == 0,
      "a signal wakes a waiter in another process");
}

int
main (void)
{
  struct shared *shared = mmap (NULL, sizeof *shared, PROT_READ | PROT_WRITE,
      MAP_SHARED | MAP_ANONYMOUS, -1, 0);

  test_timeout (shared);
  test_threads (shared);
  test_processes (shared);
  return tap_done ();
}
