import { roundMs } from '@highlander/kit';
import type { CallOutcomeKind } from './call-outcome.js';

/**
 * Call counts and latency percentiles per object type, aggregated over an interval. Latencies go
 * into log-spaced buckets (about 9% wide), so recording is O(1) with no allocation per call.
 * Failed calls are counted in two kinds (call-outcome.ts): `errors`, and `rejected` (declared
 * rejections, which are not errors).
 */

/** One type's figures over one interval, as `stats` events carry them. */
export interface TypeCallStats {
  calls: number;
  /** Calls that failed with an error (not a declared rejection). */
  errors: number;
  /** Calls the object refused with one of its declared errors (`OBJECT_REJECTED`). */
  rejected: number;
  p50Ms: number;
  p99Ms: number;
}

const BUCKETS = 256;
const MIN_MS = 0.001;
const GROWTH = 1.09;
const LOG_GROWTH = Math.log(GROWTH);

function bucketOf(ms: number): number {
  if (ms <= MIN_MS) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / LOG_GROWTH));
}

function upperBoundMs(bucket: number): number {
  return MIN_MS * GROWTH ** bucket;
}

export class LatencyHistogram {
  readonly counts = new Uint32Array(BUCKETS);
  total = 0;
  errors = 0;
  rejected = 0;

  record(ms: number, outcome: CallOutcomeKind): void {
    this.counts[bucketOf(ms)]!++;
    this.total++;
    if (outcome === 'error') this.errors++;
    else if (outcome === 'rejected') this.rejected++;
  }

  /** The latency under which `q` (0..1) of the recorded calls fall, in ms (bucket upper bound). */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return upperBoundMs(i);
    }
    return upperBoundMs(BUCKETS - 1);
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.errors = 0;
    this.rejected = 0;
  }
}

const OBJECT_BUCKETS = 64;
const OBJECT_MIN_MS = 0.01;
const OBJECT_GROWTH = 1.25;
const LOG_OBJECT_GROWTH = Math.log(OBJECT_GROWTH);

/**
 * One object's latencies over one interval, for its p99 in `stats` events: 64 log buckets 25% wide
 * from 10 µs (everything over ~13 s falls in the last), so recording is O(1) and an instance is 256
 * bytes. The node holds one per object called in the interval and reuses them (housekeeping.ts).
 */
export class ObjectLatency {
  readonly counts = new Uint32Array(OBJECT_BUCKETS);
  total = 0;

  record(ms: number): void {
    const bucket = ms <= OBJECT_MIN_MS ? 0 : Math.min(OBJECT_BUCKETS - 1, Math.ceil(Math.log(ms / OBJECT_MIN_MS) / LOG_OBJECT_GROWTH));
    this.counts[bucket]!++;
    this.total++;
  }

  /** The latency under which `q` (0..1) of the recorded calls fall, in ms (bucket upper bound). */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let i = 0; i < OBJECT_BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return OBJECT_MIN_MS * OBJECT_GROWTH ** i;
    }
    return OBJECT_MIN_MS * OBJECT_GROWTH ** (OBJECT_BUCKETS - 1);
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
  }
}

export class CallStats {
  #byType = new Map<string, LatencyHistogram>();

  record(type: string, ms: number, outcome: CallOutcomeKind): void {
    let histogram = this.#byType.get(type);
    if (!histogram) {
      histogram = new LatencyHistogram();
      this.#byType.set(type, histogram);
    }
    histogram.record(ms, outcome);
  }

  /** The interval's figures per type (only types that had calls), then starts a new interval. */
  drain(): Record<string, TypeCallStats> {
    const out: Record<string, TypeCallStats> = {};
    for (const [type, h] of this.#byType) {
      if (h.total === 0) continue;
      out[type] = { calls: h.total, errors: h.errors, rejected: h.rejected, p50Ms: roundMs(h.quantile(0.5), 3), p99Ms: roundMs(h.quantile(0.99), 3) };
      h.reset();
    }
    return out;
  }
}
