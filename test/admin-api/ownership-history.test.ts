import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, startAdminApiProcess, uniqueRoot, type ClusterConfig } from '../../scripts/cluster.js';
import { s3Config, zookeeperConnect } from '../harness/servers.js';
import { TEST_OBJECTS } from '../harness/test-objects.js';
import { timing } from '../harness/timing.js';

/**
 * Ownership history (`GET /api/objects/:type/:id/history`) over real ZooKeeper, radosgw, two node
 * processes and the admin API as a process of its own: an object is activated, evicted, activated
 * again and migrated; its history says so, with nodes, epochs, reasons and the migration's
 * duration, also once it is no longer active, and again after the admin API restarts.
 */

const NODE_TOKEN = 'node-admin-token-history';
const VIEWER = 'viewer-token-history';
const OPERATOR = 'operator-token-history';
/** The per-object bound the admin API runs with here (small, so that one object overflows it). */
const MAX_PER_OBJECT = 4;

let cluster: Cluster;
let config: ClusterConfig;
let dir: string;
let api: { child: ChildProcess; url: string } | undefined;

async function startApi(): Promise<void> {
  api = await startAdminApiProcess(config, {
    tokens: `operator:otto:${OPERATOR},viewer:vera:${VIEWER}`, auditLog: join(dir, 'audit.jsonl'),
    env: { HIGHLANDER_HISTORY_MAX_PER_OBJECT: String(MAX_PER_OBJECT) },
  });
}

async function stopApi(): Promise<void> {
  if (!api) return;
  const exited = new Promise((r) => api!.child.once('exit', r));
  api.child.kill('SIGTERM');
  await exited;
  api = undefined;
}

async function request(method: string, path: string, token: string | null = VIEWER, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${api!.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: await response.json() };
}

const history = async (id: string, query = '') => (await request('GET', `/api/objects/counter/${id}/history${query}`)).body;
const ownerOf = async (id: string): Promise<string | undefined> => (await request('GET', `/api/objects/counter/${id}`)).body.object?.owner;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'highlander-history-'));
  config = {
    zookeeper: zookeeperConnect(), s3: s3Config(), root: uniqueRoot('history'), sessionTimeoutMs: timing.sessionTimeoutMs,
    objectsModule: TEST_OBJECTS, clusterSecret: NODE_TOKEN,
  };
  cluster = await Cluster.start(config, 2);
  await startApi();
});

