/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * zerocp-inspect: the channels on this machine, from their segments alone.
 *
 *   zerocp-inspect [--json] [--watch]          every channel, a line each
 *   zerocp-inspect [--json] [--watch] CHANNEL  one channel, with its pools
 *                                              and subscribers
 *   zerocp-inspect --clean [CHANNEL]           remove the segments of
 *                                              channels whose publisher died
 *
 * It maps segments read-only, checks them as a subscriber does, and takes
 * no subscriber slot: looking changes nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zcp.h"

static bool json, watch;

/* What the previous look saw, for rates. */
struct previous
{
  char channel[ZCP_CHANNEL_NAME_MAX + 1];
  uint64_t frames;
  uint64_t dropped;
};

/* Channels whose rates --watch follows; any beyond get none. */
#define WATCHED_MAX 256

static struct previous previous[WATCHED_MAX];
static size_t n_previous;
static double interval_s;       /* since the previous look; 0 before it */
static double previous_look_s;

static double
now_s (void)
{
  struct timespec now;

  clock_gettime (CLOCK_MONOTONIC, &now);
  return now.tv_sec + now.tv_nsec / 1e9;
}

static uint64_t
dropped_total (const struct zcp_channel_snapshot *snapshot)
{
  uint64_t dropped = 0;

  for (uint32_t s = 0; s < snapshot->n_subscribers; s++)
    dropped += snapshot->subscribers[s].info.dropped;
  return dropped;
}

/* Frames and drops per second since the last look, or -1 on the first. */
static void
rates (const struct zcp_channel_snapshot *snapshot, struct previous *next,
    double *frames_per_s, double *drops_per_s)
{
  *frames_per_s = *drops_per_s = -1;
  snprintf (next->channel, sizeof next->channel, "%s", snapshot->channel);
  next->frames = snapshot->frames_published;
  next->dropped = dropped_total (snapshot);
  for (size_t i = 0; i < n_previous && interval_s > 0; i++) {
    if (strcmp (previous[i].channel, snapshot->channel) != 0)
      continue;
    if (next->frames >= previous[i].frames)
      *frames_per_s = (next->frames - previous[i].frames) / interval_s;
    if (next->dropped >= previous[i].dropped)
      *drops_per_s = (next->dropped - previous[i].dropped) / interval_s;
  }
}

/* Chunks in use and in all, over every pool; the chunk size of the pool
 * that claims draw from (a retired one keeps the old size). */
static void
chunk_totals (const struct zcp_channel_snapshot *snapshot, uint32_t * in_use,
    uint32_t * total, uint64_t * chunk_size)
{
  *in_use = *total = 0;
  *chunk_size = 0;
  for (uint32_t p = 0; p < snapshot->n_pools; p++) {
    *in_use += snapshot->pools[p].chunks_in_use;
    *total += snapshot->pools[p].chunk_count;
    if (!snapshot->pools[p].retired)
      *chunk_size = snapshot->pools[p].chunk_size;
  }
}

static void
print_json_string (const char *string)
{
  putchar ('"');
  for (const unsigned char *c = (const unsigned char *)string; c && *c; c++) {
    if (*c == '"' || *c == '\\')
      printf ("\\%c", *c);
    else if (*c < 0x20)
      printf ("\\u%04x", *c);
    else
      putchar (*c);
  }
  putchar ('"');
}

static void
print_json_rate (const char *key, double rate)
{
  if (rate >= 0)
    printf (", \"%s\": %.1f", key, rate);
}

