import { describe, expect, it } from 'vitest';
import { GAUGE_END_RAD, GAUGE_START_RAD, gaugeAngle, gaugeColor, gaugeGeometry, histogramLayout, polar } from '../../dashboard/src/lib/talk-charts.ts';

describe('gauge geometry', () => {
  it('maps 0..100 onto the upper half circle, left to right', () => {
    expect(gaugeAngle(0)).toBe(GAUGE_START_RAD);
    expect(gaugeAngle(50)).toBe(0);
    expect(gaugeAngle(100)).toBe(GAUGE_END_RAD);
    expect(gaugeAngle(-5)).toBe(GAUGE_START_RAD);
    expect(gaugeAngle(250)).toBe(GAUGE_END_RAD);
    const left = polar(gaugeAngle(0), 100);
    const top = polar(gaugeAngle(50), 100);
    const right = polar(gaugeAngle(100), 100);
    expect([left.x, left.y].map((v) => Math.round(v) + 0)).toEqual([-100, 0]);
    expect([top.x, top.y].map((v) => Math.round(v) + 0)).toEqual([0, -100]);
    expect([right.x, right.y].map((v) => Math.round(v) + 0)).toEqual([100, 0]);
  });

  it('puts the knob on the ring at the value and fills up to it', () => {
    const g = gaugeGeometry(75, 100, 20);
    expect(g.track).toMatch(/^M/);
    expect(g.fill).toMatch(/^M/);
    // 75 is 45° right of the top, on the middle of the ring (radius 90).
    expect(g.knob!.x).toBeCloseTo(90 * Math.SQRT1_2, 9);
    expect(g.knob!.y).toBeCloseTo(-90 * Math.SQRT1_2, 9);
    expect(g.ticks.map((t) => t.value)).toEqual([0, 25, 50, 75, 100]);
  });

  it('draws no fill and no knob without ratings', () => {
    const g = gaugeGeometry(null, 100, 20);
    expect(g.fill).toBe('');
    expect(g.knob).toBeNull();
    expect(g.track).not.toBe('');
  });

  it('colours from red through amber to green', () => {
    expect(gaugeColor(0)).toBe('rgb(229, 83, 75)');
    expect(gaugeColor(50)).toBe('rgb(224, 160, 48)');
    expect(gaugeColor(100)).toBe('rgb(63, 178, 127)');
  });
});

describe('histogram layout', () => {
  it('one bar per bucket, heights proportional to counts, left to right', () => {
    const { bars, max } = histogramLayout([0, 0, 0, 0, 0, 2, 0, 0, 4, 0, 1], 440, 100);
    expect(bars.map((b) => b.bucket)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(max).toBe(4);
    expect(bars[8]!.height).toBe(100);
    expect(bars[5]!.height).toBe(50);
    expect(bars[10]!.height).toBe(25);
    expect(bars[0]!.height).toBe(0);
    for (const bar of bars) expect(bar.y + bar.height).toBe(100);
    for (let i = 1; i < bars.length; i++) expect(bars[i]!.x).toBeGreaterThan(bars[i - 1]!.x + bars[i - 1]!.width);
    expect(bars.at(-1)!.x + bars.at(-1)!.width).toBeLessThanOrEqual(440);
  });

  it('an empty room has flat bars and whole-number ticks', () => {
    const { bars, yTicks } = histogramLayout(new Array(11).fill(0), 300, 100);
    expect(bars.every((b) => b.height === 0)).toBe(true);
    expect(yTicks.every((t) => Number.isInteger(t.value))).toBe(true);
  });
});
