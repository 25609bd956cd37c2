#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A numpy publisher: appsrc ! zerocpsink, drawing into shared memory.

    zerocp_numpy_publisher.py CHANNEL [FRAMES]

The program asks zerocpsink for its pool (an ALLOCATION query, as an element
upstream of the sink would), and each frame is a numpy array over a mapped
shared-memory chunk: what the program writes is what every subscriber
reads, with no copy on the way.  It waits for a first subscriber
(wait-for-connection=true), sends FRAMES frames (default 300) of 640x360
NV12 at 30 fps whose luma ramps with the frame number, then EOS, and says
how many were copied (0, unless the sink offered no pool).

Needs Debian's python3-gst-1.0 and python3-numpy, and the plugin on
GST_PLUGIN_PATH (build/plugin).
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstVideo", "1.0")
from gi.repository import Gst, GstVideo  # noqa: E402

import numpy  # noqa: E402

WIDTH, HEIGHT, FPS = 640, 360, 30


def sink_pool(appsrc, caps, size):
    """The sink's pool, configured for caps and active; None if it offers
    none."""
    query = Gst.Query.new_allocation(caps, True)
    if (not appsrc.get_static_pad("src").peer_query(query)
            or query.get_n_allocation_pools() == 0):
        return None
    pool, _, minimum, maximum = query.parse_nth_allocation_pool(0)
    config = pool.get_config()
    Gst.BufferPool.config_set_params(config, caps, size, minimum, maximum)
    Gst.BufferPool.config_add_option(config,
                                     GstVideo.BUFFER_POOL_OPTION_VIDEO_META)
    if not pool.set_config(config) or not pool.set_active(True):
        return None
    return pool


def plane(mapping, buffer, info, index, rows, row_bytes):
    """Plane `index` of a write-mapped frame as a 2-D uint8 array over the
    mapped memory, laid out as the pool's video meta says."""
    meta = GstVideo.buffer_get_video_meta(buffer)
    offset = meta.offset[index] if meta else info.offset[index]
    stride = meta.stride[index] if meta else info.stride[index]
    data = numpy.frombuffer(mapping.data, dtype=numpy.uint8)
    return numpy.lib.stride_tricks.as_strided(
        data[offset:], shape=(rows, row_bytes), strides=(stride, 1))


def draw(buffer, info, ramp, n):
    ok, mapping = buffer.map(Gst.MapFlags.WRITE)
    if not ok:
        raise RuntimeError("cannot map the frame for writing")
    plane(mapping, buffer, info, 0, HEIGHT, WIDTH)[:] = (ramp + 4 * n) & 0xff
    plane(mapping, buffer, info, 1, HEIGHT // 2, WIDTH)[:] = 128
    buffer.unmap(mapping)


def first_error(pipeline):
    message = pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
    return message.parse_error()[0].message if message else None


def main():
    if len(sys.argv) < 2:
        print("usage: %s CHANNEL [FRAMES]" % sys.argv[0], file=sys.stderr)
        return 2
    frames = int(sys.argv[2]) if len(sys.argv) > 2 else 300

    Gst.init(None)
    pipeline = Gst.parse_launch(
        "appsrc name=src format=time is-live=true do-timestamp=false "
        "! zerocpsink name=sink wait-for-connection=true")
    appsrc = pipeline.get_by_name("src")
    sink = pipeline.get_by_name("sink")
    # A property, not text in the launch line: the element checks the name,
    # whatever the user typed.
    sink.set_property("channel", sys.argv[1])

    info = GstVideo.VideoInfo()
    info.set_format(GstVideo.VideoFormat.NV12, WIDTH, HEIGHT)
    info.fps_n, info.fps_d = FPS, 1
    caps = info.to_caps()
    appsrc.set_property("caps", caps)

    # Once set_state() returns, the sink has opened its channel and answers
    # the query (PLAYING would wait for a first frame to preroll).
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        print("error: %s" % (first_error(pipeline) or "cannot start"),
              file=sys.stderr)
        return 1
    pool = sink_pool(appsrc, caps, info.size)
    if pool is None:
        print("zerocpsink offered no pool: frames will be copied",
              file=sys.stderr)

    # Row y of frame n has luma (y + 4n) & 0xff.
    ramp = numpy.arange(HEIGHT, dtype=numpy.uint16).reshape(HEIGHT, 1)
    for n in range(frames):
        if pool:
            # Blocks while every chunk is held by subscribers.
            ret, buffer = pool.acquire_buffer(None)
            if ret != Gst.FlowReturn.OK:
                break
        else:
            buffer = Gst.Buffer.new_allocate(None, info.size, None)
        draw(buffer, info, ramp, n)
        buffer.pts = Gst.util_uint64_scale(n, Gst.SECOND, FPS)
        buffer.duration = Gst.util_uint64_scale(1, Gst.SECOND, FPS)
        if appsrc.emit("push-buffer", buffer) != Gst.FlowReturn.OK:
            break
        # The pool gets the chunk back once every subscriber is done with
        # it; this program's reference must not be the one that keeps it.
        del buffer
    appsrc.emit("end-of-stream")

    status = 0
    message = pipeline.get_bus().timed_pop_filtered(
        Gst.CLOCK_TIME_NONE, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    if message.type == Gst.MessageType.ERROR:
        print("error: %s" % message.parse_error()[0].message, file=sys.stderr)
        status = 1

    stats = sink.get_property("stats")
    print("published %d frames, %d of them copied"
          % (stats.get_uint64("frames-published")[1],
             stats.get_uint64("frames-copied")[1]))
    pipeline.set_state(Gst.State.NULL)
    if pool:
        pool.set_active(False)
    return status


if __name__ == "__main__":
    sys.exit(main())
