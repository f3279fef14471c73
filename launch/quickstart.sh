#!/usr/bin/env bash
# The main job, end to end on this machine, on the embedded Fashion-MNIST suite and 2 MPI ranks:
#   1. set-up and build                  6. predicted weights for unseen ViTs -> archive, evaluated
#   2. Fashion-MNIST -> task store       7. the fine-tuning grid under the fair protocol (a validation slice per task,
#   3. the ancestry ViT (teacher), on       learning rates chosen on it per initialisation, paired differences
#      the suite's six seen classes         against a random start with bootstrap intervals)
#   4. task embeddings                   8. the report (report.md + plots) and the results table
#   5. TAL (stage 1 KD, stage 2 task FiLM), LoGAH, and TAL with inheritance (from the ancestry's weights), the same
#      budget each; GHN-3 too with --full
# Usage: launch/quickstart.sh [--full]
#   default  under 15 minutes after the build on 2 cores: the ancestry for 320 steps, each hypernetwork 40 + 80 steps,
#            embeddings over 2,000 images per task, a grid of 3 tasks (seen, held out, class-disjoint held out) x
#            2 architectures (one inside the hypernetworks' training zoo, one outside) x 5 initialisations x 2
#            learning rates x 3 seeds of 60 steps; everything under runs/quick/
#   --full   the configs as they are (ancestry 6 epochs, hypernets 150 + 250 steps, GHN-3 and TAL without FiLM too,
#            6 architectures, 3 learning rates, 100 steps); under runs/; several hours on 2 cores
# A stage whose command and config files are unchanged since it finished is reused (its key, a hash of both, is in
# RUNS/.stages/); an interrupted stage resumes (training from its checkpoint, the grid from its results file).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source "$root/launch/stages.sh"
quickstart_begin quickstart.sh "$@"

if [ $full = 1 ]; then
  runs=runs
  anc=(); emb=(); hyp=(); grid=()
  hypernets=(tal logah ghn3 tal_inherit)
else
  runs=runs/quick
  anc=(ancestry.max_steps=320 run.dir=$runs/ancestry ancestry.checkpoint=$runs/ancestry/ancestry.h5)
  emb=(ancestry.checkpoint=$runs/ancestry/ancestry.h5 tasks.embeddings=$runs/task_embeddings.h5 tasks.embed_images=2000)
  hyp=(train.pretrain_steps=40 train.steps=80 train.eval_every=0)
  grid=("finetune.archs=vit:depth=2,width=32,heads=2,vit:depth=5,width=64,heads=4"
        finetune.inits=tal,logah,tal-inherit,random,ancestry-select finetune.lr=0.001,0.003
        finetune.steps=60 finetune.eval_every=30 finetune.val_fraction=0.05)
  hypernets=(tal logah tal_inherit)
fi
ancestry=${runs}/ancestry/ancestry.h5
embeddings=$([ $full = 1 ] && echo data/task_embeddings.h5 || echo $runs/task_embeddings.h5)
suite=configs/tasks/fmnist_suite.yaml

banner "Fashion-MNIST from the Debian package into data/fmnist.h5"
if [ ! -s data/fmnist.h5 ]; then "$tal" data import fashion-mnist --out data/fmnist.h5
else "$tal" data info data/fmnist.h5; fi

banner "The ancestry ViT (configs/ancestry_vit.yaml)"
stage ancestry configs/ancestry_vit.yaml "$tal" ancestry train --config configs/ancestry_vit.yaml threads=2 "${anc[@]}"

banner "Task embeddings (configs/tasks/fmnist_suite.yaml)"
stage embeddings configs/tal_vit_fmnist.yaml "$tal" tasks embed --config configs/tal_vit_fmnist.yaml threads=2 "${emb[@]}"

for v in "${hypernets[@]}"; do
  banner "$(echo $v | tr a-z_ A-Z\ ): 2 MPI ranks, configs/${v}_vit_fmnist.yaml (resumes automatically if interrupted)"
  stage "$v" "configs/${v}_vit_fmnist.yaml" "$root/launch/tal-mpirun" 2 train --config "configs/${v}_vit_fmnist.yaml" \
    run.dir="$runs/${v}_fmnist" ancestry.checkpoint="$ancestry" tasks.embeddings="$embeddings" "${hyp[@]}"
done

banner "Predicted weights for unseen ViTs on the footwear task, into $runs/tal_fmnist/predicted.h5"
"$tal" predict --checkpoint "$runs/tal_fmnist" --task fmnist-footwear tasks.embeddings="$embeddings" \
  --arch "vit:depth=4,width=96,heads=3" --arch "vit:depth=6,width=64,heads=4" --out "$runs/tal_fmnist/predicted.h5"
"$tal" eval --archive "$runs/tal_fmnist/predicted.h5" --task fmnist-footwear

banner "The fine-tuning grid on 2 ranks (configs/finetune_fmnist.yaml; resumes if interrupted)"
stage finetune configs/finetune_fmnist.yaml "$root/launch/tal-mpirun" 2 finetune --config configs/finetune_fmnist.yaml \
  run.dir="$runs/finetune_fmnist" ancestry.checkpoint="$ancestry" tasks.embeddings="$embeddings" \
  finetune.tal="$runs/tal_fmnist" finetune.logah="$runs/logah_fmnist" finetune.ghn3="$runs/ghn3_fmnist" \
  finetune.tal_inherit="$runs/tal_inherit_fmnist" "${grid[@]}"

banner "The report"
"$tal" report "$runs/finetune_fmnist"
"$tal" report "$runs/tal_fmnist"
quickstart_end "$runs/finetune_fmnist"
