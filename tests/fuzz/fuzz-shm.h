/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the shared-memory fuzz targets share: the hostile peer's own view of
 * a channel's control segment, and the input format, records of
 * [u8 where][u16 offset, little-endian][u8 length][length bytes], each
 * rewriting bytes of a region that `where` picks.
 */
#ifndef ZCP_FUZZ_SHM_H
#define ZCP_FUZZ_SHM_H

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zcp-layout.h"

/* Maps channel @channel's control segment read-write, as any process of
 * its user can, and keeps a copy of it as it is now in *@pristine, for
 * putting it back between inputs.  Aborts on failure: nothing to fuzz. */
static inline uint8_t *
fuzz_map_control (const char *channel, uint8_t ** pristine)
{
  char name[128];
  uint8_t *control;
  int fd;

  snprintf (name, sizeof name, "/zerocp.%s", channel);
  fd = shm_open (name, O_RDWR, 0);
  control = mmap (NULL, ZCP_CONTROL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
      fd, 0);
  close (fd);
  if (control == MAP_FAILED)
    abort ();
  *pristine = malloc (ZCP_CONTROL_SIZE);
  memcpy (*pristine, control, ZCP_CONTROL_SIZE);
  return control;
}

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
