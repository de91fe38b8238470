#!/usr/bin/env bash
# ctest `packaging.consumer`: installs this build tree into a temporary prefix (cmake --install),
# checks that none of our warning or sanitizer flags reach the exported CMake package, builds
# examples/consumer against the prefix with find_package(Pravaha) as an application would, and
# runs it against the installed pravaha-node (standalone, ports it picks, stopped at the end).
# Usage: scripts/test-consumer.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: test-consumer.sh BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
node_pid=""
cleanup() {
  if [ -n "$node_pid" ]; then kill "$node_pid" 2>/dev/null || true; wait "$node_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log"
for f in bin/pravaha-node bin/pravaha bin/pravaha-bench lib/cmake/Pravaha/PravahaConfig.cmake \
         lib/cmake/Pravaha/PravahaConfigVersion.cmake lib/cmake/Pravaha/FindCAF.cmake \
         include/pravaha/client/client.hpp include/pravaha/client/actor_api.hpp \
         share/bash-completion/completions/pravaha; do
  [ -e "$prefix/$f" ] || { echo "test-consumer: the install lacks $f"; exit 1; }
done
# The installed completion is the one the installed CLI prints.
if ! diff <("$prefix/bin/pravaha" completion bash) "$prefix/share/bash-completion/completions/pravaha" >/dev/null; then
  echo "test-consumer: the installed bash completion differs from \`pravaha completion bash\`"
  exit 1
fi
if grep -nE -- '-W(all|extra|error|shadow)|-fsanitize|pravaha_options' "$prefix"/lib/cmake/Pravaha/*.cmake; then
  echo "test-consumer: the exported package carries this build's own flags (above)"
  exit 1
fi
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$src/examples/consumer" -B "$tmp/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/configure.log" || { cat "$tmp/configure.log"; exit 1; }
# A version the package does not satisfy is refused.
if cmake -S "$src/examples/consumer" -B "$tmp/build-v" -DCMAKE_PREFIX_PATH="$prefix" \
     -DPRAVAHA_CONSUMER_VERSION=9.0 >"$tmp/configure-v.log" 2>&1; then
  echo "test-consumer: find_package(Pravaha 9.0) was satisfied by this 0.x package"; exit 1
fi
cmake --build "$tmp/build" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
"$prefix/bin/pravaha-node" --standalone --data-dir "$tmp/data" --port 0 --rpc-port off \
  --metrics-port off >"$tmp/node.log" 2>&1 &
node_pid=$!
endpoint=""
for _ in $(seq 1 100); do
  endpoint=$(sed -nE 's/.*node started .*endpoint=([0-9.]+:[0-9]+).*/\1/p' "$tmp/node.log" | head -1)
  [ -n "$endpoint" ] && break
  sleep 0.1
done
[ -n "$endpoint" ] || { echo "test-consumer: the node did not start"; cat "$tmp/node.log"; exit 1; }
out=$("$tmp/build/pravaha-consumer" "$endpoint" demo/events)
if [ "$out" != "hello from an installed Pravaha" ]; then
  echo "test-consumer: the consumer printed '$out'"; exit 1
fi
echo "test-consumer: built against $prefix and read back: $out"
