#!/usr/bin/env bash
# The GPU check, on a machine with an NVIDIA GPU and a CUDA PyTorch but no Debian dev packages and no network:
#   1. unpacks the .deb files launch/gpu_debs.sh fetched beforehand into a private prefix (never over /)
#   2. configures against the CUDA LibTorch of the PyTorch wheel and builds (NCCL from the wheel or the toolkit)
#   3. runs the unit and golden tests (their tensors are CPU tensors inside the CUDA build)
#   4. GPU parity: the same checkpoint's predicted weights on cuda vs cpu, within a tolerance that allows for TF32
#      convolutions (printed with the worst relative difference)
#   5. trains a few steps on one GPU with dist.backend=nccl at world size 1
#   6. tal bench step (small and paper-sized), tal bench predict (ViT-Ti, ViT-S, ViT-B), peak GPU memory
# and prints a short table last. Usage: launch/gpu_check.sh [--dry-run] [DEBS_DIR] (default launch/debs). Aimed at
# < 8 minutes.
#
# --dry-run, on a machine without a GPU: every step as far as it can go there, so the device call cannot fail on a
# typo. It unpacks and configures the same way (against the CUDA LibTorch when python3 has one, else $TAL_TORCH_PREFIX
# or Debian's), builds unless TAL_DRY_RUN_BINARY names a tal binary to use, and runs the tests, the pipeline and the
# benchmarks on the CPU (backend mpi, fewer repeats); each GPU-only part says "skipped (dry run)".
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dry=0
if [ "${1:-}" = "--dry-run" ]; then dry=1; shift; fi
debs=${1:-$root/launch/debs}
out=${OUT:-/tmp/tal-gpu-check}
mkdir -p "$out"
prefix=$out/prefix
build=$out/build
start=$SECONDS
declare -a rows=()
row() {
  rows+=("$(printf '%-44s %s' "$1" "$2")")
  echo "gpu_check: $1: $2"
  case "$2" in FAILED*) failed=$((failed + 1)) ;; esac
}
die() { row "$1" "FAILED: $2"; printf '\n%s\n' "${rows[@]}"; exit 1; }

# ---- 1. the machine and the private prefix --------------------------------------------------------------------
failed=0
dev=cuda backend=nccl  # where the pipeline and the benchmarks run
if [ $dry -eq 1 ]; then
  dev=cpu backend=mpi
  row "mode" "dry run: no GPU; the GPU parts are skipped and say so, the rest runs on the CPU"
fi
command -v nvidia-smi >/dev/null && row "GPU" "$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -n1)"
py=$(command -v python3) || die "python3" "not found"
torch_prefix=${TAL_TORCH_PREFIX:-$($py -c "import torch; print(torch.utils.cmake_prefix_path)" 2>/dev/null)}
if [ $dry -eq 1 ] && ! ls "$torch_prefix"/Torch/TorchConfig.cmake >/dev/null 2>&1; then
  torch_prefix=/usr/lib/x86_64-linux-gnu/cmake  # Debian's LibTorch (dry run only)
fi
ls "$torch_prefix"/Torch/TorchConfig.cmake >/dev/null 2>&1 || die "CUDA PyTorch" "no TorchConfig.cmake under '$torch_prefix' (python3 cannot import torch?)"
if [ $dry -eq 1 ]; then
  row "CUDA PyTorch" "skipped (dry run): LibTorch from $torch_prefix"
else
  $py -c "import torch; assert torch.cuda.is_available()" || die "CUDA PyTorch" "torch.cuda.is_available() is False"
  row "PyTorch" "$($py -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)')"
