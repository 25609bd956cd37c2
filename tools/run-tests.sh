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
  -Dbuildtype=debug || status=1
rm -f build-asan/meson-logs/testlog-rerun.json
if ! meson test -C build-asan --timeout-multiplier 2 --print-errorlogs; then
  # LeakSanitizer's own tracer now and then crashes as it stops the process
  # for its check at exit ("Tracer caught signal 11" in libasan's
  # ScanRangeForPointers, on a range near address 0, likely dynamic TLS;
  # about one run of the element tests in 15): a failure of the tool, not
  # a finding.  Such a test runs once more, and that run counts; any other
  # failure stands.
  crashed=$(python3 - build-asan/meson-logs/testlog.json <<'PY'
import json, sys
for line in open(sys.argv[1]):
    test = json.loads(line)
    if test["result"] not in ("OK", "EXPECTEDFAIL", "SKIP"):
        if "LeakSanitizer has encountered a fatal error" in (test.get("stderr") or ""):
            print(test["name"].split(" / ")[-1])
        else:
            print("-")
PY
)
  if [ -z "$crashed" ] || echo "$crashed" | grep -qx -- -; then
    status=1
  else
    echo "LeakSanitizer crashed in: $crashed; running them once more"
    # shellcheck disable=SC2086
    meson test -C build-asan --no-rebuild --timeout-multiplier 2 \
      --print-errorlogs --logbase testlog-rerun $crashed || status=1
  fi
fi

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
# A test run again after LeakSanitizer crashed counts by its second run.
rerun = {}
rerun_log = os.path.join("build-asan", "meson-logs", "testlog-rerun.json")
if os.path.exists(rerun_log):
    for line in open(rerun_log):
        test = json.loads(line)
        rerun[test["name"]] = test["result"]
for log in logs:
    if not os.path.exists(log):
        failed += 1
        continue
    for line in open(log):
        test = json.loads(line)
        result = test["result"]
        if log.startswith("build-asan"):
            result = rerun.get(test["name"], result)
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result != "SKIP":
            failed += 1
print(f"{passed} passed, {failed} failed")
PY
exit $status
