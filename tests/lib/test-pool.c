/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Chunk pools and holder masks: the cross-process reference count. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "zcp-pool.h"
#include "zcp-private.h"
#include "zcp.h"

#define PAGE ((uint64_t) sysconf (_SC_PAGESIZE))

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
  /* The limit holds the pool at its two chunks: growth is tested below. */
  zcp_publisher_set_pool_limit (publisher, 2 * PAGE);
  is_int (zcp_publisher_configure_pool (publisher, 4096, 2), 0, "pool of 2");
  ok (!zcp_publisher_has_subscribers (publisher) &&
      zcp_publisher_count_subscribers (publisher) == 0, "no subscriber yet");
  is_int (zcp_subscriber_open (channel, &subscriber), 0, "subscriber");
  ok (zcp_publisher_has_subscribers (publisher) &&
      zcp_publisher_count_subscribers (publisher) == 1, "one subscriber");
  is_int (zcp_subscriber_count_subscribers (subscriber), 1,
      "which counts itself");

  is_int (zcp_publisher_claim (publisher, &a, 0, NULL), 0, "claim a");
  is_int (zcp_publisher_claim (publisher, &b, 0, NULL), 0, "claim b");
  ok (a.chunk_index != b.chunk_index, "two different chunks");
  is_int (zcp_publisher_claim (publisher, &c, 0, NULL), -EAGAIN,
      "a full pool does not hand out a held chunk");

  memset (a.data, 0xab, 16);
  is_int (publish (publisher, &a), 0, "publish a");
  zcp_chunk_release (&a);
  zcp_chunk_release (&b);

  is_int (zcp_subscriber_next (subscriber, &frame, &got, ZCP_NSEC_PER_SEC,
          NULL), 0, "subscriber takes a");
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
  zcp_publisher_set_pool_limit (publisher, PAGE);
  is_int (zcp_publisher_configure_pool (publisher, 4096, 1), 0, "one chunk");
  for (int s = 0; s < N_SUBSCRIBERS; s++)
    if (zcp_subscriber_open (channel, &subscribers[s]) != 0)
      ok (0, "subscriber %d", s);
  is_int (zcp_subscriber_count_subscribers (subscribers[N_SUBSCRIBERS - 1]),
      N_SUBSCRIBERS, "each subscriber counts them all");

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
      if (zcp_subscriber_next (subscribers[s], &frame, &jobs[s].chunk,
              ZCP_NSEC_PER_SEC, NULL) != 0)
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
  zcp_publisher_set_pool_limit (publisher, PAGE);
  is_int (zcp_publisher_configure_pool (publisher, 4096, 1), 0, "one chunk");
  is_int (zcp_publisher_claim (publisher, &job.chunk, 0, NULL), 0, "hold it");

  is_int (zcp_publisher_claim (publisher, &chunk, ZCP_NSEC_PER_SEC / 20, NULL),
      -ETIMEDOUT, "a claim on a full pool times out");
  atomic_store (&cancel, true);
  is_int (zcp_publisher_claim (publisher, &chunk, 10 * ZCP_NSEC_PER_SEC,
          &cancel), -ECANCELED, "and is cancelled by its flag");

  pipe (fds);
  job.pipe_fd = fds[0];
  pthread_create (&thread, NULL, release_later, &job);
  write (fds[1], "x", 1);
  is_int (zcp_publisher_claim (publisher, &chunk, 10 * ZCP_NSEC_PER_SEC, NULL),
      0, "a waiting claim is woken by a release in another thread");
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
  zcp_publisher_set_pool_limit (publisher, PAGE);
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
    if (zcp_subscriber_next (subscriber, &frame, &held, 10 * ZCP_NSEC_PER_SEC,
            NULL))
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
  is_int (zcp_publisher_claim (publisher, &again, 5 * ZCP_NSEC_PER_SEC, NULL),
      0,
      "a SIGKILLed subscriber's chunk comes back within the liveness period");
  zcp_chunk_release (&again);
  close (ready[0]);
  close (ready[1]);
  zcp_publisher_close (publisher);
}

/* A channel's 63 subscriber slots are bits 0 to 62 of each holder mask,
 * beside the publisher's 63: all taken, a frame reaches every subscriber and
 * its chunk comes back only when the last lets go.  A 64th subscriber is
 * refused; one that comes while the slot of a subscriber that left waits to
 * be given back is asked to try again, and gets that slot once the
 * publisher has looked. */
