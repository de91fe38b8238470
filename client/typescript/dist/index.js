// Pravaha's TypeScript client: scopes and streams, writers that survive lost connections without
// losing or duplicating events, and readers that continue where they stopped. It speaks the node's
// Cap'n Proto RPC interface (schema/pravaha.capnp) over TCP.
import { connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { randomUUID } from "node:crypto";
import { Conn } from "capnp-es";
import * as rpc from "./schema/pravaha.js";
import { ConnectionLostError, TcpTransport } from "./transport.js";
export { ConnectionLostError } from "./transport.js";
/** The node's documented error codes (schema/pravaha.capnp, `errc`). */
export const ErrorCode = {
    invalid_name: 1,
    invalid_argument: 2,
    scope_exists: 3,
    scope_not_found: 4,
    scope_not_empty: 5,
    stream_exists: 6,
    stream_not_found: 7,
    stream_sealed: 8,
    stream_not_sealed: 9,
    segment_not_found: 10,
    segment_sealed: 11,
    event_too_large: 12,
    storage_io: 13,
    malformed_message: 14,
    corrupt_data: 15,
    timeout: 16,
    unavailable: 17,
    bad_offset: 18,
    overloaded: 19,
    event_number_gap: 20,
    writer_fenced: 21,
    not_leader: 22,
    storage_full: 23,
    conflict: 24,
    group_not_found: 25,
    group_exists: 26,
    reader_exists: 27,
    reader_offline: 28,
    transaction_not_found: 29,
    transaction_not_open: 30,
    transaction_aborted: 31,
    transaction_committed: 32,
    transaction_limit: 33,
    transaction_too_large: 34,
    unauthenticated: 35,
    permission_denied: 36,
};
/** An error the node answered: `code` and `errorName` are the documented ones. */
export class PravahaError extends Error {
    code;
    errorName;
    constructor(code, errorName, message) {
        super(`${errorName}: ${message}`);
        this.name = "PravahaError";
        this.code = code;
        this.errorName = errorName;
    }
}
/** "EPOCH.NUMBER", as the CLI prints segment ids. */
export function segmentName(id) {
    return `${id >> 32n}.${id & 0xffffffffn}`;
}
const MAX_EVENT_BYTES = 8 * 1024 * 1024;
const encoder = new TextEncoder();
function check(error) {
    if (error.code !== 0) {
        throw new PravahaError(error.code, error.name, error.message);
    }
}
function positionsOf(list) {
    const out = [];
    for (const p of list) {
        out.push({ segmentId: p.segmentId, offset: p.offset });
    }
    return out;
}
// One `next` call of a reader capability; the node's error is thrown.
async function nextBatch(s, cap, maxEvents, timeoutMs) {
    const r = await s.call(cap.next((p) => {
        p.maxEvents = maxEvents;
        p.timeoutMs = Math.max(0, Math.min(60000, Math.floor(timeoutMs)));
    }).promise());
    check(r.error);
    return r;
}
function readEventOf(e) {
    if (e.checkpoint !== "") {
        return { payload: new Uint8Array(0), segmentId: 0n, offset: 0n, checkpoint: e.checkpoint };
    }
    // Copied: the message's buffer is released with it.
    return { payload: new Uint8Array(e.payload.toUint8Array()), segmentId: e.segmentId, offset: e.offset };
}
function groupSegmentsOf(list) {
    return [...list].map((s) => ({ stream: s.stream, segmentId: s.segmentId, offset: s.offset }));
}
function groupInfoOf(g) {
    return {
        scope: g.scope,
        name: g.name,
        generation: g.generation,
        readers: [...g.readers].map((r) => ({ name: r.name, segments: groupSegmentsOf(r.segments), unreadBytes: r.unreadBytes })),
        unassigned: groupSegmentsOf(g.unassigned),
        future: groupSegmentsOf(g.future),
        checkpoints: [...g.checkpoints].map((c) => ({ name: c.name, complete: c.complete, silent: c.silent, forced: c.forced, createdMs: c.createdMs, cuts: [...c.cuts] })),
        unreadBytes: g.unreadBytes,
    };
}
function txnInfoOf(t) {
    return {
        id: t.id,
        scope: t.scope,
        stream: t.stream,
        state: t.state,
        epoch: t.epoch,
        writerId: t.writerId,
        beganMs: t.beganMs,
        leaseMs: t.leaseMs,
        deadlineMs: t.deadlineMs,
        completedMs: t.completedMs,
        commitOrder: t.commitOrder,
        reason: t.reason,
        segments: [...t.segments].map((s) => s.id),
    };
}
function policyOf(p) {
    const type = p.type === "events" || p.type === "kbytes" ? p.type : "fixed";
    return { type, target: p.target, factor: p.factor, minSegments: p.minSegments };
}
function setPolicy(out, p, minSegments) {
    out.type = p.type;
    out.target = p.target ?? 0;
    out.factor = p.factor ?? 2;
    out.minSegments = p.minSegments ?? minSegments;
}
function infoOf(info) {
    const segments = [];
    for (const s of info.segmentInfos) {
        segments.push({ id: s.id, keyStart: s.keyStart, keyEnd: s.keyEnd, length: s.length, sealed: s.sealed });
    }
    return { scope: info.scope, name: info.name, sealed: info.sealed, segments, epoch: info.epoch, policy: policyOf(info.policy) };
}
// Fills the parameters of a call that names one stream.
function named(scope, stream) {
    return (p) => {
        p.scope = scope;
        p.stream = stream;
    };
}
function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}
function parseAddress(address) {
    if (address === undefined) {
        return {};
    }
    if (typeof address !== "string") {
        return address;
    }
    const colon = address.lastIndexOf(":");
    if (colon < 0) {
        return { host: address };
    }
    const port = Number(address.slice(colon + 1));
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
        throw new TypeError(`bad address "${address}": expected host:port`);
    }
    return { host: address.slice(0, colon) || "127.0.0.1", port };
}
/** One TCP connection with its RPC state; replaced as a whole when it is lost. */
class Session {
    transport;
    conn;
    root;
    manager;
    /** Rejects when the connection ends; never resolves. */
    lost;
    constructor(transport) {
        this.transport = transport;
        this.lost = new Promise((_, reject) => transport.onEnd(reject));
        this.lost.catch(() => { }); // observed through call()
        this.conn = new Conn(transport);
        this.conn.onError = () => transport.close();
        this.root = this.conn.bootstrap(rpc.Pravaha);
        this.manager = this.root.streamManager().getManager();
    }
    /** A connection to host:port; with a token, once the node accepted it and on the capability
     *  it answered (else the node's error, `unauthenticated`, is thrown). */
    static async open(host, port, timeoutMs, token, tls) {
        const s = await Session.connect(host, port, timeoutMs, tls);
        if (token !== undefined) {
            try {
                const r = await s.call(s.root.authenticate((p) => {
                    p.token = token;
                }).promise());
                check(r.error);
                s.root = r.pravaha;
                s.manager = s.root.streamManager().getManager();
            }
            catch (err) {
                s.close();
                throw err;
            }
        }
        return s;
    }
    static connect(host, port, timeoutMs, tls) {
        return new Promise((resolve, reject) => {
            const socket = tls === undefined
                ? netConnect({ host, port })
                : tlsConnect({ host, port, ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.servername ?? host });
            const timer = setTimeout(() => {
                socket.destroy();
                reject(new ConnectionLostError(`cannot connect to ${host}:${port} within ${timeoutMs} ms`));
            }, timeoutMs);
            socket.once(tls === undefined ? "connect" : "secureConnect", () => {
                clearTimeout(timer);
                socket.removeAllListeners("error");
                resolve(new Session(new TcpTransport(socket)));
            });
            socket.once("error", (err) => {
                clearTimeout(timer);
                reject(new ConnectionLostError(`cannot connect to ${host}:${port}: ${err.message}`, { cause: err }));
            });
        });
    }
    get ended() {
        return this.transport.isEnded;
    }
    /** The call's result, or ConnectionLostError when the connection ends first. */
    call(p) {
        return Promise.race([p, this.lost]);
    }
    close() {
        this.transport.close();
    }
}
/** A connection to a Pravaha node. Lost connections are replaced on the next call. */
export class PravahaClient {
    session;
    opening;
    closed = false;
    host;
    port;
    connectTimeoutMs;
    retryTimeoutMs;
    token;
    tls;
    /** @internal use connect() */
    constructor(session, options) {
        this.session = session;
        this.host = options.host;
        this.port = options.port;
        this.connectTimeoutMs = options.connectTimeoutMs;
        this.retryTimeoutMs = options.retryTimeoutMs;
        this.token = options.token;
        this.tls = options.tls;
    }
    /** @internal The current session, reconnecting once if it was lost. */
    async current() {
        if (this.closed) {
            throw new ConnectionLostError("the client is closed");
        }
        if (!this.session.ended) {
            return this.session;
        }
        if (this.opening === undefined) {
            this.opening = Session.open(this.host, this.port, this.connectTimeoutMs, this.token, this.tls).finally(() => {
                this.opening = undefined;
            });
        }
        const s = await this.opening;
        if (this.closed) {
            s.close();
            throw new ConnectionLostError("the client is closed");
        }
        this.session = s;
        return s;
    }
    /** @internal Ends the current connection (tests use it to simulate a network failure). */
    dropConnection() {
        this.session.close();
    }
    // One StreamManager call on the current connection; the node's error is thrown.
    async manage(call) {
        const s = await this.current();
        const r = await s.call(call(s.manager).promise());
        check(r.error);
        return r;
    }
    async createScope(scope) {
        await this.manage((m) => m.createScope((p) => (p.scope = scope)));
    }
    async deleteScope(scope) {
        await this.manage((m) => m.deleteScope((p) => (p.scope = scope)));
    }
    async listScopes() {
        return [...(await this.manage((m) => m.listScopes())).scopes];
    }
    /** Creates a stream with `segments` initial segments (default 1) and, optionally, a scaling
     *  policy (default fixed; minSegments defaults to `segments`). */
    async createStream(scope, stream, options = {}) {
        const segments = options.segments ?? 1;
        if (!Number.isInteger(segments) || segments < 1 || segments > 0xffffffff) {
            throw new PravahaError(ErrorCode.invalid_argument, "invalid_argument", `segments must be a positive integer, got ${segments}`);
        }
        const policy = options.policy;
        if (policy !== undefined) {
            const r = await this.manage((m) => m.createScalingStream((p) => {
                p.scope = scope;
                p.stream = stream;
                p.segments = segments;
                setPolicy(p._initPolicy(), policy, segments);
            }));
            return infoOf(r.info);
        }
        const r = await this.manage((m) => m.createStream((p) => {
            p.scope = scope;
            p.stream = stream;
            p.segments = segments;
        }));
        return infoOf(r.info);
    }
    /** Replaces a stream's scaling policy ("fixed" stops automatic scaling; nothing is rescaled). */
    async updateStream(scope, stream, policy) {
        const r = await this.manage((m) => m.updateStream((p) => {
            p.scope = scope;
            p.stream = stream;
            setPolicy(p._initPolicy(), policy, 1);
        }));
        return infoOf(r.info);
    }
    /** Seals `seal` (adjacent segments of the current epoch) and replaces them by segments with the
     *  ranges `create`, which cover exactly what they covered. Errors: conflict (another scale, a
     *  seal or a delete runs), invalid_argument (names what is wrong). */
    async scaleStream(scope, stream, seal, create, expectedEpoch = 0) {
        const r = await this.manage((m) => m.scaleStream((p) => {
            p.scope = scope;
            p.stream = stream;
            p.expectedEpoch = expectedEpoch;
            const ids = p._initSeal(seal.length);
            seal.forEach((id, i) => ids.set(i, id));
            const ranges = p._initCreate(create.length);
            create.forEach((c, i) => {
                ranges.get(i).keyStart = c.keyStart;
                ranges.get(i).keyEnd = c.keyEnd;
            });
        }));
        const created = [];
        for (const s of r.created) {
            created.push({ id: s.id, keyStart: s.keyStart, keyEnd: s.keyEnd, length: 0n, sealed: false });
        }
        return { epoch: r.epoch, created };
    }
    /** Splits one segment of the current epoch into `parts` (default 2) equal key ranges. */
    async splitSegment(scope, stream, segment, parts = 2) {
        const info = await this.streamInfo(scope, stream);
        const s = info.segments.find((x) => x.id === segment);
        if (s === undefined) {
            throw new PravahaError(ErrorCode.invalid_argument, "invalid_argument", `segment ${segmentName(segment)} is not in the current epoch (${info.epoch})`);
        }
        const ranges = [];
        for (let i = 0; i < parts; i++) {
            const keyStart = i === 0 ? s.keyStart : s.keyStart + ((s.keyEnd - s.keyStart) * i) / parts;
            const keyEnd = i === parts - 1 ? s.keyEnd : s.keyStart + ((s.keyEnd - s.keyStart) * (i + 1)) / parts;
            ranges.push({ keyStart, keyEnd });
        }
        return this.scaleStream(scope, stream, [segment], ranges, info.epoch);
    }
    /** Merges adjacent segments of the current epoch into one. */
    async mergeSegments(scope, stream, segments) {
        const info = await this.streamInfo(scope, stream);
        const chosen = info.segments.filter((x) => segments.includes(x.id));
        if (chosen.length !== segments.length || chosen.length < 2) {
            throw new PravahaError(ErrorCode.invalid_argument, "invalid_argument", `merge needs at least two segments of the current epoch (${info.epoch})`);
        }
        const range = { keyStart: chosen[0].keyStart, keyEnd: chosen[chosen.length - 1].keyEnd };
        return this.scaleStream(scope, stream, chosen.map((x) => x.id), [range], info.epoch);
    }
    /** Every epoch of the stream, oldest first. */
    async history(scope, stream) {
        const r = await this.manage((m) => m.history(named(scope, stream)));
        const out = [];
        for (const e of r.epochs) {
            const segments = [];
            for (const s of e.segmentInfos) {
                segments.push({ id: s.id, keyStart: s.keyStart, keyEnd: s.keyEnd, sealedLength: s.sealedLength, predecessors: [...s.predecessors] });
            }
            out.push({ epoch: e.epoch, createdMs: e.createdMs, segments, rolled: e.rolled });
        }
        return out;
    }
    /** The stream's tail (or, with `head`, its head) as a stream cut token. */
    async streamCut(scope, stream, options = {}) {
        const r = await this.manage((m) => m.streamCut((p) => {
            p.scope = scope;
            p.stream = stream;
            p.head = options.head ?? false;
        }));
        return r.cut;
    }
    async listStreams(scope) {
        return [...(await this.manage((m) => m.listStreams((p) => (p.scope = scope)))).streams];
    }
    async streamInfo(scope, stream) {
        return infoOf((await this.manage((m) => m.streamInfo(named(scope, stream)))).info);
    }
    async sealStream(scope, stream) {
        await this.manage((m) => m.sealStream(named(scope, stream)));
    }
    /** Deletes a sealed stream. */
    async deleteStream(scope, stream) {
        await this.manage((m) => m.deleteStream(named(scope, stream)));
    }
    /** Opens a writer; errors such as stream_not_found are thrown here. */
    async createWriter(scope, stream, options = {}) {
        const w = new EventWriter(this, scope, stream, options);
        await w.open();
        return w;
    }
    /** Opens a reader; errors such as stream_not_found or bad_offset are thrown here. */
    async createReader(scope, stream, options = {}) {
        const r = new EventReader(this, scope, stream, options);
        await r.open(options.from ?? "head");
        return r;
    }
    /** Creates reader group scope/group (a retry with the same configuration answers it;
     *  another configuration: group_exists). */
    async createReaderGroup(scope, group, config) {
        await this.manage((m) => m.createReaderGroup((p) => {
            p.scope = scope;
            p.group = group;
            const c = p._initConfig();
            c.leaseMs = BigInt(config.leaseMs ?? 10000);
            c.checkpointIntervalMs = BigInt(config.checkpointIntervalMs ?? 30000);
            const list = c._initStreams(config.streams.length);
            config.streams.forEach((st, i) => {
                const out = list.get(i);
                out.scope = st.scope;
                out.stream = st.stream;
                const from = st.from ?? "head";
                out.startCut = typeof from === "object" ? from.cut : from;
                out.endCut = st.to ?? "";
            });
        }));
        return new ReaderGroup(this, scope, group);
    }
    async deleteReaderGroup(scope, group) {
        await this.manage((m) => m.deleteReaderGroup((p) => {
            p.scope = scope;
            p.group = group;
        }));
    }
    async listReaderGroups(scope) {
        return [...(await this.manage((m) => m.listReaderGroups((p) => (p.scope = scope)))).groups];
    }
    /** An existing reader group (group_not_found otherwise). */
    async readerGroup(scope, group) {
        const g = new ReaderGroup(this, scope, group);
        await g.info();
        return g;
    }
    /** Begins a transaction on the stream: its events are durable as they are written and
     *  invisible until commit(). stream_not_found, stream_sealed, invalid_argument (the lease),
     *  transaction_limit. */
    async beginTransaction(scope, stream, options = {}) {
        return retrying(this, async () => {
            const s = await this.current();
            const r = await s.call(s.root
                .beginTransaction((p) => {
                p.scope = scope;
                p.stream = stream;
                p.leaseMs = BigInt(options.leaseMs ?? 30000);
                p.writerId = options.writerId ?? "";
            })
                .promise());
            check(r.error);
            return Transaction.open(this, s, r.transaction, txnInfoOf(r.info));
        });
    }
    /** A transaction begun earlier, by id: commit, abort and status work in every state, writes
     *  while it is open. transaction_not_found, invalid_argument (not an id). */
    async openTransaction(scope, stream, id) {
        return retrying(this, async () => {
            const s = await this.current();
            const r = await s.call(s.root
                .openTransaction((p) => {
                p.scope = scope;
                p.stream = stream;
                p.id = id;
            })
                .promise());
            check(r.error);
            return Transaction.open(this, s, r.transaction, txnInfoOf(r.info));
        });
    }
    /** The stream's transactions (open, committing, and completed ones kept for 24 h); with a
     *  `writerId`, only those begun with it. */
    async listTransactions(scope, stream, options = {}) {
        const r = await this.manage((m) => m.listTransactions((p) => {
            p.scope = scope;
            p.stream = stream;
            p.writerId = options.writerId ?? "";
        }));
        return [...r.transactions].map(txnInfoOf);
    }
    /** Closes the connection; writers and readers of this client stop working. */
    close() {
        this.closed = true;
        this.session.close();
    }
}
/** Connects to a node's RPC port: "host:port" (default 127.0.0.1:9091) or options. */
export async function connect(address) {
    const o = parseAddress(address);
    const options = {
        host: o.host ?? "127.0.0.1",
        port: o.port ?? 9091,
        connectTimeoutMs: o.connectTimeoutMs ?? 5000,
        retryTimeoutMs: o.retryTimeoutMs ?? 30000,
        token: o.token,
        tls: o.tls,
    };
    const session = await Session.open(options.host, options.port, options.connectTimeoutMs, options.token, options.tls);
    return new PravahaClient(session, options);
}
// Runs `attempt` until it succeeds, the error is not a lost connection, or the client's retry
// timeout passes; between attempts waits 50 ms growing to 1 s.
async function retrying(client, attempt) {
    const deadline = Date.now() + client.retryTimeoutMs;
    let pause = 50;
    for (;;) {
        try {
            return await attempt();
        }
        catch (err) {
            if (!(err instanceof ConnectionLostError) || Date.now() + pause > deadline) {
                throw err;
            }
        }
        await sleep(pause);
        pause = Math.min(pause * 2, 1000);
    }
}
/**
 * Writes events to one stream. `write` resolves with the event's number once the event is
 * durable. When the connection is lost, the writer reconnects, opens its writer id again and
 * writes the calls that got no answer again with the same numbers: the node stores each event
 * exactly once. Events with the same routing key keep their order.
 */
