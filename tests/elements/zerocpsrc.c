/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* zerocpsrc: what it hands downstream, and what it does with bad input. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include <gst/audio/audio.h>
#include <gst/base/gstbasesrc.h>

#include "../idle-subscriber.h"
#include "zcp-check.h"
#include "zcp-layout.h"
#include "zcp-ring.h"
#include "zcp.h"

static GstHarness *
harness_for (const gchar * element, const gchar * channel)
{
  gchar *description = g_strdup_printf ("%s channel=%s name=element",
      element, channel);
  GstHarness *h = gst_harness_new_parse (description);

  /* The wire's clock, as in a pipeline by default; GstHarness's own test
   * clock stands still, which each end would account for at a different
   * moment. */
  gst_harness_use_systemclock (h);
  /* GstHarness starts sinks by itself, sources only when told. */
  if (g_str_has_prefix (element, "zerocpsrc"))
    gst_harness_play (h);
  g_free (description);
  return h;
}

static GstElement *
element_of (GstHarness * h)
{
  return gst_bin_get_by_name (GST_BIN (h->element), "element");
}

/* A publisher, holding its stream until the subscriber is there, and a
 * subscriber made of @src_description, on a channel named after @name. */
static gchar *
open_pair (const gchar * name, const gchar * src_description,
    GstHarness ** pub, GstHarness ** sub)
{
  gchar *channel = unique_channel (name);

  *pub = harness_for ("zerocpsink sync=false wait-for-connection=true",
      channel);
  *sub = harness_for (src_description, channel);
  return channel;
}

static void
close_pair (gchar * channel, GstHarness * pub, GstHarness * sub)
{
  gst_harness_teardown (sub);
  gst_harness_teardown (pub);
  g_free (channel);
}

/* Pulls events from @h until one of @type comes; NULL if none within 5 s. */
static GstEvent *
pull_event_of_type (GstHarness * h, GstEventType type)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline) {
    GstEvent *event = gst_harness_try_pull_event (h);

    if (!event) {
      g_usleep (1000);
      continue;
    }
    if (GST_EVENT_TYPE (event) == type)
      return event;
    gst_event_unref (event);
  }
  return NULL;
}

GST_START_TEST (test_buffers_cross_with_caps_and_timestamps)
{
  gchar *channel = unique_channel ("cross");
  GstHarness *pub = harness_for ("zerocpsink sync=false", channel);
  GstHarness *sub = harness_for ("zerocpsrc", channel);
  GstElement *sink = element_of (pub), *src = element_of (sub);
  GstClockTime expected_pts;
  GstBuffer *buffer, *received;
  GstMapInfo sent_map, map;
  GstVideoMeta *meta;
  GstCaps *caps, *sent_caps;

  g_object_set (sink, "wait-for-connection", TRUE, NULL);
  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);

  buffer = gst_harness_create_buffer (pub, VIDEO_SIZE);
  gst_buffer_map (buffer, &sent_map, GST_MAP_WRITE);
  for (gsize i = 0; i < sent_map.size; i++)
    sent_map.data[i] = i * 7;
  gst_buffer_unmap (buffer, &sent_map);
  GST_BUFFER_PTS (buffer) = GST_SECOND;
  GST_BUFFER_DURATION (buffer) = GST_SECOND / 30;
  GST_BUFFER_OFFSET (buffer) = 7;
  GST_BUFFER_OFFSET_END (buffer) = 8;
  GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_HEADER);
  fail_unless_equals_int (gst_harness_push (pub, buffer), GST_FLOW_OK);

  received = gst_harness_pull (sub);
  fail_unless (received != NULL);

  caps = gst_pad_get_current_caps (sub->sinkpad);
  sent_caps = gst_caps_from_string (VIDEO_CAPS);
  fail_unless (caps != NULL, "the source set caps from the channel");
  fail_unless (gst_caps_is_equal (caps, sent_caps), "caps %" GST_PTR_FORMAT,
      caps);
  gst_caps_unref (sent_caps);
  gst_caps_unref (caps);

  /* Absolute time crossed: the publisher's running time plus its base time,
   * minus ours. */
  expected_pts = GST_SECOND + gst_element_get_base_time (sink) -
      gst_element_get_base_time (src);
  fail_unless_equals_clocktime (GST_BUFFER_PTS (received), expected_pts);
  fail_unless_equals_clocktime (GST_BUFFER_DURATION (received),
      GST_SECOND / 30);
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET (received), 7);
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET_END (received), 8);
  fail_unless (GST_BUFFER_FLAG_IS_SET (received, GST_BUFFER_FLAG_DELTA_UNIT));
  fail_unless (GST_BUFFER_FLAG_IS_SET (received, GST_BUFFER_FLAG_HEADER));

  fail_unless_equals_int (gst_buffer_n_memory (received), 1);
  fail_unless (is_zero_cp_memory (gst_buffer_peek_memory (received, 0)));
  fail_unless (GST_MEMORY_IS_READONLY (gst_buffer_peek_memory (received, 0)),
      "other processes see the chunk: it must be read-only");
  meta = gst_buffer_get_video_meta (received);
  fail_unless (meta != NULL);
  fail_unless_equals_int (meta->format, GST_VIDEO_FORMAT_NV12);
  fail_unless_equals_int (meta->n_planes, 2);

  fail_unless (gst_buffer_map (received, &map, GST_MAP_READ));
  fail_unless_equals_uint64 (map.size, VIDEO_SIZE);
  for (gsize i = 0; i < map.size; i++)
    if (map.data[i] != (guint8) (i * 7))
      fail ("byte %" G_GSIZE_FORMAT " differs", i);
  gst_buffer_unmap (received, &map);

  /* The subscriber's hold keeps the chunk in use; freeing the buffer gives
   * it back. */
  fail_unless (element_stat (sink, "chunks-in-use") >= 1);
  {
    guint64 before = element_stat (sink, "chunks-in-use");
    gst_buffer_unref (received);
    fail_unless_equals_uint64 (element_stat (sink, "chunks-in-use"),
        before - 1);
  }

  gst_object_unref (sink);
  gst_object_unref (src);
  gst_harness_teardown (sub);
  gst_harness_teardown (pub);
  g_free (channel);
}

GST_END_TEST;

GST_START_TEST (test_write_map_copies_and_leaves_chunk_alone)
{
  GstHarness *pub, *sub;
  gchar *channel = open_pair ("cow", "zerocpsrc", &pub, &sub);
  GstBuffer *received, *writable;
  GstMapInfo map;
  const guint8 *chunk_data;
  guint8 first_byte;

  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  fail_unless_equals_int (gst_harness_push (pub,
          gst_harness_create_buffer (pub, VIDEO_SIZE)), GST_FLOW_OK);
  received = gst_harness_pull (sub);

  gst_buffer_map (received, &map, GST_MAP_READ);
  chunk_data = map.data;
  first_byte = map.data[0];
  gst_buffer_unmap (received, &map);

  writable = gst_buffer_make_writable (gst_buffer_ref (received));
  fail_unless (gst_buffer_map (writable, &map, GST_MAP_WRITE),
      "GStreamer copies a read-only memory mapped for writing");
  fail_unless (map.data != chunk_data, "the write goes to a copy");
  map.data[0] ^= 0xff;
  gst_buffer_unmap (writable, &map);

  gst_buffer_map (received, &map, GST_MAP_READ);
  fail_unless (map.data == chunk_data, "the original still maps the chunk");
  fail_unless (map.data[0] == first_byte, "and the chunk is untouched");
  gst_buffer_unmap (received, &map);

  gst_buffer_unref (writable);
  gst_buffer_unref (received);
  close_pair (channel, pub, sub);
}

GST_END_TEST;

/* Pushes a VIDEO_SIZE frame whose every byte is @fill. */
static void
push_filled (GstHarness * pub, guint8 fill, GstClockTime pts,
    GstBufferFlags flags)
{
  GstBuffer *buffer = gst_harness_create_buffer (pub, VIDEO_SIZE);

  gst_buffer_memset (buffer, 0, fill, VIDEO_SIZE);
  GST_BUFFER_PTS (buffer) = pts;
  GST_BUFFER_FLAG_SET (buffer, flags);
  fail_unless_equals_int (gst_harness_push (pub, buffer), GST_FLOW_OK);
}

static gboolean
all_bytes_are (GstBuffer * buffer, guint8 fill)
{
  GstMapInfo map;
  gboolean same = TRUE;

  fail_unless (gst_buffer_map (buffer, &map, GST_MAP_READ));
  for (gsize i = 0; i < map.size && same; i++)
    same = map.data[i] == fill;
  gst_buffer_unmap (buffer, &map);
  return same;
}

/* The source reuses a buffer, its memory and its meta once downstream lets
 * go, and gives up the chunk right then; a memory something else still
 * references stays with it, chunk and bytes, and is never reused. */
GST_START_TEST (test_buffers_are_reused_and_chunks_follow_them)
{
  GstHarness *pub, *sub;
  gchar *channel = open_pair ("reuse", "zerocpsrc", &pub, &sub);
  GstElement *sink = element_of (pub);
  GstBuffer *one, *two, *three, *copy, *region, *four, *small;
  GstVideoMeta *meta;
  GstMemory *reused_memory;
  GstClockTime pts_one;
  guint64 in_use;

  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  push_filled (pub, 1, GST_SECOND, GST_BUFFER_FLAG_DELTA_UNIT);
  one = gst_harness_pull (sub);
  reused_memory = gst_buffer_peek_memory (one, 0);
  pts_one = GST_BUFFER_PTS (one);
  in_use = element_stat (sink, "chunks-in-use");
  gst_buffer_unref (one);
  fail_unless_equals_uint64 (element_stat (sink, "chunks-in-use"), in_use - 1);

  /* The same buffer and memory, nothing left over from the first frame. */
  push_filled (pub, 2, 2 * GST_SECOND, 0);
  two = gst_harness_pull (sub);
  fail_unless (two == one, "the buffer was not reused");
  fail_unless (gst_buffer_peek_memory (two, 0) == reused_memory);
  fail_unless (all_bytes_are (two, 2));
  fail_unless_equals_uint64 (gst_buffer_get_size (two), VIDEO_SIZE);
  fail_unless (!GST_BUFFER_FLAG_IS_SET (two, GST_BUFFER_FLAG_DELTA_UNIT));
  fail_unless_equals_clocktime (GST_BUFFER_PTS (two), pts_one + GST_SECOND);
  fail_unless (gst_buffer_get_video_meta (two) != NULL);
  fail_unless_equals_int (gst_buffer_get_n_meta (two,
          GST_VIDEO_META_API_TYPE), 1);

  /* A copy shares the memory: the chunk stays held with it. */
  copy = gst_buffer_copy (two);
  in_use = element_stat (sink, "chunks-in-use");
  gst_buffer_unref (two);
  fail_unless_equals_uint64 (element_stat (sink, "chunks-in-use"), in_use);
  push_filled (pub, 3, 3 * GST_SECOND, 0);
  three = gst_harness_pull (sub);
  fail_unless (gst_buffer_peek_memory (three, 0) != reused_memory);
  fail_unless (all_bytes_are (three, 3));
  fail_unless (all_bytes_are (copy, 2), "the copy's chunk was reused");
  in_use = element_stat (sink, "chunks-in-use");
  gst_buffer_unref (copy);
  fail_unless_equals_uint64 (element_stat (sink, "chunks-in-use"), in_use - 1);

  /* So does a region, through a shared sub-memory. */
  region = gst_buffer_copy_region (three, GST_BUFFER_COPY_MEMORY, 16, 64);
  in_use = element_stat (sink, "chunks-in-use");
  gst_buffer_unref (three);
  fail_unless_equals_uint64 (element_stat (sink, "chunks-in-use"), in_use);
  push_filled (pub, 4, 4 * GST_SECOND, 0);
  four = gst_harness_pull (sub);
  fail_unless (all_bytes_are (four, 4));
  fail_unless (all_bytes_are (region, 3), "the region's chunk was reused");
  in_use = element_stat (sink, "chunks-in-use");
  gst_buffer_unref (region);
  fail_unless_equals_uint64 (element_stat (sink, "chunks-in-use"), in_use - 1);

  /* A reused meta describes the new frame's layout, not the last one's. */
  gst_buffer_unref (four);
  gst_harness_set_src_caps_str (pub,
      "video/x-raw,format=NV12,width=160,height=120,framerate=30/1");
  small = gst_buffer_new_allocate (NULL, 160 * 120 * 3 / 2, NULL);
  gst_buffer_memset (small, 0, 5, 160 * 120 * 3 / 2);
  fail_unless_equals_int (gst_harness_push (pub, small), GST_FLOW_OK);
  small = gst_harness_pull (sub);
  fail_unless (small == four, "the buffer was not reused");
  meta = gst_buffer_get_video_meta (small);
  fail_unless (meta != NULL);
  fail_unless_equals_int (meta->width, 160);
  fail_unless_equals_int (meta->height, 120);
  fail_unless_equals_int (meta->stride[0], 160);
  fail_unless_equals_uint64 (meta->offset[1], 160 * 120);
  fail_unless_equals_uint64 (gst_buffer_get_size (small), 160 * 120 * 3 / 2);

  /* A buffer may outlive the source that made it. */
  gst_harness_teardown (sub);
  fail_unless (all_bytes_are (small, 5));
  gst_buffer_unref (small);

  gst_object_unref (sink);
  gst_harness_teardown (pub);
  g_free (channel);
}

GST_END_TEST;

static guint
uint_property (GstElement * element, const gchar * name)
{
  guint value;

  g_object_get (element, name, &value, NULL);
  return value;
}

/* Whether @sink's channel had @count subscribers within 5 s: those that
 * must get what it sends next. */
static gboolean
wait_for_num_subscribers (GstElement * sink, guint count)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (uint_property (sink, "num-subscribers") < count) {
    if (g_get_monotonic_time () >= deadline)
      return FALSE;
    g_usleep (1000);
  }
  return TRUE;
}

/* A subscriber that joins @pub's channel beside @sub: once the sink counts
 * both, a frame is pushed and pulled from each, so that what the joiner got
 * before its first frame is queued. */
static GstHarness *
join_and_take_a_frame (GstHarness * pub, GstHarness * sub,
    const gchar * channel)
{
  GstElement *sink = element_of (pub);
  GstHarness *joiner = harness_for ("zerocpsrc", channel);

  fail_unless (wait_for_num_subscribers (sink, 2));
  fail_unless_equals_int (gst_harness_push (pub,
          gst_harness_create_buffer (pub, VIDEO_SIZE)), GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (joiner));
  gst_buffer_unref (gst_harness_pull (sub));
  gst_object_unref (sink);
  return joiner;
}

GST_START_TEST (test_eos_crosses)
{
  GstHarness *pub, *sub;
  gchar *channel = open_pair ("eos", "zerocpsrc", &pub, &sub);
  GstEvent *event;
  gboolean got_eos = FALSE;

  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  fail_unless_equals_int (gst_harness_push (pub,
          gst_harness_create_buffer (pub, VIDEO_SIZE)), GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (sub));
  fail_unless (gst_harness_push_event (pub, gst_event_new_eos ()));

  while (!got_eos && (event = gst_harness_pull_event (sub))) {
    got_eos = GST_EVENT_TYPE (event) == GST_EVENT_EOS;
    gst_event_unref (event);
  }
  fail_unless (got_eos, "EOS reached the subscriber");

  close_pair (channel, pub, sub);
}

GST_END_TEST;

/* A publisher that is still there after its EOS may go on (a player that
 * seeks back to loop a file, flushing): a subscriber that joins in between
 * waits for what comes next, as one started before its publisher does,
 * rather than ending at once. */
