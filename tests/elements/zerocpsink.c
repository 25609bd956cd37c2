/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* zerocpsink: its pool, the copy path, errors and never hanging. */
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include "zcp-check.h"
#include "zcp-layout.h"
#include "zcp-liveness.h"
#include "zcp.h"

static GstHarness *
sink_harness (const gchar * channel)
{
  gchar *description = g_strdup_printf ("zerocpsink channel=%s sync=false "
      "name=sink", channel);
  GstHarness *h = gst_harness_new_parse (description);

  g_free (description);
  gst_harness_set_src_caps_str (h, VIDEO_CAPS);
  return h;
}

static GstElement *
sink_of (GstHarness * h)
{
  return gst_bin_get_by_name (GST_BIN (h->element), "sink");
}

/* The end of a test that took the sink's pool: deactivates and drops it,
 * then the sink, the harness and the channel's name. */
static void
finish_with_pool (GstHarness * h, GstElement * sink, GstBufferPool * pool,
    gchar * channel)
{
  fail_unless (gst_buffer_pool_set_active (pool, FALSE));
  gst_object_unref (pool);
  gst_object_unref (sink);
  gst_harness_teardown (h);
  g_free (channel);
}

/* Where a pool buffer's bytes are: its chunk in this process. */
static guint8 *
writable_data (GstBuffer * buffer)
{
  GstMapInfo map;
  guint8 *data;

  fail_unless (gst_buffer_map (buffer, &map, GST_MAP_WRITE));
  data = map.data;
  gst_buffer_unmap (buffer, &map);
  return data;
}

/* Holds the sink's pool at @chunks chunks of a VIDEO_SIZE frame. */
static void
limit_pool (GstHarness * h, guint chunks)
{
  GstElement *sink = sink_of (h);
  guint64 page = (guint64) sysconf (_SC_PAGESIZE);

  g_object_set (sink, "max-pool-bytes", (guint64) chunks *
      GST_ROUND_UP_N ((guint64) VIDEO_SIZE, page), NULL);
  gst_object_unref (sink);
}

static GstBufferPool *
proposed_pool (GstHarness * h, guint * max_buffers)
{
  GstCaps *caps = gst_caps_from_string (VIDEO_CAPS);
  /* need_pool TRUE, as GstBaseSrc, GstBaseTransform and GstVideoDecoder
   * ask; GstHarness asks with FALSE, which we honour with no pool. */
  GstQuery *query = gst_query_new_allocation (caps, TRUE);
  GstBufferPool *pool = NULL;

  fail_unless (gst_pad_peer_query (h->srcpad, query));
  fail_unless (gst_query_get_n_allocation_pools (query) > 0);
  gst_query_parse_nth_allocation_pool (query, 0, &pool, NULL, NULL,
      max_buffers);
  fail_unless (pool != NULL);
  fail_unless (gst_query_find_allocation_meta (query, GST_VIDEO_META_API_TYPE,
          NULL));
  gst_query_unref (query);
  gst_caps_unref (caps);
  return pool;
}

/* What a zerocpsrc that is not live queues by default. */
static guint
non_live_queue_depth (void)
{
  GstElement *src = gst_element_factory_make ("zerocpsrc", NULL);
  guint depth;

  g_object_set (src, "is-live", FALSE, NULL);
  g_object_get (src, "max-buffers", &depth, NULL);
  gst_object_unref (src);
  return depth;
}

/* Each property reads back its default, then what was set. */
GST_START_TEST (test_properties_read_back)
{
  GstElement *sink = gst_element_factory_make ("zerocpsink", NULL);
  guint perms, num_subscribers;
  gboolean wait_for_connection;
  guint64 max_pool_bytes;
  gchar *channel;

  g_object_get (sink, "channel", &channel, "perms", &perms,
      "wait-for-connection", &wait_for_connection, "max-pool-bytes",
      &max_pool_bytes, "num-subscribers", &num_subscribers, NULL);
  fail_unless (channel == NULL);
  fail_unless_equals_int (perms, 0600);
  fail_if (wait_for_connection);
  fail_unless_equals_uint64 (max_pool_bytes, 0);
  fail_unless_equals_int (num_subscribers, 0);

  g_object_set (sink, "channel", "props-sink", "perms", 0640,
      "wait-for-connection", TRUE, "max-pool-bytes",
      G_GUINT64_CONSTANT (64) << 20, NULL);
  g_object_get (sink, "channel", &channel, "perms", &perms,
      "wait-for-connection", &wait_for_connection, "max-pool-bytes",
      &max_pool_bytes, NULL);
  fail_unless_equals_string (channel, "props-sink");
  fail_unless_equals_int (perms, 0640);
  fail_unless (wait_for_connection);
  fail_unless_equals_uint64 (max_pool_bytes, G_GUINT64_CONSTANT (64) << 20);

  g_free (channel);
  gst_object_unref (sink);
}

GST_END_TEST;

GST_START_TEST (test_proposed_pool_is_used)
{
  gchar *channel = unique_channel ("pool");
  GstHarness *h = sink_harness (channel);
  GstElement *sink = sink_of (h);
  guint max_buffers = 0;
  GstBufferPool *pool = proposed_pool (h, &max_buffers);
  GstBuffer *buffer = NULL;
  GstVideoMeta *meta;

  /* Proposed before any subscriber is there: room for upstream's two, a
   * default non-live subscriber's full queue and what it holds downstream,
   * so that the first subscriber to fall behind does not double the pool. */
  fail_unless (max_buffers >= 2 + non_live_queue_depth () + 2,
      "a pool of %u chunks", max_buffers);

  fail_unless (gst_buffer_pool_set_active (pool, TRUE));
  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &buffer,
          NULL), GST_FLOW_OK);
  fail_unless_equals_int (gst_buffer_n_memory (buffer), 1);
  fail_unless (is_zero_cp_memory (gst_buffer_peek_memory (buffer, 0)),
      "upstream got %s memory, not a chunk",
      gst_buffer_peek_memory (buffer, 0)->allocator->mem_type);
  fail_unless (gst_buffer_is_writable (buffer));
  meta = gst_buffer_get_video_meta (buffer);
  fail_unless (meta != NULL, "the pool adds a GstVideoMeta");
  fail_unless_equals_int (meta->width, 320);

  fail_unless_equals_int (gst_harness_push (h, buffer), GST_FLOW_OK);
  fail_unless_equals_uint64 (element_stat (sink, "frames-published"), 1);
  fail_unless_equals_uint64 (element_stat (sink, "frames-copied"), 0);

  finish_with_pool (h, sink, pool, channel);
}

