#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The C examples of docs/examples against each other (TAP): the appsink
subscriber, started first, must get every frame the appsrc publisher draws
into zerocpsink's pool, none of them copied."""

import os
import re
import subprocess
import sys

from taplib import check, finish, run_beside, shm_leftovers

PUBLISHER, SUBSCRIBER = sys.argv[1], sys.argv[2]
CHANNEL = "examples-%d" % os.getpid()
FRAMES = 60
DEADLINE_S = 60

publisher, sub_out, sub_status = run_beside(
    [SUBSCRIBER, CHANNEL], [PUBLISHER, CHANNEL, str(FRAMES)], DEADLINE_S)

pub_out = publisher.stdout + publisher.stderr
check("the publisher exits 0", publisher.returncode == 0, pub_out)
check("it drew every frame into the sink's pool",
      "published %d frames, 0 of them copied" % FRAMES in pub_out, pub_out)
check("the subscriber exits 0", sub_status == 0, sub_out)
received = re.search(r"^received (\d+) frames", sub_out, re.M)
check("it received every frame",
      received and int(received.group(1)) == FRAMES, sub_out)
check("with the publisher's caps",
      re.search(r"^caps: video/x-raw, format=\(string\)NV12, "
                r"width=\(int\)640, height=\(int\)360", sub_out, re.M),
      sub_out)
check("and a status line with one subscriber",
      re.search(r"frames \d+ \| [\d.]+ frames/s \| latency .* \| "
                r"subscribers 1", sub_out), sub_out)
leftovers = shm_leftovers(CHANNEL)
check("nothing left in /dev/shm", not leftovers, leftovers)

# What a user types goes to the channel property, never into a launch line:
# a name with spaces and a '!' is refused by the element, with its message.
for name, command in (("publisher", [PUBLISHER, "a b ! fakesink", "1"]),
                      ("subscriber", [SUBSCRIBER, "a b ! fakesink"])):
    run = subprocess.run(command, capture_output=True, text=True,
                         timeout=DEADLINE_S)
    output = run.stdout + run.stderr
    check("the %s refuses a bad channel name with exit status 1" % name,
          run.returncode == 1 and "Invalid channel name 'a b ! fakesink'"
          in output and "CRITICAL" not in output
          and "WARNING **" not in output, output)

finish()
