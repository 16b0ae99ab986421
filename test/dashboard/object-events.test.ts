import { describe, expect, it } from 'vitest';
import { addEvents, describeEvent, eventLines } from '../../dashboard/src/lib/object-events.ts';
import type { ModelEvent } from '@highlander/admin-api/protocol';

let cursor = 0;
/** An event of any kind with just the fields a test gives it. */
function event(kind: string, fields: Record<string, unknown> = {}): ModelEvent {
  cursor++;
  return { kind, cursor, seq: cursor, node: 'node-a', time: 1000 + cursor, type: 'todo', id: 'a', ...fields } as unknown as ModelEvent;
}

describe('object events', () => {
  it('keeps the newest first without duplicates, up to a limit', () => {
    const [a, b, c] = [event('lock.acquired'), event('object.activated'), event('object.persisted')];
    const list = addEvents(addEvents([], [a!, b!]), [b!, c!]);
    expect(list.map((e) => e.cursor)).toEqual([c!.cursor, b!.cursor, a!.cursor]);
    expect(addEvents(list, [event('lock.released')], 2)).toHaveLength(2);
  });

  it('folds a run of persists into one line with the range of versions', () => {
    const events = [
      event('object.persisted', { version: 7, bytes: 100, calls: 1, putMs: 4 }),
      event('object.persisted', { version: 6, bytes: 90, calls: 1, putMs: 4 }),
      event('object.persisted', { version: 5, bytes: 80, calls: 1, putMs: 4 }),
      event('object.activated', { version: 4, stored: true, loadMs: 8 }),
    ];
    const lines = eventLines(events);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ count: 3, fromVersion: 5 });
    expect(lines[0]!.text).toBe('persisted 3 times by node-a, versions 5–7 (last 100 B in 4.0 ms)');
    expect(lines[1]!.text).toBe('activated on node-a at version 4, loaded from storage in 8.0 ms');
  });

  it('says what happened in words', () => {
    expect(describeEvent(event('object.migrated', { from: 'node-a', to: 'node-b', durationMs: 68 }))).toBe('migrated from node-a to node-b in 68 ms');
    expect(describeEvent(event('object.deactivated', { reason: 'evicted', activeMs: 65_000 }))).toBe('deactivated on node-a (evicted) after 1 min 5 s active');
    expect(describeEvent(event('lock.queued', { position: 1, owner: 'node-b' }))).toBe('node-a queued for the lock at position 1, behind node-b');
    expect(describeEvent(event('something.new'))).toBe('something.new on node-a');
  });
});
