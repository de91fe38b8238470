import { Conn } from "capnp-es";
import * as rpc from "./schema/pravaha.js";
import { TcpTransport } from "./transport.js";
export { ConnectionLostError } from "./transport.js";
/** The node's documented error codes (schema/pravaha.capnp, `errc`). */
export declare const ErrorCode: {
    readonly invalid_name: 1;
    readonly invalid_argument: 2;
    readonly scope_exists: 3;
    readonly scope_not_found: 4;
    readonly scope_not_empty: 5;
    readonly stream_exists: 6;
    readonly stream_not_found: 7;
    readonly stream_sealed: 8;
    readonly stream_not_sealed: 9;
    readonly segment_not_found: 10;
    readonly segment_sealed: 11;
    readonly event_too_large: 12;
    readonly storage_io: 13;
    readonly malformed_message: 14;
    readonly corrupt_data: 15;
    readonly timeout: 16;
    readonly unavailable: 17;
    readonly bad_offset: 18;
    readonly overloaded: 19;
    readonly event_number_gap: 20;
    readonly writer_fenced: 21;
    readonly not_leader: 22;
    readonly storage_full: 23;
    readonly conflict: 24;
    readonly group_not_found: 25;
    readonly group_exists: 26;
    readonly reader_exists: 27;
    readonly reader_offline: 28;
    readonly transaction_not_found: 29;
    readonly transaction_not_open: 30;
    readonly transaction_aborted: 31;
    readonly transaction_committed: 32;
    readonly transaction_limit: 33;
    readonly transaction_too_large: 34;
    readonly unauthenticated: 35;
    readonly permission_denied: 36;
};
export type ErrorName = keyof typeof ErrorCode;
/** An error the node answered: `code` and `errorName` are the documented ones. */
export declare class PravahaError extends Error {
    readonly code: number;
    readonly errorName: string;
    constructor(code: number, errorName: string, message: string);
}
/** Where a reader stands in one segment. */
export interface SegmentPosition {
    segmentId: bigint;
    offset: bigint;
}
export interface SegmentInfo {
    id: bigint;
    keyStart: number;
    keyEnd: number;
    length: bigint;
    sealed: boolean;
}
export interface StreamInfo {
    scope: string;
    name: string;
    sealed: boolean;
    /** The current epoch's segments. */
    segments: SegmentInfo[];
    /** The current epoch (0 until the first scale). */
    epoch: number;
    policy: ScalingPolicy;
}
/** How a stream scales: by hand only ("fixed"), or by events/s or KiB/s per segment. */
export interface ScalingPolicy {
    type: "fixed" | "events" | "kbytes";
    /** Events/s or KiB/s per segment (0 when fixed). */
    target?: number;
    /** A hot segment splits into at most this many (>= 2). Default 2. */
    factor?: number;
    /** Never merged below this many segments. Default 1 (createStream: its segments). */
    minSegments?: number;
}
/** A segment of a stream's history. */
export interface HistorySegment {
    id: bigint;
    keyStart: number;
    keyEnd: number;
    /** -1 while the segment is active. */
    sealedLength: bigint;
    /** The segments it replaced, when a scale created it. */
    predecessors: bigint[];
}
export interface EpochInfo {
    epoch: number;
    createdMs: bigint;
    segments: HistorySegment[];
    /** Made by a transaction's commit (a roll: a transaction begun before a scale), not a scale. */
    rolled: boolean;
}
/** What a scale created. */
export interface ScaleResult {
    epoch: number;
    created: SegmentInfo[];
}
/** "EPOCH.NUMBER", as the CLI prints segment ids. */
export declare function segmentName(id: bigint): string;
export interface ReadEvent {
    payload: Uint8Array;
    segmentId: bigint;
    offset: bigint;
    /** A group reader's checkpoint marker (payload empty): store what the application must with
     *  this checkpoint; the reader records its position at its next `next()`. */
    checkpoint?: string;
}
/** One stream of a reader group: from its head (default), its tail, or a stream cut; up to a
 *  stream cut (default: no end). */
