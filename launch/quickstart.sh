#!/usr/bin/env bash
# The main job, end to end on this machine. Steps already done are skipped, so running it again continues where it
# stopped (training and the fine-tuning grid resume from their checkpoints / results file):
#   1. set-up and build               6. the LoGAH and GHN-3 baselines, the same budget and ranks
#   2. Fashion-MNIST -> task store    7. predicted weights for unseen ViTs -> archive, evaluated
#   3. the ancestry ViT (teacher)     8. the fine-tuning grid on 2 ranks: every initialisation x task x arch x seed
#   4. task embeddings                9. the report: runs/finetune_fmnist/report.md and its plots
#   5. TAL on 2 MPI ranks (stage 1 KD, then stage 2 task FiLM)
# Usage: launch/quickstart.sh [--full]
#   default: the ancestry ViT trains for 2 epochs (of the config's 6); --full trains all 6 (about 15 more minutes).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
full=0
case "${1:-}" in
  --full) full=1 ;;
  "") ;;
  *) echo "usage: launch/quickstart.sh [--full]" >&2; exit 2 ;;
esac
"$root/launch/setup.sh"
"$root/launch/build.sh"
tal="${TAL_BUILD_DIR:-$root/build}/tal"
banner() { printf '\n== %s\n' "$*"; }

banner "Fashion-MNIST from the Debian package into data/fmnist.h5"
[ -s data/fmnist.h5 ] || "$tal" data import fashion-mnist --out data/fmnist.h5
"$tal" data info data/fmnist.h5

banner "The ancestry ViT (configs/ancestry_vit.yaml$([ $full = 1 ] || echo ', 2 epochs'))"
epochs=()
[ $full = 1 ] || epochs=(ancestry.epochs=2)
[ -s runs/ancestry/ancestry.h5 ] || "$tal" ancestry train --config configs/ancestry_vit.yaml threads=2 "${epochs[@]}"

banner "Task embeddings (configs/tasks/fmnist_suite.yaml)"
"$tal" tasks embed --config configs/tal_vit_fmnist.yaml threads=2

for v in tal logah ghn3; do
  banner "$(echo $v | tr a-z A-Z): 2 MPI ranks, configs/${v}_vit_fmnist.yaml (resumes automatically if interrupted)"
  "$root/launch/tal-mpirun" 2 train --config "configs/${v}_vit_fmnist.yaml"
done

banner "Predicted weights for unseen ViTs on the footwear task, into runs/tal_fmnist/predicted.h5"
"$tal" predict --checkpoint runs/tal_fmnist --task fmnist-footwear \
  --arch "vit:depth=4,width=96,heads=3" --arch "vit:depth=6,width=64,heads=4" --out runs/tal_fmnist/predicted.h5
"$tal" eval --archive runs/tal_fmnist/predicted.h5 --task fmnist-footwear

banner "The fine-tuning grid on 2 ranks (configs/finetune_fmnist.yaml; resumes if interrupted)"
"$root/launch/tal-mpirun" 2 finetune --config configs/finetune_fmnist.yaml

banner "The report"
"$tal" report runs/finetune_fmnist
"$tal" report runs/tal_fmnist
echo "open runs/finetune_fmnist/report.md (plots in runs/finetune_fmnist/report/)"
