#!/usr/bin/env bash
# The layer check (cmake/CheckLayers.cmake): the tree passes, and a copy of the tree with one forbidden include
# planted in it fails, naming the file, the include and the rule. Usage: layers_test.sh SOURCE_DIR
set -u
src=${1:?usage: layers_test.sh SOURCE_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
check() {
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $name"; fi
}
layers() { cmake -DSOURCE_DIR="$1" -P "$src/cmake/CheckLayers.cmake" 2>&1; }

out=$(layers "$src"); rc=$?
check "the tree passes" test $rc -eq 0
check "the tree passes: says how many files" grep -q "layer check: [0-9]* files" <<<"$out"

for plant in "datasets/tasks.cpp:hypernet/zoo.h" "hypernet/graph.cpp:trainer/train/trainer.h" \
             "trainer/files/archive.cpp:trainer/train/evaluator.h" "base/rng.cpp:dist/communicator.h"; do
  file=${plant%%:*} inc=${plant#*:}
  rm -rf "$work/tree" && mkdir -p "$work/tree"
  cp -r "$src/base" "$src/hypernet" "$src/datasets" "$src/dist" "$src/trainer" "$src/tests" "$work/tree/"
  sed -i "1i #include \"$inc\"" "$work/tree/$file"
  out=$(layers "$work/tree"); rc=$?
  check "$file including $inc fails" test $rc -ne 0
  check "$file including $inc is named" grep -qF "$file: #include \"$inc\"" <<<"$out"
done
rm -rf "$work/tree" && mkdir -p "$work/tree"
cp -r "$src/base" "$src/hypernet" "$src/datasets" "$src/dist" "$src/trainer" "$src/tests" "$work/tree/"
echo '#include "hypernet/no_such_header.h"' >>"$work/tree/hypernet/zoo.cpp"
out=$(layers "$work/tree"); rc=$?
check "an include of a missing header fails" test $rc -ne 0
touch "$work/tree/trainer/loose.cpp"
check "a loose file in trainer/ is named" grep -qF "trainer/loose.cpp" <<<"$(layers "$work/tree")"

echo "$pass passed, $fail failed"
test "$fail" -eq 0
