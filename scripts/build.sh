#!/usr/bin/env bash
# Configures and builds Pravaha into ./build (Ninja, ccache). One configuration for every script
# (warnings are errors, tests configured), so that what one quick-start command built the other
# reuses instead of rebuilding it with other flags. Arguments: the targets to build (default:
# everything). PRAVAHA_BUILD_TYPE picks the build type (RelWithDebInfo).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="${PRAVAHA_BUILD_TYPE:-RelWithDebInfo}" \
  -DPRAVAHA_WERROR=ON -DBUILD_TESTING=ON >/dev/null
ninja -C build "$@"
