import { describe, expect, it } from 'vitest';
import type { LifecycleEvent } from '@highlander/runtime';
import { ModelEventLog } from '../../../admin-api/src/model/event-log.js';

/** The model's event log: one cursor across nodes, the newest events kept, pages after a cursor. */

function nodeLeft(seq: number): LifecycleEvent {
  return { kind: 'node.left', peer: `p${seq}`, seq, node: 'node-a', time: 1000 + seq };
}

describe('ModelEventLog', () => {
  it('numbers events with one cursor and pages after a cursor', () => {
    const log = new ModelEventLog(100);
    expect(log.since(0, 10)).toEqual({ events: [], cursor: 0 });
    for (let seq = 1; seq <= 5; seq++) expect(log.record(nodeLeft(seq)).cursor).toBe(seq);
    expect(log.cursor).toBe(5);
    const page = log.since(1, 2);
    expect(page.events.map((e) => e.cursor)).toEqual([2, 3]);
    expect(page.cursor).toBe(3);
    expect(log.since(3, 10).events.map((e) => e.cursor)).toEqual([4, 5]);
    expect(log.since(5, 10)).toEqual({ events: [], cursor: 5 });
  });

  it('keeps the newest `capacity` events (trimmed in chunks); a cursor before them continues from the oldest kept', () => {
    const log = new ModelEventLog(4);
    for (let seq = 1; seq <= 6; seq++) log.record(nodeLeft(seq));
    // 6 > 4 + 4/4: trimmed to the newest 4.
    expect(log.since(0, 100).events.map((e) => e.cursor)).toEqual([3, 4, 5, 6]);
    expect(log.since(0, 1).events.map((e) => e.cursor)).toEqual([3]);
    log.record(nodeLeft(7));
    expect(log.since(0, 100).events.map((e) => e.cursor)).toEqual([3, 4, 5, 6, 7]);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new ModelEventLog(0)).toThrow(TypeError);
  });
});
