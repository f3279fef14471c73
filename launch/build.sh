#!/usr/bin/env bash
# Configures and builds TAL into build/ (Release, Ninja, ccache when present). Extra arguments go to cmake.
# Usage: launch/build.sh [-DTAL_SANITIZE_ADDRESS=ON ...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TAL_BUILD_DIR:-$root/build}
jobs=${TAL_JOBS:-$(nproc)}
mkdir -p "$build"
start=$(date +%s)
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >"$build/configure.log" 2>&1 \
  || { cat "$build/configure.log" >&2; echo "build: cmake configure failed (log above)" >&2; exit 1; }
cmake --build "$build" -j "$jobs"
echo "build: done in $(( $(date +%s) - start )) s ($build)"
