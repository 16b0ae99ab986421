import { describe, expect, it } from 'vitest';
import { HotObjects, topRows, type HotObjectView, type HotRanking } from '@highlander/admin-api';
import type { LifecycleEvent } from '@highlander/runtime';

/** The hot objects' aggregate and ranking (model/hot-objects.ts): pure logic, times passed in. */

const NOW = 1_700_000_000_000;
type Listed = Extract<LifecycleEvent, { kind: 'stats' }>['objects'][number];

function stats(node: string, objects: Listed[], options: { intervalMs?: number; time?: number } = {}): Extract<LifecycleEvent, { kind: 'stats' }> {
  return {
    kind: 'stats', intervalMs: options.intervalMs ?? 1000, activations: objects.length, byType: {}, objects, objectsOmitted: 0,
    seq: 1, node, time: options.time ?? NOW,
  };
}

const listed = (id: string, figures: Partial<Listed> = {}, type = 'counter'): Listed => ({ type, id, calls: 10, queue: 0, errors: 0, p99Ms: 1, stateBytes: 20, ...figures });
const ids = (rows: HotObjectView[]) => rows.map((r) => r.id);

describe('HotObjects', () => {
  it('turns a node\'s listed objects into rows: calls per second over the interval, error rate of its calls', () => {
    const hot = new HotObjects();
    hot.update(stats('node-a', [listed('a', { calls: 50, errors: 5, p99Ms: 12.5, queue: 3, stateBytes: 900 })], { intervalMs: 500 }), NOW);
    expect(hot.query({ by: 'calls', limit: 20 }, NOW)).toEqual([
      { type: 'counter', id: 'a', node: 'node-a', callsPerSecond: 100, errorRate: 0.1, p99Ms: 12.5, queue: 3, stateBytes: 900 },
    ]);
  });

  it.each<[HotRanking, Partial<Listed>]>([
    ['calls', { calls: 99 }],
    ['errors', { errors: 3 }],
    ['p99', { p99Ms: 250 }],
    ['queue', { queue: 7 }],
    ['state', { stateBytes: 50_000 }],
  ])('ranks by %s, highest first, across nodes', (by, figures) => {
    const hot = new HotObjects();
    hot.update(stats('node-a', [listed('plain-1'), listed('plain-2', { calls: 20 })]), NOW);
    hot.update(stats('node-b', [listed('plain-3', { calls: 15 }), listed('top', figures)]), NOW);
    const rows = hot.query({ by, limit: 20 }, NOW);
    expect(rows[0]).toMatchObject({ id: 'top', node: 'node-b' });
    expect(rows).toHaveLength(4);
  });

  it('breaks ties by calls per second, then type and id, so the order is stable', () => {
    const hot = new HotObjects();
    hot.update(stats('node-a', [listed('b'), listed('a'), listed('c', { calls: 30 }), listed('a', {}, 'alpha')]), NOW);
    expect(hot.query({ by: 'errors', limit: 20 }, NOW).map((r) => `${r.type}/${r.id}`)).toEqual(['counter/c', 'alpha/a', 'counter/a', 'counter/b']);
  });

  it('filters by type and node, and keeps to the limit', () => {
    const hot = new HotObjects();
    hot.update(stats('node-a', [listed('a1', { calls: 5 }), listed('t1', { calls: 50 }, 'todo')]), NOW);
    hot.update(stats('node-b', [listed('b1', { calls: 7 }), listed('b2', { calls: 9 })]), NOW);
    expect(ids(hot.query({ by: 'calls', type: 'counter', limit: 20 }, NOW))).toEqual(['b2', 'b1', 'a1']);
    expect(ids(hot.query({ by: 'calls', node: 'node-a', limit: 20 }, NOW))).toEqual(['t1', 'a1']);
    expect(ids(hot.query({ by: 'calls', node: 'node-b', type: 'todo', limit: 20 }, NOW))).toEqual([]);
    expect(ids(hot.query({ by: 'calls', limit: 2 }, NOW))).toEqual(['t1', 'b2']);
  });

  it("replaces a node's rows with its latest event, drops them when stale or when the node leaves", () => {
    const hot = new HotObjects();
    hot.update(stats('node-a', [listed('old')]), NOW);
    hot.update(stats('node-a', [listed('new')], { time: NOW + 1000 }), NOW + 1000);
    hot.update(stats('node-b', [listed('b')], { time: NOW + 1000 }), NOW + 1000);
    expect(ids(hot.query({ by: 'calls', limit: 20 }, NOW + 1000)).sort()).toEqual(['b', 'new']);
    expect(hot.size).toBe(2);
    // Two intervals and a margin without an event: the node had no calls.
    expect(ids(hot.query({ by: 'calls', limit: 20 }, NOW + 1000 + 2499)).sort()).toEqual(['b', 'new']);
    expect(ids(hot.query({ by: 'calls', limit: 20 }, NOW + 1000 + 2500))).toEqual([]);
    hot.dropNode('node-b');
    expect(ids(hot.query({ by: 'calls', limit: 20 }, NOW + 1000))).toEqual(['new']);
  });

  it('dates a replayed event from its own time, so an old backlog does not show as current', () => {
    const hot = new HotObjects();
    hot.update(stats('node-a', [listed('replayed')], { time: NOW - 60_000 }), NOW);
    expect(hot.query({ by: 'calls', limit: 20 }, NOW)).toEqual([]);
  });

  it('reads a node of an earlier version (no errors, p99 or state size) as zeros', () => {
    const hot = new HotObjects();
    hot.update(stats('node-a', [{ type: 'counter', id: 'legacy', calls: 4, queue: 1 }]), NOW);
    expect(hot.query({ by: 'p99', limit: 1 }, NOW)[0]).toMatchObject({ id: 'legacy', callsPerSecond: 4, errorRate: 0, p99Ms: 0, stateBytes: 0, queue: 1 });
  });
});

describe('topRows', () => {
  const row = (id: string, calls: number, p99Ms: number): HotObjectView => ({
    type: 'counter', id, node: 'node-a', callsPerSecond: calls, errorRate: 0, p99Ms, queue: 0, stateBytes: 0,
  });

  it('picks the same rows in the same order as a full sort, for a few of many and for most of them', () => {
    // Deterministic pseudo-random figures, with ties.
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % 97;
    const rows = Array.from({ length: 2000 }, (_, i) => row(`o${i}`, next(), next()));
    for (const limit of [1, 20, 200, 1999, 2000, 5000]) {
      const sorted = [...rows].sort((a, b) => b.p99Ms - a.p99Ms || b.callsPerSecond - a.callsPerSecond || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      expect(ids(topRows(rows, 'p99', limit))).toEqual(ids(sorted.slice(0, limit)));
    }
  });

  it('leaves its input as it was', () => {
    const rows = [row('a', 1, 1), row('b', 2, 2)];
    topRows(rows, 'calls', 1);
    topRows(rows, 'calls', 2);
    expect(ids(rows)).toEqual(['a', 'b']);
  });
});
