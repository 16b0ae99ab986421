import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { NodeUnreachable } from '../errors.js';
import { FrameWriter, asPeerReply, onFrames, type PeerReplyBody, type PeerRequestBody } from './peer-protocol.js';

export interface PeerClientOptions {
  /** Largest frame accepted from a peer. */
  maxPayloadBytes: number;
  /**
   * Requests in flight on one connection; more wait (within their timeout) for a free slot.
   * @default 1024
   */
  maxInFlight?: number;
  /**
   * After a failed connection attempt, wait this long before the next one.
   * @default 100
   */
  reconnectDelayMs?: number;
}

interface Pending {
  /** Set once sent. */
  rid?: number;
  resolve: (reply: PeerReplyBody) => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout;
}

interface Waiting {
  call: PeerRequestBody;
  pending: Pending;
}

/**
 * One persistent ws connection to each peer node, opened on first use and reopened after a
 * failure. Requests carry ids; each has its own timeout; at most `maxInFlight` are in flight.
 */
export class PeerClient {
  readonly #connections = new Map<string, PeerConnection>();
  readonly #options: Required<PeerClientOptions>;

  constructor(options: PeerClientOptions) {
    this.#options = { maxInFlight: 1024, reconnectDelayMs: 100, ...options };
  }

  request(node: string, address: string, call: PeerRequestBody, timeoutMs: number): Promise<PeerReplyBody> {
    let connection = this.#connections.get(node);
    if (!connection || connection.address !== address) {
      connection?.close();
      connection = new PeerConnection(node, address, this.#options);
      this.#connections.set(node, connection);
    }
    return connection.request(call, timeoutMs);
  }

  /** Closes the connection to a node that left the cluster. */
  forget(node: string): void {
    this.#connections.get(node)?.close();
    this.#connections.delete(node);
  }

  close(): void {
    for (const connection of this.#connections.values()) connection.close();
    this.#connections.clear();
  }
}

class PeerConnection {
  #ws: WebSocket | undefined;
  #writer: FrameWriter | undefined;
  #open = false;
  #closed = false;
  #nextRid = 1;
  #pending = new Map<number, Pending>();
  #waiting: Waiting[] = [];
  #retryAtMs = 0;

  constructor(readonly node: string, readonly address: string, private readonly options: Required<PeerClientOptions>) {}

  request(call: PeerRequestBody, timeoutMs: number): Promise<PeerReplyBody> {
    if (this.#closed) return Promise.reject(new NodeUnreachable(this.node, new Error('connection closed')));
    return new Promise((resolve, reject) => {
      const waiting: Waiting = {
        call,
        pending: {
          resolve,
          reject,
          timer: setTimeout(() => {
            const sent = waiting.pending.rid !== undefined;
            if (sent) {
              // Sent but unanswered: free its in-flight slot; a late reply is ignored.
              this.#pending.delete(waiting.pending.rid!);
              this.#pump();
            } else {
              const index = this.#waiting.indexOf(waiting);
              if (index >= 0) this.#waiting.splice(index, 1);
            }
            reject(new NodeUnreachable(this.node, new Error(`no reply within ${timeoutMs} ms`), sent ? 'unknown' : 'no'));
          }, timeoutMs),
        },
      };
      this.#waiting.push(waiting);
      this.#pump();
    });
  }

  close(): void {
    this.#closed = true;
    this.#ws?.terminate();
    this.#failAll(new NodeUnreachable(this.node, new Error('connection closed')));
  }

  #pump(): void {
    if (!this.#open) {
      this.#connect();
      return;
    }
    while (this.#waiting.length > 0 && this.#pending.size < this.options.maxInFlight) {
      const { call, pending } = this.#waiting.shift()!;
      const rid = this.#nextRid++;
      pending.rid = rid;
      this.#pending.set(rid, pending);
      this.#writer!.write({ ...call, rid });
    }
  }

  #connect(): void {
    if (this.#ws || this.#closed) return;
    const now = performance.now();
    if (now < this.#retryAtMs) {
      setTimeout(() => this.#pump(), this.#retryAtMs - now).unref();
      return;
    }
    const ws = new WebSocket(`${this.address}/peer`, { maxPayload: this.options.maxPayloadBytes, perMessageDeflate: false });
    this.#ws = ws;
    ws.on('open', () => {
      this.#open = true;
      this.#writer = new FrameWriter((frame) => ws.send(frame), Math.floor(this.options.maxPayloadBytes / 2));
      this.#pump();
    });
    onFrames(ws, (messages) => {
      for (const message of messages) {
        let reply;
        try {
          reply = asPeerReply(message);
        } catch (err) {
          ws.close(1007, (err as Error).message.slice(0, 120));
          return;
        }
        const pending = this.#pending.get(reply.rid);
        if (!pending) continue; // timed out already: the caller has its CallTimeout
        this.#pending.delete(reply.rid);
        clearTimeout(pending.timer);
        const { rid: _rid, ...body } = reply;
        pending.resolve(body as PeerReplyBody);
      }
      if (this.#waiting.length > 0) this.#pump();
    });
    ws.on('error', () => {
      // The 'close' that always follows fails the pending requests with the reason.
    });
    ws.on('close', (code, reason) => {
      this.#ws = undefined;
      this.#writer = undefined;
      const wasOpen = this.#open;
      this.#open = false;
      if (!wasOpen) this.#retryAtMs = performance.now() + this.options.reconnectDelayMs;
      const why = new Error(wasOpen ? `connection closed (${code}${reason.length ? ` ${reason.toString()}` : ''})` : `cannot connect to ${this.address}`);
      this.#failAll(new NodeUnreachable(this.node, why));
    });
  }

  #failAll(error: NodeUnreachable): void {
    const inFlight = new NodeUnreachable(this.node, error.cause, 'unknown');
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(inFlight);
    }
    this.#pending.clear();
    for (const { pending } of this.#waiting.splice(0)) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
  }
}
