#!/usr/bin/env bash
# NextWord against PyTorch's reference LSTM (../shared/tools/peers/torch_lm.py) on the brown-lm
# configuration (2x256 tied LSTM, batch 32, BPTT 35, full softmax), same data and threads, same run;
# both sides evaluate brown-lm's test.txt as 10 streams of 35-step segments (PyTorch's batchify).
#
# usage: benchmarks/compare-pytorch.sh [THREADS] [TRAIN_MINUTES]
# Prints both sides, the ratios, and as its last line one JSON object with train_speedup
# (ours / PyTorch tokens/s), eval_speedup and step_latency_ratio (ours / PyTorch, lower is better).
set -euo pipefail
threads=${1:-2}
minutes=${2:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${NEXTWORD_SHARED:-$root/../shared}
data=$shared/data/brown-lm
peer=$shared/tools/peers/torch_lm.py
[[ -f $peer && -f $data/train.txt ]] || { echo "compare-pytorch: needs $peer and $data (../shared)" >&2; exit 2; }
venv=$root/benchmarks/.venv
if [[ ! -x $venv/bin/python ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "torch==2.13.0+cpu" 2>/dev/null || "$venv/bin/pip" install -q torch
fi
cd "$root"
swift build -c release --product nextword >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== PyTorch $("$venv/bin/python" -c 'import torch; print(torch.__version__)'), $threads threads, ${minutes} min of training"
"$venv/bin/python" "$peer" --data "$data" --tied --dropout 0.4 --epochs 1 --threads "$threads" \
  --max-minutes "$minutes" --save "$work/torch.pt" | tee "$work/torch.log"
torch_json=$(grep '"summary"' "$work/torch.log")

# Batch-1 latency is a one-thread job (the engine steps on one BLAS thread): time PyTorch at one
# thread too and compare against its better figure. The training part of this run is cut short.
echo "== PyTorch, 1 thread, batch-1 step latency only"
"$venv/bin/python" "$peer" --data "$data" --tied --dropout 0.4 --epochs 1 --threads 1 \
  --max-minutes 0.02 --save "$work/torch1.pt" > "$work/torch1.log"
torch1_json=$(grep '"summary"' "$work/torch1.log")
echo "$torch1_json"

echo "== NextWord, $threads threads"
batches=$(python3 -c "print(max(20, int($minutes * 60 * 5000 / 1120)))")
.build/release/nextword bench --json --model models/brown-lm --threads "$threads" --train-batches "$batches" \
  --characters 20000 --text "$shared/data/dev/ksr-dev.txt" --eval-text "$data/test.txt" | tee "$work/ours.json"

python3 - "$torch_json" "$(cat "$work/ours.json")" "$torch1_json" <<'PY'
import json, sys
t, o, t1 = json.loads(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3])
# PyTorch's better batch-1 latency of its THREADS-thread and one-thread runs.
best = min((t, t1), key=lambda r: r["step_latency_ms_p50"])
rows = [("train tokens/s", t["train_tokens_per_s"], o["train_tokens_per_s"]),
        ("eval tokens/s", t["eval_tokens_per_s"], o["eval_tokens_per_s"]),
        (f"step p50 ms (torch {best['threads']}t)", best["step_latency_ms_p50"], o["step_latency_p50_ms"]),
        (f"step p99 ms (torch {best['threads']}t)", best["step_latency_ms_p99"], o["step_latency_p99_ms"])]
print(f"{'':24}{'PyTorch':>12}{'NextWord':>12}{'ratio':>8}")
for name, a, b in rows:
    print(f"{name:24}{a:>12.3f}{b:>12.3f}{b / a:>8.2f}")
print(json.dumps({"threads": t["threads"], "machine": o["machine"]["cpu"],
                  "train_speedup": round(o["train_tokens_per_s"] / t["train_tokens_per_s"], 3),
                  "eval_speedup": round(o["eval_tokens_per_s"] / t["eval_tokens_per_s"], 3),
                  "step_latency_ratio": round(o["step_latency_p50_ms"] / best["step_latency_ms_p50"], 3),
                  "torch_step_threads": best["threads"]}))
PY
