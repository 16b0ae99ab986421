import { expect } from 'vitest';
import { OptionsError, renderHelp, renderMarkdownTable, type OptionTable } from '@highlander/kit';

/** The problems an option parse reported (the test fails if it threw anything else, or nothing). */
export function problems(run: () => unknown): string[] {
  try {
    run();
  } catch (err) {
    if (err instanceof OptionsError) return [...err.problems];
    throw err;
  }
  throw new Error('expected an OptionsError');
}

/**
 * What every option table must hold: each default is a valid value, no option is both required and
 * defaulted, and `--help` and the docs' table list every option with its flag and its variable.
 */
export function expectCompleteTable(table: OptionTable): void {
  for (const [key, option] of Object.entries(table)) {
    if (option.default !== undefined) expect(option.schema.safeParse(option.default).success, `${key}: default '${option.default}'`).toBe(true);
    expect(Boolean(option.required) && option.default !== undefined, `${key}: required with a default`).toBe(false);
  }
  const help = renderHelp(table, { usage: 'usage: x' });
  const doc = renderMarkdownTable(table);
  for (const option of Object.values(table)) {
    expect(help).toContain(`--${option.flag}`);
    expect(doc).toContain(`\`--${option.flag}`);
    if (option.env) {
      expect(help).toContain(option.env);
      expect(doc).toContain(option.env);
    }
  }
}
