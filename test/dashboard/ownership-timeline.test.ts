import { describe, expect, it } from 'vitest';
import type { HistoryEntry } from '@highlander/admin-api/protocol';
import { layoutTimeline, reasonText, toneOf } from '../../dashboard/src/lib/ownership-timeline.ts';

describe('ownership timeline layout', () => {
  const entries: HistoryEntry[] = [
    { kind: 'fenced', seq: 5, time: 9_500, node: 'node-b', epoch: '200' },
    { kind: 'migration', seq: 4, time: 9_000, from: 'node-b', to: 'node-c', durationMs: 120 },
    { kind: 'activation', seq: 3, node: 'node-c', epoch: '300', start: 9_000, end: null, reason: null, activeMs: null },
    { kind: 'activation', seq: 2, node: 'node-b', epoch: '200', start: 6_000, end: 8_900, reason: 'migrated', activeMs: 2_900 },
    { kind: 'activation', seq: 1, node: 'node-a', epoch: '100', start: 1_000, end: 5_000, reason: 'session-lost', activeMs: null },
  ];

  it('gives each node a lane in the order the history first mentions it, and each activation a bar', () => {
    const layout = layoutTimeline(entries, 20_000);
    expect(layout.lanes).toEqual(['node-a', 'node-b', 'node-c']);
    expect(layout.bars.map((b) => [b.node, b.start, b.end, b.active, b.tone])).toEqual([
      ['node-a', 1_000, 5_000, false, 'warn'],
      ['node-b', 6_000, 8_900, false, 'neutral'],
      ['node-c', 9_000, 20_000, true, 'ok'],
    ]);
    expect(layout.migrations).toEqual([{ seq: 4, time: 9_000, from: 'node-b', to: 'node-c', durationMs: 120 }]);
    expect(layout.fenced).toEqual([{ seq: 5, time: 9_500, node: 'node-b', epoch: '200' }]);
    // From the oldest start to now (an activation lasts), with a little room either side.
    expect(layout.domain[0]).toBeLessThan(1_000);
    expect(layout.domain[1]).toBeGreaterThan(20_000);
  });

  it('never has a zero-width axis, and shows the last minute when there is nothing', () => {
    const single = layoutTimeline([{ kind: 'fenced', seq: 1, time: 5_000, node: 'node-a', epoch: '1' }], 5_000);
    expect(single.domain[1] - single.domain[0]).toBeGreaterThan(0);
    expect(layoutTimeline([], 100_000).domain).toEqual([40_000, 100_000]);
  });

  it('says why an activation ended, and how alarming it is', () => {
    expect(toneOf('fenced', false)).toBe('danger');
    expect(toneOf('node-left', false)).toBe('warn');
    expect(toneOf('idle', false)).toBe('neutral');
    expect(toneOf(null, true)).toBe('ok');
    expect(reasonText('evicted')).toBe('evicted by an operator');
    expect(reasonText(null)).toBe('still active');
  });
});
