/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Serialized events in the channel's records: one record each, or several
 * consecutive ones for an event longer than a record; and a buffer's metas,
 * which travel the same way. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../idle-subscriber.h"
#include "tap.h"
#include "zcp-layout.h"
#include "zcp-record.h"
#include "zcp-segment.h"
#include "zcp.h"

/* Bytes that tell each position from its neighbours and from the same
 * position of an event of another length. */
static char *
patterned (size_t length)
{
  char *text = malloc (length + 1);

  for (size_t i = 0; i < length; i++)
    text[i] = (char) ('a' + (i * 7 + length) % 26);
  text[length] = '\0';
  return text;
}

/* Whether the next frame of @subscriber is of @kind and carries the payload
 * patterned (@length), or none for 0: an event's, or a buffer's metas (a
 * buffer of one byte, as publish_with_metas makes). */
static int
next_frame_carries (struct zcp_subscriber *subscriber,
    enum zcp_frame_kind kind, size_t length)
{
  char *expected = length ? patterned (length) : NULL;
  struct zcp_frame frame;
  struct zcp_chunk chunk;
  int same;

  if (zcp_subscriber_next (subscriber, &frame, &chunk, 0, NULL) != 0) {
    free (expected);
    return 0;
  }
  same = frame.kind == kind &&
      (kind != ZCP_FRAME_KIND_BUFFER || frame.size == 1) &&
      (expected ? frame.event && strcmp (frame.event, expected) == 0 :
      !frame.event);
  zcp_chunk_release (&chunk);
  free (frame.event);
  free (expected);
  return same;
}

static int
next_event_is (struct zcp_subscriber *subscriber, size_t length)
{
  return next_frame_carries (subscriber, ZCP_FRAME_KIND_EVENT, length);
}

static int
next_buffer_has_metas (struct zcp_subscriber *subscriber, size_t length)
{
  return next_frame_carries (subscriber, ZCP_FRAME_KIND_BUFFER, length);
}

static int
send_patterned (struct zcp_publisher *publisher, size_t length,
    uint32_t sticky, const atomic_bool * cancel)
{
  char *text = patterned (length);
  int ret = zcp_publisher_send_event (publisher, text, sticky, cancel);

  free (text);
  return ret;
}

static void
test_long_events (void)
{
  const char *channel = tap_channel ("long-events");
  struct zcp_subscriber *lossless, *leaky;
  struct zcp_publisher *publisher;
  atomic_bool cancel = true;

  is_int (zcp_publisher_open (channel, 0600, &publisher), 0, "publisher");
  is_int (zcp_subscriber_open (channel, &lossless), 0, "lossless subscriber");
  is_int (zcp_subscriber_open (channel, &leaky), 0, "leaky subscriber");
  zcp_subscriber_set_queue (leaky, 2, ZCP_LEAKY_DOWNSTREAM);

  is_int (send_patterned (publisher, ZCP_EVENT_MAX, 0, NULL), 0,
      "a record's worth, sticky");
  is_int (send_patterned (publisher, ZCP_STICKY_MAX + 1, 0, NULL), -E2BIG,
      "a sticky event cannot exceed %u records", ZCP_STICKY_MAX /
      ZCP_EVENT_MAX);
  is_int (send_patterned (publisher, ZCP_EVENT_LONG_MAX + 1, ZCP_STICKY_NONE,
          NULL), -E2BIG, "nor can an event exceed %u records",
      ZCP_EVENT_PARTS_MAX);
  is_int (send_patterned (publisher, ZCP_EVENT_MAX + 1, ZCP_STICKY_NONE,
          NULL), 0, "two records");
  is_int (send_patterned (publisher, 100, ZCP_STICKY_NONE, NULL), 0,
      "then a short one");
  /* Cancelled from the start: a send that would wait fails at once. */
  is_int (send_patterned (publisher, ZCP_EVENT_LONG_MAX, ZCP_STICKY_NONE,
          &cancel), -ECANCELED,
      "the next long one waits while a lossless subscriber has the last");

  ok (next_event_is (lossless, ZCP_EVENT_MAX), "one record, read back");
  ok (next_event_is (lossless, ZCP_EVENT_MAX + 1), "two, in order");
  is_int (send_patterned (publisher, ZCP_EVENT_LONG_MAX, ZCP_STICKY_NONE,
          &cancel), 0, "taken: the next goes, though the leaky subscriber "
      "still has the last");
  ok (next_event_is (lossless, 100), "the short one");
  ok (next_event_is (lossless, ZCP_EVENT_LONG_MAX), "%u records, in order",
      ZCP_EVENT_PARTS_MAX);

  ok (next_event_is (leaky, ZCP_EVENT_MAX), "the leaky subscriber has them "
      "too");
  ok (next_event_is (leaky, ZCP_EVENT_MAX + 1), "its long one intact, as no "
      "record of it was written again");

  zcp_subscriber_close (leaky);
  zcp_subscriber_close (lossless);
  zcp_publisher_close (publisher);
}