GST_END_TEST;

/* A buffer back in the pool gives up the publisher's hold on its chunk at
 * once and keeps its memory for the next chunk; a memory that a copy still
 * references goes with the copy, and its chunk stays held until then. */
GST_START_TEST (test_pool_reuses_memory_and_holds_follow_buffers)
{
  gchar *channel = unique_channel ("reuse");
  GstHarness *h = sink_harness (channel);
  GstElement *sink = sink_of (h);
  GstBufferPool *pool = proposed_pool (h, NULL);
  GstBuffer *buffer = NULL, *copy;
  GstMemory *memory;
  guint8 *chunk_data;

  /* Else the sink keeps the last buffer, and its chunk. */
  g_object_set (sink, "enable-last-sample", FALSE, NULL);
  fail_unless (gst_buffer_pool_set_active (pool, TRUE));
  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &buffer,
          NULL), GST_FLOW_OK);
  memory = gst_buffer_peek_memory (buffer, 0);
  chunk_data = writable_data (buffer);
  fail_unless_equals_uint64 (element_stat (sink, "chunks-in-use"), 1);
  fail_unless_equals_int (gst_harness_push (h, buffer), GST_FLOW_OK);
  fail_unless_equals_uint64 (element_stat (sink, "chunks-in-use"), 0);

  /* The lowest free chunk again, in the same memory, whole and writable. */
  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &buffer,
          NULL), GST_FLOW_OK);
  fail_unless (gst_buffer_peek_memory (buffer, 0) == memory);
  fail_unless_equals_uint64 (element_stat (sink, "chunks-in-use"), 1);
  fail_unless_equals_uint64 (gst_buffer_get_size (buffer), VIDEO_SIZE);
  fail_unless (writable_data (buffer) == chunk_data);
  /* As it leaves the pool, its memory is the pool's own, not a change. */
  fail_if (GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_TAG_MEMORY));

  copy = gst_buffer_copy (buffer);
  gst_buffer_unref (buffer);
  fail_unless_equals_uint64 (element_stat (sink, "chunks-in-use"), 1);
  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &buffer,
          NULL), GST_FLOW_OK);
  fail_unless (gst_buffer_peek_memory (buffer, 0) != memory);
  fail_unless (writable_data (buffer) != chunk_data,
      "a chunk the copy holds came back");
  fail_unless_equals_uint64 (element_stat (sink, "chunks-in-use"), 2);
  gst_buffer_unref (copy);
  fail_unless_equals_uint64 (element_stat (sink, "chunks-in-use"), 1);
  gst_buffer_unref (buffer);
  fail_unless_equals_uint64 (element_stat (sink, "chunks-in-use"), 0);

  finish_with_pool (h, sink, pool, channel);
}

GST_END_TEST;

GST_START_TEST (test_foreign_buffer_is_copied_and_counted)
{
  gchar *channel = unique_channel ("copy");
  GstHarness *h = sink_harness (channel);
  GstElement *sink = sink_of (h);
  GstBuffer *buffer = gst_buffer_new_allocate (NULL, VIDEO_SIZE, NULL);

  gst_buffer_memset (buffer, 0, 0x42, VIDEO_SIZE);
  fail_unless_equals_int (gst_harness_push (h, buffer), GST_FLOW_OK);
  fail_unless_equals_uint64 (element_stat (sink, "frames-published"), 1);
  fail_unless_equals_uint64 (element_stat (sink, "frames-copied"), 1);

  gst_object_unref (sink);
  gst_harness_teardown (h);
  g_free (channel);
}

GST_END_TEST;

/* Configures @pool as avdec_h264 configures a downstream pool it decodes
 * into (gst-libav's decide_allocation): the caps' size, video meta, and
 * libav's alignment (rows to spare below the picture, strides of 64). */
static gboolean
configure_as_a_decoder (GstBufferPool * pool, guint max_buffers)
{
  GstCaps *caps = gst_caps_from_string (VIDEO_CAPS);
  GstStructure *config = gst_buffer_pool_get_config (pool);
  GstVideoAlignment align;
  GstVideoInfo info;

  gst_video_info_from_caps (&info, caps);
  gst_video_alignment_reset (&align);
  align.padding_bottom = 19;
  for (guint p = 0; p < GST_VIDEO_MAX_PLANES; p++)
    align.stride_align[p] = 63;
  gst_buffer_pool_config_set_params (config, caps, info.size, 2, max_buffers);
  gst_buffer_pool_config_add_option (config, GST_BUFFER_POOL_OPTION_VIDEO_META);
  gst_buffer_pool_config_add_option (config,
      GST_BUFFER_POOL_OPTION_VIDEO_ALIGNMENT);
  gst_buffer_pool_config_set_video_alignment (config, &align);
  gst_caps_unref (caps);
  return gst_buffer_pool_set_config (pool, config);
}

/* A decoder writes into the pool only if it may grow past what the decoder
 * keeps, if the pool takes the decoder's alignment as asked (as
 * GstVideoBufferPool does) and lays frames out as GstVideoBufferPool
 * would.  GstVideoDecoder copies a frame the decoder still references
 * (mapped for writing): that copy lands in a chunk too, so the sink
 * publishes it without a copy of its own. */
