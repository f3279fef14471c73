#!/usr/bin/env bash
# Installs every dependency TAL needs from Debian's packages. Idempotent: a second run installs nothing.
# Usage: launch/setup.sh            (as root, or with sudo available)
set -euo pipefail

packages=(
  cmake ninja-build g++ ccache pkg-config
  libtorch-dev libopenblas0-openmp
  libopenmpi-dev openmpi-bin libhdf5-dev
  libgtest-dev libgmock-dev libyaml-cpp-dev
  libpng-dev libjpeg-dev zlib1g-dev
  dataset-fashion-mnist
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
