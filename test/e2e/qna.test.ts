import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from '@playwright/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failOnPageErrors, watchPageErrors } from './page-errors.js';
import { launchChromium } from '../../scripts/browser.js';
import { timing } from '../harness/timing.js';
import { DashboardStack, OPERATOR } from './dashboard-stack.js';

failOnPageErrors();

/**
 * Audience Q&A and presenter mode in Debian's Chromium on a real stack: three node processes with
 * audience gateways and the admin API process. Two phones (390×844) on different gateways ask and
 * vote and watch the order change; the presenter moderates in the dashboard; presenter mode shows
 * the join code, the mood, the on-screen question and the floating emoji at projector sizes (DPR 1).
 * Screenshots: test-results/screenshots/present-1920x1080.png, present-1280x720.png,
 * present-stage-1280x720.png, phone-questions.png.
 */

const DIST = fileURLToPath(new URL('../../dashboard/dist/audience.html', import.meta.url));
const SHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));
const TITLE = 'There can be only one';
const FENCING = 'How does fencing stop a paused owner?';
const QUORUM = 'What happens when ZooKeeper loses quorum?';
const RUDE = 'Is this talk as long as it feels?';

let stack: DashboardStack;
let browser: Browser;
let code: string;
let presenter: Page;
const phones: Page[] = [];

async function openPhone(gateway: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const page = await context.newPage();
  watchPageErrors(page, 'a phone');
  await page.goto(`${gateway}/a/${code}`);
  await expect.poll(() => page.getByTestId('talk-title').textContent(), { timeout: timing.uiMs }).toBe(TITLE);
  return page;
}

/** The questions a phone shows, top to bottom, with their votes. */
function listed(page: Page): Promise<string[]> {
  return page.getByTestId('question').evaluateAll((items) => items.map((li) => `${li.querySelector('[data-testid=votes]')?.textContent} ${li.querySelector('[data-testid=question-text]')?.textContent}`));
}

async function askOn(page: Page, text: string): Promise<void> {
  await page.getByTestId('question-input').fill(text);
  await page.getByTestId('ask').click();
  await expect.poll(() => page.getByTestId('notice-ok').textContent(), { timeout: timing.uiMs }).toMatch(/^Question sent ✓/);
  // The form is cleared once the question is acknowledged (in the update after the notice).
  await expect.poll(() => page.getByTestId('question-input').inputValue(), { timeout: timing.uiMs }).toBe('');
}

function voteButton(page: Page, text: string) {
  return page.getByTestId('question').filter({ hasText: text }).getByTestId('vote');
}

beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error('no built audience page: run `npm run build:dashboard` (scripts/test.sh does)');
  await mkdir(SHOTS, { recursive: true });
  stack = await DashboardStack.start({ sessionTimeoutMs: timing.uiSessionTimeoutMs, nodeEnv: { HIGHLANDER_AUDIENCE_PORT: '0' } });
  browser = await launchChromium();
  const created = await fetch(`${stack.url}/api/talks`, {
    method: 'POST', headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' }, body: JSON.stringify({ title: TITLE }),
  });
  expect(created.status).toBe(200);
  code = ((await created.json()) as { talk: { code: string } }).talk.code;
}, timing.uiStackStartMs);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('audience Q&A and presenter mode in Chromium on a live cluster', () => {
  it('phones on two gateways ask and upvote; both see the order change live; markup stays text', async () => {
    const [a, b] = stack.cluster.nodes;
    phones.push(await openPhone(a!.audienceUrl!), await openPhone(b!.audienceUrl!));
    const [ann, bob] = phones as [Page, Page];
    await askOn(ann, FENCING);
    await askOn(bob, QUORUM);
    await askOn(bob, `<img src=x onerror=alert(1)> ${RUDE}`);
    for (const phone of phones) {
      await expect.poll(() => listed(phone), { timeout: timing.uiMs }).toEqual([`0 ${FENCING}`, `0 ${QUORUM}`, `0 <img src=x onerror=alert(1)> ${RUDE}`]);
    }
    // Shown as text: no element was made from the question.
    expect(await bob.locator('[data-testid=question] img').count()).toBe(0);
    // Ann votes for Bob's question: it moves to the top on both phones.
    await voteButton(ann, QUORUM).click();
    expect(await voteButton(ann, QUORUM).getAttribute('aria-pressed')).toBe('true');
    for (const phone of phones) await expect.poll(async () => (await listed(phone))[0], { timeout: timing.uiMs }).toBe(`1 ${QUORUM}`);
    // Bob votes for Ann's, then takes it back: counted once, then not at all.
    await voteButton(bob, FENCING).click();
    await expect.poll(async () => (await listed(ann)).slice(0, 2), { timeout: timing.uiMs }).toEqual([`1 ${FENCING}`, `1 ${QUORUM}`]);
    await voteButton(bob, FENCING).click();
    await expect.poll(async () => (await listed(ann)).slice(0, 2), { timeout: timing.uiMs }).toEqual([`1 ${QUORUM}`, `0 ${FENCING}`]);
    // Too long: the phone says so before sending, and the Ask button stays off.
    await ann.getByTestId('question-input').fill('x'.repeat(281));
    await expect.poll(() => ann.getByTestId('question-count').textContent(), { timeout: timing.uiMs }).toBe('281 / 280 · too long');
    expect(await ann.getByTestId('ask').isDisabled()).toBe(true);
    await ann.getByTestId('question-input').fill('');
    await ann.screenshot({ path: `${SHOTS}phone-questions.png` });
  });

  it('the presenter hides a question: it goes from every phone; puts one on screen: phones tag it', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    presenter = await context.newPage();
    watchPageErrors(presenter, 'the presenter');
    await presenter.goto(`${stack.url}/audience/${code}?token=${OPERATOR}`);
    const rude = presenter.getByTestId('presenter-question').filter({ hasText: RUDE });
    await rude.waitFor({ timeout: timing.uiMs });
    await rude.getByTestId('hide').click();
    for (const phone of phones) {
      await expect.poll(() => listed(phone), { timeout: timing.uiMs }).toEqual([`1 ${QUORUM}`, `0 ${FENCING}`]);
    }
    await presenter.getByTestId('presenter-question').filter({ hasText: QUORUM }).getByTestId('screen').click();
    for (const phone of phones) {
      await phone.getByTestId('question').filter({ hasText: QUORUM }).getByText('on screen').waitFor({ timeout: timing.uiMs });
    }
  });

  it('presenter mode: join code, URL and QR, the mood, the question on screen, and emoji that float without a click; keys', async () => {
    await phones[0]!.getByTestId('position').fill('70');
    await phones[1]!.getByTestId('position').fill('90');
    for (const [width, height] of [[1920, 1080], [1280, 720]] as const) {
      await presenter.setViewportSize({ width, height });
      await presenter.goto(`${stack.url}/present/${code}`);
      await expect.poll(() => presenter.getByTestId('present-code').textContent(), { timeout: timing.uiMs }).toBe(code);
      expect(await presenter.getByTestId('present-url').textContent()).toMatch(new RegExp(`^127\\.0\\.0\\.1:\\d+/a/${code}$`));
      await presenter.getByTestId('join-qr').waitFor({ timeout: timing.uiMs });
      await expect.poll(() => presenter.getByTestId('present-question').textContent(), { timeout: timing.uiMs }).toContain(QUORUM);
      await expect.poll(() => presenter.getByTestId('talk-average').textContent(), { timeout: timing.uiMs }).toBe('80');
      // No operator navigation on stage.
      expect(await presenter.getByRole('navigation').count()).toBe(0);
      // Nothing scrolls: everything is on the screen.
      const page = await presenter.evaluate('({ height: document.documentElement.scrollHeight, width: document.documentElement.scrollWidth })') as { height: number; width: number };
      expect(page).toEqual({ height, width });
      // The QR code is sized to the screen.
      const qr = await presenter.getByTestId('join-qr').boundingBox();
      expect(qr!.width).toBeGreaterThan(width * 0.2);
      // A reaction floats up without anyone opting in on this screen.
      await phones[0]!.getByRole('button', { name: 'Send 😂' }).click();
      await presenter.locator('[data-testid=floating-emoji]', { hasText: '😂' }).first().waitFor({ timeout: timing.uiMs });
      await expect.poll(() => presenter.getByTestId('present-connected').textContent(), { timeout: timing.uiMs }).toBe('2');
      await presenter.screenshot({ path: `${SHOTS}present-${width}x${height}.png` });
    }
    // Keys: ? lists them; Q hides the QR; S shows the cluster map beside the mood; P pauses the emoji.
    await presenter.keyboard.press('?');
    await presenter.getByTestId('present-keys').waitFor({ timeout: timing.uiMs });
    expect(await presenter.getByTestId('present-keys').textContent()).toMatch(/Q.*QR.*S.*Stage.*P.*Pause.*R.*Reset.*F.*Full screen/s);
    await presenter.keyboard.press('Escape');
    await presenter.getByTestId('present-keys').waitFor({ state: 'detached', timeout: timing.uiMs });
    await presenter.keyboard.press('q');
    await presenter.getByTestId('present-qr').waitFor({ state: 'detached', timeout: timing.uiMs });
    await presenter.keyboard.press('q');
    await presenter.keyboard.press('s');
    await presenter.getByTestId('present-map').getByTestId('cluster-map').waitFor({ timeout: timing.uiMs });
    await expect.poll(() => presenter.getByTestId('map-region').count(), { timeout: timing.uiMs }).toBe(3);
    await presenter.screenshot({ path: `${SHOTS}present-stage-1280x720.png` });
    // R asks before resetting the round.
    await presenter.keyboard.press('r');
    await presenter.getByRole('dialog', { name: 'Reset the round?' }).waitFor({ timeout: timing.uiMs });
    await presenter.getByRole('button', { name: 'Cancel' }).click();
  });
});
