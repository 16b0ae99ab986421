import { refuseUpgrade, requestUrl } from '@highlander/kit';
import { objectKey } from '@highlander/runtime';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { selectProtocol, unauthenticated, type Principal, type TokenAuthenticator } from '../auth.js';
import type { ClusterActions, ClusterModel, ClusterSummary, ModelDelta } from '../contracts.js';
import type { AdminMetrics } from '../metrics.js';
import type { Rebalancer } from '../rebalance/rebalancer.js';
import type { TalkFeeds } from '../talk-feed.js';
import { StreamClient, type DropReason, type StreamHub } from './client.js';
import { STREAM_PROTOCOL } from './protocol.js';

/**
 * The ws stream's server (the protocol is in protocol.ts): the upgrade (path, Origin, token,
 * subprotocol, client limit), pings, one model subscription for every client while some client
 * subscribes to something, one lock queue watch per looked-at object shared by its clients, and
 * one flush timer for every client, running only while something is pending.
 */

export interface StreamOptions {
  /** Coalesced deltas are sent to a client at most this often. @default 100 */
  flushIntervalMs?: number;
  /** A client with more than this many bytes unsent is closed with 1013. @default 4 MiB */
  maxBufferedBytes?: number;
  /** A client with more than this many changes (nodes, objects, events) waiting for one flush is closed with 1013. @default 10000 */
  maxPendingChanges?: number;
  /** Events in an events snapshot at most (the newest); the rest are there to fetch with `GET /api/events`. @default 1000 */
  maxSnapshotEvents?: number;
  /** Connected clients at most; more are refused with 503. @default 1000 */
  maxClients?: number;
  /** Messages one client may send per second; more close it with 1008. @default 20 */
  maxMessagesPerSecond?: number;
  /** Ping every client this often; one that did not answer the previous ping is terminated. @default 30000 */
  pingIntervalMs?: number;
}

export interface StreamServerOptions extends StreamOptions {
  model: ClusterModel;
  actions: ClusterActions;
  authenticator: TokenAuthenticator;
  checkOrigin: (req: IncomingMessage) => boolean;
  metrics: AdminMetrics;
  logger: Logger;
  /** The API refuses every action (told to clients in `hello`, for a read-only banner). @default false */
  readOnly?: boolean;
  /** @default '/api/stream' */
  path?: string;
  /** The `talk` scope's shared pollers; without them, a talk subscription is answered TALKS_UNAVAILABLE. */
  talkFeeds?: TalkFeeds;
  /** Automatic rebalancing, for the `rebalance` scope; without it, that scope says `{ enabled: false }`. */
  rebalancer?: Rebalancer;
}

export type CompiledStreamOptions = Required<StreamOptions>;

/** The largest client message; subscriptions are tiny. */
const MAX_CLIENT_MESSAGE_BYTES = 4096;

export function compileStreamOptions(options: StreamOptions = {}): CompiledStreamOptions {
  const compiled = {
    flushIntervalMs: options.flushIntervalMs ?? 100,
    maxBufferedBytes: options.maxBufferedBytes ?? 4 * 1024 * 1024,
    maxPendingChanges: options.maxPendingChanges ?? 10_000,
    maxSnapshotEvents: options.maxSnapshotEvents ?? 1000,
    maxClients: options.maxClients ?? 1000,
    maxMessagesPerSecond: options.maxMessagesPerSecond ?? 20,
    pingIntervalMs: options.pingIntervalMs ?? 30_000,
  };
  for (const [name, value] of Object.entries(compiled)) {
    if (!Number.isFinite(value) || value <= 0) throw new TypeError(`stream.${name}: must be a positive number (got ${value})`);
  }
  return compiled;
}

/** The ws stream on an HTTP server. `close()` closes every client (1001) and stops listening for upgrades. */
export class StreamServer {
  readonly #options: CompiledStreamOptions;
  readonly #deps: StreamServerOptions;
  readonly #path: string;
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #clients = new Set<StreamClient>();
  readonly #queueWatches = new Map<string, { stop: () => void; clients: Set<StreamClient> }>();
  #unsubscribeModel: (() => void) | null = null;
  readonly #unsubscribeRebalancer: () => void;
  #flushTimer: NodeJS.Timeout | null = null;
  #lastFlushAt = 0;
  #pingTimer: NodeJS.Timeout | null = null;
  readonly #onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(req, socket, head);
  readonly #hub: StreamHub;

