#!/usr/bin/env bash
# Fuzzing campaigns with libFuzzer: every reader's target (tests/fuzz/targets.h) built with clang, ASan and UBSan
# into build-fuzz/, then run for SECONDS each (default 600: ten CPU-minutes), two at a time on two cores. Each
# target's corpus grows in build-fuzz/corpus/TARGET from the seed corpus (the project's writers) and
# tests/fuzz/regressions/TARGET; an input that breaks the contract is left in build-fuzz/artifacts/TARGET/ (copy it
# into tests/fuzz/regressions/TARGET/ with the fix, so CI's smoke run replays it). Needs clang and libFuzzer
# (Debian: clang, libclang-rt-14-dev). Prints one line per target: runs, coverage, corpus size, findings.
# Usage: launch/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TAL_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${1:-600}
[ $# -gt 0 ] && shift
command -v clang++ >/dev/null || { echo "fuzz: clang++ not found (apt-get install --no-install-recommends clang libclang-rt-14-dev)" >&2; exit 1; }
mkdir -p "$build"
start=$(date +%s)
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTAL_LIBFUZZER=ON \
  -DTAL_SANITIZE_ADDRESS=ON -DTAL_SANITIZE_UNDEFINED=ON >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log" >&2; echo "fuzz: configure failed" >&2; exit 1; }
cmake --build "$build" -j "${TAL_JOBS:-$(nproc)}" --target tal_fuzz
echo "fuzz: built in $(( $(date +%s) - start )) s"
fuzz=$build/tests/fuzz/tal_fuzz
rm -rf "$build/seeds"
TAL_SOURCE_DIR=$root TAL_FUZZ_MAKE_SEEDS=$build/seeds "$fuzz"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(ls "$build/seeds")
export TAL_HDF5_CHECK_SECONDS=1  # a file that sends HDF5 round a loop is refused in 2 x 1 s (not a timeout)
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 UBSAN_OPTIONS=print_stacktrace=1
export LSAN_OPTIONS=suppressions=$root/tests/fuzz/lsan.supp  # HDF5's own leaks on corrupt files
export TAL_SOURCE_DIR=$root TAL_TOKENIZER_DIR=${TAL_TOKENIZER_DIR:-$root/data/gpt2}
campaign() {
  local t=$1 corpus=$build/corpus/$1 art=$build/artifacts/$1/ log=$build/fuzz-$1.log
  mkdir -p "$corpus" "$art" "$root/tests/fuzz/regressions/$t"
  # -rss_limit_mb: a reader that tries to allocate what a file merely claims is a finding, not a slow run.
  TAL_FUZZ_TARGET=$t "$fuzz" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=30 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$art" "$corpus" "$build/seeds/$t" \
    "$root/tests/fuzz/regressions/$t" >"$log" 2>&1 && rc=0 || rc=$?
  local runs cov found
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n1 | grep -oE '[0-9]+' || echo "?")
  found=$(find "$art" -type f | wc -l)
  printf 'fuzz %-16s %4d s  %9s runs  cov %5s  corpus %4d  findings %d  exit %d  (%s)\n' "$t" "$seconds" "$runs" \
    "$cov" "$(find "$corpus" -type f | wc -l)" "$found" "$rc" "$log"
}
pids=()
for t in "${targets[@]}"; do
  campaign "$t" &
  pids+=($!)
  if [ ${#pids[@]} -ge "${TAL_JOBS:-$(nproc)}" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
wait
echo "fuzz: took $(( $(date +%s) - start )) s"
