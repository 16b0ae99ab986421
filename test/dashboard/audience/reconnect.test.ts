import { describe, expect, it } from 'vitest';
import { BACKOFF_MS, closeVerdict, reconnectDelayMs } from '../../../dashboard/src/audience/reconnect.ts';

describe('reconnecting the audience page', () => {
  it('backs off, then keeps trying at the longest delay', () => {
    const middle = () => 0.5;
    expect([0, 1, 2, 3, 4, 5, 50].map((a) => reconnectDelayMs(a, middle))).toEqual([...BACKOFF_MS, BACKOFF_MS.at(-1), BACKOFF_MS.at(-1)]);
  });

  it('jitters by a quarter either way, so a room of phones does not return in step', () => {
    expect(reconnectDelayMs(2, () => 0)).toBe(BACKOFF_MS[2] * 0.75);
    expect(reconnectDelayMs(2, () => 0.999999)).toBeCloseTo(BACKOFF_MS[2] * 1.25, -1);
  });

  it('gives up only when the talk does not exist', () => {
    expect(closeVerdict(4404, 'no talk with code ABCDE').action).toBe('stop');
    for (const code of [1000, 1001, 1006, 1008, 1009, 1011]) expect(closeVerdict(code, '').action).toBe('retry');
    expect(closeVerdict(1009, 'message too large: at most 512 bytes').why).toContain('512 bytes');
  });
});