static void
print_json (const struct zcp_channel_snapshot *snapshot, double frames_per_s,
    double drops_per_s)
{
  uint32_t in_use, total;
  uint64_t chunk_size;

  chunk_totals (snapshot, &in_use, &total, &chunk_size);
  printf ("{\"channel\": ");
  print_json_string (snapshot->channel);
  printf (", \"publisher_pid\": %" PRIu32 ", \"publisher_alive\": %s, "
      "\"closed\": %s, \"caps\": ", snapshot->publisher_pid,
      snapshot->publisher_alive ? "true" : "false",
      snapshot->closed ? "true" : "false");
  if (snapshot->caps)
    print_json_string (snapshot->caps);
  else
    printf ("null");
  printf (", \"frames_published\": %" PRIu64 ", \"frames_copied\": %" PRIu64
      ", \"latency_ns\": %" PRIu64 ", \"chunks_in_use\": %" PRIu32
      ", \"chunks_total\": %" PRIu32 ", \"chunk_size\": %" PRIu64,
      snapshot->frames_published, snapshot->frames_copied,
      snapshot->latency_ns, in_use, total, chunk_size);
  print_json_rate ("frames_per_second", frames_per_s);
  print_json_rate ("drops_per_second", drops_per_s);

  printf (", \"pools\": [");
  for (uint32_t p = 0; p < snapshot->n_pools; p++) {
    const struct zcp_pool_snapshot *pool = &snapshot->pools[p];

    printf ("%s{\"index\": %" PRIu32 ", \"retired\": %s, \"chunk_size\": %"
        PRIu64 ", \"chunks\": %" PRIu32 ", \"chunks_in_use\": %" PRIu32
        ", \"shm_bytes\": %" PRIu64 "}", p ? ", " : "", pool->index,
        pool->retired ? "true" : "false", pool->chunk_size, pool->chunk_count,
        pool->chunks_in_use, pool->shm_bytes);
  }
  printf ("], \"subscribers\": [");
  for (uint32_t s = 0; s < snapshot->n_subscribers; s++) {
    const struct zcp_subscriber_snapshot *sub = &snapshot->subscribers[s];

    printf ("%s{\"slot\": %" PRIu32 ", \"pid\": %" PRIu32 ", \"alive\": %s, "
        "\"leaving\": %s, \"queued\": %" PRIu32 ", \"max_buffers\": %" PRIu32
        ", \"leaky\": \"%s\", \"delivered\": %" PRIu64 ", \"dropped\": %"
        PRIu64 ", \"oldest_held_age_ms\": ", s ? ", " : "", sub->info.slot,
        sub->info.pid, sub->alive ? "true" : "false",
        sub->leaving ? "true" : "false", sub->info.queued,
        sub->info.max_buffers, zcp_leaky_nick (sub->info.leaky),
        sub->info.delivered, sub->info.dropped);
    if (sub->oldest_held_age_ns == ZCP_TIME_NONE)
      printf ("null}");
    else
      printf ("%.3f}", sub->oldest_held_age_ns / 1e6);
  }
  printf ("]}");
}

static const char *
publisher_state (const struct zcp_channel_snapshot *snapshot)
{
  if (snapshot->publisher_alive)
    return "alive";
  return snapshot->closed ? "gone" : "dead";
}

static void
print_line (const struct zcp_channel_snapshot *snapshot, double frames_per_s)
{
  uint32_t in_use, total;
  uint64_t chunk_size;

  chunk_totals (snapshot, &in_use, &total, &chunk_size);
  printf ("%-20s %7" PRIu32 " %-5s %4" PRIu32 " %3" PRIu32 "/%-3" PRIu32
      " %10" PRIu64 " %12" PRIu64, snapshot->channel,
      snapshot->publisher_pid, publisher_state (snapshot),
      snapshot->n_subscribers, in_use, total, chunk_size,
      snapshot->frames_published);
  if (watch)
    printf (" %8.1f", frames_per_s < 0 ? 0.0 : frames_per_s);
  printf ("  %.60s\n", snapshot->caps ? snapshot->caps : "-");
}

