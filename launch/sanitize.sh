#!/usr/bin/env bash
# The unit, golden and MPI test binaries and the fuzz targets' smoke run, built with AddressSanitizer and
# UndefinedBehaviorSanitizer (a separate build directory, build-asan/) and run: any report fails. About 17 minutes to
# build on 2 cores from nothing, 3 to run. launch/test.sh runs it after the suite (TAL_SANITIZE=0 leaves it out). The
# end-to-end tests are left out: they run the same code paths through the tal binary at 5-10x the cost under the
# sanitizers, and what they add over the unit tests (processes, signals, launchers) is not what ASan looks at.
# Usage: launch/sanitize.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TAL_SANITIZE_BUILD_DIR:-$root/build-asan}
jobs=${TAL_JOBS:-$(nproc)}
targets=(base_tests hypernet_tests datasets_tests dist_tests trainer_tests golden_tests mpi_tests tal_fuzz)
start=$(date +%s)
mkdir -p "$build"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTAL_SANITIZE_ADDRESS=ON -DTAL_SANITIZE_UNDEFINED=ON \
  >"$build/configure.log" 2>&1 || { cat "$build/configure.log" >&2; echo "sanitize: configure failed" >&2; exit 1; }
cmake --build "$build" -j "$jobs" --target "${targets[@]}"
echo "sanitize: built in $(( $(date +%s) - start )) s ($build)"
# A test that asks for an impossible allocation on purpose gets null back (and LibTorch's error), not an abort.
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
failed=0
cd "$root"  # the tests read data/gpt2 and ../shared/fixtures from the source tree, as ctest runs them
for t in "${targets[@]}"; do
  log="$build/$t.log"
  if [ "$t" = tal_fuzz ]; then  # every reader on its seeds, regressions and 100 mutations each (tests/fuzz/smoke.sh)
    LSAN_OPTIONS=suppressions=$root/tests/fuzz/lsan.supp TAL_SOURCE_DIR=$root TAL_FUZZ_SMOKE_MUTATIONS=100 \
      bash "$root/tests/fuzz/smoke.sh" "$build/tests/fuzz/$t" \
      >"$log" 2>&1 && rc=0 || rc=$?
  elif [ "$t" = mpi_tests ]; then
    ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0 mpirun -np 2 --bind-to none "$build/tests/$t" >"$log" 2>&1 && rc=0 || rc=$?
  else
    "$build/tests/$t" >"$log" 2>&1 && rc=0 || rc=$?
  fi
  reports=$(grep -cE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$log" || true)
  if [ "$rc" -ne 0 ] || [ "$reports" -ne 0 ]; then
    failed=1
    echo "sanitize: $t FAILED (exit $rc, $reports sanitizer report(s)); its log: $log"
    grep -m 5 -E "ERROR: |runtime error:|FAILED" "$log" || true
  else
    echo "sanitize: $t passed ($(grep -oE '[0-9]+ tests? from [0-9]+ test suites? ran' "$log" | tail -n1)$(grep -c '^fuzz .* passed' "$log" | grep -v '^0$' | sed 's/$/ fuzz targets/'))"
  fi
done
echo "sanitize: took $(( $(date +%s) - start )) s"
exit $failed