GST_START_TEST (test_subscriber_joining_after_eos_waits_for_more)
{
  gchar *channel = unique_channel ("after-eos");
  GstHarness *pub = harness_for ("zerocpsink sync=false", channel);
  GstElement *sink = element_of (pub);
  GstHarness *sub;
  GstSegment segment;
  GstBuffer *buffer;
  GstMapInfo map;
  GstEvent *event;
  gboolean got_stream_start = FALSE;

  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  fail_unless_equals_int (gst_harness_push (pub,
          gst_harness_create_buffer (pub, VIDEO_SIZE)), GST_FLOW_OK);
  fail_unless (gst_harness_push_event (pub, gst_event_new_eos ()));

  sub = harness_for ("zerocpsrc", channel);
  /* Joined while the publisher's stream is at its end. */
  fail_unless (wait_for_num_subscribers (sink, 1));

  /* GstBaseSink takes buffers after EOS only once flushed. */
  fail_unless (gst_harness_push_event (pub, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (pub, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&segment, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (pub, gst_event_new_segment (&segment)));
  buffer = gst_harness_create_buffer (pub, VIDEO_SIZE);
  gst_buffer_memset (buffer, 0, 0x5a, VIDEO_SIZE);
  fail_unless_equals_int (gst_harness_push (pub, buffer), GST_FLOW_OK);

  buffer = gst_harness_pull (sub);
  fail_unless (buffer != NULL, "the late subscriber got what followed");
  fail_unless (gst_buffer_map (buffer, &map, GST_MAP_READ));
  fail_unless_equals_int (map.data[0], 0x5a);
  gst_buffer_unmap (buffer, &map);
  gst_buffer_unref (buffer);

  /* Everything before that frame: no EOS, and the stream's start. */
  while ((event = gst_harness_try_pull_event (sub))) {
    fail_if (GST_EVENT_TYPE (event) == GST_EVENT_EOS,
        "a subscriber that joined after EOS got it");
    got_stream_start |= GST_EVENT_TYPE (event) == GST_EVENT_STREAM_START;
    gst_event_unref (event);
  }
  fail_unless (got_stream_start);

  gst_harness_teardown (sub);
  gst_object_unref (sink);
  gst_harness_teardown (pub);
  g_free (channel);
}

GST_END_TEST;

/* The picture of the first tag event that @h has queued with one, checked
 * against @sent: its bytes, caps and info.  Takes the events queued. */
static void
check_tag_picture (GstHarness * h, GstSample * sent)
{
  GstSample *got = NULL;
  GstEvent *event;
  GstMapInfo map;

  while ((event = gst_harness_try_pull_event (h))) {
    if (GST_EVENT_TYPE (event) == GST_EVENT_TAG && !got) {
      GstTagList *tags;

      gst_event_parse_tag (event, &tags);
      gst_tag_list_get_sample (tags, GST_TAG_IMAGE, &got);
    }
    gst_event_unref (event);
  }
  fail_unless (got != NULL, "the picture did not cross");
  fail_unless (gst_buffer_map (gst_sample_get_buffer (sent), &map,
          GST_MAP_READ));
  fail_unless_equals_int (gst_buffer_get_size (gst_sample_get_buffer (got)),
      map.size);
  fail_unless_equals_int (gst_buffer_memcmp (gst_sample_get_buffer (got), 0,
          map.data, map.size), 0);
  gst_buffer_unmap (gst_sample_get_buffer (sent), &map);
  fail_unless (gst_caps_is_equal (gst_sample_get_caps (got),
          gst_sample_get_caps (sent)));
  fail_unless (gst_structure_is_equal (gst_sample_get_info (got),
          gst_sample_get_info (sent)));
  gst_sample_unref (got);
}

/* A picture small enough to be kept sticky crosses with its tags, to the
 * subscriber there and to one that joins later: the sample's text (its
 * caps, segment and info in base64) is read by the source's checks before
 * GStreamer parses it, and passes.  8 KiB of picture take 16 KiB of hex,
 * more than an event record. */
GST_START_TEST (test_tags_cross_with_a_small_picture)
{
  GstHarness *pub, *sub, *joiner;
  gchar *channel = open_pair ("smallpic", "zerocpsrc", &pub, &sub);
  GstBuffer *picture = gst_buffer_new_allocate (NULL, 8192, NULL);
  GstCaps *jpeg = gst_caps_new_empty_simple ("image/jpeg");
  GstSample *sample;
  GstMapInfo map;

  fail_unless (gst_buffer_map (picture, &map, GST_MAP_WRITE));
  for (gsize i = 0; i < map.size; i++)
    map.data[i] = (guint8) (i * 7);
  gst_buffer_unmap (picture, &map);
  sample = gst_sample_new (picture, jpeg, NULL, gst_structure_new ("info",
          "image-type", G_TYPE_INT, 3, NULL));
  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  fail_unless (gst_harness_push_event (pub,
          gst_event_new_tag (gst_tag_list_new (GST_TAG_IMAGE, sample, NULL))));
  fail_unless_equals_int (gst_harness_push (pub,
          gst_harness_create_buffer (pub, VIDEO_SIZE)), GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (sub));
  check_tag_picture (sub, sample);

  joiner = join_and_take_a_frame (pub, sub, channel);
  check_tag_picture (joiner, sample);

  gst_harness_teardown (joiner);
  gst_sample_unref (sample);
  gst_caps_unref (jpeg);
  gst_buffer_unref (picture);
  close_pair (channel, pub, sub);
}

GST_END_TEST;

/* Cover art makes a tag list far longer than a sticky kind keeps
 * (ZCP_STICKY_MAX): the tags cross without the picture. */
GST_START_TEST (test_tags_cross_without_their_picture)
{
  GstHarness *pub, *sub;
  gchar *channel = open_pair ("tags", "zerocpsrc", &pub, &sub);
  GstBuffer *picture = gst_buffer_new_allocate (NULL, 64 * 1024, NULL);
  GstCaps *jpeg = gst_caps_new_empty_simple ("image/jpeg");
  GstSample *sample;
  GstTagList *tags;
  GstEvent *event;
  gchar *title = NULL;
  gboolean got_tags = FALSE;

  gst_buffer_memset (picture, 0, 0xd8, 64 * 1024);
  sample = gst_sample_new (picture, jpeg, NULL, NULL);
  tags = gst_tag_list_new (GST_TAG_TITLE, "zerocp", GST_TAG_IMAGE, sample,
      NULL);
  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  fail_unless (gst_harness_push_event (pub, gst_event_new_tag (tags)));
  fail_unless_equals_int (gst_harness_push (pub,
          gst_harness_create_buffer (pub, VIDEO_SIZE)), GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (sub));

  while ((event = gst_harness_try_pull_event (sub))) {
    if (GST_EVENT_TYPE (event) == GST_EVENT_TAG) {
      GstTagList *got;

      gst_event_parse_tag (event, &got);
      got_tags = gst_tag_list_get_string (got, GST_TAG_TITLE, &title);
      fail_if (gst_tag_list_get_tag_size (got, GST_TAG_IMAGE) > 0);
    }
    gst_event_unref (event);
  }
  fail_unless (got_tags, "no tags with a title crossed");
  fail_unless_equals_string (title, "zerocp");

  g_free (title);
  gst_sample_unref (sample);
  gst_caps_unref (jpeg);
  gst_buffer_unref (picture);
  close_pair (channel, pub, sub);
}

GST_END_TEST;

/* decodebin3, parsebin and urisourcebin put a GstStream in every
 * stream-start, and an object cannot be written as text: the stream-start
 * was unreadable to subscribers and lost.  It crosses without the object,
 * with its id, flags and group, as does the rest of a custom event; the
 * stream collection they send describes the publisher's pipeline and stays
 * there. */
GST_START_TEST (test_events_cross_without_their_objects)
{
  GstHarness *pub, *sub;
  gchar *channel = open_pair ("objects", "zerocpsrc", &pub, &sub);
  GstStream *stream = gst_stream_new ("objects/video", NULL,
      GST_STREAM_TYPE_VIDEO, GST_STREAM_FLAG_SPARSE);
  GstStreamCollection *collection = gst_stream_collection_new ("objects");
  GstEvent *start = gst_event_new_stream_start ("objects/video");
  gboolean got_start = FALSE, got_custom = FALSE;
  GstSegment segment;
  GstEvent *event;

  gst_event_set_stream (start, stream);
  gst_event_set_stream_flags (start, GST_STREAM_FLAG_SPARSE);
  gst_event_set_group_id (start, 7);
  gst_stream_collection_add_stream (collection, gst_object_ref (stream));
  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  fail_unless (gst_harness_push_event (pub, start));
  gst_segment_init (&segment, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (pub, gst_event_new_segment (&segment)));
  fail_unless (gst_harness_push_event (pub,
          gst_event_new_stream_collection (collection)));
  fail_unless (gst_harness_push_event (pub,
          gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
              gst_structure_new ("objects", "label", G_TYPE_STRING, "kept",
                  "owner", GST_TYPE_STREAM, stream, NULL))));
  fail_unless_equals_int (gst_harness_push (pub,
          gst_harness_create_buffer (pub, VIDEO_SIZE)), GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (sub));

  while ((event = gst_harness_try_pull_event (sub))) {
    const GstStructure *structure = gst_event_get_structure (event);

    fail_if (GST_EVENT_TYPE (event) == GST_EVENT_STREAM_COLLECTION);
    if (GST_EVENT_TYPE (event) == GST_EVENT_STREAM_START) {
      const gchar *id;
      GstStreamFlags flags;
      guint group;

      gst_event_parse_stream_start (event, &id);
      if (g_str_equal (id, "objects/video")) {
        gst_event_parse_stream_flags (event, &flags);
        fail_unless_equals_int (flags, GST_STREAM_FLAG_SPARSE);
        fail_unless (gst_event_parse_group_id (event, &group));
        fail_unless_equals_int (group, 7);
        fail_if (gst_structure_has_field (structure, "stream"));
        got_start = TRUE;
      }
    } else if (GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_DOWNSTREAM) {
      fail_unless (gst_structure_has_name (structure, "objects"));
      fail_unless_equals_string (gst_structure_get_string (structure,
              "label"), "kept");
      fail_if (gst_structure_has_field (structure, "owner"));
      got_custom = TRUE;
    }
    gst_event_unref (event);
  }
  fail_unless (got_start, "the publisher's stream-start did not cross");
  fail_unless (got_custom, "the custom event did not cross");

  gst_object_unref (collection);
  gst_object_unref (stream);
  close_pair (channel, pub, sub);
}

GST_END_TEST;

/* What zerocpsink leaves of libzerocp's sticky kinds once stream-start,
 * segment and the two scopes of tags have theirs. */
#define CUSTOM_STICKY_KINDS (ZCP_STICKY_KINDS - 4)

static GstEvent *
new_event_with_text (GstEventType type, const gchar * name, gsize length)
{
  gchar *text = g_malloc (length + 1);
  GstEvent *event;

  for (gsize i = 0; i < length; i++)
    text[i] = 'a' + i % 26;
  text[length] = '\0';
  event = gst_event_new_custom (type, gst_structure_new (name, "text",
          G_TYPE_STRING, text, NULL));
  g_free (text);
  return event;
}

static void
check_event_text (GstEvent * event, gsize length)
{
  const gchar *text = gst_structure_get_string (gst_event_get_structure
      (event), "text");

  fail_unless (text != NULL);
  fail_unless_equals_int (strlen (text), length);
  for (gsize i = 0; i < length; i++)
    if (text[i] != (gchar) ('a' + i % 26))
      fail ("byte %" G_GSIZE_FORMAT " of the text is '%c'", i, text[i]);
}

/* Pulls events from @h until a custom sticky one named @name comes; NULL if
 * none within 5 s. */
static GstEvent *
pull_sticky_event_named (GstHarness * h, const gchar * name)
{
  GstEvent *event;

  while ((event = pull_event_of_type (h, GST_EVENT_CUSTOM_DOWNSTREAM_STICKY))) {
    if (gst_structure_has_name (gst_event_get_structure (event), name))
      return event;
    gst_event_unref (event);
  }
  return NULL;
}

/* An event longer than a record crosses in several: an application's
 * metadata, a TOC-sized tag list.  A sticky one is kept whole for
 * subscribers that join later, up to ZCP_STICKY_MAX bytes; a longer one
 * reaches those here, and the sink says that it is not kept. */
GST_START_TEST (test_long_events_cross)
{
  GstHarness *pub, *sub, *joiner;
  gchar *channel = open_pair ("long", "zerocpsrc", &pub, &sub);
  GstBus *bus = gst_bus_new ();
  GstMessage *warning;
  GstEvent *event;

  gst_element_set_bus (pub->element, bus);
  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  fail_unless_equals_int (gst_harness_push (pub,
          gst_harness_create_buffer (pub, VIDEO_SIZE)), GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (sub));

  fail_unless (gst_harness_push_event (pub,
          new_event_with_text (GST_EVENT_CUSTOM_DOWNSTREAM, "long",
              100 * 1000)));
  fail_unless (gst_harness_push_event (pub,
          new_event_with_text (GST_EVENT_CUSTOM_DOWNSTREAM_STICKY,
              "long-sticky", 30 * 1000)));
  fail_if (gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING),
      "a sticky event of 30,000 bytes is kept");
  fail_unless (gst_harness_push_event (pub,
          new_event_with_text (GST_EVENT_CUSTOM_DOWNSTREAM_STICKY,
              "too-long-sticky", ZCP_STICKY_MAX)));
  warning = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (warning != NULL, "no word that it is not kept");
  gst_message_unref (warning);
  fail_unless_equals_int (gst_harness_push (pub,
          gst_harness_create_buffer (pub, VIDEO_SIZE)), GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (sub));

  event = pull_event_of_type (sub, GST_EVENT_CUSTOM_DOWNSTREAM);
  fail_unless (event != NULL, "the long event did not cross");
  check_event_text (event, 100 * 1000);
  gst_event_unref (event);
  event = pull_sticky_event_named (sub, "long-sticky");
  fail_unless (event != NULL, "the long sticky event did not cross");
  check_event_text (event, 30 * 1000);
  gst_event_unref (event);
  event = pull_sticky_event_named (sub, "too-long-sticky");
  fail_unless (event != NULL, "the sticky event too long to keep did not "
      "reach the subscriber that was there");
  gst_event_unref (event);

  joiner = join_and_take_a_frame (pub, sub, channel);
  event = pull_sticky_event_named (joiner, "long-sticky");
  fail_unless (event != NULL, "a subscriber that joined did not get the "
      "long sticky event");
  check_event_text (event, 30 * 1000);
  gst_event_unref (event);
  /* What the joiner got before its first buffer is all queued by now. */
  while ((event = gst_harness_try_pull_event (joiner))) {
    fail_if (gst_event_has_name (event, "too-long-sticky"),
        "a subscriber that joined got the event that is not kept");
    gst_event_unref (event);
  }

  gst_harness_teardown (joiner);
  gst_element_set_bus (pub->element, NULL);
  gst_object_unref (bus);
  close_pair (channel, pub, sub);
}

GST_END_TEST;

static GstEvent *
new_sticky_event (const gchar * name, gint value)
{
  return gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM_STICKY,
      gst_structure_new (name, "value", G_TYPE_INT, value, NULL));
}

/* A pad hands its sticky events to a peer linked later, custom ones too, one
 * of each name: a subscriber that joins gets the publisher's, the latest of
 * each name, as many names as the channel keeps; beyond them the sink
 * warns. */
GST_START_TEST (test_joining_subscriber_gets_custom_sticky_events)
{
  gchar *channel = unique_channel ("sticky");
  GstHarness *pub = harness_for ("zerocpsink sync=false", channel);
  GstElement *sink = element_of (pub);
  GstBus *bus = gst_bus_new ();
  gint values[CUSTOM_STICKY_KINDS] = { 0 };
  guint replayed = 0;
  GstHarness *sub;
  GstMessage *warning;
  GstEvent *event;

  gst_element_set_bus (pub->element, bus);
  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  fail_unless (gst_harness_push_event (pub, new_sticky_event ("kind0", 1)));
  for (guint i = 0; i < CUSTOM_STICKY_KINDS; i++) {
    gchar *name = g_strdup_printf ("kind%u", i);

    fail_unless (gst_harness_push_event (pub, new_sticky_event (name, 10 + i)));
    g_free (name);
  }
  fail_if (gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING));
  fail_unless (gst_harness_push_event (pub, new_sticky_event ("one-too-many",
              0)));
  warning = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (warning != NULL, "no warning for a kind too many");
  gst_message_unref (warning);

  /* Not before: it would have held the event that is not kept. */
  g_object_set (sink, "wait-for-connection", TRUE, NULL);
  sub = harness_for ("zerocpsrc", channel);
  fail_unless_equals_int (gst_harness_push (pub,
          gst_harness_create_buffer (pub, VIDEO_SIZE)), GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (sub));
  while ((event = gst_harness_try_pull_event (sub))) {
    const GstStructure *structure = gst_event_get_structure (event);
    guint kind;

    if (GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_DOWNSTREAM_STICKY) {
      fail_if (gst_structure_has_name (structure, "one-too-many"));
      fail_unless (sscanf (gst_structure_get_name (structure), "kind%u",
              &kind) == 1 && kind < CUSTOM_STICKY_KINDS);
      fail_unless_equals_int (values[kind], 0);
      fail_unless (gst_structure_get_int (structure, "value", &values[kind]));
      replayed++;
    }
    gst_event_unref (event);
  }
  fail_unless_equals_int (replayed, CUSTOM_STICKY_KINDS);
  for (guint i = 0; i < CUSTOM_STICKY_KINDS; i++)
    fail_unless_equals_int (values[i], 10 + i);

  gst_harness_teardown (sub);
  gst_object_unref (sink);
  gst_element_set_bus (pub->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (pub);
  g_free (channel);
}

GST_END_TEST;

GST_START_TEST (test_bad_channel_names)
{
  gchar *long_name = g_strnfill (201, 'a');
  gchar *description = g_strdup_printf ("zerocpsrc channel=%s ! fakesink",
      long_name);

  assert_pipeline_error ("zerocpsrc channel=a/b ! fakesink",
      GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS);
  assert_pipeline_error (description, GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_SETTINGS);
  assert_pipeline_error ("zerocpsrc ! fakesink", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_SETTINGS);
  g_free (description);
  g_free (long_name);
}

GST_END_TEST;

/* A control segment written by hand, as a hostile or broken peer would. */
static struct zcp_shm_header *
forge_segment (const gchar * channel, gsize size, int *fd_out)
{
  gchar *name = g_strdup_printf ("/zerocp.%s", channel);
  struct zcp_shm_header *header;
  int fd = shm_open (name, O_RDWR | O_CREAT | O_EXCL, 0600);

  fail_unless (fd >= 0);
  fail_unless (ftruncate (fd, size) == 0);
  header = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  fail_unless (header != MAP_FAILED);
  g_free (name);
  *fd_out = fd;
  return header;
}

static void
unforge_segment (const gchar * channel, struct zcp_shm_header *header,
    gsize size, int fd)
{
  gchar *name = g_strdup_printf ("/zerocp.%s", channel);

  munmap (header, size);
  close (fd);
  shm_unlink (name);
  g_free (name);
}

/* A corrupt channel is a RESOURCE/READ error whose text names the channel
 * and whose debug text names the failed check. */
static void
assert_corrupt (const gchar * channel, const gchar * problem)
{
  gchar *description = g_strdup_printf ("zerocpsrc channel=%s ! fakesink",
      channel);

  assert_pipeline_error_full (description, GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_READ, problem);
  g_free (description);
}

GST_START_TEST (test_corrupt_segments)
{
  gchar *channel = unique_channel ("corrupt");
  struct zcp_publisher *publisher;
  struct zcp_shm_header *header;
  int fd;

  /* Garbage where the header should be. */
  header = forge_segment (channel, ZCP_CONTROL_SIZE, &fd);
  memset (header, 0xa5, sizeof *header);
  assert_corrupt (channel, "bad magic");
  unforge_segment (channel, header, ZCP_CONTROL_SIZE, fd);

  /* A truncated segment. */
  header = forge_segment (channel, 100, &fd);
  memset (header, 0xa5, 100);
  assert_corrupt (channel, "holds 100 bytes");
  unforge_segment (channel, header, 100, fd);

  /* A real publisher's segment, then tampered with. */
  fail_unless_equals_int (zcp_publisher_open (channel, 0600, &publisher), 0);
  {
    gchar *name = g_strdup_printf ("/zerocp.%s", channel);
    fd = shm_open (name, O_RDWR, 0);
    header = mmap (NULL, ZCP_CONTROL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
        fd, 0);
    g_free (name);
  }
  header->layout_version = 99;
  assert_corrupt (channel, "layout_version is 99");
  header->layout_version = ZCP_LAYOUT_VERSION;
  header->max_subscribers = 100000;
  assert_corrupt (channel, "max_subscribers is 100000");
  header->max_subscribers = ZCP_MAX_SUBSCRIBERS;
  munmap (header, ZCP_CONTROL_SIZE);
  close (fd);
  zcp_publisher_close (publisher);
  g_free (channel);
}

GST_END_TEST;

/* Pushes @desc into slot 0's ring as a hostile publisher would, and checks
 * that the subscriber turns it into a clear error. */
static void
assert_hostile_descriptor_refused (void (*corrupt) (struct zcp_shm_desc *
        desc, struct zcp_shm_header * header), const gchar * problem)
{
  gchar *channel = unique_channel ("hostile");
  gchar *description = g_strdup_printf ("zerocpsrc channel=%s ! fakesink",
      channel);
  struct zcp_publisher *publisher;
  struct zcp_shm_header *header;
  struct zcp_shm_slot *slot;
  struct zcp_shm_pool *pool;
  struct zcp_shm_desc desc = { 0 };
  GstElement *pipeline;
  gchar *name;
  int fd;

  fail_unless_equals_int (zcp_publisher_open (channel, 0600, &publisher), 0);
  fail_unless_equals_int (zcp_publisher_configure_pool (publisher, 4096, 2), 0);
  fail_unless_equals_int (zcp_publisher_set_caps (publisher,
          "application/x-test"), 0);
  name = g_strdup_printf ("/zerocp.%s", channel);
  fd = shm_open (name, O_RDWR, 0);
  header = mmap (NULL, ZCP_CONTROL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
      fd, 0);
  fail_unless (header != MAP_FAILED);

  pipeline = gst_parse_launch (description, NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  fail_unless_equals_int (zcp_publisher_wait_subscriber (publisher,
          10 * GST_SECOND, NULL), 0);

  slot = (struct zcp_shm_slot *) ((guint8 *) header + ZCP_SLOTS_OFFSET);
  pool = (struct zcp_shm_pool *) ((guint8 *) header + ZCP_POOLS_OFFSET);
  desc.kind = ZCP_SHM_DESC_KIND_BUFFER;
  desc.pool_generation = atomic_load (&pool[0].generation);
  desc.caps_generation = 1;
  desc.size = 16;
  desc.pts = desc.dts = desc.duration = ZCP_TIME_NONE;
  corrupt (&desc, header);
  fail_unless (zcp_ring_push (&slot[0], &desc));

  expect_pipeline_error (pipeline, "hostile descriptor", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_READ, channel, problem);
  munmap (header, ZCP_CONTROL_SIZE);
  close (fd);
  zcp_publisher_close (publisher);
  g_free (name);
  g_free (description);
  g_free (channel);
}

static void
chunk_out_of_range (struct zcp_shm_desc *desc, struct zcp_shm_header *header)
{
  desc->chunk_index = 9999;
}

static void
pool_out_of_range (struct zcp_shm_desc *desc, struct zcp_shm_header *header)
{
  desc->pool_index = 77;
}

static void
size_overruns_chunk (struct zcp_shm_desc *desc, struct zcp_shm_header *header)
{
  desc->offset = 4000;
  desc->size = 4000;
}

static void
plane_overruns_buffer (struct zcp_shm_desc *desc, struct zcp_shm_header *header)
{
  desc->size = 4096;
  desc->has_video = 1;
  desc->video.format = GST_VIDEO_FORMAT_GRAY8;
  desc->video.width = 64;
  desc->video.height = 640;
  desc->video.n_planes = 1;
  desc->video.stride[0] = 64;
}

static void
unknown_kind (struct zcp_shm_desc *desc, struct zcp_shm_header *header)
{
  desc->kind = 0xdead;
}

GST_START_TEST (test_hostile_descriptors)
{
  assert_hostile_descriptor_refused (chunk_out_of_range,
      "chunk index 9999 out of range");
  assert_hostile_descriptor_refused (pool_out_of_range, "names pool 77");
  assert_hostile_descriptor_refused (size_overruns_chunk, "overruns a chunk");
  assert_hostile_descriptor_refused (plane_overruns_buffer,
      "plane 0 (40960 bytes at 0) overruns a buffer of 4096");
  assert_hostile_descriptor_refused (unknown_kind, "unknown kind 57005");
}

GST_END_TEST;

GST_START_TEST (test_waits_for_channel_and_stops_promptly)
{
  gchar *channel = unique_channel ("absent");
  gchar *description = g_strdup_printf ("zerocpsrc channel=%s ! fakesink",
      channel);
  GstElement *pipeline = gst_parse_launch (description, NULL);
  GstStateChangeReturn ret;
  gint64 start;

  /* A missing publisher is not an error: the source waits for it, and a
   * state change to NULL ends the wait. */
  ret = gst_element_set_state (pipeline, GST_STATE_PLAYING);
  fail_unless (ret != GST_STATE_CHANGE_FAILURE);
  start = g_get_monotonic_time ();
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  fail_unless (g_get_monotonic_time () - start < 5 * G_USEC_PER_SEC,
      "stopping a waiting source hung");

  gst_object_unref (pipeline);
  g_free (description);
  g_free (channel);
}

GST_END_TEST;

/* Pops element messages from @bus (10 s at most) until one named @name. */
static GstStructure *
expect_element_message (GstBus * bus, const gchar * name)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  GstStructure *found = NULL;

  while (!found && g_get_monotonic_time () < deadline) {
    GstMessage *message = gst_bus_timed_pop_filtered (bus, 100 * GST_MSECOND,
        GST_MESSAGE_ELEMENT | GST_MESSAGE_ERROR);

    if (!message)
      continue;
    fail_if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR,
        "error while waiting for %s", name);
    if (gst_message_has_name (message, name))
      found = gst_structure_copy (gst_message_get_structure (message));
    gst_message_unref (message);
  }
  fail_unless (found != NULL, "no %s message", name);
  return found;
}

static guint
structure_uint (const GstStructure * structure, const gchar * field)
{
  guint value = G_MAXUINT;

  fail_unless (gst_structure_get_uint (structure, field, &value), "no %s in %"
      GST_PTR_FORMAT, field, structure);
  return value;
}

/* The properties the queue's test leaves out read back their defaults, then
 * what was set; timestamp-mode's default follows is-live as the queue's do. */
GST_START_TEST (test_properties_read_back)
{
  GstElement *src = gst_element_factory_make ("zerocpsrc", NULL);
  guint64 publisher_timeout, scheduler_slice;
  gint on_publisher_lost, timestamp_mode;
  guint scheduler_batch_rate;
  gchar *channel;

  g_object_get (src, "channel", &channel, "publisher-timeout",
      &publisher_timeout, "on-publisher-lost", &on_publisher_lost,
      "timestamp-mode", &timestamp_mode, "scheduler-slice", &scheduler_slice,
      "scheduler-batch-rate", &scheduler_batch_rate, NULL);
  fail_unless (channel == NULL);
  fail_unless_equals_uint64 (publisher_timeout, 0);
  fail_unless_equals_int (on_publisher_lost, 0);        /* wait */
  fail_unless_equals_int (timestamp_mode, 0);   /* compensate */
  fail_unless_equals_uint64 (scheduler_slice, 100 * GST_USECOND);
  fail_unless_equals_int (scheduler_batch_rate, 20000);

  g_object_set (src, "is-live", FALSE, NULL);
  g_object_get (src, "timestamp-mode", &timestamp_mode, NULL);
  fail_unless_equals_int (timestamp_mode, 1);   /* passthrough */

  g_object_set (src, "channel", "props-src", "publisher-timeout",
      G_GUINT64_CONSTANT (250000000), "scheduler-slice", G_GUINT64_CONSTANT (0),
      "scheduler-batch-rate", 0, NULL);
  gst_util_set_object_arg (G_OBJECT (src), "on-publisher-lost", "eos");
  gst_util_set_object_arg (G_OBJECT (src), "timestamp-mode", "restart");
  g_object_set (src, "is-live", TRUE, NULL);
  g_object_get (src, "channel", &channel, "publisher-timeout",
      &publisher_timeout, "on-publisher-lost", &on_publisher_lost,
      "timestamp-mode", &timestamp_mode, "scheduler-slice", &scheduler_slice,
      "scheduler-batch-rate", &scheduler_batch_rate, NULL);
  fail_unless_equals_string (channel, "props-src");
  fail_unless_equals_uint64 (publisher_timeout, 250000000);
  fail_unless_equals_int (on_publisher_lost, 1);
  fail_unless_equals_int (timestamp_mode, 2);
  fail_unless_equals_uint64 (scheduler_slice, 0);
  fail_unless_equals_int (scheduler_batch_rate, 0);

  g_free (channel);
  gst_object_unref (src);
}

