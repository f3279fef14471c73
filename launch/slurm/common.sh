# Sourced by the TAL batch scripts (train.sbatch, train-multinode.sbatch); runs inside the allocation.
#   tal_slurm_train CONFIG [key=value ...]
# - the run directory is keyed by job name and id: $TAL_RUNS/NAME-ID (TAL_RUNS defaults to runs/ under the
#   directory the job was submitted from), so a requeued job (same id) finds its own `latest` checkpoint and resumes;
# - the backend is what the binary says it can use here (tal info --json: nccl only with NCCL, CUDA and a GPU);
# - ranks start with `srun --mpi=pmix --kill-on-bad-exit=1` where Slurm has the PMIx plugin, else with mpirun
#   inside the allocation (through launch/tal-mpirun); the log says which and why. TAL_SLURM_LAUNCHER=srun|mpirun
#   forces one;
# - USR1 (the --signal=B:USR1@... warning before the time limit) and TERM (preemption, scontrol requeue) reach the
#   batch shell; both are passed to the ranks as USR1, on which every rank finishes its step, rank 0 writes a
#   checkpoint and tal exits with code 75; the job is then requeued and resumes from that checkpoint.
# shellcheck shell=bash

tal_slurm_log() { echo "tal-slurm: $(date +%H:%M:%S) $*"; }

tal_slurm_train() {
  local config=${1:?usage: sbatch launch/slurm/train.sbatch CONFIG [key=value ...]}
  shift
  local root=${TAL_ROOT:-${SLURM_SUBMIT_DIR:-$PWD}}
  local tal=${TAL_BINARY:-$root/build/tal}
  [ -x "$tal" ] || { tal_slurm_log "error: $tal is not built (submit from the repository root, or set TAL_BINARY)"; return 2; }
  [ -r "$config" ] || [ -r "$root/$config" ] || { tal_slurm_log "error: config '$config' not found"; return 2; }
  local name=${SLURM_JOB_NAME:-tal}-${SLURM_JOB_ID:-local}
  local run_dir=${TAL_RUNS:-$root/runs}/$name
  local threads=${SLURM_CPUS_PER_TASK:-1}
  export OMP_NUM_THREADS=$threads
  local info backend gpus
  info=$("$tal" info --json) || { tal_slurm_log "error: '$tal info --json' failed"; return 2; }
  backend=$(sed -n 's/.*"backend": "\([a-z]*\)".*/\1/p' <<<"$info")
  gpus=$(sed -n 's/.*"visible": \([0-9]*\).*/\1/p' <<<"$info")
  local launcher=${TAL_SLURM_LAUNCHER:-}
  if [ -z "$launcher" ]; then
    local plugins
    plugins=$(srun --mpi=list 2>&1 || true)
    if grep -qw pmix <<<"$plugins"; then launcher=srun; else launcher=mpirun; fi
    [ "$launcher" = srun ] && tal_slurm_log "launcher: srun --mpi=pmix (Slurm has the PMIx plugin)" \
                           || tal_slurm_log "launcher: mpirun inside the allocation (srun --mpi=list has no pmix)"
  else
    tal_slurm_log "launcher: $launcher (TAL_SLURM_LAUNCHER)"
  fi
  tal_slurm_log "job $name: ${SLURM_NTASKS:-1} rank(s) on ${SLURM_JOB_NUM_NODES:-1} node(s) (${SLURM_JOB_NODELIST:-?}), $threads thread(s) each, backend $backend ($gpus GPU(s) visible here), attempt $(( ${SLURM_RESTART_COUNT:-0} + 1 )), run $run_dir"
  local tal_args=(train --config "$config" run.dir="$run_dir" dist.backend="$backend" "$@")
  # Signals before the launcher has started are remembered and passed on once it has; a trap interrupts `wait`,
  # so wait again until the launcher has really exited (a second wait returns its stored status).
  local pid="" pending=0 signalled rc=0 started
  started=$(mktemp)
  forward() {
    tal_slurm_log "$1: asking the ranks to checkpoint and stop"
    signalled=1
    if [ -n "$pid" ]; then kill -USR1 "$pid" 2>/dev/null; else pending=1; fi
  }
  trap 'forward USR1' USR1
  trap 'forward TERM' TERM
  if [ "$launcher" = srun ]; then
    srun --mpi=pmix --kill-on-bad-exit=1 --cpus-per-task="$threads" "$tal" "${tal_args[@]}" &
  else
    TAL_BINARY=$tal "$root/launch/tal-mpirun" -n "${SLURM_NTASKS:-1}" --threads "$threads" --backend "$backend" \
      -- "${tal_args[@]}" &
  fi
  pid=$!
  [ $pending -eq 0 ] || { sleep 1; kill -USR1 "$pid" 2>/dev/null; }
  while true; do
    signalled=0
    wait "$pid"; rc=$?
    [ "$signalled" -eq 1 ] || break
  done
  trap - USR1 TERM
  # srun --kill-on-bad-exit counts 75 as a failure and may report a signal instead when the first rank's exit
  # kills the others: tal also leaves a marker in the run directory when it stops for a requeue.
  if [ $rc -ne 0 ] && [ $rc -ne 75 ] && [ "$run_dir/preempted" -nt "$started" ]; then
    tal_slurm_log "the job step ended with code $rc after tal stopped for a requeue ($(cat "$run_dir/preempted")): treating it as 75"
    rc=75
  fi
  rm -f "$started"
  case $rc in
    0) tal_slurm_log "done: tal exited 0" ;;
    75)
      # Said first: requeueing sends this shell TERM.
      tal_slurm_log "preempted: checkpoint written; requeueing job ${SLURM_JOB_ID:?}, it resumes from $run_dir/ckpt/latest"
      scontrol requeue "$SLURM_JOB_ID" ||
        tal_slurm_log "error: 'scontrol requeue $SLURM_JOB_ID' failed (is the job requeueable?): resubmit to resume" ;;
    *) tal_slurm_log "error: the job step ended with code $rc (a rank failed: the lines above name it and its host); the last checkpoint in $run_dir/ckpt is intact" ;;
  esac
  return $rc
}
