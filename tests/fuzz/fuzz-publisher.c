/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzzes what a publisher reads from shared memory that subscribers can
 * write: their slots (state, queue policy, ring indices and entries, the
 * upstream mailbox), the header, the pool table and the holder masks.  A
 * subscriber maps the control segment read-write, so a hostile or broken one
 * can write any of it while the publisher publishes.
 *
 * A real publisher and a real subscriber (whose liveness token is held, so
 * its slot is never reclaimed; leaky with a queue of one, so that frames
 * are dropped from it and only an input that makes it lossless makes the
 * publisher wait for it) live in this process.  Each
 * input rewrites bytes of the segment; then the publisher does a round of
 * what a sink does (new pool, caps, events, frames, EOS, upstream events,
 * subscriber lists, a drain) while zerocp-inspect looks at the channel; the
 * input rewrites more, and a second round follows.  Everything must fail
 * without harm: no crash, no hang (every wait has a deadline or is
 * cancelled, as a flushing sink cancels it), nothing touched out of bounds,
 * and with the segment back as it was the publisher still claims a chunk.
 *
 * Input: a byte of flags (for each round, in its low and high half: send a
 * long event, give frames metas, set new caps, make a new pool), then
 * records of fuzz-shm.h ([u8 where][u16 offset][u8 length][length
 * bytes]).  where & 7 picks the region: 0, a slot's first three lines
 * (state, policy, indices); 1, its ring; 2, its upstream mailbox; 3, the
 * header; 4, the holder masks; 5, the pool table; 6 and 7, the first line of
 * a slot nobody owns.  where & 8 picks the slot of 0 to 2: ours or the
 * ownerless one; where & 16 applies the record after the first round
 * instead of before it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "fuzz-shm.h"
#include "zcp-layout.h"
#include "zcp.h"

#define POOL_CHUNK_SIZE 4096u
#define POOL_CHUNKS 4u
/* Long enough for a wait to start; short enough that an input which makes
 * every wait of both rounds run out still takes only tens of ms. */
#define CANCEL_AFTER_NS 2000000

enum
{
  FLAG_LONG_EVENT = 1,
  FLAG_METAS = 2,
  FLAG_CAPS = 4,
  FLAG_NEW_POOL = 8,
};

static char channel[64];
static struct zcp_publisher *publisher;
static struct zcp_subscriber *subscriber;
static uint32_t our_slot, ownerless_slot;
static uint8_t *control;        /* our own read-write view of it */
static uint8_t *pristine;
static char *long_event;

/* Cancels the publisher's waits that outlast CANCEL_AFTER_NS, as a sink's
 * flush does: sets the flag and wakes the publisher. */
static struct
{
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool armed;
  uint64_t generation;
  atomic_bool cancel;
} canceller = {
  .lock = PTHREAD_MUTEX_INITIALIZER,.cond = PTHREAD_COND_INITIALIZER
};

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

