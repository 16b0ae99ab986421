import type { LifecycleEvent } from '@highlander/runtime';
import type { ModelEvent } from '../contracts.js';

/**
 * The model's lifecycle events: every node's stream (and the model's own `node.down` for a member
 * that left) numbered with one cursor, the newest `capacity` kept for `events(since)` and the ws
 * stream's snapshots.
 *
 * ```ts
 * const log = new ModelEventLog(10_000);
 * const event = log.record(lifecycleEvent); // { ...lifecycleEvent, cursor: 1 }
 * log.since(0, 100);                          // { events: [event], cursor: 1 }
 * ```
 */
export class ModelEventLog {
  #events: ModelEvent[] = [];
  #cursor = 0;

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity > 0)) throw new TypeError(`maxEvents: must be a positive integer (got ${capacity})`);
  }

  /** The newest cursor handed out (0 before the first event). */
  get cursor(): number {
    return this.#cursor;
  }

  /** Numbers `event` with the next cursor and keeps it. */
  record(event: LifecycleEvent): ModelEvent {
    const modelEvent: ModelEvent = { ...event, cursor: ++this.#cursor };
    this.#events.push(modelEvent);
    // Trim in chunks: shifting the whole buffer on every event would cost O(capacity) each time.
    if (this.#events.length > this.capacity + this.capacity / 4) this.#events.splice(0, this.#events.length - this.capacity);
    return modelEvent;
  }

  /**
   * Kept events after `since` (oldest first), at most `limit`; `cursor` is the last one returned, or
   * where to continue from when none is (`since`, or just before the oldest kept event).
   */
  since(since: number, limit: number): { events: ModelEvent[]; cursor: number } {
    const first = this.#events[0]?.cursor ?? this.#cursor + 1;
    const start = Math.max(0, since + 1 - first);
    const events = this.#events.slice(start, start + limit);
    return { events, cursor: events.at(-1)?.cursor ?? Math.max(since, first - 1) };
  }
}
