import { Socket } from "node:net";
import { type Transport } from "capnp-es";
import { Message as RpcMessage } from "capnp-es/capnp/rpc";
/** Largest message accepted from the server; the C++ side allows 64 MiB as well. */
export declare const MAX_MESSAGE_BYTES: number;
/** Raised for calls that were in flight when the connection ended. */
export declare class ConnectionLostError extends Error {
    constructor(message: string, options?: {
        cause?: unknown;
    });
}
export declare class TcpTransport implements Transport {
    private readonly socket;
    private chunks;
    private buffered;
    private readonly inbox;
    private readonly waiters;
    private ended;
    private readonly endListeners;
    constructor(socket: Socket);
    /** Calls `fn` once when the connection ends (closed by either side, or failed). */
    onEnd(fn: (err: Error) => void): void;
    get isEnded(): boolean;
    sendMessage(msg: RpcMessage): void;
    recvMessage(): Promise<RpcMessage>;
    close(): void;
    private end;
    private onData;
    private frameLength;
    private peek;
}
