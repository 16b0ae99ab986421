import type { MemberInfo } from '@highlander/runtime';

/**
 * Where the admin API learns the coordination truth of a cluster: its members and its lock
 * queues. `LiveClusterModel` and `LiveClusterActions` depend on this contract only; the
 * implementations are `ZooKeeperSource` (a cluster of processes on ZooKeeper) and `EmbeddedSource`
 * (a cluster of nodes in this process on an `EmbeddedRegistry`).
 *
 * A source reports what is true; what the model makes of it (ordering node events against scans,
 * tombstones, deltas) stays in the model. A source holds no watch per object, except on lock
 * queues someone watches through {@link ClusterSource.watchLockQueue}.
 */
export interface ClusterSource {
  /** Where the truth comes from, for messages: `zookeeper 127.0.0.1:2181/highlander`, `embedded registry`. */
  readonly description: string;
  /** Whether the source can answer now (ZooKeeper: the session is connected). */
  readonly connected: boolean;
  /**
   * Follows the membership: calls `listener` with every live member after each change, until the
   * returned function is called. Resolves once the first listing was delivered, or failed (the
   * source then keeps trying, and delivers when it succeeds).
   */
  watchMembers(listener: (members: MemberInfo[]) => void): Promise<() => void>;
  /**
   * Calls `listener` each time the source regains contact after losing it: changes may have been
   * missed meanwhile, so the model reconciles. Returns the unsubscribe function.
   */
  onReconnect(listener: () => void): () => void;
  /**
   * Every non-empty lock queue, owner first, in no particular order. Entries carry `epoch` and
   * `waitingSince` where the source knows them without another request; for the owner's entry,
   * {@link readLockEntry} reads what is missing. `concurrency` bounds the requests in flight.
   */
  scanLockQueues(options: { concurrency: number }): Promise<LockQueueScan[]>;
  /** One lock-queue entry's epoch and creation time, or null when it is gone. */
  readLockEntry(type: string, id: string, path: string): Promise<{ epoch: string; waitingSince: number } | null>;
  /** One object's lock queue now, owner first (empty when nobody holds or waits for it). */
  lockQueue(type: string, id: string): Promise<SourceLockEntry[]>;
  /**
   * Watches one lock queue: `listener` gets the queue soon after the call and after every change,
   * until the returned function is called. One watch per call: callers share watches themselves.
   */
  watchLockQueue(type: string, id: string, listener: (queue: SourceLockEntry[]) => void): () => void;
  /**
   * Deletes a lock-queue entry behind its holder's back: a forced eviction (safe because writes are
   * fenced). Resolves true if it deleted the entry, false if the entry was gone already.
   */
  forceRemoveLock(entry: { type: string; id: string; path: string }): Promise<boolean>;
  /** Stops every watch; a source opened by its user is closed by that user. */
  close(): Promise<void>;
}

/** One entry of a lock queue as a source reports it. */
export interface SourceLockEntry {
  node: string;
  sequence: number;
  /** The entry's name in the source (ZooKeeper: the lock znode's path). */
  path: string;
  /** The epoch its node has while it owns the object, or null when the source did not read it. */
  epoch: string | null;
  /** Wall-clock ms when the entry was created (the owner: since it queued), or null when not known. */
  waitingSince: number | null;
}

/** One non-empty lock queue found by a scan. */
export interface LockQueueScan {
  type: string;
  id: string;
  /** Owner first; never empty. */
  entries: [SourceLockEntry, ...SourceLockEntry[]];
}
