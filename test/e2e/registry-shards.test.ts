import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from '@playwright/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failOnPageErrors, watchPageErrors } from './page-errors.js';
import { launchChromium } from '../../scripts/browser.js';
import { startZooKeeper, type ZooKeeperCluster } from '../../scripts/servers/zookeeper.js';
import type { ShardMap } from '@highlander/runtime';
import { timing } from '../harness/timing.js';
import { DashboardStack, VIEWER } from './dashboard-stack.js';

failOnPageErrors();

/**
 * The registry's ensembles in Debian's Chromium against a real sharded stack: the suite's ZooKeeper
 * as the home ensemble and a second standalone one holding buckets 800-fff, three node processes
 * and the admin API process all on the same --zk-shards map. The Nodes view lists both ensembles
 * with their buckets and share, shows the shard as disconnected while its ZooKeeper is down and
 * connected again once it is back. Screenshots at 1440x900 and 1920x1080, DPR 1:
 * test-results/screenshots/registry-shards-*.png.
 */

const DIST = fileURLToPath(new URL('../../dashboard/dist/index.html', import.meta.url));
const SHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));

let zkB: ZooKeeperCluster;
let dir: string;
let stack: DashboardStack;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error('no built dashboard: run `npm run build:dashboard` (scripts/test.sh does)');
  await mkdir(SHOTS, { recursive: true });
  zkB = await startZooKeeper();
  dir = await mkdtemp(join(tmpdir(), 'highlander-e2e-shards-'));
  const map: ShardMap = { version: 1, shards: [{ name: 'zk-b', connect: zkB.connectString, buckets: ['800-fff'], generation: 1 }] };
  const file = join(dir, 'shards.json');
  await writeFile(file, JSON.stringify(map));
  stack = await DashboardStack.start({ sessionTimeoutMs: timing.sessionTimeoutMs, nodeEnv: { HIGHLANDER_ZK_SHARDS: file }, apiEnv: { HIGHLANDER_ZK_SHARDS: file } });
  browser = await launchChromium();
}, timing.uiStackStartMs);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await zkB?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function rowOf(page: Page, name: string) {
  return page.getByTestId('registry-shards').locator('tbody tr').filter({ hasText: name });
}

describe('the registry ensembles, in Chromium', () => {
  it('lists each ensemble with its buckets, and shows one as disconnected while its ZooKeeper is down', async () => {
    for (let i = 0; i < 8; i++) await stack.cluster.nodes[0]!.call('counter', `sh-${i}`, 'increment', null);
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    try {
      const page = await context.newPage();
      watchPageErrors(page, '/nodes');
      await page.goto(`${stack.url}/nodes?token=${VIEWER}`);
      const panel = page.getByTestId('registry-shards');
      await panel.waitFor({ timeout: timing.uiMs });
      expect(await panel.textContent()).toContain('shard map version 1');
      await expect.poll(() => rowOf(page, 'home').textContent(), { timeout: timing.uiMs }).toMatch(/home.*connected.*000-7ff.*2,048.*0/s);
      expect(await rowOf(page, 'zk-b').textContent()).toMatch(/zk-b.*connected.*800-fff.*2,048.*1/s);
      expect(await rowOf(page, 'zk-b').textContent()).toContain(zkB.connectString);
      await page.screenshot({ path: `${SHOTS}registry-shards.png` });

      await zkB.servers[0]!.stop();
      await expect.poll(() => rowOf(page, 'zk-b').textContent(), { timeout: timing.uiMs }).toContain('disconnected');
      expect(await rowOf(page, 'home').textContent()).not.toContain('disconnected');
      await page.setViewportSize({ width: 1920, height: 1080 });
      await page.screenshot({ path: `${SHOTS}registry-shards-down-1920x1080.png` });

      await zkB.servers[0]!.start();
      await expect.poll(() => rowOf(page, 'zk-b').textContent(), { timeout: timing.uiMs }).not.toContain('disconnected');
    } finally {
      await context.close();
    }
  }, timing.uiLongTestMs);
});