static void
test_full_channel (void)
{
  const char *channel = tap_channel ("full");
  struct zcp_subscriber *subscribers[ZCP_SUBSCRIBERS_MAX], *late;
  struct zcp_chunk chunk, held[ZCP_SUBSCRIBERS_MAX];
  struct zcp_subscriber_stats stats;
  struct zcp_subscriber_info infos[ZCP_SUBSCRIBERS_MAX];
  struct zcp_publisher *publisher;
  struct zcp_frame frame;
  uint32_t opened = 0, reached = 0, leaver = 30;

  is_int (zcp_publisher_open (channel, 0600, &publisher), 0, "publisher");
  zcp_publisher_set_pool_limit (publisher, PAGE);
  is_int (zcp_publisher_configure_pool (publisher, 4096, 1), 0, "one chunk");
  for (uint32_t i = 0; i < ZCP_SUBSCRIBERS_MAX; i++)
    opened += zcp_subscriber_open (channel, &subscribers[i]) == 0;
  is_int (opened, ZCP_SUBSCRIBERS_MAX, "63 subscribers");
  is_int (zcp_subscriber_open (channel, &late), -EUSERS,
      "a 64th is refused while all 63 live");

  is_int (zcp_publisher_claim (publisher, &chunk, 0, NULL), 0, "claim");
  is_int (publish (publisher, &chunk), 0, "publish to all 63");
  zcp_chunk_release (&chunk);
  for (uint32_t i = 0; i < ZCP_SUBSCRIBERS_MAX; i++)
    reached += zcp_subscriber_next (subscribers[i], &frame, &held[i], 0,
        NULL) == 0 && frame.kind == ZCP_FRAME_KIND_BUFFER &&
        held[i].chunk_index == chunk.chunk_index;
  is_int (reached, ZCP_SUBSCRIBERS_MAX, "the frame reached every one");
  for (uint32_t i = 0; i + 1 < ZCP_SUBSCRIBERS_MAX; i++)
    zcp_chunk_release (&held[i]);
  is_int (zcp_publisher_claim (publisher, &chunk, 0, NULL), -EAGAIN,
      "the chunk stays held by the subscriber of slot 62 alone");
  zcp_chunk_release (&held[ZCP_SUBSCRIBERS_MAX - 1]);
  is_int (zcp_publisher_claim (publisher, &chunk, 0, NULL), 0,
      "and is free once it lets go");
  zcp_chunk_release (&chunk);

  zcp_subscriber_close (subscribers[leaver]);
  is_int (zcp_subscriber_open (channel, &late), -EBUSY,
      "a newcomer before the publisher gave back the slot of one that left "
      "is asked to try again");
  is_int (zcp_publisher_list_subscribers (publisher, infos,
          ZCP_SUBSCRIBERS_MAX), ZCP_SUBSCRIBERS_MAX - 1,
      "the publisher looks and gives it back");
  is_int (zcp_subscriber_open (channel, &subscribers[leaver]), 0,
      "the newcomer gets in");
  zcp_subscriber_get_stats (subscribers[leaver], &stats);
  is_int (stats.slot, leaver, "in the slot that was given back");

  for (uint32_t i = 0; i < ZCP_SUBSCRIBERS_MAX; i++)
    zcp_subscriber_close (subscribers[i]);
  zcp_publisher_close (publisher);
}

/* Every chunk held: the pool grows by as many chunks again, up to its
 * limit; there, claims wait and the stats count it.  A new chunk size
 * retires the grown pool as a whole. */
static void
test_growth (void)
{
  const char *channel = tap_channel ("grow");
  struct zcp_chunk held[8], extra;
  struct zcp_publisher_stats stats;
  struct zcp_publisher *publisher;
  int claimed = 0;

  is_int (zcp_publisher_open (channel, 0600, &publisher), 0, "publisher");
  zcp_publisher_set_pool_limit (publisher, 7 * PAGE);
  is_int (zcp_publisher_configure_pool (publisher, 4096, 2), 0, "pool of 2");
  for (int c = 0; c < 7; c++)
    claimed += zcp_publisher_claim (publisher, &held[c], 0, NULL) == 0;
  is_int (claimed, 7,
      "7 claims succeed on a pool of 2 (2, grown by 2, then by 3)");
  zcp_publisher_get_stats (publisher, &stats);
  is_int ((int) stats.chunks_total, 7, "the pool grew to 7 chunks");
  is_int ((int) stats.pools, 3, "in 3 segments");
  ok (stats.pool_bytes == 7 * PAGE && stats.pool_limit == 7 * PAGE,
      "and stops at the limit");
  is_int (zcp_publisher_claim (publisher, &extra, 0, NULL), -EAGAIN,
      "the 8th claim finds the pool at its limit");
  zcp_publisher_get_stats (publisher, &stats);
  is_int ((int) stats.limit_waits, 1, "which the stats count");

  zcp_publisher_set_pool_limit (publisher, 8 * PAGE);
  is_int (zcp_publisher_claim (publisher, &extra, 0, NULL), 0,
      "a higher limit lets the pool grow again");
  zcp_chunk_release (&extra);

  is_int (zcp_publisher_configure_pool (publisher, 2 * PAGE, 2), 0,
      "larger chunks");
  zcp_publisher_get_stats (publisher, &stats);
  ok (stats.chunks_total == 2 && stats.chunk_size == 2 * PAGE &&
      stats.pools == 4, "a new pool of 2 chunks of the new size; the 3 old "
      "segments stay while their chunks are held");
  for (int c = 0; c < 7; c++)
    zcp_chunk_release (&held[c]);
  zcp_publisher_get_stats (publisher, &stats);
  is_int ((int) stats.pools, 1, "and go once they are released");

  /* A subscriber's sink keeps its last frame: one chunk would not move. */
  zcp_publisher_set_pool_limit (publisher, PAGE);
  is_int (zcp_publisher_configure_pool (publisher, 4 * PAGE, 8), 0,
      "chunks larger than the limit");
  zcp_publisher_get_stats (publisher, &stats);
  is_int ((int) stats.chunks_total, 2, "make a pool of two all the same");
  zcp_publisher_close (publisher);
}

