#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The numpy examples of docs/examples (TAP).

zerocp_numpy.py against a live publisher: a lossless subscriber attaches
first; the numpy consumer pauses for a second after 10 frames.  The lossless
one must still get every frame, the numpy one must have had frames dropped
for it (the publisher went on without it), and its arrays must be views of
the zerocp memory, not copies.

zerocp_numpy_publisher.py into the numpy consumer: every frame drawn into
the sink's pool, none copied, and the consumer reads the picture drawn."""

import os
import re
import subprocess
import sys
import time

from taplib import check, finish, run_beside, shm_leftovers, start

EXAMPLE, PUBLISHER_EXAMPLE = sys.argv[1], sys.argv[2]
CHANNEL = "numpy-%d" % os.getpid()
FRAMES = 150
DRAWN_FRAMES = 60
DEADLINE_S = 60

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

drawn_channel = CHANNEL + "-drawn"
# The publisher waits for a first subscriber, so the consumer may start
# before or after it; before is the harder case for its first frame.
drawing, consumer_out, consumer_status = run_beside(
    [sys.executable, EXAMPLE, drawn_channel],
    [sys.executable, PUBLISHER_EXAMPLE, drawn_channel, str(DRAWN_FRAMES)],
    DEADLINE_S)
drawing_out = drawing.stdout + drawing.stderr
check("the numpy publisher exits 0", drawing.returncode == 0, drawing_out)
check("it drew every frame into the sink's pool",
      "published %d frames, 0 of them copied" % DRAWN_FRAMES in drawing_out,
      drawing_out)
check("the consumer of its frames exits 0", consumer_status == 0,
      consumer_out)
# Row y of frame n has luma (y + 4n) & 0xff, 360 rows.
last = DRAWN_FRAMES - 1
expected_mean = sum((y + 4 * last) & 0xff for y in range(360)) / 360.0
check("the consumer reads the last picture drawn, in the chunk itself",
      "mean luma of the last %.1f, memory ZeroCpMemory," % expected_mean
      in consumer_out, consumer_out)

leftovers = shm_leftovers(CHANNEL)
check("nothing left in /dev/shm", not leftovers, leftovers)

for example in (EXAMPLE, PUBLISHER_EXAMPLE):
    run = subprocess.run([sys.executable, example, "a b ! fakesink"],
                         capture_output=True, text=True, timeout=DEADLINE_S)
    check("%s refuses a bad channel name with the element's message"
          % os.path.basename(example),
          run.returncode == 1
          and "Invalid channel name 'a b ! fakesink'" in run.stderr,
          run.stdout + run.stderr)

finish()
