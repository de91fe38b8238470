#!/usr/bin/env bash
# Thousands of concurrent connections against one standalone node: C++ clients in many
# processes (`pravaha-bench connect`, each client its own actor system and TCP connection) and
# Cap'n Proto RPC connections from the TypeScript client (client/typescript/bench/
# rpc-connections.mjs), with and without idle writers. Each phase runs on a fresh node: once
# every client is open and idle, the node's resident memory, descriptors and established
# connections are sampled; then every client makes one more call (it must succeed) and closes.
# Prints a table of the phases with the node's memory per idle connection and per idle writer.
#
# Usage: scripts/bench-connections.sh [results_dir]
# Environment: BUILD_DIR (build), HOLD (30; seconds each client stays idle), QUICK=1 (small
#   counts, for a smoke run). Needs node and npm for the RPC phases (the TypeScript client's
#   dependencies are installed with npm ci when missing; its dist/ is committed).
# A C++ client takes about five threads (CAF: worker, multiplexer, clock and two service actors),
# so the C++ phases stay at 4,000 clients: kernel.pid_max (32,768 on Debian) bounds the threads.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-results/connections-$(date +%Y%m%d-%H%M%S)}
build=${BUILD_DIR:-build}
hold=${HOLD:-30}
mkdir -p "$out"
out=$(cd "$out" && pwd)
bench=$build/client/pravaha-bench
node_bin=$build/runtime/pravaha-node
ts=client/typescript
if [ ! -d "$ts/node_modules/capnp-es" ]; then (cd "$ts" && npm ci --silent); fi
if [ "${QUICK:-0}" = 1 ]; then
  # name cpp_procs cpp_clients_per_proc cpp_writers_per_client rpc_clients rpc_writers_per_client
  phases="cpp 2 50 0 0 0|rpc 0 0 0 200 0|mixed 2 50 0 200 0|cppw 1 20 5 0 0|rpcw 0 0 0 20 5"
else
  phases="cpp 20 200 0 0 0|rpc 0 0 0 10000 0|mixed 20 200 0 10000 0|cppw 10 100 10 0 0|rpcw 0 0 0 1000 10"
fi

node_pid=
clients=()
cleanup() {
  local p
  for p in "${clients[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "$node_pid" ]; then kill "$node_pid" 2>/dev/null || true; wait "$node_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

echo "phase,cpp_clients,cpp_writers,rpc_clients,rpc_writers,failed,node_rss_base_kib,node_rss_held_kib,node_fds_held,established_held,setup_s" > "$out/phases.csv"
IFS='|' read -r -a list <<< "$phases"
for spec in "${list[@]}"; do
  read -r name procs per writers rpc rpcw <<< "$spec"
  dir="$out/$name"; mkdir -p "$dir"
  port=$(free_port); rport=$(free_port)
  rm -rf "$dir/node"
  "$node_bin" --standalone --data-dir "$dir/node" --port "$port" --rpc-port "$rport" \
    --log-level warn 2>"$dir/node.log" &
  node_pid=$!
  for _ in $(seq 1 100); do
    "$build/client/pravaha" --endpoint "127.0.0.1:$port" scope create bench >/dev/null 2>&1 && break
    sleep 0.1
  done
  "$build/client/pravaha" --endpoint "127.0.0.1:$port" stream create bench/conn --segments 4 >/dev/null
  sleep 1
  base=$(rss_kib "$node_pid")
  echo "phase $name: $((procs * per)) C++ clients ($writers writers each), $rpc RPC clients ($rpcw writers each)" >&2
  clients=(); files=()
  t0=$(date +%s.%N)
  for i in $(seq 1 "$procs"); do
    "$bench" connect --endpoint "127.0.0.1:$port" --stream bench/conn --clients "$per" \
      --client-writers "$writers" --hold "$hold" > "$dir/cpp$i.txt" 2>&1 &
    clients+=($!); files+=("$dir/cpp$i.txt")
  done
  if [ "$rpc" -gt 0 ]; then
    node "$ts/bench/rpc-connections.mjs" --address "127.0.0.1:$rport" --stream bench/conn \
      --clients "$rpc" --client-writers "$rpcw" --hold "$hold" > "$dir/rpc.txt" 2>&1 &
    clients+=($!); files+=("$dir/rpc.txt")
  fi
  # Wait until every process holds its clients (or has ended), then sample the node.
  for _ in $(seq 1 $((hold * 10))); do
    n=0
    for f in "${files[@]}"; do grep -q '^holding\|^connect\|error' "$f" 2>/dev/null && n=$((n + 1)); done
    [ "$n" = "${#files[@]}" ] && break
    sleep 0.1
  done
  setup=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)")
  sleep 2
  held=$(rss_kib "$node_pid")
  fds=$(ls "/proc/$node_pid/fd" | wc -l)
  est=$(ss -Htn state established "( sport = :$port or sport = :$rport )" | wc -l)
  failed=0
  for i in "${!clients[@]}"; do
    wait "${clients[$i]}" || failed=$((failed + 1))
  done
  clients=()
  for f in "${files[@]}"; do
    grep -q '^connect .*failed=0' "$f" || { echo "  $f:"; cat "$f"; } >&2
  done
  echo "$name,$((procs * per)),$((procs * per * writers)),$rpc,$((rpc * rpcw)),$failed,$base,$held,$fds,$est,$setup" >> "$out/phases.csv"
  kill "$node_pid"; wait "$node_pid" 2>/dev/null || true; node_pid=
  rm -rf "$dir/node"