GST_END_TEST;

GST_START_TEST (test_queue_defaults_follow_is_live)
{
  GstElement *src = gst_element_factory_make ("zerocpsrc", NULL);
  gint leaky = -1;
  guint max_buffers = 0;

  /* Live: a camera user wants the newest frame, and a slow viewer must not
   * hold back the camera. */
  g_object_get (src, "leaky", &leaky, "max-buffers", &max_buffers, NULL);
  fail_unless_equals_int (leaky, 2);
  fail_unless_equals_int (max_buffers, 4);

  /* Not live: file processing, where every frame counts, with room for
   * the publisher to run ahead. */
  g_object_set (src, "is-live", FALSE, NULL);
  g_object_get (src, "leaky", &leaky, "max-buffers", &max_buffers, NULL);
  fail_unless_equals_int (leaky, 0);
  fail_unless_equals_int (max_buffers, 8);

  /* What the user set stays, whatever is-live says. */
  gst_util_set_object_arg (G_OBJECT (src), "leaky", "upstream");
  g_object_set (src, "max-buffers", 7, "is-live", TRUE, NULL);
  g_object_get (src, "leaky", &leaky, "max-buffers", &max_buffers, NULL);
  fail_unless_equals_int (leaky, 1);
  fail_unless_equals_int (max_buffers, 7);

  gst_object_unref (src);
}

GST_END_TEST;

GST_START_TEST (test_publisher_timeout)
{
  gchar *channel = unique_channel ("timeout");
  gchar *description = g_strdup_printf ("zerocpsrc channel=%s "
      "publisher-timeout=200000000 ! fakesink", channel);
  GstElement *pipeline = gst_parse_launch (description, NULL);

  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  expect_pipeline_error (pipeline, "publisher-timeout", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_NOT_FOUND, "No publisher", "publisher-timeout");

  g_free (description);
  g_free (channel);
}

GST_END_TEST;

/* A channel holds 63 subscribers: the next zerocpsrc posts an error that
 * says so.  One that starts right after a subscriber was killed, before the
 * sink's monitor (every 100 ms) has given its slot back, waits for it and
 * streams, as a subscriber restarted after a crash must. */
GST_START_TEST (test_full_channel)
{
  gchar *channel = unique_channel ("full");
  GstHarness *pub = harness_for ("zerocpsink sync=false", channel);
  struct zcp_subscriber *subscribers[ZCP_SUBSCRIBERS_MAX - 1];
  gchar *refused = g_strdup_printf ("zerocpsrc channel=%s ! fakesink",
      channel);
  gchar *restarted = g_strdup_printf ("zerocpsrc channel=%s num-buffers=1 "
      "! fakesink", channel);
  GstElement *pipeline = gst_parse_launch (refused, NULL);
  GstMessage *message;
  GstBus *bus;
  pid_t child;

  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  for (guint i = 0; i < G_N_ELEMENTS (subscribers); i++)
    fail_unless_equals_int (zcp_subscriber_open (channel, &subscribers[i]), 0);
  child = fork_idle_subscriber (channel);
  fail_unless (child > 0, "the child did not subscribe");

  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  expect_pipeline_error (pipeline, "a 64th subscriber", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_BUSY, "has no free subscriber slot",
      "zcp_subscriber_open");

  kill_idle_subscriber (child);
  pipeline = gst_parse_launch (restarted, NULL);
  bus = gst_element_get_bus (pipeline);
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  /* Connected before any frame: publishing one would have the sink give
   * the slot back at once, and the source would not meet the moment. */
  gst_structure_free (expect_element_message (bus,
          "zerocp-publisher-connected"));
  fail_unless_equals_int (gst_harness_push (pub,
          gst_harness_create_buffer (pub, VIDEO_SIZE)), GST_FLOW_OK);
  message = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
      GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
  fail_unless (message && GST_MESSAGE_TYPE (message) == GST_MESSAGE_EOS,
      "the frame did not reach the restarted subscriber");

  gst_message_unref (message);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  for (guint i = 0; i < G_N_ELEMENTS (subscribers); i++)
    zcp_subscriber_close (subscribers[i]);
  gst_harness_teardown (pub);
  g_free (restarted);
  g_free (refused);
  g_free (channel);
}

GST_END_TEST;

/* A full channel whose publisher does not run (stopped, here never called)
 * never gives back the slot of a subscriber that left: a new subscriber
 * waits for it, and says that is what it waits for, not a publisher. */
GST_START_TEST (test_full_channel_of_stopped_publisher)
{
  gchar *channel = unique_channel ("fullstopped");
  gchar *timed = g_strdup_printf ("zerocpsrc channel=%s "
      "publisher-timeout=300000000 ! fakesink", channel);
  gchar *patient = g_strdup_printf ("zerocpsrc channel=%s ! fakesink",
      channel);
  struct zcp_subscriber *subscribers[ZCP_SUBSCRIBERS_MAX];
  struct zcp_subscriber_info infos[ZCP_SUBSCRIBERS_MAX];
  struct zcp_publisher *publisher;
  GstElement *pipeline;
  GstMessage *message;
  GstBus *bus;
  gint64 start;

  fail_unless_equals_int (zcp_publisher_open (channel, 0600, &publisher), 0);
  for (guint i = 0; i < G_N_ELEMENTS (subscribers); i++)
    fail_unless_equals_int (zcp_subscriber_open (channel, &subscribers[i]), 0);
  zcp_subscriber_close (subscribers[0]);
  subscribers[0] = NULL;

  pipeline = gst_parse_launch (timed, NULL);
  start = g_get_monotonic_time ();
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  expect_pipeline_error (pipeline, "publisher-timeout on a full channel",
      GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_BUSY,
      "has no free subscriber slot after 300 ms", "is the publisher stopped?");
  fail_unless (g_get_monotonic_time () - start >= 300 * G_TIME_SPAN_MILLISECOND,
      "gave up before publisher-timeout");

  /* Without a timeout: the 5 s warning says the same, and the wait ends
   * when the publisher runs again and gives the slot back. */
  pipeline = gst_parse_launch (patient, NULL);
  bus = gst_element_get_bus (pipeline);
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  message = gst_bus_timed_pop_filtered (bus, 15 * GST_SECOND,
      GST_MESSAGE_WARNING | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT);
  fail_unless (message != NULL, "no warning");
  fail_unless_equals_int (GST_MESSAGE_TYPE (message), GST_MESSAGE_WARNING);
  check_error_message (message, "a subscriber waiting for a slot",
      GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_BUSY,
      "has no free subscriber slot yet", "is the publisher stopped?");
  /* Listing looks at the slots, and gives back the one left. */
  fail_unless (zcp_publisher_list_subscribers (publisher, infos,
          ZCP_SUBSCRIBERS_MAX) >= (int) ZCP_SUBSCRIBERS_MAX - 1);
  gst_structure_free (expect_element_message (bus,
          "zerocp-publisher-connected"));

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  for (guint i = 1; i < G_N_ELEMENTS (subscribers); i++)
    zcp_subscriber_close (subscribers[i]);
  zcp_publisher_close (publisher);
  g_free (patient);
  g_free (timed);
  g_free (channel);
}

GST_END_TEST;

/* A subscriber alone for 5 s has likely mistyped the channel: it says so,
 * with the channels there are, once, and goes on waiting. */
GST_START_TEST (test_lonely_subscriber_warns_and_waits)
{
  gchar *channel = unique_channel ("lonely");
  gchar *other_channel = unique_channel ("present");
  gchar *description = g_strdup_printf ("zerocpsrc channel=%s ! fakesink",
      channel);
  GstElement *pipeline = gst_parse_launch (description, NULL);
  GstBus *bus = gst_element_get_bus (pipeline);
  GstHarness *other = harness_for ("zerocpsink", other_channel);
  GstHarness *pub;
  GstMessage *message;
  gboolean connected = FALSE;
  guint more_warnings = 0;
  gint64 start = g_get_monotonic_time ();

  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  message = gst_bus_timed_pop_filtered (bus, 15 * GST_SECOND,
      GST_MESSAGE_WARNING | GST_MESSAGE_ERROR);
  fail_unless (message != NULL, "no warning");
  fail_unless_equals_int (GST_MESSAGE_TYPE (message), GST_MESSAGE_WARNING);
  fail_unless (g_get_monotonic_time () - start >= 5 * G_USEC_PER_SEC,
      "warned before waiting 5 s");
  check_error_message (message, "a lonely subscriber", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_NOT_FOUND, channel, other_channel);

  /* Still waiting: a publisher that comes now is found. */
  pub = harness_for ("zerocpsink", channel);
  while (!connected && (message = gst_bus_timed_pop_filtered (bus,
              10 * GST_SECOND, GST_MESSAGE_WARNING | GST_MESSAGE_ELEMENT |
              GST_MESSAGE_ERROR))) {
    fail_if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR);
    more_warnings += GST_MESSAGE_TYPE (message) == GST_MESSAGE_WARNING;
    connected = gst_message_has_name (message, "zerocp-publisher-connected");
    gst_message_unref (message);
  }
  fail_unless (connected, "the publisher that came was not found");
  fail_unless_equals_int (more_warnings, 0);

  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_harness_teardown (pub);
  gst_harness_teardown (other);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  g_free (description);
  g_free (other_channel);
  g_free (channel);
}

GST_END_TEST;

/* A channel whose format downstream refuses is an error that names the
 * channel and both formats. */
GST_START_TEST (test_refused_caps_name_both_sides)
{
  gchar *channel = unique_channel ("refused");
  gchar *description = g_strdup_printf ("zerocpsrc channel=%s ! "
      "video/x-raw,format=I420 ! fakesink", channel);
  GstElement *pipeline = gst_parse_launch (description, NULL);
  GstHarness *pub = harness_for ("zerocpsink sync=false "
      "wait-for-connection=true", channel);

  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  fail_unless_equals_int (gst_harness_push (pub,
          gst_harness_create_buffer (pub, VIDEO_SIZE)), GST_FLOW_OK);
  expect_pipeline_error (pipeline, "refused caps", GST_CORE_ERROR,
      GST_CORE_ERROR_NEGOTIATION, "does not accept", "format=(string)NV12");

  gst_harness_teardown (pub);
  g_free (description);
  g_free (channel);
}

GST_END_TEST;

/* Caps longer than an event record (4,072 bytes) cross in the channel's
 * caps entries alone, whole; caps longer than an entry (16,367 bytes) are
 * refused by the sink with an error that says so. */
GST_START_TEST (test_long_caps)
{
  GstHarness *pub, *sub;
  gchar *channel = open_pair ("longcaps", "zerocpsrc", &pub, &sub);
  gchar *padding = g_strnfill (6000, 'a');
  gchar *too_much = g_strnfill (17000, 'b');
  GstCaps *sent = gst_caps_from_string (VIDEO_CAPS), *received;
  GstBus *bus = gst_bus_new ();

  gst_caps_set_simple (sent, "padding", G_TYPE_STRING, padding, NULL);
  gst_harness_set_src_caps (pub, gst_caps_ref (sent));
  fail_unless_equals_int (gst_harness_push (pub,
          gst_harness_create_buffer (pub, VIDEO_SIZE)), GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (sub));
  received = gst_pad_get_current_caps (sub->sinkpad);
  fail_unless (gst_caps_is_equal (sent, received),
      "%" GST_PTR_FORMAT " came as %" GST_PTR_FORMAT, sent, received);
  gst_caps_unref (received);

  gst_element_set_bus (pub->element, bus);
  sent = gst_caps_make_writable (sent);
  gst_caps_set_simple (sent, "padding", G_TYPE_STRING, too_much, NULL);
  /* A sticky event pushed is stored whatever the sink says: the buffer
   * after it tells. */
  gst_harness_push_event (pub, gst_event_new_caps (sent));
  fail_unless_equals_int (gst_harness_push (pub,
          gst_harness_create_buffer (pub, VIDEO_SIZE)),
      GST_FLOW_NOT_NEGOTIATED);
  check_error_message (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR),
      "caps too long", GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT,
      "Caps too long", NULL);

  gst_element_set_bus (pub->element, NULL);
  gst_object_unref (bus);
  gst_caps_unref (sent);
  g_free (too_much);
  g_free (padding);
  close_pair (channel, pub, sub);
}

GST_END_TEST;

/* The channel keeps the last ZCP_CAPS_ENTRIES caps: a subscriber that
 * falls further behind on caps too long for an event record (which reach it
 * only through those entries) cannot know the caps of its next frame, and
 * posts an error rather than give it the wrong ones. */
GST_START_TEST (test_subscriber_too_far_behind_long_caps_errors)
{
  gchar *channel = unique_channel ("behind");
  GstHarness *pub = harness_for ("zerocpsink sync=false "
      "wait-for-connection=true", channel);
  gchar *description = g_strdup_printf ("zerocpsrc channel=%s is-live=false "
      "max-buffers=16 name=src ! fakesink", channel);
  GstElement *pipeline = gst_parse_launch (description, NULL);
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  GstPad *pad = gst_element_get_static_pad (src, "src");
  GstBus *bus = gst_element_get_bus (pipeline);
  gulong held;

  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  gst_structure_free (expect_element_message (bus,
          "zerocp-publisher-connected"));
  /* Held at the first frame's caps at the latest: the first or second
   * frame's are the first it reads after, written over by the fifth or
   * sixth. */
  held = gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BLOCK_DOWNSTREAM, NULL,
      NULL, NULL);
  for (guint i = 0; i < ZCP_CAPS_ENTRIES + 2; i++) {
    gchar *padding = g_strnfill (5000, 'a' + i);
    GstCaps *caps = gst_caps_from_string (VIDEO_CAPS);

    gst_caps_set_simple (caps, "padding", G_TYPE_STRING, padding, NULL);
    gst_harness_set_src_caps (pub, caps);
    fail_unless_equals_int (gst_harness_push (pub,
            gst_harness_create_buffer (pub, VIDEO_SIZE)), GST_FLOW_OK);
    g_free (padding);
  }
  gst_pad_remove_probe (pad, held);
  expect_pipeline_error (pipeline, "a subscriber behind", GST_STREAM_ERROR,
      GST_STREAM_ERROR_FORMAT, "lost the caps of a frame", "caps generation");

  gst_object_unref (bus);
  gst_object_unref (pad);
  gst_object_unref (src);
  gst_harness_teardown (pub);
  g_free (description);
  g_free (channel);
}

GST_END_TEST;

typedef struct
{
  GMutex lock;
  GCond arrived;
  GArray *pts;
} Arrivals;

static void
note_arrival (GstElement * fakesink, GstBuffer * buffer, GstPad * pad,
    Arrivals * arrivals)
{
  GstClockTime pts = GST_BUFFER_PTS (buffer);

  g_mutex_lock (&arrivals->lock);
  g_array_append_val (arrivals->pts, pts);
  g_cond_signal (&arrivals->arrived);
  g_mutex_unlock (&arrivals->lock);
}

/* A clock that is not CLOCK_MONOTONIC, as an audio device's or a network
 * clock is not: the realtime one, decades away from it. */
static GstClock *
other_clock (void)
{
  return g_object_new (GST_TYPE_SYSTEM_CLOCK, "clock-type",
      GST_CLOCK_TYPE_REALTIME, NULL);
}

/* Ten frames at 30 fps from a publisher into a subscriber that syncs, with
 * the publisher's pipeline (@other_on_publisher) or the subscriber's on
 * other_clock(): the frames come, a frame apart.  Lossless, so that a slow
 * start (valgrind's) cannot drop one from the live subscriber's queue. */
