# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the Python tests of tests/tools share: TAP lines, a program run
beside another, and a look at /dev/shm."""

import os
import subprocess
import sys

_results = []


def check(name, condition, detail=""):
    """One TAP line; the detail, if the check failed, as comments."""
    _results.append(bool(condition))
    print("%s %d - %s" % ("ok" if condition else "not ok", len(_results),
                          name))
    if not condition and detail:
        for line in str(detail).splitlines():
            print("# " + line)


def finish():
    """The TAP plan, and the exit status of the whole test."""
    print("1..%d" % len(_results))
    sys.exit(0 if all(_results) else 1)


def start(command):
    return subprocess.Popen(command, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def run_beside(background, foreground, timeout_s):
    """Starts @background, runs @foreground to its end, then reads
    @background to its end; kills it if it outlives @timeout_s.  Returns
    the foreground's CompletedProcess, the background's output and its exit
    status."""
    process = start(background)
    try:
        completed = subprocess.run(foreground, capture_output=True, text=True,
                                   timeout=timeout_s)
        output, _ = process.communicate(timeout=timeout_s)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return completed, output, process.returncode


def shm_leftovers(channel):
    """What a channel left in /dev/shm."""
    return [name for name in os.listdir("/dev/shm")
            if name.startswith("zerocp." + channel)]
