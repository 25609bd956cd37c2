/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Named events: signal, wait, timeout, across threads and processes. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
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
  /* Two sleepers on one word, as subscribers on the header's. */
  _Atomic uint32_t word;
  _Atomic uint32_t sleepers[2];
  _Atomic uint32_t flags[2];
};

struct sleeper
{
  struct shared *shared;
  uint32_t index;               /* 0 or 1: which count and flag */
  uint32_t bit_index;           /* its bit on the word */
  int64_t deadline;
  int result;
  _Atomic pid_t tid;
  int64_t slack;                /* the timer slack it sleeps with, or 0 */
  bool (*condition) (void *sleeper);    /* NULL: own_flag_set */
  _Atomic long slack_seen;      /* the thread's, as it last looked */
  long slack_after;             /* the thread's, once the wait returned */
};

/* How many sleep on @sleepers, without the mark of a wake-up on its way. */
static uint32_t
sleeping (_Atomic uint32_t * sleepers)
{
  return atomic_load (sleepers) & ~ZCP_SHM_SLEEPERS_WAKING;
}

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
  is_int (sleeping (&shared->event.waiters), 0, "and leaves no waiter");

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

/* A process that waits for the flag for up to @timeout_ns and exits 0 if it
 * saw it. */
static pid_t
fork_sleeper (struct shared *shared, int64_t timeout_ns)
{
  pid_t child = fork ();

  if (child == 0) {
    int ret = zcp_event_wait_until (&shared->event, flag_set, shared,
        now_ns () + timeout_ns);
    _exit (ret == 0 ? 0 : 1);
  }
  return child;
}

static void
test_processes (struct shared *shared)
{
  int status;
  pid_t child;

  atomic_store (&shared->flag, 0);
  child = fork_sleeper (shared, 10000 * MSEC);
  /* Signal once the child sleeps, or before: both must work. */
  set_flag_thread (shared);
  waitpid (child, &status, 0);
  ok (WIFEXITED (status) && WEXITSTATUS (status) == 0,
      "a signal wakes a waiter in another process");
}

/* A sleeper woken but stopped before it runs again, as a busy CPU keeps one:
 * the signals meanwhile leave the wake-up to the first one's call. */
static void
test_one_call_per_sleep (struct shared *shared)
{
  int64_t deadline;
  uint32_t seq;
  int status;
  pid_t child;

  atomic_store (&shared->flag, 0);
  atomic_store (&shared->event.seq, 0);
  child = fork_sleeper (shared, 10000 * MSEC);
  while (sleeping (&shared->event.waiters) == 0)
    sched_yield ();
  kill (child, SIGSTOP);
  waitpid (child, &status, WUNTRACED);

  atomic_store (&shared->flag, 1);
  zcp_event_signal (&shared->event);
  is_int (atomic_load (&shared->event.seq), 1, "a signal to a sleeper makes "
      "a wake-up call");
  zcp_event_signal (&shared->event);
  zcp_event_signal (&shared->event);
  is_int (atomic_load (&shared->event.seq), 1, "the signals before it runs "
      "make none");

  kill (child, SIGCONT);
  waitpid (child, &status, 0);
  ok (WIFEXITED (status) && WEXITSTATUS (status) == 0, "and the first one's "
      "call wakes it");
  is_int (sleeping (&shared->event.waiters), 0, "which counts itself out");

  /* A signaller that marks the count as its sleeper leaves leaves the mark
   * behind, with nobody counted: it must not hide the next sleep. */
  atomic_store (&shared->flag, 0);
  atomic_store (&shared->event.waiters, ZCP_SHM_SLEEPERS_WAKING);
  child = fork_sleeper (shared, 10000 * MSEC);
  deadline = now_ns () + 5000 * MSEC;
  while (atomic_load (&shared->event.waiters) != 1 && now_ns () < deadline)
    sched_yield ();
  is_int (atomic_load (&shared->event.waiters), 1, "a sleeper clears a mark "
      "left from before it");
  seq = atomic_load (&shared->event.seq);
  set_flag_thread (shared);
  is_int (atomic_load (&shared->event.seq), seq + 1, "so that the next "
      "signal makes its call");
  waitpid (child, &status, 0);
  ok (WIFEXITED (status) && WEXITSTATUS (status) == 0, "which wakes it");
}

