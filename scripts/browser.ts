/**
 * Debian's Chromium for the dashboard tests and benchmarks, launched by Playwright (nothing is
 * downloaded: `scripts/install-system-deps.sh --browser` installs it with apt).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from '@playwright/test';

export const CHROMIUM = process.env.HIGHLANDER_CHROMIUM ?? '/usr/bin/chromium';

/** Without the networking flags Chromium floods a closed network with refused connections. */
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--disable-quic',
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: run scripts/install-system-deps.sh --browser (or set HIGHLANDER_CHROMIUM)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}
