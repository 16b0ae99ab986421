import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, NodeProcess, startAdminApiProcess, stopAdminApiProcess, uniqueRoot, type ClusterConfig } from '../../scripts/cluster.js';
import { FaultProxy } from '../../scripts/servers/fault-proxy.js';
import { startZooKeeper, type ZooKeeperCluster } from '../../scripts/servers/zookeeper.js';
import { HighlanderError, NodeFull, ShardMapMismatch, type ShardMap } from '@highlander/runtime';
import { Keyspace, ZkSession, bucketOf } from '@highlander/runtime/zookeeper';
import { TEST_OBJECTS } from '../harness/test-objects.js';
import { s3Config, zookeeperConnect } from '../harness/servers.js';
import { closeSessionFor } from '../harness/session-expiry.js';
import { highlanderCli } from '../harness/cli.js';
import { timing } from '../harness/timing.js';

/**
 * The sharded registry (`--zk-shards`) on two real ZooKeepers on loopback — the suite's shared one as
 * the home ensemble and a second standalone server holding buckets 800-fff — with node processes and
 * radosgw: each object's lock queue is in the ensemble of its bucket, epochs of the shard outrank the
 * home's, a node with another map (or none) does not start, and when the shard's ZooKeeper goes down
 * the home keyspace keeps serving without dropping an activation while the shard's objects refuse,
 * then serve again, with no acknowledged increment lost.
 */

const TWO_TO_64 = 2n ** 64n;
let zkB: ZooKeeperCluster;
let home: ZkSession;
let shard: ZkSession;
let dir: string;
let cluster: Cluster | undefined;
const extra: NodeProcess[] = [];
const proxies: FaultProxy[] = [];
let api: Awaited<ReturnType<typeof startAdminApiProcess>> | undefined;
const VIEWER = 'viewer-token-shards-0123456789';
const OPERATOR = 'operator-token-shards-0123456789';

