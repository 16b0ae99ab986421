import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { vi } from 'vitest';
import { Cluster, uniqueRoot, type ClusterConfig } from '../../../scripts/cluster.js';
import { startRadosgw, type RadosgwServer } from '../../../scripts/servers/radosgw.js';
import { startZooKeeper, type ZooKeeperCluster } from '../../../scripts/servers/zookeeper.js';
import { S3StateStore, type LifecycleEvent } from '@highlander/runtime';
import { ZkSession } from '@highlander/runtime/zookeeper';
import { TEST_OBJECTS } from '../../harness/test-objects.js';
import { hold, timing } from '../../harness/timing.js';
import { check, type ActivationRecord, type CheckInput, type LiveActivation, type Violation } from './checker.js';
import type { FaultContext } from './faults.js';
import { History, objectKey, type FaultRecord, type ObjectKind } from './history.js';
import { activationRecords, finalFromStore, finalThroughNode, liveActivations, settledCoordination, type ExtraEnsemble } from './observe.js';
import { baselineOf, objectRecoveries, recoveries, type Recovery } from './recovery.js';
import { figuresOf, formatReport, type Figures } from './report.js';
import { FaultNet } from './network.js';
import type { NetContext } from './network-faults.js';
import { Workload } from './workload.js';

/**
 * One fault-suite run: start node processes on a fresh ZooKeeper root and S3 prefix, run the workload,
 * let the test inject its faults, stop the workload, read the final states (through a node and from S3)
 * and what ZooKeeper holds (nodes up, then every node stopped), check every invariant, print the figures.
 */

/** The servers of the whole file: a 3-server ZooKeeper ensemble and a radosgw of the suite's own. */
export interface FaultServers {
  zookeeper: ZooKeeperCluster;
  radosgw: RadosgwServer;
  bucket: string;
}

export interface ScenarioContext extends FaultContext {
  /** The nodes' network paths, with `network: true` (scenario options). */
  net?: FaultNet;
  /**
   * Waits until the workload has recovered from `fault` (recovery.ts: every object disturbed since it
   * was injected has been acknowledged again, and each of `mustAck` has been acknowledged since its
   * baseline), at most timing.faultRecoveryMs; resolves false if it has not.
   */
  settle(fault: FaultRecord, mustAck?: ReadonlyArray<{ type: string; id: string }>): Promise<boolean>;
}

/** When set, each run's history, faults, events and violations are written there as `<label>.json` for a post-mortem. */
const HISTORY_DIR = process.env.HIGHLANDER_FAULT_HISTORY_DIR;

export interface ScenarioOptions {
  label: string;
  /** Node processes, 3–5. */
  nodes: number;
  /** @default 8 */
  clients?: number;
  /** Tally, bag and register objects of the workload. @default 8, 8 and 16 */
  tallies?: number;
  bags?: number;
  registers?: number;
  /** @default 0.2 */
  readRatio?: number;
  /** Every node reaches ZooKeeper, S3 and its peers through fault proxies (network.ts): `ctx.net`. @default false */
  network?: boolean;
  /** More environment for every node process. */
  nodeEnv?: Record<string, string>;
  /** More ZooKeeper ensembles of a sharded cluster (`nodeEnv` then names the shard map): their lock queues are read too. */
  extraEnsembles?: Array<{ connect: string; epochOf(czxid: string): string }>;
  /** Milliseconds the linearizability check may spend per register (soaks: `linearizability-unknown` rather than hours). @default no limit */
  linearizabilityMs?: number;
  inject(ctx: ScenarioContext): Promise<void>;
}

export interface ScenarioResult {
  history: History;
  violations: Violation[];
  recoveries: Recovery[];
  figures: Figures;
  /** Every lifecycle event of every node process. */
  events: LifecycleEvent[];
  activations: ActivationRecord[];
  report: string;
}

