#!/usr/bin/env bash
# GPT-2 end to end on real text: a small table of Debian fortunes as a text store, a GPT-2 ancestry trained as a
# causal LM on it, task embeddings from its features, TAL / LoGAH / GHN-3 trained on the text tasks on 2 ranks
# (stage 1: LM + KD; stage 2: classification), 1 vs 2 vs 4 ranks and resume byte for byte, predicted GPT-2s archived with
# HF names, evaluated, exported as safetensors + config.json and checked by a NumPy GPT-2 written from the paper;
# predicted language models and their perplexity; a CoLA-layout table imported as CoLA is, its Matthews correlation
# reported by tal eval and by the fine-tuning grid, and recomputed by the NumPy check.
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
# CoLA's layout (no header; source, label, mark, sentence), imported the way a user imports in_domain_train.tsv.
$py "$src/launch/acceptability_tsv.py" "$fortunes" "$work/cola" >"$work/cola.log" 2>&1
check "a CoLA-layout table from fortunes" grep -q "train and .* dev sentences, .*% acceptable" "$work/cola.log"
setup "import CoLA layout" "$tal" data import table "$work/cola/in_domain_train.tsv" --test "$work/cola/in_domain_dev.tsv" \
  --text-column 3 --label-column 1 --header=false --max-tokens 32 --out "$work/data/cola.h5"
cat >"$work/suite.yaml" <<'YAML'
suite: tiny-text
tasks:
  - {name: tech-people, dataset: text.h5, classes: [computers, people], max_length: 32}
  - {name: science-work, dataset: text.h5, classes: [science, work], max_length: 32}
  - {name: computers-work, dataset: text.h5, classes: [computers, work], max_length: 32, heldout: true}
  - {name: lm, dataset: text.h5, classes: [computers], pack: true, max_length: 32, heldout: true}
  - {name: cola, dataset: cola.h5, metric: mcc, max_length: 32, heldout: true}
YAML
common=(data.root="$work/data" tasks.suite="$work/suite.yaml" ancestry.checkpoint="$work/anc.h5"
        tasks.embeddings="$work/emb.h5")
setup "ancestry" "$tal" ancestry train --config "$src/configs/ancestry_gpt2.yaml" "${common[@]}" ancestry.dataset=text.h5 \
  "ancestry.arch=gpt2:depth=1,width=32,heads=2,context=32" ancestry.max_steps=4 ancestry.batch=8 run.dir="$work/anc"
check "ancestry: a causal LM over packed sequences" grep -q "classes=0 on .* train sequences" "$work/setup.log"
setup "embed" "$tal" tasks embed --config "$src/configs/tal_gpt2_fortunes.yaml" "${common[@]}" hypernet.task_dim=32
check "embed: 5 tasks" grep -q "5 task(s), 32-d embeddings" "$work/setup.log"

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
  check "$v evaluates the held-out corpus: perplexity" \
    grep -Eq "task lm \(held-out task\)  next-token accuracy .*  perplexity: [0-9.]+  geometric mean [0-9.]+" "$work/$v.log"
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

# Predicted language models: GPT2LMHeadModel archives, their perplexity, recomputed by the NumPy GPT-2.
out=$("$tal" predict --config "$src/configs/tal_gpt2_fortunes.yaml" "${small[@]}" --checkpoint "$work/tal" \
  --task lm --arch "gpt2:depth=2,width=48,heads=4" --out "$work/lm.h5" 2>&1)
check "predict: a language model for the corpus" grep -q "gpt2-.*-t32-k0 " <<<"$out"
check "LM archive: lm_head [50257, 48], no score" bash -c "'$tal' inspect '$work/lm.h5' | grep -q 'lm_head.weight.*\[50257, 48\]' &&
  ! '$tal' inspect '$work/lm.h5' | grep -q score.weight"