async function apiGet<T>(path: string): Promise<T> {
  const response = await fetch(`${api!.url}${path}`, { headers: { authorization: `Bearer ${VIEWER}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as T;
}


/** Runs `highlander …` against the admin API with `token`; exit code and output. */
function highlander(args: string[], token: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return highlanderCli(api!.url, token, args);
}

async function apiPost(path: string, body: unknown, token = OPERATOR): Promise<{ status: number; body: any }> {
  const response = await fetch(`${api!.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

/** Ids whose buckets are on the home ensemble (000-7ff) and on the shard (800-fff), `count` each. */
function idsByEnsemble(count: number): { home: string[]; shard: string[] } {
  const ids = { home: [] as string[], shard: [] as string[] };
  for (let i = 0; ids.home.length < count || ids.shard.length < count; i++) {
    const id = `s-${String(i).padStart(4, '0')}`;
    const list = Number.parseInt(bucketOf(id), 16) < 0x800 ? ids.home : ids.shard;
    if (list.length < count) list.push(id);
  }
  return ids;
}

async function writeMap(name: string, map: ShardMap): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, JSON.stringify(map));
  return file;
}

async function lockHolders(zk: ZkSession, root: string, id: string): Promise<string[]> {
  try {
    return await zk.getChildren(new Keyspace(root).lockParent('counter', id));
  } catch {
    return [];
  }
}

beforeAll(async () => {
  zkB = await startZooKeeper();
  home = await ZkSession.open({ connect: zookeeperConnect() });
  shard = await ZkSession.open({ connect: zkB.connectString });
  dir = await mkdtemp(join(tmpdir(), 'highlander-shards-'));
}, timing.zkEnsembleTestMs);

afterAll(async () => {
  home?.close();
  shard?.close();
  await zkB?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  if (api) await stopAdminApiProcess(api);
  api = undefined;
  await Promise.all(extra.splice(0).map(async (n) => {
    if (n.running) await n.stop().catch(() => n.kill('SIGKILL'));
  }));
  await cluster?.stop();
  cluster = undefined;
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

function config(root: string, mapFile: string | undefined): ClusterConfig {
  return {
    zookeeper: zookeeperConnect(), s3: s3Config(), root, sessionTimeoutMs: timing.sessionTimeoutMs, objectsModule: TEST_OBJECTS,
    placement: 'hash', ...(mapFile ? { nodeEnv: { HIGHLANDER_ZK_SHARDS: mapFile } } : {}),
  };
}

describe('sharded registry', () => {
  it('puts each lock queue in the ensemble of its bucket; the shard\'s epochs outrank the home\'s; a node on another map does not start', async () => {
    const root = uniqueRoot('shards');
    const map: ShardMap = { version: 1, shards: [{ name: 'zk-b', connect: zkB.connectString, buckets: ['800-fff'], generation: 1 }] };
    cluster = await Cluster.start(config(root, await writeMap('map.json', map)), 2);
    const ids = idsByEnsemble(6);
    for (const id of [...ids.home, ...ids.shard]) expect(await cluster.nodes[0]!.call('counter', id, 'increment')).toBe(1);

    const active = (await Promise.all(cluster.nodes.map((n) => n.activations()))).flat();
    // Placement spread them over both nodes; each object is active once.
    expect(new Set(active.map((a) => a.id)).size).toBe(12);
    for (const node of cluster.nodes) expect((await node.activations()).length).toBeGreaterThan(0);
    for (const a of active) {
      const inShard = ids.shard.includes(a.id);
      // The lock znode is in the object's ensemble, and only there.
      expect(await lockHolders(inShard ? shard : home, root, a.id)).toHaveLength(1);
      expect(await lockHolders(inShard ? home : shard, root, a.id)).toHaveLength(0);
      // Epoch: generation 1 × 2^64 + the shard's czxid; the home's are plain czxids.
      if (inShard) expect(BigInt(a.epoch)).toBeGreaterThanOrEqual(TWO_TO_64);
      else expect(BigInt(a.epoch)).toBeLessThan(TWO_TO_64);
    }
    // Both ensembles hold the same marker, and every node is a member of both.
    const keyspace = new Keyspace(root);
    const markers = await Promise.all([home, shard].map(async (zk) => (await zk.getData(keyspace.shardMapPath)).data!.toString('utf8')));
    expect(markers[0]).toBe(markers[1]);
    expect(JSON.parse(markers[0]!)).toEqual({ version: 1, shards: [{ name: 'zk-b', buckets: ['800-fff'], generation: 1 }] });
    for (const zk of [home, shard]) expect((await zk.getChildren(keyspace.nodesPath)).sort()).toEqual(['node-a', 'node-b']);

    // The admin API, given the same map, reads every ensemble: which holds which buckets, every object with the
    // epoch its owner reports, and each object's lock queue from the ensemble of its bucket.
    const cfg = config(root, await writeMap('admin.json', map));
    api = await startAdminApiProcess(cfg, { tokens: `viewer:vera:${VIEWER}`, auditLog: join(dir, `audit-${root.slice(1)}.jsonl`), env: { HIGHLANDER_LOG_LEVEL: 'error', HIGHLANDER_ZK_SHARDS: cfg.nodeEnv!.HIGHLANDER_ZK_SHARDS! } });
    const shards = await apiGet<{ sharded: boolean; version: number; ensembles: Array<{ name: string; buckets: string[]; bucketCount: number; generation: number; connected: boolean }> }>('/api/shards');
    expect(shards).toEqual({
      sharded: true, version: 1, ensembles: [
        { name: 'home', connect: zookeeperConnect(), buckets: ['000-7ff'], bucketCount: 2048, generation: 0, connected: true },
        { name: 'zk-b', connect: zkB.connectString, buckets: ['800-fff'], bucketCount: 2048, generation: 1, connected: true },
      ],
    });
    const epochs = new Map(active.map((a) => [a.id, a.epoch]));
    await expect.poll(async () => {
      const page = await apiGet<{ items: Array<{ id: string; epoch: string }> }>('/api/objects?type=counter&limit=100');
      return new Map(page.items.map((o) => [o.id, o.epoch]));
    }, { timeout: timing.eventMs, interval: timing.pollMs }).toEqual(epochs);
    const owners = new Map<string, string>();
    for (const node of cluster.nodes) for (const a of await node.activations()) owners.set(a.id, node.name);
    for (const id of [ids.home[0]!, ids.shard[0]!]) {
      const { queue } = await apiGet<{ queue: Array<{ node: string; path: string }> }>(`/api/objects/counter/${id}/queue`);
      expect(queue).toEqual([expect.objectContaining({ node: owners.get(id), path: expect.stringContaining(keyspace.lockParent('counter', id)) })]);
    }

    // A node without the map, or with another, is refused before it joins.
    const unsharded = new NodeProcess('node-x', config(root, undefined));
    extra.push(unsharded);
    const refusedNone = await unsharded.start().then(() => undefined, (err: unknown) => err);
    expect(refusedNone).toBeInstanceOf(ShardMapMismatch);
    expect((refusedNone as Error).message).toMatch(/holds shard map version 1 \(shards zk-b\), this node was given none/);
    const other: ShardMap = { version: 2, shards: [{ name: 'zk-b', connect: zkB.connectString, buckets: ['c00-fff'], generation: 2 }] };
    const differs = new NodeProcess('node-y', config(root, await writeMap('other.json', other)));
    extra.push(differs);
    const refusedOther = await differs.start().then(() => undefined, (err: unknown) => err);
    expect(refusedOther).toBeInstanceOf(ShardMapMismatch);
    expect((refusedOther as Error).message).toMatch(/this node was given shard map version 2/);
    for (const zk of [home, shard]) expect((await zk.getChildren(keyspace.nodesPath)).sort()).toEqual(['node-a', 'node-b']);
  }, timing.zkEnsembleTestMs);

  it('when the shard\'s ZooKeeper is down, the home keyspace keeps serving and the shard\'s objects refuse; after it returns nothing acknowledged is lost', async () => {
    const root = uniqueRoot('shards-outage');
    const map: ShardMap = { version: 1, shards: [{ name: 'zk-b', connect: zkB.connectString, buckets: ['800-fff'], generation: 1 }] };
    cluster = await Cluster.start(config(root, await writeMap('outage.json', map)), 2);
    const ids = idsByEnsemble(4);
    const all = [...ids.home, ...ids.shard];
    const acked = new Map<string, number>(all.map((id) => [id, 0]));
    const failed = new Map<string, number>(all.map((id) => [id, 0]));
    const increment = async (id: string, timeoutMs?: number) => {
      try {
        const value = await cluster!.nodes[0]!.call<number>('counter', id, 'increment', null, timeoutMs);
        acked.set(id, acked.get(id)! + 1);
        return value;
      } catch (err) {
        failed.set(id, failed.get(id)! + 1);
        throw err;
      }
    };
    for (const id of all) await increment(id);
    const epochsBefore = new Map((await Promise.all(cluster.nodes.map((n) => n.activations()))).flat().map((a) => [a.id, a.epoch]));

    await zkB.servers[0]!.stop();
    // The shard's objects stop serving: their lease is gone with the connection.
    await expect.poll(async () => {
      try {
        await increment(ids.shard[0]!, 2000);
        return undefined;
      } catch (err) {
        return err;
      }
    }, { timeout: timing.failoverMs, interval: timing.pollMs }).toBeInstanceOf(HighlanderError);
    // …while every home object serves, from the same activation (nothing of the home keyspace was dropped).
    for (let round = 0; round < 3; round++) {
      for (const id of ids.home) await increment(id);
    }
    const homeNow = new Map((await Promise.all(cluster.nodes.map((n) => n.activations()))).flat().map((a) => [a.id, a.epoch]));
    for (const id of ids.home) expect(homeNow.get(id)).toBe(epochsBefore.get(id));
    for (const id of ids.home) expect(failed.get(id)).toBe(0);
    const shardCall = await cluster.nodes[0]!.call('counter', ids.shard[1]!, 'increment', null, 2000).then(() => 'served', (err: HighlanderError) => err.code);
    if (shardCall === 'served') acked.set(ids.shard[1]!, acked.get(ids.shard[1]!)! + 1);
    else failed.set(ids.shard[1]!, failed.get(ids.shard[1]!)! + 1);
    expect(['OWNERSHIP_LOST', 'COORDINATOR_UNAVAILABLE', 'CALL_TIMEOUT']).toContain(shardCall);

    await zkB.servers[0]!.start();
    // The shard's objects serve again (re-activated if their session expired meanwhile).
    for (const id of ids.shard) {
      await expect.poll(() => increment(id, 5000).then(() => true, () => false), { timeout: timing.failoverMs, interval: timing.pollMs }).toBe(true);
    }
    // No acknowledged increment is lost: each counter holds at least its acknowledged increments, and at
    // most those plus the ones whose outcome was unknown to the caller.
    for (const id of all) {
      const value = await cluster.nodes[1]!.call<number>('counter', id, 'value');
      expect(value).toBeGreaterThanOrEqual(acked.get(id)!);
      expect(value).toBeLessThanOrEqual(acked.get(id)! + failed.get(id)!);
    }
  }, timing.zkEnsembleTestMs);

  it('a session lost with the shard drops only the shard\'s activations; they come back with a newer epoch', async () => {
    const root = uniqueRoot('shards-expiry');
    // The node reaches the shard's ZooKeeper through a proxy, so that its path can be cut while its session is closed.
    const proxy = await FaultProxy.start({ name: 'node→zk-b', target: { host: '127.0.0.1', port: zkB.servers[0]!.clientPort } });
    proxies.push(proxy);
    const map: ShardMap = { version: 1, shards: [{ name: 'zk-b', connect: proxy.address, buckets: ['800-fff'], generation: 1 }] };
    cluster = await Cluster.start({ ...config(root, await writeMap('expiry.json', map)), placement: 'local' }, 1);
    const node = cluster.nodes[0]!;
    const ids = idsByEnsemble(3);
    for (const id of [...ids.home, ...ids.shard]) await node.call('counter', id, 'increment');
    const before = new Map((await node.activations()).map((a) => [a.id, a.epoch]));
    expect(before.size).toBe(6);

    // End the node's session with the shard's ZooKeeper, as a long partition from it would: its path is cut,
    // a second client takes the session over and closes it; healed, the node finds it expired.
    const session = await node.command<{ sessionId: string; sessionPassword: string; timeoutMs: number }>('session', { ensemble: 'zk-b' });
    const credentials = { sessionId: Buffer.from(session.sessionId, 'hex'), sessionPassword: Buffer.from(session.sessionPassword, 'hex'), timeoutMs: session.timeoutMs };
    proxy.set({ mode: 'blackhole' });
    await closeSessionFor(zkB.connectString, credentials);
    proxy.set({ mode: 'pass' });
    const loss = await node.waitForEvent((e) => e.kind === 'node.session-lost', timing.eventMs) as unknown as { ensemble?: string; activationsDropped: number };
    expect(loss.ensemble).toBe('zk-b');
    expect(loss.activationsDropped).toBe(3);

    // The home objects were not touched: still active under the same epoch, serving.
    const after = new Map((await node.activations()).map((a) => [a.id, a.epoch]));
    for (const id of ids.home) expect(after.get(id)).toBe(before.get(id));
    for (const id of ids.shard) expect(after.has(id)).toBe(false);
    for (const id of ids.home) expect(await node.call('counter', id, 'increment')).toBe(2);
    // The shard's objects activate again under the rejoined session, with a newer epoch, their state intact.
    for (const id of ids.shard) {
      await expect.poll(() => node.call('counter', id, 'increment', null, 5000).then((v) => v, () => undefined), { timeout: timing.failoverMs, interval: timing.pollMs }).toBe(2);
    }
    const again = new Map((await node.activations()).map((a) => [a.id, a.epoch]));
    for (const id of ids.shard) expect(BigInt(again.get(id)!)).toBeGreaterThan(BigInt(before.get(id)!));
  }, timing.zkEnsembleTestMs);

  it('moves buckets to a standby ensemble through the admin API while the objects serve; refuses bad moves saying why', async () => {
    const root = uniqueRoot('shards-move');
    // zk-b is a standby: listed, no buckets. Everything starts on the home ensemble.
    const map: ShardMap = { version: 1, shards: [{ name: 'zk-b', connect: zkB.connectString, buckets: [], generation: 1 }] };
    const cfg = config(root, await writeMap('move.json', map));
    cluster = await Cluster.start(cfg, 2);
    api = await startAdminApiProcess(cfg, {
      tokens: `viewer:vera:${VIEWER},operator:otto:${OPERATOR}`, auditLog: join(dir, `audit-${root.slice(1)}.jsonl`),
      env: { HIGHLANDER_LOG_LEVEL: 'error', HIGHLANDER_ZK_SHARDS: cfg.nodeEnv!.HIGHLANDER_ZK_SHARDS! },
    });
    const ids = idsByEnsemble(4);
    const all = [...ids.home, ...ids.shard];
    for (const id of all) expect(await cluster.nodes[0]!.call('counter', id, 'increment')).toBe(1);
    const before = new Map((await Promise.all(cluster.nodes.map((n) => n.activations()))).flat().map((a) => [a.id, a.epoch]));
    for (const id of all) expect(BigInt(before.get(id)!)).toBeLessThan(TWO_TO_64);

    // Refused, each saying why: a viewer, bad input, a target that holds buckets or is unknown.
    expect((await apiPost('/api/shards/move', { buckets: ['800-fff'], to: 'zk-b' }, VIEWER)).status).toBe(403);
    const bad = await apiPost('/api/shards/move', { buckets: ['800-FFF'], to: 'zk-b' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    const unknown = await apiPost('/api/shards/move', { buckets: ['800-fff'], to: 'zk-q' });
    expect(unknown.status).toBe(409);
    expect(unknown.body.error).toMatchObject({ code: 'MOVE_REFUSED', message: expect.stringContaining("'zk-q' is not a shard of the map") });

    const listed = await highlander(['shards'], VIEWER);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/shard map version 1/);
    expect(listed.stdout).toMatch(/zk-b\s+connected\s+— \(standby\)/);
    // The move, through the CLI (operator): it answers once done, with the map for every --zk-shards file.
    const moved = await highlander(['shards', 'move', '800-fff', 'zk-b', '--json'], OPERATOR);
    expect(moved.code, moved.stderr).toBe(0);
    const result = JSON.parse(moved.stdout) as { from: string; to: string; buckets: string[]; version: number; map: { shards: unknown[] } };
    expect(result).toMatchObject({ from: 'home', to: 'zk-b', buckets: ['800-fff'], version: 2 });
    expect(result.map.shards).toEqual([{ name: 'zk-b', connect: zkB.connectString, buckets: ['800-fff'], generation: 2 }]);
    const badAction = await highlander(['shards', 'split', '800-fff', 'zk-b'], OPERATOR);
    expect(badAction.code).toBe(2);
    expect(badAction.stderr).toMatch(/unknown action 'split'/);
    // The moved objects were drained from the home ensemble; the others stayed active under the same epoch.
    const after = new Map((await Promise.all(cluster.nodes.map((n) => n.activations()))).flat().map((a) => [a.id, a.epoch]));
    for (const id of ids.home) expect(after.get(id)).toBe(before.get(id));
    for (const id of ids.shard) expect(after.has(id)).toBe(false);
    // Called again, they activate in zk-b under generation 2, their state intact.
    for (const id of all) expect(await cluster.nodes[1]!.call('counter', id, 'increment')).toBe(2);
    const keyspace = new Keyspace(root);
    const again = new Map((await Promise.all(cluster.nodes.map((n) => n.activations()))).flat().map((a) => [a.id, a.epoch]));
    for (const id of ids.shard) {
      expect(BigInt(again.get(id)!)).toBeGreaterThanOrEqual(2n * TWO_TO_64);
      expect(await lockHolders(shard, root, id)).toHaveLength(1);
      expect(await lockHolders(home, root, id)).toHaveLength(0);
    }
    const shards = await apiGet<{ version: number; ensembles: Array<{ name: string; buckets: string[]; generation: number }> }>('/api/shards');
    expect(shards.version).toBe(2);
    expect(shards.ensembles.map((e) => [e.name, e.buckets, e.generation])).toEqual([['home', ['000-7ff'], 0], ['zk-b', ['800-fff'], 2]]);
    expect((await highlander(['shards'], VIEWER)).stdout).toMatch(/shard map version 2[\s\S]*zk-b\s+connected\s+800-fff\s+2,?048\s+2/);
    // Every ensemble keeps the new map; a node started with the old file is refused, saying so.
    for (const zk of [home, shard]) expect(JSON.parse((await zk.getData(keyspace.shardMapPath)).data!.toString('utf8')).version).toBe(2);
    const stale = new NodeProcess('node-z', cfg);
    extra.push(stale);
    const refused = await stale.start().then(() => undefined, (err: unknown) => err);
    expect(refused).toBeInstanceOf(ShardMapMismatch);
    expect((refused as Error).message).toMatch(/holds shard map version 2 .* this node was given shard map version 1/);
    // Audited: the refused move (400s are refused before the action) and the one done, with its buckets, target and outcome.
    const audit = await apiGet<{ items: Array<{ result: string; params: unknown; outcome?: unknown; error?: { code: string } }> }>('/api/audit?action=shards.move');
    expect(audit.items).toEqual(expect.arrayContaining([
      expect.objectContaining({ result: 'error', params: { buckets: ['800-fff'], to: 'zk-q' }, error: expect.objectContaining({ code: 'MOVE_REFUSED' }) }),
      expect.objectContaining({ result: 'ok', params: { buckets: ['800-fff'], to: 'zk-b' }, outcome: expect.objectContaining({ from: 'home', version: 2 }) }),
    ]));
  }, timing.zkEnsembleTestMs);

  it('holds the lock budget per ensemble: each session-close transaction lists only its own locks', async () => {
    const root = uniqueRoot('shards-budget');
    const map: ShardMap = { version: 1, shards: [{ name: 'zk-b', connect: zkB.connectString, buckets: ['800-fff'], generation: 1 }] };
    const ids = idsByEnsemble(4);
    // Ids of one length: every lock costs the same, in either ensemble (same root, same node name). Three fit per ensemble.
    const cost = Buffer.byteLength(`${new Keyspace(root).lockParent('counter', ids.home[0]!)}/lock-node-a-`) + 16 + 1 + 8 + 1 + 10 + 4;
    for (const id of [...ids.home, ...ids.shard]) expect(Buffer.byteLength(new Keyspace(root).lockParent('counter', id))).toBe(Buffer.byteLength(new Keyspace(root).lockParent('counter', ids.home[0]!)));
    cluster = await Cluster.start({
      ...config(root, await writeMap('budget.json', map)), placement: 'local',
      nodeEnv: { HIGHLANDER_ZK_SHARDS: join(dir, 'budget.json'), HIGHLANDER_LOCK_BUDGET_BYTES: String(3 * cost + Math.floor(cost / 2)) },
    }, 1);
    const node = cluster.nodes[0]!;
    // Six objects: more than one budget holds, but three per ensemble.
    for (const id of [...ids.home.slice(0, 3), ...ids.shard.slice(0, 3)]) expect(await node.call('counter', id, 'increment')).toBe(1);
    expect((await node.activations()).length).toBe(6);
    // A fourth in either ensemble passes that ensemble's budget: NODE_FULL, nothing created in ZooKeeper.
    for (const [id, zk] of [[ids.home[3]!, home], [ids.shard[3]!, shard]] as const) {
      const refused = await node.call('counter', id, 'increment', null, 5000).then(() => undefined, (err: unknown) => err);
      expect(refused).toBeInstanceOf(NodeFull);
      expect(await lockHolders(zk, root, id)).toHaveLength(0);
    }
  }, timing.zkEnsembleTestMs);
});
