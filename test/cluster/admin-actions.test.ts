import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, uniqueRoot, type ClusterConfig, type NodeProcess } from '../../scripts/cluster.js';
import { Keyspace, ZkSession } from '@highlander/runtime/zookeeper';
import { s3Config, zookeeperConnect } from '../harness/servers.js';
import { TEST_OBJECTS } from '../harness/test-objects.js';
import { hold, timing } from '../harness/timing.js';
import { hammerTally } from '../harness/hammer.js';

/**
 * The node side of the admin actions (evict, migrate, drain) through each node's admin endpoint,
 * on real ZooKeeper and radosgw with three node processes.
 */

const TOKEN = 'test-admin-cluster-secret';
let zk: ZkSession;
let cluster: Cluster | undefined;

function config(label: string): ClusterConfig {
  return { zookeeper: zookeeperConnect(), s3: s3Config(), root: uniqueRoot(label), sessionTimeoutMs: timing.sessionTimeoutMs, objectsModule: TEST_OBJECTS, clusterSecret: TOKEN };
}

/** Calls a node's admin endpoint; returns the HTTP status and the JSON body. */
async function admin(node: NodeProcess, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, token = TOKEN): Promise<{ status: number; body: any }> {
  const response = await fetch(`${node.address.replace('ws://', 'http://')}/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

async function ownerOf(c: Cluster, type: string, id: string): Promise<string[]> {
  const owners: string[] = [];
  for (const node of c.nodes) {
    if ((await node.activations()).some((a) => a.type === type && a.id === id && a.status === 'active')) owners.push(node.name);
  }
  return owners;
}

beforeAll(async () => {
  zk = await ZkSession.open({ connect: zookeeperConnect() });
});

afterAll(() => zk.close());

afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe('node admin actions', () => {
  it('evict flushes and releases the lock; the next call reactivates from the persisted state', async () => {
    const c = config('evict');
    cluster = await Cluster.start(c, 3);
    const [a, b] = cluster.nodes as [NodeProcess, NodeProcess];
    await a.call('counter', 'e1', 'add', 41);
    const inspected = await admin(a, 'GET', '/objects/counter/e1');
    expect(inspected.status).toBe(200);
    expect(inspected.body).toMatchObject({ type: 'counter', id: 'e1', status: 'active', state: { value: 41 } });
    const evicted = await admin(a, 'POST', '/objects/counter/e1/evict');
    expect(evicted.status).toBe(200);
    expect(evicted.body.node).toBe('node-a');
    expect(await zk.getChildren(new Keyspace(c.root).lockParent('counter', 'e1')).catch(() => [])).toEqual([]);
    expect(a.events.some((e) => e.kind === 'object.deactivated' && e.id === 'e1' && e.reason === 'evicted')).toBe(true);
    expect(await b.call('counter', 'e1', 'add', 1)).toBe(42);
  });

  it('answers bad requests precisely: 401 without the token, 404 when not active here, 409 for an impossible migration', async () => {
    cluster = await Cluster.start(config('admin-errors'), 3);
    const [a] = cluster.nodes as [NodeProcess];
    await a.call('counter', 'x', 'increment', null);
    expect((await admin(a, 'GET', '/activations', undefined, 'wrong')).status).toBe(401);
    const missing = await admin(a, 'POST', '/objects/counter/nope/evict');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_ACTIVE_HERE');
    const badId = await admin(a, 'GET', '/objects/counter/has%20space');
    expect(badId.status).toBe(400);
    expect(badId.body.error.code).toBe('INVALID_OBJECT_ID');
    const self = await admin(a, 'POST', '/objects/counter/x/migrate', { to: 'node-a' });
    expect(self.status).toBe(409);
    expect(self.body.error.message).toContain('already there');
    const unknown = await admin(a, 'POST', '/objects/counter/x/migrate', { to: 'node-z' });
    expect(unknown.status).toBe(409);
    const noBody = await admin(a, 'POST', '/objects/counter/x/migrate', {});
    expect(noBody.status).toBe(400);
  });

  it('replaces state and runs calls through any node: forwarded to the owner with the version guard, queries only when asked', async () => {
    cluster = await Cluster.start(config('replace'), 3);
    const [a, b] = cluster.nodes as [NodeProcess, NodeProcess];
    await b.call('counter', 'r1', 'add', 3); // owned by node-b; the requests below go to node-a
    const version = (await admin(b, 'GET', '/objects/counter/r1')).body.version as number;

    const replaced = await admin(a, 'PUT', '/objects/counter/r1/state', { state: { value: 30 }, expectedVersion: version });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toEqual({ previous: { value: 3 }, previousVersion: version });
    expect(await a.call('counter', 'r1', 'value', null)).toBe(30);
    expect(await ownerOf(cluster, 'counter', 'r1')).toEqual(['node-b']);

    const stale = await admin(a, 'PUT', '/objects/counter/r1/state', { state: { value: 0 }, expectedVersion: version });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: 'VERSION_CONFLICT', details: { expectedVersion: version, currentVersion: version + 1, state: { value: 30 } } });
    const malformed = await admin(a, 'PUT', '/objects/counter/r1/state', { state: { value: 0 }, expectedVersion: 'latest' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('INVALID_ARGUMENT');

    const handlerAsQuery = await admin(a, 'POST', '/call', { type: 'counter', id: 'r1', op: 'add', arg: 1, queryOnly: true });
    expect(handlerAsQuery.status).toBe(403);
    expect(handlerAsQuery.body.error.code).toBe('NOT_A_QUERY');
    const query = await admin(a, 'POST', '/call', { type: 'counter', id: 'r1', op: 'value', queryOnly: true });
    expect(query.body).toEqual({ value: 30 });

    const types = await admin(a, 'GET', '/types');
    // Each argument schema as JSON Schema (zod's Standard JSON Schema), for tools that draw a form from it.
    expect(types.body.types).toContainEqual({
      type: 'set', handlers: ['add'], queries: ['has'], errors: [],
      args: {
        add: { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'string', minLength: 1, maxLength: 100 },
        has: { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'string' },
      },
    });
    // A type without argument schemas has none to describe.
    expect(types.body.types.find((t: { type: string }) => t.type === 'counter').args).toEqual({});
  });

  it('migrates an object while clients hammer it: no acknowledged call lost, the target owns it after', async () => {
    const c = config('migrate');
    cluster = await Cluster.start(c, 3);
    const nodes = cluster.nodes;
    const [a] = nodes as [NodeProcess];
    const load = await hammerTally(nodes, 'm1');
    await hold(timing.migrationLoadMs);
    const migrated = await admin(a, 'POST', '/objects/tally/m1/migrate', { to: 'node-c' });
    await hold(timing.migrationLoadMs);
    const { acked, indeterminate } = await load.stop();

    expect(migrated.status).toBe(200);
    expect(migrated.body).toMatchObject({ from: 'node-a', to: 'node-c' });
    expect(migrated.body.durationMs).toBeGreaterThan(0);
    expect(await ownerOf(cluster, 'tally', 'm1')).toEqual(['node-c']);
    expect(new Set(acked).size).toBe(acked.length);
    const final = (await nodes[1]!.call<{ value: number }>('tally', 'm1', 'read', null)).value;
    expect(final).toBeGreaterThanOrEqual(acked.length);
    expect(final).toBeLessThanOrEqual(acked.length + indeterminate);
    const target = cluster.node('node-c');
    expect(target.events.some((e) => e.kind === 'lock.queued' && e.id === 'm1' && e.owner === 'node-a')).toBe(true);
    expect(a.events.some((e) => e.kind === 'object.deactivated' && e.id === 'm1' && e.reason === 'migrated')).toBe(true);
    expect(a.events.some((e) => e.kind === 'object.migrated' && e.id === 'm1' && e.to === 'node-c')).toBe(true);
    expect(await zk.getChildren(new Keyspace(c.root).lockParent('tally', 'm1'))).toHaveLength(1);
  });

  it('after its lock is force-deleted while it is paused, a resumed owner serves nothing stale', async () => {
    const c = config('forced');
    cluster = await Cluster.start(c, 3);
    const [a, b] = cluster.nodes as [NodeProcess, NodeProcess];
    for (let i = 0; i < 3; i++) await a.call('tally', 'f1', 'increment', null);
    a.kill('SIGSTOP');
    try {
      // The admin API forces an eviction only after the owner ignored a graceful one (3 s by default).
      await hold(timing.pausedOwnerMs);
      // What a forced eviction does: delete the unresponsive owner's lock znode (its session stays alive).
      const parent = new Keyspace(c.root).lockParent('tally', 'f1');
      const [lock] = await zk.getChildren(parent);
      await zk.remove(`${parent}/${lock}`);
      const served = await b.call<{ value: number; node: string }>('tally', 'f1', 'increment', null);
      expect(served).toMatchObject({ value: 4, node: 'node-b' });
    } finally {
      a.kill('SIGCONT');
    }
    // Through the resumed node: it must not answer from its stale activation (value 3).
    const read = await a.call<{ value: number; node: string }>('tally', 'f1', 'read', null);
    expect(read).toMatchObject({ value: 4, node: 'node-b' });
    await a.waitForEvent((e) => e.kind === 'object.deactivated' && e.id === 'f1' && e.reason === 'fenced', timing.eventMs);
    expect(await ownerOf(cluster, 'tally', 'f1')).toEqual(['node-b']);
  });

  it('drains a node: its objects are deactivated with progress events, and new activations go elsewhere', async () => {
    cluster = await Cluster.start(config('drain'), 3);
    const [a, b] = cluster.nodes as [NodeProcess, NodeProcess];
    for (let i = 0; i < 6; i++) await a.call('counter', `d${i}`, 'add', i);
    expect((await a.activations()).length).toBe(6);
    const drained = await admin(a, 'POST', '/drain');
    expect(drained.status).toBe(200);
    expect(drained.body.deactivated).toBe(6);
    expect(await a.activations()).toEqual([]);
    const progress = a.events.filter((e) => e.kind === 'node.draining');
    expect(progress[0]).toMatchObject({ total: 6, remaining: 6 });
    expect(progress.at(-1)).toMatchObject({ remaining: 0 });
    // Calls still work through the drained node, and land on the others.
    for (let i = 0; i < 6; i++) expect(await a.call('counter', `d${i}`, 'add', 100)).toBe(i + 100);
    await a.call('counter', 'fresh', 'increment', null);
    expect(await a.activations()).toEqual([]);
    expect((await admin(b, 'GET', '/activations')).body.activations.length).toBeGreaterThan(0);
  });
});