struct long_send
{
  struct zcp_publisher *publisher;
  atomic_bool done;
  int ret;
};

static void *
send_long (void *data)
{
  struct long_send *send = data;

  send->ret = send_patterned (send->publisher, ZCP_EVENT_MAX + 1,
      ZCP_STICKY_NONE, NULL);
  atomic_store (&send->done, true);
  return NULL;
}

/* Sends a long event from a thread, which must still be waiting a moment
 * later; returns once it was let go. */
static int
long_send_waits_until (struct zcp_publisher *publisher,
    void (*let_go) (void *), void *data)
{
  struct long_send send = {.publisher = publisher };
  bool waited;
  pthread_t thread;

  pthread_create (&thread, NULL, send_long, &send);
  usleep (200 * 1000);
  waited = !atomic_load (&send.done);
  let_go (data);
  pthread_join (thread, NULL);
  return waited ? send.ret : -EALREADY;
}

static void
take_long_event (void *data)
{
  ok (next_event_is (data, ZCP_EVENT_MAX + 1),
      "the subscriber takes the long event it had queued");
}

static void
kill_child (void *data)
{
  kill_idle_subscriber (*(pid_t *) data);
}

/* The wait itself: a long event sent while a lossless subscriber has the
 * last one queued goes as soon as it takes it, or once it dies (the wait
 * looks at its token every 100 ms). */
static void
test_long_event_waits_for_a_lossless_subscriber (void)
{
  const char *channel = tap_channel ("long-wait");
  struct zcp_subscriber *reader;
  struct zcp_publisher *publisher;
  pid_t child;

  is_int (zcp_publisher_open (channel, 0600, &publisher), 0, "publisher");
  is_int (zcp_subscriber_open (channel, &reader), 0, "lossless subscriber");
  is_int (send_patterned (publisher, ZCP_EVENT_MAX + 1, ZCP_STICKY_NONE,
          NULL), 0, "the first long event goes at once");
  is_int (long_send_waits_until (publisher, take_long_event, reader), 0,
      "the second waits until the subscriber takes the first, then goes");
  ok (next_event_is (reader, ZCP_EVENT_MAX + 1), "and arrives whole");

  child = fork_idle_subscriber (channel);
  ok (child > 0, "a second subscriber, in a child, that takes nothing");
  is_int (send_patterned (publisher, ZCP_EVENT_MAX + 1, ZCP_STICKY_NONE,
          NULL), 0, "a third long event goes: nobody had the second");
  ok (next_event_is (reader, ZCP_EVENT_MAX + 1), "the first subscriber "
      "takes it");
  is_int (long_send_waits_until (publisher, kill_child, &child), 0,
      "a fourth waits while the child has the third, and goes once it is "
      "killed");
  ok (next_event_is (reader, ZCP_EVENT_MAX + 1), "and arrives whole");

  zcp_subscriber_close (reader);
  zcp_publisher_close (publisher);
}

/* Publishes a frame whose metas are patterned (@length), none for 0. */
static int
publish_with_metas (struct zcp_publisher *publisher, size_t length,
    const atomic_bool * cancel)
{
  char *metas = length ? patterned (length) : NULL;
  struct zcp_frame frame = {.size = 1,.event = metas };
  struct zcp_chunk chunk;
  int ret = zcp_publisher_claim (publisher, &chunk, 1000000000, NULL);

  if (ret == 0) {
    ret = zcp_publisher_publish (publisher, &chunk, &frame, cancel);
    zcp_chunk_release (&chunk);
  }
  free (metas);
  return ret;
}

