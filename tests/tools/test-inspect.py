#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""zerocp-inspect against real processes (TAP).

A publisher and two subscribers (one lossless, one leaky and slow) run as
the test helper, an instrumented program, so this runs under the sanitizers
too.  zerocp-inspect must list the channel, show both subscribers, refuse to
clean a live channel, see the publisher die when it is SIGKILLed, and then
remove every segment of the channel with --clean; then it must call garbage
under the channel's name corrupt, and clean it."""

import json
import os
import signal
import subprocess
import sys
import time

from taplib import check, finish

INSPECT = sys.argv[1]
HELPER = os.environ["ZCP_TEST_HELPER"]
CHANNEL = "inspect-%d" % os.getpid()
DEADLINE_S = 30

def inspect(*args):
    process = subprocess.run([INSPECT] + list(args), capture_output=True,
                             text=True, timeout=DEADLINE_S)
    return process.returncode, process.stdout, process.stderr


def start(description, *options):
    return subprocess.Popen([HELPER] + list(options) + [description],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)


def wait_for_line(process, prefix):
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            return False
        if line.startswith(prefix):
            return True
    return False


def shm_files():
    return sorted(name for name in os.listdir("/dev/shm")
                  if name == "zerocp." + CHANNEL
                  or name.startswith("zerocp.%s@" % CHANNEL))


def until(condition):
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    return None


publisher = start("videotestsrc is-live=true ! video/x-raw,format=NV12,"
                  "width=320,height=240,framerate=30/1 ! zerocpsink name=probe "
                  "channel=%s" % CHANNEL)
