import WebSocket, { type ClientOptions, type RawData } from 'ws';
import { Backoff, type BackoffOptions } from './backoff.js';

/**
 * One ws connection kept alive to a server: it reconnects with backoff after a drop (always, or
 * only when asked again), and pings on an interval, terminating a connection whose previous ping
 * went unanswered (a half-open connection after a network partition is found within two
 * intervals instead of hanging until the OS gives up). Node-to-node calls and the admin API's
 * node event streams both ride on it.
 *
 * ```ts
 * const socket = new LiveSocket({
 *   url: () => `ws://127.0.0.1:7101/events?since=${lastSeq}`,
 *   reconnect: 'always',
 *   onMessage: (data) => handle(JSON.parse(String(data))),
 *   onClose: ({ wasOpen }) => wasOpen && console.log('lost the node, reconnecting'),
 * });
 * socket.connect();
 * // later
 * socket.close();
 * ```
 */
export interface LiveSocketOptions {
  /** The URL of each connection attempt (asked again on every attempt: it may carry a resume position). */
  url: () => string;
  /** ws client options of each attempt (headers, TLS material, maxPayload). @default {} */
  clientOptions?: () => ClientOptions;
  /**
   * `always`: reconnect after every drop or failed attempt; `on-demand`: only when `connect()` is
   * called again (the next attempt still waits out the backoff after a failed one).
   */
  reconnect: 'always' | 'on-demand';
  /** Delays between attempts after failures; reset once a connection opens. @default 100 ms doubling to 5 s */
  backoff?: BackoffOptions;
  /** Ping interval; 0 turns the heartbeat off. @default 15000 */
  heartbeatMs?: number;
  onOpen?(): void;
  onMessage(data: RawData, isBinary: boolean): void;
  /**
   * The connection (or the attempt) ended. `wasOpen`: it had opened; `error`: the socket error that
   * ended it, if any (an unreachable server, a refused upgrade with its status, a protocol violation).
   */
  onClose?(info: { code: number; reason: string; wasOpen: boolean; error: Error | undefined }): void;
}

export class LiveSocket {
  readonly #options: LiveSocketOptions;
  readonly #backoff: Backoff;
  #ws: WebSocket | undefined;
  #open = false;
  #closed = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryAt = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  #alive = true;

  constructor(options: LiveSocketOptions) {
    this.#options = options;
    this.#backoff = new Backoff(options.backoff ?? { initialMs: 100, maxMs: 5000 });
  }

  /** Whether a connection is open now. */
  get open(): boolean {
    return this.#open;
  }

  /** Whether a connection is open or being opened. */
  get connecting(): boolean {
    return this.#ws !== undefined;
  }

  /** Opens a connection unless one is open or on its way (after the backoff delay of a failed attempt). */
  connect(): void {
    if (this.#closed || this.#ws || this.#retryTimer) return;
    const wait = this.#retryAt - Date.now();
    if (wait > 0) {
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        this.connect();
      }, wait);
      this.#retryTimer.unref();
      return;
    }
    this.#attempt();
  }

  /** Sends on the open connection; false when none is open (nothing is queued). */
  send(data: string | Buffer): boolean {
    if (!this.#open || !this.#ws) return false;
    this.#ws.send(data);
    return true;
  }

  /** Bytes queued on the open connection and not yet written. */
  get bufferedAmount(): number {
    return this.#ws?.bufferedAmount ?? 0;
  }

  /** Closes the open connection with a code and reason (it reconnects as the policy says). */
  drop(code: number, reason: string): void {
    this.#ws?.close(code, reason);
  }

  /** Drops the connection at once, as a network failure would (it reconnects as the policy says). */
  cut(): void {
    this.#ws?.terminate();
  }

  /** Closes for good: no reconnection. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#ws?.terminate();
  }

  #attempt(): void {
    const ws = new WebSocket(this.#options.url(), { perMessageDeflate: false, ...this.#options.clientOptions?.() });
    this.#ws = ws;
    let error: Error | undefined;
    ws.on('open', () => {
      this.#open = true;
      this.#backoff.reset();
      this.#retryAt = 0;
      this.#startHeartbeat(ws);
      this.#options.onOpen?.();
    });
    ws.on('message', (data, isBinary) => this.#options.onMessage(data, isBinary));
    ws.on('pong', () => {
      this.#alive = true;
    });
    ws.on('unexpected-response', (_req, res) => {
      error = new Error(`the server refused the connection: HTTP ${res.statusCode}${res.statusMessage ? ` ${res.statusMessage}` : ''}`);
      res.resume();
      ws.terminate();
    });
    ws.on('error', (err) => {
      // 'close' always follows and reports it.
      error ??= err;
    });
    ws.on('close', (code, reason) => {
      const wasOpen = this.#open;
      if (this.#ws === ws) {
        this.#ws = undefined;
        this.#open = false;
      }
      clearInterval(this.#heartbeat);
      this.#heartbeat = undefined;
      if (!wasOpen) this.#retryAt = Date.now() + this.#backoff.next();
      this.#options.onClose?.({ code, reason: reason.toString(), wasOpen, error });
      if (!this.#closed && this.#options.reconnect === 'always') {
        if (wasOpen) this.#retryAt = Date.now() + this.#backoff.next();
        this.connect();
      }
    });
  }

  #startHeartbeat(ws: WebSocket): void {
    const intervalMs = this.#options.heartbeatMs ?? 15_000;
    if (intervalMs <= 0) return;
    this.#alive = true;
    this.#heartbeat = setInterval(() => {
      if (!this.#alive) {
        ws.terminate();
        return;
      }
      this.#alive = false;
      ws.ping();
    }, intervalMs);
    this.#heartbeat.unref();
  }
}
