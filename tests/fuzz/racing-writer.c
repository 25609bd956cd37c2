/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A hostile peer that writes while the others read.  The fuzz targets
 * change the control segment between calls; here a second process rewrites
 * random bytes of it at random moments while this one publishes frames,
 * metas, events and caps, two subscribers (one lossless, one leaky) take
 * them, and zerocp-inspect looks on.  A value checked and then read again
 * from shared memory could have changed in between: every one must be
 * read once, checked and used as checked.  So nothing may crash, read out
 * of bounds (this runs under ASan and UBSan too) or hang (every wait has a
 * deadline or is cancelled at the end); a subscriber that meets an error
 * opens again.  At the end the writer is killed, the bytes it wrote stay,
 * everyone closes, and nothing of the channel may be left in /dev/shm.
 *
 * The writer leaves the header alone (a subscriber validates it once, as
 * it opens, which fuzz-segment covers), and writes anywhere else: pool
 * table, holder masks, caps, both subscribers' slots and rings, event
 * records.
 *
 *   racing-writer [SECONDS [SEED]]        (default: 3 s, a seed from the time)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zcp-layout.h"
#include "zcp.h"

#define WAIT_NS 10000000        /* every wait of ours: 10 ms */
#define CHUNK_SIZE 4096u

static char channel[64];
static struct zcp_publisher *publisher;
static atomic_bool stop;
static atomic_uint_fast64_t received, events, errors, reopened, looks;
/* Errors of zcp_subscriber_next by code, for the summary. */
static atomic_uint_fast64_t error_codes[140];

static uint64_t
next_random (uint64_t * state)
{
  /* xorshift64*: the writer's choices, reproducible from the seed. */
  *state ^= *state >> 12;
  *state ^= *state << 25;
  *state ^= *state >> 27;
  return *state * UINT64_C (2685821657736338717);
}

/* What the writer may write to, the header left out.  Holder masks least:
 * a bit set there holds its chunk until the publisher replaces the pool,
 * and no frame comes while every chunk is held. */
static uint64_t
pick_region (uint64_t choice, uint64_t * length)
{
  switch (choice % 20) {
    case 0:
    case 1:
      *length = ZCP_CAPS_OFFSET - ZCP_MASKS_OFFSET;
      return ZCP_MASKS_OFFSET;
    case 2:
    case 3:
    case 4:
      *length = ZCP_MASKS_OFFSET - ZCP_POOLS_OFFSET;
      return ZCP_POOLS_OFFSET;
    case 5:
    case 6:
    case 7:
      *length = ZCP_SLOTS_OFFSET - ZCP_CAPS_OFFSET;
      return ZCP_CAPS_OFFSET;
    case 8:
    case 9:
    case 10:
    case 11:
    case 12:
      *length = ZCP_CONTROL_SIZE - ZCP_EVENTS_OFFSET;
      return ZCP_EVENTS_OFFSET;
    default:
      /* The first slots: those of our two subscribers, and a free one. */
      *length = 3 * sizeof (struct zcp_shm_slot);
      return ZCP_SLOTS_OFFSET;
  }
}

