#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A numpy consumer of a zerocp channel.

    zerocp_numpy.py CHANNEL [--pause-after N] [--pause-for SECONDS]

Each frame arrives through appsink as a Gst.Buffer whose memory is the
publisher's shared-memory chunk.  Mapping it gives a memoryview of that
memory, and numpy.frombuffer() an array over the same bytes: no copy.  The
array is only valid until the buffer is unmapped.

--pause-after N --pause-for S stops pulling for S seconds after N frames, as
a slow analytics step would.  zerocpsrc is live here, so its queue is
leaky=downstream: the publisher drops this subscriber's oldest frames while
it sleeps, and every other subscriber goes on at full rate.  The summary
counts what was dropped.

Needs Debian's python3-gst-1.0 and python3-numpy, and the plugin on
GST_PLUGIN_PATH (build/plugin).
"""

import argparse
import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
gi.require_version("GstVideo", "1.0")
from gi.repository import Gst, GstApp, GstVideo  # noqa: E402,F401

import numpy  # noqa: E402


def luma_plane(buffer, info):
    """The Y plane of a mapped frame as a 2-D uint8 array over the mapped
    memory, and the map to release once the array is no longer used."""
    ok, mapping = buffer.map(Gst.MapFlags.READ)
    if not ok:
        raise RuntimeError("cannot map the frame")
    meta = GstVideo.buffer_get_video_meta(buffer)
    offset = meta.offset[0] if meta else info.offset[0]
    stride = meta.stride[0] if meta else info.stride[0]
    data = numpy.frombuffer(mapping.data, dtype=numpy.uint8)
    plane = numpy.lib.stride_tricks.as_strided(
        data[offset:], shape=(info.height, info.width), strides=(stride, 1))
    return plane, mapping


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("channel")
    parser.add_argument("--pause-after", type=int, default=0)
    parser.add_argument("--pause-for", type=float, default=0.0)
    args = parser.parse_args()

    Gst.init(None)
    pipeline = Gst.parse_launch(
        "zerocpsrc name=src ! video/x-raw,format={GRAY8,NV12,I420} "
        "! appsink name=sink sync=false max-buffers=1")
    src = pipeline.get_by_name("src")
    sink = pipeline.get_by_name("sink")
    # A property, not text in the launch line: the element checks the name,
    # whatever the user typed.
    src.set_property("channel", args.channel)
    pipeline.set_state(Gst.State.PLAYING)

    frames = 0
    owns_data = None
    memory_type = None
    mean = 0.0
    bus = pipeline.get_bus()
    status = 0
    while True:
        sample = sink.try_pull_sample(100 * Gst.MSECOND)
        if sample is None:
            if sink.is_eos():
                break
            message = bus.pop_filtered(Gst.MessageType.ERROR)
            if message:
                error, _ = message.parse_error()
                print("error: %s" % error.message, file=sys.stderr)
                status = 1
                break
            continue

        info = GstVideo.VideoInfo.new_from_caps(sample.get_caps())
        buffer = sample.get_buffer()
        plane, mapping = luma_plane(buffer, info)
        mean = float(plane.mean())
        # An array over the chunk, not a copy of it.
        owns_data = plane.flags.owndata or plane.base is None
        memory_type = buffer.peek_memory(0).allocator.mem_type
        del plane
        buffer.unmap(mapping)
        frames += 1

        if args.pause_after and frames == args.pause_after:
            print("pausing for %.1f s after %d frames" % (args.pause_for,
                                                           frames))
            sys.stdout.flush()
            time.sleep(args.pause_for)

    stats = src.get_property("stats")
    dropped = stats.get_uint64("dropped")[1]
    pipeline.set_state(Gst.State.NULL)
    print("frames %d, dropped for us %d, mean luma of the last %.1f, "
          "memory %s, array owns its data: %s" % (frames, dropped, mean,
                                                  memory_type, owns_data))
    return status


if __name__ == "__main__":
    sys.exit(main())
