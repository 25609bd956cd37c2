#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""docs/examples/zerocp_numpy.py against a live publisher (TAP).

A lossless subscriber attaches first; the numpy consumer pauses for a second
after 10 frames.  The lossless one must still get every frame, the numpy one
must have had frames dropped for it (the publisher went on without it), and
its arrays must be views of the zerocp memory, not copies."""

import os
import re
import subprocess
import sys
import time

EXAMPLE = sys.argv[1]
CHANNEL = "numpy-%d" % os.getpid()
FRAMES = 150
DEADLINE_S = 60

results = []


def check(name, condition, detail=""):
    results.append(bool(condition))
    print("%s %d - %s" % ("ok" if condition else "not ok", len(results), name))
    if not condition:
        for line in str(detail).splitlines():
            print("# " + line)


def start(command):
    return subprocess.Popen(command, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


lossless = start(["gst-launch-1.0", "zerocpsrc", "channel=" + CHANNEL,
                  "leaky=no", "!", "fakesink", "silent=false", "-v"])
consumer = start([sys.executable, EXAMPLE, CHANNEL, "--pause-after", "10",
                  "--pause-for", "1"])
# Both attach while the publisher holds its first frame for a subscriber.
time.sleep(1)
publisher = start(["gst-launch-1.0", "videotestsrc", "is-live=true",
                   "num-buffers=%d" % FRAMES, "!",
                   "video/x-raw,format=NV12,width=320,height=240,"
                   "framerate=30/1", "!", "zerocpsink", "channel=" + CHANNEL,
                   "wait-for-connection=true"])
outputs = {}
try:
    for name, process in (("publisher", publisher), ("lossless", lossless),
                          ("consumer", consumer)):
        outputs[name], _ = process.communicate(timeout=DEADLINE_S)
finally:
    for process in (publisher, lossless, consumer):
        if process.poll() is None:
            process.kill()
            process.wait()

check("the publisher exits 0", publisher.returncode == 0,
      outputs.get("publisher"))
check("the numpy consumer exits 0", consumer.returncode == 0,
      outputs.get("consumer"))
summary = re.search(r"frames (\d+), dropped for us (\d+), .* memory (\S+), "
                    r"array owns its data: (\w+)", outputs.get("consumer", ""))
check("it prints its summary", summary, outputs.get("consumer"))
if summary:
    frames, dropped = int(summary.group(1)), int(summary.group(2))
    check("frames were dropped for it while it paused", dropped > 0
          and frames < FRAMES, summary.group(0))
    check("its arrays are views of the zerocp memory",
          summary.group(3) == "ZeroCpMemory" and summary.group(4) == "False",
          summary.group(0))
chains = outputs.get("lossless", "").count("chain")
check("the lossless subscriber got every frame meanwhile", chains == FRAMES,
      "%d of %d" % (chains, FRAMES))
leftovers = [name for name in os.listdir("/dev/shm")
             if name.startswith("zerocp." + CHANNEL)]
check("nothing left in /dev/shm", not leftovers, leftovers)

run = subprocess.run([sys.executable, EXAMPLE, "a b ! fakesink"],
                     capture_output=True, text=True, timeout=DEADLINE_S)
check("a bad channel name is refused with the element's message",
      run.returncode == 1
      and "Invalid channel name 'a b ! fakesink'" in run.stderr,
      run.stdout + run.stderr)

print("1..%d" % len(results))
sys.exit(0 if all(results) else 1)