GST_START_TEST (test_decoders_write_into_the_pool)
{
  gchar *channel = unique_channel ("decoder");
  GstHarness *h = sink_harness (channel);
  GstElement *sink = sink_of (h);
  GstBufferPool *reference = gst_video_buffer_pool_new ();
  guint max_buffers = 0;
  GstBufferPool *pool = proposed_pool (h, &max_buffers);
  GstBuffer *buffer = NULL, *expected = NULL, *copy;
  GstVideoMeta *meta, *expected_meta;
  GstMapInfo map;

  /* gst-libav's REQUIRED_POOL_MAX_BUFFERS */
  fail_unless (max_buffers == 0 || max_buffers >= 32, "a pool of at most %u "
      "chunks", max_buffers);
  fail_unless (configure_as_a_decoder (pool, max_buffers));
  fail_unless (configure_as_a_decoder (reference, max_buffers));
  fail_unless (gst_buffer_pool_set_active (pool, TRUE));
  fail_unless (gst_buffer_pool_set_active (reference, TRUE));
  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &buffer,
          NULL), GST_FLOW_OK);
  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (reference,
          &expected, NULL), GST_FLOW_OK);

  meta = gst_buffer_get_video_meta (buffer);
  expected_meta = gst_buffer_get_video_meta (expected);
  fail_unless (meta != NULL && expected_meta != NULL);
  fail_unless_equals_int (meta->n_planes, expected_meta->n_planes);
  for (guint p = 0; p < meta->n_planes; p++) {
    fail_unless_equals_int (meta->stride[p], expected_meta->stride[p]);
    fail_unless_equals_uint64 (meta->offset[p], expected_meta->offset[p]);
  }
  fail_unless (gst_buffer_get_size (buffer) >= gst_buffer_get_size (expected));

  fail_unless (gst_buffer_map (buffer, &map, GST_MAP_WRITE));
  copy = gst_buffer_copy (buffer);
  gst_buffer_unmap (buffer, &map);
  fail_unless (is_zero_cp_memory (gst_buffer_peek_memory (copy, 0)),
      "the copy is in %s", gst_buffer_peek_memory (copy,
          0)->allocator->mem_type);
  fail_unless (gst_buffer_peek_memory (copy,
          0) != gst_buffer_peek_memory (buffer, 0));
  gst_buffer_unref (buffer);
  fail_unless_equals_int (gst_harness_push (h, copy), GST_FLOW_OK);
  fail_unless_equals_uint64 (element_stat (sink, "frames-published"), 1);
  fail_unless_equals_uint64 (element_stat (sink, "frames-copied"), 0);

  gst_buffer_unref (expected);
  fail_unless (gst_buffer_pool_set_active (reference, FALSE));
  gst_object_unref (reference);
  finish_with_pool (h, sink, pool, channel);
}

GST_END_TEST;

/* Copied buffers that grow (encoded video, audio) get chunks with room to
 * spare, so that each new largest one does not make a new pool. */
GST_START_TEST (test_growing_copies_leave_room)
{
  gchar *channel = unique_channel ("growing");
  GstHarness *h = sink_harness (channel);
  GstElement *sink = sink_of (h);
  const guint64 page = (guint64) sysconf (_SC_PAGESIZE);
  const gsize sizes[] = { 1000, page + 1000, page + 1500 };
  guint64 chunk_sizes[G_N_ELEMENTS (sizes)];

  gst_harness_set_src_caps_str (h, "application/octet-stream");
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
    fail_unless_equals_int (gst_harness_push (h,
            gst_buffer_new_allocate (NULL, sizes[i], NULL)), GST_FLOW_OK);
    chunk_sizes[i] = element_stat (sink, "chunk-size");
  }
  /* The first to the end of its page; the next half as large again. */
  fail_unless_equals_uint64 (chunk_sizes[0], page);
  fail_unless_equals_uint64 (chunk_sizes[1], 2 * page);
  fail_unless_equals_uint64 (chunk_sizes[2], 2 * page);
  fail_unless_equals_uint64 (element_stat (sink, "frames-copied"), 3);

  gst_object_unref (sink);
  gst_harness_teardown (h);
  g_free (channel);
}

GST_END_TEST;

/* The next buffer for @subscriber, past the events the sink sent first. */
static int
next_buffer (struct zcp_subscriber *subscriber, struct zcp_frame *frame,
    struct zcp_chunk *chunk)
{
  int ret;

  while ((ret = zcp_subscriber_next (subscriber, frame, chunk, GST_SECOND,
              NULL)) == 0 && frame->kind == ZCP_FRAME_KIND_EVENT)
    free (frame->event);
  return ret;
}

/* videorate and others push one buffer twice: a subscriber still holding the
 * first gets a copy the second time, so that letting one go cannot free the
 * other. */
GST_START_TEST (test_buffer_rendered_twice_is_copied)
{
  gchar *channel = unique_channel ("twice");
  GstHarness *h = sink_harness (channel);
  GstElement *sink = sink_of (h);
  GstBufferPool *pool = proposed_pool (h, NULL);
  struct zcp_subscriber *subscriber;
  struct zcp_frame frames[2];
  struct zcp_chunk chunks[2];
  GstBuffer *buffer = NULL;

  fail_unless_equals_int (zcp_subscriber_open_with_queue (channel, 4,
          ZCP_LEAKY_NO, &subscriber), 0);
  fail_unless (gst_buffer_pool_set_active (pool, TRUE));
  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &buffer,
          NULL), GST_FLOW_OK);
  gst_buffer_memset (buffer, 0, 0x5a, VIDEO_SIZE);

  fail_unless_equals_int (gst_harness_push (h, gst_buffer_ref (buffer)),
      GST_FLOW_OK);
  fail_unless_equals_int (gst_harness_push (h, gst_buffer_ref (buffer)),
      GST_FLOW_OK);
  fail_unless_equals_uint64 (element_stat (sink, "frames-published"), 2);
  fail_unless_equals_uint64 (element_stat (sink, "frames-copied"), 1);

  for (guint i = 0; i < 2; i++) {
    fail_unless_equals_int (next_buffer (subscriber, &frames[i], &chunks[i]),
        0);
    fail_unless_equals_int (chunks[i].data[frames[i].offset], 0x5a);
  }
  fail_if (chunks[0].pool_index == chunks[1].pool_index &&
      chunks[0].chunk_index == chunks[1].chunk_index,
      "one chunk handed out twice to one subscriber");

  zcp_chunk_release (&chunks[0]);
  zcp_chunk_release (&chunks[1]);
  zcp_subscriber_close (subscriber);
  gst_buffer_unref (buffer);
  finish_with_pool (h, sink, pool, channel);
}

GST_END_TEST;

static gpointer
acquire_thread (gpointer data)
{
  GstBufferPool *pool = data;
  GstBuffer *buffer = NULL;
  GstFlowReturn ret = gst_buffer_pool_acquire_buffer (pool, &buffer, NULL);

  if (buffer)
    gst_buffer_unref (buffer);
  return GINT_TO_POINTER (ret);
}

