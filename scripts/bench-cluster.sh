#!/usr/bin/env bash
# Replicated write path: a 3-node Pravaha cluster on loopback against etcd 3.4 with 3 members
# (../shared/bench/etcd_raft.sh r3), interleaved in one run, PASSES times (default 3).
#
# Both acknowledge a write only after it is fsynced on a quorum (2 of 3) -- the same contract.
# Per pass: a fresh 3-node cluster (one container, so every write goes through one Raft group,
# as etcd's single group does), then pravaha-bench with
#   1 writer, one 100-byte event at a time      (latency; compare with etcd r3, 1 client, 100 B)
#   1 writer, 10000 events in flight            (pipelined throughput)
#   16 writers, one event at a time each        (compare with etcd r3, 16 clients, 100 B)
# then etcd r3 (its own script, RUN_SECONDS=6). Prints medians [min-max] and Pravaha's ratios.
#
# Usage: scripts/bench-cluster.sh [results_dir]   (PASSES=3, EVENTS_PIPELINED=1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-results/bench-cluster-$(date +%Y%m%d-%H%M%S)}
passes=${PASSES:-3}
pipelined=${EVENTS_PIPELINED:-1000000}
shared=${SHARED_DIR:-../shared}
mkdir -p "$out"
scripts/build.sh >/dev/null
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

for p in $(seq 1 "$passes"); do
  dir="$out/pass$p"
  mkdir -p "$dir"
  ports=("$(free_port)" "$(free_port)" "$(free_port)")
  peers="1@127.0.0.1:${ports[0]},2@127.0.0.1:${ports[1]},3@127.0.0.1:${ports[2]}"
  for i in 1 2 3; do
    rm -rf "$dir/node$i"
    build/runtime/pravaha-node --node-id "$i" --peers "$peers" --containers 1 \
      --port "${ports[$((i - 1))]}" --data-dir "$dir/node$i" --log-level warn 2>"$dir/node$i.log" &
    pids+=($!)
  done
  ep="127.0.0.1:${ports[0]}"
  for _ in $(seq 1 200); do
    if build/client/pravaha --endpoint "$ep" scope create bench >/dev/null 2>&1; then break; fi
    sleep 0.1
  done
  echo "pass $p/$passes: pravaha cluster" >&2
  build/client/pravaha-bench write --endpoint "$ep" --stream bench/one --writers 1 --window 1 \
    --events 20000 --json "$dir/one.json" > "$dir/one.txt" 2>/dev/null
  build/client/pravaha-bench write --endpoint "$ep" --stream bench/pipe --writers 1 \
    --window 10000 --events "$pipelined" --warmup 10000 --json "$dir/pipe.json" \
    > "$dir/pipe.txt" 2>/dev/null
  build/client/pravaha-bench write --endpoint "$ep" --stream bench/conc --segments 4 \
    --writers 16 --window 1 --events 48000 --warmup 200 --json "$dir/conc.json" \
    > "$dir/conc.txt" 2>/dev/null
  cleanup
  rm -rf "$dir"/node?
  echo "pass $p/$passes: etcd r3" >&2
  RUN_SECONDS=${RUN_SECONDS:-6} "$shared/bench/etcd_raft.sh" "$dir/etcd" r3 > "$dir/etcd.txt" 2>"$dir/etcd.log"
done

python3 - "$out" "$passes" <<'PY'
import json, os, statistics, sys
out, passes = sys.argv[1], int(sys.argv[2])
rows = {}
def add(name, v):
    rows.setdefault(name, []).append(v)
for p in range(1, passes + 1):
    d = os.path.join(out, f'pass{p}')
    etcd = {}
    path = os.path.join(d, 'etcd', 'etcd_results.jsonl')
    if os.path.exists(path):
        for line in open(path):
            j = json.loads(line)
            if j.get('mode') == 'r3' and j.get('size') == 100:
                etcd[j['clients']] = j
    one = json.load(open(os.path.join(d, 'one.json')))
    pipe = json.load(open(os.path.join(d, 'pipe.json')))
    conc = json.load(open(os.path.join(d, 'conc.json')))
    add('pravaha 1 writer, 1 at a time: events/s', one['events_per_s'])
    add('pravaha 1 writer, 1 at a time: p50 us', one['latency_us']['p50'])
    add('pravaha 1 writer, 1 at a time: p99 us', one['latency_us']['p99'])
    if 1 in etcd:
        add('etcd r3 1 client: puts/s', etcd[1]['rps'])
        add('etcd r3 1 client: p50 us', etcd[1]['p50_ms'] * 1000)
        add('etcd r3 1 client: p99 us', etcd[1]['p99_ms'] * 1000)
        add('ratio p50 pravaha / etcd (1 at a time)', one['latency_us']['p50'] / (etcd[1]['p50_ms'] * 1000))
    add('pravaha 1 writer, 10000 in flight: events/s', pipe['events_per_s'])
    add('pravaha 16 writers, 1 at a time: events/s', conc['events_per_s'])
    add('pravaha 16 writers, 1 at a time: p50 us', conc['latency_us']['p50'])
    if 16 in etcd:
        add('etcd r3 16 clients: puts/s', etcd[16]['rps'])
        add('etcd r3 16 clients: p50 us', etcd[16]['p50_ms'] * 1000)
        add('ratio throughput pravaha / etcd (16 concurrent)', conc['events_per_s'] / etcd[16]['rps'])
print('Durability: both acknowledge after the write is fsynced on 2 of 3 replicas (loopback, one disk).')
print(f'| figure ({passes} passes) | median | min | max |')
print('|---|---:|---:|---:|')
summary = {}
for name, vals in rows.items():
    med = statistics.median(vals)
    summary[name] = {'median': med, 'min': min(vals), 'max': max(vals), 'values': vals}
    fmt = (lambda x: f'{x:.2f}') if 'ratio' in name else (lambda x: f'{x:,.0f}')
    print(f'| {name} | {fmt(med)} | {fmt(min(vals))} | {fmt(max(vals))} |')
json.dump(summary, open(os.path.join(out, 'summary.json'), 'w'), indent=1)
PY
