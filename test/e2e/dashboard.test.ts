import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from '@playwright/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failOnPageErrors, watchPageErrors } from './page-errors.js';
import { launchChromium } from '../../scripts/browser.js';
import type { NodeProcess } from '../../scripts/cluster.js';
import { ZkSession } from '@highlander/runtime/zookeeper';
import { zookeeperConnect } from '../harness/servers.js';
import { ownersInZooKeeper } from '../harness/lock-tree.js';
import { hold, timing } from '../harness/timing.js';
import { DashboardStack, OPERATOR, VIEWER } from './dashboard-stack.js';

failOnPageErrors();

/**
 * The dashboard in Debian's Chromium against a real stack: ZooKeeper, radosgw, three node
 * processes and the admin API process serving the built dashboard. Screenshots of each main view
 * go to test-results/screenshots/.
 */

const DIST = fileURLToPath(new URL('../../dashboard/dist/index.html', import.meta.url));
const SHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));

let stack: DashboardStack;
let zk: ZkSession;
let browser: Browser;
let operator: BrowserContext;
let a: NodeProcess;
let b: NodeProcess;
let c: NodeProcess;

async function open(context: BrowserContext, path: string, token = OPERATOR): Promise<Page> {
  const page = await context.newPage();
  watchPageErrors(page, path);
  await page.goto(`${stack.url}${path}${path.includes('?') ? '&' : '?'}token=${token}`);
  await page.getByTestId('live-indicator').and(page.locator('[data-status=live]')).waitFor({ timeout: timing.uiMs });
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${SHOTS}${name}.png` });
}

/** Confirms the dialog an action opened, and waits for the result notice. */
async function confirmAndExpectSuccess(page: Page): Promise<string> {
  await page.locator('dialog[open]').getByTestId('confirm').click();
  const notice = page.getByTestId('notice-success');
  await notice.waitFor({ timeout: timing.uiActionMs });
  return (await notice.textContent()) ?? '';
}

function mapNodeOf(page: Page, key: string): Promise<string | null> {
  return page.evaluate((k) => {
    const map = (globalThis as unknown as { __highlanderMap?: { scene: { entries: Map<string, { node: string }> } } }).__highlanderMap;
    return map?.scene.entries.get(k)?.node ?? null;
  }, key);
}

async function ownerInZooKeeper(type: string, id: string): Promise<string | undefined> {
  return (await ownersInZooKeeper(zk, stack.config.root)).get(`${type}/${id}`);
}

beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error('no built dashboard: run `npm run build:dashboard` (scripts/test.sh does)');
  await mkdir(SHOTS, { recursive: true });
  zk = await ZkSession.open({ connect: zookeeperConnect() });
  stack = await DashboardStack.start({ sessionTimeoutMs: timing.uiPausedSessionTimeoutMs });
  [a, b, c] = stack.cluster.nodes as [NodeProcess, NodeProcess, NodeProcess];
  browser = await launchChromium();
  operator = await browser.newContext({ viewport: { width: 1280, height: 720 } });
}, timing.uiStackStartMs);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  zk?.close();
});

describe('dashboard in Chromium on a live cluster', () => {
  it('the map shows the three nodes and the objects each owns', async () => {
    await a.call('counter', 'a1', 'add', 1);
    await b.call('counter', 'b1', 'add', 1);
    await b.call('counter', 'b2', 'add', 2);
    await c.call('counter', 'c1', 'add', 3);
    const page = await open(operator, '/');
    await expect.poll(() => page.getByTestId('map-node').evaluateAll((els) => els.map((e) => e.getAttribute('data-node'))), { timeout: timing.uiMs })
      .toEqual(['node-a', 'node-b', 'node-c']);
    for (const [node, count] of [['node-a', '1'], ['node-b', '2'], ['node-c', '1']] as const) {
      await expect.poll(() => page.locator(`[data-testid=map-node][data-node=${node}] [data-testid=map-node-count]`).textContent(), { timeout: timing.uiMs })
        .toBe(`${count} objects`);
    }
    expect(await mapNodeOf(page, 'counter/b2')).toBe('node-b');
    await shot(page, 'map');
    await page.close();
  });

  it('searching the map rings what it finds and stays on the map; a name that cannot exist is refused inline, the stream stays live', async () => {
    const page = await open(operator, '/');
    await expect.poll(() => mapNodeOf(page, 'counter/b2'), { timeout: timing.uiMs }).toBe('node-b');
    const input = page.locator('#map-find');
    const rung = () => page.getByTestId('map-found').evaluateAll((els) => els.map((e) => e.getAttribute('data-key')).sort());

    // Capital letter: refused as typed, nothing sent, the map and the stream as they were.
    await input.fill('Counter/b1');
    await expect.poll(() => page.getByTestId('map-find-error').textContent(), { timeout: timing.uiMs }).toContain('“Counter” is not a type name');
    expect(await page.getByRole('button', { name: 'Find' }).isDisabled()).toBe(true);
    await input.fill('counter/b 1');
    await expect.poll(() => page.getByTestId('map-find-error').textContent(), { timeout: timing.uiMs }).toContain('a space cannot be in an object id');
    await input.press('Enter');
    expect(page.url()).toMatch(/\/\?token=|\/$/);
    expect(await page.getByTestId('live-indicator').getAttribute('data-status')).toBe('live');

    // One object: ringed on its node, with a link to it; the page stays on the map.
    await input.fill('counter/b2');
    await input.press('Enter');
    await expect.poll(rung, { timeout: timing.uiMs }).toEqual(['counter/b2']);
    expect(await page.getByTestId('map-find-result').textContent()).toContain('counter/b2 is on node-b');
    await shot(page, 'map-search');

    // A prefix of a type: every match ringed.
    await input.fill('counter/b');
    await input.press('Enter');
    await expect.poll(rung, { timeout: timing.uiMs }).toEqual(['counter/b1', 'counter/b2']);

    // An object that is not active: said so, with a link to its stored state.
    await input.fill('counter/zz-none');
    await input.press('Enter');
    await expect.poll(() => page.getByTestId('map-find-result').textContent(), { timeout: timing.uiMs }).toContain('counter/zz-none is not active on any node');
    expect(await rung()).toEqual([]);

    // The object view of a name that cannot exist (typed into the address bar) says why, instead of loading forever.
    await page.goto(`${stack.url}/objects/Counter/b1?token=${OPERATOR}`);
    await expect.poll(() => page.locator('body').textContent(), { timeout: timing.uiMs }).toContain('invalid object type name "Counter"');
    await page.getByTestId('live-indicator').and(page.locator('[data-status=live]')).waitFor({ timeout: timing.uiMs });
    await page.close();
  });

  it('selecting an object on the map shows its owner and lock queue', async () => {
    const page = await open(operator, '/');
    await expect.poll(() => mapNodeOf(page, 'counter/b1'), { timeout: timing.uiMs }).toBe('node-b');
    const cell = await page.evaluate(() => (globalThis as unknown as { __highlanderMap: { locate(key: string): { x: number; y: number } | null } }).__highlanderMap.locate('counter/b1'));
    expect(cell).not.toBeNull();
    await page.mouse.move(cell!.x, cell!.y);
    await page.getByRole('tooltip').waitFor({ timeout: timing.uiMs });
    expect(await page.getByRole('tooltip').textContent()).toContain('counter/b1');
    await page.mouse.click(cell!.x, cell!.y);
    await page.waitForURL(/\/objects\/counter\/b1$/, { timeout: timing.uiMs });
    await expect.poll(() => page.getByTestId('owner').textContent(), { timeout: timing.uiMs }).toBe('node-b');
    await expect.poll(() => page.getByTestId('queue-entry').allTextContents(), { timeout: timing.uiMs }).toEqual([expect.stringContaining('node-b')]);
    await shot(page, 'object-detail');
    await page.close();
  });

  it('evicting through the UI removes the object from the map; the storage browser shows its persisted state', async () => {
    const page = await open(operator, '/objects/counter/b1');
    await page.getByTestId('evict').click();
    const result = await confirmAndExpectSuccess(page);
    expect(result).toMatch(/counter\/b1/);
    await expect.poll(() => ownerInZooKeeper('counter', 'b1'), { timeout: timing.uiMs }).toBeUndefined();
    await page.getByTestId('object-status').filter({ hasText: 'not active' }).waitFor({ timeout: timing.uiMs });

    await page.getByRole('link', { name: 'Map', exact: true }).click();
    await expect.poll(() => page.locator('[data-testid=map-node][data-node=node-b] [data-testid=map-node-count]').textContent(), { timeout: timing.uiMs })
      .toBe('1 objects');
    expect(await mapNodeOf(page, 'counter/b1')).toBeNull();

    await page.getByRole('link', { name: 'Storage', exact: true }).click();
    await page.getByTestId('storage-type').filter({ hasText: 'counter' }).click();
    await page.getByTestId('stored-key').filter({ hasText: /^b1$/ }).click();
    await page.waitForURL(/\/storage\/counter\/b1$/, { timeout: timing.uiMs });
    await expect.poll(() => page.getByRole('figure', { name: /state/i }).textContent(), { timeout: timing.uiMs }).toMatch(/"value": 1\b/);
    await shot(page, 'storage');
    await page.close();
  });

  it('migrating through the UI moves the object under the target node', async () => {
    const page = await open(operator, '/');
    await page.goto(`${stack.url}/objects/counter/a1`);
    await expect.poll(() => page.getByTestId('owner').textContent(), { timeout: timing.uiMs }).toBe('node-a');
    await page.getByLabel('Migrate to').selectOption('node-c');
    await page.getByTestId('migrate').click();
    expect(await confirmAndExpectSuccess(page)).toMatch(/node-a.*node-c/);
    expect(await ownerInZooKeeper('counter', 'a1')).toBe('node-c');
    await expect.poll(() => page.getByTestId('owner').textContent(), { timeout: timing.uiMs }).toBe('node-c');
    await page.getByRole('link', { name: 'Map', exact: true }).click();
    await expect.poll(() => mapNodeOf(page, 'counter/a1'), { timeout: timing.uiMs }).toBe('node-c');
    expect(await c.call('counter', 'a1', 'add', 1)).toBe(2);
    await page.close();
  });

  it('force-evicting a paused owner through the UI frees the object for another node', async () => {
    await c.call('counter', 'p1', 'add', 5);
    const page = await open(operator, '/objects/counter/p1');
    await expect.poll(() => page.getByTestId('owner').textContent(), { timeout: timing.uiMs }).toBe('node-c');
    c.kill('SIGSTOP');
    try {
      await page.getByTestId('force-evict').click();
      expect(await confirmAndExpectSuccess(page)).toMatch(/counter\/p1/);
      expect(await ownerInZooKeeper('counter', 'p1')).toBeUndefined();
      // Served elsewhere from its persisted state, while the old owner is still paused.
      expect(await b.call('counter', 'p1', 'add', 1)).toBe(6);
      await expect.poll(() => page.getByTestId('owner').textContent(), { timeout: timing.uiMs }).toBe('node-b');
    } finally {
      c.kill('SIGCONT');
    }
    await page.close();
  });

  it('the storage browser pages through stored objects', async () => {
    for (let i = 0; i < 60; i += 10) {
      await Promise.all(Array.from({ length: 10 }, (_, j) => a.call('set', `page-${String(i + j).padStart(2, '0')}`, 'add', 'x')));
    }
    const page = await open(operator, '/storage/set');
    const keys = page.getByTestId('stored-key');
    await expect.poll(() => keys.count(), { timeout: timing.uiMs }).toBe(50);
    expect(await keys.first().textContent()).toBe('page-00');
    await page.getByRole('button', { name: /next/i }).click();
    await expect.poll(() => keys.allTextContents(), { timeout: timing.uiMs }).toEqual(Array.from({ length: 10 }, (_, i) => `page-${50 + i}`));
    await page.getByRole('button', { name: /previous/i }).click();
    await expect.poll(() => keys.count(), { timeout: timing.uiMs }).toBe(50);
    await page.close();
  });

  it('the sign-in form says why a token is refused: one a browser cannot send, one the admin API does not know', async () => {
    const stranger = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    try {
      const page = await stranger.newPage();
      await page.goto(`${stack.url}/`);
      const alert = page.locator('.login [role=alert]');
      await page.locator('#token').fill('my token');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => alert.textContent({ timeout: timing.uiMs }), { timeout: timing.uiMs }).toContain('it contains a space or line break');
      await page.locator('#token').fill('not-a-configured-token');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => alert.textContent({ timeout: timing.uiMs }), { timeout: timing.uiMs }).toContain('The admin API does not know that token');
      // A pasted token with a line break after it signs in.
      await page.locator('#token').fill(`${VIEWER}\n`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByTestId('live-indicator').and(page.locator('[data-status=live]')).waitFor({ timeout: timing.uiMs });
    } finally {
      await stranger.close();
    }
  });

  it('a viewer sees no action controls', async () => {
    const viewer = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    try {
      const page = await open(viewer, '/objects/counter/c1', VIEWER);
      await expect.poll(() => page.getByTestId('owner').textContent(), { timeout: timing.uiMs }).toBe('node-c');
      expect(await page.getByTestId('role').textContent()).toBe('viewer');
      for (const control of ['evict', 'force-evict', 'migrate']) expect(await page.getByTestId(control).count()).toBe(0);
      expect(await page.getByRole('button', { name: /evict|migrate/i }).count()).toBe(0);
      await page.goto(`${stack.url}/nodes/node-a`);
      await page.getByTestId('node-status').waitFor({ timeout: timing.uiMs });
      expect(await page.getByTestId('drain').count()).toBe(0);
      expect(await page.getByRole('button', { name: /drain/i }).count()).toBe(0);
    } finally {
      await viewer.close();
    }
  });

  it('the live indicator recovers after the admin API restarts, and the view resyncs', async () => {
    const page = await open(operator, '/');
    const indicator = page.getByTestId('live-indicator');
    await stack.stopApi();
    await expect.poll(() => indicator.getAttribute('data-status'), { timeout: timing.uiMs }).toBe('reconnecting');
    await shot(page, 'reconnecting');
    await a.call('counter', 'while-down', 'add', 1);
    await stack.startApi();
    await expect.poll(() => indicator.getAttribute('data-status'), { timeout: timing.uiReconnectMs }).toBe('live');
    await expect.poll(() => mapNodeOf(page, 'counter/while-down'), { timeout: timing.uiMs }).toBe('node-a');
    await page.close();
  }, timing.uiLongTestMs);

  it('the Metrics view shows declared rejections apart from errors', async () => {
    const page = await open(operator, '/charts?window=2m');
    const legend = page.getByRole('list', { name: 'Series of Cluster failed calls per second' });
    // A short look: a series not drawn yet fails this look, and the poll looks again (rather than one look waiting out the poll).
    const latest = (label: string) => legend.locator('li').filter({ has: page.getByText(label, { exact: true }) }).locator('strong').textContent({ timeout: timing.uiLookMs });
    const todo = { id: 't1', title: 'milk', completed: false };
    /** Calls the list refuses on purpose (no user is allowed on it): rejections, not errors. */
    const refuse = async () => {
      for (let i = 0; i < 5; i++) {
        const refused = await a.call('list', 'closed-list', 'insertTodo', { todo, userId: 'mallory' }).catch((err: unknown) => err);
        expect((refused as { code?: string }).code).toBe('OBJECT_REJECTED');
      }
    };
    // The chart is drawn (its legend lists every series from the start); if not, say what the page shows instead.
    // The admin API restarted in the test before: the page waits for the events it kept and the nodes' stats since.
    await legend.waitFor({ timeout: timing.uiReconnectMs }).catch(async (err: unknown) => {
      await shot(page, 'failed-metrics');
      throw new Error(`no failed-calls chart (${(err as Error).message}); page text: ${(await page.locator('main').innerText()).slice(0, 600)}`);
    });
    // While the nodes report only refusals, the latest bucket has rejections and no errors.
    await expect.poll(async () => {
      await refuse();
      return [await latest('rejected (intended)'), await latest('errors')];
    }, { timeout: timing.uiReconnectMs, interval: timing.pollMs }).toEqual([expect.not.stringMatching(/^(0|–)$/), '0']);
    await shot(page, 'metrics-failed-calls');
    // A handler that throws something undeclared is an error.
    await expect.poll(async () => {
      await a.call('counter', 'exploding', 'explode').catch(() => undefined);
      return latest('errors');
    }, { timeout: timing.uiMs, interval: timing.pollMs }).toMatch(/^(?!0$|–$)/);
    // The last day comes from the admin API's minute rollups, fetched when the window is chosen.
    await page.getByRole('group', { name: 'Time window' }).getByRole('button', { name: '24 h' }).click();
    await expect.poll(() => page.locator('.metrics .status').textContent(), { timeout: timing.uiMs }).toMatch(/600 s per point · history since \d\d:\d\d:\d\d/);
    await page.close();
  }, timing.uiLongTestMs);

  it('the hot objects panel lists a hammered object first and ranks by state size; the map rings it and its legend says how', async () => {
    let running = true;
    // One counter called as fast as the clients go, one with a big state called now and then (each shows only in intervals with calls).
    const load = (async () => {
      for (let i = 0; running; i++) {
        await [a, b, c][i % 3]!.call('counter', 'e2e-hot', 'increment', null);
        if (i % 20 === 0) await a.call('counter', 'e2e-big', 'grow', 20_000);
      }
    })();
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    try {
      const page = await open(context, '/charts?window=2m');
      const panel = page.getByTestId('hot-objects');
      const firstKey = () => panel.getByTestId('hot-row').first().getAttribute('data-key', { timeout: timing.uiLookMs }).catch(() => null);
      await expect.poll(firstKey, { timeout: timing.uiMs, interval: timing.pollMs }).toBe('counter/e2e-hot');
      await shot(page, 'metrics-hot-1440x900');
      await page.setViewportSize({ width: 1920, height: 1080 });
      await shot(page, 'metrics-hot-1920x1080');

      // The ranking is a choice kept in the URL; the type filter narrows the rows.
      await panel.getByRole('button', { name: 'State size' }).click();
      await expect.poll(firstKey, { timeout: timing.uiMs, interval: timing.pollMs }).toBe('counter/e2e-big');
      expect(new URL(page.url()).searchParams.get('hot')).toBe('state');
      await panel.getByLabel('Hot objects of type').selectOption('counter');
      await expect.poll(firstKey, { timeout: timing.uiMs, interval: timing.pollMs }).toBe('counter/e2e-big');
      await panel.getByRole('button', { name: 'Calls/s' }).click();
      await expect.poll(firstKey, { timeout: timing.uiMs, interval: timing.pollMs }).toBe('counter/e2e-hot');

      // A row links to the object's detail.
      await panel.getByTestId('hot-row').first().getByRole('link', { name: 'counter/e2e-hot' }).click();
      await page.waitForURL(/\/objects\/counter\/e2e-hot$/, { timeout: timing.uiMs });

      // On the map: the hammered object is ringed at full intensity, and the legend explains the rings.
      await page.goto(`${stack.url}/`);
      await expect(page.getByTestId('map-legend-hot').textContent({ timeout: timing.uiMs })).resolves.toMatch(/hot: ringed, brighter and wider with more calls\/s/);
      const ring = page.locator('[data-testid=map-hot][data-key="counter/e2e-hot"]');
      await expect.poll(() => ring.getAttribute('data-intensity', { timeout: timing.uiLookMs }).catch(() => null), { timeout: timing.uiMs, interval: timing.pollMs })
        .toBe('1.00');
      await page.setViewportSize({ width: 1440, height: 900 });
      await shot(page, 'map-hot-1440x900');
      await page.close();
    } finally {
      running = false;
      await load;
      await context.close();
    }
  }, timing.uiLongTestMs);

  it('the UTC switch shows every time in UTC and back in local time, and is kept across a reload', async () => {
    // A browser whose local time is not UTC, so the two forms differ. The audit log has the actions of the tests above.
    const eastern = await browser.newContext({ viewport: { width: 1280, height: 720 }, timezoneId: 'America/New_York' });
    try {
      const page = await open(eastern, '/audit');
      const time = page.getByTestId('audit-time').first();
      const zone = page.getByTestId('time-zone');
      await time.waitFor({ timeout: timing.uiMs });
      expect(await zone.getAttribute('aria-pressed')).toBe('false');
      const local = (await time.textContent()) ?? '';
      const parsed = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) UTC([+-]\d\d:\d\d)$/.exec(local);
      expect(parsed, `a local timestamp: ${local}`).not.toBeNull();
      expect(parsed![3]).toMatch(/^-0[45]:00$/);
      // The same instant in UTC, worked out here rather than by the dashboard's own code.
      const utc = `${new Date(`${parsed![1]}T${parsed![2]}${parsed![3]}`).toISOString().slice(0, 19).replace('T', ' ')} UTC`;

      await zone.click();
      await expect.poll(() => time.textContent(), { timeout: timing.uiMs }).toBe(utc);
      expect(await zone.getAttribute('aria-pressed')).toBe('true');
      await shot(page, 'audit-utc');

      await page.reload();
      await expect.poll(() => time.textContent(), { timeout: timing.uiMs }).toBe(utc);
      expect(await zone.getAttribute('aria-pressed')).toBe('true');

      await zone.click();
      await expect.poll(() => time.textContent(), { timeout: timing.uiMs }).toBe(local);
      expect(await zone.getAttribute('aria-pressed')).toBe('false');
    } finally {
      await eastern.close();
    }
  });

  it('the main views fit 1440x900 and 1920x1080 at DPR 1, and the map canvas is drawn at the device pixel ratio (1 and 2)', async () => {
    const views: Array<[string, string]> = [
      ['/', 'map'], ['/objects', 'objects'], ['/nodes', 'nodes'], ['/events', 'events'], ['/charts', 'metrics'], ['/audit', 'audit'],
    ];
    for (const [width, height, dpr] of [[1440, 900, 1], [1920, 1080, 1], [1440, 900, 2]] as const) {
      const context = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: dpr });
      try {
        const page = await open(context, '/');
        for (const [path, name] of dpr === 1 ? views : views.slice(0, 1)) {
          await page.goto(`${stack.url}${path}`);
          await page.locator('main h1, [data-testid=cluster-map]').first().waitFor({ timeout: timing.uiMs });
          await hold(timing.uiSettleMs); // an error notice, or the map's cells, would show by now
          expect(await page.getByTestId('notice-error').count(), `an error notice on ${path}`).toBe(0);
          // Nothing wider than the window: no sideways scrolling at either size.
          expect(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'), `overflow on ${path} at ${width}px`).toBeLessThanOrEqual(0);
          if (path === '/') {
            // The canvas backing store matches its CSS size times the ratio: one canvas pixel per device pixel, so lines are crisp.
            const canvas = await page.evaluate(`(() => {
              const c = document.querySelector('[data-testid=cluster-map] canvas');
              const box = c.getBoundingClientRect();
              return { width: c.width, height: c.height, expectedWidth: Math.round(box.width * devicePixelRatio), expectedHeight: Math.round(box.height * devicePixelRatio) };
            })()`) as { width: number; height: number; expectedWidth: number; expectedHeight: number };
            expect(canvas.width).toBe(canvas.expectedWidth);
            expect(canvas.height).toBe(canvas.expectedHeight);
          }
          await shot(page, `${name}-${width}x${height}${dpr === 1 ? '' : `@${dpr}x`}`);
        }
      } finally {
        await context.close();
      }
    }
  }, timing.uiLongTestMs);

  it('every main view renders without an error (screenshots)', async () => {
    const views: Array<[string, string]> = [
      ['/objects', 'objects'], ['/nodes', 'nodes'], ['/nodes/node-a', 'node-detail'], ['/events', 'events'],
      ['/charts', 'metrics'], ['/audit', 'audit'],
    ];
    const page = await open(operator, '/');
    for (const [path, name] of views) {
      await page.goto(`${stack.url}${path}`);
      await page.locator('main h1').first().waitFor({ timeout: timing.uiMs }).catch(async (err: unknown) => {
        await shot(page, `failed-${name}`);
        throw new Error(`${path}: no heading (${(err as Error).message}); page text: ${(await page.locator('body').innerText()).slice(0, 400)}`);
      });
      // An error notice would show by now.
      await hold(timing.uiSettleMs);
      expect(await page.getByTestId('notice-error').count(), `an error notice on ${path}`).toBe(0);
      await shot(page, name);
    }
    await page.evaluate("localStorage.setItem('highlander.theme', 'dark')");
    await page.goto(`${stack.url}/`);
    await page.getByTestId('cluster-map').waitFor({ timeout: timing.uiMs });
    await hold(timing.uiSettleMs); // the map's cells have appeared
    await shot(page, 'map-dark');
    await page.close();
  }, timing.uiLongTestMs);
});