static void
check_stream_across_clocks (gboolean other_on_publisher)
{
  gchar *channel = unique_channel ("clocks");
  gchar *pub_description = g_strdup_printf ("videotestsrc is-live=true ! "
      VIDEO_CAPS " ! zerocpsink channel=%s wait-for-connection=true",
      channel);
  gchar *sub_description = g_strdup_printf ("zerocpsrc channel=%s leaky=no "
      "! fakesink name=out sync=true signal-handoffs=true", channel);
  GstElement *publisher = gst_parse_launch (pub_description, NULL);
  GstElement *subscriber = gst_parse_launch (sub_description, NULL);
  GstElement *out = gst_bin_get_by_name (GST_BIN (subscriber), "out");
  GstClock *clock = other_clock ();
  Arrivals arrivals = {.pts = g_array_new (FALSE, FALSE,
        sizeof (GstClockTime))
  };
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  gst_pipeline_use_clock (GST_PIPELINE (other_on_publisher ? publisher :
          subscriber), clock);
  g_mutex_init (&arrivals.lock);
  g_cond_init (&arrivals.arrived);
  g_signal_connect (out, "handoff", G_CALLBACK (note_arrival), &arrivals);
  fail_unless (gst_element_set_state (subscriber, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  fail_unless (gst_element_set_state (publisher, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);

  g_mutex_lock (&arrivals.lock);
  while (arrivals.pts->len < 10)
    fail_unless (g_cond_wait_until (&arrivals.arrived, &arrivals.lock,
            deadline), "%u frames rendered in 10 s", arrivals.pts->len);
  g_mutex_unlock (&arrivals.lock);

  gst_element_set_state (subscriber, GST_STATE_NULL);
  gst_element_set_state (publisher, GST_STATE_NULL);
  for (guint i = 1; i < arrivals.pts->len; i++) {
    GstClockTime step = g_array_index (arrivals.pts, GstClockTime, i) -
        g_array_index (arrivals.pts, GstClockTime, i - 1);

    fail_unless (step > GST_SECOND / 60 && step < GST_SECOND / 20,
        "frame %u came %" GST_TIME_FORMAT " after the one before", i,
        GST_TIME_ARGS (step));
  }

  g_array_free (arrivals.pts, TRUE);
  g_cond_clear (&arrivals.arrived);
  g_mutex_clear (&arrivals.lock);
  gst_object_unref (clock);
  gst_object_unref (out);
  gst_object_unref (subscriber);
  gst_object_unref (publisher);
  g_free (sub_description);
  g_free (pub_description);
  g_free (channel);
}

/* The wire's times are CLOCK_MONOTONIC's, GStreamer's default clock; a
 * pipeline on another clock (an audio sink or source picked as the
 * pipeline's clock) still meets the other end on it. */
GST_START_TEST (test_pipelines_on_other_clocks_meet)
{
  check_stream_across_clocks (TRUE);
  check_stream_across_clocks (FALSE);
}

GST_END_TEST;

/* Each side tells its application who came and went, and the publisher
 * learns the subscriber's queue settings, changes included. */
GST_START_TEST (test_peers_are_announced)
{
  gchar *channel = unique_channel ("announce");
  gchar *pub_description = g_strdup_printf ("videotestsrc is-live=true ! "
      VIDEO_CAPS " ! zerocpsink name=sink channel=%s", channel);
  gchar *sub_description = g_strdup_printf ("zerocpsrc name=src channel=%s "
      "max-buffers=3 leaky=upstream ! fakesink", channel);
  GstElement *publisher = gst_parse_launch (pub_description, NULL);
  GstElement *subscriber = gst_parse_launch (sub_description, NULL);
  GstBus *pub_bus = gst_element_get_bus (publisher);
  GstBus *sub_bus = gst_element_get_bus (subscriber);
  GstElement *src = gst_bin_get_by_name (GST_BIN (subscriber), "src");
  GstElement *sink = gst_bin_get_by_name (GST_BIN (publisher), "sink");
  GstStructure *message, *stats;
  const GValue *entries;
  const GstStructure *entry;
  guint slot, num_subscribers = 0;
  gint64 deadline;

  fail_unless (gst_element_set_state (publisher, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  fail_unless (gst_element_set_state (subscriber, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);

  message = expect_element_message (sub_bus, "zerocp-publisher-connected");
  fail_unless_equals_string (gst_structure_get_string (message, "channel"),
      channel);
  fail_unless_equals_int (structure_uint (message, "pid"), getpid ());
  slot = structure_uint (message, "slot");
  gst_structure_free (message);

  message = expect_element_message (pub_bus, "zerocp-subscriber-connected");
  fail_unless_equals_int (structure_uint (message, "slot"), slot);
  fail_unless_equals_int (structure_uint (message, "pid"), getpid ());
  fail_unless_equals_int (structure_uint (message, "max-buffers"), 3);
  fail_unless_equals_string (gst_structure_get_string (message, "leaky"),
      "upstream");
  gst_structure_free (message);
  g_object_get (sink, "num-subscribers", &num_subscribers, NULL);
  fail_unless_equals_int (num_subscribers, 1);

  /* Changed while playing, seen by the publisher at once. */
  g_object_set (src, "max-buffers", 7, NULL);
  gst_util_set_object_arg (G_OBJECT (src), "leaky", "no");
  g_object_get (sink, "stats", &stats, NULL);
  entries = gst_structure_get_value (stats, "subscriber-stats");
  fail_unless_equals_int (gst_value_array_get_size (entries), 1);
  entry = gst_value_get_structure (gst_value_array_get_value (entries, 0));
  fail_unless_equals_int (structure_uint (entry, "max-buffers"), 7);
  fail_unless_equals_string (gst_structure_get_string (entry, "leaky"), "no");
  gst_structure_free (stats);

  /* The subscriber leaves: the publisher says so, with its counters. */
  gst_element_set_state (subscriber, GST_STATE_NULL);
  message = expect_element_message (pub_bus, "zerocp-subscriber-left");
  fail_unless_equals_int (structure_uint (message, "slot"), slot);
  fail_unless (gst_structure_has_field (message, "delivered"));
  fail_unless (gst_structure_has_field (message, "dropped"));
  gst_structure_free (message);
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  do
    g_object_get (sink, "num-subscribers", &num_subscribers, NULL);
  while (num_subscribers != 0 && g_get_monotonic_time () < deadline);
  fail_unless_equals_int (num_subscribers, 0);

  gst_element_set_state (publisher, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (src);
  gst_object_unref (pub_bus);
  gst_object_unref (sub_bus);
  gst_object_unref (publisher);
  gst_object_unref (subscriber);
  g_free (sub_description);
  g_free (pub_description);
  g_free (channel);
}

GST_END_TEST;

static GstPadProbeReturn
record_flow (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  GString *flow = user_data;

  GST_OBJECT_LOCK (pad);
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    g_string_append (flow, GST_BUFFER_IS_DISCONT (GST_PAD_PROBE_INFO_BUFFER
            (info)) ? "discont-buffer " : "buffer ");
  else
    g_string_append_printf (flow, "%s ",
        GST_EVENT_TYPE_NAME (GST_PAD_PROBE_INFO_EVENT (info)));
  GST_OBJECT_UNLOCK (pad);
  return GST_PAD_PROBE_OK;
}

static gchar *
flow_since (GstPad * pad, GString * flow, gsize from)
{
  gchar *copy;

  GST_OBJECT_LOCK (pad);
  copy = g_strdup (flow->str + MIN (from, flow->len));
  GST_OBJECT_UNLOCK (pad);
  return copy;
}

/* What went through @pad since @from, once it says @what (10 s at most). */
static gchar *
wait_for_flow (GstPad * pad, GString * flow, gsize from, const gchar * what)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  gchar *seen = flow_since (pad, flow, from);

  while (!strstr (seen, what) && g_get_monotonic_time () < deadline) {
    g_free (seen);
    g_usleep (10000);
    seen = flow_since (pad, flow, from);
  }
  fail_unless (strstr (seen, what) != NULL, "no %s: %s", what, seen);
  return seen;
}

/* A publisher that stops without end-of-stream and one that takes over with
 * the same caps: downstream sees a new stream, caps included. */
GST_START_TEST (test_next_publisher_is_a_new_stream)
{
  gchar *channel = unique_channel ("next");
  gchar *pub_description = g_strdup_printf ("videotestsrc is-live=true ! "
      VIDEO_CAPS " ! zerocpsink channel=%s", channel);
  gchar *sub_description = g_strdup_printf ("zerocpsrc name=src channel=%s "
      "! fakesink name=sink", channel);
  GstElement *old_publisher = gst_parse_launch (pub_description, NULL);
  GstElement *subscriber = gst_parse_launch (sub_description, NULL);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (subscriber), "sink");
  GstPad *pad = gst_element_get_static_pad (sink, "sink");
  GstBus *bus = gst_element_get_bus (subscriber);
  GString *flow = g_string_new (NULL);
  GstElement *next;
  GstStructure *message;
  gchar *seen;
  gsize mark;

  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, record_flow, flow, NULL);
  fail_unless (gst_element_set_state (old_publisher, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  fail_unless (gst_element_set_state (subscriber, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  gst_structure_free (expect_element_message (bus,
          "zerocp-publisher-connected"));
  /* Caps set and a buffer through, so that the next stream's caps are
   * equal to the current ones. */
  g_free (wait_for_flow (pad, flow, 0, "buffer"));

  gst_element_set_state (old_publisher, GST_STATE_NULL);
  message = expect_element_message (bus, "zerocp-publisher-lost");
  fail_unless_equals_string (gst_structure_get_string (message, "action"),
      "wait");
  gst_structure_free (message);
  GST_OBJECT_LOCK (pad);
  mark = flow->len;
  GST_OBJECT_UNLOCK (pad);

  next = gst_parse_launch (pub_description, NULL);
  fail_unless (gst_element_set_state (next, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  gst_structure_free (expect_element_message (bus,
          "zerocp-publisher-connected"));
  seen = wait_for_flow (pad, flow, mark, "buffer");
  fail_unless (g_str_has_prefix (seen, "stream-start caps segment "
          "discont-buffer"), "after the publisher changed: %s", seen);
  g_free (seen);

  gst_element_set_state (subscriber, GST_STATE_NULL);
  gst_element_set_state (next, GST_STATE_NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);
  gst_object_unref (bus);
  gst_object_unref (next);
  gst_object_unref (old_publisher);
  gst_object_unref (subscriber);
  g_string_free (flow, TRUE);
  g_free (sub_description);
  g_free (pub_description);
  g_free (channel);
}

GST_END_TEST;

static const gchar *timestamp_modes[] = { "compensate", "passthrough",
  "restart"
};

/* A buffer at 11 s in a segment that starts at 10 s (running time 1 s), as
 * each timestamp-mode turns it. */
GST_START_TEST (test_timestamp_modes)
{
  const gchar *mode = timestamp_modes[__i__];
  gchar *channel = unique_channel ("tsmode");
  gchar *src_description = g_strdup_printf ("zerocpsrc timestamp-mode=%s",
      mode);
  GstHarness *pub = harness_for ("zerocpsink sync=false "
      "wait-for-connection=true", channel);
  GstHarness *sub = harness_for (src_description, channel);
  GstElement *sink = element_of (pub), *src = element_of (sub);
  GstClock *clock = gst_element_get_clock (src);
  GstClockTime sent_at, pulled_at;
  GstBuffer *buffer, *received;
  GstSegment segment;

  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  gst_segment_init (&segment, GST_FORMAT_TIME);
  segment.start = segment.time = segment.position = 10 * GST_SECOND;
  fail_unless (gst_harness_push_event (pub, gst_event_new_segment (&segment)));
  buffer = gst_harness_create_buffer (pub, VIDEO_SIZE);
  GST_BUFFER_PTS (buffer) = 11 * GST_SECOND;
  sent_at = gst_clock_get_time (clock) - gst_element_get_base_time (src);
  fail_unless_equals_int (gst_harness_push (pub, buffer), GST_FLOW_OK);
  received = gst_harness_pull (sub);
  pulled_at = gst_clock_get_time (clock) - gst_element_get_base_time (src);

  if (g_str_equal (mode, "compensate")) {
    fail_unless_equals_clocktime (GST_BUFFER_PTS (received), GST_SECOND +
        gst_element_get_base_time (sink) - gst_element_get_base_time (src));
  } else if (g_str_equal (mode, "passthrough")) {
    fail_unless_equals_clocktime (GST_BUFFER_PTS (received), 11 * GST_SECOND);
  } else {
    /* Our running time when it arrived. */
    fail_unless (GST_BUFFER_PTS (received) >= sent_at &&
        GST_BUFFER_PTS (received) <= pulled_at, "arrived at %"
        GST_TIME_FORMAT ", sent at %" GST_TIME_FORMAT ", pulled at %"
        GST_TIME_FORMAT, GST_TIME_ARGS (GST_BUFFER_PTS (received)),
        GST_TIME_ARGS (sent_at), GST_TIME_ARGS (pulled_at));
  }

  if (g_str_equal (mode, "passthrough")) {
    /* The publisher's segment, once: its copy in the subscriber's pad. */
    GstEvent *event = gst_pad_get_sticky_event (sub->sinkpad,
        GST_EVENT_SEGMENT, 0);
    const GstSegment *forwarded;

    fail_unless (event != NULL);
    gst_event_parse_segment (event, &forwarded);
    fail_unless_equals_uint64 (forwarded->start, 10 * GST_SECOND);
    gst_event_unref (event);
  }

  gst_object_unref (clock);
  gst_buffer_unref (received);
  gst_object_unref (sink);
  gst_object_unref (src);
  gst_harness_teardown (sub);
  gst_harness_teardown (pub);
  g_free (src_description);
  g_free (channel);
}

GST_END_TEST;

static gint do_timestamp_warnings;

static void
count_do_timestamp_warning (GstDebugCategory * category, GstDebugLevel level,
    const gchar * file, const gchar * function, gint line, GObject * object,
    GstDebugMessage * message, gpointer user_data)
{
  if (level == GST_LEVEL_WARNING &&
      g_str_equal (gst_debug_category_get_name (category), "zerocpsrc") &&
      strstr (gst_debug_message_get (message), "do-timestamp"))
    g_atomic_int_inc (&do_timestamp_warnings);
}

/* do-timestamp=true throws the carried timestamps away: it says so. */
GST_START_TEST (test_do_timestamp_warns)
{
  GstElement *src = gst_element_factory_make ("zerocpsrc", NULL);
  GstDebugLevel level = gst_debug_get_default_threshold ();
  gboolean value;

  gst_debug_set_threshold_for_name ("zerocpsrc", GST_LEVEL_WARNING);
  /* Left in place: removing a log function leaks the list it replaces. */
  gst_debug_add_log_function (count_do_timestamp_warning, NULL, NULL);
  g_object_set (src, "do-timestamp", TRUE, NULL);
  gst_debug_set_default_threshold (level);

  fail_unless_equals_int (g_atomic_int_get (&do_timestamp_warnings), 1);
  g_object_get (src, "do-timestamp", &value, NULL);
  fail_unless (value);
  fail_unless (gst_base_src_get_do_timestamp (GST_BASE_SRC (src)));
  gst_object_unref (src);
}

GST_END_TEST;

/* The latency the source reports for @harness's pipeline. */
static void
query_latency (GstHarness * harness, GstClockTime * min, GstClockTime * max)
{
  GstQuery *query = gst_query_new_latency ();
  gboolean live;

  fail_unless (gst_pad_peer_query (harness->sinkpad, query));
  gst_query_parse_latency (query, &live, min, max);
  fail_unless (live);
  gst_query_unref (query);
}

/* The subscriber's latency includes the publisher's. */
GST_START_TEST (test_latency_includes_publisher)
{
  GstHarness *pub, *sub;
  gchar *channel = open_pair ("latency", "zerocpsrc", &pub, &sub);
  GstElement *sink = element_of (pub);
  GstClockTime min, max;
  GstMessage *message;
  GstBus *bus;

  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  fail_unless (gst_element_send_event (sink,
          gst_event_new_latency (40 * GST_MSECOND)));
  fail_unless_equals_int (gst_harness_push (pub,
          gst_harness_create_buffer (pub, VIDEO_SIZE)), GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (sub));

  query_latency (sub, &min, &max);
  fail_unless_equals_clocktime (min, 40 * GST_MSECOND);

  /* A change on the publisher's side reaches us with its next frame, and
   * our pipeline is told to query again. */
  bus = gst_bus_new ();
  gst_element_set_bus (sub->element, bus);
  fail_unless (gst_element_send_event (sink,
          gst_event_new_latency (80 * GST_MSECOND)));
  fail_unless_equals_int (gst_harness_push (pub,
          gst_harness_create_buffer (pub, VIDEO_SIZE)), GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (sub));
  message = gst_bus_timed_pop_filtered (bus, 5 * GST_SECOND,
      GST_MESSAGE_LATENCY);
  fail_unless (message != NULL, "no latency message for the change");
  gst_message_unref (message);
  query_latency (sub, &min, &max);
  fail_unless_equals_clocktime (min, 80 * GST_MSECOND);
  gst_element_set_bus (sub->element, NULL);
  gst_object_unref (bus);

  gst_object_unref (sink);
  close_pair (channel, pub, sub);
}

GST_END_TEST;

/* Our queue in the channel is buffering: a live source that reports none
 * makes every sink with a processing deadline (fakesink, video sinks) warn
 * "Pipeline construction is invalid, please add queues". */
static gboolean
pop_latency_message (GstBus * bus)
{
  GstMessage *message = gst_bus_pop_filtered (bus, GST_MESSAGE_LATENCY);

  if (!message)
    return FALSE;
  while (message) {
    gst_message_unref (message);
    message = gst_bus_pop_filtered (bus, GST_MESSAGE_LATENCY);
  }
  return TRUE;
}

GST_START_TEST (test_latency_leaves_room_for_sinks)
{
  gchar *channel = unique_channel ("maxlatency");
  gchar *description = g_strdup_printf ("zerocpsrc name=src channel=%s ! "
      "fakesink sync=true", channel);
  GstHarness *pub = harness_for ("zerocpsink sync=false "
      "wait-for-connection=true", channel);
  GstHarness *sub = harness_for ("zerocpsrc", channel);
  GstElement *sink = element_of (pub), *src = element_of (sub);
  GstClockTime frame = gst_util_uint64_scale_int (GST_SECOND, 1, 30);
  GstClockTime min, max;
  GstElement *pipeline, *pipeline_src;
  GstMessage *message;
  GstBus *bus;

  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  fail_unless (gst_element_send_event (sink,
          gst_event_new_latency (40 * GST_MSECOND)));
  fail_unless_equals_int (gst_harness_push (pub,
          gst_harness_create_buffer (pub, VIDEO_SIZE)), GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (sub));

  /* Live, leaky: max-buffers frames of 1/30 s each; a change that moves it
   * tells the pipeline, and only such a change. */
  bus = gst_bus_new ();
  gst_element_set_bus (sub->element, bus);
  query_latency (sub, &min, &max);
  fail_unless_equals_clocktime (min, 40 * GST_MSECOND);
  fail_unless_equals_clocktime (max, min + 4 * frame);
  g_object_set (src, "max-buffers", 2, NULL);
  fail_unless (pop_latency_message (bus), "max-buffers changed in silence");
  query_latency (sub, &min, &max);
  fail_unless_equals_clocktime (max, min + 2 * frame);
  g_object_set (src, "max-buffers", 2, "leaky", 2, NULL);
  fail_if (pop_latency_message (bus), "nothing changed, yet a message");
  /* Lossless: the publisher waits for us, whatever it takes. */
  g_object_set (src, "leaky", 0, NULL);
  fail_unless (pop_latency_message (bus), "leaky changed in silence");
  query_latency (sub, &min, &max);
  fail_unless_equals_clocktime (max, GST_CLOCK_TIME_NONE);
  gst_element_set_bus (sub->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (sub);

  /* What a user sees: the pipeline computes its latency again once the
   * publisher's frames come, and fakesink has no warning to give. */
  pipeline = gst_parse_launch (description, NULL);
  pipeline_src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  bus = gst_element_get_bus (pipeline);
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  for (gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
      element_stat (pipeline_src, "delivered") == 0 &&
      g_get_monotonic_time () < deadline;) {
    fail_unless_equals_int (gst_harness_push (pub,
            gst_harness_create_buffer (pub, VIDEO_SIZE)), GST_FLOW_OK);
    g_usleep (10 * 1000);
  }
  fail_unless (element_stat (pipeline_src, "delivered") > 0, "no frame");
  fail_unless (gst_bin_recalculate_latency (GST_BIN (pipeline)));
  message = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  if (message) {
    GError *warning = NULL;

    gst_message_parse_warning (message, &warning, NULL);
    fail ("warning: %s", warning->message);
  }

  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (bus);
  gst_object_unref (pipeline_src);
  gst_object_unref (pipeline);
  gst_object_unref (src);
  gst_object_unref (sink);
  gst_harness_teardown (pub);
  g_free (description);
  g_free (channel);
}

GST_END_TEST;

static GstBuffer *
push_and_pull_at (GstHarness * pub, GstHarness * sub, GstClockTime pts)
{
  GstBuffer *buffer = gst_harness_create_buffer (pub, VIDEO_SIZE);

  GST_BUFFER_PTS (buffer) = pts;
  fail_unless_equals_int (gst_harness_push (pub, buffer), GST_FLOW_OK);
  buffer = gst_harness_pull (sub);
  fail_unless (buffer != NULL);
  return buffer;
}

/* In compensate mode our timeline never goes back: a frame stamped before
 * our pipeline started, or before the last one, goes 1 ms after the last
 * one (the first at 0), PTS and DTS together, flagged as a jump; frames
 * stamped in our time keep their timestamps.  Clamping every early frame to
 * 0 gave repeated timestamps, which encoders and muxers refuse. */
GST_START_TEST (test_frames_before_our_start_keep_order)
{
  GstHarness *pub, *sub;
  gchar *channel =
      open_pair ("clamp", "zerocpsrc timestamp-mode=compensate", &pub, &sub);
  GstElement *sink = element_of (pub), *src = element_of (sub);
  GstBuffer *buffer, *received;

  /* Our pipeline started 5 s after the publisher's. */
  gst_element_set_base_time (src, gst_element_get_base_time (sink) +
      5 * GST_SECOND);
  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);

  received = push_and_pull_at (pub, sub, 1 * GST_SECOND);
  fail_unless_equals_clocktime (GST_BUFFER_PTS (received), 0);
  fail_unless (GST_BUFFER_FLAG_IS_SET (received, GST_BUFFER_FLAG_DISCONT));
  gst_buffer_unref (received);

  /* Decoding order leads: the DTS goes 1 ms after the last, the PTS keeps
   * its 100 ms after the DTS. */
  buffer = gst_harness_create_buffer (pub, VIDEO_SIZE);
  GST_BUFFER_DTS (buffer) = 2 * GST_SECOND;
  GST_BUFFER_PTS (buffer) = 2 * GST_SECOND + 100 * GST_MSECOND;
  fail_unless_equals_int (gst_harness_push (pub, buffer), GST_FLOW_OK);
  received = gst_harness_pull (sub);
  fail_unless_equals_clocktime (GST_BUFFER_DTS (received), GST_MSECOND);
  fail_unless_equals_clocktime (GST_BUFFER_PTS (received), 101 * GST_MSECOND);
  fail_unless (GST_BUFFER_FLAG_IS_SET (received, GST_BUFFER_FLAG_DISCONT));
  gst_buffer_unref (received);

  received = push_and_pull_at (pub, sub, 6 * GST_SECOND);
  fail_unless_equals_clocktime (GST_BUFFER_PTS (received), 1 * GST_SECOND);
  fail_if (GST_BUFFER_FLAG_IS_SET (received, GST_BUFFER_FLAG_DISCONT));
  gst_buffer_unref (received);

  received = push_and_pull_at (pub, sub, 7 * GST_SECOND);
  fail_unless_equals_clocktime (GST_BUFFER_PTS (received), 2 * GST_SECOND);
  fail_if (GST_BUFFER_FLAG_IS_SET (received, GST_BUFFER_FLAG_DISCONT));
  gst_buffer_unref (received);

  /* A publisher whose time went back. */
  received = push_and_pull_at (pub, sub, 1 * GST_SECOND);
  fail_unless_equals_clocktime (GST_BUFFER_PTS (received),
      2 * GST_SECOND + GST_MSECOND);
  fail_unless (GST_BUFFER_FLAG_IS_SET (received, GST_BUFFER_FLAG_DISCONT));
  gst_buffer_unref (received);

  received = push_and_pull_at (pub, sub, 8 * GST_SECOND);
  fail_unless_equals_clocktime (GST_BUFFER_PTS (received), 3 * GST_SECOND);
  fail_if (GST_BUFFER_FLAG_IS_SET (received, GST_BUFFER_FLAG_DISCONT));
  gst_buffer_unref (received);

  /* A PTS alone after a DTS may be earlier and right: a reordered frame. */
  buffer = gst_harness_create_buffer (pub, VIDEO_SIZE);
  GST_BUFFER_DTS (buffer) = 9 * GST_SECOND;
  GST_BUFFER_PTS (buffer) = 9 * GST_SECOND + 100 * GST_MSECOND;
  fail_unless_equals_int (gst_harness_push (pub, buffer), GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (sub));
  received = push_and_pull_at (pub, sub, 8 * GST_SECOND + 500 * GST_MSECOND);
  fail_unless_equals_clocktime (GST_BUFFER_PTS (received),
      3 * GST_SECOND + 500 * GST_MSECOND);
  fail_if (GST_BUFFER_FLAG_IS_SET (received, GST_BUFFER_FLAG_DISCONT));
  gst_buffer_unref (received);

  gst_object_unref (sink);
  gst_object_unref (src);
  close_pair (channel, pub, sub);
}

GST_END_TEST;

static guint
count_segments_starting_at (GstHarness * h, GstClockTime start)
{
  guint count = 0;
  GstEvent *event;

  while ((event = gst_harness_try_pull_event (h))) {
    if (GST_EVENT_TYPE (event) == GST_EVENT_SEGMENT) {
      const GstSegment *segment;

      gst_event_parse_segment (event, &segment);
      count += segment->start == start;
    }
    gst_event_unref (event);
  }
  return count;
}

/* In passthrough, the publisher's segments go downstream, but the same one
 * again does not: it would reset every element's stream after us. */
GST_START_TEST (test_repeated_segment_not_forwarded)
{
  GstHarness *pub, *sub;
  gchar *channel =
      open_pair ("resegment", "zerocpsrc timestamp-mode=passthrough", &pub,
      &sub);
  GstSegment earlier, later;

  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  gst_segment_init (&earlier, GST_FORMAT_TIME);
  earlier.start = earlier.time = earlier.position = 10 * GST_SECOND;
  gst_segment_init (&later, GST_FORMAT_TIME);
  later.start = later.time = later.position = 20 * GST_SECOND;

  fail_unless (gst_harness_push_event (pub, gst_event_new_segment (&earlier)));
  gst_buffer_unref (push_and_pull_at (pub, sub, 10 * GST_SECOND));
  fail_unless (gst_harness_push_event (pub, gst_event_new_segment (&earlier)));
  gst_buffer_unref (push_and_pull_at (pub, sub, 11 * GST_SECOND));
  fail_unless_equals_int (count_segments_starting_at (sub, 10 * GST_SECOND), 1);

  fail_unless (gst_harness_push_event (pub, gst_event_new_segment (&later)));
  gst_buffer_unref (push_and_pull_at (pub, sub, 20 * GST_SECOND));
  fail_unless_equals_int (count_segments_starting_at (sub, 20 * GST_SECOND), 1);

  close_pair (channel, pub, sub);
}

GST_END_TEST;

#define PADDED_STRIDE 384
#define PADDED_UV_OFFSET (PADDED_STRIDE * 240 + 512)

static GstPadProbeReturn
keep_video_meta (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  GstVideoMeta *meta = gst_buffer_get_video_meta (GST_PAD_PROBE_INFO_BUFFER
      (info));

  if (meta)
    *(GstVideoMeta *) user_data = *meta;
  return GST_PAD_PROBE_OK;
}

/* Publishes a frame whose rows are padded and whose chroma plane starts
 * after a gap: luma y * 3 + x, chroma 100 and 200, padding 0xee. */
static void
push_padded_frame (GstHarness * pub)
{
  gsize offsets[GST_VIDEO_MAX_PLANES] = { 0, PADDED_UV_OFFSET };
  gint strides[GST_VIDEO_MAX_PLANES] = { PADDED_STRIDE, PADDED_STRIDE };
  GstBuffer *buffer = gst_buffer_new_allocate (NULL, PADDED_UV_OFFSET +
      PADDED_STRIDE * 120, NULL);
  GstMapInfo map;

  gst_buffer_map (buffer, &map, GST_MAP_WRITE);
  memset (map.data, 0xee, map.size);
  for (gsize y = 0; y < 240; y++)
    for (gsize x = 0; x < 320; x++)
      map.data[y * PADDED_STRIDE + x] = (guint8) (y * 3 + x);
  for (gsize y = 0; y < 120; y++)
    for (gsize x = 0; x < 320; x += 2) {
      map.data[PADDED_UV_OFFSET + y * PADDED_STRIDE + x] = 100;
      map.data[PADDED_UV_OFFSET + y * PADDED_STRIDE + x + 1] = 200;
    }
  gst_buffer_unmap (buffer, &map);
  gst_buffer_add_video_meta_full (buffer, GST_VIDEO_FRAME_FLAG_NONE,
      GST_VIDEO_FORMAT_NV12, 320, 240, 2, offsets, strides);
  GST_BUFFER_PTS (buffer) = 0;
  fail_unless_equals_int (gst_harness_push (pub, buffer), GST_FLOW_OK);
}

/* Checks that @frame, of the format @info says, holds push_padded_frame()'s
 * picture; its planes may be NV12's or I420's. */
static void
check_padded_frame_picture (const GstVideoInfo * info, GstBuffer * buffer)
{
  GstVideoFrame frame;
  gboolean planar = GST_VIDEO_INFO_N_PLANES (info) == 3;

  fail_unless (gst_video_frame_map (&frame, info, buffer, GST_MAP_READ));
  for (gint y = 0; y < 240; y++) {
    const guint8 *row = (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame,
        0) + y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0);
    for (gint x = 0; x < 320; x++)
      if (row[x] != (guint8) (y * 3 + x))
        fail ("luma at %d,%d is %u", x, y, row[x]);
  }
  for (gint y = 0; y < 120; y++) {
    const guint8 *u = (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame,
        1) + y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 1);
    const guint8 *v = planar ? (const guint8 *)
        GST_VIDEO_FRAME_PLANE_DATA (&frame, 2) +
        y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 2) : u + 1;
    for (gint x = 0; x < 160; x++)
      if (u[planar ? x : 2 * x] != 100 || v[planar ? x : 2 * x] != 200)
        fail ("chroma at %d,%d is %u,%u", x, y, u[planar ? x : 2 * x],
            v[planar ? x : 2 * x]);
  }
  gst_video_frame_unmap (&frame);
}

/* A padded frame crosses with its layout, and a converter after us reads it
 * by that layout. */
GST_START_TEST (test_padded_layout_crosses)
{
  gchar *channel = unique_channel ("padded");
  gchar *description = g_strdup_printf ("zerocpsrc channel=%s name=element "
      "! videoconvert ! capsfilter caps=video/x-raw,format=I420", channel);
  GstHarness *pub = harness_for ("zerocpsink sync=false "
      "wait-for-connection=true", channel);
  GstHarness *sub = gst_harness_new_parse (description);
  GstVideoMeta seen = { 0 };
  GstElement *src;
  GstPad *src_pad;
  GstBuffer *converted;
  GstVideoInfo info;

  src = element_of (sub);
  src_pad = gst_element_get_static_pad (src, "src");
  gst_pad_add_probe (src_pad, GST_PAD_PROBE_TYPE_BUFFER, keep_video_meta,
      &seen, NULL);
  gst_harness_play (sub);
  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  push_padded_frame (pub);

  converted = gst_harness_pull (sub);
  fail_unless (converted != NULL);
  fail_unless_equals_int (seen.n_planes, 2);
  fail_unless_equals_int (seen.stride[0], PADDED_STRIDE);
  fail_unless_equals_int (seen.stride[1], PADDED_STRIDE);
  fail_unless_equals_uint64 (seen.offset[0], 0);
  fail_unless_equals_uint64 (seen.offset[1], PADDED_UV_OFFSET);

  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_I420, 320, 240);
  check_padded_frame_picture (&info, converted);

  gst_buffer_unref (converted);
  gst_object_unref (src_pad);
  gst_object_unref (src);
  gst_harness_teardown (sub);
  gst_harness_teardown (pub);
  g_free (description);
  g_free (channel);
}

GST_END_TEST;

/* Downstream that does not read GstVideoMeta (appsink, a program's own
 * sink) reads planes where the caps put them: a padded frame reaches it as
 * a copy in that layout, as a decoder's would; downstream that reads the
 * meta gets the chunk itself. */
GST_START_TEST (test_padded_layout_for_downstream_without_video_meta)
{
  for (guint reads_meta = 0; reads_meta < 2; reads_meta++) {
    gchar *channel = unique_channel ("padded-nometa");
    GstHarness *pub = harness_for ("zerocpsink sync=false "
        "wait-for-connection=true", channel);
    GstHarness *sub = harness_for ("zerocpsrc", channel);
    GstElement *src = element_of (sub);
    GstVideoInfo info;
    GstVideoMeta *meta;
    GstBuffer *buffer;

    /* Downstream is asked once the caps are known, with the first frame. */
    if (reads_meta)
      gst_harness_add_propose_allocation_meta (sub, GST_VIDEO_META_API_TYPE,
          NULL);
    gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
    push_padded_frame (pub);

    buffer = gst_harness_pull (sub);
    fail_unless (buffer != NULL);
    meta = gst_buffer_get_video_meta (buffer);
    gst_video_info_set_format (&info, GST_VIDEO_FORMAT_NV12, 320, 240);
    if (reads_meta) {
      fail_unless (is_zero_cp_memory (gst_buffer_peek_memory (buffer, 0)));
      fail_unless (meta != NULL && meta->offset[1] == PADDED_UV_OFFSET);
      fail_unless_equals_uint64 (element_stat (src, "frames-copied"), 0);
    } else {
      fail_if (is_zero_cp_memory (gst_buffer_peek_memory (buffer, 0)));
      fail_unless (meta == NULL, "a copy in the caps' layout needs no meta");
      fail_unless_equals_uint64 (gst_buffer_get_size (buffer),
          GST_VIDEO_INFO_SIZE (&info));
      fail_unless (GST_BUFFER_PTS_IS_VALID (buffer), "the copy keeps its "
          "timestamp");
      fail_unless_equals_uint64 (element_stat (src, "frames-copied"), 1);
    }
    check_padded_frame_picture (&info, buffer);

    gst_buffer_unref (buffer);
    gst_object_unref (src);
    gst_harness_teardown (sub);
    gst_harness_teardown (pub);
    g_free (channel);
  }
}

GST_END_TEST;

/* A GAP crosses with its timestamp on our timeline, after a buffer. */
GST_START_TEST (test_gap_crosses)
{
  GstHarness *pub, *sub;
  gchar *channel = open_pair ("gap", "zerocpsrc", &pub, &sub);
  GstElement *sink = element_of (pub), *src = element_of (sub);
  GstClockTime timestamp, duration;
  GstBuffer *buffer;
  GstEvent *gap;

  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  buffer = gst_harness_create_buffer (pub, VIDEO_SIZE);
  GST_BUFFER_PTS (buffer) = 0;
  fail_unless_equals_int (gst_harness_push (pub, buffer), GST_FLOW_OK);
  fail_unless (gst_harness_push_event (pub, gst_event_new_gap (GST_SECOND,
              GST_SECOND / 2)));
  fail_unless_equals_int (gst_harness_push (pub,
          gst_harness_create_buffer (pub, VIDEO_SIZE)), GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (sub));
  gst_buffer_unref (gst_harness_pull (sub));

  gap = pull_event_of_type (sub, GST_EVENT_GAP);
  fail_unless (gap != NULL, "no gap reached the subscriber");
  gst_event_parse_gap (gap, &timestamp, &duration);
  fail_unless_equals_clocktime (timestamp, GST_SECOND +
      gst_element_get_base_time (sink) - gst_element_get_base_time (src));
  fail_unless_equals_clocktime (duration, GST_SECOND / 2);
  gst_event_unref (gap);

  gst_object_unref (sink);
  gst_object_unref (src);
  close_pair (channel, pub, sub);
}

GST_END_TEST;

typedef struct
{
  GstHarness *publisher;
  GstEvent *event;
  gint returned;
} HeldEvent;

static gpointer
push_held_event (gpointer data)
{
  HeldEvent *held = data;
  gboolean pushed = gst_harness_push_event (held->publisher, held->event);

  g_atomic_int_set (&held->returned, TRUE);
  return GINT_TO_POINTER (pushed);
}

/* wait-for-connection holds events as it holds frames: a custom event sent
 * before anyone subscribed went to nobody (the sticky ones are replayed to
 * a subscriber that joins, no others). */
GST_START_TEST (test_wait_for_connection_holds_events)
{
  gchar *channel = unique_channel ("held");
  GstHarness *pub = harness_for ("zerocpsink sync=false "
      "wait-for-connection=true", channel);
  HeldEvent held = { pub, gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
        gst_structure_new_empty ("held")), FALSE
  };
  GstHarness *sub;
  GThread *thread;
  GstEvent *event;

  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  thread = g_thread_new ("held-event", push_held_event, &held);
  g_usleep (G_USEC_PER_SEC / 10);
  fail_if (g_atomic_int_get (&held.returned), "the event went to nobody");

  sub = harness_for ("zerocpsrc", channel);
  fail_unless (GPOINTER_TO_INT (g_thread_join (thread)));
  fail_unless_equals_int (gst_harness_push (pub,
          gst_harness_create_buffer (pub, VIDEO_SIZE)), GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (sub));
  event = pull_event_of_type (sub, GST_EVENT_CUSTOM_DOWNSTREAM);
  fail_unless (event != NULL, "the held event did not reach the subscriber");
  fail_unless (gst_structure_has_name (gst_event_get_structure (event),
          "held"));

  gst_event_unref (event);
  gst_harness_teardown (sub);
  gst_harness_teardown (pub);
  g_free (channel);
}

GST_END_TEST;

/* A film's TOC: an edition of 40 chapters with titles (more than one
 * record holds, so that a subscriber that joins gets it only whole), the
 * second with two sub-chapters, then a second edition, empty. */
#define TOC_CHAPTERS 40

static GstTocEntry *
new_chapter (const gchar * uid, guint64 start, guint64 stop)
{
  GstTocEntry *chapter = gst_toc_entry_new (GST_TOC_ENTRY_TYPE_CHAPTER, uid);
  gchar *title = g_strdup_printf ("The chapter called %s", uid);

  gst_toc_entry_set_start_stop_times (chapter, start, stop);
  gst_toc_entry_set_tags (chapter, gst_tag_list_new (GST_TAG_TITLE, title,
          NULL));
  g_free (title);
  return chapter;
}

static GstToc *
new_chapters_toc (void)
{
  GstToc *toc = gst_toc_new (GST_TOC_SCOPE_GLOBAL);
  GstTocEntry *edition = gst_toc_entry_new (GST_TOC_ENTRY_TYPE_EDITION,
      "edition");

  gst_toc_set_tags (toc, gst_tag_list_new (GST_TAG_TITLE, "zerocp", NULL));
  for (guint i = 0; i < TOC_CHAPTERS; i++) {
    gchar *uid = g_strdup_printf ("chapter-%u", i);
    GstTocEntry *chapter = new_chapter (uid, i * GST_SECOND,
        (i + 1) * GST_SECOND);

    if (i == 1) {
      gst_toc_entry_append_sub_entry (chapter, new_chapter ("chapter-1.0",
              GST_SECOND, GST_SECOND * 3 / 2));
      gst_toc_entry_append_sub_entry (chapter, new_chapter ("chapter-1.1",
              GST_SECOND * 3 / 2, 2 * GST_SECOND));
    }
    gst_toc_entry_append_sub_entry (edition, chapter);
    g_free (uid);
  }
  gst_toc_append_entry (toc, edition);
  gst_toc_append_entry (toc, gst_toc_entry_new (GST_TOC_ENTRY_TYPE_EDITION,
          "edition-2"));
  return toc;
}

static void
check_chapter (GstTocEntry * chapter, const gchar * uid, guint64 start,
    guint64 stop, guint sub_entries)
{
  gchar *title, *expected = g_strdup_printf ("The chapter called %s", uid);
  gint64 entry_start, entry_stop;

  fail_unless_equals_string (gst_toc_entry_get_uid (chapter), uid);
  fail_unless_equals_int (gst_toc_entry_get_entry_type (chapter),
      GST_TOC_ENTRY_TYPE_CHAPTER);
  fail_unless (gst_toc_entry_get_start_stop_times (chapter, &entry_start,
          &entry_stop));
  fail_unless_equals_int64 (entry_start, start);
  fail_unless_equals_int64 (entry_stop, stop);
  fail_unless (gst_tag_list_get_string (gst_toc_entry_get_tags (chapter),
          GST_TAG_TITLE, &title));
  fail_unless_equals_string (title, expected);
  fail_unless_equals_int (g_list_length (gst_toc_entry_get_sub_entries
          (chapter)), sub_entries);
  g_free (title);
  g_free (expected);
}

static void
check_chapters_toc (GstEvent * event)
{
  GstTocEntry *edition;
  GList *entries, *sub_entries = NULL;
  gchar *title;
  GstToc *toc;

  fail_unless (event != NULL, "no TOC crossed");
  gst_event_parse_toc (event, &toc, NULL);
  fail_unless_equals_int (gst_toc_get_scope (toc), GST_TOC_SCOPE_GLOBAL);
  fail_unless (gst_tag_list_get_string (gst_toc_get_tags (toc),
          GST_TAG_TITLE, &title));
  fail_unless_equals_string (title, "zerocp");
  g_free (title);
  entries = gst_toc_get_entries (toc);
  fail_unless_equals_int (g_list_length (entries), 2);
  edition = entries->data;
  fail_unless_equals_string (gst_toc_entry_get_uid (edition), "edition");
  fail_unless_equals_int (gst_toc_entry_get_entry_type (edition),
      GST_TOC_ENTRY_TYPE_EDITION);
  edition = entries->next->data;
  fail_unless_equals_string (gst_toc_entry_get_uid (edition), "edition-2");
  fail_if (gst_toc_entry_get_sub_entries (edition));

  entries = gst_toc_entry_get_sub_entries (entries->data);
  fail_unless_equals_int (g_list_length (entries), TOC_CHAPTERS);
  for (guint i = 0; i < TOC_CHAPTERS; i++, entries = entries->next) {
    gchar *uid = g_strdup_printf ("chapter-%u", i);

    check_chapter (entries->data, uid, i * GST_SECOND, (i + 1) * GST_SECOND,
        i == 1 ? 2 : 0);
    if (i == 1)
      sub_entries = gst_toc_entry_get_sub_entries (entries->data);
    g_free (uid);
  }
  check_chapter (sub_entries->data, "chapter-1.0", GST_SECOND,
      GST_SECOND * 3 / 2, 0);
  check_chapter (sub_entries->next->data, "chapter-1.1", GST_SECOND * 3 / 2,
      2 * GST_SECOND, 0);
  gst_toc_unref (toc);
  gst_event_unref (event);
}

#define PSSH_SYSTEM_ID "69f908af-4816-46ea-910c-cd5dcccb0a3a"

static GstEvent *
new_protection_event (void)
{
  GstBuffer *pssh = gst_buffer_new_memdup ("pssh", 4);
  GstEvent *event = gst_event_new_protection (PSSH_SYSTEM_ID, pssh,
      "dash/mpd");

  gst_buffer_unref (pssh);
  return event;
}

static void
check_protection_event (GstEvent * event)
{
  const gchar *system_id, *origin;
  GstBuffer *pssh;

  fail_unless (event != NULL, "no protection event crossed");
  gst_event_parse_protection (event, &system_id, &pssh, &origin);
  fail_unless_equals_string (system_id, PSSH_SYSTEM_ID);
  fail_unless_equals_string (origin, "dash/mpd");
  fail_unless (gst_buffer_memcmp (pssh, 0, "pssh", 4) == 0);
  gst_event_unref (event);
}

/* A file's chapters, its TOC, cross with their times and tags (a GstToc
 * has no text form of its own), and a subscriber that joins later gets
 * them as it gets the other sticky events; so with a protection event,
 * which a pad keeps one of each origin and system of, as it does TOCs. */
GST_START_TEST (test_toc_and_protection_cross)
{
  GstHarness *pub, *sub, *late;
  gchar *channel = open_pair ("toc", "zerocpsrc", &pub, &sub);
  GstToc *toc = new_chapters_toc ();

  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  fail_unless (gst_harness_push_event (pub, gst_event_new_toc (toc, FALSE)));
  fail_unless (gst_harness_push_event (pub, new_protection_event ()));
  fail_unless_equals_int (gst_harness_push (pub,
          gst_harness_create_buffer (pub, VIDEO_SIZE)), GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (sub));
  check_chapters_toc (pull_event_of_type (sub, GST_EVENT_TOC));
  check_protection_event (pull_event_of_type (sub, GST_EVENT_PROTECTION));

  late = join_and_take_a_frame (pub, sub, channel);
  check_chapters_toc (pull_event_of_type (late, GST_EVENT_TOC));
  check_protection_event (pull_event_of_type (late, GST_EVENT_PROTECTION));

  gst_toc_unref (toc);
  gst_harness_teardown (late);
  close_pair (channel, pub, sub);
}

GST_END_TEST;

/* "<TOC> GstEventTocGlobal, zerocp-toc-scope=@scope, zerocp-toc-tags=@tags,
 * zerocp-toc-entries=<...>", as a publisher would send a TOC with @tags, if
 * any, and the entries that follow, up to NULL (each taken); no TOC fields
 * at all for a @scope of -1. */
static gchar *
toc_event_string (gint scope, GstTagList * tags, GstStructure * entry, ...)
{
  GstStructure *event = gst_structure_new ("GstEventTocGlobal", "updated",
      G_TYPE_BOOLEAN, FALSE, NULL);
  GValue entries = G_VALUE_INIT;
  gchar *fields, *string;
  va_list args;

  g_value_init (&entries, GST_TYPE_ARRAY);
  va_start (args, entry);
  for (; entry; entry = va_arg (args, GstStructure *)) {
    GValue value = G_VALUE_INIT;

    g_value_init (&value, GST_TYPE_STRUCTURE);
    g_value_take_boxed (&value, entry);
    gst_value_array_append_and_take_value (&entries, &value);
  }
  va_end (args);
  if (scope != -1) {
    gst_structure_set (event, "zerocp-toc-scope", G_TYPE_INT, scope, NULL);
    if (tags)
      gst_structure_set (event, "zerocp-toc-tags", GST_TYPE_TAG_LIST, tags,
          NULL);
    gst_structure_take_value (event, "zerocp-toc-entries", &entries);
  } else {
    g_value_unset (&entries);
  }
  fields = gst_structure_to_string (event);
  string = g_strdup_printf ("%u %s", (guint) GST_EVENT_TOC, fields);
  g_free (fields);
  gst_structure_free (event);
  return string;
}

/* A TOC entry's structure at @depth, of @type. */
static GstStructure *
toc_entry (guint depth, gint type)
{
  return gst_structure_new ("entry", "depth", G_TYPE_UINT, depth,
      "type", G_TYPE_INT, type, "uid", G_TYPE_STRING, "x",
      "start", G_TYPE_INT64, (gint64) 0, "stop", G_TYPE_INT64, (gint64) 0,
      "loop-type", G_TYPE_INT, 0, "repeat-count", G_TYPE_INT, 0, NULL);
}

/* A publisher of the library's own, for frames and events that no
 * zerocpsink would send, with @caps, once a subscriber is there. */
static struct zcp_publisher *
open_raw_publisher (const gchar * channel, const gchar * caps)
{
  struct zcp_publisher *publisher;

  fail_unless_equals_int (zcp_publisher_open (channel, 0600, &publisher), 0);
  fail_unless_equals_int (zcp_publisher_configure_pool (publisher, 4096, 2), 0);
  fail_unless_equals_int (zcp_publisher_set_caps (publisher, caps), 0);
  fail_unless_equals_int (zcp_publisher_wait_subscriber (publisher,
          10 * GST_SECOND, NULL), 0);
  return publisher;
}

/* Publishes a frame of @size bytes, untimed, with @metas or none. */
static void
publish_raw_frame (struct zcp_publisher *publisher, guint64 size,
    const gchar * metas)
{
  struct zcp_frame frame = {.size = size,.pts = ZCP_TIME_NONE,
    .dts = ZCP_TIME_NONE,.duration = ZCP_TIME_NONE,.event = (char *) metas
  };
  struct zcp_chunk chunk;

  fail_unless_equals_int (zcp_publisher_claim (publisher, &chunk,
          GST_SECOND, NULL), 0);
  fail_unless_equals_int (zcp_publisher_publish (publisher, &chunk, &frame,
          NULL), 0);
  zcp_chunk_release (&chunk);
}

/* Events a broken or hostile publisher may send: each is dropped with a
 * warning in the debug log, and the frame after them still comes. */
GST_START_TEST (test_unreadable_events_are_dropped)
{
  gchar *channel = unique_channel ("badevents");
  GstHarness *sub = harness_for ("zerocpsrc", channel);
  struct zcp_publisher *publisher;
  gchar *events[9];
  GstEvent *event;

  events[0] = g_strdup ("hello");
  events[1] = g_strdup_printf ("%u video/x-raw", (guint) GST_EVENT_CAPS);
  events[2] = toc_event_string (-1, NULL, NULL);
  events[3] = toc_event_string (42, NULL, NULL);
  events[4] = toc_event_string (GST_TOC_SCOPE_GLOBAL, NULL, toc_entry (0, 42),
      NULL);
  events[5] = toc_event_string (GST_TOC_SCOPE_GLOBAL, NULL,
      gst_structure_new ("entry", "depth", G_TYPE_UINT, 0, "uid",
          G_TYPE_STRING, "no-type", NULL), NULL);
  /* A sub-entry with no entry one level up. */
  events[6] = toc_event_string (GST_TOC_SCOPE_GLOBAL, NULL,
      toc_entry (0, GST_TOC_ENTRY_TYPE_EDITION),
      toc_entry (2, GST_TOC_ENTRY_TYPE_CHAPTER), NULL);
  /* Deeper than any TOC. */
  events[7] = toc_event_string (GST_TOC_SCOPE_GLOBAL, NULL,
      toc_entry (0, GST_TOC_ENTRY_TYPE_EDITION),
      toc_entry (1, GST_TOC_ENTRY_TYPE_CHAPTER),
      toc_entry (2, GST_TOC_ENTRY_TYPE_CHAPTER),
      toc_entry (3, GST_TOC_ENTRY_TYPE_CHAPTER),
      toc_entry (4, GST_TOC_ENTRY_TYPE_CHAPTER),
      toc_entry (5, GST_TOC_ENTRY_TYPE_CHAPTER),
      toc_entry (6, GST_TOC_ENTRY_TYPE_CHAPTER),
      toc_entry (7, GST_TOC_ENTRY_TYPE_CHAPTER),
      toc_entry (8, GST_TOC_ENTRY_TYPE_CHAPTER), NULL);
  /* GStreamer's parser would warn of what follows the structure. */
  events[8] = g_strdup_printf ("%u zerocp-test; and then more",
      (guint) GST_EVENT_CUSTOM_DOWNSTREAM);

  publisher = open_raw_publisher (channel, "application/x-test");
  for (guint i = 0; i < G_N_ELEMENTS (events); i++)
    fail_unless_equals_int (zcp_publisher_send_event (publisher, events[i],
            ZCP_STICKY_NONE, NULL), 0);
  publish_raw_frame (publisher, 16, NULL);

  gst_buffer_unref (gst_harness_pull (sub));
  while ((event = gst_harness_try_pull_event (sub))) {
    fail_if (GST_EVENT_TYPE (event) == GST_EVENT_TOC);
    fail_if (GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_DOWNSTREAM);
    gst_event_unref (event);
  }

  gst_harness_teardown (sub);
  zcp_publisher_close (publisher);
  for (guint i = 0; i < G_N_ELEMENTS (events); i++)
    g_free (events[i]);
  g_free (channel);
}

GST_END_TEST;

/* @count opening angle brackets, each written "\\074". */
static gchar *
octal_brackets (guint count)
{
  GString *text = g_string_sized_new (count * 4);

  for (guint i = 0; i < count; i++)
    g_string_append (text, "\\074");
  return g_string_free (text, FALSE);
}

/* A picture's sample (GstSample) as GStreamer writes one
 * (hex:caps:segment:info, the last three in base64), but for its buffer's
 * text, if @buffer_text, and its info's, if @info_text. */
static gchar *
sample_text (const gchar * buffer_text, const gchar * info_text)
{
  GstBuffer *picture = gst_buffer_new_allocate (NULL, 16, NULL);
  GstCaps *jpeg = gst_caps_new_empty_simple ("image/jpeg");
  GValue value = G_VALUE_INIT;
  gchar **parts, *joined;

  gst_buffer_memset (picture, 0, 0xd8, 16);
  g_value_init (&value, GST_TYPE_SAMPLE);
  g_value_take_boxed (&value, gst_sample_new (picture, jpeg, NULL,
          gst_structure_new_empty ("info")));
  joined = gst_value_serialize (&value);
  parts = g_strsplit (joined, ":", -1);
  fail_unless_equals_int (g_strv_length (parts), 4);
  if (buffer_text) {
    g_free (parts[0]);
    parts[0] = g_strdup (buffer_text);
  }
  if (info_text) {
    g_free (parts[3]);
    /* With its NUL, in GStreamer's base64, '_' for '='. */
    parts[3] = g_base64_encode ((const guchar *) info_text,
        strlen (info_text) + 1);
    g_strdelimit (parts[3], "=", '_');
  }
  g_free (joined);
  joined = g_strjoinv (":", parts);
  g_strfreev (parts);
  g_value_unset (&value);
  gst_caps_unref (jpeg);
  gst_buffer_unref (picture);
  return joined;
}

/* A custom event's text with @sample as a field, and if @quoted in a
 * structure in a string, where the source reads it once unescaped. */
static gchar *
sample_event_string (gchar * sample, gboolean quoted)
{
  gchar *string = quoted ?
      g_strdup_printf ("%u zerocp-test, inner=(structure)\"x\\,\\ "
      "picture\\=\\(GstSample\\)%s\\;\"", (guint) GST_EVENT_CUSTOM_DOWNSTREAM,
      sample) : g_strdup_printf ("%u zerocp-test, picture=(GstSample)%s",
      (guint) GST_EVENT_CUSTOM_DOWNSTREAM, sample);

  g_free (sample);
  return string;
}

/* Text GStreamer 1.22's parser cannot be given without harm: a buffer whose
 * text is not hex, at the top of an event, nested in one, in metas and in
 * caps (the parser reads the freed buffer then, and says so with a
 * critical), and arrays nested 60,000 deep, in metas and in a structure in
 * an event (its recursion overflows the stack); both again in a structure
 * in an event, written with octal escapes, and in a sample's base64.  The
 * source refuses such
 * text before it is parsed: the events are dropped, the frames come without
 * those metas, the caps are an error. */
GST_START_TEST (test_text_unsafe_to_parse_is_refused)
{
  gchar *channel = unique_channel ("unsafe");
  GstHarness *sub = harness_for ("zerocpsrc", channel);
  gchar *deep = g_strnfill (60000, '<');
  gchar *deep_octal = octal_brackets (32000);
  gchar *deep_info = g_strdup_printf ("info, a=(int)%.32000s1", deep);
  gchar *deep_metas = g_strdup_printf ("crop, x=(uint)1, y=(uint)2, "
      "width=(uint)3, height=(uint)4;\nregion-of-interest, x=(uint)%s1;",
      deep);
  gchar *events[] = {
    g_strdup_printf ("%u protection, system_id=(string)x, "
        "data=(buffer)nc9420", (guint) GST_EVENT_PROTECTION),
    g_strdup_printf ("%u zerocp-test, inner=(structure)\"x\\,\\ "
        "b\\=\\(buffer\\)0g\\;\"", (guint) GST_EVENT_CUSTOM_DOWNSTREAM),
    g_strdup_printf ("%u zerocp-test, list=(GstBuffer)< 00, 0 >",
        (guint) GST_EVENT_CUSTOM_DOWNSTREAM),
    g_strdup_printf ("%u zerocp-test, inner=(structure)\"x\\,\\ "
        "a\\=\\(int\\)%s\"", (guint) GST_EVENT_CUSTOM_DOWNSTREAM, deep),
    /* The same two written with octal escapes, which the parser decodes
     * in a quoted string: "\\050" is '(', "\\074" '<'. */
    g_strdup_printf ("%u zerocp-test, inner=(structure)\"x\\,\\ "
        "b\\=\\050buffer\\0510g\\;\"", (guint) GST_EVENT_CUSTOM_DOWNSTREAM),
    g_strdup_printf ("%u zerocp-test, inner=(structure)\"x\\,\\ "
        "a\\=\\(int\\)%s\"", (guint) GST_EVENT_CUSTOM_DOWNSTREAM,
        deep_octal),
    /* And in a sample, whose caps, segment and info are base64: a buffer
     * that is not hex, as its own ("None" included, which GStreamer 1.22
     * reads as hex) or in its info, and arrays nested 32,000 deep in its
     * info; the last also in a structure in a string. */
    sample_event_string (sample_text ("0g", NULL), FALSE),
    sample_event_string (sample_text ("None", NULL), FALSE),
    sample_event_string (sample_text (NULL, "info, b=(buffer)0g;"), FALSE),
    sample_event_string (sample_text (NULL, deep_info), FALSE),
    sample_event_string (sample_text (NULL, deep_info), TRUE),
  };
  struct zcp_publisher *publisher;
  GstElement *pipeline;
  gchar *description;
  GstBuffer *received;
  GstEvent *event;

  publisher = open_raw_publisher (channel, "application/x-test");
  for (guint i = 0; i < G_N_ELEMENTS (events); i++)
    fail_unless_equals_int (zcp_publisher_send_event (publisher, events[i],
            ZCP_STICKY_NONE, NULL), 0);
  publish_raw_frame (publisher, 16, "crop, x=(uint)1, y=(uint)2, "
      "width=(uint)3, height=(uint)4;\ncaption, type=(int)2, "
      "data=(buffer)nc9420;");
  publish_raw_frame (publisher, 16, deep_metas);
  for (guint i = 0; i < 2; i++) {
    received = gst_harness_pull (sub);
    fail_unless (received != NULL);
    fail_if (gst_buffer_get_video_crop_meta (received));
    gst_buffer_unref (received);
  }
  while ((event = gst_harness_try_pull_event (sub))) {
    fail_if (GST_EVENT_TYPE (event) == GST_EVENT_PROTECTION);
    fail_if (GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_DOWNSTREAM);
    gst_event_unref (event);
  }
  gst_harness_teardown (sub);
  zcp_publisher_close (publisher);

  fail_unless_equals_int (zcp_publisher_open (channel, 0600, &publisher), 0);
  fail_unless_equals_int (zcp_publisher_configure_pool (publisher, 4096, 2), 0);
  fail_unless_equals_int (zcp_publisher_set_caps (publisher, "video/x-h264, "
          "stream-format=(string)avc, codec_data=(buffer)0142zz"), 0);
  description = g_strdup_printf ("zerocpsrc channel=%s ! fakesink", channel);
  pipeline = gst_parse_launch (description, NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  fail_unless_equals_int (zcp_publisher_wait_subscriber (publisher,
          10 * GST_SECOND, NULL), 0);
  publish_raw_frame (publisher, 16, NULL);
  expect_pipeline_error (pipeline, "caps with a bad buffer",
      GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT, "invalid caps", "0142zz");
  zcp_publisher_close (publisher);

  for (guint i = 0; i < G_N_ELEMENTS (events); i++)
    g_free (events[i]);
  g_free (deep_metas);
  g_free (deep_octal);
  g_free (deep_info);
  g_free (deep);
  g_free (description);
  g_free (channel);
}

GST_END_TEST;

/* "TYPE structure" of an event of @type named @name with @field. */
static gchar *
event_string_with (GstEventType type, const gchar * name,
    const gchar * field, GType field_type, gconstpointer value)
{
  GstStructure *structure = gst_structure_new (name, field, field_type,
      value, NULL);
  gchar *fields = gst_structure_to_string (structure);
  gchar *string = g_strdup_printf ("%u %s", (guint) type, fields);

  g_free (fields);
  gst_structure_free (structure);
  return string;
}

/* What a downstream element reads of @event, for GStreamer's assertions to
 * look at; and whether its tags are only the artist and a MusicBrainz id
 * (a tag of GStreamer's tag library, which the source registers). */
static void
read_event_as_downstream_does (GstEvent * event)
{
  const GstSegment *segment;
  const gchar *text, *origin;
  GstTagList *tags;
  GstToc *toc;
  GstBuffer *data;
  GstClockTime timestamp, duration;
  GstFormat format;
  gint64 position;
  gchar *artist = NULL;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_STREAM_START:
      gst_event_parse_stream_start (event, &text);
      fail_unless (text != NULL);
      break;
    case GST_EVENT_SEGMENT:
      gst_event_parse_segment (event, &segment);
      fail_unless (segment->rate != 0.0);
      break;
    case GST_EVENT_TAG:
      gst_event_parse_tag (event, &tags);
      fail_unless_equals_int (gst_tag_list_n_tags (tags), 2);
      fail_unless (gst_tag_list_get_string (tags, "musicbrainz-trackid",
              &artist));
      fail_unless_equals_string (artist, "a1");
      g_free (artist);
      fail_unless (gst_tag_list_get_string (tags, GST_TAG_ARTIST, &artist));
      fail_unless_equals_string (artist, "someone");
      g_free (artist);
      break;
    case GST_EVENT_TOC:
      gst_event_parse_toc (event, &toc, NULL);
      fail_unless_equals_int (gst_tag_list_n_tags (gst_toc_get_tags (toc)), 2);
      gst_toc_unref (toc);
      break;
    case GST_EVENT_GAP:
      gst_event_parse_gap (event, &timestamp, &duration);
      break;
    case GST_EVENT_SEGMENT_DONE:
      gst_event_parse_segment_done (event, &format, &position);
      break;
    case GST_EVENT_PROTECTION:
      gst_event_parse_protection (event, &text, &data, &origin);
      fail_unless (text != NULL && data != NULL);
      break;
    default:
      break;
  }
}

/* Events a broken or hostile publisher may send without what GStreamer's
 * parse functions take for granted (a missing field, a rate of 0, a tag of
 * the wrong type or unknown here) are dropped, or lose the tags this
 * process cannot read, so that nothing downstream fails on them; the
 * frames still come. */
GST_START_TEST (test_unsound_events_are_dropped)
{
  gchar *channel = unique_channel ("unsound");
  GstHarness *sub = harness_for ("zerocpsrc timestamp-mode=passthrough",
      channel);
  GstTagList *tags = gst_tag_list_new_from_string ("taglist, "
      "title=(int)5, artist=(string)someone, datetime=(string)today, "
      "zerocp-never-registered=(string)x, musicbrainz-trackid=(string)a1");
  GstSegment segment;
  struct zcp_publisher *publisher;
  gchar *before[8], *between[2];
  guint tag_events = 0, toc_events = 0;
  GstEvent *event;

  fail_unless (tags != NULL);
  gst_segment_init (&segment, GST_FORMAT_TIME);
  segment.rate = 0.0;
  before[0] = g_strdup_printf ("%u stream-start, flags=(GstStreamFlags)0",
      (guint) GST_EVENT_STREAM_START);
  before[1] = g_strdup_printf ("%u segment, x=(int)1", GST_EVENT_SEGMENT);
  before[2] = event_string_with (GST_EVENT_SEGMENT, "segment", "segment",
      GST_TYPE_SEGMENT, &segment);
  before[3] = event_string_with (GST_EVENT_TAG, "GstTagList-stream",
      "taglist", GST_TYPE_TAG_LIST, tags);
  before[4] = toc_event_string (GST_TOC_SCOPE_GLOBAL, tags, NULL);
  before[5] = g_strdup_printf ("%u segment-done, format=(GstFormat)time",
      (guint) GST_EVENT_SEGMENT_DONE);
  before[6] = g_strdup_printf ("%u protection, system_id=(string)x",
      (guint) GST_EVENT_PROTECTION);
  before[7] = g_strdup_printf ("%u GstTagList-stream, taglist=(int)1",
      (guint) GST_EVENT_TAG);
  /* Gaps go out only after a buffer. */
  between[0] = g_strdup_printf ("%u gap, timestamp=(guint64)0",
      (guint) GST_EVENT_GAP);
  between[1] = g_strdup_printf ("%u gap, timestamp=(guint64)%" G_GUINT64_FORMAT
      ", duration=(guint64)0", (guint) GST_EVENT_GAP, GST_CLOCK_TIME_NONE);

  publisher = open_raw_publisher (channel, "application/x-test");
  for (guint i = 0; i < G_N_ELEMENTS (before); i++)
    fail_unless_equals_int (zcp_publisher_send_event (publisher, before[i],
            ZCP_STICKY_NONE, NULL), 0);
  publish_raw_frame (publisher, 16, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (between); i++)
    fail_unless_equals_int (zcp_publisher_send_event (publisher, between[i],
            ZCP_STICKY_NONE, NULL), 0);
  publish_raw_frame (publisher, 16, NULL);

  gst_buffer_unref (gst_harness_pull (sub));
  gst_buffer_unref (gst_harness_pull (sub));
  while ((event = gst_harness_try_pull_event (sub))) {
    read_event_as_downstream_does (event);
    tag_events += GST_EVENT_TYPE (event) == GST_EVENT_TAG;
    toc_events += GST_EVENT_TYPE (event) == GST_EVENT_TOC;
    fail_if (GST_EVENT_TYPE (event) == GST_EVENT_GAP);
    fail_if (GST_EVENT_TYPE (event) == GST_EVENT_SEGMENT_DONE);
    fail_if (GST_EVENT_TYPE (event) == GST_EVENT_PROTECTION);
    gst_event_unref (event);
  }
  fail_unless_equals_int (tag_events, 1);
  fail_unless_equals_int (toc_events, 1);

  gst_harness_teardown (sub);
  zcp_publisher_close (publisher);
  for (guint i = 0; i < G_N_ELEMENTS (before); i++)
    g_free (before[i]);
  for (guint i = 0; i < G_N_ELEMENTS (between); i++)
    g_free (between[i]);
  gst_tag_list_unref (tags);
  g_free (channel);
}

GST_END_TEST;

/* The metas a camera, a decoder or an analytics step puts on a frame. */
static void
add_frame_metas (GstBuffer * buffer)
{
  static const gchar *tags[] = { NULL };
  GstCaps *ntp = gst_caps_new_empty_simple ("timestamp/x-ntp");
  GstVideoRegionOfInterestMeta *roi;
  GstVideoCropMeta *crop;
  GstDateTime *jam = gst_date_time_new (1, 2026, 12, 2, 4, 5, 6.25);
  GDateTime *g_jam = gst_date_time_to_g_date_time (jam);
  GstBuffer *kid = gst_buffer_new_memdup ("0123456789abcdef", 16);
  GstCustomMeta *custom;
  GstObject *object = g_object_new (GST_TYPE_BIN, NULL);

  gst_buffer_add_reference_timestamp_meta (buffer, ntp,
      3913000000 * GST_SECOND, GST_MSECOND);
  roi = gst_buffer_add_video_region_of_interest_meta (buffer, "person",
      10, 20, 30, 40);
  roi->id = 7;
  roi->parent_id = 2;
  /* An object in a param does not cross; the rest of it does. */
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("detection", "label", G_TYPE_STRING, "person",
          "confidence", G_TYPE_DOUBLE, 0.93, "tracker", GST_TYPE_OBJECT,
          object, NULL));
  gst_buffer_add_video_region_of_interest_meta (buffer, "car", 1, 2, 3, 4);
  crop = gst_buffer_add_video_crop_meta (buffer);
  crop->x = 2;
  crop->y = 4;
  crop->width = 316;
  crop->height = 232;
  gst_buffer_add_video_time_code_meta_full (buffer, 30000, 1001, g_jam,
      GST_VIDEO_TIME_CODE_FLAGS_DROP_FRAME, 1, 2, 3, 4, 0);
  gst_buffer_add_video_caption_meta (buffer,
      GST_VIDEO_CAPTION_TYPE_CEA708_RAW, (const guint8 *) "\xfc\x94\x20", 3);
  gst_buffer_add_video_afd_meta (buffer, 0, GST_VIDEO_AFD_SPEC_ATSC_A53,
      GST_VIDEO_AFD_16_9_LETTER_14_9_CENTER);
  gst_buffer_add_video_bar_meta (buffer, 0, TRUE, 59, 1020);
  gst_buffer_add_video_sei_user_data_unregistered_meta (buffer,
      (guint8 *) H264_MISP_MICROSECTIME, (guint8 *) "\x1f\x00\x01\xff", 4);
  /* Without bytes, left out: GStreamer 1.22 cannot copy such a meta. */
  gst_buffer_add_video_sei_user_data_unregistered_meta (buffer,
      (guint8 *) H265_MISP_NANOSECONDS, (guint8 *) "", 0);
  gst_buffer_add_protection_meta (buffer, gst_structure_new ("application/"
          "x-cenc", "kid", GST_TYPE_BUFFER, kid, "iv_size", G_TYPE_UINT, 8,
          NULL));
  if (!gst_meta_get_info ("zerocp-test-meta"))
    gst_meta_register_custom ("zerocp-test-meta", tags, NULL, NULL, NULL);
  custom = gst_buffer_add_custom_meta (buffer, "zerocp-test-meta");
  gst_structure_set (gst_custom_meta_get_structure (custom), "frame-id",
      G_TYPE_UINT64, G_GUINT64_CONSTANT (1234), "camera", G_TYPE_STRING,
      "north gate", NULL);

  gst_object_unref (object);
  gst_buffer_unref (kid);
  g_date_time_unref (g_jam);
  gst_date_time_unref (jam);
  gst_caps_unref (ntp);
}

static void
check_frame_metas (GstBuffer * buffer)
{
  GstReferenceTimestampMeta *reference =
      gst_buffer_get_reference_timestamp_meta (buffer, NULL);
  GstVideoRegionOfInterestMeta *roi;
  GstVideoCropMeta *crop = gst_buffer_get_video_crop_meta (buffer);
  GstVideoTimeCodeMeta *tc = gst_buffer_get_video_time_code_meta (buffer);
  GstVideoCaptionMeta *caption = (GstVideoCaptionMeta *)
      gst_buffer_get_meta (buffer, GST_VIDEO_CAPTION_META_API_TYPE);
  GstVideoAFDMeta *afd = gst_buffer_get_video_afd_meta (buffer);
  GstVideoBarMeta *bar = gst_buffer_get_video_bar_meta (buffer);
  GstProtectionMeta *protection = (GstProtectionMeta *)
      gst_buffer_get_meta (buffer, GST_PROTECTION_META_API_TYPE);
  GstCustomMeta *custom = gst_buffer_get_custom_meta (buffer,
      "zerocp-test-meta");
  const GstStructure *param;
  const GValue *kid;
  gchar *jam;
  guint64 frame_id;
  gdouble confidence;

  fail_unless (reference != NULL);
  fail_unless (gst_structure_has_name (gst_caps_get_structure
          (reference->reference, 0), "timestamp/x-ntp"));
  fail_unless_equals_uint64 (reference->timestamp, 3913000000 * GST_SECOND);
  fail_unless_equals_uint64 (reference->duration, GST_MSECOND);

  /* Both regions, in the order they were added. */
  roi = gst_buffer_get_video_region_of_interest_meta_id (buffer, 7);
  fail_unless (roi != NULL);
  fail_unless_equals_string (g_quark_to_string (roi->roi_type), "person");
  fail_unless_equals_int (roi->parent_id, 2);
  fail_unless (roi->x == 10 && roi->y == 20 && roi->w == 30 && roi->h == 40);
  param = gst_video_region_of_interest_meta_get_param (roi, "detection");
  fail_unless (param != NULL);
  fail_unless_equals_string (gst_structure_get_string (param, "label"),
      "person");
  fail_unless (gst_structure_get_double (param, "confidence", &confidence));
  fail_unless (confidence == 0.93);
  fail_if (gst_structure_has_field (param, "tracker"));
  {
    gpointer state = NULL;
    GstMeta *meta;
    const gchar *order[2] = { NULL, NULL };
    guint n = 0;

    while ((meta = gst_buffer_iterate_meta_filtered (buffer, &state,
                GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) && n < 2)
      order[n++] = g_quark_to_string (((GstVideoRegionOfInterestMeta *)
              meta)->roi_type);
    fail_unless_equals_int (n, 2);
    /* Iteration goes from the latest added, as on the publisher's buffer. */
    fail_unless_equals_string (order[0], "car");
    fail_unless_equals_string (order[1], "person");
  }

  fail_unless (crop != NULL);
  fail_unless (crop->x == 2 && crop->y == 4 && crop->width == 316 &&
      crop->height == 232);

  fail_unless (tc != NULL);
  fail_unless (tc->tc.config.fps_n == 30000 && tc->tc.config.fps_d == 1001);
  fail_unless (tc->tc.config.flags == GST_VIDEO_TIME_CODE_FLAGS_DROP_FRAME);
  fail_unless (tc->tc.hours == 1 && tc->tc.minutes == 2 &&
      tc->tc.seconds == 3 && tc->tc.frames == 4);
  fail_unless (tc->tc.config.latest_daily_jam != NULL);
  jam = g_date_time_format_iso8601 (tc->tc.config.latest_daily_jam);
  fail_unless_equals_string (jam, "2026-12-02T04:05:06.250000+01");
  g_free (jam);

  fail_unless (caption != NULL);
  fail_unless_equals_int (caption->caption_type,
      GST_VIDEO_CAPTION_TYPE_CEA708_RAW);
  fail_unless_equals_int (caption->size, 3);
  fail_unless (memcmp (caption->data, "\xfc\x94\x20", 3) == 0);

  fail_unless (afd != NULL);
  fail_unless (afd->field == 0 && afd->spec == GST_VIDEO_AFD_SPEC_ATSC_A53 &&
      afd->afd == GST_VIDEO_AFD_16_9_LETTER_14_9_CENTER);
  fail_unless (bar != NULL);
  fail_unless (bar->field == 0 && bar->is_letterbox &&
      bar->bar_data1 == 59 && bar->bar_data2 == 1020);
  {
    gpointer state = NULL;
    GstVideoSEIUserDataUnregisteredMeta *sei[3] = { NULL, NULL, NULL };
    guint n = 0;

    while (n < 3 && (sei[n] = (GstVideoSEIUserDataUnregisteredMeta *)
            gst_buffer_iterate_meta_filtered (buffer, &state,
                GST_VIDEO_SEI_USER_DATA_UNREGISTERED_META_API_TYPE)))
      n++;
    fail_unless_equals_int (n, 1);
    fail_unless (memcmp (sei[0]->uuid, H264_MISP_MICROSECTIME, 16) == 0);
    fail_unless_equals_int (sei[0]->size, 4);
    fail_unless (memcmp (sei[0]->data, "\x1f\x00\x01\xff", 4) == 0);
  }

  fail_unless (protection != NULL);
  fail_unless (gst_structure_has_name (protection->info, "application/x-cenc"));
  kid = gst_structure_get_value (protection->info, "kid");
  fail_unless (kid != NULL && GST_VALUE_HOLDS_BUFFER (kid));
  fail_unless (gst_buffer_memcmp (gst_value_get_buffer (kid), 0,
          "0123456789abcdef", 16) == 0);

  fail_unless (custom != NULL);
  fail_unless (gst_structure_get_uint64 (gst_custom_meta_get_structure
          (custom), "frame-id", &frame_id));
  fail_unless_equals_uint64 (frame_id, 1234);
  fail_unless_equals_string (gst_structure_get_string
      (gst_custom_meta_get_structure (custom), "camera"), "north gate");
}

/* Reference timestamps, regions of interest with their params, crop, time
 * code, captions, AFD, bar data, SEI user data, protection and custom metas
 * come with their frame; the next frame, without them, has none (the buffer
 * came back to its pool). */
GST_START_TEST (test_buffer_metas_cross)
{
  GstHarness *pub, *sub;
  gchar *channel = open_pair ("metas", "zerocpsrc", &pub, &sub);
  GstBuffer *buffer, *received;

  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  buffer = gst_harness_create_buffer (pub, VIDEO_SIZE);
  add_frame_metas (buffer);
  fail_unless_equals_int (gst_harness_push (pub, buffer), GST_FLOW_OK);
  received = gst_harness_pull (sub);
  fail_unless (received != NULL);
  check_frame_metas (received);
  gst_buffer_unref (received);

  received = push_and_pull_at (pub, sub, GST_SECOND);
  fail_unless (gst_buffer_get_video_meta (received) != NULL);
  fail_if (gst_buffer_get_reference_timestamp_meta (received, NULL));
  fail_if (gst_buffer_get_video_region_of_interest_meta_id (received, 7));
  fail_if (gst_buffer_get_custom_meta (received, "zerocp-test-meta"));
  fail_if (gst_buffer_get_video_sei_user_data_unregistered_meta (received));
  gst_buffer_unref (received);

  close_pair (channel, pub, sub);
}

GST_END_TEST;

/* An event or a frame's metas longer than a channel carries (130,304
 * bytes) are left out with a warning that says so, and the stream goes on:
 * the event after it crosses, the frame comes without its metas, and the
 * next frame with its own. */
GST_START_TEST (test_too_long_events_and_metas_are_left_out)
{
  static const gchar *no_tags[] = { NULL };
  GstHarness *pub, *sub;
  gchar *channel = open_pair ("toolong", "zerocpsrc", &pub, &sub);
  gchar *text = g_strnfill (200 * 1000, 'x');
  GstBus *bus = gst_bus_new ();
  GstBuffer *buffer, *received;
  GstEvent *event;

  if (!gst_meta_get_info ("zerocp-long-meta"))
    gst_meta_register_custom ("zerocp-long-meta", no_tags, NULL, NULL, NULL);
  gst_element_set_bus (pub->element, bus);
  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);

  fail_unless (gst_harness_push_event (pub,
          new_event_with_text (GST_EVENT_CUSTOM_DOWNSTREAM, "too-long",
              200 * 1000)));
  check_error_message (gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING),
      "an event too long", GST_STREAM_ERROR, GST_STREAM_ERROR_ENCODE,
      "An event too large", NULL);
  fail_unless (gst_harness_push_event (pub,
          new_event_with_text (GST_EVENT_CUSTOM_DOWNSTREAM, "after", 10)));

  buffer = gst_harness_create_buffer (pub, VIDEO_SIZE);
  gst_structure_set (gst_custom_meta_get_structure (gst_buffer_add_custom_meta
          (buffer, "zerocp-long-meta")), "text", G_TYPE_STRING, text, NULL);
  fail_unless_equals_int (gst_harness_push (pub, buffer), GST_FLOW_OK);
  check_error_message (gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING),
      "metas too long", GST_STREAM_ERROR, GST_STREAM_ERROR_ENCODE,
      "Buffer metas too long", NULL);
  received = gst_harness_pull (sub);
  fail_unless (received != NULL);
  fail_if (gst_buffer_get_custom_meta (received, "zerocp-long-meta"));
  gst_buffer_unref (received);

  event = pull_event_of_type (sub, GST_EVENT_CUSTOM_DOWNSTREAM);
  fail_unless (event != NULL, "the event after the one left out is lost");
  fail_unless (gst_structure_has_name (gst_event_get_structure (event),
          "after"));
  check_event_text (event, 10);
  gst_event_unref (event);

  buffer = gst_harness_create_buffer (pub, VIDEO_SIZE);
  gst_structure_set (gst_custom_meta_get_structure (gst_buffer_add_custom_meta
          (buffer, "zerocp-long-meta")), "text", G_TYPE_STRING, "short", NULL);
  fail_unless_equals_int (gst_harness_push (pub, buffer), GST_FLOW_OK);
  received = gst_harness_pull (sub);
  fail_unless (received != NULL);
  fail_unless (gst_buffer_get_custom_meta (received, "zerocp-long-meta"),
      "the next frame's metas are lost");
  gst_buffer_unref (received);

  gst_element_set_bus (pub->element, NULL);
  gst_object_unref (bus);
  g_free (text);
  close_pair (channel, pub, sub);
}

GST_END_TEST;

/* Metas a broken or hostile publisher may send: each is left out with a
 * warning in the debug log (no assertion of GStreamer's fails), the frame
 * still comes, with the readable ones. */
GST_START_TEST (test_unreadable_metas_are_left_out)
{
  gchar *channel = unique_channel ("badmetas");
  GstHarness *sub = harness_for ("zerocpsrc", channel);
  const gchar *metas =
      "crop, x=(uint)1, y=(uint)2, width=(uint)3, height=(uint)4;\n"
      "frobnicate, a=(int)1;\n"
      "region-of-interest, x=(string)left;\n"
      "region-of-interest, id=(int)1, parent-id=(int)-1, x=(uint)0, "
      "y=(uint)0, w=(uint)1, h=(uint)1, params=(int)3;\n"
      "reference-timestamp, timestamp=(guint64)1, duration=(guint64)1;\n"
      "time-code, fps-n=(uint)0, fps-d=(uint)0, flags=(uint)0, "
      "hours=(uint)99, minutes=(uint)99, seconds=(uint)99, frames=(uint)99, "
      "field-count=(uint)0;\n"
      "time-code, fps-n=(uint)30, fps-d=(uint)1, flags=(uint)0, "
      "hours=(uint)1, minutes=(uint)1, seconds=(uint)1, frames=(uint)1, "
      "field-count=(uint)0, daily-jam=(string)yesterday;\n"
      "caption, type=(int)99, data=(buffer)00;\n"
      "caption, type=(int)1;\n"
      "afd, field=(uint)2, spec=(int)0, afd=(int)8;\n"
      "afd, field=(uint)0, spec=(int)3, afd=(int)8;\n"
      "afd, field=(uint)0, spec=(int)0, afd=(int)16;\n"
      "afd, field=(uint)0, spec=(int)1, afd=(int)6;\n"
      "afd, field=(uint)0, spec=(int)0, afd=(int)0;\n"
      "bar, field=(uint)0, is-letterbox=(boolean)true, bar-data1=(uint)1;\n"
      "bar, field=(uint)2, is-letterbox=(boolean)true, bar-data1=(uint)1, "
      "bar-data2=(uint)2;\n"
      "sei-user-data-unregistered, uuid=(buffer)00, data=(buffer)00;\n"
      "sei-user-data-unregistered, uuid=(int)0, data=(buffer)00;\n"
      "sei-user-data-unregistered, "
      "uuid=(buffer)000102030405060708090a0b0c0d0e0f;\n"
      "protection, info=(int)1;\n"
      "custom, name=(string)GstVideoMeta, fields=(structure)\"x;\";\n"
      "custom, name=(string)never-registered, fields=(structure)\"x;\";\n"
      "this is no structure at all";
  struct zcp_publisher *publisher;
  GstVideoCropMeta *crop;
  GstBuffer *received;
  gpointer state = NULL;
  guint n_metas = 0;

  publisher = open_raw_publisher (channel, "application/x-test");
  publish_raw_frame (publisher, 16, metas);

  received = gst_harness_pull (sub);
  fail_unless (received != NULL);
  crop = gst_buffer_get_video_crop_meta (received);
  fail_unless (crop != NULL && crop->x == 1 && crop->height == 4);
  while (gst_buffer_iterate_meta (received, &state))
    n_metas++;
  fail_unless_equals_int (n_metas, 1);
  gst_buffer_unref (received);

  gst_harness_teardown (sub);
  zcp_publisher_close (publisher);
  g_free (channel);
}

GST_END_TEST;

#define PLANAR_CAPS "audio/x-raw,format=F32LE,layout=non-interleaved," \
    "channels=2,rate=48000"

/* Non-interleaved audio cannot be mapped without its GstAudioMeta (what
 * avdec_aac gives for stereo, say): it comes with the frame, planes where
 * the publisher put them, and audioconvert can read it. */
GST_START_TEST (test_planar_audio_crosses)
{
  GstHarness *pub, *sub;
  gchar *channel = open_pair ("planar", "zerocpsrc", &pub, &sub);
  gsize offsets[2] = { 0, 4096 };
  GstAudioBuffer audio;
  GstAudioInfo info;
  GstAudioMeta *meta;
  GstBuffer *buffer, *received;
  GstCaps *caps = gst_caps_from_string (PLANAR_CAPS);

  fail_unless (gst_audio_info_from_caps (&info, caps));
  gst_harness_set_src_caps (pub, caps);
  buffer = gst_harness_create_buffer (pub, 8192);
  gst_buffer_memset (buffer, 0, 0, 4096);
  gst_buffer_memset (buffer, 4096, 0x3f, 4096);
  /* 800 samples a plane, the second plane 4096 bytes in: not where the
   * default offsets would put it. */
  gst_buffer_add_audio_meta (buffer, &info, 800, offsets);
  fail_unless_equals_int (gst_harness_push (pub, buffer), GST_FLOW_OK);
  received = gst_harness_pull (sub);
  fail_unless (received != NULL);

  meta = gst_buffer_get_audio_meta (received);
  fail_unless (meta != NULL);
  fail_unless_equals_int (meta->samples, 800);
  fail_unless_equals_int (meta->offsets[1], 4096);
  fail_unless (gst_audio_buffer_map (&audio, &info, received, GST_MAP_READ));
  fail_unless_equals_int (audio.n_samples, 800);
  fail_unless (((guint8 *) audio.planes[1])[0] == 0x3f);
  fail_unless (((guint8 *) audio.planes[0])[0] == 0);
  gst_audio_buffer_unmap (&audio);
  gst_buffer_unref (received);

  close_pair (channel, pub, sub);
}

GST_END_TEST;

/* Audio metas a broken or hostile publisher may send, each of which would
 * fail an assertion of gst_buffer_add_audio_meta: left out, the frame
 * comes, its planes taken as packed so that downstream can map it, as when
 * a frame's metas are lost. */
GST_START_TEST (test_unreadable_audio_metas_are_left_out)
{
  gchar *channel = unique_channel ("badaudio");
  GstHarness *sub = harness_for ("zerocpsrc", channel);
  const gchar *metas[] = {
    "audio, channels=(int)2, samples=(guint64)100, "
        "offsets=<(guint64)0, (guint64)200>;",
    "audio, channels=(int)2, samples=(guint64)100, "
        "offsets=<(guint64)0, (guint64)4000>;",
    "audio, channels=(int)3, samples=(guint64)10, "
        "offsets=<(guint64)0, (guint64)40, (guint64)80>;",
    "audio, channels=(int)2, samples=(guint64)100;",
    "audio, channels=(int)2, samples=(guint64)18446744073709551615, "
        "offsets=<(guint64)0, (guint64)400>;",
    "audio-level, level=(uint)300, voice-activity=(boolean)true;",
  };
  struct zcp_publisher *publisher;

  publisher = open_raw_publisher (channel, PLANAR_CAPS);
  for (guint i = 0; i < G_N_ELEMENTS (metas); i++) {
    GstBuffer *received;

    GstAudioMeta *meta;
    GstAudioBuffer audio;

    publish_raw_frame (publisher, 4096, metas[i]);
    received = gst_harness_pull (sub);
    fail_unless (received != NULL);
    fail_if (gst_buffer_get_audio_level_meta (received), "%s", metas[i]);
    /* The planes taken as packed: 512 samples of F32 a channel. */
    meta = gst_buffer_get_audio_meta (received);
    fail_unless (meta != NULL, "%s", metas[i]);
    fail_unless_equals_int (meta->samples, 512);
    fail_unless_equals_int (meta->offsets[1], 2048);
    fail_unless (gst_audio_buffer_map (&audio, &meta->info, received,
            GST_MAP_READ));
    gst_audio_buffer_unmap (&audio);
    gst_buffer_unref (received);
  }

  gst_harness_teardown (sub);
  zcp_publisher_close (publisher);
  g_free (channel);
}

GST_END_TEST;

/* Custom upstream events of several subscribers at once, force-key-unit
 * among them, reach the publisher's pipeline. */
GST_START_TEST (test_upstream_events_reach_publisher)
{
  gchar *channel = unique_channel ("upstream");
  GstHarness *pub = harness_for ("zerocpsink sync=false "
      "wait-for-connection=true", channel);
  GstElement *sink = element_of (pub);
  GstHarness *subs[3];
  guint force_key_units = 0, customs = 0;
  gint64 deadline;

  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  for (guint s = 0; s < G_N_ELEMENTS (subs); s++)
    subs[s] = harness_for ("zerocpsrc", channel);
  /* Every one attached before the frame that each must get. */
  fail_unless (wait_for_num_subscribers (sink, G_N_ELEMENTS (subs)));
  fail_unless_equals_int (gst_harness_push (pub,
          gst_harness_create_buffer (pub, VIDEO_SIZE)), GST_FLOW_OK);
  for (guint s = 0; s < G_N_ELEMENTS (subs); s++) {
    GstElement *src = element_of (subs[s]);
    GstStructure *stats;

    gst_buffer_unref (gst_harness_pull (subs[s]));
    /* Each knows how many read the channel. */
    g_object_get (src, "stats", &stats, NULL);
    fail_unless_equals_int (structure_uint (stats, "subscribers"), 3);
    gst_structure_free (stats);
    gst_object_unref (src);
    fail_unless (gst_harness_push_upstream_event (subs[s],
            gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE,
                TRUE, s)));
    fail_unless (gst_harness_push_upstream_event (subs[s],
            gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM,
                gst_structure_new ("zerocp-test", "from", G_TYPE_UINT, s,
                    NULL))));
  }

  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while ((force_key_units < 3 || customs < 3) &&
      g_get_monotonic_time () < deadline) {
    GstEvent *event = gst_harness_try_pull_upstream_event (pub);

    if (!event) {
      g_usleep (1000);
      continue;
    }
    if (gst_video_event_is_force_key_unit (event))
      force_key_units++;
    else if (gst_event_has_name (event, "zerocp-test"))
      customs++;
    gst_event_unref (event);
  }
  fail_unless_equals_int (force_key_units, 3);
  fail_unless_equals_int (customs, 3);

  for (guint s = 0; s < G_N_ELEMENTS (subs); s++)
    gst_harness_teardown (subs[s]);
  gst_object_unref (sink);
  gst_harness_teardown (pub);
  g_free (channel);
}