/* Each subscriber may hold its share of what the pool may grow to, less
 * upstream's two, so that the chunks one keeps cannot stall the rest. */
static void
test_hold_budget (void)
{
  const char *channel = tap_channel ("budget");
  struct zcp_subscriber *first, *second;
  struct zcp_publisher *publisher;

  is_int (zcp_publisher_open (channel, 0600, &publisher), 0, "publisher");
  is_int (zcp_subscriber_open (channel, &first), 0, "subscriber");
  is_int ((int) zcp_subscriber_hold_budget (first), 0,
      "no pool yet: no budget");

  zcp_publisher_set_pool_limit (publisher, 7 * PAGE);
  is_int (zcp_publisher_configure_pool (publisher, 4096, 2), 0, "pool of 2");
  is_int ((int) zcp_subscriber_hold_budget (first), 5,
      "it may grow to 7 chunks (as test_growth grows it): 5 for one "
      "subscriber");
  is_int (zcp_subscriber_open (channel, &second), 0, "a second subscriber");
  is_int ((int) zcp_subscriber_hold_budget (first), 2, "2 each for two");

  zcp_publisher_set_pool_limit (publisher, 12 * PAGE);
  is_int ((int) zcp_subscriber_hold_budget (second), 5,
      "a higher limit: 12 chunks, 5 each");
  zcp_subscriber_close (second);

  zcp_publisher_set_pool_limit (publisher, PAGE);
  is_int (zcp_publisher_configure_pool (publisher, 4 * PAGE, 8), 0,
      "chunks larger than the limit");
  is_int ((int) zcp_subscriber_hold_budget (first), 1,
      "a pool of two that may not grow: 1");

  zcp_subscriber_close (first);
  zcp_publisher_close (publisher);
}

/* Caps that change at every frame (crops of varying size) reach a
 * subscriber many frames behind with each frame: the channel's entries keep
 * the last four generations, the caps sent in order keep the rest.  The
 * frames' sequence numbers have no gap, which would read as drops. */
static void
test_caps_of_queued_frames (void)
{
  const char *channel = tap_channel ("caps-queue");
  struct zcp_subscriber *subscriber;
  struct zcp_publisher *publisher;
  struct zcp_frame frame;
  struct zcp_chunk chunk;
  int right = 0, in_order = 0, published = 0;
  uint64_t expected_sequence = 0;
  char caps[32];

  is_int (zcp_publisher_open (channel, 0600, &publisher), 0, "publisher");
  is_int (zcp_publisher_configure_pool (publisher, 4096, 16), 0, "pool");
  is_int (zcp_subscriber_open (channel, &subscriber), 0, "subscriber");
  for (int f = 0; f < 10; f++) {
    snprintf (caps, sizeof caps, "caps-%d", f);
    published += zcp_publisher_set_caps (publisher, caps) == 0 &&
        zcp_publisher_claim (publisher, &chunk, 0, NULL) == 0 &&
        publish (publisher, &chunk) == 0;
    zcp_chunk_release (&chunk);
  }
  is_int (published, 10, "10 frames, each with caps of its own, queued");

  for (int f = 0; f < 10; f++) {
    char *got = NULL;

    if (zcp_subscriber_next (subscriber, &frame, &chunk, 0, NULL) != 0 ||
        frame.kind != ZCP_FRAME_KIND_BUFFER)
      break;
    snprintf (caps, sizeof caps, "caps-%d", f);
    right += zcp_subscriber_get_caps (subscriber, frame.caps_generation,
        &got) == 0 && strcmp (got, caps) == 0;
    in_order += frame.sequence == expected_sequence;
    expected_sequence = frame.sequence + 1;
    free (got);
    zcp_chunk_release (&chunk);
  }
  is_int (right, 10, "each read back with its own caps");
  is_int (in_order, 10, "with no gap in their sequence numbers");

  zcp_subscriber_close (subscriber);
  zcp_publisher_close (publisher);
}

