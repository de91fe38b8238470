#!/usr/bin/env bash
# Fuzzes the RPC gateway for a bounded time (libFuzzer, clang, ASan + UBSan): every input is what
# a client sends on one connection to a real in-process node (tests/fuzz/gateway_fuzz.cpp); then
# the data port's frame codec for a quarter of that time (tests/fuzz/frames_fuzz.cpp).
# Seeds are the bytes Cap'n Proto's own client sends for typical sessions. Fails on any finding
# (crash, sanitizer report, a connection the gateway keeps open or stops reading).
# Usage: FUZZ_SECONDS=120 scripts/fuzz-ci.sh [build dir, default build-fuzz]
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-build-fuzz}"
seconds="${FUZZ_SECONDS:-120}"
command -v clang++ >/dev/null || { echo "fuzz-ci: clang++ is needed (Debian package clang)" >&2; exit 2; }
# The same tree serves CI's sanitizer tests (.ci/run builds the rest of it and runs ctest there).
# -O2, not Release's -O3: quicker to compile (one of the heavier files: 28 s instead of 34 s).
CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DBUILD_TESTING=ON \
  -DPRAVAHA_FUZZ=ON -DPRAVAHA_TYPESCRIPT_TESTS=OFF -DPRAVAHA_SANITIZERS=address,undefined \
  -DPRAVAHA_WERROR=ON >/dev/null
ninja -C "$dir" pravaha-gateway-fuzz pravaha-frames-fuzz

# Runs fuzzer $1 (tests/fuzz) for $2 seconds over its seeds and a kept corpus; inputs up to $3 bytes.
run_fuzzer() {
  local name=$1 secs=$2 max_len=$3
  local fuzz="$dir/tests/fuzz/pravaha-$name-fuzz"
  local seeds="$dir/fuzz-seeds/$name" corpus="$dir/fuzz-corpus/$name"
  local findings="$dir/fuzz-findings/$name"
  rm -rf "$seeds" "$findings" && mkdir -p "$seeds" "$corpus" "$findings"
  "$fuzz" -make_seeds="$seeds"
  echo "fuzz-ci: $name: $(ls "$seeds" | wc -l) seeds, $secs s"
  # Not under `set -e` here: a finding makes the fuzzer exit non-zero, and the script must still
  # get to the message below (with pipefail it used to stop at this pipeline without saying why).
  set +e
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$fuzz" -max_total_time="$secs" -timeout=30 -rss_limit_mb=4096 -max_len="$max_len" \
    -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" "$seeds" 2>&1 |
    grep -vE '^#[0-9]+\s+(NEW|REDUCE|pulse)|NEW_FUNC|# Uses:|dictionary' | tail -12
  local status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -ne 0 ] || [ -n "$(ls -A "$findings")" ]; then
    echo "fuzz-ci: $name: finding(s) in $findings (exit $status); replay: $fuzz FILE" >&2
    exit 1
  fi
  echo "fuzz-ci: $name: no findings in $secs s"
}

run_fuzzer gateway "$seconds" 16384
# The frame codec is small and quick to cover: a quarter of the time.
run_fuzzer frames $(( (seconds + 3) / 4 )) 4096
