#!/usr/bin/env bash
# Keystroke savings on the dev texts BENCHMARKS.md tabulates: ksr-dev; email, letters, newspaper
# and spam (each genre's ../shared/data/dev/masc files in one file, sorted by name); their sum;
# and the first 12,000 words of the other fourteen genres' files in one file. The genre files are
# made in a temporary folder (never in the repository) and removed afterwards.
#
# usage: benchmarks/dev-texts-ksr.sh [--model DIR] [simulate options...]   e.g. --learn, --mix cache=0
# Last line: one JSON object with each figure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${NEXTWORD_SHARED:-$root/../shared}
nextword=${NEXTWORD:-$root/.build/release/nextword}
[[ -x $nextword ]] || { (cd "$root" && swift build -c release --product nextword >/dev/null); }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
masc=$shared/data/dev/masc
genres=(email letters newspaper spam)
for genre in "${genres[@]}"; do
    cat "$masc/$genre--"*.txt > "$work/$genre.txt"
done
find "$masc" -maxdepth 1 -name '*.txt' | sort | grep -v -E '/(email|letters|newspaper|spam)--' | xargs cat > "$work/other.txt"

ksr() {  # FILE [extra simulate options]: prints the KSR
    local file=$1; shift
    "$nextword" simulate "$@" --json "$file" | python3 -c 'import json, sys; print("%.2f" % json.load(sys.stdin)["KSR"])'
}
# Two at a time: the machines have two cores.
ksr "$shared/data/dev/ksr-dev.txt" "$@" > "$work/ksr-dev.out" &
ksr "$work/email.txt" "$@" > "$work/email.out" &
wait
ksr "$work/letters.txt" "$@" > "$work/letters.out" &
ksr "$work/newspaper.txt" "$@" > "$work/newspaper.out" &
wait
ksr "$work/spam.txt" "$@" > "$work/spam.out" &
ksr "$work/other.txt" --max-words 12000 "$@" > "$work/other.out" &
wait
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
names = ["ksr-dev", "email", "letters", "newspaper", "spam"]
values = {name: float(open(f"{work}/{name}.out").read()) for name in names + ["other"]}
total = sum(values[name] for name in names)
print(" | ".join(f"{name} {values[name]:.2f}" for name in names) + f" | sum {total:.2f} | other 14 {values['other']:.2f}")
print(json.dumps({**{name.replace("-", "_"): values[name] for name in names}, "sum": round(total, 2),
                  "other14": values["other"]}))
PY
