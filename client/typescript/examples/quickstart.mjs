// The README's example: write events with routing keys and read them back.
// Run against a standalone node: node examples/quickstart.mjs [host:port]
import { connect } from "pravaha-client";

const client = await connect(process.argv[2] ?? "127.0.0.1:9091");
const scope = "examples";
const stream = `quickstart-${Date.now()}`;
await client.createScope(scope).catch((err) => {
  if (err.errorName !== "scope_exists") throw err;
});
await client.createStream(scope, stream, { segments: 2 });

const writer = await client.createWriter(scope, stream);
const acks = [];
for (let i = 0; i < 100; i++) {
  acks.push(writer.write(`customer-${i % 5}`, `order ${i}`)); // resolves when durable
}
await Promise.all(acks);
await writer.close();

const reader = await client.createReader(scope, stream, { from: "head" });
let count = 0;
for (let event = await reader.next(1000); event !== null; event = await reader.next(100)) {
  count++;
}
console.log(`wrote 100 events, read ${count} back`);
reader.close();
client.close();
