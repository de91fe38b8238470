// The TypeScript client against a real pravaha-node (see node.mjs for how it is found).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { connect, ConnectionLostError, ErrorCode, PravahaError, segmentName } from "../dist/index.js";
import { nodeBinary, startNode } from "./node.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const decoder = new TextDecoder();

/** Asserts that `p` rejects with the documented error `name`. */
async function rejectsWith(p, name) {
  await assert.rejects(p, (err) => {
    assert.ok(err instanceof PravahaError, `expected a PravahaError, got ${err}`);
    assert.equal(err.errorName, name);
    assert.equal(err.code, ErrorCode[name]);
    return true;
  });
}

/** Reads until a zero-wait fetch comes back empty; returns the payloads as text. */
async function readAll(reader) {
  const out = [];
  for (;;) {
    const e = await reader.next(0);
    if (e === null) {
      return out;
    }
    out.push(decoder.decode(e.payload));
  }
}

/** Checks that `texts` ("writer:seq") hold every (writer, seq < count) exactly once, in order per key. */
function checkExactlyOnceInKeyOrder(texts, writers, count, keys) {
  const seen = new Set();
  const last = new Map();
  for (const t of texts) {
    assert.ok(!seen.has(t), `event ${t} read twice`);
    seen.add(t);
    const [w, seqText] = t.split(":");
    const seq = Number(seqText);
    const key = `${w}/${seq % keys}`;
    if (last.has(key)) {
      assert.ok(last.get(key) < seq, `key ${key}: ${seq} after ${last.get(key)}`);
    }
    last.set(key, seq);
  }
  for (const w of writers) {
    for (let i = 0; i < count; i++) {
      assert.ok(seen.has(`${w}:${i}`), `event ${w}:${i} lost`);
    }
  }
  assert.equal(texts.length, writers.length * count);
}

