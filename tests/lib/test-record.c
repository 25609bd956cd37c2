/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Serialized events in the channel's records: one record each, or several
 * consecutive ones for an event longer than a record. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

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

/* The next event @subscriber has, checked against patterned (@length). */
static int
next_event_is (struct zcp_subscriber *subscriber, size_t length)
{
  char *expected = patterned (length);
  struct zcp_frame frame;
  struct zcp_chunk chunk;
  int same;

  if (zcp_subscriber_next (subscriber, &frame, &chunk, 0, NULL) != 0 ||
      frame.kind != ZCP_FRAME_KIND_EVENT) {
    free (expected);
    return 0;
  }
  same = strlen (frame.event) == length && strcmp (frame.event, expected) == 0;
  free (frame.event);
  free (expected);
  return same;
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

int
main (void)
{
  test_long_events ();
  return tap_done ();
}
