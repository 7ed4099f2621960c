#!/usr/bin/env bash
# Proves the install from outside the repository: installs into a temporary prefix, then, from /,
# finds `nextword` on PATH, asks it for suggestions and checks that no Swift runtime is linked.
#
# usage: scripts/check-install.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
"$root/scripts/install.sh" "$prefix" >/dev/null
cd /
if ldd "$prefix/bin/nextword" | grep -q libswift; then
  echo "check-install: the binary links a Swift runtime library" >&2; exit 1
fi
out=$(PATH="$prefix/bin:$PATH" XDG_DATA_HOME="$prefix/data" nextword suggest "See you ")
[[ -n "$out" ]] || { echo "check-install: no suggestions" >&2; exit 1; }
echo "check-install: ok ($(echo "$out" | tr '\n' ' '))"
