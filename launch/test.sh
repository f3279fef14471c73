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
# The sanitizer build of the unit, golden and MPI tests (launch/sanitize.sh), when asked for.
[ "${TAL_SANITIZE:-0}" != 1 ] || "$root/launch/sanitize.sh"
