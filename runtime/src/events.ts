/**
 * Lifecycle events: every step of a node's and an object's life, emitted locally
 * (`node.events`) and streamed to subscribers of the node's `/events` ws endpoint. Nothing is
 * emitted per call: call rates and latencies arrive aggregated in `stats` events.
 */

export type DeactivationReason = 'idle' | 'evicted' | 'migrated' | 'drained' | 'shutdown' | 'fenced' | 'session-lost';

interface ObjectRef {
  type: string;
  id: string;
}

export type LifecycleEventBody =
  | { kind: 'node.up'; address: string }
  | { kind: 'node.down'; reason: 'shutdown' | 'left' }
  | { kind: 'node.joined'; peer: string; address: string }
  | { kind: 'node.left'; peer: string }
  | ({ kind: 'lock.queued'; position: number; owner: string } & ObjectRef)
  | ({ kind: 'lock.acquired'; epoch: string; waitedMs: number } & ObjectRef)
  | ({ kind: 'lock.released'; epoch: string } & ObjectRef)
  | ({ kind: 'object.activated'; epoch: string; version: number; stored: boolean; loadMs: number } & ObjectRef)
  | ({ kind: 'object.persisted'; epoch: string; version: number; bytes: number; calls: number; putMs: number } & ObjectRef)
  | ({ kind: 'object.persist-failed'; epoch: string; calls: number; error: string } & ObjectRef)
  | ({ kind: 'object.deactivated'; epoch: string; reason: DeactivationReason; activeMs: number } & ObjectRef)
  | ({ kind: 'object.migrated'; from: string; to: string; durationMs: number } & ObjectRef)
  | ({ kind: 'object.fenced'; epoch: string } & ObjectRef)
  /** `ensemble`: a sharded coordinator lost one ensemble's session; only that keyspace's activations were dropped (each reported as deactivated). */
  | { kind: 'node.session-lost'; activationsDropped: number; ensemble?: string }
  | { kind: 'node.draining'; total: number; remaining: number }
  | { kind: 'node.drained'; deactivated: number; durationMs: number }
  | {
      kind: 'stats';
      intervalMs: number;
      activations: number;
      /**
       * Calls this node's activations served, per type: `errors` failed with an error, `rejected` were
       * refused with a declared error (`OBJECT_REJECTED`, not an error; see call-outcome.ts).
       */
      byType: Record<string, { calls: number; errors: number; rejected: number; p50Ms: number; p99Ms: number }>;
      /**
       * The objects that had calls in the interval, busiest first (at most 1,000), with their mailbox
       * length, the calls that failed with an error, their p99 latency and the size of the object's
       * state as JSON. (`errors`, `p99Ms` and `stateBytes` are absent from nodes of earlier versions.)
       */
      objects: Array<{ type: string; id: string; calls: number; queue: number; errors?: number; p99Ms?: number; stateBytes?: number }>;
      /** Objects with calls not listed because of the cap. */
      objectsOmitted: number;
    };

export type LifecycleEvent = LifecycleEventBody & {
  /** Per-node sequence number, gap-free: a subscriber that sees a gap has missed events. */
  seq: number;
  node: string;
  /** Wall-clock time, ms since the epoch. */
  time: number;
};

export type LifecycleEventKind = LifecycleEvent['kind'];

/**
 * Numbers events and keeps the most recent ones so a subscriber can resume after a reconnect
 * (`since`) or learn that it missed some (the oldest kept seq is newer than its cursor).
 */
export class EventLog {
  #seq = 0;
  #ring: LifecycleEvent[] = [];
  #listeners = new Set<(event: LifecycleEvent) => void>();

  constructor(private readonly node: string, private readonly capacity = 10_000) {}

  emit(body: LifecycleEventBody): LifecycleEvent {
    const event = { ...body, seq: ++this.#seq, node: this.node, time: Date.now() } as LifecycleEvent;
    this.#ring.push(event);
    // Trim in chunks: shifting the whole buffer on every event would cost O(capacity) each time.
    if (this.#ring.length > this.capacity + this.capacity / 4) this.#ring.splice(0, this.#ring.length - this.capacity);
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A faulty subscriber must not break the runtime or the other subscribers.
      }
    }
    return event;
  }

  /** Subscribes to new events; returns the unsubscribe function. */
  subscribe(listener: (event: LifecycleEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Events after `since`, and whether some were already dropped from the buffer. */
  since(since: number): { events: LifecycleEvent[]; gap: boolean } {
    const first = this.#ring[0]?.seq ?? this.#seq + 1;
    const gap = since < first - 1;
    return { events: this.#ring.filter((e) => e.seq > since), gap };
  }

  get lastSeq(): number {
    return this.#seq;
  }
}
