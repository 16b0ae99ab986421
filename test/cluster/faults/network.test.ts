import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { timing } from '../../harness/timing.js';
import { expectSafeAndRecovered } from './expectations.js';
import { busiestOwner, describeOutcomes } from './faults.js';
import { outcomeOf, type Op } from './history.js';
import { cutOwnerPath, flapOwnerPath, isolateZooKeeperLeader, takenOverSince, type PathFault } from './network-faults.js';
import { formatSummary, type Figures } from './report.js';
import { healServers, runScenario, startFaultServers, withNet, type FaultServers, type ScenarioOptions, type ScenarioResult } from './scenario.js';

/**
 * Network faults: every node process reaches ZooKeeper (a 3-server ensemble), radosgw and each of its
 * peers through fault proxies of its own (network.ts), and each test breaks one path of the node that
 * owns the most objects while every process keeps running. Every run checks every invariant (counters,
 * sets, register linearizability, one owner at a time, leaks) and that service came back.
 */

let servers: FaultServers | undefined;
const runs: Figures[] = [];

beforeAll(async () => {
  servers = await startFaultServers({ quorumProxies: true });
});

afterAll(async () => {
  if (runs.length > 0) console.log(formatSummary(runs));
  await Promise.all([servers?.zookeeper.stop(), servers?.radosgw.stop()]);
});

beforeEach(async () => {
  await healServers(servers!);
});

async function scenario(options: Omit<ScenarioOptions, 'network'>): Promise<ScenarioResult> {
  const result = await runScenario(servers!, { ...options, network: true });
  runs.push(result.figures);
  return result;
}

/** Runs one path fault in a 3-node scenario and returns both. */
async function pathScenario(label: string, cut: (ctx: Parameters<ScenarioOptions['inject']>[0]) => Promise<PathFault>): Promise<{ result: ScenarioResult; fault: PathFault }> {
  let fault: PathFault | undefined;
  const result = await scenario({
    label, nodes: 3,
    async inject(ctx) {
      fault = await cut(ctx);
      await ctx.settle(fault.fault, fault.owned);
    },
  });
  expect(fault!.owned.length).toBeGreaterThan(0);
  return { result, fault: fault! };
}

/** Ok replies served by the victim with an epoch it held before the fault, after another node served a newer one. */
function servedByOldOwnerAfterTakeover(result: ScenarioResult, f: PathFault): string[] {
  const old = new Map(f.owned.map((a) => [`${a.type}/${a.id}`, BigInt(a.epoch)]));
  const firstNewer = new Map<string, number>();
  for (const op of result.history.ops) {
    const key = `${op.type}/${op.id}`;
    const epoch = old.get(key);
    if (op.outcome !== 'ok' || !op.served || epoch === undefined || BigInt(op.served.epoch) <= epoch) continue;
    firstNewer.set(key, Math.min(firstNewer.get(key) ?? Infinity, op.served.servedAt));
  }
  return result.history.ops.filter((op) => {
    const key = `${op.type}/${op.id}`;
    return op.outcome === 'ok' && op.served && op.served.node === f.victim.name && BigInt(op.served.epoch) === old.get(key)
      && op.served.servedAt > (firstNewer.get(key) ?? Infinity);
  }).map((op) => `#${op.index} ${key(op)} ${op.name} served at epoch ${op.served!.epoch}`);
}
const key = (op: { type: string; id: string }) => `${op.type}/${op.id}`;

