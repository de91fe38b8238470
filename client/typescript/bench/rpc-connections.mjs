// Many idle RPC connections: opens --clients TypeScript clients (one TCP connection each), each
// with --client-writers writers that write one event, prints "holding ..." once all are open,
// holds them idle for --hold seconds, then makes one more call on every connection (a write per
// writer, or a scope listing) and closes everything. Exits 1 if any call failed.
//
//   node bench/rpc-connections.mjs --address 127.0.0.1:9091 --clients 10000 [--client-writers 0]
//        [--hold 10] [--stream scope/name] [--json FILE]
import { writeFileSync } from "node:fs";
import { connect } from "../dist/index.js";

function parseArgs(argv) {
  const o = { address: "127.0.0.1:9091", clients: 100, clientWriters: 0, hold: 10,
    stream: `bench/conn${process.pid}`, json: undefined };
  const names = { "--address": "address", "--clients": "clients",
    "--client-writers": "clientWriters", "--hold": "hold", "--stream": "stream", "--json": "json" };
  for (let i = 2; i < argv.length; i += 2) {
    const key = names[argv[i]];
    if (key === undefined || i + 1 >= argv.length) {
      console.error(`rpc-connections: bad option ${argv[i]}`);
      process.exit(2);
    }
    o[key] = ["address", "stream", "json"].includes(key) ? argv[i + 1] : Number(argv[i + 1]);
    if (typeof o[key] === "number" && !(Number.isInteger(o[key]) && o[key] >= 0)) {
      console.error(`rpc-connections: ${argv[i]} needs a whole number`);
      process.exit(2);
    }
  }
  return o;
}

// Runs step(i) for i in [0, n) with at most `parallel` at once; returns the errors.
async function forEach(n, parallel, step) {
  const errors = [];
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < n; i = next++) {
      try {
        await step(i);
      } catch (err) {
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, parallel) }, lane));
  return errors;
}

const rssMiB = () => process.memoryUsage().rss / (1024 * 1024);

async function main() {
  const o = parseArgs(process.argv);
  const [scope, stream] = o.stream.split("/");
  const admin = await connect(o.address);
  await admin.createScope(scope).catch(() => {});
  await admin.createStream(scope, stream, { segments: 4 }).catch(() => {});
  admin.close();
  const clients = new Array(o.clients);
  const t0 = performance.now();
  const openErrors = await forEach(o.clients, 200, async (i) => {
    const client = await connect(o.address);
    clients[i] = { client, writers: [] };
    for (let w = 0; w < o.clientWriters; ++w) {
      const writer = await client.createWriter(scope, stream);
      clients[i].writers.push(writer);
      await writer.write(`c${i}-w${w}`, "connect");
    }
    if (o.clientWriters === 0) {
      await client.listScopes();
    }
  });
  const setup = (performance.now() - t0) / 1000;
  console.log(`holding clients=${o.clients} writers=${o.clients * o.clientWriters} ` +
    `failed=${openErrors.length} setup=${setup.toFixed(2)}s rss_mib=${rssMiB().toFixed(1)}`);
  await new Promise((resolve) => setTimeout(resolve, o.hold * 1000));
  const t1 = performance.now();
  const checkErrors = await forEach(o.clients, 200, async (i) => {
    if (clients[i] === undefined) {
      throw new Error("not connected");
    }
    for (const [w, writer] of clients[i].writers.entries()) {
      await writer.write(`c${i}-w${w}`, "connect again");
    }
    if (clients[i].writers.length === 0) {
      await clients[i].client.listScopes();
    }
  });
  const check = (performance.now() - t1) / 1000;
  const failed = openErrors.length + checkErrors.length;
  const rss = rssMiB();
  console.log(`connect clients=${o.clients} writers=${o.clients * o.clientWriters} ` +
    `failed=${failed} setup=${setup.toFixed(2)}s check=${check.toFixed(2)}s ` +
    `rss_mib=${rss.toFixed(1)}`);
  const first = openErrors[0] ?? checkErrors[0];
  if (first !== undefined) {
    console.log(`first error: ${first.message ?? first}`);
  }
  if (o.json !== undefined) {
    writeFileSync(o.json, JSON.stringify({ clients: o.clients, client_writers: o.clientWriters,
      failed, setup_s: setup, check_s: check, rss_mib: rss }) + "\n");
  }
  await forEach(o.clients, 200, async (i) => {
    if (clients[i] !== undefined) {
      for (const writer of clients[i].writers) {
        await writer.close();
      }
      clients[i].client.close();
    }
  });
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(`rpc-connections: ${err.stack ?? err}`);
  process.exit(1);
});
