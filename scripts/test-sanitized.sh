#!/usr/bin/env bash
# The test suite under AddressSanitizer, in a build folder of its own (first build about 6 min on
# 2 cores, later ones about 1). Heap damage that a plain run survives, or shows only by chance
# tests later (CI's "malloc(): unaligned fastbin chunk detected"), stops the run at its cause.
# Usage: scripts/test-sanitized.sh [XCTest filter, e.g. NextWordTests.LearningQueueTests]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${NEXTWORD_ASAN_BUILD:-.build-asan}
swift build --build-tests --sanitize=address --build-path "$build"
# Leaks are not the question here (dispatch keeps per-thread caches to the end).
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:halt_on_error=1} "$build/debug/NextWordPackageTests.xctest" "$@"
