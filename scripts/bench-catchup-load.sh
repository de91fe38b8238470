#!/usr/bin/env bash
# Writers on a leader while it sends a snapshot, vs without (issue 25). A cluster of three local
# nodes with one container (so one Raft group both serves the writers and sends the snapshot):
# node 3 stopped, SIZE MiB of 1 MiB incompressible events written, node 3 started again; as soon
# as a transfer shows in `cluster status`, pravaha-bench writes 1 KiB events with WRITERS writers
# one at a time for SECONDS; once node 3 caught up, the same load again with nothing being sent.
# Each pass prints both runs' events/s, p50 and p99 and whether the transfer lasted the whole
# load run; the last line is the medians over passes and their ratios.
#   scripts/bench-catchup-load.sh [--size MIB] [--rate BYTES] [--writers N] [--seconds S]
#                                 [--passes N] [--build DIR] [--out DIR]
# Defaults: 1024 MiB, the node's default rate (64M), 16 writers, 8 s, 3 passes, build, a
# temporary directory (removed; --out keeps every run's output there).
set -euo pipefail
cd "$(dirname "$0")/.."
size=1024; rate=""; writers=16; secs=8; passes=3; build=build; out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --writers) writers="$2"; shift 2 ;;
    --seconds) secs="$2"; shift 2 ;;
    --passes) passes="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-catchup-load: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
node_bin="$build/runtime/pravaha-node"; cli="$build/client/pravaha"; bench="$build/client/pravaha-bench"
for b in "$node_bin" "$cli" "$bench"; do
  [ -x "$b" ] || { echo "bench-catchup-load: $b not built" >&2; exit 2; }
done
keep=1
if [ -z "$out" ]; then out=$(mktemp -d); keep=0; fi
mkdir -p "$out"

pids=(0 0 0)
ports=()
stop_node() {
  local i=$1
  if [ "${pids[$i]}" != 0 ]; then
    kill "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
    pids[$i]=0
  fi
}
cleanup() {
  local i
  for i in 0 1 2; do stop_node "$i"; done
  if [ "$keep" = 0 ]; then rm -rf "$out"; fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
start_node() {
  local i=$1 peers
  peers="1@127.0.0.1:${ports[0]},2@127.0.0.1:${ports[1]},3@127.0.0.1:${ports[2]}"
  local extra=()
  [ -n "$rate" ] && extra=(--snapshot-rate-bytes "$rate")
  "$node_bin" --node-id $((i + 1)) --peers "$peers" --containers 1 --port "${ports[$i]}" \
    --rpc-port 0 --data-dir "$dir/node$((i + 1))" --log-level warn "${extra[@]}" \
    2>>"$dir/node$((i + 1)).log" &
  pids[$i]=$!
}
ep() { echo "127.0.0.1:${ports[$1]}"; }
# The snapshot transfers the three nodes report, as "bytes_sent/bytes_total" lines.
transfers() {
  local i
  for i in 0 1 2; do
    [ "${pids[$i]}" = 0 ] && continue
    "$cli" --endpoint "$(ep "$i")" cluster status --json 2>/dev/null |
      python3 -c 'import json,sys
j=json.load(sys.stdin)
for g in j["groups"]:
    for s in g["snapshots"]:
        print("%d/%d" % (s["bytes_sent"], s["bytes_total"]))' 2>/dev/null || true
  done
}
# Runs the 1 KiB load into $1.json; prints "events/s p50 p99".
load() {
  "$bench" write --endpoint "$(ep 0)" --stream bench/load --segments 4 --writers "$writers" \
    --window 1 --event-size 1024 --duration "$secs" --warmup 50 --quiet --json "$1.json" \
    >"$1.txt" 2>&1
  python3 -c 'import json,sys
j=json.load(open(sys.argv[1]))
print("%.0f %.0f %.0f" % (j["events_per_s"], j["latency_us"]["p50"], j["latency_us"]["p99"]))' "$1.json"
}

results=()
echo "| pass | during: events/s | p50 us | p99 us | without: events/s | p50 us | p99 us | transfer outlasted the load |"
echo "|---:|---:|---:|---:|---:|---:|---:|---|"
for p in $(seq 1 "$passes"); do
  dir="$out/pass$p"
  rm -rf "$dir"; mkdir -p "$dir"
  ports=("$(free_port)" "$(free_port)" "$(free_port)")
  for i in 0 1 2; do start_node "$i"; done
  for _ in $(seq 1 300); do
    "$cli" --endpoint "$(ep 0)" scope create bench >/dev/null 2>&1 && break
    sleep 0.1
  done
  stop_node 2
  "$bench" write --endpoint "$(ep 0)" --stream bench/big --segments 2 --writers 1 --window 8 \
    --event-size 1048576 --payload random --events "$size" --warmup 0 --quiet \
    >"$dir/big.txt" 2>&1
  # Node 3 falls behind the compacted log; it starts again and gets a snapshot.
  start_node 2
  seen=""
  for _ in $(seq 1 600); do
    seen=$(transfers | head -1)
    [ -n "$seen" ] && break
    sleep 0.1
  done
  [ -n "$seen" ] || { echo "bench-catchup-load: no snapshot transfer seen (see $dir)" >&2; exit 1; }
  during=$(load "$dir/during")
  outlasted=$([ -n "$(transfers | head -1)" ] && echo yes || echo "no (a shorter overlap)")
  for _ in $(seq 1 1200); do
    [ -z "$(transfers | head -1)" ] && break
    sleep 0.2
  done
  sleep 1
  without=$(load "$dir/without")
  read -r d_eps d_p50 d_p99 <<<"$during"
  read -r w_eps w_p50 w_p99 <<<"$without"
  echo "| $p | $d_eps | $d_p50 | $d_p99 | $w_eps | $w_p50 | $w_p99 | $outlasted |"
  results+=("$during $without")
  for i in 0 1 2; do stop_node "$i"; done
  rm -rf "$dir"/node*/
done
printf '%s\n' "${results[@]}" | python3 -c 'import sys, statistics as st
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
m = [st.median(c) for c in zip(*rows)]
print("medians: during %.0f events/s, p50 %.0f us, p99 %.0f us; without %.0f events/s, p50 %.0f us, "
      "p99 %.0f us; events/s during/without %.2f, p99 during/without %.2f"
      % (m[0], m[1], m[2], m[3], m[4], m[5], m[0] / m[3], m[2] / m[5]))'