static void *
canceller_run (void *data)
{
  (void) data;
  pthread_mutex_lock (&canceller.lock);
  for (;;) {
    uint64_t generation;
    struct timespec deadline;

    while (!canceller.armed)
      pthread_cond_wait (&canceller.cond, &canceller.lock);
    generation = canceller.generation;
    clock_gettime (CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += CANCEL_AFTER_NS;
    if (deadline.tv_nsec >= 1000000000) {
      deadline.tv_sec++;
      deadline.tv_nsec -= 1000000000;
    }
    while (canceller.armed && canceller.generation == generation)
      if (pthread_cond_timedwait (&canceller.cond, &canceller.lock,
              &deadline) == ETIMEDOUT) {
        atomic_store (&canceller.cancel, true);
        zcp_publisher_wake (publisher);
        break;
      }
    while (canceller.armed && canceller.generation == generation)
      pthread_cond_wait (&canceller.cond, &canceller.lock);
  }
  return NULL;
}

static const atomic_bool *
arm (void)
{
  pthread_mutex_lock (&canceller.lock);
  atomic_store (&canceller.cancel, false);
  canceller.armed = true;
  canceller.generation++;
  pthread_cond_signal (&canceller.cond);
  pthread_mutex_unlock (&canceller.lock);
  return &canceller.cancel;
}

static void
disarm (void)
{
  pthread_mutex_lock (&canceller.lock);
  canceller.armed = false;
  pthread_cond_signal (&canceller.cond);
  pthread_mutex_unlock (&canceller.lock);
}

static void
setup (void)
{
  struct zcp_subscriber_stats stats;
  pthread_t thread;

  snprintf (channel, sizeof channel, "fuzzpub-%ld", (long) getpid ());
  if (zcp_publisher_open (channel, 0600, &publisher) != 0 ||
      zcp_publisher_configure_pool (publisher, POOL_CHUNK_SIZE,
          POOL_CHUNKS) != 0 ||
      zcp_publisher_set_caps (publisher, "video/x-raw,format=GRAY8") != 0 ||
      zcp_subscriber_open_with_queue (channel, 1, ZCP_LEAKY_DOWNSTREAM,
          &subscriber) != 0)
    abort ();
  /* Growth a hostile mask provokes stays within a few pools. */
  zcp_publisher_set_pool_limit (publisher, 4 * POOL_CHUNKS * POOL_CHUNK_SIZE);
  zcp_subscriber_get_stats (subscriber, &stats);
  our_slot = stats.slot;
  ownerless_slot = (our_slot + 1) % ZCP_MAX_SUBSCRIBERS;

  control = fuzz_map_control (channel, &pristine);

  long_event = malloc (2 * ZCP_EVENT_MAX + 1);
  memset (long_event, 'e', 2 * ZCP_EVENT_MAX);
  long_event[2 * ZCP_EVENT_MAX] = '\0';

  if (pthread_create (&thread, NULL, canceller_run, NULL) != 0)
    abort ();
  pthread_detach (thread);
}

static void
teardown (void)
{
  zcp_subscriber_close (subscriber);
  zcp_publisher_close (publisher);
}

static uint64_t
slot_base (uint32_t slot)
{
  return ZCP_SLOTS_OFFSET + (uint64_t) slot *sizeof (struct zcp_shm_slot);
}

/* Start and length of region @where in the control segment. */
static uint64_t
region_base (unsigned where, uint32_t * length)
{
  uint32_t slot = where & 8 ? ownerless_slot : our_slot;

  switch (where & 7) {
    case 0:
      *length = offsetof (struct zcp_shm_slot, ring);
      return slot_base (slot);
    case 1:
      *length = ZCP_RING_CAPACITY * sizeof (struct zcp_shm_desc);
      return slot_base (slot) + offsetof (struct zcp_shm_slot, ring);
    case 2:
      *length = sizeof (struct zcp_shm_slot) -
          offsetof (struct zcp_shm_slot, upstream_write);
      return slot_base (slot) + offsetof (struct zcp_shm_slot, upstream_write);
    case 3:
      *length = sizeof (struct zcp_shm_header);
      return 0;
    case 4:
      *length = ZCP_MAX_POOLS * ZCP_MAX_CHUNKS_PER_POOL * 8u;
      return ZCP_MASKS_OFFSET;
    case 5:
      *length = ZCP_MAX_POOLS * sizeof (struct zcp_shm_pool);
      return ZCP_POOLS_OFFSET;
    default:
      *length = 64;
      return slot_base (ownerless_slot);
  }
}

static void
apply (const uint8_t * data, size_t size, int phase)
{
  struct fuzz_record record;

  while (fuzz_record_next (&data, &size, &record))
    if (!(record.where & 16) == !phase) {
      uint32_t region_length;
      uint64_t base = region_base (record.where, &region_length);

      fuzz_record_write (control + base, region_length, &record);
    }
}

/* A tampered segment may make any call fail, and failing without harm is
 * what is tested: the result is not checked. */
static void
may_fail (int ret)
{
  (void) ret;
}

/* Everything a sink does with its publisher in a stream, each wait cut
 * short. */
static void
operate (uint8_t flags)
{
  static uint64_t chunk_size = POOL_CHUNK_SIZE;
  struct zcp_subscriber_info infos[4];
  struct zcp_publisher_stats stats;
  struct zcp_channel_snapshot snapshot;
  struct zcp_chunk chunk;
  char *upstream;
  uint32_t listed;

  if (flags & FLAG_NEW_POOL) {
    /* The old pool retires, to be removed once nobody holds its chunks. */
    chunk_size = chunk_size == POOL_CHUNK_SIZE ? 2 * POOL_CHUNK_SIZE :
        POOL_CHUNK_SIZE;
    may_fail (zcp_publisher_configure_pool (publisher, chunk_size,
            POOL_CHUNKS));
  }
  if (flags & FLAG_CAPS)
    may_fail (zcp_publisher_set_caps (publisher,
            "video/x-raw,format=GRAY16_LE"));
  /* Frames first: the next round's first frame finds the last one at the
   * head of a full queue, and drops the entry as the input left it. */
  for (int i = 0; i < 3; i++) {
    struct zcp_frame frame = {.pts = ZCP_TIME_NONE,.dts = ZCP_TIME_NONE,
      .duration = ZCP_TIME_NONE,
      .event = flags & FLAG_METAS ? (char *) "metas" : NULL
    };
    int ret = zcp_publisher_claim (publisher, &chunk, CANCEL_AFTER_NS, arm ());

    disarm ();
    if (ret != 0)
      break;
    memset (chunk.data, 0x5a, chunk.capacity);
    frame.size = chunk.capacity;
    may_fail (zcp_publisher_publish (publisher, &chunk, &frame, arm ()));
    disarm ();
    zcp_chunk_release (&chunk);
  }
  may_fail (zcp_publisher_send_event (publisher, "fuzz-event", 1, arm ()));
  disarm ();
  if (flags & FLAG_LONG_EVENT) {
    may_fail (zcp_publisher_send_event (publisher, long_event,
            ZCP_STICKY_NONE, arm ()));
    disarm ();
  }
  zcp_publisher_set_latency (publisher, 1000000);
  zcp_publisher_forget_sticky (publisher, 1);
  may_fail (zcp_publisher_send_eos (publisher, arm ()));
  disarm ();
  for (int i = 0; i < 6; i++)
    if (zcp_publisher_take_upstream (publisher, &upstream, 0, NULL) == 0)
      free (upstream);
  listed = zcp_publisher_list_subscribers (publisher, infos, 4);
  for (uint32_t i = 0; i < listed; i++)
    (void) zcp_publisher_get_departed (publisher, &infos[i]);
  (void) zcp_publisher_count_subscribers (publisher);
  (void) zcp_publisher_has_subscribers (publisher);
  zcp_publisher_get_stats (publisher, &stats);
  /* What zerocp-inspect reads of the same. */
  if (zcp_channel_inspect (channel, &snapshot) == 0)
    zcp_channel_snapshot_clear (&snapshot);
  may_fail (zcp_publisher_drain (publisher, CANCEL_AFTER_NS, arm ()));
  disarm ();
  may_fail (zcp_publisher_wait_subscriber (publisher, 0, NULL));
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  struct zcp_chunk chunk;
  uint8_t flags;

  if (!publisher) {
    setup ();
    atexit (teardown);
  }
  if (size < 1)
    return 0;
  flags = data[0];
  data++;
  size--;

  apply (data, size, 0);
  operate (flags);
  apply (data, size, 1);
  operate (flags >> 4);

  /* With the segment back as setup left it, the publisher must still
   * claim: a hostile subscriber may cost it frames, never its pool. */
  memcpy (control, pristine, ZCP_CONTROL_SIZE);
  if (zcp_publisher_claim (publisher, &chunk, 0, NULL) != 0)
    abort ();
  zcp_chunk_release (&chunk);
  return 0;
}
