#!/usr/bin/env bash
# The system libraries NextWord builds against: OpenBLAS (matrix products), SQLite (history), pkg-config.
set -euo pipefail
if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq libopenblas-dev libsqlite3-dev libssl-dev pkg-config >/dev/null
elif [ "$(uname)" = "Darwin" ]; then
    echo "macOS: Accelerate and SQLite come with the system; nothing to install."
else
    echo "Install OpenBLAS (cblas.h, pkg-config 'openblas') and SQLite 3 development files with your package manager." >&2
    exit 1
fi
