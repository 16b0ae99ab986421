import { describe, expect, it } from 'vitest';
import { layoutMarkers, markerFor, markersFrom } from '../../dashboard/src/lib/talk-markers.ts';
import type { ModelEvent } from '@highlander/admin-api/protocol';

let cursor = 0;
const ev = (kind: string, fields: Partial<ModelEvent> & Record<string, unknown> = {}): ModelEvent =>
  ({ kind, cursor: ++cursor, seq: cursor, node: 'node-b', time: 1000 * cursor, ...fields }) as ModelEvent;

describe('timeline markers from cluster events', () => {
  it('marks node failures, fencing, evictions, migrations and the talk changing owner', () => {
    expect(markerFor(ev('node.down', { reason: 'left' }), 'ABCDE')).toMatchObject({ kind: 'node-down', severity: 'failure', label: 'node-b down' });
    expect(markerFor(ev('node.down', { reason: 'shutdown' }), 'ABCDE')).toMatchObject({ severity: 'change', label: 'node-b stopped' });
    expect(markerFor(ev('node.session-lost', { activationsDropped: 3 }), null)).toMatchObject({ kind: 'session-lost', severity: 'failure' });
    expect(markerFor(ev('object.fenced', { type: 'todo', id: 'a', epoch: '3' }), null)).toMatchObject({ label: 'todo/a fenced on node-b' });
    expect(markerFor(ev('object.deactivated', { type: 'todo', id: 'a', reason: 'evicted' }), null)).toMatchObject({ kind: 'evicted', label: 'todo/a evicted from node-b' });
    expect(markerFor(ev('object.migrated', { type: 'todo', id: 'a', from: 'node-a', to: 'node-c' }), null)).toMatchObject({ label: 'todo/a node-a → node-c' });
    expect(markerFor(ev('object.activated', { type: 'talk', id: 'ABCDE', stored: true, node: 'node-c' }), 'ABCDE'))
      .toMatchObject({ kind: 'talk-moved', talk: true, label: 'talk now on node-c' });
  });

  it('ignores routine events, and deactivations that have their own failure event', () => {
    for (const event of [
      ev('stats'), ev('lock.acquired', { type: 'todo', id: 'a' }), ev('object.persisted', { type: 'talk', id: 'ABCDE' }),
      ev('object.deactivated', { type: 'todo', id: 'a', reason: 'idle' }), ev('object.deactivated', { type: 'todo', id: 'a', reason: 'session-lost' }),
      ev('object.activated', { type: 'talk', id: 'ABCDE', stored: false }), ev('object.activated', { type: 'talk', id: 'OTHER', stored: true }),
      ev('node.draining', { total: 10, remaining: 4 }),
    ]) expect(markerFor(event, 'ABCDE')).toBeNull();
    expect(markerFor(ev('node.draining', { total: 10, remaining: 10 }), 'ABCDE')?.label).toBe('node-b draining');
  });

  it('keeps the events within the talk, once each, oldest first', () => {
    const a = ev('node.down', { reason: 'left', time: 5000 });
    const b = ev('node.up', { time: 3000 });
    const early = ev('node.down', { reason: 'left', time: 10 });
    expect(markersFrom([a, b, a, early], null, 1000).map((m) => m.key)).toEqual([b.cursor, a.cursor]);
  });

  it('groups crowded markers under the most telling labels and stacks labels in rows', () => {
    const events = [
      ev('object.deactivated', { type: 'todo', id: 'x', reason: 'evicted', time: 0 }),
      ev('node.down', { reason: 'left', time: 1 }),
      ev('object.activated', { type: 'talk', id: 'ABCDE', stored: true, node: 'node-c', time: 2 }),
      ev('node.up', { time: 100 }),
      ev('node.up', { time: 200, node: 'node-d' }),
    ];
    const groups = layoutMarkers(markersFrom(events, 'ABCDE'), (t) => t, { minGapPx: 6, rows: 2, charPx: 3 });
    expect(groups).toHaveLength(3);
    // Failures lead, then the talk's own events; a failure makes the group a failure.
    expect(groups[0]).toMatchObject({ label: 'node-b down · talk now on node-c +1', severity: 'failure', row: 0 });
    expect(groups[0]!.markers).toHaveLength(3);
    expect(groups[1]).toMatchObject({ label: 'node-b up', row: 1 });
    expect(groups[2]).toMatchObject({ label: 'node-d up', row: 0 });
  });

  it('hides a label no row has room for (it shows on hover)', () => {
    const events = [0, 10, 20].map((time, i) => ev('node.up', { time, node: `node-${i}` }));
    const groups = layoutMarkers(markersFrom(events, null), (t) => t, { rows: 2, charPx: 10 });
    expect(groups.map((g) => g.row)).toEqual([0, 1, -1]);
  });
});