export class EventWriter {
    writerId;
    client;
    scope;
    stream;
    maxInFlight;
    maxBatchEvents;
    maxBatchBytes;
    session;
    cap;
    nextNumber = 0n;
    queue = [];
    inFlight = [];
    scheduled = false;
    recovering = false;
    failure;
    closed = false;
    flushWaiters = [];
    // Routing keys already encoded as UTF-8 (most programs use a bounded set of keys).
    keyCache = new Map();
    /** The highest event number of this writer id that the node held when the writer opened. */
    lastEventNumber = -1n;
    // A transaction's writer: its capability on its session (no reconnect: see Transaction).
    source;
    /** @internal use PravahaClient.createWriter() */
    constructor(client, scope, stream, options, source) {
        this.client = client;
        this.source = source;
        this.scope = scope;
        this.stream = stream;
        this.writerId = options.writerId ?? `ts-${randomUUID()}`;
        this.maxInFlight = Math.max(1, options.maxInFlight ?? 16);
        this.maxBatchEvents = Math.min(10000, Math.max(1, options.maxBatchEvents ?? 1000));
        this.maxBatchBytes = Math.min(16 << 20, Math.max(1, options.maxBatchBytes ?? 1 << 20));
    }
    /** @internal */
    async open() {
        if (this.source !== undefined) {
            this.session = this.source.session;
            this.cap = this.source.cap;
            return;
        }
        const s = await this.client.current();
        const cap = s.root.openWriter((p) => {
            p.scope = this.scope;
            p.stream = this.stream;
            p.writerId = this.writerId;
        });
        const r = await s.call(cap.promise());
        check(r.error);
        if (this.session === undefined) {
            this.lastEventNumber = r.lastEventNumber;
            this.nextNumber = r.lastEventNumber + 1n;
        }
        this.session = s;
        this.cap = r.writer;
    }
    /**
     * Writes one event; resolves with its event number once it is durable on the node, rejects
     * with a PravahaError the node answered (the event may then be stored or not: write it again,
     * except after stream_sealed or segment_sealed, which mean it was not stored and cannot be)
     * or a ConnectionLostError when no connection came back within the retry timeout.
     */
    write(routingKey, payload) {
        if (this.closed) {
            return Promise.reject(new PravahaError(ErrorCode.invalid_argument, "invalid_argument", "the writer is closed"));
        }
        if (this.failure !== undefined) {
            return Promise.reject(this.failure);
        }
        const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
        if (bytes.length > MAX_EVENT_BYTES) {
            return Promise.reject(new PravahaError(ErrorCode.event_too_large, "event_too_large", `event of ${bytes.length} bytes exceeds the 8 MiB limit`));
        }
        let key = this.keyCache.get(routingKey);
        if (key === undefined) {
            key = encoder.encode(routingKey);
            if (this.keyCache.size >= 10000) {
                this.keyCache.clear();
            }
            this.keyCache.set(routingKey, key);
        }
        const k = key;
        return new Promise((resolve, reject) => {
            this.queue.push({ key: k, payload: bytes, number: this.nextNumber++, resolve, reject });
            this.schedule();
        });
    }
    /** Resolves once every event written before is acknowledged or failed. */
    flush() {
        if (this.queue.length === 0 && this.inFlight.length === 0) {
            return Promise.resolve();
        }
        return new Promise((resolve) => this.flushWaiters.push(resolve));
    }
    /** Flushes, then releases the writer on the node. */
    async close() {
        await this.flush();
        this.release();
    }
    /** @internal Releases the writer on the node without waiting. */
    release() {
        this.closed = true;
        // capnp-es does not release a capability on close(): ask the node to end the writer.
        if (this.cap !== undefined && this.session !== undefined) {
            void this.session.call(this.cap.release().promise()).catch(() => { });
        }
        this.cap?.client.close();
    }
    // Sends on the next turn, so that writes of one turn share a call.
    schedule() {
        if (!this.scheduled) {
            this.scheduled = true;
            queueMicrotask(() => {
                this.scheduled = false;
                this.pump();
            });
        }
    }
    pump() {
        while (!this.recovering && this.inFlight.length < this.maxInFlight && this.queue.length > 0) {
            const events = [];
            let bytes = 0;
            while (this.queue.length > 0 &&
                events.length < this.maxBatchEvents &&
                (events.length === 0 || bytes + this.queue[0].payload.length <= this.maxBatchBytes)) {
                const e = this.queue.shift();
                bytes += e.payload.length + e.key.length;
                events.push(e);
            }
            const batch = { first: events[0].number, events, bytes };
            this.inFlight.push(batch);
            this.send(batch);
        }
        this.checkFlush();
    }
    // One writePacked call (schema/pravaha.capnp): the events as one blob of length-prefixed keys
    // and payloads; building a Cap'n Proto list of structs costs several objects per event here.
    send(batch) {
        const s = this.session;
        const answer = this.cap.writePacked((p) => {
            p.firstEventNumber = batch.first;
            p.count = batch.events.length;
            const out = p._initPacked(batch.bytes + 8 * batch.events.length).toUint8Array();
            const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
            let pos = 0;
            for (const e of batch.events) {
                view.setUint32(pos, e.key.length, true);
                out.set(e.key, pos + 4);
                pos += 4 + e.key.length;
                view.setUint32(pos, e.payload.length, true);
                out.set(e.payload, pos + 4);
                pos += 4 + e.payload.length;
            }
        });
        s.call(answer.promise()).then((r) => {
            if (this.inFlight.indexOf(batch) < 0) {
                return; // already settled (a resend of it was answered)
            }
            const code = r.error.code;
            if (code !== 0) {
                // The node's answer: final for this call (its numbers are not used again).
                this.settle(batch, new PravahaError(code, r.error.name, r.error.message));
            }
            else {
                this.settle(batch);
            }
            this.pump();
        }, (err) => {
            if (err instanceof ConnectionLostError && s === this.session) {
                void this.recover();
            }
            else if (!(err instanceof ConnectionLostError)) {
                this.settle(batch, err);
                this.pump();
            }
        });
    }
    settle(batch, err) {
        const i = this.inFlight.indexOf(batch);
        if (i >= 0) {
            this.inFlight.splice(i, 1);
        }
        for (const e of batch.events) {
            if (err === undefined) {
                e.resolve(e.number);
            }
            else {
                e.reject(err);
            }
        }
    }
    // After a lost connection: reconnect, open the same writer id again and resend every call
    // that got no answer, in order, with its numbers.
    async recover() {
        if (this.recovering) {
            return;
        }
        this.recovering = true;
        try {
            if (this.source !== undefined) {
                // A transaction's writer on another connection would write under another writer id:
                // what the lost calls stored could be stored twice.
                throw new ConnectionLostError("the connection was lost: a transaction's writes do not survive it; abort the transaction");
            }
            await retrying(this.client, () => this.open());
            this.inFlight.sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
            for (const batch of this.inFlight) {
                this.send(batch);
            }
            this.recovering = false;
            this.pump();
        }
        catch (err) {
            this.recovering = false;
            this.failure = err;
            for (const batch of this.inFlight.splice(0)) {
                this.settle(batch, err);
            }
            for (const e of this.queue.splice(0)) {
                e.reject(err);
            }
            this.checkFlush();
        }
    }
    checkFlush() {
        if (this.queue.length === 0 && this.inFlight.length === 0 && this.flushWaiters.length > 0) {
            for (const w of this.flushWaiters.splice(0)) {
                w();
            }
        }
    }
}
/**
 * Reads the events of every segment of one stream. After a lost connection it reconnects and
 * continues after the last event it received.
 */
