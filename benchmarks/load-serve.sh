#!/usr/bin/env bash
# `nextword serve` under load: wrk (Debian's) on loopback replays the keystrokes of
# ../shared/data/dev/ksr-dev.txt for 200 users over 64 connections against POST /v1/suggest,
# each user typing their own lines one character per request, as a keyboard would.
#
# usage: benchmarks/load-serve.sh [SECONDS] [CONNECTIONS] [USERS] [RATE]
# Three runs: as fast as the connections go (the most suggestions a second: wrk waits for each
# answer, so its latency there is mostly queueing), then at an offered RATE suggestions a second
# in all (default 2000; each connection pauses a random, exponentially distributed time between
# requests) for the latency a keyboard sees at that load, then the same rate with 5 % of the
# requests learning the line typed so far. wrk runs on the same two cores as the server.
# Prints wrk's figures, the server's RSS, and as its last line one JSON object.
# NEXTWORD_SERVE_ARGS adds options to `nextword serve` (e.g. "--mix usercache=0" to compare engines).
set -euo pipefail
seconds=${1:-20}
connections=${2:-64}
users=${3:-200}
rate=${4:-2000}
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${NEXTWORD_SHARED:-$root/../shared}
text=$shared/data/dev/ksr-dev.txt
[[ -f $text ]] || { echo "load-serve: needs $text (../shared)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "load-serve: needs wrk (apt-get install -y wrk)" >&2; exit 2; }
cd "$root"
swift build -c release --product nextword >/dev/null
binary=$root/.build/release/nextword
work=$(mktemp -d)
server=
cleanup() { [[ -n $server ]] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# Each user's lines: every USERS-th line of the text, ASCII only (wrk's Lua slices bytes).
python3 - "$text" "$users" > "$work/lines.lua" <<'PY'
import sys
lines = [l.strip() for l in open(sys.argv[1], encoding="utf-8")]
lines = [l.encode("ascii", "ignore").decode() for l in lines if l.strip()]
users = int(sys.argv[2])
print("user_lines = {")
for u in range(users):
    mine = lines[u::users][:40] or ["hello"]
    print("  {" + ", ".join('"' + l.replace("\\", "\\\\").replace('"', '\\"') + '"' for l in mine) + "},")
print("}")
PY

cat > "$work/replay.lua" <<'LUA'
dofile(os.getenv("LINES_FILE"))
local learn_share = tonumber(os.getenv("LEARN_SHARE") or "0")
-- Mean pause between one connection's requests (ms) for an offered total rate; 0: none.
local rate = tonumber(os.getenv("RATE") or "0")
local connections = tonumber(os.getenv("CONNECTIONS") or "64")
local mean_pause = rate > 0 and 1000 * connections / rate or 0
local threads = {}
local counter = 0

function setup(thread)
  thread:set("thread_id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local function json_escape(s)
  return (s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" end
    return string.format("\\u%04x", string.byte(c))
  end))
end

local state = {}
local mine = {}
local turn = 0

function init(args)
  math.randomseed(1000 + thread_id)
  local thread_count = tonumber(os.getenv("THREADS") or "2")
  for u = 1, #user_lines do
    if (u - 1) % thread_count == thread_id then
      table.insert(mine, u)
      state[u] = { line = 1, pos = 0 }
    end
  end
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  turn = turn % #mine + 1
  local u = mine[turn]
  local s = state[u]
  local lines = user_lines[u]
  local line = lines[s.line]
  s.pos = s.pos + 1
  if s.pos > #line then
    s.pos = 0
    s.line = s.line % #lines + 1
  end
  local user = "user" .. u
  if learn_share > 0 and math.random() < learn_share then
    local body = '{"user":"' .. user .. '","session":"field","text":"' .. json_escape(line:sub(1, s.pos)) .. '"}'
    return wrk.format("POST", "/v1/learn?user=" .. user, nil, body)
  end
  local body = '{"user":"' .. user .. '","session":"field","text":"' .. json_escape(line:sub(1, s.pos)) .. '","limit":3}'
  return wrk.format("POST", "/v1/suggest?user=" .. user, nil, body)
end

function delay()
  if mean_pause == 0 then return 0 end
  return -mean_pause * math.log(1 - math.random())
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('RESULT {"requests": %d, "seconds": %.2f, "per_second": %.1f, "p50_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, "errors": %d}\n',
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, errors))
end
LUA

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$binary" serve --port "$port" --data-dir "$work/data" --learn-rate 100 --learn-burst 200 ${NEXTWORD_SERVE_ARGS:-} > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do grep -q listening "$work/serve.log" && break; sleep 0.1; done
grep listening "$work/serve.log" || { cat "$work/serve.log"; exit 1; }

rss() { awk '/^VmRSS/ {rss=$2} /^VmHWM/ {hwm=$2} END {printf "%.1f %.1f", rss/1024, hwm/1024}' "/proc/$server/status"; }
run() {  # name learn_share rate
  LINES_FILE=$work/lines.lua LEARN_SHARE=$2 RATE=$3 CONNECTIONS=$connections THREADS=2 \
    wrk -t 2 -c "$connections" -d "${seconds}s" --timeout 5s --latency -s "$work/replay.lua" "http://127.0.0.1:$port" | tee "$work/$1.txt"
  grep '^RESULT' "$work/$1.txt" | sed 's/^RESULT //'
}
echo "== warm-up (5 s)"
LINES_FILE=$work/lines.lua LEARN_SHARE=0 THREADS=2 wrk -t 2 -c "$connections" -d 5s -s "$work/replay.lua" "http://127.0.0.1:$port" > /dev/null
echo "== suggestions only, as fast as they go: $users users, $connections connections, ${seconds} s"
fastest=$(run fastest 0 0 | tail -1)
echo "== suggestions only at $rate a second offered"
suggest=$(run suggest 0 "$rate" | tail -1)
suggest_rss=$(rss)
echo "server RSS now / peak (MiB): $suggest_rss"
echo "== mixed at $rate a second offered: 5 % learns"
mixed=$(run mixed 0.05 "$rate" | tail -1)
mixed_rss=$(rss)
echo "server RSS now / peak (MiB): $mixed_rss"
files=$(find "$work/data" -name '*.sqlite' | wc -l)
cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
printf '{"benchmark": "load-serve", "cpu": "%s", "cores": %d, "users": %d, "connections": %d, "offered_rate": %d, "fastest": %s, "suggest": %s, "mixed": %s, "rss_mib": %s, "peak_rss_mib": %s, "history_files": %d}\n' \
  "$cpu" "$(nproc)" "$users" "$connections" "$rate" "$fastest" "$suggest" "$mixed" "${mixed_rss% *}" "${mixed_rss#* }" "$files"
