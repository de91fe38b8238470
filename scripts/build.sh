#!/usr/bin/env bash
# Configures and builds Pravaha into ./build (Ninja, ccache). Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="${PRAVAHA_BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
ninja -C build
