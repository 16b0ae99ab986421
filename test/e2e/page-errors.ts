import type { Page } from '@playwright/test';
import { afterEach, expect } from 'vitest';

/**
 * Uncaught errors in the pages a test opened. An uncaught error in a Svelte update can leave a view
 * half-drawn without any visible error, so each one fails the test that was running when it was
 * thrown (checked after each test of a file that calls {@link failOnPageErrors}).
 */
const errors: string[] = [];

/** Records the uncaught errors of `page` under `label` (a path, or "phone"). */
export function watchPageErrors(page: Page, label: string): void {
  page.on('pageerror', (err) => {
    console.error(`page error on ${label}: ${err.message}`);
    errors.push(`${label}: ${err.message}`);
  });
}

/** In a test file: after each test, expects that no page threw meanwhile. */
export function failOnPageErrors(): void {
  afterEach(() => {
    expect(errors.splice(0), 'uncaught errors in the pages of this test').toEqual([]);
  });
}
