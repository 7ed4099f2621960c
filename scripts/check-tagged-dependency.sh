#!/usr/bin/env bash
# Proves that another package can depend on NextWord by version tag and run the README's library
# snippet: clones this repository into a temporary folder (with its release tags; a clone of a
# commit that carries no tag VERSION gets one in the clone only, the repository itself is not
# touched), makes a package there that depends on it with `from:`, builds and runs it.
#
# usage: scripts/check-tagged-dependency.sh [VERSION]     (default: nextword --version's, 0.1.0)
# Needs the Swift package mirror (or network) for NextWord's own dependencies; minutes of build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=${1:-0.1.0}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

git clone -q "$root" "$work/NextWord"
if git -C "$work/NextWord" rev-parse -q --verify "refs/tags/$version" >/dev/null; then
  echo "check-tagged-dependency: the repository's tag $version ($(git -C "$work/NextWord" rev-parse --short "$version^{commit}"))"
else
  git -C "$work/NextWord" tag "$version"
  echo "check-tagged-dependency: no tag $version in the repository; the clone's HEAD tagged for this check"
fi

mkdir -p "$work/App/Sources/App"
cat > "$work/App/Package.swift" <<SWIFT
// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "App",
    platforms: [.macOS(.v13)],
    dependencies: [.package(url: "file://$work/NextWord", from: "$version")],
    targets: [.executableTarget(name: "App", dependencies: [.product(name: "NextWord", package: "NextWord")])]
)
SWIFT
# The README's snippet, as written there, with a print of what it suggests.
cat > "$work/App/Sources/App/main.swift" <<'SWIFT'
import NextWord

let (engine, _) = try SuggestionEngine.open(.init())           // models/default + the user's history
print(engine.suggest(prefix: "See you at the ").map(\.text))   // next words
print(engine.suggest(prefix: "See you tomo").map(\.text))      // completions
try engine.learn("See you at the zyxcorp offsite")             // durable when it returns
engine.incognito = true                                        // nothing learned or written
print(try engine.forget(word: "zyxcorp"))
SWIFT

cd "$work/App"
swift build 2>&1 | tail -3
# The model: named by NEXTWORD_MODEL, one of the documented ways (see README, Library).
out=$(NEXTWORD_MODEL="$work/NextWord/models/default" XDG_DATA_HOME="$work/data" "$(swift build --show-bin-path)/App")
echo "$out"
grep -q tomorrow <<<"$out" || { echo "check-tagged-dependency: no 'tomorrow' for \"See you tomo\"" >&2; exit 1; }
echo "check-tagged-dependency: ok (NextWord $version by tag)"