static void
print_detail (const struct zcp_channel_snapshot *snapshot,
    double frames_per_s, double drops_per_s)
{
  printf ("channel %s\n", snapshot->channel);
  printf ("  publisher  pid %" PRIu32 " (%s), %" PRIu64 " frames published, %"
      PRIu64 " copied, latency %.3f ms", snapshot->publisher_pid,
      publisher_state (snapshot), snapshot->frames_published,
      snapshot->frames_copied, snapshot->latency_ns / 1e6);
  if (frames_per_s >= 0)
    printf (", %.1f frames/s, %.1f drops/s", frames_per_s, drops_per_s);
  printf ("\n  caps       %s\n", snapshot->caps ? snapshot->caps : "-");
  for (uint32_t p = 0; p < snapshot->n_pools; p++) {
    const struct zcp_pool_snapshot *pool = &snapshot->pools[p];

    printf ("  pool %" PRIu32 "     %" PRIu32 " chunks of %" PRIu64 " bytes, %"
        PRIu32 " in use, %" PRIu64 " bytes in /dev/shm%s\n",
        pool->index, pool->chunk_count, pool->chunk_size,
        pool->chunks_in_use, pool->shm_bytes, pool->retired ? " (retired)" :
        "");
  }
  if (snapshot->n_subscribers == 0)
    printf ("  no subscribers\n");
  for (uint32_t s = 0; s < snapshot->n_subscribers; s++) {
    const struct zcp_subscriber_snapshot *sub = &snapshot->subscribers[s];

    printf ("  slot %-3" PRIu32 "   pid %" PRIu32 " (%s%s), queued %" PRIu32
        "/%" PRIu32 ", leaky %s, %" PRIu64 " delivered, %" PRIu64
        " dropped", sub->info.slot, sub->info.pid, sub->alive ? "alive" :
        "dead", sub->leaving ? ", leaving" : "", sub->info.queued,
        sub->info.max_buffers, zcp_leaky_nick (sub->info.leaky),
        sub->info.delivered, sub->info.dropped);
    if (sub->oldest_held_age_ns != ZCP_TIME_NONE)
      printf (", oldest held %.1f ms", sub->oldest_held_age_ns / 1e6);
    printf ("\n");
  }
}

static const char *
describe (int error)
{
  switch (error) {
    case -ENOENT:
      return "no such channel";
    case -EAGAIN:
      return "its publisher is still setting it up";
    case -EACCES:
      return "no permission (run as the publisher's user)";
    case -EPROTO:
      return "corrupt, or of another version of zerocp";
    case -EINVAL:
      return "not a valid channel name";
    case -ETIMEDOUT:
      return "another process is removing it and has not finished in a "
          "second (is it stopped?)";
    default:
      return strerror (-error);
  }
}

/* One look at @channel, or at every channel if NULL.  0 if all went well. */
static int
show (const char *channel)
{
  struct previous next[WATCHED_MAX];
  size_t n_next = 0;
  char **channels = NULL;
  char *one[2] = { (char *) channel, NULL };
  char **names = one;
  int status = 0;
  bool first = true;
  double look_s = now_s ();

  interval_s = previous_look_s > 0 ? look_s - previous_look_s : 0;
  previous_look_s = look_s;
  if (!channel) {
    channels = zcp_channel_list ();
    if (!channels) {
      fprintf (stderr, "zerocp-inspect: out of memory\n");
      return 1;
    }
    names = channels;
    if (json)
      printf ("[");
    else
      printf ("%-20s %7s %-5s %4s %7s %10s %12s%s  %s\n", "CHANNEL", "PID",
          "STATE", "SUBS", "CHUNKS", "CHUNK-SIZE", "FRAMES",
          watch ? " FRAMES/S" : "", "CAPS");
  }

  for (char **name = names; *name; name++) {
    struct zcp_channel_snapshot snapshot;
    double frames_per_s, drops_per_s;
    int ret = zcp_channel_inspect (*name, &snapshot);

    if (ret < 0) {
      fprintf (stderr, "zerocp-inspect: channel '%s': %s\n", *name,
          describe (ret));
      /* A channel that vanished between the listing and the look, or
       * whose publisher is still making it, is not an error of ours. */
      if (channel || (ret != -ENOENT && ret != -EAGAIN))
        status = 1;
      continue;
    }
    rates (&snapshot, &next[n_next], &frames_per_s, &drops_per_s);
    if (n_next < WATCHED_MAX - 1)
      n_next++;
    if (json) {
      if (!channel && !first)
        printf (", ");
      print_json (&snapshot, frames_per_s, drops_per_s);
    } else if (channel) {
      print_detail (&snapshot, frames_per_s, drops_per_s);
    } else {
      print_line (&snapshot, frames_per_s);
    }
    first = false;
    zcp_channel_snapshot_clear (&snapshot);
  }
  if (json)
    printf (channel ? "\n" : "]\n");
  fflush (stdout);

  memcpy (previous, next, n_next * sizeof next[0]);
  n_previous = n_next;
  zcp_channel_list_free (channels);
  return status;
}

