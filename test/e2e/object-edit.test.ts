import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Browser, BrowserContext, Locator, Page } from '@playwright/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failOnPageErrors, watchPageErrors } from './page-errors.js';
import { launchChromium } from '../../scripts/browser.js';
import type { NodeProcess } from '../../scripts/cluster.js';
import { s3ClientConfig } from '../../scripts/servers/s3-client-config.js';
import { s3Config } from '../harness/servers.js';
import { timing } from '../harness/timing.js';
import { DashboardStack, OPERATOR, VIEWER } from './dashboard-stack.js';

failOnPageErrors();

/**
 * The object detail's Invoke panel and Edit state action in Debian's Chromium against a real stack
 * (ZooKeeper, radosgw, three node processes, the admin API process serving the built dashboard):
 * what each role is offered, replies and errors in place, the diff before a replacement, and a
 * conflict shown with both versions. Screenshots go to test-results/screenshots/.
 */

const DIST = fileURLToPath(new URL('../../dashboard/dist/index.html', import.meta.url));
const SHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));

let stack: DashboardStack;
let browser: Browser;
let a: NodeProcess;
let b: NodeProcess;

async function open(context: BrowserContext, path: string, token = OPERATOR): Promise<Page> {
  const page = await context.newPage();
  watchPageErrors(page, path);
  await page.goto(`${stack.url}${path}${path.includes('?') ? '&' : '?'}token=${token}`);
  await page.getByTestId('live-indicator').and(page.locator('[data-status=live]')).waitFor({ timeout: timing.uiMs });
  return page;
}

const valueOf = (node: NodeProcess, id: string) => node.call<number>('counter', id, 'value', null);

/** The rows of a line diff as `<kind> <marker> <text>` (indentation left out): what a reader sees, colour aside. */
function diffRows(diff: Locator): Promise<string[]> {
  return diff.getByTestId('diff-line').evaluateAll((rows) => rows.map((row) => {
    const marker = row.querySelector('.marker')?.textContent ?? '';
    const text = row.querySelector('.text')?.lastChild?.textContent ?? '';
    return [row.getAttribute('data-kind'), marker.trim(), text.trim()].filter(Boolean).join(' ');
  }));
}

beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error('no built dashboard: run `npm run build:dashboard` (scripts/test.sh does)');
  await mkdir(SHOTS, { recursive: true });
  stack = await DashboardStack.start({ sessionTimeoutMs: timing.sessionTimeoutMs });
  [a, b] = stack.cluster.nodes as [NodeProcess, NodeProcess];
  browser = await launchChromium();
}, timing.uiStackStartMs);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('invoke and edit state in the object detail, in Chromium', () => {
  it('an operator runs a handler and a query and sees the reply, and a failing handler\'s error', async () => {
    await a.call('counter', 'ui-1', 'add', 4);
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    try {
      const page = await open(context, '/objects/counter/ui-1');
      const handler = page.getByTestId('invoke-handler');
      await expect.poll(() => handler.locator('option').allTextContents(), { timeout: timing.uiMs })
        .toEqual(expect.arrayContaining([expect.stringMatching(/^value \(query/), expect.stringMatching(/^add \(handler/)]));
      await handler.selectOption('add');
      await page.getByTestId('invoke-arg').fill('{oops');
      await page.getByTestId('invoke-arg-problem').waitFor({ timeout: timing.uiMs });
      expect(await page.getByTestId('invoke-run').isDisabled()).toBe(true);
      await page.getByTestId('invoke-arg').fill('6');
      await page.getByTestId('invoke-run').click();
      await expect.poll(() => page.getByTestId('invoke-result').locator('pre').textContent(), { timeout: timing.uiActionMs }).toBe('10\n');
      expect(await valueOf(b, 'ui-1')).toBe(10);
      await page.screenshot({ path: `${SHOTS}object-invoke.png` });

      await handler.selectOption('explode');
      await page.getByTestId('invoke-arg').fill('');
      await page.getByTestId('invoke-run').click();
      await expect.poll(() => page.getByTestId('invoke-error').textContent(), { timeout: timing.uiActionMs }).toMatch(/^HANDLER_FAILED: .*boom/);
      expect(await valueOf(b, 'ui-1')).toBe(10);
    } finally {
      await context.close();
    }
  });

  it('an argument with a schema is filled in with a form drawn from it; the node still checks it; JSON is a click away', async () => {
    await a.call('set', 'ui-form', 'add', 'grace');
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    try {
      const page = await open(context, '/objects/set/ui-form');
      const handler = page.getByTestId('invoke-handler');
      await expect.poll(() => handler.locator('option').count(), { timeout: timing.uiMs }).toBe(2);
      await handler.selectOption('add');
      // set's `add` takes z.string().min(1).max(100): one text field, with what the schema says of it.
      const form = page.getByTestId('invoke-form');
      await form.waitFor({ timeout: timing.uiMs });
      expect(await form.textContent()).toContain('at least 1 character, at most 100');
      await form.locator('input[type=text]').fill('ada');
      await page.getByTestId('invoke-run').click();
      await expect.poll(async () => (await a.call<boolean>('set', 'ui-form', 'has', 'ada')), { timeout: timing.uiActionMs }).toBe(true);
      await page.screenshot({ path: `${SHOTS}object-invoke-form.png` });
      // An empty name passes the form (a string) but not the type's schema: the node refuses it, and says why.
      await form.locator('input[type=text]').fill('');
      await page.getByTestId('invoke-run').click();
      await expect.poll(() => page.getByTestId('invoke-error').textContent(), { timeout: timing.uiActionMs }).toMatch(/^INVALID_ARGUMENT: /);
      // The JSON editor takes over with what the form held.
      await form.locator('input[type=text]').fill('lin');
      await page.getByRole('group', { name: 'Argument as' }).getByRole('button', { name: 'JSON' }).click();
      expect(await page.getByTestId('invoke-arg').inputValue()).toBe('"lin"');
      // A query with a schema gets its form too.
      await handler.selectOption('has');
      await page.getByTestId('invoke-form-mode').click();
      await form.locator('input[type=text]').fill('ada');
      await page.getByTestId('invoke-run').click();
      await expect.poll(() => page.getByTestId('invoke-result').locator('pre').textContent(), { timeout: timing.uiActionMs }).toBe('true\n');
    } finally {
      await context.close();
    }
  });

  it('a viewer is offered queries only and no state editor', async () => {
    await a.call('counter', 'ui-2', 'add', 2);
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    try {
      const page = await open(context, '/objects/counter/ui-2', VIEWER);
      const handler = page.getByTestId('invoke-handler');
      await expect.poll(() => handler.locator('option').allTextContents(), { timeout: timing.uiMs }).toEqual(['value (query, reads)', 'dividedBy (query, reads)']);
      await handler.selectOption({ label: 'value (query, reads)' });
      await page.getByTestId('invoke-run').click();
      await expect.poll(() => page.getByTestId('invoke-result').locator('pre').textContent(), { timeout: timing.uiActionMs }).toBe('2\n');
      expect(await page.getByTestId('edit-state').count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it('an operator edits the state after seeing the diff; a change meanwhile is refused with both versions, then the current one is edited', async () => {
    await a.call('counter', 'ui-3', 'add', 1);
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    try {
      const page = await open(context, '/objects/counter/ui-3');
      await expect.poll(() => page.getByTestId('owner').textContent(), { timeout: timing.uiMs }).toBe('node-a');
      await page.getByTestId('edit-state').click();
      const editor = page.getByTestId('state-text');
      expect(JSON.parse(await editor.inputValue())).toEqual({ value: 1 });
      const seen = Number(/editing version (\d+)/.exec((await page.getByTestId('state-editor').textContent()) ?? '')?.[1]);
      await editor.fill('{ "value": 42 }');
      await page.getByTestId('state-review').click();
      expect(await page.locator('dialog[open]').getByTestId('state-diff-summary').textContent()).toBe('changed value');
      // The changed line, old and new, each with its marker: not colour alone.
      expect(await diffRows(page.locator('dialog[open]').getByTestId('line-diff'))).toEqual([
        'same {', 'changed-removed − "value": 1', 'changed-added + "value": 42', 'same }',
      ]);
      // The dialog holds the diff without scrolling sideways.
      expect(await page.locator('dialog[open]').evaluate((d) => d.scrollWidth - d.clientWidth)).toBeLessThanOrEqual(0);
      await page.screenshot({ path: `${SHOTS}object-edit-diff.png` });
      await page.locator('dialog[open]').getByTestId('confirm').click();
      await page.getByTestId('notice-success').filter({ hasText: 'Replaced the state of counter/ui-3' }).waitFor({ timeout: timing.uiActionMs });
      expect(await valueOf(b, 'ui-3')).toBe(42);

      // Open the editor on the new version, then change the object behind the operator's back.
      await expect.poll(() => page.getByTestId('edit-state').isEnabled(), { timeout: timing.uiMs }).toBe(true);
      await expect.poll(async () => {
        await page.getByTestId('edit-state').click();
        const text = (await page.getByTestId('state-editor').textContent()) ?? '';
        if (text.includes(`editing version ${seen + 1}`)) return true;
        await page.getByTestId('state-cancel').click(); // the view had not read the new state yet
        return false;
      }, { timeout: timing.uiMs }).toBe(true);
      await a.call('counter', 'ui-3', 'add', 1);
      await editor.fill('{ "value": 7 }');
      await page.getByTestId('state-review').click();
      await page.locator('dialog[open]').getByTestId('confirm').click();
      const conflict = page.getByTestId('state-conflict');
      await conflict.waitFor({ timeout: timing.uiActionMs });
      expect(await page.getByTestId('conflict-expected').textContent()).toBe(String(seen + 1));
      expect(await page.getByTestId('conflict-current').textContent()).toBe(String(seen + 2));
      expect(JSON.parse((await conflict.locator('pre').textContent()) ?? '')).toEqual({ value: 43 });
      await page.screenshot({ path: `${SHOTS}object-edit-conflict.png` });
      expect(await valueOf(b, 'ui-3')).toBe(43);

      await page.getByTestId('conflict-reload').click();
      expect(await page.getByTestId('state-editor').textContent()).toContain(`editing version ${seen + 2}`);
      await editor.fill('{ "value": 7 }');
      await page.getByTestId('state-review').click();
      await page.locator('dialog[open]').getByTestId('confirm').click();
      await expect.poll(() => valueOf(b, 'ui-3'), { timeout: timing.uiActionMs }).toBe(7);
      expect(await page.getByTestId('notice-error').count()).toBe(0);
    } finally {
      await context.close();
    }
  }, timing.uiLongTestMs);

  it('an operator restores the state an edit replaced, from the object\'s edits; a viewer sees the edits only', async () => {
    await a.call('counter', 'ui-restore', 'add', 5);
    // An edit through the admin API, as `highlander put` makes it: 5 → 99.
    const detail = await (await fetch(`${stack.url}/api/objects/counter/ui-restore`, { headers: { authorization: `Bearer ${OPERATOR}` } })).json() as { memory: { version: number } };
    const edited = await fetch(`${stack.url}/api/objects/counter/ui-restore/state`, {
      method: 'PUT', headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
      body: JSON.stringify({ state: { value: 99 }, expectedVersion: detail.memory.version }),
    });
    expect(edited.status).toBe(200);
    const replaced = detail.memory.version;

    const viewerContext = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    try {
      const page = await open(viewerContext, '/objects/counter/ui-restore', VIEWER);
      await expect.poll(() => page.getByTestId('state-edit').count(), { timeout: timing.uiMs }).toBe(1);
      expect(await page.getByTestId('state-edit').textContent()).toContain(`replaced version ${replaced}`);
      expect(await page.getByTestId('state-edit-restore').count()).toBe(0);
    } finally {
      await viewerContext.close();
    }

    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    try {
      const page = await open(context, '/objects/counter/ui-restore');
      const restore = page.getByTestId('state-edit-restore');
      await restore.waitFor({ timeout: timing.uiMs });
      expect(await restore.textContent()).toContain(`Restore version ${replaced}`);
      await expect.poll(() => page.getByTestId('edit-state').isEnabled(), { timeout: timing.uiMs }).toBe(true);
      await restore.click();
      expect(await page.getByTestId('state-restoring').textContent()).toContain(`Restoring version ${replaced}`);
      expect(JSON.parse(await page.getByTestId('state-text').inputValue())).toEqual({ value: 5 });
      await page.getByTestId('state-review').click();
      expect(await diffRows(page.locator('dialog[open]').getByTestId('line-diff'))).toEqual([
        'same {', 'changed-removed − "value": 99', 'changed-added + "value": 5', 'same }',
      ]);
      await page.screenshot({ path: `${SHOTS}object-restore-1440x900.png` });
      await page.setViewportSize({ width: 1920, height: 1080 });
      await page.screenshot({ path: `${SHOTS}object-restore-1920x1080.png` });
      await page.locator('dialog[open]').getByTestId('confirm').click();
      await page.getByTestId('notice-success').filter({ hasText: `Restored version ${replaced}` }).waitFor({ timeout: timing.uiActionMs });
      expect(await valueOf(b, 'ui-restore')).toBe(5);
      // The restore is an edit too: audited, listed, and itself restorable.
      await expect.poll(() => page.getByTestId('state-edit').count(), { timeout: timing.uiMs }).toBe(2);
      expect(await page.getByTestId('notice-error').count()).toBe(0);
    } finally {
      await context.close();
    }
  }, timing.uiLongTestMs);

  it('when the store holds something else at the same version as memory, the object view says so and shows the lines and paths where', async () => {
    for (const name of ['ada', 'grace', 'lin']) await a.call('set', 'ui-diff', 'add', name);
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    const s3 = new S3Client(s3ClientConfig(s3Config()));
    try {
      const page = await open(context, '/objects/set/ui-diff');
      const summary = page.getByTestId('diff-summary');
      // Every call is persisted before it is answered: once read, memory and store agree.
      await expect.poll(async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        return summary.textContent({ timeout: timing.uiLookMs }).catch(() => null);
      }, { timeout: timing.uiMs, interval: timing.pollMs }).toBe('In memory and persisted state are the same.');
      expect(await page.getByTestId('line-diff').count()).toBe(0);

      // Rewrite the stored document behind the owner's back, keeping its version and epoch.
      const { bucket } = s3Config();
      const key = `${stack.config.root.slice(1)}/objects/set/ui-diff.json`;
      const stored = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const envelope = JSON.parse(await stored.Body!.transformToString('utf8')) as { highlander: unknown; state: unknown };
      const tampered = { highlander: envelope.highlander, state: { note: 'written outside the owner', elements: ['ada', 'grace', 'linus'] } };
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(tampered), ContentType: 'application/json', Metadata: stored.Metadata }));

      await expect.poll(async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        return summary.textContent({ timeout: timing.uiLookMs }).catch(() => null);
      }, { timeout: timing.uiMs, interval: timing.pollMs }).toMatch(/^At the same version \(\d+\) they differ: changed elements\[2\]; only persisted note\. Lines 5–6 of the diff below\.$/);
      const diff = page.getByTestId('line-diff');
      expect(await diffRows(diff)).toEqual([
        'same "elements": [', 'same "ada",', 'same "grace",',
        'changed-removed − "linus"', 'changed-removed − ],', 'removed − "note": "written outside the owner"',
        'changed-added + "lin"', 'changed-added + ]',
        'same }',
      ]);
      expect(await diff.getByTestId('line-diff-counts').textContent()).toBe('lines: 2 changed, 0 added, 1 removed');
      await page.screenshot({ path: `${SHOTS}object-state-differs-1440x900.png` });
    } finally {
      s3.destroy();
      await context.close();
    }
  });

  it('a change too big to diff line by line is summed up in the review: how many lines, from where', async () => {
    await a.call('set', 'ui-big', 'add', 'ada');
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    try {
      const page = await open(context, '/objects/set/ui-big');
      await expect.poll(() => page.getByTestId('edit-state').isEnabled(), { timeout: timing.uiMs }).toBe(true);
      await page.getByTestId('edit-state').click();
      // 3,000 new lines after "ada": more differing lines than the diff works out one by one.
      const names = ['ada', ...Array.from({ length: 3000 }, (_, i) => `name-${i}`)];
      // Set at once (typing 3,000 lines into the field would only test the keyboard).
      await page.getByTestId('state-text').evaluate((field, text) => {
        const area = field as unknown as { value: string; dispatchEvent(event: Event): boolean };
        area.value = text;
        area.dispatchEvent(new Event('input', { bubbles: true }));
      }, JSON.stringify({ elements: names }, null, 2));
      await page.getByTestId('state-review').click();
      const dialog = page.locator('dialog[open]');
      // The summary names the first few paths, not 3,000 of them.
      expect(await dialog.getByTestId('state-diff-summary').textContent({ timeout: timing.uiMs }))
        .toBe('added elements[1], elements[2], elements[3], elements[4], elements[5] and 2,995 more');
      expect(await dialog.getByTestId('line-diff-too-big').textContent({ timeout: timing.uiMs }))
        .toMatch(/^\s*Too many changes to show line by line: 1 of 5 lines\s+become 3,001 of 3,005, the first at line 3 \(elements\[0\]\)\.\s*$/);
      expect(await dialog.getByTestId('diff-line').count()).toBe(0);
      await page.screenshot({ path: `${SHOTS}object-edit-diff-too-big.png` });
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      expect(await a.call<boolean>('set', 'ui-big', 'has', 'name-0')).toBe(false);
    } finally {
      await context.close();
    }
  });
});
