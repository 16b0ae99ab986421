import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from '@playwright/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failOnPageErrors, watchPageErrors } from './page-errors.js';
import { launchChromium } from '../../scripts/browser.js';
import type { NodeProcess } from '../../scripts/cluster.js';
import { timing } from '../harness/timing.js';
import { DashboardStack, OPERATOR, VIEWER } from './dashboard-stack.js';

failOnPageErrors();

/**
 * The object detail's ownership timeline in Debian's Chromium against a real stack (ZooKeeper,
 * radosgw, three node processes, the admin API process serving the built dashboard): an object is
 * activated, evicted, activated elsewhere and migrated; a viewer sees a lane per node, each
 * activation with why it ended, the migration, and the timeline growing when it is evicted again.
 * Screenshots at 1440x900 and 1920x1080, DPR 1, go to test-results/screenshots/.
 */

const DIST = fileURLToPath(new URL('../../dashboard/dist/index.html', import.meta.url));
const SHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));
const ID = 'ui-history';

let stack: DashboardStack;
let browser: Browser;

async function act(path: string, body: unknown): Promise<number> {
  const response = await fetch(`${stack.url}/api/objects/counter/${ID}/${path}`, {
    method: 'POST', headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  await response.body?.cancel();
  return response.status;
}

async function historyKinds(): Promise<string[]> {
  const response = await fetch(`${stack.url}/api/objects/counter/${ID}/history`, { headers: { authorization: `Bearer ${VIEWER}` } });
  return ((await response.json()) as { items: Array<{ kind: string; reason?: string | null }> }).items.map((e) => (e.kind === 'activation' ? `activation:${e.reason}` : e.kind));
}

async function ownerOf(): Promise<string | undefined> {
  const response = await fetch(`${stack.url}/api/objects/counter/${ID}`, { headers: { authorization: `Bearer ${VIEWER}` } });
  return response.ok ? ((await response.json()) as { object: { owner: string } | null }).object?.owner : undefined;
}

beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error('no built dashboard: run `npm run build:dashboard` (scripts/test.sh does)');
  await mkdir(SHOTS, { recursive: true });
  stack = await DashboardStack.start({ sessionTimeoutMs: timing.sessionTimeoutMs });
  browser = await launchChromium();
}, timing.uiStackStartMs);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('ownership timeline in the object detail, in Chromium', () => {
  it('shows each activation per node with its reason, the migration, and grows when the object is evicted', async () => {
    const [a, b] = stack.cluster.nodes as [NodeProcess, NodeProcess];
    await a.call('counter', ID, 'add', 1);
    await expect.poll(ownerOf, { timeout: timing.eventMs }).toBe('node-a');
    expect(await act('evict', { force: false })).toBe(200);
    await expect.poll(ownerOf, { timeout: timing.eventMs }).toBeUndefined();
    await b.call('counter', ID, 'add', 1);
    await expect.poll(ownerOf, { timeout: timing.eventMs }).toBe('node-b');
    expect(await act('migrate', { to: 'node-c' })).toBe(200);
    await expect.poll(historyKinds, { timeout: timing.eventMs })
      .toEqual(['migration', 'activation:null', 'activation:migrated', 'activation:evicted']);

    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    try {
      const page: Page = await context.newPage();
      watchPageErrors(page, `/objects/counter/${ID}`);
      await page.goto(`${stack.url}/objects/counter/${ID}?token=${VIEWER}`);
      const timeline = page.getByTestId('ownership-timeline');
      await timeline.waitFor({ timeout: timing.uiMs });
      await expect.poll(() => timeline.getByTestId('timeline-activation').count(), { timeout: timing.uiMs }).toBe(3);
      expect(await timeline.getByTestId('timeline-migration').count()).toBe(1);
      // A lane per node, in the order the object went through them.
      expect(await timeline.locator('text.lane').allTextContents()).toEqual(['node-a', 'node-b', 'node-c']);
      expect(await timeline.getByRole('img').getAttribute('aria-label'))
        .toBe(`Ownership timeline of counter/${ID}: 3 activations on 3 nodes, 1 migration, 0 fenced writes`);
      expect(await page.getByTestId('history-reason').allTextContents()).toEqual(['migrated', 'evicted']);
      const entries = page.getByTestId('history-entries').locator('li');
      expect(await entries.count()).toBe(4);
      // Times in the dashboard's one format: "2026-12-03 14:05:09 UTC…" (the zone the header's switch picks).
      expect(await entries.first().locator('time').first().textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
      expect(await entries.first().textContent()).toMatch(/Migrated\s+node-b → node-c in/);
      await page.getByRole('heading', { name: /Ownership history/ }).scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${SHOTS}object-history-1440x900.png` });

      // Evicted while the page is open: the live activation ends, with its reason, without a reload.
      expect(await act('evict', { force: false })).toBe(200);
      await expect.poll(() => page.getByTestId('history-reason').allTextContents(), { timeout: timing.uiMs }).toEqual(['evicted', 'migrated', 'evicted']);
      await page.setViewportSize({ width: 1920, height: 1080 });
      await page.getByRole('heading', { name: /Ownership history/ }).scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${SHOTS}object-history-1920x1080.png` });
    } finally {
      await context.close();
    }
  });

  it('says so for an object with no activation on record', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    try {
      const page = await context.newPage();
      watchPageErrors(page, '/objects/counter/ui-history-none');
      await page.goto(`${stack.url}/objects/counter/ui-history-none?token=${VIEWER}`);
      await page.getByTestId('history-empty').waitFor({ timeout: timing.uiMs });
      expect(await page.getByTestId('ownership-timeline').count()).toBe(0);
    } finally {
      await context.close();
    }
  });
});
