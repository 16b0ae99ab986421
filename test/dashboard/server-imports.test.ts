import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The dashboard takes the admin API's shapes from `@highlander/admin-api/protocol` with `import type`
 * only: the bundler erases those, so nothing of the server (zod, node modules) reaches the browser.
 * A value import would pull server code into the bundle (or fail the build).
 */

const SRC = join(import.meta.dirname, '../../dashboard/src');

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? sources(join(dir, e.name)) : Promise.resolve([join(dir, e.name)]))));
  return nested.flat().filter((f) => /\.(ts|svelte)$/.test(f));
}

describe('dashboard imports of server packages', () => {
  it('are type-only', async () => {
    const offending: string[] = [];
    let typeImports = 0;
    for (const file of await sources(SRC)) {
      const text = await readFile(file, 'utf8');
      for (const match of text.matchAll(/^\s*(import|export)\s+([^;]*?)\s+from\s+'(@highlander\/[^']+)'/gms)) {
        if (/^type\s/.test(match[2]!)) typeImports++;
        else offending.push(`${relative(SRC, file)}: ${match[0].trim()}`);
      }
    }
    expect(offending).toEqual([]);
    expect(typeImports).toBeGreaterThan(0);
  });
});
