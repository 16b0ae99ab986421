import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Cluster, startAdminApiProcess, uniqueRoot, type ClusterConfig, type NodeProcess } from '../../scripts/cluster.js';
import { ZkSession } from '@highlander/runtime/zookeeper';
import { s3Config, zookeeperConnect } from '../harness/servers.js';
import { TEST_OBJECTS } from '../harness/test-objects.js';
import { timing } from '../harness/timing.js';
import { hammerTally } from '../harness/hammer.js';
import { ownersInZooKeeper } from '../harness/lock-tree.js';

/**
 * The admin API as its own process (admin-api/src/main.ts) over real ZooKeeper, radosgw and three
 * node processes: reads, the actions (evict, forced evict of a paused owner, migrate under load,
 * drain), access control, precise errors, the stream, and a restart of the admin API mid-run.
 */

const NODE_TOKEN = 'node-admin-token-admin-api';
const OPERATOR = 'operator-token-e2e';
const VIEWER = 'viewer-token-e2e';

let zk: ZkSession;
let cluster: Cluster;
let config: ClusterConfig;
let auditDir: string;
let api: { child: ChildProcess; url: string };

function startApi(): Promise<{ child: ChildProcess; url: string }> {
  return startAdminApiProcess(config, { tokens: `operator:otto:${OPERATOR},viewer:vera:${VIEWER}`, auditLog: join(auditDir, 'audit.jsonl') });
}

async function stopApi(): Promise<void> {
  const exited = new Promise((r) => api.child.once('exit', r));
  api.child.kill('SIGTERM');
  await exited;
}