/* A leaky subscriber that stopped reading does not hold the publisher when
 * caps change at every frame: the caps sent in order fill its ring, and
 * the publisher skips them there rather than wait (the channel's entries
 * still have them). */
static void
test_caps_do_not_wait_for_a_stopped_leaky_subscriber (void)
{
  const char *channel = tap_channel ("caps-leaky");
  struct zcp_subscriber *subscriber;
  struct zcp_publisher *publisher;
  struct zcp_frame one_byte = {.size = 1 };
  atomic_bool cancel = true;
  struct zcp_chunk chunk;
  int published = 0;
  char caps[32];

  is_int (zcp_publisher_open (channel, 0600, &publisher), 0, "publisher");
  is_int (zcp_publisher_configure_pool (publisher, 4096, 8), 0, "pool");
  is_int (zcp_subscriber_open (channel, &subscriber), 0, "subscriber");
  zcp_subscriber_set_queue (subscriber, 2, ZCP_LEAKY_DOWNSTREAM);
  /* Cancelled from the start: a publish that would wait fails at once. */
  for (int f = 0; f < 2 * (int) ZCP_RING_CAPACITY; f++) {
    snprintf (caps, sizeof caps, "caps-%d", f);
    published += zcp_publisher_set_caps (publisher, caps) == 0 &&
        zcp_publisher_claim (publisher, &chunk, 0, NULL) == 0 &&
        zcp_publisher_publish (publisher, &chunk, &one_byte, &cancel) == 0;
    zcp_chunk_release (&chunk);
  }
  is_int (published, 2 * (int) ZCP_RING_CAPACITY,
      "%d frames, each with new caps, published without waiting",
      2 * (int) ZCP_RING_CAPACITY);

  zcp_subscriber_close (subscriber);
  zcp_publisher_close (publisher);
}

/* Publishes frames 0..4 to a subscriber whose queue holds 2 and returns
 * the sequence numbers it then reads. */
static int
publish_five (enum zcp_leaky leaky, uint64_t * got, uint64_t * dropped)
{
  const char *channel = tap_channel (leaky == ZCP_LEAKY_UPSTREAM ? "upstream"
      : "downstream");
  struct zcp_subscriber_stats stats;
  struct zcp_publisher_stats pub_stats;
  struct zcp_subscriber *subscriber;
  struct zcp_publisher *publisher;
  struct zcp_frame frame;
  struct zcp_chunk chunk;
  int count = 0;

  if (zcp_publisher_open (channel, 0600, &publisher) != 0 ||
      zcp_publisher_configure_pool (publisher, 4096, 4) != 0 ||
      zcp_subscriber_open (channel, &subscriber) != 0)
    return -1;
  zcp_subscriber_set_queue (subscriber, 2, leaky);

  for (int f = 0; f < 5; f++) {
    if (zcp_publisher_claim (publisher, &chunk, ZCP_NSEC_PER_SEC, NULL) != 0 ||
        publish (publisher, &chunk) != 0)
      return -1;
    zcp_chunk_release (&chunk);
  }
  /* The dropped frames' chunks are free again: 2 queued, 2 free. */
  zcp_publisher_get_stats (publisher, &pub_stats);
  if (pub_stats.chunks_in_use != 2 || pub_stats.chunks_total != 4)
    return -1;
  while (zcp_subscriber_next (subscriber, &frame, &chunk, 0, NULL) == 0) {
    got[count++] = frame.sequence;
    zcp_chunk_release (&chunk);
  }
  zcp_subscriber_get_stats (subscriber, &stats);
  *dropped = stats.dropped;
  zcp_subscriber_close (subscriber);
  zcp_publisher_close (publisher);
  return count;
}

static void
test_queue_policies (void)
{
  const char *channel = tap_channel ("lossless");
  struct zcp_subscriber *subscriber;
  struct zcp_publisher *publisher;
  struct zcp_chunk chunk;
  struct zcp_frame one_byte = {.size = 1 };
  atomic_bool cancel = true;
  uint64_t got[5], dropped;

  ok (publish_five (ZCP_LEAKY_UPSTREAM, got, &dropped) == 2 && got[0] == 0 &&
      got[1] == 1 && dropped == 3, "leaky=upstream keeps the oldest 2 of 5, "
      "counts 3 dropped");
  ok (publish_five (ZCP_LEAKY_DOWNSTREAM, got, &dropped) == 2 && got[0] == 3
      && got[1] == 4 && dropped == 3, "leaky=downstream keeps the newest 2 "
      "of 5, counts 3 dropped");

  is_int (zcp_publisher_open (channel, 0600, &publisher), 0, "publisher");
  is_int (zcp_publisher_configure_pool (publisher, 4096, 4), 0, "pool of 4");
  is_int (zcp_subscriber_open (channel, &subscriber), 0, "subscriber");
  zcp_subscriber_set_queue (subscriber, 2, ZCP_LEAKY_NO);
  for (int f = 0; f < 2; f++) {
    is_int (zcp_publisher_claim (publisher, &chunk, ZCP_NSEC_PER_SEC, NULL), 0,
        "claim");
    is_int (publish (publisher, &chunk), 0, "lossless: frame %d queued", f);
    zcp_chunk_release (&chunk);
  }
  is_int (zcp_publisher_claim (publisher, &chunk, ZCP_NSEC_PER_SEC, NULL), 0,
      "claim");
  is_int (zcp_publisher_publish (publisher, &chunk, &one_byte, &cancel),
      -ECANCELED, "lossless: the third waits for room (until cancelled)");
  zcp_chunk_release (&chunk);
  zcp_subscriber_close (subscriber);
  zcp_publisher_close (publisher);
}