export async function runScenario(servers: FaultServers, options: ScenarioOptions): Promise<ScenarioResult> {
  const root = uniqueRoot(`faults-${options.label}`);
  const config: ClusterConfig = {
    zookeeper: servers.zookeeper.connectString,
    s3: { endpoint: servers.radosgw.endpoint, region: servers.radosgw.region, accessKeyId: servers.radosgw.accessKeyId, secretAccessKey: servers.radosgw.secretAccessKey, bucket: servers.bucket },
    root,
    sessionTimeoutMs: timing.sessionTimeoutMs,
    callTimeoutMs: timing.faultCallMs,
    placement: 'round-robin',
    objectsModule: TEST_OBJECTS,
    ...(options.nodeEnv ? { nodeEnv: options.nodeEnv } : {}),
  };
  const clients = options.clients ?? 8;
  const objects: Array<{ type: ObjectKind; id: string }> = [
    ...Array.from({ length: options.tallies ?? 8 }, (_, i) => ({ type: 'tally' as const, id: `t${i}` })),
    ...Array.from({ length: options.bags ?? 8 }, (_, i) => ({ type: 'bag' as const, id: `b${i}` })),
    ...Array.from({ length: options.registers ?? 16 }, (_, i) => ({ type: 'register' as const, id: `r${i}` })),
  ];
  const history = new History();
  const names = Array.from({ length: options.nodes }, (_, i) => `node-${String.fromCharCode(97 + i)}`);
  const net = options.network ? await FaultNet.start(names, servers.zookeeper, servers.radosgw.endpoint) : undefined;
  const cluster = new Cluster(config, names, net ? (name) => net.options(name) : undefined);
  const workload = new Workload(history, cluster.nodes, {
    clients, objects, readRatio: options.readRatio ?? 0.2, callTimeoutMs: timing.faultCallMs, errorPauseMs: timing.faultClientPauseMs,
  });
  const store = new S3StateStore({
    bucket: servers.bucket, prefix: `${root.slice(1)}/objects/`, endpoint: servers.radosgw.endpoint, region: servers.radosgw.region,
    credentials: { accessKeyId: servers.radosgw.accessKeyId, secretAccessKey: servers.radosgw.secretAccessKey },
  });
  let zk: ZkSession | undefined;
  const extra: ExtraEnsemble[] = [];
  try {
    await Promise.all(cluster.nodes.map((n) => n.start()));
    const ctx: ScenarioContext = {
      cluster, zookeeper: servers.zookeeper, radosgw: servers.radosgw, workload, history,
      sessionTimeoutMs: timing.sessionTimeoutMs, eventMs: timing.eventMs, ...(net ? { net } : {}),
      settle: (fault, mustAck = []) => settle(history, fault, mustAck),
    };
    workload.start();
    await hold(timing.faultWarmupMs);
    await options.inject(ctx);
    await hold(timing.faultWarmupMs);
    const endAt = Date.now();
    await workload.stop(timing.faultStopMs);

    const nodeFinal = await finalThroughNode(workload, cluster, timing.failoverMs, timing.faultCallMs);
    const s3Final = await finalFromStore(store, workload.objects);

    zk = await ZkSession.open({ connect: servers.zookeeper.connectString, sessionTimeoutMs: 10_000 });
    for (const e of options.extraEnsembles ?? []) extra.push({ zk: await ZkSession.open({ connect: e.connect, sessionTimeoutMs: 10_000 }), epochOf: e.epochOf });
    const liveNodes = cluster.nodes.filter((n) => n.running).map((n) => n.name);
    let live: LiveActivation[] = [];
    // Polled until clean (or ephemeralsGoneMs): ephemerals of a killed or paused node's session linger until it expires.
    const runningCoordination = await settledCoordination(zk, root, async (coordination) => {
      live = await liveActivations(cluster);
      return check({ ops: [], finals: [], activations: [], running: { coordination, liveNodes, activations: live } }).length === 0;
    }, timing.ephemeralsGoneMs, extra);

    await cluster.stop();
    const stopped = await settledCoordination(zk, root, (s) => s.members.length === 0 && s.locks.length === 0 && s.lockParents.length === 0, timing.ephemeralsGoneMs, extra);

    const events = cluster.allEvents();
    const activations = activationRecords(events);
    const input: CheckInput = {
      ops: history.ops, finals: [nodeFinal, s3Final], activations,
      running: { coordination: runningCoordination, liveNodes, activations: live }, stopped, origin: history.startedAt,
      ...(options.linearizabilityMs === undefined ? {} : { linearizabilityMs: options.linearizabilityMs }),
    };
    if (HISTORY_DIR) {
      // Written before the check, so that a check that takes too long leaves the history to study.
      await mkdir(HISTORY_DIR, { recursive: true });
      const dump = { label: options.label, root, startedAt: history.startedAt, faults: history.faults, events, check: input };
      await writeFile(join(HISTORY_DIR, `${options.label}.json`), JSON.stringify(dump));
    }
    const violations = check(input);
    const recovered = recoveries(history.ops, history.faults, endAt, timing.faultSlowCallMs);
    const figures = figuresOf(
      { label: options.label, nodes: options.nodes, clients, objects: workload.objects.length, durationMs: Date.now() - history.startedAt },
      history, recovered, violations,
    );
    const report = formatReport(figures, recovered, violations, history.startedAt);
    console.log(report);
    if (HISTORY_DIR) await writeFile(join(HISTORY_DIR, `${options.label}.violations.json`), JSON.stringify(violations));
    return { history, violations, recoveries: recovered, figures, events, activations, report };
  } finally {
    zk?.close();
    for (const e of extra) e.zk.close();
    await store.close();
    for (const node of cluster.nodes) if (node.running) node.kill('SIGCONT'); // a failed scenario may leave one paused
    try {
      net?.heal(); // a failed scenario may leave a path cut
    } catch {
      // A flap still running: close() below ends it.
    }
    await cluster.stop();
    await net?.close();
  }
}

