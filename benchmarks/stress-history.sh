#!/usr/bin/env bash
# Stress test of the history store: N writer processes learn M lines each into one history file at
# the same time, through NextWord's own HistoryStore (the test binary re-run as a child on
# ReliabilityChildTests/testChildEntry). Then a verifier process counts the lines present.
#
#   benchmarks/stress-history.sh [N writers, default 4] [M lines each, default 200] [S seconds]
#
# With S > 0, writer 1 is stopped (SIGSTOP) for S seconds half a second after the start, in the
# middle of its writes (give them enough lines, e.g. 4 3000 5), and a REPL's key path (a suggestion per keystroke, each line queued to
# the learning queue) types on the same history meanwhile: it prints the slowest key-path call,
# which must stay under 50 ms, and how many of its lines were learned.
#
# Prints "writers W, lines written X, lines present Y, lost Z" and exits non-zero when a line was
# lost, a writer failed (any error, "database is locked" included) or the file is not intact.
# Builds the debug test binary first (swift build --build-tests); set NEXTWORD_SKIP_BUILD=1 to skip.
set -euo pipefail

writers=${1:-4}
lines=${2:-200}
stop_seconds=${3:-0}
cd "$(dirname "$0")/.."

if [[ -z "${NEXTWORD_SKIP_BUILD:-}" ]]; then
    swift build --build-tests >&2
fi
binary="$(swift build --show-bin-path)/NextWordPackageTests.xctest"
[[ -x "$binary" ]] || { echo "stress-history: no test binary at $binary" >&2; exit 2; }
entry="NextWordTests.ReliabilityChildTests/testChildEntry"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db="$work/history.sqlite"

start=$(date +%s.%N)
pids=()
for ((w = 1; w <= writers; w++)); do
    NEXTWORD_CHILD_MODE=write NEXTWORD_CHILD_DB="$db" NEXTWORD_CHILD_WRITER=$w NEXTWORD_CHILD_LINES=$lines \
        "$binary" "$entry" >"$work/writer-$w.out" 2>"$work/writer-$w.err" &
    pids+=($!)
done
keypath_pid=""
if ((stop_seconds > 0)); then
    NEXTWORD_CHILD_MODE=keypath NEXTWORD_CHILD_DB="$db" NEXTWORD_CHILD_SECONDS=$((stop_seconds + 2)) \
        "$binary" "$entry" >"$work/keypath.out" 2>"$work/keypath.err" &
    keypath_pid=$!
    sleep 0.5
    if kill -STOP "${pids[0]}" 2>/dev/null; then
        echo "writer 1 stopped for ${stop_seconds}s" >&2
        sleep "$stop_seconds"
        kill -CONT "${pids[0]}"
    else
        echo "writer 1 had finished before it could be stopped: give the writers more lines" >&2
        failed=1
    fi
fi
failed=0
for ((w = 1; w <= writers; w++)); do
    if ! wait "${pids[$((w - 1))]}"; then
        echo "writer $w exited with an error:" >&2
        tail -5 "$work/writer-$w.err" >&2
        failed=1
    fi
done
end=$(date +%s.%N)
keypath_slow=0
if [[ -n "$keypath_pid" ]]; then
    wait "$keypath_pid" || true
    keypath=$(grep -E '^keypath ' "$work/keypath.out" || true)
    if [[ -z "$keypath" ]]; then
        echo "the key path reported nothing:" >&2
        tail -5 "$work/keypath.err" >&2
        failed=1
    else
        echo "$keypath"
        # keypath calls C max_ms M p99_ms P lines L learned K
        read -r _ _ _ max_ms _ _ _ keypath_lines _ keypath_learned <<<"$keypath"
        if awk -v m="$max_ms" 'BEGIN { exit !(m > 50) }' || ((keypath_learned != keypath_lines)); then keypath_slow=1; fi
    fi
fi

written=0
errors=0
for ((w = 1; w <= writers; w++)); do
    report=$(grep -E '^wrote [0-9]+ errors [0-9]+$' "$work/writer-$w.out" || true)
    if [[ -z "$report" ]]; then
        echo "writer $w reported nothing" >&2
        failed=1
        continue
    fi
    read -r _ x _ e <<<"$report"
    written=$((written + x))
    errors=$((errors + e))
    grep -E '^error: ' "$work/writer-$w.out" >&2 || true
done

verify=$(NEXTWORD_CHILD_MODE=verify NEXTWORD_CHILD_DB="$db" NEXTWORD_CHILD_WRITERS=$writers NEXTWORD_CHILD_LINES=$lines \
    "$binary" "$entry" 2>"$work/verify.err" | grep -E '^present ' || true)
if [[ -z "$verify" ]]; then
    echo "the verifier reported nothing:" >&2
    tail -5 "$work/verify.err" >&2
    exit 1
fi
# present Y expected X together T integrity STATUS
read -r _ present _ expected _ together _ integrity <<<"$verify"
lost=$((written - present))
seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
rate=$(awk -v n="$written" -v s="$seconds" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')

echo "writers $writers, lines written $written, lines present $present, lost $lost"
echo "expected $expected, shared word count $together, writer errors $errors, integrity $integrity"
echo "wall ${seconds}s for the writers (${rate} committed lines/s in all)"

if ((lost > 0 || errors > 0 || failed != 0 || keypath_slow != 0 || together != written || present != expected)) || [[ "$integrity" != "ok" ]]; then
    exit 1
fi