  constructor(server: Server, options: StreamServerOptions) {
    this.#options = compileStreamOptions(options);
    this.#deps = options;
    this.#path = options.path ?? '/api/stream';
    this.#server = server;
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_CLIENT_MESSAGE_BYTES,
      perMessageDeflate: false,
      handleProtocols: selectProtocol,
    });
    this.#hub = {
      options: this.#options,
      model: options.model,
      actions: options.actions,
      logger: options.logger,
      talkFeeds: options.talkFeeds,
      rebalanceStatus: () => options.rebalancer?.status() ?? { enabled: false },
      updateModelSubscription: () => this.#updateModelSubscription(),
      watchQueue: (client, type, id) => this.#watchQueue(client, type, id),
      scheduleFlush: () => this.#scheduleFlush(),
      dropped: (client, reason) => this.#dropped(client, reason),
    };
    server.on('upgrade', this.#onUpgrade);
    this.#unsubscribeRebalancer = options.rebalancer?.onChange(() => {
      for (const client of this.#clients) client.offerRebalance();
    }) ?? (() => undefined);
  }

  /** Connected clients. */
  get clientCount(): number {
    return this.#clients.size;
  }

  /** Whether the stream holds a model subscription (only while some client subscribes to something). */
  get subscribedToModel(): boolean {
    return this.#unsubscribeModel !== null;
  }

  async close(): Promise<void> {
    this.#server.off('upgrade', this.#onUpgrade);
    await Promise.all([...this.#clients].map((client) => client.shutdown()));
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    // Every client has released its subscriptions on close; these are already stopped unless one never closed.
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    this.#flushTimer = this.#pingTimer = null;
    this.#unsubscribeModel?.();
    this.#unsubscribeModel = null;
    this.#unsubscribeRebalancer();
  }

  // ---- connections ----

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (err) => this.#deps.logger.debug({ err }, 'stream: upgrade socket error'));
    const pathname = requestUrl(req)?.pathname;
    if (pathname === undefined) {
      this.#refuse(socket, 'bad-request', 400, 'BAD_REQUEST', `malformed URL: the stream is at ${this.#path}`);
      return;
    }
    if (pathname !== this.#path) {
      // Another upgrade handler on this server may own that path.
      if (this.#server.listenerCount('upgrade') === 1) this.#refuse(socket, 'not-found', 404, 'NOT_FOUND', `no ws endpoint at ${pathname}; the stream is at ${this.#path}`);
      return;
    }
    if (!this.#deps.checkOrigin(req)) {
      this.#refuse(socket, 'origin', 403, 'ORIGIN_NOT_ALLOWED', `origin ${req.headers.origin} may not open the stream; add it to allowedOrigins`);
      return;
    }
    const auth = this.#deps.authenticator.fromUpgrade(req);
    if ('problem' in auth) {
      const { message, wwwAuthenticate } = unauthenticated(auth.problem);
      this.#refuse(socket, 'unauthenticated', 401, 'UNAUTHENTICATED', `${message} (or the subprotocol bearer.<token>)`, { 'WWW-Authenticate': wwwAuthenticate });
      return;
    }
    const offered = req.headers['sec-websocket-protocol'];
    if (offered !== undefined && !offered.split(',').some((p) => p.trim() === STREAM_PROTOCOL)) {
      this.#refuse(socket, 'bad-subprotocol', 400, 'BAD_REQUEST', `offer the subprotocol ${STREAM_PROTOCOL} next to bearer.<token>`);
      return;
    }
    if (this.#clients.size >= this.#options.maxClients) {
      this.#refuse(socket, 'too-many-clients', 503, 'TOO_MANY_CLIENTS', `the stream has ${this.#options.maxClients} clients already; try again later`);
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#connected(ws, auth.principal, req));
  }

  #connected(ws: WebSocket, principal: Principal, req: IncomingMessage): void {
    const client = new StreamClient(this.#hub, ws, principal);
    this.#clients.add(client);
    this.#deps.metrics.wsClients.set(this.#clients.size);
    this.#deps.logger.debug({ who: principal.name, address: req.socket.remoteAddress }, 'stream: client connected');
    ws.on('close', () => this.#disconnected(client));
    ws.on('error', (err) => {
      // A broken frame (invalid UTF-8, bad opcode, over maxPayload): ws closes this client with the fitting code.
      this.#deps.metrics.refusals.inc({ reason: 'malformed-frame' });
      this.#deps.logger.debug({ err, who: principal.name }, 'stream: client socket error');
    });
    this.#pingTimer ??= setInterval(() => this.#ping(), this.#options.pingIntervalMs).unref();
    client.send({ kind: 'hello', protocol: STREAM_PROTOCOL, who: principal, readOnly: this.#deps.readOnly ?? false, flushIntervalMs: this.#options.flushIntervalMs });
  }

  #refuse(socket: Duplex, reason: string, status: number, code: string, message: string, headers?: Record<string, string>): void {
    this.#deps.metrics.refusals.inc({ reason });
    refuseUpgrade(socket, status, code, message, headers);
  }

  #disconnected(client: StreamClient): void {
    if (!this.#clients.delete(client)) return;
    client.release();
    this.#deps.metrics.wsClients.set(this.#clients.size);
    if (this.#clients.size === 0 && this.#pingTimer) {
      clearInterval(this.#pingTimer);
      this.#pingTimer = null;
    }
  }

  /** A client dropped itself: free its subscriptions now, not after the close handshake. */
  #dropped(client: StreamClient, reason: DropReason): void {
    this.#deps.metrics.wsDropped.inc({ reason });
    this.#deps.logger.warn({ who: client.principal.name, reason }, 'stream: dropped a slow client');
    client.release();
  }

  #ping(): void {
    for (const client of this.#clients) client.ping();
  }

  // ---- the shared model subscription and lock queue watches ----

  /** Subscribes to the model while any client subscribes to anything, and only then. */
  #updateModelSubscription(): void {
    const needed = [...this.#clients].some((c) => c.hasSubscriptions());
    if (needed && !this.#unsubscribeModel) {
      this.#unsubscribeModel = this.#deps.model.subscribe((delta) => this.#onDelta(delta));
    } else if (!needed && this.#unsubscribeModel) {
      const unsubscribe = this.#unsubscribeModel;
      this.#unsubscribeModel = null;
      unsubscribe();
    }
  }

  #onDelta(delta: ModelDelta): void {
    for (const client of this.#clients) client.offer(delta);
  }

  /** One model watch per looked-at lock queue, shared by the clients looking at it. */
  #watchQueue(client: StreamClient, type: string, id: string): () => void {
    const key = objectKey(type, id);
    let watch = this.#queueWatches.get(key);
    if (watch) {
      watch.clients.add(client);
    } else {
      // The client is in the set before the watch starts, in case the model calls back at once.
      const clients = new Set<StreamClient>([client]);
      watch = { stop: () => {}, clients };
      this.#queueWatches.set(key, watch);
      watch.stop = this.#deps.model.watchLockQueue(type, id, (queue) => {
        for (const c of clients) c.offerQueue(key, queue);
      });
    }
    const current = watch;
    return () => {
      current.clients.delete(client);
      if (current.clients.size === 0 && this.#queueWatches.get(key) === current) {
        this.#queueWatches.delete(key);
        current.stop();
      }
    };
  }

  // ---- flushing: one timer for every client, running only while something is pending ----

  #scheduleFlush(): void {
    if (this.#flushTimer) return;
    const delay = Math.max(0, this.#lastFlushAt + this.#options.flushIntervalMs - Date.now());
    this.#flushTimer = setTimeout(() => this.#flush(), delay);
  }

  #flush(): void {
    this.#flushTimer = null;
    this.#lastFlushAt = Date.now();
    let summary: ClusterSummary | undefined;
    const summaryOnce = () => (summary ??= this.#deps.model.summary());
    for (const client of this.#clients) {
      try {
        client.flush(summaryOnce);
      } catch (err) {
        this.#deps.logger.error({ err, who: client.principal.name }, 'stream: flush failed; closing the client');
        client.close(1011, 'internal error while sending changes; reconnect');
      }
    }
  }
}
