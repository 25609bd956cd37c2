/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Serialized events in the channel's records: one record each, or several
 * consecutive ones for an event longer than a record; and a buffer's metas,
 * which travel the same way. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "../idle-subscriber.h"
#include "tap.h"
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
  is_int (send_patterned (publisher, ZCP_EVENT_MAX + 1, 0, NULL), -E2BIG,
      "one byte more cannot be sticky");
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

  /* A leaky subscriber that keeps its first frame while the records go
   * round: the frame comes, its metas do not. */
  is_int (zcp_subscriber_open (channel, &leaky), 0, "leaky subscriber");
  zcp_subscriber_set_queue (leaky, 1, ZCP_LEAKY_UPSTREAM);
  for (int i = 0; i < 200; i++)
    published += publish_with_metas (publisher, 10, NULL) == 0;
  is_int (published, 200, "200 frames with metas");
  ok (next_buffer_has_metas (leaky, 0), "its first frame came without the "
      "metas whose records were written again");
  zcp_subscriber_close (leaky);
  zcp_publisher_close (publisher);
}

int
main (void)
{
  test_long_events ();
  test_long_event_waits_for_a_lossless_subscriber ();
  test_buffer_metas ();
  return tap_done ();
}
