import type { ModelEvent } from '@highlander/admin-api/protocol';
import { api } from './api.ts';
import { clusterEvents } from './cluster-events.svelte.ts';
import { mergeSamples, toSample, type StatsEvent, type StatsSample } from './metrics-series.ts';
import { handleError } from './notices.svelte.ts';

/** How far back the Metrics view can look. */
export const HISTORY_MS = 60 * 60_000;
/** Samples kept at most (an hour of 10 nodes reporting every second, and then some). */
const MAX_SAMPLES = 50_000;
/** Events per `GET /api/events` page, and pages per backfill at most. */
const PAGE_SIZE = 1000;
const MAX_PAGES = 30;

/**
 * The nodes' `stats` events for the Metrics view, for as long as the page lives (the history
 * survives leaving the view; following the events does not). Starting follows the cluster's events
 * (cluster-events.svelte.ts) and fetches the stats events the admin API still keeps from before them
 * (`GET /api/events`, a page at a time), so the charts open with history. Every later snapshot (a
 * reconnect, coming back to the view) fetches again what was missed since.
 */
class StatsHistory {
  samples = $state.raw<StatsSample[]>([]);
  /** The cluster's clock minus this browser's (ms), from when the newest stats event arrived. */
  clockOffsetMs = $state(0);
  /** Fetching history. */
  backfilling = $state(false);
  /** The first snapshot has arrived. */
  loaded = $state(false);
  /** The newest event cursor seen (of any kind): history is complete up to here. */
  #cursor = 0;
  #backfills = 0;
  #abort = new AbortController();

  start(): () => void {
    this.#abort = new AbortController();
    const unfollow = clusterEvents.follow(({ kind, events, cursor }) => {
      if (kind === 'snapshot') {
        const first = events[0]?.cursor ?? cursor + 1;
        // The admin API restarted: cursors start again, and so does the history from it.
        if (cursor < this.#cursor) this.#cursor = 0;
        void this.#backfill(this.#cursor, first);
        this.#add(events, true);
        this.loaded = true;
      } else {
        this.#add(events, true);
      }
    });
    return () => {
      unfollow();
      this.#abort.abort();
    };
  }

  #add(events: ModelEvent[], live: boolean): void {
    let newest: StatsEvent | undefined;
    const samples: StatsSample[] = [];
    for (const event of events) {
      if (live) this.#cursor = Math.max(this.#cursor, event.cursor);
      if (event.kind !== 'stats') continue;
      const stats = event;
      samples.push(toSample(stats));
      if (live && (!newest || stats.time > newest.time)) newest = stats;
    }
    if (newest) this.clockOffsetMs = newest.time - Date.now();
    const horizon = (this.samples.at(-1)?.time ?? Date.now() + this.clockOffsetMs) - HISTORY_MS;
    this.samples = mergeSamples(this.samples, samples, MAX_SAMPLES, horizon);
  }

  /** Stats events with a cursor in (since, until), from the admin API. */
  async #backfill(since: number, until: number): Promise<void> {
    if (until <= since + 1) return;
    const signal = this.#abort.signal;
    this.backfilling = ++this.#backfills > 0;
    try {
      for (let page = 0; page < MAX_PAGES && since < until - 1; page++) {
        const result = await api<{ events: ModelEvent[]; cursor: number }>('GET', '/api/events', { query: { since, limit: PAGE_SIZE }, signal });
        this.#add(result.events.filter((e) => e.cursor < until), false);
        if (result.events.length < PAGE_SIZE || result.cursor <= since) break;
        since = result.cursor;
      }
    } catch (err) {
      handleError(err, 'Loading metrics history');
    } finally {
      this.backfilling = --this.#backfills > 0;
    }
  }
}

export const statsHistory = new StatsHistory();
