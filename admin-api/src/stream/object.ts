import { objectKey } from '@highlander/runtime';
import type { Logger } from 'pino';
import type { ClusterActions, LockQueueEntryView, ModelDelta, ModelEvent, ObjectView } from '../contracts.js';
import { describeError } from '../http-error.js';
import type { ObjectDelta, ObjectError, ObjectSnapshot } from './protocol.js';

/** What the `object` scope needs from its connection and the server. */
export interface ObjectScopeHost {
  actions: ClusterActions;
  logger: Logger;
  /** Watches the object's lock queue for this client (shared between clients); returns the release function. */
  watchQueue(type: string, id: string): () => void;
  /** Call after the subscription ended by itself (its snapshot failed). */
  subscriptionsChanged(): void;
  /** Something is pending: flush soon. */
  scheduleFlush(): void;
  send(message: ObjectSnapshot | ObjectError): void;
}

interface ObjectSubscription {
  type: string;
  id: string;
  key: string;
  /** Deltas wait until the snapshot is sent. */
  ready: boolean;
  stopWatch: () => void;
}

/**
 * One client's `object` subscription (one object at a time): its detail (read through the owner)
 * in a snapshot, then its live view, lock queue and events, coalesced per flush. A snapshot that
 * fails is an error message and leaves nothing subscribed.
 */
export class ObjectScope {
  readonly #host: ObjectScopeHost;
  #subscription: ObjectSubscription | null = null;
  #view: { object: ObjectView | null } | null = null;
  #queue: LockQueueEntryView[] | null = null;
  #events: ModelEvent[] = [];

  constructor(host: ObjectScopeHost) {
    this.#host = host;
  }

  get subscribed(): boolean {
    return this.#subscription !== null;
  }

  get pendingCount(): number {
    return this.#events.length;
  }

  /** Something waits to be sent, and the snapshot went first. */
  hasPending(): boolean {
    return this.#subscription?.ready === true && (this.#view !== null || this.#queue !== null || this.#events.length > 0);
  }

  /** Follows `type/id` instead of the object followed so far; the snapshot is sent when the detail is read. */
  subscribe(type: string, id: string): void {
    this.unsubscribe();
    const subscription: ObjectSubscription = { type, id, key: objectKey(type, id), ready: false, stopWatch: () => {} };
    this.#subscription = subscription;
    subscription.stopWatch = this.#host.watchQueue(type, id);
    this.#host.actions.detail(type, id).then(
      (detail) => {
        if (this.#subscription !== subscription) return; // replaced or unsubscribed meanwhile
        subscription.ready = true;
        this.#host.send({ kind: 'snapshot', scope: 'object', type, id, detail });
        if (this.hasPending()) this.#host.scheduleFlush();
      },
      (err: unknown) => {
        if (this.#subscription !== subscription) return;
        const described = describeError(err);
        if (described.internal) this.#host.logger.error({ err, type, id }, 'stream: object snapshot failed');
        this.unsubscribe();
        this.#host.subscriptionsChanged();
        const message = described.code === 'INTERNAL' ? 'internal error reading the object; see the admin API log' : described.message;
        this.#host.send({ kind: 'error', scope: 'object', type, id, error: { code: described.code, message } });
      },
    );
  }

  unsubscribe(): void {
    if (!this.#subscription) return;
    this.#subscription.stopWatch();
    this.#subscription = null;
    this.#view = null;
    this.#queue = null;
    this.#events = [];
  }

  /** Files a model change; true when it is news for this subscription. */
  offer(delta: ModelDelta): boolean {
    const subscription = this.#subscription;
    if (!subscription) return false;
    switch (delta.kind) {
      case 'object':
        if (objectKey(delta.type, delta.id) !== subscription.key) return false;
        this.#view = { object: delta.object };
        return true;
      case 'event': {
        const event = delta.event;
        if (!('type' in event && 'id' in event) || objectKey(event.type, event.id) !== subscription.key) return false;
        this.#events.push(event);
        return true;
      }
      case 'lockQueue':
        return this.offerQueue(objectKey(delta.type, delta.id), delta.queue);
      case 'node':
        return false;
    }
  }

  /** The latest lock queue of object `key`; true when it is the one followed. */
  offerQueue(key: string, queue: LockQueueEntryView[]): boolean {
    if (this.#subscription?.key !== key) return false;
    this.#queue = queue;
    return true;
  }

  /** What changed since the last flush (and forgets it), or null when nothing did or the snapshot is not out yet. */
  flush(): ObjectDelta | null {
    const subscription = this.#subscription;
    if (!subscription || !this.hasPending()) return null;
    const delta: ObjectDelta = {
      kind: 'delta', scope: 'object', type: subscription.type, id: subscription.id,
      ...(this.#view ? { object: this.#view.object } : {}),
      ...(this.#queue ? { queue: this.#queue } : {}),
      ...(this.#events.length > 0 ? { events: this.#events } : {}),
    };
    this.#view = null;
    this.#queue = null;
    this.#events = [];
    return delta;
  }
}
