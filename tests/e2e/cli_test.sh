#!/usr/bin/env bash
# End-to-end checks of the tal CLI: real binary, real files, exit codes and the one-line errors.
set -u
tal=${1:?usage: cli_test.sh path/to/tal}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src=${TAL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$src/tests/e2e/harness.sh"

# Text: GPT-2's tokenizer on the command line, Debian's fortunes as a text store, a CSV table, and a bad row.
out=$("$tal" data tokenize "Hello world" " world")
check "tokenize: reference ids" test "$out" = $'15496 995\n995'
out=$("$tal" data import fortunes --out "$work/fortunes.h5" --max-tokens 64 2>&1)
check "import fortunes" grep -q "text store 'fortunes'" <<<"$out"
check "fortunes: padded to --max-tokens" grep -q "padded to 64" <<<"$("$tal" data info "$work/fortunes.h5")"
printf 'id,sentence,label\n1,"Good, very good",pos\n2,bad,neg\n3,"fine ""really""",pos\n4,awful,neg\n' >"$work/t.csv"
out=$("$tal" data import table "$work/t.csv" --text-column sentence --label-column label --test-every 2 --out "$work/t.h5" 2>&1)
check "import table" grep -q "classes   2: neg, pos" <<<"$out"
cp "$work/t.h5" "$work/t.before"
printf 'id,sentence,label\n1,ok,pos\n2,short\n' >"$work/bad.csv"
err=$("$tal" data import table "$work/bad.csv" --text-column sentence --label-column label --out "$work/t.h5" 2>&1); rc=$?
check "table bad row: one line naming file:line" test $rc -ne 0 -a "$err" = "tal: error: $work/bad.csv:3: 2 field(s), the columns need 3"
check "table bad row: store untouched" cmp -s "$work/t.h5" "$work/t.before"

# ViT-Ti: 164 nodes, torchvision count minus the class token, and the output says why.
out=$("$tal" zoo show "vit:depth=12,width=192,heads=3,patch=16,image=224,channels=3,classes=1000")
check "zoo show exit" test $? -eq 0
check "zoo show nodes" grep -q "^nodes        164 " <<<"$out"
check "zoo show params" grep -q "5,717,224 predicted" <<<"$out"
check "zoo show class token" grep -q "class_token 192 not predicted" <<<"$out"
check "zoo show torchvision total" grep -q "5,717,416 in torchvision" <<<"$out"

# Bad specs: non-zero, exactly one line, naming the key.
err=$("$tal" zoo show "vit:depth=12,width=192,heads=5" 2>&1 >/dev/null); rc=$?
check "bad spec exit" test $rc -ne 0
check "bad spec one line" test "$(wc -l <<<"$err")" -eq 1
check "bad spec names key" grep -q "key 'heads'" <<<"$err"

# What the binary is: valid JSON with the fields launch scripts read; the NCCL backend is built wherever the CUDA
# toolkit and NCCL are present (a machine with both and no backend is a broken build).
info=$("$tal" info --json); rc=$?
check "info exit" test $rc -eq 0
check "info json fields" /usr/bin/python3 -c '
import json, sys
i = json.loads(sys.argv[1])
assert i["backend"] in ("mpi", "nccl") and i["device"].startswith(("cpu", "cuda:")), i
assert i["libtorch"] and i["hdf5"] and i["mpi"]["library"] and isinstance(i["nccl"]["built"], bool), i
assert (i["backend"] == "nccl") == (i["nccl"]["usable"]), i' "$info"
if ls /usr/local/cuda/include/nccl.h /usr/include/nccl.h >/dev/null 2>&1 && [ -e /usr/local/cuda/include/cuda_runtime.h ]; then
  check "NCCL present, so the backend is built" grep -q '"nccl": {"built": true' <<<"$info"
fi
check "info text" bash -c "'$tal' info | grep -Eq '^backend   (mpi|nccl) for several ranks'"
err=$("$tal" info --yaml 2>&1 >/dev/null); rc=$?
check "info bad flag" test $rc -ne 0 -a "$(wc -l <<<"$err")" -eq 1

# Sampling: deterministic, written atomically, readable.
"$tal" zoo sample --family vit --rules vits-1k --n 50 --seed 3 --out "$work/zoo.h5" >"$work/log" 2>&1
check "zoo sample exit" test $? -eq 0
check "zoo sample wrote" test -s "$work/zoo.h5"
a=$("$tal" zoo sample --n 20 --seed 3 | head -n 20)
b=$("$tal" zoo sample --n 20 --seed 3 | head -n 20)
check "zoo sample deterministic" test "$a" = "$b"
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import h5py" 2>/dev/null; then
  n=$(/usr/bin/python3 -c "import h5py,sys; f=h5py.File(sys.argv[1]); print(len(f['specs']), f.attrs['rules'])" "$work/zoo.h5")
  check "zoo readable by h5py" test "$n" = "50 vits-1k"
fi

# Bad flags and configs leave existing files untouched.
cp "$work/zoo.h5" "$work/before.h5"
err=$("$tal" zoo sample --rules vits-9k --out "$work/zoo.h5" 2>&1); rc=$?
check "bad rules exit" test $rc -ne 0
check "bad rules names key" grep -q "zoo.rules" <<<"$err"
check "bad rules file untouched" cmp -s "$work/zoo.h5" "$work/before.h5"
printf 'zoo:\n  profle: cpu-small\n' >"$work/bad.yaml"
err=$("$tal" zoo sample --config "$work/bad.yaml" 2>&1); rc=$?
check "unknown key exit" test $rc -ne 0
check "unknown key suggestion" grep -q "did you mean 'zoo.profile'" <<<"$err"
check "unknown key names file" grep -qF "$work/bad.yaml" <<<"$err"
dump=$("$tal" zoo sample --profile cpu-small --dump-config)
check "dump-config" grep -q "profile: cpu-small" <<<"$dump"
check "help" bash -c "'$tal' zoo sample --help | grep -q 'zoo.rules (--rules)'"

# Hypernetworks: counts at the reference configs; bad configs give one line naming the key.
for pair in logah_d64:2,539,324 tal_d128:22,388,924 ghn3_t:6,906,632; do
  cfg=${pair%%:*} want=${pair#*:}
  out=$("$tal" hypernet info --config "$src/configs/hypernet/$cfg.yaml")
  check "hypernet info $cfg" grep -qE "^total +$want$" <<<"$out"
done
for bad in "hypernet.heads=7:does not divide" "hypernet.rank=0:hypernet.rank" "hypernet.variant=ghn4:hypernet.variant" \
           "hypernet.hiden=3:did you mean 'hypernet.hidden'"; do
  setting=${bad%%:*} want=${bad#*:}
  err=$("$tal" hypernet info --config "$src/configs/hypernet/logah_d64.yaml" "$setting" 2>&1 >/dev/null); rc=$?
  check "bad hypernet $setting exit" test $rc -ne 0
  check "bad hypernet $setting one line" test "$(wc -l <<<"$err")" -eq 1
  check "bad hypernet $setting message" grep -qF "$want" <<<"$err"
done
out=$("$tal" bench predict --config "$src/configs/hypernet/logah_d64.yaml" --arch "vit:depth=2,width=64,heads=2,patch=4,image=32" --repeats 2)
check "bench predict runs" grep -q "predict (no grad)" <<<"$out"

# Data, ancestry and task embeddings on real Fashion-MNIST (a few steps: this checks the plumbing, not accuracy).
"$tal" data import fashion-mnist --out "$work/data/fmnist.h5" >"$work/import.log" 2>&1
check "import fashion-mnist" grep -q "60,000 images" "$work/import.log"
check "data info" bash -c "'$tal' data info '$work/data/fmnist.h5' | grep -q 'Ankle boot'"
cp "$work/data/fmnist.h5" "$work/fmnist.before"
err=$("$tal" data import fashion-mnist --from "$work/nowhere" --out "$work/data/fmnist.h5" 2>&1); rc=$?
check "import bad dir exit" test $rc -ne 0
check "import bad dir untouched" cmp -s "$work/data/fmnist.h5" "$work/fmnist.before"
out=$("$tal" ancestry train --config "$src/configs/ancestry_vit.yaml" data.root="$work/data" run.dir="$work/anc" \
      ancestry.checkpoint="$work/anc/ancestry.h5" ancestry.max_steps=6 ancestry.log_every=3 ancestry.batch=32 2>&1)
check "ancestry train" test -s "$work/anc/ancestry.h5"
check "ancestry progress" grep -q "data wait" <<<"$out"
check "ancestry metrics" grep -q '"test_accuracy"' "$work/anc/metrics.jsonl"
# The ancestry run is checkpointed: preempted (SIGTERM) mid-run and run again, it ends with the same bytes as
# an uninterrupted run.
anc=(--config "$src/configs/ancestry_vit.yaml" data.root="$work/data" ancestry.max_steps=40 ancestry.log_every=5
     ancestry.batch=32 threads=1)
"$tal" ancestry train "${anc[@]}" run.dir="$work/anc_straight" ancestry.checkpoint="$work/anc_straight/a.h5" >/dev/null 2>&1
"$tal" ancestry train "${anc[@]}" run.dir="$work/anc_pre" ancestry.checkpoint="$work/anc_pre/a.h5" >"$work/anc_pre.log" 2>&1 &
pid=$!
wait_for 120 "$work/anc_pre.log" "step 10/40" "the ancestry run to reach step 10"
kill -TERM $pid; wait $pid; rc=$?
check "ancestry preempted with exit 75" test $rc -eq 75
check "ancestry left a checkpoint" test -s "$work/anc_pre/a.train/ckpt/latest"
"$tal" ancestry train "${anc[@]}" run.dir="$work/anc_pre" ancestry.checkpoint="$work/anc_pre/a.h5" >"$work/anc_pre2.log" 2>&1
check "ancestry resumes" grep -q "resume  from .*a.train/ckpt/step_" "$work/anc_pre2.log"
hash_of() { /usr/bin/python3 -c "import h5py,sys; print(h5py.File(sys.argv[1]).attrs['content_hash'])" "$1"; }
check "ancestry resumed == straight (bytes)" test "$(hash_of "$work/anc_pre/a.h5")" = "$(hash_of "$work/anc_straight/a.h5")"
# The ancestry holds only the suite's six seen classes, by name, in its head's order.
check "ancestry records its classes" /usr/bin/python3 -c "
import h5py, sys
f = h5py.File(sys.argv[1])
assert [c.decode() for c in f['classes'][()]] == ['Pullover', 'Dress', 'Coat', 'Sandal', 'Sneaker', 'Ankle boot']
assert f['params/heads.head.weight'].shape[0] == 6" "$work/anc/ancestry.h5"

# Bring your own ancestry: a torchvision ViT's state dict (written by Debian's torchvision) as safetensors.
/usr/bin/python3 "$src/tests/golden/torchvision_vit_safetensors.py" "$work/tv.safetensors"
tv=(--arch "vit:depth=2,width=32,heads=2,mlp=64,patch=4,image=28,channels=1,classes=6"
    --classes "Pullover,Dress,Coat,Sandal,Sneaker,Ankle boot" --dataset fmnist.h5)
out=$("$tal" ancestry import "$work/tv.safetensors" "${tv[@]}" --out "$work/tv/ancestry.h5" 2>&1)
check "ancestry import ($(tail -n1 <<<"$out"))" test -s "$work/tv/ancestry.h5"
check "imported ancestry: every tensor as torchvision wrote it" /usr/bin/python3 -c "
import h5py, json, struct, sys, numpy as np
raw = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
header = json.loads(raw[8:8 + n])
f = h5py.File(sys.argv[2])
assert sorted(header) == sorted(f['params']), (sorted(header), sorted(f['params']))
for name, h in header.items():
    a, b = h['data_offsets']
    t = np.frombuffer(raw[8 + n + a:8 + n + b], dtype='<f4').reshape(h['shape'])
    assert np.array_equal(t, f['params'][name][()]), name
assert len(f['classes']) == 6" "$work/tv.safetensors" "$work/tv/ancestry.h5"
out=$("$tal" tasks embed --config "$src/configs/tal_vit_fmnist.yaml" data.root="$work/data" \
      ancestry.checkpoint="$work/tv/ancestry.h5" tasks.embeddings="$work/tv/emb.h5" tasks.embed_images=100 2>&1)
check "an imported ancestry makes task embeddings" grep -q "6 task(s), 32-d embeddings" <<<"$out"
refused() {  # refused NAME PATTERN damage...
  local name=$1 pattern=$2; shift 2
  /usr/bin/python3 "$src/tests/golden/torchvision_vit_safetensors.py" "$work/bad.safetensors" "$@"
  local err rc
  err=$("$tal" ancestry import "$work/bad.safetensors" "${tv[@]}" --out "$work/tv/bad.h5" 2>&1); rc=$?
  check "import refuses $name: exit 1, one line naming it ($err)" \
    test $rc -eq 1 -a "$(wc -l <<<"$err")" -eq 1 -a ! -e "$work/tv/bad.h5"
  check "import refuses $name: the message" grep -q "$pattern" <<<"$err"
}
refused "a renamed tensor" "tensor 'encoder.ln.weight' missing" --rename encoder.ln.weight encoder.norm.weight
refused "a missing tensor" "tensor 'heads.head.bias' missing" --drop heads.head.bias
refused "a mis-shaped tensor" "tensor 'class_token' has shape \[32\], but .* needs \[1, 1, 32\]" --reshape class_token
err=$("$tal" ancestry import "$work/tv.safetensors" "${tv[@]}" --arch "vit:depth=3,width=32,heads=2,mlp=64,patch=4,image=28,channels=1,classes=6" \
  --out "$work/tv/bad.h5" 2>&1); rc=$?
check "import refuses another spec: names the tensor" grep -q "tensor 'encoder.layers.encoder_layer_2.ln_1.weight' missing" <<<"$err"

emb=(--config "$src/configs/tal_vit_fmnist.yaml" data.root="$work/data" ancestry.checkpoint="$work/anc/ancestry.h5"
     tasks.embeddings="$work/data/task_embeddings.h5" tasks.embed_images=500)
out=$("$tal" tasks embed "${emb[@]}" 2>&1)
check "tasks embed computes" grep -q "fmnist-tops  *computed" <<<"$out"
out=$("$tal" tasks embed "${emb[@]}" 2>&1)
check "tasks embed reuses" grep -q "fmnist-tops  *up to date" <<<"$out"
err=$("$tal" tasks embed "${emb[@]}" tasks.suite="$work/none.yaml" 2>&1); rc=$?
check "tasks embed bad suite" test $rc -ne 0

# The baseline configs and the step benchmark run as they are (one step each).
for cfg in logah_vit_fmnist ghn3_vit_fmnist; do
  "$tal" train --config "$src/configs/$cfg.yaml" data.root="$work/data" ancestry.checkpoint="$work/anc/ancestry.h5" \
    tasks.embeddings="$work/data/task_embeddings.h5" run.dir="$work/$cfg" train.pretrain_steps=1 train.steps=1 \
    train.batch=8 train.eval_archs=0 >"$work/$cfg.log" 2>&1
  check "baseline $cfg trains" grep -q "train  done" "$work/$cfg.log"
done
out=$("$tal" bench step --config "$src/configs/bench_logah_step.yaml" data.root="$work/data" --steps 2 --warmup 0 \
  train.batch=8 2>&1)
check "bench step runs" grep -q "hypernet backward" <<<"$out"
check "bench step --steps 2 times 2 steps" grep -q " 2 steps after 0 warm-up" <<<"$out"
# Synthetic inputs of the zoo's size (no dataset read: data.root points nowhere), for images and for tokens, with a
# random task embedding for TAL; the data is removed afterwards.
mkdir -p "$work/tmp"
out=$(TMPDIR="$work/tmp" "$tal" bench step --config "$src/configs/tal_vit_fmnist.yaml" data.root="$work/nowhere" zoo.image=48 zoo.channels=3 \
  --synthetic --steps 1 --warmup 0 train.batch=4 train.meta_batch=2 2>&1)
check "bench step --synthetic: random 3x48x48 images and a task embedding" \
  grep -q "inputs  *64 random 3x48x48 images, a random 64-d task embedding" <<<"$out"
out=$(TMPDIR="$work/tmp" "$tal" bench step --config "$src/configs/tal_gpt2_fortunes.yaml" data.root="$work/nowhere" --synthetic --steps 1 \
  --warmup 0 2>&1)
check "bench step --synthetic: random tokens" grep -q "random sequences of 64 tokens from a 50257-token vocabulary" <<<"$out"
TMPDIR="$work/tmp" "$tal" bench step --config "$src/configs/tal_gpt2_fortunes.yaml" --synthetic \
  hypernet.base=ancestry ancestry.checkpoint="$work/nowhere/anc.h5" >/dev/null 2>&1
check "bench step --synthetic leaves no data behind, failed or not" test -z "$(ls -A "$work/tmp")"

# Train briefly (stage 1 then 2), predict an archive, evaluate it, and load it into torchvision.
run=(--config "$src/configs/tal_vit_fmnist.yaml" data.root="$work/data" ancestry.checkpoint="$work/anc/ancestry.h5"
     tasks.embeddings="$work/data/task_embeddings.h5")
"$tal" train "${run[@]}" run.dir="$work/run" train.stage=both train.pretrain_steps=1 train.steps=1 train.batch=8 \
  train.eval_archs=1 train.eval_images=50 >"$work/train.log" 2>&1
check "train writes a checkpoint" test -s "$work/run/ckpt/latest"
check "train progress line" grep -q "^step 2/2  multitask" "$work/train.log"
check "train metrics" grep -q '"images_per_s"' "$work/run/metrics.jsonl"
"$tal" predict --checkpoint "$work/run" --task fmnist-footwear --arch "vit:depth=2,width=64,heads=4" \
  --arch "vit:depth=3,width=96,heads=3" --out "$work/pred.h5" "${run[@]:2}" >"$work/predict.log" 2>&1
check "predict writes an archive" grep -q "2 model(s)" "$work/predict.log"
"$tal" predict --checkpoint "$work/run" --task fmnist-tops --arch "vit:depth=2,width=64,heads=4" --out "$work/pred.h5" \
  "${run[@]:2}" >/dev/null 2>&1
out=$("$tal" eval --archive "$work/pred.h5" --task fmnist-footwear --logits-out "$work/logits.h5" data.root="$work/data")
check "eval one line per model" test "$(grep -c "test accuracy" <<<"$out")" -eq 2
check "appending kept both tasks" bash -c "'$tal' inspect '$work/pred.h5' | grep -q 'fmnist-tops/'"
check "archive loads into torchvision" /usr/bin/python3 "$src/tests/golden/archive_check.py" "$work/pred.h5" fmnist-footwear "$work/logits.h5"
out=$("$tal" export "$work/pred.h5" --format safetensors --out "$work/export" 2>&1)
check "export writes one file per model" test "$(find "$work/export" -name model.safetensors | wc -l)" -eq 3
check "export reads back with plain Python" /usr/bin/python3 "$src/tests/golden/safetensors_check.py" "$work/pred.h5" "$work/export"
check "export ViT: no config.json" test -z "$(find "$work/export" -name config.json)"
err=$("$tal" export "$work/pred.h5" --format pickle --out "$work/export2" 2>&1); rc=$?
check "export unknown format: one line, nothing written" test $rc -ne 0 -a "$(wc -l <<<"$err")" -eq 1 -a ! -e "$work/export2"
err=$("$tal" eval --archive "$work/pred.h5" --task fmnist-nothing data.root="$work/data" 2>&1); rc=$?
check "eval missing task" test $rc -ne 0 -a "$(wc -l <<<"$err")" -eq 1
err=$("$tal" eval --archive "$work/pred.h5" --task fmnist-footwear --arch-id nope data.root="$work/data" 2>&1); rc=$?
check "eval missing model" test $rc -ne 0
err=$("$tal" predict --checkpoint "$work/pred.h5" --task fmnist-tops --arch vit:depth=2 --out "$work/x.h5" 2>&1); rc=$?
check "archive is not a checkpoint" grep -q "is a tal-archive file, not a checkpoint" <<<"$err"
head -c 3000 "$(ls "$work"/run/ckpt/step_*.h5 | head -n1)" >"$work/truncated.h5"
err=$("$tal" predict --checkpoint "$work/truncated.h5" --task fmnist-tops --arch vit:depth=2 --out "$work/x.h5" 2>&1); rc=$?
check "truncated checkpoint: one line" test $rc -ne 0 -a "$(wc -l <<<"$err")" -eq 1
err=$("$tal" eval --archive "$work/truncated.h5" --task fmnist-tops 2>&1); rc=$?
check "truncated archive: one line" test $rc -ne 0 -a "$(wc -l <<<"$err")" -eq 1
cp "$work/pred.h5" "$work/pred.before"
err=$("$tal" predict --checkpoint "$work/run" --task fmnist-tops --arch "vit:depth=2,width=64,heads=5" --out "$work/pred.h5" \
  "${run[@]:2}" 2>&1); rc=$?
check "bad spec leaves the archive untouched" cmp -s "$work/pred.h5" "$work/pred.before"
check "inspect a checkpoint" bash -c "'$tal' inspect \"\$(ls '$work'/run/ckpt/step_*.h5 | head -n1)\" | grep -q 'tal-checkpoint'"

echo "$pass passed, $fail failed"
test "$fail" -eq 0
