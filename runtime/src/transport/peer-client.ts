import { LiveSocket, closeReason } from '@highlander/kit';
import { NodeUnreachable } from '../errors.js';
import { FrameWriter, asPeerReply, parseFrame, type PeerReplyBody, type PeerRequestBody } from './peer-protocol.js';

export interface PeerClientOptions {
  /** Largest frame accepted from a peer. */
  maxPayloadBytes: number;
  /**
   * Requests in flight on one connection; more wait (within their timeout) for a free slot.
   * @default 1024
   */
  maxInFlight?: number;
  /** Sent to every peer (`Authorization: Bearer`): the cluster's shared secret. @default none */
  clusterSecret?: string;
  /** TLS material for `wss://` peers: the CA that signed their certificates; cert and key for mutual TLS. @default the system's CAs */
  tls?: { ca?: string | Buffer | Array<string | Buffer>; cert?: string | Buffer; key?: string | Buffer };
  /** The local address connections to peers leave from (the node's own interface). @default the system's choice */
  localAddress?: string;
}

/** After a failed connection attempt, the next waits 100 ms, doubling up to 1 s (kit's Backoff, with jitter). */
const RECONNECT_BACKOFF = { initialMs: 100, maxMs: 1000 };

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
 * One persistent ws connection to each peer node (`/peer`), opened on first use and reopened on
 * demand after a failure (kit's `LiveSocket`: backoff between attempts, heartbeat). Requests carry
 * ids; each has its own timeout; at most `maxInFlight` are in flight per connection.
 */
export class PeerClient {
  readonly #connections = new Map<string, PeerConnection>();
  readonly #options: PeerClientOptions & { maxInFlight: number };

  constructor(options: PeerClientOptions) {
    this.#options = { maxInFlight: 1024, ...options };
  }

  /**
   * Sends a request to `node` at `address`; resolves with its reply. Rejects with `NodeUnreachable`:
   * `delivered: 'no'` when the request never left, `'unknown'` when it left and no reply came.
   */
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
  readonly #socket: LiveSocket;
  #writer: FrameWriter | undefined;
  #closed = false;
  #nextRid = 1;
  #pending = new Map<number, Pending>();
  #waiting: Waiting[] = [];

  constructor(readonly node: string, readonly address: string, private readonly options: PeerClientOptions & { maxInFlight: number }) {
    this.#socket = new LiveSocket({
      url: () => `${address}/peer`,
      clientOptions: () => ({
        maxPayload: options.maxPayloadBytes,
        ...(options.clusterSecret ? { headers: { authorization: `Bearer ${options.clusterSecret}` } } : {}),
        ...(options.tls?.ca ? { ca: options.tls.ca } : {}),
        ...(options.tls?.cert && options.tls.key ? { cert: options.tls.cert, key: options.tls.key } : {}),
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      }),
      reconnect: 'on-demand',
      backoff: RECONNECT_BACKOFF,
      onOpen: () => {
        this.#writer = new FrameWriter((frame) => this.#socket.send(frame), Math.floor(options.maxPayloadBytes / 2));
        this.#pump();
      },
      onMessage: (data) => this.#onFrame(data),
      onClose: ({ code, reason, wasOpen }) => {
        this.#writer = undefined;
        const why = new Error(wasOpen ? `connection closed (${code}${reason ? ` ${reason}` : ''})` : `cannot connect to ${address}`);
        this.#failAll(new NodeUnreachable(node, why));
      },
    });
  }

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
    this.#socket.close();
    this.#failAll(new NodeUnreachable(this.node, new Error('connection closed')));
  }

  /** Sends what waits, up to the in-flight limit; connects first when no connection is open. */
  #pump(): void {
    const writer = this.#writer;
    if (!writer || !this.#socket.open) {
      this.#socket.connect();
      return;
    }
    while (this.#waiting.length > 0 && this.#pending.size < this.options.maxInFlight) {
      const { call, pending } = this.#waiting.shift()!;
      const rid = this.#nextRid++;
      pending.rid = rid;
      this.#pending.set(rid, pending);
      writer.write({ ...call, rid });
    }
  }

  #onFrame(data: unknown): void {
    let messages: unknown[];
    try {
      messages = parseFrame(data);
    } catch (err) {
      this.#socket.drop(1007, closeReason((err as Error).message));
      return;
    }
    for (const message of messages) {
      let reply;
      try {
        reply = asPeerReply(message);
      } catch (err) {
        this.#socket.drop(1007, closeReason((err as Error).message));
        return;
      }
      const pending = this.#pending.get(reply.rid);
      if (!pending) continue; // timed out already: the caller has its CallTimeout
      this.#pending.delete(reply.rid);
      clearTimeout(pending.timer);
      pending.resolve(reply); // its rid is left on: a reply body with one more field
    }
    if (this.#waiting.length > 0) this.#pump();
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
