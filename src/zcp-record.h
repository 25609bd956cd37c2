/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "zcp-layout.h"

/*
 * Event records: written by the publisher under a seqlock, read by any
 * number of subscribers, each of which copies a record out and checks that
 * no write overlapped the copy.  An event longer than one record's payload
 * (ZCP_EVENT_MAX bytes) takes consecutive records, part i in the record
 * after part i - 1's, numbered one more.
 */

/* Writer (one thread): @length bytes of @data, no NUL needed, in as many
 * records as they take (one, even for nothing): part i in
 * records[(@start + i) % @count], numbered @number + i.  @count must be at
 * least that many. */
void zcp_records_write (struct zcp_shm_event_record *records, uint32_t count,
    uint32_t start, uint64_t number, uint32_t sticky, const char *data,
    size_t length);

/* Writer: empties @record, as if it had never been written. */
void zcp_record_clear (struct zcp_shm_event_record *record);

/* Reader: a consistent copy of @record's payload into @data, which has room
 * for a whole record's (ZCP_EVENT_MAX bytes), not terminated, or none for a
 * NULL @data; its number, sticky kind, length and the whole event's length
 * to the other arguments.
 * -ENOENT for a record never written, -EAGAIN if writes kept overlapping
 * (only a hostile publisher does that). */
int zcp_record_read_into (const struct zcp_shm_event_record *record,
    uint64_t *number, uint32_t *sticky, char *data, uint32_t *length,
    uint32_t *total_length);

/* Reader: the @size bytes zcp_records_write() wrote from @first on into the
 * same @records, @count and @start, in a new NUL-terminated string for
 * free(), with room for a whole record at each part (a hostile publisher
 * may claim so).  -ESTALE if a part is not of that event (its record
 * written again since), -EPROTO if @size is more than @count records hold,
 * -ENOENT or -EAGAIN as above, -ENOMEM. */
int zcp_records_read (const struct zcp_shm_event_record *records,
    uint32_t count, uint32_t start, uint64_t first, uint64_t size,
    char **data);