export class EventReader {
    client;
    scope;
    stream;
    maxBatchEvents;
    toCut;
    session;
    cap;
    buffer = [];
    serverPosition = [];
    atEnd = false;
    busy = false;
    /** @internal use PravahaClient.createReader() */
    constructor(client, scope, stream, options) {
        this.client = client;
        this.scope = scope;
        this.stream = stream;
        this.maxBatchEvents = Math.min(10000, Math.max(1, options.maxBatchEvents ?? 1000));
        this.toCut = options.to ?? "";
    }
    /** @internal */
    async open(from) {
        const s = await this.client.current();
        if (this.toCut !== "" || (typeof from === "object" && !Array.isArray(from))) {
            if (from === "tail") {
                throw new PravahaError(ErrorCode.invalid_argument, "invalid_argument", "a reader up to a cut starts at the head, a cut or a position");
            }
            const between = s.root.openReaderBetween((p) => {
                p.scope = this.scope;
                p.stream = this.stream;
                p.toCut = this.toCut;
                if (Array.isArray(from)) {
                    const list = p._initPosition(from.length);
                    from.forEach((pos, i) => {
                        list.get(i).segmentId = pos.segmentId;
                        list.get(i).offset = pos.offset;
                    });
                }
                else if (typeof from === "object") {
                    p.fromCut = from.cut;
                }
            });
            const r = await s.call(between.promise());
            check(r.error);
            this.serverPosition = positionsOf(r.position);
            this.session = s;
            this.cap = r.reader;
            return;
        }
        const cap = s.root.openReader((p) => {
            p.scope = this.scope;
            p.stream = this.stream;
            p.fromTail = from === "tail";
            if (Array.isArray(from)) {
                const list = p._initPosition(from.length);
                from.forEach((pos, i) => {
                    list.get(i).segmentId = pos.segmentId;
                    list.get(i).offset = pos.offset;
                });
            }
        });
        const r = await s.call(cap.promise());
        check(r.error);
        this.serverPosition = positionsOf(r.position);
        this.session = s;
        this.cap = r.reader;
    }
    /**
     * The next event, waiting up to `timeoutMs` (default 1000) for one; null when none came, or
     * when the stream is sealed and fully read (see `atEnd`).
     */
    async next(timeoutMs = 1000) {
        if (this.buffer.length === 0 && !this.atEnd) {
            await this.fetch(timeoutMs);
        }
        return this.buffer.shift() ?? null;
    }
    /** True once the stream is sealed (or the reader's end cut reached) and every event was
     *  returned. */
    get ended() {
        return this.atEnd && this.buffer.length === 0;
    }
    /** Where the reader stands after the events returned so far: open a reader there to go on. */
    position() {
        const pos = new Map();
        for (const p of this.serverPosition) {
            pos.set(p.segmentId, p.offset);
        }
        // Events fetched but not returned yet come after the position to report.
        for (let i = this.buffer.length - 1; i >= 0; i--) {
            pos.set(this.buffer[i].segmentId, this.buffer[i].offset);
        }
        return [...pos].map(([segmentId, offset]) => ({ segmentId, offset }));
    }
    close() {
        this.cap?.client.close();
    }
    async fetch(timeoutMs) {
        if (this.busy) {
            throw new PravahaError(ErrorCode.invalid_argument, "invalid_argument", "another next() of this reader is still waiting");
        }
        this.busy = true;
        try {
            await retrying(this.client, async () => {
                if (this.session === undefined || this.session.ended) {
                    await this.open(this.serverPosition);
                }
                const r = await nextBatch(this.session, this.cap, this.maxBatchEvents, timeoutMs);
                for (const e of r.events) {
                    this.buffer.push(readEventOf(e));
                }
                this.serverPosition = positionsOf(r.position);
                this.atEnd = r.atEnd;
            });
        }
        finally {
            this.busy = false;
        }
    }
}
/**
 * A reader group: readers that share its streams (each segment read by one of them at a time),
 * its checkpoints and resets. Every call goes to the current connection.
 */
