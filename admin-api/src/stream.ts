import { MessageWindow, closeReason, refuseUpgrade } from '@highlander/kit';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { z } from 'zod';
import { objectKey } from '@highlander/runtime';
import { STREAM_PROTOCOL, selectProtocol, unauthenticated, type Principal, type TokenAuthenticator } from './auth.js';
import type { ClusterActions, ClusterModel, ClusterSummary, LockQueueEntryView, ModelDelta, ModelEvent, NodeView, ObjectView } from './contracts.js';
import { describeError } from './http-error.js';
import type { AdminMetrics } from './metrics.js';
import type { TalkFeeds } from './talk-feed.js';
import { SubscribeMessage, UnsubscribeMessage } from './schemas.js';

/**
 * The live stream at `ws://<admin-api>/api/stream`: a snapshot per subscription, then coalesced deltas.
 *
 * Connecting: offer the subprotocols `highlander.v1` and `bearer.<token>` (a viewer or operator
 * token; non-browser clients may send `Authorization: Bearer <token>` instead). Refused before the
 * upgrade, with a JSON error body: 401 no or unknown token, 403 an `Origin` that is neither the API's
 * own nor in `allowedOrigins`, 400 a `bearer.` subprotocol without `highlander.v1`, 503 too many clients.
 *
 * Client → server (JSON text, at most 4 KiB, at most `maxMessagesPerSecond`):
 *   { "subscribe": "summary", "objects"?: true }     cluster summary, nodes, and every node/object change;
 *                                                    with `objects`, the snapshot lists every active object too
 *   { "subscribe": "events", "since"?: <cursor> }     the event feed (after `since`; without it, the newest)
 *   { "subscribe": "object", "type": t, "id": i }     one object: detail, live lock queue, its events (one at a time)
 *   { "subscribe": "talk", "code": c }                one talk's audience feedback (one at a time; see talk-feed.ts)
 *   { "unsubscribe": "summary" | "events" | "object" | "talk" }
 *
 * Server → client (JSON text):
 *   { kind: 'hello', protocol: 'highlander.v1', who: { name, role }, readOnly, flushIntervalMs }
 *   { kind: 'snapshot', scope: 'summary', summary, nodes: NodeView[], objects?: ObjectRow[] }
 *       ObjectRow = [type, id, owner, epoch, activeSince, lastCallAt, callsPerSecond, queueLength, waiting]
 *       (an ObjectView as a tuple: a third of the bytes for the tens of thousands a cluster map needs)
 *   { kind: 'delta', scope: 'summary', summary, nodes: { name, node: NodeView | null }[], objects: { type, id, object: ObjectView | null }[] }
 *   { kind: 'snapshot', scope: 'events', events: ModelEvent[], cursor, gap }   gap: events after `since` were left out
 *                                                                               (fetch them with GET /api/events?since=)
 *   { kind: 'delta', scope: 'events', events: ModelEvent[], cursor }
 *   { kind: 'snapshot', scope: 'object', type, id, detail: ObjectDetail }
 *   { kind: 'delta', scope: 'object', type, id, object?: ObjectView | null, queue?: LockQueueEntryView[], events?: ModelEvent[] }
 *   { kind: 'error', scope: 'object', type, id, error: { code, message } }     the snapshot failed; not subscribed
 *   { kind: 'snapshot', scope: 'talk', code, talk: TalkSnapshot }       then, every ~150 ms while something changed:
 *   { kind: 'delta', scope: 'talk', code, talk: TalkAggregates, reactions: Reaction[], timeline?: TimelinePoint[], reactionsGap?: true }
 *   { kind: 'error', scope: 'talk', code, error: { code, message } }   no such talk (TALK_NOT_FOUND); not subscribed
 *   { kind: 'unsubscribed', scope }
 *
 * Deltas are coalesced per client (the latest view per node and object, the lock queue's latest,
 * events batched) and sent at most every `flushIntervalMs`. Closes: 1003 binary message, 1007 not JSON,
 * 1008 a message that is not one of the above or too many messages, 1009 over 4 KiB, 1013 too slow
 * (more than `maxBufferedBytes` unsent, or more than `maxPendingChanges` waiting for one flush; the
 * reason says how to resume), 1001 the API shutting down.
 *
 * With no subscription open, the stream holds no subscription on the model and no lock queue watch
 * (it subscribes once, for every client, while some client subscribes to something); with no client
 * connected it also runs no timer. Each change is only filed into maps while a flush is pending.
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
}

type CompiledStreamOptions = Required<StreamOptions>;

/** What a client needs from the server it is connected to. */
interface StreamContext {
  options: CompiledStreamOptions;
  model: ClusterModel;
  actions: ClusterActions;
  logger: Logger;
  /** Call after any change of a client's subscriptions. */
  updateModelSubscription(): void;
  /** Watches a lock queue for a client; returns the release function. */
  watchQueue(client: StreamClient, type: string, id: string): () => void;
  scheduleFlush(): void;
  /** The client closed itself for being slow. */
  dropped(client: StreamClient, reason: 'buffered' | 'pending'): void;
  talkFeeds: TalkFeeds | undefined;
}