out=$("$tal" eval --archive "$work/lm.h5" --task lm --logits-out "$work/lm_logits.h5" --probe-images 100000 \
  data.root="$work/data" 2>&1)
check "eval: LM perplexity over the test corpus" grep -Eq "test perplexity [0-9]+\.[0-9]+, next-token accuracy .* tokens in .* sequences" <<<"$out"
setup "export LM" "$tal" export "$work/lm.h5" --format safetensors --out "$work/lm_export"
check "LM export: GPT2LMHeadModel config" grep -rq '"GPT2LMHeadModel"' "$work/lm_export"
$py "$src/tests/golden/gpt2_numpy_check.py" "$work/lm_export" "$work/lm_logits.h5" >"$work/lm_check.log" 2>&1
check "NumPy GPT-2: the LM's logits and its perplexity" grep -q "test perplexity: tal eval .* ok" "$work/lm_check.log"
check "NumPy GPT-2 check passes (LM)" bash -c "! grep -q FAIL '$work/lm_check.log'"

# The CoLA-like task: tal eval's accuracy and MCC over the whole dev split, recomputed by the NumPy GPT-2.
setup "predict cola" "$tal" predict --config "$src/configs/tal_gpt2_fortunes.yaml" "${small[@]}" --checkpoint "$work/tal" \
  --task cola --arch "gpt2:depth=1,width=32,heads=2" --out "$work/cola.h5"
out=$("$tal" eval --archive "$work/cola.h5" --task cola --logits-out "$work/cola_logits.h5" --probe-images 100000 \
  data.root="$work/data" 2>&1)
check "eval: accuracy and MCC of a CoLA-like task" grep -Eq "test accuracy [0-9.]+% MCC -?[0-9]\.[0-9]{4} " <<<"$out"
setup "export cola" "$tal" export "$work/cola.h5" --format safetensors --out "$work/cola_export"
$py "$src/tests/golden/gpt2_numpy_check.py" "$work/cola_export" "$work/cola_logits.h5" >"$work/cola_check.log" 2>&1
check "NumPy GPT-2: accuracy and MCC recomputed" grep -q "test MCC: tal eval .* ok" "$work/cola_check.log"
check "NumPy GPT-2 check passes (CoLA-like)" bash -c "! grep -q FAIL '$work/cola_check.log'"

# The fine-tuning grid on it: MCC curves, the MCC table, and a saved model's MCC given back by tal eval.
"$tal" finetune --config "$src/configs/finetune_fortunes.yaml" "${common[@]}" finetune.tasks=cola \
  "finetune.archs=gpt2:depth=1,width=32,heads=2" finetune.inits=random,tal finetune.tal="$work/tal" finetune.seeds=1 \
  finetune.steps=4 finetune.eval_every=2 finetune.batch=8 finetune.eval_images=40 run.dir="$work/ft" \
  --save-weights "$work/ft/tuned.h5" >"$work/ft.log" 2>&1
check "finetune on the CoLA-like task exits 0" [ $? -eq 0 ]
check "finetune summary: an MCC table" grep -q "held-out tasks.*: final test MCC (x100)" "$work/ft.log"
$py - "$work/ft/finetune.h5" >"$work/ft_cells.txt" 2>&1 <<'PY'
import h5py, sys
for g in h5py.File(sys.argv[1])["cells"].values():
    print(g.attrs["init"], g.attrs["metric"], len(g["mcc"]), len(g["accuracy"]), "%.4f" % g.attrs["final_mcc"])
