/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zcp-record.h"
#include "zcp.h"

_Static_assert (ZCP_EVENT_MAX ==
    sizeof ((struct zcp_shm_event_record *) 0)->data,
    "ZCP_EVENT_MAX is the payload room of a record");

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

void
zcp_record_write (struct zcp_shm_event_record *record, uint64_t number,
    uint32_t sticky, const char *data, uint32_t length)
{
  uint32_t seq;

  begin_write (record, &seq);
  atomic_store_explicit (&record->number, number, memory_order_relaxed);
  atomic_store_explicit (&record->sticky, sticky, memory_order_relaxed);
  atomic_store_explicit (&record->length, length, memory_order_relaxed);
  memcpy (record->data, data, length);
  end_write (record, seq);
}

void
zcp_record_clear (struct zcp_shm_event_record *record)
{
  uint32_t seq;

  begin_write (record, &seq);
  atomic_store_explicit (&record->number, 0, memory_order_relaxed);
  atomic_store_explicit (&record->length, 0, memory_order_relaxed);
  end_write (record, seq);
}

int
zcp_record_read_into (const struct zcp_shm_event_record *record,
    uint64_t * number_out, uint32_t * sticky_out, char *data,
    uint32_t * length_out)
{
  for (int attempt = 0; attempt < 1000; attempt++) {
    /* acquire; pairs with the release store of seq in end_write */
    uint32_t seq = atomic_load_explicit (&record->seq, memory_order_acquire);
    uint32_t length, sticky;
    uint64_t number;

    if (seq & 1)
      continue;
    number = atomic_load_explicit (&record->number, memory_order_relaxed);
    sticky = atomic_load_explicit (&record->sticky, memory_order_relaxed);
    length = atomic_load_explicit (&record->length, memory_order_relaxed);
    if (length > sizeof record->data)
      length = sizeof record->data;
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
    return 0;
  }
  return -EAGAIN;
}

int
zcp_record_read (const struct zcp_shm_event_record *record,
    uint64_t * number_out, uint32_t * sticky_out, char **data_out)
{
  char *data = malloc (sizeof record->data + 1);
  uint32_t length;
  int ret;

  if (!data)
    return -ENOMEM;
  ret = zcp_record_read_into (record, number_out, sticky_out, data, &length);
  if (ret < 0) {
    free (data);
    return ret;
  }
  data[length] = '\0';
  *data_out = data;
  return 0;
}
