#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs every gst-launch-1.0 line of the given Markdown files.

The lines of one ```sh block are one example: they run together, as separate
processes, subscribers first, and every one must end with status 0 within
the deadline, without a warning.  So that they end by themselves and run
headless, each block gets a channel name of its own, videotestsrc at most 60
buffers, and fakesink in place of autovideosink, syncing to the clock as a
video sink does."""

import os
import re
import shlex
import subprocess
import sys

DEADLINE_S = 60
MAX_BUFFERS = 60


def blocks(path):
    block, inside = [], False
    for line in open(path, encoding="utf-8"):
        if line.startswith("```"):
            if inside and block:
                yield block
            block, inside = [], line.strip() == "```sh"
        elif inside and line.startswith("gst-launch-1.0"):
            block.append(line.strip())


def runnable(line, channel):
    line = re.sub(r"channel=[A-Za-z0-9_.-]+", "channel=" + channel, line)
    line = re.sub(r"zerocp://[A-Za-z0-9_.-]+", "zerocp://" + channel, line)
    line = line.replace("autovideosink", "fakesink sync=true")
    line = re.sub(r"num-buffers=(\d+)",
                  lambda m: "num-buffers=%d" % min(int(m.group(1)), MAX_BUFFERS),
                  line)
    if "videotestsrc" in line and "num-buffers=" not in line:
        line = line.replace("videotestsrc", "videotestsrc num-buffers=%d" % MAX_BUFFERS, 1)
    return line


def diagnose(what, output):
    """Says what failed, and the end of what it printed, as TAP comments."""
    for line in [what] + output[-3000:].splitlines():
        print("# " + line)


def run_block(name, lines):
    channel = "doc-%s-%d" % (name, os.getpid())
    commands = [runnable(line, channel) for line in lines]
    # Subscribers first, so that they are waiting when frames flow.
    commands.sort(key=lambda command: "zerocpsink" in command)
    processes = []
    for command in commands:
        processes.append((command, subprocess.Popen(
            shlex.split(command), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)))
    failed = False
    for command, process in processes:
        try:
            output, _ = process.communicate(timeout=DEADLINE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            diagnose("TIMEOUT after %d s: %s" % (DEADLINE_S, command), output)
            failed = True
            continue
        if process.returncode != 0:
            diagnose("EXIT %d: %s" % (process.returncode, command), output)
            failed = True
        elif "WARNING: " in output:
            diagnose("WARNING from %s" % command, output)
            failed = True
    return not failed


def main(paths):
    passed = failed = 0
    for path in paths:
        for index, lines in enumerate(blocks(path)):
            name = "%s-%d" % (os.path.basename(path).split(".")[0], index)
            if run_block(name, lines):
                passed += 1
                print("ok %d - %s: %s" % (passed + failed, path, lines[0]))
            else:
                failed += 1
                print("not ok %d - %s: %s" % (passed + failed, path, lines[0]))
    print("1..%d" % (passed + failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
