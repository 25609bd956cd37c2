/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:gstzerocpallocator
 * @title: GstZeroCpAllocator
 * @short_description: shared-memory chunks of a zerocp channel as GstMemory
 *
 * Each #GstMemory holds one process's reference on one chunk: while it lives,
 * this process's bit is set in the chunk's holder mask, and when it is freed
 * the bit is cleared, so the cross-process reference count follows the
 * lifetime of the buffers that use the chunk.  Only the root memory holds the
 * reference; memories shared from it keep the root alive instead, as
 * gstfdmemory does with its file descriptor.  The pools of zerocpsink and
 * zerocpsrc keep a memory past its buffer's use, bare: it drops the chunk
 * first and takes the next one on reuse.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstzerocpallocator.h"

GST_DEBUG_CATEGORY_STATIC (gst_zero_cp_allocator_debug);
#define GST_CAT_DEFAULT gst_zero_cp_allocator_debug

typedef struct
{
  GstMemory mem;
  struct zcp_chunk chunk;       /* held by the root memory only */
  guint8 *data;                 /* start of the chunk */
} GstZeroCpMemory;

struct _GstZeroCpAllocator
{
  GstAllocator parent;

  gint chunks_held;             /* atomic */
  /* zerocpsink's: copies of its memory land in its chunks.  Set once. */
  struct zcp_publisher *publisher;
};

G_DEFINE_TYPE_WITH_CODE (GstZeroCpAllocator, gst_zero_cp_allocator,
    GST_TYPE_ALLOCATOR, GST_DEBUG_CATEGORY_INIT (gst_zero_cp_allocator_debug,
        "zerocpallocator", 0, "zerocp shared-memory chunks"));

static gpointer
gst_zero_cp_mem_map (GstMemory * gmem, gsize maxsize, GstMapFlags flags)
{
  GstZeroCpMemory *mem = (GstZeroCpMemory *) gmem;

  if (gmem->parent)
    return gst_zero_cp_mem_map (gmem->parent, maxsize, flags);

  /* The chunk is mapped for as long as the memory lives: nothing to do. */
  return mem->data;
}

static void
gst_zero_cp_mem_unmap (GstMemory * gmem)
{
}

static GstMemory *
gst_zero_cp_mem_share (GstMemory * gmem, gssize offset, gssize size)
{
  GstZeroCpMemory *mem = (GstZeroCpMemory *) gmem;
  GstZeroCpMemory *sub;
  GstMemory *parent;

  if (size == -1)
    size = gmem->size - offset;

  parent = gmem->parent ? gmem->parent : gmem;

  sub = g_new0 (GstZeroCpMemory, 1);
  /* A share is read-only: another buffer sees the same bytes. */
  gst_memory_init (GST_MEMORY_CAST (sub),
      GST_MINI_OBJECT_FLAGS (parent) | GST_MINI_OBJECT_FLAG_LOCK_READONLY,
      gmem->allocator, parent, gmem->maxsize, gmem->align,
      gmem->offset + offset, size);
  sub->data = mem->data;
  return GST_MEMORY_CAST (sub);
}

static gboolean
gst_zero_cp_mem_is_span (GstMemory * mem1, GstMemory * mem2, gsize * offset)
{
  GstMemory *root1 = mem1->parent ? mem1->parent : mem1;
  GstMemory *root2 = mem2->parent ? mem2->parent : mem2;

  /* Same chunk, and mem2 starts where mem1 ends. */
  if (root1 != root2 || mem1->offset + mem1->size != mem2->offset)
    return FALSE;
  if (offset)
    *offset = mem1->offset;
  return TRUE;
}

/* Unchecked: every frame takes and gives up a hold, and the checked cast
 * costs more than the count. */
#define HOLDS(allocator) (&((GstZeroCpAllocator *) (allocator))->chunks_held)

/* Takes over @chunk's hold for @mem. */
static void
take_hold (GstAllocator * allocator, GstZeroCpMemory * mem,
    struct zcp_chunk *chunk)
{
  mem->chunk = *chunk;
  mem->data = chunk->data;
  memset (chunk, 0, sizeof *chunk);
  g_atomic_int_inc (HOLDS (allocator));
}

static void
release_hold (GstAllocator * allocator, GstZeroCpMemory * mem)
{
  if (!mem->chunk.map)
    return;
  zcp_chunk_release (&mem->chunk);
  mem->data = NULL;
  g_atomic_int_add (HOLDS (allocator), -1);
}

guint
gst_zero_cp_allocator_chunks_held (GstAllocator * allocator)
{
  return (guint) g_atomic_int_get (HOLDS (allocator));
}

