import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from '@playwright/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failOnPageErrors, watchPageErrors } from './page-errors.js';
import { launchChromium } from '../../scripts/browser.js';
import type { NodeProcess } from '../../scripts/cluster.js';
import { timing } from '../harness/timing.js';
import { DashboardStack, OPERATOR, VIEWER } from './dashboard-stack.js';

failOnPageErrors();

/**
 * The "Rebalancing" banner in Debian's Chromium against a real stack (ZooKeeper, radosgw, three node
 * processes, the admin API process with --rebalance serving the built dashboard): every counter on
 * node-a while rebalancing is paused, the banner says so with Resume for an operator (a viewer sees
 * no button), Resume starts the moves, the banner shows progress and the latest move, and goes once
 * the nodes are balanced. Screenshots at 1440x900 (and, paused, 1920x1080), DPR 1: test-results/screenshots/rebalance-*.png.
 */

const DIST = fileURLToPath(new URL('../../dashboard/dist/index.html', import.meta.url));
const SHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));
const COUNTERS = 12;

let stack: DashboardStack;
let browser: Browser;

async function open(context: BrowserContext, path: string, token: string): Promise<Page> {
  const page = await context.newPage();
  watchPageErrors(page, path);
  await page.goto(`${stack.url}${path}${path.includes('?') ? '&' : '?'}token=${token}`);
  await page.getByTestId('live-indicator').and(page.locator('[data-status=live]')).waitFor({ timeout: timing.uiMs });
  return page;
}

async function apiCall(method: 'GET' | 'POST', path: string): Promise<any> {
  const response = await fetch(`${stack.url}${path}`, {
    method, headers: { authorization: `Bearer ${OPERATOR}`, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  expect(response.status).toBe(200);
  return response.json();
}

beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error('no built dashboard: run `npm run build:dashboard` (scripts/test.sh does)');
  await mkdir(SHOTS, { recursive: true });
  stack = await DashboardStack.start({
    sessionTimeoutMs: timing.sessionTimeoutMs, placement: 'local',
    apiEnv: { HIGHLANDER_API_REBALANCE: 'true', HIGHLANDER_API_REBALANCE_MOVES_PER_SECOND: '1', HIGHLANDER_API_REBALANCE_COOLDOWN_MS: '600000' },
  });
  browser = await launchChromium();
}, timing.uiStackStartMs);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('the rebalancing banner, in Chromium', () => {
  it('shows a paused round with Resume for operators only, then progress and each move, and goes once balanced', async () => {
    expect(await apiCall('POST', '/api/rebalance/pause')).toMatchObject({ paused: true, pausedBy: { name: 'olga' } });
    const a = stack.cluster.nodes[0] as NodeProcess;
    // Placement is local: every counter starts on node-a.
    for (let i = 0; i < COUNTERS; i++) await a.call('counter', `rb-${i}`, 'increment', null);

    const operatorContext = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    const viewerContext = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    try {
      const page = await open(operatorContext, '/', OPERATOR);
      const banner = page.getByTestId('rebalance-banner');
      await banner.waitFor({ timeout: timing.uiMs });
      await expect.poll(() => banner.textContent(), { timeout: timing.uiMs }).toMatch(/Rebalancing paused.*paused by olga/s);
      expect(await banner.textContent()).toMatch(/node-a 12/);
      const toggle = page.getByTestId('rebalance-toggle');
      expect(await toggle.textContent()).toBe('Resume');
      await page.screenshot({ path: `${SHOTS}rebalance-paused.png` });
      await page.setViewportSize({ width: 1920, height: 1080 });
      await page.screenshot({ path: `${SHOTS}rebalance-paused-1920x1080.png` });
      await page.setViewportSize({ width: 1440, height: 900 });

      // A viewer sees the banner, not the button.
      const viewer = await open(viewerContext, '/', VIEWER);
      await viewer.getByTestId('rebalance-banner').waitFor({ timeout: timing.uiMs });
      expect(await viewer.getByTestId('rebalance-toggle').count()).toBe(0);

      // Resume: moves start, one a second; the banner counts them and names the latest.
      await toggle.click();
      await expect.poll(() => page.getByTestId('rebalance-last-move').textContent(), { timeout: timing.uiActionMs })
        .toMatch(/^\s*counter\/rb-\d+ node-a → node-[bc]\s*$/);
      await expect.poll(async () => /^\s*([1-9]\d*) of \d+ moves/.test((await page.getByTestId('rebalance-progress').textContent()) ?? ''), { timeout: timing.uiActionMs }).toBe(true);
      expect(await toggle.textContent()).toBe('Pause');
      // Each move is marked on the map at the object's new node, with a legend that says how.
      const marked = page.getByTestId('map-rebalanced');
      await expect.poll(() => marked.count(), { timeout: timing.uiActionMs }).toBeGreaterThan(0);
      expect(await marked.first().getAttribute('data-key')).toMatch(/^counter\/rb-\d+$/);
      expect(await marked.first().getAttribute('data-node')).toMatch(/^node-[bc]$/);
      await page.getByTestId('map-legend-rebalanced').waitFor({ timeout: timing.uiMs });
      await page.screenshot({ path: `${SHOTS}rebalance-progress.png` });

      // Balanced: the banner goes (every node within 4 ± 2).
      await banner.waitFor({ state: 'detached', timeout: timing.uiActionMs });
      const status = await apiCall('GET', '/api/rebalance');
      expect(status).toMatchObject({ balanced: true, paused: false, moves: { inFlight: 0 } });
      for (const node of status.nodes) expect(Math.abs(node.objects - COUNTERS / 3)).toBeLessThanOrEqual(2);
      const audit = (await apiCall('GET', '/api/audit?limit=100')).items as Array<{ action: string; who: { name: string }; result: string }>;
      expect(audit.filter((r) => r.action.startsWith('rebalance.') && r.action !== 'rebalance.move').map((r) => [r.action, r.who.name, r.result]))
        .toEqual([['rebalance.resume', 'olga', 'ok'], ['rebalance.pause', 'olga', 'ok']]);
      expect(audit.filter((r) => r.action === 'rebalance.move')).toHaveLength(status.moves.done);
    } finally {
      await operatorContext.close();
      await viewerContext.close();
    }
  });
});