/**
 * A transaction: events over many keys and segments that readers see all or none of. `write`
 * resolves once the event is durable in the transaction; `commit` makes them visible, each
 * segment's part whole and per key in write order. The node renews the lease while this object
 * holds the transaction; `close()` (or a lost connection) lets it run out, which aborts it. A
 * lost connection fails the writes in flight (they would be written under another writer id on
 * a new connection): abort it and write again, or find it again by id after a restart.
 */
export class Transaction {
    id;
    scope;
    stream;
    session;
    cap;
    writer;
    decided = false;
    constructor(session, cap, info, writer) {
        this.session = session;
        this.cap = cap;
        this.id = info.id;
        this.scope = info.scope;
        this.stream = info.stream;
        this.writer = writer;
    }
    /** @internal use PravahaClient.beginTransaction() or openTransaction() */
    static async open(client, s, cap, info) {
        if (info.state !== "open") {
            return new Transaction(s, cap, info);
        }
        const r = await s.call(cap.writer().promise());
        check(r.error);
        const w = new EventWriter(client, info.scope, info.stream, {}, { session: s, cap: r.writer });
        await w.open();
        return new Transaction(s, cap, info, w);
    }
    /** Writes one event into the transaction; resolves once it is durable there (invisible until
     *  commit). transaction_not_open once committed or aborted. */
    write(routingKey, payload) {
        if (this.writer === undefined || this.decided) {
            return Promise.reject(new PravahaError(ErrorCode.transaction_not_open, "transaction_not_open", `transaction ${this.id} of ${this.scope}/${this.stream} takes no more events`));
        }
        return this.writer.write(routingKey, payload);
    }
    /** Resolves once every event written before is durable in the transaction or failed. */
    async flush() {
        await this.writer?.flush();
    }
    /** Commits once every write is answered; resolves once every event is visible. Idempotent.
     *  transaction_aborted (aborted: by abort(), its lease or its lifetime). Also when the stream
     *  scaled since it began (the commit rolls it forward). */
    async commit() {
        this.decided = true;
        await this.flush();
        return this.decide(this.cap.commit());
    }
    /** Discards it. Idempotent. transaction_committed. */
    async abort() {
        this.decided = true;
        return this.decide(this.cap.abort());
    }
    async status() {
        const r = await this.session.call(this.cap.status().promise());
        check(r.error);
        return txnInfoOf(r.info);
    }
    /** Releases it on the node: an undecided transaction is aborted when its lease runs out. */
    close() {
        this.writer?.release();
        // capnp-es does not release a capability on close(): say it (the lease then runs out).
        void this.session.call(this.cap.release().promise()).catch(() => { });
        this.cap.client.close();
    }
    async decide(call) {
        const r = await this.session.call(call.promise());
        check(r.error);
        return txnInfoOf(r.info);
    }
}
export class ReaderGroup {
    /** @internal */
    client;
    scope;
    name;
    /** @internal use PravahaClient.createReaderGroup() or readerGroup() */
    constructor(client, scope, name) {
        this.client = client;
        this.scope = scope;
        this.name = name;
    }
    /** @internal The group's capability on the current connection (group_not_found thrown). */
    async capability() {
        const s = await this.client.current();
        const r = await s.call(s.root
            .readerGroup((p) => {
            p.scope = this.scope;
            p.group = this.name;
        })
            .promise());
        check(r.error);
        return { session: s, group: r.group };
    }
    /** Online readers with their segments and unread bytes, unassigned and waiting segments,
     *  checkpoints. */
    async info() {
        return retrying(this.client, async () => {
            const { session, group } = await this.capability();
            const r = await session.call(group.info().promise());
            check(r.error);
            return groupInfoOf(r.info);
        });
    }
    /** Begins checkpoint `name` and resolves, once every online reader recorded its position,
     *  with one stream cut per stream of the group. */
    async checkpoint(name) {
        return retrying(this.client, async () => {
            const { session, group } = await this.capability();
            const r = await session.call(group.checkpoint((p) => (p.name = name)).promise());
            check(r.error);
            return [...r.cuts];
        });
    }
    /** Rewinds the group to a completed checkpoint or to stream cuts (one per stream): every
     *  reader gets reader_offline and must join again. Resolves with the new generation. */
    async reset(to) {
        return retrying(this.client, async () => {
            const { session, group } = await this.capability();
            const r = await session.call(group
                .reset((p) => {
                if ("checkpoint" in to) {
                    p.checkpoint = to.checkpoint;
                }
                else {
                    const list = p._initCuts(to.cuts.length);
                    to.cuts.forEach((c, i) => list.set(i, c));
                }
            })
                .promise());
            check(r.error);
            return r.generation;
        });
    }
    /** Joins the group as reader `name` (unique among its live readers: else reader_exists). */
    async createReader(name, options = {}) {
        const r = new GroupReader(this, name, options.maxBatchEvents ?? 1000);
        await r.open();
        return r;
    }
}
/**
 * A reader of a reader group: reads what the group assigns it, reports its position as it goes,
 * and returns checkpoint markers among its events. Once the group declared it offline (its lease
 * passed) or was reset, `next()` throws reader_offline: create a new reader to join again.
 */
