import { performance } from 'node:perf_hooks';
import type { MemberInfo } from '../coordinator.js';
import { Keyspace, isBucketName } from './keyspace.js';
import { HOME_ENSEMBLE, abortMove, bucketsIn, completeMove, mapFromMarker, markerOf, planMove, type ShardMap } from './shard-map.js';
import { CreateMode, Exception, isZkCode, type ZkSession } from './zk-session.js';

/**
 * Moving buckets to a standby ensemble while the cluster runs, with the drain/claim protocol the
 * nodes already use for a migration:
 *
 * 1. **Announce.** `<root>/shard-map` in the home ensemble is rewritten (compare-and-set on its
 *    znode version) with the map's version raised and `moving: { buckets, from, to }`. Every node
 *    watches it: from then on it takes no lock in those buckets anywhere (a lock it was taking is
 *    given back), drains its activations in them (queued calls finish, state is flushed, locks are
 *    released: calls meanwhile wait and retry), and publishes the new version in its member info.
 * 2. **Wait** until every live member has acknowledged the version and the source ensemble holds
 *    no lock in those buckets (a node that died meanwhile: its session's expiry deletes its locks;
 *    a node cut off from the home ensemble takes no new lock — its read lease of the map lapses —
 *    and stays a member, so the move waits for it until its session expires).
 * 3. **Complete.** The map is rewritten with the buckets in the target shard, whose generation is
 *    the new version: its locks' epochs (generation × 2⁶⁴ + czxid) outrank every epoch of the
 *    source, so the first owner there claims the stored state above every earlier owner's writes.
 *
 * Past `timeoutMs` the move is aborted: the map goes back to what it was, under a higher version.
 */

export interface MoveProgress {
  /** Live members that have not acknowledged the moving map yet. */
  waitingFor: string[];
  /** Lock queues still held in the source ensemble's moving buckets. */
  locksLeft: number;
  elapsedMs: number;
}

export interface MoveOptions {
  root: string;
  /** A session with every ensemble of the map, by name (`home` included). */
  sessions: ReadonlyMap<string, ZkSession>;
  /** Connect strings of every ensemble, by name (for building the map from the marker). */
  connects: ReadonlyMap<string, string>;
  /** Bucket ranges to move (`800-bff`), all in one ensemble now. */
  buckets: readonly string[];
  /** A standby shard (no buckets). */
  to: string;
  /** @default 120000 */
  timeoutMs?: number;
  onProgress?: (progress: MoveProgress) => void;
}

export interface MoveResult {
  from: string;
  to: string;
  buckets: string[];
  version: number;
  /** The map now in force, with connect strings: what every node's `--zk-shards` file should say from now on. */
  map: ShardMap;
  durationMs: number;
}

const POLL_MS = 250;

