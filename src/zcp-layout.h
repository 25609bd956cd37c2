/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Every structure that lives in shared memory, and nothing else.
 *
 * Rules: fixed-width fields only (no pointers, size_t, bool or enums), offsets
 * instead of pointers, explicit zeroed reserved fields, and a static assert on
 * the size and on the offset of every field, so that two builds of zerocp that
 * agree on ZCP_LAYOUT_VERSION agree on every byte.  Bump ZCP_LAYOUT_VERSION
 * whenever a width, an order or a meaning changes.
 */

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

_Static_assert (ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");
_Static_assert (ATOMIC_LLONG_LOCK_FREE == 2,
    "64-bit atomics must be lock-free: they are shared between processes");

#define ZCP_MAGIC UINT64_C(0x314e41484350435a)  /* "ZCPCHAN1" in memory order */
#define ZCP_LAYOUT_VERSION 8u

#define ZCP_MAX_POOLS 8u
#define ZCP_MAX_CHUNKS_PER_POOL 256u
#define ZCP_MAX_SUBSCRIBERS 63u
#define ZCP_ALL_SLOTS ((UINT64_C (1) << ZCP_MAX_SUBSCRIBERS) - 1)
#define ZCP_RING_CAPACITY 64u   /* power of two: indices are free-running */
#define ZCP_CAPS_ENTRIES 4u
#define ZCP_CAPS_ENTRY_SIZE 16384u
#define ZCP_MAX_PLANES 4u
/* Serialized events: the last ZCP_EVENT_RECORDS by number, twice what one
 * ring can queue, so that a queued event's record is still there; and the
 * latest of each of the ZCP_SHM_STICKY_KINDS sticky kinds, for subscribers
 * that join later, in ZCP_STICKY_PARTS records of the kind's own. */
#define ZCP_EVENT_RECORDS 128u
#define ZCP_SHM_STICKY_KINDS 12u
#define ZCP_STICKY_PARTS 8u
#define ZCP_EVENT_RECORD_SIZE 4096u
/* Upstream events a subscriber may have waiting for the publisher. */
#define ZCP_UPSTREAM_RECORDS 4u
#define ZCP_UPSTREAM_RECORD_SIZE 1024u

/* Holder-mask bit of the publisher; bit s (s < 63) is subscriber slot s. */
#define ZCP_PUBLISHER_BIT 63u

/* Liveness tokens: byte 0 of the control segment's file is the publisher's,
 * byte 1 + s is subscriber slot s's.  Byte 64 is no token: whoever removes
 * a dead publisher's channel holds it meanwhile (zcp-segment.h). */
#define ZCP_LOCK_BYTE_PUBLISHER 0u
#define ZCP_LOCK_BYTE_SLOT(s) (1u + (s))
#define ZCP_LOCK_BYTE_REMOVAL 64u
_Static_assert (ZCP_LOCK_BYTE_REMOVAL >
    ZCP_LOCK_BYTE_SLOT (ZCP_MAX_SUBSCRIBERS - 1),
    "the removal byte is no slot's token");

enum
{
  ZCP_SEGMENT_STATE_INITIALIZING = 0,
  ZCP_SEGMENT_STATE_READY = 1,
  ZCP_SEGMENT_STATE_CLOSED = 2,   /* the publisher left in an orderly way */
};

enum
{
  ZCP_POOL_STATE_FREE = 0,
  ZCP_POOL_STATE_ACTIVE = 1,
  ZCP_POOL_STATE_RETIRED = 2,     /* no new claims; unlinked once all free */
};

enum
{
  ZCP_SLOT_STATE_FREE = 0,
  ZCP_SLOT_STATE_ACTIVE = 1,
  ZCP_SLOT_STATE_LEAVING = 2,     /* subscriber detaching; publisher reclaims */
  ZCP_SLOT_STATE_RECLAIMING = 3,  /* publisher clearing a departed slot */
};

/* Zero, what a slot starts with, is lossless: what every build that did not
 * know these fields did. */
enum
{
  ZCP_SLOT_LEAKY_NO = 0,          /* the publisher waits for room */
  ZCP_SLOT_LEAKY_UPSTREAM = 1,    /* the publisher skips the new frame */
  ZCP_SLOT_LEAKY_DOWNSTREAM = 2,  /* the publisher drops the oldest queued */
};

enum
{
  ZCP_SHM_DESC_KIND_BUFFER = 1,
  ZCP_SHM_DESC_KIND_EOS = 2,
  ZCP_SHM_DESC_KIND_EVENT = 3,
};

/* No sticky kind: an event that only travels in order. */
#define ZCP_SHM_STICKY_NONE UINT32_MAX
/* In an event descriptor's event_sticky: its record holds the caps of the
 * generation the descriptor names, sent in order ahead of the first frame
 * that has them.  The caps entries keep only the last ZCP_CAPS_ENTRIES
 * generations, and a subscriber may have more changes queued than that. */
#define ZCP_SHM_EVENT_CAPS 0x53504143u

/* A process-shared wake-up: a futex word and a count of sleepers, so that a
 * signal costs no system call when nobody sleeps.  The count's top bit says
 * that a signaller has made the wake-up call for those counted, who have not
 * run since: signals until one of them looks again make none. */
#define ZCP_SHM_SLEEPERS_WAKING 0x80000000u

struct zcp_shm_event
{
  _Atomic uint32_t seq;
  _Atomic uint32_t waiters;
};

_Static_assert (sizeof (struct zcp_shm_event) == 8, "event size");
_Static_assert (offsetof (struct zcp_shm_event, seq) == 0, "event.seq");
_Static_assert (offsetof (struct zcp_shm_event, waiters) == 4, "event.waiters");

struct zcp_shm_header
{
  uint64_t magic;
  uint32_t layout_version;
  uint32_t header_size;
  uint64_t segment_size;
  uint32_t max_pools;
  uint32_t pool_stride;
  uint32_t max_chunks_per_pool;
  uint32_t max_subscribers;
  uint32_t slot_stride;
  uint32_t ring_capacity;
  uint32_t desc_size;
  uint32_t caps_entries;
  uint32_t caps_entry_size;
  uint32_t reserved0;
  uint64_t pools_offset;
  uint64_t masks_offset;
  uint64_t caps_offset;
  uint64_t slots_offset;
  _Atomic uint32_t state;
  uint32_t epoch;
  uint32_t publisher_pid;
  _Atomic uint32_t caps_generation;
  _Atomic uint64_t frames_published;
  _Atomic uint64_t frames_copied;
  /* "a chunk came free / ring space / a subscriber came or went": the
   * publisher sleeps here. */
  struct zcp_shm_event publisher_event;
  /* "a subscriber left an upstream event": the publisher's monitor sleeps
   * here, so that frames released never wake it. */
  struct zcp_shm_event upstream_event;
  /* Latency of the publisher's pipeline up to its sink, in nanoseconds. */
  _Atomic uint64_t latency;
  uint64_t events_offset;
  uint32_t event_records;
  uint32_t sticky_records;      /* all sticky kinds' records */
  /* "a descriptor was pushed": every subscriber sleeps on this word, on the
   * bit of its slot (zcp_event_wait_shared_until), so that one wake-up call
   * serves a frame's subscribers however many. */
  _Atomic uint32_t subscriber_wake;
  /* The most chunks the active pools may have: what they have and what the
   * limit, the pool table and the room left in /dev/shm let them grow by
   * (only what they have while /dev/shm refuses room).  0 before the first
   * pool.  A subscriber keeps
   * at most its share of them and copies the frames beyond it, so that
   * what one holds cannot stall the publisher and the others. */
  _Atomic uint32_t chunk_capacity;
  /* Bit s: slot s may be active.  A subscriber sets its bit before it makes
   * its slot ACTIVE, the publisher clears it before it frees the slot, so
   * that a frame looks at one word and the slots it names, not at 63 slots
   * on as many pages.  The slot's state stays the truth. */
  _Atomic uint64_t active_slots;
  uint8_t reserved[72];
};

_Static_assert (sizeof (struct zcp_shm_header) == 256, "header size");
_Static_assert (offsetof (struct zcp_shm_header, magic) == 0, "magic");
_Static_assert (offsetof (struct zcp_shm_header, layout_version) == 8, "ver");
_Static_assert (offsetof (struct zcp_shm_header, header_size) == 12, "hsize");
_Static_assert (offsetof (struct zcp_shm_header, segment_size) == 16, "ssize");
_Static_assert (offsetof (struct zcp_shm_header, max_pools) == 24, "pools");
_Static_assert (offsetof (struct zcp_shm_header, pool_stride) == 28, "pstr");
_Static_assert (offsetof (struct zcp_shm_header, max_chunks_per_pool) == 32,
    "chunks");
_Static_assert (offsetof (struct zcp_shm_header, max_subscribers) == 36,
    "subs");
_Static_assert (offsetof (struct zcp_shm_header, slot_stride) == 40, "sstr");
_Static_assert (offsetof (struct zcp_shm_header, ring_capacity) == 44, "ring");
_Static_assert (offsetof (struct zcp_shm_header, desc_size) == 48, "desc");
_Static_assert (offsetof (struct zcp_shm_header, caps_entries) == 52, "caps");
_Static_assert (offsetof (struct zcp_shm_header, caps_entry_size) == 56,
    "capsz");
_Static_assert (offsetof (struct zcp_shm_header, reserved0) == 60, "res0");
_Static_assert (offsetof (struct zcp_shm_header, pools_offset) == 64, "poff");
_Static_assert (offsetof (struct zcp_shm_header, masks_offset) == 72, "moff");
_Static_assert (offsetof (struct zcp_shm_header, caps_offset) == 80, "coff");
_Static_assert (offsetof (struct zcp_shm_header, slots_offset) == 88, "soff");
_Static_assert (offsetof (struct zcp_shm_header, state) == 96, "state");
_Static_assert (offsetof (struct zcp_shm_header, epoch) == 100, "epoch");
_Static_assert (offsetof (struct zcp_shm_header, publisher_pid) == 104, "pid");
_Static_assert (offsetof (struct zcp_shm_header, caps_generation) == 108,
    "capsgen");
_Static_assert (offsetof (struct zcp_shm_header, frames_published) == 112,
    "published");
_Static_assert (offsetof (struct zcp_shm_header, frames_copied) == 120,
    "copied");
_Static_assert (offsetof (struct zcp_shm_header, publisher_event) == 128,
    "pubev");
_Static_assert (offsetof (struct zcp_shm_header, upstream_event) == 136,
    "upev");
_Static_assert (offsetof (struct zcp_shm_header, latency) == 144, "latency");
_Static_assert (offsetof (struct zcp_shm_header, events_offset) == 152,
    "eoff");
_Static_assert (offsetof (struct zcp_shm_header, event_records) == 160,
    "erecs");
_Static_assert (offsetof (struct zcp_shm_header, sticky_records) == 164,
    "srecs");
_Static_assert (offsetof (struct zcp_shm_header, subscriber_wake) == 168,
    "subwake");
_Static_assert (offsetof (struct zcp_shm_header, chunk_capacity) == 172,
    "capacity");
_Static_assert (offsetof (struct zcp_shm_header, active_slots) == 176,
    "active");
_Static_assert (offsetof (struct zcp_shm_header, reserved) == 184, "res");

/* One entry of the pool table.  The pool's chunks live in a segment of their
 * own whose name is derived from the channel, the epoch, the pool's index and
 * generation: names are never read from shared memory. */
struct zcp_shm_pool
{
  _Atomic uint32_t state;
  _Atomic uint32_t generation;
  uint32_t chunk_count;
  uint32_t reserved0;
  uint64_t chunk_size;
  uint64_t chunk_stride;
  uint64_t segment_size;
  uint64_t reserved[3];
};

_Static_assert (sizeof (struct zcp_shm_pool) == 64, "pool size");
_Static_assert (offsetof (struct zcp_shm_pool, state) == 0, "pool.state");
_Static_assert (offsetof (struct zcp_shm_pool, generation) == 4, "pool.gen");
_Static_assert (offsetof (struct zcp_shm_pool, chunk_count) == 8, "count");
_Static_assert (offsetof (struct zcp_shm_pool, reserved0) == 12, "pool.res0");
_Static_assert (offsetof (struct zcp_shm_pool, chunk_size) == 16, "csize");
_Static_assert (offsetof (struct zcp_shm_pool, chunk_stride) == 24, "cstride");
_Static_assert (offsetof (struct zcp_shm_pool, segment_size) == 32, "segsize");
_Static_assert (offsetof (struct zcp_shm_pool, reserved) == 40, "pool.res");

/* Caps strings, written under a seqlock; entry g % ZCP_CAPS_ENTRIES holds
 * generation g: the caps of a subscriber that joins, and of any generation
 * too long for an event record (the others also travel in order, see
 * ZCP_SHM_EVENT_CAPS). */
struct zcp_shm_caps
{
  _Atomic uint32_t seq;
  _Atomic uint32_t generation;
  _Atomic uint32_t length;
  uint32_t reserved0;
  char data[ZCP_CAPS_ENTRY_SIZE - 16];
};

_Static_assert (sizeof (struct zcp_shm_caps) == ZCP_CAPS_ENTRY_SIZE, "caps");
_Static_assert (offsetof (struct zcp_shm_caps, seq) == 0, "caps.seq");
_Static_assert (offsetof (struct zcp_shm_caps, generation) == 4, "caps.gen");
_Static_assert (offsetof (struct zcp_shm_caps, length) == 8, "caps.len");
_Static_assert (offsetof (struct zcp_shm_caps, data) == 16, "caps.data");

struct zcp_shm_video
{
  uint32_t format;
  uint32_t width;
  uint32_t height;
  uint32_t n_planes;
  uint32_t flags;
  uint32_t reserved0;
  uint64_t offset[ZCP_MAX_PLANES];
  int32_t stride[ZCP_MAX_PLANES];
};

_Static_assert (sizeof (struct zcp_shm_video) == 72, "video size");
_Static_assert (offsetof (struct zcp_shm_video, format) == 0, "v.format");
_Static_assert (offsetof (struct zcp_shm_video, width) == 4, "v.width");
_Static_assert (offsetof (struct zcp_shm_video, height) == 8, "v.height");
_Static_assert (offsetof (struct zcp_shm_video, n_planes) == 12, "v.planes");
_Static_assert (offsetof (struct zcp_shm_video, flags) == 16, "v.flags");
_Static_assert (offsetof (struct zcp_shm_video, reserved0) == 20, "v.res0");
_Static_assert (offsetof (struct zcp_shm_video, offset) == 24, "v.offset");
_Static_assert (offsetof (struct zcp_shm_video, stride) == 56, "v.stride");

/* A serialized event, opaque to the library, written under a seqlock:
 * record n % ZCP_EVENT_RECORDS of the event ring holds event number n. */
struct zcp_shm_event_record
{
  _Atomic uint32_t seq;
  _Atomic uint32_t sticky;      /* its sticky kind, or ZCP_SHM_STICKY_NONE */
  _Atomic uint64_t number;      /* from 1; 0 in a record never written */
  _Atomic uint32_t length;      /* of its part */
  _Atomic uint32_t total_length;        /* of the whole event */
  char data[ZCP_EVENT_RECORD_SIZE - 24];
};

_Static_assert (sizeof (struct zcp_shm_event_record) == ZCP_EVENT_RECORD_SIZE,
    "event record size");
_Static_assert (offsetof (struct zcp_shm_event_record, seq) == 0, "er.seq");
_Static_assert (offsetof (struct zcp_shm_event_record, sticky) == 4, "er.st");
_Static_assert (offsetof (struct zcp_shm_event_record, number) == 8, "er.n");
_Static_assert (offsetof (struct zcp_shm_event_record, length) == 16, "er.l");
_Static_assert (offsetof (struct zcp_shm_event_record, total_length) == 20,
    "er.tl");
_Static_assert (offsetof (struct zcp_shm_event_record, data) == 24, "er.d");

/* An event a subscriber sends upstream to the publisher. */
struct zcp_shm_upstream_record
{
  uint32_t length;
  uint32_t reserved0;
  char data[ZCP_UPSTREAM_RECORD_SIZE - 8];
};

_Static_assert (sizeof (struct zcp_shm_upstream_record) ==
    ZCP_UPSTREAM_RECORD_SIZE, "upstream record size");

/* One entry of a subscriber's ring.  Times are nanoseconds, UINT64_MAX for
 * "none"; pts and dts are absolute CLOCK_MONOTONIC times, segment_pts and
 * segment_dts the buffer's own, in the publisher's segment.  An event
 * descriptor names its records by number, and so does a buffer descriptor
 * whose metas travel with it (its meta_size is their length, 0 for none). */
struct zcp_shm_desc
{
  uint32_t kind;
  uint32_t buffer_flags;
  uint32_t pool_index;
  uint32_t pool_generation;
  uint32_t chunk_index;
  uint32_t caps_generation;
  uint64_t offset;
  uint64_t size;
  uint64_t pts;
  uint64_t dts;
  uint64_t duration;
  uint64_t media_offset;
  uint64_t media_offset_end;
  uint64_t sequence;
  uint32_t has_video;
  union
  {
    uint32_t event_sticky;      /* an event's */
    uint32_t meta_size;         /* a buffer's */
  };
  struct zcp_shm_video video;
  uint64_t event_number;
  uint64_t segment_pts;
  uint64_t segment_dts;
};

_Static_assert (sizeof (struct zcp_shm_desc) == 192, "desc size");
_Static_assert (offsetof (struct zcp_shm_desc, kind) == 0, "d.kind");
_Static_assert (offsetof (struct zcp_shm_desc, buffer_flags) == 4, "d.flags");
_Static_assert (offsetof (struct zcp_shm_desc, pool_index) == 8, "d.pool");
_Static_assert (offsetof (struct zcp_shm_desc, pool_generation) == 12, "d.gen");
_Static_assert (offsetof (struct zcp_shm_desc, chunk_index) == 16, "d.chunk");
_Static_assert (offsetof (struct zcp_shm_desc, caps_generation) == 20, "d.cg");
_Static_assert (offsetof (struct zcp_shm_desc, offset) == 24, "d.offset");
_Static_assert (offsetof (struct zcp_shm_desc, size) == 32, "d.size");
_Static_assert (offsetof (struct zcp_shm_desc, pts) == 40, "d.pts");
_Static_assert (offsetof (struct zcp_shm_desc, dts) == 48, "d.dts");
_Static_assert (offsetof (struct zcp_shm_desc, duration) == 56, "d.dur");
_Static_assert (offsetof (struct zcp_shm_desc, media_offset) == 64, "d.mo");
_Static_assert (offsetof (struct zcp_shm_desc, media_offset_end) == 72,
    "d.moe");
_Static_assert (offsetof (struct zcp_shm_desc, sequence) == 80, "d.seq");
_Static_assert (offsetof (struct zcp_shm_desc, has_video) == 88, "d.hv");
_Static_assert (offsetof (struct zcp_shm_desc, event_sticky) == 92, "d.est");
_Static_assert (offsetof (struct zcp_shm_desc, meta_size) == 92, "d.ms");
_Static_assert (offsetof (struct zcp_shm_desc, video) == 96, "d.video");
_Static_assert (offsetof (struct zcp_shm_desc, event_number) == 168, "d.en");
_Static_assert (offsetof (struct zcp_shm_desc, segment_pts) == 176, "d.spts");
_Static_assert (offsetof (struct zcp_shm_desc, segment_dts) == 184, "d.sdts");

/* A subscriber slot.  The publisher writes write_index and the ring entries;
 * the subscriber writes read_index and what changes with it per frame (its
 * count of sleepers on the header's subscriber_wake, frames delivered); the
 * first line changes only with the slot, its policy, or a dropped frame.
 * Each group has a cache line of its own, so that a frame moves one line
 * each way and no more. */
struct zcp_shm_slot
{
  _Atomic uint32_t state;
  _Atomic uint32_t pid;
  uint64_t reserved0;
  _Atomic uint64_t dropped;
  /* The subscriber's queue policy, which it may change at any time: at most
   * max_buffers buffer descriptors queued (0 = the whole ring), and what the
   * publisher does when that many are (ZCP_SLOT_LEAKY_*). */
  _Atomic uint32_t max_buffers;
  _Atomic uint32_t leaky;
  uint8_t reserved1[32];
  _Alignas (64) _Atomic uint32_t write_index;
  uint8_t reserved2[60];
  _Alignas (64) _Atomic uint32_t read_index;
  _Atomic uint32_t sleepers;
  _Atomic uint64_t delivered;
  /* 1 from just before the subscriber takes a descriptor until it has
   * opened the pool the descriptor names: its ring reads empty meanwhile,
   * and a dead publisher's last subscriber must not remove that pool.
   * Zero, as in the reserved bytes before it, is "not taking". */
  _Atomic uint32_t taking;
  uint8_t reserved3[44];
  struct zcp_shm_desc ring[ZCP_RING_CAPACITY];
  /* Upstream events, the other way round: the subscriber writes records
   * and upstream_write, the publisher upstream_read. */
  _Alignas (64) _Atomic uint32_t upstream_write;
  _Atomic uint32_t upstream_read;
  uint8_t reserved4[56];
  struct zcp_shm_upstream_record upstream[ZCP_UPSTREAM_RECORDS];
};

_Static_assert (sizeof (struct zcp_shm_slot) == 192 + 192 * ZCP_RING_CAPACITY
    + 64 + ZCP_UPSTREAM_RECORDS * ZCP_UPSTREAM_RECORD_SIZE, "slot size");
_Static_assert (sizeof (struct zcp_shm_slot) % 64 == 0, "slot alignment");
_Static_assert (offsetof (struct zcp_shm_slot, state) == 0, "s.state");
_Static_assert (offsetof (struct zcp_shm_slot, pid) == 4, "s.pid");
_Static_assert (offsetof (struct zcp_shm_slot, reserved0) == 8, "s.res0");
_Static_assert (offsetof (struct zcp_shm_slot, dropped) == 16, "s.drop");
_Static_assert (offsetof (struct zcp_shm_slot, max_buffers) == 24, "s.maxb");
_Static_assert (offsetof (struct zcp_shm_slot, leaky) == 28, "s.leaky");
_Static_assert (offsetof (struct zcp_shm_slot, reserved1) == 32, "s.res1");
_Static_assert (offsetof (struct zcp_shm_slot, write_index) == 64, "s.wi");
_Static_assert (offsetof (struct zcp_shm_slot, read_index) == 128, "s.ri");
_Static_assert (offsetof (struct zcp_shm_slot, sleepers) == 132, "s.sleep");
_Static_assert (offsetof (struct zcp_shm_slot, delivered) == 136, "s.deliv");
_Static_assert (offsetof (struct zcp_shm_slot, taking) == 144, "s.taking");
_Static_assert (offsetof (struct zcp_shm_slot, ring) == 192, "s.ring");
_Static_assert (offsetof (struct zcp_shm_slot, upstream_write) ==
    192 + 192 * ZCP_RING_CAPACITY, "s.uw");
_Static_assert (offsetof (struct zcp_shm_slot, upstream_read) ==
    196 + 192 * ZCP_RING_CAPACITY, "s.ur");
_Static_assert (offsetof (struct zcp_shm_slot, upstream) ==
    256 + 192 * ZCP_RING_CAPACITY, "s.up");

/* The control segment, in order: header, pool table, holder masks
 * (pool-major: mask of chunk c of pool p at p * ZCP_MAX_CHUNKS_PER_POOL + c),
 * publish times, caps entries, subscriber slots, event records (the ring,
 * then ZCP_STICKY_PARTS per sticky kind). */
#define ZCP_POOLS_OFFSET ((uint64_t) sizeof (struct zcp_shm_header))
#define ZCP_MASKS_OFFSET \
  (ZCP_POOLS_OFFSET + (uint64_t) ZCP_MAX_POOLS * sizeof (struct zcp_shm_pool))
/* When each chunk was last published (CLOCK_MONOTONIC ns, one uint64_t per
 * chunk, pool-major as the masks): only for reports of how long subscribers
 * hold frames; nothing is decided on it. */
#define ZCP_PUBLISHED_OFFSET \
  (ZCP_MASKS_OFFSET + (uint64_t) ZCP_MAX_POOLS * ZCP_MAX_CHUNKS_PER_POOL * 8u)
#define ZCP_CAPS_OFFSET \
  (ZCP_PUBLISHED_OFFSET + (uint64_t) ZCP_MAX_POOLS * ZCP_MAX_CHUNKS_PER_POOL * \
   8u)
#define ZCP_SLOTS_OFFSET \
  (ZCP_CAPS_OFFSET + (uint64_t) ZCP_CAPS_ENTRIES * ZCP_CAPS_ENTRY_SIZE)
#define ZCP_EVENTS_OFFSET \
  (ZCP_SLOTS_OFFSET + \
   (uint64_t) ZCP_MAX_SUBSCRIBERS * sizeof (struct zcp_shm_slot))
#define ZCP_CONTROL_SIZE \
  (ZCP_EVENTS_OFFSET + (uint64_t) (ZCP_EVENT_RECORDS + \
       ZCP_SHM_STICKY_KINDS * ZCP_STICKY_PARTS) * ZCP_EVENT_RECORD_SIZE)

_Static_assert (ZCP_SLOTS_OFFSET % 64 == 0, "slots must be cache aligned");