static void
test_buffer_metas (void)
{
  const char *channel = tap_channel ("buffer-metas");
  struct zcp_subscriber *lossless, *leaky;
  struct zcp_publisher *publisher;
  struct zcp_subscriber_stats stats;
  atomic_bool cancel = true;
  int published = 0;

  is_int (zcp_publisher_open (channel, 0600, &publisher), 0, "publisher");
  is_int (zcp_publisher_configure_pool (publisher, 4096, 4), 0, "pool");
  is_int (zcp_subscriber_open (channel, &lossless), 0, "lossless subscriber");

  is_int (publish_with_metas (publisher, 100, NULL), 0, "a frame with metas");
  is_int (publish_with_metas (publisher, 0, NULL), 0, "one without");
  is_int (send_patterned (publisher, 50, ZCP_STICKY_NONE, NULL), 0,
      "an event between");
  is_int (publish_with_metas (publisher, 3 * ZCP_EVENT_MAX + 5, NULL), 0,
      "metas in four records");
  is_int (publish_with_metas (publisher, ZCP_EVENT_LONG_MAX + 1, NULL),
      -E2BIG, "metas longer than any event are refused");
  is_int (publish_with_metas (publisher, ZCP_EVENT_MAX + 1, &cancel),
      -ECANCELED, "long metas wait, as a long event does, while a lossless "
      "subscriber has the last");

  ok (next_buffer_has_metas (lossless, 100), "the metas, with their frame");
  ok (next_buffer_has_metas (lossless, 0), "no metas, none read");
  ok (next_event_is (lossless, 50), "the event in its place");
  ok (next_buffer_has_metas (lossless, 3 * ZCP_EVENT_MAX + 5),
      "four records' worth, whole");
  zcp_subscriber_get_stats (lossless, &stats);
  is_int ((int) stats.queued, 0, "and nothing of the refused frames");
  zcp_subscriber_close (lossless);

  /* A leaky subscriber that keeps two events and its first frame while the
   * records go round: the frame comes, its metas do not; the sticky event
   * comes from its kind's records, the other is lost. */
  is_int (zcp_subscriber_open (channel, &leaky), 0, "leaky subscriber");
  zcp_subscriber_set_queue (leaky, 1, ZCP_LEAKY_UPSTREAM);
  is_int (send_patterned (publisher, 60, ZCP_STICKY_NONE, NULL), 0, "an event");
  is_int (send_patterned (publisher, ZCP_EVENT_MAX + 60, 3, NULL), 0,
      "a sticky event of two records");
  for (int i = 0; i < 200; i++)
    published += publish_with_metas (publisher, 10, NULL) == 0;
  is_int (published, 200, "200 frames with metas");
  ok (next_event_is (leaky, ZCP_EVENT_MAX + 60), "the sticky event, whole, "
      "though its records in the ring were written again; the other event "
      "is lost");
  ok (next_buffer_has_metas (leaky, 0), "its first frame came without the "
      "metas whose records were written again");
  zcp_subscriber_close (leaky);
  zcp_publisher_close (publisher);
}

/* A sticky kind's latest event, its records written by @tamper (given its
 * records of part 0 and part 1), read by a subscriber that joins then:
 * whether it replays an event of @length, or with 0 none at all. */
static int
joiner_replays (const char *channel, size_t length,
    void (*tamper) (struct zcp_shm_event_record * first,
        struct zcp_shm_event_record * second))
{
  char name[ZCP_SHM_NAME_SIZE];
  struct zcp_subscriber *joiner;
  uint8_t *control;
  int fd, replays;

  if (zcp_segment_control_name (channel, name, sizeof name) != 0 ||
      (fd = shm_open (name, O_RDWR, 0)) < 0)
    return -1;
  control = mmap (NULL, ZCP_CONTROL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
      fd, 0);
  close (fd);
  if (control == MAP_FAILED)
    return -1;
  if (tamper) {
    struct zcp_shm_event_record *sticky = (struct zcp_shm_event_record *)
        (control + ZCP_EVENTS_OFFSET) + ZCP_EVENT_RECORDS +
        2 * ZCP_STICKY_PARTS;

    tamper (&sticky[0], &sticky[1]);
  }
  if (zcp_subscriber_open (channel, &joiner) != 0) {
    munmap (control, ZCP_CONTROL_SIZE);
    return -1;
  }
  /* Nothing else was sent: a replay is the joiner's first frame, if any. */
  if (length > 0) {
    replays = next_event_is (joiner, length);
  } else {
    struct zcp_frame frame;
    struct zcp_chunk chunk;
    int ret = zcp_subscriber_next (joiner, &frame, &chunk, 0, NULL);

    replays = ret == -ETIMEDOUT;
    if (ret == 0) {
      free (frame.event);
      zcp_chunk_release (&chunk);
    }
  }
  zcp_subscriber_close (joiner);
  munmap (control, ZCP_CONTROL_SIZE);
  return replays;
}

