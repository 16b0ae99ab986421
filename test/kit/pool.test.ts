import { describe, expect, it } from 'vitest';
import { forEachBounded } from '@highlander/kit';
import { timing } from '../harness/timing.js';

describe('forEachBounded', () => {
  it('runs every item, never more than the limit at once, starting them in order', async () => {
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const releases: Array<() => void> = [];
    const done = forEachBounded([0, 1, 2, 3, 4, 5, 6], 3, async (item) => {
      started.push(item);
      running++;
      most = Math.max(most, running);
      await new Promise<void>((resolve) => releases.push(resolve));
      running--;
    });
    // Release one waiting task at a time until all seven have run.
    for (let released = 0; released < 7; released++) {
      await expect.poll(() => releases.length, { timeout: timing.localMs }).toBeGreaterThan(0);
      releases.shift()!();
    }
    await done;
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(most).toBe(3);
  });

  it('does nothing for no items, and refuses a concurrency that is not a positive integer', async () => {
    await expect(forEachBounded([], 4, async () => { throw new Error('never'); })).resolves.toBeUndefined();
    await expect(forEachBounded([1], 0, async () => undefined)).rejects.toThrow(TypeError);
  });

  it('rejects with the first failure', async () => {
    await expect(forEachBounded([1, 2, 3], 2, async (n) => { if (n === 2) throw new Error('two'); })).rejects.toThrow('two');
  });
});
