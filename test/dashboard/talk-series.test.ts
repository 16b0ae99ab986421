import { describe, expect, it } from 'vitest';
import { addLiveSample, combinedTimeline, mergeReactions, mergeTimeline, sortedTotals } from '../../dashboard/src/lib/talk-series.ts';
import type { Reaction, TimelinePoint } from '@highlander/admin-api/protocol';

const r = (seq: number, emoji = '👏'): Reaction => ({ seq, emoji, at: 1000 + seq });
const p = (t: number, average: number | null = 50, participants = 1): TimelinePoint => ({ t, average, participants, connected: participants, reactions: 0 });

describe('talk reactions', () => {
  it('keeps new reactions in order and says which are fresh', () => {
    const first = mergeReactions([], [r(2), r(1), r(3)], 0);
    expect(first.kept.map((x) => x.seq)).toEqual([1, 2, 3]);
    expect(first.fresh.map((x) => x.seq)).toEqual([1, 2, 3]);
    expect(first.lastSeq).toBe(3);
    // A delta repeating some (a resync): only the unseen ones are fresh.
    const next = mergeReactions(first.kept, [r(3), r(4), r(4), r(5)], first.lastSeq);
    expect(next.fresh.map((x) => x.seq)).toEqual([4, 5]);
    expect(next.kept.map((x) => x.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('keeps only the newest ones', () => {
    const many = Array.from({ length: 30 }, (_, i) => r(i + 1));
    const merged = mergeReactions([], many, 0, 10);
    expect(merged.kept.map((x) => x.seq)).toEqual([21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
    expect(merged.fresh).toHaveLength(30);
  });

  it('nothing new: nothing fresh, the same list', () => {
    const merged = mergeReactions([r(1)], [r(1)], 1);
    expect(merged.fresh).toEqual([]);
    expect(merged.lastSeq).toBe(1);
    expect(merged.kept).toEqual([r(1)]);
  });

  it('orders totals by count, ties in palette order', () => {
    expect(sortedTotals({ '🔥': 2, '👏': 5, '❤️': 2, '🤔': 0 }, ['👏', '❤️', '🔥'])).toEqual([
      { emoji: '👏', count: 5 }, { emoji: '❤️', count: 2 }, { emoji: '🔥', count: 2 },
    ]);
  });
});

describe('talk timeline', () => {
  it('appends points after the last known one', () => {
    expect(mergeTimeline([p(10), p(20)], [p(20), p(30), p(25)]).map((x) => x.t)).toEqual([10, 20, 25, 30]);
    expect(mergeTimeline([], [p(5)]).map((x) => x.t)).toEqual([5]);
  });

  it('samples the live aggregate every 2 s at most, and merges the samples with the talk’s points', () => {
    let live: TimelinePoint[] = [];
    for (let t = 10_000; t <= 16_000; t += 500) live = addLiveSample(live, p(t, t / 1000));
    expect(live.map((x) => x.t)).toEqual([10_000, 12_000, 14_000, 16_000]);
    expect(addLiveSample(live, p(30_000), 2000, 3).map((x) => x.t)).toEqual([14_000, 16_000, 30_000]);
    // The talk's own points win where both have one.
    const merged = combinedTimeline([p(0, 10), p(10_000, 20), p(20_000, 30)], live);
    expect(merged.map((x) => [x.t, x.average])).toEqual([[0, 10], [10_000, 20], [12_000, 12], [14_000, 14], [16_000, 16], [20_000, 30]]);
    // The line ends at the latest aggregate, when it is newer.
    expect(combinedTimeline([p(0, 10)], [p(2000, 12)], p(2500, 40)).map((x) => x.average)).toEqual([10, 12, 40]);
    expect(combinedTimeline([p(0, 10)], [p(2000, 12)], p(1000, 40)).map((x) => x.average)).toEqual([10, 12]);
  });
});
