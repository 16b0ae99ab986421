/**
 * The ZooKeeper side of Highlander, for tools that read or manage the same ensemble as the nodes
 * (the admin API, tests, operators' scripts): a session with per-request timeouts and recovery,
 * the keyspace (every path of a cluster's root, bucketed), the lock queue's znode naming, and the
 * membership watch.
 *
 * ```ts
 * import { Keyspace, ZkSession, sortQueue } from '@highlander/runtime/zookeeper';
 *
 * const zk = await ZkSession.open({ connect: '127.0.0.1:2181', sessionTimeoutMs: 10_000 });
 * const keyspace = new Keyspace('/highlander');
 * const children = await zk.getChildren(keyspace.lockParent('list', 'groceries')); // …/objects/list/<bucket>/groceries
 * console.log(sortQueue(children)[0]?.node); // the owner
 * zk.close();
 * ```
 */
export { ACL, CreateMode, Exception, ZkError, ZkSession, czxidOf, isZkCode, zkCodeName } from './zk-session.js';
export type { ZkSessionOptions } from './zk-session.js';
export { BUCKET_DIGITS, GUARDED_ACL, KEYSPACE_BUCKETS, KEYSPACE_LAYOUT, Keyspace, allBuckets, bucketOf, isBucketName, isGuardedAcl } from './keyspace.js';
export type { KeyspaceLayout } from './keyspace.js';
export { ensureBucket, ensureKeyspaceLayout, ensureShardMap, previousLayoutLocks, readKeyspaceLayout, readShardMap } from './keyspace-guard.js';
export { HOME_ENSEMBLE, ShardTable, abortMove, bucketsIn, completeMove, composeEpoch, mapFromMarker, markerOf, planMove, rangesOf, shardMapProblems } from './shard-map.js';
export type { ShardMap, ShardMove, ShardRoute, ShardSpec } from './shard-map.js';
export { moveBuckets } from './shard-move.js';
export type { MoveOptions, MoveProgress, MoveResult } from './shard-move.js';
export { LockQueue, parseLockName, sortQueue } from './lock-queue.js';
export { MembershipWatch } from './membership-watch.js';
export type { MembershipWatchOptions } from './membership-watch.js';