/* A leaky subscriber's queue outlives a publisher that does not wait for
 * it: a frame of a pool the subscriber has mapped is delivered, one of a
 * pool it had not (whose name went with the publisher) is skipped, and the
 * stream ends with its end-of-stream, not with an error. */
static void
test_queue_outlives_publisher (void)
{
  const char *channel = tap_channel ("outlives");
  struct zcp_subscriber *subscriber;
  struct zcp_publisher *publisher;
  struct zcp_chunk chunk, got;
  struct zcp_frame frame;

  is_int (zcp_publisher_open (channel, 0600, &publisher), 0, "publisher");
  is_int (zcp_publisher_configure_pool (publisher, PAGE, 2), 0, "a pool");
  is_int (zcp_subscriber_open_with_queue (channel, 4,
          ZCP_LEAKY_DOWNSTREAM, &subscriber), 0, "a leaky subscriber");
  for (int f = 0; f < 2; f++) {
    is_int (zcp_publisher_claim (publisher, &chunk, 0, NULL), 0, "claim");
    is_int (publish (publisher, &chunk), 0, "frame %d, first pool", f);
    zcp_chunk_release (&chunk);
  }
  is_int (zcp_subscriber_next (subscriber, &frame, &got, 0, NULL), 0,
      "the subscriber takes frame 0, and maps the first pool");
  zcp_chunk_release (&got);

  is_int (zcp_publisher_configure_pool (publisher, 2 * PAGE, 2), 0,
      "a pool of larger chunks");
  is_int (zcp_publisher_claim (publisher, &chunk, 0, NULL), 0, "claim");
  is_int (publish (publisher, &chunk), 0, "frame 2, second pool");
  zcp_chunk_release (&chunk);
  is_int (zcp_publisher_send_eos (publisher, NULL), 0, "end-of-stream");
  /* No drain: it waits for lossless subscribers only. */
  zcp_publisher_close (publisher);

  is_int (zcp_subscriber_next (subscriber, &frame, &got, 0, NULL), 0,
      "frame 1 comes after the publisher left");
  ok (frame.kind == ZCP_FRAME_KIND_BUFFER && frame.sequence == 1,
      "from the pool the subscriber had mapped");
  zcp_chunk_release (&got);
  is_int (zcp_subscriber_next (subscriber, &frame, &got, 0, NULL), 0,
      "then, frame 2 skipped, end-of-stream");
  is_int (frame.kind, ZCP_FRAME_KIND_EOS, "which is what comes");
  is_int (zcp_subscriber_next (subscriber, &frame, &got, 0, NULL), -EPIPE,
      "and then the publisher is gone");
  zcp_subscriber_close (subscriber);
}

static int
count_pool_segments (const char *channel)
{
  char prefix[160];
  struct dirent *entry;
  DIR *dir = opendir ("/dev/shm");
  int count = 0;

  snprintf (prefix, sizeof prefix, "zerocp.%s@", channel);
  while (dir && (entry = readdir (dir)))
    count += strncmp (entry->d_name, prefix, strlen (prefix)) == 0;
  if (dir)
    closedir (dir);
  return count;
}

static void
take_two (struct zcp_subscriber *subscriber, const char *which)
{
  struct zcp_frame frame;
  struct zcp_chunk got;

  for (int f = 0; f < 2; f++) {
    is_int (zcp_subscriber_next (subscriber, &frame, &got, 0, NULL), 0,
        "the %s subscriber takes frame %d", which, f);
    zcp_chunk_release (&got);
  }
}

static void
find_dead (struct zcp_subscriber *subscriber, const char *which)
{
  struct zcp_frame frame;
  struct zcp_chunk got;

  is_int (zcp_subscriber_next (subscriber, &frame, &got,
          5 * ZCP_NSEC_PER_SEC, NULL), -EPIPE,
      "the %s finds the publisher dead", which);
}

