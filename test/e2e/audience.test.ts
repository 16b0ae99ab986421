import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page, WebSocketRoute } from '@playwright/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failOnPageErrors, watchPageErrors } from './page-errors.js';
import { launchChromium } from '../../scripts/browser.js';
import type { NodeProcess } from '../../scripts/cluster.js';
import { hold, timing } from '../harness/timing.js';
import { DashboardStack, OPERATOR, VIEWER } from './dashboard-stack.js';

failOnPageErrors();

/**
 * Audience feedback in Debian's Chromium on a real stack: three node processes, each with an
 * audience gateway, and the admin API process serving the dashboard. Three phones (390×844) join a
 * talk through the gateways of the nodes that do not own it; the presenter (1280×720) creates it in
 * the dashboard and watches it. Each phone's ws goes through a Playwright route that forwards it to
 * the gateway and records what the gateway answered, and that can play bad wifi (answers lost, the
 * connection dropped, reconnections refused). Screenshots: test-results/screenshots/audience-phone.png,
 * presenter.png.
 */

const DIST = fileURLToPath(new URL('../../dashboard/dist/audience.html', import.meta.url));
const SHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));
const TITLE = 'There can be only one';

let stack: DashboardStack;
let browser: Browser;
let presenterContext: BrowserContext;
let presenter: Page;
let code: string;
let owner: NodeProcess;
const phones: Phone[] = [];

/** One phone: its page, what the gateway sent it (acks and rejections, by ref), and its wifi. */
interface Phone {
  context: BrowserContext;
  page: Page;
  gateway: string;
  frames: Array<{ kind: string; ref?: string; reason?: string }>;
  wifi: {
    /** What the gateway sends is lost on the way. */
    deaf: boolean;
    /** New connections are dropped at once. */
    down: boolean;
    /** The page's current connection. */
    current: WebSocketRoute | null;
  };
}

async function openPhone(gateway: string): Promise<Phone> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const phone: Phone = { context, page: await context.newPage(), gateway, frames: [], wifi: { deaf: false, down: false, current: null } };
  await context.routeWebSocket(/\/audience\/ws\?/, (ws) => {
    if (phone.wifi.down) {
      void ws.close();
      return;
    }
    phone.wifi.current = ws;
    const server = ws.connectToServer();
    server.onMessage((message) => {
      if (phone.wifi.deaf) return;
      phone.frames.push(JSON.parse(String(message)) as Phone['frames'][number]);
      ws.send(message);
    });
  });
  watchPageErrors(phone.page, 'a phone');
  await phone.page.goto(`${gateway}/a/${code}`);
  await expect.poll(() => phone.page.getByTestId('talk-title').textContent(), { timeout: timing.uiMs }).toBe(TITLE);
  return phone;
}

/** Moves a phone's slider (as a drag would end) and waits until the talk acknowledged it. */
async function rate(phone: Phone, value: number): Promise<void> {
  await phone.page.getByTestId('position').fill(String(value));
  await expect.poll(() => phone.page.getByTestId('my-position').textContent(), { timeout: timing.uiMs }).toBe(String(value));
  await phone.page.getByTestId('position-saved').waitFor({ timeout: timing.uiFailoverMs });
}

function emojiButton(phone: Phone, emoji: string) {
  return phone.page.getByRole('button', { name: `Send ${emoji}` });
}

async function presenterAverage(): Promise<string | null> {
  return presenter.getByTestId('talk-average').textContent();
}

async function total(emoji: string): Promise<string | null> {
  const item = presenter.locator(`[data-testid=reaction-totals] li[data-emoji="${emoji}"] [data-testid=reaction-total]`);
  return (await item.count()) === 0 ? null : item.textContent();
}

