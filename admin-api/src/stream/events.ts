import type { ClusterModel, ModelEvent } from '../contracts.js';
import type { EventsDelta, EventsSnapshot } from './protocol.js';

/**
 * One client's `events` subscription: the newest events after `since` in a snapshot, then every
 * later event, batched per flush. Snapshot and subscription happen in one turn, so no event falls
 * between them; events already in the snapshot are filtered out of the deltas by their cursor.
 */
export class EventsScope {
  /** The last event cursor sent, while subscribed. */
  #cursor: number | null = null;
  #pending: ModelEvent[] = [];

  get subscribed(): boolean {
    return this.#cursor !== null;
  }

  /** The cursor of the last event sent (a client dropped for being slow resumes from it), while subscribed. */
  get cursor(): number | null {
    return this.#cursor;
  }

  get pendingCount(): number {
    return this.#pending.length;
  }

  hasPending(): boolean {
    return this.#cursor !== null && this.#pending.length > 0;
  }

  /** Subscribes (again) after `since` and returns the snapshot to send now. */
  subscribe(model: ClusterModel, since: number | undefined, maxSnapshotEvents: number): EventsSnapshot {
    const snapshot = eventsSnapshot(model, since, maxSnapshotEvents);
    this.#cursor = snapshot.cursor;
    this.#pending = [];
    return { kind: 'snapshot', scope: 'events', ...snapshot };
  }

  unsubscribe(): void {
    this.#cursor = null;
    this.#pending = [];
  }

  /** Files a new event; true when it is news for this subscription. */
  offer(event: ModelEvent): boolean {
    if (this.#cursor === null || event.cursor <= this.#cursor) return false;
    this.#pending.push(event);
    return true;
  }

  /** The events that arrived since the last flush (and forgets them), or null when none did. */
  flush(): EventsDelta | null {
    if (this.#cursor === null || this.#pending.length === 0) return null;
    const events = this.#pending;
    this.#pending = [];
    const cursor = events.at(-1)!.cursor;
    this.#cursor = cursor;
    return { kind: 'delta', scope: 'events', events, cursor };
  }
}

/**
 * The newest `max` events after `since` (all events kept when `since` is absent), with the cursor to
 * continue from and whether events after `since` were left out (older than the model keeps, or more
 * than `max`).
 */
export function eventsSnapshot(model: ClusterModel, since: number | undefined, max: number): { events: ModelEvent[]; cursor: number; gap: boolean } {
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
