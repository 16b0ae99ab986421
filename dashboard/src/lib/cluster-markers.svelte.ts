import type { ModelEvent } from '@highlander/admin-api/protocol';
import { api } from './api.ts';
import { clusterEvents } from './cluster-events.svelte.ts';
import { handleError } from './notices.svelte.ts';
import { markersFrom, type TimelineMarker } from './talk-markers.ts';

/** Events per `GET /api/events` page, and pages per backfill at most (the admin API keeps ~10,000). */
const PAGE_SIZE = 1000;
const MAX_PAGES = 12;
const MAX_MARKERS = 2000;

/**
 * The cluster events worth a marker on a talk's timeline (node failures, session losses, fencing,
 * evictions, migrations, the talk changing owner), while the presenter view is open: the cluster's
 * events (cluster-events.svelte.ts), plus what the admin API kept from before them (`GET /api/events`).
 */
export class ClusterMarkers {
  markers = $state.raw<TimelineMarker[]>([]);
  #cursor = 0;
  #abort = new AbortController();
  #code: string | null = null;

  /**
   * Follows the events, for the timeline of talk `code` (its own events read differently); `since`
   * says when the talk began, once known: history from before it is not fetched.
   */
  start(code: string, since: () => number | undefined = () => undefined): () => void {
    this.#code = code;
    this.#abort = new AbortController();
    const unfollow = clusterEvents.follow(({ kind, events, cursor }) => {
      if (kind === 'snapshot') {
        const first = events[0]?.cursor ?? cursor + 1;
        // The admin API restarted: cursors start again.
        if (cursor < this.#cursor) this.#cursor = 0;
        const from = since();
        const oldest = events[0]?.time;
        if (from === undefined || oldest === undefined || oldest > from) void this.#backfill(this.#cursor, first);
      }
      this.#add(events);
    });
    return () => {
      unfollow();
      this.#abort.abort();
    };
  }

  #add(events: ModelEvent[]): void {
    for (const event of events) this.#cursor = Math.max(this.#cursor, event.cursor);
    const added = markersFrom(events, this.#code);
    if (added.length === 0) return;
    const known = new Set(this.markers.map((m) => m.key));
    const merged = [...this.markers, ...added.filter((m) => !known.has(m.key))].sort((a, b) => a.time - b.time || a.key - b.key);
    this.markers = merged.length > MAX_MARKERS ? merged.slice(merged.length - MAX_MARKERS) : merged;
  }

  /** Fetches the events after `since` and before cursor `until` a page at a time. */
  async #backfill(since: number, until: number): Promise<void> {
    const signal = this.#abort.signal;
    let cursor = since;
    try {
      for (let page = 0; page < MAX_PAGES && cursor < until - 1; page++) {
        const result = await api<{ events: ModelEvent[]; cursor: number }>('GET', '/api/events', { query: { since: cursor, limit: PAGE_SIZE }, signal });
        const events = result.events.filter((e) => e.cursor < until);
        this.#add(events);
        if (result.cursor <= cursor || events.length === 0) break;
        cursor = result.cursor;
      }
    } catch (err) {
      handleError(err, 'Loading cluster events');
    }
  }
}
