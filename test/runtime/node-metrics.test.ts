import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { uniqueRoot } from '../../scripts/cluster.js';
import {
  EmbeddedRegistry, FileStateStore, HandlerFailed, HighlanderNode, NodeMetrics, ObjectRejected, S3StateStore, ZooKeeperCoordinator,
  type HighlanderNodeOptions,
} from '@highlander/runtime';
import { CreateMode, ZkSession, czxidOf } from '@highlander/runtime/zookeeper';
import { List } from '@highlander/example-todo';
import { Counter, Members, objects } from '../harness/test-objects.js';
import { s3Config, zookeeperConnect } from '../harness/servers.js';
import { timing } from '../harness/timing.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A node's Prometheus metrics (runtime/src/metrics.ts), read the way Prometheus reads them: over
 * HTTP at `GET /metrics` on the node's port. Real nodes in this process on the harness's ZooKeeper
 * and radosgw; the session-loss count on the embedded registry, which can end a session at once.
 */

const TOKEN = 'metrics-test-cluster-secret';

let zk: ZkSession;
let started: HighlanderNode[] = [];
let closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  zk = await ZkSession.open({ connect: zookeeperConnect() });
});

afterAll(() => {
  zk.close();
});

afterEach(async () => {
  await Promise.all(started.map((n) => n.stop()));
  for (const close of closers) await close();
  started = [];
  closers = [];
});