static void
second_part_of_another_event (struct zcp_shm_event_record *first,
    struct zcp_shm_event_record *second)
{
  (void) first;
  atomic_fetch_add (&second->number, ZCP_STICKY_PARTS);
}

static void
claims_more_than_a_kind_holds (struct zcp_shm_event_record *first,
    struct zcp_shm_event_record *second)
{
  (void) second;
  atomic_store (&first->total_length, ZCP_STICKY_MAX + ZCP_EVENT_MAX);
}

static void
second_part_short (struct zcp_shm_event_record *first,
    struct zcp_shm_event_record *second)
{
  (void) first;
  atomic_fetch_sub (&second->length, 1);
}

/* A sticky event longer than a record is kept whole for subscribers that
 * join, and one whose records do not make one event is not replayed. */
static void
test_long_sticky_events (void)
{
  const char *channel = tap_channel ("long-sticky");
  struct zcp_publisher *publisher;

  is_int (zcp_publisher_open (channel, 0600, &publisher), 0, "publisher");
  is_int (send_patterned (publisher, ZCP_STICKY_MAX, 2, NULL), 0,
      "a sticky event of %u records", ZCP_STICKY_MAX / ZCP_EVENT_MAX);
  is_int (joiner_replays (channel, ZCP_STICKY_MAX, NULL), 1,
      "a subscriber that joins gets it whole");
  is_int (send_patterned (publisher, ZCP_EVENT_MAX + 1, 2, NULL), 0,
      "a shorter one of the same kind");
  is_int (joiner_replays (channel, ZCP_EVENT_MAX + 1, NULL), 1,
      "the next gets that one, not the rest of the longer one");
  is_int (joiner_replays (channel, 0, second_part_of_another_event), 1,
      "no replay when a part is of another event");
  /* Every record of the kind full: only the claim tells the reader to
   * stop. */
  is_int (send_patterned (publisher, ZCP_STICKY_MAX, 2, NULL), 0,
      "written again, whole");
  is_int (joiner_replays (channel, 0, claims_more_than_a_kind_holds), 1,
      "no replay when its first part claims more than a kind holds");
  is_int (send_patterned (publisher, ZCP_EVENT_MAX + 1, 2, NULL), 0,
      "written again");
  is_int (joiner_replays (channel, 0, second_part_short), 1,
      "no replay when a part is shorter than the length says");
  is_int (send_patterned (publisher, ZCP_EVENT_MAX + 1, 2, NULL), 0,
      "written again");
  zcp_publisher_forget_sticky (publisher, 2);
  is_int (joiner_replays (channel, 0, NULL), 1, "none once forgotten");
  zcp_publisher_close (publisher);
}

/* A run of records read back whole, and a length its records cannot hold
 * refused as such, before anything is allocated or read: not taken for a
 * part written again (-ESTALE), which sends a sticky event's reader to look
 * elsewhere. */
static void
test_run_of_records (void)
{
  const uint32_t count = 8;
  const uint64_t holds = (uint64_t) count * ZCP_EVENT_MAX;
  struct zcp_shm_event_record *records = calloc (count, sizeof *records);
  char *text = patterned (holds), *data = NULL;

  zcp_records_write (records, count, 3, 100, ZCP_SHM_STICKY_NONE, text, holds);
  ok (zcp_records_read (records, count, 3, 100, holds, &data) == 0
      && strcmp (data, text) == 0, "a run of %u records, wrapping round "
      "from the fourth to the third, reads back whole", count);
  free (data);
  is_int (zcp_records_read (records, count, 3, 100, holds + 1, &data),
      -EPROTO, "a length one byte more than they hold is refused");
  is_int (zcp_records_read (records, count, 3, 100, UINT64_MAX, &data),
      -EPROTO, "and so is the longest");
  is_int (zcp_records_read (records, count, 3, 101, holds, &data), -ESTALE,
      "a run whose first part is of another event is stale");
  free (text);
  free (records);
}

int
main (void)
{
  test_run_of_records ();
  test_long_events ();
  test_long_sticky_events ();
  test_long_event_waits_for_a_lossless_subscriber ();
  test_buffer_metas ();
  return tap_done ();
}
