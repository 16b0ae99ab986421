import { describe, expect, it } from 'vitest';
import { CallStats, LatencyHistogram } from '../../runtime/src/call-stats.js';

describe('call stats', () => {
  it('reports percentiles within one bucket (9%) of the true value', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) h.record(i / 10, 'ok'); // 0.1 … 100 ms
    expect(h.quantile(0.5)).toBeGreaterThanOrEqual(50);
    expect(h.quantile(0.5)).toBeLessThan(50 * 1.09 + 0.001);
    expect(h.quantile(0.99)).toBeGreaterThanOrEqual(99);
    expect(h.quantile(0.99)).toBeLessThan(99 * 1.09 + 0.001);
  });

  it('aggregates per type, errors apart from declared rejections, and starts a new interval on drain', () => {
    const stats = new CallStats();
    stats.record('todo', 1, 'ok');
    stats.record('todo', 2, 'error');
    stats.record('list', 3, 'ok');
    stats.record('list', 4, 'rejected');
    stats.record('list', 5, 'rejected');
    const first = stats.drain();
    expect(first.todo).toMatchObject({ calls: 2, errors: 1, rejected: 0 });
    expect(first.list).toMatchObject({ calls: 3, errors: 0, rejected: 2 });
    expect(stats.drain()).toEqual({});
    stats.record('list', 1, 'error');
    expect(stats.drain().list).toMatchObject({ calls: 1, errors: 1, rejected: 0 });
  });
});
