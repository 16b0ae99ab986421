import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startZooKeeper } from '../../../scripts/servers/zookeeper.js';
import { HOME_ENSEMBLE, ZkSession, bucketOf, composeEpoch, moveBuckets, type MoveResult, type ShardMap } from '@highlander/runtime/zookeeper';
import { timing } from '../../harness/timing.js';
import {
  expireSession, killOwner, killZooKeeper, killZooKeeperDuringActivations, loseQuorum, pauseOwner, restartOwner, stopStore,
  type OwnerFault,
} from './faults.js';
import { expectSafeAndRecovered, expectTakenOver } from './expectations.js';
import { outcomeOf } from './history.js';
import { formatSummary, type Figures } from './report.js';
import { healServers, runScenario, startFaultServers, type FaultServers, type ScenarioOptions, type ScenarioResult } from './scenario.js';

/**
 * Safety under failure: a real 3-server ZooKeeper ensemble, a radosgw of the suite's own and 3–4 node
 * processes, several clients incrementing counters and adding unique elements to sets over ~20
 * objects, and one fault per test (and several in the last). Every test checks every invariant of
 * checker.ts on the recorded history, the final states (through a node and from S3) and ZooKeeper,
 * that each fault was recovered from, and prints the run's figures. The last test is not a fault but a change under
 * load: half the keyspace moves to a new ZooKeeper ensemble (the sharded registry's move), checked the same way.
 */

let servers: FaultServers | undefined;
/** Figures of every run, printed side by side at the end. */
const runs: Figures[] = [];

beforeAll(async () => {
  servers = await startFaultServers();
});

afterAll(async () => {
  if (runs.length > 0) console.log(formatSummary(runs));
  await Promise.all([servers?.zookeeper.stop(), servers?.radosgw.stop()]);
});

beforeEach(async () => {
  await healServers(servers!);
});

async function scenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const result = await runScenario(servers!, options);
  runs.push(result.figures);
  return result;
}

