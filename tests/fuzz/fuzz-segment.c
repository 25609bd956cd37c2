/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzzes what a subscriber reads from shared memory: attaching to a control
 * segment and taking descriptors from its ring.
 *
 * A real publisher makes a valid channel once (a pool, caps, one frame per
 * iteration); each input then rewrites bytes of it before and after the
 * subscriber attaches, and may resize the pool's file, as a hostile or broken
 * peer could.  The subscriber must answer with an error or with frames whose
 * every byte it can read, and never crash, hang or read out of bounds; so
 * must zerocp-inspect's look at the channel.
 *
 * Input: records of fuzz-shm.h ([u8 where][u16 offset][u8 length]
 * [length bytes]).  where & 3 picks the region.  Before the subscriber
 * attaches: 0, the header, pool table and pool 0's masks; 1, caps entry 1,
 * or with where & 4 the first record of the sticky event a joining
 * subscriber reads first (where & 8: its second).
 * After it attached and the publisher pushed an event and a frame with
 * metas: 2, the subscriber's own slot (indices and ring), or with where & 4
 * the event record its first ring entry names (where & 8: its second's, the
 * metas); 3, the pool file's size in pages.  (A file shrunk after a reader
 * mapped it faults that reader: docs/design.md says so, and it is not
 * fuzzed.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz-shm.h"
#include "zcp-layout.h"
#include "zcp.h"

#define POOL_CHUNK_SIZE 4096u
#define POOL_CHUNKS 4u
/* The sticky kind of the events sent, whose records a joining subscriber
 * reads. */
#define STICKY_KIND 1u

static struct zcp_publisher *publisher;
static char channel[64];
static uint8_t *control;        /* our own read-write view of it */
static uint8_t *pristine;
static int pool_fd = -1;
static off_t pool_size;

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

static void
setup (void)
{
  char name[128], *long_event;

  snprintf (channel, sizeof channel, "fuzz-%ld", (long) getpid ());
  if (zcp_publisher_open (channel, 0600, &publisher) != 0 ||
      zcp_publisher_configure_pool (publisher, POOL_CHUNK_SIZE,
          POOL_CHUNKS) != 0 ||
      zcp_publisher_set_caps (publisher, "video/x-raw,format=GRAY8") != 0)
    abort ();

  /* A sticky event of two records, which a joining subscriber reads as
   * one. */
  long_event = malloc (ZCP_EVENT_MAX + 2);
  if (!long_event)
    abort ();
  memset (long_event, 's', ZCP_EVENT_MAX + 1);
  long_event[ZCP_EVENT_MAX + 1] = '\0';
  if (zcp_publisher_send_event (publisher, long_event, STICKY_KIND, NULL) != 0)
    abort ();
  free (long_event);
  control = fuzz_map_control (channel, &pristine);

  snprintf (name, sizeof name, "/zerocp.%s@%08x.0.1", channel,
      ((struct zcp_shm_header *) control)->epoch);
  pool_fd = shm_open (name, O_RDWR, 0);
  if (pool_fd < 0)
    abort ();
  pool_size = lseek (pool_fd, 0, SEEK_END);
}

static void
teardown (void)
{
  zcp_publisher_close (publisher);
}

/* Region starts and lengths, in the control segment. */
static uint64_t
region_base (unsigned region, uint32_t slot, uint32_t * length)
{
  switch (region) {
    case 0:
      *length = ZCP_MASKS_OFFSET + 8 * POOL_CHUNKS;
      return 0;
    case 1:
      *length = 64;
      return ZCP_CAPS_OFFSET + ZCP_CAPS_ENTRY_SIZE;
    case 4:
    case 7:
      /* the first or second record of the sticky event a joining subscriber
       * reads first */
      *length = 64;
      return ZCP_EVENTS_OFFSET + (uint64_t) (ZCP_EVENT_RECORDS +
          STICKY_KIND * ZCP_STICKY_PARTS + (region == 7)) *
          ZCP_EVENT_RECORD_SIZE;
    case 5:
    case 6:{
      /* the record of the event or the metas the ring's first or second
       * entry names */
      struct zcp_shm_slot *shm_slot = (struct zcp_shm_slot *) (control +
          ZCP_SLOTS_OFFSET + (uint64_t) slot * sizeof (struct zcp_shm_slot));
      uint32_t entry = atomic_load (&shm_slot->read_index) + region - 5;
      uint64_t number = shm_slot->ring[entry % ZCP_RING_CAPACITY].event_number;

      *length = 64;
      return ZCP_EVENTS_OFFSET + (number % ZCP_EVENT_RECORDS) *
          ZCP_EVENT_RECORD_SIZE;
    }
    default:
      *length = offsetof (struct zcp_shm_slot, ring) +
          4 * sizeof (struct zcp_shm_desc);
      return ZCP_SLOTS_OFFSET + (uint64_t) slot *sizeof (struct zcp_shm_slot);
  }
}

