import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Cluster, startAdminApiProcess, stopAdminApiProcess, uniqueRoot, type ClusterConfig } from '../../scripts/cluster.js';
import { NodeFull, type MemberInfo } from '@highlander/runtime';
import { Keyspace, ZkSession } from '@highlander/runtime/zookeeper';
import { TEST_OBJECTS } from '../harness/test-objects.js';
import { s3Config, zookeeperConnect } from '../harness/servers.js';
import { timing } from '../harness/timing.js';

/**
 * The lock budget (`--lock-budget-bytes`) on two node processes, a real ZooKeeper and radosgw: a node
 * whose lock paths would pass it refuses new activations, placement sends them to the other node,
 * the node publishes that it is full, and once both are full a call fails with NODE_FULL saying what
 * to do; when an object leaves, the node takes new ones again.
 */

let zk: ZkSession;
let cluster: Cluster | undefined;
let api: Awaited<ReturnType<typeof startAdminApiProcess>> | undefined;
let dir: string | undefined;
const VIEWER = 'viewer-token-lock-budget-0123456789';
const OPERATOR = 'operator-token-lock-budget-0123456789';

beforeAll(async () => {
  zk = await ZkSession.open({ connect: zookeeperConnect() });
});

afterAll(() => zk.close());

afterEach(async () => {
  if (api) await stopAdminApiProcess(api);
  api = undefined;
  await cluster?.stop();
  cluster = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** `full` of each node as the admin API shows it (GET /api/nodes). */
async function fullInAdminApi(): Promise<Record<string, boolean>> {
  const response = await fetch(`${api!.url}/api/nodes`, { headers: { authorization: `Bearer ${VIEWER}` } });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { items: Array<{ name: string; full: boolean }> };
  return Object.fromEntries(body.items.map((n) => [n.name, n.full]));
}

/** What one counter's lock costs node-a/node-b, as the runtime counts it (zookeeper-coordinator.ts). */
function lockCost(root: string, id: string): number {
  const parent = new Keyspace(root).lockParent('counter', id);
  return Buffer.byteLength(`${parent}/lock-node-a-`) + 16 + 1 + 8 + 1 + 10 + 4;
}

async function owners(c: Cluster): Promise<Map<string, string[]>> {
  const byNode = new Map<string, string[]>();
  for (const node of c.nodes) byNode.set(node.name, (await node.activations()).map((a) => a.id).sort());
  return byNode;
}

async function memberInfo(root: string, name: string): Promise<MemberInfo> {
  const data = await zk.getData(new Keyspace(root).memberPath(name));
  return JSON.parse(data.data!.toString('utf8')) as MemberInfo;
}

describe('lock budget', () => {
  it('a node at its budget refuses new activations, placement uses the other node, then NODE_FULL; room again after an eviction', async () => {
    const root = uniqueRoot('lock-budget');
    // Ids of one length: every lock costs the same. Three fit under the budget, a fourth does not.
    const cost = lockCost(root, 'c-0');
    const config: ClusterConfig = {
      zookeeper: zookeeperConnect(), s3: s3Config(), root, sessionTimeoutMs: timing.sessionTimeoutMs, objectsModule: TEST_OBJECTS,
      placement: 'local', nodeEnv: { HIGHLANDER_LOCK_BUDGET_BYTES: String(3 * cost + Math.floor(cost / 2)) },
    };
    cluster = await Cluster.start(config, 2);
    dir = await mkdtemp(join(tmpdir(), 'highlander-lock-budget-'));
    api = await startAdminApiProcess(config, { tokens: `viewer:vera:${VIEWER},operator:otto:${OPERATOR}`, auditLog: join(dir, 'audit.jsonl'), env: { HIGHLANDER_LOG_LEVEL: 'error' } });
    const [a, b] = cluster.nodes as [NonNullable<typeof cluster.nodes[0]>, NonNullable<typeof cluster.nodes[0]>];

    await a.call('counter', 'c-0', 'increment', null);
    // The runtime's count of a lock's bytes is the real lock znode's path (plus its 4-byte length).
    const parent = new Keyspace(root).lockParent('counter', 'c-0');
    const [lock] = await zk.getChildren(parent);
    expect(Buffer.byteLength(`${parent}/${lock}`) + 4).toBe(cost);

    // Placement is local: node-a takes what fits, then the calls through it activate on node-b.
    for (let i = 1; i < 6; i++) expect(await a.call('counter', `c-${i}`, 'increment', null)).toBe(1);
    expect(await owners(cluster)).toEqual(new Map([['node-a', ['c-0', 'c-1', 'c-2']], ['node-b', ['c-3', 'c-4', 'c-5']]]));
    await vi.waitFor(async () => expect((await memberInfo(root, 'node-a')).full).toBe(true), timing.eventMs);
    await vi.waitFor(async () => expect((await memberInfo(root, 'node-b')).full).toBe(true), timing.eventMs);
    await vi.waitFor(async () => expect(await fullInAdminApi()).toEqual({ 'node-a': true, 'node-b': true }), timing.eventMs);
    // A full node is no migration target either.
    const migrate = await fetch(`${api!.url}/api/objects/counter/c-3/migrate`, {
      method: 'POST', headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' }, body: JSON.stringify({ to: 'node-a' }),
    });
    expect(migrate.status).toBe(409);
    expect(await migrate.json()).toMatchObject({ error: { code: 'MIGRATION_REFUSED', message: expect.stringContaining('lock budget'), details: { reason: 'target-full' } } });
    expect((await owners(cluster)).get('node-b')).toEqual(['c-3', 'c-4', 'c-5']);

    // Both full: a new object is refused through either node, with what to do; nothing activated.
    for (const via of [a, b]) {
      const refused = await via.call('counter', 'c-6', 'increment', null).then(() => undefined, (err: unknown) => err);
      expect(refused).toBeInstanceOf(NodeFull);
      expect((refused as NodeFull).message).toMatch(/lockBudgetBytes.*add nodes, or raise the budget/);
    }
    expect(await zk.exists(new Keyspace(root).lockParent('counter', 'c-6'))).toBeNull();
    // Objects already active still serve.
    expect(await b.call('counter', 'c-0', 'increment', null)).toBe(2);

    // One leaves node-a: it has room again, says so, and takes the next new object.
    await a.command('evict', { type: 'counter', id: 'c-1' });
    await vi.waitFor(async () => expect((await memberInfo(root, 'node-a')).full).toBe(false), timing.eventMs);
    await vi.waitFor(async () => expect(await fullInAdminApi()).toEqual({ 'node-a': false, 'node-b': true }), timing.eventMs);
    expect(await b.call('counter', 'c-6', 'increment', null)).toBe(1);
    expect((await owners(cluster)).get('node-a')).toEqual(['c-0', 'c-2', 'c-6']);
  });
});
