/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * zcp-bench: zerocp against shmsink/shmsrc and against the in-process limit.
 *
 *   zcp-bench [--quick]
 *   zcp-bench floor PUBLISHER_CPU SUBSCRIBER_CPU
 *   zcp-bench role pub|sub zerocp|shm CASE FRAMES LIVE SUBSCRIBERS CPU
 *   zcp-bench role local local CASE FRAMES LIVE 0 CPU
 *
 * For each case (frame size, number of subscribers) and transport it runs a
 * publisher and its subscribers as separate processes (this program again,
 * in a role), and prints one table:
 *
 * - throughput: frames/s and GB/s of frame data, as fast as possible (the
 *   run with the median frames/s of three, one with --quick: a single run
 *   on a VM moves by a quarter either way);
 * - one-way latency p50/p90/p99/max in microseconds at 60 frames/s, from the
 *   CLOCK_MONOTONIC time the publisher writes into the frame as it leaves
 *   for its sink to the moment the subscriber's sink pad sees it (the run
 *   with the median p50 of three, shm and zerocp taking turns; one with
 *   --quick);
 * - CPU milliseconds per frame of publisher and subscriber (getrusage, whole
 *   process, start-up included) and their peak RSS;
 * - CPU microseconds per frame once started (getrusage at the 60th frame
 *   and the last), at 60 frames/s and at full speed, with 1 and 4
 *   subscribers;
 * - frames lost.
 *
 * It also measures what a system call and a clock read cost here, this
 * machine's wake-up floor (a bare futex wake between two processes with no
 * GStreamer) at the start and again between each case's latency runs, a
 * message rate over 1,000 small buffers (shmsink/shmsrc deadlock on longer
 * runs) unpinned and on two cores, and latency with both processes on one
 * core and on two.  It asserts nothing.
 *
 * "floor" measures the wake-up floor alone (CPU -1: any), to set beside
 * "role" runs made by hand: one side of one case, as the full run starts
 * them (see docs/benchmarks.md).
 *
 * ZCP_BENCH_SRC_PROPS, if set, is added to every zerocpsrc it starts
 * (e.g. "scheduler-slice=0"), to measure a property's effect.
 * ZCP_BENCH_LIVE_RATE, if set, is the live rate instead of 60/1 (e.g.
 * "30000/1", a fast stream of messages whose latency is measured).
 */
#include <gio/gio.h>
#include <gst/gst.h>
#include <glib/gstdio.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zcp-event.h"
#include "zcp.h"

typedef struct
{
  const gchar *name;
  const gchar *caps;
  gsize size;
  /* Throughput runs send this many times the base frame count: 600 small
   * buffers go by in a few milliseconds, too short to measure a rate. */
  guint frames_scale;
} Case;

static const Case cases[] = {
  {"1KiB", "video/x-raw,format=GRAY8,width=32,height=32", 32 * 32, 250},
  {"1080p", "video/x-raw,format=NV12,width=1920,height=1080",
      1920 * 1080 * 3 / 2, 1},
  {"2160p", "video/x-raw,format=NV12,width=3840,height=2160",
      3840 * 2160 * 3 / 2, 1},
  {"4320p", "video/x-raw,format=NV12,width=7680,height=4320",
      7680 * 4320 * 3 / 2, 1},
};

#define LATENCY_FRAMES 300
/* Few enough small buffers that shmsink/shmsrc usually get through; a run
 * of them takes milliseconds, so it gets more tries (and is median of more
 * runs) and counts as stuck sooner. */
#define SHORT_SMALL_FRAMES 1000
#define SHORT_RUNS 7
#define SHORT_TIMEOUT_S 10
#define TIMEOUT_S 60
#define LATENCY_RATE "60/1"
/* The CPU a role spends per frame at a steady rate is counted from this
 * frame on: the first second at 60 fps pays for start-up. */
#define STEADY_FROM_FRAME 60

/* How long a role of @frames may take before it gives up. */
static guint
role_timeout_s (guint frames)
{
  return frames <= SHORT_SMALL_FRAMES ? SHORT_TIMEOUT_S : TIMEOUT_S;
}

static guint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (guint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The CPUs this program may use, as it started. */
static cpu_set_t all_cpus;

/* To @cpu alone, or (-1) back to every CPU we started with. */
static void
pin_to (gint cpu)
{
  cpu_set_t set;

  if (cpu < 0) {
    set = all_cpus;
  } else {
    CPU_ZERO (&set);
    CPU_SET (cpu, &set);
  }
  sched_setaffinity (0, sizeof set, &set);
}

/* A whole number in [@min, @max] written out in full, or FALSE. */
static gboolean
parse_arg (const gchar * text, gint64 min, gint64 max, gint * value)
{
  gint64 parsed;

  if (!g_ascii_string_to_signed (text, 10, min, max, &parsed, NULL))
    return FALSE;
  *value = parsed;
  return TRUE;
}

/* -1 (any) or a CPU this program may run on. */
static gboolean
parse_cpu (const gchar * text, gint * cpu)
{
  return parse_arg (text, -1, CPU_SETSIZE - 1, cpu) &&
      (*cpu == -1 || CPU_ISSET (*cpu, &all_cpus));
}

static void
print_usage (FILE * to)
{
  fprintf (to, "usage: zcp-bench [--quick]\n"
      "       zcp-bench floor PUBLISHER_CPU SUBSCRIBER_CPU\n"
      "       zcp-bench role pub|sub zerocp|shm CASE FRAMES LIVE "
      "SUBSCRIBERS CPU\n"
      "       zcp-bench role local local CASE FRAMES LIVE 0 CPU\n"
      "CASE 0 to 3 (1 KiB, 1080p, 2160p, 4320p); LIVE 0 or 1; a CPU is -1 "
      "(any) or one this program may run on\n");
}

static glong
cpu_us (const struct rusage *usage)
{
  return usage->ru_utime.tv_sec * 1000000L + usage->ru_utime.tv_usec +
      usage->ru_stime.tv_sec * 1000000L + usage->ru_stime.tv_usec;
}

static void
print_usage_line (guint frames)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  printf ("usage frames=%u cpu_us=%ld rss_kb=%ld\n", frames, cpu_us (&usage),
      usage.ru_maxrss);
}

