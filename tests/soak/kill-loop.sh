#!/bin/sh
# Soak: SIGKILLs random subscribers at random instants, thousands of times,
# while two lossless subscribers check every frame.  It is the kill-loop test
# of tests/multiprocess/pubsub.c with more kills; at the end it checks that
# no chunk is in use, that the lossless subscribers saw every frame, and that
# nothing of the channel is left in /dev/shm, and says so.
#
#   tests/soak/kill-loop.sh [--kills N] [BUILD_DIR]      (default: 5000, build)
set -eu
. "$(dirname "$0")/soak-setup.sh"
soak_setup --kills 5000 "$@"

export ZCP_TEST_HELPER="$helper"
export ZCP_KILLS="$count" GST_CHECKS=test_kill_loop
exec "$build/tests/multiprocess/check-pubsub"