fi
[ -d "$debs" ] && ls "$debs"/*.deb >/dev/null 2>&1 || die "packages" "no .deb files in $debs (run launch/gpu_debs.sh where Debian's archive is reachable)"
mkdir -p "$prefix"
for d in "$debs"/*.deb; do dpkg -x "$d" "$prefix" || die "unpack" "$d"; done
row "unpacked" "$(ls "$debs"/*.deb | wc -l) packages into $prefix"
usr=$prefix/usr
arch=x86_64-linux-gnu
export PATH=$usr/bin:$PATH
export LD_LIBRARY_PATH=$usr/lib/$arch:$usr/lib/$arch/openmpi/lib:$usr/lib/$arch/hdf5/serial:${LD_LIBRARY_PATH:-}
export OPAL_PREFIX=$usr  # Open MPI relocated: its wrappers and plugins follow this prefix
# Debian installs mpicc/mpirun as alternatives (links in /etc, not in the packages): link them in the prefix.
for w in mpicc mpicxx mpirun mpiexec; do
  [ -e "$usr/bin/$w" ] || [ ! -e "$usr/bin/$w.openmpi" ] || ln -s "$w.openmpi" "$usr/bin/$w"
done
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# NCCL: the wheel's nvidia-nccl package, else a CUDA toolkit's.
nccl=$($py -c "import nvidia.nccl, os; print(os.path.dirname(nvidia.nccl.__file__))" 2>/dev/null || true)
cuda_home=${CUDA_HOME:-/usr/local/cuda}

# ---- 2. configure and build -----------------------------------------------------------------------------------
t0=$SECONDS
cmake_args=(-S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
  "-DCMAKE_PREFIX_PATH=$usr;$usr/lib/$arch/cmake;$torch_prefix"
  "-DCMAKE_INCLUDE_PATH=$usr/include;$usr/include/hdf5/serial;$usr/include/$arch"
  "-DCMAKE_LIBRARY_PATH=$usr/lib/$arch;$usr/lib/$arch/hdf5/serial"
  "-DMPI_C_COMPILER=$usr/bin/mpicc.openmpi" "-DHDF5_ROOT=$usr/lib/$arch/hdf5/serial" "-DGTEST_ROOT=$usr")
[ -n "$nccl" ] && cmake_args+=("-DNCCL_INCLUDE_DIR=$nccl/include" "-DNCCL_LIBRARY=$(ls "$nccl"/lib/libnccl.so* | head -n1)")
[ -d "$cuda_home" ] && cmake_args+=("-DCUDAToolkit_ROOT=$cuda_home")
command -v cmake >/dev/null || die "configure" "no cmake (is cmake among the unpacked packages?)"
cmake "${cmake_args[@]}" >"$out/configure.log" 2>&1 || die "configure" "see $out/configure.log: $(grep -m1 -i error "$out/configure.log")"
row "configure" "OK with $(command -v cmake) ($(cmake --version | head -n1))"
# Every library TAL links besides LibTorch must come from the unpacked packages: the GPU machine has no others.
outside=$(grep -E "^(nlohmann_json_DIR|GTest_DIR|yaml-cpp_DIR|ICU_INCLUDE_DIR|ICU_UC_LIBRARY_RELEASE|HDF5_C_INCLUDE_DIR|PNG_LIBRARY_RELEASE|JPEG_LIBRARY_RELEASE|ZLIB_LIBRARY_RELEASE|MPI_C_HEADER_DIR|MPI_mpi_LIBRARY):" \
  "$build/CMakeCache.txt" | grep -v "=$prefix/" | cut -d: -f1 | tr '\n' ' ')
[ -z "$outside" ] && row "dependencies" "every one from the unpacked packages" ||
  row "dependencies" "FAILED: found outside $prefix (add their packages to launch/gpu_debs.sh): $outside"
grep -q "TAL: NCCL backend ON" "$out/configure.log" && row "NCCL backend" "built" || row "NCCL backend" "not found (configure.log)"
if [ $dry -eq 1 ] && [ -n "${TAL_DRY_RUN_BINARY:-}" ]; then
  tal=$(cd "$(dirname "$TAL_DRY_RUN_BINARY")" && pwd)/$(basename "$TAL_DRY_RUN_BINARY")
  [ -x "$tal" ] || die "build" "TAL_DRY_RUN_BINARY=$TAL_DRY_RUN_BINARY is not an executable"
  build=$(dirname "$tal")
  row "build" "skipped (dry run): using $tal"
else
  cmake --build "$build" -j "$(nproc)" >"$out/build.log" 2>&1 || die "build" "see $out/build.log: $(grep -m1 'error' "$out/build.log")"
  tal=$build/tal
fi
"$tal" info >"$out/info.txt" 2>&1
if [ $dry -eq 1 ]; then
  row "CUDA build" "skipped (dry run): $($tal info --json | $py -c 'import json,sys; j=json.load(sys.stdin); print("LibTorch", j["libtorch"], "cuda_built", j["cuda"]["cuda_built"])')"
else
  "$tal" info --json | grep -q '"cuda_built": true' || die "CUDA build" "tal info says the binary has no CUDA ($out/info.txt)"
  row "CUDA build" "OK in $((SECONDS - t0)) s ($($tal info --json | $py -c 'import json,sys; j=json.load(sys.stdin); print("LibTorch", j["libtorch"], "GPUs", j["cuda"]["visible"])'))"
fi

# ---- 3. unit and golden tests ---------------------------------------------------------------------------------
t0=$SECONDS
(cd "$build" && ctest -L "unit|golden" -j 4 --timeout 300 >"$out/ctest.log" 2>&1)
tests=$(grep -E "tests passed" "$out/ctest.log" | tail -n1)
if grep -q "100% tests passed" "$out/ctest.log"; then row "unit + golden tests" "$tests ($((SECONDS - t0)) s)"
else row "unit + golden tests" "FAILED: ${tests:-no summary} (see $out/ctest.log)"; fi

# ---- 4. a tiny real pipeline, then cpu vs cuda --------------------------------------------------------------------
data=$out/data
mkdir -p "$data"
fm=$usr/share/datasets/fashion-mnist
[ -d "$fm" ] || fm=/usr/share/datasets/fashion-mnist
[ -d "$fm" ] || die "data" "no Fashion-MNIST (dataset-fashion-mnist is in launch/gpu_debs.sh's list)"
"$tal" data import fashion-mnist --from "$fm" --out "$data/fmnist.h5" >/dev/null || die "data" "import from $fm"
common=(--config configs/tal_vit_fmnist.yaml data.root="$data" ancestry.checkpoint="$out/anc/anc.h5"
        tasks.embeddings="$data/emb.h5" tasks.embed_images=500)
"$tal" ancestry train "${common[@]}" run.dir="$out/anc" ancestry.max_steps=20 ancestry.batch=64 device=$dev >"$out/anc.log" 2>&1 ||
  die "ancestry on $dev" "$(tail -n1 "$out/anc.log")"
"$tal" tasks embed "${common[@]}" device=$dev >"$out/embed.log" 2>&1 || die "embed" "$(tail -n1 "$out/embed.log")"
t0=$SECONDS
"$tal" train "${common[@]}" run.dir="$out/run" train.stage=both train.pretrain_steps=4 train.steps=4 train.eval_archs=1 \
  device=$dev dist.backend=$backend >"$out/train.log" 2>&1 || die "train on 1 $dev (backend $backend)" "$(tail -n2 "$out/train.log" | tr '\n' ' ')"
row "train 8 steps on 1 $dev, backend $backend" "OK ($((SECONDS - t0)) s; $(grep -m1 '^device' "$out/train.log"))"
for d in cpu gpu; do  # the same checkpoint's predictions on the CPU and on $dev
  "$tal" predict --checkpoint "$out/run" --task fmnist-footwear --arch "vit:depth=4,width=96,heads=3" \
    --arch "vit:depth=6,width=64,heads=4" --out "$out/pred_$d.h5" device=$([ $d = cpu ] && echo cpu || echo $dev) \
    "${common[@]:2}" >"$out/pred_$d.log" 2>&1 || die "predict on $d" "$(tail -n1 "$out/pred_$d.log")"
done
# h5py: the GPU machine's python3 may lack it where Debian's has it.
pyh5=$py
$pyh5 -c "import h5py" 2>/dev/null || pyh5=/usr/bin/python3
parity=$("$pyh5" - "$out/pred_cpu.h5" "$out/pred_gpu.h5" <<'PY'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1]), h5py.File(sys.argv[2]); worst = 0.0
def walk(g, h):
    global worst
    for k in g:
        if isinstance(g[k], h5py.Dataset):
            x, y = g[k][()].astype(np.float64), h[k][()].astype(np.float64)
            worst = max(worst, float(np.max(np.abs(x - y)) / (np.max(np.abs(x)) + 1e-12)))
        else: walk(g[k], h[k])
walk(a, b)
print("%.2e" % worst); sys.exit(0 if worst < 5e-3 else 1)
PY
) && row "predictions $dev vs cpu (max rel. diff)" "$parity (< 5e-3: TF32 convolutions)$([ $dry -eq 1 ] && echo '; skipped (dry run): cpu against itself')" ||
  row "predictions $dev vs cpu" "FAILED: $parity"

# ---- 5/6. benchmarks and memory ---------------------------------------------------------------------------------
bench() {  # NAME ARGS...
  local name=$1; shift
  "$tal" "$@" >"$out/bench_$name.log" 2>&1 || { row "$name" "FAILED: $(tail -n1 "$out/bench_$name.log")"; return; }
  row "$name" "$(grep -E 'step \(total\)|predict \(no grad\)|peak resident' "$out/bench_$name.log" | tr -s ' ' | tr '\n' ';')"
}
paper=(--config configs/bench_tal_paper_step.yaml --synthetic)
if [ $dry -eq 1 ]; then
  row "bench step small (cuda)" "skipped (dry run)"
  bench "bench step small (cpu)" bench step "${common[@]}" --steps 2 --warmup 1 device=cpu
  row "bench step paper-sized (cuda)" "skipped (dry run)"
  bench "bench step paper-sized, 1 unit (cpu)" bench step "${paper[@]}" --steps 1 --warmup 0 train.meta_batch=1 device=cpu
  reps=(--repeats 2)
else
  bench "bench step small (cuda)" bench step "${common[@]}" --steps 10 device=cuda
  bench "bench step small (cpu, same config)" bench step "${common[@]}" --steps 3 device=cpu
  bench "bench step paper-sized (cuda)" bench step "${paper[@]}" --steps 5 device=cuda
  reps=(--repeats 20)
fi
for a in "ViT-Ti vit:depth=12,width=192,heads=3,patch=16,image=224,channels=3,classes=1000" \
         "ViT-S vit:depth=12,width=384,heads=6,patch=16,image=224,channels=3,classes=1000" \
         "ViT-B vit:depth=12,width=768,heads=12,patch=16,image=224,channels=3,classes=1000" \
         "GPT-2-small gpt2:depth=12,width=768,heads=12,mlp=3072,vocab=50257,context=1024,classes=0"; do
  bench "bench predict ${a%% *} ($dev)" bench predict --config configs/bench_tal_paper_step.yaml "--arch=${a#* }" "${reps[@]}" device=$dev
done
command -v nvidia-smi >/dev/null && row "GPU memory now" "$(nvidia-smi --query-gpu=memory.used --format=csv,noheader | head -n1)"
row "total" "$((SECONDS - start)) s"
printf '\n== TAL GPU check%s (%d failed)\n' "$([ $dry -eq 1 ] && echo ', dry run without a GPU')" "$failed"
printf '%s\n' "${rows[@]}"
[ "$failed" -eq 0 ]