static void
gst_zero_cp_allocator_free (GstAllocator * allocator, GstMemory * gmem)
{
  GstZeroCpMemory *mem = (GstZeroCpMemory *) gmem;

  if (!gmem->parent)
    release_hold (allocator, mem);
  g_free (mem);
}

static GstMemory *gst_zero_cp_allocator_wrap (GstAllocator * allocator,
    struct zcp_chunk *chunk, gsize offset, gsize size, gboolean readonly);

/* A copy of a publisher's memory goes into a chunk of its own when one is
 * free now: the copy GstVideoDecoder makes of a frame its decoder still
 * references (avdec_h264 decoding into our pool) is then published as it
 * is, not copied a second time by the sink.  Anything else (a subscriber's
 * memory, a pool at its limit, a channel closed) is copied into system
 * memory, as GstAllocator's own fallback does. */
static GstMemory *
gst_zero_cp_mem_copy (GstMemory * gmem, gssize offset, gssize size)
{
  GstZeroCpAllocator *self = (GstZeroCpAllocator *) gmem->allocator;
  const guint8 *bytes = ((GstZeroCpMemory *) gmem)->data + gmem->offset;
  GstAllocationParams params = {.align = gmem->align };
  struct zcp_chunk chunk;
  GstMemory *copy;
  GstMapInfo map;

  if (size == -1)
    size = (gssize) gmem->size > offset ? (gssize) gmem->size - offset : 0;

  if (self->publisher &&
      zcp_publisher_claim (self->publisher, &chunk, 0, NULL) == 0) {
    if (chunk.capacity >= (guint64) size) {
      memcpy (chunk.data, bytes + offset, size);
      return gst_zero_cp_allocator_wrap (gmem->allocator, &chunk, 0, size,
          FALSE);
    }
    zcp_chunk_release (&chunk);
  }

  copy = gst_allocator_alloc (NULL, size, &params);
  if (!copy || !gst_memory_map (copy, &map, GST_MAP_WRITE)) {
    g_clear_pointer (&copy, gst_memory_unref);
    return NULL;
  }
  memcpy (map.data, bytes + offset, size);
  gst_memory_unmap (copy, &map);
  return copy;
}

static void
gst_zero_cp_allocator_finalize (GObject * object)
{
  GstZeroCpAllocator *self = GST_ZERO_CP_ALLOCATOR (object);

  if (self->publisher)
    zcp_publisher_unref (self->publisher);
  G_OBJECT_CLASS (gst_zero_cp_allocator_parent_class)->finalize (object);
}

static void
gst_zero_cp_allocator_class_init (GstZeroCpAllocatorClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstAllocatorClass *allocator_class = GST_ALLOCATOR_CLASS (klass);

  gobject_class->finalize = gst_zero_cp_allocator_finalize;
  /* No alloc: memory comes only from chunks of a channel. */
  allocator_class->alloc = NULL;
  allocator_class->free = gst_zero_cp_allocator_free;
}

static void
gst_zero_cp_allocator_init (GstZeroCpAllocator * self)
{
  GstAllocator *allocator = GST_ALLOCATOR_CAST (self);

  allocator->mem_type = GST_ZERO_CP_MEMORY_TYPE;
  allocator->mem_map = gst_zero_cp_mem_map;
  allocator->mem_unmap = gst_zero_cp_mem_unmap;
  allocator->mem_share = gst_zero_cp_mem_share;
  allocator->mem_is_span = gst_zero_cp_mem_is_span;
  allocator->mem_copy = gst_zero_cp_mem_copy;

  GST_OBJECT_FLAG_SET (allocator, GST_ALLOCATOR_FLAG_CUSTOM_ALLOC);
}

GstAllocator *
gst_zero_cp_allocator_new (struct zcp_publisher *publisher)
{
  GstZeroCpAllocator *self = g_object_new (GST_TYPE_ZERO_CP_ALLOCATOR, NULL);

  if (publisher)
    self->publisher = zcp_publisher_ref (publisher);
  return GST_ALLOCATOR_CAST (self);
}

/* Wraps @chunk (its hold is taken over: freeing the memory releases it) as a
 * memory of @size bytes at @offset in the chunk.  A @readonly memory is
 * flagged so that GStreamer copies before anyone writes. */
