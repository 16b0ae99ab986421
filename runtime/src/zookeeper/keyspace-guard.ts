import { KeyspaceLayoutMismatch, ShardMapMismatch } from '../errors.js';
import { GUARDED_ACL, KEYSPACE_LAYOUT, type Keyspace } from './keyspace.js';
import { CreateMode, Exception, isZkCode, type ZkSession } from './zk-session.js';

/**
 * Keeps a cluster's root in this version's keyspace layout (keyspace.ts), and moves a root of the
 * previous layout (lock parents directly under `<root>/objects/<type>/`) over once nothing holds a
 * lock there:
 *
 * 1. `<root>/keyspace` holds this layout: nothing to do but make sure `<root>/objects` exists, guarded.
 * 2. It holds another layout: refuse (`KeyspaceLayoutMismatch`).
 * 3. It is missing: a fresh root, or one of the previous version. If any lock parent of the previous
 *    layout has a lock (a node of the previous version holds or waits for an object, or its session
 *    has not expired yet), refuse. Otherwise guard `<root>/objects` and every type znode (from then on
 *    a node of the previous version gets NO_AUTH instead of a lock), delete the empty lock parents it
 *    left, and write the marker. A lock taken by a node of the previous version between the check and
 *    the guard is found when its lock parent is deleted (NOT_EMPTY): refuse, and the next start looks again.
 *
 * Every step can be run by several nodes at once: creates tolerate NODE_EXISTS, deletes NO_NODE,
 * and before refusing the marker is read again (another node of this version may have finished the move).
 */

const REMEDY_PREVIOUS = 'stop every node of the previous version and wait for their ZooKeeper sessions to expire '
  + '(sessionTimeoutMs), then start this version again (docs/deployment.md, "Moving a cluster to the bucketed keyspace")';
const REMEDY_OTHER = 'run the version that wrote that layout, or give this cluster a new root';
/** How many examples of held lock parents a refusal names. */
const EXAMPLES = 3;

/** Reads `<root>/keyspace`: 'current', 'absent', or throws `KeyspaceLayoutMismatch` for another layout. */
export async function readKeyspaceLayout(session: ZkSession, keyspace: Keyspace): Promise<'current' | 'absent'> {
  let data: Buffer | undefined;
  try {
    ({ data } = await session.getData(keyspace.layoutPath));
  } catch (err) {
    if (isZkCode(err, Exception.NO_NODE)) return 'absent';
    throw err;
  }
  const text = data?.toString('utf8') ?? '';
  if (text === markerText()) return 'current';
  throw new KeyspaceLayoutMismatch(keyspace.root, `${keyspace.layoutPath} holds ${JSON.stringify(text.slice(0, 200))}, this version uses ${markerText()}`, REMEDY_OTHER);
}

/**
 * Lock parents of the previous layout that hold locks (at most `limit`), as `<type>/<id>`. Only
 * meaningful while the marker is absent: in this layout the children of a type are buckets.
 */
export async function previousLayoutLocks(session: ZkSession, keyspace: Keyspace, limit = EXAMPLES): Promise<string[]> {
  const held: string[] = [];
  for (const type of await childrenOrNone(session, keyspace.objectsPath)) {
    for (const id of await childrenOrNone(session, keyspace.typePath(type))) {
      if ((await childrenOrNone(session, `${keyspace.typePath(type)}/${id}`)).length > 0) held.push(`${type}/${id}`);
      if (held.length >= limit) return held;
    }
  }
  return held;
}

/** Brings the root to this layout, or refuses (see above). Run by every node before it joins. */
export async function ensureKeyspaceLayout(session: ZkSession, keyspace: Keyspace): Promise<void> {
  await session.mkdirp(keyspace.root);
  if (await readKeyspaceLayout(session, keyspace) === 'current') {
    await guard(session, keyspace.objectsPath);
    return;
  }
  const held = await previousLayoutLocks(session, keyspace);
  if (held.length > 0) return refuseUnlessMoved(session, keyspace, held);
  await guard(session, keyspace.objectsPath);
  const types = await childrenOrNone(session, keyspace.objectsPath);
  for (const type of types) await session.setACL(keyspace.typePath(type), GUARDED_ACL).catch(ignore(Exception.NO_NODE));
  // No node of the previous version can add a lock parent now: clear the empty ones it left behind.
  for (const type of types) {
    for (const id of await childrenOrNone(session, keyspace.typePath(type))) {
      try {
        await session.remove(`${keyspace.typePath(type)}/${id}`);
      } catch (err) {
        if (isZkCode(err, Exception.NO_NODE)) continue;
        if (isZkCode(err, Exception.NOT_EMPTY)) return refuseUnlessMoved(session, keyspace, [`${type}/${id}`]);
        throw err;
      }
    }
  }
  try {
    await session.create(keyspace.layoutPath, Buffer.from(markerText()), CreateMode.PERSISTENT);
  } catch (err) {
    // Another node of this version wrote it first: it must say the same.
    if (!isZkCode(err, Exception.NODE_EXISTS)) throw err;
    await readKeyspaceLayout(session, keyspace);
  }
}

