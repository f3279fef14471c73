#!/usr/bin/env bash
# The main job, end to end on this machine (2 cores: about 30 minutes the first time, most of it the ancestry
# model). Steps already done are skipped, so running it again continues where it stopped:
#   1. set-up and build            4. task embeddings from its features
#   2. Fashion-MNIST -> task store  5. TAL training on 2 MPI ranks (stage 1 KD, then stage 2 task FiLM)
#   3. the ancestry ViT (teacher)   6. predicted weights for a task x 2 unseen ViTs -> archive, evaluated
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/launch/setup.sh"
"$root/launch/build.sh"
tal="${TAL_BUILD_DIR:-$root/build}/tal"
banner() { printf '\n== %s\n' "$*"; }

banner "Fashion-MNIST from the Debian package into data/fmnist.h5"
[ -s data/fmnist.h5 ] || "$tal" data import fashion-mnist --out data/fmnist.h5
"$tal" data info data/fmnist.h5

banner "The ancestry ViT (configs/ancestry_vit.yaml)"
[ -s runs/ancestry/ancestry.h5 ] || "$tal" ancestry train --config configs/ancestry_vit.yaml threads=2

banner "Task embeddings (configs/tasks/fmnist_suite.yaml)"
"$tal" tasks embed --config configs/tal_vit_fmnist.yaml threads=2

banner "TAL: 2 MPI ranks (resumes automatically if interrupted)"
"$root/launch/tal-mpirun" 2 train --config configs/tal_vit_fmnist.yaml

banner "Predicted weights for unseen ViTs on the footwear task, into runs/tal_fmnist/predicted.h5"
"$tal" predict --checkpoint runs/tal_fmnist --task fmnist-footwear \
  --arch "vit:depth=4,width=96,heads=3" --arch "vit:depth=6,width=64,heads=4" --out runs/tal_fmnist/predicted.h5
"$tal" eval --archive runs/tal_fmnist/predicted.h5 --task fmnist-footwear
"$tal" inspect runs/tal_fmnist/predicted.h5 | head -n 16

banner "Done. The graph of ViT-Ti/16 as the hypernetwork reads it:"
"$tal" zoo show "vit:depth=12,width=192,heads=3,patch=16,image=224,channels=3,classes=1000" | head -n 8
