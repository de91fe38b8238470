#!/usr/bin/env bash
# Quick start command 1: installs what is missing, builds, and starts a standalone node in the
# foreground (data under ./data, endpoint 127.0.0.1:9090). Extra arguments go to pravaha-node.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh pravaha-node pravaha  # what the tour needs; scripts/test.sh builds the rest
exec build/runtime/pravaha-node --standalone --data-dir ./data --port 9090 "$@"
