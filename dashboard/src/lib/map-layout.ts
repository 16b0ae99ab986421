/**
 * Pure geometry of the cluster map: one region per node, one cell per owned object.
 * No DOM here; ClusterMap.canvas.svelte draws what these compute. Unit-tested.
 */

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface RegionLayout extends Rect {
  /** Where cells start (below the region's header). */
  inner: Rect;
}

export interface CellGrid {
  /** Side of one cell's square, in CSS pixels, gap included. */
  cell: number;
  columns: number;
  rows: number;
}

/**
 * Regions for `count` nodes in a `width`×`height` area: a grid whose columns and rows best fit the
 * area's shape (3 nodes on a wide screen: three columns), all regions the same size so that a
 * node's region stays put while the cluster changes.
 */
export function regionLayout(count: number, width: number, height: number, options: { gap?: number; header?: number; padding?: number } = {}): RegionLayout[] {
  if (count <= 0 || width <= 0 || height <= 0) return [];
  const gap = options.gap ?? 12;
  const header = options.header ?? 28;
  const padding = options.padding ?? 8;
  let best = { columns: 1, rows: count, score: -Infinity };
  for (let columns = 1; columns <= count; columns++) {
    const rows = Math.ceil(count / columns);
    const w = (width - gap * (columns - 1)) / columns;
    const h = (height - gap * (rows - 1)) / rows - header;
    if (w <= 0 || h <= 0) continue;
    // The most room for the squarest cells: the smaller side of a region, penalising empty slots.
    const score = Math.min(w, h) * Math.sqrt(count / (columns * rows));
    if (score > best.score) best = { columns, rows, score };
  }
  const { columns, rows } = best;
  const w = (width - gap * (columns - 1)) / columns;
  const h = (height - gap * (rows - 1)) / rows;
  return Array.from({ length: count }, (_, i) => {
    const x = (i % columns) * (w + gap);
    const y = Math.floor(i / columns) * (h + gap);
    return {
      x, y, width: w, height: h,
      inner: { x: x + padding, y: y + header, width: Math.max(0, w - 2 * padding), height: Math.max(0, h - header - padding) },
    };
  });
}

/**
 * The biggest square cells (at most `maxCell` px) so that `capacity` of them fit in `area`. With a
 * device pixel ratio `dpr`, a cell of at least two device pixels is a whole number of them, so that
 * every cell is drawn the same size and its edges fall on device pixels (no anti-aliased seams).
 */
export function cellGrid(area: Rect, capacity: number, maxCell = 26, dpr = 1): CellGrid {
  const n = Math.max(1, capacity);
  if (area.width <= 0 || area.height <= 0) return { cell: 0, columns: 1, rows: n };
  let cell = Math.min(maxCell, Math.sqrt((area.width * area.height) / n));
  for (;;) {
    // Rounding down only makes cells smaller: a fit stays a fit.
    const side = cell * dpr >= 2 ? Math.floor(cell * dpr) / dpr : cell;
    const columns = Math.max(1, Math.floor(area.width / side));
    const rows = Math.floor(area.height / side);
    if (columns * rows >= n || side <= 0.5) return { cell: side, columns, rows: Math.max(rows, Math.ceil(n / columns)) };
    cell *= 0.97;
  }
}

/**
 * A rectangle in CSS pixels as whole device pixels: each edge rounded to the nearest one, at least
 * one wide and high. Rectangles that share an edge in CSS pixels share it in device pixels, so
 * neighbours neither overlap nor leave a seam; drawn with the identity transform, fills are crisp.
 */
export function devicePixels(x: number, y: number, width: number, height: number, dpr: number): Rect {
  const left = Math.round(x * dpr);
  const top = Math.round(y * dpr);
  return { x: left, y: top, width: Math.max(1, Math.round((x + width) * dpr) - left), height: Math.max(1, Math.round((y + height) * dpr) - top) };
}

/** The top-left corner of slot `slot` in a grid laid out row by row from `area`'s corner. */
export function slotPosition(area: Rect, grid: CellGrid, slot: number): { x: number; y: number } {
  return { x: area.x + (slot % grid.columns) * grid.cell, y: area.y + Math.floor(slot / grid.columns) * grid.cell };
}

/** The slot under a point, or -1. */
export function slotAt(area: Rect, grid: CellGrid, x: number, y: number): number {
  if (grid.cell <= 0 || x < area.x || y < area.y) return -1;
  const column = Math.floor((x - area.x) / grid.cell);
  const row = Math.floor((y - area.y) / grid.cell);
  if (column >= grid.columns) return -1;
  return row * grid.columns + column;
}

/**
 * Hands out the lowest free slot, so objects keep their place while others come and go (a map
 * that reshuffles on every activation is unreadable).
 */
export class SlotAllocator {
  #free: number[] = [];
  #next = 0;
  #used = 0;

  take(): number {
    this.#used++;
    if (this.#free.length === 0) return this.#next++;
    // The lowest free slot: a min-heap would be faster; the free list stays small in practice.
    let lowest = 0;
    for (let i = 1; i < this.#free.length; i++) if (this.#free[i]! < this.#free[lowest]!) lowest = i;
    const [slot] = this.#free.splice(lowest, 1);
    return slot!;
  }

  give(slot: number): void {
    this.#used--;
    if (slot === this.#next - 1) {
      this.#next--;
      // Trailing free slots shrink the range instead of piling up.
      for (let i = this.#free.indexOf(this.#next - 1); i >= 0; i = this.#free.indexOf(this.#next - 1)) {
        this.#free.splice(i, 1);
        this.#next--;
      }
    } else {
      this.#free.push(slot);
    }
  }

  /** Slots in use. */
  get used(): number {
    return this.#used;
  }

  /** One past the highest slot in use: what the region's grid must hold. */
  get extent(): number {
    return this.#next;
  }
}