describe('network faults', () => {
  it('partitioned from ZooKeeper only: its objects move, and it never serves them from memory after that', async () => {
    const { result, fault } = await pathScenario('net-zk-partition', (ctx) => cutOwnerPath(withNet(ctx), {
      path: 'zookeeper', rule: { mode: 'blackhole' }, holdMs: timing.sessionTimeoutMs, untilTakenOverMs: timing.failoverMs, blocking: false, probe: true,
    }));
    // Others took every object over while the victim still ran and reached S3 and its peers; it learned of its lost session after healing.
    expect(fault.takenOver.map(key)).toEqual(fault.owned.map(key));
    expect(fault.sessionLost).toBeDefined();
    expect(fault.probes.length).toBeGreaterThan(0);
    expect(servedByOldOwnerAfterTakeover(result, fault)).toEqual([]);
    expectSafeAndRecovered(result);
  }, timing.faultTestMs);

  it('partitioned from S3 only: nothing it serves is acknowledged before it is durable', async () => {
    const { result, fault } = await pathScenario('net-s3-partition', (ctx) => cutOwnerPath(withNet(ctx), {
      path: 'store', rule: { mode: 'blackhole' }, holdMs: timing.faultStoreOutageMs, blocking: true,
    }));
    const f = fault.fault;
    // Updates the victim ran while S3 was out of its reach: none acknowledged before the path healed.
    const served = result.history.ops.filter((op) => op.name !== 'read' && op.served?.node === fault.victim.name && op.served.servedAt > f.injectedAt);
    const early = served.filter((op) => outcomeOf(op) === 'ok' && op.completedAt! < f.healedAt);
    expect(early.map((op) => `#${op.index} ${key(op)} ${op.name}`)).toEqual([]);
    // The cut was felt: calls to its objects waited or failed meanwhile.
    const owned = new Set(fault.owned.map(key));
    const disturbed = result.history.ops.filter((op) => owned.has(key(op)) && op.invokedAt > f.injectedAt && op.invokedAt < f.healedAt
      && (outcomeOf(op) !== 'ok' || op.completedAt! >= f.healedAt));
    expect(disturbed.length).toBeGreaterThan(0);
    expectSafeAndRecovered(result);
  }, timing.faultTestMs);

  it('partitioned from its peers only: it still serves its own callers, and forwarded calls wait or fail', async () => {
    const { result, fault } = await pathScenario('net-peers-partition', (ctx) => cutOwnerPath(withNet(ctx), {
      path: 'peers', rule: { mode: 'blackhole' }, holdMs: timing.faultStoreOutageMs, blocking: true, probe: 'answered',
    }));
    const f = fault.fault;
    const inside = (op: { invokedAt: number; completedAt?: number }) => op.invokedAt > f.injectedAt && op.completedAt !== undefined && op.completedAt < f.healedAt;
    const local = result.history.ops.filter((op) => inside(op) && outcomeOf(op) === 'ok' && op.via === fault.victim.name && op.served?.node === fault.victim.name);
    expect(local.length).toBeGreaterThan(0);
    const crossed = result.history.ops.filter((op) => inside(op) && outcomeOf(op) === 'ok'
      && op.served !== undefined && (op.via === fault.victim.name) !== (op.served.node === fault.victim.name));
    expect(crossed.map((op) => `#${op.index} ${key(op)} via ${op.via} served by ${op.served!.node}`)).toEqual([]);
    expectSafeAndRecovered(result);
  }, timing.faultTestMs);

  it('one-way loss on each path in turn (ZooKeeper, S3, peers): requests arrive, replies are lost', async () => {
    const faults: PathFault[] = [];
    const result = await scenario({
      label: 'net-drop-replies', nodes: 3,
      async inject(ctx) {
        for (const path of ['zookeeper', 'store', 'peers'] as const) {
          const fault = await cutOwnerPath(withNet(ctx), {
            path, rule: { mode: 'drop-replies' }, holdMs: path === 'zookeeper' ? timing.sessionTimeoutMs * 1.5 : timing.faultStoreOutageMs, blocking: true,
          });
          faults.push(fault);
          await ctx.settle(fault.fault, fault.owned);
        }
      },
    });
    // The loss was real on every path: the proxies threw replies away.
    expect(faults.map((f) => f.discardedBytes > 0)).toEqual([true, true, true]);
    expectSafeAndRecovered(result);
  }, timing.faultTestMs * 1.5);

  it('the ZooKeeper leader cut off from the other servers, with a node that reaches only it and S3', async () => {
    // The takeover waits for the majority's election (which a loaded machine can stretch: its servers' election
    // messages to the cut-off leader each wait out a connect timeout), then for the victim's session to expire there.
    const { result, fault } = await pathScenario('net-zk-leader-isolated', (ctx) => isolateZooKeeperLeader(withNet(ctx), {
      holdMs: timing.sessionTimeoutMs, untilTakenOverMs: timing.zkElectionMs + timing.failoverMs, probe: true,
    }));
    // The majority (two servers, the other nodes) took over every object of the node on the leader's side.
    expect(fault.takenOver.map(key)).toEqual(fault.owned.map(key));
    expect(fault.sessionLost).toBeDefined();
    expect(servedByOldOwnerAfterTakeover(result, fault)).toEqual([]);
    expectSafeAndRecovered(result);
  }, timing.faultTestMs + 2 * timing.zkElectionMs);

  it('ZooKeeper path stalled past the session timeout (a pause of the network): held requests arrive late, the session is gone', async () => {
    const { result, fault } = await pathScenario('net-zk-stall', (ctx) => cutOwnerPath(withNet(ctx), {
      path: 'zookeeper', rule: { mode: 'stall' }, holdMs: timing.sessionTimeoutMs * 1.5, untilTakenOverMs: timing.failoverMs, blocking: false, probe: true,
    }));
    expect(fault.takenOver.map(key)).toEqual(fault.owned.map(key));
    expect(fault.sessionLost).toBeDefined();
    expect(servedByOldOwnerAfterTakeover(result, fault)).toEqual([]);
    expectSafeAndRecovered(result);
  }, timing.faultTestMs);

  it('a latency spike on the ZooKeeper path', async () => {
    const { result } = await pathScenario('net-zk-latency', (ctx) => cutOwnerPath(withNet(ctx), {
      path: 'zookeeper', rule: { mode: 'delay', delayMs: timing.faultLatencySpikeMs }, holdMs: timing.faultStoreOutageMs, blocking: false,
    }));
    expectSafeAndRecovered(result);
  }, timing.faultTestMs);

  it('flapping: the ZooKeeper path, then the peer paths, cut and restored every few hundred ms', async () => {
    const result = await scenario({
      label: 'net-flapping', nodes: 3,
      async inject(ctx) {
        const zk = await flapOwnerPath(withNet(ctx), 'zookeeper', timing.faultFlapPeriodMs, timing.faultFlapMs);
        await ctx.settle(zk.fault, zk.owned);
        const peers = await flapOwnerPath(withNet(ctx), 'peers', timing.faultFlapPeriodMs, timing.faultFlapMs);
        await ctx.settle(peers.fault, peers.owned);
      },
    });
    expect(result.history.faults).toHaveLength(2);
    expectSafeAndRecovered(result);
  }, timing.faultTestMs);
});

