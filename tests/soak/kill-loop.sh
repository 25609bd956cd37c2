#!/bin/sh
# Soak: SIGKILLs random subscribers at random instants, thousands of times,
# while two lossless subscribers check every frame.  It is the kill-loop test
# of tests/multiprocess/pubsub.c with more kills; at the end it checks that
# no chunk is in use, that the lossless subscribers saw every frame, and that
# nothing of the channel is left in /dev/shm, and says so.
#
#   tests/soak/kill-loop.sh [--kills N] [BUILD_DIR]      (default: 5000, build)
set -eu
kills=5000
if [ "${1:-}" = "--kills" ]; then
  kills=$2
  shift 2
fi
build=${1:-build}
cd "$(dirname "$0")/../.."
[ -x "$build/tests/multiprocess/check-pubsub" ] || meson compile -C "$build"

export GST_PLUGIN_PATH="$PWD/$build/plugin"
export ZCP_TEST_HELPER="$PWD/$build/tests/multiprocess/zcp-test-pipeline"
export ZCP_KILLS="$kills" GST_CHECKS=test_kill_loop
exec "$build/tests/multiprocess/check-pubsub"
