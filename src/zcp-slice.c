/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zcp.h"

/* The kernel's struct sched_attr as of its first version (48 bytes): glibc
 * 2.36 has neither the struct nor a wrapper. */
struct zcp_sched_attr
{
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
};

/* The calling thread's attributes, and back with one field changed: what
 * is written is what was read (policy, flags, nice, runtime), so that only
 * that field changes and no privilege is needed. */
static int
read_attr (struct zcp_sched_attr *attr)
{
  memset (attr, 0, sizeof *attr);
  if (syscall (SYS_sched_getattr, 0, attr, sizeof *attr, 0) != 0)
    return -errno;
  return 0;
}

static int
write_attr (struct zcp_sched_attr *attr)
{
  attr->size = sizeof *attr;
  if (syscall (SYS_sched_setattr, 0, attr, 0) != 0)
    return -errno;
  return 0;
}

/* The calling thread's attributes, if it has a slice to ask for.  Before
 * 6.12 the kernel reports no runtime for a fair thread. */
static int
get_fair_attr (struct zcp_sched_attr *attr)
{
  int ret = read_attr (attr);

  if (ret != 0)
    return ret;
  if (attr->sched_policy != SCHED_OTHER || attr->sched_runtime == 0)
    return -EOPNOTSUPP;
  return 0;
}

int
zcp_thread_get_slice (uint64_t * slice_ns)
{
  struct zcp_sched_attr attr;
  int ret = get_fair_attr (&attr);

  if (ret == 0)
    *slice_ns = attr.sched_runtime;
  return ret;
}

int
zcp_thread_set_slice (uint64_t slice_ns, uint64_t * granted_ns)
{
  struct zcp_sched_attr attr;
  int ret = get_fair_attr (&attr);

  if (ret != 0)
    return ret;
  attr.sched_runtime = slice_ns;
  ret = write_attr (&attr);
  if (ret != 0)
    return ret;
  return zcp_thread_get_slice (granted_ns);
}

int
zcp_thread_set_batch (bool batch)
{
  uint32_t from = batch ? SCHED_OTHER : SCHED_BATCH;
  uint32_t to = batch ? SCHED_BATCH : SCHED_OTHER;
  struct zcp_sched_attr attr;
  int ret = read_attr (&attr);

  if (ret != 0)
    return ret;
  if (attr.sched_policy == to)
    return -EALREADY;
  if (attr.sched_policy != from)
    return -EOPNOTSUPP;
  /* The runtime as read: since 6.12 the thread's slice, which it keeps;
   * before, 0, which a fair policy ignores. */
  attr.sched_policy = to;
  return write_attr (&attr);
}