PY
check "finetune.h5: every cell has metric mcc and an MCC curve" test "$(grep -c "^[a-z]* mcc 3 3 " "$work/ft_cells.txt")" -eq 2
setup "report" "$tal" report "$work/ft"
check "report: the MCC table" bash -c "grep -q '^### Final test MCC (x100' '$work/ft/report.md' && grep -q '^| cola | held-out |' '$work/ft/report.md'"
recorded=$(awk '$1 == "random" { print $5 }' "$work/ft_cells.txt")
"$tal" eval --archive "$work/ft/tuned.h5" --task cola --arch-id "$($py -c "import h5py,sys; print([k for k in h5py.File(sys.argv[1])['cola'] if '.random.' in k and k.endswith('.seed0')][0])" "$work/ft/tuned.h5")" \
  data.root="$work/data" tasks.suite="$work/suite.yaml" >"$work/ft_eval.log" 2>&1
check "tal eval of the fine-tuned model gives its recorded MCC $recorded" grep -q "MCC $recorded " "$work/ft_eval.log"
# A results file from before MCC (version 1: no curves, no metric): its runs are run again, not shown as MCC 0.
$py - "$work/ft/finetune.h5" <<'PY'
import h5py, sys
with h5py.File(sys.argv[1], "r+") as f:
    f.attrs["format_version"] = 1
    for g in f["cells"].values():
        del g["mcc"]; del g.attrs["metric"]; del g.attrs["final_mcc"]
PY
"$tal" finetune --config "$src/configs/finetune_fortunes.yaml" "${common[@]}" finetune.tasks=cola \
  "finetune.archs=gpt2:depth=1,width=32,heads=2" finetune.inits=random,tal finetune.tal="$work/tal" finetune.seeds=1 \
  finetune.steps=4 finetune.eval_every=2 finetune.batch=8 finetune.eval_images=40 run.dir="$work/ft" >"$work/ft2.log" 2>&1
check "a version 1 file's runs without MCC are run again" grep -q "2 run(s) in .* have no MCC curve (recorded before it was); they are run again" "$work/ft2.log"
cells_now=$($py - "$work/ft/finetune.h5" <<'PY'
import h5py, sys
for g in h5py.File(sys.argv[1])["cells"].values():
    print(g.attrs["init"], g.attrs["metric"], len(g["mcc"]), len(g["accuracy"]), "%.4f" % g.attrs["final_mcc"])
PY
)
check "... and come back with the same MCC curves" test "$cells_now" = "$(cat "$work/ft_cells.txt")"

# Transfer methods on GPT-2: LoRA on c_attn's q and v columns, merged back into HF's layout; counts with and without
# the shared token/position tables.
"$tal" finetune --config "$src/configs/finetune_fortunes.yaml" "${common[@]}" finetune.tasks=cola \
  "finetune.archs=gpt2:depth=1,width=32,heads=2" finetune.inits=random finetune.seeds=1 "finetune.methods=lora:r=2,ln" \
  finetune.steps=4 finetune.eval_every=2 finetune.batch=8 finetune.eval_images=40 run.dir="$work/ft_lora" \
  --save-weights "$work/ft_lora/tuned.h5" >"$work/ft_lora.log" 2>&1
check "GPT-2 methods grid exits 0" [ $? -eq 0 ]
$py - "$work/ft_lora/finetune.h5" "$work/ft_lora/tuned.h5" >"$work/ft_lora.txt" 2>&1 <<'PY'
import h5py, sys, numpy as np
cells = {g.attrs["method"]: g for g in h5py.File(sys.argv[1])["cells"].values()}
c, k = 32, 2  # width 32, CoLA-like: 2 classes, score.weight [2, 32]
assert cells["lora:r=2,alpha=auto,targets=qv"].attrs["trainable"] == 2 * 2 * 2 * c + k * c
assert cells["ln"].attrs["trainable"] == 4 * c + 2 * c + k * c
models = h5py.File(sys.argv[2])["cola"]
lora = models[[m for m in models if "lora" in m][0]]
ln = models[[m for m in models if ".ln." in m][0]]
shared = ln["transformer.wte.weight"].size + ln["transformer.wpe.weight"].size
for g in cells.values():
    assert g.attrs["shared_embeddings"] == shared, (g.attrs["shared_embeddings"], shared)
