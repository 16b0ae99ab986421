import { vi } from 'vitest';
import type { Cluster } from '../../../scripts/cluster.js';
import type { LifecycleEvent, S3StateStore } from '@highlander/runtime';
import { Keyspace, parseLockName } from '@highlander/runtime/zookeeper';
import { Exception, czxidOf, isZkCode, type ZkSession } from '@highlander/runtime/zookeeper';
import { timing } from '../../harness/timing.js';
import type { ActivationRecord, CoordinationState, FinalState, LiveActivation } from './checker.js';
import type { ObjectKind, Op } from './history.js';
import type { Workload } from './workload.js';

/**
 * Reads what the checker needs once the workload has stopped: the final state of every object (through
 * a live node and straight from S3), what ZooKeeper holds under the test root, and the activations
 * the lifecycle events report.
 */

/** Children of a znode; none when it does not exist (a race with a deletion is not an error here). */
async function children(zk: ZkSession, path: string): Promise<string[]> {
  try {
    return await zk.getChildren(path);
  } catch (err) {
    if (isZkCode(err, Exception.NO_NODE)) return [];
    throw err;
  }
}

/** Member znodes, lock znodes (with their czxid) and lock parents under `root`. */
/** Another ensemble of a sharded cluster: its lock queues count too, their epochs as the runtime composes them. */
export interface ExtraEnsemble {
  zk: ZkSession;
  epochOf(czxid: string): string;
}

export async function readCoordination(zk: ZkSession, root: string, extra: readonly ExtraEnsemble[] = []): Promise<CoordinationState> {
  const keyspace = new Keyspace(root);
  const members = (await children(zk, keyspace.nodesPath)).sort();
  const locks: CoordinationState['locks'] = [];
  const lockParents: string[] = [];
  for (const ensemble of [{ zk, epochOf: (czxid: string) => czxid }, ...extra]) await readLocks(ensemble, keyspace, locks, lockParents);
  return { members, locks, lockParents };
}

async function readLocks({ zk, epochOf }: ExtraEnsemble, keyspace: Keyspace, locks: CoordinationState['locks'], lockParents: string[]): Promise<void> {
  for (const type of await children(zk, keyspace.objectsPath)) {
    for (const bucket of await children(zk, keyspace.typePath(type))) {
      for (const id of await children(zk, keyspace.bucketPath(type, bucket))) {
        const parent = keyspace.lockParentIn(type, bucket, id);
        lockParents.push(parent);
        for (const name of await children(zk, parent)) {
          const stat = await zk.exists(`${parent}/${name}`);
          if (!stat) continue; // deleted between the listing and now
          locks.push({ type, id, name, node: parseLockName(name)?.node ?? '?', epoch: epochOf(czxidOf(stat)) });
        }
      }
    }
  }
}

/** Every activation the running node processes report. */
export async function liveActivations(cluster: Cluster): Promise<LiveActivation[]> {
  const lists = await Promise.all(cluster.nodes.filter((n) => n.running).map(async (n) => {
    const list = await n.activations();
    return list.map((a) => ({ node: n.name, type: a.type, id: a.id, epoch: a.epoch, status: a.status }));
  }));
  return lists.flat();
}

/** The `object.activated` events of every node process, including earlier incarnations of restarted ones. */
export function activationRecords(events: readonly LifecycleEvent[]): ActivationRecord[] {
  return events.flatMap((e) => (e.kind === 'object.activated' ? [{ type: e.type, id: e.id, epoch: e.epoch, node: e.node, time: e.time }] : []));
}

/**
 * Polls until `settled` holds for the ZooKeeper state (or `timeoutMs` passed) and returns the last
 * state read: ephemeral znodes of a dead session linger until it expires.
 */
export async function settledCoordination(
  zk: ZkSession,
  root: string,
  settled: (state: CoordinationState) => boolean | Promise<boolean>,
  timeoutMs: number,
  extra: readonly ExtraEnsemble[] = [],
): Promise<CoordinationState> {
  let last: CoordinationState | undefined;
  let attempt: Promise<void> | undefined;
  await vi.waitFor(() => {
    attempt = (async () => {
      const state = await readCoordination(zk, root, extra);
      last = state;
      if (!(await settled(state))) throw new Error('ZooKeeper has not settled');
    })();
    return attempt;
  }, { timeout: timeoutMs, interval: timing.pollMs }).catch(() => undefined);
  // Not settled in time: the caller's checks report what is left. A try under way at the timeout ends first.
  await attempt?.catch(() => undefined);
  return last ?? readCoordination(zk, root, extra);
}

/**
 * The final state of every object through a live node (`read` queries, recorded in the history as
 * `final` ops so the serving checks see them too). A read that fails is retried until `timeoutMs`.
 */
export async function finalThroughNode(workload: Workload, cluster: Cluster, timeoutMs: number, callTimeoutMs: number): Promise<FinalState> {
  const node = cluster.nodes.find((n) => n.running && workload.pool.includes(n)) ?? cluster.nodes.find((n) => n.running);
  const final: FinalState = { source: node ? `${node.name} (read)` : 'no live node', tally: {}, bag: {}, register: {} };
  await Promise.all(workload.objects.map(async ({ type, id }) => {
    let read: Op | undefined;
    if (node) {
      let attempt: Promise<Op> | undefined;
      await vi.waitFor(async () => {
        attempt = workload.send('final', node, type, id, 'read', callTimeoutMs);
        const op = await attempt;
        if (op.outcome !== 'ok') throw new Error(`${type}/${id}: the final read failed (${op.error?.code ?? 'no answer'})`);
        read = op;
      }, { timeout: timeoutMs, interval: timing.pollMs }).catch(() => undefined);
      await attempt; // a read under way at the timeout still ends (within callTimeoutMs) before the checks
    }
    if (type === 'tally') final.tally[id] = read ? (read.value ?? null) : null;
    else if (type === 'bag') final.bag[id] = read ? (read.elements ?? null) : null;
    else final.register[id] = read && read.read !== undefined ? { value: read.read } : null;
  }));
  return final;
}

/** The final state of every object straight from S3 (an object never written is in its initial state). */
export async function finalFromStore(store: S3StateStore, objects: ReadonlyArray<{ type: ObjectKind; id: string }>): Promise<FinalState> {
  const final: FinalState = { source: 's3', tally: {}, bag: {}, register: {} };
  await Promise.all(objects.map(async ({ type, id }) => {
    let stored;
    try {
      stored = await store.read(type, id);
    } catch {
      // Reported as unreadable by the checker.
      if (type === 'tally') final.tally[id] = null;
      else if (type === 'bag') final.bag[id] = null;
      else final.register[id] = null;
      return;
    }
    const body = stored ? (JSON.parse(stored.body) as { value?: number | string | null; elements?: string[] }) : {};
    if (type === 'tally') final.tally[id] = typeof body.value === 'number' ? body.value : 0;
    else if (type === 'bag') final.bag[id] = body.elements ?? [];
    else final.register[id] = { value: typeof body.value === 'string' ? body.value : null };
  }));
  return final;
}
