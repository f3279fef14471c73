# Shared by the end-to-end scripts that launch real jobs (sourced, after `tal` and `work` are set):
#   check NAME CMD...      a test: counts a pass or prints FAIL: NAME
#   setup NAME CMD...      a step that must succeed, else FAIL and exit 1 with the tail of its log
#   wait_for S FILE PAT W  polls until FILE has a line matching PAT; a timeout is a failure (returns 1)
#   skip REASON            exits 77 (ctest's SKIP_RETURN_CODE) with a one-line reason
#   tiny_pipeline DIR      real Fashion-MNIST tasks, a 4-step ancestry model and task embeddings under DIR; sets
#                          the array `small` to a short stage-1 training of that pipeline (add run.dir=, steps)
#   now, since T          a timestamp, and the seconds since one (one decimal), for timings the tests print
#   finish                 prints the counts; exit status 1 when anything failed
# shellcheck shell=bash
pass=0 fail=0
check() {
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $name"; fi
}
setup() {
  local name=$1; shift
  "$@" >"$work/setup.log" 2>&1 || { echo "FAIL: set-up '$name' exited $?"; tail -n 5 "$work/setup.log"; exit 1; }
}
wait_for() {
  local seconds=$1 file=$2 pattern=$3 what=$4 start=$SECONDS
  while ! grep -q "$pattern" "$file" 2>/dev/null; do
    if [ $((SECONDS - start)) -ge "$seconds" ]; then
      fail=$((fail + 1)); echo "FAIL: timed out after $seconds s waiting for $what ('$pattern' in $file)"; return 1
    fi
    sleep 0.2
  done
}
skip() { echo "SKIP: $*"; exit 77; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
tiny_pipeline() {
  local dir=$1 src=${TAL_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
  setup "import" "$tal" data import fashion-mnist --out "$dir/data/fmnist.h5"
  local common=(--config "$src/configs/tal_vit_fmnist.yaml" data.root="$dir/data" ancestry.checkpoint="$dir/anc/anc.h5"
                tasks.embeddings="$dir/data/emb.h5" tasks.embed_images=500)
  setup "ancestry" "$tal" ancestry train "${common[@]}" run.dir="$dir/anc" ancestry.max_steps=4 ancestry.batch=32
  setup "tasks embed" "$tal" tasks embed "${common[@]}"
  small=("${common[@]}" train.stage=pretrain train.batch=8 train.meta_batch=4 train.eval_archs=0 checkpoint.every=0)
}
finish() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
