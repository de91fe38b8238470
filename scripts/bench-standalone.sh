#!/usr/bin/env bash
# Standalone write-path benchmark next to the disk's fsync limit, in one run.
#
# For each pass: the fio log/fsync jobs (../shared/bench/fio_log_fsync.sh, QUICK unless FULL=1),
# then a fresh standalone node on a free loopback port and pravaha-bench with
#   1 writer, one 100-byte event at a time        (latency vs the disk's fdatasync p50)
#   1 writer, 10000 events in flight              (pipelined throughput)
#   16 writers, one event at a time each          (concurrent closed loop)
# plus pravaha-log-bench (the durable log alone next to a raw write+fdatasync), which separates the
# disk's share of the latency from the messaging's.
# Prints one table with medians [min-max] over the passes and the ratio of Pravaha's p50 to the
# fdatasync p50 measured in the same pass. Durability: Pravaha acks after fsync (standalone).
#
# Usage: scripts/bench-standalone.sh [results_dir]   (PASSES=3, FULL=0, EVENTS_PIPELINED=1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-results/bench-$(date +%Y%m%d-%H%M%S)}
passes=${PASSES:-3}
pipelined=${EVENTS_PIPELINED:-1000000}
shared=${SHARED_DIR:-../shared}
mkdir -p "$out"
scripts/build.sh >/dev/null
node_pid=""
cleanup() { if [ -n "$node_pid" ]; then kill "$node_pid" 2>/dev/null || true; wait "$node_pid" 2>/dev/null || true; fi; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

for p in $(seq 1 "$passes"); do
  dir="$out/pass$p"
  mkdir -p "$dir"
  echo "pass $p/$passes: fio" >&2
  if [ "${FULL:-0}" = 1 ]; then
    "$shared/bench/fio_log_fsync.sh" "$dir/fio" > "$dir/fio.md" 2>"$dir/fio.log"
  else
    QUICK=1 "$shared/bench/fio_log_fsync.sh" "$dir/fio" > "$dir/fio.md" 2>"$dir/fio.log"
  fi
  echo "pass $p/$passes: durable log alone" >&2
  build/tests/pravaha-log-bench "$dir/logbench" 3000 180 > "$dir/log.json"
  port=$(free_port)
  rm -rf "$dir/node"
  build/runtime/pravaha-node --standalone --data-dir "$dir/node" --port "$port" --log-level warn \
    2>"$dir/node.log" &
  node_pid=$!
  for _ in $(seq 1 100); do
    if (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    sleep 0.05
  done
  ep="127.0.0.1:$port"
  echo "pass $p/$passes: pravaha-bench" >&2
  build/client/pravaha-bench write --endpoint "$ep" --stream bench/one --writers 1 --window 1 \
    --events 20000 --json "$dir/one.json" > "$dir/one.txt" 2>/dev/null
  build/client/pravaha-bench write --endpoint "$ep" --stream bench/pipe --writers 1 \
    --window 10000 --events "$pipelined" --warmup 10000 --json "$dir/pipe.json" \
    > "$dir/pipe.txt" 2>/dev/null
  build/client/pravaha-bench write --endpoint "$ep" --stream bench/conc --segments 4 \
    --writers 16 --window 1 --events 48000 --warmup 200 --json "$dir/conc.json" \
    > "$dir/conc.txt" 2>/dev/null
  kill "$node_pid"; wait "$node_pid" 2>/dev/null || true; node_pid=""
  rm -rf "$dir/node"
done

python3 - "$out" "$passes" <<'PY'
import json, os, statistics, sys
out, passes = sys.argv[1], int(sys.argv[2])
def fio_p50(path):
    for line in open(path):
        cells = [c.strip() for c in line.split('|')]
        if len(cells) > 9 and cells[1] == 'append_4k_fdatasync':
            return float(cells[8])
    return float('nan')
rows = {}
for p in range(1, passes + 1):
    d = os.path.join(out, f'pass{p}')
    fs = fio_p50(os.path.join(d, 'fio.md'))
    rows.setdefault('fdatasync p50 us (fio append_4k)', []).append(fs)
    lj = json.load(open(os.path.join(d, 'log.json')))
    rows.setdefault('local log append p50 us (RocksDB sync write, no messaging)', []).append(lj['log_append_us']['p50'])
    rows.setdefault('raw write+fdatasync p50 us (same run)', []).append(lj['raw_write_fdatasync_us']['p50'])
    for name in ('one', 'pipe', 'conc'):
        j = json.load(open(os.path.join(d, name + '.json')))
        rows.setdefault(f'{name}: events/s', []).append(j['events_per_s'])
        rows.setdefault(f'{name}: p50 us', []).append(j['latency_us']['p50'])
        rows.setdefault(f'{name}: p99 us', []).append(j['latency_us']['p99'])
        if name == 'one':
            rows.setdefault('one: p50 / fdatasync p50', []).append(j['latency_us']['p50'] / fs)
def fmt(v):
    return f'{v:.2f}' if v < 10 else f'{v:.0f}'
print('| figure (1: 1 writer one at a time; pipe: 1 writer 10000 in flight; conc: 16 writers one at a time) | median | min | max |')
print('|---|---:|---:|---:|')
summary = {}
for k, vs in rows.items():
    m = statistics.median(vs)
    summary[k] = {'median': m, 'min': min(vs), 'max': max(vs)}
    print(f'| {k} | {fmt(m)} | {fmt(min(vs))} | {fmt(max(vs))} |')
print('\nDurability: Pravaha standalone acks after fsync (RocksDB sync=true); fio rows are fdatasync per write.')
json.dump(summary, open(os.path.join(out, 'summary.json'), 'w'), indent=1)
PY
echo "results in $out" >&2
