import { describe, expect, it } from 'vitest';
import { Coalescer } from '../../../dashboard/src/audience/coalescer.ts';

/** A hand-driven clock and timer queue: `advance(ms)` runs what falls due. */
function fakeTime() {
  let now = 0;
  let next = 1;
  const timers = new Map<number, { at: number; run: () => void }>();
  return {
    now: () => now,
    setTimer: (run: () => void, ms: number) => {
      const id = next++;
      timers.set(id, { at: now + ms, run });
      return id;
    },
    clearTimer: (id: unknown) => void timers.delete(id as number),
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].run();
      }
      now = end;
    },
    get pending() {
      return timers.size;
    },
  };
}

function setup(intervalMs = 200) {
  const time = fakeTime();
  const sent: Array<{ value: number; at: number }> = [];
  const coalescer = new Coalescer<number>({ intervalMs, send: (value) => sent.push({ value, at: time.now() }), ...time });
  return { time, sent, coalescer };
}

describe('Coalescer (slider positions)', () => {
  it('sends the first value at once', () => {
    const { coalescer, sent } = setup();
    coalescer.set(40);
    expect(sent).toEqual([{ value: 40, at: 0 }]);
  });

  it('sends at most one value per interval while dragging, the latest winning, and always the final one', () => {
    const { coalescer, sent, time } = setup(200);
    // A drag: a value every 16 ms (a frame) for one second, from 0 to 62.
    for (let i = 0; i <= 62; i++) {
      coalescer.set(i);
      time.advance(16);
    }
    time.advance(1000);
    const gaps = sent.slice(1).map((s, i) => s.at - sent[i]!.at);
    expect(gaps.every((gap) => gap >= 200)).toBe(true);
    expect(sent.length).toBeLessThanOrEqual(1 + Math.ceil((63 * 16) / 200));
    expect(sent.at(-1)!.value).toBe(62);
    // Each send carries the newest value set before it, not a stale queued one (value i is set at i × 16 ms).
    for (const s of sent.slice(1)) expect(s.value).toBe(Math.min(62, Math.ceil(s.at / 16) - 1));
  });

  it('sends a change after a pause at once', () => {
    const { coalescer, sent, time } = setup(200);
    coalescer.set(10);
    time.advance(500);
    coalescer.set(20);
    expect(sent.map((s) => [s.value, s.at])).toEqual([[10, 0], [20, 500]]);
  });

  it('does not send the value it sent last again', () => {
    const { coalescer, sent, time } = setup(200);
    coalescer.set(30);
    coalescer.set(31);
    coalescer.set(30);
    time.advance(300);
    expect(sent.map((s) => s.value)).toEqual([30]);
  });

  it('cancel drops the waiting value; reset also forgets the last one (a new connection sends it again)', () => {
    const { coalescer, sent, time } = setup(200);
    coalescer.set(1);
    coalescer.set(2);
    expect(coalescer.pending).toBe(2);
    coalescer.cancel();
    expect(coalescer.pending).toBeUndefined();
    time.advance(1000);
    expect(sent.map((s) => s.value)).toEqual([1]);
    coalescer.set(1);
    expect(sent.map((s) => s.value)).toEqual([1]);
    coalescer.reset();
    coalescer.set(1);
    expect(sent.map((s) => s.value)).toEqual([1, 1]);
    expect(time.pending).toBe(0);
  });

  it('refuses an interval that is not positive', () => {
    expect(() => new Coalescer({ intervalMs: 0, send: () => {} })).toThrow(TypeError);
  });
});
