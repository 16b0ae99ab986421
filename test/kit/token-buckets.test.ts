import { describe, expect, it } from 'vitest';
import { TokenBuckets } from '@highlander/kit';

/** Token buckets by key: the audience gateway's emoji and new-device limits use them. */

describe('token buckets', () => {
  it('allow a burst, then one token per 1/perSecond, with the wait until the next one', () => {
    const buckets = new TokenBuckets({ burst: 5, perSecond: 1 });
    for (let i = 0; i < 5; i++) expect(buckets.take('device', 0)).toEqual({ ok: true });
    expect(buckets.take('device', 0)).toEqual({ ok: false, retryAfterMs: 1000 });
    expect(buckets.take('device', 400)).toEqual({ ok: false, retryAfterMs: 600 });
    expect(buckets.take('device', 1000)).toEqual({ ok: true });
    expect(buckets.take('device', 1000).ok).toBe(false);
    // Keys are independent.
    expect(buckets.take('other', 1000)).toEqual({ ok: true });
    // A long pause refills up to the burst, not beyond.
    for (let i = 0; i < 5; i++) expect(buckets.take('device', 60_000).ok).toBe(true);
    expect(buckets.take('device', 60_000).ok).toBe(false);
  });

  it('check does not spend; spend does; sweep forgets only full buckets', () => {
    const buckets = new TokenBuckets({ burst: 2, perSecond: 2 });
    expect(buckets.check('a', 0)).toEqual({ ok: true });
    expect(buckets.size).toBe(0);
    buckets.spend('a', 0);
    buckets.spend('b', 0);
    buckets.spend('b', 0);
    buckets.sweep(400); // a: 1 + 0.8 < 2, b: 0 + 0.8
    expect(buckets.size).toBe(2);
    buckets.sweep(600); // a: 1 + 1.2 ≥ 2 → forgotten
    expect(buckets.size).toBe(1);
    buckets.sweep(1000);
    expect(buckets.size).toBe(0);
  });

  it('refuses nonsensical settings', () => {
    expect(() => new TokenBuckets({ burst: 0, perSecond: 1 })).toThrow(TypeError);
    expect(() => new TokenBuckets({ burst: 1, perSecond: 0 })).toThrow(TypeError);
  });
});
