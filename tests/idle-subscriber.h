/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A subscriber in a child process that never takes what it is sent, for
 * the tests that need one to hold its queue and then die: the library's
 * (TAP) and the elements' (gst-check). */

#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zcp.h"

/* Forks a subscriber of @channel that never takes what it is sent and dies
 * with the thread that forked it: its pid once it has subscribed, -1 if it
 * could not. */
static inline pid_t
fork_idle_subscriber (const char *channel)
{
  int ready[2];
  pid_t child;
  char byte;

  if (pipe (ready) != 0)
    return -1;
  child = fork ();
  if (child == 0) {
    struct zcp_subscriber *idle;

    /* Never outlive a test that fails or hangs before killing it. */
    if (prctl (PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid () == 1 ||
        zcp_subscriber_open (channel, &idle) != 0 ||
        write (ready[1], "s", 1) != 1)
      _exit (1);
    pause ();
    _exit (0);
  }
  /* Ours closed, a child that exits early reads as the end of the pipe. */
  close (ready[1]);
  if (child > 0 && read (ready[0], &byte, 1) != 1) {
    waitpid (child, NULL, 0);
    child = -1;
  }
  close (ready[0]);
  return child;
}

/* SIGKILLs a child of fork_idle_subscriber() and reaps it. */
static inline void
kill_idle_subscriber (pid_t child)
{
  kill (child, SIGKILL);
  waitpid (child, NULL, 0);
}
