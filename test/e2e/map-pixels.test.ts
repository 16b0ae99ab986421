import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from '@playwright/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failOnPageErrors, watchPageErrors } from './page-errors.js';
import { launchChromium } from '../../scripts/browser.js';
import type { NodeProcess } from '../../scripts/cluster.js';
import { timing } from '../harness/timing.js';
import { DashboardStack, OPERATOR } from './dashboard-stack.js';

failOnPageErrors();

/**
 * The cluster map's canvas read back pixel by pixel in Debian's Chromium, at device pixel ratio 1
 * and 2, against a real stack: settled cells are solid squares on whole device pixels, all the same
 * size, with fully clear gaps between them (no anti-aliased hairlines), and the ghost of an
 * object that leaves fades inside its own cell, never larger. Screenshots at 1440x900.
 */

const DIST = fileURLToPath(new URL('../../dashboard/dist/index.html', import.meta.url));
const SHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));
/** Objects on the map: enough for rows of neighbours, few enough for big cells with gaps. */
const OBJECTS = 60;

let stack: DashboardStack;
let browser: Browser;
let nodes: NodeProcess[];

/** Activates the map's objects (again), spread over the nodes: each region gets rows of neighbouring cells. */
async function activateAll(): Promise<void> {
  for (let i = 0; i < OBJECTS; i += 10) {
    await Promise.all(Array.from({ length: 10 }, (_, j) => nodes[(i + j) % nodes.length]!.call('counter', `px-${String(i + j).padStart(2, '0')}`, 'add', 1)));
  }
}

/** A cell as read from the canvas: its box in canvas (device) pixels and its colour. */
interface CellPixels {
  key: string;
  x: number;
  y: number;
  width: number;
  height: number;
  rgba: number[];
}

/** What the page's map hook offers the tests (see ClusterMap.svelte). */
const HOOK = `globalThis.__highlanderMap`;

/**
 * In the page: the box of each given object's cell, found from its centre by walking out while the
 * colour stays that of the centre; and every pixel of the canvas that is neither clear nor opaque.
 */
function readCells(page: Page, keys: string[]): Promise<{ cells: CellPixels[]; partial: number; canvasOffset: { x: number; y: number }; dpr: number }> {
  return page.evaluate(`(() => {
    const map = ${HOOK};
    const canvas = document.querySelector('[data-testid=cluster-map] canvas');
    const dpr = devicePixelRatio;
    const box = canvas.getBoundingClientRect();
    const { data, width, height } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    const at = (x, y) => { const i = (y * width + x) * 4; return [data[i], data[i + 1], data[i + 2], data[i + 3]]; };
    const same = (a, b) => a.every((v, i) => v === b[i]);
    let partial = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0 && data[i] !== 255) partial++;
    const cells = ${JSON.stringify(keys)}.map((key) => {
      const centre = map.locate(key);
      const cx = Math.floor((centre.x - box.left) * dpr), cy = Math.floor((centre.y - box.top) * dpr);
      const rgba = at(cx, cy);
      let left = cx, right = cx, top = cy, bottom = cy;
      while (left > 0 && same(at(left - 1, cy), rgba)) left--;
      while (right < width - 1 && same(at(right + 1, cy), rgba)) right++;
      while (top > 0 && same(at(cx, top - 1), rgba)) top--;
      while (bottom < height - 1 && same(at(cx, bottom + 1), rgba)) bottom++;
      return { key, x: left, y: top, width: right - left + 1, height: bottom - top + 1, rgba };
    });
    return { cells, partial, canvasOffset: { x: box.left * dpr, y: box.top * dpr }, dpr };
  })()`);
}

beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error('no built dashboard: run `npm run build:dashboard` (scripts/test.sh does)');
  await mkdir(SHOTS, { recursive: true });
  stack = await DashboardStack.start({ sessionTimeoutMs: timing.sessionTimeoutMs });
  nodes = stack.cluster.nodes;
  browser = await launchChromium();
}, timing.uiStackStartMs);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('the map canvas, pixel by pixel, in Chromium', () => {
  for (const dpr of [1, 2]) {
    it(`at DPR ${dpr}: cells are solid, equal squares on device pixels with clear gaps; a leaving object's ghost fades within its cell`, async () => {
      await activateAll();
      const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: dpr });
      try {
        const page = await context.newPage();
        watchPageErrors(page, `map at DPR ${dpr}`);
        await page.goto(`${stack.url}/?token=${OPERATOR}`);
        await page.getByTestId('live-indicator').and(page.locator('[data-status=live]')).waitFor({ timeout: timing.uiMs });
        const keys = await (async () => {
          let found: string[] = [];
          await expect.poll(async () => {
            found = await page.evaluate(`[...(${HOOK}?.scene.entries.keys() ?? [])].filter((k) => k.startsWith('counter/px-')).sort()`);
            return found.length;
          }, { timeout: timing.uiMs }).toBe(OBJECTS);
          return found;
        })();
        // Settled: nothing animating, so every pixel is a cell's or clear.
        await expect.poll(() => page.evaluate(`${HOOK}.scene.busy`), { timeout: timing.uiMs }).toBe(false);
        const settled = await readCells(page, keys);
        expect(settled.dpr).toBe(dpr);
        // The canvas sits on whole device pixels, so the page does not resample it.
        expect(Number.isInteger(settled.canvasOffset.x) && Number.isInteger(settled.canvasOffset.y), `canvas at ${JSON.stringify(settled.canvasOffset)}`).toBe(true);
        expect(settled.partial, 'pixels neither clear nor opaque (anti-aliased edges)').toBe(0);
        const side = settled.cells[0]!.width;
        expect(side).toBeGreaterThanOrEqual(4 * dpr);
        for (const cell of settled.cells) {
          expect(cell.rgba[3], `${cell.key} is opaque`).toBe(255);
          expect([cell.width, cell.height], `${cell.key}'s cell`).toEqual([side, side]);
        }
        // Neighbours in a row are a whole gap apart: the step between them is the same everywhere.
        const steps = new Set<number>();
        const sorted = [...settled.cells].sort((a, b) => a.y - b.y || a.x - b.x);
        for (let i = 1; i < sorted.length; i++) if (sorted[i]!.y === sorted[i - 1]!.y && sorted[i]!.x - sorted[i - 1]!.x < 2 * side) steps.add(sorted[i]!.x - sorted[i - 1]!.x);
        expect([...steps]).toEqual([side + dpr]);
        await page.screenshot({ path: `${SHOTS}map-pixels${dpr === 1 ? '' : `@${dpr}x`}-1440x900.png` });

        // A ghost: every frame drawn while it fades is read around its cell. It may cover its cell, fading, and nothing else.
        const victim = settled.cells.find((c) => c.key === 'counter/px-31')!;
        await page.evaluate(`(() => {
          const map = ${HOOK};
          const cell = ${JSON.stringify(victim)};
          const canvas = document.querySelector('[data-testid=cluster-map] canvas');
          const ctx = canvas.getContext('2d');
          const entry = map.scene.entries.get(cell.key);
          const margin = ${2 * dpr};
          const x0 = cell.x - margin, y0 = cell.y - margin, w = cell.width + 2 * margin, h = cell.height + 2 * margin;
          const before = ctx.getImageData(x0, y0, w, h).data;
          globalThis.__ghostFrames = [];
          map.afterFrame.add(() => {
            if (!map.scene.ghosts.some((g) => g.node === entry.node && g.slot === entry.slot)) return;
            const now = ctx.getImageData(x0, y0, w, h).data;
            let outside = 0, inside = 0, alphas = new Set();
            for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
              const i = (y * w + x) * 4;
              const within = x >= margin && x < margin + cell.width && y >= margin && y < margin + cell.height;
              if (within) { if (now[i + 3] > 0) inside++; alphas.add(now[i + 3]); }
              else if (now[i] !== before[i] || now[i + 1] !== before[i + 1] || now[i + 2] !== before[i + 2] || now[i + 3] !== before[i + 3]) outside++;
            }
            globalThis.__ghostFrames.push({ outside, inside, alphas: [...alphas] });
          });
        })()`);
        const evicted = await fetch(`${stack.url}/api/objects/counter/px-31/evict`, {
          method: 'POST', headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' }, body: '{}',
        });
        expect(evicted.status).toBe(200);
        await expect.poll(() => page.evaluate(`${HOOK}.scene.entries.has('counter/px-31') || ${HOOK}.scene.busy`), { timeout: timing.uiMs }).toBe(false);
        const frames = await page.evaluate('globalThis.__ghostFrames') as Array<{ outside: number; inside: number; alphas: number[] }>;
        expect(frames.length, 'frames drawn while the ghost faded').toBeGreaterThan(0);
        for (const frame of frames) {
          expect(frame.outside, 'pixels the ghost drew outside its cell').toBe(0);
          // The whole cell, in one fading alpha: the ghost is the cell's size.
          expect(frame.alphas.length === 1 && frame.inside === victim.width * victim.height, `ghost frame ${JSON.stringify(frame)}`).toBe(true);
        }
        // Once faded, the cell is clear: the settled layer kept no trace of it.
        const after = await readCells(page, keys.filter((k) => k !== 'counter/px-31'));
        expect(after.partial).toBe(0);
        const cleared = await page.evaluate(`(() => {
          const cell = ${JSON.stringify(victim)};
          const data = document.querySelector('[data-testid=cluster-map] canvas').getContext('2d').getImageData(cell.x, cell.y, cell.width, cell.height).data;
          return data.filter((_, i) => i % 4 === 3 && data[i] !== 0).length;
        })()`);
        expect(cleared, 'pixels left where the ghost faded').toBe(0);
      } finally {
        await context.close();
      }
    }, timing.uiLongTestMs);
  }
});
