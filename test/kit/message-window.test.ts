import { describe, expect, it } from 'vitest';
import { MessageWindow } from '@highlander/kit';

describe('MessageWindow', () => {
  it('counts messages per second and says how far over the limit a connection is', () => {
    const window = new MessageWindow(3);
    expect([1, 2, 3].map(() => window.count(100).ok)).toEqual([true, true, true]);
    expect(window.count(300)).toEqual({ ok: false, over: 1, retryAfterMs: 800 });
    expect(window.count(900).over).toBe(2);
    expect(window.count(1100)).toMatchObject({ ok: true, over: 0 });
  });

  it('refuses a limit that is not positive', () => {
    expect(() => new MessageWindow(0)).toThrow(/perSecond must be positive/);
  });
});
