import { MessageWindow, closeReason } from '@highlander/kit';
import { objectKey, validateObjectId, validateTypeName } from '@highlander/runtime';
import type { Logger } from 'pino';
import { WebSocket, type RawData } from 'ws';
import type { z } from 'zod';
import type { Principal } from '../auth.js';
import type { ClusterActions, ClusterModel, ClusterSummary, LockQueueEntryView, ModelDelta } from '../contracts.js';
import type { TalkFeeds } from '../talk-feed.js';
import { EventsScope } from './events.js';
import { HotScope } from './hot.js';
import { ObjectScope } from './object.js';
import { RebalanceScope } from './rebalance.js';
import { SubscribeMessage, TALK_CODE_RULE, UnsubscribeMessage, type ObjectError, type RebalanceView, type ServerMessage, type StreamScope, type TalkError } from './protocol.js';
import type { CompiledStreamOptions } from './server.js';
import { SummaryScope } from './summary.js';
import { TalkScope } from './talk.js';

/** Why a client was dropped for being slow. */
export type DropReason = 'buffered' | 'pending';

/** What a client needs from the server it is connected to. */
export interface StreamHub {
  options: CompiledStreamOptions;
  model: ClusterModel;
  actions: ClusterActions;
  logger: Logger;
  talkFeeds: TalkFeeds | undefined;
  /** Automatic rebalancing's status now (`{ enabled: false }` without it). */
  rebalanceStatus(): RebalanceView;
  /** Call after any change of a client's subscriptions. */
  updateModelSubscription(): void;
  /** Watches a lock queue for a client; returns the release function. */
  watchQueue(client: StreamClient, type: string, id: string): () => void;
  scheduleFlush(): void;
  /** The client closed itself for being slow. */
  dropped(client: StreamClient, reason: DropReason): void;
}

/**
 * One connected client: its messages, its subscriptions (one module per scope: summary.ts,
 * events.ts, object.ts, talk.ts, hot.ts, rebalance.ts), the changes waiting for its next flush, and backpressure. A client
 * with more than `maxBufferedBytes` unsent, or more than `maxPendingChanges` changes waiting, is
 * closed with 1013 and a reason saying how to resume (the events cursor it was last sent).
 */
export class StreamClient {
  readonly principal: Principal;
  readonly #hub: StreamHub;
  readonly #ws: WebSocket;
  readonly #summary = new SummaryScope();
  readonly #events = new EventsScope();
  readonly #hot = new HotScope();
  readonly #rebalance = new RebalanceScope();
  readonly #object: ObjectScope;
  readonly #talk: TalkScope;
  readonly #messages: MessageWindow;
  #alive = true;
  #dropped = false;
  /** Bytes of an objects snapshot still allowed over `maxBufferedBytes` until the buffer first drains below it. */
  #snapshotAllowance = 0;

