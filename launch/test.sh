#!/usr/bin/env bash
# Set-up, build and the whole test suite: what CI runs. Usage: launch/test.sh [ctest args, e.g. -L unit]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/launch/setup.sh"
"$root/launch/build.sh"
cd "${TAL_BUILD_DIR:-$root/build}"
start=$(date +%s)
ctest --output-on-failure -j "${TAL_JOBS:-$(nproc)}" "$@"
echo "test: ctest took $(( $(date +%s) - start )) s"
# With the whole suite, the sanitizer build of the unit, golden and MPI tests and the fuzz smoke run
# (launch/sanitize.sh); TAL_SANITIZE=0 leaves it out (a quicker local run), TAL_SANITIZE=1 adds it to a label's run.
if [ "${TAL_SANITIZE:-}" = 1 ] || { [ $# -eq 0 ] && [ "${TAL_SANITIZE:-1}" != 0 ]; }; then
  "$root/launch/sanitize.sh"
fi