GST_START_TEST (test_full_pool_waits_and_flushes)
{
  gchar *channel = unique_channel ("flush");
  GstHarness *h = sink_harness (channel);
  GstBufferPoolAcquireParams dontwait = {
    .flags = GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT
  };
  GstBuffer *held[4], *extra = NULL;
  GstBufferPool *pool;
  guint max_buffers = 0;
  GThread *thread;

  limit_pool (h, G_N_ELEMENTS (held));
  pool = proposed_pool (h, &max_buffers);
  fail_unless_equals_int (max_buffers, G_N_ELEMENTS (held));
  fail_unless (gst_buffer_pool_set_active (pool, TRUE));
  for (guint i = 0; i < max_buffers; i++)
    fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &held[i],
            NULL), GST_FLOW_OK);

  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &extra,
          &dontwait), GST_FLOW_EOS);

  /* A blocked acquire must give way to flushing. */
  thread = g_thread_new ("acquire", acquire_thread, pool);
  gst_buffer_pool_set_flushing (pool, TRUE);
  fail_unless_equals_int (GPOINTER_TO_INT (g_thread_join (thread)),
      GST_FLOW_FLUSHING);
  gst_buffer_pool_set_flushing (pool, FALSE);

  /* A released buffer's chunk is claimable again. */
  gst_buffer_unref (held[0]);
  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &held[0],
          &dontwait), GST_FLOW_OK);

  for (guint i = 0; i < max_buffers; i++)
    gst_buffer_unref (held[i]);
  fail_unless (gst_buffer_pool_set_active (pool, FALSE));
  gst_object_unref (pool);
  gst_harness_teardown (h);
  g_free (channel);
}

GST_END_TEST;

/* At max-pool-bytes the pool stops growing: upstream waits, and the
 * application is told why. */
/* The message of the warning @bus gets within 5 s, if it is a
 * NO_SPACE_LEFT one, for the caller to free; NULL otherwise. */
static gchar *
pop_no_space_warning (GstBus * bus)
{
  GstMessage *message = gst_bus_timed_pop_filtered (bus, 5 * GST_SECOND,
      GST_MESSAGE_WARNING);
  GError *error = NULL;
  gchar *text = NULL;

  if (!message)
    return NULL;
  gst_message_parse_warning (message, &error, NULL);
  if (g_error_matches (error, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_NO_SPACE_LEFT))
    text = g_strdup (error->message);
  else
    GST_WARNING ("not the warning expected: %s", error->message);
  g_error_free (error);
  gst_message_unref (message);
  return text;
}

/* The end of a test that held @n_held buffers of the sink's pool and
 * watched its element's @bus. */
static void
finish_holding (GstHarness * h, GstElement * sink, GstBufferPool * pool,
    gchar * channel, GstBus * bus, GstBuffer ** held, guint n_held)
{
  for (guint i = 0; i < n_held; i++)
    gst_buffer_unref (held[i]);
  finish_with_pool (h, sink, pool, channel);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
}

GST_START_TEST (test_pool_limit_warns)
{
  gchar *channel = unique_channel ("limit");
  GstHarness *h = sink_harness (channel);
  GstElement *sink = sink_of (h);
  GstBus *bus = gst_bus_new ();
  GstBufferPoolAcquireParams dontwait = {
    .flags = GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT
  };
  GstBuffer *held[2], *extra = NULL;
  GstBufferPool *pool;
  gchar *warning;

  gst_element_set_bus (h->element, bus);
  limit_pool (h, G_N_ELEMENTS (held));
  pool = proposed_pool (h, NULL);
  fail_unless (gst_buffer_pool_set_active (pool, TRUE));
  for (guint i = 0; i < G_N_ELEMENTS (held); i++)
    fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &held[i],
            NULL), GST_FLOW_OK);
  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &extra,
          &dontwait), GST_FLOW_EOS);
  fail_unless_equals_uint64 (element_stat (sink, "pool-limit-waits"), 1);

  warning = pop_no_space_warning (bus);
  fail_unless (warning != NULL, "no NO_SPACE_LEFT warning at the pool's "
      "limit");
  fail_unless (strstr (warning, "reached its limit") != NULL, "%s", warning);

  g_free (warning);
  finish_holding (h, sink, pool, channel, bus, held, G_N_ELEMENTS (held));
}

GST_END_TEST;

/* A limit of one chunk, or below one (a 4320p frame is 47 MB; half of
 * Docker's /dev/shm is 32), still gives upstream a pool of two: one for the
 * frame a subscriber's sink keeps, one to write the next into. */
GST_START_TEST (test_pool_limit_below_two_chunks)
{
  const guint64 limits[] = {
    GST_ROUND_UP_N ((guint64) VIDEO_SIZE, (guint64) sysconf (_SC_PAGESIZE)), 1
  };

  for (guint i = 0; i < G_N_ELEMENTS (limits); i++) {
    gchar *channel = unique_channel ("small-limit");
    GstHarness *h = sink_harness (channel);
    GstElement *sink = sink_of (h);
    guint max_buffers = 0;
    GstBufferPool *pool;
    GstBuffer *held[2];

    g_object_set (sink, "max-pool-bytes", limits[i], NULL);
    pool = proposed_pool (h, &max_buffers);
    fail_unless_equals_int (max_buffers, 2);
    fail_unless (gst_buffer_pool_set_active (pool, TRUE));
    for (guint k = 0; k < G_N_ELEMENTS (held); k++) {
      fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &held[k],
              NULL), GST_FLOW_OK);
      fail_unless (is_zero_cp_memory (gst_buffer_peek_memory (held[k], 0)));
    }
    for (guint k = 0; k < G_N_ELEMENTS (held); k++)
      fail_unless_equals_int (gst_harness_push (h, held[k]), GST_FLOW_OK);
    fail_unless_equals_uint64 (element_stat (sink, "frames-copied"), 0);
    fail_unless_equals_uint64 (element_stat (sink, "chunks-total"), 2);
    finish_with_pool (h, sink, pool, channel);
  }
}

GST_END_TEST;

/* The size of a /dev/shm that holds the control segment and @chunks chunks
 * of a VIDEO_SIZE frame. */
