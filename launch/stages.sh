# Shared by the quickstart scripts (sourced first; `root` is the repository root).
#   quickstart_begin NAME [--full]  the arguments (sets `full` to 1 with --full), set-up and build; sets `tal`,
#                                   `start` and `times`
#   banner TEXT                     a heading in the output
#   stage NAME CONFIG COMMAND...    runs COMMAND unless the same command with the same config and task suite
#                                   (`suite`) finished before (its key, a hash of the three, is in
#                                   $runs/.stages/NAME); adds the stage's wall time to `times`
#   quickstart_end GRID_DIR         the results tables of the grid's report.md, the wall time of every stage, the
#                                   total and where the report is
# shellcheck shell=bash
quickstart_begin() {
  local name=$1; shift
  full=0
  case "${1:-}" in
    --full) full=1 ;;
    "") ;;
    *) echo "usage: launch/$name [--full]" >&2; exit 2 ;;
  esac
  "$root/launch/setup.sh"
  "$root/launch/build.sh"
  tal="${TAL_BUILD_DIR:-$root/build}/tal"
  start=$SECONDS
  times=()
}

banner() { printf '\n== %s\n' "$*"; }

stage() {
  local name=$1 config=$2; shift 2
  local key; key=$( { printf '%s\n' "$*"; cat "$config" "$suite"; } | sha256sum | cut -c1-16)
  local t0=$SECONDS
  mkdir -p "$runs/.stages"
  if [ "$(cat "$runs/.stages/$name" 2>/dev/null)" = "$key" ]; then
    echo "(reused: $name finished before with the same command and config, key $key)"
  else
    "$@"
    echo "$key" >"$runs/.stages/$name"
  fi
  times+=("$(printf '%-34s %6d s' "$name" $((SECONDS - t0)))")
}

quickstart_end() {
  local grid=$1
  banner "Results after fine-tuning (from $grid/report.md)"
  awk '/^### Final test/ { show = 1; print; next } /^#/ { show = 0 } show && /^\|/' "$grid/report.md"
  printf '\nWall time per stage:\n'
  printf '  %s\n' "${times[@]}"
  echo "  total after the build: $((SECONDS - start)) s"
  echo "The report: $grid/report.md (plots in $grid/report/)"
}
