#!/usr/bin/env bash
# CI's fuzz smoke run: every target's seed corpus (made by the project's own writers), its regression inputs
# (tests/fuzz/regressions/TARGET/: inputs that once broke a reader) and TAL_FUZZ_SMOKE_MUTATIONS (default 200) seeded
# mutations of the seeds, through the standalone driver. A failure leaves the input in BUILD/fuzz-artifacts/crash-TARGET.
# Usage: smoke.sh TAL_FUZZ_BINARY
set -euo pipefail
fuzz=$1
src=${TAL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
export TAL_HDF5_CHECK_SECONDS=${TAL_HDF5_CHECK_SECONDS:-2}  # a mutated file that loops HDF5 is refused in 2 s, not 30
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
artifacts=$(dirname "$fuzz")/fuzz-artifacts
"$fuzz" --make-seeds "$work/seeds"
# What the readers print on stderr (warnings on empty configs, mostly) goes to a log, shown when the run fails.
"$fuzz" all --mutations "${TAL_FUZZ_SMOKE_MUTATIONS:-200}" --seed "${TAL_FUZZ_SMOKE_SEED:-1}" --artifacts "$artifacts" \
  --replay "$src/tests/fuzz/regressions" "$work/seeds" 2>"$work/stderr.log" && rc=0 || rc=$?
if [ "$rc" -ne 0 ]; then
  tail -n 20 "$work/stderr.log" >&2
  echo "fuzz smoke: FAILED (exit $rc); the input is in $artifacts/" >&2
  exit 1
fi
