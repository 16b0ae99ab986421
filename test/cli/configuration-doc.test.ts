import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { CONFIGURATION_DOC, configurationDoc } from '../../scripts/gen-config-doc.js';

/** docs/configuration.md is generated from the option tables; this fails when someone changes one without the other. */
describe('docs/configuration.md', () => {
  it('is what scripts/gen-config-doc.ts generates from the option tables (run it after changing an option)', async () => {
    expect(await readFile(CONFIGURATION_DOC, 'utf8')).toBe(configurationDoc());
  });
});
