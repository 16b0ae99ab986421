/**
 * Time series for the Metrics view, from the nodes' `stats` events (one per node per interval:
 * calls, errors, declared rejections and p50/p99 latency per type, and the node's activations).
 * Pure (no runes), unit-tested.
 *
 * Failed calls come in two kinds, kept apart: errors (something went wrong) and declared rejections
 * (an object refused a call with one of its declared errors, `OBJECT_REJECTED`: part of its
 * contract, an intended refusal, not a failure to look into).
 *
 * Samples fall into fixed buckets that end at multiples of `bucketMs` (a sample at `time` covers the
 * interval that ended then). Per node and bucket, calls become a rate over the intervals the node
 * reported in the bucket, so a node that reported twice in a short bucket is not counted double. A
 * node that did not report in a bucket (its interval and the bucket are out of phase) keeps its
 * previous bucket for a while (`STALE_INTERVALS`), so the cluster's sum does not dip. The cluster
 * is the sum of its nodes; a latency percentile is the nodes' percentiles weighted by their calls.
 */
import type { ModelEvent, SampleTypeStats, StatsSample as HistorySample } from '@highlander/admin-api/protocol';

/** A node's `stats` event (runtime/src/events.ts): its calls per type and busiest objects in one interval. */
export type StatsEvent = Extract<ModelEvent, { kind: 'stats' }>;

/**
 * One type's figures in a sample, as the admin API keeps them (GET /api/metrics/history); `rejected`
 * is absent from a live event of a node of a version that counted declared rejections as errors.
 */
export type TypeStats = Omit<SampleTypeStats, 'rejected'> & { rejected?: number };

/** A `stats` event without its list of busiest objects (kept for an hour, that list would dominate memory), as the admin API's history has it. */
export type StatsSample = Omit<HistorySample, 'byType'> & { byType: Record<string, TypeStats> };

export interface SeriesPoint {
  time: number;
  /** null: nothing to show (no node reported, or no calls to have a latency). */
  value: number | null;
}

export interface Series {
  key: string;
  label: string;
  points: SeriesPoint[];
}

export interface MetricsSeries {
  /** Bucket end times, oldest first; every series has one point per bucket. */
  times: number[];
  /** `all` (the cluster), then one per type, in type order. */
  callsPerSecond: Series[];
  /** Calls per second that failed with an error (declared rejections not included): `all`, then one per type. */
  errorsPerSecond: Series[];
  /** Calls per second refused with a declared error (intended): `all`, then one per type. */
  rejectedPerSecond: Series[];
  p50Ms: Series[];
  p99Ms: Series[];
  /** Active objects per node, in node order. */
  activations: Series[];
}

export interface MetricsWindow {
  /** The cluster's clock now (ms since the epoch). Only whole buckets up to here are shown. */
  end: number;
  windowMs: number;
  bucketMs: number;
}

/** A node that has not reported for this many of its intervals stops counting. */
export const STALE_INTERVALS = 2.5;

export function toSample(event: StatsEvent): StatsSample {
  return {
    cursor: event.cursor,
    node: event.node,
    time: event.time,
    intervalMs: event.intervalMs,
    activations: event.activations,
    byType: event.byType,
  };
}

/**
 * `existing` (time order) with `incoming` (any order) added, duplicates (same cursor) left out, keeping
 * the newest `max` and nothing older than `keepAfter`. Returns `existing` itself when nothing changed.
 */
export function mergeSamples(existing: StatsSample[], incoming: StatsSample[], max: number, keepAfter = -Infinity): StatsSample[] {
  if (incoming.length === 0) return existing;
  const fresh = incoming.filter((s) => s.time > keepAfter && !contains(existing, s));
  if (fresh.length === 0) return existing;
  const byTime = (a: StatsSample, b: StatsSample) => a.time - b.time || a.cursor - b.cursor;
  fresh.sort(byTime);
  const last = existing.at(-1);
  // The usual case, live samples arriving in order: append without sorting everything again.
  const merged = !last || byTime(last, fresh[0]!) <= 0 ? existing.concat(fresh) : existing.concat(fresh).sort(byTime);
  let start = Math.max(0, merged.length - max);
  while (start < merged.length && merged[start]!.time <= keepAfter) start++;
  return start > 0 ? merged.slice(start) : merged;
}