/**
 * Makes sure every node of a cluster runs on the same shard map (shard-map.ts). `expected` is the
 * map's marker text (`ShardTable.marker()`), or undefined for a node without a map. Run by every
 * node in every ensemble it joins, before joining:
 *
 * - `<root>/shard-map` holds `expected` (or is missing and nothing is expected): go on.
 * - It holds another map, or a map where none is expected, or is missing where one is: refuse
 *   (`ShardMapMismatch`), except that the first sharded node writes it, as long as no member is
 *   live (a live member there started without a map).
 */
export async function ensureShardMap(session: ZkSession, keyspace: Keyspace, expected: string | undefined): Promise<void> {
  const found = await readShardMap(session, keyspace);
  if (found === expected) return;
  if (found !== undefined) {
    throw new ShardMapMismatch(keyspace.root, `${keyspace.shardMapPath} holds ${describeMap(found)}, this node was given ${expected === undefined ? 'none' : describeMap(expected)}`,
      'start every node of the cluster with the same --zk-shards file (a map changes only with the whole cluster stopped: docs/deployment.md, "Sharding the registry")');
  }
  const live = await childrenOrNone(session, keyspace.nodesPath);
  // A sharded node writes the map before it joins: members listed after a missing map may be sharded
  // nodes that started meanwhile, so look again before refusing.
  if (live.length > 0 && await readShardMap(session, keyspace) !== undefined) return ensureShardMap(session, keyspace, expected);
  if (live.length > 0) {
    throw new ShardMapMismatch(keyspace.root, `no ${keyspace.shardMapPath}, and nodes without a shard map are live (${live.slice(0, EXAMPLES).join(', ')})`,
      'stop every node of the cluster, then start them all with the same --zk-shards file');
  }
  try {
    await session.create(keyspace.shardMapPath, Buffer.from(expected!), CreateMode.PERSISTENT);
  } catch (err) {
    // Another sharded node wrote it first: it must say the same.
    if (!isZkCode(err, Exception.NODE_EXISTS)) throw err;
    await ensureShardMap(session, keyspace, expected);
  }
}

/** `<root>/shard-map`'s text, or undefined when the cluster is not sharded. */
export async function readShardMap(session: ZkSession, keyspace: Keyspace): Promise<string | undefined> {
  try {
    const { data } = await session.getData(keyspace.shardMapPath);
    return data?.toString('utf8') ?? '';
  } catch (err) {
    if (isZkCode(err, Exception.NO_NODE)) return undefined;
    throw err;
  }
}

function describeMap(text: string): string {
  try {
    const map = JSON.parse(text) as { version?: unknown; shards?: Array<{ name?: unknown }> };
    return `shard map version ${JSON.stringify(map.version)} (shards ${(map.shards ?? []).map((s) => s.name).join(', ')})`;
  } catch {
    return JSON.stringify(text.slice(0, 200));
  }
}

/**
 * Makes sure `<root>/objects/<type>/<bucket>` exists: the type guarded, the bucket open (anyone
 * may create and delete lock parents in it). Buckets are never deleted: there are at most 4,096
 * per type, and keeping them saves a request on most activations.
 */
export async function ensureBucket(session: ZkSession, keyspace: Keyspace, type: string, bucket: string): Promise<void> {
  const bucketPath = keyspace.bucketPath(type, bucket);
  try {
    await session.create(bucketPath, undefined, CreateMode.PERSISTENT);
    return;
  } catch (err) {
    if (isZkCode(err, Exception.NODE_EXISTS)) return;
    if (!isZkCode(err, Exception.NO_NODE)) throw err;
  }
  await session.create(keyspace.typePath(type), undefined, CreateMode.PERSISTENT, GUARDED_ACL).catch(ignore(Exception.NODE_EXISTS));
  await session.create(bucketPath, undefined, CreateMode.PERSISTENT).catch(ignore(Exception.NODE_EXISTS));
}

function markerText(): string {
  return JSON.stringify(KEYSPACE_LAYOUT);
}

/** Creates `path` guarded, or guards it if it exists. */
async function guard(session: ZkSession, path: string): Promise<void> {
  try {
    await session.create(path, undefined, CreateMode.PERSISTENT, GUARDED_ACL);
  } catch (err) {
    if (!isZkCode(err, Exception.NODE_EXISTS)) throw err;
    await session.setACL(path, GUARDED_ACL);
  }
}

async function refuseUnlessMoved(session: ZkSession, keyspace: Keyspace, held: string[]): Promise<void> {
  // Another node of this version may have moved the root meanwhile: what looked like old lock parents are then its buckets.
  if (await readKeyspaceLayout(session, keyspace) === 'current') return;
  throw new KeyspaceLayoutMismatch(
    keyspace.root,
    `no ${keyspace.layoutPath} marker, and nodes of the previous layout hold or wait for locks (${held.map((h) => `${keyspace.objectsPath}/${h}`).join(', ')})`,
    REMEDY_PREVIOUS,
  );
}

async function childrenOrNone(session: ZkSession, path: string): Promise<string[]> {
  try {
    return await session.getChildren(path);
  } catch (err) {
    // Deleted since it was listed (a lock released, a parent cleaned up): nothing under it.
    if (isZkCode(err, Exception.NO_NODE)) return [];
    throw err;
  }
}

function ignore(code: number): (err: unknown) => void {
  return (err) => {
    if (!isZkCode(err, code)) throw err;
  };
}
