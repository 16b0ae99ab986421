import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

/** One message from the admin API's stream, as received. */
export interface StreamMessage {
  kind: string;
  scope?: string;
  [field: string]: unknown;
}

export interface StreamTally {
  messages: number;
  /** Payload bytes (the JSON text), without ws framing. */
  bytes: number;
  /** Object entries in summary deltas. */
  objectChanges: number;
  /** Events in events deltas. */
  events: number;
}

/**
 * A client of the admin API's ws stream (`/api/stream`, protocol in admin-api/src/stream/protocol.ts), as a
 * dashboard connects: subprotocols `highlander.v1` and `bearer.<token>`. Counts what it receives.
 */
export class AdminStreamClient {
  tally: StreamTally = emptyTally();
  readonly #waiters = new Set<{ match: (m: StreamMessage) => boolean; resolve: (m: StreamMessage) => void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) return;
      const message = JSON.parse(data.toString('utf8')) as StreamMessage;
      this.tally.messages++;
      this.tally.bytes += data.length;
      if (message.kind === 'delta' && message.scope === 'summary') this.tally.objectChanges += (message.objects as unknown[]).length;
      if (message.kind === 'delta' && message.scope === 'events') this.tally.events += (message.events as unknown[]).length;
      for (const waiter of this.#waiters) {
        if (!waiter.match(message)) continue;
        this.#waiters.delete(waiter);
        waiter.resolve(message);
      }
    });
  }

  /** Connects and waits for the server's `hello`. */
  static connect(wsUrl: string, token: string, timeoutMs = 10_000): Promise<AdminStreamClient> {
    const ws = new WebSocket(wsUrl, ['highlander.v1', `bearer.${token}`], { perMessageDeflate: false });
    const client = new AdminStreamClient(ws);
    const hello = client.next((m) => m.kind === 'hello', timeoutMs);
    return new Promise((resolve, reject) => {
      ws.once('error', reject);
      ws.once('close', (code, reason) => reject(new Error(`the stream closed before hello: ${code} ${reason.toString()}`)));
      hello.then(() => resolve(client), reject);
    });
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  /** The next message matching `match` (from now on), or a rejection after `timeoutMs`. */
  next(match: (m: StreamMessage) => boolean, timeoutMs = 10_000): Promise<StreamMessage> {
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve: (m: StreamMessage) => {
        clearTimeout(timer);
        resolve(m);
      } };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`no matching stream message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /** Subscribes and resolves with the snapshot and how long it took to arrive. */
  async subscribe(message: { subscribe: string; [field: string]: unknown }, timeoutMs = 30_000): Promise<{ snapshot: StreamMessage; ms: number }> {
    const started = performance.now();
    const snapshot = this.next((m) => m.kind === 'snapshot' && m.scope === message.subscribe, timeoutMs);
    this.send(message);
    return { snapshot: await snapshot, ms: performance.now() - started };
  }

  /** Starts counting afresh; returns what was counted so far. */
  resetTally(): StreamTally {
    const tally = this.tally;
    this.tally = emptyTally();
    return tally;
  }

  close(): void {
    this.ws.terminate();
  }
}

function emptyTally(): StreamTally {
  return { messages: 0, bytes: 0, objectChanges: 0, events: 0 };
}