/* Sets what @subscriber's slot says while it takes a descriptor, as if it
 * were between taking it and opening the pool it names. */
static void
set_taking (const char *channel, struct zcp_subscriber *subscriber,
    uint32_t taking)
{
  struct zcp_subscriber_stats stats;
  char name[ZCP_SHM_NAME_SIZE];
  struct zcp_shm_slot *slots;
  void *base;
  int fd;

  zcp_subscriber_get_stats (subscriber, &stats);
  zcp_segment_control_name (channel, name, sizeof name);
  if (zcp_segment_open (name, true, ZCP_CONTROL_SIZE, &fd, &base) != 0)
    return;
  slots = (struct zcp_shm_slot *) ((uint8_t *) base + ZCP_SLOTS_OFFSET);
  atomic_store (&slots[stats.slot].taking, taking);
  munmap (base, ZCP_CONTROL_SIZE);
  close (fd);
}

/* A publisher in a child process, with a pool, that sends two frames and
 * dies without closing anything when told to. */
struct dying_publisher
{
  pid_t pid;
  int go;
};

/* Forks one on @channel and returns once the channel is there. */
static void
dying_publisher_start (struct dying_publisher *dying, const char *channel)
{
  int ready[2], go[2];
  char byte;

  pipe (ready);
  pipe (go);
  dying->pid = fork ();
  if (dying->pid == 0) {
    struct zcp_publisher *publisher;
    struct zcp_chunk chunk;

    if (zcp_publisher_open (channel, 0600, &publisher) != 0 ||
        zcp_publisher_configure_pool (publisher, 4096, 4) != 0)
      _exit (1);
    write (ready[1], "p", 1);
    if (read (go[0], &byte, 1) != 1)
      _exit (2);
    for (int f = 0; f < 2; f++) {
      if (zcp_publisher_claim (publisher, &chunk, 0, NULL) != 0 ||
          publish (publisher, &chunk) != 0)
        _exit (3);
      zcp_chunk_release (&chunk);
    }
    _exit (0);                  /* as a crash: nothing closed */
  }
  /* Ours closed first: a child that fails early ends the read. */
  close (ready[1]);
  close (go[0]);
  ok (read (ready[0], &byte, 1) == 1 && byte == 'p', "publisher ready");
  close (ready[0]);
  dying->go = go[1];
}

/* Tells it to send its frames, and waits for it to die. */
static void
dying_publisher_die (struct dying_publisher *dying)
{
  int status;

  write (dying->go, "g", 1);
  close (dying->go);
  waitpid (dying->pid, &status, 0);
  ok (WIFEXITED (status) && WEXITSTATUS (status) == 0,
      "the publisher sent two frames and died (status %d)", status);
}

/* A publisher that dies leaves its segments in /dev/shm.  They go with the
 * last of its subscribers to take what it was sent, not before: one that
 * has frames of a pool still queued, or is taking the last of them, may not
 * have opened that pool. */
static void
test_dead_publisher_segments_removed (void)
{
  const char *channel = tap_channel ("deadpub");
  struct zcp_subscriber *first, *second;
  struct dying_publisher dying;
  char control[200];

  dying_publisher_start (&dying, channel);
  is_int (zcp_subscriber_open (channel, &first), 0, "first subscriber");
  is_int (zcp_subscriber_open (channel, &second), 0, "second subscriber");
  dying_publisher_die (&dying);
  is_int (count_pool_segments (channel), 1, "its pool is in /dev/shm");

  take_two (first, "first");
  find_dead (first, "first");
  is_int (count_pool_segments (channel), 1,
      "the pool stays: the second has frames of it to take");
  snprintf (control, sizeof control, "/dev/shm/zerocp.%s", channel);
  ok (access (control, F_OK) == 0, "and the channel");

  take_two (second, "second");
  set_taking (channel, second, 1);
  find_dead (first, "first, again,");
  is_int (count_pool_segments (channel), 1,
      "the pool stays while the second, its queue empty, takes a frame");
  set_taking (channel, second, 0);
  find_dead (second, "second");
  is_int (count_pool_segments (channel), 0, "which removes the pool");
  ok (access (control, F_OK) != 0, "and the control segment");

  zcp_subscriber_close (first);
  zcp_subscriber_close (second);
  is_int (zcp_channel_clean (channel), -ENOENT,
      "which leaves zerocp-inspect --clean nothing to do");
}

/* A publisher dead with no subscriber left to take its frames: the next
 * subscriber of its user to come removes its segments, but not while one
 * that was there has frames of its pool still to take. */