describe('fault injection', () => {
  it('kill -9 of an owner: its objects move to other nodes, nothing acknowledged is lost', async () => {
    let kill: OwnerFault | undefined;
    const result = await scenario({
      label: 'kill-owner', nodes: 3,
      async inject(ctx) {
        kill = await killOwner(ctx);
        await ctx.settle(kill.fault, kill.owned);
      },
    });
    expectSafeAndRecovered(result);
    expectTakenOver(result, kill!);
  }, timing.faultTestMs);

  it('SIGSTOP of an owner past its session: after the takeover the zombie neither acknowledges a write nor answers a read', async () => {
    let pause: Awaited<ReturnType<typeof pauseOwner>> | undefined;
    const result = await scenario({
      label: 'sigstop', nodes: 3,
      async inject(ctx) {
        pause = await pauseOwner(ctx, timing.failoverMs);
        await ctx.settle(pause.fault, pause.owned);
      },
    });
    const p = pause!;
    // The fault was what it claims: others took over and acknowledged before the zombie resumed, and it then lost its session.
    expect(p.takenOver.length).toBeGreaterThan(0);
    expect(p.takeoverAckAt).not.toBeNull();
    expect(p.takeoverAckAt!).toBeLessThan(p.fault.healedAt);
    expect(p.sessionLost).toBeDefined();
    // No ok reply carrying an epoch the zombie held was served after the first acknowledgement by a newer owner.
    const oldEpochs = new Set(p.owned.map((a) => `${a.type}/${a.id}@${a.epoch}`));
    const zombieServed = result.history.ops.filter((op) => outcomeOf(op) === 'ok' && op.served
      && oldEpochs.has(`${op.type}/${op.id}@${op.served.epoch}`) && op.served.servedAt > p.takeoverAckAt!);
    expect(zombieServed.map((op) => `#${op.index} ${op.type}/${op.id} ${op.name} by ${op.served!.node}`)).toEqual([]);
    expectSafeAndRecovered(result);
    expectTakenOver(result, p);
  }, timing.faultTestMs);

  it('forced session expiry: the victim drops its activations, rejoins, and others take its objects', async () => {
    let expiry: Awaited<ReturnType<typeof expireSession>> | undefined;
    const result = await scenario({
      label: 'expiry', nodes: 3,
      async inject(ctx) {
        expiry = await expireSession(ctx);
        await ctx.settle(expiry.fault, expiry.owned);
      },
    });
    expect(expiry!.sessionLost).toMatchObject({ kind: 'node.session-lost' });
    expectSafeAndRecovered(result);
  }, timing.faultTestMs);

  it('kill -9 of the ZooKeeper leader', async () => {
    const result = await scenario({
      label: 'zk-leader', nodes: 3,
      async inject(ctx) {
        const { fault } = await killZooKeeper(ctx, 'leader', timing.faultZkDownMs);
        await ctx.settle(fault);
      },
    });
    expectSafeAndRecovered(result);
  }, timing.faultTestMs);

  it('kill -9 of a ZooKeeper follower', async () => {
    const result = await scenario({
      label: 'zk-follower', nodes: 3,
      async inject(ctx) {
        const { fault } = await killZooKeeper(ctx, 'follower', timing.faultZkDownMs);
        await ctx.settle(fault);
      },
    });
    expectSafeAndRecovered(result);
  }, timing.faultTestMs);

  it(`ZooKeeper quorum lost for ${timing.faultQuorumLossMs / 1000} s, then restored`, async () => {
    const result = await scenario({
      label: 'quorum', nodes: 3,
      async inject(ctx) {
        const { fault } = await loseQuorum(ctx, timing.faultQuorumLossMs);
        await ctx.settle(fault);
      },
    });
    expectSafeAndRecovered(result);
  }, timing.faultTestMs);

  it(`radosgw stopped for ${timing.faultStoreOutageMs / 1000} s, then restarted`, async () => {
    const result = await scenario({
      label: 's3-outage', nodes: 3,
      async inject(ctx) {
        const { fault } = await stopStore(ctx, timing.faultStoreOutageMs);
        await ctx.settle(fault);
      },
    });
    const during = result.history.ops.filter((op) => op.error?.code === 'STORE_UNAVAILABLE');
    expect(during.length).toBeGreaterThan(0); // the outage was felt
    expectSafeAndRecovered(result);
  }, timing.faultTestMs);

  it('a node killed and restarted under the same name rejoins and serves again', async () => {
    let restart: Awaited<ReturnType<typeof restartOwner>> | undefined;
    const result = await scenario({
      label: 'restart', nodes: 3,
      async inject(ctx) {
        restart = await restartOwner(ctx);
        await ctx.settle(restart.fault, restart.owned);
      },
    });
    const r = restart!;
    const throughIt = result.history.ops.filter((op) => op.via === r.victim.name && op.invokedAt > r.fault.healedAt && outcomeOf(op) === 'ok');
    expect(throughIt.length).toBeGreaterThan(0);
    expectSafeAndRecovered(result);
  }, timing.faultTestMs);

  it('connection loss during lock creation: no duplicate owner, no leaked lock znode', async () => {
    const bursts: Array<Awaited<ReturnType<typeof killZooKeeperDuringActivations>>> = [];
    const result = await scenario({
      label: 'create-loss', nodes: 3,
      async inject(ctx) {
        for (const [i, role] of (['follower', 'leader'] as const).entries()) {
          const burst = await killZooKeeperDuringActivations(ctx, { role, label: `fresh${i}`, count: 20, killDelayMs: timing.faultBurstKillDelayMs, downMs: timing.faultZkDownMs });
          bursts.push(burst);
          await ctx.settle(burst.fault);
        }
      },
    });
    for (const b of bursts) expect(b.inFlightAtKill).toBeGreaterThan(0); // the kill met activations under way
    expectSafeAndRecovered(result);
  }, timing.faultTestMs);

  it('moves buckets 800-fff to a standby ensemble under load: no two owners, nothing acknowledged lost', async () => {
    // Adding an ensemble under load: a standalone ZooKeeper joins as a standby shard and half the keyspace moves to it.
    const zkC = await startZooKeeper();
    const dir = await mkdtemp(join(tmpdir(), 'highlander-shard-move-'));
    try {
      const map: ShardMap = { version: 1, shards: [{ name: 'zk-c', connect: zkC.connectString, buckets: [], generation: 1 }] };
      const file = join(dir, 'shards.json');
      await writeFile(file, JSON.stringify(map));
      let moved: MoveResult | undefined;
      const result = await scenario({
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
    } finally {
      await zkC.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, timing.faultTestMs);
});
