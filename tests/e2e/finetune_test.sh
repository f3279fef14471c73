#!/usr/bin/env bash
# The fine-tuning grid end to end on real Fashion-MNIST tasks: every initialisation (three hypernetworks trained
# for a few steps, random, weight selection from the ancestry, TAL without FiLM), 1 rank vs 2 ranks (the same
# results, cell for cell), preemption and resume (nothing done twice, nothing lost), a finished grid re-run, the
# saved fine-tuned weights evaluated again, bad inputs, and tal report on both kinds of run directory.
# Usage: finetune_test.sh path/to/tal
set -u
tal=${1:?usage: finetune_test.sh path/to/tal}
src=${TAL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
py=/usr/bin/python3
work=$(mktemp -d)
trap 'pkill -KILL -f "$work" 2>/dev/null; rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
source "$src/tests/e2e/harness.sh"

tiny_pipeline "$work"
for v in logah ghn3; do
  setup "train $v" "$tal" train "${small[@]}" --config "$src/configs/${v}_vit_fmnist.yaml" run.dir="$work/$v" train.steps=2
done
setup "train tal" "$tal" train "${small[@]}" run.dir="$work/tal" train.stage=both train.pretrain_steps=2 train.steps=2
# The class-disjoint held-out task's classes (T-shirt/top, Trouser, Shirt, Bag) never reach training: stage 1 reads the
# six seen classes alone (6 x 6,000 images), and so does every stage-2 task; the ancestry was trained on them alone.
check "stage 1 reads the six seen classes only" grep -q "^data  stage 1: fmnist (36,000 training examples; classes Pullover, Dress, Coat, Sandal, Sneaker, Ankle boot)" "$work/setup.log"
check "no stage-2 task holds an unseen class" bash -c "! grep '^data  stage 2:' '$work/setup.log' | grep -Eq 'T-shirt|Trouser|Shirt|Bag'"
check "the ancestry holds the six seen classes only" $py -c "
import h5py, sys
assert [c.decode() for c in h5py.File(sys.argv[1])['classes'][()]] == ['Pullover', 'Dress', 'Coat', 'Sandal', 'Sneaker', 'Ankle boot']" "$work/anc/anc.h5"
sed 's/classes: \[Pullover, Dress, Coat\]/classes: [Pullover, Dress, Trouser]/' "$src/configs/tasks/fmnist_suite.yaml" >"$work/leaky.yaml"
"$tal" train "${small[@]}" run.dir="$work/leaky" train.stage=both train.pretrain_steps=1 train.steps=1 \
  tasks.suite="$work/leaky.yaml" >"$work/leaky.log" 2>&1
check "a stage-2 task with an unseen class is refused, naming it" grep -q "key 'train.classes': stage-2 task 'fmnist-tops' uses class 'Trouser'" "$work/leaky.log"
check "... before anything is written" test ! -e "$work/leaky"
setup "train tal-inherit" "$tal" train "${small[@]}" --config "$src/configs/tal_inherit_vit_fmnist.yaml" \
  run.dir="$work/tal_inherit" train.stage=both train.pretrain_steps=2 train.steps=2

grid=(--config "$src/configs/finetune_fmnist.yaml" data.root="$work/data" ancestry.checkpoint="$work/anc/anc.h5"
      tasks.embeddings="$work/data/emb.h5" finetune.tal="$work/tal" finetune.logah="$work/logah"
      finetune.ghn3="$work/ghn3" finetune.tal_inherit="$work/tal_inherit"
      finetune.tasks=fmnist-footwear,fmnist-bags-trousers-rot180
      "finetune.archs=vit:depth=1,width=32,heads=2,mlp=64" finetune.seeds=2 finetune.steps=4 finetune.eval_every=2
      finetune.eval_images=100 finetune.batch=16 finetune.lr=0.001 finetune.val_fraction=0.02)
cells() { $py -c "import h5py,sys; print(len(h5py.File(sys.argv[1])['cells']))" "$1"; }
# key accuracy... mcc... loss... per cell, sorted: two grids are equal when every cell's curves are.
dump() { $py -c "
import h5py, sys
f = h5py.File(sys.argv[1])
for k in sorted(f['cells']):
    g = f['cells'][k]
    print(k, g.attrs['task'], g.attrs['init'], g.attrs['seed'], list(g['accuracy'][()]), list(g['mcc'][()]),
          list(g['loss'][()]))" "$1"; }

# 1. One rank: 2 tasks x 1 architecture x 7 initialisations x 2 seeds.
t0=$(now)
"$tal" finetune "${grid[@]}" run.dir="$work/one" --save-weights "$work/one/tuned.h5" >"$work/one.log" 2>&1
check "1-rank grid exits 0" [ $? -eq 0 ]
echo "1-rank grid of 28 runs: $(since "$t0") s"
check "1-rank grid has 28 cells" [ "$(cells "$work/one/finetune.h5")" = 28 ]
check "the summary names the held-out task apart" grep -q "held-out tasks.*: final test accuracy" "$work/one.log"
check "the summary compares with random: interval and wins" grep -Eq "fmnist-footwear +tal-inherit +[-+][0-9.]+ \[[-+][0-9.]+, [-+][0-9.]+\] [0-9]/2" "$work/one.log"
check "progress counts cells" grep -q "cells 28/28" "$work/one.log"
$py - "$work/one/finetune.h5" >"$work/shape.txt" 2>&1 <<'PY'
import h5py, sys
f = h5py.File(sys.argv[1])
assert f.attrs["kind"] == "tal-finetune"
inits = [s.decode() for s in f["init_order"][()]]
assert inits == ["tal", "logah", "ghn3", "random", "ancestry-select", "tal-no-film", "tal-inherit"], inits
held = {g.attrs["task"]: bool(g.attrs["heldout"]) for g in f["cells"].values()}
assert held == {"fmnist-footwear": False, "fmnist-bags-trousers-rot180": True}, held
for g in f["cells"].values():
    assert list(g["eval_steps"][()]) == [0, 2, 4], list(g["eval_steps"][()])
    assert len(g["loss"]) == 4 and len(g["steps_to"]) == 4
    assert all(0 <= a <= 1 for a in g["accuracy"][()])
    assert g.attrs["final_accuracy"] == g["accuracy"][-1]
# A hypernetwork's initialisation is its prediction: TAL with and without FiLM (trained 2 stage-2 steps) start from
# different weights, so their first training losses differ; the hypernets say how large they are and how long a
# prediction took.
first = {(g.attrs["task"], g.attrs["init"], g.attrs["seed"]): g["loss"][0] for g in f["cells"].values()}
assert any(first[(t, "tal", s)] != first[(t, "tal-no-film", s)] for (t, i, s) in first if i == "tal"), "FiLM did nothing"
assert f["inits/tal"].attrs["hypernet_params"] > 0 and f["inits/random"].attrs["hypernet_params"] == 0
assert f["inits/tal"].attrs["predict_ms"] > 0
print("ok")
PY
check "results file layout (${work##*/}/shape.txt: $(tail -n1 "$work/shape.txt"))" grep -q "^ok$" "$work/shape.txt"

# 2. Two ranks give the same results, cell for cell (each run is a pure function of its cell).
mpirun -np 2 --bind-to none "$tal" finetune "${grid[@]}" run.dir="$work/two" threads=1 >"$work/two.log" 2>&1
check "2-rank grid exits 0" [ $? -eq 0 ]
check "2-rank grid runs 14 rounds" grep -q "in 14 rounds" "$work/two.log"
dump "$work/one/finetune.h5" >"$work/one.txt"; dump "$work/two/finetune.h5" >"$work/two.txt"
check "1 rank and 2 ranks: the same 28 curves" cmp -s "$work/one.txt" "$work/two.txt"

# 3. The saved fine-tuned weights give the recorded final accuracy again through tal eval.
id=$($py -c "import h5py,sys; print(sorted(h5py.File(sys.argv[1])['fmnist-footwear'])[0])" "$work/one/tuned.h5")
recorded=$($py - "$work/one/finetune.h5" "$id" <<'PY'
import h5py, sys
f = h5py.File(sys.argv[1]); parts = sys.argv[2].split("."); arch, init, seed = parts[0], parts[1], parts[-1]
for g in f["cells"].values():
    if g.attrs["task"] == "fmnist-footwear" and g.attrs["arch_id"] == arch and g.attrs["init"] == init and \
       "seed%d" % g.attrs["seed"] == seed:
        print("%.2f%%" % (100 * g.attrs["final_accuracy"]))
PY
)
"$tal" eval --archive "$work/one/tuned.h5" --task fmnist-footwear --arch-id "$id" data.root="$work/data" >"$work/eval.log" 2>&1
check "the saved model's final accuracy was found in the results ($id)" [ -n "$recorded" ]
check "tal eval of a saved fine-tuned model ($id) gives its recorded $recorded" grep -q "test accuracy $recorded " "$work/eval.log"

# 4. Preemption: SIGTERM after the first cells; the finished ones are kept, exit 75; the re-run does only the rest.
"$tal" finetune "${grid[@]}" run.dir="$work/pre" >"$work/pre.log" 2>&1 &
pid=$!
wait_for 120 "$work/pre.log" "cells 3/28" "the third cell"
kill -TERM $pid; wait $pid; rc=$?
check "preempted grid exits 75 (got $rc)" [ $rc -eq 75 ]
kept=$(cells "$work/pre/finetune.h5")
check "preempted grid kept its finished cells ($kept)" bash -c "[ '$kept' -ge 3 ] && [ '$kept' -lt 28 ]"
"$tal" finetune "${grid[@]}" run.dir="$work/pre" >"$work/pre2.log" 2>&1
check "resumed grid exits 0" [ $? -eq 0 ]
check "resumed grid skips the $kept done cells" grep -q "$kept done, $((28 - kept)) to run" "$work/pre2.log"
dump "$work/pre/finetune.h5" >"$work/pre.txt"
check "preempted + resumed: the same 28 curves as uninterrupted" cmp -s "$work/one.txt" "$work/pre.txt"

# 5. A finished grid run again does nothing and leaves the file as it was; another recipe is refused.
sum=$(md5sum <"$work/one/finetune.h5")
"$tal" finetune "${grid[@]}" run.dir="$work/one" >"$work/again.log" 2>&1
check "finished grid: every cell already done" grep -q "every cell was already done" "$work/again.log"
check "finished grid: file untouched" [ "$(md5sum <"$work/one/finetune.h5")" = "$sum" ]
"$tal" finetune "${grid[@]}" run.dir="$work/one" finetune.steps=6 >"$work/recipe.log" 2>&1
check "another recipe in the same run.dir: exit 1" [ $? -eq 1 ]
check "another recipe: one line naming the file" grep -q "finetune.h5: holds 28 runs made with another recipe" "$work/recipe.log"
check "another recipe: file untouched" [ "$(md5sum <"$work/one/finetune.h5")" = "$sum" ]

# 6. Bad input: one line naming the key, nothing written.
bad() {  # bad NAME PATTERN key=value...
  local name=$1 pattern=$2; shift 2
  "$tal" finetune "${grid[@]}" run.dir="$work/bad" "$@" >"$work/bad.log" 2>&1
  local rc=$?
  check "$name: exit 1 (got $rc)" [ $rc -eq 1 ]
  check "$name: names it ('$pattern')" grep -q "$pattern" "$work/bad.log"
  check "$name: one line" [ "$(wc -l <"$work/bad.log")" -eq 1 ]
  check "$name: nothing written" [ ! -e "$work/bad" ]
}
bad "unknown init" "key 'finetune.inits': unknown initialisation 'tall'" finetune.inits=tal,tall
bad "missing checkpoint" "key 'finetune.ghn3': $work/nope: no such file" finetune.ghn3="$work/nope"
bad "wrong hypernet" "key 'finetune.tal': .* is a checkpoint of a logah hypernetwork" finetune.tal="$work/logah"
bad "not an inheriting hypernet" "key 'finetune.tal_inherit': .* is not an inheriting hypernetwork" finetune.tal_inherit="$work/tal"
bad "an inheriting hypernet as tal" "key 'finetune.tal': .* is an inheriting hypernetwork" finetune.tal="$work/tal_inherit"
bad "a negative learning rate" "key 'finetune.lr': '-0.1' is not a learning rate" finetune.lr=0.001,-0.1
bad "an unknown head choice" "key 'finetune.heads': 'kept' is not one of: reset, predicted" finetune.heads=kept
bad "unknown task" "key 'finetune.tasks': .* has no task 'fmnist-shoes'" finetune.tasks=fmnist-shoes
bad "misfit arch" "key 'finetune.archs': " "finetune.archs=vit:depth=1,width=32,heads=3"

# 7. tal report: a fine-tuning run (every plot) and a training run (loss only); without gnuplot, nothing written.
"$tal" report "$work/one" >"$work/report.log" 2>&1
check "report exits 0" [ $? -eq 0 ]
for p in curve_fmnist-footwear curve_fmnist-bags-trousers-rot180 final_by_arch zero_shot steps_to; do
  check "report plot $p.png is a PNG" $py -c "import sys; sys.exit(open(sys.argv[1],'rb').read(8) != b'\x89PNG\r\n\x1a\n')" "$work/one/report/$p.png"
  check "report plot $p has its data and script" bash -c "[ -s '$work/one/report/$p.dat' ] && [ -s '$work/one/report/$p.gp' ]"
done
check "report table: seen and held-out apart" grep -q "held-out tasks" "$work/one/report.md"
$py - "$work/one/finetune.h5" "$work/one/report.md" "$work/one/report" >"$work/table.txt" 2>&1 <<'PY'
# The report's table is the results file's numbers: mean ± std (ddof 1) over seeds of the mean over architectures;
# its PNGs are 960x560 images.
import h5py, sys, struct, statistics as st, collections
f = h5py.File(sys.argv[1])
acc = collections.defaultdict(lambda: collections.defaultdict(list))
for g in f["cells"].values():
    acc[(g.attrs["task"], g.attrs["init"])][g.attrs["seed"]].append(g.attrs["final_accuracy"])
# The first table (final test accuracy): its rows until the first blank line after its header.
lines = open(sys.argv[2]).read().split("\n")
start = next(i for i, l in enumerate(lines) if l.startswith("| task | kind |"))
header = lines[start].strip("|").split("|")[2:]
rows = []
for l in lines[start + 2:]:
    if not l.startswith("|"):
        break
    rows.append(l)
checked = 0
for row in rows:
    cols = [c.strip().strip("*") for c in row.strip("|\n").split("|")]
    task = cols[0]
    for init, text in zip([h.strip() for h in header], cols[2:]):
        seeds = [sum(v) / len(v) for v in acc[(task, init)].values()]
        want = "%.2f ± %.2f" % (100 * st.mean(seeds), 100 * st.stdev(seeds))
        assert text == want, (task, init, text, want)
        checked += 1
assert checked == 14, checked
import glob
for png in glob.glob(sys.argv[3] + "/*.png"):
    w, h = struct.unpack(">II", open(png, "rb").read()[16:24])
    assert (w, h) == (960, 560), (png, w, h)
print("ok", checked)
PY
check "report table = results file, PNGs 960x560 ($(tail -n1 "$work/table.txt"))" grep -q "^ok 14$" "$work/table.txt"
check "report table: the best in bold" grep -q '\*\*[0-9.]* ± [0-9.]*\*\*' "$work/one/report.md"
check "report: hypernet sizes" grep -q "| tal | \`$work/tal/ckpt/" "$work/one/report.md"
"$tal" report "$work/tal" >"$work/report2.log" 2>&1
check "report of a training run: loss plot" [ -s "$work/tal/report/loss.png" ]
check "report of a training run: both stages" grep -q "| multitask |" "$work/tal/report.md"
"$tal" report "$work/logah" --gnuplot /nonexistent/gnuplot >"$work/report3.log" 2>&1
check "report without gnuplot: exit 1, one line naming gnuplot-nox" grep -q "gnuplot-nox" "$work/report3.log"
check "report without gnuplot: nothing written" bash -c "[ ! -e '$work/logah/report.md' ] && [ ! -e '$work/logah/report' ]"
# A report that fails after drawing writes nothing either: report.md is a directory here (refused up front), and a
# gnuplot that draws some plots, then fails, leaves neither plots nor its staging folder.
mkdir -p "$work/r_dir" && cp "$work/logah/metrics.jsonl" "$work/r_dir/" && mkdir "$work/r_dir/report.md"
"$tal" report "$work/r_dir" >"$work/report4.log" 2>&1
check "report onto a directory: exit 1, naming it" grep -q "r_dir/report.md: is a directory" "$work/report4.log"
check "... nothing written" [ "$(ls -A "$work/r_dir")" = "$(printf 'metrics.jsonl\nreport.md')" ]
# (gnuplot draws the first plot, then fails: the probe and the first plot run it twice)
printf '#!/bin/sh\nn=$(cat "%s/drawn" 2>/dev/null || echo 0); echo $((n + 1)) >"%s/drawn"\n[ "$n" -ge 2 ] && exit 1\nexec gnuplot "$@"\n' "$work" "$work" >"$work/flaky-gnuplot"
chmod +x "$work/flaky-gnuplot"
cp -r "$work/one" "$work/one_flaky" && rm -rf "$work/one_flaky/report" "$work/one_flaky/report.md"
"$tal" report "$work/one_flaky" --gnuplot "$work/flaky-gnuplot" >"$work/report5.log" 2>&1
check "report whose gnuplot fails after its first plot: exit 1" grep -q "gnuplot failed" "$work/report5.log"
check "... leaves no plot, no report.md, no staging folder" bash -c "! ls -A '$work/one_flaky' | grep -q 'report'"
# 7b. A budget curve: a directory of grids made with the same recipe from hypernetworks trained for other budgets.
setup "train tal longer" "$tal" train "${small[@]}" run.dir="$work/tal6" train.stage=both train.pretrain_steps=2 train.steps=4
"$tal" finetune "${grid[@]}" run.dir="$work/b6" finetune.inits=tal finetune.tal="$work/tal6" >"$work/b6.log" 2>&1
check "a grid from the longer-trained hypernetwork" [ $? -eq 0 ]
mkdir -p "$work/budget"; ln -s "$work/one" "$work/budget/a"; ln -s "$work/b6" "$work/budget/b"
"$tal" report "$work/budget" >"$work/budget.log" 2>&1
check "budget report exits 0 ($(tail -n1 "$work/budget.log"))" grep -q "^report: wrote" "$work/budget.log"
check "budget report: tal at 4 and at 6 steps, each against random" bash -c "
  grep -Eq '^\| fmnist-footwear \| seen \| tal \| 4 \| [-+][0-9.]+ \[' '$work/budget/report.md' &&
  grep -Eq '^\| fmnist-footwear \| seen \| tal \| 6 \| [-+][0-9.]+ \[' '$work/budget/report.md'"
check "budget report: a plot per task" test -s "$work/budget/report/budget_fmnist-footwear.png"

# 8. The fair protocol (DESIGN.md 4.4a). Learning rates are an axis, each (task, init) reported at the rate its
#    validation score chose: the file's /chosen runs are exactly what the validation scores pick, recomputed here.
"$tal" finetune "${grid[@]}" run.dir="$work/lr" finetune.inits=random,tal finetune.seeds=1 finetune.lr=0.0003,0.003 \
  >"$work/lr.log" 2>&1
check "learning-rate grid exits 0" [ $? -eq 0 ]
check "the summary shows the chosen rates" grep -q " @0.003\| @0.0003" "$work/lr.log"
$py - "$work/lr/finetune.h5" >"$work/lr.txt" 2>&1 <<'PY'
import h5py, sys, collections
f = h5py.File(sys.argv[1])
val = collections.defaultdict(list)
for g in f["cells"].values():
    val[(g.attrs["task"], g.attrs["init"], g.attrs["head"], g.attrs["lr"])].append(g.attrs["val_accuracy"])
best = {}
for (task, init, head, lr), v in sorted(val.items(), key=lambda kv: kv[0][3]):
    m = sum(v) / len(v)
    if (task, init, head) not in best or m > best[(task, init, head)][0] + 1e-12:
        best[(task, init, head)] = (m, lr)
want = sorted(k for k, g in f["cells"].items() if best[(g.attrs["task"], g.attrs["init"], g.attrs["head"])][1] == g.attrs["lr"])
got = sorted(s.decode() for s in f["chosen"][()])
assert got == want, (got, want)
assert len(got) == len(f["cells"]) // 2
assert all(0 < g.attrs["val_accuracy"] <= 1 for g in f["cells"].values())
print("ok")
PY
check "chosen rates are the validation scores' choice ($(tail -n1 "$work/lr.txt"))" grep -q "^ok$" "$work/lr.txt"
"$tal" report "$work/lr" >/dev/null 2>&1
check "report: the learning-rate table and plot" bash -c "grep -q 'Learning rates chosen on validation' '$work/lr/report.md' && [ -s '$work/lr/report/lr_fmnist-footwear.png' ]"

#    With learning rate 0 nothing moves, so the saved weights are the initial ones: a reset head is the same tensor
#    for every initialisation on the held-out task; a predicted one is kept; symmetry-breaking noise unties GHN-3's
#    tiled q/k/v blocks (width 32 > its 64-row block's 32-row pieces: W_v = W_q) and beta 0 leaves them tied.
init0=("${grid[@]}" finetune.seeds=1 finetune.steps=1 finetune.eval_every=1 finetune.lr=0 finetune.weight_decay=0)
for heads in reset predicted; do
  for beta in 0 0.01; do
    "$tal" finetune "${init0[@]}" run.dir="$work/h_${heads}_$beta" finetune.heads=$heads finetune.noise_beta=$beta \
      --save-weights "$work/h_${heads}_$beta/w.h5" >"$work/h.log" 2>&1
    check "lr=0 grid ($heads, beta $beta) exits 0" [ $? -eq 0 ]
  done
done
$py - "$work" >"$work/heads.txt" 2>&1 <<'PY'
import h5py, sys, numpy as np
w = sys.argv[1]
def models(path, task):
    g = h5py.File(path)[task]
    return {k.split(".")[1]: g[k] for k in g}
held = "fmnist-bags-trousers-rot180"
reset = models(w + "/h_reset_0/w.h5", held)
heads = {i: m["heads.head.weight"][()] for i, m in reset.items()}
assert len(heads) == 7, sorted(heads)
for i, h in heads.items():
    assert np.array_equal(h, heads["random"]), i  # the same tensor for every initialisation
pred = models(w + "/h_predicted_0/w.h5", held)
assert not np.array_equal(pred["tal"]["heads.head.weight"][()], heads["random"]), "predicted head not kept"
seen = models(w + "/h_reset_0/w.h5", "fmnist-footwear")
assert not np.array_equal(seen["tal"]["heads.head.weight"][()], seen["random"]["heads.head.weight"][()]), "seen: own head"
name = "encoder.layers.encoder_layer_0.self_attention.in_proj_weight"
tied = models(w + "/h_reset_0/w.h5", held)["ghn3"][name][()]
assert np.array_equal(tied[:32], tied[64:]), "GHN-3 at width 32 ties W_v to W_q"
noisy = models(w + "/h_reset_0.01/w.h5", held)["ghn3"][name][()]
assert not np.array_equal(noisy[:32], noisy[64:]), "noise left W_v = W_q"
assert np.abs(noisy - tied).max() < 6 * 0.01, ("noise beyond 6 sigma of beta x std(corr) <= beta", np.abs(noisy - tied).max())
assert np.array_equal(models(w + "/h_reset_0.01/w.h5", held)["random"][name][()], reset["random"][name][()]), "noise on random"
print("ok")
PY
check "reset head, predicted head, noise ($(tail -n1 "$work/heads.txt"))" grep -q "^ok$" "$work/heads.txt"
ln -s "$work/h_reset_0" "$work/budget/c"  # 1 step at rate 0: another recipe
"$tal" report "$work/budget" >"$work/budget2.log" 2>&1
check "a budget curve refuses grids of another recipe" grep -q "made with another recipe" "$work/budget2.log"

# 9. Transfer methods as a grid axis: counts recorded, 1 rank = 2 ranks, and their bad inputs.
# Ported modules from random's host on the seen task: every lora and adapter run but that one's, ported and sampled.
methods=("${grid[@]}" finetune.inits=random,tal finetune.seeds=1 "finetune.methods=head,lora:r=2,adapter,two-stage:k=2"
         finetune.port_from=random/fmnist-footwear)
"$tal" finetune "${methods[@]}" run.dir="$work/m1" --save-weights "$work/m1/tuned.h5" >"$work/m1.log" 2>&1
check "methods grid exits 0" [ $? -eq 0 ]
# Ported cells: lora and adapter on 2 tasks x 2 inits, less random's own host on the origin task: 6, ported and sampled.
check "methods grid: 2 tasks x 2 inits x 4 methods + 6 x 2 ported" [ "$(cells "$work/m1/finetune.h5")" = 28 ]
check "methods grid: the summary's method table" grep -q "initialisation random: final test score by method" "$work/m1.log"
check "methods grid: the porting table" grep -Eq "^  adapter:m=auto,placement=pfeiffer +random/fmnist-footwear +tal/fmnist-footwear +[0-9.]+ -> " "$work/m1.log"
mpirun -np 2 --bind-to none "$tal" finetune "${methods[@]}" run.dir="$work/m2" threads=1 \
  --save-weights "$work/m2/tuned.h5" >"$work/m2.log" 2>&1
check "methods grid on 2 ranks exits 0" [ $? -eq 0 ]
dump "$work/m1/finetune.h5" >"$work/m1.txt"; dump "$work/m2/finetune.h5" >"$work/m2.txt"
check "methods grid: 1 rank and 2 ranks give the same 28 curves" cmp -s "$work/m1.txt" "$work/m2.txt"
check "methods grid: 1 rank and 2 ranks save the same module files, byte for byte" diff -r "$work/m1/tuned.modules" "$work/m2/tuned.modules"
"$tal" finetune "${methods[@]}" run.dir="$work/m1" >"$work/m3.log" 2>&1
check "methods grid re-run: nothing run again" grep -q "every cell was already done" "$work/m3.log"
$py - "$work/m1/finetune.h5" >"$work/counts.txt" 2>&1 <<'PY'
import h5py, re, sys
f = h5py.File(sys.argv[1])
assert f.attrs["format_version"] == 5
c, d = 32, 1  # vit:depth=1,width=32
want = {"head": 0, "lora:r=2,alpha=auto,targets=qv": d * 2 * 2 * 2 * c,
        "adapter:m=auto,placement=pfeiffer": d * (2 * c * 2 + 2 + c),
        "two-stage:k=2,split=0.5,examples=512,ln=frozen": 4 * c * d + 2 * c + d * (2 * 2 + 2)}
seen = set()
for g in f["cells"].values():
    m = g.attrs["method"]; seen.add(m)
    k = int(re.search(r"-k([0-9]+)$", g.attrs["arch_id"]).group(1))  # the task's classes: the head is [k, C] + [k]
    assert g.attrs["trainable"] == want[m] + c * k + k, (m, g.attrs["trainable"], want[m], k)
    assert g.attrs["stored"] == g.attrs["trainable"] + (d * 2 if m.startswith("two-stage") else 0), m
    assert g.attrs["shared_embeddings"] == 0, m
    assert g.attrs["port"] in ("", "ported", "sampled") and (g.attrs["port"] == "") == (g.attrs["port_from"] == "")
print(sorted(seen))
assert len(seen) == 4
print("ok")
PY
check "methods grid: method and counts recorded ($(head -n1 "$work/counts.txt"))" grep -q "^ok$" "$work/counts.txt"
"$tal" report "$work/m1" >"$work/mreport.log" 2>&1
check "report of a methods grid exits 0" [ $? -eq 0 ]
check "report: the transfer methods' section with Param Count x" grep -q "| method | trained | stored per task | % of the descendant | % without shared embedding tables | Param Count x |" "$work/m1/report.md"
check "report: a task x method table per initialisation" grep -q "### Initialisation \`tal\`" "$work/m1/report.md"
check "report: each method against the first (head), paired with intervals" grep -Eq "^\| tal \| fmnist-footwear \| \`lora:r=2,alpha=auto,targets=qv\` \| [+-][0-9.]+ \[[+-][0-9.]+, [+-][0-9.]+\], [0-3]/1 \|$" "$work/m1/report.md"
check "report: ported and sampled against scratch, paired, at step 0 and final" grep -Eq "^\| \`lora:r=2,alpha=auto,targets=qv\` \| random/fmnist-footwear \| tal/fmnist-footwear \| [+-][0-9.]+ \[" "$work/m1/report.md"
check "report: accuracy vs stored parameters drawn" $py -c "import sys; sys.exit(open(sys.argv[1],'rb').read(8) != b'\x89PNG\r\n\x1a\n')" "$work/m1/report/transfer_random.png"
# Saved: merged weights (head, lora) in the archive, every run's stored tensors as safetensors beside it.
$py - "$work/m1/finetune.h5" "$work/m1/tuned.h5" "$work/m1/tuned.modules" >"$work/saved.txt" 2>&1 <<'PY'
import h5py, json, os, struct, sys
cells = list(h5py.File(sys.argv[1])["cells"].values())
archive = h5py.File(sys.argv[2])
models = [m for t in archive for m in archive[t]]
mergeable = [c for c in cells if c.attrs["method"] == "head" or c.attrs["method"].startswith("lora")]
assert len(models) == len(mergeable), (len(models), len(mergeable))
files = [os.path.join(d, f) for d, _, fs in os.walk(sys.argv[3]) for f in fs]
assert len(files) == len(cells), (len(files), len(cells))
def elements(path):
    b = open(path, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
    meta = h.pop("__metadata__")
    count = 0
    for v in h.values():
        k = 1
        for d in v["shape"]: k *= d
        count += k
    return meta, count
meta, count = elements([f for f in files if "lora-r2" in f and ".ported-" not in f and ".sampled-" not in f][0])
want = [c.attrs["stored"] for c in cells if c.attrs["method"].startswith("lora") and c.attrs["task"] == meta["task"] and not c.attrs["port"]][0]
assert meta["format"] == "tal-finetuned-modules" and meta["method"].startswith("lora:r=2"), meta
assert count == want, (count, want)
print("ok", len(models), "merged,", len(files), "module files")
PY
check "saved: merged models and module files ($(tail -n1 "$work/saved.txt"))" grep -q "^ok" "$work/saved.txt"
id=$($py -c "import h5py,sys; print([m for m in sorted(h5py.File(sys.argv[1])['fmnist-footwear']) if 'lora' in m and 'port' not in m][0])" "$work/m1/tuned.h5")
recorded=$($py - "$work/m1/finetune.h5" "$id" <<'PY'
import h5py, sys
f = h5py.File(sys.argv[1]); parts = sys.argv[2].split("."); arch, init = parts[0], parts[1]
for g in f["cells"].values():
    if g.attrs["task"] == "fmnist-footwear" and g.attrs["arch_id"] == arch and g.attrs["init"] == init and \
       g.attrs["method"].startswith("lora") and not g.attrs["port"]:
        print("%.2f%%" % (100 * g.attrs["final_accuracy"]))
PY
)
"$tal" eval --archive "$work/m1/tuned.h5" --task fmnist-footwear --arch-id "$id" data.root="$work/data" >"$work/meval.log" 2>&1
check "tal eval of merged LoRA weights ($id) gives its recorded $recorded" grep -q "test accuracy $recorded " "$work/meval.log"
sum=$(md5sum <"$work/data/emb.h5")
bad "saving onto a file that is not an archive" "key 'finetune.save_weights': $work/data/emb.h5" finetune.save_weights="$work/data/emb.h5"
check "... which is left untouched" [ "$(md5sum <"$work/data/emb.h5")" = "$sum" ]
bad "unknown method" "key 'finetune.methods': unknown method 'lorra'" finetune.methods=full,lorra
bad "a rank above the width" "key 'finetune.methods': 'lora:r=64,alpha=auto,targets=qv': rank r=64 is larger than" finetune.methods=lora:r=64
bad "a method named twice" "key 'finetune.methods': head is named twice" finetune.methods=head,head
bad "porting from a task outside the grid" "key 'finetune.port_from': 'random/fmnist-tops': task 'fmnist-tops' is not one of the grid's tasks" finetune.methods=lora finetune.port_from=random/fmnist-tops
bad "porting with nothing to port" "key 'finetune.port_from': no method of finetune.methods has modules to port" finetune.methods=head finetune.port_from=random/fmnist-footwear

# 10. A tuned host (INIT>TASK): INIT's descendant fine-tuned fully on another task first, as any cell's initialisation
#     and as a porting destination (the analogue of T5 -> Flan-T5). Its body is exactly the weights the grid's own full
#     run on that task ends with (same recipe, rate and seed); no cell is tuned on its own task.
tuned=("${grid[@]}" finetune.seeds=1 "finetune.inits=random,random>fmnist-bags-trousers-rot180"
       finetune.methods=full,head,lora:r=2 finetune.port_from=random/fmnist-footwear)
"$tal" finetune "${tuned[@]}" run.dir="$work/h1" --save-weights "$work/h1/tuned.h5" >"$work/h1.log" 2>&1
check "tuned-host grid exits 0" [ $? -eq 0 ]
# 2 tasks x 2 inits x 3 methods less the tuned host on its own task (3), and lora ported/sampled into 2 hosts.
check "tuned-host grid: 9 cells + 2 x 2 ported" [ "$(cells "$work/h1/finetune.h5")" = 13 ]
check "tuned-host grid: ported into the tuned host" grep -Eq "^  lora:r=2,alpha=auto,targets=qv +random/fmnist-footwear +random>fmnist-bags-trousers-rot180/fmnist-footwear " "$work/h1.log"
$py - "$work/h1/tuned.h5" >"$work/tuned.txt" 2>&1 <<'PY'
import h5py, sys
import numpy as np
a = h5py.File(sys.argv[1])
def body(task, tail):
    g = [a[task][m] for m in a[task] if m.endswith(tail)]
    assert len(g) == 1, (task, tail, list(a[task]))
    out = {}
    g[0].visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) and "heads" not in n else None)
    return out
host = body("fmnist-footwear", ".random-then-fmnist-bags-trousers-rot180.head.lr0p001.seed0")  # the head alone trained
full = body("fmnist-bags-trousers-rot180", ".random.lr0p001.seed0")
plain = body("fmnist-footwear", ".random.head.lr0p001.seed0")
assert len(host) > 10 and sorted(host) == sorted(full), (sorted(host), sorted(full))
assert all(np.array_equal(host[k], full[k]) for k in host), [k for k in host if not np.array_equal(host[k], full[k])]
assert not all(np.array_equal(host[k], plain[k]) for k in host)
print("ok", len(host), "body tensors")
PY
check "the tuned host's body is the full run's on its task, bit for bit ($(tail -n1 "$work/tuned.txt"))" grep -q "^ok" "$work/tuned.txt"
bad "a host tuned on a task outside the grid" "key 'finetune.inits': 'random>fmnist-tops': task 'fmnist-tops' is not one of the grid's tasks" "finetune.inits=random>fmnist-tops"
bad "a host tuned twice" "key 'finetune.inits': 'random>fmnist-footwear>fmnist-bags-trousers-rot180': a tuned host is INIT>TASK, one task" "finetune.inits=random>fmnist-footwear>fmnist-bags-trousers-rot180"
bad "a tuned host of an unknown initialisation" "key 'finetune.inits': unknown initialisation 'randum'" "finetune.inits=randum>fmnist-footwear"

# 11. ScaLearn (seed 004): every task's adapter on one host is its source; only the scales and the head train. The
#     multi-task cells run after every other cell, reading the sources' modules from the run (modules/), on 1 rank and
#     on 2 the same; a re-run trains nothing, and a lost modules file is trained again, alone. TAL's host has a head
#     choice on the held-out task alone: its seen-task runs read that task's predicted-head adapter.
scales=("${grid[@]}" finetune.inits=random,tal finetune.seeds=1
        "finetune.methods=adapter,scalearn,scalearn:omega=scalar,scalearn:layers=shared,scalearn:omega=scalar,layers=shared")
"$tal" finetune "${scales[@]}" run.dir="$work/s1" >"$work/s1.log" 2>&1
check "scalearn grid exits 0" [ $? -eq 0 ]
check "scalearn grid: 2 tasks x 2 inits x 5 methods" [ "$(cells "$work/s1/finetune.h5")" = 20 ]
check "scalearn grid: a modules file per adapter and scalearn run" [ "$(ls "$work/s1/modules" | wc -l)" = 20 ]
mpirun -np 2 --bind-to none "$tal" finetune "${scales[@]}" run.dir="$work/s2" threads=1 >"$work/s2.log" 2>&1
check "scalearn grid on 2 ranks exits 0" [ $? -eq 0 ]
dump "$work/s1/finetune.h5" >"$work/s1.txt"; dump "$work/s2/finetune.h5" >"$work/s2.txt"
check "scalearn grid: 1 rank and 2 ranks give the same 20 curves" cmp -s "$work/s1.txt" "$work/s2.txt"
$py - "$work/s1/finetune.h5" >"$work/scounts.txt" 2>&1 <<'PY'
import h5py, re, sys
f = h5py.File(sys.argv[1])
n, c, d = 2, 32, 1  # 2 tasks' adapters; vit:depth=1,width=32
want = {"omega=channel,layers=each": n * c * d, "omega=scalar,layers=each": n * d,
        "omega=channel,layers=shared": n * c, "omega=scalar,layers=shared": n}
seen = 0
for g in f["cells"].values():
    m = g.attrs["method"]
    if not m.startswith("scalearn:"): continue
    variant = ",".join(m[len("scalearn:"):].split(",")[:2])
    k = int(re.search(r"-k([0-9]+)$", g.attrs["arch_id"]).group(1))
    assert g.attrs["trainable"] == want[variant] + c * k + k == g.attrs["stored"], (m, g.attrs["trainable"])
    assert g.attrs["suite_stored"] == n * d * (2 * 2 * c + 2 + c), g.attrs["suite_stored"]  # the adapters (m = 2), once
    seen += 1
assert seen == 16, seen
print("ok")
PY
check "scalearn: the four variants' counts are N.C.D, N.D, N.C, N (+ head), the sources stored once ($(tail -n1 "$work/scounts.txt"))" grep -q "^ok$" "$work/scounts.txt"
"$tal" finetune "${scales[@]}" run.dir="$work/s1" >"$work/s3.log" 2>&1
check "scalearn grid re-run: nothing run again" grep -q "every cell was already done" "$work/s3.log"
rm "$(grep -la '"method":"adapter:' "$work"/s1/modules/*.safetensors | head -n1)"
"$tal" finetune "${scales[@]}" run.dir="$work/s1" >"$work/s4.log" 2>&1
check "a lost source modules file: its run alone trained again" grep -q "1 source run(s) in .* have no modules file (modules/); they are run again" "$work/s4.log"
check "... and only it" grep -q "^finetune: 20 cells .*, 19 done, 1 to run" "$work/s4.log"
check "... its file is back" [ "$(ls "$work/s1/modules" | wc -l)" = 20 ]
"$tal" report "$work/s1" >"$work/sreport.log" 2>&1
check "report of a scalearn grid exits 0" [ $? -eq 0 ]
check "report: ScaLearn's scales, per block and source" grep -q "^| fmnist-footwear L0 | [0-9.-]* | [0-9.-]* |$" "$work/s1/report.md"
check "report: accuracy against Param Count x per initialisation, seen and held-out apart" grep -q "^[0-9.e+-]* [0-9.]* [0-9.]* \"scalearn:omega=channel,layers=each,dropout=auto,m=auto\"$" "$work/s1/report/suite_tal.dat"
check "report: the scales drawn" $py -c "import sys; sys.exit(open(sys.argv[1],'rb').read(8) != b'\x89PNG\r\n\x1a\n')" "$work/s1/report/scales_random_scalearn_omega_channel_layers_each_dropout_auto_m_auto.png"
want=$($py - "$work/s1/finetune.h5" <<'PY'
import h5py, sys
cells = [g for g in h5py.File(sys.argv[1])["cells"].values() if g.attrs["method"] == "scalearn:omega=scalar,layers=shared,dropout=auto,m=auto"]
mean = lambda k: sum(g.attrs[k] for g in cells) / len(cells)
print("%.2f" % ((mean("params") + mean("suite_stored") + 2 * mean("stored")) / mean("params")))
PY
)
check "report: ScaLearn's Param Count x counts its sources once ($want)" grep -q "^| \`scalearn:omega=scalar,layers=shared,dropout=auto,m=auto\` | 118 | 118 | 1.08 | - | $want |$" "$work/s1/report.md"
bad "scalearn without the adapters it scales" "key 'finetune.methods': 'scalearn:omega=channel,layers=each,dropout=auto,m=auto' reads the modules that adapter:m=auto,placement=pfeiffer runs train on the same host: add adapter:m=auto,placement=pfeiffer to finetune.methods" finetune.methods=scalearn finetune.inits=random
bad "scalearn on one task" "key 'finetune.tasks': 'scalearn:omega=channel,layers=each,dropout=auto,m=auto' reads every task's adapter:m=auto,placement=pfeiffer run, so it needs at least two tasks; the grid has 1" finetune.methods=adapter,scalearn finetune.tasks=fmnist-footwear finetune.inits=random

# 12. TAPS (the baseline of seed 001): a delta per weight switched on by a learned score. What a run stores is what
#     its scores left on: a large penalty leaves the head alone; the active deltas fold into the saved weights, which
#     give the recorded accuracy again.
taps=("${grid[@]}" finetune.inits=random finetune.seeds=1 finetune.tasks=fmnist-footwear
      "finetune.methods=taps:lambda=0,taps:lambda=100" finetune.steps=6 finetune.lr=0.05)
"$tal" finetune "${taps[@]}" run.dir="$work/t1" --save-weights "$work/t1/tuned.h5" >"$work/t1.log" 2>&1
check "taps grid exits 0" [ $? -eq 0 ]
$py - "$work/t1/finetune.h5" >"$work/tcounts.txt" 2>&1 <<'PY'
import h5py, sys
c, k = 32, 3  # the head of fmnist-footwear: [3, 32] + [3]
stored = {g.attrs["method"]: g.attrs["stored"] for g in h5py.File(sys.argv[1])["cells"].values()}
assert stored["taps:lambda=100,tau=0.1,init=0.15"] == c * k + k, stored
assert stored["taps:lambda=0,tau=0.1,init=0.15"] > c * k + k, stored
print("ok", stored)
PY
check "taps: stored is the active layers and the head ($(tail -n1 "$work/tcounts.txt"))" grep -q "^ok" "$work/tcounts.txt"
id=$($py -c "import h5py,sys; print([m for m in h5py.File(sys.argv[1])['fmnist-footwear'] if 'lambda0' in m][0])" "$work/t1/tuned.h5")
recorded=$($py -c "
import h5py, sys
for g in h5py.File(sys.argv[1])['cells'].values():
    if g.attrs['method'].startswith('taps:lambda=0,'): print('%.2f%%' % (100 * g.attrs['final_accuracy']))" "$work/t1/finetune.h5")
"$tal" eval --archive "$work/t1/tuned.h5" --task fmnist-footwear --arch-id "$id" data.root="$work/data" >"$work/teval.log" 2>&1
check "tal eval of merged TAPS weights gives its recorded $recorded" grep -q "test accuracy $recorded " "$work/teval.log"
"$tal" report "$work/t1" >"$work/treport.log" 2>&1
check "report: TAPS's task-specific layers, none left at lambda 100" grep -q "^| random | \`taps:lambda=100,tau=0.1,init=0.15\` | fmnist-footwear | 0.00 | 0.00 |$" "$work/t1/report.md"
check "report: ... and some at lambda 0" grep -Eq "^\| random \| \`taps:lambda=0,tau=0.1,init=0.15\` \| fmnist-footwear \| [0-9.]+ \| 0\.[0-9]*[1-9][0-9]* \|$|^\| random \| \`taps:lambda=0,tau=0.1,init=0.15\` \| fmnist-footwear \| [0-9.]+ \| 1\.00 \|$" "$work/t1/report.md"

# 13. CWPS (seed 001; a reconstruction): each task's run reads the models its run's predecessors in the suite order
#     (the seen tasks, then the held-out) left in modules/, never their data; its model is the parent chosen per block
#     by CPMS, with the channels its masks turned off taken from its briefly trained child. On 1 rank and 2 the same;
#     what it stores is its own rows, a bit per row, a parent per block and the head; merged, its weights give the
#     recorded accuracy again; tal report draws the task relations.
cw=("${grid[@]}" finetune.inits=random,tal finetune.seeds=1 "finetune.methods=cwps:lambda=0,init=0.1"
    finetune.tasks=fmnist-bags-trousers-rot180,fmnist-footwear,fmnist-tops finetune.steps=6 finetune.lr=0.05)
"$tal" finetune "${cw[@]}" run.dir="$work/c1" --save-weights "$work/c1/tuned.h5" >"$work/c1.log" 2>&1
check "cwps grid exits 0" [ $? -eq 0 ]
check "cwps grid: the suite order, seen tasks first" grep -q "^suite order  fmnist-footwear -> fmnist-tops -> fmnist-bags-trousers-rot180 " "$work/c1.log"
check "cwps grid: 3 tasks x 2 inits, each kept in modules/" [ "$(cells "$work/c1/finetune.h5")" = 6 ] && [ "$(ls "$work/c1/modules" | wc -l)" = 6 ]
mpirun -np 2 --bind-to none "$tal" finetune "${cw[@]}" run.dir="$work/c2" threads=1 >"$work/c2.log" 2>&1
check "cwps grid on 2 ranks exits 0" [ $? -eq 0 ]
dump "$work/c1/finetune.h5" >"$work/c1.txt"; dump "$work/c2/finetune.h5" >"$work/c2.txt"
check "cwps grid: 1 rank and 2 ranks give the same 6 curves" cmp -s "$work/c1.txt" "$work/c2.txt"
$py - "$work/c1/finetune.h5" "$work/c1/modules" >"$work/ccounts.txt" 2>&1 <<'PY'
import h5py, json, struct, sys
import numpy as np
def tensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    meta = h.pop("__metadata__")
    out = {}
    for k, e in h.items():
        a, z = e["data_offsets"]
        out[k] = np.frombuffer(b[8 + n + a:8 + n + z], dtype=np.float32).reshape(e["shape"])
    return meta, out
want_sources = {"fmnist-footwear": "", "fmnist-tops": "fmnist-footwear",
                "fmnist-bags-trousers-rot180": "fmnist-footwear,fmnist-tops"}
c, depth = 32, 1  # vit:depth=1,width=32,mlp=64: q|k|v 96 rows of 33, out 32 of 33, fc1 64 of 33, fc2 32 of 65
own_total = 0
for key, g in h5py.File(sys.argv[1])["cells"].items():
    meta, t = tensors(sys.argv[2] + "/" + key + ".safetensors")
    assert meta.get("sources", "") == want_sources[g.attrs["task"]], (g.attrs["task"], meta.get("sources"))
    k = int(g.attrs["arch_id"].rsplit("-k", 1)[1])
    stored = 0
    for name, s in t.items():
        if name.endswith(".cwps_score"):
            own = int((s < 0.1).sum())
            rows = t[name[:-len(".cwps_score")] + ".cwps_rows"]
            assert rows.shape[0] == own, (name, rows.shape, own)
            stored += rows.size + own  # each own row and its bias entry
            own_total += own
    assert t["cwps.cpms"].shape == (depth, 1 + len(want_sources[g.attrs["task"]].split(",")) - (want_sources[g.attrs["task"]] == "")), t["cwps.cpms"].shape
    assert (t["cwps.cpms"][:, 0] == 0).all()  # the host relates to nothing
    want = stored + (224 + 31) // 32 + depth + c * k + k
    assert g.attrs["stored"] == want, (g.attrs["task"], g.attrs["stored"], want)
assert own_total > 0, "no channel stayed a task's own"
print("ok", own_total)
PY
check "cwps: sources are the earlier tasks; stored = own rows + mask bits + parents + head ($(tail -n1 "$work/ccounts.txt"))" grep -q "^ok" "$work/ccounts.txt"
id=$($py -c "import h5py,sys; print([m for m in h5py.File(sys.argv[1])['fmnist-bags-trousers-rot180'] if 'random' in m][0])" "$work/c1/tuned.h5")
recorded=$($py -c "
import h5py, sys
for g in h5py.File(sys.argv[1])['cells'].values():
    if g.attrs['task'] == 'fmnist-bags-trousers-rot180' and g.attrs['init'] == 'random': print('%.2f%%' % (100 * g.attrs['final_accuracy']))" "$work/c1/finetune.h5")
"$tal" eval --archive "$work/c1/tuned.h5" --task fmnist-bags-trousers-rot180 --arch-id "$id" data.root="$work/data" >"$work/ceval.log" 2>&1
check "tal eval of merged CWPS weights (the last task's, built on two earlier models) gives its recorded $recorded" grep -q "test accuracy $recorded " "$work/ceval.log"
"$tal" report "$work/c1" >"$work/creport.log" 2>&1
check "report of a cwps grid exits 0" [ $? -eq 0 ]
check "report: CPMS of the last task against both earlier ones" grep -Eq "^\| fmnist-bags-trousers-rot180 \| -?[0-9.]+ \| -?[0-9.]+ \| - \|$" "$work/c1/report.md"
check "report: the own channels and parents per block" grep -Eq "^\| fmnist-tops \| [0-9.]+ \| [0-9.]+ \| (host|fmnist-footwear) \|$" "$work/c1/report.md"
check "report: the CPMS heatmap drawn" $py -c "import sys; sys.exit(open(sys.argv[1],'rb').read(8) != b'\x89PNG\r\n\x1a\n')" "$work/c1/report/cpms_tal_cwps_lambda_0_tau_0_1_init_0_1_child_0_2.png"
# A task's run never reads an earlier task's data: with the first task's store garbled after the grid ran, the last
# task's run, trained again (its modules file removed), gives the same curves; the first task's own run, trained again,
# does not (the garbling reaches whatever reads that store).
cp "$work/data/fmnist.h5" "$work/data/fmnist_a.h5"
sed 's/^    dataset: fmnist.h5$/    dataset: FMNIST/' "$src/configs/tasks/fmnist_suite.yaml" |
  awk '/name: fmnist-footwear/ {f = 1} /dataset: FMNIST/ {sub("FMNIST", f ? "fmnist_a.h5" : "fmnist.h5"); f = 0} {print}' >"$work/cw_suite.yaml"
iso=("${grid[@]}" tasks.suite="$work/cw_suite.yaml" finetune.inits=random finetune.seeds=1
     "finetune.methods=cwps:lambda=0,init=0.1" finetune.tasks=fmnist-footwear,fmnist-bags-trousers-rot180
     finetune.steps=6 finetune.lr=0.05)
"$tal" finetune "${iso[@]}" run.dir="$work/c3" >"$work/c3.log" 2>&1
check "cwps on a first task with its own store exits 0" [ $? -eq 0 ]
key_of() { $py -c "
import h5py, sys
print([k for k, g in h5py.File(sys.argv[1])['cells'].items() if g.attrs['task'] == sys.argv[2]][0])" "$work/c3/finetune.h5" "$1"; }
first=$(key_of fmnist-footwear); last=$(key_of fmnist-bags-trousers-rot180)
dump "$work/c3/finetune.h5" >"$work/c3.txt"
$py -c "
import h5py, sys
with h5py.File(sys.argv[1], 'r+') as f:
    for s in ('train', 'test'): f[s + '/images'][...] = 255 - f[s + '/images'][...]" "$work/data/fmnist_a.h5"
cp -r "$work/c3" "$work/c4"
rm "$work/c3/modules/$last.safetensors"
"$tal" finetune "${iso[@]}" run.dir="$work/c3" >"$work/c3b.log" 2>&1
check "the last task's run trained again" grep -q "1 source run(s) in .* have no modules file" "$work/c3b.log"
dump "$work/c3/finetune.h5" >"$work/c3b.txt"
check "... with the first task's data garbled, its curves are the same" cmp -s "$work/c3.txt" "$work/c3b.txt"
rm "$work/c4/modules/$first.safetensors"
"$tal" finetune "${iso[@]}" run.dir="$work/c4" >"$work/c4b.log" 2>&1
dump "$work/c4/finetune.h5" >"$work/c4b.txt"
check "... while the first task's own run, trained again on it, changes" bash -c "! grep '^$first ' '$work/c3.txt' | cmp -s - <(grep '^$first ' '$work/c4b.txt')"
bad "cwps on one task" "key 'finetune.tasks': 'cwps:lambda=1,tau=0.1,init=0.15,child=0.2' reads its own runs on the tasks before each in the suite order, so it needs at least two tasks; the grid has 1" finetune.methods=cwps finetune.tasks=fmnist-footwear finetune.inits=random
bad "cwps child share out of range" "key 'finetune.methods': 'cwps:lambda=1,tau=0.1,init=0.15,child=1': child=1 (expected the fraction of the steps the child trains alone, in (0, 1)) (for " finetune.methods=cwps:child=1 finetune.inits=random

finish