static void
test_dead_publisher_segments_removed_by_a_newcomer (void)
{
  const char *channel = tap_channel ("newcomer");
  struct zcp_subscriber *early, *late = NULL;
  struct dying_publisher dying;
  char control[200];

  dying_publisher_start (&dying, channel);
  is_int (zcp_subscriber_open (channel, &early), 0, "a subscriber");
  dying_publisher_die (&dying);
  snprintf (control, sizeof control, "/dev/shm/zerocp.%s", channel);

  is_int (zcp_subscriber_open (channel, &late), -ENOTCONN,
      "a newcomer finds the publisher dead");
  is_int (count_pool_segments (channel), 1,
      "and leaves the pool to the subscriber with frames of it to take");
  take_two (early, "early");
  is_int (zcp_subscriber_open (channel, &late), -ENOTCONN,
      "a newcomer, once they are taken, finds the publisher dead");
  is_int (count_pool_segments (channel), 0, "and removes the pool");
  ok (access (control, F_OK) != 0, "and the control segment");

  find_dead (early, "early subscriber");
  zcp_subscriber_close (early);
  is_int (zcp_subscriber_open (channel, &late), -ENOENT,
      "the next newcomer finds no channel");
}

/* Size and bytes taken in /dev/shm of @channel's only pool segment. */
static void
pool_footprint (const char *channel, uint64_t * size, uint64_t * taken)
{
  char prefix[160], path[512];
  struct dirent *entry;
  DIR *dir = opendir ("/dev/shm");
  struct stat st;

  *size = *taken = 0;
  snprintf (prefix, sizeof prefix, "zerocp.%s@", channel);
  while (dir && (entry = readdir (dir))) {
    if (strncmp (entry->d_name, prefix, strlen (prefix)) != 0)
      continue;
    snprintf (path, sizeof path, "/dev/shm/%s", entry->d_name);
    if (stat (path, &st) == 0) {
      *size = (uint64_t) st.st_size;
      *taken = (uint64_t) st.st_blocks * 512;
    }
  }
  if (dir)
    closedir (dir);
}

static uint64_t
shm_bytes_of (struct zcp_publisher *publisher)
{
  struct zcp_publisher_stats stats;

  zcp_publisher_get_stats (publisher, &stats);
  return stats.shm_bytes;
}

static void
test_chunks_reserved_on_first_claim (void)
{
  const char *channel = tap_channel ("reserve");
  /* 2 MiB: where tmpfs uses huge pages, a chunk is still whole ones. */
  const uint64_t chunk = 512 * PAGE;
  struct zcp_chunk a, b, again;
  struct zcp_publisher *publisher;
  uint64_t size, taken;

  is_int (zcp_publisher_open (channel, 0600, &publisher), 0, "publisher");
  is_int (zcp_publisher_configure_pool (publisher, chunk, 8), 0, "pool of 8");
  pool_footprint (channel, &size, &taken);
  is_int (size, 8 * chunk, "the segment has room for 8 chunks");
  is_int (taken, chunk, "of which only the first takes memory");
  is_int (shm_bytes_of (publisher), taken, "and the stats say so");

  is_int (zcp_publisher_claim (publisher, &a, 0, NULL), 0, "claim a");
  is_int (zcp_publisher_claim (publisher, &b, 0, NULL), 0, "claim b");
  pool_footprint (channel, &size, &taken);
  is_int (taken, 2 * chunk, "a second chunk is reserved when first claimed");
  is_int (shm_bytes_of (publisher), taken, "and the stats say so");
  /* Every page of both, written: reserved means no SIGBUS. */
  memset (a.data, 0x11, chunk);
  memset (b.data, 0x22, chunk);

  zcp_chunk_release (&a);
  zcp_chunk_release (&b);
  is_int (zcp_publisher_claim (publisher, &again, 0, NULL), 0, "claim again");
  pool_footprint (channel, &size, &taken);
  is_int (taken, 2 * chunk, "a chunk claimed before is not reserved twice");
  is_int (shm_bytes_of (publisher), taken, "and the stats say so");
  zcp_chunk_release (&again);
  zcp_publisher_close (publisher);
}

struct full_shm_result
{
  int claims[3];
  uint32_t chunks_cut;
  bool out_of_space;
  int refill;
  int after_room;
  uint32_t chunks_after;
  uint32_t budget;
};

/* In a mount namespace of its own, with a 6 MiB /dev/shm of which a 2 MiB
 * file takes a part: the control segment (1.6 MiB) and two chunks fill the
 * rest.  Then the file goes, which leaves room for two more. */
