// Load generator for the RPC path: one TypeScript writer (Node.js, Cap'n Proto over TCP) keeps
// `--window` events in flight, like `pravaha-bench write --window W` does through CAF.
//
//   node bench/rpc-bench.mjs --address 127.0.0.1:9091 --window 1000 --duration 10 --event-size 100
//        [--batch 1000] [--stream scope/name] [--segments 1] [--keys 16] [--warmup 1000]
//        [--json FILE]
//
// Latency of an event: from write() to its acknowledgement (the node acks after fsync).
import { writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { connect } from "../dist/index.js";

function parseArgs(argv) {
  const o = {
    address: "127.0.0.1:9091",
    window: 1000,
    duration: 10,
    eventSize: 100,
    batch: 1000,
    stream: `bench/ts${process.pid}`,
    segments: 1,
    keys: 16,
    warmup: 1000,
    json: undefined,
  };
  const names = {
    "--address": "address",
    "--window": "window",
    "--duration": "duration",
    "--event-size": "eventSize",
    "--batch": "batch",
    "--stream": "stream",
    "--segments": "segments",
    "--keys": "keys",
    "--warmup": "warmup",
    "--json": "json",
  };
  for (let i = 2; i < argv.length; i += 2) {
    const key = names[argv[i]];
    if (key === undefined || i + 1 >= argv.length) {
      throw new Error(`unknown or incomplete option ${argv[i]} (see the comment at the top of this file)`);
    }
    o[key] = typeof o[key] === "number" ? Number(argv[i + 1]) : argv[i + 1];
    if (typeof o[key] === "number" && !(o[key] >= 0)) {
      throw new Error(`${argv[i]} needs a non-negative number`);
    }
  }
  if (o.window < 1) {
    throw new Error("--window must be at least 1");
  }
  return o;
}

function percentile(sorted, p) {
  if (sorted.length === 0) {
    return 0;
  }
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const o = parseArgs(process.argv);
const [scope, name] = o.stream.split("/");
const client = await connect(o.address);
await client.createScope(scope).catch((e) => {
  if (e.errorName !== "scope_exists") throw e;
});
await client.createStream(scope, name, { segments: o.segments }).catch((e) => {
  if (e.errorName !== "stream_exists") throw e;
});
// In-flight calls: enough for the window in batches of `--batch` events.
const writer = await client.createWriter(scope, name, {
  maxBatchEvents: o.batch,
  maxInFlight: Math.max(1, Math.ceil(o.window / o.batch) + 1),
});
const payload = new Uint8Array(o.eventSize).fill(120);
const keys = Array.from({ length: o.keys }, (_, i) => `key-${i}`);

const latenciesUs = [];
let sent = 0;
let acked = 0;
let failed = 0;
let measuring = false;
let measuredStart = 0;
let measuredAcked = 0;
let stopAt = Infinity;
let done;
const finished = new Promise((resolve) => (done = resolve));

function sendOne() {
  const t0 = performance.now();
  const n = sent++;
  writer.write(keys[n % keys.length], payload).then(
    () => {
      acked++;
      if (measuring) {
        latenciesUs.push((performance.now() - t0) * 1000);
        measuredAcked++;
      } else if (acked >= o.warmup) {
        measuring = true;
        measuredStart = performance.now();
        stopAt = measuredStart + o.duration * 1000;
      }
      refill();
    },
    (err) => {
      failed++;
      if (failed === 1) {
        console.error(`write failed: ${err.message}`);
      }
      refill();
    },
  );
}

function refill() {
  if (performance.now() >= stopAt) {
    if (acked + failed === sent) {
      done();
    }
    return;
  }
  while (sent - acked - failed < o.window) {
    sendOne();
  }
}

refill();
await finished;
const elapsed = (performance.now() - measuredStart) / 1000;
await writer.close();
client.close();

latenciesUs.sort((a, b) => a - b);
const eventsPerS = measuredAcked / elapsed;
const result = {
  system: "pravaha-rpc-typescript",
  mode: "standalone, ack after fsync",
  bench_mode: "write",
  window: o.window,
  batch: o.batch,
  event_size: o.eventSize,
  events: measuredAcked,
  failed,
  elapsed_s: elapsed,
  events_per_s: eventsPerS,
  mb_per_s: (eventsPerS * o.eventSize) / 1e6,
  latency_us: {
    p50: percentile(latenciesUs, 50),
    p95: percentile(latenciesUs, 95),
    p99: percentile(latenciesUs, 99),
    p999: percentile(latenciesUs, 99.9),
    max: latenciesUs.at(-1) ?? 0,
  },
  // The fields scripts/summarize_passes.py reads.
  size: o.eventSize,
  clients: 1,
  rps: eventsPerS,
  p50_ms: percentile(latenciesUs, 50) / 1000,
  p99_ms: percentile(latenciesUs, 99) / 1000,
};
const l = result.latency_us;
console.log(
  `rpc-bench window=${o.window} batch=${o.batch} event_size=${o.eventSize} failed=${failed} elapsed=${elapsed.toFixed(2)}s\n` +
    `events/s ${Math.round(eventsPerS)}  MB/s ${result.mb_per_s.toFixed(2)}  ` +
    `p50_us ${Math.round(l.p50)}  p95_us ${Math.round(l.p95)}  p99_us ${Math.round(l.p99)}  max_us ${Math.round(l.max)}`,
);
if (o.json !== undefined) {
  writeFileSync(o.json, JSON.stringify(result));
}
process.exit(failed > 0 ? 1 : 0);