static bool
own_flag_set (void *data)
{
  struct sleeper *sleeper = data;

  return atomic_load (&sleeper->shared->flags[sleeper->index]) != 0;
}

static void *
sleeper_thread (void *data)
{
  struct sleeper *sleeper = data;
  struct shared *shared = sleeper->shared;

  atomic_store (&sleeper->tid, gettid ());
  sleeper->result = zcp_event_wait_shared_until (&shared->word,
      &shared->sleepers[sleeper->index], sleeper->bit_index,
      sleeper->condition ? sleeper->condition : own_flag_set, sleeper,
      sleeper->deadline, sleeper->slack);
  return NULL;
}

/* What the publisher does: make both conditions true, then one call for
 * those that sleep. */
static void
wake_both (struct shared *shared, const struct sleeper *sleepers)
{
  uint32_t bits = 0;

  atomic_store (&shared->flags[0], 1);
  atomic_store (&shared->flags[1], 1);
  zcp_event_before_looking ();
  for (int i = 0; i < 2; i++)
    if (zcp_event_claim_wake (&shared->sleepers[i]))
      bits |= zcp_event_bit (sleepers[i].bit_index);
  if (bits)
    zcp_event_wake_shared (&shared->word, bits);
}

static void
test_shared_threads (struct shared *shared)
{
  int woken = 0;

  for (int round = 0; round < 2000; round++) {
    struct sleeper sleepers[2] = {
      {shared, 0, 3, now_ns () + 5000 * MSEC, -1},
      {shared, 1, 62, now_ns () + 5000 * MSEC, -1},
    };
    pthread_t threads[2];

    atomic_store (&shared->flags[0], 0);
    atomic_store (&shared->flags[1], 0);
    for (int i = 0; i < 2; i++)
      pthread_create (&threads[i], NULL, sleeper_thread, &sleepers[i]);
    wake_both (shared, sleepers);
    for (int i = 0; i < 2; i++) {
      pthread_join (threads[i], NULL);
      woken += sleepers[i].result == 0;
    }
  }
  is_int (woken, 4000, "two sleepers on one word, one wake-up call for both: "
      "none lost in 2000 races");
  ok (sleeping (&shared->sleepers[0]) == 0
      && sleeping (&shared->sleepers[1]) == 0, "and none left counted");
}

/* True once the task whose stat file is @path is asleep in the kernel. */
static bool
task_sleeps (const char *path)
{
  char stat[512], *state;
  FILE *file;
  size_t length;

  file = fopen (path, "r");
  if (!file)
    return false;
  length = fread (stat, 1, sizeof stat - 1, file);
  fclose (file);
  stat[length] = '\0';
  /* "tid (comm) S ...": the comm may hold spaces and parentheses. */
  state = strrchr (stat, ')');
  return state && state[1] == ' ' && state[2] == 'S';
}

/* True once thread @tid of this process is asleep in the kernel. */
static bool
thread_sleeps (pid_t tid)
{
  char path[64];

  snprintf (path, sizeof path, "/proc/self/task/%d/stat", (int) tid);
  return task_sleeps (path);
}

static bool
process_sleeps (pid_t pid)
{
  char path[64];

  snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  return task_sleeps (path);
}

/* A signaller killed between marking a sleeper's wake-up and making the
 * call leaves the mark, and later signals leave the wake-up to it: the
 * sleeper must not sleep on until its deadline. */