GST_END_TEST;

/* An opaque stream crosses as it is: caps, bytes, no video meta. */
GST_START_TEST (test_opaque_stream_crosses)
{
  GstHarness *pub, *sub;
  gchar *channel = open_pair ("opaque", "zerocpsrc", &pub, &sub);
  static const gchar payload[] = "not a video frame";
  GstBuffer *received;
  GstCaps *caps;

  gst_harness_set_src_caps_str (pub, "application/x-zerocp-test");
  fail_unless_equals_int (gst_harness_push (pub,
          gst_buffer_new_memdup (payload, sizeof payload)), GST_FLOW_OK);
  received = gst_harness_pull (sub);
  fail_unless (gst_buffer_memcmp (received, 0, payload, sizeof payload) == 0);
  fail_unless_equals_uint64 (gst_buffer_get_size (received), sizeof payload);
  fail_unless (gst_buffer_get_video_meta (received) == NULL);
  caps = gst_pad_get_current_caps (sub->sinkpad);
  fail_unless (gst_structure_has_name (gst_caps_get_structure (caps, 0),
          "application/x-zerocp-test"));
  gst_caps_unref (caps);
  gst_buffer_unref (received);

  /* Not raw media: we leave it untimed (GstBaseSrc stamps only a first
   * buffer), for a parser downstream to time. */
  fail_unless_equals_int (gst_harness_push (pub,
          gst_buffer_new_memdup (payload, sizeof payload)), GST_FLOW_OK);
  received = gst_harness_pull (sub);
  fail_if (GST_BUFFER_PTS_IS_VALID (received));
  gst_buffer_unref (received);

  close_pair (channel, pub, sub);
}

