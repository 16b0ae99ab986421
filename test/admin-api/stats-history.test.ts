import { describe, expect, it } from 'vitest';
import { StatsHistory } from '@highlander/admin-api';

/** StatsHistory (admin-api/src/model/stats-history.ts): pure, driven by the events' own times. */

const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);
let cursor = 0;

function stats(node: string, time: number, calls: number, extra: { errors?: number; p50Ms?: number; p99Ms?: number; activations?: number } = {}) {
  return {
    kind: 'stats' as const, seq: 0, node, time, intervalMs: 1000, activations: extra.activations ?? 1, objects: [], objectsOmitted: 0,
    byType: { counter: { calls, errors: extra.errors ?? 0, rejected: 0, p50Ms: extra.p50Ms ?? 1, p99Ms: extra.p99Ms ?? 2 } },
  };
}

describe('StatsHistory', () => {
  it('keeps each sample for the last hour, and rolls them up per node and minute', () => {
    const history = new StatsHistory();
    history.add(stats('a', T0 + 1000, 10, { p50Ms: 1, p99Ms: 5 }), ++cursor);
    history.add(stats('a', T0 + 2000, 30, { p50Ms: 3, p99Ms: 9, errors: 2 }), ++cursor);
    history.add(stats('b', T0 + 2000, 5), ++cursor);
    history.add(stats('a', T0 + 61_000, 1), ++cursor); // the next minute: closes a's first
    expect(history.samples('1s').map((s) => [s.node, s.time, s.byType.counter!.calls])).toEqual([
      ['a', T0 + 1000, 10], ['a', T0 + 2000, 30], ['b', T0 + 2000, 5], ['a', T0 + 61_000, 1],
    ]);
    const minutes = history.samples('1m');
    expect(minutes.map((s) => [s.node, s.time, s.intervalMs, s.byType.counter!.calls, s.byType.counter!.errors])).toEqual([
      ['a', T0 + 60_000, 60_000, 40, 2], ['b', T0 + 60_000, 60_000, 5, 0], ['a', T0 + 120_000, 60_000, 1, 0],
    ]);
    // p50: weighted by calls ((10·1 + 30·3) / 40); p99: the highest.
    expect(minutes[0]!.byType.counter!.p50Ms).toBeCloseTo(2.5);
    expect(minutes[0]!.byType.counter!.p99Ms).toBe(9);
    // `since`: what ended after it.
    expect(history.samples('1s', T0 + 2000).map((s) => s.time)).toEqual([T0 + 61_000]);
    expect(history.samples('1m', T0 + 60_000).map((s) => s.time)).toEqual([T0 + 120_000]);
  });

  it('drops samples older than an hour and minutes older than a day, and holds at most maxFine samples', () => {
    const history = new StatsHistory({ maxFine: 50 });
    for (let i = 1; i <= 100; i++) history.add(stats('a', T0 + i * 1000, 1), ++cursor);
    expect(history.samples('1s')).toHaveLength(50);
    expect(history.samples('1s')[0]!.time).toBe(T0 + 51_000);
    history.add(stats('a', T0 + 3_700_000, 1), ++cursor); // an hour and a bit later
    expect(history.samples('1s').map((s) => s.time)).toEqual([T0 + 3_700_000]);
    // The minutes of the first burst are still there (a day is kept)…
    expect(history.samples('1m').reduce((n, s) => n + s.byType.counter!.calls, 0)).toBe(101);
    // …until a day has passed.
    history.add(stats('a', T0 + 25 * 3_600_000, 1), ++cursor);
    expect(history.samples('1m').map((s) => s.byType.counter!.calls)).toEqual([1, 1]);
  });

  it("closes a quiet node's minute when the minute is over", () => {
    const history = new StatsHistory();
    history.add(stats('a', T0 + 1000, 3), ++cursor);
    history.add(stats('b', T0 + 125_000, 1), ++cursor); // node a sent nothing since
    const minutes = history.samples('1m');
    expect(minutes.map((s) => [s.node, s.time, s.byType.counter!.calls])).toEqual([['a', T0 + 60_000, 3], ['b', T0 + 180_000, 1]]);
  });
});
