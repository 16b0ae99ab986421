import { describe, expect, it } from 'vitest';
import { bucketMsFor, buildSeries, latestValue, mergeSamples, toSample, type StatsSample } from '../../dashboard/src/lib/metrics-series.ts';
import type { StatsEvent } from '../../dashboard/src/lib/metrics-series.ts';

let cursor = 0;
function sample(node: string, time: number, byType: StatsSample['byType'], activations = 10, intervalMs = 1000): StatsSample {
  return { cursor: ++cursor, node, time, intervalMs, activations, byType };
}
const t = (calls: number, p50Ms = 1, p99Ms = 2, errors = 0) => ({ calls, errors, p50Ms, p99Ms });
const values = (points: { value: number | null }[]) => points.map((p) => p.value);

describe('toSample', () => {
  it('keeps what the charts need and leaves out the busiest objects', () => {
    const event = {
      kind: 'stats', cursor: 7, seq: 3, node: 'node-a', time: 5000, intervalMs: 1000, activations: 4,
      byType: { todo: t(5) }, objects: [{ type: 'todo', id: 'a', calls: 5, queue: 0 }], objectsOmitted: 0,
    } as unknown as StatsEvent;
    expect(toSample(event)).toEqual({ cursor: 7, node: 'node-a', time: 5000, intervalMs: 1000, activations: 4, byType: { todo: t(5) } });
  });
});

describe('mergeSamples', () => {
  it('adds new samples in time order and ignores ones it already has', () => {
    const a = sample('n', 1000, {});
    const b = sample('n', 2000, {});
    const c = sample('m', 1500, {});
    const merged = mergeSamples([a, b], [c, a], 100);
    expect(merged.map((s) => s.time)).toEqual([1000, 1500, 2000]);
    expect(mergeSamples(merged, [b], 100)).toBe(merged);
  });

  it('keeps the newest `max` and nothing at or before `keepAfter`', () => {
    const list = [1, 2, 3, 4, 5].map((i) => sample('n', i * 1000, {}));
    expect(mergeSamples([], list, 3).map((s) => s.time)).toEqual([3000, 4000, 5000]);
    expect(mergeSamples([], list, 10, 2000).map((s) => s.time)).toEqual([3000, 4000, 5000]);
  });
});

describe('bucketMsFor', () => {
  it('picks a round bucket giving about 150 points, never below the interval', () => {
    expect(bucketMsFor(2 * 60_000)).toBe(1000);
    expect(bucketMsFor(5 * 60_000)).toBe(2000);
    expect(bucketMsFor(60 * 60_000)).toBe(30_000);
    expect(bucketMsFor(60_000, 5000)).toBe(5000);
  });
});