static void
write_forever (uint64_t seed)
{
  char name[128];
  uint8_t *control;
  const struct timespec pause = {.tv_nsec = 100000 };
  uint64_t state = seed | 1;
  int fd;

  snprintf (name, sizeof name, "/zerocp.%s", channel);
  fd = shm_open (name, O_RDWR, 0);
  control = fd < 0 ? MAP_FAILED : mmap (NULL, ZCP_CONTROL_SIZE,
      PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (control == MAP_FAILED)
    _exit (2);
  for (;;) {
    uint64_t choice = next_random (&state), length;
    uint64_t base = pick_region (choice, &length);
    uint64_t at = base + next_random (&state) % length;
    uint64_t value;
    size_t size = 1u << ((choice >> 8) % 4);    /* 1, 2, 4 or 8 bytes */

    switch ((choice >> 16) % 4) {
      case 0:
        value = 0;
        break;
      case 1:
        value = UINT64_MAX;
        break;
      case 2:
        value = (choice >> 24) % 300;   /* small: counts, indices */
        break;
      default:
        value = next_random (&state);
    }
    if (at + size > ZCP_CONTROL_SIZE)
      at = ZCP_CONTROL_SIZE - size;
    memcpy (control + at, &value, size);
    /* Some thousands of writes a second, and frames between them. */
    nanosleep (&pause, NULL);
  }
}

/* A tampered segment may make any call fail; failing without harm is what
 * is tested. */
static void
may_fail (int ret)
{
  (void) ret;
}

static void *
publish (void *data)
{
  uint64_t n = 0;

  (void) data;
  while (!atomic_load (&stop)) {
    struct zcp_frame frame = {.pts = ZCP_TIME_NONE,.dts = ZCP_TIME_NONE,
      .duration = ZCP_TIME_NONE,
      .event = n % 3 == 0 ? (char *) "metas of the frame" : NULL
    };
    struct zcp_chunk chunk;
    char *upstream;

    n++;
    if (n % 97 == 0)
      may_fail (zcp_publisher_configure_pool (publisher,
              n % 2 ? 2 * CHUNK_SIZE : CHUNK_SIZE, 4));
    if (n % 31 == 0)
      may_fail (zcp_publisher_set_caps (publisher, n % 2 ?
              "video/x-raw,format=GRAY8" : "video/x-raw,format=GRAY16_LE"));
    if (n % 7 == 0)
      may_fail (zcp_publisher_send_event (publisher, "an event", n % 2 ? 1 :
              ZCP_STICKY_NONE, &stop));
    if (zcp_publisher_take_upstream (publisher, &upstream, 0, NULL) == 0)
      free (upstream);
    if (zcp_publisher_claim (publisher, &chunk, WAIT_NS, &stop) != 0)
      continue;
    memset (chunk.data, (int) (n & 0xff), chunk.capacity);
    frame.size = chunk.capacity;
    may_fail (zcp_publisher_publish (publisher, &chunk, &frame, &stop));
    zcp_chunk_release (&chunk);
  }
  return NULL;
}

/* Reads every byte of what it is given, as downstream would. */
static void *
subscribe (void *data)
{
  enum zcp_leaky leaky = data ? ZCP_LEAKY_DOWNSTREAM : ZCP_LEAKY_NO;
  struct zcp_subscriber *subscriber = NULL;
  volatile uint8_t sum = 0;

  while (!atomic_load (&stop)) {
    struct zcp_frame frame;
    struct zcp_chunk chunk;
    char *caps;
    int ret;

    if (!subscriber) {
      if (zcp_subscriber_open_with_queue (channel, 4, leaky, &subscriber) == 0) {
        atomic_fetch_add (&reopened, 1);
      } else {
        struct timespec pause = {.tv_nsec = 1000000 };
        nanosleep (&pause, NULL);
      }
      continue;
    }
    ret = zcp_subscriber_next (subscriber, &frame, &chunk, WAIT_NS, &stop);
    if (ret == -ETIMEDOUT || ret == -ECANCELED)
      continue;
    if (ret < 0) {
      atomic_fetch_add (&errors, 1);
      atomic_fetch_add (&error_codes[-ret < 140 ? -ret : 0], 1);
      zcp_subscriber_close (subscriber);
      subscriber = NULL;
      continue;
    }
    if (frame.kind == ZCP_FRAME_KIND_BUFFER) {
      for (uint64_t i = 0; i < frame.size; i++)
        sum += chunk.data[i];
      if (zcp_subscriber_get_caps (subscriber, frame.caps_generation,
              &caps) == 0)
        free (caps);
      zcp_chunk_release (&chunk);
      atomic_fetch_add (&received, 1);
    } else if (frame.kind == ZCP_FRAME_KIND_EVENT) {
      atomic_fetch_add (&events, 1);
    }
    free (frame.event);
    if (received % 50 == 0)
      may_fail (zcp_subscriber_send_upstream (subscriber, "upstream event"));
  }
  zcp_subscriber_close (subscriber);
  (void) sum;
  return NULL;
}

static void *
inspect (void *data)
{
  (void) data;
  while (!atomic_load (&stop)) {
    struct zcp_channel_snapshot snapshot;
    struct timespec pause = {.tv_nsec = 1000000 };

    if (zcp_channel_inspect (channel, &snapshot) == 0)
      zcp_channel_snapshot_clear (&snapshot);
    atomic_fetch_add (&looks, 1);
    nanosleep (&pause, NULL);
  }
  return NULL;
}

static int
count_left (void)
{
  DIR *dir = opendir ("/dev/shm");
  struct dirent *entry;
  char prefix[80];
  size_t length;
  int left = 0;

  length = (size_t) snprintf (prefix, sizeof prefix, "zerocp.%s", channel);
  while (dir && (entry = readdir (dir)))
    if (strncmp (entry->d_name, prefix, length) == 0 &&
        (entry->d_name[length] == '\0' || entry->d_name[length] == '@')) {
      fprintf (stderr, "left in /dev/shm: %s\n", entry->d_name);
      left++;
    }
  if (dir)
    closedir (dir);
  return left;
}

int
main (int argc, char **argv)
{
  double seconds = argc > 1 ? atof (argv[1]) : 3;
  uint64_t seed = argc > 2 ? strtoull (argv[2], NULL, 0) :
      (uint64_t) time (NULL) ^ (uint64_t) getpid () << 32;
  struct timespec run = {.tv_sec = (time_t) seconds,
    .tv_nsec = (long) ((seconds - (time_t) seconds) * 1e9)
  };
  pthread_t threads[4];
  pid_t writer;
  int status;

  snprintf (channel, sizeof channel, "race-%ld", (long) getpid ());
  if (zcp_publisher_open (channel, 0600, &publisher) != 0 ||
      zcp_publisher_configure_pool (publisher, CHUNK_SIZE, 4) != 0 ||
      zcp_publisher_set_caps (publisher, "video/x-raw,format=GRAY8") != 0) {
    fprintf (stderr, "cannot publish on channel %s\n", channel);
    return 1;
  }
  /* What hostile masks make the publisher grow stays small. */
  zcp_publisher_set_pool_limit (publisher, 64 * CHUNK_SIZE);
  printf ("# channel %s, seed 0x%" PRIx64 ", %.1f s\n", channel, seed, seconds);
  fflush (stdout);

  writer = fork ();
  if (writer == 0) {
    /* Never outlive a test that crashed, which is what it looks for. */
    if (prctl (PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid () == 1)
      _exit (2);
    write_forever (seed);
  }
  if (writer < 0)
    return 1;

  pthread_create (&threads[0], NULL, publish, NULL);
  pthread_create (&threads[1], NULL, subscribe, NULL);
  pthread_create (&threads[2], NULL, subscribe, (void *) 1);
  pthread_create (&threads[3], NULL, inspect, NULL);
  nanosleep (&run, NULL);
  kill (writer, SIGKILL);
  waitpid (writer, &status, 0);
  atomic_store (&stop, true);
  zcp_publisher_wake (publisher);
  for (int t = 0; t < 4; t++)
    pthread_join (threads[t], NULL);
  zcp_publisher_close (publisher);

  printf ("# %" PRIuFAST64 " frames and %" PRIuFAST64 " events taken, %"
      PRIuFAST64 " errors, %" PRIuFAST64 " subscriptions, %" PRIuFAST64
      " looks by zerocp-inspect\n", atomic_load (&received),
      atomic_load (&events), atomic_load (&errors), atomic_load (&reopened),
      atomic_load (&looks));
  for (int code = 0; code < 140; code++)
    if (atomic_load (&error_codes[code]))
      printf ("#   %s: %" PRIuFAST64 "\n", code ? strerror (code) : "other",
          atomic_load (&error_codes[code]));
  if (!WIFSIGNALED (status) || WTERMSIG (status) != SIGKILL) {
    fprintf (stderr, "the writer ended by itself (status %d)\n", status);
    return 1;
  }
  return count_left () == 0 ? 0 : 1;
}