/** An ObjectView as a tuple, in the order of its fields (see the header). */
export type ObjectRow = [type: string, id: string, owner: string, epoch: string, activeSince: number, lastCallAt: number | null, callsPerSecond: number, queueLength: number, waiting: number];

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
  #flushTimer: NodeJS.Timeout | null = null;
  #lastFlushAt = 0;
  #pingTimer: NodeJS.Timeout | null = null;
  readonly #onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(req, socket, head);
  readonly #context: StreamContext;

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
    this.#context = {
      options: this.#options,
      model: options.model,
      actions: options.actions,
      logger: options.logger,
      updateModelSubscription: () => this.#updateModelSubscription(),
      watchQueue: (client, type, id) => this.#watchQueue(client, type, id),
      scheduleFlush: () => this.#scheduleFlush(),
      dropped: (client, reason) => this.#dropped(client, reason),
      talkFeeds: options.talkFeeds,
    };
    server.on('upgrade', this.#onUpgrade);
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
  }

  // ---- connections ----

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (err) => this.#deps.logger.debug({ err }, 'stream: upgrade socket error'));
    const pathname = new URL(req.url ?? '/', 'http://admin-api').pathname;
    if (pathname !== this.#path) {
      // Another upgrade handler on this server may own that path.
      if (this.#server.listenerCount('upgrade') === 1) refuseUpgrade(socket, 404, 'NOT_FOUND', `no ws endpoint at ${pathname}; the stream is at ${this.#path}`);
      return;
    }
    if (!this.#deps.checkOrigin(req)) {
      refuseUpgrade(socket, 403, 'ORIGIN_NOT_ALLOWED', `origin ${req.headers.origin} may not open the stream; add it to allowedOrigins`);
      return;
    }
    const auth = this.#deps.authenticator.fromUpgrade(req);
    if ('problem' in auth) {
      const { message, wwwAuthenticate } = unauthenticated(auth.problem);
      refuseUpgrade(socket, 401, 'UNAUTHENTICATED', `${message} (or the subprotocol bearer.<token>)`, { 'WWW-Authenticate': wwwAuthenticate });
      return;
    }
    const offered = req.headers['sec-websocket-protocol'];
    if (offered !== undefined && !offered.split(',').some((p) => p.trim() === STREAM_PROTOCOL)) {
      refuseUpgrade(socket, 400, 'BAD_REQUEST', `offer the subprotocol ${STREAM_PROTOCOL} next to bearer.<token>`);
      return;
    }
    if (this.#clients.size >= this.#options.maxClients) {
      refuseUpgrade(socket, 503, 'TOO_MANY_CLIENTS', `the stream has ${this.#options.maxClients} clients already; try again later`);
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#connected(ws, auth.principal, req));
  }

  #connected(ws: WebSocket, principal: Principal, req: IncomingMessage): void {
    const client = new StreamClient(this.#context, ws, principal);
    this.#clients.add(client);
    this.#deps.metrics.wsClients.set(this.#clients.size);
    this.#deps.logger.debug({ who: principal.name, address: req.socket.remoteAddress }, 'stream: client connected');
    ws.on('close', () => this.#disconnected(client));
    ws.on('error', (err) => this.#deps.logger.debug({ err, who: principal.name }, 'stream: client socket error'));
    this.#pingTimer ??= setInterval(() => this.#ping(), this.#options.pingIntervalMs).unref();
    client.send({ kind: 'hello', protocol: STREAM_PROTOCOL, who: principal, readOnly: this.#deps.readOnly ?? false, flushIntervalMs: this.#options.flushIntervalMs });
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
  #dropped(client: StreamClient, reason: 'buffered' | 'pending'): void {
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

interface ObjectSubscription {
  type: string;
  id: string;
  key: string;
  /** Deltas wait until the snapshot is sent. */
  ready: boolean;
  stopWatch: () => void;
}

/** One connected client: its subscriptions and what is waiting for its next flush. */
class StreamClient {
  #summary = false;
  /** The last event cursor sent, when subscribed to events. */
  #events: { cursor: number } | null = null;
  #object: ObjectSubscription | null = null;
  #pendingNodes = new Map<string, NodeView | null>();
  #pendingObjects = new Map<string, { type: string; id: string; object: ObjectView | null }>();
  #pendingEvents: ModelEvent[] = [];
  #summaryDirty = false;
  #pendingObjectView: { object: ObjectView | null } | null = null;
  #pendingQueue: LockQueueEntryView[] | null = null;
  #pendingObjectEvents: ModelEvent[] = [];
  #alive = true;
  #dropped = false;
  #messages: MessageWindow;
  /** Bytes of an objects snapshot still allowed over `maxBufferedBytes` until the buffer first drains below it. */
  #snapshotAllowance = 0;

  constructor(
    private readonly hub: StreamContext,
    private readonly ws: WebSocket,
    readonly principal: Principal,
  ) {
    this.#messages = new MessageWindow(hub.options.maxMessagesPerSecond);
    ws.on('message', (data, isBinary) => this.#message(data, isBinary));
    ws.on('pong', () => {
      this.#alive = true;
    });
  }

  hasSubscriptions(): boolean {
    return !this.#dropped && (this.#summary || this.#events !== null || this.#object !== null);
  }

  send(message: unknown): void {
    this.sendText(JSON.stringify(message));
  }

  sendText(text: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code, closeReason(reason));
  }

  ping(): void {
    if (!this.#alive) {
      this.ws.terminate();
      return;
    }
    this.#alive = false;
    if (this.ws.readyState === WebSocket.OPEN) this.ws.ping();
  }

  /** Closes with 1001 and resolves once the socket is closed (terminated if the close handshake stalls). */
  shutdown(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.ws.terminate(), 1000);
      this.ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.close(1001, 'admin API shutting down');
    });
  }

  /** Drops every subscription (on close, or when dropped for being slow). */
  release(): void {
    this.#summary = false;
    this.#events = null;
    this.#unsubscribeObject();
    this.#unsubscribeTalk();
    this.#clearPending();
    this.hub.updateModelSubscription();
  }

  // ---- client messages ----

  #message(data: RawData, isBinary: boolean): void {
    if (this.#dropped) return;
    if (isBinary) return this.close(1003, 'binary messages are not supported: send JSON text');
    if (!this.#messages.count().ok) {
      return this.close(1008, `too many messages: at most ${this.hub.options.maxMessagesPerSecond} per second`);
    }
    let value: unknown;
    try {
      value = JSON.parse(rawText(data));
    } catch {
      return this.close(1007, 'malformed message: not JSON');
    }
    if (typeof value === 'object' && value !== null && 'unsubscribe' in value) {
      const parsed = UnsubscribeMessage.safeParse(value);
      if (!parsed.success) return this.close(1008, `invalid message: ${firstIssue(parsed.error)}`);
      return this.#unsubscribe(parsed.data.unsubscribe);
    }
    if (typeof value === 'object' && value !== null && 'subscribe' in value) {
      const parsed = SubscribeMessage.safeParse(value);
      if (!parsed.success) return this.close(1008, `invalid message: ${firstIssue(parsed.error)}`);
      return this.#subscribe(parsed.data);
    }
    this.close(1008, 'invalid message: expected {"subscribe": …} or {"unsubscribe": …}');
  }

  #subscribe(message: SubscribeMessage): void {
    if (this.#tooSlow()) return;
    const model = this.hub.model;
    switch (message.subscribe) {
      case 'summary': {
        this.#summary = true;
        this.#pendingNodes.clear();
        this.#pendingObjects.clear();
        this.#summaryDirty = false;
        this.hub.updateModelSubscription();
        if (!message.objects) {
          this.send({ kind: 'snapshot', scope: 'summary', summary: model.summary(), nodes: model.nodes() });
          return;
        }
        const all = model.objects({ limit: Number.MAX_SAFE_INTEGER }).items;
        const objects: ObjectRow[] = all.map((o) => [o.type, o.id, o.owner, o.epoch, o.activeSince, o.lastCallAt, o.callsPerSecond, o.queueLength, o.waiting]);
        const text = JSON.stringify({ kind: 'snapshot', scope: 'summary', summary: model.summary(), nodes: model.nodes(), objects });
        // A map of every object may be bigger than the slow-client limit by itself: allow it that once.
        this.#snapshotAllowance = Buffer.byteLength(text);
        this.sendText(text);
        return;
      }
      case 'events': {
        // Snapshot and subscription happen in one turn: no event can fall between them, and
        // events already in the snapshot are filtered out of the deltas by their cursor.
        const snapshot = eventsSnapshot(model, message.since, this.hub.options.maxSnapshotEvents);
        this.#events = { cursor: snapshot.cursor };
        this.#pendingEvents = [];
        this.hub.updateModelSubscription();
        this.send({ kind: 'snapshot', scope: 'events', ...snapshot });
        return;
      }
      case 'talk':
        this.#subscribeTalk(message.code);
        return;
      case 'object': {
        this.#unsubscribeObject();
        const { type, id } = message;
        const subscription: ObjectSubscription = { type, id, key: objectKey(type, id), ready: false, stopWatch: () => {} };
        this.#object = subscription;
        subscription.stopWatch = this.hub.watchQueue(this, type, id);
        this.hub.updateModelSubscription();
        this.hub.actions.detail(type, id).then(
          (detail) => {
            if (this.#object !== subscription) return; // replaced or unsubscribed meanwhile
            subscription.ready = true;
            this.send({ kind: 'snapshot', scope: 'object', type, id, detail });
            if (this.#hasPendingObject()) this.hub.scheduleFlush();
          },
          (err: unknown) => {
            if (this.#object !== subscription) return;
            const described = describeError(err);
            if (described.internal) this.hub.logger.error({ err, type, id }, 'stream: object snapshot failed');
            this.#unsubscribeObject();
            this.hub.updateModelSubscription();
            const message = described.code === 'INTERNAL' ? 'internal error reading the object; see the admin API log' : described.message;
            this.send({ kind: 'error', scope: 'object', type, id, error: { code: described.code, message } });
          },
        );
        return;
      }
    }
  }

  #unsubscribe(scope: 'summary' | 'events' | 'object' | 'talk'): void {
    if (scope === 'summary') {
      this.#summary = false;
      this.#pendingNodes.clear();
      this.#pendingObjects.clear();
      this.#summaryDirty = false;
    } else if (scope === 'events') {
      this.#events = null;
      this.#pendingEvents = [];
    } else if (scope === 'talk') {
      this.#unsubscribeTalk();
    } else {
      this.#unsubscribeObject();
    }
    this.hub.updateModelSubscription();
    this.send({ kind: 'unsubscribed', scope });
  }

  #unsubscribeObject(): void {
    if (!this.#object) return;
    this.#object.stopWatch();
    this.#object = null;
    this.#pendingObjectView = null;
    this.#pendingQueue = null;
    this.#pendingObjectEvents = [];
  }

  // ---- the talk scope (audience feedback): polled by talk-feed.ts, sent as it comes ----

  #talk: { code: string; stop: () => void } | null = null;

  #subscribeTalk(code: string): void {
    this.#unsubscribeTalk();
    const feeds = this.hub.talkFeeds;
    if (!feeds) {
      this.send({ kind: 'error', scope: 'talk', code, error: { code: 'TALKS_UNAVAILABLE', message: 'this admin API has no talk service' } });
      return;
    }
    const subscription = { code, stop: () => {} };
    this.#talk = subscription;
    subscription.stop = feeds.subscribe(code, (message) => {
      if (this.#talk !== subscription || this.#dropped || this.#tooSlow()) return;
      if (message.kind === 'error') this.#talk = null;
      this.send(message);
    });
  }

  #unsubscribeTalk(): void {
    const talk = this.#talk;
    this.#talk = null;
    talk?.stop();
  }

  // ---- coalescing ----

  offer(delta: ModelDelta): void {
    if (this.#dropped) return;
    let changed = false;
    switch (delta.kind) {
      case 'node':
        if (this.#summary) {
          this.#pendingNodes.set(delta.name, delta.node);
          this.#summaryDirty = changed = true;
        }
        break;
      case 'object': {
        const key = objectKey(delta.type, delta.id);
        if (this.#summary) {
          this.#pendingObjects.set(key, { type: delta.type, id: delta.id, object: delta.object });
          this.#summaryDirty = changed = true;
        }
        if (this.#object?.key === key) {
          this.#pendingObjectView = { object: delta.object };
          changed = true;
        }
        break;
      }
      case 'event': {
        const event = delta.event;
        if (this.#events && event.cursor > this.#events.cursor) {
          this.#pendingEvents.push(event);
          changed = true;
        }
        if (this.#summary) this.#summaryDirty = changed = true;
        if (this.#object && 'type' in event && 'id' in event && objectKey(event.type, event.id) === this.#object.key) {
          this.#pendingObjectEvents.push(event);
          changed = true;
        }
        break;
      }
      case 'lockQueue':
        this.offerQueue(objectKey(delta.type, delta.id), delta.queue);
        return;
    }
    if (changed) this.#changed();
  }

  offerQueue(key: string, queue: LockQueueEntryView[]): void {
    if (this.#dropped || this.#object?.key !== key) return;
    this.#pendingQueue = queue;
    this.#changed();
  }

  #changed(): void {
    const pending = this.#pendingNodes.size + this.#pendingObjects.size + this.#pendingEvents.length + this.#pendingObjectEvents.length;
    if (pending > this.hub.options.maxPendingChanges) {
      this.#drop('pending', `over ${this.hub.options.maxPendingChanges} changes waiting`);
      return;
    }
    this.hub.scheduleFlush();
  }

  #hasPendingObject(): boolean {
    return this.#pendingObjectView !== null || this.#pendingQueue !== null || this.#pendingObjectEvents.length > 0;
  }

  flush(summary: () => ClusterSummary): void {
    if (this.#dropped || this.ws.readyState !== WebSocket.OPEN) return;
    const summaryChanged = this.#summary && (this.#summaryDirty || this.#pendingNodes.size > 0 || this.#pendingObjects.size > 0);
    const eventsChanged = this.#events !== null && this.#pendingEvents.length > 0;
    const objectChanged = this.#object?.ready === true && this.#hasPendingObject();
    if (!summaryChanged && !eventsChanged && !objectChanged) return;
    if (this.#tooSlow()) return;
    if (summaryChanged) {
      this.send({
        kind: 'delta', scope: 'summary', summary: summary(),
        nodes: [...this.#pendingNodes].map(([name, node]) => ({ name, node })),
        objects: [...this.#pendingObjects.values()],
      });
      this.#pendingNodes.clear();
      this.#pendingObjects.clear();
      this.#summaryDirty = false;
    }
    if (eventsChanged && this.#events) {
      const events = this.#pendingEvents;
      this.#pendingEvents = [];
      const cursor = events.at(-1)!.cursor;
      this.#events.cursor = cursor;
      this.send({ kind: 'delta', scope: 'events', events, cursor });
    }
    if (objectChanged && this.#object) {
      const { type, id } = this.#object;
      this.send({
        kind: 'delta', scope: 'object', type, id,
        ...(this.#pendingObjectView ? { object: this.#pendingObjectView.object } : {}),
        ...(this.#pendingQueue ? { queue: this.#pendingQueue } : {}),
        ...(this.#pendingObjectEvents.length > 0 ? { events: this.#pendingObjectEvents } : {}),
      });
      this.#pendingObjectView = null;
      this.#pendingQueue = null;
      this.#pendingObjectEvents = [];
    }
  }

  /** Drops the client when its socket has more than the limit unsent. */
  #tooSlow(): boolean {
    const buffered = this.ws.bufferedAmount;
    if (buffered <= this.hub.options.maxBufferedBytes) {
      this.#snapshotAllowance = 0;
      return false;
    }
    if (buffered <= this.hub.options.maxBufferedBytes + this.#snapshotAllowance) return false;
    this.#drop('buffered', `over ${this.hub.options.maxBufferedBytes} bytes unsent`);
    return true;
  }

  #drop(reason: 'buffered' | 'pending', why: string): void {
    if (this.#dropped) return;
    const resume = this.#events ? `reconnect and subscribe to events with since=${this.#events.cursor}` : 'reconnect and subscribe again';
    this.#dropped = true;
    this.hub.dropped(this, reason);
    this.close(1013, `too slow: ${why}; ${resume}`);
  }

  #clearPending(): void {
    this.#pendingNodes.clear();
    this.#pendingObjects.clear();
    this.#pendingEvents = [];
    this.#summaryDirty = false;
    this.#pendingObjectView = null;
    this.#pendingQueue = null;
    this.#pendingObjectEvents = [];
  }
}

/**
 * The newest `max` events after `since` (all events kept when `since` is absent), with the cursor to
 * continue from and whether events after `since` were left out (older than the model keeps, or more
 * than `max`).
 */
function eventsSnapshot(model: ClusterModel, since: number | undefined, max: number): { events: ModelEvent[]; cursor: number; gap: boolean } {
  let cursor = since ?? 0;
  let newest: ModelEvent[] = [];
  // Each page is at most `max`; bounded in case a model ignores `limit`.
  for (let pages = 0; pages < 10_000; pages++) {
    const page = model.events(cursor, max);
    if (page.events.length > 0) newest = newest.concat(page.events).slice(-max);
    const advanced = page.cursor > cursor;
    cursor = Math.max(cursor, page.cursor);
    if (page.events.length < max || !advanced) break;
  }
  const gap = since !== undefined && (newest[0]?.cursor ?? cursor + 1) > since + 1;
  return { events: newest, cursor, gap };
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
  return `${path}${issue.message}`;
}

