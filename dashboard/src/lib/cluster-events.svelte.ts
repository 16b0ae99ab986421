import type { EventsDelta, EventsSnapshot, ModelEvent } from '@highlander/admin-api/protocol';
import { stream } from './stream.svelte.ts';

/**
 * What a follower of the cluster's events gets: a `snapshot` when it starts following and after
 * every resubscription (a reconnect; what came before it may be missing, `gap` says so when the
 * server knows), then each `delta` as it arrives. Events are oldest first.
 */
export interface EventBatch {
  kind: 'snapshot' | 'delta';
  events: ModelEvent[];
  /** The newest cursor the stream has sent. */
  cursor: number;
  /** Events after the follower's `since` were left out (only the server's snapshots know it). */
  gap: boolean;
}

export type EventFollower = (batch: EventBatch) => void;

/** Events kept for a follower that starts while the subscription is open. */
const KEPT_EVENTS = 5000;

/**
 * The one `events` subscription of this page, and the events it brought: the Events view's
 * timeline, a talk's cluster markers and the Metrics view's stats history all follow this store
 * (the stream allows one subscription per scope). It subscribes while someone follows and not
 * otherwise; a follower that starts while it is open gets the newest events it kept as its snapshot.
 *
 *   $effect(() => clusterEvents.follow((batch) => console.log(batch.kind, batch.events.length)));
 */
class ClusterEvents {
  /** The newest events received, oldest first (at most KEPT_EVENTS). */
  recent = $state.raw<ModelEvent[]>([]);
  /** The newest cursor the stream has sent (0 before the first snapshot). */
  cursor = $state(0);
  /** The snapshot of the current subscription has arrived. */
  loaded = $state(false);

  #followers = new Set<EventFollower>();
  #unsubscribe: (() => void) | null = null;

  /** Calls `follower` with every batch until the returned function is called. */
  follow(follower: EventFollower): () => void {
    this.#followers.add(follower);
    if (!this.#unsubscribe) {
      this.#unsubscribe = stream.subscribe({ subscribe: 'events' }, (message) => this.#receive(message));
    } else if (this.loaded) {
      follower({ kind: 'snapshot', events: this.recent, cursor: this.cursor, gap: false });
    }
    return () => {
      if (!this.#followers.delete(follower) || this.#followers.size > 0) return;
      this.#unsubscribe?.();
      this.#unsubscribe = null;
      this.recent = [];
      this.cursor = 0;
      this.loaded = false;
    };
  }

  #receive(message: EventsSnapshot | EventsDelta): void {
    const batch: EventBatch = { kind: message.kind, events: message.events, cursor: message.cursor, gap: message.kind === 'snapshot' && message.gap };
    if (message.kind === 'snapshot') {
      // A fresh start: what was kept may be from before a disconnect (or from an admin API that restarted).
      this.recent = message.events.slice(-KEPT_EVENTS);
      this.loaded = true;
    } else if (message.events.length > 0) {
      const kept = this.recent.concat(message.events);
      this.recent = kept.length > KEPT_EVENTS ? kept.slice(kept.length - KEPT_EVENTS) : kept;
    }
    this.cursor = message.cursor;
    for (const follower of [...this.#followers]) follower(batch);
  }
}

export const clusterEvents = new ClusterEvents();
