import type { ModelEvent } from '@highlander/admin-api/protocol';
import { api } from './api.ts';
import { clusterEvents } from './cluster-events.svelte.ts';
import { mergeSamples, toSample, type StatsEvent, type StatsSample } from './metrics-series.ts';
import { handleError } from './notices.svelte.ts';

/** How far back the Metrics view can look at each node's samples (the admin API keeps an hour of them). */
export const HISTORY_MS = 60 * 60_000;
/** How far back it can look at minute rollups (the admin API keeps a day of them). */
export const DAY_MS = 24 * 60 * 60_000;
/** Samples kept at most (an hour of 10 nodes reporting every second, and then some). */
const MAX_SAMPLES = 50_000;
/** A backfill after a reconnect asks again for this much before the newest sample it has (the merge drops duplicates). */
const OVERLAP_MS = 5000;
/** While someone looks at the day, its rollups are fetched again this often (a minute is the finest they get). */
const DAY_REFRESH_MS = 30_000;

/**
 * The nodes' `stats` events for the Metrics view, for as long as the page lives (the history
 * survives leaving the view; following the events does not). Starting follows the cluster's events
 * (cluster-events.svelte.ts) and fetches the samples the admin API keeps from before them
 * (`GET /api/metrics/history`: an hour of every node's samples), so the charts open full. Every
 * later snapshot (a reconnect, coming back to the view) fetches again what was missed since. The
 * day's minute rollups are fetched while the day is looked at ({@link followDay}).
 */
class StatsHistory {
  samples = $state.raw<StatsSample[]>([]);
  /** The cluster's clock minus this browser's (ms), from when the newest stats event arrived. */
  clockOffsetMs = $state(0);
  /** The admin API's rollups per node and minute over the last day (fetched while followed). */
  daySamples = $state.raw<StatsSample[]>([]);
  /** Fetching history. */
  backfilling = $state(false);
  /** The first snapshot has arrived. */
  loaded = $state(false);
  #backfills = 0;
  #abort = new AbortController();

  start(): () => void {
    this.#abort = new AbortController();
    const unfollow = clusterEvents.follow(({ kind, events }) => {
      if (kind === 'snapshot') {
        // What came while this page did not follow (before it opened, or during a reconnect).
        void this.#backfill();
        this.#add(events);
        this.loaded = true;
      } else {
        this.#add(events);
      }
    });
    return () => {
      unfollow();
      this.#abort.abort();
    };
  }

  #add(events: ModelEvent[]): void {
    let newest: StatsEvent | undefined;
    const samples: StatsSample[] = [];
    for (const event of events) {
      if (event.kind !== 'stats') continue;
      const stats = event;
      samples.push(toSample(stats));
      if (!newest || stats.time > newest.time) newest = stats;
    }
    if (newest) this.clockOffsetMs = newest.time - Date.now();
    const horizon = (this.samples.at(-1)?.time ?? Date.now() + this.clockOffsetMs) - HISTORY_MS;
    this.samples = mergeSamples(this.samples, samples, MAX_SAMPLES, horizon);
  }

  /** The samples the admin API keeps from after the newest one here (all of them at first). */
  async #backfill(): Promise<void> {
    const signal = this.#abort.signal;
    const newest = this.samples.at(-1)?.time;
    const since = newest === undefined ? 0 : Math.max(0, newest - OVERLAP_MS);
    this.backfilling = ++this.#backfills > 0;
    try {
      const result = await api<{ samples: StatsSample[] }>('GET', '/api/metrics/history', { query: { resolution: '1s', since }, signal });
      const horizon = (this.samples.at(-1)?.time ?? Date.now() + this.clockOffsetMs) - HISTORY_MS;
      this.samples = mergeSamples(this.samples, result.samples, MAX_SAMPLES, horizon);
    } catch (err) {
      handleError(err, 'Loading metrics history');
    } finally {
      this.backfilling = --this.#backfills > 0;
    }
  }

  /** Fetches the day's minute rollups now and every DAY_REFRESH_MS until the returned function is called. */
  followDay(): () => void {
    const abort = new AbortController();
    const load = async () => {
      try {
        const result = await api<{ samples: StatsSample[] }>('GET', '/api/metrics/history', { query: { resolution: '1m' }, signal: abort.signal });
        this.daySamples = result.samples;
      } catch (err) {
        if (!abort.signal.aborted) handleError(err, 'Loading the day of metrics');
      }
    };
    void load();
    const timer = setInterval(() => void load(), DAY_REFRESH_MS);
    return () => {
      clearInterval(timer);
      abort.abort();
    };
  }
}

export const statsHistory = new StatsHistory();
