import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { timing } from '../harness/timing.js';

/**
 * The README's main command on embedded defaults (no ZooKeeper, no S3): it prints the audience,
 * presenter and dashboard links, serves them, runs the workload without failures, stops cleanly, and
 * keeps its tokens and talk across a restart. 127.0.0.2 stands for the machine's LAN address (tests
 * send traffic to loopback only).
 */

const DEMO = fileURLToPath(new URL('../../scripts/demo.ts', import.meta.url));

interface Run {
  code: number | null;
  out: string;
  links: { audience: string; talkCode: string; presenter: string; dashboard: string; operator: string; viewer: string };
  /** What the test checked while the demo ran. */
  checks: { summaryNodes: number; audiencePage: number; joinPage: string; talkStatus: number; presentStatus: number; presentIsApp: boolean };
}

function runDemo(data: string, extra: string[] = []): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [
      '--conditions=@highlander/source', '--import', 'tsx', DEMO, '--duration', String(timing.demoRunMs / 1000), '--rate', '20', '--data', data,
      '--audience-port', '0', '--public-host', '127.0.0.2', ...extra,
    ], { env: { ...process.env, HIGHLANDER_API_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let checking: Promise<Run['checks']> | undefined;
    let links: Run['links'] | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const audience = /audience\s+(http:\/\/\S+)\/a\/([A-Z0-9]+)/.exec(out);
      const presenter = /presenter\s+(http:\/\/\S+\/audience\/[A-Z0-9]+)\?token=/.exec(out);
      const projector = /projector\s+(http:\/\/\S+\/present\/[A-Z0-9]+)\?token=/.exec(out);
      const dashboard = /dashboard\s+(http:\/\/\S+)\/\?token=(\S+)/.exec(out);
      const tokens = /operator (\S+)\s+viewer (\S+)/.exec(out);
      if (checking || !audience || !presenter || !projector || !dashboard || !tokens) return;
      const projectorUrl = projector[1]!;
      links = { audience: audience[1]!, talkCode: audience[2]!, presenter: presenter[1]!, dashboard: dashboard[1]!, operator: tokens[1]!, viewer: tokens[2]! };
      const l = links;
      checking = (async () => {
        const summary = await fetch(`${l.dashboard}/api/summary`, { headers: { authorization: `Bearer ${l.viewer}` } });
        const page = await fetch(`${l.audience}/a/${l.talkCode}`);
        await page.text();
        const join = await (await fetch(`${l.audience}/`)).text();
        const talk = await fetch(`${l.dashboard}/api/talks/${l.talkCode}`, { headers: { authorization: `Bearer ${l.operator}` } });
        await talk.text();
        const present = await fetch(projectorUrl);
        const presentPage = await present.text();
        return {
          summaryNodes: ((await summary.json()) as { nodes: number }).nodes, audiencePage: page.status, joinPage: join, talkStatus: talk.status,
          presentStatus: present.status, presentIsApp: presentPage.includes('<div id="app"'),
        };
      })();
    });
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (!checking || !links) return reject(new Error(`the demo printed no links:\n${out}`));
      const done = links;
      checking.then((checks) => resolve({ code, out, links: done, checks }), reject);
    });
  });
}

describe('the demo on embedded defaults', () => {
  it('serves a room of phones on the public address, stays quiet, and keeps its tokens and talk across a restart', async () => {
    const data = await mkdtemp(join(tmpdir(), 'highlander-demo-test-'));
    try {
      const first = await runDemo(data);
      expect(first.code, first.out).toBe(0);
      expect(first.links.audience).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/);
      expect(first.links.dashboard).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(first.checks).toMatchObject({ summaryNodes: 3, audiencePage: 200, talkStatus: 200, presentStatus: 200, presentIsApp: true });
      expect(first.checks.joinPage).toContain('<form method="get" action="/a">');
      expect(first.out).toMatch(/done: [1-9]\d* calls acknowledged, \d+ refused by List.insertTodo \(not allowed\), 0 failed/);
      // Quiet: a status line, no per-call lifecycle events (those come with --events).
      expect(first.out).toMatch(/nodes 3\/3 up · \d+ objects active · \d+ calls\/s/);
      expect(first.out).not.toMatch(/lock\.acquired|object\.persisted/);
      // The secrets are kept for the owner of the data folder only.
      expect((await stat(join(data, 'demo-state.json'))).mode & 0o077).toBe(0);

      const second = await runDemo(data, ['--events']);
      expect(second.code, second.out).toBe(0);
      expect(second.links).toMatchObject({ operator: first.links.operator, viewer: first.links.viewer, talkCode: first.links.talkCode });
      expect(second.out).toContain('kept from the last run');
      expect(second.checks.talkStatus).toBe(200);
      expect(second.out).toMatch(/object\.persisted/);

      const third = await runDemo(data, ['--new-tokens']);
      expect(third.code, third.out).toBe(0);
      expect(third.links.operator).not.toBe(first.links.operator);
      expect(third.links.talkCode).toBe(first.links.talkCode);
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  }, timing.demoTestMs);
});
