/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zcp-layout.h"

/* Longest shm name we build: "/zerocp." + channel + "@%08x.%u.%u". */
#define ZCP_SHM_NAME_SIZE 256u

/* Directory where Linux keeps POSIX shared memory, for inotify and clean-up. */
#define ZCP_SHM_DIR "/dev/shm"

int zcp_segment_control_name (const char *channel, char *name, size_t size);

/* Pool names carry '@', which channel names cannot, so that the pools of
 * channel "a" are never confused with the control segment of channel "a.b". */
int zcp_segment_pool_name (const char *channel, uint32_t epoch, uint32_t index,
    uint32_t generation, char *name, size_t size);

/* Creates @name exclusively with @mode and @size bytes, reserves the first
 * @reserve of them (so that a full /dev/shm fails here, with -ENOSPC, and not
 * with SIGBUS on a later write) and maps it read-write.  The rest stays a
 * hole, which takes no memory until zcp_segment_reserve().  Unlinks what it
 * made on failure. */
int zcp_segment_create (const char *name, uint32_t mode, uint64_t size,
    uint64_t reserve, int *fd, void **base);

/* The same, taking the liveness token @token_byte of the file as soon as it
 * exists, before it has a size: a control segment made under its name is
 * without its publisher's token only for that moment.  -EAGAIN if a
 * remover took the token first (nothing unlinked: the name is the
 * remover's to unlink, or another's by then). */
int zcp_segment_create_with_token (const char *name, uint32_t mode,
    uint64_t size, uint64_t reserve, uint32_t token_byte, int *fd,
    void **base);

/* The same, as an unnamed file in /dev/shm (O_TMPFILE), which nobody else
 * can open until zcp_segment_link() names it: a control segment is made
 * whole, its header written and its publisher's token taken, before any
 * subscriber or zerocp-inspect can see it.  -EOPNOTSUPP where the kernel
 * or the file system cannot. */
int zcp_segment_create_unnamed (uint32_t mode, uint64_t size,
    uint64_t reserve, int *fd, void **base);

/* Gives the unnamed file @fd the shm name @name: -EEXIST if the name is
 * taken, -EOPNOTSUPP without /proc. */
int zcp_segment_link (int fd, const char *name);

/* Whether @name is the very file that @fd has open. */
bool zcp_segment_is_named (int fd, const char *name);

/* Removes @channel if its publisher is dead and its name still names the
 * control segment @fd has open (for writing): its pool segments and then
 * its name.  Whoever removes a dead
 * publisher's channel (a publisher taking it over, the last of its
 * subscribers, zerocp-inspect --clean) does it here, holding the removal
 * byte and then the publisher's token, so that none of them unlinks a name
 * that another has just given to a new publisher.  Waits up to a second
 * for another remover.  0 when removed; -EBUSY if the publisher lives, or
 * if the segment is being made under its name (empty, and less than a
 * second old); -ETIMEDOUT if another remover takes longer (a stopped
 * process); -ESTALE if the name names another file, -ENOENT if none. */
int zcp_segment_remove_dead_channel (const char *channel, int fd);

/* Reserves @length bytes of a segment made by zcp_segment_create(), from
 * page-aligned @offset, and maps them in: -ENOSPC (and nothing written) if
 * /dev/shm is full. */
int zcp_segment_reserve (int fd, void *base, uint64_t offset,
    uint64_t length);

/* Opens @name and maps its first @size bytes, read-only unless @writable.
 * -EPROTO if the file is smaller than @size: it is checked with fstat before
 * the mapping, so a short file never turns into SIGBUS. */
int zcp_segment_open (const char *name, bool writable, uint64_t size,
    int *fd, void **base);

/* Checks a control segment's header against this build's layout.  0 if it
 * can be trusted, -EAGAIN while its publisher is still writing it, -EPROTO
 * if it is corrupt or of another layout. */
int zcp_segment_validate_header (const struct zcp_shm_header *header);

