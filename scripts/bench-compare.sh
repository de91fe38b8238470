#!/usr/bin/env bash
# Side-by-side comparison of Pravaha with the disk's limit and its peers, in one run, on loopback.
#
# Each pass runs, one after another (interleaved, so that a noisy neighbour hits everything alike):
#   fio       the disk limit (../shared/bench/fio_log_fsync.sh; QUICK unless FULL=1), and its group
#             commit on a new file of FRESH_MB MiB (1024; what a log writing new files meets)
#   redis     Redis Streams XADD with appendfsync always, 1/16/64 clients, 100 B and 1 KiB
#   standalone  the floor (tests/bench/handoff_bench.cpp: thread hand-offs, loopback TCP, and a
#             request answered after an append and fdatasync on one thread per side), then
#             a standalone pravaha-node and pravaha-bench with the same payloads and client
#             counts (one event at a time per client), one pipelined writer of 100-byte events
#             (10,000 in flight), and one writer of 1 MiB events (8 in flight; 'x' payloads, then
#             incompressible ones); then 1 and 64
#             clients and the pipelined writer through the actor client API (--api actor), 1 and
#             64 clients and the pipelined writer with appends over CAF's connection
#             (--transport caf; every other row uses the node's data port, the default); then
#             the framed data path (--data-port) with pravaha-bench's lean client (--api frames:
#             one thread, one connection) in the same shapes and with 1 MiB events
#             (incompressible)
#   etcd      etcd with 3 members (../shared/bench/etcd_raft.sh r3), 1/16/64 clients, 100 B, 1 KiB
#   cluster   three pravaha-node processes (one container) with the same client counts, and the
#             pipelined writer (and the CAF-transport rows as standalone)
#   scaling   a standalone node, then a cluster of 3, deciding over
#             2 s windows with a 2 s cooldown, and `pravaha-bench scale`: a stream of 1 segment
#             with a target of 1,000 events/s per segment under 8,000 events/s from 4 writers
#             over 200 keys for 30 s, then 3 closed-loop rounds on it and on a stream created
#             with its final segment count
#   groups    a standalone node, a 16-segment stream written by 4
#             writers (16 in flight each) and read by a reader group of 1, 4 and 16 readers, next
#             to one plain tail reader (end-to-end: throughput and write-to-delivery latency), and
#             a group of 4 whose stream splits during the run (time from the split's answer to
#             its successors' first event read)
#   txns      a standalone node, then (not with SMOKE) a cluster of 3: `pravaha-bench txn`, 4
#             writers each committing transactions of 100 events over 16 keys, against the same
#             events written without a transaction (a flush every 100), 3 rounds of each
#   many      thousands of clients: Redis Streams XADD (appendfsync always, 100 B) with 1,000 and
#             4,000 redis-benchmark clients, then a standalone node with 1,000 and 4,000
#             one-at-a-time writers on a 16-segment stream, in one pravaha-bench process and
#             spread over 10 processes started together (their histograms merged)
# and records each Pravaha node's peak RSS. Then it prints one table: every Pravaha figure as
# the median over passes [min-max], its peer's median, the ratio per pass (median [min-max]) and
# the target, each row with its durability contract. Everything is written under the results
# directory (raw outputs per pass, summary.json, summary.md).
#
# Durability contracts: Pravaha standalone and Redis `always` acknowledge after fsync (Redis: group
# commit of the clients served in one event-loop turn); fio rows are fdatasync per write (or per
# group); Pravaha cluster and etcd r3 acknowledge after fsync on a majority of 3 replicas.
#
# Usage: scripts/bench-compare.sh [--report] [results_dir]
#        scripts/bench-compare.sh --summarize [--report] results_dir   (the table again, no runs)
# --report also draws the ratio table as report.svg next to summary.md: per figure with a
# peer, the median ratio over passes as a bar with its min-max, against the target's line.
# Environment: PASSES (3), STEPS ("fio redis standalone etcd cluster txns groups scaling many"),
#   FULL=1 (full fio), FRESH_MB (1024; the size of fio's new file),
#   SCALE_RATE (8000; the scaling step's offered events/s),
#   RUN_SECONDS (5; seconds per closed-loop run), EVENTS_PIPELINED (1000000),
#   MANY ("1000 4000"; the client counts of the `many` step),
#   SMOKE=1 (a few seconds: one pass of `standalone` with tiny runs, no peers; CI uses it),
#   BUILD_DIR (build; with SMOKE nothing is built), SHARED_DIR (../shared).
# Servers listen on 127.0.0.1 only and are stopped by pid. The peers' scripts install what they
# need with apt-get; this script installs and builds Pravaha with scripts/build.sh.
set -euo pipefail
self=$(realpath "$0")
cd "$(dirname "$self")/.."
report=0; summarize=0
while [ $# -gt 0 ]; do
  case "$1" in
    --report) report=1; shift ;;
    --summarize) summarize=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$self" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "bench-compare: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
