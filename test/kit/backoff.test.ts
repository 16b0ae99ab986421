import { describe, expect, it } from 'vitest';
import { Backoff } from '@highlander/kit';

describe('Backoff', () => {
  it('doubles from the first delay up to the maximum, and starts over after reset', () => {
    const backoff = new Backoff({ initialMs: 20, maxMs: 100, jitter: false });
    expect([1, 2, 3, 4, 5].map(() => backoff.next())).toEqual([20, 40, 80, 100, 100]);
    expect(backoff.attempts).toBe(5);
    backoff.reset();
    expect(backoff.next()).toBe(20);
  });

  it('spreads each delay over half to one and a half times its nominal value', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 100 });
    const delays = Array.from({ length: 200 }, () => backoff.next());
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(50);
    expect(Math.max(...delays)).toBeLessThan(150);
    expect(new Set(delays).size).toBeGreaterThan(1);
  });

  it('takes another growth factor', () => {
    const backoff = new Backoff({ initialMs: 10, maxMs: 1000, factor: 3, jitter: false });
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([10, 30, 90]);
  });

  it('refuses contradictory settings', () => {
    expect(() => new Backoff({ initialMs: 100, maxMs: 10 })).toThrow(TypeError);
    expect(() => new Backoff({ initialMs: 10, maxMs: 100, factor: 0.5 })).toThrow(TypeError);
  });
});
