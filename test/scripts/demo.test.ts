import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { timing } from '../harness/timing.js';

/**
 * The README's main command on embedded defaults (no ZooKeeper, no S3): it prints the dashboard and
 * audience links, serves them, runs the workload without failures, and stops cleanly.
 */

const DEMO = fileURLToPath(new URL('../../scripts/demo.ts', import.meta.url));

describe('the demo on embedded defaults', () => {
  it('runs three nodes, the admin API, an audience session and the workload, then stops cleanly', async () => {
    const data = await mkdtemp(join(tmpdir(), 'highlander-demo-test-'));
    try {
      const child = spawn(process.execPath, ['--conditions=@highlander/source', '--import', 'tsx', DEMO, '--duration', String(timing.demoRunMs / 1000), '--rate', '20', '--data', data, '--audience-port', '0'], {
        env: { ...process.env, HIGHLANDER_API_PORT: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const checks: Promise<void>[] = [];
      let checked = false;
      child.stdout.on('data', () => {
        const dashboard = /dashboard (http:\/\/\S+)\/\?token=(\S+)/.exec(out);
        const audience = /audience: join at (http:\/\/\S+\/a\/[A-Z0-9]+)/.exec(out);
        if (checked || !dashboard || !audience) return;
        checked = true;
        checks.push((async () => {
          const summary = await fetch(`${dashboard[1]}/api/summary`, { headers: { authorization: `Bearer ${dashboard[2]}` } });
          expect(summary.status).toBe(200);
          expect(((await summary.json()) as { nodes: number }).nodes).toBe(3);
          const page = await fetch(audience[1]!);
          expect(page.status).toBe(200);
          expect(await page.text()).toContain('<html');
        })());
      });
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      await Promise.all(checks);
      expect(checked, out).toBe(true);
      expect(code, out).toBe(0);
      expect(out).toMatch(/done: [1-9]\d* calls acknowledged, \d+ refused by List.insertTodo \(not allowed\), 0 failed/);
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  }, timing.demoTestMs);
});
