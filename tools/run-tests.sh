#!/bin/bash
# Installs what is needed, builds, and runs the whole suite four ways:
#   build/       the normal build, every suite, then the element tests under
#                valgrind memcheck (meson test --setup valgrind);
#   build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer, every suite;
#   build-tsan/  ThreadSanitizer, the library's suite (its concurrency tests:
#                GStreamer itself is not built for TSan).
# Ends with one line, "N passed, N failed", counted from the meson test logs.
set -u
cd "$(dirname "$0")/.."

tools/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

configure () {
  local dir=$1
  shift
  [ -f "$dir/build.ninja" ] || meson setup "$dir" "$@" >/dev/null
}

status=0
meson test -C build --print-errorlogs || status=1
# The -leaks variants are a check of their own; under valgrind the tracer's
# own bookkeeping shows up as lost blocks.
meson test -C build --setup valgrind --print-errorlogs zerocpsink zerocpsrc ||
  status=1

# The multi-process suites take up to 180 s of meson's 300 under ASan on
# two cores: room for a slower machine.
configure build-asan -Db_sanitize=address,undefined -Db_lundef=false \
  -Dbuildtype=debug &&
  meson test -C build-asan --timeout-multiplier 2 --print-errorlogs ||
  status=1

configure build-tsan -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debug &&
  ninja -C build-tsan $(cd build-tsan && ninja -t targets all |
    sed -n 's|^\(tests/lib/test-[a-z]*\): .*|\1|p' | sort -u) >/dev/null &&
  meson test -C build-tsan --suite lib --no-rebuild --print-errorlogs ||
  status=1

python3 - build build-asan build-tsan <<'PY'
import json, sys, os
passed = failed = 0
logs = [os.path.join(b, "meson-logs", "testlog.json") for b in sys.argv[1:]]
logs.insert(1, os.path.join(sys.argv[1], "meson-logs", "testlog-valgrind.json"))
for log in logs:
    if not os.path.exists(log):
        failed += 1
        continue
    for line in open(log):
        result = json.loads(line)["result"]
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result != "SKIP":
            failed += 1
print(f"{passed} passed, {failed} failed")
PY
exit $status
