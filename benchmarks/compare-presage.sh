#!/usr/bin/env bash
# NextWord against Presage (Debian's n-gram predictor) on the same typing replay: keystroke savings
# and time per prediction, both through the protocol of ../shared/docs/KSR.md.
#
# usage: benchmarks/compare-presage.sh [--learn] [TEXT]
# Needs: apt-get install -y presage libpresage-dev libicu-dev g++ (for ../shared/tools/presage-ksr).
set -euo pipefail
learn=()
[[ ${1:-} == --learn ]] && { learn=(--learn); shift; }
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${NEXTWORD_SHARED:-$root/../shared}
text=${1:-$shared/data/dev/ksr-dev.txt}
cd "$root"
swift build -c release --product nextword >/dev/null
echo "== Presage (3-gram on ../shared/data/corpus)"
presage=$("$shared/tools/presage-ksr" "${learn[@]}" "$text" "$shared"/data/corpus/*.txt | grep '^{')
echo "$presage"
echo "== NextWord (models/default)"
ours=$(.build/release/nextword simulate "${learn[@]}" --json "$text")
echo "$ours"
python3 - "$presage" "$ours" <<'PY'
import json, sys
p, o = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{'':22}{'Presage':>10}{'NextWord':>10}")
print(f"{'KSR':22}{p['KSR']:>10.2f}{o['KSR']:>10.2f}")
print(f"{'ms per prediction':22}{p['mean_predict_ms']:>10.3f}{o['mean_predict_ms']:>10.3f}")
print(json.dumps({"ksr_presage": p["KSR"], "ksr_nextword": o["KSR"], "ksr_gain": round(o["KSR"] - p["KSR"], 2),
                  "predict_ms_ratio": round(o["mean_predict_ms"] / p["mean_predict_ms"], 3)}))
PY