static int
clean (const char *channel)
{
  char **channels = NULL;
  char *one[2] = { (char *) channel, NULL };
  char **names = one;
  int status = 0;

  if (!channel) {
    channels = zcp_channel_list ();
    if (!channels)
      return 1;
    names = channels;
  }
  for (char **name = names; *name; name++) {
    int ret = zcp_channel_clean (*name);

    if (ret == 0) {
      printf ("removed channel '%s': its publisher is dead\n", *name);
    } else if (ret == -EBUSY) {
      /* Asked for by name, a live channel is a refusal; in a sweep it is
       * simply what stays. */
      if (channel) {
        fprintf (stderr, "zerocp-inspect: channel '%s' has a live "
            "publisher: left alone\n", *name);
        status = 1;
      }
    } else {
      fprintf (stderr, "zerocp-inspect: channel '%s': %s\n", *name,
          describe (ret));
      status = 1;
    }
  }
  zcp_channel_list_free (channels);
  return status;
}

static volatile sig_atomic_t interrupted;

static void
on_sigint (int signal)
{
  interrupted = 1;
}

static void
usage (FILE * out)
{
  fprintf (out, "usage: zerocp-inspect [--json] [--watch] [CHANNEL]\n"
      "       zerocp-inspect --clean [CHANNEL]\n\n"
      "Lists the zerocp channels on this machine, or shows one in detail.\n"
      "  --json    print JSON (an array of channels, or one channel)\n"
      "  --watch   look again every second, with frames/s and drops/s\n"
      "  --clean   remove the segments of channels whose publisher is dead\n"
      "            (of CHANNEL only, if given; a live one is left alone)\n");
}

int
main (int argc, char **argv)
{
  static const struct option options[] = {
    {"json", no_argument, NULL, 'j'},
    {"watch", no_argument, NULL, 'w'},
    {"clean", no_argument, NULL, 'c'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
  };
  bool do_clean = false;
  const char *channel;
  int option, status;

  while ((option = getopt_long (argc, argv, "jwch", options, NULL)) != -1) {
    switch (option) {
      case 'j':
        json = true;
        break;
      case 'w':
        watch = true;
        break;
      case 'c':
        do_clean = true;
        break;
      case 'h':
        usage (stdout);
        return 0;
      default:
        usage (stderr);
        return 2;
    }
  }
  if (argc - optind > 1 || (do_clean && (json || watch))) {
    usage (stderr);
    return 2;
  }
  channel = optind < argc ? argv[optind] : NULL;
  if (channel && zcp_channel_name_validate (channel) < 0) {
    fprintf (stderr, "zerocp-inspect: '%s' is not a valid channel name "
        "(1 to %u of A-Z a-z 0-9 _ - .)\n", channel, ZCP_CHANNEL_NAME_MAX);
    return 2;
  }
  if (do_clean)
    return clean (channel);

  status = show (channel);
  if (!watch)
    return status;

  signal (SIGINT, on_sigint);
  signal (SIGTERM, on_sigint);
  while (!interrupted) {
    sleep (1);
    if (interrupted)
      break;
    if (!json)
      printf ("\n");
    status = show (channel);
  }
  return status;
}