if [ $# -gt 1 ]; then
  echo "bench-compare: one results directory, then nothing (options go first; see --help)" >&2
  exit 2
fi
if [ "$summarize" = 1 ] && { [ $# -ne 1 ] || [ ! -d "$1" ]; }; then
  echo "bench-compare: --summarize needs the results directory of an earlier run" >&2; exit 2
fi
out=${1:-results/compare-$(date +%Y%m%d-%H%M%S)}
shared=${SHARED_DIR:-../shared}
build=${BUILD_DIR:-build}
smoke=${SMOKE:-0}
if [ "$summarize" = 1 ]; then
  passes=$(find "$out" -maxdepth 1 -type d -regex '.*/pass[0-9]+' | wc -l)
  if [ "$passes" = 0 ]; then
    echo "bench-compare: no pass directories in $out" >&2; exit 2
  fi
  steps=""
elif [ "$smoke" = 1 ]; then
  passes=1; steps=${STEPS:-standalone txns}; secs=1; pipelined=5000; big=5
else
  passes=${PASSES:-3}; steps=${STEPS:-fio redis standalone etcd cluster txns groups scaling many}
  secs=${RUN_SECONDS:-5}; pipelined=${EVENTS_PIPELINED:-1000000}; big=300
  scripts/build.sh >/dev/null
fi
bench=$build/client/pravaha-bench
node_bin=$build/runtime/pravaha-node
mkdir -p "$out"
out=$(cd "$out" && pwd)
has() { [[ " $steps " == *" $1 "* ]]; }

pids=()
stop_nodes() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
trap stop_nodes EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
peak_rss_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# Waits until the node at $1 answers (a scope create succeeds or exists).
wait_node() {
  local i
  for i in $(seq 1 300); do
    if "$build/client/pravaha" --endpoint "$1" scope create bench >/dev/null 2>&1 ||
       "$build/client/pravaha" --endpoint "$1" scope list 2>/dev/null | grep -qx bench; then
      return 0
    fi
    sleep 0.1
  done
  echo "bench-compare: node at $1 did not come up" >&2
  return 1
}
# Starts a standalone node on a free port ($port) with its data in $dir/node, its log in $dir/$1,
# and the rest as its further options.
start_standalone() {
  local log=$1; shift
  port=$(free_port)
  rm -rf "$dir/node"
  "$node_bin" --standalone --data-dir "$dir/node" --port "$port" --rpc-port 0 --log-level warn \
    "$@" 2>"$dir/$log" &
  pids+=($!)
  wait_node "127.0.0.1:$port"
}
# Starts three nodes (one container) on free ports (${ports[@]}), data in $dir/cnode1..3, each
# with the further options given.
start_cluster() {
  local i peers
  ports=("$(free_port)" "$(free_port)" "$(free_port)")
  peers="1@127.0.0.1:${ports[0]},2@127.0.0.1:${ports[1]},3@127.0.0.1:${ports[2]}"
  for i in 1 2 3; do
    rm -rf "$dir/cnode$i"
    "$node_bin" --node-id "$i" --peers "$peers" --containers 1 --port "${ports[$((i - 1))]}" \
      --rpc-port 0 --data-dir "$dir/cnode$i" --log-level warn "$@" 2>"$dir/cnode$i.log" &
    pids+=($!)
  done
  wait_node "127.0.0.1:${ports[0]}"
}
# Runs pravaha-bench; $1 = output name (JSON and text under $dir), the rest its options.
run_bench() {
  local name=$1; shift
  echo "  pravaha-bench $*" >&2
  "$bench" "$@" --quiet --json "$dir/$name.json" > "$dir/$name.txt"
}
# The closed-loop matrix and the pipelined writer against the endpoint $1, rows named $2_*.
pravaha_matrix() {
  local ep=$1 tag=$2 size c
  for size in 100 1024; do
    for c in 1 16 64; do
      run_bench "${tag}_c${c}_s${size}" write --endpoint "$ep" --stream "bench/${tag}c${c}s${size}" \
        --segments 4 --writers "$c" --window 1 --event-size "$size" --duration "$secs" --warmup 50
    done
  done
  run_bench "${tag}_pipe" write --endpoint "$ep" --stream "bench/${tag}pipe" --writers 1 \
    --window 10000 --events "$pipelined" --warmup 10000
  # The same client library with its appends over CAF's connection (--transport caf), next to
  # the rows above, whose appends go over the node's data port (the default).
  for c in 1 64; do
    run_bench "${tag}_caf_c${c}" write --endpoint "$ep" --transport caf \
      --stream "bench/${tag}cafc${c}" --segments 4 --writers "$c" --window 1 --duration "$secs" \
      --warmup 50
  done
  run_bench "${tag}_caf_pipe" write --endpoint "$ep" --transport caf --stream "bench/${tag}cafpipe" \
    --writers 1 --window 10000 --events "$pipelined" --warmup 10000
}

# Runs $1 pravaha-bench processes of $2 writers each against $3 at once; rows named $4 (one
# directory, each process's JSON, text and latency histogram in it).
run_spread() {
  local procs=$1 per=$2 ep=$3 name=$4 i bpids=()
  mkdir -p "$dir/$name"
  echo "  $procs x pravaha-bench write --writers $per" >&2
  for i in $(seq 1 "$procs"); do
    "$bench" write --endpoint "$ep" --stream "bench/many" --writers "$per" --window 1 \
      --duration "$secs" --warmup 5 --quiet --json "$dir/$name/p$i.json" --report "$dir/$name/p$i" \
      > "$dir/$name/p$i.txt" 2>&1 &
    bpids+=($!)
  done
  for i in "${bpids[@]}"; do wait "$i" || echo "  a pravaha-bench of $name failed" >&2; done
}
# Redis Streams XADD, 100 B, appendfsync always, with each client count of $many.
redis_many() {
  local port rdir rpid c n raw line
  port=$(free_port); rdir="$dir/redis_many"
  rm -rf "$rdir"; mkdir -p "$rdir"
  redis-server --port "$port" --bind 127.0.0.1 --protected-mode yes --dir "$rdir" \
    --appendonly yes --appendfsync always --save "" --auto-aof-rewrite-percentage 0 \
    --maxclients 10000 --daemonize no --logfile "$rdir/redis.log" &
  rpid=$!
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  echo "clients,requests,rps,p50_ms,p99_ms" > "$dir/redis_many.csv"
  for c in $many; do
    n=$(( c * 50 > 100000 ? c * 50 : 100000 ))
    raw="$dir/redis_many_c$c.csv"
    redis-benchmark -h 127.0.0.1 -p "$port" -c "$c" -n "$n" -P 1 --csv \
      XADD bench:stream '*' d "$(head -c 100 /dev/zero | tr '\0' 'x')" > "$raw"
    # last line: "XADD ...","rps","avg","min","p50","p95","p99","max"
    line=$(tail -n 1 "$raw" | tr -d '"' | awk -F, '{print $(NF-6)","$(NF-3)","$(NF-1)}')
    echo "$c,$n,$line" >> "$dir/redis_many.csv"
    redis-cli -p "$port" del bench:stream >/dev/null
  done
  kill "$rpid"; wait "$rpid" 2>/dev/null || true
  rm -rf "$rdir"
}

many=${MANY:-1000 4000}
for p in $(seq 1 "$passes"); do
  dir="$out/pass$p"
  mkdir -p "$dir"
  if has fio; then
    echo "pass $p/$passes: fio (disk limit)" >&2
    if [ "${FULL:-0}" = 1 ]; then
      "$shared/bench/fio_log_fsync.sh" "$dir/fio" > "$dir/fio.md" 2>"$dir/fio.log"
    else
      QUICK=1 "$shared/bench/fio_log_fsync.sh" "$dir/fio" > "$dir/fio.md" 2>"$dir/fio.log"
    fi
    # The group commit above wraps around one file (overwrites after its first pass); a log
    # writes new files, whose first writes this VM's disk takes more slowly (stop 55: 635-1,346
    # against 1,515-2,464 MB/s). The same job on a new file of FRESH_MB is the anchor for rows
    # that write new files (1 MiB events).
    sync
    fio --name=fresh_batch_1m_x8_fdatasync --filename="$dir/fio/fresh.dat" --rw=write \
      --ioengine=psync --bs=1m --fdatasync=8 --size="${FRESH_MB:-1024}M" --fallocate=none \
      --output-format=json > "$dir/fio/fresh_batch_1m_x8_fdatasync.json" 2>>"$dir/fio.log" ||
      echo "  failed: fio fresh file" >&2
    rm -f "$dir/fio/fresh.dat"
  fi
  if has redis; then
    echo "pass $p/$passes: Redis Streams, appendfsync always" >&2
    N1=${REDIS_N1:-10000} NC=${REDIS_NC:-60000} "$shared/bench/redis_streams.sh" "$dir/redis" \
      "$(free_port)" always > "$dir/redis_always.csv" 2>"$dir/redis.log"
  fi
  if has standalone; then
    echo "pass $p/$passes: the durable log alone (RocksDB sync write vs raw write+fdatasync)" >&2
    micro=$( [ "$smoke" = 1 ] && echo 200 || echo 3000 )  # rounds of the two small tools
    "$build/tests/pravaha-log-bench" "$dir/logbench" "$micro" 180 > "$dir/log.json"
    rm -rf "$dir/logbench"
    echo "pass $p/$passes: the floor (thread hand-offs, loopback TCP, a run-to-completion durable append)" >&2
    "$build/tests/pravaha-handoff-bench" "$dir/handoff" "$micro" 100 > "$dir/handoff.json"
    rm -rf "$dir/handoff"
    echo "pass $p/$passes: Pravaha standalone" >&2
    dport=$(free_port)
    start_standalone node.log --data-port "$dport"
    pravaha_matrix "127.0.0.1:$port" standalone
    # The actor client API next to the facade's rows above (same node, same shapes; the
    # pipelined writer sends batch writes of 100 events, see pravaha-bench --batch).
    for c in 1 64; do
      run_bench "standalone_actor_c${c}" write --endpoint "127.0.0.1:$port" --api actor \
        --stream "bench/actorc${c}" --segments 4 --writers "$c" --window 1 --duration "$secs" --warmup 50
    done
    run_bench standalone_actor_pipe write --endpoint "127.0.0.1:$port" --api actor \
      --stream bench/actorpipe --writers 1 --window 10000 --batch 100 --events "$pipelined" --warmup 10000
    run_bench standalone_1m write --endpoint "127.0.0.1:$port" --stream bench/big --writers 1 \
      --window 8 --event-size 1048576 --events "$big" --warmup 5
    # The same with payloads RocksDB cannot compress (the row above's 'x' costs its flushes and
    # compactions almost nothing).
    run_bench standalone_1m_random write --endpoint "127.0.0.1:$port" --stream bench/bigrandom \
      --writers 1 --window 8 --event-size 1048576 --events "$big" --warmup 5 --payload random
    # The framed data path (ARCHITECTURE.md "The framed data path") with a client that costs
    # almost nothing, as redis-benchmark is for Redis: the same node, the same shapes.
    for size in 100 1024; do
      for c in 1 16 64; do
        run_bench "standalone_frames_c${c}_s${size}" write --endpoint "127.0.0.1:$port" \
          --api frames --data-port "$dport" --stream "bench/framesc${c}s${size}" --segments 4 \
          --writers "$c" --window 1 --event-size "$size" --duration "$secs" --warmup 50
      done
    done
    run_bench standalone_frames_1m_random write --endpoint "127.0.0.1:$port" --api frames \
      --data-port "$dport" --stream bench/framesbig --writers 1 --window 8 --event-size 1048576 \
      --events "$big" --warmup 5 --payload random
    echo "{\"node_peak_rss_kb\": $(peak_rss_kb "${pids[0]}")}" > "$dir/standalone_rss.json"
    stop_nodes
    rm -rf "$dir/node"
  fi
  if has etcd; then
    echo "pass $p/$passes: etcd, 3 members" >&2
    RUN_SECONDS=$secs "$shared/bench/etcd_raft.sh" "$dir/etcd" r3 > "$dir/etcd.txt" 2>"$dir/etcd.log"
  fi
  if has cluster; then
    echo "pass $p/$passes: Pravaha cluster of 3" >&2
    start_cluster
    pravaha_matrix "127.0.0.1:${ports[0]}" cluster
    rss=0
    for pid in "${pids[@]}"; do r=$(peak_rss_kb "$pid"); [ "$r" -gt "$rss" ] && rss=$r; done
    echo "{\"node_peak_rss_kb\": $rss}" > "$dir/cluster_rss.json"
    stop_nodes
    rm -rf "$dir"/cnode?
  fi
  if has scaling; then
    scale_args=(--rate "${SCALE_RATE:-8000}" --target 1000 --writers 4 --keys 50
      --duration "$( [ "$smoke" = 1 ] && echo 6 || echo 30 )"
      --compare-s "$( [ "$smoke" = 1 ] && echo 1 || echo "$secs" )")
    echo "pass $p/$passes: a stream that scales under a fixed load (standalone)" >&2
    start_standalone scaling_node.log --scale-window-s 2 --scale-cooldown-s 2
    run_bench scaling scale --endpoint "127.0.0.1:$port" --stream bench/scaling \
      "${scale_args[@]}" --report "$dir/scaling" || echo "  failed: scaling" >&2
    stop_nodes
    rm -rf "$dir/node"
    echo "pass $p/$passes: a stream that scales under a fixed load (cluster of 3)" >&2
    start_cluster --scale-window-s 2 --scale-cooldown-s 2
    run_bench scaling_cluster scale --endpoint "127.0.0.1:${ports[0]}" --stream bench/scaling \
      "${scale_args[@]}" --report "$dir/scaling_cluster" || echo "  failed: scaling_cluster" >&2
    stop_nodes
    rm -rf "$dir"/cnode?
  fi
  if has txns; then
    txn=(txn --writers 4 --txn-size 100 --keys 16 --duration "$secs")
    echo "pass $p/$passes: transactions (standalone)" >&2
    start_standalone txn_node.log
    run_bench txn_standalone "${txn[@]}" --endpoint "127.0.0.1:$port" --stream bench/txn ||
      echo "  failed: txn_standalone" >&2
    stop_nodes
    rm -rf "$dir/node"
    if [ "$smoke" != 1 ]; then
      echo "pass $p/$passes: transactions (cluster of 3)" >&2
      start_cluster
      run_bench txn_cluster "${txn[@]}" --endpoint "127.0.0.1:${ports[0]}" --stream bench/txn ||
        echo "  failed: txn_cluster" >&2
      stop_nodes
      rm -rf "$dir"/cnode?
    fi
  fi
  if has groups; then
    echo "pass $p/$passes: reader groups (standalone)" >&2
    start_standalone groups_node.log
    gsecs=$( [ "$smoke" = 1 ] && echo 2 || echo "$secs" )
    e2e=(end-to-end --endpoint "127.0.0.1:$port" --segments 16 --writers 4 --window 16
      --duration "$gsecs")
    run_bench groups_plain "${e2e[@]}" --stream bench/gplain --readers 1
    for r in 1 4 16; do
      run_bench "groups_r$r" "${e2e[@]}" --stream "bench/g$r" --readers "$r" --group "g$r" ||
        echo "  failed: groups_r$r" >&2
    done
    run_bench groups_split "${e2e[@]}" --stream bench/gsplit --readers 4 --group gsplit \
      --split-after 1 || echo "  failed: groups_split" >&2
    stop_nodes
    rm -rf "$dir/node"
  fi
  if has many; then
    echo "pass $p/$passes: thousands of clients (Redis, then a standalone node)" >&2
    redis_many
    start_standalone many_node.log
    "$build/client/pravaha" --endpoint "127.0.0.1:$port" stream create bench/many --segments 16 \
      >/dev/null
    for c in $many; do
      run_bench "many_one_c$c" write --endpoint "127.0.0.1:$port" --stream bench/many \
        --writers "$c" --window 1 --duration "$secs" --warmup 5 || echo "  failed: many_one_c$c" >&2
      run_spread 10 $(( c / 10 )) "127.0.0.1:$port" "many_spread_c$c"
    done
    echo "{\"node_peak_rss_kb\": $(peak_rss_kb "${pids[0]}")}" > "$dir/many_rss.json"
    stop_nodes
    rm -rf "$dir/node"
  fi
done

python3 - "$out" "$passes" "$report" <<'PY' | tee "$out/summary.md"
import csv, glob, json, math, os, re, statistics, sys
out, passes, report = sys.argv[1], int(sys.argv[2]), sys.argv[3] == '1'
nan = float('nan')

def load(path):
    try:
        return json.load(open(path))
    except (OSError, ValueError):
        return None

def fio(d, job, what):
    j = load(os.path.join(d, 'fio', job + '.json'))
    if not j:
        return nan
    if j['jobs'][0].get('error'):
        return nan
    w = j['jobs'][0]['write']
    if what == 'MBps':
        return w['bw_bytes'] / 1e6
    p = (j['jobs'][0].get('sync', {}).get('lat_ns', {}) or {}).get('percentile', {})
    return p.get('50.000000', nan) / 1000.0

def redis(d):
    rows = {}
    path = os.path.join(d, 'redis_always.csv')
    if os.path.exists(path):
        for r in csv.DictReader(open(path)):
            try:
                rows[(int(r['payload_bytes']), int(r['clients']))] = r
            except (KeyError, ValueError):
                pass
    return rows

def etcd(d):
    rows = {}
    path = os.path.join(d, 'etcd', 'etcd_results.jsonl')
    if os.path.exists(path):
        for line in open(path):
            j = json.loads(line)
            if j.get('mode', 'r3') == 'r3' and j.get('endpoints', 3) == 3:
                rows[(j['size'], j['clients'])] = j
    return rows

def merged_percentile(hist, q):
    total = sum(n for _, n in hist)
    rank, seen = q / 100.0 * total, 0
    for lat, n in sorted(hist):
        seen += n
        if seen >= rank:
            return lat
    return nan

def spread_figures(d, how, c):
    """events/s, p50, p99 (us) and writers that progressed of one `many` row, or Nones."""
    if how == 'one':
        j = load(os.path.join(d, f'many_one_c{c}.json'))
        if not j:
            return None, None, None, None
        return (j['events_per_s'], j['latency_us']['p50'], j['latency_us']['p99'],
                j.get('writers_progressed', nan))
    parts = [load(p) for p in sorted(glob.glob(os.path.join(d, f'many_spread_c{c}', 'p*.json')))]
    parts = [j for j in parts if j]
    if not parts:
        return None, None, None, None
    hist = []
    for path in glob.glob(os.path.join(d, f'many_spread_c{c}', 'p*', 'write_histogram.csv')):
        hist += [(int(r['latency_us']), int(r['count'])) for r in csv.DictReader(open(path))]
    return (sum(j['events_per_s'] for j in parts), merged_percentile(hist, 50),
            merged_percentile(hist, 99), sum(j.get('writers_progressed', 0) for j in parts))

figures = {}  # name -> {'contract', 'unit', 'target', 'values': [], 'peer': [], 'ratio': []}

def add(name, contract, value, peer=nan, ratio=nan, target='', peer_name=''):
    f = figures.setdefault(name, {'contract': contract, 'target': target, 'peer_name': peer_name,
                                  'values': [], 'peer': [], 'ratio': []})
    for key, v in (('values', value), ('peer', peer), ('ratio', ratio)):
        if v is not None and not (isinstance(v, float) and math.isnan(v)):
            f[key].append(v)

for p in range(1, passes + 1):
    d = os.path.join(out, f'pass{p}')
    fs_p50 = fio(d, 'append_4k_fdatasync', 'p50')
    group_mbps = fio(d, 'steady_batch_1m_x8_fdatasync', 'MBps')
    fresh_mbps = fio(d, 'fresh_batch_1m_x8_fdatasync', 'MBps')
    if not math.isnan(fs_p50):
        add('disk: fdatasync p50 us (fio, 4 KiB append)', 'fdatasync per write', fs_p50)
        add('disk: group-commit MB/s (fio, 1 MiB x8 per fdatasync)', 'fdatasync per 8 MiB', group_mbps)
    if fresh_mbps > 0:
        add('disk: group-commit MB/s on a new file (fio, 1 MiB x8 per fdatasync)',
            'fdatasync per 8 MiB', fresh_mbps)
    rd, et = redis(d), etcd(d)
    for tag, contract, peers, peer_name in (
            ('standalone', 'ack after fsync', rd, 'Redis always'),
            ('cluster', 'ack after fsync on 2 of 3', et, 'etcd r3')):
        # The client library's rows, then (standalone) the data port's with the lean client.
        for variant, label in (('', ''), ('frames_', 'data port, lean client, ')):
            for size in (100, 1024):
                for c in (1, 16, 64):
                    j = load(os.path.join(d, f'{tag}_{variant}c{c}_s{size}.json'))
                    if not j:
                        continue
                    peer = peers.get((size, c))
                    prps = float(peer['rps']) if peer else nan
                    pp50 = float(peer['p50_ms']) * 1000 if peer else nan
                    pp99 = float(peer['p99_ms']) * 1000 if peer else nan
                    if tag == 'standalone':
                        tgt = '>= 2x' if c > 1 else ''
                    else:
                        tgt = '>= 5x' if c == 64 and size == 100 else '> 1x'
                    add(f'{tag} {label}{c} client(s) {size} B: events/s', contract,
                        j['events_per_s'], prps,
                        j['events_per_s'] / prps if prps == prps else nan, tgt, peer_name)
                    lat = j['latency_us']
                    if c == 1 and size == 100:
                        if tag == 'standalone':
                            add(f'standalone {label}1 client 100 B: p50 us vs fdatasync p50',
                                contract, lat['p50'], fs_p50,
                                lat['p50'] / fs_p50 if fs_p50 == fs_p50 else nan, '<= 1.25x',
                                'fio fdatasync')
                        else:
                            add('cluster 1 client 100 B: p50 us', contract, lat['p50'], pp50,
                                lat['p50'] / pp50 if pp50 == pp50 else nan, '<= 0.5x', peer_name)
                    if tag == 'standalone':
                        add(f'standalone {label}{c} client(s) {size} B: p99 us', contract,
                            lat['p99'], pp99, lat['p99'] / pp99 if pp99 == pp99 else nan,
                            '<= 1x' if c > 1 else '', peer_name)
        j = load(os.path.join(d, f'{tag}_pipe.json'))
        if j:
            if tag == 'standalone':
                peer = rd.get((100, 64))
                prps = float(peer['rps']) if peer else nan
                add('standalone pipelined 100 B: events/s', contract, j['events_per_s'], prps,
                    j['events_per_s'] / prps if prps == prps else nan,
                    '>= 40x (>= 2,000,000 where the disk allows)',
                    'Redis always, 64 clients')
            else:
                add('cluster pipelined 100 B: events/s', contract, j['events_per_s'], target='>= 100,000')
        # Pairs of runs in the same pass: events/s (and the one-client p50) of `mine` against
        # `theirs` (the data port against CAF's transport, the actor API against the facade).
        def versus(name, mine, theirs, events_target, peer_name, p50):
            if not (mine and theirs):
                return
            add(f'{name}: events/s', contract, mine['events_per_s'], theirs['events_per_s'],
                mine['events_per_s'] / theirs['events_per_s'], events_target, peer_name)
            if p50:
                add(f'{name}: p50 us', contract, mine['latency_us']['p50'],
                    theirs['latency_us']['p50'],
                    mine['latency_us']['p50'] / theirs['latency_us']['p50'], '<= 1x', peer_name)
        for row, facade, label in (('c1', 'c1_s100', '1 client 100 B'),
                                   ('c64', 'c64_s100', '64 clients 100 B'),
                                   ('pipe', 'pipe', 'pipelined 100 B')):
            versus(f'{tag} data port vs CAF transport, {label}',
                   load(os.path.join(d, f'{tag}_{facade}.json')),
                   load(os.path.join(d, f'{tag}_caf_{row}.json')), '>= 1x',
                   'CAF transport, same pass', row == 'c1')
        for row, facade, label in (('c1', 'c1_s100', '1 client 100 B'),
                                   ('c64', 'c64_s100', '64 clients 100 B'),
                                   ('pipe', 'pipe',
                                    'pipelined 100 B, actor batches of 100 vs facade single writes')):
            versus(f'{tag} actor API {label}', load(os.path.join(d, f'{tag}_actor_{row}.json')),
                   load(os.path.join(d, f'{tag}_{facade}.json')), '>= 1x' if row != 'pipe' else '',
                   'facade, same pass', row == 'c1')
        rss = load(os.path.join(d, f'{tag}_rss.json'))
        if rss:
            add(f'{tag}: node peak RSS MiB', '', rss['node_peak_rss_kb'] / 1024,
                target='<= 256 (at the default --memory-limit of 1024)')
    lj = load(os.path.join(d, 'log.json'))
    if lj:
        add('durable log alone: RocksDB sync append p50 us', 'fsync per append',
            lj['log_append_us']['p50'], lj['raw_write_fdatasync_us']['p50'],
            lj['log_append_us']['p50'] / lj['raw_write_fdatasync_us']['p50'], '',
            'raw write+fdatasync (same run)')
    hj = load(os.path.join(d, 'handoff.json'))
    if hj:
        rtc = hj['tcp_fsync_round_trip_us']['p50']
        add('floor: loopback request, append + fdatasync, answer p50 us (one thread per side, '
            'no Pravaha)', 'fsync per request', rtc, fs_p50, rtc / fs_p50 if fs_p50 == fs_p50 else nan,
            '', 'fio fdatasync')
        add('floor: loopback TCP round trip p50 us (no fsync)', '', hj['tcp_round_trip_us']['p50'])
        add('floor: thread hand-off round trip p50 us (condition variable, warm threads)', '',
            hj['cv_round_trip_us']['p50'])
    many = {}
    path = os.path.join(d, 'redis_many.csv')
    if os.path.exists(path):
        for r in csv.DictReader(open(path)):
            many[int(r['clients'])] = r
    for c in sorted(set(many) | {int(x.split('_c')[-1].split('.')[0]) for x in
                                 map(os.path.basename, glob.glob(os.path.join(d, 'many_*_c*')))}):
        peer = many.get(c)
        prps = float(peer['rps']) if peer else nan
        pp50 = float(peer['p50_ms']) * 1000 if peer else nan
        pp99 = float(peer['p99_ms']) * 1000 if peer else nan
        for how in ('one', 'spread'):
            rps, p50, p99, progressed = spread_figures(d, how, c)
            if rps is None:
                continue
            label = f'standalone {c:,} writers, ' + ('one process' if how == 'one' else
                                                       '10 processes')
            contract = 'ack after fsync'
            add(f'{label}: events/s', contract, rps, prps, rps / prps if prps == prps else nan,
                '>= 1x', f'Redis always, {c:,} clients')
            add(f'{label}: p50 us', contract, p50, pp50, p50 / pp50 if pp50 == pp50 else nan, '',
                f'Redis always, {c:,} clients')
            add(f'{label}: p99 us', contract, p99, pp99, p99 / pp99 if pp99 == pp99 else nan,
                '<= 2x', f'Redis always, {c:,} clients')
            add(f'{label}: writers that progressed', '', progressed, target=f'= {c:,}')
    rss = load(os.path.join(d, 'many_rss.json'))
    if rss:
        add('many: node peak RSS MiB', '', rss['node_peak_rss_kb'] / 1024)
    for tag, contract in (('scaling', 'ack after fsync'),
                          ('scaling_cluster', 'ack after fsync on 2 of 3')):
        j = load(os.path.join(d, tag + '.json'))
        if not j:
            continue
        where = 'standalone' if tag == 'scaling' else 'cluster'
        add(f'scaling {where}: seconds from the first over-target second to the first split',
            contract, j['time_to_first_split_s'], target='<= 3 (window 2 s + 1 s)')
        add(f'scaling {where}: segments at the end (target 1,000 events/s each)', '',
            j['final_segments'])
        add(f'scaling {where}: write p99 us during scales vs outside', contract,
            j['p99_during_scale_us'], j['p99_outside_scale_us'],
            j['p99_during_scale_us'] / j['p99_outside_scale_us'] if j['p99_outside_scale_us'] else nan,
            '', 'outside scales, same run')
        if j['compare_segments']:
            add(f'scaling {where}: closed-loop events/s, scaled stream vs created at its size',
                contract, j['scaled_events_per_s'], j['fixed_events_per_s'], j['compare_ratio'],
                '>= 0.9x', 'created with as many segments')
    plain = load(os.path.join(d, 'groups_plain.json'))
    for r in (1, 4, 16):
        j = load(os.path.join(d, f'groups_r{r}.json'))
        if not j:
            continue
        pe = plain['read_events_per_s'] if plain else nan
        add(f'reader group of {r}: end-to-end events/s', 'ack after fsync',
            j['read_events_per_s'], pe, j['read_events_per_s'] / pe if pe == pe else nan, '',
            'one plain tail reader')
        for q in ('p50', 'p99'):
            v = j['end_to_end_latency_us'][q]
            pv = plain['end_to_end_latency_us'][q] if plain else nan
            add(f'reader group of {r}: write-to-delivery {q} us', 'ack after fsync', v, pv,
                v / pv if pv == pv and pv else nan, '', 'one plain tail reader')
    j = load(os.path.join(d, 'groups_split.json'))
    if j and j.get('successor_first_read_ms', -1) >= 0:
        add('reader group of 4: split answered to its successors\' first event read, ms', '',
            j['successor_first_read_ms'], target='< 1000 (Pravega: next checkpoint, up to 30 s)')
    for tag, where, contract in (('txn_standalone', 'standalone', 'ack after fsync'),
                                 ('txn_cluster', 'cluster', 'ack after fsync on 2 of 3')):
        j = load(os.path.join(d, tag + '.json'))
        if not j:
            continue
        add(f'transactions {where}, 4 writers, 100 events each: events/s vs plain writes', contract,
            j['txn_events_per_s'], j['plain_events_per_s'], j['ratio'], '',
            'same events, no transaction (flush per 100)')
        add(f'transactions {where}: commit p50 us (flushed to visible)', contract,
            j['commit_p50_us'])
        add(f'transactions {where}: commit p99 us', contract, j['commit_p99_us'])
        add(f'transactions {where}: begin to commit p50 us', contract, j['txn_p50_us'])
    for tag, label in (('standalone_1m', 'standalone 1 MiB events: MB/s'),
                       ('standalone_1m_random', 'standalone 1 MiB incompressible events: MB/s'),
                       ('standalone_frames_1m_random',
                        'standalone data port, lean client, 1 MiB incompressible events: MB/s')):
        j = load(os.path.join(d, tag + '.json'))
        if j:
            add(label, 'ack after fsync', j['mb_per_s'], group_mbps,
                j['mb_per_s'] / group_mbps if group_mbps == group_mbps else nan, '>= 0.5x',
                'fio group commit')
            if tag.endswith('_random') and fresh_mbps > 0:
                add(label.replace(': MB/s', ' vs a new file: MB/s'), 'ack after fsync',
                    j['mb_per_s'], fresh_mbps, j['mb_per_s'] / fresh_mbps, '',
                    'fio group commit, new file')

def fmt(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return 'n/a'
    return f'{v:.2f}' if abs(v) < 10 else f'{v:,.0f}'

def spread(vs):
    if not vs:
        return 'n/a'
    m = statistics.median(vs)
    return f'{fmt(m)} [{fmt(min(vs))}-{fmt(max(vs))}]' if len(vs) > 1 else fmt(m)

print(f'Pravaha side by side, {passes} pass(es), medians [min-max] over passes; ratios per pass.\n')
print('| figure | durability | Pravaha | peer | peer value | ratio | target |')
print('|---|---|---:|---|---:|---:|---|')
summary = {}
for name, f in figures.items():
    print(f"| {name} | {f['contract']} | {spread(f['values'])} | {f['peer_name']} | "
          f"{spread(f['peer'])} | {spread(f['ratio'])} | {f['target']} |")
    summary[name] = f
json.dump(summary, open(os.path.join(out, 'summary.json'), 'w'), indent=1)
if not figures:
    sys.exit('bench-compare: nothing was measured')

def parse_target(t):
    """(comparison, factor) of a ratio target such as '>= 2x' or '<= 1.25x', else None."""
    m = re.match(r'\s*(>=|<=|>|<)\s*([0-9.]+)x', t)
    return (m.group(1), float(m.group(2))) if m else None

def meets(v, tgt):
    op, x = tgt
    return {'>=': v >= x, '>': v > x, '<=': v <= x, '<': v < x}[op]

def draw_report(path):
    """One row per figure that has ratios: the median bar, a min-max whisker and the target's
    line on a log axis; green when the median meets the target, red when not, grey without one."""
    rows = [(n, f) for n, f in figures.items() if f['ratio']]
    lo, hi = 0.05, 100.0
    char_w = 7  # about, at 12 px sans-serif
    label_w = 16 + char_w * max([len(n) for n, _ in rows] + [20])
    right_w = 24 + char_w * max([len(f'{fmt(statistics.median(f["ratio"]))}x {f["target"]}')
                                 for _, f in rows] + [10])
    plot_w, row_h, top = 520, 22, 46
    width, height = label_w + plot_w + right_w, top + row_h * len(rows) + 40
    def x(v):
        v = min(max(v, lo), hi)
        return label_w + plot_w * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
    def esc(t):
        return t.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="10" y="18" font-size="14" font-weight="bold">{esc(os.path.basename(out))}: '
           f'ratio to the row\'s peer (or reference), median over {passes} pass(es), '
           f'whisker min-max; | = target</text>']
    for v in (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100):
        svg.append(f'<line x1="{x(v):.1f}" y1="{top - 8}" x2="{x(v):.1f}" '
                   f'y2="{top + row_h * len(rows)}" stroke="#ddd"/>')
        svg.append(f'<text x="{x(v):.1f}" y="{top - 12}" text-anchor="middle" fill="#666">{v:g}x</text>')
    for i, (name, f) in enumerate(rows):
        y = top + i * row_h
        med, mn, mx = statistics.median(f['ratio']), min(f['ratio']), max(f['ratio'])
        tgt = parse_target(f['target'])
        ok = None if not tgt else meets(med, tgt)
        color = '#999' if ok is None else ('#2a9d4b' if ok else '#d64541')
        svg.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{esc(name)}</text>')
        svg.append(f'<rect x="{x(lo):.1f}" y="{y + 4}" width="{x(med) - x(lo):.1f}" '
                   f'height="{row_h - 8}" fill="{color}" opacity="0.8"/>')
        svg.append(f'<line x1="{x(mn):.1f}" y1="{y + row_h / 2}" x2="{x(mx):.1f}" '
                   f'y2="{y + row_h / 2}" stroke="black"/>')
        if tgt:
            svg.append(f'<line x1="{x(tgt[1]):.1f}" y1="{y + 1}" x2="{x(tgt[1]):.1f}" '
                       f'y2="{y + row_h - 1}" stroke="black" stroke-width="3"/>')
        svg.append(f'<text x="{label_w + plot_w + 8}" y="{y + 15}">{fmt(med)}x '
                   f'{esc(f["target"])}</text>')
    svg.append('</svg>')
    with open(path, 'w') as fh:
        fh.write('\n'.join(svg) + '\n')

if report:
    draw_report(os.path.join(out, 'report.svg'))
    print(f'report: {os.path.join(out, "report.svg")}', file=sys.stderr)
PY
echo "results in $out" >&2
