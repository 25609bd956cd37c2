#!/bin/sh
# The main job: a publisher and a subscriber in two processes.  The
# publisher, a gst-launch-1.0 line, sends 300 frames of 1080p NV12 at 30 fps
# and waits for its first subscriber so that it gets them all.  The
# subscriber, docs/examples/zerocp-subscriber (zerocpsrc ! appsink, reading
# each frame in place), keeps a status line up to date while frames flow
# (frames, frames/s, latency, subscribers) and ends with a summary.
set -eu
cd "$(dirname "$0")/.."
export GST_PLUGIN_PATH="$PWD/build/plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
channel="demo-$$"
log=$(mktemp)
status=$(mktemp)
trap 'rm -f "$log" "$status"' EXIT

echo "subscriber: build/docs/examples/zerocp-subscriber $channel"
echo "publisher:  gst-launch-1.0 videotestsrc num-buffers=300 ! video/x-raw,format=NV12,width=1920,height=1080,framerate=30/1 ! zerocpsink channel=$channel wait-for-connection=true"
echo

{ build/docs/examples/zerocp-subscriber "$channel"; echo $? >"$status"; } |
  tee "$log" &
subscriber=$!

gst-launch-1.0 -q videotestsrc num-buffers=300 ! \
  video/x-raw,format=NV12,width=1920,height=1080,framerate=30/1 ! \
  zerocpsink channel="$channel" wait-for-connection=true &
publisher=$!

publisher_status=0
wait $publisher || publisher_status=$?
wait $subscriber || true
subscriber_status=$(cat "$status")

frames=$(sed -n 's/^received \([0-9]*\) frames.*/\1/p' "$log")
echo "publisher exit $publisher_status, subscriber exit $subscriber_status; ${frames:-0} of 300 frames received"
[ "${frames:-0}" = 300 ] && [ "$publisher_status" = 0 ] && [ "$subscriber_status" = 0 ]
