import * as $ from "capnp-es";
export declare const _capnpFileId = 13479758052696392323n;
export declare class Error extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    /**
  * 0: no error
  *
  */
    get code(): number;
    set code(value: number);
    /**
  * e.g. "stream_not_found"
  *
  */
    get name(): string;
    set name(value: string);
    /**
  * human-readable detail
  *
  */
    get message(): string;
    set message(value: string);
    toString(): string;
}
export declare class SegmentInfo extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    /**
  * epoch << 32 | number
  *
  */
    get id(): bigint;
    set id(value: bigint);
    /**
  * the routing-key range [keyStart, keyEnd) the segment owns
  *
  */
    get keyStart(): number;
    set keyStart(value: number);
    get keyEnd(): number;
    set keyEnd(value: number);
    /**
  * bytes stored
  *
  */
    get length(): bigint;
    set length(value: bigint);
    get sealed(): boolean;
    set sealed(value: boolean);
    toString(): string;
}
export declare class StreamInfo extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    static _SegmentInfos: $.ListCtor<SegmentInfo>;
    get scope(): string;
    set scope(value: string);
    get name(): string;
    set name(value: string);
    get sealed(): boolean;
    set sealed(value: boolean);
    _adoptSegmentInfos(value: $.Orphan<$.List<SegmentInfo>>): void;
    _disownSegmentInfos(): $.Orphan<$.List<SegmentInfo>>;
    /**
  * the current epoch's segments
  *
  */
    get segmentInfos(): $.List<SegmentInfo>;
    _hasSegmentInfos(): boolean;
    _initSegmentInfos(length: number): $.List<SegmentInfo>;
    set segmentInfos(value: $.List<SegmentInfo>);
    /**
  * the current epoch (0 until the first scale)
  *
  */
    get epoch(): number;
    set epoch(value: number);
    _adoptPolicy(value: $.Orphan<ScalingPolicy>): void;
    _disownPolicy(): $.Orphan<ScalingPolicy>;
    get policy(): ScalingPolicy;
    _hasPolicy(): boolean;
    _initPolicy(): ScalingPolicy;
    set policy(value: ScalingPolicy);
    toString(): string;
}
export declare class ScalingPolicy extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
        defaultFactor: DataView<ArrayBufferLike>;
        defaultMinSegments: DataView<ArrayBufferLike>;
    };
    get type(): string;
    set type(value: string);
    get target(): number;
    set target(value: number);
    get factor(): number;
    set factor(value: number);
    get minSegments(): number;
    set minSegments(value: number);
    toString(): string;
}
export declare class KeyRange extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get keyStart(): number;
    set keyStart(value: number);
    get keyEnd(): number;
    set keyEnd(value: number);
    toString(): string;
}
export declare class HistorySegment extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get id(): bigint;
    set id(value: bigint);
    get keyStart(): number;
    set keyStart(value: number);
    get keyEnd(): number;
    set keyEnd(value: number);
    /**
  * -1 while the segment is active
  *
  */
    get sealedLength(): bigint;
    set sealedLength(value: bigint);
    _adoptPredecessors(value: $.Orphan<$.List<bigint>>): void;
    _disownPredecessors(): $.Orphan<$.List<bigint>>;
    /**
  * what it replaced, when created by a scale
  *
  */
    get predecessors(): $.List<bigint>;
    _hasPredecessors(): boolean;
    _initPredecessors(length: number): $.List<bigint>;
    set predecessors(value: $.List<bigint>);
    toString(): string;
}
export declare class EpochInfo extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    static _SegmentInfos: $.ListCtor<HistorySegment>;
    get epoch(): number;
    set epoch(value: number);
    /**
  * wall-clock milliseconds when the epoch began
  *
  */
    get createdMs(): bigint;
    set createdMs(value: bigint);
    _adoptSegmentInfos(value: $.Orphan<$.List<HistorySegment>>): void;
    _disownSegmentInfos(): $.Orphan<$.List<HistorySegment>>;
    get segmentInfos(): $.List<HistorySegment>;
    _hasSegmentInfos(): boolean;
    _initSegmentInfos(length: number): $.List<HistorySegment>;
    set segmentInfos(value: $.List<HistorySegment>);
    /**
  * made by a transaction's commit (a roll), not by a scale
  *
  */
    get rolled(): boolean;
    set rolled(value: boolean);
    toString(): string;
}
export declare class Pravaha_StreamManager$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    toString(): string;
}
export declare class Pravaha_StreamManager$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get manager(): StreamManager$Client;
    set manager(value: StreamManager$Client);
    toString(): string;
}
export declare class Pravaha_StreamManager$Results$Promise {
    pipeline: $.Pipeline<any, any, Pravaha_StreamManager$Results>;
    constructor(pipeline: $.Pipeline<any, any, Pravaha_StreamManager$Results>);
    getManager(): StreamManager$Client;
    promise(): Promise<Pravaha_StreamManager$Results>;
}
export declare class Pravaha_OpenWriter$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get scope(): string;
    set scope(value: string);
    get stream(): string;
    set stream(value: string);
    get writerId(): string;
    set writerId(value: string);
    toString(): string;
}
export declare class Pravaha_OpenWriter$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get writer(): EventWriter$Client;
    set writer(value: EventWriter$Client);
    get lastEventNumber(): bigint;
    set lastEventNumber(value: bigint);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class Pravaha_OpenWriter$Results$Promise {
    pipeline: $.Pipeline<any, any, Pravaha_OpenWriter$Results>;
    constructor(pipeline: $.Pipeline<any, any, Pravaha_OpenWriter$Results>);
    getWriter(): EventWriter$Client;
    promise(): Promise<Pravaha_OpenWriter$Results>;
}
export declare class Pravaha_OpenReader$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    static _Position: $.ListCtor<SegmentPosition>;
    get scope(): string;
    set scope(value: string);
    get stream(): string;
    set stream(value: string);
    get fromTail(): boolean;
    set fromTail(value: boolean);
    _adoptPosition(value: $.Orphan<$.List<SegmentPosition>>): void;
    _disownPosition(): $.Orphan<$.List<SegmentPosition>>;
    get position(): $.List<SegmentPosition>;
    _hasPosition(): boolean;
    _initPosition(length: number): $.List<SegmentPosition>;
    set position(value: $.List<SegmentPosition>);
    toString(): string;
}
export declare class Pravaha_OpenReader$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    static _Position: $.ListCtor<SegmentPosition>;
    get reader(): EventReader$Client;
    set reader(value: EventReader$Client);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    _adoptPosition(value: $.Orphan<$.List<SegmentPosition>>): void;
    _disownPosition(): $.Orphan<$.List<SegmentPosition>>;
    get position(): $.List<SegmentPosition>;
    _hasPosition(): boolean;
    _initPosition(length: number): $.List<SegmentPosition>;
    set position(value: $.List<SegmentPosition>);
    toString(): string;
}
export declare class Pravaha_OpenReader$Results$Promise {
    pipeline: $.Pipeline<any, any, Pravaha_OpenReader$Results>;
    constructor(pipeline: $.Pipeline<any, any, Pravaha_OpenReader$Results>);
    getReader(): EventReader$Client;
    promise(): Promise<Pravaha_OpenReader$Results>;
}
export declare class Pravaha_OpenReaderBetween$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    static _Position: $.ListCtor<SegmentPosition>;
    get scope(): string;
    set scope(value: string);
    get stream(): string;
    set stream(value: string);
    get fromCut(): string;
    set fromCut(value: string);
    get toCut(): string;
    set toCut(value: string);
    _adoptPosition(value: $.Orphan<$.List<SegmentPosition>>): void;
    _disownPosition(): $.Orphan<$.List<SegmentPosition>>;
    get position(): $.List<SegmentPosition>;
    _hasPosition(): boolean;
    _initPosition(length: number): $.List<SegmentPosition>;
    set position(value: $.List<SegmentPosition>);
    toString(): string;
}
export declare class Pravaha_OpenReaderBetween$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    static _Position: $.ListCtor<SegmentPosition>;
    get reader(): EventReader$Client;
    set reader(value: EventReader$Client);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    _adoptPosition(value: $.Orphan<$.List<SegmentPosition>>): void;
    _disownPosition(): $.Orphan<$.List<SegmentPosition>>;
    get position(): $.List<SegmentPosition>;
    _hasPosition(): boolean;
    _initPosition(length: number): $.List<SegmentPosition>;
    set position(value: $.List<SegmentPosition>);
    toString(): string;
}
export declare class Pravaha_OpenReaderBetween$Results$Promise {
    pipeline: $.Pipeline<any, any, Pravaha_OpenReaderBetween$Results>;
    constructor(pipeline: $.Pipeline<any, any, Pravaha_OpenReaderBetween$Results>);
    getReader(): EventReader$Client;
    promise(): Promise<Pravaha_OpenReaderBetween$Results>;
}
export declare class Pravaha_ReaderGroup$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get scope(): string;
    set scope(value: string);
    get group(): string;
    set group(value: string);
    toString(): string;
}
export declare class Pravaha_ReaderGroup$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get group(): ReaderGroup$Client;
    set group(value: ReaderGroup$Client);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class Pravaha_ReaderGroup$Results$Promise {
    pipeline: $.Pipeline<any, any, Pravaha_ReaderGroup$Results>;
    constructor(pipeline: $.Pipeline<any, any, Pravaha_ReaderGroup$Results>);
    getGroup(): ReaderGroup$Client;
    promise(): Promise<Pravaha_ReaderGroup$Results>;
}
export declare class Pravaha_BeginTransaction$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
        defaultLeaseMs: DataView<ArrayBufferLike>;
    };
    get scope(): string;
    set scope(value: string);
    get stream(): string;
    set stream(value: string);
    get leaseMs(): bigint;
    set leaseMs(value: bigint);
    get writerId(): string;
    set writerId(value: string);
    toString(): string;
}
export declare class Pravaha_BeginTransaction$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get transaction(): Transaction$Client;
    set transaction(value: Transaction$Client);
    _adoptInfo(value: $.Orphan<TransactionInfo>): void;
    _disownInfo(): $.Orphan<TransactionInfo>;
    get info(): TransactionInfo;
    _hasInfo(): boolean;
    _initInfo(): TransactionInfo;
    set info(value: TransactionInfo);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class Pravaha_BeginTransaction$Results$Promise {
    pipeline: $.Pipeline<any, any, Pravaha_BeginTransaction$Results>;
    constructor(pipeline: $.Pipeline<any, any, Pravaha_BeginTransaction$Results>);
    getTransaction(): Transaction$Client;
    promise(): Promise<Pravaha_BeginTransaction$Results>;
}
export declare class Pravaha_OpenTransaction$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get scope(): string;
    set scope(value: string);
    get stream(): string;
    set stream(value: string);
    get id(): string;
    set id(value: string);
    toString(): string;
}
export declare class Pravaha_OpenTransaction$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get transaction(): Transaction$Client;
    set transaction(value: Transaction$Client);
    _adoptInfo(value: $.Orphan<TransactionInfo>): void;
    _disownInfo(): $.Orphan<TransactionInfo>;
    get info(): TransactionInfo;
    _hasInfo(): boolean;
    _initInfo(): TransactionInfo;
    set info(value: TransactionInfo);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class Pravaha_OpenTransaction$Results$Promise {
    pipeline: $.Pipeline<any, any, Pravaha_OpenTransaction$Results>;
    constructor(pipeline: $.Pipeline<any, any, Pravaha_OpenTransaction$Results>);
    getTransaction(): Transaction$Client;
    promise(): Promise<Pravaha_OpenTransaction$Results>;
}
export declare class Pravaha_Authenticate$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get token(): string;
    set token(value: string);
    toString(): string;
}
export declare class Pravaha_Authenticate$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get pravaha(): Pravaha$Client;
    set pravaha(value: Pravaha$Client);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class Pravaha_Authenticate$Results$Promise {
    pipeline: $.Pipeline<any, any, Pravaha_Authenticate$Results>;
    constructor(pipeline: $.Pipeline<any, any, Pravaha_Authenticate$Results>);
    getPravaha(): Pravaha$Client;
    promise(): Promise<Pravaha_Authenticate$Results>;
}
export declare class Pravaha$Client {
    client: $.Client;
    static readonly interfaceId: bigint;
    constructor(client: $.Client);
    static readonly methods: [
        $.Method<Pravaha_StreamManager$Params, Pravaha_StreamManager$Results>,
        $.Method<Pravaha_OpenWriter$Params, Pravaha_OpenWriter$Results>,
        $.Method<Pravaha_OpenReader$Params, Pravaha_OpenReader$Results>,
        $.Method<Pravaha_OpenReaderBetween$Params, Pravaha_OpenReaderBetween$Results>,
        $.Method<Pravaha_ReaderGroup$Params, Pravaha_ReaderGroup$Results>,
        $.Method<Pravaha_BeginTransaction$Params, Pravaha_BeginTransaction$Results>,
        $.Method<Pravaha_OpenTransaction$Params, Pravaha_OpenTransaction$Results>,
        $.Method<Pravaha_Authenticate$Params, Pravaha_Authenticate$Results>
    ];
    streamManager(paramsFunc?: (params: Pravaha_StreamManager$Params) => void): Pravaha_StreamManager$Results$Promise;
    openWriter(paramsFunc?: (params: Pravaha_OpenWriter$Params) => void): Pravaha_OpenWriter$Results$Promise;
    openReader(paramsFunc?: (params: Pravaha_OpenReader$Params) => void): Pravaha_OpenReader$Results$Promise;
    openReaderBetween(paramsFunc?: (params: Pravaha_OpenReaderBetween$Params) => void): Pravaha_OpenReaderBetween$Results$Promise;
    readerGroup(paramsFunc?: (params: Pravaha_ReaderGroup$Params) => void): Pravaha_ReaderGroup$Results$Promise;
    /**
  * A transaction begun earlier (by id, as `TransactionInfo.id` or `pravaha txn begin` shows it):
  * commit, abort and status work in every state, writing while it is open (its lease is
  * renewed while the capability lives). Errors: transaction_not_found, invalid_argument.
  *
  */
    beginTransaction(paramsFunc?: (params: Pravaha_BeginTransaction$Params) => void): Pravaha_BeginTransaction$Results$Promise;
    openTransaction(paramsFunc?: (params: Pravaha_OpenTransaction$Params) => void): Pravaha_OpenTransaction$Results$Promise;
    authenticate(paramsFunc?: (params: Pravaha_Authenticate$Params) => void): Pravaha_Authenticate$Results$Promise;
}
export interface Pravaha$Server$Target {
    streamManager(params: Pravaha_StreamManager$Params, results: Pravaha_StreamManager$Results): Promise<void>;
    openWriter(params: Pravaha_OpenWriter$Params, results: Pravaha_OpenWriter$Results): Promise<void>;
    openReader(params: Pravaha_OpenReader$Params, results: Pravaha_OpenReader$Results): Promise<void>;
    openReaderBetween(params: Pravaha_OpenReaderBetween$Params, results: Pravaha_OpenReaderBetween$Results): Promise<void>;
    readerGroup(params: Pravaha_ReaderGroup$Params, results: Pravaha_ReaderGroup$Results): Promise<void>;
    beginTransaction(params: Pravaha_BeginTransaction$Params, results: Pravaha_BeginTransaction$Results): Promise<void>;
    openTransaction(params: Pravaha_OpenTransaction$Params, results: Pravaha_OpenTransaction$Results): Promise<void>;
    authenticate(params: Pravaha_Authenticate$Params, results: Pravaha_Authenticate$Results): Promise<void>;
}
export declare class Pravaha$Server extends $.Server {
    readonly target: Pravaha$Server$Target;
    constructor(target: Pravaha$Server$Target);
    client(): Pravaha$Client;
}
/**
* The bootstrap capability.
*
*/
export declare class Pravaha extends $.Interface {
    static readonly Client: typeof Pravaha$Client;
    static readonly Server: typeof Pravaha$Server;
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    toString(): string;
}
export declare class Event extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    /**
  * events with the same key stay in order
  *
  */
    get routingKey(): string;
    set routingKey(value: string);
    _adoptPayload(value: $.Orphan<$.Data>): void;
    _disownPayload(): $.Orphan<$.Data>;
    /**
  * at most 8 MiB
  *
  */
    get payload(): $.Data;
    _hasPayload(): boolean;
    _initPayload(length: number): $.Data;
    set payload(value: $.Data);
    toString(): string;
}
export declare class EventWriter_Write$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
        defaultFirstEventNumber: DataView<ArrayBufferLike>;
    };
    static _Events: $.ListCtor<Event>;
    _adoptEvents(value: $.Orphan<$.List<Event>>): void;
    _disownEvents(): $.Orphan<$.List<Event>>;
    get events(): $.List<Event>;
    _hasEvents(): boolean;
    _initEvents(length: number): $.List<Event>;
    set events(value: $.List<Event>);
    get firstEventNumber(): bigint;
    set firstEventNumber(value: bigint);
    toString(): string;
}
export declare class EventWriter_Write$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get firstEventNumber(): bigint;
    set firstEventNumber(value: bigint);
    get count(): number;
    set count(value: number);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class EventWriter_Write$Results$Promise {
    pipeline: $.Pipeline<any, any, EventWriter_Write$Results>;
    constructor(pipeline: $.Pipeline<any, any, EventWriter_Write$Results>);
    promise(): Promise<EventWriter_Write$Results>;
}
export declare class EventWriter_Flush$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    toString(): string;
}
export declare class EventWriter_Flush$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class EventWriter_Flush$Results$Promise {
    pipeline: $.Pipeline<any, any, EventWriter_Flush$Results>;
    constructor(pipeline: $.Pipeline<any, any, EventWriter_Flush$Results>);
    promise(): Promise<EventWriter_Flush$Results>;
}
export declare class EventWriter_WritePacked$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
        defaultFirstEventNumber: DataView<ArrayBufferLike>;
    };
    _adoptPacked(value: $.Orphan<$.Data>): void;
    _disownPacked(): $.Orphan<$.Data>;
    get packed(): $.Data;
    _hasPacked(): boolean;
    _initPacked(length: number): $.Data;
    set packed(value: $.Data);
    get count(): number;
    set count(value: number);
    get firstEventNumber(): bigint;
    set firstEventNumber(value: bigint);
    toString(): string;
}
export declare class EventWriter_WritePacked$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get firstEventNumber(): bigint;
    set firstEventNumber(value: bigint);
    get count(): number;
    set count(value: number);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class EventWriter_WritePacked$Results$Promise {
    pipeline: $.Pipeline<any, any, EventWriter_WritePacked$Results>;
    constructor(pipeline: $.Pipeline<any, any, EventWriter_WritePacked$Results>);
    promise(): Promise<EventWriter_WritePacked$Results>;
}
export declare class EventWriter_Release$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    toString(): string;
}
export declare class EventWriter_Release$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    toString(): string;
}
export declare class EventWriter_Release$Results$Promise {
    pipeline: $.Pipeline<any, any, EventWriter_Release$Results>;
    constructor(pipeline: $.Pipeline<any, any, EventWriter_Release$Results>);
    promise(): Promise<EventWriter_Release$Results>;
}
export declare class EventWriter$Client {
    client: $.Client;
    static readonly interfaceId: bigint;
    constructor(client: $.Client);
    static readonly methods: [
        $.Method<EventWriter_Write$Params, EventWriter_Write$Results>,
        $.Method<EventWriter_Flush$Params, EventWriter_Flush$Results>,
        $.Method<EventWriter_WritePacked$Params, EventWriter_WritePacked$Results>,
        $.Method<EventWriter_Release$Params, EventWriter_Release$Results>
    ];
    /**
  * Answers once everything written before is acknowledged or failed.
  *
  */
    write(paramsFunc?: (params: EventWriter_Write$Params) => void): EventWriter_Write$Results$Promise;
    /**
  * `write` with the events packed into one Data: `count` times the routing key's length
  * (UInt32, little-endian), its UTF-8 bytes, the payload's length (UInt32, little-endian) and
  * the payload. Far cheaper to build where the Cap'n Proto runtime makes an object per list
  * element (JavaScript: the TypeScript client sends this). A blob that is not exactly `count`
  * events: `invalid_argument`, nothing written. Same bounds, numbering and answer as `write`.
  *
  */
    flush(paramsFunc?: (params: EventWriter_Flush$Params) => void): EventWriter_Flush$Results$Promise;
    /**
  * Waits for every write made before to be answered, then ends the writer on the node, as
  * dropping the capability does (for client runtimes that do not release capabilities:
  * capnp-es). Later writes: `invalid_argument`.
  *
  */
    writePacked(paramsFunc?: (params: EventWriter_WritePacked$Params) => void): EventWriter_WritePacked$Results$Promise;
    release(paramsFunc?: (params: EventWriter_Release$Params) => void): EventWriter_Release$Results$Promise;
}
export interface EventWriter$Server$Target {
    write(params: EventWriter_Write$Params, results: EventWriter_Write$Results): Promise<void>;
    flush(params: EventWriter_Flush$Params, results: EventWriter_Flush$Results): Promise<void>;
    writePacked(params: EventWriter_WritePacked$Params, results: EventWriter_WritePacked$Results): Promise<void>;
    release(params: EventWriter_Release$Params, results: EventWriter_Release$Results): Promise<void>;
}
export declare class EventWriter$Server extends $.Server {
    readonly target: EventWriter$Server$Target;
    constructor(target: EventWriter$Server$Target);
    client(): EventWriter$Client;
}
/**
* Writes the events and answers once every one of them is durable (or failed). Events get
* consecutive numbers: from `firstEventNumber` when it is >= 0 (the client numbers its events;
* numbers must grow from call to call of one writer object: else `invalid_argument`), else
* after the highest number used so far (at first `lastEventNumber` + 1 of openWriter). The
* answer carries the first number and the count. At most 10,000 events and 16 MiB per call;
* at most 64 MiB unacknowledged per writer (beyond: `overloaded`, write again later).
*
*/
export declare class EventWriter extends $.Interface {
    static readonly Client: typeof EventWriter$Client;
    static readonly Server: typeof EventWriter$Server;
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    toString(): string;
}
export declare class SegmentPosition extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get segmentId(): bigint;
    set segmentId(value: bigint);
    /**
  * where the next event of the segment starts
  *
  */
    get offset(): bigint;
    set offset(value: bigint);
    toString(): string;
}
export declare class ReadEvent extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    _adoptPayload(value: $.Orphan<$.Data>): void;
    _disownPayload(): $.Orphan<$.Data>;
    get payload(): $.Data;
    _hasPayload(): boolean;
    _initPayload(length: number): $.Data;
    set payload(value: $.Data);
    get segmentId(): bigint;
    set segmentId(value: bigint);
    /**
  * where the event starts in its segment
  * A group reader's checkpoint marker (nothing else set): the application stores what it must
  * with this checkpoint; the reader records its position at its next `next`.
  *
  */
    get offset(): bigint;
    set offset(value: bigint);
    get checkpoint(): string;
    set checkpoint(value: string);
    toString(): string;
}
export declare class EventReader_Next$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get maxEvents(): number;
    set maxEvents(value: number);
    get timeoutMs(): number;
    set timeoutMs(value: number);
    toString(): string;
}
export declare class EventReader_Next$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    static _Events: $.ListCtor<ReadEvent>;
    static _Position: $.ListCtor<SegmentPosition>;
    _adoptEvents(value: $.Orphan<$.List<ReadEvent>>): void;
    _disownEvents(): $.Orphan<$.List<ReadEvent>>;
    get events(): $.List<ReadEvent>;
    _hasEvents(): boolean;
    _initEvents(length: number): $.List<ReadEvent>;
    set events(value: $.List<ReadEvent>);
    get atEnd(): boolean;
    set atEnd(value: boolean);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    _adoptPosition(value: $.Orphan<$.List<SegmentPosition>>): void;
    _disownPosition(): $.Orphan<$.List<SegmentPosition>>;
    get position(): $.List<SegmentPosition>;
    _hasPosition(): boolean;
    _initPosition(length: number): $.List<SegmentPosition>;
    set position(value: $.List<SegmentPosition>);
    toString(): string;
}
export declare class EventReader_Next$Results$Promise {
    pipeline: $.Pipeline<any, any, EventReader_Next$Results>;
    constructor(pipeline: $.Pipeline<any, any, EventReader_Next$Results>);
    promise(): Promise<EventReader_Next$Results>;
}
export declare class EventReader_Close$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    toString(): string;
}
export declare class EventReader_Close$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class EventReader_Close$Results$Promise {
    pipeline: $.Pipeline<any, any, EventReader_Close$Results>;
    constructor(pipeline: $.Pipeline<any, any, EventReader_Close$Results>);
    promise(): Promise<EventReader_Close$Results>;
}
export declare class EventReader$Client {
    client: $.Client;
    static readonly interfaceId: bigint;
    constructor(client: $.Client);
    static readonly methods: [
        $.Method<EventReader_Next$Params, EventReader_Next$Results>,
        $.Method<EventReader_Close$Params, EventReader_Close$Results>
    ];
    /**
  * Ends the reader; a group reader leaves its group with its position (before the events
  * `next` fetched and did not answer). Dropping the capability does the same, unanswered.
  *
  */
    next(paramsFunc?: (params: EventReader_Next$Params) => void): EventReader_Next$Results$Promise;
    close(paramsFunc?: (params: EventReader_Close$Params) => void): EventReader_Close$Results$Promise;
}
export interface EventReader$Server$Target {
    next(params: EventReader_Next$Params, results: EventReader_Next$Results): Promise<void>;
    close(params: EventReader_Close$Params, results: EventReader_Close$Results): Promise<void>;
}
export declare class EventReader$Server extends $.Server {
    readonly target: EventReader$Server$Target;
    constructor(target: EventReader$Server$Target);
    client(): EventReader$Client;
}
/**
* Up to `maxEvents` events, waiting up to `timeoutMs` when none is there. With timeout 0 an
* empty answer means the reader caught up with everything stored when it asked. `atEnd`: the
* stream is sealed and fully read.
* `position`: where the reader stands after these events, one entry per segment; a reader
* opened there continues with the event after the last one answered (after a reconnect too).
*
*/
export declare class EventReader extends $.Interface {
    static readonly Client: typeof EventReader$Client;
    static readonly Server: typeof EventReader$Server;
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    toString(): string;
}
export declare class GroupStream extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get scope(): string;
    set scope(value: string);
    get stream(): string;
    set stream(value: string);
    get startCut(): string;
    set startCut(value: string);
    get endCut(): string;
    set endCut(value: string);
    toString(): string;
}
export declare class ReaderGroupConfig extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
        defaultLeaseMs: DataView<ArrayBufferLike>;
        defaultCheckpointIntervalMs: DataView<ArrayBufferLike>;
    };
    static _Streams: $.ListCtor<GroupStream>;
    _adoptStreams(value: $.Orphan<$.List<GroupStream>>): void;
    _disownStreams(): $.Orphan<$.List<GroupStream>>;
    get streams(): $.List<GroupStream>;
    _hasStreams(): boolean;
    _initStreams(length: number): $.List<GroupStream>;
    set streams(value: $.List<GroupStream>);
    /**
  * a reader silent this long is declared offline
  *
  */
    get leaseMs(): bigint;
    set leaseMs(value: bigint);
    /**
  * automatic checkpoints; 0: none
  *
  */
    get checkpointIntervalMs(): bigint;
    set checkpointIntervalMs(value: bigint);
    toString(): string;
}
export declare class GroupSegment extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    /**
  * scope/stream
  *
  */
    get stream(): string;
    set stream(value: string);
    get segmentId(): bigint;
    set segmentId(value: bigint);
    get offset(): bigint;
    set offset(value: bigint);
    toString(): string;
}
export declare class GroupReaderInfo extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    static _Segments: $.ListCtor<GroupSegment>;
    get name(): string;
    set name(value: string);
    _adoptSegments(value: $.Orphan<$.List<GroupSegment>>): void;
    _disownSegments(): $.Orphan<$.List<GroupSegment>>;
    get segments(): $.List<GroupSegment>;
    _hasSegments(): boolean;
    _initSegments(length: number): $.List<GroupSegment>;
    set segments(value: $.List<GroupSegment>);
    /**
  * -1: not known
  *
  */
    get unreadBytes(): bigint;
    set unreadBytes(value: bigint);
    toString(): string;
}
export declare class GroupCheckpoint extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get name(): string;
    set name(value: string);
    get complete(): boolean;
    set complete(value: boolean);
    /**
  * automatic
  *
  */
    get silent(): boolean;
    set silent(value: boolean);
    get createdMs(): bigint;
    set createdMs(value: bigint);
    _adoptCuts(value: $.Orphan<$.List<string>>): void;
    _disownCuts(): $.Orphan<$.List<string>>;
    /**
  * when complete: one per stream of the group, in order
  *
  */
    get cuts(): $.List<string>;
    _hasCuts(): boolean;
    _initCuts(length: number): $.List<string>;
    set cuts(value: $.List<string>);
    /**
  * completed because a reader it waited for went away: that reader's
  * segments are at their last reported positions
  *
  */
    get forced(): boolean;
    set forced(value: boolean);
    toString(): string;
}
export declare class ReaderGroupInfo extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    static _Readers: $.ListCtor<GroupReaderInfo>;
    static _Unassigned: $.ListCtor<GroupSegment>;
    static _Future: $.ListCtor<GroupSegment>;
    static _Checkpoints: $.ListCtor<GroupCheckpoint>;
    get scope(): string;
    set scope(value: string);
    get name(): string;
    set name(value: string);
    get generation(): number;
    set generation(value: number);
    _adoptConfig(value: $.Orphan<ReaderGroupConfig>): void;
    _disownConfig(): $.Orphan<ReaderGroupConfig>;
    get config(): ReaderGroupConfig;
    _hasConfig(): boolean;
    _initConfig(): ReaderGroupConfig;
    set config(value: ReaderGroupConfig);
    _adoptReaders(value: $.Orphan<$.List<GroupReaderInfo>>): void;
    _disownReaders(): $.Orphan<$.List<GroupReaderInfo>>;
    get readers(): $.List<GroupReaderInfo>;
    _hasReaders(): boolean;
    _initReaders(length: number): $.List<GroupReaderInfo>;
    set readers(value: $.List<GroupReaderInfo>);
    _adoptUnassigned(value: $.Orphan<$.List<GroupSegment>>): void;
    _disownUnassigned(): $.Orphan<$.List<GroupSegment>>;
    get unassigned(): $.List<GroupSegment>;
    _hasUnassigned(): boolean;
    _initUnassigned(length: number): $.List<GroupSegment>;
    set unassigned(value: $.List<GroupSegment>);
    _adoptFuture(value: $.Orphan<$.List<GroupSegment>>): void;
    _disownFuture(): $.Orphan<$.List<GroupSegment>>;
    /**
  * successors waiting for predecessors (offset 0)
  *
  */
    get future(): $.List<GroupSegment>;
    _hasFuture(): boolean;
    _initFuture(length: number): $.List<GroupSegment>;
    set future(value: $.List<GroupSegment>);
    _adoptCheckpoints(value: $.Orphan<$.List<GroupCheckpoint>>): void;
    _disownCheckpoints(): $.Orphan<$.List<GroupCheckpoint>>;
    get checkpoints(): $.List<GroupCheckpoint>;
    _hasCheckpoints(): boolean;
    _initCheckpoints(length: number): $.List<GroupCheckpoint>;
    set checkpoints(value: $.List<GroupCheckpoint>);
    /**
  * -1: not known
  *
  */
    get unreadBytes(): bigint;
    set unreadBytes(value: bigint);
    toString(): string;
}
export declare class TransactionInfo extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    static _Segments: $.ListCtor<SegmentInfo>;
    /**
  * 16 hex digits
  *
  */
    get id(): string;
    set id(value: string);
    get scope(): string;
    set scope(value: string);
    get stream(): string;
    set stream(value: string);
    /**
  * open, committing, committed, aborting or aborted
  *
  */
    get state(): string;
    set state(value: string);
    /**
  * the stream's epoch it began in
  *
  */
    get epoch(): number;
    set epoch(value: number);
    /**
  * the application's writer id (32 hex digits; zeros: none)
  *
  */
    get writerId(): string;
    set writerId(value: string);
    get beganMs(): bigint;
    set beganMs(value: bigint);
    get leaseMs(): bigint;
    set leaseMs(value: bigint);
    /**
  * aborted when still open then (maximum lifetime)
  *
  */
    get deadlineMs(): bigint;
    set deadlineMs(value: bigint);
    get completedMs(): bigint;
    set completedMs(value: bigint);
    /**
  * grows in the order commits were asked for (0: none)
  *
  */
    get commitOrder(): bigint;
    set commitOrder(value: bigint);
    /**
  * why it was aborted: abort, lease, lifetime, sealed
  *
  */
    get reason(): string;
    set reason(value: string);
    _adoptSegments(value: $.Orphan<$.List<SegmentInfo>>): void;
    _disownSegments(): $.Orphan<$.List<SegmentInfo>>;
    /**
  * the segments (of `epoch`) its events go to
  *
  */
    get segments(): $.List<SegmentInfo>;
    _hasSegments(): boolean;
    _initSegments(length: number): $.List<SegmentInfo>;
    set segments(value: $.List<SegmentInfo>);
    toString(): string;
}
export declare class Transaction_Writer$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    toString(): string;
}
export declare class Transaction_Writer$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get writer(): EventWriter$Client;
    set writer(value: EventWriter$Client);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class Transaction_Writer$Results$Promise {
    pipeline: $.Pipeline<any, any, Transaction_Writer$Results>;
    constructor(pipeline: $.Pipeline<any, any, Transaction_Writer$Results>);
    getWriter(): EventWriter$Client;
    promise(): Promise<Transaction_Writer$Results>;
}
export declare class Transaction_Commit$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    toString(): string;
}
export declare class Transaction_Commit$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    _adoptInfo(value: $.Orphan<TransactionInfo>): void;
    _disownInfo(): $.Orphan<TransactionInfo>;
    get info(): TransactionInfo;
    _hasInfo(): boolean;
    _initInfo(): TransactionInfo;
    set info(value: TransactionInfo);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class Transaction_Commit$Results$Promise {
    pipeline: $.Pipeline<any, any, Transaction_Commit$Results>;
    constructor(pipeline: $.Pipeline<any, any, Transaction_Commit$Results>);
    promise(): Promise<Transaction_Commit$Results>;
}
export declare class Transaction_Abort$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    toString(): string;
}
export declare class Transaction_Abort$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    _adoptInfo(value: $.Orphan<TransactionInfo>): void;
    _disownInfo(): $.Orphan<TransactionInfo>;
    get info(): TransactionInfo;
    _hasInfo(): boolean;
    _initInfo(): TransactionInfo;
    set info(value: TransactionInfo);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class Transaction_Abort$Results$Promise {
    pipeline: $.Pipeline<any, any, Transaction_Abort$Results>;
    constructor(pipeline: $.Pipeline<any, any, Transaction_Abort$Results>);
    promise(): Promise<Transaction_Abort$Results>;
}
export declare class Transaction_Status$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    toString(): string;
}
export declare class Transaction_Status$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    _adoptInfo(value: $.Orphan<TransactionInfo>): void;
    _disownInfo(): $.Orphan<TransactionInfo>;
    get info(): TransactionInfo;
    _hasInfo(): boolean;
    _initInfo(): TransactionInfo;
    set info(value: TransactionInfo);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class Transaction_Status$Results$Promise {
    pipeline: $.Pipeline<any, any, Transaction_Status$Results>;
    constructor(pipeline: $.Pipeline<any, any, Transaction_Status$Results>);
    promise(): Promise<Transaction_Status$Results>;
}
export declare class Transaction_Release$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    toString(): string;
}
export declare class Transaction_Release$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    toString(): string;
}
export declare class Transaction_Release$Results$Promise {
    pipeline: $.Pipeline<any, any, Transaction_Release$Results>;
    constructor(pipeline: $.Pipeline<any, any, Transaction_Release$Results>);
    promise(): Promise<Transaction_Release$Results>;
}
export declare class Transaction$Client {
    client: $.Client;
    static readonly interfaceId: bigint;
    constructor(client: $.Client);
    static readonly methods: [
        $.Method<Transaction_Writer$Params, Transaction_Writer$Results>,
        $.Method<Transaction_Commit$Params, Transaction_Commit$Results>,
        $.Method<Transaction_Abort$Params, Transaction_Abort$Results>,
        $.Method<Transaction_Status$Params, Transaction_Status$Results>,
        $.Method<Transaction_Release$Params, Transaction_Release$Results>
    ];
    /**
  * Waits for every write made through `writer` to be answered, then commits; answers once every
  * event is visible, each segment's part whole and per key in write order (also when the
  * stream scaled since it began: the commit rolls it forward).
  *
  */
    writer(paramsFunc?: (params: Transaction_Writer$Params) => void): Transaction_Writer$Results$Promise;
    commit(paramsFunc?: (params: Transaction_Commit$Params) => void): Transaction_Commit$Results$Promise;
    abort(paramsFunc?: (params: Transaction_Abort$Params) => void): Transaction_Abort$Results$Promise;
    /**
  * Stops renewing the lease now, as dropping the capability does (for client runtimes that do
  * not release capabilities: capnp-es): an undecided transaction is aborted when it runs out.
  *
  */
    status(paramsFunc?: (params: Transaction_Status$Params) => void): Transaction_Status$Results$Promise;
    release(paramsFunc?: (params: Transaction_Release$Params) => void): Transaction_Release$Results$Promise;
}
export interface Transaction$Server$Target {
    writer(params: Transaction_Writer$Params, results: Transaction_Writer$Results): Promise<void>;
    commit(params: Transaction_Commit$Params, results: Transaction_Commit$Results): Promise<void>;
    abort(params: Transaction_Abort$Params, results: Transaction_Abort$Results): Promise<void>;
    status(params: Transaction_Status$Params, results: Transaction_Status$Results): Promise<void>;
    release(params: Transaction_Release$Params, results: Transaction_Release$Results): Promise<void>;
}
export declare class Transaction$Server extends $.Server {
    readonly target: Transaction$Server$Target;
    constructor(target: Transaction$Server$Target);
    client(): Transaction$Client;
}
/**
* The writer of the transaction's events (an `EventWriter`: same bounds, numbering and answers;
* a write to a transaction no longer open: `transaction_not_open`). One per capability.
*
*/
export declare class Transaction extends $.Interface {
    static readonly Client: typeof Transaction$Client;
    static readonly Server: typeof Transaction$Server;
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    toString(): string;
}
export declare class ReaderGroup_Info$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    toString(): string;
}
export declare class ReaderGroup_Info$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    _adoptInfo(value: $.Orphan<ReaderGroupInfo>): void;
    _disownInfo(): $.Orphan<ReaderGroupInfo>;
    get info(): ReaderGroupInfo;
    _hasInfo(): boolean;
    _initInfo(): ReaderGroupInfo;
    set info(value: ReaderGroupInfo);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class ReaderGroup_Info$Results$Promise {
    pipeline: $.Pipeline<any, any, ReaderGroup_Info$Results>;
    constructor(pipeline: $.Pipeline<any, any, ReaderGroup_Info$Results>);
    promise(): Promise<ReaderGroup_Info$Results>;
}
export declare class ReaderGroup_Checkpoint$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get name(): string;
    set name(value: string);
    toString(): string;
}
export declare class ReaderGroup_Checkpoint$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    _adoptCuts(value: $.Orphan<$.List<string>>): void;
    _disownCuts(): $.Orphan<$.List<string>>;
    get cuts(): $.List<string>;
    _hasCuts(): boolean;
    _initCuts(length: number): $.List<string>;
    set cuts(value: $.List<string>);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class ReaderGroup_Checkpoint$Results$Promise {
    pipeline: $.Pipeline<any, any, ReaderGroup_Checkpoint$Results>;
    constructor(pipeline: $.Pipeline<any, any, ReaderGroup_Checkpoint$Results>);
    promise(): Promise<ReaderGroup_Checkpoint$Results>;
}
export declare class ReaderGroup_Reset$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get checkpoint(): string;
    set checkpoint(value: string);
    _adoptCuts(value: $.Orphan<$.List<string>>): void;
    _disownCuts(): $.Orphan<$.List<string>>;
    get cuts(): $.List<string>;
    _hasCuts(): boolean;
    _initCuts(length: number): $.List<string>;
    set cuts(value: $.List<string>);
    toString(): string;
}
export declare class ReaderGroup_Reset$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get generation(): number;
    set generation(value: number);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class ReaderGroup_Reset$Results$Promise {
    pipeline: $.Pipeline<any, any, ReaderGroup_Reset$Results>;
    constructor(pipeline: $.Pipeline<any, any, ReaderGroup_Reset$Results>);
    promise(): Promise<ReaderGroup_Reset$Results>;
}
export declare class ReaderGroup_OpenReader$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get name(): string;
    set name(value: string);
    toString(): string;
}
export declare class ReaderGroup_OpenReader$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get reader(): EventReader$Client;
    set reader(value: EventReader$Client);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class ReaderGroup_OpenReader$Results$Promise {
    pipeline: $.Pipeline<any, any, ReaderGroup_OpenReader$Results>;
    constructor(pipeline: $.Pipeline<any, any, ReaderGroup_OpenReader$Results>);
    getReader(): EventReader$Client;
    promise(): Promise<ReaderGroup_OpenReader$Results>;
}
export declare class ReaderGroup$Client {
    client: $.Client;
    static readonly interfaceId: bigint;
    constructor(client: $.Client);
    static readonly methods: [
        $.Method<ReaderGroup_Info$Params, ReaderGroup_Info$Results>,
        $.Method<ReaderGroup_Checkpoint$Params, ReaderGroup_Checkpoint$Results>,
        $.Method<ReaderGroup_Reset$Params, ReaderGroup_Reset$Results>,
        $.Method<ReaderGroup_OpenReader$Params, ReaderGroup_OpenReader$Results>
    ];
    /**
  * Begins checkpoint `name` and answers once every online reader recorded its position: one
  * cut per stream of the group.
  *
  */
    info(paramsFunc?: (params: ReaderGroup_Info$Params) => void): ReaderGroup_Info$Results$Promise;
    /**
  * Rewinds to completed checkpoint `checkpoint`, or (empty) to `cuts`, one per stream: every
  * reader gets `reader_offline` and joins again. Answers the new generation.
  *
  */
    checkpoint(paramsFunc?: (params: ReaderGroup_Checkpoint$Params) => void): ReaderGroup_Checkpoint$Results$Promise;
    /**
  * Joins as reader `name` (unique among the live readers: else `reader_exists`). Its `next`
  * answers the group's events for it and checkpoint markers; `reader_offline` once the group
  * declared it offline or was reset (open a new reader to join again).
  *
  */
    reset(paramsFunc?: (params: ReaderGroup_Reset$Params) => void): ReaderGroup_Reset$Results$Promise;
    openReader(paramsFunc?: (params: ReaderGroup_OpenReader$Params) => void): ReaderGroup_OpenReader$Results$Promise;
}
export interface ReaderGroup$Server$Target {
    info(params: ReaderGroup_Info$Params, results: ReaderGroup_Info$Results): Promise<void>;
    checkpoint(params: ReaderGroup_Checkpoint$Params, results: ReaderGroup_Checkpoint$Results): Promise<void>;
    reset(params: ReaderGroup_Reset$Params, results: ReaderGroup_Reset$Results): Promise<void>;
    openReader(params: ReaderGroup_OpenReader$Params, results: ReaderGroup_OpenReader$Results): Promise<void>;
}
export declare class ReaderGroup$Server extends $.Server {
    readonly target: ReaderGroup$Server$Target;
    constructor(target: ReaderGroup$Server$Target);
    client(): ReaderGroup$Client;
}
export declare class ReaderGroup extends $.Interface {
    static readonly Client: typeof ReaderGroup$Client;
    static readonly Server: typeof ReaderGroup$Server;
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    toString(): string;
}
export declare class StreamManager_CreateScope$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get scope(): string;
    set scope(value: string);
    toString(): string;
}
export declare class StreamManager_CreateScope$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class StreamManager_CreateScope$Results$Promise {
    pipeline: $.Pipeline<any, any, StreamManager_CreateScope$Results>;
    constructor(pipeline: $.Pipeline<any, any, StreamManager_CreateScope$Results>);
    promise(): Promise<StreamManager_CreateScope$Results>;
}
export declare class StreamManager_DeleteScope$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get scope(): string;
    set scope(value: string);
    toString(): string;
}
export declare class StreamManager_DeleteScope$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class StreamManager_DeleteScope$Results$Promise {
    pipeline: $.Pipeline<any, any, StreamManager_DeleteScope$Results>;
    constructor(pipeline: $.Pipeline<any, any, StreamManager_DeleteScope$Results>);
    promise(): Promise<StreamManager_DeleteScope$Results>;
}
export declare class StreamManager_ListScopes$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    toString(): string;
}
export declare class StreamManager_ListScopes$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    _adoptScopes(value: $.Orphan<$.List<string>>): void;
    _disownScopes(): $.Orphan<$.List<string>>;
    get scopes(): $.List<string>;
    _hasScopes(): boolean;
    _initScopes(length: number): $.List<string>;
    set scopes(value: $.List<string>);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class StreamManager_ListScopes$Results$Promise {
    pipeline: $.Pipeline<any, any, StreamManager_ListScopes$Results>;
    constructor(pipeline: $.Pipeline<any, any, StreamManager_ListScopes$Results>);
    promise(): Promise<StreamManager_ListScopes$Results>;
}
export declare class StreamManager_CreateStream$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get scope(): string;
    set scope(value: string);
    get stream(): string;
    set stream(value: string);
    get segments(): number;
    set segments(value: number);
    toString(): string;
}
export declare class StreamManager_CreateStream$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    _adoptInfo(value: $.Orphan<StreamInfo>): void;
    _disownInfo(): $.Orphan<StreamInfo>;
    get info(): StreamInfo;
    _hasInfo(): boolean;
    _initInfo(): StreamInfo;
    set info(value: StreamInfo);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class StreamManager_CreateStream$Results$Promise {
    pipeline: $.Pipeline<any, any, StreamManager_CreateStream$Results>;
    constructor(pipeline: $.Pipeline<any, any, StreamManager_CreateStream$Results>);
    promise(): Promise<StreamManager_CreateStream$Results>;
}
export declare class StreamManager_ListStreams$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get scope(): string;
    set scope(value: string);
    toString(): string;
}
export declare class StreamManager_ListStreams$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    _adoptStreams(value: $.Orphan<$.List<string>>): void;
    _disownStreams(): $.Orphan<$.List<string>>;
    get streams(): $.List<string>;
    _hasStreams(): boolean;
    _initStreams(length: number): $.List<string>;
    set streams(value: $.List<string>);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class StreamManager_ListStreams$Results$Promise {
    pipeline: $.Pipeline<any, any, StreamManager_ListStreams$Results>;
    constructor(pipeline: $.Pipeline<any, any, StreamManager_ListStreams$Results>);
    promise(): Promise<StreamManager_ListStreams$Results>;
}
export declare class StreamManager_StreamInfo$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get scope(): string;
    set scope(value: string);
    get stream(): string;
    set stream(value: string);
    toString(): string;
}
export declare class StreamManager_StreamInfo$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    _adoptInfo(value: $.Orphan<StreamInfo>): void;
    _disownInfo(): $.Orphan<StreamInfo>;
    get info(): StreamInfo;
    _hasInfo(): boolean;
    _initInfo(): StreamInfo;
    set info(value: StreamInfo);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class StreamManager_StreamInfo$Results$Promise {
    pipeline: $.Pipeline<any, any, StreamManager_StreamInfo$Results>;
    constructor(pipeline: $.Pipeline<any, any, StreamManager_StreamInfo$Results>);
    promise(): Promise<StreamManager_StreamInfo$Results>;
}
export declare class StreamManager_SealStream$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get scope(): string;
    set scope(value: string);
    get stream(): string;
    set stream(value: string);
    toString(): string;
}
export declare class StreamManager_SealStream$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class StreamManager_SealStream$Results$Promise {
    pipeline: $.Pipeline<any, any, StreamManager_SealStream$Results>;
    constructor(pipeline: $.Pipeline<any, any, StreamManager_SealStream$Results>);
    promise(): Promise<StreamManager_SealStream$Results>;
}
export declare class StreamManager_DeleteStream$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get scope(): string;
    set scope(value: string);
    get stream(): string;
    set stream(value: string);
    toString(): string;
}
export declare class StreamManager_DeleteStream$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class StreamManager_DeleteStream$Results$Promise {
    pipeline: $.Pipeline<any, any, StreamManager_DeleteStream$Results>;
    constructor(pipeline: $.Pipeline<any, any, StreamManager_DeleteStream$Results>);
    promise(): Promise<StreamManager_DeleteStream$Results>;
}
export declare class StreamManager_CreateScalingStream$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get scope(): string;
    set scope(value: string);
    get stream(): string;
    set stream(value: string);
    get segments(): number;
    set segments(value: number);
    _adoptPolicy(value: $.Orphan<ScalingPolicy>): void;
    _disownPolicy(): $.Orphan<ScalingPolicy>;
    get policy(): ScalingPolicy;
    _hasPolicy(): boolean;
    _initPolicy(): ScalingPolicy;
    set policy(value: ScalingPolicy);
    toString(): string;
}
export declare class StreamManager_CreateScalingStream$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    _adoptInfo(value: $.Orphan<StreamInfo>): void;
    _disownInfo(): $.Orphan<StreamInfo>;
    get info(): StreamInfo;
    _hasInfo(): boolean;
    _initInfo(): StreamInfo;
    set info(value: StreamInfo);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class StreamManager_CreateScalingStream$Results$Promise {
    pipeline: $.Pipeline<any, any, StreamManager_CreateScalingStream$Results>;
    constructor(pipeline: $.Pipeline<any, any, StreamManager_CreateScalingStream$Results>);
    promise(): Promise<StreamManager_CreateScalingStream$Results>;
}
export declare class StreamManager_UpdateStream$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get scope(): string;
    set scope(value: string);
    get stream(): string;
    set stream(value: string);
    _adoptPolicy(value: $.Orphan<ScalingPolicy>): void;
    _disownPolicy(): $.Orphan<ScalingPolicy>;
    get policy(): ScalingPolicy;
    _hasPolicy(): boolean;
    _initPolicy(): ScalingPolicy;
    set policy(value: ScalingPolicy);
    toString(): string;
}
export declare class StreamManager_UpdateStream$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    _adoptInfo(value: $.Orphan<StreamInfo>): void;
    _disownInfo(): $.Orphan<StreamInfo>;
    get info(): StreamInfo;
    _hasInfo(): boolean;
    _initInfo(): StreamInfo;
    set info(value: StreamInfo);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class StreamManager_UpdateStream$Results$Promise {
    pipeline: $.Pipeline<any, any, StreamManager_UpdateStream$Results>;
    constructor(pipeline: $.Pipeline<any, any, StreamManager_UpdateStream$Results>);
    promise(): Promise<StreamManager_UpdateStream$Results>;
}
export declare class StreamManager_ScaleStream$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    static _Create: $.ListCtor<KeyRange>;
    get scope(): string;
    set scope(value: string);
    get stream(): string;
    set stream(value: string);
    _adoptSeal(value: $.Orphan<$.List<bigint>>): void;
    _disownSeal(): $.Orphan<$.List<bigint>>;
    get seal(): $.List<bigint>;
    _hasSeal(): boolean;
    _initSeal(length: number): $.List<bigint>;
    set seal(value: $.List<bigint>);
    _adoptCreate(value: $.Orphan<$.List<KeyRange>>): void;
    _disownCreate(): $.Orphan<$.List<KeyRange>>;
    get create(): $.List<KeyRange>;
    _hasCreate(): boolean;
    _initCreate(length: number): $.List<KeyRange>;
    set create(value: $.List<KeyRange>);
    get expectedEpoch(): number;
    set expectedEpoch(value: number);
    toString(): string;
}
export declare class StreamManager_ScaleStream$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    static _Created: $.ListCtor<SegmentInfo>;
    get epoch(): number;
    set epoch(value: number);
    _adoptCreated(value: $.Orphan<$.List<SegmentInfo>>): void;
    _disownCreated(): $.Orphan<$.List<SegmentInfo>>;
    get created(): $.List<SegmentInfo>;
    _hasCreated(): boolean;
    _initCreated(length: number): $.List<SegmentInfo>;
    set created(value: $.List<SegmentInfo>);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class StreamManager_ScaleStream$Results$Promise {
    pipeline: $.Pipeline<any, any, StreamManager_ScaleStream$Results>;
    constructor(pipeline: $.Pipeline<any, any, StreamManager_ScaleStream$Results>);
    promise(): Promise<StreamManager_ScaleStream$Results>;
}
export declare class StreamManager_History$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get scope(): string;
    set scope(value: string);
    get stream(): string;
    set stream(value: string);
    toString(): string;
}
export declare class StreamManager_History$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    static _Epochs: $.ListCtor<EpochInfo>;
    _adoptEpochs(value: $.Orphan<$.List<EpochInfo>>): void;
    _disownEpochs(): $.Orphan<$.List<EpochInfo>>;
    get epochs(): $.List<EpochInfo>;
    _hasEpochs(): boolean;
    _initEpochs(length: number): $.List<EpochInfo>;
    set epochs(value: $.List<EpochInfo>);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class StreamManager_History$Results$Promise {
    pipeline: $.Pipeline<any, any, StreamManager_History$Results>;
    constructor(pipeline: $.Pipeline<any, any, StreamManager_History$Results>);
    promise(): Promise<StreamManager_History$Results>;
}
export declare class StreamManager_StreamCut$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get scope(): string;
    set scope(value: string);
    get stream(): string;
    set stream(value: string);
    get head(): boolean;
    set head(value: boolean);
    toString(): string;
}
export declare class StreamManager_StreamCut$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get cut(): string;
    set cut(value: string);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class StreamManager_StreamCut$Results$Promise {
    pipeline: $.Pipeline<any, any, StreamManager_StreamCut$Results>;
    constructor(pipeline: $.Pipeline<any, any, StreamManager_StreamCut$Results>);
    promise(): Promise<StreamManager_StreamCut$Results>;
}
export declare class StreamManager_CreateReaderGroup$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get scope(): string;
    set scope(value: string);
    get group(): string;
    set group(value: string);
    _adoptConfig(value: $.Orphan<ReaderGroupConfig>): void;
    _disownConfig(): $.Orphan<ReaderGroupConfig>;
    get config(): ReaderGroupConfig;
    _hasConfig(): boolean;
    _initConfig(): ReaderGroupConfig;
    set config(value: ReaderGroupConfig);
    toString(): string;
}
export declare class StreamManager_CreateReaderGroup$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get group(): ReaderGroup$Client;
    set group(value: ReaderGroup$Client);
    _adoptInfo(value: $.Orphan<ReaderGroupInfo>): void;
    _disownInfo(): $.Orphan<ReaderGroupInfo>;
    get info(): ReaderGroupInfo;
    _hasInfo(): boolean;
    _initInfo(): ReaderGroupInfo;
    set info(value: ReaderGroupInfo);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class StreamManager_CreateReaderGroup$Results$Promise {
    pipeline: $.Pipeline<any, any, StreamManager_CreateReaderGroup$Results>;
    constructor(pipeline: $.Pipeline<any, any, StreamManager_CreateReaderGroup$Results>);
    getGroup(): ReaderGroup$Client;
    promise(): Promise<StreamManager_CreateReaderGroup$Results>;
}
export declare class StreamManager_DeleteReaderGroup$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get scope(): string;
    set scope(value: string);
    get group(): string;
    set group(value: string);
    toString(): string;
}
export declare class StreamManager_DeleteReaderGroup$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class StreamManager_DeleteReaderGroup$Results$Promise {
    pipeline: $.Pipeline<any, any, StreamManager_DeleteReaderGroup$Results>;
    constructor(pipeline: $.Pipeline<any, any, StreamManager_DeleteReaderGroup$Results>);
    promise(): Promise<StreamManager_DeleteReaderGroup$Results>;
}
export declare class StreamManager_ListReaderGroups$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get scope(): string;
    set scope(value: string);
    toString(): string;
}
export declare class StreamManager_ListReaderGroups$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    _adoptGroups(value: $.Orphan<$.List<string>>): void;
    _disownGroups(): $.Orphan<$.List<string>>;
    get groups(): $.List<string>;
    _hasGroups(): boolean;
    _initGroups(length: number): $.List<string>;
    set groups(value: $.List<string>);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class StreamManager_ListReaderGroups$Results$Promise {
    pipeline: $.Pipeline<any, any, StreamManager_ListReaderGroups$Results>;
    constructor(pipeline: $.Pipeline<any, any, StreamManager_ListReaderGroups$Results>);
    promise(): Promise<StreamManager_ListReaderGroups$Results>;
}
export declare class StreamManager_ListTransactions$Params extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    get scope(): string;
    set scope(value: string);
    get stream(): string;
    set stream(value: string);
    get writerId(): string;
    set writerId(value: string);
    toString(): string;
}
export declare class StreamManager_ListTransactions$Results extends $.Struct {
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    static _Transactions: $.ListCtor<TransactionInfo>;
    _adoptTransactions(value: $.Orphan<$.List<TransactionInfo>>): void;
    _disownTransactions(): $.Orphan<$.List<TransactionInfo>>;
    get transactions(): $.List<TransactionInfo>;
    _hasTransactions(): boolean;
    _initTransactions(length: number): $.List<TransactionInfo>;
    set transactions(value: $.List<TransactionInfo>);
    _adoptError(value: $.Orphan<Error>): void;
    _disownError(): $.Orphan<Error>;
    get error(): Error;
    _hasError(): boolean;
    _initError(): Error;
    set error(value: Error);
    toString(): string;
}
export declare class StreamManager_ListTransactions$Results$Promise {
    pipeline: $.Pipeline<any, any, StreamManager_ListTransactions$Results>;
    constructor(pipeline: $.Pipeline<any, any, StreamManager_ListTransactions$Results>);
    promise(): Promise<StreamManager_ListTransactions$Results>;
}
export declare class StreamManager$Client {
    client: $.Client;
    static readonly interfaceId: bigint;
    constructor(client: $.Client);
    static readonly methods: [
        $.Method<StreamManager_CreateScope$Params, StreamManager_CreateScope$Results>,
        $.Method<StreamManager_DeleteScope$Params, StreamManager_DeleteScope$Results>,
        $.Method<StreamManager_ListScopes$Params, StreamManager_ListScopes$Results>,
        $.Method<StreamManager_CreateStream$Params, StreamManager_CreateStream$Results>,
        $.Method<StreamManager_ListStreams$Params, StreamManager_ListStreams$Results>,
        $.Method<StreamManager_StreamInfo$Params, StreamManager_StreamInfo$Results>,
        $.Method<StreamManager_SealStream$Params, StreamManager_SealStream$Results>,
        $.Method<StreamManager_DeleteStream$Params, StreamManager_DeleteStream$Results>,
        $.Method<StreamManager_CreateScalingStream$Params, StreamManager_CreateScalingStream$Results>,
        $.Method<StreamManager_UpdateStream$Params, StreamManager_UpdateStream$Results>,
        $.Method<StreamManager_ScaleStream$Params, StreamManager_ScaleStream$Results>,
        $.Method<StreamManager_History$Params, StreamManager_History$Results>,
        $.Method<StreamManager_StreamCut$Params, StreamManager_StreamCut$Results>,
        $.Method<StreamManager_CreateReaderGroup$Params, StreamManager_CreateReaderGroup$Results>,
        $.Method<StreamManager_DeleteReaderGroup$Params, StreamManager_DeleteReaderGroup$Results>,
        $.Method<StreamManager_ListReaderGroups$Params, StreamManager_ListReaderGroups$Results>,
        $.Method<StreamManager_ListTransactions$Params, StreamManager_ListTransactions$Results>
    ];
    createScope(paramsFunc?: (params: StreamManager_CreateScope$Params) => void): StreamManager_CreateScope$Results$Promise;
    deleteScope(paramsFunc?: (params: StreamManager_DeleteScope$Params) => void): StreamManager_DeleteScope$Results$Promise;
    listScopes(paramsFunc?: (params: StreamManager_ListScopes$Params) => void): StreamManager_ListScopes$Results$Promise;
    createStream(paramsFunc?: (params: StreamManager_CreateStream$Params) => void): StreamManager_CreateStream$Results$Promise;
    listStreams(paramsFunc?: (params: StreamManager_ListStreams$Params) => void): StreamManager_ListStreams$Results$Promise;
    streamInfo(paramsFunc?: (params: StreamManager_StreamInfo$Params) => void): StreamManager_StreamInfo$Results$Promise;
    sealStream(paramsFunc?: (params: StreamManager_SealStream$Params) => void): StreamManager_SealStream$Results$Promise;
    /**
  * only sealed streams
  * A stream with a scaling policy (createStream's streams are fixed).
  *
  */
    deleteStream(paramsFunc?: (params: StreamManager_DeleteStream$Params) => void): StreamManager_DeleteStream$Results$Promise;
    /**
  * Replaces the policy ("fixed" stops automatic scaling; nothing is rescaled by it).
  *
  */
    createScalingStream(paramsFunc?: (params: StreamManager_CreateScalingStream$Params) => void): StreamManager_CreateScalingStream$Results$Promise;
    /**
  * Seals `seal` (segments of the current epoch, adjacent) and replaces them by segments with
  * the ranges `create`, which cover exactly what they covered (a split: one into equal parts; a
  * merge: neighbours into one). Answers the new epoch and its new segments once it is current.
  * `conflict` while another scale, a seal or a delete of the stream runs; `invalid_argument`
  * names what is wrong ("not adjacent", "not in the current epoch (E)").
  *
  */
    updateStream(paramsFunc?: (params: StreamManager_UpdateStream$Params) => void): StreamManager_UpdateStream$Results$Promise;
    /**
  * Every epoch, oldest first.
  *
  */
    scaleStream(paramsFunc?: (params: StreamManager_ScaleStream$Params) => void): StreamManager_ScaleStream$Results$Promise;
    /**
  * The stream's tail (or, with `head`, its head) as one token "UID:E.N@OFFSET,...".
  *
  */
    history(paramsFunc?: (params: StreamManager_History$Params) => void): StreamManager_History$Results$Promise;
    /**
  * Reader groups: created (a retry with the same configuration answers the group; another
  * configuration: `group_exists`), deleted, listed by scope.
  *
  */
    streamCut(paramsFunc?: (params: StreamManager_StreamCut$Params) => void): StreamManager_StreamCut$Results$Promise;
    createReaderGroup(paramsFunc?: (params: StreamManager_CreateReaderGroup$Params) => void): StreamManager_CreateReaderGroup$Results$Promise;
    deleteReaderGroup(paramsFunc?: (params: StreamManager_DeleteReaderGroup$Params) => void): StreamManager_DeleteReaderGroup$Results$Promise;
    /**
  * The stream's transactions: open and committing ones, and completed ones still kept (24 h);
  * with a `writerId` (as given to `beginTransaction`) only that writer's (a restarted producer
  * finds its own).
  *
  */
    listReaderGroups(paramsFunc?: (params: StreamManager_ListReaderGroups$Params) => void): StreamManager_ListReaderGroups$Results$Promise;
    listTransactions(paramsFunc?: (params: StreamManager_ListTransactions$Params) => void): StreamManager_ListTransactions$Results$Promise;
}
export interface StreamManager$Server$Target {
    createScope(params: StreamManager_CreateScope$Params, results: StreamManager_CreateScope$Results): Promise<void>;
    deleteScope(params: StreamManager_DeleteScope$Params, results: StreamManager_DeleteScope$Results): Promise<void>;
    listScopes(params: StreamManager_ListScopes$Params, results: StreamManager_ListScopes$Results): Promise<void>;
    createStream(params: StreamManager_CreateStream$Params, results: StreamManager_CreateStream$Results): Promise<void>;
    listStreams(params: StreamManager_ListStreams$Params, results: StreamManager_ListStreams$Results): Promise<void>;
    streamInfo(params: StreamManager_StreamInfo$Params, results: StreamManager_StreamInfo$Results): Promise<void>;
    sealStream(params: StreamManager_SealStream$Params, results: StreamManager_SealStream$Results): Promise<void>;
    deleteStream(params: StreamManager_DeleteStream$Params, results: StreamManager_DeleteStream$Results): Promise<void>;
    createScalingStream(params: StreamManager_CreateScalingStream$Params, results: StreamManager_CreateScalingStream$Results): Promise<void>;
    updateStream(params: StreamManager_UpdateStream$Params, results: StreamManager_UpdateStream$Results): Promise<void>;
    scaleStream(params: StreamManager_ScaleStream$Params, results: StreamManager_ScaleStream$Results): Promise<void>;
    history(params: StreamManager_History$Params, results: StreamManager_History$Results): Promise<void>;
    streamCut(params: StreamManager_StreamCut$Params, results: StreamManager_StreamCut$Results): Promise<void>;
    createReaderGroup(params: StreamManager_CreateReaderGroup$Params, results: StreamManager_CreateReaderGroup$Results): Promise<void>;
    deleteReaderGroup(params: StreamManager_DeleteReaderGroup$Params, results: StreamManager_DeleteReaderGroup$Results): Promise<void>;
    listReaderGroups(params: StreamManager_ListReaderGroups$Params, results: StreamManager_ListReaderGroups$Results): Promise<void>;
    listTransactions(params: StreamManager_ListTransactions$Params, results: StreamManager_ListTransactions$Results): Promise<void>;
}
export declare class StreamManager$Server extends $.Server {
    readonly target: StreamManager$Server$Target;
    constructor(target: StreamManager$Server$Target);
    client(): StreamManager$Client;
}
export declare class StreamManager extends $.Interface {
    static readonly Client: typeof StreamManager$Client;
    static readonly Server: typeof StreamManager$Server;
    static readonly _capnp: {
        displayName: string;
        id: string;
        size: $.ObjectSize;
    };
    toString(): string;
}