done

python3 - "$out/phases.csv" <<'PY' | tee "$out/summary.md"
import csv, sys
rows = {r['phase']: r for r in csv.DictReader(open(sys.argv[1]))}
def delta(r):
    return (int(r['node_rss_held_kib']) - int(r['node_rss_base_kib']))
print('| phase | C++ clients | C++ writers | RPC clients | RPC writers | failed processes | '
      'established | node fds | node RSS held MiB | RSS growth MiB | setup s |')
print('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
for r in rows.values():
    print(f"| {r['phase']} | {int(r['cpp_clients']):,} | {int(r['cpp_writers']):,} | "
          f"{int(r['rpc_clients']):,} | {int(r['rpc_writers']):,} | {r['failed']} | "
          f"{int(r['established_held']):,} | {int(r['node_fds_held']):,} | "
          f"{int(r['node_rss_held_kib']) / 1024:.0f} | {delta(r) / 1024:.1f} | {r['setup_s']} |")
per = {}
if 'cpp' in rows and int(rows['cpp']['cpp_clients']):
    per['cpp'] = delta(rows['cpp']) / int(rows['cpp']['cpp_clients'])
    print(f"\nnode memory per idle C++ connection: {per['cpp']:.1f} KiB")
if 'rpc' in rows and int(rows['rpc']['rpc_clients']):
    per['rpc'] = delta(rows['rpc']) / int(rows['rpc']['rpc_clients'])
    print(f"node memory per idle RPC connection: {per['rpc']:.1f} KiB")
for name, kind in (('cppw', 'cpp'), ('rpcw', 'rpc')):
    r = rows.get(name)
    if r and kind in per:
        conns = int(r[f'{kind}_clients'])
        writers = int(r[f'{kind}_writers'])
        if writers:
            w = (delta(r) - conns * per[kind]) / writers
            print(f"node memory per idle {'C++' if kind == 'cpp' else 'RPC'} writer: {w:.1f} KiB "
                  f"({writers:,} writers over {conns:,} connections)")
bad = [r['phase'] for r in rows.values() if r['failed'] != '0']
if bad:
    sys.exit(f"bench-connections: failed in phases {', '.join(bad)}")
PY
echo "results in $out" >&2
