/**
 * The fake cluster's process (forked with `--import tsx` by bench/admin-cluster.ts): N nodes
 * simulated at the protocol level (bench/admin-fake-node.ts explains what that means and why),
 * driven by its parent over IPC. Configured by BENCH_ADMIN_CLUSTER_CONFIG (JSON); exits when its
 * parent goes away (its sessions close, and their ephemeral znodes go with them).
 *
 * In its own process so that the admin API under test never shares an event loop with the nodes.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { forEachBounded } from '@highlander/kit';
import { Exception, Keyspace, ZkSession, allBuckets, isZkCode } from '@highlander/runtime/zookeeper';
import { FakeNode, type FakeObject, type HeldObject } from './admin-fake-node.js';

export interface FakeClusterConfig {
  zookeeper: string;
  root: string;
  nodes: number;
  types: string[];
}

export interface PopulateRequest {
  cmd: 'populate';
  count: number;
  /** Objects per multi. */
  batchSize: number;
  /** Multis in flight per node. */
  inFlight: number;
  /** Activations per second at most over the cluster; none: as fast as ZooKeeper goes. */
  ratePerSecond?: number;
}

export interface ChurnRequest {
  cmd: 'churn';
  /** Object changes per second over the cluster: half deactivations, half activations. */
  changesPerSecond: number;
  durationMs: number;
}

/** Each node sends one `stats` event listing `listed` of its objects. */
export interface StatsRequest {
  cmd: 'stats';
  listed: number;
  intervalMs: number;
}

export type FakeClusterRequest = PopulateRequest | ChurnRequest | StatsRequest | { cmd: 'objects' } | { cmd: 'stop' };

export interface PopulateResult {
  count: number;
  elapsedMs: number;
  events: number;
}

export interface ChurnResult {
  activations: number;
  deactivations: number;
  elapsedMs: number;
  /** Events the nodes emitted in the window. */
  events: number;
  /** The slowest activation or deactivation (a multi, plus an exists for an activation). */
  maxOperationMs: number;
}

export interface StopResult {
  elapsedMs: number;
  /** Whether `<root>` is gone. */
  clean: boolean;
}

export type FakeClusterMessage =
  | { ready: { nodes: Array<{ name: string; address: string }> } }
  | { progress: string }
  | { rid: number; result: unknown }
  | { rid: number; error: string }
  | { error: string };

const send = (message: FakeClusterMessage) => process.send?.(message);
process.on('disconnect', () => process.exit(1));

const config = JSON.parse(process.env.BENCH_ADMIN_CLUSTER_CONFIG ?? '{}') as FakeClusterConfig;
let nodes: FakeNode[] = [];
let nextChurnId = 0;
let busy: Promise<unknown> = Promise.resolve();

try {
  nodes = await Promise.all(Array.from({ length: config.nodes }, (_, i) => FakeNode.start({
    connect: config.zookeeper, root: config.root, name: `node-${i + 1}`, types: config.types,
  })));
  send({ ready: { nodes: nodes.map((n) => ({ name: n.name, address: n.address })) } });
} catch (err) {
  send({ error: `the fake nodes did not start: ${(err as Error)?.stack ?? String(err)}` });
  process.exit(1);
}

process.on('message', (message: FakeClusterRequest & { rid: number }) => {
  // One request at a time, in order.
  busy = busy.then(() => handle(message)).then(
    (result) => send({ rid: message.rid, result }),
    (err: unknown) => send({ rid: message.rid, error: (err as Error)?.stack ?? String(err) }),
  );
});

async function handle(request: FakeClusterRequest): Promise<unknown> {
  switch (request.cmd) {
    case 'populate':
      return populate(request);
    case 'churn':
      return churn(request);
    case 'stats':
      for (const node of nodes) node.emitStats(request.listed, request.intervalMs);
      return null;
    case 'objects':
      return nodes.flatMap((n) => n.held()) satisfies HeldObject[];
    case 'stop':
      return stop();
  }
}

/** Object `i` of the population: type round-robin, owner round-robin. */
function objectOf(i: number): FakeObject {
  return { type: config.types[i % config.types.length]!, id: `obj-${String(i).padStart(7, '0')}` };
}

