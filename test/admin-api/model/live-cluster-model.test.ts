import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Cluster, uniqueRoot, type ClusterConfig, type NodeProcess } from '../../../scripts/cluster.js';
import { LiveClusterModel } from '@highlander/admin-api';
import type { ModelDelta } from '@highlander/admin-api';
import { Keyspace, ZkSession } from '@highlander/runtime/zookeeper';
import { s3Config, zookeeperConnect } from '../../harness/servers.js';
import { TEST_OBJECTS } from '../../harness/test-objects.js';
import { timing } from '../../harness/timing.js';
import { ownersInZooKeeper } from '../../harness/lock-tree.js';

/**
 * The admin API's live model against real ZooKeeper, radosgw and three node processes: it must
 * agree with ZooKeeper's lock tree (the truth about owners) through activations, deactivations,
 * a cut event stream, a killed node, and a restart of the model itself.
 */

let zk: ZkSession;
let cluster: Cluster | undefined;
let model: LiveClusterModel | undefined;

function config(label: string): ClusterConfig {
  return { zookeeper: zookeeperConnect(), s3: s3Config(), root: uniqueRoot(label), sessionTimeoutMs: timing.sessionTimeoutMs, objectsModule: TEST_OBJECTS, idleTimeoutMs: 60_000 };
}


function ownersInModel(m: LiveClusterModel): Map<string, string> {
  return new Map(m.objects({ limit: 1000 }).items.map((o) => [`${o.type}/${o.id}`, o.owner]));
}

/** Waits until the model agrees with ZooKeeper (events arrive asynchronously), failing with the difference. */
async function expectModelMatchesZooKeeper(m: LiveClusterModel, root: string): Promise<void> {
  await vi.waitFor(async () => {
    const truth = await ownersInZooKeeper(zk, root);
    expect([...ownersInModel(m)].sort()).toEqual([...truth].sort());
  }, { timeout: timing.eventMs, interval: 100 });
}

beforeAll(async () => {
  zk = await ZkSession.open({ connect: zookeeperConnect() });
});

afterAll(() => zk.close());

afterEach(async () => {
  await model?.stop();
  model = undefined;
  await cluster?.stop();
  cluster = undefined;
});

