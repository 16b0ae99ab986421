import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from '@playwright/test';
import { launchChromium } from '../scripts/browser.js';
import { FAKE_NODES, FakeCluster, describePopulate } from './admin-cluster.js';
import { AdminProcess } from './admin-process.js';
import type { BenchContext, BenchSession, Benchmark } from './benchmark.js';
import { formatBytes, formatNumber, formatRatio } from './stats.js';

/** The load: objects in the model and object changes per second while the map is measured. */
const OBJECTS = 50_000;
const CHANGES_PER_SECOND = 1000;
/** One frame-rate measurement. */
const WINDOW_MS = 10_000;
const VIEWPORT = { width: 1280, height: 720 };
const DIST = fileURLToPath(new URL('../dashboard/dist', import.meta.url));

/** The page's globals these benchmarks touch (the root tsconfig has no DOM types; these functions run in the page). */
interface PageGlobals {
  __highlanderMap?: { frameTimes: number[]; scene: { entries: Map<string, unknown> } };
  parsedAt?: number;
  objects?: number;
}

interface Stack {
  cluster: FakeCluster;
  admin: AdminProcess;
  browser: Browser;
  close(): Promise<void>;
}

/** 50,000 objects over the simulated nodes, the admin API process serving the built dashboard, and Chromium. */
async function startStack(context: BenchContext, label: string): Promise<Stack> {
  const { log } = context;
  const entry = await readFile(join(DIST, 'index.html')).catch(() => null);
  if (!entry) throw new Error('no built dashboard in dashboard/dist: run `npm run build:dashboard` first');
  const root = context.uniqueRoot(label);
  log(`    ${FAKE_NODES} nodes simulated at the protocol level (bench/admin-fake-node.ts), real lock znodes; the admin API process; Debian's Chromium, headless, ${VIEWPORT.width}x${VIEWPORT.height}`);
  const cluster = await FakeCluster.start({ zookeeper: context.servers.zookeeper, root, log });
  let admin: AdminProcess | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close().catch(() => {});
    await admin?.stop().catch(() => {});
    await cluster.stop(log);
  };
  try {
    log(`    ${describePopulate(await cluster.populate(OBJECTS))}`);
    admin = await AdminProcess.start({ servers: context.servers, root });
    await admin.waitForObjects(OBJECTS, 120_000, log);
    browser = await launchChromium();
    log(`    Chromium ${browser.version()}`);
    return { cluster, admin, browser, close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function openMap(stack: Stack): Promise<Page> {
  const page = await stack.browser.newPage({ viewport: VIEWPORT });
  await page.goto(`${stack.admin.url}/?token=${stack.admin.token}`);
  await page.waitForFunction((n) => {
    const g = globalThis as unknown as PageGlobals;
    return (g.__highlanderMap?.scene.entries.size ?? 0) >= n;
  }, OBJECTS * 0.99, { timeout: 60_000 });
  return page;
}

/**
 * Frames per second the page delivers over `ms` (requestAnimationFrame callbacks). Page scripts are
 * strings: tsx wraps named functions in a helper the page does not have.
 */
function countFrames(page: Page, ms: number): Promise<number> {
  return page.evaluate(`new Promise((resolve) => {
    let frames = 0;
    const started = performance.now();
    const frame = () => {
      frames++;
      const elapsed = performance.now() - started;
      if (elapsed < ${ms}) requestAnimationFrame(frame);
      else resolve((frames * 1000) / elapsed);
    };
    requestAnimationFrame(frame);
  })`) as Promise<number>;
}

/**
 * The raw baseline for the frame rate: a bare page in the same browser and viewport drawing the
 * same number of cells on a canvas every frame (one path per colour, the cheapest naive way),
 * with nothing else going on.
 */
async function bareCanvasFps(browser: Browser, cells: number): Promise<number> {
  const page = await browser.newPage({ viewport: VIEWPORT });
  try {
    await page.setContent('<canvas width="1248" height="620"></canvas>');
    await page.evaluate(`(() => {
      const ctx = document.querySelector('canvas').getContext('2d');
      const colors = ['#4e79a7', '#f28e2c', '#e15759', '#76b7b2'];
      const draw = () => {
        ctx.clearRect(0, 0, 1248, 620);
        for (let c = 0; c < colors.length; c++) {
          ctx.fillStyle = colors[c];
          ctx.beginPath();
          for (let i = c; i < ${cells}; i += colors.length) ctx.rect((i % 400) * 3, Math.floor(i / 400) * 3, 2, 2);
          ctx.fill();
        }
        requestAnimationFrame(draw);
      };
      requestAnimationFrame(draw);
    })()`);
    return await countFrames(page, WINDOW_MS);
  } finally {
    await page.close();
  }
}

/**
 * Frame rate of the cluster map with 50,000 objects in the model while the nodes make 1,000
 * object changes per second (each shown: appearing, fading; the map draws settled cells from a
 * cached layer and animations on top).
 */
export const dashboardFps: Benchmark = {
  name: 'dashboard-fps',
  title: `cluster map frames/s, ${formatNumber(OBJECTS)} objects, ${formatNumber(CHANGES_PER_SECOND)} changes/s (headless Chromium)`,
  unit: 'fps',
  baselineTitle: `a bare canvas page redrawing ${formatNumber(OBJECTS)} cells every frame`,
  baselineUnit: 'fps',
  target: { of: 'figure', comparison: '>=', value: 30, label: '≥ 30 fps' },

  async setup(context): Promise<BenchSession> {
    const stack = await startStack(context, 'dashboard-fps');
    let page: Page;
    try {
      page = await openMap(stack);
    } catch (err) {
      await stack.close();
      throw err;
    }
    return {
      async measure() {
        const churn = stack.cluster.churn(CHANGES_PER_SECOND, context.settings.warmupMs + WINDOW_MS + 500);
        await sleep(context.settings.warmupMs);
        await page.evaluate(() => {
          (globalThis as unknown as PageGlobals).__highlanderMap!.frameTimes.length = 0;
        });
        const fps = await countFrames(page, WINDOW_MS);
        const drawMs = await page.evaluate(() => [...(globalThis as unknown as PageGlobals).__highlanderMap!.frameTimes]);
        const result = await churn;
        const shown = await page.evaluate(() => (globalThis as unknown as PageGlobals).__highlanderMap!.scene.entries.size);
        const baseline = await bareCanvasFps(stack.browser, OBJECTS);
        const sorted = [...drawMs].sort((a, b) => a - b);
        const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
        return {
          figure: fps,
          baseline,
          details: [
            `${formatNumber(((result.activations + result.deactivations) * 1000) / result.elapsedMs)} object changes/s made; the map shows ${formatNumber(shown)} objects`,
            `map drawing per frame: median ${p(0.5).toFixed(2)} ms, p99 ${p(0.99).toFixed(2)} ms over ${formatNumber(drawMs.length)} frames`,
          ],
        };
      },
      close: stack.close,
    };
  },
};

/**
 * Time from navigation to the first frame of the map showing the objects (50,000 in the model):
 * HTML, bundle, sign-in from the URL, ws connect, the snapshot of every object, layout, drawing.
 * Baseline: a bare page on the same origin that only opens the stream and parses the same snapshot.
 */
export const dashboardFirstRender: Benchmark = {
  name: 'dashboard-first-render',
  title: `time to first render of the map, ${formatNumber(OBJECTS)} objects (loopback)`,
  unit: 'ms',
  baselineTitle: 'a bare page opening the stream and parsing the same snapshot',
  baselineUnit: 'ms',
  target: { of: 'figure', comparison: '<=', value: 2000, label: '< 2 s' },

  async setup(context): Promise<BenchSession> {
    const stack = await startStack(context, 'dashboard-first-render');
    const bundle = await bundleSize();
    context.log(`    bundle: ${bundle}`);
    return {
      async measure() {
        const browserContext = await stack.browser.newContext({ viewport: VIEWPORT });
        try {
          const page = await browserContext.newPage();
          await page.goto(`${stack.admin.url}/?token=${stack.admin.token}`);
          await page.waitForFunction(() => performance.getEntriesByName('highlander:map-first-render').length > 0, undefined, { timeout: 60_000 }).catch(async (err: unknown) => {
            const state = await page.evaluate(`JSON.stringify({ url: location.href, live: document.querySelector('[data-testid=live-indicator]')?.textContent, shown: window.__highlanderMap?.scene.entries.size, marks: performance.getEntriesByType('mark').map((m) => m.name) })`);
            throw new Error(`the map did not render: ${String(state)} (${(err as Error).message})`);
          });
          const figure = await page.evaluate(() => performance.getEntriesByName('highlander:map-first-render')[0]!.startTime);
          const shown = await page.evaluate(() => (globalThis as unknown as PageGlobals).__highlanderMap!.scene.entries.size);
          // A minimal document of the API's own origin (the stream accepts only that origin; Chromium
          // blocks loopback connections from documents that do not come from a loopback server).
          const bare = await browserContext.newPage();
          await bare.goto(`${stack.admin.url}/healthz`);
          await bare.evaluate(bareScript(stack.admin.token));
          await bare.waitForFunction(() => (globalThis as unknown as PageGlobals).parsedAt !== undefined, undefined, { timeout: 60_000 });
          const baseline = await bare.evaluate(() => (globalThis as unknown as PageGlobals).parsedAt!);
          const objects = await bare.evaluate(() => (globalThis as unknown as PageGlobals).objects!);
          return {
            figure,
            baseline,
            details: [`first frame showed ${formatNumber(shown)} objects; the snapshot held ${formatNumber(objects)}; ${formatRatio(figure / baseline)} of the bare page`],
          };
        } finally {
          await browserContext.close();
        }
      },
      close: stack.close,
    };
  },
};

/** Opens the stream, asks for every object, parses the snapshot; `parsedAt` is ms since the document's navigation started. */
const bareScript = (token: string) => `(() => {
  const ws = new WebSocket(location.origin.replace('http', 'ws') + '/api/stream', ['highlander.v1', 'bearer.${token}']);
  ws.onopen = () => ws.send(JSON.stringify({ subscribe: 'summary', objects: true }));
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.kind === 'snapshot') { window.objects = message.objects.length; window.parsedAt = performance.now(); ws.close(); }
  };
})()`;

/** The built bundle: JS and CSS, raw and gzipped. */
async function bundleSize(): Promise<string> {
  const assets = join(DIST, 'assets');
  let raw = 0;
  let gzipped = 0;
  const parts: string[] = [];
  for (const name of await readdir(assets)) {
    if (!/\.(js|css)$/.test(name)) continue;
    const body = await readFile(join(assets, name));
    raw += body.length;
    gzipped += gzipSync(body).length;
    parts.push(`${name} ${formatBytes(body.length)}`);
  }
  return `${formatBytes(raw)} (${formatBytes(gzipped)} gzipped): ${parts.join(', ')}`;
}