afterAll(async () => {
  await stopApi();
  await cluster?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('ownership history over a real cluster', () => {
  let before: any;

  it('records an activation, an eviction, another activation and a migration, with nodes, epochs, reasons and durations', async () => {
    const [a, b] = cluster.nodes;
    await a!.call('counter', 'h-1', 'increment', null);
    await expect.poll(() => ownerOf('h-1'), { timeout: timing.eventMs }).toBe('node-a');
    expect((await request('POST', '/api/objects/counter/h-1/evict', OPERATOR, { force: false })).status).toBe(200);
    await expect.poll(async () => (await history('h-1')).items[0]?.reason, { timeout: timing.eventMs }).toBe('evicted');

    await b!.call('counter', 'h-1', 'increment', null);
    await expect.poll(() => ownerOf('h-1'), { timeout: timing.eventMs }).toBe('node-b');
    const migrated = await request('POST', '/api/objects/counter/h-1/migrate', OPERATOR, { to: 'node-a' });
    expect(migrated.status).toBe(200);
    await expect.poll(async () => (await history('h-1')).items.map((e: { kind: string }) => e.kind), { timeout: timing.eventMs })
      .toEqual(['migration', 'activation', 'activation', 'activation']);

    const page = await history('h-1');
    const [migration, onA, onB, first] = page.items;
    expect(page).toMatchObject({ type: 'counter', id: 'h-1' });
    expect(migration).toMatchObject({ kind: 'migration', from: 'node-b', to: 'node-a', durationMs: expect.any(Number) });
    expect(first).toMatchObject({ kind: 'activation', node: 'node-a', reason: 'evicted', end: expect.any(Number), activeMs: expect.any(Number) });
    expect(onB).toMatchObject({ kind: 'activation', node: 'node-b', reason: 'migrated', end: expect.any(Number) });
    expect(onA).toMatchObject({ kind: 'activation', node: 'node-a', reason: null, end: null, activeMs: null });
    // Each activation has its own epoch (its lock znode's czxid), later ones higher.
    const epochs = [first.epoch, onB.epoch, onA.epoch].map(BigInt);
    expect(epochs[0]! < epochs[1]! && epochs[1]! < epochs[2]!).toBe(true);
    // The live view agrees on who owns it now, and since when.
    const live = (await request('GET', '/api/objects/counter/h-1')).body.object;
    expect(live).toMatchObject({ owner: 'node-a', epoch: onA.epoch });
    expect(first.start).toBeLessThanOrEqual(first.end);
  });

  it('answers for an object that is no longer active', async () => {
    expect((await request('POST', '/api/objects/counter/h-1/evict', OPERATOR, { force: false })).status).toBe(200);
    await expect.poll(() => ownerOf('h-1'), { timeout: timing.eventMs }).toBeUndefined();
    await expect.poll(async () => (await history('h-1')).items[1]?.reason, { timeout: timing.eventMs }).toBe('evicted');
    before = await history('h-1');
    expect(before.items).toHaveLength(4);
  });

  it('keeps it across a restart of the admin API, in the file beside the audit log', async () => {
    await stopApi();
    const file = await readFile(join(dir, 'object-history.jsonl'), 'utf8');
    expect(file).toContain('"id":"h-1"');
    await startApi();
    expect(await history('h-1')).toEqual(before);
    // Each node sends its recent events again to the new process (h-1's among them): nothing is folded twice. An
    // object activated on each node now shows once that node's stream has caught up.
    for (const [i, node] of cluster.nodes.entries()) {
      await node.call('counter', `h-after-${i}`, 'increment', null);
      await expect.poll(async () => (await history(`h-after-${i}`)).items.length, { timeout: timing.eventMs }).toBe(1);
    }
    expect(await history('h-1')).toEqual(before);
  });

  it('keeps at most the per-object bound, newest first, and pages through it with before', async () => {
    const [a] = cluster.nodes;
    for (let i = 0; i < MAX_PER_OBJECT + 2; i++) {
      await a!.call('counter', 'h-bounded', 'increment', null);
      expect((await request('POST', '/api/objects/counter/h-bounded/evict', OPERATOR, { force: false })).status).toBe(200);
      await expect.poll(async () => (await history('h-bounded')).items[0]?.reason, { timeout: timing.eventMs }).toBe('evicted');
    }
    const all = await history('h-bounded');
    expect(all.items).toHaveLength(MAX_PER_OBJECT);
    expect(all.items.every((e: { kind: string; reason: string }) => e.kind === 'activation' && e.reason === 'evicted')).toBe(true);
    const firstPage = await history('h-bounded', '?limit=3');
    expect(firstPage.items).toEqual(all.items.slice(0, 3));
    const rest = await history('h-bounded', `?limit=3&before=${firstPage.cursor}`);
    expect(rest.items).toEqual(all.items.slice(3));
    expect(rest.cursor).toBeUndefined();
  });

  it("ends a paused owner's activation when another takes over (reason unknown), then with the reason it reports once resumed", async () => {
    const [a, b] = cluster.nodes;
    await a!.call('counter', 'h-paused', 'increment', null);
    await expect.poll(() => ownerOf('h-paused'), { timeout: timing.eventMs }).toBe('node-a');
    const onA = () => history('h-paused').then((page) => page.items.find((e: { node: string }) => e.node === 'node-a'));
    a!.kill('SIGSTOP');
    try {
      const forced = await request('POST', '/api/objects/counter/h-paused/evict', OPERATOR, { force: true });
      expect(forced.body).toMatchObject({ owner: 'node-a', forced: true });
      await b!.call('counter', 'h-paused', 'increment', null);
      // node-b's activation arrives while node-a cannot say anything: node-a's ended then, for a reason not known yet.
      await expect.poll(async () => (await history('h-paused')).items.map((e: { node: string; end: number | null }) => [e.node, e.end === null]), { timeout: timing.eventMs })
        .toEqual([['node-b', true], ['node-a', false]]);
      const [current, previous] = (await history('h-paused')).items;
      expect(previous).toMatchObject({ reason: 'unknown', end: current.start, activeMs: null });
    } finally {
      a!.kill('SIGCONT');
    }
    // Resumed, node-a reports how its activation ended (the eviction it was asked for, a fenced write, or its
    // session expired while it was stopped), and that replaces the guess.
    await expect.poll(async () => (await onA())?.reason, { timeout: timing.failoverMs }).toMatch(/^(evicted|fenced|session-lost)$/);
    expect((await onA()).activeMs).toEqual(expect.any(Number));
    expect((await history('h-paused')).items[0]).toMatchObject({ kind: 'activation', node: 'node-b', end: null });
  });

  it('answers an object never seen with no entries', async () => {
    expect(await history('never-here')).toEqual({ type: 'counter', id: 'never-here', items: [] });
  });

  it('refuses bad input with 400 saying what is allowed, and readers without a token with 401', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['/api/objects/counter/h-1/history?limit=0', 'query.limit', /at least 1/],
      ['/api/objects/counter/h-1/history?limit=1001', 'query.limit', /at most 1000/],
      ['/api/objects/counter/h-1/history?limit=ten', 'query.limit', /whole number from 1 to 1000/],
      ['/api/objects/counter/h-1/history?before=abc', 'query.before', /cursor of a previous page/],
      ['/api/objects/counter/h-1/history?before=-3', 'query.before', /cursor of a previous page/],
      ['/api/objects/counter/h-1/history?since=1', 'query', /since/],
      ['/api/objects/Counter/h-1/history', 'params.type', /type/],
      ['/api/objects/counter/..%2Fx/history', 'params.id', /id/],
    ];
    for (const [path, field, message] of cases) {
      const res = await request('GET', path);
      expect(res.status, path).toBe(400);
      expect(res.body.error.code, path).toBe('VALIDATION_FAILED');
      expect(res.body.error.message, path).toContain(`invalid ${field}`);
      expect(res.body.error.message, path).toMatch(message);
    }
    expect((await request('GET', '/api/objects/counter/h-1/history', null)).status).toBe(401);
    expect((await request('GET', '/api/objects/counter/h-1/history', 'not-a-token')).status).toBe(401);
  });
});
