/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The input format the shared-memory fuzz targets share: records of
 * [u8 where][u16 offset, little-endian][u8 length][length bytes], each
 * rewriting bytes of a region that `where` picks.
 */
#ifndef ZCP_FUZZ_RECORDS_H
#define ZCP_FUZZ_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fuzz_record
{
  unsigned where;
  uint16_t offset;
  const uint8_t *bytes;
  size_t length;                /* cut to what the input still holds */
};

/* Takes the next record off @data; false at the end of the input. */
static inline bool
fuzz_record_next (const uint8_t ** data, size_t *size,
    struct fuzz_record *record)
{
  if (*size < 4)
    return false;
  record->where = (*data)[0];
  record->offset = (uint16_t) ((*data)[1] | (*data)[2] << 8);
  record->length = (*data)[3];
  *data += 4;
  *size -= 4;
  if (record->length > *size)
    record->length = *size;
  record->bytes = *data;
  *data += record->length;
  *size -= record->length;
  return true;
}

/* Writes @record's bytes into @region at its offset taken modulo
 * @region_length, as many as fit before the region's end. */
static inline void
fuzz_record_write (uint8_t * region, uint32_t region_length,
    const struct fuzz_record *record)
{
  uint32_t at = record->offset % region_length;
  size_t room = region_length - at;

  memcpy (region + at, record->bytes,
      record->length < room ? record->length : room);
}

#endif
