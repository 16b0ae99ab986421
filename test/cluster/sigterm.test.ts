import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { NodeProcess, uniqueRoot, type ClusterConfig } from '../../scripts/cluster.js';
import { S3StateStore } from '@highlander/runtime';
import { ZkSession } from '@highlander/runtime/zookeeper';
import { lockParentsInZooKeeper, ownersInZooKeeper } from '../harness/lock-tree.js';
import { s3Config, zookeeperConnect } from '../harness/servers.js';
import { TEST_OBJECTS } from '../harness/test-objects.js';
import { timing } from '../harness/timing.js';

/**
 * SIGTERM, the way a process manager stops things: a node process finishes the calls it took,
 * writes its objects' state, releases their locks, logs it, then exits 0; the admin API closes and
 * exits 0.
 */

let zk: ZkSession;
const processes: NodeProcess[] = [];

beforeAll(async () => {
  zk = await ZkSession.open({ connect: zookeeperConnect() });
});

afterAll(() => {
  zk.close();
});

afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop().catch(() => p.kill('SIGKILL'))));
});

function config(label: string): ClusterConfig {
  return { zookeeper: zookeeperConnect(), s3: s3Config(), root: uniqueRoot(label), sessionTimeoutMs: timing.sessionTimeoutMs, objectsModule: TEST_OBJECTS };
}

interface LogLine {
  level: number;
  name: string;
  node?: string;
  msg: string;
  event?: string;
  [field: string]: unknown;
}

it('drains a node process on SIGTERM: the call in flight completes, the state is written, the lock released, then it exits 0', async () => {
  const c = config('sigterm');
  const a = new NodeProcess('node-a', c, { captureStdout: true, env: { HIGHLANDER_LOG_LEVEL: 'info' } });
  const b = new NodeProcess('node-b', c);
  processes.push(a, b);
  await a.start();
  await b.start();
  for (let i = 1; i <= 3; i++) expect(await a.call('counter', 's1', 'increment', null)).toBe(i);

  // A slow call is running when the signal arrives: IPC is ordered, so once `activations` has answered
  // the slow increment is executing on node-a.
  const slow = a.call<number>('counter', 's1', 'slowIncrement', timing.slowHandlerMs);
  expect(await a.activations()).toEqual([expect.objectContaining({ type: 'counter', id: 's1', status: 'active' })]);
  a.kill('SIGTERM');

  expect(await slow).toBe(4);
  expect(await a.exited()).toBe(0);
  // Before exiting it deactivated the object (reason shutdown) and released its lock.
  const kinds = a.events.filter((e) => 'id' in e && e.id === 's1').map((e) => e.kind === 'object.deactivated' ? `${e.kind}:${e.reason}` : e.kind);
  expect(kinds.slice(-2)).toEqual(['lock.released', 'object.deactivated:shutdown']);
  expect(a.events.at(-1)).toMatchObject({ kind: 'node.down', reason: 'shutdown' });

  // Nothing left in ZooKeeper: no lock, no lock parent, no member znode.
  expect(await ownersInZooKeeper(zk, c.root)).toEqual(new Map());
  expect(await lockParentsInZooKeeper(zk, c.root, 'counter')).toEqual([]);
  expect(await zk.getChildren(`${c.root}/nodes`)).toEqual(['node-b']);
  // The last acknowledged state is in S3, and the next call, served by node-b, starts from it.
  const store = new S3StateStore({
    bucket: c.s3.bucket, prefix: `${c.root.slice(1)}/objects/`, endpoint: c.s3.endpoint, region: c.s3.region,
    credentials: { accessKeyId: c.s3.accessKeyId, secretAccessKey: c.s3.secretAccessKey },
  });
  try {
    expect(JSON.parse((await store.read('counter', 's1'))!.body)).toEqual({ value: 4 });
  } finally {
    await store.close();
  }
  await b.waitForEvent((e) => e.kind === 'node.left' && e.peer === 'node-a', timing.eventMs);
  expect(await b.call('counter', 's1', 'increment', null)).toBe(5);

  // Its log: JSON lines on stdout, from start to stop.
  const log = a.stdout.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogLine).filter((l) => typeof l.level === 'number');
  expect(log.length).toBeGreaterThan(0);
  for (const line of log) expect(line).toMatchObject({ name: 'highlander-node', node: 'node-a' });
  const messages = log.map((l) => l.msg);
  expect(log.find((l) => l.event === 'node.up')).toMatchObject({ level: 30 });
  expect(log.find((l) => l.event === 'node.joined')).toMatchObject({ level: 30, peer: 'node-b' });
  expect(messages).toContainEqual(expect.stringMatching(/^SIGTERM: draining 1 activations, then exiting$/));
  expect(log.find((l) => l.event === 'node.down')).toMatchObject({ level: 30, reason: 'shutdown' });
  expect(messages.at(-1)).toBe('stopped: every activation flushed and released');
  // Per-object steps are debug: not at the default level.
  expect(log.some((l) => l.event === 'object.activated')).toBe(false);
});

it('closes the admin API on SIGTERM and exits 0', async () => {
  const c = config('sigterm-api');
  const node = new NodeProcess('node-a', c);
  processes.push(node);
  await node.start();
  const auditDir = await mkdtemp(join(tmpdir(), 'highlander-sigterm-audit-'));
  try {
    const child = fork(fileURLToPath(new URL('../../scripts/cluster-admin.ts', import.meta.url)), [], {
      execArgv: ['--conditions=@highlander/source', '--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: {
        ...process.env,
        HIGHLANDER_ZK: c.zookeeper, HIGHLANDER_ZK_ROOT: c.root,
        HIGHLANDER_S3_BUCKET: c.s3.bucket, HIGHLANDER_S3_PREFIX: `${c.root.slice(1)}/objects/`, HIGHLANDER_S3_ENDPOINT: c.s3.endpoint,
        HIGHLANDER_S3_REGION: c.s3.region, HIGHLANDER_S3_ACCESS_KEY_ID: c.s3.accessKeyId, HIGHLANDER_S3_SECRET_ACCESS_KEY: c.s3.secretAccessKey,
        HIGHLANDER_API_TOKENS: 'viewer:vera:sigterm-viewer-token', HIGHLANDER_API_PORT: '0', HIGHLANDER_AUDIT_LOG: join(auditDir, 'audit.jsonl'),
        HIGHLANDER_LOG_LEVEL: 'warn',
      },
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      child.on('message', (m: { ready?: { url: string } }) => m.ready && resolve(m.ready.url));
      child.once('exit', (code) => reject(new Error(`admin-api exited with ${code} before it was ready`)));
    });
    // A client holding a keep-alive connection does not keep it from exiting.
    expect((await fetch(`${url}/api/nodes`, { headers: { authorization: 'Bearer sigterm-viewer-token' } })).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  } finally {
    await rm(auditDir, { recursive: true, force: true });
  }
});
