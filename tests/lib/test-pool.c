/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Chunk pools and holder masks: the cross-process reference count. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "zcp-pool.h"
#include "zcp.h"

#define SECOND INT64_C(1000000000)

static int
publish (struct zcp_publisher *publisher, struct zcp_chunk *chunk)
{
  struct zcp_frame frame = {.size = 16,.pts = ZCP_TIME_NONE };

  return zcp_publisher_publish (publisher, chunk, &frame, NULL);
}

static void
test_claim_release (void)
{
  const char *channel = tap_channel ("pool");
  struct zcp_chunk a, b, c, got;
  struct zcp_subscriber *subscriber;
  struct zcp_publisher *publisher;
  struct zcp_frame frame;

  is_int (zcp_publisher_open (channel, 0600, &publisher), 0, "publisher");
  is_int (zcp_publisher_claim (publisher, &a, 0, NULL), -EINVAL,
      "no claim before a pool exists");
  is_int (zcp_publisher_configure_pool (publisher, 4096, 2), 0, "pool of 2");
  is_int (zcp_subscriber_open (channel, &subscriber), 0, "subscriber");

  is_int (zcp_publisher_claim (publisher, &a, 0, NULL), 0, "claim a");
  is_int (zcp_publisher_claim (publisher, &b, 0, NULL), 0, "claim b");
  ok (a.chunk_index != b.chunk_index, "two different chunks");
  is_int (zcp_publisher_claim (publisher, &c, 0, NULL), -EAGAIN,
      "a full pool does not hand out a held chunk");

  memset (a.data, 0xab, 16);
  is_int (publish (publisher, &a), 0, "publish a");
  zcp_chunk_release (&a);
  zcp_chunk_release (&b);

  is_int (zcp_subscriber_next (subscriber, &frame, &got, SECOND, NULL), 0,
      "subscriber takes a");
  ok (got.data[0] == 0xab && got.data[15] == 0xab, "and reads its bytes");

  is_int (zcp_publisher_claim (publisher, &c, 0, NULL), 0,
      "claim while the subscriber holds a");
  ok (c.chunk_index == b.chunk_index, "gets b, never a");
  is_int (zcp_publisher_claim (publisher, &a, 0, NULL), -EAGAIN,
      "a stays held by the subscriber's bit");

  zcp_chunk_release (&got);
  is_int (zcp_publisher_claim (publisher, &a, 0, NULL), 0,
      "a is free once the subscriber lets go");
  ok (a.chunk_index == got.chunk_index || a.chunk_index != c.chunk_index,
      "and it is a again");
  zcp_chunk_release (&a);
  zcp_chunk_release (&c);

  zcp_subscriber_close (subscriber);
  zcp_publisher_close (publisher);
}

struct release_job
{
  struct zcp_chunk chunk;
  pthread_barrier_t *barrier;
  bool freed;
};

static void *
release_thread (void *data)
{
  struct release_job *job = data;
  struct zcp_pool_map *map = job->chunk.map;

  pthread_barrier_wait (job->barrier);
  job->freed = zcp_control_clear_holder (map->control, map->index,
      job->chunk.chunk_index, job->chunk.holder_bit);
  zcp_pool_map_unref (map);
  return NULL;
}

#define N_SUBSCRIBERS 8
#define N_ROUNDS 300

static void
test_concurrent_release (void)
{
  const char *channel = tap_channel ("concurrent");
  struct zcp_subscriber *subscribers[N_SUBSCRIBERS];
  struct zcp_publisher *publisher;
  int exactly_once = 0, reusable = 0;

  is_int (zcp_publisher_open (channel, 0600, &publisher), 0, "publisher");
  is_int (zcp_publisher_configure_pool (publisher, 4096, 1), 0, "one chunk");
  for (int s = 0; s < N_SUBSCRIBERS; s++)
    if (zcp_subscriber_open (channel, &subscribers[s]) != 0)
      ok (0, "subscriber %d", s);

  for (int round = 0; round < N_ROUNDS; round++) {
    struct release_job jobs[N_SUBSCRIBERS + 1];
    pthread_t threads[N_SUBSCRIBERS + 1];
    pthread_barrier_t barrier;
    struct zcp_chunk chunk, again;
    struct zcp_frame frame;
    int freed = 0;

    pthread_barrier_init (&barrier, NULL, N_SUBSCRIBERS + 1);
    if (zcp_publisher_claim (publisher, &chunk, 0, NULL) != 0 ||
        publish (publisher, &chunk) != 0)
      break;
    /* The publisher's own hold goes in the race too. */
    jobs[N_SUBSCRIBERS].chunk = chunk;
    for (int s = 0; s < N_SUBSCRIBERS; s++)
      if (zcp_subscriber_next (subscribers[s], &frame, &jobs[s].chunk, SECOND,
              NULL) != 0)
        goto out;

    for (int t = 0; t <= N_SUBSCRIBERS; t++) {
      jobs[t].barrier = &barrier;
      pthread_create (&threads[t], NULL, release_thread, &jobs[t]);
    }
    for (int t = 0; t <= N_SUBSCRIBERS; t++) {
      pthread_join (threads[t], NULL);
      freed += jobs[t].freed;
    }
    pthread_barrier_destroy (&barrier);

    exactly_once += freed == 1;
    if (zcp_publisher_claim (publisher, &again, 0, NULL) == 0) {
      struct zcp_chunk twice;
      reusable += zcp_publisher_claim (publisher, &twice, 0, NULL) == -EAGAIN;
      zcp_chunk_release (&again);
    }
  }
out:
  is_int (exactly_once, N_ROUNDS, "of %d simultaneous releases, exactly one "
      "frees the chunk, in every round", N_SUBSCRIBERS + 1);
  is_int (reusable, N_ROUNDS, "the freed chunk is claimed once, not twice");

  for (int s = 0; s < N_SUBSCRIBERS; s++)
    zcp_subscriber_close (subscribers[s]);
  zcp_publisher_close (publisher);
}