static GstMemory *
gst_zero_cp_allocator_wrap (GstAllocator * allocator, struct zcp_chunk *chunk,
    gsize offset, gsize size, gboolean readonly)
{
  GstZeroCpMemory *mem;

  g_return_val_if_fail (GST_IS_ZERO_CP_ALLOCATOR (allocator), NULL);
  g_return_val_if_fail (chunk->map != NULL, NULL);
  g_return_val_if_fail (offset <= chunk->capacity &&
      size <= chunk->capacity - offset, NULL);

  mem = g_new0 (GstZeroCpMemory, 1);
  gst_memory_init (GST_MEMORY_CAST (mem),
      readonly ? GST_MEMORY_FLAG_READONLY : 0, allocator, NULL,
      chunk->capacity, 0, offset, size);
  take_hold (allocator, mem, chunk);

  GST_LOG_OBJECT (allocator, "memory %p: pool %u chunk %u, %" G_GSIZE_FORMAT
      " bytes at %" G_GSIZE_FORMAT, mem, mem->chunk.pool_index,
      mem->chunk.chunk_index, size, offset);
  return GST_MEMORY_CAST (mem);
}

/* Drops the chunk of @buffer's one memory and keeps the memory, bare, if
 * it is a root memory of @allocator that nothing else references. */
static gboolean
keep_bare_memory (GstBuffer * buffer, GstAllocator * allocator)
{
  GstMemory *gmem;
  GstZeroCpMemory *mem;

  if (gst_buffer_n_memory (buffer) != 1)
    return FALSE;
  gmem = gst_buffer_peek_memory (buffer, 0);
  mem = (GstZeroCpMemory *) gmem;
  /* A count of 1 is the buffer's own: nothing else can reach the memory
   * to take another while the buffer is in the pool's hands. */
  if (gmem->allocator != allocator || gmem->parent ||
      GST_MINI_OBJECT_REFCOUNT_VALUE (gmem) != 1)
    return FALSE;

  GST_LOG_OBJECT (gmem->allocator, "memory %p: drops pool %u chunk %u", mem,
      mem->chunk.pool_index, mem->chunk.chunk_index);
  release_hold (allocator, mem);
  gmem->offset = 0;
  gmem->size = 0;
  return TRUE;
}

void
gst_zero_cp_buffer_release_chunk (GstBuffer * buffer, GstAllocator * allocator)
{
  /* A memory that another buffer or a share still references goes, and
   * gives up its hold when they do; so does anything that is not ours. */
  if (!keep_bare_memory (buffer, allocator))
    gst_buffer_remove_all_memory (buffer);
  /* Not the pool's frame any more: GstBufferPool's reset, which follows,
   * leaves the size of a tagged buffer alone.  Resizing the bare memory,
   * which the next chunk gives its size anyway, was most of the reset. */
  GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_TAG_MEMORY);
}

/* Points the bare memory gst_zero_cp_buffer_release_chunk() left in
 * @buffer at @chunk. */
static void
fill_bare_memory (GstBuffer * buffer, GstAllocator * allocator,
    struct zcp_chunk *chunk, gsize offset, gsize size)
{
  GstMemory *gmem = gst_buffer_peek_memory (buffer, 0);
  GstZeroCpMemory *mem = (GstZeroCpMemory *) gmem;

  g_return_if_fail (gst_buffer_n_memory (buffer) == 1 &&
      gmem->allocator == allocator && mem->chunk.map == NULL);
  g_return_if_fail (chunk->map != NULL && offset <= chunk->capacity &&
      size <= chunk->capacity - offset);

  /* Chunks of a later pool may be larger. */
  gmem->maxsize = chunk->capacity;
  gmem->offset = offset;
  gmem->size = size;
  take_hold (allocator, mem, chunk);

  GST_LOG_OBJECT (gmem->allocator, "memory %p: pool %u chunk %u, %"
      G_GSIZE_FORMAT " bytes at %" G_GSIZE_FORMAT, mem, mem->chunk.pool_index,
      mem->chunk.chunk_index, size, offset);
}

void
gst_zero_cp_buffer_attach_chunk (GstBuffer * buffer, GstAllocator * allocator,
    struct zcp_chunk *chunk, gsize offset, gsize size, gboolean readonly)
{
  if (gst_buffer_n_memory (buffer) == 0)
    gst_buffer_append_memory (buffer, gst_zero_cp_allocator_wrap (allocator,
            chunk, offset, size, readonly));
  else
    fill_bare_memory (buffer, allocator, chunk, offset, size);
  /* The memory is where the buffer was born, not a later change. */
  GST_BUFFER_FLAG_UNSET (buffer, GST_BUFFER_FLAG_TAG_MEMORY);
}

const struct zcp_chunk *
gst_zero_cp_memory_get_chunk (GstAllocator * allocator, GstMemory * mem)
{
  /* The allocator's pointer rather than its memory type's name: the name
   * would cost every frame two more cache lines, cold at a camera's rate. */
  if (mem->allocator != allocator)
    return NULL;
  if (mem->parent)
    mem = mem->parent;
  return &((GstZeroCpMemory *) mem)->chunk;
}