subscribers = []
try:
    check("the publisher starts", wait_for_line(publisher, "state started"))
    subscribers = [
        start("zerocpsrc channel=%s leaky=no ! fakesink name=probe" % CHANNEL),
        start("zerocpsrc channel=%s max-buffers=2 ! identity sleep-time=100000 "
              "! fakesink name=probe" % CHANNEL),
    ]
    for sub in subscribers:
        wait_for_line(sub, "frame ")

    def both_subscribed():
        code, out, _ = inspect("--json", CHANNEL)
        if code != 0:
            return None
        channel = json.loads(out)
        return channel if len(channel["subscribers"]) == 2 else None

    channel = until(both_subscribed)
    check("the channel shows two subscribers", channel is not None)
    if channel:
        pids = sorted(s["pid"] for s in channel["subscribers"])
        check("with their pids", pids == sorted(s.pid for s in subscribers),
              "%s vs %s" % (pids, [s.pid for s in subscribers]))
        check("the publisher is alive, with its pid",
              channel["publisher_alive"]
              and channel["publisher_pid"] == publisher.pid, channel)
        check("caps are the publisher's",
              (channel["caps"] or "").startswith("video/x-raw")
              and "width=(int)320" in channel["caps"], channel["caps"])
        check("one pool with chunks in use",
              len(channel["pools"]) == 1
              and channel["pools"][0]["chunks_in_use"] >= 1, channel["pools"])
        pool = channel["pools"][0] if channel["pools"] else {}
        check("the pool takes in /dev/shm at least its chunks in use",
              pool.get("shm_bytes", 0) > 0 and pool["shm_bytes"] >=
              pool["chunks_in_use"] * pool["chunk_size"], pool)
        queues = {s["leaky"]: s["max_buffers"] for s in channel["subscribers"]}
        check("each subscriber's queue policy", queues == {"no": 4,
                                                           "downstream": 2},
              queues)

    code, out, err = inspect("--json")
    listed = [c["channel"] for c in json.loads(out)] if code == 0 else []
    check("the listing has the channel", CHANNEL in listed, out + err)

    code, out, _ = inspect()
    check("the table has the channel as alive",
          code == 0 and any(line.split()[:3] == [CHANNEL, str(publisher.pid),
                                                 "alive"]
                            for line in out.splitlines()), out)

    code, out, _ = inspect(CHANNEL)
    check("the channel's detail has the publisher, its pool and each "
          "subscriber, alive, with their queues",
          code == 0 and "publisher  pid %d (alive)" % publisher.pid in out
          and "\n  pool 0 " in out
          and all("pid %d (alive), queued " % s.pid in out
                  for s in subscribers)
          and "leaky no" in out and "leaky downstream" in out, out)

    # Another publisher between shm_open and its first write: the listing
    # notes it and goes on.
    starting = "/dev/shm/zerocp." + CHANNEL + "-starting"
    open(starting, "wb").close()
    code, out, err = inspect("--json")
    os.unlink(starting)
    listed = [c["channel"] for c in json.loads(out)] if code == 0 else []
    check("a channel being set up does not fail the listing",
          CHANNEL in listed and "still setting it up" in err, out + err)

    watcher = subprocess.Popen([INSPECT, "--watch", "--json", CHANNEL],
                               stdout=subprocess.PIPE, text=True)
    first = watcher.stdout.readline()
    second = watcher.stdout.readline()
    watcher.send_signal(signal.SIGINT)
    watcher.wait(timeout=DEADLINE_S)
    rate = json.loads(second).get("frames_per_second", -1) if second else -1
    check("--watch gives a frame rate from its second look on",
          "frames_per_second" not in json.loads(first) and rate > 0,
          "%s%s" % (first, second))
    check("--watch ends on SIGINT with status 0", watcher.returncode == 0,
          watcher.returncode)

    # A stopped subscriber cannot release what it holds: the age of its
    # oldest chunk is at least the time it has been stopped.
    slow = subscribers[1]
    slow.send_signal(signal.SIGSTOP)
    stopped_at = time.monotonic()
    time.sleep(1)
    code, out, _ = inspect("--json", CHANNEL)
    stopped_for_ms = (time.monotonic() - stopped_at) * 1000
    slow.send_signal(signal.SIGCONT)
    entry = [s for s in json.loads(out)["subscribers"]
             if s["pid"] == slow.pid] if code == 0 else []
    age = entry[0]["oldest_held_age_ms"] if entry else None
    # It was published shortly before the stop; the bound is loose, only
    # there to catch an age counted from no publish time at all.
    check("a stopped subscriber's oldest chunk is as old as its stop",
          age is not None and 1000 <= age <= stopped_for_ms + 10000,
          "%s ms after %.0f ms stopped" % (age, stopped_for_ms))

    code, _, err = inspect("--clean", CHANNEL)
    check("--clean refuses a live channel", code == 1 and "live" in err, err)
    check("and leaves its segments", "zerocp." + CHANNEL in shm_files())

    # The last subscriber to find its publisher dead removes the channel
    # itself: stopped, they leave it to zerocp-inspect.
    for sub in subscribers:
        sub.send_signal(signal.SIGSTOP)
    publisher.send_signal(signal.SIGKILL)
    publisher.wait(timeout=DEADLINE_S)

    code, out, _ = inspect("--json", CHANNEL)
    channel = json.loads(out) if code == 0 else {}
    check("a SIGKILLed publisher shows as dead",
          channel.get("publisher_alive") is False
          and channel.get("closed") is False, out)

    code, out, err = inspect("--clean")
    check("--clean removes the dead channel and says so",
          code == 0 and "removed channel '%s'" % CHANNEL in out, out + err)
    check("nothing of it is left in /dev/shm", shm_files() == [],
          shm_files())

    code, _, err = inspect(CHANNEL)
    check("a missing channel is an error", code == 1
          and "no such channel" in err, err)
    code, _, err = inspect("not/a channel")
    check("a bad name is a usage error", code == 2, err)

    # Garbage under a channel's name, shorter and as long as a real one.
    for size in (4096, 1 << 21):
        with open("/dev/shm/zerocp." + CHANNEL, "wb") as garbage:
            garbage.write(os.urandom(size))
        code, _, err = inspect(CHANNEL)
        check("a corrupt channel of %d bytes is an error that says so" % size,
              code == 1 and "corrupt" in err, err)
        code, out, err = inspect("--clean", CHANNEL)
        check("--clean removes a corrupt channel of %d bytes" % size,
              code == 0 and shm_files() == [], out + err)
finally:
    for process in [publisher] + subscribers:
        if process.poll() is None:
            process.kill()
        process.wait()
    # Whatever a failure left behind.
    for name in shm_files():
        os.unlink(os.path.join("/dev/shm", name))

finish()