/* Region 1 or 2 with bit 4 of where set: a sticky record, or an event
 * record; bit 8 picks the second of each. */
static unsigned
region_of (unsigned where)
{
  unsigned region = where & 3;

  if (!(where & 4) || (region != 1 && region != 2))
    return region;
  if (region == 1)
    return where & 8 ? 7 : 4;
  return where & 8 ? 6 : 5;
}

static void
apply (const uint8_t * data, size_t size, int phase, uint32_t slot)
{
  struct fuzz_record record;

  while (fuzz_record_next (&data, &size, &record)) {
    unsigned where = record.where & 3;

    if (where == 3 && phase == 1) {
      uint64_t pages = 0;
      for (size_t i = 0; i < record.length && i < 3; i++)
        pages |= (uint64_t) record.bytes[i] << (8 * i);
      (void) ftruncate (pool_fd, (off_t) (pages % 64) * 4096);
    } else if (where != 3 && (where == 2) == (phase == 1)) {
      uint32_t region_length;
      uint64_t base = region_base (region_of (record.where), slot,
          &region_length);

      fuzz_record_write (control + base, region_length, &record);
    }
  }
}

static void
publish_one (void)
{
  /* With metas, so that the reader's way to their records is fuzzed too. */
  struct zcp_frame frame = {.size = POOL_CHUNK_SIZE,.pts = ZCP_TIME_NONE,
    .dts = ZCP_TIME_NONE,.duration = ZCP_TIME_NONE,.event = (char *) "metas"
  };
  struct zcp_chunk chunk;

  /* An event ahead of the frame, sticky so that its record is read twice. */
  if (zcp_publisher_send_event (publisher, "fuzz-event", STICKY_KIND, NULL) < 0)
    frame.size = 0;
  if (zcp_publisher_claim (publisher, &chunk, 0, NULL) == 0) {
    memset (chunk.data, 0x5a, POOL_CHUNK_SIZE);
    /* A tampered header may make this fail; the reader is what we test. */
    if (zcp_publisher_publish (publisher, &chunk, &frame, NULL) < 0)
      frame.size = 0;
    zcp_chunk_release (&chunk);
  }
}

/* What zerocp-inspect reads of the same segment. */
static void
inspect (void)
{
  struct zcp_channel_snapshot snapshot;

  if (zcp_channel_inspect (channel, &snapshot) == 0)
    zcp_channel_snapshot_clear (&snapshot);
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  struct zcp_subscriber *subscriber;
  struct zcp_subscriber_stats stats;

  if (!publisher) {
    setup ();
    atexit (teardown);
  }

  memcpy (control, pristine, ZCP_CONTROL_SIZE);
  (void) ftruncate (pool_fd, pool_size);
  apply (data, size, 0, 0);
  inspect ();

  if (zcp_subscriber_open (channel, &subscriber) == 0) {
    zcp_subscriber_get_stats (subscriber, &stats);
    /* The input tampers with what the publisher pushed. */
    publish_one ();
    apply (data, size, 1, stats.slot);
    inspect ();

    for (int i = 0; i < 8; i++) {
      struct zcp_frame frame;
      struct zcp_chunk chunk;
      char *caps = NULL;
      volatile uint8_t sum = 0;

      if (zcp_subscriber_next (subscriber, &frame, &chunk, 0, NULL) != 0)
        break;
      if (frame.kind == ZCP_FRAME_KIND_BUFFER) {
        /* Every byte the subscriber was handed must be readable. */
        for (uint64_t b = 0; b < frame.size; b++)
          sum += chunk.data[frame.offset + b];
        (void) sum;
        if (zcp_subscriber_get_caps (subscriber, frame.caps_generation,
                &caps) == 0)
          free (caps);
      }
      /* An event's payload, or a buffer's metas if they came. */
      if (frame.event) {
        sum += (uint8_t) frame.event[0];
        free (frame.event);
      }
      zcp_chunk_release (&chunk);
    }
    zcp_subscriber_close (subscriber);
  }

  /* Give the publisher back every chunk the input may have pinned. */
  memcpy (control, pristine, ZCP_CONTROL_SIZE);
  (void) ftruncate (pool_fd, pool_size);
  return 0;
}