function s3Store(root: string): S3StateStore {
  const s3 = s3Config();
  const store = new S3StateStore({
    bucket: s3.bucket, prefix: `${root.slice(1)}/objects/`, endpoint: s3.endpoint, region: s3.region,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  closers.push(() => store.close());
  return store;
}

/** A node on ZooKeeper and radosgw, each with its own clients, as separate processes would have. */
async function zkNode(root: string, name: string, extra: Partial<HighlanderNodeOptions> = {}): Promise<HighlanderNode> {
  const node = HighlanderNode.create({
    name,
    coordinator: new ZooKeeperCoordinator({ connect: zookeeperConnect(), root, sessionTimeoutMs: timing.sessionTimeoutMs }),
    store: s3Store(root),
    objects,
    callTimeoutMs: timing.failoverMs,
    ...extra,
  });
  await node.start();
  started.push(node);
  return node;
}

async function scrape(node: HighlanderNode, token?: string): Promise<string> {
  const response = await fetch(`${node.address.replace('ws://', 'http://')}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return response.text();
}

/** The value of the sample `name` with exactly these labels, or undefined when it is not exposed. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const got = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    const wanted = Object.entries(labels);
    if (wanted.length === Object.keys(got).length && wanted.every(([k, v]) => got[k] === v)) return Number(match[3]);
  }
  return undefined;
}

describe('node metrics on ZooKeeper and S3', () => {
  it('count calls by outcome, latency, activations, forwarding, writes and evictions', async () => {
    const root = uniqueRoot('metrics');
    const a = await zkNode(root, 'node-a', { clusterSecret: TOKEN });
    const b = await zkNode(root, 'node-b', { clusterSecret: TOKEN });

    for (let i = 0; i < 5; i++) await a.ref(Counter, 'm1').call('increment', null);
    for (let i = 0; i < 2; i++) await b.ref(Counter, 'm1').call('increment', null); // forwarded to the owner, node-a
    await a.ref(List, 'groceries').call('share', 'ada');
    const refused = await a.ref(List, 'groceries').call('insertTodo', { todo: { id: 't1', title: 'milk', completed: false }, userId: 'mallory' }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ObjectRejected);
    await expect(a.ref(Counter, 'm1').call('explode')).rejects.toBeInstanceOf(HandlerFailed);
    // Queries on an object active here run at once, outside the mailbox: counted all the same.
    for (let i = 0; i < 3; i++) expect(await a.ref(Counter, 'm1').call('value')).toBe(7);
    await a.ref(Members, 'crew').call('add', 'ada');
    expect(await a.ref(Members, 'crew').call('has', 'ada')).toBe(true);
    await a.evict('counter', 'm1');

    const onA = await scrape(a, TOKEN);
    // Calls made through node-a, by outcome: the declared error counts with its code, as a rejection (not an error);
    // the handler that threw something undeclared counts as an error.
    expect(sample(onA, 'highlander_calls_total', { type: 'counter', outcome: 'ok', kind: 'ok' })).toBe(8);
    expect(sample(onA, 'highlander_calls_total', { type: 'set', outcome: 'ok', kind: 'ok' })).toBe(2);
    expect(sample(onA, 'highlander_calls_total', { type: 'list', outcome: 'ok', kind: 'ok' })).toBe(1);
    expect(sample(onA, 'highlander_calls_total', { type: 'list', outcome: 'OBJECT_REJECTED', kind: 'rejected' })).toBe(1);
    expect(sample(onA, 'highlander_calls_total', { type: 'counter', outcome: 'HANDLER_FAILED', kind: 'error' })).toBe(1);
    expect(sample(onA, 'highlander_call_duration_seconds_count', { type: 'counter' })).toBe(9);
    expect(sample(onA, 'highlander_call_duration_seconds_bucket', { type: 'counter', le: '+Inf' })).toBe(9);
    expect(sample(onA, 'highlander_call_duration_seconds_sum', { type: 'counter' })).toBeGreaterThan(0);
    // Lifecycle: one activation of each object here; the counter evicted; the list still active.
    expect(sample(onA, 'highlander_activations_total', { type: 'counter' })).toBe(1);
    expect(sample(onA, 'highlander_activations_total', { type: 'list' })).toBe(1);
    expect(sample(onA, 'highlander_activation_duration_seconds_count', { type: 'counter' })).toBe(1);
    expect(sample(onA, 'highlander_deactivations_total', { type: 'counter', reason: 'evicted' })).toBe(1);
    expect(sample(onA, 'highlander_deactivations_total', { type: 'counter', reason: 'idle' })).toBe(0);
    expect(sample(onA, 'highlander_active_objects', { type: 'counter' })).toBe(0);
    expect(sample(onA, 'highlander_active_objects', { type: 'list' })).toBe(1);
    expect(sample(onA, 'highlander_queued_calls', { type: 'list' })).toBe(0);
    // Every increment (node-b's two included, served here) was acknowledged by a write of the owner.
    expect(sample(onA, 'highlander_persisted_calls_total', { type: 'counter' })).toBe(7);
    expect(sample(onA, 'highlander_persists_total', { type: 'counter' })).toBeGreaterThanOrEqual(1);
    expect(sample(onA, 'highlander_persist_failures_total', { type: 'counter' })).toBe(0);
    expect(sample(onA, 'highlander_fenced_total', { type: 'counter' })).toBe(0);
    expect(sample(onA, 'highlander_session_lost_total')).toBe(0);
    expect(sample(onA, 'highlander_node_members')).toBe(2);
    expect(sample(onA, 'highlander_node_draining')).toBe(0);
    expect(sample(onA, 'highlander_read_lease')).toBe(1);
    // Backend requests: S3 reads and writes, ZooKeeper lock creates and lookups, each with a count.
    expect(sample(onA, 'highlander_s3_request_duration_seconds_count', { operation: 'get' })).toBeGreaterThan(0);
    expect(sample(onA, 'highlander_s3_request_duration_seconds_count', { operation: 'put' })).toBeGreaterThanOrEqual(6); // claims and writes
    expect(sample(onA, 'highlander_zookeeper_request_duration_seconds_count', { operation: 'multi' })).toBeGreaterThan(0); // lock parent + first lock
    expect(sample(onA, 'highlander_zookeeper_request_duration_seconds_count', { operation: 'exists' })).toBeGreaterThan(0);
    expect(onA).toContain('# TYPE highlander_zookeeper_request_errors_total counter');
    expect(onA).toContain('# TYPE highlander_s3_request_errors_total counter');

    // node-b: its calls count where they were made, forwarded to node-a; node-a counts them coming in.
    const onB = await scrape(b, TOKEN);
    expect(sample(onB, 'highlander_calls_total', { type: 'counter', outcome: 'ok', kind: 'ok' })).toBe(2);
    expect(sample(onB, 'highlander_activations_total', { type: 'counter' })).toBe(0);
    const out = sample(onB, 'highlander_forwarded_calls_total', { type: 'counter', direction: 'out' });
    expect(out).toBeGreaterThanOrEqual(2);
    expect(sample(onA, 'highlander_forwarded_calls_total', { type: 'counter', direction: 'in' })).toBe(out);
  });

  it('count a fenced activation and the S3 conflict that revealed it', async () => {
    const root = uniqueRoot('metrics-fence');
    const a = await zkNode(root, 'node-a');
    expect(await a.ref(Counter, 'f1').call('increment', null)).toBe(1);

    // Another writer claims the object with a newer epoch (a znode created now has a higher czxid
    // than the owner's lock, and a lower one than any lock created later).
    const marker = await zk.create(`${root}/fence-marker`, undefined, CreateMode.PERSISTENT);
    const newerEpoch = czxidOf((await zk.exists(marker))!);
    const other = s3Store(root);
    const stored = (await other.read('counter', 'f1'))!;
    expect(await other.write({ type: 'counter', id: 'f1', body: stored.body, epoch: newerEpoch, version: stored.version + 1, condition: { ifMatch: stored.etag } }))
      .toMatchObject({ ok: true });

    // The owner's next write fails its condition: fenced; the call is retried on a new activation.
    expect(await a.ref(Counter, 'f1').call('increment', null)).toBe(2);
    const text = await scrape(a);
    expect(sample(text, 'highlander_s3_request_errors_total', { operation: 'put', kind: 'conflict' })).toBe(1);
    expect(sample(text, 'highlander_fenced_total', { type: 'counter' })).toBe(1);
    expect(sample(text, 'highlander_deactivations_total', { type: 'counter', reason: 'fenced' })).toBe(1);
    expect(sample(text, 'highlander_activations_total', { type: 'counter' })).toBe(2);
    expect(sample(text, 'highlander_calls_total', { type: 'counter', outcome: 'ok', kind: 'ok' })).toBe(2);
    await zk.remove(marker);
  });

  it('serve /metrics behind the cluster secret when there is one, openly otherwise, and not at all with metrics: false', async () => {
    const root = uniqueRoot('metrics-http');
    const guarded = await zkNode(root, 'node-a', { clusterSecret: TOKEN });
    const open = await zkNode(root, 'node-b');
    const off = await zkNode(root, 'node-c', { metrics: false });
    const url = (node: HighlanderNode, path = '/metrics') => `${node.address.replace('ws://', 'http://')}${path}`;

    expect((await fetch(url(guarded))).status).toBe(401);
    expect((await fetch(url(guarded), { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect(await scrape(guarded, TOKEN)).toContain('# TYPE highlander_calls_total counter');
    expect(await scrape(open)).toContain('# TYPE highlander_call_duration_seconds histogram');
    expect((await fetch(url(open), { method: 'POST' })).status).toBe(405);
    // The admin endpoints are untouched beside it.
    expect((await fetch(url(guarded, '/admin/activations'), { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect((await fetch(url(open, '/admin/activations'))).status).toBe(404); // off without a cluster secret
    expect(off.metrics).toBeUndefined();
    expect((await fetch(url(off))).status).toBe(426);
    expect(open.metrics).toBeInstanceOf(NodeMetrics);
  });
});

describe('node metrics on the embedded backends', () => {
  it('count a lost session and the activations it dropped; report no ZooKeeper or S3 series', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'highlander-metrics-'));
    const store = await FileStateStore.create({ dir });
    closers.push(async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    });
    const registry = new EmbeddedRegistry();
    const metrics = new NodeMetrics();
    const node = HighlanderNode.create({ name: 'node-a', coordinator: registry.coordinator(), store, objects, metrics });
    await node.start();
    started.push(node);
    expect(node.metrics).toBe(metrics);
    await node.ref(Counter, 'e1').call('increment', null);
    await node.ref(Counter, 'e2').call('increment', null);

    expect(registry.expireSession('node-a')).toBe(true);
    const text = await metrics.text(); // what /metrics serves, read in code
    expect(sample(text, 'highlander_session_lost_total')).toBe(1);
    expect(sample(text, 'highlander_deactivations_total', { type: 'counter', reason: 'session-lost' })).toBe(2);
    expect(sample(text, 'highlander_active_objects', { type: 'counter' })).toBe(0);
    expect(text).not.toMatch(/^highlander_zookeeper_request_duration_seconds_count/m);
    expect(text).not.toMatch(/^highlander_s3_request_duration_seconds_count/m);
  });

  it('refuse one NodeMetrics for two nodes', () => {
    const registry = new EmbeddedRegistry();
    const metrics = new NodeMetrics();
    const store = { read: async () => null } as unknown as FileStateStore;
    HighlanderNode.create({ name: 'node-a', coordinator: registry.coordinator(), store, objects, metrics });
    expect(() => HighlanderNode.create({ name: 'node-b', coordinator: registry.coordinator(), store, objects, metrics })).toThrow(/already belong to node 'node-a'/);
  });
});