export interface GroupStream {
    scope: string;
    stream: string;
    from?: "head" | "tail" | {
        cut: string;
    };
    to?: string;
}
export interface ReaderGroupConfig {
    streams: GroupStream[];
    /** A reader silent this long is declared offline and its segments go to the others (ms).
     *  Default 10000. */
    leaseMs?: number;
    /** Automatic checkpoints (ms; 0: none). Default 30000. */
    checkpointIntervalMs?: number;
}
export interface GroupSegment {
    stream: string;
    segmentId: bigint;
    offset: bigint;
}
export interface ReaderGroupInfo {
    scope: string;
    name: string;
    generation: number;
    readers: {
        name: string;
        segments: GroupSegment[];
        unreadBytes: bigint;
    }[];
    unassigned: GroupSegment[];
    future: GroupSegment[];
    /** `forced`: completed because a reader it waited for went away (its segments are at their last
     *  reported positions); an application that stores its own state with a checkpoint skips it. */
    checkpoints: {
        name: string;
        complete: boolean;
        silent: boolean;
        forced: boolean;
        createdMs: bigint;
        cuts: string[];
    }[];
    /** -1 when not known. */
    unreadBytes: bigint;
}
/** A transaction as the node keeps it. */
export interface TransactionInfo {
    /** 16 hex digits (as `pravaha txn begin` prints it). */
    id: string;
    scope: string;
    stream: string;
    state: "open" | "committing" | "committed" | "aborting" | "aborted";
    /** The stream's epoch it began in. */
    epoch: number;
    /** The writer id the node derived from `writerId` (32 hex digits; zeros: none). */
    writerId: string;
    beganMs: bigint;
    leaseMs: bigint;
    /** Aborted when still open then (maximum lifetime). */
    deadlineMs: bigint;
    completedMs: bigint;
    /** Grows in the order commits were asked for (0: none). */
    commitOrder: bigint;
    /** Why it was aborted: abort, lease, lifetime, sealed. */
    reason: string;
    /** The segments its events go to. */
    segments: bigint[];
}
export interface TransactionOptions {
    /** It is aborted when nothing renews it this long (ms, 1000 to 600000); the node renews it
     *  while this client holds the transaction. Default 30000. */
    leaseMs?: number;
    /** The application's writer id, kept with the transaction: a restarted producer finds its
     *  transactions with listTransactions(scope, stream, { writerId }). */
    writerId?: string;
}
export interface ConnectOptions {
    host?: string;
    port?: number;
    /** How long one connection attempt may take (ms). Default 5000. */
    connectTimeoutMs?: number;
    /** How long writers and readers keep trying to reconnect before they fail (ms). Default 30000. */
    retryTimeoutMs?: number;
    /** The token a node started with `--token-file` wants (`pravaha-node token create`); it is
     *  presented on every connection. Without one such a node answers `unauthenticated`. */
    token?: string;
    /** TLS, for a node started with `--tls-cert/--tls-key/--tls-ca`: the CA's certificate and this
     *  client's certificate and key (PEM), and the name the node's certificate carries (default:
     *  the host; an IP address never matches). */
    tls?: TlsOptions;
}
export interface TlsOptions {
    ca: string | Buffer;
    cert: string | Buffer;
    key: string | Buffer;
    servername?: string;
}
export interface WriterOptions {
    /** A stable id: the node fences older writers of the id and a restarted program can continue
     *  after `lastEventNumber`. Default: a random id (reconnects still resend exactly once). */
    writerId?: string;
    /** Write calls in flight at once. Default 16. */
    maxInFlight?: number;
    /** Events per write call at most (the node takes 10,000). Default 1000. */
    maxBatchEvents?: number;
    /** Bytes per write call at most (the node takes 16 MiB). Default 1 MiB. */
    maxBatchBytes?: number;
}
export interface ReaderOptions {
    /** Where to start: the stream's head (default), its current tail, a reader's position, or a
     *  stream cut (as streamCut() answers it). */
    from?: "head" | "tail" | SegmentPosition[] | {
        cut: string;
    };
    /** A stream cut to stop at: the reader ends (`ended`) there. */
    to?: string;
    /** Events fetched per call. Default 1000. */
    maxBatchEvents?: number;
}
/** One TCP connection with its RPC state; replaced as a whole when it is lost. */
declare class Session {
    readonly transport: TcpTransport;
    readonly conn: Conn;
    root: rpc.Pravaha$Client;
    manager: rpc.StreamManager$Client;
    /** Rejects when the connection ends; never resolves. */
    readonly lost: Promise<never>;
    private constructor();
    /** A connection to host:port; with a token, once the node accepted it and on the capability
     *  it answered (else the node's error, `unauthenticated`, is thrown). */
    static open(host: string, port: number, timeoutMs: number, token?: string, tls?: TlsOptions): Promise<Session>;
    private static connect;
    get ended(): boolean;
    /** The call's result, or ConnectionLostError when the connection ends first. */
    call<T>(p: Promise<T>): Promise<T>;
    close(): void;
}
/** A connection to a Pravaha node. Lost connections are replaced on the next call. */
export declare class PravahaClient {
    private session;
    private opening?;
    private closed;
    readonly host: string;
    readonly port: number;
    readonly connectTimeoutMs: number;
    readonly retryTimeoutMs: number;
    private readonly token?;
    private readonly tls?;
    /** @internal use connect() */
    constructor(session: Session, options: Required<Pick<ConnectOptions, "host" | "port" | "connectTimeoutMs" | "retryTimeoutMs">> & Pick<ConnectOptions, "token" | "tls">);
    /** @internal The current session, reconnecting once if it was lost. */
    current(): Promise<Session>;
    /** @internal Ends the current connection (tests use it to simulate a network failure). */
    dropConnection(): void;
    private manage;
    createScope(scope: string): Promise<void>;
    deleteScope(scope: string): Promise<void>;
    listScopes(): Promise<string[]>;
    /** Creates a stream with `segments` initial segments (default 1) and, optionally, a scaling
     *  policy (default fixed; minSegments defaults to `segments`). */
    createStream(scope: string, stream: string, options?: {
        segments?: number;
        policy?: ScalingPolicy;
    }): Promise<StreamInfo>;
    /** Replaces a stream's scaling policy ("fixed" stops automatic scaling; nothing is rescaled). */
    updateStream(scope: string, stream: string, policy: ScalingPolicy): Promise<StreamInfo>;
    /** Seals `seal` (adjacent segments of the current epoch) and replaces them by segments with the
     *  ranges `create`, which cover exactly what they covered. Errors: conflict (another scale, a
     *  seal or a delete runs), invalid_argument (names what is wrong). */
    scaleStream(scope: string, stream: string, seal: bigint[], create: Array<{
        keyStart: number;
        keyEnd: number;
    }>, expectedEpoch?: number): Promise<ScaleResult>;
    /** Splits one segment of the current epoch into `parts` (default 2) equal key ranges. */
    splitSegment(scope: string, stream: string, segment: bigint, parts?: number): Promise<ScaleResult>;
    /** Merges adjacent segments of the current epoch into one. */
    mergeSegments(scope: string, stream: string, segments: bigint[]): Promise<ScaleResult>;
    /** Every epoch of the stream, oldest first. */
    history(scope: string, stream: string): Promise<EpochInfo[]>;
    /** The stream's tail (or, with `head`, its head) as a stream cut token. */
    streamCut(scope: string, stream: string, options?: {
        head?: boolean;
    }): Promise<string>;
    listStreams(scope: string): Promise<string[]>;
    streamInfo(scope: string, stream: string): Promise<StreamInfo>;
    sealStream(scope: string, stream: string): Promise<void>;
    /** Deletes a sealed stream. */
    deleteStream(scope: string, stream: string): Promise<void>;
    /** Opens a writer; errors such as stream_not_found are thrown here. */
    createWriter(scope: string, stream: string, options?: WriterOptions): Promise<EventWriter>;
    /** Opens a reader; errors such as stream_not_found or bad_offset are thrown here. */
    createReader(scope: string, stream: string, options?: ReaderOptions): Promise<EventReader>;
    /** Creates reader group scope/group (a retry with the same configuration answers it;
     *  another configuration: group_exists). */
    createReaderGroup(scope: string, group: string, config: ReaderGroupConfig): Promise<ReaderGroup>;
    deleteReaderGroup(scope: string, group: string): Promise<void>;
    listReaderGroups(scope: string): Promise<string[]>;
    /** An existing reader group (group_not_found otherwise). */
    readerGroup(scope: string, group: string): Promise<ReaderGroup>;
    /** Begins a transaction on the stream: its events are durable as they are written and
     *  invisible until commit(). stream_not_found, stream_sealed, invalid_argument (the lease),
     *  transaction_limit. */
    beginTransaction(scope: string, stream: string, options?: TransactionOptions): Promise<Transaction>;
    /** A transaction begun earlier, by id: commit, abort and status work in every state, writes
     *  while it is open. transaction_not_found, invalid_argument (not an id). */
    openTransaction(scope: string, stream: string, id: string): Promise<Transaction>;
    /** The stream's transactions (open, committing, and completed ones kept for 24 h); with a
     *  `writerId`, only those begun with it. */
    listTransactions(scope: string, stream: string, options?: {
        writerId?: string;
    }): Promise<TransactionInfo[]>;
    /** Closes the connection; writers and readers of this client stop working. */
    close(): void;
}
/** Connects to a node's RPC port: "host:port" (default 127.0.0.1:9091) or options. */
export declare function connect(address?: string | ConnectOptions): Promise<PravahaClient>;
/**
 * Writes events to one stream. `write` resolves with the event's number once the event is
 * durable. When the connection is lost, the writer reconnects, opens its writer id again and
 * writes the calls that got no answer again with the same numbers: the node stores each event
 * exactly once. Events with the same routing key keep their order.
 */
