# Sourced by the soak scripts.  soak_setup OPTION DEFAULT "$@": takes the
# script's count (OPTION N, DEFAULT without it) into $count and its build
# directory (default: build) into $build, moves to the source root, builds
# what the soaks run if it is not there, and sets GST_PLUGIN_PATH and
# $helper, the multi-process tests' pipeline runner.
soak_setup () {
  option=$1
  count=$2
  shift 2
  if [ "${1:-}" = "$option" ]; then
    count=$2
    shift 2
  fi
  build=${1:-build}
  cd "$(dirname "$0")/../.."
  helper="$PWD/$build/tests/multiprocess/zcp-test-pipeline"
  if [ ! -x "$helper" ] || [ ! -x "$build/tests/multiprocess/check-pubsub" ]
  then
    meson compile -C "$build"
  fi
  export GST_PLUGIN_PATH="$PWD/$build/plugin"
}