const NICE_BUCKETS_MS = [1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000];

/** A bucket size that gives about `points` points across the window, never shorter than the nodes' interval. */
export function bucketMsFor(windowMs: number, intervalMs = 1000, points = 150): number {
  const wanted = Math.max(intervalMs, windowMs / points);
  return NICE_BUCKETS_MS.find((b) => b >= wanted) ?? NICE_BUCKETS_MS.at(-1)!;
}

/** Whether `samples` (in time order) has `sample` already (same cursor, hence same time). */
function contains(samples: StatsSample[], sample: StatsSample): boolean {
  for (let i = firstAfter(samples, sample.time) - 1; i >= 0 && samples[i]!.time === sample.time; i--) {
    if (samples[i]!.cursor === sample.cursor) return true;
  }
  return false;
}

/** Index of the first sample with time > `time` (samples in time order). */
function firstAfter(samples: StatsSample[], time: number): number {
  let lo = 0;
  let hi = samples.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (samples[mid]!.time <= time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One node in one bucket. */
interface NodeBucket {
  /** The time of its newest sample, for staleness. */
  time: number;
  intervalMs: number;
  activations: number;
  types: Map<string, { callsPerSecond: number; errorsPerSecond: number; rejectedPerSecond: number; p50Ms: number; p99Ms: number }>;
}

function nodeBucket(samples: StatsSample[]): NodeBucket {
  const seconds = samples.reduce((sum, s) => sum + s.intervalMs, 0) / 1000;
  const sums = new Map<string, { calls: number; errors: number; rejected: number; p50: number; p99: number }>();
  for (const sample of samples) {
    for (const [type, stats] of Object.entries(sample.byType)) {
      const sum = sums.get(type) ?? { calls: 0, errors: 0, rejected: 0, p50: 0, p99: 0 };
      sum.calls += stats.calls;
      sum.errors += stats.errors;
      sum.rejected += stats.rejected ?? 0;
      sum.p50 += stats.p50Ms * stats.calls;
      sum.p99 += stats.p99Ms * stats.calls;
      sums.set(type, sum);
    }
  }
  const last = samples.at(-1)!;
  const types: NodeBucket['types'] = new Map();
  for (const [type, sum] of sums) {
    types.set(type, {
      callsPerSecond: seconds > 0 ? sum.calls / seconds : 0,
      errorsPerSecond: seconds > 0 ? sum.errors / seconds : 0,
      rejectedPerSecond: seconds > 0 ? sum.rejected / seconds : 0,
      p50Ms: sum.calls > 0 ? sum.p50 / sum.calls : NaN,
      p99Ms: sum.calls > 0 ? sum.p99 / sum.calls : NaN,
    });
  }
  return { time: last.time, intervalMs: last.intervalMs, activations: last.activations, types };
}

/** The cluster's series over the window, from samples in time order. */
export function buildSeries(samples: StatsSample[], window: MetricsWindow): MetricsSeries {
  const { bucketMs } = window;
  const lastEnd = Math.floor(window.end / bucketMs) * bucketMs;
  const count = Math.max(1, Math.floor(window.windowMs / bucketMs));
  const times = Array.from({ length: count }, (_, i) => lastEnd - (count - 1 - i) * bucketMs);
  const firstStart = times[0]! - bucketMs;

  // Start early enough to carry a node's last bucket from before the window into it.
  const lookbackMs = samples.reduce((max, s) => Math.max(max, s.intervalMs), bucketMs) * (STALE_INTERVALS + 1);
  let index = firstAfter(samples, firstStart - lookbackMs);
  const inWindow = samples.slice(index, firstAfter(samples, lastEnd));
  const nodes = [...new Set(inWindow.map((s) => s.node))].sort();
  const types = [...new Set(inWindow.flatMap((s) => Object.keys(s.byType)))].sort();
  const latest = new Map<string, NodeBucket>();
  /** Per bucket in the window: the nodes that count in it. */
  const buckets: Map<string, NodeBucket>[] = [];
  for (let b = -1; b < count; b++) {
    // Bucket -1 is the look-back before the window: it only seeds `latest`.
    const end = b < 0 ? firstStart : times[b]!;
    const byNode = new Map<string, StatsSample[]>();
    while (index < samples.length && samples[index]!.time <= end) {
      const sample = samples[index++]!;
      const list = byNode.get(sample.node);
      if (list) list.push(sample);
      else byNode.set(sample.node, [sample]);
    }
    // Before the window, only each node's last sample matters (as a bucket of its own).
    for (const [node, list] of byNode) latest.set(node, nodeBucket(b < 0 ? [list.at(-1)!] : list));
    for (const [node, bucket] of latest) {
      if (end - bucket.time > bucket.intervalMs * STALE_INTERVALS) latest.delete(node);
    }
    if (b >= 0) buckets.push(new Map(latest));
  }

  const point = (i: number, value: number | null): SeriesPoint => ({ time: times[i]!, value });
  const total: SeriesPoint[] = [];
  const errors: SeriesPoint[] = [];
  const rejections: SeriesPoint[] = [];
  const perType = new Map(types.map((t) => [t, {
    calls: [] as SeriesPoint[], errors: [] as SeriesPoint[], rejected: [] as SeriesPoint[], p50: [] as SeriesPoint[], p99: [] as SeriesPoint[],
  }]));
  buckets.forEach((current, i) => {
    const live = current.size > 0;
    let all = 0;
    let failed = 0;
    let refused = 0;
    for (const type of types) {
      let calls = 0;
      let typeFailed = 0;
      let typeRefused = 0;
      let p50 = 0;
      let p99 = 0;
      for (const bucket of current.values()) {
        const stats = bucket.types.get(type);
        if (!stats) continue;
        calls += stats.callsPerSecond;
        typeFailed += stats.errorsPerSecond;
        typeRefused += stats.rejectedPerSecond;
        if (stats.callsPerSecond > 0) {
          p50 += stats.p50Ms * stats.callsPerSecond;
          p99 += stats.p99Ms * stats.callsPerSecond;
        }
      }
      all += calls;
      failed += typeFailed;
      refused += typeRefused;
      const series = perType.get(type)!;
      series.calls.push(point(i, live ? calls : null));
      series.errors.push(point(i, live ? typeFailed : null));
      series.rejected.push(point(i, live ? typeRefused : null));
      series.p50.push(point(i, calls > 0 ? p50 / calls : null));
      series.p99.push(point(i, calls > 0 ? p99 / calls : null));
    }
    total.push(point(i, live ? all : null));
    errors.push(point(i, live ? failed : null));
    rejections.push(point(i, live ? refused : null));
  });
  const activations = nodes.map((node): Series => ({
    key: node,
    label: node,
    points: buckets.map((current, i) => point(i, current.get(node)?.activations ?? null)),
  }));

  return {
    times,
    callsPerSecond: [{ key: 'all', label: 'all types', points: total }, ...types.map((t) => ({ key: t, label: t, points: perType.get(t)!.calls }))],
    errorsPerSecond: [{ key: 'all', label: 'all types', points: errors }, ...types.map((t) => ({ key: t, label: t, points: perType.get(t)!.errors }))],
    rejectedPerSecond: [{ key: 'all', label: 'all types', points: rejections }, ...types.map((t) => ({ key: t, label: t, points: perType.get(t)!.rejected }))],
    p50Ms: types.map((t) => ({ key: t, label: t, points: perType.get(t)!.p50 })),
    p99Ms: types.map((t) => ({ key: t, label: t, points: perType.get(t)!.p99 })),
    activations,
  };
}

/** The newest non-null value of a series, or null. */
export function latestValue(series: Series): number | null {
  for (let i = series.points.length - 1; i >= 0; i--) {
    const value = series.points[i]!.value;
    if (value !== null) return value;
  }
  return null;
}