export declare class EventWriter {
    readonly writerId: string;
    private readonly client;
    private readonly scope;
    private readonly stream;
    private readonly maxInFlight;
    private readonly maxBatchEvents;
    private readonly maxBatchBytes;
    private session?;
    private cap?;
    private nextNumber;
    private readonly queue;
    private readonly inFlight;
    private scheduled;
    private recovering;
    private failure?;
    private closed;
    private flushWaiters;
    private readonly keyCache;
    /** The highest event number of this writer id that the node held when the writer opened. */
    lastEventNumber: bigint;
    private readonly source?;
    /** @internal use PravahaClient.createWriter() */
    constructor(client: PravahaClient, scope: string, stream: string, options: WriterOptions, source?: {
        session: Session;
        cap: rpc.EventWriter$Client;
    });
    /** @internal */
    open(): Promise<void>;
    /**
     * Writes one event; resolves with its event number once it is durable on the node, rejects
     * with a PravahaError the node answered (the event may then be stored or not: write it again,
     * except after stream_sealed or segment_sealed, which mean it was not stored and cannot be)
     * or a ConnectionLostError when no connection came back within the retry timeout.
     */
    write(routingKey: string, payload: Uint8Array | string): Promise<bigint>;
    /** Resolves once every event written before is acknowledged or failed. */
    flush(): Promise<void>;
    /** Flushes, then releases the writer on the node. */
    close(): Promise<void>;
    /** @internal Releases the writer on the node without waiting. */
    release(): void;
    private schedule;
    private pump;
    private send;
    private settle;
    private recover;
    private checkFlush;
}
/**
 * Reads the events of every segment of one stream. After a lost connection it reconnects and
 * continues after the last event it received.
 */