async function populate(request: PopulateRequest): Promise<PopulateResult> {
  const started = performance.now();
  const eventsBefore = totalEvents();
  const perNode: FakeObject[][] = nodes.map(() => []);
  const offset = nodes.reduce((sum, n) => sum + n.activations, 0);
  for (let i = 0; i < request.count; i++) perNode[i % nodes.length]!.push(objectOf(offset + i));
  let done = 0;
  let lastReport = started;
  await Promise.all(nodes.map(async (node, index) => {
    const objects = perNode[index]!;
    let next = 0;
    const worker = async () => {
      while (next < objects.length) {
        const batch = objects.slice(next, next + request.batchSize);
        next += batch.length;
        if (request.ratePerSecond) {
          // Paced over the cluster: this batch may start once the ones before it are due.
          const dueMs = ((done + batch.length) / request.ratePerSecond) * 1000;
          const waitMs = started + dueMs - performance.now();
          if (waitMs > 0) await sleep(waitMs);
        }
        await node.activateBatch(batch);
        done += batch.length;
        const now = performance.now();
        if (now - lastReport >= 2000) {
          lastReport = now;
          send({ progress: `${done.toLocaleString('en-US')} of ${request.count.toLocaleString('en-US')} objects activated (${Math.round((done * 1000) / (now - started)).toLocaleString('en-US')}/s)` });
        }
      }
    };
    await Promise.all(Array.from({ length: request.inFlight }, worker));
  }));
  await Promise.all(nodes.map((n) => n.publishLoad()));
  return { count: done, elapsedMs: performance.now() - started, events: totalEvents() - eventsBefore };
}

/**
 * `changesPerSecond` object changes over the cluster for `durationMs`: each node in turn
 * deactivates its oldest object and activates a new one, each in its own multi (as the runtime
 * does), paced on a 10 ms tick so the changes are spread evenly rather than bunched.
 */
async function churn(request: ChurnRequest): Promise<ChurnResult> {
  const pairsPerSecond = request.changesPerSecond / 2;
  const started = performance.now();
  const eventsBefore = totalEvents();
  let pairs = 0;
  let activations = 0;
  let deactivations = 0;
  let maxOperationMs = 0;
  const inFlight = new Set<Promise<void>>();
  const timed = async (operation: () => Promise<void>) => {
    const t = performance.now();
    await operation();
    maxOperationMs = Math.max(maxOperationMs, performance.now() - t);
  };
  let failure: unknown;
  for (;;) {
    const elapsed = performance.now() - started;
    if (elapsed >= request.durationMs || failure !== undefined) break;
    const due = Math.floor((elapsed / 1000) * pairsPerSecond);
    for (; pairs < due; pairs++) {
      const node = nodes[pairs % nodes.length]!;
      const victim = node.oldest(1);
      const fresh: FakeObject = { type: config.types[pairs % config.types.length]!, id: `churn-${nextChurnId++}` };
      const pair = (async () => {
        await timed(() => node.deactivateBatch(victim));
        deactivations += victim.length;
        await timed(() => node.activateBatch([fresh]));
        activations++;
      })().catch((err: unknown) => {
        failure ??= err;
      });
      inFlight.add(pair);
      void pair.finally(() => inFlight.delete(pair));
    }
    await sleep(10);
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
  return { activations, deactivations, elapsedMs: performance.now() - started, events: totalEvents() - eventsBefore, maxOperationMs };
}

async function stop(): Promise<StopResult> {
  const started = performance.now();
  await Promise.all(nodes.map((n) => n.stop(100, 8)));
  nodes = [];
  const session = await ZkSession.open({ connect: config.zookeeper });
  try {
    const keyspace = new Keyspace(config.root);
    const remove = (path: string) => session.remove(path).catch((err) => {
      // Not there: never created (no object of that type), or removed by an earlier stop.
      if (!isZkCode(err, Exception.NO_NODE)) throw err;
    });
    const buckets = config.types.flatMap((type) => allBuckets().map((bucket) => keyspace.bucketPath(type, bucket)));
    await forEachBounded(buckets, 256, remove);
    const paths = [...config.types.map((t) => keyspace.typePath(t)), keyspace.objectsPath, keyspace.layoutPath, keyspace.nodesPath, config.root];
    for (const path of paths) await remove(path);
    return { elapsedMs: performance.now() - started, clean: (await session.exists(config.root)) === null };
  } finally {
    session.close();
  }
}

function totalEvents(): number {
  return nodes.reduce((sum, n) => sum + n.events.lastSeq, 0);
}