static gsize
small_dev_shm_size (gdouble chunks)
{
  /* A page more: the control segment ends in a page of its own. */
  return ZCP_CONTROL_SIZE + 4096 + (gsize) (chunks *
      GST_ROUND_UP_N ((gsize) VIDEO_SIZE, (gsize) sysconf (_SC_PAGESIZE)));
}

/* In a child: a mount namespace of its own, with a tmpfs of @size bytes on
 * /dev/shm; exit status 2 without one. */
static void
enter_small_dev_shm (gsize size)
{
  gchar *options = g_strdup_printf ("size=%" G_GSIZE_FORMAT, size);
  int mounted = unshare (CLONE_NEWNS) == 0 &&
      mount ("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == 0 &&
      mount ("tmpfs", "/dev/shm", "tmpfs", 0, options) == 0;

  g_free (options);
  if (!mounted)
    _exit (2);
}

/* Runs @body in a child, which writes the message it saw to the pipe it is
 * given and exits 0 when all went as expected, 2 without a namespace, else
 * the step that failed; the message must hold @expected. */
static void
run_on_small_dev_shm (const gchar * test, void (*body) (int report),
    const gchar * expected)
{
  gchar report[512] = { 0 };
  int status, pipe_fds[2];
  gssize length;
  pid_t child;

  fail_unless (pipe (pipe_fds) == 0);
  child = fork ();
  fail_unless (child >= 0);
  if (child == 0) {
    close (pipe_fds[0]);
    body (pipe_fds[1]);
  }
  close (pipe_fds[1]);
  length = read (pipe_fds[0], report, sizeof report - 1);
  close (pipe_fds[0]);
  fail_unless (waitpid (child, &status, 0) == child);

  if (WIFEXITED (status) && WEXITSTATUS (status) == 2) {
    g_print ("%s: SKIPPED: needs a mount namespace of its own (root)\n", test);
    return;
  }
  fail_unless (WIFEXITED (status) && WEXITSTATUS (status) == 0,
      "%s: the child on a small /dev/shm failed at step %d (status %d)",
      test, WIFEXITED (status) ? WEXITSTATUS (status) : -1, status);
  fail_unless (length > 0);
  fail_unless (strstr (report, expected) != NULL, "%s: %s", test, report);
}

/* The part of test_full_dev_shm_warns in a mount namespace of its own, with
 * a /dev/shm that holds the control segment and three chunks, and then one
 * more.  The warning's message goes to @report. */
static void
publish_on_small_dev_shm (int report)
{
  gsize room = small_dev_shm_size (3);
  gchar *options;
  GstBufferPoolAcquireParams dontwait = {
    .flags = GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT
  };
  GstBuffer *held[4], *extra = NULL;
  gint64 deadline;
  GstBufferPool *pool;
  gchar *warning;
  gchar *channel = unique_channel ("small-shm");
  GstElement *sink;
  GstHarness *h;
  GstBus *bus;

  enter_small_dev_shm (room);
  h = sink_harness (channel);
  sink = sink_of (h);
  bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  /* Far above half of this /dev/shm: its room runs out first. */
  g_object_set (sink, "max-pool-bytes", (guint64) 1 << 30, NULL);
  pool = proposed_pool (h, NULL);
  if (!gst_buffer_pool_set_active (pool, TRUE))
    _exit (3);
  for (guint i = 0; i < 3; i++) {
    if (gst_buffer_pool_acquire_buffer (pool, &held[i], NULL) != GST_FLOW_OK)
      _exit (4);
    /* Every byte: a chunk handed out has its memory. */
    memset (writable_data (held[i]), 0x44, VIDEO_SIZE);
  }
  if (gst_buffer_pool_acquire_buffer (pool, &extra, &dontwait) != GST_FLOW_EOS)
    _exit (5);
  if (element_stat (sink, "chunks-total") != 3)
    _exit (6);

  warning = pop_no_space_warning (bus);
  if (!warning)
    _exit (7);
  if (write (report, warning, strlen (warning)) < 0)
    _exit (8);

  /* /dev/shm made larger while every chunk is held: within a few seconds,
   * the pool takes the room. */
  options = g_strdup_printf ("size=%" G_GSIZE_FORMAT, small_dev_shm_size (4));
  if (mount ("tmpfs", "/dev/shm", "tmpfs", MS_REMOUNT, options) != 0)
    _exit (9);
  g_free (options);
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (gst_buffer_pool_acquire_buffer (pool, &held[3], &dontwait) !=
      GST_FLOW_OK) {
    if (g_get_monotonic_time () >= deadline)
      _exit (10);
    g_usleep (10 * 1000);
  }
  memset (writable_data (held[3]), 0x55, VIDEO_SIZE);
  if (element_stat (sink, "chunks-total") <= 3)
    _exit (11);

  /* Torn down all the same: valgrind checks this process's leaks too. */
  g_free (warning);
  finish_holding (h, sink, pool, channel, bus, held, G_N_ELEMENTS (held));
  _exit (0);
}

GST_START_TEST (test_full_dev_shm_warns)
{
  run_on_small_dev_shm ("test_full_dev_shm_warns", publish_on_small_dev_shm,
      "No room left in /dev/shm");
}

GST_END_TEST;

/* The part of test_dev_shm_too_small_for_a_frame in a mount namespace of
 * its own, with a /dev/shm that holds the control segment and half a chunk.
 * The error's message goes to @report. */
static void
propose_on_tiny_dev_shm (int report)
{
  gchar *channel = unique_channel ("tiny-shm");
  GstCaps *caps = gst_caps_from_string (VIDEO_CAPS);
  GstQuery *query = gst_query_new_allocation (caps, TRUE);
  GstMessage *message;
  GError *error = NULL;
  GstHarness *h;
  GstBus *bus;

  enter_small_dev_shm (small_dev_shm_size (0.5));
  h = sink_harness (channel);
  bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  if (gst_pad_peer_query (h->srcpad, query))
    _exit (3);
  message = gst_bus_timed_pop_filtered (bus, 5 * GST_SECOND, GST_MESSAGE_ERROR);
  if (!message)
    _exit (4);
  gst_message_parse_error (message, &error, NULL);
  if (!g_error_matches (error, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_NO_SPACE_LEFT))
    _exit (5);
  if (write (report, error->message, strlen (error->message)) < 0)
    _exit (6);

  g_error_free (error);
  gst_message_unref (message);
  gst_query_unref (query);
  gst_caps_unref (caps);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (channel);
  _exit (0);
}

/* Not one frame fits in /dev/shm: the sink says so when upstream asks for
 * its pool, rather than hand out a pool that cannot start (which upstream
 * would report as not-negotiated). */
GST_START_TEST (test_dev_shm_too_small_for_a_frame)
{
  run_on_small_dev_shm ("test_dev_shm_too_small_for_a_frame",
      propose_on_tiny_dev_shm, "Not enough shared memory");
}

GST_END_TEST;

GST_START_TEST (test_bad_channel_names)
{
  gchar *long_name = g_strnfill (201, 'a');
  gchar *description;

  assert_pipeline_error ("videotestsrc ! zerocpsink channel=a/b",
      GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS);
  description = g_strdup_printf ("videotestsrc ! zerocpsink channel=%s",
      long_name);
  assert_pipeline_error (description, GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_SETTINGS);
  assert_pipeline_error ("videotestsrc ! zerocpsink", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_SETTINGS);
  g_free (description);
  g_free (long_name);
}

GST_END_TEST;

GST_START_TEST (test_second_publisher_refused)
{
  gchar *channel = unique_channel ("busy");
  GstHarness *h = sink_harness (channel);
  gchar *description = g_strdup_printf ("videotestsrc ! zerocpsink "
      "channel=%s", channel);

  assert_pipeline_error (description, GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_BUSY);
  gst_harness_teardown (h);
  g_free (description);
  g_free (channel);
}

GST_END_TEST;

/* A dead publisher's channel that another process is removing and does not
 * let go of (stopped, say) is an error after a second that says so, not a
 * hang and not "a live publisher". */
GST_START_TEST (test_channel_being_removed_is_an_error)
{
  gchar *channel = unique_channel ("removing");
  gchar *name = g_strdup_printf ("/zerocp.%s", channel);
  gchar *description = g_strdup_printf ("videotestsrc ! zerocpsink "
      "channel=%s", channel);
  struct zcp_publisher *publisher;
  GstElement *pipeline;
  int status, fd;
  pid_t child;

  child = fork ();
  if (child == 0) {
    /* Killed, as a publisher that dies (and so that valgrind does not
     * count what it never freed). */
    if (zcp_publisher_open (channel, 0600, &publisher) == 0)
      raise (SIGKILL);
    _exit (1);
  }
  fail_unless (waitpid (child, &status, 0) == child &&
      WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL, "status %d",
      status);
  fd = shm_open (name, O_RDWR | O_CLOEXEC, 0);
  fail_unless (fd >= 0);
  fail_unless_equals_int (zcp_liveness_acquire (fd, ZCP_LOCK_BYTE_REMOVAL), 0);

  pipeline = gst_parse_launch (description, NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  expect_pipeline_error (pipeline, description, GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_BUSY, "is being removed by another process", NULL);

  close (fd);
  fail_unless_equals_int (zcp_channel_clean (channel), 0);
  g_free (description);
  g_free (name);
  g_free (channel);
}

GST_END_TEST;

static gpointer
push_until_refused (gpointer data)
{
  GstHarness *h = data;
  GstFlowReturn ret = GST_FLOW_OK;

  /* System memory: each frame takes the copy path and a chunk. */
  while (ret == GST_FLOW_OK)
    ret = gst_harness_push (h, gst_buffer_new_allocate (NULL, VIDEO_SIZE,
            NULL));
  return GINT_TO_POINTER (ret);
}

/* Each larger frame retires the pool before it; a subscriber that holds a
 * frame of each keeps every entry of the pool table taken.  The frame that
 * needs one more is an error that says so, not "a live publisher". */
GST_START_TEST (test_every_pool_held_is_an_error)
{
  gchar *channel = unique_channel ("pools-held");
  GstHarness *h = sink_harness (channel);
  struct zcp_subscriber *holder;
  GstBus *bus = gst_bus_new ();

  gst_element_set_bus (h->element, bus);
  fail_unless_equals_int (zcp_subscriber_open (channel, &holder), 0);
  /* Twice as large each time: more than the room a pool leaves. */
  for (guint i = 0; i < ZCP_POOLS_MAX; i++)
    fail_unless_equals_int (gst_harness_push (h,
            gst_buffer_new_allocate (NULL, 4096 << i, NULL)), GST_FLOW_OK);
  fail_unless_equals_int (gst_harness_push (h, gst_buffer_new_allocate (NULL,
              4096 << ZCP_POOLS_MAX, NULL)), GST_FLOW_ERROR);

  check_error_message (gst_bus_timed_pop_filtered (bus, 5 * GST_SECOND,
          GST_MESSAGE_ERROR), "a pool too many", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_BUSY, "still hold frames", NULL);

  zcp_subscriber_close (holder);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (channel);
}

GST_END_TEST;

/* What a subscriber sends upstream is text the sink has GStreamer parse: a
 * buffer that is not hex (on which GStreamer 1.22 reads the freed buffer),
 * arrays nested 500 deep and text after the structure are refused, with a
 * warning in the debug log, and the custom event after them reaches
 * upstream. */
GST_START_TEST (test_unsafe_upstream_text_is_refused)
{
  gchar *channel = unique_channel ("upstream-text");
  GstHarness *h = sink_harness (channel);
  gchar *deep = g_strnfill (500, '<');
  gchar *texts[] = {
    g_strdup_printf ("%u zerocp-test, b=(buffer)0g",
        (guint) GST_EVENT_CUSTOM_UPSTREAM),
    g_strdup_printf ("%u zerocp-test, a=(int)%s1",
        (guint) GST_EVENT_CUSTOM_UPSTREAM, deep),
    g_strdup_printf ("%u zerocp-test; and then",
        (guint) GST_EVENT_CUSTOM_UPSTREAM),
    g_strdup_printf ("%u zerocp-test, good=(boolean)true",
        (guint) GST_EVENT_CUSTOM_UPSTREAM),
  };
  struct zcp_subscriber *subscriber;
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  guint customs = 0;
  gboolean good = FALSE;

  fail_unless_equals_int (zcp_subscriber_open (channel, &subscriber), 0);
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    fail_unless_equals_int (zcp_subscriber_send_upstream (subscriber,
            texts[i]), 0);
  /* The sink relays them in order: the good one comes last. */
  while (!good && g_get_monotonic_time () < deadline) {
    GstEvent *event = gst_harness_try_pull_upstream_event (h);

    if (!event) {
      g_usleep (1000);
      continue;
    }
    if (GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_UPSTREAM) {
      customs++;
      good = gst_structure_has_field (gst_event_get_structure (event), "good");
    }
    gst_event_unref (event);
  }
  fail_unless (good, "the event after the refused ones did not come");
  fail_unless_equals_int (customs, 1);

  zcp_subscriber_close (subscriber);
  gst_harness_teardown (h);
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    g_free (texts[i]);
  g_free (deep);
  g_free (channel);
}

GST_END_TEST;

/* Opens a lossless subscriber that reads nothing and pushes until the
 * push is blocked behind it: every chunk of the pool (held at 8) held, and
 * the render waiting for one to come free.  Returns the pushing thread. */
static GThread *
push_until_stalled (GstHarness * h, GstElement * sink, const gchar * channel,
    struct zcp_subscriber **stalled)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  GThread *thread;

  limit_pool (h, 8);
  fail_unless_equals_int (zcp_subscriber_open (channel, stalled), 0);
  thread = g_thread_new ("push", push_until_refused, h);
  /* Counted by the claim that found the pool at its limit, in render: the
   * full pool alone could be seen between two buffers. */
  while (element_stat (sink, "pool-limit-waits") == 0) {
    fail_unless (g_get_monotonic_time () < deadline, "pool never filled");
    g_usleep (1000);
  }
  return thread;
}

GST_START_TEST (test_stalled_subscriber_does_not_hang_stop)
{
  gchar *channel = unique_channel ("stalled");
  GstHarness *h = sink_harness (channel);
  GstElement *sink = sink_of (h);
  struct zcp_subscriber *stalled;
  GThread *thread = push_until_stalled (h, sink, channel, &stalled);

  /* Stopping must not wait for the subscriber. */
  fail_unless_equals_int (gst_element_set_state (h->element,
          GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  fail_unless_equals_int (GPOINTER_TO_INT (g_thread_join (thread)),
      GST_FLOW_FLUSHING);

  zcp_subscriber_close (stalled);
  gst_object_unref (sink);
  gst_harness_teardown (h);
  g_free (channel);
}

GST_END_TEST;

/* A pause does not end the wait for chunks that a lossless subscriber
 * holds: once it lets one go, the frames held behind it go out. */
GST_START_TEST (test_pause_lets_a_full_subscriber_catch_up)
{
  gchar *channel = unique_channel ("pause-full");
  GstHarness *h = sink_harness (channel);
  GstElement *sink = sink_of (h);
  struct zcp_subscriber *subscriber;
  GThread *thread = push_until_stalled (h, sink, channel, &subscriber);
  guint64 published = element_stat (sink, "frames-published");
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  struct zcp_frame frame;
  struct zcp_chunk chunk;

  fail_if (gst_element_set_state (h->element, GST_STATE_PAUSED) ==
      GST_STATE_CHANGE_FAILURE);
  fail_unless_equals_int (next_buffer (subscriber, &frame, &chunk), 0);
  zcp_chunk_release (&chunk);
  while (element_stat (sink, "frames-published") == published) {
    fail_unless (g_get_monotonic_time () < deadline, "the pause ended the "
        "push");
    g_usleep (1000);
  }

  fail_unless_equals_int (gst_element_set_state (h->element,
          GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  fail_unless_equals_int (GPOINTER_TO_INT (g_thread_join (thread)),
      GST_FLOW_FLUSHING);
  zcp_subscriber_close (subscriber);
  gst_object_unref (sink);
  gst_harness_teardown (h);
  g_free (channel);
}

GST_END_TEST;

static gpointer
push_one_frame (gpointer data)
{
  GstHarness *h = data;

  return GINT_TO_POINTER (gst_harness_push (h, gst_buffer_new_allocate (NULL,
              VIDEO_SIZE, NULL)));
}

/* Checks, a moment after the push started, that it is still held: nothing
 * published.  A sink that did not hold would have published well within
 * it. */
static void
check_push_held (GstElement * sink, guint64 published)
{
  g_usleep (200 * 1000);
  fail_unless_equals_uint64 (element_stat (sink, "frames-published"),
      published);
}

/* wait-for-connection holds the stream while nobody listens: at the start,
 * and again once the last subscriber has left, as shmsink's does; stopping
 * lets go of a held push. */
GST_START_TEST (test_wait_for_connection_holds_while_nobody_listens)
{
  gchar *channel = unique_channel ("wait");
  GstHarness *h = sink_harness (channel);
  GstElement *sink = sink_of (h);
  struct zcp_subscriber *subscriber;
  struct zcp_frame frame;
  struct zcp_chunk chunk;
  GThread *thread;

  g_object_set (sink, "wait-for-connection", TRUE, NULL);
  thread = g_thread_new ("push", push_one_frame, h);
  check_push_held (sink, 0);

  fail_unless_equals_int (zcp_subscriber_open_with_queue (channel, 4,
          ZCP_LEAKY_NO, &subscriber), 0);
  fail_unless_equals_int (GPOINTER_TO_INT (g_thread_join (thread)),
      GST_FLOW_OK);
  fail_unless_equals_int (next_buffer (subscriber, &frame, &chunk), 0);
  fail_unless_equals_uint64 (frame.size, VIDEO_SIZE);
  zcp_chunk_release (&chunk);
  zcp_subscriber_close (subscriber);

  thread = g_thread_new ("push", push_one_frame, h);
  check_push_held (sink, 1);
  fail_unless_equals_int (gst_element_set_state (h->element,
          GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  fail_unless_equals_int (GPOINTER_TO_INT (g_thread_join (thread)),
      GST_FLOW_FLUSHING);

  gst_object_unref (sink);
  gst_harness_teardown (h);
  g_free (channel);
}

GST_END_TEST;

/* The next buffer of @subscriber, waiting up to 10 s: slow enough for the
 * sanitizers and valgrind, which a test that passes never waits out. */
static int
next_buffer_within_10_s (struct zcp_subscriber *subscriber,
    struct zcp_frame *frame, struct zcp_chunk *chunk)
{
  int ret = -ETIMEDOUT;

  for (int i = 0; i < 10 && ret == -ETIMEDOUT; i++)
    ret = next_buffer (subscriber, frame, chunk);
  return ret;
}

/* A state change while wait-for-connection holds the stream.  A pause lets
 * the wait go on, and neither it nor the way back to PLAYING waits for a
 * subscriber (PAUSED to PLAYING takes the lock basesink renders under: a
 * subscriber in the same pipeline comes only in PLAYING).  READY ends the
 * wait, and the stream waits again once it plays.  Either way a subscriber
 * that comes then gets frames. */
GST_START_TEST (test_state_changes_while_waiting_for_a_subscriber)
{
  static const GstState interruptions[] = { GST_STATE_PAUSED,
    GST_STATE_READY
  };

  for (guint i = 0; i < G_N_ELEMENTS (interruptions); i++) {
    gchar *channel = unique_channel ("wait-state");
    gchar *description = g_strdup_printf ("videotestsrc ! " VIDEO_CAPS " ! "
        "zerocpsink name=sink channel=%s wait-for-connection=true "
        "sync=false", channel);
    GstElement *pipeline = gst_parse_launch (description, NULL);
    GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
    struct zcp_subscriber *subscriber;
    struct zcp_frame frame;
    struct zcp_chunk chunk;

    GST_INFO ("interrupted by %s",
        gst_element_state_get_name (interruptions[i]));
    fail_unless_equals_int (gst_element_set_state (pipeline,
            GST_STATE_PLAYING), GST_STATE_CHANGE_ASYNC);
    fail_unless_equals_int (gst_element_get_state (pipeline, NULL, NULL,
            10 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
    check_push_held (sink, 0);

    fail_if (gst_element_set_state (pipeline, interruptions[i]) ==
        GST_STATE_CHANGE_FAILURE);
    fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
        GST_STATE_CHANGE_FAILURE);

    fail_unless_equals_int (zcp_subscriber_open_with_queue (channel, 4,
            ZCP_LEAKY_NO, &subscriber), 0);
    fail_unless_equals_int (next_buffer_within_10_s (subscriber, &frame,
            &chunk), 0);
    fail_unless_equals_uint64 (frame.size, VIDEO_SIZE);
    zcp_chunk_release (&chunk);

    fail_unless_equals_int (gst_element_set_state (pipeline,
            GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
    zcp_subscriber_close (subscriber);
    gst_object_unref (sink);
    gst_object_unref (pipeline);
    g_free (description);
    g_free (channel);
  }
}

GST_END_TEST;

/* A process out of file descriptors is told so, and what to do. */
GST_START_TEST (test_too_many_open_files_says_so)
{
  gchar *channel = unique_channel ("nofd");
  gchar *description =
      g_strdup_printf ("videotestsrc ! zerocpsink channel=%s", channel);

  assert_error_without_file_descriptors (description, channel);
  g_free (description);
  g_free (channel);
}

GST_END_TEST;

/* Frames cross in system memory: caps in another memory (a GPU surface
 * such as DeepStream's memory:NVMM, whose bytes are a handle) are refused,
 * and upstream that asks is offered its caps in system memory, so that it
 * converts. */
GST_START_TEST (test_only_system_memory_caps)
{
  gchar *channel = unique_channel ("sysmem");
  GstHarness *h = sink_harness (channel);
  GstCaps *gpu = gst_caps_from_string ("video/x-raw(memory:NVMM),"
      "format=NV12,width=320,height=240,framerate=30/1");
  GstCaps *system = gst_caps_from_string (VIDEO_CAPS);
  GstCaps *either = gst_caps_merge (gst_caps_ref (gpu),
      gst_caps_ref (system));
  GstCaps *offered;

  fail_if (gst_pad_peer_query_accept_caps (h->srcpad, gpu));
  fail_unless (gst_pad_peer_query_accept_caps (h->srcpad, system));
  offered = gst_pad_peer_query_caps (h->srcpad, either);
  fail_unless (gst_caps_is_equal (offered, system), "offered %"
      GST_PTR_FORMAT, offered);

  gst_caps_unref (offered);
  gst_caps_unref (either);
  gst_caps_unref (system);
  gst_caps_unref (gpu);
  gst_harness_teardown (h);
  g_free (channel);
}

GST_END_TEST;

static Suite *
zerocpsink_suite (void)
{
  Suite *s = suite_create ("zerocpsink");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_properties_read_back);
  tcase_add_test (tc, test_proposed_pool_is_used);
  tcase_add_test (tc, test_pool_reuses_memory_and_holds_follow_buffers);
  tcase_add_test (tc, test_foreign_buffer_is_copied_and_counted);
  tcase_add_test (tc, test_decoders_write_into_the_pool);
  tcase_add_test (tc, test_buffer_rendered_twice_is_copied);
  tcase_add_test (tc, test_full_pool_waits_and_flushes);
  tcase_add_test (tc, test_pool_limit_warns);
  tcase_add_test (tc, test_pool_limit_below_two_chunks);
  tcase_add_test (tc, test_full_dev_shm_warns);
  tcase_add_test (tc, test_dev_shm_too_small_for_a_frame);
  tcase_add_test (tc, test_bad_channel_names);
  tcase_add_test (tc, test_second_publisher_refused);
  tcase_add_test (tc, test_channel_being_removed_is_an_error);
  tcase_add_test (tc, test_stalled_subscriber_does_not_hang_stop);
  tcase_add_test (tc, test_every_pool_held_is_an_error);
  tcase_add_test (tc, test_growing_copies_leave_room);
  tcase_add_test (tc, test_wait_for_connection_holds_while_nobody_listens);
  tcase_add_test (tc, test_state_changes_while_waiting_for_a_subscriber);
  tcase_add_test (tc, test_pause_lets_a_full_subscriber_catch_up);
  tcase_add_test (tc, test_too_many_open_files_says_so);
  tcase_add_test (tc, test_only_system_memory_caps);
  tcase_add_test (tc, test_unsafe_upstream_text_is_refused);
  return s;
}

GST_CHECK_MAIN (zerocpsink);
