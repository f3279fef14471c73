#!/usr/bin/env bash
# launch/slurm/train.sbatch on a real Slurm cluster: munged, slurmctld and slurmd started from a configuration
# generated into a temporary directory (loopback only, this machine as the one node).
#   1. an uninterrupted job (ranks started by mpirun inside the allocation);
#   2. the same job preempted mid-run (scancel --signal=USR1 --batch), requeued by its script, resumed from its
#      checkpoint (ranks started by srun --mpi=pmix): it must end with the same hypernetwork bytes as job 1;
#   3. a job one of whose ranks is killed: it ends non-zero within 60 s, the log names the rank and its host, and
#      its last checkpoint is intact.
# Installs slurm-wlm and munge when missing (apt-get), skips (77) with a reason where it cannot run. Every daemon
# it started is stopped by PID, whatever happens. Usage: slurm_test.sh path/to/tal
set -u
tal=${1:?usage: slurm_test.sh path/to/tal}
src=${TAL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
py=/usr/bin/python3
work=$(mktemp -d)
source "$src/tests/e2e/harness.sh"

[ "$(id -u)" -eq 0 ] || { rm -rf "$work"; skip "needs root (slurmd and munged run as root here)"; }
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v slurmd >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || { rm -rf "$work"; skip "slurm-wlm and munge are missing and there is no apt-get"; }
  t0=$(now)
  install() { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge >"$work/apt.log" 2>&1; }
  install || { apt-get update >>"$work/apt.log" 2>&1 && install; } ||
    { reason=$(tail -n 1 "$work/apt.log"); rm -rf "$work"; skip "could not install slurm-wlm and munge: $reason"; }
  echo "installed slurm-wlm and munge in $(since "$t0") s"
fi

# ---- the cluster -------------------------------------------------------------------------------------------------
c=$work/cluster
pids=()
stop_cluster() {
  if [ -n "${SLURM_CONF:-}" ] && [ -f "$SLURM_CONF" ]; then scancel --full $(squeue -h -o %i 2>/dev/null) >/dev/null 2>&1; fi
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for _ in $(seq 50); do
    alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  pkill -KILL -f "$work" 2>/dev/null
  rm -rf "$work"
}
trap stop_cluster EXIT
host=$(hostname -s)
mkdir -p "$c"/{munge,state,spool,log,tmp} "$work/out"
chmod 700 "$c/munge"; chmod 711 "$c"
mungekey --create --keyfile="$c/munge/munge.key" >/dev/null 2>&1 ||
  dd if=/dev/urandom of="$c/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$c/munge/munge.key"
t0=$(now)
/usr/sbin/munged -F --force --key-file="$c/munge/munge.key" --socket="$c/munge/munge.sock" \
  --pid-file="$c/munge/munged.pid" --log-file="$c/munge/munged.log" --seed-file="$c/munge/munged.seed" \
  >"$c/log/munged.out" 2>&1 </dev/null &
pids+=($!)
for _ in $(seq 50); do [ -S "$c/munge/munge.sock" ] && break; sleep 0.1; done
[ -S "$c/munge/munge.sock" ] || { echo "FAIL: munged did not start"; tail -n 5 "$c/log/munged.out"; exit 1; }
# Two free ports below the kernel's ephemeral range (a port in that range can be taken meanwhile by any outgoing
# connection: slurmd once failed to bind 39014 while other tests ran), not 6817/6818 (a second cluster would collide).
low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
in_use() { ss -Htan 2>/dev/null | awk '{ print $4 }' | grep -Eq ":($1|$(($1 + 1)))\$"; }
port=$((20000 + $$ % 10000))
while in_use $port; do port=$((port + 2)); done
[ $((port + 1)) -lt "$low" ] || { echo "FAIL: no free port pair below $low"; exit 1; }
hw=$(slurmd -C 2>/dev/null | head -n 1 | sed 's/^NodeName=[^ ]* //; s/ UpTime.*//')
cat >"$c/slurm.conf" <<CONF
ClusterName=taltest
SlurmctldHost=${host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$c/munge/munge.sock,cred_expire=10
MailProg=/bin/true
SlurmctldPort=$port
SlurmdPort=$((port + 1))
StateSaveLocation=$c/state
SlurmdSpoolDir=$c/spool/slurmd-%n
SlurmctldPidFile=$c/state/slurmctld.pid
SlurmdPidFile=$c/spool/slurmd-%n.pid
SlurmctldLogFile=$c/log/slurmctld.log
SlurmdLogFile=$c/log/slurmd-%n.log
TmpFS=$c/tmp
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
JobRequeue=1
KillWait=10
MinJobAge=600
NodeName=${host} NodeAddr=127.0.0.1 ${hw:-CPUs=$(nproc)}
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP
CONF
mkdir -p "$c/spool/slurmd-$host"
export SLURM_CONF=$c/slurm.conf
/usr/sbin/slurmctld -D -i >"$c/log/slurmctld.out" 2>&1 </dev/null &
pids+=($!)
/usr/sbin/slurmd -D >"$c/log/slurmd.out" 2>&1 </dev/null &
pids+=($!)
for _ in $(seq 300); do [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && break; sleep 0.1; done
if [ "$(sinfo -h -o %T 2>/dev/null)" != idle ]; then
  echo "FAIL: the cluster did not become idle in 30 s"; tail -n 5 "$c"/log/*.out "$c"/log/*.log; exit 1
fi
echo "timing: munged + slurmctld + slurmd idle in $(since "$t0") s"

# ---- the jobs ----------------------------------------------------------------------------------------------------
tiny_pipeline "$work"
export TAL_ROOT=$src TAL_BINARY=$tal TAL_RUNS=$work/runs OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
submit() {  # submit NAME [sbatch options] -- [tal key=value ...]: prints the job id
  local name=$1; shift
  local opts=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  sbatch --parsable --job-name="$name" --ntasks=2 --ntasks-per-node=2 --cpus-per-task=1 --time=30 \
    --output="$work/out/$name.out" "${opts[@]}" "$src/launch/slurm/train.sbatch" "${small[1]}" "${small[@]:2}" "$@"
}
state() { scontrol show job "$1" -o 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
wait_state() {  # wait_state JOB SECONDS: until the job has ended (any final state); a timeout is a failure
  local job=$1 seconds=$2 start=$SECONDS s
  while true; do
    s=$(state "$job")
    case "$s" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE) return 0 ;; esac
    if [ $((SECONDS - start)) -ge "$seconds" ]; then
      fail=$((fail + 1)); echo "FAIL: job $job still $s after $seconds s"; return 1
    fi
    sleep 0.3
  done
}
run_dir() { echo "$work/runs/$1-$2"; }
latest() { local d; d=$(run_dir "$1" "$2"); echo "$d/ckpt/$(head -n1 "$d/ckpt/latest" 2>/dev/null)"; }
steps=(train.steps=40 checkpoint.every=10)

# 1. Uninterrupted, with mpirun inside the allocation.
t0=$(now)
a=$(TAL_SLURM_LAUNCHER=mpirun submit tal-a -- "${steps[@]}") || { echo "FAIL: sbatch refused job a"; exit 1; }
wait_for 120 "$work/out/tal-a.out" "^step 1/" "job a's first step" && echo "timing: job a submitted to first step in $(since "$t0") s"
wait_state "$a" 180
check "job a completed" test "$(state "$a")" = COMPLETED
check "job a ran under mpirun" grep -q "launcher: mpirun (TAL_SLURM_LAUNCHER)" "$work/out/tal-a.out"
check "job a trained to the end" grep -q "train  done: 40 steps" "$work/out/tal-a.out"
check "job a chose the backend from the binary" grep -q "backend mpi (0 GPU(s) visible here)" "$work/out/tal-a.out"

# 2. Preempted at step 10 or later, requeued by the script, resumed from its checkpoint; with srun --mpi=pmix.
b=$(submit tal-b -- "${steps[@]}") || { echo "FAIL: sbatch refused job b"; exit 1; }
wait_for 180 "$work/out/tal-b.out" "^step 10/" "job b to reach step 10"
scancel --signal=USR1 --batch "$b"
wait_for 60 "$work/out/tal-b.out" "requeueing job $b" "job b to requeue itself"
t_requeue=$(now)
wait_for 120 "$work/out/tal-b.out" "resume  from" "job b to resume after its requeue" &&
  echo "timing: job b requeued to resumed in $(since "$t_requeue") s"
wait_state "$b" 180
check "job b completed after its requeue" test "$(state "$b")" = COMPLETED
check "job b ran twice" bash -c "scontrol show job $b -o | grep -q 'Restarts=1'"
check "job b ran under srun with PMIx" grep -q "launcher: srun --mpi=pmix (Slurm has the PMIx plugin)" "$work/out/tal-b.out"
check "job b's ranks saw USR1" grep -q "USR1: asking the ranks to checkpoint and stop" "$work/out/tal-b.out"
check "job b was preempted with a checkpoint" grep -q "preempted  at step .*checkpoint written" "$work/out/tal-b.out"
check "job b's second attempt said so" grep -q "attempt 2" "$work/out/tal-b.out"
check "job b resumed from its own run directory" grep -q "resume  from $(run_dir tal-b "$b")/ckpt/step_" "$work/out/tal-b.out"
check "job b trained to the end" grep -q "^step 40/40 " "$work/out/tal-b.out"
check "preempted + requeued == uninterrupted (bytes)" $py "$src/tests/e2e/compare_checkpoints.py" \
  "$(latest tal-a "$a")" "$(latest tal-b "$b")" 0

# 3. A rank killed: the job ends non-zero, the log names the rank and its host, the last checkpoint is intact.
k=$(submit tal-k -- train.steps=1000 checkpoint.every=2) || { echo "FAIL: sbatch refused job k"; exit 1; }
wait_for 180 "$work/out/tal-k.out" "checkpoint  step 2 " "job k's first checkpoint"
wait_for 60 "$work/out/tal-k.out" "^step 3/" "job k to reach step 3"
t_kill=$(now)
for p in $(pgrep -f "^$tal train .*run.dir=$(run_dir tal-k "$k") "); do
  grep -qz "^SLURM_PROCID=1$" "/proc/$p/environ" 2>/dev/null && kill -KILL "$p"
done
wait_state "$k" 60 && echo "timing: job k ended $(since "$t_kill") s after its rank 1 was killed"
check "job k ended as FAILED" test "$(state "$k")" = FAILED
check "srun names the killed rank and its host" grep -qE "srun: error: $host: task 1: Killed" "$work/out/tal-k.out"
check "the batch script says a rank failed" grep -q "error: the job step ended with code" "$work/out/tal-k.out"
check "job k was not requeued" bash -c "scontrol show job $k -o | grep -q 'Restarts=0'"
check "job k's last checkpoint is intact" bash -c "\"$tal\" inspect \"$(latest tal-k "$k")\" >/dev/null"

for j in a b k; do echo "--- job $j:"; grep -E "^tal-slurm|srun: error|preempted|resume" "$work/out/tal-$j.out" | head -n 12; done
finish
