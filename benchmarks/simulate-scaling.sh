#!/usr/bin/env bash
# Is `nextword simulate` linear in its input? Types a text 1, 2 and 4 times over (no learning)
# and prints the wall time of each and its ratio to the first: linear is about 1 / 2 / 4.
#
#   benchmarks/simulate-scaling.sh [TEXT]     (default ../shared/data/dev/ksr-dev.txt)
#
# Needs a release build (swift build -c release). Writes its inputs to a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
text=${1:-../shared/data/dev/ksr-dev.txt}
binary=.build/release/nextword
[ -x "$binary" ] || { echo "build first: swift build -c release" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
first=""
for times in 1 2 4; do
  for ((i = 0; i < times; i++)); do cat "$text"; done > "$work/x$times.txt"
  start=$(date +%s.%N)
  "$binary" simulate --json "$work/x$times.txt" > "$work/out$times.json" 2>/dev/null
  seconds=$(echo "$(date +%s.%N) - $start" | bc)
  [ -n "$first" ] || first=$seconds
  printf '%dx: %6.2f s  ratio %.2f  %s\n' "$times" "$seconds" "$(echo "$seconds / $first" | bc -l)" \
    "$(grep -o '"mean_predict_ms": [0-9.]*' "$work/out$times.json")"
done
