import { describe, expect, it } from 'vitest';
import { runEntryPoint } from '../entry-point.js';
import { NODE_ENV } from '../option-env.js';

/** The node process's entry point (cli/src/node-process/main.ts) on bad options. */
describe('highlander node entry point', () => {
  it('exits 2 on a bad option, naming the flag and the variable', async () => {
    const { code, stderr } = await runEntryPoint('cli/src/node-process/main.ts', ['--idle-timeout-ms=-5'], { ...NODE_ENV, HIGHLANDER_PORT: 'eighty' });
    expect(code).toBe(2);
    expect(stderr).toContain("highlander node: --idle-timeout-ms '-5' (or HIGHLANDER_IDLE_TIMEOUT_MS): must be a duration in milliseconds");
    expect(stderr).toContain("highlander node: HIGHLANDER_PORT='eighty' (or --port): must be a whole number from 0 to 65535");
  });
});
