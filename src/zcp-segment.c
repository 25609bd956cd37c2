/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zcp-liveness.h"
#include "zcp-private.h"
#include "zcp-segment.h"

int
zcp_channel_name_validate (const char *name)
{
  size_t length;

  if (!name || !*name)
    return -EINVAL;

  length = strnlen (name, ZCP_CHANNEL_NAME_MAX + 1);
  if (length > ZCP_CHANNEL_NAME_MAX)
    return -ENAMETOOLONG;

  for (const char *c = name; *c; c++) {
    bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
        (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '.';
    if (!ok)
      return -EINVAL;
  }
  return 0;
}

static int format_name (char *name, size_t size, const char *format, ...)
    __attribute__((format (printf, 3, 4)));

static int
format_name (char *name, size_t size, const char *format, ...)
{
  va_list args;
  int n;

  va_start (args, format);
  n = vsnprintf (name, size, format, args);
  va_end (args);
  return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

int
zcp_segment_control_name (const char *channel, char *name, size_t size)
{
  int ret = zcp_channel_name_validate (channel);

  if (ret < 0)
    return ret;
  return format_name (name, size, "/zerocp.%s", channel);
}

int
zcp_segment_pool_name (const char *channel, uint32_t epoch, uint32_t index,
    uint32_t generation, char *name, size_t size)
{
  return format_name (name, size, "/zerocp.%s@%08x.%u.%u", channel, epoch,
      index, generation);
}

int
zcp_segment_reserve (int fd, void *base, uint64_t offset, uint64_t length)
{
  int ret;

  /* tmpfs gives up a long reservation when a signal arrives: that is no
   * reason to think /dev/shm full.  No log: a full /dev/shm is the caller's
   * to report, and a publisher that waits for room tries again and again. */
  do
    ret = posix_fallocate (fd, (off_t) offset, (off_t) length);
  while (ret == EINTR);
  if (ret != 0)
    return -ret;

  /* Page faults here, once, rather than one by one in the first frame
   * written there.  Only a speed-up: a kernel older than 5.14 refuses, and
   * the pages fault in as they are first written. */
  (void) madvise ((uint8_t *) base + offset, length, MADV_POPULATE_WRITE);
  return 0;
}

/* Sizes a file just made, maps it and reserves its first @reserve bytes. */
static int
size_and_map (int fd, uint32_t mode, uint64_t size, uint64_t reserve,
    void **base_out)
{
  void *base;
  int ret;

  /* shm_open and open apply the umask; the user asked for exactly @mode. */
  if (fchmod (fd, mode & 07777) != 0 || ftruncate (fd, (off_t) size) != 0)
    return -errno;
  base = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED)
    return -errno;
  if (reserve > 0 && (ret = zcp_segment_reserve (fd, base, 0, reserve)) < 0) {
    munmap (base, size);
    return ret;
  }
  *base_out = base;
  return 0;
}

static bool
sizes_are_valid (uint64_t size, uint64_t reserve)
{
  return size > 0 && size <= (uint64_t) INT64_MAX && size <= SIZE_MAX &&
      reserve <= size;
}

static int
create_named (const char *name, uint32_t mode, uint64_t size,
    uint64_t reserve, const uint32_t * token_byte, int *fd_out, void **base_out)
{
  int fd, ret;

  if (!sizes_are_valid (size, reserve))
    return -EINVAL;
  fd = shm_open (name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777);
  if (fd < 0)
    return -errno;
  if (token_byte && (ret = zcp_liveness_acquire (fd, *token_byte)) < 0) {
    /* A remover took it for a dead publisher's: the name is its to
     * unlink, or already another's. */
    close (fd);
    return ret;
  }
  ret = size_and_map (fd, mode, size, reserve, base_out);
  if (ret < 0) {
    shm_unlink (name);
    close (fd);
    return ret;
  }
  *fd_out = fd;
  return 0;
}

int
zcp_segment_create (const char *name, uint32_t mode, uint64_t size,
    uint64_t reserve, int *fd_out, void **base_out)
{
  return create_named (name, mode, size, reserve, NULL, fd_out, base_out);
}

int
zcp_segment_create_with_token (const char *name, uint32_t mode,
    uint64_t size, uint64_t reserve, uint32_t token_byte, int *fd_out,
    void **base_out)
{
  return create_named (name, mode, size, reserve, &token_byte, fd_out,
      base_out);
}

int
zcp_segment_create_unnamed (uint32_t mode, uint64_t size, uint64_t reserve,
    int *fd_out, void **base_out)
{
  int fd, ret;

  if (!sizes_are_valid (size, reserve))
    return -EINVAL;
  fd = open (ZCP_SHM_DIR, O_TMPFILE | O_RDWR | O_CLOEXEC, mode & 07777);
  if (fd < 0)
    return errno == EISDIR || errno == EINVAL ? -EOPNOTSUPP : -errno;
  ret = size_and_map (fd, mode, size, reserve, base_out);
  if (ret < 0) {
    close (fd);
    return ret;
  }
  *fd_out = fd;
  return 0;
}

int
zcp_segment_link (int fd, const char *name)
{
  char from[32], to[sizeof ZCP_SHM_DIR + ZCP_SHM_NAME_SIZE];

  snprintf (from, sizeof from, "/proc/self/fd/%d", fd);
  if (snprintf (to, sizeof to, "%s%s", ZCP_SHM_DIR, name) >= (int) sizeof to)
    return -ENAMETOOLONG;
  /* AT_EMPTY_PATH on the descriptor would need CAP_DAC_READ_SEARCH. */
  if (linkat (AT_FDCWD, from, AT_FDCWD, to, AT_SYMLINK_FOLLOW) != 0)
    return errno == ENOENT ? -EOPNOTSUPP : -errno;
  return 0;
}

/* 0 if @name is the very file that @fd has open, -ENOENT if nothing has
 * that name, -ESTALE if another file has it. */
static int
name_names (const char *name, int fd)
{
  struct stat ours, named;
  int named_fd = shm_open (name, O_RDONLY | O_CLOEXEC, 0);
  int ret;

  if (named_fd < 0)
    return -errno;
  if (fstat (fd, &ours) != 0 || fstat (named_fd, &named) != 0)
    ret = -errno;
  else
    ret = ours.st_ino == named.st_ino && ours.st_dev == named.st_dev ? 0 :
        -ESTALE;
  close (named_fd);
  return ret;
}

bool
zcp_segment_is_named (int fd, const char *name)
{
  return name_names (name, fd) == 0;
}

/* Removes every pool segment of @channel from /dev/shm. */
static void
unlink_pools (const char *channel)
{
  char prefix[ZCP_SHM_NAME_SIZE];
  size_t prefix_length;
  struct dirent *entry;
  DIR *dir;

  if (format_name (prefix, sizeof prefix, "zerocp.%s@", channel) < 0)
    return;
  prefix_length = strlen (prefix);
  dir = opendir (ZCP_SHM_DIR);
  if (!dir)
    return;
  while ((entry = readdir (dir))) {
    char name[ZCP_SHM_NAME_SIZE];

    if (strncmp (entry->d_name, prefix, prefix_length) != 0)
      continue;
    if (format_name (name, sizeof name, "/%s", entry->d_name) == 0 &&
        shm_unlink (name) == 0)
      zcp_log (ZCP_LOG_INFO, "removed stale pool segment %s", name);
  }
  closedir (dir);
}

/* Removers hold the byte for a few system calls; a second is a stopped
 * process, for which the caller should not wait longer. */
static int
take_removal_byte (int fd)
{
  const struct timespec pause = {.tv_nsec = ZCP_NSEC_PER_MSEC };
  int64_t deadline = zcp_now_ns () + ZCP_NSEC_PER_SEC;

  for (;;) {
    int ret = zcp_liveness_acquire (fd, ZCP_LOCK_BYTE_REMOVAL);

    if (ret != -EAGAIN)
      return ret;
    if (zcp_now_ns () >= deadline)
      return -ETIMEDOUT;
    nanosleep (&pause, NULL);
  }
}

/* Made under its name (no O_TMPFILE), a channel has no token for the
 * moment between its creation and its maker's lock, and no size until
 * after that lock: empty and younger than this, it is being made.  A maker
 * that dies in that moment holds its channel back for this long. */
#define MAKING_NS ZCP_NSEC_PER_SEC

static bool
is_being_made (int fd)
{
  struct timespec now;
  struct stat st;
  int64_t age;

  if (fstat (fd, &st) != 0 || st.st_size != 0 ||
      clock_gettime (CLOCK_REALTIME, &now) != 0)
    return false;
  age = ((int64_t) now.tv_sec - st.st_mtim.tv_sec) * ZCP_NSEC_PER_SEC +
      (now.tv_nsec - st.st_mtim.tv_nsec);
  /* A time ahead of ours: the clock was set back since, by an unknown
   * amount; the file counts as old. */
  return age >= 0 && age < MAKING_NS;
}

int
zcp_segment_remove_dead_channel (const char *channel, int fd)
{
  char name[ZCP_SHM_NAME_SIZE];
  int ret;

  ret = zcp_segment_control_name (channel, name, sizeof name);
  if (ret < 0)
    return ret;
  ret = take_removal_byte (fd);
  if (ret < 0)
    return ret;
  /* Before the token is tried: a maker that found it taken would fail. */
  if (is_being_made (fd)) {
    zcp_liveness_release (fd, ZCP_LOCK_BYTE_REMOVAL);
    return -EBUSY;
  }

  /* The publisher's token taken, not only tested: a publisher that made
   * the channel under its name (no O_TMPFILE) and takes its token at this
   * moment fails, as it does when another takes its channel for stale. */
  ret = zcp_liveness_acquire (fd, ZCP_LOCK_BYTE_PUBLISHER);
  if (ret == 0) {
    /* With both bytes held, nobody else can change what the name names:
     * another remover waits for the removal byte, a publisher leaving
     * removes only its own, and a new one names its segment only where
     * there is no name. */
    ret = name_names (name, fd);
    if (ret == 0) {
      /* Of every epoch: no live publisher has pools under a name that
       * names a dead one's segment. */
      unlink_pools (channel);
      if (shm_unlink (name) != 0)
        ret = -errno;
    }
    zcp_liveness_release (fd, ZCP_LOCK_BYTE_PUBLISHER);
  } else if (ret == -EAGAIN) {
    ret = -EBUSY;
  }
  /* The publisher's byte first: a publisher taking over that gets the
   * removal byte next must find the token free. */
  zcp_liveness_release (fd, ZCP_LOCK_BYTE_REMOVAL);
  return ret;
}

int
zcp_segment_open (const char *name, bool writable, uint64_t size,
    int *fd_out, void **base_out)
{
  struct stat st;
  void *base;
  int fd, ret;

  if (size == 0 || size > SIZE_MAX)
    return -EINVAL;

  fd = shm_open (name, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0);
  if (fd < 0)
    return -errno;

  if (fstat (fd, &st) != 0) {
    ret = -errno;
    goto fail;
  }
  if (st.st_size < 0 || (uint64_t) st.st_size < size) {
    zcp_log (ZCP_LOG_WARNING, "%s holds %lld bytes, %" PRIu64 " expected",
        name, (long long) st.st_size, size);
    ret = st.st_size == 0 ? -EAGAIN : -EPROTO;
    goto fail;
  }

  /* Readers fault pages in as they read them: a subscriber that looks at a
   * few bytes of each frame keeps a small resident set. */
  base = mmap (NULL, size, PROT_READ | (writable ? PROT_WRITE : 0),
      MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    ret = -errno;
    goto fail;
  }

  *fd_out = fd;
  *base_out = base;
  return 0;

fail:
  close (fd);
  return ret;
}

#define EXPECT_FIELD(field, value) \
  do { \
    if ((uint64_t) (header->field) != (uint64_t) (value)) { \
      zcp_log (ZCP_LOG_WARNING, "control segment: " #field " is %" PRIu64 \
          ", this build expects %" PRIu64, (uint64_t) (header->field), \
          (uint64_t) (value)); \
      return -EPROTO; \
    } \
  } while (0)

int
zcp_segment_validate_header (const struct zcp_shm_header *header)
{
  uint32_t state;

  /* A header of zeroes is a publisher that has not written it yet. */
  if (header->magic == 0)
    return -EAGAIN;
  if (header->magic != ZCP_MAGIC) {
    zcp_log (ZCP_LOG_WARNING, "control segment: bad magic 0x%016" PRIx64,
        header->magic);
    return -EPROTO;
  }
  EXPECT_FIELD (layout_version, ZCP_LAYOUT_VERSION);

  /* acquire; pairs with the release store of READY in zcp_publisher_open:
   * every field below was written before it. */
  state = atomic_load_explicit (&((struct zcp_shm_header *) header)->state,
      memory_order_acquire);
  if (state == ZCP_SEGMENT_STATE_INITIALIZING)
    return -EAGAIN;
  if (state != ZCP_SEGMENT_STATE_READY && state != ZCP_SEGMENT_STATE_CLOSED) {
    zcp_log (ZCP_LOG_WARNING, "control segment: bad state %u", state);
    return -EPROTO;
  }

  EXPECT_FIELD (header_size, sizeof (struct zcp_shm_header));
  EXPECT_FIELD (segment_size, ZCP_CONTROL_SIZE);
  EXPECT_FIELD (max_pools, ZCP_MAX_POOLS);
  EXPECT_FIELD (pool_stride, sizeof (struct zcp_shm_pool));
  EXPECT_FIELD (max_chunks_per_pool, ZCP_MAX_CHUNKS_PER_POOL);
  EXPECT_FIELD (max_subscribers, ZCP_MAX_SUBSCRIBERS);
  EXPECT_FIELD (slot_stride, sizeof (struct zcp_shm_slot));
  EXPECT_FIELD (ring_capacity, ZCP_RING_CAPACITY);
  EXPECT_FIELD (desc_size, sizeof (struct zcp_shm_desc));
  EXPECT_FIELD (caps_entries, ZCP_CAPS_ENTRIES);
  EXPECT_FIELD (caps_entry_size, ZCP_CAPS_ENTRY_SIZE);
  EXPECT_FIELD (pools_offset, ZCP_POOLS_OFFSET);
  EXPECT_FIELD (masks_offset, ZCP_MASKS_OFFSET);
  EXPECT_FIELD (caps_offset, ZCP_CAPS_OFFSET);
  EXPECT_FIELD (slots_offset, ZCP_SLOTS_OFFSET);
  EXPECT_FIELD (events_offset, ZCP_EVENTS_OFFSET);
  EXPECT_FIELD (event_records, ZCP_EVENT_RECORDS);
  EXPECT_FIELD (sticky_records, ZCP_SHM_STICKY_KINDS * ZCP_STICKY_PARTS);
  return 0;
}
