# Shared by the quickstart scripts (sourced after `runs`, `suite` and `times` are set).
#   banner TEXT                   a heading in the output
#   stage NAME CONFIG COMMAND...  runs COMMAND unless the same command with the same config and task suite
#                                 finished before (its key, a hash of the three, is in $runs/.stages/NAME); adds
#                                 the stage's wall time to `times`
# shellcheck shell=bash
banner() { printf '\n== %s\n' "$*"; }
mkdir -p "$runs/.stages"
stage() {
  local name=$1 config=$2; shift 2
  local key; key=$( { printf '%s\n' "$*"; cat "$config" "$suite"; } | sha256sum | cut -c1-16)
  local t0=$SECONDS
  if [ "$(cat "$runs/.stages/$name" 2>/dev/null)" = "$key" ]; then
    echo "(reused: $name finished before with the same command and config, key $key)"
  else
    "$@"
    echo "$key" >"$runs/.stages/$name"
  fi
  times+=("$(printf '%-34s %6d s' "$name" $((SECONDS - t0)))")
}
