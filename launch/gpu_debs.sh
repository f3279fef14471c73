#!/usr/bin/env bash
# Fetches, on a machine with Debian's archive, the .deb files launch/gpu_check.sh unpacks on a GPU machine that has
# a CUDA PyTorch but no Debian dev packages and no network: the build tools and the libraries TAL links besides
# LibTorch, with their library dependencies, as `apt-get download` gives them (nothing is installed here).
# Usage: launch/gpu_debs.sh [DIR]   (default: launch/debs; prints the total size; carry DIR to the GPU machine)
set -euo pipefail
dir=${1:-$(cd "$(dirname "$0")" && pwd)/debs}
# What TAL's CMake finds, the tools to build it, and the shared libraries those link (one level, listed by hand:
# a recursive closure drags in compilers through virtual packages). g++, libc, libstdc++, OpenSSL and libcurl are
# expected on the GPU machine; gpu_check.sh names any library still missing (ldd) before it builds.
pkgs=(
  cmake cmake-data libjsoncpp25 librhash0 libuv1 libarchive13 ninja-build
  libopenmpi-dev libopenmpi3 openmpi-bin openmpi-common libpmix2 libhwloc15 libevent-core-2.1-7
  libevent-pthreads-2.1-7 libfabric1 libucx0 libpsm2-2 libpsm-infinipath1 libibverbs1 librdmacm1 libnl-3-200
  libnl-route-3-200 libnuma1 libmunge2
  libhdf5-dev libhdf5-103-1 libhdf5-hl-100 libsz2 libaec0 libaec-dev
  libyaml-cpp-dev libyaml-cpp0.7
  libicu-dev libicu72 icu-devtools nlohmann-json3-dev
  libgtest-dev libgmock-dev
  libpng-dev libpng16-16 libjpeg62-turbo-dev libjpeg62-turbo zlib1g-dev
  dataset-fashion-mnist   # the real data the check trains on (30 MB)
)
mkdir -p "$dir"
cd "$dir"
echo "gpu_debs: downloading ${#pkgs[@]} packages into $dir"
apt-get download "${pkgs[@]}" >/tmp/gpu_debs.log 2>&1 || { tail -5 /tmp/gpu_debs.log >&2; echo "gpu_debs: apt-get download failed" >&2; exit 1; }
echo "gpu_debs: $(ls ./*.deb | wc -l) files, $(du -sh . | cut -f1) in $dir"