/** The context of a scenario run with `network: true`. */
export function withNet(ctx: ScenarioContext): NetContext & ScenarioContext {
  if (!ctx.net) throw new Error('this fault needs a scenario with network: true');
  return ctx as NetContext & ScenarioContext;
}

async function settle(history: History, fault: FaultRecord, mustAck: ReadonlyArray<{ type: string; id: string }>): Promise<boolean> {
  const baseline = baselineOf(fault);
  // Before this, a call stuck on the fault is not yet slow enough to count as disturbed.
  const judgedFrom = baseline + timing.faultSlowCallMs + timing.faultSettleMarginMs;
  const wanted = new Set(mustAck.map(objectKey));
  return vi.waitFor(() => {
    if (Date.now() < judgedFrom) throw new Error('too early to tell');
    const pending = [...objectRecoveries(history.ops, fault.injectedAt, Date.now(), timing.faultSlowCallMs)].filter(([, at]) => at === null);
    for (const op of history.ops) if (op.outcome === 'ok' && op.invokedAt >= baseline) wanted.delete(objectKey(op));
    if (pending.length > 0 || wanted.size > 0) throw new Error(`${fault.name}: ${pending.length} objects not recovered, ${wanted.size} not acknowledged since`);
    return true;
  }, { timeout: timing.faultRecoveryMs, interval: timing.pollMs }).catch(() => false);
}

/**
 * Starts the servers of a fault-suite file: a 3-server ZooKeeper ensemble (its servers linked through
 * fault proxies with `quorumProxies`, for isolating one) and a radosgw with a `faults` bucket.
 */
export async function startFaultServers(options: { quorumProxies?: boolean } = {}): Promise<FaultServers> {
  const [zookeeper, radosgw] = await Promise.allSettled([startZooKeeper({ servers: 3, quorumProxies: options.quorumProxies ?? false }), startRadosgw()]);
  if (zookeeper.status === 'rejected' || radosgw.status === 'rejected') {
    await Promise.all([
      zookeeper.status === 'fulfilled' ? zookeeper.value.stop() : undefined,
      radosgw.status === 'fulfilled' ? radosgw.value.stop() : undefined,
    ]);
    throw zookeeper.status === 'rejected' ? zookeeper.reason : (radosgw as PromiseRejectedResult).reason;
  }
  await radosgw.value.createBucket('faults');
  return { zookeeper: zookeeper.value, radosgw: radosgw.value, bucket: 'faults' };
}

/** Healthy servers before each scenario: every ZooKeeper server serving (a failed test may have left one down or cut off). */
export async function healServers(servers: FaultServers): Promise<void> {
  servers.zookeeper.heal();
  await Promise.all(servers.zookeeper.servers.map(async (server) => {
    if ((await server.mode()) !== 'down') return;
    await server.start().catch((err: Error) => {
      // Alive but not serving yet (still electing): leader() below waits for it.
      if (!/still running/.test(err.message)) throw err;
    });
  }));
  await servers.zookeeper.leader();
}