describe("pravaha-client against a real node", () => {
  let node;
  let client;

  before(async () => {
    node = await startNode();
    client = await connect(node.address);
    await client.createScope("ts");
  });

  after(async () => {
    client?.close();
    await node?.stop();
  });

  test("scopes and streams, with the documented errors", async () => {
    await rejectsWith(client.createScope("ts"), "scope_exists");
    await rejectsWith(client.createScope("bad name!"), "invalid_name");
    assert.ok((await client.listScopes()).includes("ts"));

    const info = await client.createStream("ts", "admin", { segments: 3 });
    assert.equal(info.segments.length, 3);
    assert.equal(info.segments[0].keyStart, 0);
    assert.equal(info.segments[2].keyEnd, 1);
    await rejectsWith(client.createStream("ts", "admin"), "stream_exists");
    await rejectsWith(client.createStream("nope", "s"), "scope_not_found");
    await assert.rejects(client.createStream("ts", "zero", { segments: 0 }), PravahaError);
    assert.deepEqual(await client.listStreams("ts"), ["admin"]);
    assert.equal((await client.streamInfo("ts", "admin")).sealed, false);
    await rejectsWith(client.streamInfo("ts", "missing"), "stream_not_found");
    await rejectsWith(client.deleteStream("ts", "admin"), "stream_not_sealed");
    await client.sealStream("ts", "admin");
    assert.equal((await client.streamInfo("ts", "admin")).sealed, true);
    await client.deleteStream("ts", "admin");
    await rejectsWith(client.streamInfo("ts", "admin"), "stream_not_found");
  });

  test("two writers write 10,000 events over 20 keys; read back exactly once in per-key order", async () => {
    await client.createStream("ts", "flow", { segments: 4 });
    const writers = await Promise.all([
      client.createWriter("ts", "flow", { writerId: "w0" }),
      client.createWriter("ts", "flow", { writerId: "w1" }),
    ]);
    const acks = [];
    for (let i = 0; i < 5000; i++) {
      for (const [w, writer] of writers.entries()) {
        acks.push(writer.write(`key-${i % 20}`, `w${w}:${i}`));
      }
    }
    const numbers = await Promise.all(acks);
    // Each writer numbers its events 0, 1, 2, ... in the order written.
    assert.deepEqual(numbers.filter((_, i) => i % 2 === 0), [...Array(5000).keys()].map(BigInt));
    await Promise.all(writers.map((w) => w.close()));

    const reader = await client.createReader("ts", "flow");
    checkExactlyOnceInKeyOrder(await readAll(reader), ["w0", "w1"], 5000, 20);
    reader.close();
  });

  test("a reconnect in the middle of writing and reading loses and duplicates nothing", async () => {
    await client.createStream("ts", "unsteady", { segments: 3 });
    const writer = await client.createWriter("ts", "unsteady", { writerId: "unsteady", maxBatchEvents: 100 });
    let acked = 0;
    let dropped = 0;
    const acks = [];
    for (let i = 0; i < 10000; i++) {
      acks.push(
        writer.write(`key-${i % 20}`, `u:${i}`).then((n) => {
          acked++;
          // Lose the connection twice while calls are in flight.
          if ((acked === 2000 || acked === 6000) && dropped < 2) {
            dropped++;
            client.dropConnection();
          }
          return n;
        }),
      );
    }
    const numbers = await Promise.all(acks);
    assert.equal(dropped, 2);
    assert.deepEqual(numbers, [...Array(10000).keys()].map(BigInt));
    await writer.close();

    // The reader loses its connection too, after 4,000 events, and continues where it was.
    const reader = await client.createReader("ts", "unsteady", { maxBatchEvents: 500 });
    const texts = [];
    for (;;) {
      const e = await reader.next(0);
      if (e === null) {
        break;
      }
      texts.push(decoder.decode(e.payload));
      if (texts.length === 4000) {
        client.dropConnection();
      }
    }
    checkExactlyOnceInKeyOrder(texts, ["u"], 10000, 20);
    reader.close();

    // A new program with the same writer id continues after the stored events.
    const again = await client.createWriter("ts", "unsteady", { writerId: "unsteady" });
    assert.equal(again.lastEventNumber, 9999n);
    assert.equal(await again.write("key-0", "u:10000"), 10000n);
    await again.close();
  });

  test("a reader continues from a position it answered", async () => {
    await client.createStream("ts", "positions", { segments: 2 });
    const writer = await client.createWriter("ts", "positions");
    await Promise.all([...Array(300).keys()].map((i) => writer.write(`k${i % 7}`, `p:${i}`)));
    await writer.close();
    const first = await client.createReader("ts", "positions", { maxBatchEvents: 64 });
    const texts = [];
    for (let i = 0; i < 100; i++) {
      texts.push(decoder.decode((await first.next(0)).payload));
    }
    const position = first.position();
    first.close();
    const second = await client.createReader("ts", "positions", { from: position });
    texts.push(...(await readAll(second)));
    second.close();
    checkExactlyOnceInKeyOrder(texts, ["p"], 300, 7);
  });

  test("a writer and readers follow a split and a merge, exactly once in per-key order", async () => {
    const info = await client.createStream("ts", "elastic", { segments: 2 });
    assert.equal(info.epoch, 0);
    assert.equal(info.policy.type, "fixed");
    const writer = await client.createWriter("ts", "elastic", { writerId: "elastic", maxBatchEvents: 50 });
    const write = (from, to) => {
      const acks = [];
      for (let i = from; i < to; i++) {
        acks.push(writer.write(`key-${i % 10}`, `w:${i}`));
      }
      return acks;
    };
    await Promise.all(write(0, 300));
    const first = await client.streamCut("ts", "elastic");
    // Writes in flight while the segment splits and while its successors merge again.
    const during = write(300, 600);
    const split = await client.splitSegment("ts", "elastic", info.segments[1].id, 2);
    assert.equal(split.epoch, 1);
    assert.deepEqual(split.created.map((s) => segmentName(s.id)), ["1.2", "1.3"]);
    during.push(...write(600, 900));
    const merged = await client.mergeSegments("ts", "elastic", split.created.map((s) => s.id));
    assert.equal(merged.epoch, 2);
    during.push(...write(900, 1000));
    await Promise.all(during);
    await writer.close();
    const last = await client.streamCut("ts", "elastic");

    const reader = await client.createReader("ts", "elastic");
    checkExactlyOnceInKeyOrder(await readAll(reader), ["w"], 1000, 10);
    reader.close();
    // Between two cuts: exactly what was written in between.
    const between = await client.createReader("ts", "elastic", { from: { cut: first }, to: last });
    const texts = await readAll(between);
    assert.deepEqual(texts.map((t) => Number(t.split(":")[1])).sort((a, b) => a - b), [...Array(700).keys()].map((i) => i + 300));
    assert.ok(between.ended);
    between.close();

    const history = await client.history("ts", "elastic");
    assert.deepEqual(history.map((e) => e.epoch), [0, 1, 2]);
    assert.deepEqual(history[2].segments.map((s) => segmentName(s.id)), ["0.0", "2.4"]);
    assert.deepEqual(history[2].segments[1].predecessors.map(segmentName), ["1.2", "1.3"]);
    assert.ok(history[0].segments[1].sealedLength > 0n);

    // The errors a program meets.
    await rejectsWith(client.mergeSegments("ts", "elastic", [info.segments[0].id]), "invalid_argument");
    await rejectsWith(client.scaleStream("ts", "elastic", [info.segments[1].id], [{ keyStart: 0.5, keyEnd: 1 }]), "invalid_argument");
    await rejectsWith(client.createReader("ts", "elastic", { to: "no cut" }), "invalid_argument");
    await rejectsWith(client.createStream("ts", "bad-policy", { policy: { type: "sometimes", target: 5 } }), "invalid_argument");
    const auto = await client.createStream("ts", "auto", { segments: 2, policy: { type: "events", target: 1000 } });
    assert.deepEqual(auto.policy, { type: "events", target: 1000, factor: 2, minSegments: 2 });
    const fixed = await client.updateStream("ts", "auto", { type: "fixed" });
    assert.equal(fixed.policy.type, "fixed");
  });

  test("two readers of a group share a stream and take over from a closed one", async () => {
    await client.createStream("ts", "grouped", { segments: 4 });
    const writer = await client.createWriter("ts", "grouped");
    const write = (from, to) => Promise.all([...Array(to - from).keys()].map((i) => writer.write(`key-${(from + i) % 10}`, `g:${from + i}`)));
    await write(0, 400);
    const group = await client.createReaderGroup("ts", "g", { streams: [{ scope: "ts", stream: "grouped" }], leaseMs: 3000, checkpointIntervalMs: 0 });
    assert.deepEqual(await client.listReaderGroups("ts"), ["g"]);
    const a = await group.createReader("a");
    const b = await group.createReader("b");
    await rejectsWith(group.createReader("a"), "reader_exists");
    const texts = { a: [], b: [] };
    const all = []; // in the order they were returned
    const take = async (name, r) => {
      const got = await readAll(r);
      texts[name].push(...got);
      all.push(...got);
    };
    // Both read until the group has nothing unread; each holds two of the four segments.
    const drain = async () => {
      for (let round = 0; round < 100; round++) {
        await take("a", a);
        await take("b", b);
        if (texts.a.length + texts.b.length >= 400 && (await group.info()).unreadBytes === 0n) {
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await drain();
    // The first to join gave two segments back to the second (within a few reports).
    let shares = [];
    for (let round = 0; round < 100; round++) {
      await take("a", a);
      await take("b", b);
      shares = (await group.info()).readers.map((r) => [r.name, r.segments.length]);
      if (shares.every(([, n]) => n === 2)) {
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(shares, [["a", 2], ["b", 2]]);
    // What is written now goes to both.
    const bBefore = texts.b.length;
    await write(400, 500);
    for (let round = 0; round < 100 && texts.a.length + texts.b.length < 500; round++) {
      await take("a", a);
      await take("b", b);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(texts.b.length > bBefore);
    // b leaves: a takes over its segments and reads what is written after.
    await b.close();
    await write(500, 700);
    for (let round = 0; round < 100 && texts.a.length + texts.b.length < 700; round++) {
      await take("a", a);
      await new Promise((r) => setTimeout(r, 50));
    }
    checkExactlyOnceInKeyOrder(all, ["g"], 700, 10);
    assert.deepEqual((await group.info()).readers.map((r) => [r.name, r.segments.length]), [["a", 4]]);
    // A checkpoint marks the reader; reset to it: a is told it is offline.
    const cuts = group.checkpoint("cp");
    let marker = null;
    for (let i = 0; i < 50 && marker === null; i++) {
      const e = await a.next(100);
      if (e !== null && e.checkpoint !== undefined) {
        marker = e;
      }
    }
    assert.equal(marker?.checkpoint, "cp");
    await a.next(0); // records the checkpoint
    assert.equal((await cuts).length, 1);
    assert.equal(await group.reset({ checkpoint: "cp" }), 1);
    await rejectsWith((async () => {
      for (let i = 0; i < 50; i++) {
        await a.next(100);
      }
    })(), "reader_offline");
    await a.close();
    await writer.close();
    await client.deleteReaderGroup("ts", "g");
    await rejectsWith(client.readerGroup("ts", "g"), "group_not_found");
  });

  test("transactions: a reader sees a committed one whole and an aborted one never", async () => {
    await client.createStream("ts", "txns", { segments: 3 });
    const txn = await client.beginTransaction("ts", "txns", { writerId: "ts-producer" });
    assert.equal(txn.id.length, 16);
    await Promise.all([...Array(300).keys()].map((i) => txn.write(`key-${i % 10}`, `t1:${i}`)));
    const reader = await client.createReader("ts", "txns");
    assert.deepEqual(await readAll(reader), []); // durable, invisible
    const mine = await client.listTransactions("ts", "txns", { writerId: "ts-producer" });
    assert.deepEqual(mine.map((t) => [t.id, t.state]), [[txn.id, "open"]]);
    assert.deepEqual(await client.listTransactions("ts", "txns", { writerId: "someone-else" }), []);
    // Writes not yet answered when commit() is called are in it.
    const late = txn.write("key-0", "t1:late");
    const done = await txn.commit();
    assert.equal(done.state, "committed");
    await late;
    const seen = await readAll(reader);
    assert.equal(seen.length, 301);
    checkExactlyOnceInKeyOrder(seen.filter((t) => t !== "t1:late"), ["t1"], 300, 10);
    assert.equal((await txn.commit()).state, "committed"); // idempotent
    await rejectsWith(txn.abort(), "transaction_committed");
    await rejectsWith(txn.write("k", "after"), "transaction_not_open");
    txn.close();

    const other = await client.beginTransaction("ts", "txns");
    await Promise.all([...Array(50).keys()].map((i) => other.write(`key-${i % 5}`, `t2:${i}`)));
    assert.equal((await other.abort()).state, "aborted");
    await rejectsWith(other.commit(), "transaction_aborted");
    other.close();
    // Found again by id; a transaction released undecided runs out of lease and is aborted.
    const third = await client.beginTransaction("ts", "txns", { leaseMs: 1000 });
    const again = await client.openTransaction("ts", "txns", third.id);
    await again.write("key-1", "t3:0");
    assert.equal((await again.status()).state, "open");
    again.close();
    third.close();
    let state = "open";
    for (let i = 0; i < 100 && state !== "aborted"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      state = (await client.listTransactions("ts", "txns")).find((t) => t.id === third.id)?.state;
    }
    assert.equal(state, "aborted");
    // Begun before a split, committed after it: it rolls into the stream through two epochs,
    // after the events written before the commit, before the ones written after it.
    await client.createStream("ts", "rolled", { segments: 2 });
    const plain = await client.createWriter("ts", "rolled");
    const early = await client.beginTransaction("ts", "rolled");
    await Promise.all([...Array(100).keys()].map((i) => early.write(`key-${i % 10}`, `t4:${i}`)));
    await Promise.all([...Array(10).keys()].map((i) => plain.write(`key-${i}`, `p:${i}`)));
    const before = await client.history("ts", "rolled");
    await client.splitSegment("ts", "rolled", before[0].segments[0].id, 2);
    await Promise.all([...Array(10).keys()].map((i) => plain.write(`key-${i}`, `p:${10 + i}`)));
    assert.equal((await early.commit()).state, "committed");
    await Promise.all([...Array(10).keys()].map((i) => plain.write(`key-${i}`, `p:${20 + i}`)));
    early.close();
    await plain.close();
    const rolled = await client.history("ts", "rolled");
    assert.deepEqual(rolled.map((e) => e.rolled), [false, false, true, true]);
    const rolledReader = await client.createReader("ts", "rolled");
    const all = await readAll(rolledReader);
    rolledReader.close();
    assert.equal(all.length, 130);
    checkExactlyOnceInKeyOrder(all.filter((t) => t.startsWith("t4")), ["t4"], 100, 10);
    for (let k = 0; k < 10; k++) {
      // Per key: p:k, p:10+k, then the transaction's ten, then p:20+k.
      const mine = all.filter((t) => t === `p:${k}` || t === `p:${10 + k}` || t === `p:${20 + k}` || (t.startsWith("t4:") && Number(t.split(":")[1]) % 10 === k));
      assert.deepEqual(mine.slice(0, 2), [`p:${k}`, `p:${10 + k}`]);
      assert.ok(mine.slice(2, 12).every((t) => t.startsWith("t4:")), mine.join(" "));
      assert.equal(mine[12], `p:${20 + k}`);
    }
    await rejectsWith(client.openTransaction("ts", "txns", "zz"), "invalid_argument");
    await rejectsWith(client.openTransaction("ts", "txns", "00000000000fffff"), "transaction_not_found");
    assert.deepEqual(await readAll(reader), []); // nothing of the aborted ones
    reader.close();
  });

  test("bad input gets the documented errors and harms nothing", async () => {
    await rejectsWith(client.createWriter("ts", "nope"), "stream_not_found");
    await rejectsWith(client.createReader("ts", "nope"), "stream_not_found");
    await client.createStream("ts", "bad-input");
    const writer = await client.createWriter("ts", "bad-input");
    await rejectsWith(writer.write("k", new Uint8Array(8 * 1024 * 1024 + 1)), "event_too_large");
    assert.equal(await writer.write("k", "fine"), 0n);
    await writer.close();
    const info = await client.streamInfo("ts", "bad-input");
    await rejectsWith(
      client.createReader("ts", "bad-input", { from: [{ segmentId: info.segments[0].id, offset: 1n << 40n }] }),
      "bad_offset",
    );
    await rejectsWith(
      client.createReader("ts", "bad-input", { from: [{ segmentId: 999999n, offset: 0n }] }),
      "invalid_argument",
    );
    const reader = await client.createReader("ts", "bad-input");
    assert.deepEqual(await readAll(reader), ["fine"]);
    reader.close();
    await assert.rejects(connect("127.0.0.1:99999"), TypeError);
  });

  test("connecting to a port nobody listens on fails with ConnectionLostError", async () => {
    await assert.rejects(connect({ host: "127.0.0.1", port: 1, connectTimeoutMs: 2000 }), ConnectionLostError);
  });

  test("the README example runs", async () => {
    const run = promisify(execFile);
    const { stdout } = await run(process.execPath, [join(here, "..", "examples", "quickstart.mjs"), node.address]);
    assert.match(stdout, /wrote 100 events, read 100 back/);
  });
});

describe("a node with a token file", () => {
  let node;
  const tokens = {};

  // Tokens made by the node's own tool; the file holds only their hashes.
  function makeTokens(dir) {
    const lines = [];
    for (const [name, grants] of [
      ["admin", ["*=admin"]],
      ["ingest", ["sec=write"]],
      ["audit", ["sec=read"]],
    ]) {
      const out = execFileSync(nodeBinary(), ["token", "create", name, ...grants], { encoding: "utf8" });
      const [token, line] = out.trim().split("\n");
      tokens[name] = token;
      lines.push(line);
    }
    writeFileSync(join(dir, "tokens"), lines.join("\n") + "\n");
    return ["--token-file", join(dir, "tokens")];
  }

  before(async () => {
    node = await startNode(makeTokens);
  });

  after(async () => {
    await node?.stop();
  });

  const as = (name) => connect({ host: "127.0.0.1", port: node.rpcPort, token: tokens[name] });

  test("without a token nothing is allowed; an unknown token is refused at connect", async () => {
    const anonymous = await connect(node.address);
    await rejectsWith(anonymous.listScopes(), "unauthenticated");
    await rejectsWith(anonymous.createScope("sec"), "unauthenticated");
    anonymous.close();
    await rejectsWith(connect({ host: "127.0.0.1", port: node.rpcPort, token: "pvh_not-a-token" }), "unauthenticated");
  });

  test("each token may do what its rights on each scope allow, and sees only its scopes", async () => {
    const admin = await as("admin");
    await admin.createScope("sec");
    await admin.createScope("other");
    await admin.createStream("sec", "s");
    await admin.createStream("other", "s");
    assert.deepEqual((await admin.listScopes()).sort(), ["other", "sec"]);

    const ingest = await as("ingest");
    const writer = await ingest.createWriter("sec", "s");
    await writer.write("k", "e1");
    await writer.close();
    await rejectsWith(ingest.createReader("sec", "s"), "permission_denied");
    await rejectsWith(ingest.createWriter("other", "s"), "permission_denied");
    await rejectsWith(ingest.createStream("sec", "t"), "permission_denied");
    assert.deepEqual(await ingest.listScopes(), ["sec"]);

    const audit = await as("audit");
    const reader = await audit.createReader("sec", "s");
    assert.deepEqual(await readAll(reader), ["e1"]);
    reader.close();
    await rejectsWith(audit.createWriter("sec", "s"), "permission_denied");
    await rejectsWith(audit.deleteScope("other"), "permission_denied");
    // A group in a scope it can read over a stream of one it cannot: its readers would read it.
    await admin.createReaderGroup("sec", "cross", { streams: [{ scope: "other", stream: "s" }] });
    await rejectsWith(audit.readerGroup("sec", "cross"), "permission_denied");
    await admin.readerGroup("sec", "cross");
    for (const c of [admin, ingest, audit]) {
      c.close();
    }
    // No token appears in the node's log.
    for (const t of Object.values(tokens)) {
      assert.ok(!node.output().includes(t), "a token in the node's log");
    }
  });
});

describe("a node with TLS on its RPC port", () => {
  let node;
  let dir;
  const pem = (name) => readFileSync(join(dir, name));

  // A CA, the node's certificate for localhost, a client's, and a client of another CA.
  function makeCertificates(d) {
    dir = d;
    execFileSync("sh", ["-c", `set -e; cd "${d}"
      ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
      ca() { openssl req -x509 $ec -keyout $1.key -out $1.pem -days 30 -subj "/CN=$2" \\
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign; }
      leaf() { openssl req $ec -keyout $1.key -out $1.csr -subj "/CN=$2"; printf "$4" > $1.ext
        openssl x509 -req -in $1.csr -CA $3.pem -CAkey $3.key -CAcreateserial -days 30 -out $1.pem -extfile $1.ext; }
      ca ca "Test CA"; ca other "Other CA"
      leaf node localhost ca 'subjectAltName=DNS:localhost\\nextendedKeyUsage=serverAuth,clientAuth\\n'
      leaf client client ca 'extendedKeyUsage=clientAuth\\n'
      leaf rogue rogue other 'extendedKeyUsage=clientAuth\\n'`], { stdio: "ignore" });
    return ["--tls-cert", join(d, "node.pem"), "--tls-key", join(d, "node.key"), "--tls-ca", join(d, "ca.pem")];
  }

  before(async () => {
    node = await startNode(makeCertificates);
  });

  after(async () => {
    await node?.stop();
  });

  const options = (client) => ({
    host: "127.0.0.1",
    port: node.rpcPort,
    retryTimeoutMs: 1000,
    tls: { ca: pem("ca.pem"), cert: pem(`${client}.pem`), key: pem(`${client}.key`), servername: "localhost" },
  });

  test("a client with a certificate of the CA is served; plain TCP and another CA are refused", async () => {
    const good = await connect(options("client"));
    await good.createScope("tls");
    assert.deepEqual(await good.listScopes(), ["tls"]);
    await assert.rejects(async () => {
      const rogue = await connect(options("rogue"));
      try {
        await rogue.listScopes();
      } finally {
        rogue.close();
      }
    }, ConnectionLostError);
    await assert.rejects(async () => {
      const plain = await connect({ host: "127.0.0.1", port: node.rpcPort, retryTimeoutMs: 1000 });
      try {
        await plain.listScopes();
      } finally {
        plain.close();
      }
    }, ConnectionLostError);
    assert.deepEqual(await good.listScopes(), ["tls"]);
    good.close();
  });
});
