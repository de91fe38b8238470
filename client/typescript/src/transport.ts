// A Cap'n Proto two-party transport over one TCP connection: the framing that capnp-es 0.0.16
// lacks. Messages use the standard stream framing (segment count and sizes, then the segments),
// unpacked, as the C++ server (capnp::TwoPartyServer) expects.

import { Socket } from "node:net";
import { Message, type Transport } from "capnp-es";
import { Message as RpcMessage } from "capnp-es/capnp/rpc";

/** Largest message accepted from the server; the C++ side allows 64 MiB as well. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

const WORD = 8;

/** Raised for calls that were in flight when the connection ended. */
export class ConnectionLostError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ConnectionLostError";
  }
}

type Waiter = { resolve: (m: RpcMessage) => void; reject: (e?: unknown) => void };

export class TcpTransport implements Transport {
  private readonly socket: Socket;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly inbox: RpcMessage[] = [];
  private readonly waiters: Waiter[] = [];
  private ended = false;
  private readonly endListeners: Array<(err: Error) => void> = [];

  constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (err) => this.end(new ConnectionLostError(`connection failed: ${err.message}`, { cause: err })));
    socket.on("close", () => this.end(new ConnectionLostError("connection closed")));
  }

  /** Calls `fn` once when the connection ends (closed by either side, or failed). */
  onEnd(fn: (err: Error) => void): void {
    this.endListeners.push(fn);
  }

  get isEnded(): boolean {
    return this.ended;
  }

  sendMessage(msg: RpcMessage): void {
    if (this.ended) {
      return; // the calls waiting on it are failed by the connection's end
    }
    this.socket.write(new Uint8Array(msg.segment.message.toArrayBuffer()));
  }

  recvMessage(): Promise<RpcMessage> {
    const next = this.inbox.shift();
    if (next !== undefined) {
      return Promise.resolve(next);
    }
    if (this.ended) {
      // capnp-es stops its receive loop quietly on a rejection without a reason.
      return Promise.reject();
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  close(): void {
    this.end(new ConnectionLostError("connection closed by the client"));
  }

  private end(err: Error): void {
    if (this.ended) {
      return;
    }
    this.ended = true;
    this.socket.destroy();
    for (const w of this.waiters.splice(0)) {
      w.reject();
    }
    for (const fn of this.endListeners.splice(0)) {
      fn(err);
    }
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      const length = this.frameLength();
      if (length === undefined) {
        return;
      }
      if (length > MAX_MESSAGE_BYTES) {
        this.end(new ConnectionLostError(`the server sent a message of ${length} bytes (limit ${MAX_MESSAGE_BYTES})`));
        return;
      }
      if (this.buffered < length) {
        return;
      }
      const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
      const frame = all.subarray(0, length);
      const rest = all.subarray(length);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
      let msg: RpcMessage;
      try {
        // Copies the bytes (a Buffer's pool must not back the message).
        msg = new Message(frame, false).getRoot(RpcMessage);
      } catch (err) {
        this.end(new ConnectionLostError(`malformed message from the server: ${String(err)}`, { cause: err }));
        return;
      }
      const w = this.waiters.shift();
      if (w !== undefined) {
        w.resolve(msg);
      } else {
        this.inbox.push(msg);
      }
    }
  }

  // Bytes of the first framed message, once its header is complete.
  private frameLength(): number | undefined {
    if (this.buffered < 4) {
      return undefined;
    }
    const head = this.peek(4);
    const segments = head.readUInt32LE(0) + 1;
    if (segments > 512) {
      return Number.MAX_SAFE_INTEGER; // refused as too large
    }
    const headerBytes = Math.ceil((4 * (1 + segments)) / WORD) * WORD;
    if (this.buffered < headerBytes) {
      return undefined;
    }
    const header = this.peek(headerBytes);
    let words = 0;
    for (let i = 0; i < segments; i++) {
      words += header.readUInt32LE(4 + 4 * i);
    }
    return headerBytes + words * WORD;
  }

  private peek(bytes: number): Buffer {
    if (this.chunks[0].length >= bytes) {
      return this.chunks[0];
    }
    const joined = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [joined];
    return joined;
  }
}
