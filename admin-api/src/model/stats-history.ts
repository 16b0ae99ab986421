import type { LifecycleEvent } from '@highlander/runtime';

/** A node's `stats` event. */
type StatsEvent = Extract<LifecycleEvent, { kind: 'stats' }>;

/** One type's figures in a sample (as in `stats` events; rollups carry the same fields). */
export interface SampleTypeStats {
  calls: number;
  errors: number;
  rejected: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * One node's calls over one interval: a `stats` event without its list of busiest objects, or a
 * minute of them rolled up (`intervalMs` 60,000).
 */
export interface StatsSample {
  /** The model event cursor of the `stats` event (0 in a minute rollup). */
  cursor: number;
  node: string;
  /** When the interval ended (ms since the epoch). */
  time: number;
  intervalMs: number;
  activations: number;
  byType: Record<string, SampleTypeStats>;
}

export type HistoryResolution = '1s' | '1m';

export interface StatsHistoryOptions {
  /** How far back samples as the nodes sent them are kept. @default 1 hour */
  fineMs?: number;
  /** How far back minute rollups are kept. @default 24 hours */
  coarseMs?: number;
  /** At most this many fine samples in all (a bound however many nodes report, however often). @default 100,000 */
  maxFine?: number;
}

const MINUTE_MS = 60_000;

/** A minute of one node's samples, being rolled up. */
interface Minute {
  node: string;
  /** The minute's end. */
  end: number;
  activations: number;
  intervalMs: number;
  byType: Map<string, { calls: number; errors: number; rejected: number; p50Weighted: number; p99Max: number }>;
}

/**
 * The cluster's call metrics over time, kept by the admin API so that a chart opened now (or
 * reloaded) is full: every node's `stats` sample for the last hour, and per node a rollup per
 * minute for the last day. The lifecycle event log cannot serve this: it keeps the newest events
 * of every kind, and under load the object events push the stats out within minutes.
 *
 * Memory is bounded by time and by count: fine samples beyond `maxFine` drop oldest first; a
 * minute rollup is one small record per node and minute (a day of 5 nodes: 7,200 records). A
 * rollup sums calls, errors and rejections; its p50 is the calls-weighted mean of the samples'
 * p50s and its p99 the highest p99 (percentiles do not add up; these read as "about" and "at
 * most").
 */
export class StatsHistory {
  readonly #fineMs: number;
  readonly #coarseMs: number;
  readonly #maxFine: number;
  /** Oldest first (as they arrive; nodes' clocks may differ a little). */
  #fine: StatsSample[] = [];
  #fineHead = 0;
  #coarse: StatsSample[] = [];
  #coarseHead = 0;
  readonly #open = new Map<string, Minute>();

  constructor(options: StatsHistoryOptions = {}) {
    this.#fineMs = options.fineMs ?? 60 * MINUTE_MS;
    this.#coarseMs = options.coarseMs ?? 24 * 60 * MINUTE_MS;
    this.#maxFine = options.maxFine ?? 100_000;
  }

  /** Adds one node's `stats` event, recorded in the model's event log under `cursor`. */
  add(event: StatsEvent, cursor: number): void {
    const byType: Record<string, SampleTypeStats> = {};
    for (const [type, s] of Object.entries(event.byType)) {
      byType[type] = { calls: s.calls, errors: s.errors, rejected: s.rejected ?? 0, p50Ms: s.p50Ms, p99Ms: s.p99Ms };
    }
    const sample: StatsSample = { cursor, node: event.node, time: event.time, intervalMs: event.intervalMs, activations: event.activations, byType };
    this.#fine.push(sample);
    this.#rollUp(sample);
    this.#trim(sample.time);
  }

  /**
   * Samples that ended after `since`, oldest first: as the nodes sent them (`1s`, the last hour), or
   * rolled up per node and minute (`1m`, the last day; the current minute's rollup included so far).
   */
  samples(resolution: HistoryResolution, since = 0): StatsSample[] {
    if (resolution === '1s') return this.#fine.slice(this.#fineHead).filter((s) => s.time > since);
    const closed = this.#coarse.slice(this.#coarseHead).filter((s) => s.time > since);
    const open = [...this.#open.values()].filter((m) => m.end > since).map(toSample);
    return [...closed, ...open].sort((a, b) => a.time - b.time || (a.node < b.node ? -1 : 1));
  }

  #rollUp(sample: StatsSample): void {
    const end = Math.ceil(sample.time / MINUTE_MS) * MINUTE_MS;
    let minute = this.#open.get(sample.node);
    if (minute && minute.end !== end) {
      // A sample of a later minute closes the open one (an earlier one, a node's clock stepping back, joins it).
      if (end > minute.end) {
        this.#coarse.push(toSample(minute));
        minute = undefined;
      }
    }
    if (!minute) {
      minute = { node: sample.node, end, activations: 0, intervalMs: MINUTE_MS, byType: new Map() };
      this.#open.set(sample.node, minute);
    }
    minute.activations = sample.activations;
    for (const [type, s] of Object.entries(sample.byType)) {
      const t = minute.byType.get(type) ?? { calls: 0, errors: 0, rejected: 0, p50Weighted: 0, p99Max: 0 };
      t.calls += s.calls;
      t.errors += s.errors;
      t.rejected += s.rejected;
      t.p50Weighted += s.p50Ms * s.calls;
      t.p99Max = Math.max(t.p99Max, s.p99Ms);
      minute.byType.set(type, t);
    }
  }

  #trim(now: number): void {
    while (this.#fineHead < this.#fine.length && (this.#fine.length - this.#fineHead > this.#maxFine || this.#fine[this.#fineHead]!.time <= now - this.#fineMs)) {
      this.#fineHead++;
    }
    while (this.#coarseHead < this.#coarse.length && this.#coarse[this.#coarseHead]!.time <= now - this.#coarseMs) this.#coarseHead++;
    // A node gone quiet: its open minute is closed once the minute is over.
    for (const [node, minute] of this.#open) {
      if (minute.end < now - MINUTE_MS) {
        this.#coarse.push(toSample(minute));
        this.#open.delete(node);
      }
    }
    // Compact now and then rather than shifting arrays on every sample.
    if (this.#fineHead > 1024 && this.#fineHead * 2 > this.#fine.length) {
      this.#fine = this.#fine.slice(this.#fineHead);
      this.#fineHead = 0;
    }
    if (this.#coarseHead > 1024 && this.#coarseHead * 2 > this.#coarse.length) {
      this.#coarse = this.#coarse.slice(this.#coarseHead);
      this.#coarseHead = 0;
    }
  }
}

function toSample(minute: Minute): StatsSample {
  const byType: Record<string, SampleTypeStats> = {};
  for (const [type, t] of minute.byType) {
    byType[type] = { calls: t.calls, errors: t.errors, rejected: t.rejected, p50Ms: t.calls > 0 ? t.p50Weighted / t.calls : 0, p99Ms: t.p99Max };
  }
  return { cursor: 0, node: minute.node, time: minute.end, intervalMs: minute.intervalMs, activations: minute.activations, byType };
}