describe('live cluster model', () => {
  it('follows nodes and objects from events, and agrees with ZooKeeper', async () => {
    const c = config('model');
    cluster = await Cluster.start(c, 3);
    const [a, b] = cluster.nodes as [NodeProcess, NodeProcess];
    model = await LiveClusterModel.start({ connect: c.zookeeper, root: c.root });
    expect(model.nodes().map((n) => n.name)).toEqual(['node-a', 'node-b', 'node-c']);
    expect(model.ready()).toBe(true);
    const deltas: ModelDelta[] = [];
    model.subscribe((d) => deltas.push(d));
    for (let i = 0; i < 10; i++) await (i % 2 ? a : b).call('counter', `m${i}`, 'increment', null);
    await expectModelMatchesZooKeeper(model, c.root);
    expect(model.summary()).toMatchObject({ nodes: 3, objects: 10, byType: { counter: 10 } });
    expect(deltas.some((d) => d.kind === 'object' && d.id === 'm3' && d.object?.owner === 'node-a')).toBe(true);
    // Per-object activity arrives with the next stats interval.
    await b.call('counter', 'm0', 'increment', null);
    await vi.waitFor(() => expect(model!.object('counter', 'm0')?.lastCallAt).not.toBeNull(), { timeout: timing.eventMs, interval: 100 });
    // Filtering, sorting and keyset pagination.
    const page1 = model.objects({ node: 'node-a', sort: 'id', limit: 3 });
    expect(page1.total).toBe(5);
    expect(page1.items.map((o) => o.id)).toEqual(['m1', 'm3', 'm5']);
    const page2 = model.objects({ node: 'node-a', sort: 'id', limit: 3, cursor: page1.cursor! });
    expect(page2.items.map((o) => o.id)).toEqual(['m7', 'm9']);
    expect(page2.cursor).toBeUndefined();
    // The lock queue as ZooKeeper has it.
    const queue = await model.lockQueue('counter', 'm1');
    expect(queue).toHaveLength(1);
    expect(queue[0]).toMatchObject({ node: 'node-a' });
    expect(queue[0]!.waitingSince).toBeGreaterThan(0);
  });

  it('still matches ZooKeeper after an event stream is cut, a node is killed, and the model restarts', async () => {
    const c = config('model-faults');
    cluster = await Cluster.start(c, 3);
    const [a, b, cNode] = cluster.nodes as [NodeProcess, NodeProcess, NodeProcess];
    model = await LiveClusterModel.start({ connect: c.zookeeper, root: c.root, reconcileIntervalMs: 60_000 });
    for (let i = 0; i < 6; i++) await a.call('counter', `a${i}`, 'increment', null);
    for (let i = 0; i < 3; i++) await cNode.call('counter', `c${i}`, 'increment', null);
    await expectModelMatchesZooKeeper(model, c.root);
    expect(model.node('node-c')?.activations).toBe(3);

    // Cut node-b's stream and change things on node-b while it is down; the model resumes or reconciles.
    model.cutEventStream('node-b');
    for (let i = 0; i < 4; i++) await b.call('counter', `b${i}`, 'increment', null);
    await expectModelMatchesZooKeeper(model, c.root);

    // A killed node: its objects disappear from the model once its session (and locks) expire.
    cNode.kill('SIGKILL');
    for (let i = 0; i < 3; i++) await b.call('set', `s${i}`, 'add', 'x');
    await vi.waitFor(() => expect(model!.node('node-c')).toBeUndefined(), { timeout: timing.failoverMs, interval: 100 });
    expect(model.objects({ node: 'node-c', limit: 10 }).total).toBe(0);
    await expectModelMatchesZooKeeper(model, c.root);

    // The admin side restarts mid-run: a fresh model learns everything from ZooKeeper.
    await model.stop();
    for (let i = 0; i < 3; i++) await a.call('counter', `late${i}`, 'increment', null);
    model = await LiveClusterModel.start({ connect: c.zookeeper, root: c.root });
    await expectModelMatchesZooKeeper(model, c.root);
    expect(model.summary().objects).toBe(6 + 4 + 3 + 3); // node-c's three went with its session
  });

  it('watches a lock queue only while someone looks, and reports waiters', async () => {
    const c = config('model-queue');
    cluster = await Cluster.start(c, 2);
    const [a] = cluster.nodes as [NodeProcess];
    model = await LiveClusterModel.start({ connect: c.zookeeper, root: c.root });
    await a.call('counter', 'q', 'increment', null);
    const seen: number[] = [];
    const stop = model.watchLockQueue('counter', 'q', (queue) => seen.push(queue.length));
    await vi.waitFor(() => expect(seen[0]).toBe(1), { timeout: timing.eventMs, interval: 50 });
    // A second znode joins the queue (as a migration target would): the watcher sees two entries.
    const parent = new Keyspace(c.root).lockParent('counter', 'q');
    const waiter = await zk.create(`${parent}/lock-visitor-00-00-`, undefined, 3 /* EPHEMERAL_SEQUENTIAL */);
    await vi.waitFor(() => expect(seen).toContain(2), { timeout: timing.eventMs, interval: 50 });
    stop();
    await zk.remove(waiter);
  });

  it('counts lock-queue waiters for the gauges, and drops one that left without a word', async () => {
    const c = config('model-gauges');
    cluster = await Cluster.start(c, 2);
    const [a] = cluster.nodes as [NodeProcess];
    model = await LiveClusterModel.start({ connect: c.zookeeper, root: c.root });
    await a.call('counter', 'g', 'increment', null);
    await expectModelMatchesZooKeeper(model, c.root);
    expect(await model.gauges()).toEqual({ nodes: 2, objects: 1, lockWaiters: 0, longestLockQueue: 0 });
    // Two nodes queue behind the owner (as callers waiting on a stuck owner would); a scan finds them.
    const parent = new Keyspace(c.root).lockParent('counter', 'g');
    const waiters = [
      await zk.create(`${parent}/lock-visitor-00-00-`, undefined, 3 /* EPHEMERAL_SEQUENTIAL */),
      await zk.create(`${parent}/lock-guest-00-00-`, undefined, 3),
    ];
    await model.reconcile();
    expect(await model.gauges()).toEqual({ nodes: 2, objects: 1, lockWaiters: 2, longestLockQueue: 2 });
    expect(model.object('counter', 'g')?.waiting).toBe(2);
    // One gives up (no lifecycle event says so): the gauges read the queue again and see it gone.
    await zk.remove(waiters[0]!);
    expect(await model.gauges()).toEqual({ nodes: 2, objects: 1, lockWaiters: 1, longestLockQueue: 1 });
    expect(model.object('counter', 'g')?.waiting).toBe(1);
    await zk.remove(waiters[1]!);
    expect(await model.gauges()).toMatchObject({ lockWaiters: 0, longestLockQueue: 0 });
  });
});
