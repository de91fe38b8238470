#!/usr/bin/env bash
# Static checks run by CI: formatting, module layering, and banned calls (design.md section 3).
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
files=$(git ls-files "*.hpp" "*.cpp")
if ! command -v clang-format >/dev/null; then
  # Skipping it silently would pass unformatted code (scripts/install-deps.sh installs it).
  echo "lint: clang-format is missing (Debian package clang-format; scripts/install-deps.sh)"
  status=1
elif [ -n "$files" ]; then
  if ! clang-format --dry-run --Werror $files; then
    echo "lint: clang-format found unformatted files (run: clang-format -i \$(git ls-files '*.hpp' '*.cpp'))"
    status=1
  fi
fi
# Layering: another module includes only a module's public headers (schema is all public; tests
# may include anything). Exceptions, each with its reason: the RPC gateway and the simulator drive
# the client's writer and reader actors (client/internal.hpp) until the actor client API
# (issue 20) makes them public.
declare -A public_headers=(
  [storage]="storage/storage.hpp"
  [actors]="actors/actors.hpp"
  [client]="client/client.hpp client/actor_api.hpp"
  [runtime]="runtime/runtime.hpp runtime/gateway.hpp runtime/transport/transport.hpp runtime/transport/out_buffer.hpp"
  [sim]="sim/world.hpp"
)
allowed_internal="runtime/gateway_rpc.hpp:client/internal.hpp sim/:client/internal.hpp"
for mod in storage actors client runtime sim; do
  hits=$(git grep -n "#include \"$mod/" -- ':!'"$mod"'/' ':!tests/' || true)
  bad=""
  while IFS= read -r hit; do
    [ -z "$hit" ] && continue
    file=${hit%%:*}
    header=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"$hit")
    ok=0
    for pub in ${public_headers[$mod]}; do [ "$header" = "$pub" ] && ok=1; done
    for pair in $allowed_internal; do
      [[ "$file" == ${pair%%:*}* && "$header" == "${pair#*:}" ]] && ok=1
    done
    [ $ok = 0 ] && bad+="$hit"$'\n'
  done <<<"$hits"
  if [ -n "$bad" ]; then echo "lint: internal header of $mod included from outside:"; printf '%s' "$bad"; status=1; fi
done
# storage and schema must not depend on actors, runtime or client.
bad=$(git grep -nE '#include "(actors|runtime|client)/' -- schema storage || true)
if [ -n "$bad" ]; then echo "lint: lower module includes a higher one:"; echo "$bad"; status=1; fi
bad=$(git grep -nE '#include "(runtime|client)/' -- actors || true)
if [ -n "$bad" ]; then echo "lint: actors include runtime or client:"; echo "$bad"; status=1; fi
# Generated capnp headers of persisted formats stay inside schema/ (codecs hide them); the public
# RPC interface (pravaha.capnp) is used by the gateway and by tests acting as other languages.
# Cap'n Proto's own RPC protocol (capnp/rpc.capnp.h) is the gateway's to use.
bad=$(git grep -nE '#include .*\.capnp\.h' -- ':!schema/' | grep -v '"schema/pravaha.capnp.h"' | grep -v '^runtime/gateway.cpp:.*<capnp/rpc.capnp.h>' || true)
if [ -n "$bad" ]; then echo "lint: capnp generated header outside schema/:"; echo "$bad"; status=1; fi
bad=$(git grep -n '#include "schema/pravaha.capnp.h"' -- ':!runtime/gateway_rpc.hpp' ':!tests/' ':!scripts/' || true)
if [ -n "$bad" ]; then echo "lint: the RPC interface's generated code outside the gateway:"; echo "$bad"; status=1; fi
# Determinism: no wall clocks, OS randomness, threads or sleeps in storage/ and actors/.
bad=$(git grep -nE 'std::chrono::(system|steady|high_resolution)_clock::now|random_device|std::thread|sleep_for|usleep|\bsleep\(' -- schema storage actors || true)
if [ -n "$bad" ]; then echo "lint: banned call in deterministic code:"; echo "$bad"; status=1; fi
scripts/determinism-lint.sh || status=1
exit $status