struct late_release
{
  struct zcp_chunk chunk;
  int pipe_fd;
};

static void *
release_later (void *data)
{
  struct late_release *job = data;
  char byte;

  /* Release only once the main thread says it is about to wait. */
  if (read (job->pipe_fd, &byte, 1) == 1)
    zcp_chunk_release (&job->chunk);
  return NULL;
}

static void
test_claim_waits (void)
{
  const char *channel = tap_channel ("wait");
  struct zcp_publisher *publisher;
  struct late_release job;
  struct zcp_chunk chunk;
  atomic_bool cancel = false;
  pthread_t thread;
  int fds[2];

  is_int (zcp_publisher_open (channel, 0600, &publisher), 0, "publisher");
  is_int (zcp_publisher_configure_pool (publisher, 4096, 1), 0, "one chunk");
  is_int (zcp_publisher_claim (publisher, &job.chunk, 0, NULL), 0, "hold it");

  is_int (zcp_publisher_claim (publisher, &chunk, SECOND / 20, NULL),
      -ETIMEDOUT, "a claim on a full pool times out");
  atomic_store (&cancel, true);
  is_int (zcp_publisher_claim (publisher, &chunk, 10 * SECOND, &cancel),
      -ECANCELED, "and is cancelled by its flag");

  pipe (fds);
  job.pipe_fd = fds[0];
  pthread_create (&thread, NULL, release_later, &job);
  write (fds[1], "x", 1);
  is_int (zcp_publisher_claim (publisher, &chunk, 10 * SECOND, NULL), 0,
      "a waiting claim is woken by a release in another thread");
  pthread_join (thread, NULL);
  close (fds[0]);
  close (fds[1]);
  zcp_chunk_release (&chunk);
  zcp_publisher_close (publisher);
}

static void
test_dead_subscriber_reclaimed (void)
{
  const char *channel = tap_channel ("dead");
  struct zcp_publisher *publisher;
  struct zcp_chunk chunk, again;
  int status, ready[2];
  pid_t child;
  char byte;

  is_int (zcp_publisher_open (channel, 0600, &publisher), 0, "publisher");
  is_int (zcp_publisher_configure_pool (publisher, 4096, 1), 0, "one chunk");

  pipe (ready);
  child = fork ();
  if (child == 0) {
    struct zcp_subscriber *subscriber;
    struct zcp_chunk held;
    struct zcp_frame frame;

    if (zcp_subscriber_open (channel, &subscriber) != 0)
      _exit (1);
    write (ready[1], "s", 1);
    if (zcp_subscriber_next (subscriber, &frame, &held, 10 * SECOND, NULL))
      _exit (2);
    write (ready[1], "h", 1);
    pause ();                   /* holds the chunk until killed */
    _exit (3);
  }

  ok (read (ready[0], &byte, 1) == 1 && byte == 's', "child subscribed");
  is_int (zcp_publisher_claim (publisher, &chunk, 0, NULL), 0, "claim");
  is_int (publish (publisher, &chunk), 0, "publish to the child");
  zcp_chunk_release (&chunk);
  ok (read (ready[0], &byte, 1) == 1 && byte == 'h', "child holds it");
  is_int (zcp_publisher_claim (publisher, &again, 0, NULL), -EAGAIN,
      "held by a live subscriber");

  kill (child, SIGKILL);
  waitpid (child, &status, 0);
  is_int (zcp_publisher_claim (publisher, &again, 5 * SECOND, NULL), 0,
      "a SIGKILLed subscriber's chunk comes back within the liveness period");
  zcp_chunk_release (&again);
  close (ready[0]);
  close (ready[1]);
  zcp_publisher_close (publisher);
}

int
main (void)
{
  test_claim_release ();
  test_concurrent_release ();
  test_claim_waits ();
  test_dead_subscriber_reclaimed ();
  return tap_done ();
}
