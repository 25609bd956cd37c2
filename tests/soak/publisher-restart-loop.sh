#!/bin/bash
# Soak: the publisher SIGKILLed (two times in three) or interrupted at a
# random instant and started again, hundreds of times, at a new resolution
# each time, under two subscribers that wait for the next one
# (on-publisher-lost=wait): one lossless, one leaky that holds its last five
# frames and checks that they never change.  Meanwhile a third subscriber,
# lossless with a queue of two and holding its last three frames, is
# SIGKILLed just before the publisher at half the restarts, chosen at
# random, and started again, so that subscribers die at the moments
# publishers do too; it must still be running then (a held frame that
# changed would have ended it).  A last publisher sends 60 frames and EOS.
# At the end both subscribers must have ended with that EOS, announced
# every publisher they connected to but the last as lost, printed no
# warning or error, and nothing of the channel may be left in /dev/shm.
#
#   tests/soak/publisher-restart-loop.sh [--restarts N] [BUILD_DIR]
#                                                 (default: 300, build)
set -u
. "$(dirname "$0")/soak-setup.sh"
soak_setup --restarts 300 "$@"
restarts=$count
channel=restart-loop-$$
logs=$(mktemp -d)

"$helper" "zerocpsrc channel=$channel ! identity name=probe ! fakesink" \
  > "$logs/lossless" 2>&1 &
lossless=$!
"$helper" --hold 5 "zerocpsrc channel=$channel leaky=downstream \
  max-buffers=2 ! identity name=probe ! fakesink" > "$logs/leaky" 2>&1 &
leaky=$!
start_victim () {
  "$helper" --hold 3 "zerocpsrc channel=$channel leaky=no max-buffers=2 ! \
    identity name=probe ! fakesink" > "$logs/victim" 2>&1 &
  victim=$!
}
start_victim
victim_kills=0
victim_kills_holding=0
victim_failed=0

for i in $(seq "$restarts"); do
  "$helper" "videotestsrc is-live=true ! video/x-raw,width=$((160 + i % 4 * 16)),height=120,framerate=240/1 ! zerocpsink name=probe channel=$channel" \
    > "$logs/publisher" 2>&1 &
  publisher=$!
  # bash starts background jobs with SIGINT ignored: one sent before the
  # helper has its handler in would be lost.
  for _ in $(seq 50); do
    grep -qs '^state started' "$logs/publisher" && break
    sleep 0.1
  done
  sleep "0.$((RANDOM % 6))$((RANDOM % 10))"
  # The victim dies first, perhaps with the publisher waiting on its queue,
  # which dies or is interrupted a moment later.  Each kill is reaped by
  # its own wait, so that bash reports none of them.
  victim_killed=$((RANDOM % 2))
  if [ $victim_killed = 1 ]; then
    victim_kills=$((victim_kills + 1))
    grep -qs '^frame' "$logs/victim" &&
      victim_kills_holding=$((victim_kills_holding + 1))
    kill -KILL $victim
    wait $victim 2>/dev/null
    if [ $? != $((128 + 9)) ]; then
      echo "the killed subscriber had ended by itself: $(tail -1 "$logs/victim")"
      victim_failed=1
    fi
  fi
  if [ $((RANDOM % 3)) = 0 ]; then
    kill -INT $publisher
  else
    kill -KILL $publisher
  fi
  wait $publisher 2>/dev/null
  [ $victim_killed = 0 ] || start_victim
done
kill -KILL $victim
wait $victim 2>/dev/null

# Both subscribers back first: EOS goes to those attached.
"$helper" --wait-subscribers 2 "videotestsrc num-buffers=60 ! video/x-raw,width=320,height=240 ! zerocpsink name=probe channel=$channel" \
  > "$logs/publisher" 2>&1
failed=$?
[ $failed = 0 ] || echo "the last publisher failed: $(tail -1 "$logs/publisher")"
[ $victim_failed = 0 ] || failed=1

for name in lossless leaky; do
  pid=${!name}
  (sleep 30 && kill -KILL "$pid" 2>/dev/null) &
  watchdog=$!
  wait "$pid"
  status=$?
  kill $watchdog 2>/dev/null
  log="$logs/$name"
  connected=$(grep -c 'zerocp-publisher-connected' "$log")
  lost=$(grep -c 'zerocp-publisher-lost' "$log")
  echo "$name subscriber: exit $status, $(grep -c '^frame' "$log") frames," \
    "$connected publishers connected, $lost lost"
  if [ $status != 0 ] || ! grep -q '^eos$' "$log"; then
    echo "$name subscriber did not end with the last publisher's EOS"
    failed=1
  fi
  # A publisher killed before a subscriber got to it is never connected;
  # every one it did connect to but the last must be announced lost.
  if [ "$connected" -lt 2 ] || [ "$lost" != $((connected - 1)) ]; then
    echo "$name subscriber: $lost lost of $connected connected, not all but" \
      "the last"
    failed=1
  fi
  if grep -E '^(warning|error|overwritten)' "$log"; then
    failed=1
  fi
done

if ls /dev/shm | grep -F "zerocp.$channel"; then
  echo "left in /dev/shm"
  failed=1
fi
if [ $failed = 0 ]; then
  echo "publisher restart loop: $restarts restarts, $victim_kills" \
    "subscribers SIGKILLed ($victim_kills_holding of them holding frames)," \
    "passed"
  rm -rf "$logs"
else
  echo "publisher restart loop: FAILED (logs in $logs)"
fi
exit $failed
