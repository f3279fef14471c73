#!/usr/bin/env bash
# Multi-rank training end to end on real Fashion-MNIST tasks: 1/2/4-rank equivalence (stage 1 and 2), bit-exact
# resume (same and different world size), preemption, crash safety while writing a checkpoint, a killed rank and
# a stalled rank. Usage: dist_test.sh path/to/tal
set -u
tal=${1:?usage: dist_test.sh path/to/tal}
src=${TAL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
py=/usr/bin/python3
cmp_py="$src/tests/e2e/compare_checkpoints.py"
work=$(mktemp -d)
trap 'pkill -KILL -f "$work" 2>/dev/null; rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
source "$src/tests/e2e/harness.sh"

# Real data, a small ancestry model and task embeddings (few steps: this tests the machinery, not accuracy).
tiny_pipeline "$work"
ckpt() { echo "$work/$1/ckpt/$(head -n1 "$work/$1/ckpt/latest")"; }
train() {  # train NP RUN_NAME [key=value ...]
  local np=$1 run=$2; shift 2
  mpirun -np "$np" "$tal" train "${small[@]}" run.dir="$work/$run" "$@" >"$work/$run.log" 2>&1
}

# 1. Equivalence: 1, 2 and 4 ranks give the same hypernetwork, byte for byte: each unit's gradient is computed
#    alone and accumulated in double precision, so the ranks' sums round to the same floats. In float32 here (1c is
#    bf16, which train.autocast=auto picks on a CPU with bf16 instructions).
for stage in pretrain multitask; do
  for np in 1 2 4; do train $np "eq_${stage}_$np" train.stage=$stage train.steps=3 train.autocast=off; done
  for np in 2 4; do
    check "equivalence $stage 1 vs $np ranks (bytes)" $py "$cmp_py" "$(ckpt eq_${stage}_1)" "$(ckpt eq_${stage}_$np)" 0
  done
done

# 1a. The same with units shared between ranks: 2 units of 8 images in chunks of 2 on 1, 2 and 4 ranks (4 ranks must
#     share both units; each chunk's gradient is computed alone, so the sums are the same floats).
for np in 1 2 4; do train $np "eq_shared_$np" train.stage=pretrain train.steps=3 train.meta_batch=2 train.chunk_images=2 train.autocast=off; done
check "shared units were split on 4 ranks" grep -q "train  done" "$work/eq_shared_4.log"
for np in 2 4; do
  check "equivalence with shared units 1 vs $np ranks (bytes)" $py "$cmp_py" "$(ckpt eq_shared_1)" "$(ckpt eq_shared_$np)" 0
done

# 1c. bfloat16 autocast of the target models keeps the rank equivalence (each chunk is the same bf16 arithmetic on
#     every layout), and really changes the arithmetic (a guard that did nothing would leave float32's bytes).
for np in 1 2; do train $np "eq_bf16_$np" train.stage=pretrain train.steps=3 train.autocast=bf16; done
check "bf16 equivalence 1 vs 2 ranks (bytes)" $py "$cmp_py" "$(ckpt eq_bf16_1)" "$(ckpt eq_bf16_2)" 0
check "bf16 is not float32" bash -c "! $py '$cmp_py' '$(ckpt eq_pretrain_1)' '$(ckpt eq_bf16_1)' 0 >/dev/null 2>&1"

# 1d. An inheriting hypernetwork (hypernet.base=ancestry) keeps the rank equivalence and the bit-exact resume, across
#     both stages, and its checkpoints name the ancestry they start from: another one is refused on resume.
inh=(hypernet.variant=tal hypernet.base=ancestry zoo.max_width=64 train.stage=both train.pretrain_steps=2 train.autocast=off)
for np in 1 2; do train $np "inh_$np" "${inh[@]}" train.steps=2; done
check "inheritance: trains (stage 1 and 2)" grep -q "train  done: 4 steps" "$work/inh_1.log"
check "inheritance equivalence 1 vs 2 ranks (bytes)" $py "$cmp_py" "$(ckpt inh_1)" "$(ckpt inh_2)" 0
check "inheritance: the checkpoint names its ancestry" $py -c "
import h5py, sys
assert h5py.File(sys.argv[1]).attrs['base_hash'] == h5py.File(sys.argv[2]).attrs['content_hash']" "$(ckpt inh_1)" "$work/anc/anc.h5"
train 2 "inh_resumed" "${inh[@]}" train.steps=2 --until-step 3
train 2 "inh_resumed" "${inh[@]}" train.steps=2
check "inheritance: bit-exact resume on 2 ranks" $py "$cmp_py" "$(ckpt inh_2)" "$(ckpt inh_resumed)" 0
"$tal" ancestry train "${small[@]}" run.dir="$work/anc2" ancestry.checkpoint="$work/anc/anc3.h5" ancestry.max_steps=2 \
  ancestry.batch=32 run.seed=5 >/dev/null 2>&1
train 1 "inh_resumed" "${inh[@]}" train.steps=4 ancestry.checkpoint="$work/anc/anc3.h5"
check "inheritance: resuming from another ancestry is refused" grep -q "was trained from the ancestry with content hash" "$work/inh_resumed.log"

# 1b. A non-finite loss on one rank skips the step on every rank (by consensus); K in a row abort.
train 2 nan train.steps=3 debug.nan_steps=1:2
check "non-finite step skipped" grep -q "step 2: non-finite loss or gradients on 1 rank(s); step skipped" "$work/nan.log"
check "training continues after a skip" grep -q "train  done: 3 steps .* 1 skipped" "$work/nan.log"
# train.autocast=auto (the default): bf16 exactly where the processor has bf16 instructions (or on a GPU).
if "$tal" info --json | grep -q '"cpu_bf16": ""'; then want="float32"; else want="bf16 autocast"; fi
check "train.autocast=auto picks $want here" grep -q "target models in $want (train.autocast=auto)" "$work/nan.log"
train 2 nan2 train.steps=3 train.max_bad_steps=2 debug.nan_steps=0:1,0:2
check "abort after K non-finite steps" grep -q "aborting: 2 consecutive steps with non-finite" "$work/nan2.log"

# 1e. Out of memory on one rank (injected after its first unit's target gradient) in steps whose one unit is shared
#     by both ranks: every rank skips the step, none is left inside the shared unit's exchange, the run goes on and
#     ends with the hypernetwork of a run that skipped the same step by design (a non-finite loss there). K in a row
#     end the job in one line naming the rank, the step and the memory it had.
oom=(train.stage=pretrain train.steps=3 train.meta_batch=1 train.chunk_images=2 train.autocast=off)
train 2 oom "${oom[@]}" debug.oom_steps=1:2
check "out of memory: the step is skipped on every rank" \
  grep -q "step 2: out of memory on 1 rank(s): rank 1 (.* resident: std::bad_alloc.*); step skipped (1 in a row)" "$work/oom.log"
check "out of memory: the run continues" grep -q "train  done: 3 steps .* 1 skipped" "$work/oom.log"
train 2 oom_by_design "${oom[@]}" debug.nan_steps=1:2
check "out of memory: same hypernetwork as the step skipped by design (bytes)" \
  $py "$cmp_py" "$(ckpt oom)" "$(ckpt oom_by_design)" 0
train 2 oom2 "${oom[@]}" train.max_bad_steps=2 debug.oom_steps=1:2,1:3
check "out of memory K times: ends the job" bash -c "! grep -q 'train  done' '$work/oom2.log'"
check "... in one line naming the rank, the step and its memory" \
  grep -q "aborting: 2 consecutive steps skipped (train.max_bad_steps=2), the last, step 3, for out of memory on rank 1 ([0-9.]* MiB resident" "$work/oom2.log"

# 2. Bit-exact resume: 4 steps straight == 2 steps + checkpoint + new process + 2 steps, on 1 and on 2 ranks.
for np in 1 2; do
  train $np "straight_$np" train.steps=4
  train $np "resumed_$np" train.steps=4 --until-step 2
  check "until-step stops at 2 ($np)" grep -q "stopped  after step 2" "$work/resumed_$np.log"
  train $np "resumed_$np" train.steps=4
  check "resume message ($np)" grep -q "resume  from .*step_00000002.h5 at step 2" "$work/resumed_$np.log"
  check "bit-exact resume on $np rank(s)" $py "$cmp_py" "$(ckpt straight_$np)" "$(ckpt resumed_$np)" 0
done
# 3. Resume on another world size (2 -> 1 and 1 -> 2) completes, says so, and agrees with the straight run. The
#    design promises a correct continuation here, not the same bytes, so these two compare at 1e-5.
train 2 "w21" train.steps=4 --until-step 2 && train 1 "w21" train.steps=4
check "2->1 says world size changed" grep -q "written by 2 rank(s), continuing on 1" "$work/w21.log"
check "2->1 agrees" $py "$cmp_py" "$(ckpt straight_1)" "$(ckpt w21)" 1e-5
train 1 "w12" train.steps=4 --until-step 2 && train 2 "w12" train.steps=4
check "1->2 agrees" $py "$cmp_py" "$(ckpt straight_1)" "$(ckpt w12)" 1e-5
# --no-resume refuses an existing run; a checkpoint of another hypernet shape is refused with what differs.
mpirun -np 1 "$tal" train "${small[@]}" run.dir="$work/w12" train.steps=4 --no-resume >"$work/nr.log" 2>&1
check "--no-resume refuses" grep -q "refuses to continue" "$work/nr.log"
mpirun -np 1 "$tal" train "${small[@]}" run.dir="$work/w12" train.steps=6 hypernet.hidden=32 hypernet.heads=4 >"$work/shape.log" 2>&1
check "other hypernet refused" grep -q "made by another hypernet" "$work/shape.log"

# 4. Preemption: SIGTERM (what SLURM sends) -> checkpoint at the next step boundary, exit 75, resume continues.
"$tal" train "${small[@]}" run.dir="$work/pre" train.steps=400 >"$work/pre.log" 2>&1 &
pid=$!
wait_for 120 "$work/pre.log" "^step 2/" "training to reach step 2 before SIGTERM"
kill -TERM $pid; wait $pid; rc=$?
check "preemption exit code 75" test $rc -eq 75
check "preemption checkpoint" grep -q "preempted  at step" "$work/pre.log"
check "preemption leaves a marker for batch scripts" grep -q "^step [0-9]" "$work/pre/preempted"
pre_step=$(grep -o "preempted  at step [0-9]*" "$work/pre.log" | grep -o "[0-9]*$")
"$tal" train "${small[@]}" run.dir="$work/pre" train.steps=400 --until-step $((pre_step + 1)) >"$work/pre2.log" 2>&1
check "resume after preemption" grep -q "resume  from .* at step $pre_step" "$work/pre2.log"
check "a resumed run removes the marker" test ! -e "$work/pre/preempted"
# A second SIGTERM ends the process at once: here the preemption checkpoint (its write held 30 s by a debug delay) stands
# for a step boundary a dead peer never reaches; the first signal's checkpoint is not waited for.
"$tal" train "${small[@]}" run.dir="$work/pre2x" train.steps=400 debug.checkpoint_delay_ms=30000 >"$work/pre2x.log" 2>&1 &
pid=$!
wait_for 120 "$work/pre2x.log" "^step 2/" "training to reach step 2 before two SIGTERMs"
kill -TERM $pid; sleep 3; start=$SECONDS; kill -TERM $pid; wait $pid; rc=$?
check "a second SIGTERM: the process ends at once ($((SECONDS - start)) s), killed by it (exit $rc)" bash -c "[ $((SECONDS - start)) -le 5 ] && [ $rc -eq 143 ]"
check "... and says so" grep -q "^tal: a second SIGTERM: exiting now, without the checkpoint" "$work/pre2x.log"
# 5. Crash safety: SIGKILL while a checkpoint is being written leaves `latest` on a complete, loadable file.
"$tal" train "${small[@]}" run.dir="$work/crash" train.steps=50 checkpoint.every=1 debug.checkpoint_delay_ms=4000 \
  >"$work/crash.log" 2>&1 &
pid=$!
wait_for 180 "$work/crash.log" "checkpoint  step 1" "the first checkpoint to be written"
start=$SECONDS
until ls -a "$work/crash/ckpt" 2>/dev/null | grep -q "tmp-"; do
  [ $((SECONDS - start)) -ge 60 ] && { echo "FAIL: timed out waiting for a temporary checkpoint file"; break; }
  sleep 0.1
done
check "killed while a temporary checkpoint exists" bash -c "ls -a '$work/crash/ckpt' | grep -q tmp-"
kill -KILL $pid; wait $pid 2>/dev/null
latest=$(ckpt crash)
check "latest survives a kill mid-write" $py -c "import h5py,sys; f=h5py.File(sys.argv[1]); assert f.attrs['kind']=='tal-checkpoint'" "$latest"
"$tal" train "${small[@]}" run.dir="$work/crash" train.steps=3 >"$work/crash2.log" 2>&1
check "resume after the crash" grep -q "resume  from" "$work/crash2.log"
check "the killed writer's temporary is removed on resume, and said" grep -q "^resume  removed .*/ckpt/\..*\.tmp-.*, the temporary of a writer that was killed" "$work/crash2.log"
check "... none is left" bash -c "! ls -a '$work/crash/ckpt' | grep -q tmp-"

# 6. A rank killed with SIGKILL ends the whole job within 60 s, non-zero, with a message naming it.
mpirun -np 2 "$tal" train "${small[@]}" run.dir="$work/kill" train.steps=1000 >"$work/kill.log" 2>&1 &
mp=$!
wait_for 120 "$work/kill.log" "^step 2/" "the 2-rank job to reach step 2"
start=$(date +%s)  # the 60 s count from the kill, not from the start-up of a loaded machine
for p in $(pgrep -f "run.dir=$work/kill" | grep -v "^$mp$"); do
  grep -qz "OMPI_COMM_WORLD_RANK=1" "/proc/$p/environ" 2>/dev/null && kill -KILL "$p"
done
wait $mp; rc=$?
elapsed=$(( $(date +%s) - start ))
check "killed rank ends the job non-zero" test $rc -ne 0
check "killed rank ends the job within 60 s ($elapsed s)" test $elapsed -lt 60
check "killed rank is named" grep -qiE "rank 1|process rank 1" "$work/kill.log"

# 7. A stalled rank (SIGSTOP) trips the watchdog: rank 0 names it and the job ends.
mpirun -np 2 "$tal" train "${small[@]}" run.dir="$work/stall" train.steps=1000 dist.watchdog_seconds=5 >"$work/stall.log" 2>&1 &
mp=$!
wait_for 120 "$work/stall.log" "^step 2/" "the 2-rank job to reach step 2"
for p in $(pgrep -f "run.dir=$work/stall" | grep -v "^$mp$"); do
  grep -qz "OMPI_COMM_WORLD_RANK=1" "/proc/$p/environ" 2>/dev/null && kill -STOP "$p"
done
wait $mp; rc=$?
check "stalled rank ends the job" test $rc -ne 0
# The watchdog fires either in rank 0's wait for arrivals (naming who did not arrive) or inside the collective, when
# the stop came after rank 1 had announced itself; either way the heartbeat has named the stalled rank before.
check "the watchdog ends the job" grep -q "did not complete within 5 s" "$work/stall.log"
check "the stalled rank is named with its host" grep -qF "rank 1 (on $(hostname)) silent for" "$work/stall.log"

finish
