#!/usr/bin/env bash
# The RPC path next to the native one, in one run on one standalone node: the TypeScript client
# (client/typescript/bench/rpc-bench.mjs, Cap'n Proto over TCP into the node's gateway) and
# pravaha-bench (C++ client, CAF), each writing 100-byte events with a window of in-flight
# events, and one event at a time. Passes are interleaved; the table shows medians [min-max] and
# the ratio RPC / native per pass.
# Usage: scripts/bench-rpc.sh [results dir]   (PASSES=3 DURATION=10 WINDOW=1000 SIZE=100)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out="${1:-results/rpc-$(date +%Y%m%d-%H%M%S)}"
passes="${PASSES:-3}"
duration="${DURATION:-10}"
window="${WINDOW:-1000}"
size="${SIZE:-100}"
mkdir -p "$out"
scripts/build.sh >/dev/null
(cd client/typescript && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
data="$(mktemp -d)"
build/runtime/pravaha-node --standalone --data-dir "$data" --port 0 --rpc-port 0 \
  --log-level info >"$out/node.log" 2>&1 &
node_pid=$!
trap 'kill $node_pid 2>/dev/null; wait $node_pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  grep -q "node started" "$out/node.log" && break
  sleep 0.1
done
endpoint=$(sed -n 's/.*node started .* endpoint=\([0-9.:]*\) rpc=.*/\1/p' "$out/node.log")
rpc=$(sed -n 's/.*node started .* rpc=\([0-9.:]*\) .*/\1/p' "$out/node.log")
[ -n "$endpoint" ] && [ -n "$rpc" ] || { echo "bench-rpc: the node did not start" >&2; exit 1; }
echo "bench-rpc: node endpoint $endpoint, rpc $rpc; $passes passes of ${duration}s, window $window, ${size} B"
for pass in $(seq 1 "$passes"); do
  for w in "$window" 1; do
    batch=$(( w < 1000 ? w : 1000 ))
    build/client/pravaha-bench write --endpoint "$endpoint" --window "$w" --event-size "$size" \
      --duration "$duration" --quiet --json "$out/native-w$w-p$pass.json" >/dev/null
    node client/typescript/bench/rpc-bench.mjs --address "$rpc" --window "$w" --batch "$batch" \
      --event-size "$size" --duration "$duration" --json "$out/rpc-w$w-p$pass.json" >/dev/null
    echo "pass $pass window $w: native $(python3 -c "import json;print(round(json.load(open('$out/native-w$w-p$pass.json'))['events_per_s']))")/s, rpc $(python3 -c "import json;print(round(json.load(open('$out/rpc-w$w-p$pass.json'))['events_per_s']))")/s"
  done
done
python3 - "$out" "$passes" "$window" <<'PY'
import json, statistics, sys
out, passes, window = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def load(kind, w, p):
    return json.load(open(f"{out}/{kind}-w{w}-p{p}.json"))
def fmt(vals):
    return f"{statistics.median(vals):,.0f} [{min(vals):,.0f}-{max(vals):,.0f}]"
rows = []
for w in (window, "1"):
    for metric, key in (("events/s", lambda r: r["events_per_s"]),
                        ("p50 us", lambda r: r["latency_us"]["p50"]),
                        ("p99 us", lambda r: r["latency_us"]["p99"])):
        nat = [key(load("native", w, p)) for p in range(1, passes + 1)]
        rpc = [key(load("rpc", w, p)) for p in range(1, passes + 1)]
        ratio = [r / n if n else 0 for r, n in zip(rpc, nat)]
        rows.append((f"window {w}: {metric}", fmt(rpc), fmt(nat),
                     f"{statistics.median(ratio):.2f} [{min(ratio):.2f}-{max(ratio):.2f}]"))
print("| figure | TypeScript over RPC | C++ client over CAF | ratio RPC/native |")
print("|---|---:|---:|---:|")
for r in rows:
    print("| " + " | ".join(r) + " |")
json.dump(rows, open(f"{out}/summary.json", "w"), indent=1)
PY
