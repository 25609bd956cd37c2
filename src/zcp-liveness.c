/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>

#include "zcp-liveness.h"

static struct flock
token_at (uint32_t byte, short type)
{
  struct flock lock = {
    .l_type = type,
    .l_whence = SEEK_SET,
    .l_start = byte,
    .l_len = 1,
    .l_pid = 0,                 /* required to be 0 for OFD locks */
  };

  return lock;
}

int
zcp_liveness_acquire (int fd, uint32_t byte)
{
  struct flock lock = token_at (byte, F_WRLCK);

  if (fcntl (fd, F_OFD_SETLK, &lock) == 0)
    return 0;
  return errno == EACCES ? -EAGAIN : -errno;
}

void
zcp_liveness_release (int fd, uint32_t byte)
{
  struct flock lock = token_at (byte, F_UNLCK);

  (void) fcntl (fd, F_OFD_SETLK, &lock);
}

int
zcp_liveness_probe (int fd, uint32_t byte)
{
  struct flock lock = token_at (byte, F_WRLCK);

  if (fcntl (fd, F_OFD_GETLK, &lock) != 0)
    return -errno;
  return lock.l_type != F_UNLCK;
}
