#!/usr/bin/env bash
# GPT-2 end to end on real text: a small table of Debian fortunes as a text store, a GPT-2 ancestry trained as a
# causal LM on it, task embeddings from its features, TAL / LoGAH / GHN-3 trained on the text tasks on 2 ranks
# (stage 1: LM + KD; stage 2: classification), 1 vs 2 vs 4 ranks and resume byte for byte, predicted GPT-2s archived with
# HF names, evaluated, exported as safetensors + config.json and checked by a NumPy GPT-2 written from the paper.
set -u
tal=${1:?usage: gpt2_test.sh path/to/tal}
src=${TAL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
py=/usr/bin/python3
cmp_py="$src/tests/e2e/compare_checkpoints.py"
work=$(mktemp -d)
trap 'pkill -KILL -f "$work" 2>/dev/null; rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
source "$src/tests/e2e/harness.sh"
fortunes=/usr/share/games/fortunes
[ -s "$fortunes/computers" ] || skip "Debian's fortunes are not installed (launch/setup.sh installs them)"

# 48 fortunes from each of four files, as a CSV table (the layout of GLUE-style exports).
$py - "$fortunes" "$work/fortunes.csv" <<'PY'
import csv, sys
root, out = sys.argv[1], sys.argv[2]
with open(out, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["text", "label"])
    for name in ["computers", "people", "science", "work"]:
        texts = [t.strip() for t in open(f"{root}/{name}", encoding="utf-8", errors="replace").read().split("\n%\n")]
        for t in [t for t in texts if t][:48]:
            w.writerow([t, name])
PY
mkdir -p "$work/data"
setup "import" "$tal" data import table "$work/fortunes.csv" --text-column text --label-column label --test-every 4 \
  --max-tokens 32 --out "$work/data/text.h5"
cat >"$work/suite.yaml" <<'YAML'
suite: tiny-text
tasks:
  - {name: tech-people, dataset: text.h5, classes: [computers, people], max_length: 32}
  - {name: science-work, dataset: text.h5, classes: [science, work], max_length: 32}
  - {name: computers-work, dataset: text.h5, classes: [computers, work], max_length: 32, heldout: true}
YAML
common=(data.root="$work/data" tasks.suite="$work/suite.yaml" ancestry.checkpoint="$work/anc.h5"
        tasks.embeddings="$work/emb.h5")
setup "ancestry" "$tal" ancestry train --config "$src/configs/ancestry_gpt2.yaml" "${common[@]}" ancestry.dataset=text.h5 \
  "ancestry.arch=gpt2:depth=1,width=32,heads=2,context=32" ancestry.max_steps=4 ancestry.batch=8 run.dir="$work/anc"
check "ancestry: a causal LM over packed sequences" grep -q "classes=0 on .* train sequences" "$work/setup.log"
setup "embed" "$tal" tasks embed --config "$src/configs/tal_gpt2_fortunes.yaml" "${common[@]}" hypernet.task_dim=32
check "embed: 3 tasks" grep -q "3 task(s), 32-d embeddings" "$work/setup.log"

small=(train.dataset=text.h5 zoo.context=32 hypernet.task_dim=32 train.meta_batch=2 train.batch=4 train.eval_archs=1
       train.eval_images=20 train.eval_every=0 train.autocast=off checkpoint.every=2 "${common[@]}")
ckpt() { echo "$work/$1/ckpt/$(head -n1 "$work/$1/ckpt/latest")"; }
train() {  # train NP VARIANT RUN_NAME [key=value ...]
  local np=$1 variant=$2 run=$3; shift 3
  mpirun -np "$np" --bind-to none "$tal" train --config "$src/configs/${variant}_gpt2_fortunes.yaml" "${small[@]}" \
    run.dir="$work/$run" "$@" >"$work/$run.log" 2>&1
}

# The three hypernetworks, both stages, on 2 ranks.
for v in tal logah ghn3; do
  train 2 $v $v train.pretrain_steps=1 train.steps=2
  check "$v trains GPT-2 on 2 ranks" grep -q "train  done: 3 steps" "$work/$v.log"
  check "$v stage 1 is the LM corpus" grep -q "^step 1/3  pretrain  task text " "$work/$v.log"
  check "$v stage 2 is a text task" grep -Eq "^step 3/3  multitask  task (tech-people|science-work) " "$work/$v.log"
  check "$v evaluates the held-out text task" grep -q "task computers-work (held-out task)  accuracy" "$work/$v.log"
done

# 1, 2 and 4 ranks, and resume, byte for byte (each unit's gradient alone, summed in double precision).
for np in 1 2 4; do train $np tal "eq_$np" train.pretrain_steps=2 train.steps=2; done
for np in 2 4; do check "GPT-2: 1 vs $np ranks (bytes)" $py "$cmp_py" "$(ckpt eq_1)" "$(ckpt eq_$np)" 0; done
train 2 tal resumed train.pretrain_steps=2 train.steps=2 --until-step 2
train 2 tal resumed train.pretrain_steps=2 train.steps=2
check "GPT-2: resume message" grep -q "resume  from .*step_00000002.h5 at step 2" "$work/resumed.log"
check "GPT-2: bit-exact resume across the stage boundary" $py "$cmp_py" "$(ckpt eq_2)" "$(ckpt resumed)" 0

# Predicted GPT-2s: HF names and shapes, evaluated, exported, and read by an independent NumPy GPT-2.
out=$("$tal" predict --config "$src/configs/tal_gpt2_fortunes.yaml" "${small[@]}" --checkpoint "$work/tal" \
  --task computers-work --arch "gpt2:depth=2,width=48,heads=4" --arch "gpt2:depth=3,width=32,heads=2" \
  --out "$work/pred.h5" 2>&1)
check "predict: two GPT-2s for the task's 2 classes" test "$(grep -c "gpt2-.*-t32-k2 " <<<"$out")" -eq 2
check "archive: HF layout" bash -c "'$tal' inspect '$work/pred.h5' | grep -q 'transformer.h.0.attn.c_attn.weight.*\[48, 144\]'"
out=$("$tal" eval --archive "$work/pred.h5" --task computers-work --logits-out "$work/logits.h5" data.root="$work/data" 2>&1)
check "eval: accuracy over the test texts" test "$(grep -c "test accuracy .* texts, as predicted" <<<"$out")" -eq 2
setup "export" "$tal" export "$work/pred.h5" --format safetensors --out "$work/export"
check "export: config.json for HF" test "$(find "$work/export" -name config.json | wc -l)" -eq 2
check "export reads back with plain Python" $py "$src/tests/golden/safetensors_check.py" "$work/pred.h5" "$work/export"
check "NumPy GPT-2 from the paper gives tal's logits" $py "$src/tests/golden/gpt2_numpy_check.py" "$work/export" "$work/logits.h5"

# Bad input: an image suite under the GPT-2 family is refused in one line.
err=$("$tal" train --config "$src/configs/tal_gpt2_fortunes.yaml" "${small[@]}" tasks.suite="$src/configs/tasks/fmnist_suite.yaml" \
  run.dir="$work/bad" 2>&1); rc=$?
check "image tasks under zoo.family=gpt2: one line" test $rc -ne 0 -a "$(wc -l <<<"$err")" -eq 1
finish