  constructor(hub: StreamHub, ws: WebSocket, principal: Principal) {
    this.#hub = hub;
    this.#ws = ws;
    this.principal = principal;
    this.#messages = new MessageWindow(hub.options.maxMessagesPerSecond);
    this.#object = new ObjectScope({
      actions: hub.actions,
      logger: hub.logger,
      watchQueue: (type, id) => hub.watchQueue(this, type, id),
      subscriptionsChanged: () => hub.updateModelSubscription(),
      scheduleFlush: () => hub.scheduleFlush(),
      send: (message) => this.send(message),
    });
    this.#talk = new TalkScope({
      feeds: hub.talkFeeds,
      canSend: () => !this.#dropped && !this.#tooSlow(),
      send: (message) => this.send(message),
    });
    ws.on('message', (data, isBinary) => this.#message(data, isBinary));
    ws.on('pong', () => {
      this.#alive = true;
    });
  }

  /** Whether the client needs the model's changes (talks come from elsewhere). */
  hasSubscriptions(): boolean {
    return !this.#dropped && (this.#summary.subscribed || this.#events.subscribed || this.#object.subscribed || this.#hot.subscribed);
  }

  send(message: ServerMessage): void {
    this.#sendText(JSON.stringify(message));
  }

  close(code: number, reason: string): void {
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) this.#ws.close(code, closeReason(reason));
  }

  /** Pings; terminates a client that did not answer the previous ping. */
  ping(): void {
    if (!this.#alive) {
      this.#ws.terminate();
      return;
    }
    this.#alive = false;
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.ping();
  }

  /** Closes with 1001 and resolves once the socket is closed (terminated if the close handshake stalls). */
  shutdown(): Promise<void> {
    if (this.#ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#ws.terminate(), 1000);
      this.#ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.close(1001, 'admin API shutting down');
    });
  }

  /** Drops every subscription (on close, or when dropped for being slow). */
  release(): void {
    this.#summary.unsubscribe();
    this.#events.unsubscribe();
    this.#object.unsubscribe();
    this.#talk.unsubscribe();
    this.#hot.unsubscribe();
    this.#hub.updateModelSubscription();
  }

  // ---- client messages ----

  #message(data: RawData, isBinary: boolean): void {
    if (this.#dropped) return;
    if (isBinary) return this.close(1003, 'binary messages are not supported: send JSON text');
    if (!this.#messages.count().ok) {
      return this.close(1008, `too many messages: at most ${this.#hub.options.maxMessagesPerSecond} per second`);
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
      if (parsed.success) return this.#subscribe(parsed.data);
      // A well-formed subscription to a name that cannot exist (a search box's typo) fails that scope only:
      // closing would make a reconnecting client send it again, and again.
      const refusal = refuseNames(value);
      if (!refusal) return this.close(1008, `invalid message: ${firstIssue(parsed.error)}`);
      if (refusal.scope === 'object') this.#object.unsubscribe();
      else this.#talk.unsubscribe();
      this.#hub.updateModelSubscription();
      return this.send(refusal);
    }
    this.close(1008, 'invalid message: expected {"subscribe": …} or {"unsubscribe": …}');
  }

  #subscribe(message: SubscribeMessage): void {
    if (this.#tooSlow()) return;
    const hub = this.#hub;
    switch (message.subscribe) {
      case 'summary': {
        this.#summary.subscribe();
        hub.updateModelSubscription();
        const text = JSON.stringify(this.#summary.snapshot(hub.model, message.objects === true));
        // A map of every object may be bigger than the slow-client limit by itself: allow it that once.
        if (message.objects) this.#snapshotAllowance = Buffer.byteLength(text);
        this.#sendText(text);
        return;
      }
      case 'events': {
        const snapshot = this.#events.subscribe(hub.model, message.since, hub.options.maxSnapshotEvents);
        hub.updateModelSubscription();
        this.send(snapshot);
        return;
      }
      case 'object':
        this.#object.subscribe(message.type, message.id);
        hub.updateModelSubscription();
        return;
      case 'talk':
        this.#talk.subscribe(message.code);
        return;
      case 'rebalance':
        this.send(this.#rebalance.subscribe(() => hub.rebalanceStatus()));
        return;
      case 'hot': {
        const { by, type, node, limit } = message;
        const snapshot = this.#hot.subscribe(hub.model, { by, limit, ...(type !== undefined ? { type } : {}), ...(node !== undefined ? { node } : {}) });
        hub.updateModelSubscription();
        this.send(snapshot);
        return;
      }
    }
  }

  #unsubscribe(scope: StreamScope): void {
    switch (scope) {
      case 'summary':
        this.#summary.unsubscribe();
        break;
      case 'events':
        this.#events.unsubscribe();
        break;
      case 'object':
        this.#object.unsubscribe();
        break;
      case 'talk':
        this.#talk.unsubscribe();
        break;
      case 'hot':
        this.#hot.unsubscribe();
        break;
      case 'rebalance':
        this.#rebalance.unsubscribe();
        break;
    }
    this.#hub.updateModelSubscription();
    this.send({ kind: 'unsubscribed', scope });
  }

  // ---- coalescing ----

  /** Files a model change with every scope it concerns. */
  offer(delta: ModelDelta): void {
    if (this.#dropped) return;
    if (delta.kind === 'lockQueue') {
      this.offerQueue(objectKey(delta.type, delta.id), delta.queue);
      return;
    }
    const summary = this.#summary.offer(delta);
    const events = delta.kind === 'event' && this.#events.offer(delta.event);
    const object = this.#object.offer(delta);
    const hot = this.#hot.offer(delta);
    if (summary || events || object || hot) this.#changed();
  }

  /** The rebalancer changed: its status goes out at the next flush, if subscribed. */
  offerRebalance(): void {
    if (this.#dropped) return;
    if (this.#rebalance.changed()) this.#changed();
  }

  /** The latest lock queue of object `key` (from the shared queue watch). */
  offerQueue(key: string, queue: LockQueueEntryView[]): void {
    if (this.#dropped) return;
    if (this.#object.offerQueue(key, queue)) this.#changed();
  }

  /** Sends what changed since the last flush, a message per scope. */
  flush(summary: () => ClusterSummary): void {
    if (this.#dropped || this.#ws.readyState !== WebSocket.OPEN) return;
    if (!this.#summary.hasPending() && !this.#events.hasPending() && !this.#object.hasPending() && !this.#hot.hasPending() && !this.#rebalance.hasPending()) return;
    if (this.#tooSlow()) return;
    const messages = [
      this.#summary.flush(summary), this.#events.flush(), this.#object.flush(), this.#hot.flush(this.#hub.model), this.#rebalance.flush(() => this.#hub.rebalanceStatus()),
    ];
    for (const message of messages) {
      if (message) this.send(message);
    }
  }

  #changed(): void {
    const pending = this.#summary.pendingCount + this.#events.pendingCount + this.#object.pendingCount + this.#hot.pendingCount + this.#rebalance.pendingCount;
    if (pending > this.#hub.options.maxPendingChanges) {
      this.#drop('pending', `over ${this.#hub.options.maxPendingChanges} changes waiting`);
      return;
    }
    this.#hub.scheduleFlush();
  }

  // ---- backpressure ----

  #sendText(text: string): void {
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(text);
  }

  /** Drops the client when its socket has more than the limit unsent. */
  #tooSlow(): boolean {
    const { maxBufferedBytes } = this.#hub.options;
    const buffered = this.#ws.bufferedAmount;
    if (buffered <= maxBufferedBytes) {
      this.#snapshotAllowance = 0;
      return false;
    }
    if (buffered <= maxBufferedBytes + this.#snapshotAllowance) return false;
    this.#drop('buffered', `over ${maxBufferedBytes} bytes unsent`);
    return true;
  }

  #drop(reason: DropReason, why: string): void {
    if (this.#dropped) return;
    const cursor = this.#events.cursor;
    const resume = cursor !== null ? `reconnect and subscribe to events with since=${cursor}` : 'reconnect and subscribe again';
    this.#dropped = true;
    this.#hub.dropped(this, reason);
    this.close(1013, `too slow: ${why}; ${resume}`);
  }
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

/**
 * The scope error for a subscription whose only fault is a name: `{subscribe: 'object', type, id}` or
 * `{subscribe: 'talk', code}` with strings that are not a valid type name, object id or talk code.
 * Anything else wrong (other fields, other types) is undefined: a broken client, closed with 1008.
 */
function refuseNames(value: object): ObjectError | TalkError | undefined {
  const fields = value as Record<string, unknown>;
  const keys = Object.keys(fields).sort().join(',');
  if (fields.subscribe === 'object' && keys === 'id,subscribe,type' && typeof fields.type === 'string' && typeof fields.id === 'string') {
    const { type, id } = fields;
    for (const check of [() => validateTypeName(type), () => validateObjectId(id)]) {
      try {
        check();
      } catch (err) {
        const { code, message } = err as { code: string; message: string };
        return { kind: 'error', scope: 'object', type, id, error: { code, message } };
      }
    }
  }
  if (fields.subscribe === 'talk' && keys === 'code,subscribe' && typeof fields.code === 'string') {
    return { kind: 'error', scope: 'talk', code: fields.code, error: { code: 'INVALID_TALK_CODE', message: `invalid talk code: ${TALK_CODE_RULE}` } };
  }
  return undefined;
}