GST_END_TEST;

/* A live source stamps what it sends, as udpsrc does: raw frames that came
 * without a time (an appsrc publisher that sets none) get their arrival
 * time, since an encoder or a muxer downstream stops at a frame without
 * one.  A source that is not live leaves them as they are. */
GST_START_TEST (test_untimed_raw_frames_stamped_on_arrival)
{
  GstHarness *pub, *sub;
  gchar *channel = open_pair ("untimed", "zerocpsrc", &pub, &sub);
  GstBuffer *earlier, *later;

  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  earlier = push_and_pull_at (pub, sub, GST_CLOCK_TIME_NONE);
  later = push_and_pull_at (pub, sub, GST_CLOCK_TIME_NONE);
  fail_unless (GST_BUFFER_PTS_IS_VALID (earlier));
  fail_unless (GST_BUFFER_PTS_IS_VALID (later));
  fail_unless (GST_BUFFER_PTS (later) > GST_BUFFER_PTS (earlier));
  gst_buffer_unref (earlier);
  gst_buffer_unref (later);
  gst_harness_teardown (sub);

  sub = harness_for ("zerocpsrc is-live=false", channel);
  earlier = push_and_pull_at (pub, sub, GST_CLOCK_TIME_NONE);
  fail_if (GST_BUFFER_PTS_IS_VALID (earlier));
  gst_buffer_unref (earlier);

  close_pair (channel, pub, sub);
}

