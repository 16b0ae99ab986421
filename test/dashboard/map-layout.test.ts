import { describe, expect, it } from 'vitest';
import { SlotAllocator, cellGrid, devicePixels, regionLayout, slotAt, slotPosition } from '../../dashboard/src/lib/map-layout.ts';

describe('regionLayout', () => {
  it('puts three nodes side by side on a wide screen, equal and without overlap', () => {
    const regions = regionLayout(3, 1200, 600, { gap: 12, header: 28, padding: 8 });
    expect(regions).toHaveLength(3);
    expect(new Set(regions.map((r) => r.y))).toEqual(new Set([0]));
    expect(new Set(regions.map((r) => Math.round(r.width)))).toEqual(new Set([392]));
    for (let i = 1; i < regions.length; i++) expect(regions[i]!.x).toBeGreaterThanOrEqual(regions[i - 1]!.x + regions[i - 1]!.width);
    expect(regions[2]!.x + regions[2]!.width).toBeCloseTo(1200);
    expect(regions[0]!.inner).toEqual({ x: 8, y: 28, width: 376, height: 564 });
  });

  it('wraps many nodes into rows that fill the area', () => {
    const regions = regionLayout(8, 1200, 600);
    const rows = new Set(regions.map((r) => r.y));
    expect(rows.size).toBeGreaterThan(1);
    for (const r of regions) {
      expect(r.x + r.width).toBeLessThanOrEqual(1200 + 1e-9);
      expect(r.y + r.height).toBeLessThanOrEqual(600 + 1e-9);
    }
  });

  it('is empty for no nodes or no room', () => {
    expect(regionLayout(0, 100, 100)).toEqual([]);
    expect(regionLayout(3, 0, 100)).toEqual([]);
  });
});

describe('cellGrid', () => {
  const area = { x: 0, y: 0, width: 400, height: 300 };

  it('uses the biggest cells that hold the capacity, capped', () => {
    expect(cellGrid(area, 10).cell).toBe(26);
    const g = cellGrid(area, 20_000);
    expect(g.columns * g.rows).toBeGreaterThanOrEqual(20_000);
    expect(g.columns * g.cell).toBeLessThanOrEqual(400);
    expect(g.cell).toBeLessThan(2.5);
  });

  it('makes a cell of two device pixels or more a whole number of them, still holding the capacity', () => {
    for (const dpr of [1, 1.5, 2, 3]) {
      for (const capacity of [7, 60, 500, 3000]) {
        const g = cellGrid({ x: 0, y: 0, width: 447.3, height: 611.9 }, capacity, 26, dpr);
        expect(g.columns * g.rows).toBeGreaterThanOrEqual(capacity);
        expect(g.columns * g.cell).toBeLessThanOrEqual(447.3);
        if (g.cell * dpr >= 2) expect(Number.isInteger(Math.round(g.cell * dpr * 1e9) / 1e9)).toBe(true);
      }
    }
    expect(cellGrid(area, 500, 26, 2).cell).toBeLessThanOrEqual(cellGrid(area, 500).cell);
  });

  it('maps slots to positions and back', () => {
    const g = cellGrid(area, 500);
    for (const slot of [0, 1, g.columns - 1, g.columns, 499]) {
      const p = slotPosition(area, g, slot);
      expect(slotAt(area, g, p.x + g.cell / 2, p.y + g.cell / 2)).toBe(slot);
    }
    expect(slotAt(area, g, -1, 5)).toBe(-1);
    expect(slotAt(area, g, g.columns * g.cell + 1, 5)).toBe(-1);
  });
});

describe('devicePixels', () => {
  it('rounds each edge to a device pixel, so neighbours share their edges exactly', () => {
    expect(devicePixels(10.3, 20.6, 7.5, 7.5, 1)).toEqual({ x: 10, y: 21, width: 8, height: 7 });
    expect(devicePixels(10.3, 20.6, 7.5, 7.5, 2)).toEqual({ x: 21, y: 41, width: 15, height: 15 });
    const step = 8.25;
    for (let i = 0; i < 20; i++) {
      const a = devicePixels(3.4 + i * step, 0, step, step, 1.5);
      const b = devicePixels(3.4 + (i + 1) * step, 0, step, step, 1.5);
      expect(a.x + a.width).toBe(b.x);
    }
  });

  it('keeps a sliver at least one device pixel wide', () => {
    expect(devicePixels(5.1, 5.1, 0.2, 0.2, 1)).toEqual({ x: 5, y: 5, width: 1, height: 1 });
  });
});

describe('SlotAllocator', () => {
  it('reuses the lowest free slot, so objects keep their places while others come and go', () => {
    const slots = new SlotAllocator();
    expect([slots.take(), slots.take(), slots.take(), slots.take()]).toEqual([0, 1, 2, 3]);
    slots.give(2);
    slots.give(1);
    expect(slots.used).toBe(2);
    expect(slots.extent).toBe(4);
    expect(slots.take()).toBe(1);
    expect(slots.take()).toBe(2);
    expect(slots.take()).toBe(4);
  });

  it('shrinks its extent when the highest slots free up', () => {
    const slots = new SlotAllocator();
    for (let i = 0; i < 5; i++) slots.take();
    slots.give(3);
    slots.give(4);
    expect(slots.extent).toBe(3);
    expect(slots.take()).toBe(3);
  });
});
