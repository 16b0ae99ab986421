import { describe, expect, it } from 'vitest';
import { CallStats, LatencyHistogram } from '../../runtime/src/call-stats.js';

describe('call stats', () => {
  it('reports percentiles within one bucket (9%) of the true value', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) h.record(i / 10, false); // 0.1 … 100 ms
    expect(h.quantile(0.5)).toBeGreaterThanOrEqual(50);
    expect(h.quantile(0.5)).toBeLessThan(50 * 1.09 + 0.001);
    expect(h.quantile(0.99)).toBeGreaterThanOrEqual(99);
    expect(h.quantile(0.99)).toBeLessThan(99 * 1.09 + 0.001);
  });

  it('aggregates per type and starts a new interval on drain', () => {
    const stats = new CallStats();
    stats.record('todo', 1, false);
    stats.record('todo', 2, true);
    stats.record('list', 3, false);
    const first = stats.drain();
    expect(first.todo).toMatchObject({ calls: 2, errors: 1 });
    expect(first.list).toMatchObject({ calls: 1, errors: 0 });
    expect(stats.drain()).toEqual({});
  });
});
