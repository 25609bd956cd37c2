/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "zcp-layout.h"

/*
 * Event records: written by the publisher under a seqlock, read by any
 * number of subscribers, each of which copies a record out and checks that
 * no write overlapped the copy.
 */

/* Writer (one thread): @length bytes of @data, no NUL needed. */
void zcp_record_write (struct zcp_shm_event_record *record, uint64_t number,
    uint32_t sticky, const char *data, uint32_t length);

/* Writer: empties @record, as if it had never been written. */
void zcp_record_clear (struct zcp_shm_event_record *record);

/* Reader: a consistent copy of @record's payload, NUL-terminated, in a new
 * string for free().  Its number and sticky kind go to @number and @sticky.
 * -ENOENT for a record never written, -EAGAIN if writes kept overlapping
 * (only a hostile publisher does that), -ENOMEM. */
int zcp_record_read (const struct zcp_shm_event_record *record,
    uint64_t *number, uint32_t *sticky, char **data);

/* Reader: the same into @data, which has room for a whole record's payload
 * (ZCP_EVENT_MAX bytes), not terminated; its length to @length. */
int zcp_record_read_into (const struct zcp_shm_event_record *record,
    uint64_t *number, uint32_t *sticky, char *data, uint32_t *length);
