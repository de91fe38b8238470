#!/usr/bin/env bash
# The TypeScript client's suite (client/typescript): installs its locked npm dependencies, builds
# it, checks that the committed build output (dist/ and the generated src/schema/) matches the
# sources and schema/pravaha.capnp, then runs `npm test` against a real pravaha-node.
# Usage: scripts/test-typescript.sh [path to pravaha-node]   (default: build/runtime/pravaha-node)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
node_bin="${1:-${PRAVAHA_NODE:-$root/build/runtime/pravaha-node}}"
command -v node >/dev/null && command -v npm >/dev/null ||
  { echo "test-typescript: node and npm are needed (scripts/install-deps.sh installs them)" >&2; exit 2; }
cd "$root/client/typescript"
# One run at a time per checkout: ctest may run this for two build trees.
exec 9>"$root/client/typescript/.npm-lock"
flock 9
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1 &&
   ! git -C "$root" diff --exit-code --stat -- client/typescript/dist client/typescript/src/schema; then
  echo "test-typescript: client/typescript/dist or src/schema is stale: run 'npm run build' there and commit" >&2
  exit 1
fi
PRAVAHA_NODE="$node_bin" npm test
