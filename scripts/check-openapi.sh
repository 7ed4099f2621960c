#!/usr/bin/env bash
# An outside check of `nextword serve` against docs/openapi.yaml: schemathesis (from PyPI, in
# its own virtual environment under benchmarks/.venv-schemathesis) generates requests from the
# spec, valid and invalid, and checks every answer's status, content type and schema, 5xx
# answers, and 405 for undeclared methods.
#
# usage: scripts/check-openapi.sh [MAX_EXAMPLES]   (default 200 per operation)
set -euo pipefail
examples=${1:-200}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv=$root/benchmarks/.venv-schemathesis
if [[ ! -x $venv/bin/schemathesis ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q schemathesis
fi
swift build -c release --product nextword >/dev/null
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
.build/release/nextword serve --port "$port" --data-dir "$work/data" --learn-burst 100000 > "$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q listening "$work/serve.log" && break; sleep 0.1; done
"$venv/bin/schemathesis" --version
"$venv/bin/schemathesis" run docs/openapi.yaml --url "http://127.0.0.1:$port" --max-examples "$examples"
if grep -q "unexpected error" "$work/serve.log"; then
  echo "check-openapi: the server logged unexpected errors:" >&2
  grep "unexpected error" "$work/serve.log" | head >&2
  exit 1
fi
