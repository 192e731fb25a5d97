#!/usr/bin/env bash
# Runs every libFuzzer target built in BUILD/fuzz for SECONDS each, one after the other, with its seed
# corpus (copied, so the checkout stays clean) and dictionary. Fails on the first crash, leak or
# timeout and leaves the reproducer in BUILD/fuzz/artifacts/. Usage: fuzz/run.sh BUILD SECONDS [TARGET...]
set -euo pipefail
build=$1 seconds=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$build"/fuzz/fuzz_*; do [ -x "$f" ] && [ -f "$f" ] && targets+=("$(basename "$f")"); done
fi
[ ${#targets[@]} -gt 0 ] || { echo "no fuzz targets in $build/fuzz" >&2; exit 1; }
# The dictionary of a target: fuzz/<name>.dict, else the one of its protocol (imap.dict, smtp.dict).
dict_for() {
  local n=${1#fuzz_}
  for d in "$src/$n.dict" "$src/${n%%_*}.dict"; do [ -f "$d" ] && { echo "-dict=$d"; return; }; done
}
mkdir -p "$build/fuzz/artifacts"
for t in "${targets[@]}"; do
  work="$build/fuzz/corpus-work/$t"
  mkdir -p "$work"
  [ -d "$src/corpus/$t" ] && cp -n "$src/corpus/$t"/* "$work"/ 2>/dev/null || true
  echo "== $t (${seconds}s)"
  start=$(date +%s)
  # shellcheck disable=SC2046
  if ! "$build/fuzz/$t" $(dict_for "$t") -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$build/fuzz/artifacts/$t-" "$work" \
      >"$build/fuzz/$t.log" 2>&1; then
    tail -n 60 "$build/fuzz/$t.log"
    echo "FAILED: $t (log: $build/fuzz/$t.log, artifacts: $build/fuzz/artifacts/)" >&2
    exit 1
  fi
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$build/fuzz/$t.log" | tr '\n' ' '
  echo "corpus=$(ls "$work" | wc -l) wall=$(( $(date +%s) - start ))s"
done
