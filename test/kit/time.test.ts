import { describe, expect, it } from 'vitest';
import { raceTimeout, roundMs, sleep } from '@highlander/kit';

describe('time helpers', () => {
  it('raceTimeout settles with the first promise and never rejects', async () => {
    let settled = false;
    const pending = new Promise<void>(() => undefined);
    const race = raceTimeout(60_000, pending, Promise.reject(new Error('no matter'))).then(() => (settled = true));
    await race;
    expect(settled).toBe(true);
  });

  it('raceTimeout ends at the timeout when nothing settles', async () => {
    await expect(raceTimeout(1, new Promise(() => undefined))).resolves.toBeUndefined();
  });

  it('sleep resolves, and at once for a negative duration', async () => {
    await expect(sleep(-5)).resolves.toBeUndefined();
    await expect(sleep(1, { unref: true })).resolves.toBeUndefined();
  });

  it('roundMs keeps two decimals', () => {
    expect(roundMs(1.23456)).toBe(1.23);
    expect(roundMs(10)).toBe(10);
    expect(roundMs(0.0012345, 3)).toBe(0.001);
  });
});