export declare class EventReader {
    private readonly client;
    private readonly scope;
    private readonly stream;
    private readonly maxBatchEvents;
    private readonly toCut;
    private session?;
    private cap?;
    private buffer;
    private serverPosition;
    private atEnd;
    private busy;
    /** @internal use PravahaClient.createReader() */
    constructor(client: PravahaClient, scope: string, stream: string, options: ReaderOptions);
    /** @internal */
    open(from: "head" | "tail" | SegmentPosition[] | {
        cut: string;
    }): Promise<void>;
    /**
     * The next event, waiting up to `timeoutMs` (default 1000) for one; null when none came, or
     * when the stream is sealed and fully read (see `atEnd`).
     */
    next(timeoutMs?: number): Promise<ReadEvent | null>;
    /** True once the stream is sealed (or the reader's end cut reached) and every event was
     *  returned. */
    get ended(): boolean;
    /** Where the reader stands after the events returned so far: open a reader there to go on. */
    position(): SegmentPosition[];
    close(): void;
    private fetch;
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
export declare class Transaction {
    readonly id: string;
    readonly scope: string;
    readonly stream: string;
    private readonly session;
    private readonly cap;
    private readonly writer?;
    private decided;
    private constructor();
    /** @internal use PravahaClient.beginTransaction() or openTransaction() */
    static open(client: PravahaClient, s: Session, cap: rpc.Transaction$Client, info: TransactionInfo): Promise<Transaction>;
    /** Writes one event into the transaction; resolves once it is durable there (invisible until
     *  commit). transaction_not_open once committed or aborted. */
    write(routingKey: string, payload: Uint8Array | string): Promise<bigint>;
    /** Resolves once every event written before is durable in the transaction or failed. */
    flush(): Promise<void>;
    /** Commits once every write is answered; resolves once every event is visible. Idempotent.
     *  transaction_aborted (aborted: by abort(), its lease or its lifetime). Also when the stream
     *  scaled since it began (the commit rolls it forward). */
    commit(): Promise<TransactionInfo>;
    /** Discards it. Idempotent. transaction_committed. */
    abort(): Promise<TransactionInfo>;
    status(): Promise<TransactionInfo>;
    /** Releases it on the node: an undecided transaction is aborted when its lease runs out. */
    close(): void;
    private decide;
}
export declare class ReaderGroup {
    /** @internal */
    readonly client: PravahaClient;
    readonly scope: string;
    readonly name: string;
    /** @internal use PravahaClient.createReaderGroup() or readerGroup() */
    constructor(client: PravahaClient, scope: string, name: string);
    /** @internal The group's capability on the current connection (group_not_found thrown). */
    capability(): Promise<{
        session: Session;
        group: rpc.ReaderGroup$Client;
    }>;
    /** Online readers with their segments and unread bytes, unassigned and waiting segments,
     *  checkpoints. */
    info(): Promise<ReaderGroupInfo>;
    /** Begins checkpoint `name` and resolves, once every online reader recorded its position,
     *  with one stream cut per stream of the group. */
    checkpoint(name: string): Promise<string[]>;
    /** Rewinds the group to a completed checkpoint or to stream cuts (one per stream): every
     *  reader gets reader_offline and must join again. Resolves with the new generation. */
    reset(to: {
        checkpoint: string;
    } | {
        cuts: string[];
    }): Promise<number>;
    /** Joins the group as reader `name` (unique among its live readers: else reader_exists). */
    createReader(name: string, options?: {
        maxBatchEvents?: number;
    }): Promise<GroupReader>;
}
/**
 * A reader of a reader group: reads what the group assigns it, reports its position as it goes,
 * and returns checkpoint markers among its events. Once the group declared it offline (its lease
 * passed) or was reset, `next()` throws reader_offline: create a new reader to join again.
 */
export declare class GroupReader {
    private readonly group;
    readonly name: string;
    private readonly maxBatchEvents;
    private session?;
    private cap?;
    private buffer;
    private busy;
    /** @internal use ReaderGroup.createReader() */
    constructor(group: ReaderGroup, name: string, maxBatchEvents: number);
    /** @internal Joins (again, after a lost connection: the node left the group for it). */
    open(): Promise<void>;
    /** The next event or checkpoint marker, waiting up to `timeoutMs` (default 1000); null when
     *  none came. */
    next(timeoutMs?: number): Promise<ReadEvent | null>;
    /** Leaves the group: its segments go to the other readers from where this one stopped
     *  (before the events fetched and not returned). */
    close(): Promise<void>;
    private fetch;
}
