import { describe, expect, it } from 'vitest';
import type { HotObjectView } from '@highlander/admin-api/protocol';
import { RANKINGS, heat, rankingOf } from '../../dashboard/src/lib/hot-objects.ts';

const row = (id: string, callsPerSecond: number, node = 'node-a'): HotObjectView => ({
  type: 'counter', id, node, callsPerSecond, errorRate: 0, p99Ms: 1, queue: 0, stateBytes: 10,
});

describe('hot objects on the dashboard', () => {
  it('reads a ranking from the URL, calls when absent or unknown', () => {
    expect(RANKINGS.map((r) => r.key)).toEqual(['calls', 'errors', 'p99', 'queue', 'state']);
    expect(rankingOf('p99')).toBe('p99');
    expect(rankingOf(null)).toBe('calls');
    expect(rankingOf('speed')).toBe('calls');
  });

  it('scales how much an object stands out by its calls/s against the hottest, on a square-root scale', () => {
    const rings = heat([row('a', 400), row('b', 100, 'node-b'), row('c', 0)]);
    expect(rings).toEqual([
      { key: 'counter/a', node: 'node-a', callsPerSecond: 400, intensity: 1 },
      { key: 'counter/b', node: 'node-b', callsPerSecond: 100, intensity: 0.5 },
    ]);
    expect(heat([])).toEqual([]);
    expect(heat([row('idle', 0)])).toEqual([]);
  });
});