static void
test_signaller_dies_with_the_mark (struct shared *shared)
{
  int64_t deadline;
  uint32_t seq;
  int status = 0;
  pid_t child, done = 0;

  atomic_store (&shared->flag, 0);
  atomic_store (&shared->event.waiters, 0);
  child = fork_sleeper (shared, 60000 * MSEC);
  while (atomic_load (&shared->event.waiters) != 1 || !process_sleeps (child))
    sched_yield ();
  atomic_fetch_or (&shared->event.waiters, ZCP_SHM_SLEEPERS_WAKING);

  atomic_store (&shared->flag, 1);
  seq = atomic_load (&shared->event.seq);
  zcp_event_signal (&shared->event);
  is_int (atomic_load (&shared->event.seq), seq, "a signal after a dead "
      "signaller's mark leaves the wake-up to it");
  deadline = now_ns () + 5000 * MSEC;
  while (done == 0 && now_ns () < deadline) {
    done = waitpid (child, &status, WNOHANG);
    if (done == 0)
      usleep (1000);
  }
  ok (done == child && WIFEXITED (status) && WEXITSTATUS (status) == 0,
      "the sleeper still sees its condition within a slice, not at its "
      "deadline a minute later");
  if (done != child) {
    kill (child, SIGKILL);
    waitpid (child, &status, 0);
  }
}

static void
test_shared_bits (struct shared *shared)
{
  /* Within one sleep: the end of a slice would show it its flag. */
  struct sleeper sleeper = { shared, 0, 3,
    now_ns () + ZCP_EVENT_SLEEP_SLICE_NS * 9 / 10, -1
  };
  pthread_t thread;

  atomic_store (&shared->flags[0], 0);
  pthread_create (&thread, NULL, sleeper_thread, &sleeper);
  /* In the kernel, so that a moved word cannot send it round again. */
  while ((atomic_load (&sleeper.tid) == 0 || !thread_sleeps (sleeper.tid))
      && now_ns () < sleeper.deadline)
    sched_yield ();
  /* Its flag is set but the call names another bit: it must not wake. */
  atomic_store (&shared->flags[0], 1);
  zcp_event_wake_shared (&shared->word, zcp_event_bit (4));
  pthread_join (thread, NULL);
  is_int (sleeper.result, 0, "a sleeper sees its condition at its deadline");
  ok (now_ns () >= sleeper.deadline, "but a wake-up for another bit did not "
      "wake it before");
}

static bool
flag_set_counting_sleepers (void *data)
{
  struct sleeper *sleeper = data;
  struct shared *shared = sleeper->shared;

  /* What a signaller would see while the condition is tested. */
  sleeper->result = (int) atomic_load (&shared->sleepers[sleeper->index]);
  return atomic_load (&shared->flags[sleeper->index]) != 0;
}

static void
test_shared_looks_first (struct shared *shared)
{
  struct sleeper sleeper = { shared, 0, 3, now_ns () + 5000 * MSEC, -1 };

  atomic_store (&shared->flags[0], 1);
  is_int (zcp_event_wait_shared_until (&shared->word, &shared->sleepers[0],
          sleeper.bit_index, flag_set_counting_sleepers, &sleeper,
          sleeper.deadline, 0), 0,
      "a shared wait whose condition holds returns");
  is_int (sleeper.result, 0, "having looked before it counted itself: a "
      "signaller has nobody to wake");
}

/* As own_flag_set, noting the thread's timer slack as it looks. */
static bool
own_flag_set_noting_slack (void *data)
{
  struct sleeper *sleeper = data;

  atomic_store (&sleeper->slack_seen, prctl (PR_GET_TIMERSLACK, 0, 0, 0, 0));
  return own_flag_set (sleeper);
}

static void *
slack_sleeper_thread (void *data)
{
  struct sleeper *sleeper = data;

  /* An odd value of its own, to tell it from the default when it is back. */
  prctl (PR_SET_TIMERSLACK, 70001UL, 0, 0, 0);
  sleeper_thread (sleeper);
  sleeper->slack_after = prctl (PR_GET_TIMERSLACK, 0, 0, 0, 0);
  return NULL;
}

