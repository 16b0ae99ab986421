import { describe, expect, it } from 'vitest';
import { runEntryPoint } from '../entry-point.js';

/** The admin API process's entry point (cli/src/admin-process/main.ts) on a missing option. */
describe('highlander admin entry point', () => {
  it('exits 2 on a missing option, naming the flag and the variable', async () => {
    const { code, stderr } = await runEntryPoint('cli/src/admin-process/main.ts', [], { HIGHLANDER_ZK: '127.0.0.1:2181', HIGHLANDER_S3_BUCKET: 'highlander' });
    expect(code).toBe(2);
    expect(stderr).toContain('highlander admin: --tokens / HIGHLANDER_API_TOKENS is required');
  });
});