export async function moveBuckets(options: MoveOptions): Promise<MoveResult> {
  const started = performance.now();
  const keyspace = new Keyspace(options.root);
  const home = options.sessions.get(HOME_ENSEMBLE);
  if (!home) throw new TypeError('moveBuckets: no session with the home ensemble');
  const { data, stat } = await home.getData(keyspace.shardMapPath).catch((err: unknown) => {
    if (isZkCode(err, Exception.NO_NODE)) throw new TypeError(`${keyspace.shardMapPath} does not exist: the cluster is not sharded (start its nodes with --zk-shards)`);
    throw err;
  });
  const before = mapFromMarker(data?.toString('utf8') ?? '', options.connects);
  const moving = planMove(before, options.buckets, options.to);
  const move = moving.moving!;
  const source = options.sessions.get(move.from);
  if (!source) throw new TypeError(`moveBuckets: no session with the source ensemble ${move.from}`);
  const written = await casMap(home, keyspace, moving, stat.version);
  const buckets = new Set(bucketsIn(move.buckets));
  const deadline = started + (options.timeoutMs ?? 120_000);
  let version = written;
  for (;;) {
    const progress: MoveProgress = {
      waitingFor: await unacknowledged(home, keyspace, moving.version),
      locksLeft: await heldLocks(source, keyspace, buckets),
      elapsedMs: Math.round(performance.now() - started),
    };
    options.onProgress?.(progress);
    if (progress.waitingFor.length === 0 && progress.locksLeft === 0) break;
    if (performance.now() > deadline) {
      await casMap(home, keyspace, abortMove(moving, before), version).catch(() => {});
      throw new Error(`moving buckets ${move.buckets.join(', ')} from ${move.from} to ${move.to} did not finish within ${options.timeoutMs ?? 120_000} ms `
        + `(not acknowledged by: ${progress.waitingFor.join(', ') || 'none'}; locks still held in ${move.from}: ${progress.locksLeft}); aborted, the map is as before`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  // Two releases racing on one queue can each leave the other to delete the lock parent (the lock recipe deletes it
  // with the last lock); elsewhere the next lock there reuses and removes it, but nothing comes back to these buckets.
  await clearEmptyParents(source, keyspace, buckets);
  const done = completeMove(moving);
  await casMap(home, keyspace, done, version);
  // The other ensembles keep a copy for the nodes that start from now on (keyspace-guard.ts compares it).
  for (const [name, session] of options.sessions) {
    if (name === HOME_ENSEMBLE) continue;
    await session.setData(keyspace.shardMapPath, Buffer.from(markerOf(done))).catch(async (err: unknown) => {
      if (!isZkCode(err, Exception.NO_NODE)) throw err;
      await session.create(keyspace.shardMapPath, Buffer.from(markerOf(done)), CreateMode.PERSISTENT).catch(() => {});
    });
  }
  return { from: move.from, to: move.to, buckets: move.buckets, version: done.version, map: done, durationMs: Math.round(performance.now() - started) };
}

/** Writes the map's marker if the znode is still at `znodeVersion`; returns the new znode version. */
async function casMap(home: ZkSession, keyspace: Keyspace, map: ShardMap, znodeVersion: number): Promise<number> {
  try {
    return (await home.setData(keyspace.shardMapPath, Buffer.from(markerOf(map)), znodeVersion)).version;
  } catch (err) {
    if (isZkCode(err, Exception.BAD_VERSION)) throw new Error(`${keyspace.shardMapPath} changed meanwhile (another move?); read it again and retry`);
    throw err;
  }
}

/** Live members whose info does not show shard map `version` yet. */
async function unacknowledged(home: ZkSession, keyspace: Keyspace, version: number): Promise<string[]> {
  const waiting: string[] = [];
  for (const name of await home.getChildren(keyspace.nodesPath)) {
    try {
      const { data } = await home.getData(keyspace.memberPath(name));
      const info = JSON.parse(data?.toString('utf8') ?? '{}') as Partial<MemberInfo>;
      if ((info.shardMap ?? 0) < version) waiting.push(name);
    } catch (err) {
      if (!isZkCode(err, Exception.NO_NODE)) throw err; // left meanwhile
    }
  }
  return waiting.sort();
}

/** Lock queues with at least one lock in `buckets` of the ensemble. */
async function heldLocks(session: ZkSession, keyspace: Keyspace, buckets: ReadonlySet<number>): Promise<number> {
  const children = (path: string) => session.getChildren(path).catch((err: unknown) => {
    if (isZkCode(err, Exception.NO_NODE)) return [] as string[];
    throw err;
  });
  let held = 0;
  for (const type of await children(keyspace.objectsPath)) {
    for (const bucket of await children(keyspace.typePath(type))) {
      if (!isBucketName(bucket) || !buckets.has(Number.parseInt(bucket, 16))) continue;
      for (const id of await children(keyspace.bucketPath(type, bucket))) {
        if ((await children(keyspace.lockParentIn(type, bucket, id))).length > 0) held++;
      }
    }
  }
  return held;
}

/** Deletes the empty lock parents in `buckets` of the ensemble (nobody takes a lock there any more). */
async function clearEmptyParents(session: ZkSession, keyspace: Keyspace, buckets: ReadonlySet<number>): Promise<void> {
  const children = (path: string) => session.getChildren(path).catch((err: unknown) => {
    if (isZkCode(err, Exception.NO_NODE)) return [] as string[];
    throw err;
  });
  for (const type of await children(keyspace.objectsPath)) {
    for (const bucket of await children(keyspace.typePath(type))) {
      if (!isBucketName(bucket) || !buckets.has(Number.parseInt(bucket, 16))) continue;
      for (const id of await children(keyspace.bucketPath(type, bucket))) {
        await session.remove(keyspace.lockParentIn(type, bucket, id)).catch((err: unknown) => {
          // Gone already, or not empty (then heldLocks would not have let the move get here: left for the next look).
          if (!isZkCode(err, Exception.NO_NODE) && !isZkCode(err, Exception.NOT_EMPTY)) throw err;
        });
      }
    }
  }
}