GST_END_TEST;

/* A publisher's timestamps in a segment that is not in TIME (appsrc's
 * default format is BYTES) have no running time, so no time on the shared
 * clock: a live subscriber times such raw frames on arrival, rather than
 * take 1 s for a moment of the clock long past. */
GST_START_TEST (test_timestamps_without_time_segment_timed_on_arrival)
{
  GstHarness *pub, *sub;
  gchar *channel = open_pair ("bytesegment", "zerocpsrc", &pub, &sub);
  GstSegment segment;
  GstBuffer *earlier, *later;

  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  gst_segment_init (&segment, GST_FORMAT_BYTES);
  fail_unless (gst_harness_push_event (pub, gst_event_new_segment (&segment)));

  earlier = push_and_pull_at (pub, sub, 1 * GST_SECOND);
  g_usleep (50 * 1000);
  later = push_and_pull_at (pub, sub, 1 * GST_SECOND + 40 * GST_MSECOND);

  fail_unless (GST_BUFFER_PTS_IS_VALID (earlier));
  fail_unless (GST_BUFFER_PTS_IS_VALID (later));
  /* Arrival times: at least the 50 ms slept apart. */
  fail_unless (GST_BUFFER_PTS (later) >= GST_BUFFER_PTS (earlier) +
      50 * GST_MSECOND, "%" GST_TIME_FORMAT " then %" GST_TIME_FORMAT,
      GST_TIME_ARGS (GST_BUFFER_PTS (earlier)),
      GST_TIME_ARGS (GST_BUFFER_PTS (later)));
  gst_buffer_unref (earlier);
  gst_buffer_unref (later);

  close_pair (channel, pub, sub);
}

