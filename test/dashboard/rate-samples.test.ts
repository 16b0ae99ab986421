import { describe, expect, it } from 'vitest';
import { pushSample, sampleStats } from '../../dashboard/src/lib/rate-samples.ts';

describe('rate samples', () => {
  it('keeps the newest samples up to the capacity', () => {
    let samples: number[] = [];
    for (let i = 1; i <= 5; i++) samples = pushSample(samples, i, 3);
    expect(samples).toEqual([3, 4, 5]);
    expect(pushSample([], Number.NaN)).toEqual([0]);
  });

  it('summarises latest, peak and mean', () => {
    expect(sampleStats([1, 4, 1])).toEqual({ latest: 1, peak: 4, mean: 2 });
    expect(sampleStats([])).toEqual({ latest: 0, peak: 0, mean: 0 });
  });
});