export class GroupReader {
    group;
    name;
    maxBatchEvents;
    session;
    cap;
    buffer = [];
    busy = false;
    /** @internal use ReaderGroup.createReader() */
    constructor(group, name, maxBatchEvents) {
        this.group = group;
        this.name = name;
        this.maxBatchEvents = Math.min(10000, Math.max(1, maxBatchEvents));
    }
    /** @internal Joins (again, after a lost connection: the node left the group for it). */
    async open() {
        const { session, group } = await this.group.capability();
        const r = await session.call(group.openReader((p) => (p.name = this.name)).promise());
        check(r.error);
        this.session = session;
        this.cap = r.reader;
    }
    /** The next event or checkpoint marker, waiting up to `timeoutMs` (default 1000); null when
     *  none came. */
    async next(timeoutMs = 1000) {
        if (this.buffer.length === 0) {
            await this.fetch(timeoutMs);
        }
        return this.buffer.shift() ?? null;
    }
    /** Leaves the group: its segments go to the other readers from where this one stopped
     *  (before the events fetched and not returned). */
    async close() {
        const s = this.session;
        const cap = this.cap;
        this.cap = undefined;
        if (s === undefined || cap === undefined || s.ended) {
            return;
        }
        const r = await s.call(cap.close().promise());
        cap.client.close();
        check(r.error);
    }
    async fetch(timeoutMs) {
        if (this.busy) {
            throw new PravahaError(ErrorCode.invalid_argument, "invalid_argument", "another next() of this reader is still waiting");
        }
        if (this.cap === undefined && this.session !== undefined) {
            throw new PravahaError(ErrorCode.invalid_argument, "invalid_argument", "the reader is closed");
        }
        this.busy = true;
        try {
            await retrying(this.group.client, async () => {
                if (this.session === undefined || this.session.ended) {
                    await this.open();
                }
                const r = await nextBatch(this.session, this.cap, this.maxBatchEvents, timeoutMs);
                for (const e of r.events) {
                    this.buffer.push(readEventOf(e));
                }
            });
        }
        finally {
            this.busy = false;
        }
    }
}
