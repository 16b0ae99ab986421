import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkSession } from '@highlander/runtime/zookeeper';
import { lockParentsInZooKeeper } from '../harness/lock-tree.js';
import { uniqueRoot } from '../../scripts/cluster.js';
import { s3Config, zookeeperConnect } from '../harness/servers.js';
import { timing } from '../harness/timing.js';
import { PACKED, installScratchApp } from './scratch-app.js';

/**
 * The packages as a user gets them: every workspace `npm pack`ed, the tarballs installed into an
 * application outside the repository (from the npm cache, no network), and run there with plain
 * `node` — no tsx, no TypeScript: the seed's todo app on embedded backends, a deep import refused
 * by the exports, and `npx highlander node` + `npx highlander admin` on the test ZooKeeper and radosgw.
 */

const REPO = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;
let app: string;
const children: ChildProcess[] = [];

/** The environment of the scratch app's processes: nothing of the repository's (no loader flags, no HIGHLANDER_*). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HIGHLANDER_') && name !== 'NODE_OPTIONS'));
  return { ...env, ...extra };
}

function runIn(cwd: string, command: string, args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  for (const folder of ['kit', 'runtime', 'audience', 'admin-api', 'cli', 'examples/todo']) {
    if (!existsSync(join(REPO, folder, 'dist'))) throw new Error(`${folder}/dist is not built: run \`npm run build\` first (scripts/test.sh does)`);
  }
  if (!existsSync(join(REPO, 'dashboard/dist/index.html'))) throw new Error('dashboard/dist is not built: run `npm run build` first');
  dir = await mkdtemp(join(tmpdir(), 'highlander-packed-'));
  app = await installScratchApp(REPO, dir);
}, 180_000);

afterAll(async () => {
  // Each runs in a process group of its own: kill the whole group (npx and what it runs).
  for (const child of children) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the packed packages, installed in an application outside the repository', () => {
  it('installs every package and nothing of the build tools', () => {
    for (const name of Object.values(PACKED)) expect(existsSync(join(app, 'node_modules', name, 'package.json')), name).toBe(true);
    for (const tool of ['tsx', 'typescript', 'vitest', 'vite', 'svelte']) expect(existsSync(join(app, 'node_modules', tool)), tool).toBe(false);
    expect(existsSync(join(app, 'node_modules/.bin/highlander'))).toBe(true);
    expect(existsSync(join(app, 'node_modules/@highlander/dashboard/dist/index.html'))).toBe(true);
  });

  it('runs the seed\'s todo app on embedded backends with plain node', async () => {
    const { code, stdout, stderr } = await runIn(app, process.execPath, ['node_modules/@highlander/example-todo/dist/app.js']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('3 nodes (embedded');
    expect(stdout).toMatch(/^list groceries 'Groceries', shared with ada, grace: \[ \] Coffee, \[ \] Bread, \[x\] Milk$/m);
    expect(stdout).toMatch(/^refused mallory: user 'mallory' is not allowed on this list/m);
  });

  it('resolves the packages only through their exports: a deep import fails', async () => {
    const script = (specifier: string) => `import(${JSON.stringify(specifier)}).then(() => console.log('resolved'), (e) => console.log(e.code))`;
    for (const deep of ['@highlander/runtime/src/node.ts', '@highlander/runtime/dist/node.js', '@highlander/admin-api/dist/stream.js', '@highlander/kit/src/backoff.ts']) {
      const { stdout } = await runIn(app, process.execPath, ['--input-type=module', '-e', script(deep)]);
      expect(stdout.trim(), deep).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
    }
    const { stdout } = await runIn(app, process.execPath, ['--input-type=module', '-e',
      "const { HighlanderNode, defineObject } = await import('@highlander/runtime'); const { ZkSession } = await import('@highlander/runtime/zookeeper'); console.log(typeof HighlanderNode, typeof defineObject, typeof ZkSession)"]);
    expect(stdout.trim()).toBe('function function function');
  });

  it('runs `npx highlander node` and `highlander admin` on ZooKeeper and S3, and serves a call of the installed todo app', async () => {
    const root = uniqueRoot('packed');
    const s3 = s3Config();
    const nodeToken = 'packed-cluster-secret';
    const operator = 'packed-operator-token';
    const backends = {
      HIGHLANDER_ZK: zookeeperConnect(), HIGHLANDER_ZK_ROOT: root, HIGHLANDER_ZK_SESSION_TIMEOUT_MS: String(timing.sessionTimeoutMs),
      HIGHLANDER_S3_BUCKET: s3.bucket, HIGHLANDER_S3_PREFIX: `${root.slice(1)}/objects/`, HIGHLANDER_S3_ENDPOINT: s3.endpoint,
      HIGHLANDER_S3_REGION: s3.region, HIGHLANDER_S3_ACCESS_KEY_ID: s3.accessKeyId, HIGHLANDER_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      HIGHLANDER_CLUSTER_SECRET: nodeToken, HIGHLANDER_LOG_LEVEL: 'warn',
    };
    // `npx highlander …` (in a process group of its own, as a terminal runs it) and the installed bin `highlander …`.
    const start = (command: string[], args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> => {
      const child = spawn(command[0]!, [...command.slice(1), ...args], { cwd: app, env: cleanEnv(backends), stdio: ['ignore', 'pipe', 'inherit'], detached: true });
      children.push(child);
      return new Promise((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const match = ready.exec(line);
          if (match) resolve({ child, match });
        });
        child.once('exit', (code) => reject(new Error(`highlander ${args[0]} exited with ${code} before it was ready`)));
      });
    };
    const node = await start(['npx', '--offline', 'highlander'], ['node', '--name', 'packed-a', '--objects', '@highlander/example-todo'], /up at (ws:\/\/\S+)/);
    const admin = await start(
      [join(app, 'node_modules/.bin/highlander')], ['admin', '--port', '0', '--audit-log', join(dir, 'audit.jsonl'), '--tokens', `operator:otto:${operator}`],
      /listening on (http:\/\/\S+)/,
    );
    const nodeAddress = node.match[1]!.replace(/^ws/, 'http');
    const apiUrl = admin.match[1]!;

    // A call on the node, through its admin endpoint: the installed todo app's handler runs there.
    const called = await fetch(`${nodeAddress}/admin/call`, {
      method: 'POST', headers: { authorization: `Bearer ${nodeToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'todo', id: 'packed-1', op: 'rename', arg: 'from the tarballs' }),
    });
    expect(called.status).toBe(200);

    // The installed CLI reads it back through the admin API: owner and persisted state.
    const api = { HIGHLANDER_API_URL: apiUrl, HIGHLANDER_API_TOKEN: operator };
    await expect.poll(async () => {
      const shown = await runIn(app, 'npx', ['--offline', 'highlander', 'show', 'todo/packed-1', '--json'], cleanEnv(api));
      if (shown.code !== 0) return shown.stderr;
      const detail = JSON.parse(shown.stdout) as { object: { owner: string } | null; persisted: { state: unknown } | null };
      return { owner: detail.object?.owner, state: detail.persisted?.state };
    }, { timeout: timing.eventMs }).toEqual({ owner: 'packed-a', state: { title: 'from the tarballs', completed: false, color: 'blue' } });

    // SIGTERM to the node's process group (npx and the node it runs, as Ctrl-C in a terminal would):
    // the node drains, releases its lock and leaves the cluster.
    const zk = await ZkSession.open({ connect: zookeeperConnect() });
    try {
      expect(await zk.getChildren(`${root}/nodes`)).toEqual(['packed-a']);
      process.kill(-node.child.pid!, 'SIGTERM');
      await expect.poll(() => zk.getChildren(`${root}/nodes`), { timeout: timing.eventMs }).toEqual([]);
      expect(await lockParentsInZooKeeper(zk, root, 'todo')).toEqual([]);
    } finally {
      zk.close();
    }
    // SIGTERM to the admin API: it closes and exits 0.
    const exited = new Promise<number | null>((resolve) => admin.child.once('exit', resolve));
    admin.child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
