#!/usr/bin/env bash
# The budget curve: TAL and TAL with inheritance trained for increasing budgets (stage 1 + stage 2 steps), each
# fine-tuned under the quickstart's protocol, then `tal report` of the directory of grids: the gain over random and
# over ancestry-select against hypernetwork training steps. Reuses the quickstart's data, ancestry, embeddings and
# its 40 + 80-step hypernetworks (the first point; run launch/quickstart.sh first).
# Usage: launch/budget_curve.sh [BUDGET ...]     a budget is PRETRAIN+MULTITASK, default 40+80 100+200 200+400 400+800
#   runs under runs/budget/; about 30 minutes of training per hypernetwork at the largest default budget on 2 cores
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tal="${TAL_BUILD_DIR:-$root/build}/tal"
quick=runs/quick
out=runs/budget
[ -s "$quick/ancestry/ancestry.h5" ] && [ -s "$quick/task_embeddings.h5" ] && [ -s "$quick/finetune_fmnist/finetune.h5" ] ||
  { echo "budget_curve: run launch/quickstart.sh first (it makes $quick)" >&2; exit 1; }
budgets=("$@")
[ ${#budgets[@]} -gt 0 ] || budgets=(40+80 100+200 200+400 400+800)
shared=(ancestry.checkpoint="$quick/ancestry/ancestry.h5" tasks.embeddings="$quick/task_embeddings.h5")
# The grid exactly as the quickstart's (same cells, so random and ancestry-select come from its grid), hypernets only.
grid=("finetune.archs=vit:depth=2,width=32,heads=2,vit:depth=5,width=64,heads=4" finetune.lr=0.001,0.003
      finetune.steps=60 finetune.eval_every=30 finetune.val_fraction=0.05)
mkdir -p "$out"
ln -sfn "$root/$quick/finetune_fmnist" "$out/grid_40+80"
for b in "${budgets[@]}"; do
  pre=${b%+*} steps=${b#*+}
  [ "$b" = "40+80" ] && continue  # the quickstart's own hypernetworks and grid
  for v in tal tal_inherit; do
    echo "== $v, $pre + $steps steps"
    "$root/launch/tal-mpirun" 2 train --config "configs/${v}_vit_fmnist.yaml" run.dir="$out/${v}_$b" "${shared[@]}" \
      train.pretrain_steps="$pre" train.steps="$steps" train.eval_every=0 checkpoint.every=200
  done
  echo "== the grid for $b"
  "$root/launch/tal-mpirun" 2 finetune --config configs/finetune_fmnist.yaml run.dir="$out/grid_$b" "${shared[@]}" \
    finetune.inits=tal,tal-inherit finetune.tal="$out/tal_$b" finetune.tal_inherit="$out/tal_inherit_$b" "${grid[@]}"
done
"$tal" report "$out"
echo "budget_curve: $out/report.md"