static int
run_with_full_shm (uint32_t pool_chunks, struct full_shm_result *result)
{
  const uint64_t chunk = 1 << 20;
  const char *ballast = "/dev/shm/ballast";
  const char *channel = tap_channel ("full-shm");
  struct zcp_publisher_stats stats;
  struct zcp_subscriber *subscriber;
  struct zcp_publisher *publisher;
  struct zcp_chunk chunks[3];
  int fd;

  if (!tap_private_tmpfs ("/dev/shm", "size=6m"))
    return 2;
  fd = open (ballast, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0 || posix_fallocate (fd, 0, 2 * chunk) != 0)
    return 1;
  close (fd);

  if (zcp_publisher_open (channel, 0600, &publisher) != 0)
    return 1;
  /* Above the default of half of /dev/shm: the space runs out first. */
  zcp_publisher_set_pool_limit (publisher, 64 * chunk);
  if (zcp_publisher_configure_pool (publisher, chunk, pool_chunks) != 0 ||
      zcp_subscriber_open (channel, &subscriber) != 0)
    return 1;
  /* The limit would let the pool grow to 64 chunks; /dev/shm has room for
   * two. */
  result->budget = zcp_subscriber_hold_budget (subscriber);
  zcp_subscriber_close (subscriber);
  for (int i = 0; i < 3; i++) {
    result->claims[i] = zcp_publisher_claim (publisher, &chunks[i], 0, NULL);
    if (result->claims[i] == 0)
      memset (chunks[i].data, 0x33, chunk);
  }
  zcp_publisher_get_stats (publisher, &stats);
  result->chunks_cut = stats.chunks_total;
  result->out_of_space = stats.out_of_space;
  zcp_chunk_release (&chunks[1]);
  result->refill = zcp_publisher_claim (publisher, &chunks[1], 0, NULL);

  /* Another user of /dev/shm goes away: with every chunk held, a claim
   * that waits finds the room once the publisher looks again. */
  unlink (ballast);
  result->after_room = zcp_publisher_claim (publisher, &chunks[2],
      5 * ZCP_NSEC_PER_SEC, NULL);
  if (result->after_room == 0) {
    memset (chunks[2].data, 0x44, chunk);
    zcp_chunk_release (&chunks[2]);
  }
  zcp_publisher_get_stats (publisher, &stats);
  result->chunks_after = stats.chunks_total;
  zcp_chunk_release (&chunks[0]);
  zcp_chunk_release (&chunks[1]);
  zcp_publisher_close (publisher);
  return 0;
}

/* A pool of @pool_chunks that /dev/shm stops at two chunks, either within
 * its segment or when it would grow, and that gets @chunks_after once there
 * is room again. */
static void
test_full_shm (const char *what, uint32_t pool_chunks, uint32_t chunks_after)
{
  struct full_shm_result result = { {0} };
  int status, pipe_fds[2];
  pid_t child;

  if (pipe (pipe_fds) != 0)
    abort ();
  child = fork ();
  if (child == 0) {
    int ret = run_with_full_shm (pool_chunks, &result);

    if (write (pipe_fds[1], &result, sizeof result) != sizeof result)
      _exit (3);
    _exit (ret);
  }
  close (pipe_fds[1]);
  if (read (pipe_fds[0], &result, sizeof result) != sizeof result)
    memset (&result, 0xff, sizeof result);
  close (pipe_fds[0]);
  waitpid (child, &status, 0);

  if (WIFEXITED (status) && WEXITSTATUS (status) == 2) {
    printf ("ok %d # SKIP a full /dev/shm needs a mount namespace of our own "
        "(root, or unprivileged user namespaces)\n", ++tap_count);
    return;
  }
  ok (WIFEXITED (status) && WEXITSTATUS (status) == 0,
      "%s: a publisher on a small /dev/shm ends cleanly (status %d)", what,
      status);
  is_int ((int) result.budget, 1, "a subscriber's share is of the 2 chunks "
      "/dev/shm has room for, not of the 64 the limit allows");
  is_int (result.claims[0], 0, "the reserved first chunk is claimed");
  is_int (result.claims[1], 0, "a second one fits");
  is_int (result.claims[2], -EAGAIN,
      "a third does not: a wait for a chunk, not a SIGBUS");
  is_int (result.chunks_cut, 2, "the pool stops at the chunks it has");
  ok (result.out_of_space, "and says that /dev/shm is why");
  is_int (result.refill, 0, "and goes on with them");
  is_int (result.after_room, 0, "with room again, a waiting claim gets one");
  is_int (result.chunks_after, chunks_after, "the pool has %u chunks again",
      chunks_after);
}

int
main (void)
{
  test_claim_release ();
  test_concurrent_release ();
  test_claim_waits ();
  test_dead_subscriber_reclaimed ();
  test_full_channel ();
  test_growth ();
  test_hold_budget ();
  test_caps_of_queued_frames ();
  test_caps_do_not_wait_for_a_stopped_leaky_subscriber ();
  test_queue_policies ();
  test_queue_outlives_publisher ();
  test_dead_publisher_segments_removed ();
  test_dead_publisher_segments_removed_by_a_newcomer ();
  test_chunks_reserved_on_first_claim ();
  test_full_shm ("cut short", 8, 8);
  test_full_shm ("growth refused", 2, 4);
  return tap_done ();
}
