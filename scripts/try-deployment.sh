#!/usr/bin/env bash
# Tries docs/DEPLOYMENT.md on loopback: two `nextword serve` replicas behind nginx, which sends
# each user to one replica by a consistent hash of the `user` query parameter. Checks that every
# user's history lives on exactly one replica, that a user's suggestions come from what they
# learned wherever the request entered, and what a third replica changes (users that move).
#
# usage: scripts/try-deployment.sh        (needs nginx: apt-get install -y nginx-light)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
command -v nginx >/dev/null || { echo "try-deployment: needs nginx (apt-get install -y nginx-light)" >&2; exit 2; }
cd "$root"
swift build -c release --product nextword >/dev/null
binary=$root/.build/release/nextword
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
start_replica() {  # name port
  "$binary" serve --port "$2" --data-dir "$work/$1" --instance "$1" > "$work/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q listening "$work/$1.log" && return; sleep 0.1; done
  cat "$work/$1.log"; exit 1
}
write_nginx() {  # front-port replica-ports...
  local front=$1; shift
  {
    echo "daemon off; pid $work/nginx.pid; error_log $work/nginx-error.log; worker_processes 1;"
    echo "events { worker_connections 256; }"
    echo "http {"
    echo "  access_log off; client_body_temp_path $work/body; proxy_temp_path $work/proxy;"
    echo "  fastcgi_temp_path $work/fcgi; uwsgi_temp_path $work/uwsgi; scgi_temp_path $work/scgi;"
    echo "  upstream nextword {"
    echo "    hash \$arg_user consistent;"
    for port in "$@"; do echo "    server 127.0.0.1:$port;"; done
    echo "    keepalive 32;"
    echo "  }"
    echo "  server {"
    echo "    listen 127.0.0.1:$front;"
    echo "    client_max_body_size 64k;"
    echo "    location / { proxy_pass http://nextword; proxy_http_version 1.1; proxy_set_header Connection \"\"; }"
    echo "  }"
    echo "}"
  } > "$work/nginx.conf"
}

a=$(free_port); b=$(free_port); front=$(free_port)
start_replica a "$a"; start_replica b "$b"
write_nginx "$front" "$a" "$b"
nginx -c "$work/nginx.conf" -p "$work" &
pids+=($!)
for _ in $(seq 50); do curl -s "http://127.0.0.1:$front/healthz" >/dev/null && break; sleep 0.1; done

users=(alice bob carol dave erin frank grace heidi ivan judy)
for user in "${users[@]}"; do
  for _ in 1 2 3; do
    curl -sf -X POST "http://127.0.0.1:$front/v1/learn?user=$user" -d "{\"user\":\"$user\",\"text\":\"the ${user}plan report\"}" >/dev/null
  done
done
file_of() { printf %s "$1" | sha256sum | cut -c1-64; }
on_replica() {  # user -> a, b, both or none
  local hash; hash=$(file_of "$1")
  local where=""
  [[ -f $work/a/users/${hash:0:2}/$hash.sqlite ]] && where+="a"
  [[ -f $work/b/users/${hash:0:2}/$hash.sqlite ]] && where+="b"
  echo "${where:-none}"
}
echo "== two replicas: where each user's history lives"
bad=0
for user in "${users[@]}"; do
  where=$(on_replica "$user")
  got=$(curl -sf -X POST "http://127.0.0.1:$front/v1/suggest?user=$user" -d "{\"user\":\"$user\",\"text\":\"the ${user:0:3}\"}")
  offered=$(echo "$got" | python3 -c "import json,sys; print(json.load(sys.stdin)['suggestions'][0]['text'])")
  printf '  %-6s replica %-4s first suggestion for "the %s": %s\n' "$user" "$where" "${user:0:3}" "$offered"
  [[ $where == a || $where == b ]] || bad=1
  [[ ${offered,,} == "${user}plan" ]] || bad=1
done
count_a=$(find "$work/a" -name '*.sqlite' | wc -l); count_b=$(find "$work/b" -name '*.sqlite' | wc -l)
echo "  replica a holds $count_a users, replica b $count_b"

echo "== a third replica joins: which users move"
c=$(free_port); start_replica c "$c"
kill "$(cat "$work/nginx.pid")"; sleep 0.5
write_nginx "$front" "$a" "$b" "$c"
nginx -c "$work/nginx.conf" -p "$work" &
pids+=($!)
for _ in $(seq 50); do curl -s "http://127.0.0.1:$front/healthz" >/dev/null && break; sleep 0.1; done
moved=0
for user in "${users[@]}"; do
  curl -sf -X POST "http://127.0.0.1:$front/v1/suggest?user=$user" -d "{\"user\":\"$user\",\"text\":\"x\"}" >/dev/null
done
for replica in a b c; do
  port_var=$replica; port=${!port_var}
  echo "  replica $replica has $(curl -sf "http://127.0.0.1:$port/healthz" | python3 -c "import json,sys; print(json.load(sys.stdin)['openUsers'])") users open"
done
for user in "${users[@]}"; do
  got=$(curl -sf -X POST "http://127.0.0.1:$front/v1/suggest?user=$user" -d "{\"user\":\"$user\",\"text\":\"the ${user:0:3}\"}")
  offered=$(echo "$got" | python3 -c "import json,sys; s=json.load(sys.stdin)['suggestions']; print(s[0]['text'] if s else '')")
  if [[ ${offered,,} != "${user}plan" ]]; then
    moved=$((moved + 1))
    owner=$(curl -sf "http://127.0.0.1:$front/healthz?user=$user" | python3 -c "import json,sys; print(json.load(sys.stdin)['instance'])")
    printf '  %-6s now owned by replica %s (its /healthz through the front says so); its history stayed on replica %s: move the file (DEPLOYMENT.md)\n' "$user" "$owner" "$(on_replica "$user")"
    [[ $owner == c ]] || bad=1
  fi
done
echo "  $moved of ${#users[@]} users moved"
[[ $bad == 0 ]] && echo "try-deployment: ok" || { echo "try-deployment: FAILED" >&2; exit 1; }