/* Runs @sleeper's wait with @slack_ns to its 20 ms timeout, nobody waking
 * it. */
static void
sleep_out_with_slack (struct sleeper *sleeper, int64_t slack_ns)
{
  pthread_t thread;

  sleeper->deadline = now_ns () + 20 * MSEC;
  sleeper->slack = slack_ns;
  atomic_store (&sleeper->slack_seen, 0);
  atomic_store (&sleeper->shared->flags[sleeper->index], 0);
  pthread_create (&thread, NULL, slack_sleeper_thread, sleeper);
  pthread_join (thread, NULL);
}

static void
test_shared_timer_slack (struct shared *shared)
{
  struct sleeper sleeper = { shared, 0, 3, now_ns () + 60000 * MSEC, -1, 0,
    5 * MSEC, own_flag_set_noting_slack, 0
  };
  /* What wake_both reads of the sleepers: their bits. */
  const struct sleeper bits_of_both[2] = {
    {.bit_index = sleeper.bit_index}, {.bit_index = sleeper.bit_index}
  };
  pthread_t thread;

  atomic_store (&shared->flags[0], 0);
  pthread_create (&thread, NULL, slack_sleeper_thread, &sleeper);
  /* Asleep in the kernel, not only counted: the slack is asked for between
   * the two. */
  while (atomic_load (&sleeper.tid) == 0 || !thread_sleeps (sleeper.tid))
    usleep (1000);
  wake_both (shared, bits_of_both);
  pthread_join (thread, NULL);
  is_int (sleeper.result, 0, "a shared wait with a timer slack is woken");
  is_int (atomic_load (&sleeper.slack_seen), 5 * MSEC,
      "having slept with that slack");
  is_int (sleeper.slack_after, 70001, "and gives the thread its own back");

  sleep_out_with_slack (&sleeper, 5 * MSEC);
  is_int (sleeper.result, -ETIMEDOUT, "one that times out");
  is_int (atomic_load (&sleeper.slack_seen), 5 * MSEC,
      "sleeps with the slack too");
  is_int (sleeper.slack_after, 70001, "and gives it back then too");

  sleep_out_with_slack (&sleeper, 0);
  is_int (atomic_load (&sleeper.slack_seen), 70001,
      "without one, the thread's own slack is left alone");
}

static void
test_shared_processes (struct shared *shared)
{
  struct sleeper sleeper = { shared, 1, 40, now_ns () + 10000 * MSEC, -1 };
  int status;
  pid_t child;

  atomic_store (&shared->flags[1], 0);
  child = fork ();
  if (child == 0) {
    sleeper_thread (&sleeper);
    _exit (sleeper.result == 0 ? 0 : 1);
  }
  while (sleeping (&shared->sleepers[1]) == 0)
    sched_yield ();
  atomic_store (&shared->flags[1], 1);
  zcp_event_wake_shared (&shared->word, zcp_event_bit (sleeper.bit_index));
  waitpid (child, &status, 0);
  ok (WIFEXITED (status) && WEXITSTATUS (status) == 0,
      "a shared wake-up reaches a sleeper in another process");
}

int
main (void)
{
  struct shared *shared = mmap (NULL, sizeof *shared, PROT_READ | PROT_WRITE,
      MAP_SHARED | MAP_ANONYMOUS, -1, 0);

  test_timeout (shared);
  test_threads (shared);
  test_processes (shared);
  test_one_call_per_sleep (shared);
  test_signaller_dies_with_the_mark (shared);
  test_shared_threads (shared);
  test_shared_bits (shared);
  test_shared_looks_first (shared);
  test_shared_timer_slack (shared);
  test_shared_processes (shared);
  return tap_done ();
}