assert lora["transformer.h.0.attn.c_attn.weight"].shape == (c, 3 * c)  # HF Conv1D [in, out]: q | k | v columns
print("ok", sorted(cells))
PY
check "GPT-2 methods: closed-form counts, shared tables counted, merged LoRA in HF's layout ($(tail -n1 "$work/ft_lora.txt"))" grep -q "^ok" "$work/ft_lora.txt"
lora_mcc=$($py -c "
import h5py, sys
print(['%.4f' % g.attrs['final_mcc'] for g in h5py.File(sys.argv[1])['cells'].values() if g.attrs['method'].startswith('lora')][0])" "$work/ft_lora/finetune.h5")
"$tal" eval --archive "$work/ft_lora/tuned.h5" --task cola --arch-id "$($py -c "import h5py,sys; print([k for k in h5py.File(sys.argv[1])['cola'] if '.lora-' in k][0])" "$work/ft_lora/tuned.h5")" \
  data.root="$work/data" tasks.suite="$work/suite.yaml" >"$work/lora_eval.log" 2>&1
check "tal eval of the merged LoRA GPT-2 gives its recorded MCC $lora_mcc" grep -q "MCC $lora_mcc " "$work/lora_eval.log"

# Inheritance on GPT-2: a hypernetwork that starts from the ancestry LM (zoo no wider than it) trains both stages and
# initialises a fine-tuning run; no descendant keeps a periodic token embedding (TAL's decoder would tile wte every
# hypernet.max_shape rows): with finetune.tiled_embeddings=ancestry it is the ancestry's, selected.
train 2 tal inherit hypernet.base=ancestry zoo.max_width=32 train.pretrain_steps=1 train.steps=1
check "GPT-2 inheritance trains on 2 ranks" grep -q "train  done: 2 steps" "$work/inherit.log"
"$tal" finetune --config "$src/configs/finetune_fortunes.yaml" "${common[@]}" finetune.tasks=computers-work \
  "finetune.archs=gpt2:depth=1,width=32,heads=2" finetune.inits=tal,tal-inherit,ancestry-select finetune.tal="$work/tal" \
  finetune.tal_inherit="$work/inherit" finetune.tiled_embeddings=ancestry finetune.seeds=1 finetune.steps=1 finetune.eval_every=1 finetune.lr=0 \
  finetune.weight_decay=0 finetune.batch=8 finetune.eval_images=40 run.dir="$work/ft_inh" \
  --save-weights "$work/ft_inh/w.h5" >"$work/ft_inh.log" 2>&1
check "finetune with tal-inherit on GPT-2 exits 0" [ $? -eq 0 ]
$py - "$work/ft_inh/w.h5" "$work/anc.h5" >"$work/wte.txt" 2>&1 <<'PY'
import h5py, sys, numpy as np
g = h5py.File(sys.argv[1])["computers-work"]
anc = h5py.File(sys.argv[2])["params/transformer.wte.weight"][()]
for k in g:
    wte = g[k]["transformer.wte.weight"][()]
    assert not np.array_equal(wte[:64], wte[2048:2048 + 64]), k + ": periodic token embedding"
    assert np.array_equal(wte, anc[:, :wte.shape[1]]), k + ": not the ancestry's (selected) embedding"
print("ok", len(g))
PY
check "no periodic token embeddings; the ancestry's ($(tail -n1 "$work/wte.txt"))" grep -q "^ok 3$" "$work/wte.txt"

# Bad input: an image suite under the GPT-2 family is refused in one line.
err=$("$tal" train --config "$src/configs/tal_gpt2_fortunes.yaml" "${small[@]}" tasks.suite="$src/configs/tasks/fmnist_suite.yaml" \
  run.dir="$work/bad" 2>&1); rc=$?
check "image tasks under zoo.family=gpt2: one line" test $rc -ne 0 -a "$(wc -l <<<"$err")" -eq 1
finish
