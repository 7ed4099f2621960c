#!/usr/bin/env bash
# Installs nextword under PREFIX (default /usr/local): a release binary with the Swift standard
# library and Foundation linked statically (no Swift runtime needed on the target), and the default
# model with its vocabulary and lexicon under PREFIX/share/nextword/. The binary finds them from
# its real path (/proc/self/exe), however it is started.
#
# usage: scripts/install.sh [PREFIX]
set -euo pipefail
prefix=${1:-/usr/local}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
swift build -c release --product nextword --static-swift-stdlib --scratch-path .build-install
binary=.build-install/release/nextword
share="$prefix/share/nextword"
mkdir -p "$prefix/bin" "$share/models/default"
install -m 0755 "$binary" "$prefix/bin/nextword"
# A self-contained model directory: weights, config, n-gram, the vocabulary beside them, the lexicon.
install -m 0644 models/default/config.json models/default/model.safetensors models/default/ngram.bin \
  models/default/MODEL_CARD.md "$share/models/default/"
install -m 0644 vocab/default.txt "$share/models/default/default.txt"
install -m 0644 vocab/default-lexicon.tsv "$share/models/default/lexicon.tsv"
# The lexicon holds SCOWL's words; its notice travels with every copy.
install -m 0644 vocab/SCOWL-COPYRIGHT.txt "$share/models/default/SCOWL-COPYRIGHT.txt"
install -m 0644 LICENSE "$share/LICENSE"
echo "installed $prefix/bin/nextword and $share/models/default"
