import { describe, expect, it } from 'vitest';
import { mergeEvents, prependEvents } from '../../dashboard/src/lib/event-list.ts';
import type { ModelEvent } from '@highlander/admin-api/protocol';

const e = (cursor: number): ModelEvent => ({ kind: 'lock.acquired', type: 't', id: 'i', epoch: '1', waitedMs: 0, cursor, seq: cursor, node: 'n', time: cursor });
const cursors = (events: ModelEvent[]) => events.map((x) => x.cursor);

describe('prependEvents', () => {
  it('puts new events (oldest first from the API) in front, newest first', () => {
    const { events, added } = prependEvents([e(3), e(2)], [e(4), e(5)], 10);
    expect(cursors(events)).toEqual([5, 4, 3, 2]);
    expect(added).toBe(2);
  });

  it('leaves out events it already has', () => {
    const list = [e(3), e(2)];
    const result = prependEvents(list, [e(2), e(3)], 10);
    expect(result.events).toBe(list);
    expect(result.added).toBe(0);
  });

  it('keeps at most `max`, dropping the oldest', () => {
    expect(cursors(prependEvents([e(2), e(1)], [e(3), e(4)], 3).events)).toEqual([4, 3, 2]);
    expect(cursors(prependEvents([], [e(1), e(2), e(3), e(4)], 2).events)).toEqual([4, 3]);
  });

  it('sorts a batch that is not in cursor order', () => {
    expect(cursors(prependEvents([e(1)], [e(4), e(2), e(3)], 10).events)).toEqual([4, 3, 2, 1]);
  });
});

describe('mergeEvents', () => {
  it('fills a gap in the middle, each cursor once, newest first, bounded', () => {
    expect(cursors(mergeEvents([e(9), e(8), e(2), e(1)], [e(3), e(4), e(8)], 10))).toEqual([9, 8, 4, 3, 2, 1]);
    expect(cursors(mergeEvents([e(9), e(8)], [e(3), e(4)], 3))).toEqual([9, 8, 4]);
  });
});
