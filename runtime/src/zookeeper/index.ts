/**
 * The ZooKeeper side of Highlander, for tools that read or manage the same ensemble as the nodes
 * (the admin API, tests, operators' scripts): a session with per-request timeouts and recovery,
 * the lock queue's znode naming, and the membership watch.
 *
 * ```ts
 * import { ZkSession, sortQueue } from '@highlander/runtime/zookeeper';
 *
 * const zk = await ZkSession.open({ connect: '127.0.0.1:2181', sessionTimeoutMs: 10_000 });
 * const children = await zk.getChildren('/highlander/objects/list/groceries');
 * console.log(sortQueue(children)[0]?.node); // the owner
 * zk.close();
 * ```
 */
export { ACL, CreateMode, Exception, ZkError, ZkSession, czxidOf, isZkCode, zkCodeName } from './zk-session.js';
export type { ZkSessionOptions } from './zk-session.js';
export { LockQueue, parseLockName, sortQueue } from './lock-queue.js';
export { MembershipWatch } from './membership-watch.js';
export type { MembershipWatchOptions } from './membership-watch.js';