describe('the checker against a broken runtime', () => {
  it('catches the stale reads of a node that serves from memory after losing ZooKeeper (read lease disabled)', async () => {
    const probes: Op[] = [];
    let staleServe: (op: Op) => boolean = () => false;
    const staleTwice: Op[] = [];
    const result = await scenario({
      label: 'broken-read-lease', nodes: 3, tallies: 0, bags: 0, registers: 12,
      nodeEnv: { HIGHLANDER_TEST_BREAK: 'read-lease' },
      async inject(raw) {
        const ctx = withNet(raw);
        const { node: victim, owned } = await busiestOwner(ctx);
        const others = ctx.cluster.nodes.filter((n) => n !== victim);
        const epochs = new Map(owned.map((a) => [a.id, a.epoch]));
        staleServe = (op) => op.name === 'read' && outcomeOf(op) === 'ok' && op.served?.node === victim.name && op.served.epoch === epochs.get(op.id);
        ctx.workload.exclude(victim);
        ctx.net.cut(victim.name, 'zookeeper');
        const injectedAt = Date.now();
        try {
          // Twice: a write through another node, acknowledged by the new owner, then a read through the cut-off
          // node. Both reads answered from the victim's memory with the same old value make the history
          // non-linearizable whatever happened before: one stale read alone could still be explained by an earlier
          // write of that value whose outcome was unknown (it may take effect late), but not after a second
          // acknowledged write. An object whose memory the victim lost meanwhile (fenced by a forwarded write) proves
          // nothing: try the next.
          await vi.waitFor(async () => {
            for (const a of takenOverSince(ctx, victim.name, owned, injectedAt)) {
              const reads: Op[] = [];
              const writes: Op[] = [];
              for (let round = 0; round < 2; round++) {
                const write = await ctx.workload.send('probe', others[0]!, 'register', a.id, 'write');
                probes.push(write);
                writes.push(write);
                const read = await ctx.workload.send('probe', victim, 'register', a.id, 'read');
                probes.push(read);
                reads.push(read);
              }
              // Only acknowledged writes prove it: an indeterminate one may take effect after the read.
              if (writes.every((w) => outcomeOf(w) === 'ok') && reads.every(staleServe) && reads[0]!.read === reads[1]!.read) {
                staleTwice.push(...reads);
                return;
              }
            }
            throw new Error('no object answered twice from the cut-off node\'s memory yet');
          }, { timeout: timing.failoverMs, interval: timing.pollMs });
        } finally {
          ctx.net.heal();
          ctx.workload.include(victim);
        }
        ctx.history.fault({ name: 'partition: owner ↔ ZooKeeper (read lease disabled)', detail: `${victim.name}, ${owned.length} objects; probes: ${describeOutcomes(probes)}`, injectedAt, healedAt: Date.now(), blocking: false });
      },
    });
    // The cut-off node answered the same old value from memory after each of two newer acknowledged writes.
    expect(staleTwice).toHaveLength(2);
    const invariants = new Set(result.violations.map((v) => v.invariant));
    expect(invariants.has('not-linearizable')).toBe(true);
  }, timing.faultTestMs);
});