GST_END_TEST;

/* The streaming thread as the application sees it: its scheduler slice as
 * it entered its task and as it left, and its policy as it left (from the
 * sync handler, which runs after the element's own handling of the
 * stream-status message), and as it handed on each frame (from a probe). */
#define BURST_FRAMES 32

typedef struct
{
  GMutex lock;
  GCond cond;
  guint64 entered, left;
  int left_policy;
  gboolean have_entered, have_left;
  guint frames;
  int policies[2 * BURST_FRAMES + 1];
  pid_t tid;
} StreamingThread;

/* 0 where the kernel has no slice to tell. */
static guint64
thread_slice (void)
{
  guint64 slice = 0;

  return zcp_thread_get_slice (&slice) == 0 ? slice : 0;
}

static GstBusSyncReply
record_streaming_thread (GstBus * bus, GstMessage * message, gpointer data)
{
  StreamingThread *thread = data;
  GstStreamStatusType type;
  GstElement *owner;

  if (GST_MESSAGE_TYPE (message) != GST_MESSAGE_STREAM_STATUS)
    return GST_BUS_PASS;
  gst_message_parse_stream_status (message, &type, &owner);
  if (!g_str_has_prefix (GST_OBJECT_NAME (owner), "zerocpsrc"))
    return GST_BUS_PASS;
  g_mutex_lock (&thread->lock);
  if (type == GST_STREAM_STATUS_TYPE_ENTER) {
    thread->entered = thread_slice ();
    thread->have_entered = TRUE;
  } else if (type == GST_STREAM_STATUS_TYPE_LEAVE) {
    thread->left = thread_slice ();
    thread->left_policy = sched_getscheduler (0);
    thread->have_left = TRUE;
  }
  g_cond_signal (&thread->cond);
  g_mutex_unlock (&thread->lock);
  return GST_BUS_PASS;
}

/* Records @pipeline's streaming thread into @thread, until unwatched. */
static GstBus *
watch_streaming_thread (GstElement * pipeline, StreamingThread * thread)
{
  GstBus *bus = gst_element_get_bus (pipeline);

  g_mutex_init (&thread->lock);
  g_cond_init (&thread->cond);
  gst_bus_set_sync_handler (bus, record_streaming_thread, thread, NULL);
  return bus;
}

static void
unwatch_streaming_thread (GstBus * bus, StreamingThread * thread)
{
  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
  g_cond_clear (&thread->cond);
  g_mutex_clear (&thread->lock);
  gst_object_unref (bus);
}

static void
wait_for_flag (StreamingThread * thread, gboolean * flag, const gchar * what)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  g_mutex_lock (&thread->lock);
  while (!*flag && g_cond_wait_until (&thread->cond, &thread->lock, deadline));
  fail_unless (*flag, "the streaming thread never %s", what);
  g_mutex_unlock (&thread->lock);
}

/* Stops @pipeline, and waits for its streaming thread to leave its task. */
static void
stop_streaming_thread (GstElement * pipeline, StreamingThread * thread)
{
  gst_element_set_state (pipeline, GST_STATE_NULL);
  wait_for_flag (thread, &thread->have_left, "left its task");
}

/* Default, none, and one longer than a thread's default slice. */
static const guint64 requested_slices[] = { 0, 100 * GST_USECOND,
  50 * GST_MSECOND
};

GST_START_TEST (test_streaming_thread_slice)
{
  guint64 requested = requested_slices[__i__];
  gchar *channel = unique_channel ("slice");
  gchar *description = g_strdup_printf ("zerocpsrc channel=%s "
      "scheduler-slice=%" G_GUINT64_FORMAT " ! fakesink", channel, requested);
  GstElement *pipeline = gst_parse_launch (description, NULL);
  StreamingThread thread = { 0 };
  GstBus *bus = watch_streaming_thread (pipeline, &thread);
  /* Every SCHED_OTHER thread starts with the kernel's default; 0 on a
   * kernel without slices of their own, where nothing may change. */
  guint64 original = thread_slice (), expected = original;

  /* Shortened, never lengthened, and only where there is a slice. */
  if (requested && requested < original)
    expected = requested;

  /* No publisher needed: the task starts and waits for the channel. */
  fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  wait_for_flag (&thread, &thread.have_entered, "entered its task");
  fail_unless_equals_uint64 (thread.entered, expected);

  /* The thread goes back to the task pool as it came. */
  stop_streaming_thread (pipeline, &thread);
  fail_unless_equals_uint64 (thread.left, original);

  unwatch_streaming_thread (bus, &thread);
  gst_object_unref (pipeline);
  g_free (description);
  g_free (channel);
}

GST_END_TEST;

static GstPadProbeReturn
record_frame_policy (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  StreamingThread *thread = data;

  g_mutex_lock (&thread->lock);
  if (thread->frames < G_N_ELEMENTS (thread->policies))
    thread->policies[thread->frames] = sched_getscheduler (0);
  thread->frames++;
  thread->tid = gettid ();
  g_cond_signal (&thread->cond);
  g_mutex_unlock (&thread->lock);
  return GST_PAD_PROBE_OK;
}

static void
push_video_frames (GstHarness * pub, guint count)
{
  for (guint i = 0; i < count; i++)
    fail_unless_equals_int (gst_harness_push (pub,
            gst_harness_create_buffer (pub, VIDEO_SIZE)), GST_FLOW_OK);
}

static void
wait_for_frames (StreamingThread * thread, guint count)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  g_mutex_lock (&thread->lock);
  while (thread->frames < count &&
      g_cond_wait_until (&thread->cond, &thread->lock, deadline));
  fail_unless (thread->frames >= count, "%u frames of %u came",
      thread->frames, count);
  g_mutex_unlock (&thread->lock);
}

/* The streaming thread's policy as soon as it is @policy, or after 5 s. */
static int
wait_for_policy (pid_t tid, int policy)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  int now;

  while ((now = sched_getscheduler (tid)) != policy &&
      g_get_monotonic_time () < deadline)
    g_usleep (10 * G_USEC_PER_SEC / 1000);
  return now;
}

/* Puts every thread of this process on @cpus, as taskset would the whole
 * process: a thread made meanwhile inherits its maker's CPUs, so that one
 * pipeline thread narrowed alone would leave its narrowing to the task
 * pool's next threads. */
static void
set_process_cpus (const cpu_set_t * cpus)
{
  GDir *tasks = g_dir_open ("/proc/self/task", 0, NULL);
  const gchar *tid;

  fail_unless (tasks != NULL);
  /* A thread that exits meanwhile: ESRCH, and nothing to do. */
  while ((tid = g_dir_read_name (tasks)))
    sched_setaffinity ((pid_t) g_ascii_strtoll (tid, NULL, 10), sizeof *cpus,
        cpus);
  g_dir_close (tasks);
}

/* A rate of 25 frames a second: a burst pushed as fast as the harness goes
 * is far above it, even under valgrind on a loaded machine (a frame every
 * 9 ms there), and a pause of sixteen of its gaps (0.64 s) far below it.
 * The test's process on @cpus CPUs, with @extra subscribers beside ours. */
static const struct
{
  guint rate, cpus, extra;
  gboolean batches;
} batch_cases[] = {
  {25, 1, 0, TRUE},
  {0, 1, 0, FALSE},
  /* One CPU each for the publisher and the subscriber: nobody to preempt. */
  {25, 2, 0, FALSE},
  {25, 2, 1, TRUE},
};

/* Above the batch rate, where the publisher and its subscribers outnumber
 * the CPUs, the streaming thread becomes SCHED_BATCH; when no frame has
 * come for sixteen batch gaps, and as it leaves its task in the middle of a
 * burst, it is SCHED_OTHER again; with a rate of 0, or a CPU for each, it
 * never changes. */
GST_START_TEST (test_fast_stream_goes_batch)
{
  guint rate = batch_cases[__i__].rate;
  gboolean batches = batch_cases[__i__].batches;
  gchar *channel = unique_channel ("batch");
  GstHarness *pub = harness_for ("zerocpsink sync=false "
      "wait-for-connection=true", channel);
  gchar *description = g_strdup_printf ("zerocpsrc channel=%s is-live=false "
      "scheduler-batch-rate=%u ! fakesink name=out sync=false", channel, rate);
  GstElement *pipeline = gst_parse_launch (description, NULL);
  StreamingThread thread = { 0 };
  GstBus *bus = watch_streaming_thread (pipeline, &thread);
  GstElement *out = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  GstPad *pad = gst_element_get_static_pad (out, "sink");
  GstElement *sink = element_of (pub);
  struct zcp_subscriber *extra = NULL;
  guint cpus = batch_cases[__i__].cpus;
  cpu_set_t all, narrowed;

  fail_unless_equals_int (sched_getaffinity (0, sizeof all, &all), 0);
  CPU_ZERO (&narrowed);
  for (guint cpu = 0; cpu < CPU_SETSIZE && CPU_COUNT (&narrowed) < (gint) cpus;
      cpu++)
    if (CPU_ISSET (cpu, &all))
      CPU_SET (cpu, &narrowed);
  fail_unless (CPU_COUNT (&narrowed) == (gint) cpus, "this case needs %u "
      "CPUs, the test has %d", cpus, CPU_COUNT (&all));
  set_process_cpus (&narrowed);
  if (batch_cases[__i__].extra)
    fail_unless_equals_int (zcp_subscriber_open_with_queue (channel, 1,
            ZCP_LEAKY_DOWNSTREAM, &extra), 0);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, record_frame_policy,
      &thread, NULL);
  fail_unless_equals_int (sched_getscheduler (0), SCHED_OTHER);
  fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE);
  /* The extra one alone would let the burst go before we are there. */
  fail_unless (wait_for_num_subscribers (sink, extra ? 2 : 1));

  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  push_video_frames (pub, BURST_FRAMES);
  wait_for_frames (&thread, BURST_FRAMES);
  /* Before the next frame comes, so that it preempts as the first after a
   * pause should. */
  fail_unless_equals_int (wait_for_policy (thread.tid, SCHED_OTHER),
      SCHED_OTHER);
  push_video_frames (pub, 1);
  wait_for_frames (&thread, BURST_FRAMES + 1);

  /* The first frames of a task count as a slow stream. */
  fail_unless_equals_int (thread.policies[0], SCHED_OTHER);
  fail_unless_equals_int (thread.policies[BURST_FRAMES - 1],
      batches ? SCHED_BATCH : SCHED_OTHER);
  fail_unless_equals_int (thread.policies[BURST_FRAMES], SCHED_OTHER);
  for (guint i = 0; !batches && i < BURST_FRAMES; i++)
    fail_unless_equals_int (thread.policies[i], SCHED_OTHER);

  /* Batch again, then stopped in the middle of it. */
  push_video_frames (pub, BURST_FRAMES);
  wait_for_frames (&thread, 2 * BURST_FRAMES + 1);
  fail_unless_equals_int (thread.policies[2 * BURST_FRAMES],
      batches ? SCHED_BATCH : SCHED_OTHER);
  stop_streaming_thread (pipeline, &thread);
  fail_unless_equals_int (thread.left_policy, SCHED_OTHER);

  if (extra)
    zcp_subscriber_close (extra);
  gst_object_unref (sink);
  unwatch_streaming_thread (bus, &thread);
  gst_object_unref (pad);
  gst_object_unref (out);
  gst_object_unref (pipeline);
  gst_harness_teardown (pub);
  g_free (description);
  g_free (channel);
  set_process_cpus (&all);
}

GST_END_TEST;

#define HOARDED_FRAMES 16

static gpointer
push_hoarded_frames (gpointer data)
{
  GstHarness *pub = data;
  GstFlowReturn ret = GST_FLOW_OK;

  for (guint i = 0; i < HOARDED_FRAMES && ret == GST_FLOW_OK; i++) {
    GstBuffer *buffer = gst_harness_create_buffer (pub, VIDEO_SIZE);

    gst_buffer_memset (buffer, 0, i, VIDEO_SIZE);
    ret = gst_harness_push (pub, buffer);
  }
  return GINT_TO_POINTER (ret);
}

/* A subscriber whose downstream keeps every frame (an encoder's
 * look-ahead, an unbounded queue) in a pool that may not grow keeps its
 * share of the chunks and gets copies beyond it: the publisher never waits
 * for it, and every frame comes, with its bytes. */
GST_START_TEST (test_hoarding_downstream_gets_copies)
{
  GstHarness *pub, *sub;
  gchar *channel = open_pair ("hoard", "zerocpsrc is-live=false", &pub, &sub);
  GstElement *sink = element_of (pub), *src = element_of (sub);
  guint64 page = (guint64) sysconf (_SC_PAGESIZE);
  GstBuffer *held[HOARDED_FRAMES];
  guint zero_copy = 0;
  GstStructure *stats;
  guint64 copied = 0;
  GThread *thread;

  /* Four chunks and no more: one subscriber's share is 2. */
  g_object_set (sink, "max-pool-bytes", 4 * GST_ROUND_UP_N ((guint64)
          VIDEO_SIZE, page), NULL);
  gst_harness_set_src_caps_str (pub, VIDEO_CAPS);
  thread = g_thread_new ("push", push_hoarded_frames, pub);

  for (guint i = 0; i < HOARDED_FRAMES; i++) {
    gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
    GstMapInfo map;

    while (!(held[i] = gst_harness_try_pull (sub))) {
      fail_unless (g_get_monotonic_time () < deadline,
          "frame %u did not come: the publisher waits for chunks", i);
      g_usleep (1000);
    }
    fail_unless (gst_buffer_map (held[i], &map, GST_MAP_READ));
    fail_unless (map.size == VIDEO_SIZE && map.data[0] == i &&
        map.data[VIDEO_SIZE - 1] == i, "frame %u has the wrong bytes", i);
    gst_buffer_unmap (held[i], &map);
    zero_copy += is_zero_cp_memory (gst_buffer_peek_memory (held[i], 0));
  }
  fail_unless_equals_int (GPOINTER_TO_INT (g_thread_join (thread)),
      GST_FLOW_OK);

  fail_unless_equals_int (zero_copy, 2);
  g_object_get (src, "stats", &stats, NULL);
  fail_unless (gst_structure_get_uint64 (stats, "frames-copied", &copied));
  fail_unless_equals_uint64 (copied, HOARDED_FRAMES - zero_copy);
  gst_structure_free (stats);

  for (guint i = 0; i < HOARDED_FRAMES; i++)
    gst_buffer_unref (held[i]);
  gst_object_unref (sink);
  gst_object_unref (src);
  close_pair (channel, pub, sub);
}

GST_END_TEST;

/* zerocp://CHANNEL makes either element wherever GStreamer takes a URI
 * (playbin, uridecodebin), names its channel and reads back; a bad name is
 * refused as a bad URI. */
GST_START_TEST (test_uri_names_the_channel)
{
  static const GstURIType types[] = { GST_URI_SRC, GST_URI_SINK };
  static const gchar *factories[] = { "zerocpsrc", "zerocpsink" };

  for (guint i = 0; i < G_N_ELEMENTS (types); i++) {
    GError *error = NULL;
    GstElement *element = gst_element_make_from_uri (types[i],
        "zerocp://cam-uri.1", NULL, &error);
    gchar *channel = NULL, *uri;

    fail_unless (element != NULL, "%s: %s", factories[i],
        error ? error->message : "no element");
    fail_unless_equals_string (GST_OBJECT_NAME (gst_element_get_factory
            (element)), factories[i]);
    g_object_get (element, "channel", &channel, NULL);
    fail_unless_equals_string (channel, "cam-uri.1");
    uri = gst_uri_handler_get_uri (GST_URI_HANDLER (element));
    fail_unless_equals_string (uri, "zerocp://cam-uri.1");

    fail_if (gst_uri_handler_set_uri (GST_URI_HANDLER (element),
            "zerocp://a b", &error));
    fail_unless (g_error_matches (error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI),
        "%s", error ? error->message : "no error");
    g_clear_error (&error);

    g_free (uri);
    g_free (channel);
    gst_object_unref (element);
  }
}

GST_END_TEST;

/* A process out of file descriptors is told so, and what to do. */
GST_START_TEST (test_too_many_open_files_says_so)
{
  gchar *channel = unique_channel ("nofd");
  gchar *description =
      g_strdup_printf ("zerocpsrc channel=%s ! fakesink", channel);

  assert_error_without_file_descriptors (description, channel);
  g_free (description);
  g_free (channel);
}

GST_END_TEST;

static Suite *
zerocpsrc_suite (void)
{
  Suite *s = suite_create ("zerocpsrc");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_buffers_cross_with_caps_and_timestamps);
  tcase_add_test (tc, test_write_map_copies_and_leaves_chunk_alone);
  tcase_add_test (tc, test_buffers_are_reused_and_chunks_follow_them);
  tcase_add_test (tc, test_eos_crosses);
  tcase_add_test (tc, test_subscriber_joining_after_eos_waits_for_more);
  tcase_add_test (tc, test_bad_channel_names);
  tcase_add_test (tc, test_corrupt_segments);
  tcase_add_test (tc, test_hostile_descriptors);
  tcase_add_test (tc, test_waits_for_channel_and_stops_promptly);
  tcase_add_test (tc, test_queue_defaults_follow_is_live);
  tcase_add_test (tc, test_properties_read_back);
  tcase_add_test (tc, test_publisher_timeout);
  tcase_add_test (tc, test_full_channel);
  tcase_add_test (tc, test_full_channel_of_stopped_publisher);
  tcase_add_test (tc, test_lonely_subscriber_warns_and_waits);
  tcase_add_test (tc, test_peers_are_announced);
  tcase_add_test (tc, test_next_publisher_is_a_new_stream);
  tcase_add_loop_test (tc, test_timestamp_modes, 0,
      G_N_ELEMENTS (timestamp_modes));
  tcase_add_test (tc, test_do_timestamp_warns);
  tcase_add_test (tc, test_latency_includes_publisher);
  tcase_add_test (tc, test_latency_leaves_room_for_sinks);
  tcase_add_test (tc, test_frames_before_our_start_keep_order);
  tcase_add_test (tc, test_untimed_raw_frames_stamped_on_arrival);
  tcase_add_test (tc, test_timestamps_without_time_segment_timed_on_arrival);
  tcase_add_test (tc, test_repeated_segment_not_forwarded);
  tcase_add_test (tc, test_padded_layout_crosses);
  tcase_add_test (tc, test_padded_layout_for_downstream_without_video_meta);
  tcase_add_test (tc, test_gap_crosses);
  tcase_add_test (tc, test_wait_for_connection_holds_events);
  tcase_add_test (tc, test_upstream_events_reach_publisher);
  tcase_add_test (tc, test_toc_and_protection_cross);
  tcase_add_test (tc, test_unreadable_events_are_dropped);
  tcase_add_test (tc, test_unsound_events_are_dropped);
  tcase_add_test (tc, test_text_unsafe_to_parse_is_refused);
  tcase_add_test (tc, test_buffer_metas_cross);
  tcase_add_test (tc, test_too_long_events_and_metas_are_left_out);
  tcase_add_test (tc, test_unreadable_metas_are_left_out);
  tcase_add_test (tc, test_planar_audio_crosses);
  tcase_add_test (tc, test_unreadable_audio_metas_are_left_out);
  tcase_add_test (tc, test_opaque_stream_crosses);
  tcase_add_test (tc, test_refused_caps_name_both_sides);
  tcase_add_test (tc, test_long_caps);
  tcase_add_test (tc, test_subscriber_too_far_behind_long_caps_errors);
  tcase_add_test (tc, test_pipelines_on_other_clocks_meet);
  tcase_add_test (tc, test_hoarding_downstream_gets_copies);
  tcase_add_test (tc, test_uri_names_the_channel);
  tcase_add_test (tc, test_tags_cross_with_a_small_picture);
  tcase_add_test (tc, test_tags_cross_without_their_picture);
  tcase_add_test (tc, test_events_cross_without_their_objects);
  tcase_add_test (tc, test_joining_subscriber_gets_custom_sticky_events);
  tcase_add_test (tc, test_long_events_cross);
  tcase_add_test (tc, test_too_many_open_files_says_so);
  tcase_add_loop_test (tc, test_streaming_thread_slice, 0,
      G_N_ELEMENTS (requested_slices));
  tcase_add_loop_test (tc, test_fast_stream_goes_batch, 0,
      G_N_ELEMENTS (batch_cases));
  return s;
}

GST_CHECK_MAIN (zerocpsrc);