async function apiGet<T>(path: string): Promise<T> {
  const response = await fetch(`${stack.url}${path}`, { headers: { authorization: `Bearer ${OPERATOR}` } });
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error('no built audience page: run `npm run build:dashboard` (scripts/test.sh does)');
  await mkdir(SHOTS, { recursive: true });
  stack = await DashboardStack.start({ sessionTimeoutMs: timing.uiSessionTimeoutMs, nodeEnv: { HIGHLANDER_AUDIENCE_PORT: '0' } });
  for (const node of stack.cluster.nodes) if (!node.audienceUrl) throw new Error(`${node.name} reported no audience gateway`);
  browser = await launchChromium();
  presenterContext = await browser.newContext({ viewport: { width: 1280, height: 720 } });
}, timing.uiStackStartMs);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('audience feedback in Chromium on a live cluster', () => {
  it('the presenter creates a talk in the dashboard and gets its join link and QR code', async () => {
    presenter = await presenterContext.newPage();
    watchPageErrors(presenter, 'the presenter');
    await presenter.goto(`${stack.url}/audience?token=${OPERATOR}`);
    await presenter.getByTestId('talk-title-input').fill(TITLE);
    await presenter.getByTestId('create-talk').click();
    await presenter.waitForURL(/\/audience\/[A-Z2-9]{4,8}$/, { timeout: timing.uiMs });
    code = new URL(presenter.url()).pathname.split('/').pop()!;
    await expect.poll(() => presenter.getByTestId('presenter-title').textContent(), { timeout: timing.uiMs }).toBe(TITLE);
    await expect.poll(() => presenter.getByTestId('join-url').textContent(), { timeout: timing.uiMs }).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/a/${code}$`));
    await presenter.getByTestId('join-qr').waitFor({ timeout: timing.uiMs });
    // Reactions float over every view of this screen from now on.
    await presenter.getByTestId('on-screen').click();
    expect(await presenter.getByTestId('on-screen').getAttribute('aria-pressed')).toBe('true');

    const talks = await apiGet<{ items: Array<{ code: string; owner: string | null }> }>('/api/talks');
    const ownerName = talks.items.find((t) => t.code === code)?.owner;
    expect(ownerName).toBeTruthy();
    owner = stack.cluster.nodes.find((n) => n.name === ownerName)!;
  });

  it('three phones join through the other nodes; their sliders make the presenter’s average', async () => {
    const others = stack.cluster.nodes.filter((n) => n !== owner);
    phones.push(await openPhone(others[0]!.audienceUrl!), await openPhone(others[1]!.audienceUrl!), await openPhone(others[0]!.audienceUrl!));
    await expect.poll(() => phones[0]!.page.getByTestId('participants').textContent(), { timeout: timing.uiMs }).toBe('3 people here');

    await rate(phones[0]!, 20);
    await rate(phones[1]!, 70);
    await rate(phones[2]!, 90);
    await expect.poll(presenterAverage, { timeout: timing.uiMs }).toBe('60');
    await expect.poll(() => presenter.getByTestId('talk-participants').textContent(), { timeout: timing.uiMs }).toBe('3');
    await expect.poll(() => presenter.getByTestId('talk-connected').textContent(), { timeout: timing.uiMs }).toBe('3');
    // A drag sends a few values a second, the last one always: the average follows the final value.
    const slider = phones[1]!.page.getByTestId('position');
    await slider.focus();
    for (let i = 0; i < 10; i++) await phones[1]!.page.keyboard.press('ArrowRight');
    await expect.poll(() => phones[1]!.page.getByTestId('my-position').textContent(), { timeout: timing.uiMs }).toBe('80');
    await expect.poll(presenterAverage, { timeout: timing.uiMs }).toBe('63.3');
    await expect.poll(() => presenter.locator('[data-testid=histogram] rect').evaluateAll((rects) => rects.map((r) => r.getAttribute('data-count'))), { timeout: timing.uiMs })
      .toEqual(['1', '1', '1']);
  });

  it('an emoji shows on the phone as sent, and floats over the presenter’s screen and in the feed', async () => {
    const phone = phones[0]!;
    await emojiButton(phone, '👏').click();
    await expect.poll(() => phone.page.getByTestId('notice-ok').textContent(), { timeout: timing.uiMs }).toBe('👏 sent ✓');
    await presenter.locator('[data-testid=floating-emoji]', { hasText: '👏' }).first().waitFor({ timeout: timing.uiMs });
    await expect.poll(() => total('👏'), { timeout: timing.uiMs }).toBe('1');
    await expect.poll(() => presenter.getByTestId('reaction-item').count(), { timeout: timing.uiMs }).toBe(1);
    // Over any view: the cluster map too.
    await presenter.getByRole('link', { name: 'Map', exact: true }).click();
    await emojiButton(phones[1]!, '❤️').click();
    await presenter.locator('[data-testid=floating-emoji]', { hasText: '❤️' }).first().waitFor({ timeout: timing.uiMs });
    await presenter.goBack();
    await expect.poll(() => total('❤️'), { timeout: timing.uiMs }).toBe('1');
    // Hidden on this screen: nothing floats, the feed still counts.
    await presenter.getByTestId('hide-reactions').check();
    expect(await presenter.getByTestId('emoji-overlay').count()).toBe(0);
    await emojiButton(phones[1]!, '😮').click();
    await expect.poll(() => total('😮'), { timeout: timing.uiMs }).toBe('1');
    expect(await presenter.getByTestId('emoji-overlay').count()).toBe(0);
    await presenter.getByTestId('hide-reactions').uncheck();
    await presenter.getByTestId('emoji-overlay').waitFor({ timeout: timing.uiMs });
  });

  it('the rate limit holds: six emoji in a burst, five acknowledged, one refused and said so', async () => {
    const phone = phones[2]!;
    const before = phone.frames.length;
    // Six taps in one go (well within the second in which the bucket regains a token).
    await emojiButton(phone, '🎉').evaluate((button) => {
      for (let i = 0; i < 6; i++) (button as unknown as { click(): void }).click();
    });
    await expect.poll(() => phone.page.getByTestId('notice-warn').textContent(), { timeout: timing.uiMs }).toMatch(/^Slow down: one emoji per second/);
    await expect.poll(() => phone.frames.slice(before).filter((f) => f.kind === 'ack' && f.ref?.startsWith('e')).length, { timeout: timing.uiMs }).toBe(5);
    const rejected = phone.frames.slice(before).filter((f) => f.kind === 'rejected');
    expect(rejected).toEqual([expect.objectContaining({ reason: 'rate-limited', ref: expect.stringMatching(/^e/) })]);
    await expect.poll(() => total('🎉'), { timeout: timing.uiMs }).toBe('5');
    await phone.page.screenshot({ path: `${SHOTS}audience-phone.png` });
  });

  it('a reloaded phone keeps its position', async () => {
    const phone = phones[0]!;
    await phone.page.reload();
    await expect.poll(() => phone.page.getByTestId('my-position').textContent(), { timeout: timing.uiMs }).toBe('20');
    expect(await phone.page.getByTestId('position').inputValue()).toBe('20');
    await expect.poll(() => phone.page.getByTestId('participants').textContent(), { timeout: timing.uiMs }).toBe('3 people here');
    await expect.poll(presenterAverage, { timeout: timing.uiMs }).toBe('63.3');
  });

  it('bad wifi: the phone says reconnecting…, resends its slider, and reports an unacknowledged emoji instead of resending it', async () => {
    const phone = phones[1]!;
    // The answers stop arriving: the 🤔 reaches the talk, its ack does not reach the phone.
    phone.wifi.deaf = true;
    await emojiButton(phone, '🤔').click();
    await expect.poll(() => total('🤔'), { timeout: timing.uiMs }).toBe('1');
    // Then the connection drops, and reconnecting fails for a while.
    phone.wifi.down = true;
    await phone.wifi.current!.close();
    await phone.page.getByTestId('reconnecting').waitFor({ timeout: timing.uiMs });
    await expect.poll(() => phone.page.getByTestId('notice-warn').textContent(), { timeout: timing.uiMs }).toBe('🤔 not confirmed: the connection dropped');
    // Moved while offline: shown at once, sent when the connection is back.
    await phone.page.getByTestId('position').fill('10');
    await hold(timing.offlineMs);
    expect(await presenterAverage()).toBe('63.3');
    phone.wifi.deaf = false;
    phone.wifi.down = false;
    await phone.page.getByTestId('reconnecting').waitFor({ state: 'detached', timeout: timing.uiMs });
    await phone.page.getByTestId('position-saved').waitFor({ timeout: timing.uiMs });
    await expect.poll(presenterAverage, { timeout: timing.uiMs }).toBe('40');
    // Not sent twice: a resent 🤔 would have reached the talk by now.
    await hold(timing.resendWindowMs);
    expect(await total('🤔')).toBe('1');
  });

  it('the presenter downloads the talk as CSV and JSON; a viewer sees it without the controls', async () => {
    const [csv] = await Promise.all([presenter.waitForEvent('download'), presenter.getByTestId('export-csv').click()]);
    expect(csv.suggestedFilename()).toMatch(new RegExp(`^talk-${code}-.*\\.csv$`));
    const csvText = await readFile((await csv.path())!, 'utf8');
    expect(csvText.split('\n')[0]).toBe('time,average,participants,connected,reactions');
    const [json] = await Promise.all([presenter.waitForEvent('download'), presenter.getByTestId('export-json').click()]);
    const exported = JSON.parse(await readFile((await json.path())!, 'utf8')) as { code: string; totals: Record<string, number>; positions: Record<string, number> };
    expect(exported.code).toBe(code);
    expect(exported.totals).toMatchObject({ '👏': 1, '❤️': 1, '🎉': 5, '🤔': 1, '😮': 1 });
    expect(Object.values(exported.positions).sort((x, y) => x - y)).toEqual([10, 20, 90]);

    const viewerContext = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    try {
      const viewer = await viewerContext.newPage();
      await viewer.goto(`${stack.url}/audience/${code}?token=${VIEWER}`);
      await expect.poll(() => viewer.getByTestId('talk-average').textContent(), { timeout: timing.uiMs }).toBe('40');
      for (const control of ['close-talk', 'open-talk', 'reset-talk']) expect(await viewer.getByTestId(control).count()).toBe(0);
      await viewer.getByRole('link', { name: '← Talks' }).click();
      await viewer.getByTestId('talk-row').first().waitFor({ timeout: timing.uiMs });
      expect(await viewer.getByTestId('create-talk').count()).toBe(0);
    } finally {
      await viewerContext.close();
    }
  });

  it('killing the talk’s owner (-9) loses nothing: the average and totals survive and the room goes on', async () => {
    owner.kill('SIGKILL');
    // The presenter sees the node go on the talk's timeline.
    await presenter.locator('[data-testid=timeline-marker][data-kind~=node-down]').first().waitFor({ timeout: timing.uiFailoverMs });
    expect((await presenter.getByTestId('timeline-marker').allTextContents()).join('\n')).toContain(`${owner.name} down`);
    // The room keeps going: a new rating and a new emoji reach the talk on its new owner.
    await rate(phones[2]!, 30);
    await expect.poll(presenterAverage, { timeout: timing.uiFailoverMs }).toBe('20');
    for (const [emoji, count] of [['👏', '1'], ['🎉', '5'], ['❤️', '1'], ['🤔', '1'], ['😮', '1']] as const) {
      await expect.poll(() => total(emoji), { timeout: timing.uiMs }).toBe(count);
    }
    await emojiButton(phones[1]!, '🔥').click();
    await expect.poll(() => phones[1]!.page.getByTestId('notice-ok').textContent(), { timeout: timing.uiFailoverMs }).toBe('🔥 sent ✓');
    await expect.poll(() => total('🔥'), { timeout: timing.uiMs }).toBe('1');
    await expect.poll(() => presenter.getByTestId('talk-participants').textContent(), { timeout: timing.uiMs }).toBe('3');
    const talks = await apiGet<{ items: Array<{ code: string; owner: string | null }> }>('/api/talks');
    expect(talks.items.find((t) => t.code === code)?.owner).not.toBe(owner.name);
    await presenter.screenshot({ path: `${SHOTS}presenter.png` });
    // The whole view (the dashboard scrolls inside its main area): the timeline with the kill on it.
    await presenter.setViewportSize({ width: 1280, height: 1400 });
    await presenter.screenshot({ path: `${SHOTS}presenter-full.png` });
  }, timing.uiLongTestMs);
});
