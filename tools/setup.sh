#!/bin/sh
# Installs what zerocp needs to build and test (as root, on Debian bookworm),
# then builds it in ./build.  Safe to run again.
set -eu
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    gcc libc6-dev meson ninja-build pkg-config \
    libglib2.0-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev \
    gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
    gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav \
    python3-gst-1.0 python3-numpy valgrind clang-tidy >/dev/null
fi

[ -f build/build.ninja ] || meson setup build
meson compile -C build
