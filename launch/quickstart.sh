#!/usr/bin/env bash
# The main job, end to end on this machine: set-up, build, then a real demonstration of what TAL does today.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/launch/setup.sh"
"$root/launch/build.sh"
tal="${TAL_BUILD_DIR:-$root/build}/tal"
mkdir -p "$root/runs/quickstart"

echo
echo "== The computation graph of ViT-Ti/16 as the hypernetwork reads it (first lines)"
"$tal" zoo show "vit:depth=12,width=192,heads=3,patch=16,image=224,channels=3,classes=1000" | head -n 12

echo
echo "== 1000 ViTs drawn with LoGAH's ViTs-1K rules, written to runs/quickstart/zoo.h5"
"$tal" zoo sample --family vit --rules vits-1k --n 1000 --seed 0 --out "$root/runs/quickstart/zoo.h5"

echo
echo "== A CPU-sized zoo for Fashion-MNIST (28x28, 1 channel)"
"$tal" zoo sample --rules vits-1k --profile cpu-small zoo.image=28 zoo.channels=1 --n 5 --seed 0