/* ---- roles ------------------------------------------------------------- */

typedef struct
{
  guint stamped, frames, expected;
  guint64 first_ns, last_ns;
  /* Process CPU at STEADY_FROM_FRAME and at the last frame, as counted by
   * the role's own probe (the stamp for a publisher). */
  glong steady_from_us, steady_to_us;
  gboolean counts_stamps;
  GArray *latencies;            /* guint64 ns */
  GMainLoop *loop;
  guint connected;
} RoleState;

/* Called with the role's count of frames so far: two system calls a run,
 * each outside the span a latency measures (before the publisher's stamp,
 * after the subscriber's clock read). */
static void
mark_steady (RoleState * state, guint count)
{
  struct rusage usage;

  if (count != STEADY_FROM_FRAME && count != state->expected)
    return;
  getrusage (RUSAGE_SELF, &usage);
  if (count == STEADY_FROM_FRAME)
    state->steady_from_us = cpu_us (&usage);
  else
    state->steady_to_us = cpu_us (&usage);
}

static GstPadProbeReturn
stamp_cb (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  RoleState *state = data;
  GstMapInfo map;
  guint64 stamp;

  mark_steady (state, ++state->stamped);
  /* Written into the frame itself, as it leaves for the sink. */
  if (gst_buffer_map (buffer, &map, GST_MAP_WRITE)) {
    stamp = now_ns ();
    memcpy (map.data, &stamp, sizeof stamp);
    gst_buffer_unmap (buffer, &map);
  }
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
receive_cb (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  RoleState *state = data;
  guint64 now = now_ns (), stamp = 0;

  gst_buffer_extract (buffer, 0, &stamp, sizeof stamp);
  /* The rate runs from the second frame: the first waited in the
   * publisher's preroll while it looked for its subscribers. */
  if (state->frames == 1)
    state->first_ns = now;
  state->last_ns = now;
  /* The first frame waited in the publisher's preroll: not transport. */
  if (state->frames && stamp && stamp <= now) {
    guint64 latency = now - stamp;
    g_array_append_val (state->latencies, latency);
  }
  state->frames++;
  if (!state->counts_stamps)
    mark_steady (state, state->frames);
  if (state->frames == state->expected)
    g_main_loop_quit (state->loop);
  return GST_PAD_PROBE_OK;
}

/* A run that stalls reports what it had instead of hanging the bench. */
static gboolean
deadline_cb (gpointer data)
{
  RoleState *state = data;

  printf ("timeout\n");
  g_main_loop_quit (state->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
bus_cb (GstBus * bus, GstMessage * message, gpointer data)
{
  RoleState *state = data;

  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR) {
    GError *error = NULL;
    gchar *debug = NULL;

    gst_message_parse_error (message, &error, &debug);
    printf ("error %s (%s)\n", error->message, debug);
    g_error_free (error);
    g_free (debug);
  }
  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_EOS ||
      GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    g_main_loop_quit (state->loop);
  return TRUE;
}

static void
client_connected_cb (GstElement * sink, gint fd, gpointer data)
{
  ((RoleState *) data)->connected++;
}

static void
add_probe (GstElement * pipeline, const gchar * name, const gchar * pad_name,
    GstPadProbeCallback cb, RoleState * state)
{
  GstElement *element = gst_bin_get_by_name (GST_BIN (pipeline), name);
  GstPad *pad = gst_element_get_static_pad (element, pad_name);

  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, cb, state, NULL);
  gst_object_unref (pad);
  gst_object_unref (element);
}

static gint
compare_u64 (gconstpointer a, gconstpointer b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;

  return x < y ? -1 : x > y;
}

static void
sort_u64 (guint64 * values, gsize n)
{
  qsort (values, n, sizeof *values,
      (int (*)(const void *, const void *)) compare_u64);
}

static void
report_receiver (RoleState * state)
{
  GArray *l = state->latencies;

  printf ("received frames=%u first_ns=%" G_GUINT64_FORMAT " last_ns=%"
      G_GUINT64_FORMAT "\n", state->frames, state->first_ns, state->last_ns);
  if (l->len) {
    g_array_sort (l, compare_u64);
    printf ("latency p50=%" G_GUINT64_FORMAT " p90=%" G_GUINT64_FORMAT
        " p99=%" G_GUINT64_FORMAT " max=%" G_GUINT64_FORMAT "\n",
        g_array_index (l, guint64, l->len / 2),
        g_array_index (l, guint64, l->len * 9 / 10),
        g_array_index (l, guint64, l->len * 99 / 100),
        g_array_index (l, guint64, l->len - 1));
  }
}

/* zcp-bench role pub|sub TRANSPORT CASE FRAMES LIVE SUBSCRIBERS CPU, or
 * role local local CASE FRAMES LIVE 0 CPU */
static int
run_role (gint argc, gchar ** argv)
{
  const gchar *role, *transport, *live_rate;
  gint case_index, frames, live, subscribers, cpu;
  const Case *c;
  gchar *source, *description, *socket;
  RoleState state = { 0 };
  GstElement *pipeline;
  GError *error = NULL;
  GstBus *bus;
  static const gchar *const roles[] = { "pub", "sub", NULL };
  static const gchar *const transports[] = { "zerocp", "shm", NULL };

  /* The in-process pipeline has no transport: "local local". */
  if (argc != 7 || (g_str_equal (argv[0], "local") ?
          !g_str_equal (argv[1], "local") :
          !g_strv_contains (roles, argv[0]) ||
          !g_strv_contains (transports, argv[1])) ||
      !parse_arg (argv[2], 0, G_N_ELEMENTS (cases) - 1, &case_index) ||
      !parse_arg (argv[3], 1, G_MAXINT, &frames) ||
      !parse_arg (argv[4], 0, 1, &live) ||
      !parse_arg (argv[5], 0, ZCP_SUBSCRIBERS_MAX, &subscribers) ||
      !parse_cpu (argv[6], &cpu)) {
    print_usage (stderr);
    return 2;
  }
  role = argv[0];
  transport = argv[1];
  c = &cases[case_index];

  pin_to (cpu);
  state.expected = frames;
  state.counts_stamps = !g_str_equal (role, "sub");
  state.latencies = g_array_new (FALSE, FALSE, sizeof (guint64));
  state.loop = g_main_loop_new (NULL, FALSE);
  socket = g_strdup_printf ("/tmp/zcp-bench-%d.sock", (int) getppid ());

  live_rate = g_getenv ("ZCP_BENCH_LIVE_RATE");
  if (!live_rate)
    live_rate = LATENCY_RATE;
  source = g_strdup_printf ("videotestsrc pattern=black num-buffers=%d "
      "is-live=%s ! %s,framerate=%s ! identity name=stamp", frames,
      live ? "true" : "false", c->caps, live ? live_rate : "1000/1");

  if (g_str_equal (role, "local")) {
    description = g_strdup_printf ("%s ! fakesink name=out sync=false", source);
  } else if (g_str_equal (role, "pub") && g_str_equal (transport, "zerocp")) {
    description = g_strdup_printf ("%s ! zerocpsink name=sink "
        "channel=bench-%d sync=false enable-last-sample=false", source,
        (int) getppid ());
  } else if (g_str_equal (role, "pub")) {
    /* As well as shmsink can be set up: no sync, and an area large enough
     * that the idle buffers of upstream's pool, which hold blocks of it,
     * cannot starve it (with room for 16 frames it hangs for good). */
    description = g_strdup_printf ("%s ! shmsink name=sink socket-path=%s "
        "shm-size=%" G_GSIZE_FORMAT " wait-for-connection=false sync=false "
        "enable-last-sample=false", source, socket,
        MAX (c->size * 24, (gsize) 64 << 20));
  } else if (g_str_equal (transport, "zerocp")) {
    const gchar *props = g_getenv ("ZCP_BENCH_SRC_PROPS");

    description = g_strdup_printf ("zerocpsrc channel=bench-%d is-live=false "
        "%s ! fakesink name=out sync=false enable-last-sample=false",
        (int) getppid (), props ? props : "");
  } else {
    /* shmsrc carries no caps: the subscriber repeats them. */
    description = g_strdup_printf ("shmsrc socket-path=%s is-live=true ! "
        "%s,framerate=%s ! fakesink name=out sync=false "
        "enable-last-sample=false", socket, c->caps,
        live ? live_rate : "1000/1");
  }

  /* gst_parse_launch() may return a half-built pipeline with an error. */
  pipeline = gst_parse_launch (description, &error);
  if (error) {
    printf ("error cannot build %s: %s\n", description, error->message);
    fflush (stdout);
    return 1;
  }
  bus = gst_element_get_bus (pipeline);
  gst_bus_add_watch (bus, bus_cb, &state);

  /* On identity's way out, so that its own work is not counted as the
   * transport's: the frame goes from this pad straight into the sink. */
  if (!g_str_equal (role, "sub"))
    add_probe (pipeline, "stamp", "src", stamp_cb, &state);
  if (!g_str_equal (role, "pub"))
    add_probe (pipeline, "out", "sink", receive_cb, &state);

  if (g_str_equal (role, "pub")) {
    GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
    gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

    if (g_str_equal (transport, "shm"))
      g_signal_connect (sink, "client-connected",
          G_CALLBACK (client_connected_cb), &state);
    gst_element_set_state (pipeline, GST_STATE_PAUSED);
    gst_element_get_state (pipeline, NULL, NULL, 10 * GST_SECOND);
    printf ("ready\n");
    fflush (stdout);
    /* Every subscriber must be there before the first frame. */
    while (g_get_monotonic_time () < deadline) {
      guint n = state.connected;

      if (g_str_equal (transport, "zerocp"))
        g_object_get (sink, "num-subscribers", &n, NULL);
      if (n >= (guint) subscribers)
        break;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (2000);
    }
    gst_object_unref (sink);
  }

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  g_timeout_add_seconds (role_timeout_s (frames), deadline_cb, &state);
  if (g_str_equal (role, "sub")) {
    printf ("ready\n");
    fflush (stdout);
  }
  g_main_loop_run (state.loop);
  gst_element_set_state (pipeline, GST_STATE_NULL);

  if (!g_str_equal (role, "pub"))
    report_receiver (&state);
  print_usage_line (g_str_equal (role, "pub") ? state.stamped : state.frames);
  if (state.steady_from_us && state.steady_to_us)
    printf ("steady frames=%d cpu_us=%ld\n", frames - STEADY_FROM_FRAME,
        state.steady_to_us - state.steady_from_us);
  fflush (stdout);
  return 0;
}

/* Wake-up floor: one process stamps and signals a futex, another wakes and
 * reads the clock; the same event code zerocp uses, nothing else. */
struct futex_page
{
  struct zcp_shm_event event;
  _Atomic guint64 stamp;
  _Atomic guint32 done;
};

static bool
stamp_posted (void *data)
{
  return atomic_load (&((struct futex_page *) data)->stamp) != 0 ||
      atomic_load (&((struct futex_page *) data)->done);
}

static void
measure_futex_floor (gint cpu_a, gint cpu_b, guint64 * p50, guint64 * p99)
{
  struct futex_page *page = mmap (NULL, sizeof *page, PROT_READ | PROT_WRITE,
      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  guint64 *samples = mmap (NULL, LATENCY_FRAMES * sizeof (guint64),
      PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  pid_t child = fork ();

  if (child == 0) {
    pin_to (cpu_b);
    for (guint i = 0; i < LATENCY_FRAMES; i++) {
      zcp_event_wait_until (&page->event, stamp_posted, page,
          (gint64) now_ns () + 10 * (gint64) GST_SECOND);
      samples[i] = now_ns () - atomic_load (&page->stamp);
      atomic_store (&page->stamp, 0);
    }
    _exit (0);
  }
  pin_to (cpu_a);
  for (guint i = 0; i < LATENCY_FRAMES; i++) {
    g_usleep (G_USEC_PER_SEC / 60);
    while (atomic_load (&page->stamp) != 0)
      g_usleep (100);
    atomic_store (&page->stamp, now_ns ());
    zcp_event_signal (&page->event);
  }
  waitpid (child, NULL, 0);
  pin_to (-1);
  sort_u64 (samples, LATENCY_FRAMES);
  *p50 = samples[LATENCY_FRAMES / 2];
  *p99 = samples[LATENCY_FRAMES * 99 / 100];
  munmap (samples, LATENCY_FRAMES * sizeof (guint64));
  munmap (page, sizeof *page);
}

/* What a round trip into the kernel costs here, and a clock read: every
 * futex call pays the first before it does anything (on some VMs over a
 * microsecond), every stamp the second. */
static void
measure_kernel_entry (gdouble * syscall_ns, gdouble * clock_ns)
{
  const guint calls = 100000;
  guint64 start = now_ns ();

  for (guint i = 0; i < calls; i++)
    syscall (SYS_getppid);
  *syscall_ns = (gdouble) (now_ns () - start) / calls;
  start = now_ns ();
  for (guint i = 0; i < calls; i++)
    now_ns ();
  *clock_ns = (gdouble) (now_ns () - start) / calls;
}

/* ---- orchestration ------------------------------------------------------ */

typedef struct
{
  guint frames_received, frames_sent;
  gdouble fps, gbps;
  guint64 lat[4];
  gdouble pub_cpu_ms, sub_cpu_ms;       /* per frame */
  guint64 pub_steady_ns, sub_steady_ns; /* per frame, from STEADY_FROM_FRAME */
  glong pub_rss_kb, sub_rss_kb;
  gboolean ok;
} Result;

static gchar *self_path;
static gboolean shm_available;

/* A role gives up after its timeout, but a pipeline stuck in a blocking
 * call never gets to exit: shmsink and shmsrc can each block in send() on
 * the other's full socket for good.  The watchdog kills the case's
 * processes this long after the role's timeout, so one stuck case costs a
 * row, not the run. */
#define WATCHDOG_GRACE_S 10

typedef struct
{
  GMutex lock;
  GCond cond;
  GPtrArray *processes;
  gchar *first_pid;             /* a GSubprocess forgets it once reaped */
  gboolean done, fired;
  guint deadline_s;
  GThread *thread;
} Watchdog;

static gpointer
watchdog_run (gpointer data)
{
  Watchdog *watchdog = data;
  gint64 deadline = g_get_monotonic_time () +
      watchdog->deadline_s * G_TIME_SPAN_SECOND;

  g_mutex_lock (&watchdog->lock);
  while (!watchdog->done && !watchdog->fired)
    if (!g_cond_wait_until (&watchdog->cond, &watchdog->lock, deadline)) {
      for (guint i = 0; i < watchdog->processes->len; i++)
        g_subprocess_force_exit (g_ptr_array_index (watchdog->processes, i));
      watchdog->fired = TRUE;
    }
  g_mutex_unlock (&watchdog->lock);
  return NULL;
}

static void
watchdog_start (Watchdog * watchdog, guint deadline_s)
{
  watchdog->deadline_s = deadline_s;
  g_mutex_init (&watchdog->lock);
  g_cond_init (&watchdog->cond);
  watchdog->processes = g_ptr_array_new_with_free_func (g_object_unref);
  watchdog->first_pid = NULL;
  watchdog->done = watchdog->fired = FALSE;
  watchdog->thread = g_thread_new ("watchdog", watchdog_run, watchdog);
}

static GSubprocess *
watchdog_watch (Watchdog * watchdog, GSubprocess * process)
{
  g_mutex_lock (&watchdog->lock);
  if (!watchdog->first_pid)
    watchdog->first_pid = g_strdup (g_subprocess_get_identifier (process));
  g_ptr_array_add (watchdog->processes, g_object_ref (process));
  if (watchdog->fired)
    g_subprocess_force_exit (process);
  g_mutex_unlock (&watchdog->lock);
  return process;
}

/* Whether it had to kill.  A killed shmsink leaves its segments and its
 * socket behind, and the next shmsink could not bind that path. */
static gboolean
watchdog_stop (Watchdog * watchdog, const gchar * transport)
{
  gboolean fired;

  g_mutex_lock (&watchdog->lock);
  watchdog->done = TRUE;
  g_cond_signal (&watchdog->cond);
  g_mutex_unlock (&watchdog->lock);
  g_thread_join (watchdog->thread);
  fired = watchdog->fired;
  if (g_str_equal (transport, "shm") && watchdog->first_pid) {
    /* shmsink's "shmpipe.%5d.%5d": its pid and a count, padded with
     * spaces. */
    gchar *prefix = g_strdup_printf ("shmpipe.%5s.", watchdog->first_pid);
    GDir *dir = g_dir_open ("/dev/shm", 0, NULL);
    const gchar *name;

    while (dir && (name = g_dir_read_name (dir)))
      if (g_str_has_prefix (name, prefix)) {
        gchar *path = g_build_filename ("/dev/shm", name, NULL);

        g_unlink (path);
        g_free (path);
      }
    if (dir)
      g_dir_close (dir);
    g_free (prefix);
    prefix = g_strdup_printf ("/tmp/zcp-bench-%d.sock", (int) getpid ());
    g_unlink (prefix);
    g_free (prefix);
  }
  g_ptr_array_unref (watchdog->processes);
  g_free (watchdog->first_pid);
  g_mutex_clear (&watchdog->lock);
  g_cond_clear (&watchdog->cond);
  return fired;
}

static gboolean
have_element (const gchar * name)
{
  GstElementFactory *factory = gst_element_factory_find (name);

  if (factory)
    gst_object_unref (factory);
  return factory != NULL;
}

static GSubprocess *
spawn_role (const gchar * role, const gchar * transport, guint case_index,
    guint frames, gboolean live, guint subscribers, gint cpu)
{
  gchar *args[9];
  GSubprocess *process;

  args[0] = self_path;
  args[1] = (gchar *) "role";
  args[2] = (gchar *) role;
  args[3] = (gchar *) transport;
  args[4] = g_strdup_printf ("%u", case_index);
  args[5] = g_strdup_printf ("%u", frames);
  args[6] = g_strdup_printf ("%d", live);
  args[7] = g_strdup_printf ("%u", subscribers);
  args[8] = g_strdup_printf ("%d", cpu);
  {
    const gchar *argv[] = { args[0], args[1], args[2], args[3], args[4],
      args[5], args[6], args[7], args[8], NULL
    };
    process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE |
        (g_getenv ("ZCP_BENCH_VERBOSE") ? 0 :
            G_SUBPROCESS_FLAGS_STDERR_SILENCE), NULL);
  }
  for (int i = 4; i < 9; i++)
    g_free (args[i]);
  return process;
}

static gchar *
read_line (GSubprocess * process, GDataInputStream ** stream)
{
  if (!*stream)
    *stream = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  return g_data_input_stream_read_line (*stream, NULL, NULL, NULL);
}

static guint64
field (const gchar * line, const gchar * key)
{
  gchar *pattern = g_strdup_printf (" %s=", key);
  const gchar *at = strstr (line, pattern);
  guint64 value = at ? g_ascii_strtoull (at + strlen (pattern), NULL, 10) : 0;

  g_free (pattern);
  return value;
}

/* Reads a role's output to the end, folding it into @result; what went
 * wrong goes to stderr with @run, which names it (stderr is not buffered,
 * the table is: the order alone would not say which run it was). */
static void
collect (GSubprocess * process, GDataInputStream ** stream, Result * result,
    gboolean publisher, gsize frame_size, const gchar * run)
{
  gchar *line;

  while ((line = read_line (process, stream))) {
    if (g_str_has_prefix (line, "error ") || g_str_has_prefix (line, "timeout"))
      g_printerr ("  (%s: %s: %s)\n", run, publisher ? "publisher" :
          "subscriber", line);
    if (g_str_has_prefix (line, "usage ")) {
      gdouble cpu_ms = field (line, "cpu_us") / 1000.0;
      guint frames = MAX (field (line, "frames"), 1);
      glong rss = field (line, "rss_kb");

      if (publisher) {
        result->frames_sent = field (line, "frames");
        result->pub_cpu_ms = cpu_ms / frames;
        result->pub_rss_kb = rss;
      } else {
        result->sub_cpu_ms = MAX (result->sub_cpu_ms, cpu_ms / frames);
        result->sub_rss_kb = MAX (result->sub_rss_kb, rss);
      }
    } else if (g_str_has_prefix (line, "steady ")) {
      guint64 ns = field (line, "cpu_us") * 1000 /
          MAX (field (line, "frames"), 1);

      if (publisher)
        result->pub_steady_ns = ns;
      else
        result->sub_steady_ns = MAX (result->sub_steady_ns, ns);
    } else if (g_str_has_prefix (line, "received ")) {
      guint frames = field (line, "frames");
      guint64 span = field (line, "last_ns") - field (line, "first_ns");

      /* The slowest subscriber is the one that counts. */
      if (!result->ok || frames < result->frames_received)
        result->frames_received = frames;
      if (frames > 2 && span) {
        gdouble fps = (frames - 2) * 1e9 / span;
        if (!result->ok || fps < result->fps) {
          result->fps = fps;
          result->gbps = fps * frame_size / 1e9;
        }
      }
      result->ok = TRUE;
    } else if (g_str_has_prefix (line, "latency p50")) {
      guint64 values[4] = { field (line, "p50"), field (line, "p90"),
        field (line, "p99"), field (line, "max")
      };
      for (int i = 0; i < 4; i++)
        result->lat[i] = MAX (result->lat[i], values[i]);
    }
    g_free (line);
  }
  g_subprocess_wait (process, NULL, NULL);
}

static Result
run_case (const gchar * transport, guint case_index, guint frames,
    gboolean live, guint subscribers, gint pub_cpu, gint sub_cpu)
{
  gsize size = cases[case_index].size;
  GDataInputStream *pub_stream = NULL;
  Result result = { 0 };
  GSubprocess *pub, *subs[8];
  GDataInputStream *sub_streams[8] = { NULL };
  Watchdog watchdog;
  gchar *line, *run;

  if (g_str_equal (transport, "shm") && !shm_available)
    return result;
  run = g_strdup_printf ("%s, %s, %u subscribers, %u frames", transport,
      cases[case_index].name, subscribers, frames);
  if (g_str_equal (transport, "local")) {
    pub = spawn_role ("local", transport, case_index, frames, live, 0, pub_cpu);
    collect (pub, &pub_stream, &result, FALSE, size, run);
    /* One process: its whole cost is the publisher's column. */
    result.pub_cpu_ms = result.sub_cpu_ms;
    result.pub_steady_ns = result.sub_steady_ns;
    result.pub_rss_kb = result.sub_rss_kb;
    result.sub_cpu_ms = 0;
    result.sub_steady_ns = 0;
    result.sub_rss_kb = 0;
    result.frames_sent = frames;
    g_object_unref (pub);
    g_free (run);
    return result;
  }

  watchdog_start (&watchdog, role_timeout_s (frames) + WATCHDOG_GRACE_S);
  pub = watchdog_watch (&watchdog, spawn_role ("pub", transport, case_index,
          frames, live, subscribers, pub_cpu));
  line = read_line (pub, &pub_stream);  /* "ready" */
  g_free (line);
  for (guint s = 0; s < subscribers; s++)
    subs[s] = watchdog_watch (&watchdog, spawn_role ("sub", transport,
            case_index, frames, live, 0, sub_cpu));
  for (guint s = 0; s < subscribers; s++) {
    collect (subs[s], &sub_streams[s], &result, FALSE, size, run);
    g_object_unref (subs[s]);
  }
  collect (pub, &pub_stream, &result, TRUE, size, run);
  g_object_unref (pub);
  if (watchdog_stop (&watchdog, transport)) {
    g_printerr ("  (%s: stuck after %d s, killed)\n", run, watchdog.deadline_s);
    memset (&result, 0, sizeof result);
  }
  g_free (run);
  return result;
}

static int
compare_fps (const void *a, const void *b)
{
  const Result *x = a, *y = b;

  return (x->fps > y->fps) - (x->fps < y->fps);
}

/* The median of @runs throughput runs.  A stuck run (it reads zero) ends
 * them, unless @retry_stuck: then it is left out, and @got_through, if not
 * NULL, tells how many were not. */
static Result
run_throughput (const gchar * transport, guint case_index, guint frames,
    guint subscribers, guint runs, gboolean retry_stuck, guint * got_through,
    gint pub_cpu, gint sub_cpu)
{
  Result results[SHORT_RUNS] = { {0} };
  guint done = 0;

  runs = MIN (runs, G_N_ELEMENTS (results));
  for (guint r = 0; r < runs; r++) {
    results[done] = run_case (transport, case_index, frames, FALSE,
        subscribers, pub_cpu, sub_cpu);
    if (results[done].fps > 0)
      done++;
    else if (!retry_stuck)
      break;
  }
  if (got_through)
    *got_through = done;
  if (done == 0)
    return results[0];
  qsort (results, done, sizeof results[0], compare_fps);
  return results[done / 2];
}

static int
compare_p50 (const void *a, const void *b)
{
  const Result *x = a, *y = b;

  return (x->lat[0] > y->lat[0]) - (x->lat[0] < y->lat[0]);
}

/* Of @runs latency runs, the one with the median p50, whole: its p90, p99
 * and max go with it.  A stuck run (all zero) is left out. */
static Result
median_latency (Result * results, guint runs)
{
  guint done = 0;

  for (guint r = 0; r < runs; r++)
    if (results[r].lat[0] > 0)
      results[done++] = results[r];
  if (done == 0)
    return results[0];
  qsort (results, done, sizeof *results, compare_p50);
  return results[done / 2];
}

typedef struct
{
  guint64 pub_ns, sub_ns;
} SteadyCpu;

/* The median of the values that are not zero (a stuck run's), or zero. */
static guint64
median_nonzero (guint64 * values, guint n)
{
  guint kept = 0;

  for (guint i = 0; i < n; i++)
    if (values[i])
      values[kept++] = values[i];
  sort_u64 (values, kept);
  return kept ? values[kept / 2] : 0;
}

/* A run's CPU per frame from STEADY_FROM_FRAME on. */
static SteadyCpu
steady_of (const Result * result)
{
  SteadyCpu steady = { result->pub_steady_ns, result->sub_steady_ns };

  return steady;
}

/* The median steady CPU per frame of @runs latency runs, each side on its
 * own. */
static SteadyCpu
median_steady (const Result * results, guint runs)
{
  guint64 pub[3], sub[3];
  SteadyCpu steady;

  for (guint r = 0; r < runs; r++) {
    pub[r] = results[r].pub_steady_ns;
    sub[r] = results[r].sub_steady_ns;
  }
  steady.pub_ns = median_nonzero (pub, runs);
  steady.sub_ns = median_nonzero (sub, runs);
  return steady;
}

typedef struct
{
  SteadyCpu live, full;
} CpuPerFrame;

/* A space and microseconds, or a space and "-" for a run that got stuck. */
static void
print_us (guint64 ns)
{
  if (ns)
    printf (" %.1f", ns / 1e3);
  else
    printf (" -");
}

/* At full speed one subscriber of small frames never sleeps, so the
 * publisher wakes nobody; at a camera's rate every frame wakes every
 * subscriber, whatever their number: hence both. */
static void
print_cpu_per_frame (const SteadyCpu * one, const SteadyCpu * four)
{
  printf (" publisher");
  print_us (one->pub_ns);
  print_us (four->pub_ns);
  if (one->pub_ns && four->pub_ns)
    printf (" (%.2fx)", (gdouble) four->pub_ns / one->pub_ns);
  printf (", subscriber");
  print_us (one->sub_ns);
  print_us (four->sub_ns);
}

static void
print_message_rate (const gchar * placement, gint pub_cpu, gint sub_cpu,
    guint runs)
{
  guint shm_through, zcp_through;
  Result shm = run_throughput ("shm", 0, SHORT_SMALL_FRAMES, 1, runs, TRUE,
      &shm_through, pub_cpu, sub_cpu);
  Result zcp = run_throughput ("zerocp", 0, SHORT_SMALL_FRAMES, 1, runs, TRUE,
      &zcp_through, pub_cpu, sub_cpu);

  printf ("  %-9s shm %.0f frames/s (%u of %u), zerocp %.0f frames/s "
      "(%u of %u)", placement, shm.fps, shm_through, runs, zcp.fps,
      zcp_through, runs);
  if (shm.fps > 0)
    printf (", %.2fx", zcp.fps / shm.fps);
  printf ("\n");
  fflush (stdout);
}

static void
print_row (const gchar * name, const gchar * transport, guint subscribers,
    const Result * tput, const Result * lat, const Result * shm,
    const Result * local)
{
  gchar ratio[64] = "";

  if (shm && shm->fps > 0)
    g_snprintf (ratio, sizeof ratio, "%6.2f", tput->fps / shm->fps);
  else if (shm)
    g_snprintf (ratio, sizeof ratio, "%6s", "-");
  if (local && local->fps > 0)
    g_snprintf (ratio + strlen (ratio), sizeof ratio - strlen (ratio),
        " %8.2f", tput->fps / local->fps);
  printf ("%-6s %-7s %3u %9.0f %7.2f  %6.0f %6.0f %6.0f %7.0f  %7.3f %7.3f"
      "  %6ld %6ld %5d  %s\n", name, transport, subscribers, tput->fps,
      tput->gbps, lat ? lat->lat[0] / 1e3 : 0, lat ? lat->lat[1] / 1e3 : 0,
      lat ? lat->lat[2] / 1e3 : 0, lat ? lat->lat[3] / 1e3 : 0,
      tput->pub_cpu_ms, tput->sub_cpu_ms, tput->pub_rss_kb / 1024,
      tput->sub_rss_kb / 1024, (int) tput->frames_sent -
      (int) tput->frames_received, ratio);
  fflush (stdout);
}

int
main (int argc, char **argv)
{
  gboolean quick = argc > 1 && g_str_equal (argv[1], "--quick");
  guint throughput_frames = quick ? 200 : 600;
  guint runs = quick ? 1 : 3;
  guint n_cases = quick ? 3 : G_N_ELEMENTS (cases);
  gdouble syscall_ns, clock_ns;
  guint64 p50, p99;
  /* Per case, one subscriber: the floor measured between its latency runs,
   * and the p50s of those runs. */
  guint64 near_floor[G_N_ELEMENTS (cases)] = { 0 };
  guint64 zcp_p50[G_N_ELEMENTS (cases)] = { 0 };
  guint64 shm_p50[G_N_ELEMENTS (cases)] = { 0 };
  /* Per case, [zerocp, shm] x [1, 4 subscribers], and in one process: CPU
   * per frame once started, at 60 fps and at full speed. */
  CpuPerFrame cpu[G_N_ELEMENTS (cases)][2][2] = { {{{{0}}}} };
  CpuPerFrame cpu_local[G_N_ELEMENTS (cases)] = { {{0}} };

  gst_init (&argc, &argv);
  sched_getaffinity (0, sizeof all_cpus, &all_cpus);
  self_path = g_file_read_link ("/proc/self/exe", NULL);
  if (argc > 1 && g_str_equal (argv[1], "role"))
    return run_role (argc - 2, argv + 2);
  if (argc > 1 && g_str_equal (argv[1], "floor")) {
    gint publisher_cpu, subscriber_cpu;

    if (argc != 4 || !parse_cpu (argv[2], &publisher_cpu) ||
        !parse_cpu (argv[3], &subscriber_cpu)) {
      print_usage (stderr);
      return 2;
    }
    measure_futex_floor (publisher_cpu, subscriber_cpu, &p50, &p99);
    printf ("floor p50=%" G_GUINT64_FORMAT " p99=%" G_GUINT64_FORMAT "\n",
        p50, p99);
    return 0;
  }
  if (argc > 2 || (argc == 2 && !quick)) {
    /* A full run takes minutes: not what a mistyped option should start. */
    gboolean help = g_str_equal (argv[1], "--help");

    print_usage (help ? stdout : stderr);
    return help ? 0 : 2;
  }

  /* Without these every row would wait out its deadline and read zero. */
  if (!have_element ("zerocpsink")) {
    g_printerr ("zcp-bench: no zerocpsink; run it with "
        "GST_PLUGIN_PATH=build/plugin, or with meson test --benchmark\n");
    return 1;
  }
  shm_available = have_element ("shmsink");

  printf ("zcp-bench: %s; %ld CPUs; throughput over %u frames (%u of 1 KiB), "
      "median of %u run%s; latency over %u frames at 60 fps, the median "
      "p50's run of as many\n", quick ? "quick" : "full",
      sysconf (_SC_NPROCESSORS_ONLN), throughput_frames,
      throughput_frames * cases[0].frames_scale, runs, runs > 1 ? "s" : "",
      LATENCY_FRAMES);

  if (!shm_available)
    printf ("no shmsink (gstreamer1.0-plugins-bad): shm rows left out\n");
  measure_kernel_entry (&syscall_ns, &clock_ns);
  printf ("system call (getppid) %.2f us; clock_gettime %.0f ns\n",
      syscall_ns / 1e3, clock_ns);
  measure_futex_floor (-1, -1, &p50, &p99);
  printf ("wake-up floor (bare futex, two processes): unpinned p50 %.0f us "
      "p99 %.0f us", p50 / 1e3, p99 / 1e3);
  measure_futex_floor (0, 0, &p50, &p99);
  printf ("; one core p50 %.0f us p99 %.0f us", p50 / 1e3, p99 / 1e3);
  measure_futex_floor (0, 1, &p50, &p99);
  printf ("; two cores p50 %.0f us p99 %.0f us\n\n", p50 / 1e3, p99 / 1e3);

  printf ("%-6s %-7s %3s %9s %7s  %6s %6s %6s %7s  %7s %7s  %6s %6s %5s  %s\n",
      "case", "via", "sub", "frames/s", "GB/s", "p50us", "p90us", "p99us",
      "maxus", "pubms/f", "subms/f", "pubMB", "subMB", "lost",
      "vs-shm vs-local");
  for (guint c = 0; c < n_cases; c++) {
    guint frames = throughput_frames * cases[c].frames_scale;
    Result local = run_throughput ("local", c, frames, 0, runs, FALSE,
        NULL, -1, -1);
    Result local_lats[3], local_lat;

    for (guint r = 0; r < runs; r++)
      local_lats[r] = run_case ("local", c, LATENCY_FRAMES, TRUE, 0, -1, -1);
    cpu_local[c].live = median_steady (local_lats, runs);
    cpu_local[c].full = steady_of (&local);
    local_lat = median_latency (local_lats, runs);

    for (guint subscribers = 1; subscribers <= 4; subscribers += 3) {
      Result shm = run_throughput ("shm", c, frames, subscribers, runs,
          FALSE, NULL, -1, -1);
      Result zcp = run_throughput ("zerocp", c, frames, subscribers,
          runs, FALSE, NULL, -1, -1);
      Result shm_lats[3], zcp_lats[3], shm_lat, zcp_lat;
      guint64 floors[3];

      /* Taking turns, so that the VM's moods fall on both alike, and on the
       * floor: the one measured at the start may be minutes and a mood
       * away. */
      for (guint r = 0; r < runs; r++) {
        if (subscribers == 1)
          measure_futex_floor (-1, -1, &floors[r], &p99);
        shm_lats[r] = run_case ("shm", c, LATENCY_FRAMES, TRUE, subscribers,
            -1, -1);
        zcp_lats[r] = run_case ("zerocp", c, LATENCY_FRAMES, TRUE,
            subscribers, -1, -1);
      }
      cpu[c][0][subscribers > 1].live = median_steady (zcp_lats, runs);
      cpu[c][0][subscribers > 1].full = steady_of (&zcp);
      cpu[c][1][subscribers > 1].live = median_steady (shm_lats, runs);
      cpu[c][1][subscribers > 1].full = steady_of (&shm);
      shm_lat = median_latency (shm_lats, runs);
      zcp_lat = median_latency (zcp_lats, runs);
      if (subscribers == 1) {
        near_floor[c] = median_nonzero (floors, runs);
        zcp_p50[c] = zcp_lat.lat[0];
        shm_p50[c] = shm_lat.lat[0];
        print_row (cases[c].name, "local", 0, &local, &local_lat, NULL, NULL);
      }
      if (shm_available)
        print_row (cases[c].name, "shm", subscribers, &shm, &shm_lat, NULL,
            NULL);
      print_row (cases[c].name, "zerocp", subscribers, &zcp, &zcp_lat, &shm,
          &local);
    }
  }

  printf ("\np50 at 60 fps, 1 subscriber, unpinned, against the wake-up floor "
      "measured between its runs (median of as many):\n");
  for (guint c = 0; c < n_cases; c++) {
    printf ("  %-6s floor %.0f us, zerocp %.0f us (%.2fx the floor)",
        cases[c].name, near_floor[c] / 1e3, zcp_p50[c] / 1e3,
        near_floor[c] ? (gdouble) zcp_p50[c] / near_floor[c] : 0);
    if (shm_available && zcp_p50[c] && shm_p50[c])
      printf (", shm %.0f us (%.2fx zerocp's)", shm_p50[c] / 1e3,
          (gdouble) shm_p50[c] / zcp_p50[c]);
    printf ("\n");
  }

  printf ("\nCPU per frame from frame %d on, in us, publisher and "
      "subscriber with 1 and 4 subscribers: at 60 fps (median of the latency "
      "runs) and at full speed (the throughput run of the table):\n",
      STEADY_FROM_FRAME);
  for (guint c = 0; c < n_cases; c++) {
    printf ("  %-6s %-7s 60 fps:", cases[c].name, "local");
    print_us (cpu_local[c].live.pub_ns);
    printf ("; full speed:");
    print_us (cpu_local[c].full.pub_ns);
    printf (" (one process, no transport)\n");
    for (guint t = 0; t < (shm_available ? 2 : 1); t++) {
      printf ("  %-6s %-7s 60 fps:", cases[c].name, t == 0 ? "zerocp" : "shm");
      print_cpu_per_frame (&cpu[c][t][0].live, &cpu[c][t][1].live);
      printf ("; full speed:");
      print_cpu_per_frame (&cpu[c][t][0].full, &cpu[c][t][1].full);
      printf ("\n");
    }
  }

  /* shmsink/shmsrc deadlock on a long run of small buffers (both block in
   * send() on each other's full socket): a short one gives them a rate.
   * Unpinned, a run of milliseconds goes as fast as the scheduler's first
   * placement lets it, so the rate is also taken with the two processes
   * on two CPUs. */
  if (shm_available) {
    printf ("\nmessage rate over %u frames of 1 KiB, 1 subscriber, median of "
        "the runs that got through:\n", SHORT_SMALL_FRAMES);
    print_message_rate ("unpinned", -1, -1, quick ? 3 : SHORT_RUNS);
    if (CPU_COUNT (&all_cpus) >= 2)
      print_message_rate ("two cores", 0, 1, quick ? 3 : SHORT_RUNS);
  }

  printf ("\nlatency at 60 fps, 1080p, 1 subscriber, pinned:\n");
  for (int placement = 0; placement < 2; placement++) {
    gint sub_cpu = placement == 0 ? 0 : 1;
    Result shm = run_case ("shm", 1, LATENCY_FRAMES, TRUE, 1, 0, sub_cpu);
    Result zcp = run_case ("zerocp", 1, LATENCY_FRAMES, TRUE, 1, 0, sub_cpu);

    printf ("  %-9s", placement == 0 ? "one core" : "two cores");
    if (shm_available)
      printf (" shm p50 %.0f us p99 %.0f us;", shm.lat[0] / 1e3,
          shm.lat[2] / 1e3);
    printf (" zerocp p50 %.0f us p99 %.0f us\n", zcp.lat[0] / 1e3,
        zcp.lat[2] / 1e3);
  }
  return 0;
}
