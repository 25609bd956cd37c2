#!/bin/sh
# The main job: a publisher and a subscriber in two processes.  The publisher
# sends 300 frames of 1080p NV12 at 30 fps; the subscriber, started first,
# reports one frame a second and ends with the publisher's EOS.  It is
# lossless (leaky=no), so that it can count every frame.
set -eu
cd "$(dirname "$0")/.."
export GST_PLUGIN_PATH="$PWD/build/plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
channel="demo-$$"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "subscriber: gst-launch-1.0 zerocpsrc channel=$channel leaky=no ! fakesink silent=false -v"
gst-launch-1.0 zerocpsrc channel="$channel" leaky=no ! fakesink silent=false -v \
  >"$log" 2>&1 &
subscriber=$!

echo "publisher:  gst-launch-1.0 videotestsrc num-buffers=300 ! video/x-raw,format=NV12,width=1920,height=1080,framerate=30/1 ! zerocpsink channel=$channel"
gst-launch-1.0 -q videotestsrc num-buffers=300 ! \
  video/x-raw,format=NV12,width=1920,height=1080,framerate=30/1 ! \
  zerocpsink channel="$channel" &
publisher=$!

# One line a second of what the subscriber receives, while it receives it.
tail -n +1 -f "$log" --pid=$subscriber 2>/dev/null |
  sed -n -u 's/.*chain.*(\([0-9]* bytes\).*pts: \([0-9:.]*\),.*offset: \([0-9]*\),.*/frame \3: \1, pts \2/p' |
  awk '{ if ($2 % 30 == 0 || $2 == "299:") { print; fflush () } }' &
reporter=$!

publisher_status=0; subscriber_status=0
wait $publisher || publisher_status=$?
wait $subscriber || subscriber_status=$?
wait $reporter 2>/dev/null || true

frames=$(grep -c "chain" "$log" || true)
caps=$(sed -n 's/.*zerocpsrc0.GstPad:src: caps = //p' "$log" | head -n 1)
echo "subscriber caps: $caps"
echo "subscriber received $frames of 300 frames; publisher exit $publisher_status, subscriber exit $subscriber_status"
[ "$frames" = 300 ] && [ $publisher_status = 0 ] && [ $subscriber_status = 0 ]