describe('buildSeries', () => {
  const window = { end: 10_500, windowMs: 5000, bucketMs: 1000 };

  it('gives one point per whole bucket, ending at the last whole bucket', () => {
    const series = buildSeries([], window);
    expect(series.times).toEqual([6000, 7000, 8000, 9000, 10_000]);
    expect(values(series.callsPerSecond[0]!.points)).toEqual([null, null, null, null, null]);
    expect(series.activations).toEqual([]);
  });

  it('sums the nodes into cluster calls per second, per type and in all', () => {
    const samples = [
      sample('a', 9100, { todo: t(10), list: t(4) }),
      sample('b', 9300, { todo: t(6) }),
      sample('a', 10_000, { todo: t(20) }),
      sample('b', 9900, { todo: t(2), list: t(1, 1, 2, 1) }),
    ];
    const series = buildSeries(samples, window);
    const byKey = Object.fromEntries(series.callsPerSecond.map((s) => [s.key, values(s.points)]));
    expect(series.callsPerSecond.map((s) => s.key)).toEqual(['all', 'list', 'todo']);
    // bucket (9000, 10000]: node a reported twice (2 s: 30 todo, 4 list), node b twice (2 s: 8 todo, 1 list).
    expect(byKey.todo!.at(-1)).toBeCloseTo(15 + 4);
    expect(byKey.list!.at(-1)).toBeCloseTo(2 + 0.5);
    expect(byKey.all!.at(-1)).toBeCloseTo(21.5);
    expect(values(series.errorsPerSecond[0]!.points).at(-1)).toBeCloseTo(0.5);
    expect(series.errorsPerSecond.map((s) => s.key)).toEqual(['all', 'list', 'todo']);
    expect(values(series.errorsPerSecond[2]!.points).at(-1)).toBe(0);
    expect(byKey.all!.slice(0, 3)).toEqual([null, null, null]);
  });

  it('keeps errors and declared rejections apart, in all and per type', () => {
    const samples = [
      sample('a', 9200, { list: { calls: 10, errors: 1, rejected: 4, p50Ms: 1, p99Ms: 2 }, todo: { calls: 5, errors: 0, rejected: 0, p50Ms: 1, p99Ms: 2 } }),
      sample('b', 9400, { list: { calls: 6, errors: 0, rejected: 2, p50Ms: 1, p99Ms: 2 }, todo: { calls: 4, errors: 3, rejected: 0, p50Ms: 1, p99Ms: 2 } }),
    ];
    const series = buildSeries(samples, window);
    const last = (list: typeof series.errorsPerSecond) => Object.fromEntries(list.map((s) => [s.key, values(s.points).at(-1)]));
    expect(last(series.errorsPerSecond)).toEqual({ all: 4, list: 1, todo: 3 });
    expect(last(series.rejectedPerSecond)).toEqual({ all: 6, list: 6, todo: 0 });
    // Before any node reported: nothing to show, for rejections as for errors.
    expect(values(series.rejectedPerSecond[0]!.points).slice(0, 3)).toEqual([null, null, null]);
  });

  it('counts no rejections from nodes that do not report them (a version before the split)', () => {
    const series = buildSeries([sample('a', 9500, { list: t(10, 1, 2, 3) })], window);
    expect(values(series.errorsPerSecond[0]!.points).at(-1)).toBe(3);
    expect(values(series.rejectedPerSecond[0]!.points).at(-1)).toBe(0);
  });

  it('weights the nodes’ latencies by their calls', () => {
    const samples = [sample('a', 9500, { todo: t(30, 1, 10) }), sample('b', 9600, { todo: t(10, 5, 50) })];
    const series = buildSeries(samples, window);
    expect(values(series.p50Ms[0]!.points).at(-1)).toBeCloseTo((30 * 1 + 10 * 5) / 40);
    expect(values(series.p99Ms[0]!.points).at(-1)).toBeCloseTo((30 * 10 + 10 * 50) / 40);
  });

  it('has no latency where there were no calls, but a rate of 0', () => {
    const series = buildSeries([sample('a', 9500, { todo: t(0, 0, 0) })], window);
    expect(values(series.p50Ms[0]!.points).at(-1)).toBeNull();
    expect(values(series.callsPerSecond[0]!.points).at(-1)).toBe(0);
  });

  it('carries a node that missed a bucket forward for a while instead of dropping the sum', () => {
    const samples = [
      sample('a', 6500, { todo: t(10) }, 5),
      sample('b', 6500, { todo: t(10) }, 7),
      sample('a', 7500, { todo: t(10) }, 5),
      // b's next interval lands in the bucket after: (7000, 8000] has only a, but b still counts.
      sample('a', 8500, { todo: t(10) }, 5),
      sample('b', 8600, { todo: t(12) }, 8),
    ];
    const series = buildSeries(samples, window);
    expect(values(series.callsPerSecond[0]!.points)).toEqual([null, 20, 20, 22, 22]);
    const activations = Object.fromEntries(series.activations.map((s) => [s.key, values(s.points)]));
    expect(activations.a).toEqual([null, 5, 5, 5, 5]);
    expect(activations.b).toEqual([null, 7, 7, 8, 8]);
  });

  it('stops counting a node that has not reported for STALE_INTERVALS intervals', () => {
    const series = buildSeries([sample('a', 6500, { todo: t(10) }, 3)], window);
    // The sample is at 6.5 s: it counts until 6.5 + 2.5 = 9 s.
    expect(values(series.callsPerSecond[0]!.points)).toEqual([null, 10, 10, 10, null]);
    expect(values(series.activations[0]!.points)).toEqual([null, 3, 3, 3, null]);
  });

  it('uses a node’s last sample from before the window for the window’s first buckets', () => {
    const series = buildSeries([sample('a', 4800, { todo: t(4) }, 9)], window);
    expect(values(series.callsPerSecond[0]!.points).slice(0, 3)).toEqual([4, 4, null]);
  });

  it('computes a rate over several intervals when buckets are longer than them', () => {
    const samples = [1, 2, 3, 4, 5].map((i) => sample('a', 5000 + i * 1000, { todo: t(i * 10) }));
    const series = buildSeries(samples, { end: 10_000, windowMs: 5000, bucketMs: 5000 });
    expect(series.times).toEqual([10_000]);
    expect(values(series.callsPerSecond[0]!.points)).toEqual([(10 + 20 + 30 + 40 + 50) / 5]);
  });

  it('lists only the nodes and types seen around the window', () => {
    const samples = [sample('old', 100, { gone: t(1) }), sample('a', 9500, { todo: t(1) })];
    const series = buildSeries(samples, window);
    expect(series.activations.map((s) => s.key)).toEqual(['a']);
    expect(series.p50Ms.map((s) => s.key)).toEqual(['todo']);
  });
});

describe('latestValue', () => {
  it('is the newest value that is not null', () => {
    expect(latestValue({ key: 'k', label: 'k', points: [{ time: 1, value: 3 }, { time: 2, value: 5 }, { time: 3, value: null }] })).toBe(5);
    expect(latestValue({ key: 'k', label: 'k', points: [{ time: 1, value: null }] })).toBeNull();
  });
});
