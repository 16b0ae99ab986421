import type { RequestObserver } from './request-observer.js';

/**
 * The coordinator contract: cluster membership and one lock queue per object. The ZooKeeper
 * implementation is `ZooKeeperCoordinator`; the embedded one implements the same contract.
 */

/** What a node publishes about itself. */
export interface MemberInfo {
  name: string;
  /** ws URL of the node's peer endpoint, e.g. `ws://127.0.0.1:7101`. */
  address: string;
  pid: number;
  /** Wall-clock start time, ms since the epoch (for display only). */
  startedAt: number;
  /** Active objects on the node, refreshed every few seconds (used by `least-loaded`). */
  activations: number;
  /** A draining node takes no new activations. */
  draining: boolean;
  /** At its lock budget (`lockBudgetBytes`): placement sends new activations elsewhere. Absent: not full. */
  full?: boolean;
  /** A sharded node: the version of the shard map it runs on (acknowledged after draining a move's buckets). */
  shardMap?: number;
}

/** A held lock: this node owns the object until `release()` or the session is lost. */
export interface LockHandle {
  readonly type: string;
  readonly id: string;
  /** The owner's epoch: its lock znode's czxid, as a decimal string. Globally monotonic. */
  readonly epoch: string;
  /** The lock znode's path (for display and diagnosis). */
  readonly path: string;
  /** Deletes the lock znode (and the object's empty lock parent). Safe to call twice. */
  release(): Promise<void>;
  /** Whether the lock znode still exists (false after a forced eviction deleted it). */
  verify(): Promise<boolean>;
}

export type AcquireResult =
  | { acquired: true; lock: LockHandle; waitedMs: number }
  | { acquired: false; owner: string };

/** One entry of an object's lock queue, lowest sequence (the owner) first. */
export interface LockQueueEntry {
  node: string;
  sequence: number;
  path: string;
}

export interface AcquireOptions {
  /**
   * `false`: give up at once (deleting the queued znode) when another node owns the object, and
   * report that owner. `true`: wait in the lock queue until the owner releases.
   */
  wait: boolean;
  /** Stop waiting after this long (then `CoordinatorUnavailable` or `{ acquired: false }`). */
  timeoutMs: number;
  /** With `wait`: called once when this node's znode is in the queue behind `owner`, at `position` (1 = next). */
  onQueued?: (position: number, owner: string) => void;
}

/**
 * What a lost session took. A sharded coordinator has a session per ensemble, and losing one takes
 * only the locks of that ensemble's buckets; without a scope, every lock is gone.
 */
export interface SessionLossScope {
  /** The ensemble whose session ended (`home` or a shard's name). */
  ensemble: string;
  /** Whether the object's lock was in that ensemble. */
  covers(type: string, id: string): boolean;
}

export interface CoordinatorEvents {
  /** Membership changed (a node joined, left, or updated its info). */
  members: (members: MemberInfo[]) => void;
  /** The session was lost: every lock this node held is gone (with a scope: those it covers). */
  sessionLost: (scope?: SessionLossScope) => void;
  /** After a session loss, the node is a member again under a new session (of `ensemble`, when sharded). */
  rejoined: (ensemble?: string) => void;
  /** A background task (rejoining, watching members) failed; the coordinator keeps trying. */
  error: (err: Error) => void;
  /**
   * A sharded coordinator: a move of buckets to another ensemble began (shard-move.ts). The node
   * drains the objects `covers` selects, then calls `acknowledgeMap(version)`.
   */
  keyspaceMoving: (move: { version: number; covers(type: string, id: string): boolean }) => void;
}

export interface Coordinator {
  /** Connects and publishes this node as a member. Throws `NodeNameTaken` if the name is live elsewhere. */
  start(self: MemberInfo): Promise<void>;
  /** Republishes this node's info (activations, draining). */
  update(info: Partial<Omit<MemberInfo, 'name'>>): Promise<void>;
  /** The live members, as last seen. */
  members(): MemberInfo[];
  on<E extends keyof CoordinatorEvents>(event: E, listener: CoordinatorEvents[E]): unknown;
  off<E extends keyof CoordinatorEvents>(event: E, listener: CoordinatorEvents[E]): unknown;
  /** The node that owns an object now, or null. */
  owner(type: string, id: string): Promise<string | null>;
  /** The object's whole lock queue, owner first. */
  queue(type: string, id: string): Promise<LockQueueEntry[]>;
  /** Joins the object's lock queue; see {@link AcquireOptions}. */
  acquire(type: string, id: string, options: AcquireOptions): Promise<AcquireResult>;
  /** Monotonic time (performance.now()) at which the coordinator last answered. */
  lastContactMs(): number;
  /**
   * Optional: the bytes one object's lock adds to what the coordination service must delete in one
   * transaction when this node's session ends (ZooKeeper: the lock znode's path and its 4-byte length).
   * A coordinator without such a limit leaves it out, and the node then sets no lock budget.
   */
  lockBytes?(type: string, id: string): number;
  /**
   * Optional: which session's close transaction lists the object's lock (a sharded coordinator: the
   * ensemble of its bucket). The node's lock budget holds per pool. Without it, one pool.
   */
  lockPool?(type: string, id: string): string;
  /**
   * The read lease: true while the coordinator answered recently enough that this node's session,
   * and so every lock it holds, is certainly still alive. An owner serves nothing without it.
   * With an object: the lease of the session its lock lives in (a sharded coordinator has one per
   * ensemble); without: every session's.
   */
  holdsLease(type?: string, id?: string): boolean;
  /** Optional (sharded): publishes that this node runs on shard map `version`, its moving buckets drained. */
  acknowledgeMap?(version: number): Promise<void>;
  /** Leaves the cluster: every lock and the membership znode go with the session. */
  stop(): Promise<void>;
  /**
   * Optional: tells `observer` about every request to the coordination service (a node's metrics
   * report them as `highlander_zookeeper_*`). Returns the function that stops it.
   */
  observeRequests?(observer: RequestObserver): () => void;
}