async function http(method: 'GET' | 'POST', path: string, options: { token?: string | null; body?: unknown } = {}): Promise<{ status: number; body: any }> {
  const token = options.token === undefined ? OPERATOR : options.token;
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(options.body === undefined ? {} : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}


/** The admin API's objects agree with ZooKeeper (retrying while events are in flight). */
async function expectApiMatchesZooKeeper(): Promise<void> {
  const deadline = Date.now() + timing.eventMs;
  for (;;) {
    const truth = [...(await ownersInZooKeeper(zk, config.root))].sort();
    const listed = (await http('GET', '/api/objects?limit=1000', { token: VIEWER })).body.items.map((o: { type: string; id: string; owner: string }) => [`${o.type}/${o.id}`, o.owner]).sort();
    if (JSON.stringify(truth) === JSON.stringify(listed)) return;
    if (Date.now() > deadline) expect(listed).toEqual(truth);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function ownerOf(type: string, id: string): Promise<string | undefined> {
  return (await ownersInZooKeeper(zk, config.root)).get(`${type}/${id}`);
}

beforeAll(async () => {
  zk = await ZkSession.open({ connect: zookeeperConnect() });
  auditDir = await mkdtemp(join(tmpdir(), 'highlander-audit-'));
  config = {
    zookeeper: zookeeperConnect(), s3: s3Config(), root: uniqueRoot('admin-api'), sessionTimeoutMs: timing.sessionTimeoutMs,
    objectsModule: TEST_OBJECTS, clusterSecret: NODE_TOKEN,
  };
  cluster = await Cluster.start(config, 3);
  api = await startApi();
});

afterAll(async () => {
  if (api) await stopApi().catch(() => api.child.kill('SIGKILL'));
  await cluster?.stop();
  zk?.close();
  await rm(auditDir, { recursive: true, force: true });
});

describe('admin API process on a live cluster', () => {
  it('serves the cluster and its objects to a viewer, and refuses what a viewer may not do', async () => {
    const [a] = cluster.nodes as [NodeProcess];
    await a.call('counter', 'seen', 'add', 7);
    await expectApiMatchesZooKeeper();
    const summary = await http('GET', '/api/summary', { token: VIEWER });
    expect(summary.status).toBe(200);
    expect(summary.body.nodes).toBe(3);
    expect((await http('GET', '/api/nodes', { token: VIEWER })).body.items.map((n: { name: string }) => n.name)).toEqual(['node-a', 'node-b', 'node-c']);
    const detail = await http('GET', '/api/objects/counter/seen', { token: VIEWER });
    expect(detail.status).toBe(200);
    expect(detail.body.object).toMatchObject({ owner: 'node-a' });
    expect(detail.body.memory).toMatchObject({ state: { value: 7 } });
    expect(detail.body.persisted).toMatchObject({ state: { value: 7 }, version: 2 });
    expect(detail.body.persisted.etag).toBeTruthy();
    expect(detail.body.queue).toHaveLength(1);
    // Access: 401 without or with a wrong token, 403 for a viewer's action.
    expect((await http('GET', '/api/summary', { token: null })).status).toBe(401);
    expect((await http('GET', '/api/summary', { token: 'nope' })).status).toBe(401);
    const forbidden = await http('POST', '/api/objects/counter/seen/evict', { token: VIEWER, body: {} });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('FORBIDDEN');
    expect(await ownerOf('counter', 'seen')).toBe('node-a');
  });

  it('answers bad requests precisely', async () => {
    const [a] = cluster.nodes as [NodeProcess];
    await a.call('counter', 'target', 'increment', null);
    const badId = await http('POST', '/api/objects/counter/has%20space/evict', { body: {} });
    expect(badId.status).toBe(400);
    expect(JSON.stringify(badId.body.error)).toContain('id');
    expect((await http('POST', '/api/objects/counter/never-seen/evict', { body: {} })).status).toBe(404);
    expect((await http('POST', '/api/nodes/node-z/drain', { body: {} })).status).toBe(404);
    const same = await http('POST', '/api/objects/counter/target/migrate', { body: { to: 'node-a' } });
    expect(same.status).toBe(409);
    const dead = await http('POST', '/api/objects/counter/target/migrate', { body: { to: 'node-z' } });
    expect(dead.status).toBe(409);
    expect(dead.body.error.details.reason).toBe('target-not-live');
    expect((await http('POST', '/api/objects/counter/target/migrate', { body: '{"to":' })).status).toBe(400);
    expect((await http('POST', '/api/objects/counter/target/migrate', { body: { to: 'x'.repeat(20_000) } })).status).toBe(413);
    expect(await ownerOf('counter', 'target')).toBe('node-a');
  });

  it('evicts through the owner, and the storage browser shows the persisted state', async () => {
    const [a, b] = cluster.nodes as [NodeProcess, NodeProcess];
    await a.call('counter', 'ev', 'add', 3);
    const evicted = await http('POST', '/api/objects/counter/ev/evict', { body: {} });
    expect(evicted.status).toBe(200);
    expect(evicted.body).toMatchObject({ owner: 'node-a', forced: false });
    expect(await ownerOf('counter', 'ev')).toBeUndefined();
    const stored = await http('GET', '/api/storage/counter/ev', { token: VIEWER });
    expect(stored.status).toBe(200);
    expect(stored.body).toMatchObject({ state: { value: 3 } });
    const listing = await http('GET', '/api/storage?type=counter&prefix=e', { token: VIEWER });
    expect(listing.body.items.map((o: { id: string }) => o.id)).toContain('ev');
    expect(await b.call('counter', 'ev', 'add', 1)).toBe(4);
  });

  it('force-evicts a paused owner; resumed, it serves nothing stale', async () => {
    const [a, b] = cluster.nodes as [NodeProcess, NodeProcess];
    for (let i = 0; i < 2; i++) await a.call('tally', 'stuck', 'increment', null);
    a.kill('SIGSTOP');
    try {
      const forced = await http('POST', '/api/objects/tally/stuck/evict', { body: { force: true } });
      expect(forced.status).toBe(200);
      expect(forced.body).toMatchObject({ owner: 'node-a', forced: true });
      expect(await b.call('tally', 'stuck', 'increment', null)).toMatchObject({ value: 3, node: 'node-b' });
    } finally {
      a.kill('SIGCONT');
    }
    expect(await a.call('tally', 'stuck', 'read', null)).toMatchObject({ value: 3, node: 'node-b' });
  });

  it('migrates an object while clients hammer it: no acknowledged call lost', async () => {
    const nodes = cluster.nodes;
    const load = await hammerTally(nodes, 'moving');
    const from = (await ownerOf('tally', 'moving'))!;
    const to = nodes.map((n) => n.name).find((n) => n !== from)!;
    await new Promise((r) => setTimeout(r, 500));
    const migrated = await http('POST', '/api/objects/tally/moving/migrate', { body: { to } });
    await new Promise((r) => setTimeout(r, 500));
    const { acked, indeterminate } = await load.stop();
    expect(migrated.status).toBe(200);
    expect(migrated.body).toMatchObject({ from, to });
    expect(await ownerOf('tally', 'moving')).toBe(to);
    expect(new Set(acked).size).toBe(acked.length);
    const final = (await nodes[0]!.call<{ value: number }>('tally', 'moving', 'read', null)).value;
    expect(final).toBeGreaterThanOrEqual(acked.length);
    expect(final).toBeLessThanOrEqual(acked.length + indeterminate);
  });

  it('streams a snapshot and then changes', async () => {
    const ws = new WebSocket(`${api.url.replace('http', 'ws')}/api/stream`, ['highlander.v1', `bearer.${VIEWER}`]);
    const messages: any[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ subscribe: 'summary' }));
    const deadline = Date.now() + timing.eventMs;
    while (!messages.some((m) => m.kind === 'snapshot') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(messages.find((m) => m.kind === 'snapshot')).toMatchObject({ scope: 'summary' });
    await cluster.nodes[1]!.call('counter', 'streamed', 'increment', null);
    while (!messages.some((m) => m.kind === 'delta' && m.objects?.some((o: { id: string }) => o.id === 'streamed')) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(messages.some((m) => m.kind === 'delta' && m.objects?.some((o: { id: string }) => o.id === 'streamed'))).toBe(true);
    ws.send('not json');
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
    expect([1007, 1008]).toContain(closed.code);
    expect(closed.reason.length).toBeGreaterThan(0);
  });

  it('drains a node, and after an admin API restart the model and the audit log are whole', async () => {
    const [, , c] = cluster.nodes as [NodeProcess, NodeProcess, NodeProcess];
    for (let i = 0; i < 3; i++) await c.call('counter', `dr${i}`, 'increment', null);
    const drained = await http('POST', '/api/nodes/node-c/drain', { body: {} });
    expect(drained.status).toBe(200);
    expect(drained.body).toMatchObject({ node: 'node-c', deactivated: 3 });
    await expectApiMatchesZooKeeper();

    await stopApi();
    // Changes while the admin API is down.
    for (let i = 0; i < 3; i++) await cluster.nodes[0]!.call('set', `late${i}`, 'add', 'x');
    api = await startApi();
    await expectApiMatchesZooKeeper();
    // The model also counts what is persisted, from a full S3 listing taken at start.
    const stored = (await http('GET', '/api/storage?limit=1000', { token: VIEWER })).body.items.length;
    const listedDeadline = Date.now() + timing.eventMs;
    let persisted = (await http('GET', '/api/summary', { token: VIEWER })).body.persisted;
    while (!persisted && Date.now() < listedDeadline) {
      await new Promise((r) => setTimeout(r, 100));
      persisted = (await http('GET', '/api/summary', { token: VIEWER })).body.persisted;
    }
    expect(stored).toBeGreaterThan(10);
    expect(persisted.objects).toBe(stored);
    const audit = await http('GET', '/api/audit?limit=100', { token: VIEWER });
    expect(audit.status).toBe(200);
    const actions = audit.body.items.map((r: { action: string }) => r.action);
    for (const action of ['evict', 'migrate', 'drain']) expect(actions).toContain(action);
    const drainRecord = audit.body.items.find((r: { action: string }) => r.action === 'drain');
    expect(JSON.stringify(drainRecord)).toContain('otto');
    expect(JSON.stringify(drainRecord)).toContain('node-c');
    const refused = audit.body.items.filter((r: { result: unknown }) => JSON.stringify(r.result).includes('error'));
    expect(refused.length).toBeGreaterThan(0); // failed actions are recorded too
  });
});
