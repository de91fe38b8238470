#!/usr/bin/env bash
# Rebuilding a cluster member from snapshots (issue 25), measured: for each data size and each
# --snapshot-rate-bytes, runs the catch-up system test (tests/system/catchup_test.cpp: three
# local nodes at --memory-limit 256, one stopped while SIZE MiB of 1 MiB events are written,
# then started again) and prints a table of the catch-up time, its throughput and every node's
# peak RSS during the catch-up. Needs a built tree (system_tests, pravaha-node, pravaha).
#   scripts/bench-catchup.sh [--sizes "1024 4096"] [--rates "32M 64M 0"] [--build DIR]
# Disk: about 4 x SIZE per run under $TMPDIR (three nodes and the staged copy). A transfer so
# short that it ends before the test sees it in `cluster status` (256 MiB without a throttle:
# 2 s) fails the test's progress checks ("FAILED"); its figures still stand.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes="1024"
rates="32M 64M 0"
build=build
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --rates) rates="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-catchup: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
bin="$build/tests/system_tests"
[ -x "$bin" ] || { echo "bench-catchup: $bin not built" >&2; exit 2; }
test_name="a member rebuilt from snapshots of several times its memory limit stays within it"
echo "| data MiB | --snapshot-rate-bytes | written in s | catch-up s | MiB/s | peak RSS MiB (node 1, 2, 3) | test |"
echo "|---:|---:|---:|---:|---:|---|---|"
for size in $sizes; do
  for rate in $rates; do
    out=$(PRAVAHA_CATCHUP_MIB="$size" PRAVAHA_CATCHUP_RATE="$rate" "$bin" "$test_name" 2>&1 || true)
    written=$(sed -n 's/.*written to 2 of 3 nodes in \([0-9.]*\) s.*/\1/p' <<<"$out" | head -1)
    caught=$(sed -n 's/.*caught up with [0-9]* MiB in \([0-9.]*\) s (\([0-9]*\) MiB\/s).*/\1 \2/p' <<<"$out" | head -1)
    rss=$(sed -n 's/.*node \([0-9]\) peak RSS \([0-9]*\) MiB (limit.*/\2/p' <<<"$out" | paste -sd, -)
    verdict=$(grep -q 'All tests passed' <<<"$out" && echo passed || echo FAILED)
    echo "| $size | $rate | ${written:-?} | ${caught% *} | ${caught#* } | ${rss:-?} | $verdict |"
  done
done
