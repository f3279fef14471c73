#!/usr/bin/env bash
# The GPT-2 text pipeline, end to end on this machine, on Debian's fortunes collection and 2 MPI ranks:
#   1. set-up and build                        5. TAL (stage 1 LM + KD, stage 2 text tasks with FiLM), then
#   2. fortunes -> text stores (GPT-2 BPE ids):   LoGAH, GHN-3 and TAL with inheritance with the same budget
#      4-class tasks, and a CoLA-like          6. predicted GPT-2s -> archive, evaluated, exported as safetensors;
#      acceptability task in CoLA's layout        predicted language models and their test perplexity
#   3. the ancestry GPT-2 (a causal LM)        7. the fine-tuning grid on a seen, a held-out and the acceptability
#   4. task embeddings (its mean hidden state)    task (accuracy; MCC for acceptability)
#                                              8. the report and the results tables
# Usage: launch/quickstart_text.sh [--full]
#   default  about 25 minutes after the build on 2 cores: the ancestry for 100 steps of 16 sequences, each
#            hypernetwork 20 + 60 steps, a grid of 3 GPT-2s x 3 tasks x 7 initialisations x 3 seeds of 60 steps
#            under the fair protocol (a validation slice per task), language models predicted by each hypernetwork;
#            everything under runs/quick_text/
#   --full   the configs as they are (ancestry 2 epochs, hypernets 100 + 200 steps); under runs/
# Stages are reused and resumed as in launch/quickstart.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source "$root/launch/stages.sh"
quickstart_begin quickstart_text.sh "$@"
if [ $full = 1 ]; then
  runs=runs; anc=(); hyp=(); grid=()
else
  runs=runs/quick_text
  anc=(ancestry.max_steps=100 ancestry.batch=16 ancestry.warmup=10)
  hyp=(train.pretrain_steps=20 train.steps=60 train.eval_every=0)
  grid=()
fi
ancestry=$runs/ancestry_gpt2/ancestry.h5
embeddings=$runs/task_embeddings_gpt2.h5
suite=configs/tasks/fortunes_suite.yaml

banner "Debian's fortunes into data/fortunes.h5 (GPT-2 BPE ids, up to 64 tokens per fortune)"
if [ ! -s data/fortunes.h5 ]; then "$tal" data import fortunes --out data/fortunes.h5 --max-tokens 64
else "$tal" data info data/fortunes.h5; fi

banner "A CoLA-like acceptability task in CoLA's TSV layout, imported as a user imports CoLA (data/acceptability.h5)"
if [ ! -s data/acceptability.h5 ]; then
  /usr/bin/python3 launch/acceptability_tsv.py data/acceptability_tsv
  "$tal" data import table data/acceptability_tsv/in_domain_train.tsv --test data/acceptability_tsv/in_domain_dev.tsv \
    --text-column 3 --label-column 1 --header=false --max-tokens 64 --out data/acceptability.h5
else
  "$tal" data info data/acceptability.h5
fi

banner "The ancestry GPT-2, a causal LM on every fortune (configs/ancestry_gpt2.yaml)"
stage ancestry configs/ancestry_gpt2.yaml "$tal" ancestry train --config configs/ancestry_gpt2.yaml threads=2 \
  run.dir="$runs/ancestry_gpt2" ancestry.checkpoint="$ancestry" "${anc[@]}"

banner "Task embeddings ($suite)"
stage embeddings configs/tal_gpt2_fortunes.yaml "$tal" tasks embed --config configs/tal_gpt2_fortunes.yaml threads=2 \
  ancestry.checkpoint="$ancestry" tasks.embeddings="$embeddings"

for v in tal logah ghn3 tal_inherit; do
  banner "$(echo $v | tr a-z_ A-Z\ ) for GPT-2: 2 MPI ranks, configs/${v}_gpt2_fortunes.yaml"
  stage "$v" "configs/${v}_gpt2_fortunes.yaml" "$root/launch/tal-mpirun" 2 train --config "configs/${v}_gpt2_fortunes.yaml" \
    run.dir="$runs/${v}_gpt2_fortunes" ancestry.checkpoint="$ancestry" tasks.embeddings="$embeddings" "${hyp[@]}"
done

banner "Predicted GPT-2s for the held-out task, archived, evaluated and exported as safetensors"
"$tal" predict --checkpoint "$runs/tal_gpt2_fortunes" --task fortunes-zippy-startrek-art-food tasks.embeddings="$embeddings" \
  --arch "gpt2:depth=4,width=64,heads=4" --arch "gpt2:depth=2,width=128,heads=4" --out "$runs/tal_gpt2_fortunes/predicted.h5"
"$tal" eval --archive "$runs/tal_gpt2_fortunes/predicted.h5" --task fortunes-zippy-startrek-art-food
"$tal" export "$runs/tal_gpt2_fortunes/predicted.h5" --format safetensors --out "$runs/tal_gpt2_fortunes/export"

banner "Predicted language models (GPT2LMHeadModel) for the fortunes corpus: test perplexity"
for v in tal logah ghn3; do
  rm -f "$runs/${v}_gpt2_fortunes/predicted_lm.h5"
  "$tal" predict --checkpoint "$runs/${v}_gpt2_fortunes" --task fortunes-lm tasks.embeddings="$embeddings" \
    --arch "gpt2:depth=4,width=64,heads=4" --arch "gpt2:depth=2,width=128,heads=4" --out "$runs/${v}_gpt2_fortunes/predicted_lm.h5"
  "$tal" eval --archive "$runs/${v}_gpt2_fortunes/predicted_lm.h5" --task fortunes-lm
done

banner "The fine-tuning grid on 2 ranks (configs/finetune_fortunes.yaml; resumes if interrupted)"
stage finetune configs/finetune_fortunes.yaml "$root/launch/tal-mpirun" 2 finetune --config configs/finetune_fortunes.yaml \
  run.dir="$runs/finetune_fortunes" ancestry.checkpoint="$ancestry" tasks.embeddings="$embeddings" \
  finetune.tal="$runs/tal_gpt2_fortunes" finetune.logah="$runs/logah_gpt2_fortunes" finetune.ghn3="$runs/ghn3_gpt2_fortunes" \
  finetune.tal_inherit="$runs/tal_inherit_gpt2_fortunes" "${grid[@]}"

banner "The report"
"$tal" report "$runs/finetune_fortunes"
"$tal" report "$runs/tal_gpt2_fortunes"
quickstart_end "$runs/finetune_fortunes"
