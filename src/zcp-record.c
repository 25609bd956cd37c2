/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zcp-record.h"
#include "zcp.h"

_Static_assert (ZCP_EVENT_MAX ==
    sizeof ((struct zcp_shm_event_record *) 0)->data,
    "ZCP_EVENT_MAX is the payload room of a record");
_Static_assert (ZCP_STICKY_MAX == ZCP_STICKY_PARTS * ZCP_EVENT_MAX,
    "a sticky kind's records hold its longest event");
_Static_assert (ZCP_STICKY_KINDS == ZCP_SHM_STICKY_KINDS,
    "each sticky kind has its records");

static void
begin_write (struct zcp_shm_event_record *record, uint32_t * seq)
{
  *seq = atomic_load_explicit (&record->seq, memory_order_relaxed);
  /* odd while the record is being written */
  atomic_store_explicit (&record->seq, *seq + 1, memory_order_relaxed);
  /* release fence; pairs with the acquire fence in zcp_record_read_into */
  atomic_thread_fence (memory_order_release);
}

static void
end_write (struct zcp_shm_event_record *record, uint32_t seq)
{
  /* release; pairs with the acquire load of seq in zcp_record_read_into */
  atomic_store_explicit (&record->seq, seq + 2, memory_order_release);
}

static void
record_write (struct zcp_shm_event_record *record, uint64_t number,
    uint32_t sticky, const char *data, uint32_t length, uint32_t total_length)
{
  uint32_t seq;

  begin_write (record, &seq);
  atomic_store_explicit (&record->number, number, memory_order_relaxed);
  atomic_store_explicit (&record->sticky, sticky, memory_order_relaxed);
  atomic_store_explicit (&record->length, length, memory_order_relaxed);
  atomic_store_explicit (&record->total_length, total_length,
      memory_order_relaxed);
  memcpy (record->data, data, length);
  end_write (record, seq);
}

static uint32_t
parts_of (uint64_t length)
{
  return length == 0 ? 1 :
      (uint32_t) ((length + ZCP_EVENT_MAX - 1) / ZCP_EVENT_MAX);
}

static uint32_t
part_length (uint64_t length, uint32_t part)
{
  uint64_t at = (uint64_t) part * ZCP_EVENT_MAX;

  return (uint32_t) (length - at < ZCP_EVENT_MAX ? length - at : ZCP_EVENT_MAX);
}

void
zcp_records_write (struct zcp_shm_event_record *records, uint32_t count,
    uint32_t start, uint64_t number, uint32_t sticky, const char *data,
    size_t length)
{
  uint32_t parts = parts_of (length);

  for (uint32_t i = 0; i < parts; i++)
    record_write (&records[(start + i) % count], number + i, sticky,
        data + (size_t) i * ZCP_EVENT_MAX, part_length (length, i),
        (uint32_t) length);
}

void
zcp_record_clear (struct zcp_shm_event_record *record)
{
  uint32_t seq;

  begin_write (record, &seq);
  atomic_store_explicit (&record->number, 0, memory_order_relaxed);
  atomic_store_explicit (&record->length, 0, memory_order_relaxed);
  atomic_store_explicit (&record->total_length, 0, memory_order_relaxed);
  end_write (record, seq);
}

int
zcp_record_read_into (const struct zcp_shm_event_record *record,
    uint64_t * number_out, uint32_t * sticky_out, char *data,
    uint32_t * length_out, uint32_t * total_length_out)
{
  for (int attempt = 0; attempt < 1000; attempt++) {
    /* acquire; pairs with the release store of seq in end_write */
    uint32_t seq = atomic_load_explicit (&record->seq, memory_order_acquire);
    uint32_t length, total_length, sticky;
    uint64_t number;

    if (seq & 1)
      continue;
    number = atomic_load_explicit (&record->number, memory_order_relaxed);
    sticky = atomic_load_explicit (&record->sticky, memory_order_relaxed);
    length = atomic_load_explicit (&record->length, memory_order_relaxed);
    total_length = atomic_load_explicit (&record->total_length,
        memory_order_relaxed);
    if (length > sizeof record->data)
      length = sizeof record->data;
    if (data)
      memcpy (data, record->data, length);
    /* acquire fence; pairs with the release fence in begin_write: if the
     * copy overlapped a write, seq has moved. */
    atomic_thread_fence (memory_order_acquire);
    if (atomic_load_explicit (&record->seq, memory_order_relaxed) != seq)
      continue;

    if (number == 0)
      return -ENOENT;
    *number_out = number;
    *sticky_out = sticky;
    *length_out = length;
    *total_length_out = total_length;
    return 0;
  }
  return -EAGAIN;
}

int
zcp_records_read (const struct zcp_shm_event_record *records,
    uint32_t count, uint32_t start, uint64_t first, uint64_t size,
    char **data_out)
{
  uint32_t parts;
  char *data;

  /* No event takes more records than there are: a hostile length would
   * only cost a large allocation before a part's number refuses it. */
  if (size > (uint64_t) count * ZCP_EVENT_MAX)
    return -EPROTO;
  parts = parts_of (size);
  data = malloc ((size_t) parts * ZCP_EVENT_MAX + 1);
  if (!data)
    return -ENOMEM;
  for (uint32_t i = 0; i < parts; i++) {
    uint32_t length, total_length, sticky;
    uint64_t number;
    int ret = zcp_record_read_into (&records[(start + i) % count], &number,
        &sticky, data + (size_t) i * ZCP_EVENT_MAX, &length, &total_length);

    if (ret == 0 && (number != first + i || length != part_length (size, i)))
      ret = -ESTALE;
    if (ret < 0) {
      free (data);
      return ret;
    }
  }
  data[size] = '\0';
  *data_out = data;
  return 0;
}
