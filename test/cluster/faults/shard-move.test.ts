import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startZooKeeper, type ZooKeeperCluster } from '../../../scripts/servers/zookeeper.js';
import { HOME_ENSEMBLE, ZkSession, bucketOf, composeEpoch, moveBuckets, type MoveResult, type ShardMap } from '@highlander/runtime/zookeeper';
import { timing } from '../../harness/timing.js';
import { expectSafeAndRecovered } from './expectations.js';
import { runScenario, startFaultServers, healServers, type FaultServers } from './scenario.js';

/**
 * Adding an ensemble under load: the fault suite's cluster (a 3-server ensemble as the home
 * ensemble, radosgw, node processes, clients incrementing, adding and compare-and-setting) runs on a
 * shard map with a standby shard — a standalone ZooKeeper — and half the keyspace (buckets 800-fff)
 * moves to it while the workload runs. Every invariant of the checker holds (one owner at a time,
 * nothing acknowledged lost, linearizable registers, no lock or member left behind), every object of
 * the moved buckets is served from the new ensemble afterwards under an epoch of the new generation,
 * and the others never moved.
 */

let servers: FaultServers | undefined;
let zkC: ZooKeeperCluster;
let dir: string;

beforeAll(async () => {
  servers = await startFaultServers();
  zkC = await startZooKeeper();
  dir = await mkdtemp(join(tmpdir(), 'highlander-shard-move-'));
}, timing.zkEnsembleTestMs);

afterAll(async () => {
  await Promise.all([servers?.zookeeper.stop(), servers?.radosgw.stop(), zkC?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('moving keyspace to a new ensemble', () => {
  it('moves buckets 800-fff to a standby ensemble under load: no two owners, nothing acknowledged lost', async () => {
    await healServers(servers!);
    const map: ShardMap = { version: 1, shards: [{ name: 'zk-c', connect: zkC.connectString, buckets: [], generation: 1 }] };
    const file = join(dir, 'shards.json');
    await writeFile(file, JSON.stringify(map));
    let moved: MoveResult | undefined;
    const result = await runScenario(servers!, {
      label: 'shard-move', nodes: 3, nodeEnv: { HIGHLANDER_ZK_SHARDS: file },
      // The move is the map's version 2: the new ensemble's locks have generation 2.
      extraEnsembles: [{ connect: zkC.connectString, epochOf: (czxid) => composeEpoch(2, czxid) }],
      async inject(ctx) {
        const sessions = new Map([
          [HOME_ENSEMBLE, await ZkSession.open({ connect: servers!.zookeeper.connectString })],
          ['zk-c', await ZkSession.open({ connect: zkC.connectString })],
        ]);
        const injectedAt = Date.now();
        try {
          moved = await moveBuckets({
            root: ctx.cluster.config.root, sessions, connects: new Map([[HOME_ENSEMBLE, servers!.zookeeper.connectString], ['zk-c', zkC.connectString]]),
            buckets: ['800-fff'], to: 'zk-c', timeoutMs: timing.failoverMs,
          });
        } finally {
          for (const session of sessions.values()) session.close();
        }
        const fault = ctx.history.fault({ name: 'move 800-fff to zk-c', detail: `${moved?.durationMs ?? '?'} ms`, injectedAt, healedAt: Date.now(), blocking: true });
        await ctx.settle(fault);
      },
    });
    expectSafeAndRecovered(result);
    expect(moved).toMatchObject({ from: 'home', to: 'zk-c', buckets: ['800-fff'], version: 2 });
    expect(moved!.map.shards).toEqual([{ name: 'zk-c', connect: zkC.connectString, buckets: ['800-fff'], generation: 2 }]);
    const movedAt = result.history.faults[0]!.healedAt;
    const objects = [...new Set(result.history.ops.map((op) => `${op.type}/${op.id}`))];
    const inMoved = objects.filter((key) => Number.parseInt(bucketOf(key.split('/')[1]!), 16) >= 0x800);
    expect(inMoved.length).toBeGreaterThan(0);
    expect(inMoved.length).toBeLessThan(objects.length);
    for (const key of objects) {
      const [type, id] = key.split('/') as [string, string];
      const served = result.history.ops.filter((op) => op.type === type && op.id === id && op.outcome === 'ok' && op.served && op.invokedAt > movedAt);
      expect(served.length, `${key} served after the move`).toBeGreaterThan(0);
      const epochs = served.map((op) => BigInt(op.served!.epoch));
      // An object of the moved buckets that was active in the home ensemble was drained there (finished, flushed, released).
      const before = result.history.ops.find((op) => op.type === type && op.id === id && op.outcome === 'ok' && op.served && op.invokedAt > 0 && op.invokedAt < result.history.faults[0]!.injectedAt);
      if (inMoved.includes(key) && before) {
        const drained = result.events.filter((e) => e.kind === 'object.deactivated' && e.type === type && e.id === id && (e as { reason?: string }).reason === 'drained');
        expect(drained.length, `${key} drained from the home ensemble`).toBeGreaterThan(0);
      }
      if (inMoved.includes(key)) for (const epoch of epochs) expect(epoch, `${key}'s epoch after the move`).toBeGreaterThanOrEqual(2n * 2n ** 64n);
      else for (const epoch of epochs) expect(epoch, `${key} stayed in the home ensemble`).toBeLessThan(2n ** 64n);
    }
  }, timing.faultTestMs);
});
