#!/usr/bin/env bash
# Malformed input across every command and file type. For each case: a non-zero exit that is not a signal, at most
# three lines on stderr, no library dump (LibTorch, HDF5, libjpeg, the C++ runtime), the offending file, flag or key
# named, and every file that existed before byte-identical with nothing new left behind. Good-input controls run
# the same checks' opposite, so the test cannot pass by failing everything. Usage: bad_input_test.sh path/to/tal
set -u
tal=${1:?usage: bad_input_test.sh path/to/tal}
src=${TAL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
py=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
source "$src/tests/e2e/harness.sh"
cases=0
snapshot() { find "$work" -path "$work/out" -prune -o -type f -print0 | sort -z | xargs -0 md5sum; }

# bad NAME EXPECTED -- COMMAND...: COMMAND must fail cleanly, naming EXPECTED, touching nothing.
bad() {
  local name=$1 expected=$2; shift 3
  cases=$((cases + 1))
  local before after rc
  before=$(snapshot)
  "$@" >"$work/out/stdout" 2>"$work/out/stderr"; rc=$?
  after=$(snapshot)
  local err; err=$(cat "$work/out/stderr")
  local ok=1
  if [ $rc -eq 0 ] || [ $rc -ge 128 ]; then echo "FAIL: $name: exit code $rc"; ok=0; fi
  if [ "$(wc -l <"$work/out/stderr")" -gt 3 ]; then echo "FAIL: $name: $(wc -l <"$work/out/stderr") lines on stderr"; ok=0; fi
  # Every line on stderr is tal's own ("tal: error: ...", "tal: warning: ..."): anything else is a library talking.
  if grep -qv "^tal: " "$work/out/stderr" || grep -qE "terminate called|Exception raised from|HDF5-DIAG|core dumped" \
       "$work/out/stdout"; then echo "FAIL: $name: a line that is not tal's own"; ok=0; fi
  if ! grep -qF -- "$expected" "$work/out/stderr"; then echo "FAIL: $name: does not name '$expected'"; ok=0; fi
  if [ "$before" != "$after" ]; then echo "FAIL: $name: files changed or left behind"; diff <(echo "$before") <(echo "$after") | head -4; ok=0; fi
  if [ $ok -eq 1 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "      stderr: $err"; fi
}
# good NAME -- COMMAND...: a control that must succeed.
good() {
  local name=$1; shift 2
  if "$@" >"$work/out/stdout" 2>"$work/out/stderr"; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: control '$name' exited $?: $(head -n 2 "$work/out/stderr")"; fi
}

mkdir -p "$work/out"
# ---- set-up: a real store, a tiny ancestry, embeddings, one training step, an archive, a zoo file ----------------
setup import "$tal" data import fashion-mnist --out "$work/data/fmnist.h5"
cfg=(--config "$src/configs/tal_vit_fmnist.yaml" data.root="$work/data" ancestry.checkpoint="$work/anc/anc.h5"
     tasks.embeddings="$work/data/emb.h5" tasks.embed_images=100 tasks.suite="$src/configs/tasks/fmnist_suite.yaml" threads=1
     data.memory_limit=0)
setup ancestry "$tal" ancestry train "${cfg[@]}" run.dir="$work/anc" ancestry.max_steps=2 ancestry.batch=16
setup embed "$tal" tasks embed "${cfg[@]}"
setup train "$tal" train "${cfg[@]}" run.dir="$work/run" train.stage=both train.pretrain_steps=1 train.steps=1 \
  train.batch=4 train.meta_batch=1 train.eval_archs=0
setup predict "$tal" predict --checkpoint "$work/run" --task fmnist-footwear --arch "vit:depth=2,width=32,heads=2" \
  --out "$work/pred.h5" "${cfg[@]:2}"
setup zoo "$tal" zoo sample --n 3 --out "$work/zoo.h5"
ckpt="$work/run/ckpt/$(head -n1 "$work/run/ckpt/latest")"
arch_id=$("$py" -c "import h5py,sys; print(list(h5py.File(sys.argv[1])['fmnist-footwear'])[0])" "$work/pred.h5")

# Malformed files, made with h5py from the good ones (each differs from a good file in one way).
"$py" - "$work" "$ckpt" "$arch_id" <<'EOF' || { echo "FAIL: could not make the malformed files"; exit 1; }
import shutil, sys
import h5py, numpy as np
w, ckpt, arch = sys.argv[1], sys.argv[2], sys.argv[3]
def copy(src, dst):
    shutil.copy(src, dst)
    return h5py.File(dst, "r+")
store = w + "/data/fmnist.h5"
def small_store(path, images, labels_train, labels_test, classes=("a", "b"), test_n=4):
    with h5py.File(path, "w") as f:
        f.attrs["kind"] = "tal-task-store"; f.attrs["format_version"] = 1; f.attrs["name"] = "small"
        f["classes"] = np.array(classes, dtype=h5py.string_dtype())
        f["mean"] = np.array([0.5]); f["std"] = np.array([0.25])
        f["train/images"] = images; f["train/labels"] = labels_train
        f["test/images"] = images[:test_n]; f["test/labels"] = labels_test
ok = np.zeros((8, 1, 28, 28), np.uint8)
small_store(w + "/data/float_images.h5", ok.astype(np.float32), np.zeros(8, np.int64), np.zeros(4, np.int64))
small_store(w + "/data/label_range.h5", ok, np.full(8, 7, np.int64), np.zeros(4, np.int64))
small_store(w + "/data/empty_test.h5", ok, np.zeros(8, np.int64), np.zeros(0, np.int64), test_n=0)
small_store(w + "/data/rank3.h5", ok[:, 0], np.zeros(8, np.int64), np.zeros(4, np.int64))
small_store(w + "/data/digits.h5", ok, np.arange(8) % 2, np.arange(4) % 2, classes=("0", "12345678901234567890"))
with h5py.File(w + "/data/bad_std.h5", "w") as f:
    f.attrs["kind"] = "tal-task-store"; f.attrs["name"] = "x"
    f["classes"] = np.array(["a"], dtype=h5py.string_dtype()); f["mean"] = np.array([0.5]); f["std"] = np.array([0.0])
    f["train/images"] = ok; f["train/labels"] = np.zeros(8, np.int64)
    f["test/images"] = ok; f["test/labels"] = np.zeros(8, np.int64)
with h5py.File(w + "/data/no_kind.h5", "w") as f:
    f["x"] = np.zeros(3)
with copy(store, w + "/data/future.h5") as f:
    f.attrs["format_version"] = 7
with copy(w + "/pred.h5", w + "/pred_f64.h5") as f:
    g = f["fmnist-footwear/" + arch]; d = g["heads.head.weight"][()]
    del g["heads.head.weight"]; g["heads.head.weight"] = d.astype(np.float64)
with copy(w + "/pred.h5", w + "/pred_shape.h5") as f:
    g = f["fmnist-footwear/" + arch]; d = g["heads.head.weight"][()]
    del g["heads.head.weight"]; g["heads.head.weight"] = d[:, :-1]
with copy(w + "/pred.h5", w + "/pred_nan.h5") as f:
    g = f["fmnist-footwear/" + arch]; d = g["heads.head.bias"][()]; d[0] = np.nan
    del g["heads.head.bias"]; g["heads.head.bias"] = d
with copy(w + "/pred.h5", w + "/pred_spec.h5") as f:
    f["fmnist-footwear/" + arch].attrs["spec"] = "vit:depth=2,width=33,heads=2"
with copy(ckpt, w + "/ckpt_f64.h5") as f:
    name = f["hypernet/.names"][0].decode(); d = f["hypernet/" + name][()]
    del f["hypernet/" + name]; f["hypernet/" + name] = d.astype(np.float64)
with copy(ckpt, w + "/ckpt_cursors.h5") as f:
    d = f["state/cursors"][()]; del f["state/cursors"]; f["state/cursors"] = d.astype(np.float32)
with copy(ckpt, w + "/ckpt_moments.h5") as f:
    name = f["optimizer/exp_avg/.names"][0].decode(); d = f["optimizer/exp_avg/" + name][()]
    del f["optimizer/exp_avg/" + name]; f["optimizer/exp_avg/" + name] = np.zeros(d.size + 1, np.float32)
with copy(ckpt, w + "/ckpt_model.h5") as f:
    f.attrs["model"] = "resnet"
with copy(w + "/anc/anc.h5", w + "/anc_f64.h5") as f:
    d = f["params/heads.head.bias"][()]; del f["params/heads.head.bias"]; f["params/heads.head.bias"] = d.astype(np.float64)
with copy(w + "/anc/anc.h5", w + "/anc_hash.h5") as f:
    f["params/heads.head.bias"][0] += 1.0
with copy(w + "/data/emb.h5", w + "/emb_f64.h5") as f:
    name = list(f["tasks"])[0]; d = f["tasks/" + name + "/embedding"][()]
    del f["tasks/" + name + "/embedding"]; f["tasks/" + name + "/embedding"] = d.astype(np.float64)
with copy(w + "/zoo.h5", w + "/zoo_ints.h5") as f:
    del f["specs"]; f["specs"] = np.arange(3)
with copy(w + "/zoo.h5", w + "/zoo_spec.h5") as f:
    del f["specs"]; f["specs"] = np.array(["vit:depth=0"], dtype=h5py.string_dtype())
EOF
head -c 5000 "$ckpt" >"$work/truncated.h5"
printf 'not hdf5 at all\n' >"$work/garbage.h5"
printf 'tasks:\n  - name: digits\n    dataset: fmnist.h5\n    classes: ["12345678901234567890"]\n' >"$work/digits_suite.yaml"
printf 'tasks:\n  - name: t\n    dataset: fmnist.h5\n    transform: rotate45\n' >"$work/transform_suite.yaml"
printf 'tasks:\n  - name: t\n    dataset: fmnist.h5\n  - name: t\n    dataset: fmnist.h5\n' >"$work/dup_suite.yaml"
printf 'tasks:\n  - name: t\n    dataset: fmnist.h5\n    metric: f1\n' >"$work/metric_suite.yaml"
printf 'sample:\n  n: 2\n  n: 3\n' >"$work/dup.yaml"
printf 'train:\n  lr: [1, 2\n' >"$work/syntax.yaml"
printf 'hypernet:\n  hiden: 64\n' >"$work/typo.yaml"
printf -- '- a\n- b\n' >"$work/list.yaml"
: >"$work/empty.yaml"
mkdir -p "$work/img/cat" "$work/img/dog"
"$py" - "$work/img" <<'EOF' || { echo "FAIL: could not make images"; exit 1; }
import sys, io
from PIL import Image
import numpy as np
root = sys.argv[1]
for c in ("cat", "dog"):
    for i in range(3):
        noise = np.random.default_rng(i).integers(0, 256, (64, 64, 3), dtype=np.uint8)
        Image.fromarray(noise).save(f"{root}/{c}/{i}.jpg", quality=90)
data = open(f"{root}/dog/1.jpg", "rb").read()
open(f"{root}/dog/1.jpg", "wb").write(data[: len(data) * 2 // 3])  # cut in the scan: libjpeg would fill it grey
open(f"{root}/cat/bad.png", "wb").write(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
EOF
rm -f "$work/img/cat/bad.png"
cp -r "$work/img" "$work/img_png" && printf '\x89PNG\r\n\x1a\n%020d' 0 >"$work/img_png/cat/9.png" && rm -f "$work/img_png/dog/1.jpg"
pred=(--checkpoint "$work/run" --task fmnist-footwear --arch "vit:depth=2,width=32,heads=2" "${cfg[@]:2}")

# ---- 1. data loss: an output that is an input, outputs written only when complete ------------------------------
bad "eval logits onto its archive" "is also the --archive" -- "$tal" eval --archive "$work/pred.h5" --task fmnist-footwear --logits-out "$work/pred.h5" data.root="$work/data"
bad "eval logits through another path" "is also the --archive" -- "$tal" eval --archive "$work/pred.h5" --task fmnist-footwear --logits-out "$work/./out/../pred.h5" data.root="$work/data"
bad "failed eval leaves no logits file" "no model 'nope'" -- "$tal" eval --archive "$work/pred.h5" --task fmnist-footwear --arch-id nope --logits-out "$work/logits.h5" data.root="$work/data"
bad "predict out onto its checkpoint" "is also the --checkpoint" -- "$tal" predict "${pred[@]}" --out "$ckpt"
bad "predict out onto the task store" "is also the task store" -- "$tal" predict "${pred[@]}" --out "$work/data/fmnist.h5"
bad "predict out onto the zoo file" "is also the --zoo" -- "$tal" predict --checkpoint "$work/run" --task fmnist-footwear --zoo "$work/zoo.h5" --out "$work/zoo.h5" "${cfg[@]:2}"
bad "embeddings onto the ancestry model" "is also the ancestry.checkpoint" -- "$tal" tasks embed "${cfg[@]}" tasks.embeddings="$work/anc/anc.h5"
bad "ancestry model onto its dataset" "is also the ancestry.dataset" -- "$tal" ancestry train "${cfg[@]}" ancestry.checkpoint="$work/data/fmnist.h5"
bad "import onto its own input" "is also an input" -- "$tal" data import fashion-mnist --from "$work/data" --out "$work/data/train-images-idx3-ubyte.gz"
bad "an output that is a directory" "is a directory" -- "$tal" zoo sample --n 2 --out "$work/data"
bad "an output with a bad spec leaves the archive" "key 'heads'" -- "$tal" predict "${pred[@]:0:4}" --arch "vit:depth=2,width=32,heads=5" "${cfg[@]:2}" --out "$work/pred.h5"
# device=cuda where the binary has no CUDA or no GPU is visible: one line naming the key, before anything is made.
if "$tal" info --json | grep -q '"visible": 0}'; then
  bad "device=cuda without CUDA (train)" "key 'device': cuda requested but" -- "$tal" train "${cfg[@]}" run.dir="$work/newrun" device=cuda
  bad "device=cuda without CUDA (predict)" "key 'device': cuda requested but" -- "$tal" predict "${pred[@]}" --out "$work/cuda.h5" device=cuda
  bad "device=cuda without CUDA (ancestry)" "key 'device': cuda requested but" -- "$tal" ancestry train "${cfg[@]}" run.dir="$work/newanc" ancestry.checkpoint="$work/newanc/a.h5" device=cuda
fi
bad "device not a choice" "key 'device': 'gpu' is not one of: auto, cpu, cuda" -- "$tal" train "${cfg[@]}" run.dir="$work/newrun" device=gpu

# ---- 2. sizes: bounds before allocation, checked arithmetic, memory estimates -----------------------------------
bad "depth far above the bound" "key 'depth': 4000 is above the bound 256" -- "$tal" zoo show "vit:depth=4000"
bad "depth 100000" "key 'depth'" -- "$tal" zoo show "vit:depth=100000"
bad "width above int64 products" "key 'width'" -- "$tal" zoo show "vit:width=999999999999"
bad "a number that overflows" "key 'depth': expected an integer" -- "$tal" zoo show "vit:depth=99999999999999999999"
$py -c "print('train:\n  steps: ' + 'x' * 1000000)" >"$work/out/big.yaml"
bad "a 1 MB config value" "key 'train.steps': expected an integer, got 'xxx" -- "$tal" train --config "$work/out/big.yaml" run.dir="$work/newrun"
check "... is not echoed whole ($(wc -c <"$work/out/stderr") bytes on stderr)" [ "$(wc -c <"$work/out/stderr")" -lt 2000 ]
# The launcher's own checks, before Open MPI sees anything (--dry-run: nothing is launched).
TAL_BINARY="$tal" "$src/launch/tal-mpirun" -n 2 --hostfile "$work/data" --dry-run train >"$work/out/l1" 2>&1
check "tal-mpirun --hostfile DIR: exit 2, naming it" bash -c "[ $? -eq 2 ] && grep -q \"tal-mpirun: --hostfile: '$work/data' is not a readable file\" '$work/out/l1'"
TAL_KEEPALIVE_TIME=soon TAL_BINARY="$tal" "$src/launch/tal-mpirun" -n 2 --dry-run train >"$work/out/l2" 2>&1
check "TAL_KEEPALIVE_TIME=soon: exit 2, naming it" bash -c "[ $? -eq 2 ] && grep -q \"tal-mpirun: TAL_KEEPALIVE_TIME: 'soon' is not a whole number of seconds\" '$work/out/l2'"
TAL_KEEPALIVE_TIME=30 TAL_BINARY="$tal" "$src/launch/tal-mpirun" -n 2 --dry-run train >"$work/out/l3" 2>&1
check "TAL_KEEPALIVE_TIME=30 (control): the dry run names it" grep -q "oob_tcp_keepalive_time 30" "$work/out/l3"
bad "tokenize: an unknown option is not a text" "unknown option '--frobnicate' for tal data tokenize" -- "$tal" data tokenize --frobnicate
good "tokenize --help" -- "$tal" data tokenize --help
bad "hypernet.hidden above its bound" "key 'hypernet.hidden'" -- "$tal" hypernet info hypernet.hidden=100000
bad "hypernet.max_shape above its bound" "key 'hypernet.max_shape'" -- "$tal" hypernet info hypernet.max_shape=100000000
bad "ghn3 at max_shape 2048 above the memory limit" "above run.memory_limit" -- "$tal" hypernet info hypernet.variant=ghn3 hypernet.hidden=16 run.memory_limit=1000000000
bad "training a hypernet above the memory limit" "to train, above run.memory_limit" -- "$tal" train "${cfg[@]}" run.dir="$work/newrun" run.memory_limit=10000000
bad "predicting a target above the memory limit" "to predict, above run.memory_limit" -- "$tal" predict "${pred[@]:0:4}" --arch "vit:depth=12,width=768,heads=12" "${cfg[@]:2}" --out "$work/big.h5" run.memory_limit=200000000
bad "train.batch above its bound" "key 'train.batch'" -- "$tal" train "${cfg[@]}" run.dir="$work/newrun" train.batch=10000000
bad "train.meta_batch above its bound" "key 'train.meta_batch'" -- "$tal" train "${cfg[@]}" run.dir="$work/newrun" train.meta_batch=100000
bad "zoo sample n of zero" "key 'sample.n'" -- "$tal" zoo sample --n 0
bad "negative seed" "key 'run.seed'" -- "$tal" zoo sample --seed -3
bad "ancestry batch larger than the dataset" "key 'ancestry.batch'" -- "$tal" ancestry train "${cfg[@]}" run.dir="$work/anc2" ancestry.checkpoint="$work/anc2/a.h5" ancestry.batch=65536

# ---- 3. silently ignored input ---------------------------------------------------------------------------------
bad "zoo show with a typo'd override" "unknown key 'zoo.profle'" -- "$tal" zoo show "vit:depth=2" zoo.profle=cpu-small
bad "zoo show with a key it does not read" "is not read by 'tal zoo show'" -- "$tal" zoo show "vit:depth=2" zoo.profile=cpu-small
bad "zoo show with a typo'd config file" "$work/typo.yaml" -- "$tal" zoo show "vit:depth=2" --config "$work/typo.yaml"
bad "predict with a missing config file" "config file not found" -- "$tal" predict "${pred[@]}" --out "$work/p2.h5" --config "$work/nope.yaml"
bad "a duplicate YAML key" "key 'sample.n' given twice" -- "$tal" zoo sample --config "$work/dup.yaml"
bad "--no-resume with --resume-from" "contradict each other" -- "$tal" train "${cfg[@]}" run.dir="$work/newrun" --no-resume --resume-from "$ckpt"
bad "--no-resume on a run with a checkpoint" "refuses to continue" -- "$tal" train "${cfg[@]}" run.dir="$work/run" train.stage=both train.pretrain_steps=1 train.steps=2 train.batch=4 train.meta_batch=1 --no-resume
bad "an override for another command" "is not read by 'tal zoo sample'" -- "$tal" zoo sample --n 2 train.lr=0.1
bad "an unknown flag" "unknown flag '--stesp'" -- "$tal" train "${cfg[@]}" --stesp 3
bad "a flag without its value" "--seed needs a value" -- "$tal" zoo sample --seed
bad "an override without a key" "has no key before '='" -- "$tal" zoo sample =5
bad "an extra positional argument" "unexpected argument 'extra'" -- "$tal" hypernet info extra
bad "a YAML list at the top" "must be a mapping" -- "$tal" zoo sample --config "$work/list.yaml"
bad "a YAML syntax error" "YAML syntax error" -- "$tal" zoo sample --config "$work/syntax.yaml"
bad "an unknown command" "unknown command 'trian'" -- "$tal" trian
bad "an unknown subcommand" "unknown 'tal zoo shwo'" -- "$tal" zoo shwo

# ---- 4. messages that name the file, key or dataset --------------------------------------------------------------
bad "a class name made of digits" "unknown class '12345678901234567890'" -- "$tal" tasks embed "${cfg[@]}" tasks.suite="$work/digits_suite.yaml" tasks.embeddings="$work/e2.h5"
bad "a non-numeric TAL_DATA_MEMORY_LIMIT" "environment variable TAL_DATA_MEMORY_LIMIT: key 'data.memory_limit'" -- env TAL_DATA_MEMORY_LIMIT=lots "$tal" tasks embed "${cfg[@]}"
bad "an unknown transform" "unknown 'rotate45' (expected none, rotate90, rotate180, rotate270, invert, hflip or rgb32)" -- "$tal" tasks embed "${cfg[@]}" tasks.suite="$work/transform_suite.yaml"
bad "a duplicate task name" "duplicate task name" -- "$tal" tasks embed "${cfg[@]}" tasks.suite="$work/dup_suite.yaml"
bad "an unknown task metric" "metric_suite.yaml: task 't': key 'metric': unknown 'f1' (expected accuracy or mcc)" -- \
  "$tal" tasks embed "${cfg[@]}" tasks.suite="$work/metric_suite.yaml"
bad "an unknown family" "unknown family 'resnet'" -- "$tal" zoo show "resnet:depth=3"
bad "an unknown zoo rule" "key 'zoo.rules'" -- "$tal" zoo sample --rules vits-9k
bad "rules of another family" "sample family 'gpt2', not zoo.family 'vit'" -- "$tal" zoo sample --rules gpts-1k
bad "an unknown data import format" "unknown format 'mnist'" -- "$tal" data import mnist --out "$work/x.h5"
bad "a bad value type" "key 'train.lr': expected a number, got 'fast'" -- "$tal" train "${cfg[@]}" run.dir="$work/newrun" train.lr=fast
bad "a malformed debug fault spec" "key 'debug.nan_steps'" -- "$tal" train "${cfg[@]}" run.dir="$work/newrun" debug.nan_steps=one

# ---- 5. typed files: every reader checks kind, version, dtype, rank, shape and values --------------------------
bad "a store with float32 images" "'/train/images': is float32 of rank 4, expected uint8" -- "$tal" data info "$work/data/float_images.h5"
bad "a store with labels out of range" "outside the 2 classes" -- "$tal" data info "$work/data/label_range.h5"
bad "a store with an empty test split" "'/test' is empty" -- "$tal" data info "$work/data/empty_test.h5"
bad "a store with rank-3 images" "expected uint8 of rank 4" -- "$tal" data info "$work/data/rank3.h5"
bad "a store with std 0" "std > 0" -- "$tal" data info "$work/data/bad_std.h5"
bad "a file that is not a store" "not a TAL task store" -- "$tal" data info "$work/data/no_kind.h5"
bad "a store of a future format" "task store format version 7" -- "$tal" data info "$work/data/future.h5"
bad "a text file as a store" "not an HDF5 file" -- "$tal" data info "$work/garbage.h5"
bad "an archive with a float64 tensor" "is float64 of rank 2, expected float32" -- "$tal" eval --archive "$work/pred_f64.h5" --task fmnist-footwear data.root="$work/data"
bad "an archive with a mis-shaped tensor" "has shape" -- "$tal" eval --archive "$work/pred_shape.h5" --task fmnist-footwear data.root="$work/data"
bad "an archive with NaN" "non-finite" -- "$tal" eval --archive "$work/pred_nan.h5" --task fmnist-footwear data.root="$work/data"
bad "an archive with a bad spec" "attribute 'spec'" -- "$tal" eval --archive "$work/pred_spec.h5" --task fmnist-footwear data.root="$work/data"
bad "a truncated archive" "$work/truncated.h5" -- "$tal" eval --archive "$work/truncated.h5" --task fmnist-footwear
bad "a checkpoint as an archive" "is a tal-checkpoint file, not a predicted-weight archive" -- "$tal" eval --archive "$ckpt" --task fmnist-footwear
bad "a checkpoint with float64 weights" "expected float32" -- "$tal" predict "${pred[@]}" --checkpoint "$work/ckpt_f64.h5" --out "$work/p3.h5"
bad "a checkpoint with float cursors" "'/state/cursors': is float32" -- "$tal" predict "${pred[@]}" --checkpoint "$work/ckpt_cursors.h5" --out "$work/p3.h5"
bad "a checkpoint whose moments do not match" "optimizer moments" -- "$tal" predict "${pred[@]}" --checkpoint "$work/ckpt_moments.h5" --out "$work/p3.h5"
bad "a checkpoint of an unknown model" "unknown model 'resnet'" -- "$tal" predict "${pred[@]}" --checkpoint "$work/ckpt_model.h5" --out "$work/p3.h5"
bad "an archive as a checkpoint" "is a tal-archive file, not a checkpoint" -- "$tal" predict "${pred[@]}" --checkpoint "$work/pred.h5" --out "$work/p3.h5"
bad "a truncated checkpoint" "$work/truncated.h5" -- "$tal" predict "${pred[@]}" --checkpoint "$work/truncated.h5" --out "$work/p3.h5"
bad "resume from a garbage file" "$work/garbage.h5" -- "$tal" train "${cfg[@]}" run.dir="$work/newrun" --resume-from "$work/garbage.h5"
bad "an ancestry model with float64 params" "expected float32" -- "$tal" tasks embed "${cfg[@]}" ancestry.checkpoint="$work/anc_f64.h5" tasks.embeddings="$work/e3.h5"
bad "an ancestry model edited after writing" "content hash" -- "$tal" tasks embed "${cfg[@]}" ancestry.checkpoint="$work/anc_hash.h5" tasks.embeddings="$work/e3.h5"
bad "a store as the ancestry model" "is a tal-task-store file, not an ancestry model" -- "$tal" tasks embed "${cfg[@]}" ancestry.checkpoint="$work/data/fmnist.h5" tasks.embeddings="$work/e3.h5"
bad "embeddings of the wrong dtype" "expected float32 of rank 1" -- "$tal" train "${cfg[@]}" run.dir="$work/newrun" tasks.embeddings="$work/emb_f64.h5" train.stage=multitask
bad "a zoo file of integers" "'/specs': is int64 of rank 1, expected string" -- "$tal" predict --checkpoint "$work/run" --task fmnist-footwear --zoo "$work/zoo_ints.h5" --out "$work/p4.h5" "${cfg[@]:2}"
bad "a zoo file with a bad spec" "/specs: spec 'vit:depth=0'" -- "$tal" predict --checkpoint "$work/run" --task fmnist-footwear --zoo "$work/zoo_spec.h5" --out "$work/p4.h5" "${cfg[@]:2}"

# ---- 6. nothing created before the inputs are validated ---------------------------------------------------------
bad "resume from a missing file creates no run directory" "$work/nowhere.h5" -- "$tal" train "${cfg[@]}" run.dir="$work/newrun" --resume-from "$work/nowhere.h5"
bad "a missing task store creates nothing" "not found" -- "$tal" train "${cfg[@]}" run.dir="$work/newrun" data.root="$work/nodata"
bad "a missing ancestry model creates nothing" "$work/nowhere.h5" -- "$tal" train "${cfg[@]}" run.dir="$work/newrun" ancestry.checkpoint="$work/nowhere.h5"
check "no run directory was made by the failures" test ! -e "$work/newrun"

# ---- 7. decoders that do not guess --------------------------------------------------------------------------------
bad "a truncated JPEG" "img/dog/1.jpg: corrupt JPEG" -- "$tal" data import folder "$work/img" --size 8 --test-every 2 --out "$work/folder.h5"
bad "a corrupt PNG" "cat/9.png" -- "$tal" data import folder "$work/img_png" --size 8 --test-every 2 --out "$work/folder.h5"

bad "Fashion-MNIST files missing" "train-images-idx3-ubyte" -- "$tal" data import fashion-mnist --from "$work/img" --out "$work/f.h5"
bad "CIFAR files missing" "neither CIFAR-10" -- "$tal" data import cifar "$work/img" --out "$work/c.h5"
bad "a folder without class folders" "no class folders" -- "$tal" data import folder "$work/img/cat" --out "$work/f.h5"

# ---- the benchmarks and inspect ----------------------------------------------------------------------------------
bad "bench predict with a bad spec" "key 'heads'" -- "$tal" bench predict --arch "vit:width=30,heads=4"
bad "bench step with an unknown key" "unknown key 'bench.stesp'" -- "$tal" bench step --config "$src/configs/bench_logah_step.yaml" bench.stesp=3
bad "bench allreduce on one process" "needs several MPI ranks" -- "$tal" bench allreduce --config "$src/configs/hypernet/logah_d64.yaml" dist.backend=mpi
bad "bench loader without its dataset" "not found" -- "$tal" bench loader data.root="$work/nodata"
bad "inspect a text file" "not an HDF5 file" -- "$tal" inspect "$work/garbage.h5"
bad "inspect without a file" "usage: tal inspect FILE.h5" -- "$tal" inspect

# ---- 8. one rule for output paths and messages that say what they mean --------------------------------------------
bad "a suite without tasks" "expected a 'tasks:' list" -- "$tal" tasks embed "${cfg[@]}" tasks.suite="$work/empty.yaml"

echo "$cases malformed inputs"
check "at least 60 malformed inputs" test "$cases" -ge 60

# ---- controls: the same commands with good input succeed and write their outputs ---------------------------------
good "zoo show" -- "$tal" zoo show "vit:depth=2"
good "an override holding a spec" -- "$tal" train "${cfg[@]}" run.dir="$work/ok_run" train.stage=pretrain train.steps=1 \
  train.batch=4 train.meta_batch=1 train.eval_archs=0 ancestry.arch=vit:depth=2,width=32,heads=2,patch=4,image=28,channels=1,classes=10
good "zoo sample into a directory that does not exist yet" -- "$tal" zoo sample --n 2 --out "$work/new/dir/zoo.h5"
check "zoo sample made the directory" test -s "$work/new/dir/zoo.h5"
good "eval with logits" -- "$tal" eval --archive "$work/pred.h5" --task fmnist-footwear --logits-out "$work/logits.h5" data.root="$work/data"
check "logits written" test -s "$work/logits.h5"
good "import with --skip-corrupt" -- "$tal" data import folder "$work/img" --size 8 --test-every 2 --skip-corrupt --out "$work/folder.h5"
check "the skipped image is counted" grep -q "skipped   1 corrupt image" "$work/out/stdout"
good "an empty config file is a warning" -- "$tal" zoo sample --n 1 --config "$work/empty.yaml"
check "the warning names the file" grep -q "$work/empty.yaml holds no settings" "$work/out/stderr"
good "digit class names that are indices" -- "$tal" data info "$work/data/digits.h5"

echo "$pass passed, $fail failed"
test "$fail" -eq 0
