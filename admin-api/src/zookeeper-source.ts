import type { Stat } from 'node-zookeeper-client';
import { pino, type Logger } from 'pino';
import type { MemberInfo } from '@highlander/runtime';
import { KeyspaceLayoutMismatch } from '@highlander/runtime';
import {
  Exception, Keyspace, MembershipWatch, ZkSession, czxidOf, isBucketName, isZkCode, previousLayoutLocks, readKeyspaceLayout, sortQueue,
} from '@highlander/runtime/zookeeper';
import { Backoff, forEachBounded } from '@highlander/kit';
import type { ClusterSource, LockQueueScan, SourceLockEntry } from './cluster-source.js';

export interface ZooKeeperSourceOptions {
  /** ZooKeeper connect string of the cluster. */
  connect: string;
  /** @default '/highlander' */
  root?: string;
  /** @default 10000 */
  sessionTimeoutMs?: number;
  /** Where failures of background work (membership listings, lock queue watches) are logged. @default pino at level info */
  logger?: Logger;
}

/**
 * The cluster as ZooKeeper has it, on one session: members from the runtime's
 * {@link MembershipWatch} (one children watch on `<root>/nodes` plus one data watch per member,
 * refreshes coalesced) while someone listens; lock queues from a bounded-concurrency scan of
 * `<root>/objects/<type>/<bucket>/<id>/lock-…` (keyspace.ts), bucket by bucket, so that no listing
 * is larger than one bucket's (one request per type, per bucket in use and per object); one
 * getChildren watch per lock queue someone watches, re-armed only while watched; forced evictions
 * delete the owner's lock znode.
 */
export class ZooKeeperSource implements ClusterSource {
  readonly root: string;
  readonly keyspace: Keyspace;
  readonly session: ZkSession;
  readonly description: string;
  readonly #ownsSession: boolean;
  readonly #logger: Logger;
  #memberListeners = new Set<(members: MemberInfo[]) => void>();
  /** Only while someone listens to the members. */
  #membership: MembershipWatch | undefined;
  #reconnectListeners = new Set<() => void>();
  #queueWatches = new Set<QueueWatch>();
  #closed = false;

  /** Over a session opened by the caller (who closes it). */
  constructor(session: ZkSession, options: { root?: string; description?: string; ownsSession?: boolean; logger?: Logger } = {}) {
    this.session = session;
    this.root = options.root ?? '/highlander';
    this.keyspace = new Keyspace(this.root);
    this.description = options.description ?? `zookeeper ${this.root}`;
    this.#ownsSession = options.ownsSession ?? false;
    this.#logger = options.logger ?? pino({ name: 'highlander-admin-api' });
    session.on('connected', () => {
      for (const listener of [...this.#reconnectListeners]) listener();
    });
    session.on('renewed', () => {
      // A new session holds no watches: arm the lock queue watches again (the membership watch re-arms itself).
      for (const watch of this.#queueWatches) {
        watch.armed = false;
        this.#armQueueWatch(watch);
      }
    });
  }

  /**
   * Opens its own session (closed with the source) and makes sure `<root>/nodes` exists. Refuses
   * (`KeyspaceLayoutMismatch`) a root in another keyspace layout, or one of the previous layout whose
   * nodes still hold locks: its lock queues would not be found. A root without a marker and without
   * such locks is fine: the first node of this version writes the marker.
   */
  static async open(options: ZooKeeperSourceOptions): Promise<ZooKeeperSource> {
    const root = options.root ?? '/highlander';
    const session = await ZkSession.open({ connect: options.connect, sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000 });
    const source = new ZooKeeperSource(session, {
      root, description: `zookeeper ${options.connect}${root}`, ownsSession: true, ...(options.logger ? { logger: options.logger } : {}),
    });
    try {
      if (await readKeyspaceLayout(session, source.keyspace) === 'absent') {
        const held = await previousLayoutLocks(session, source.keyspace);
        if (held.length > 0) {
          throw new KeyspaceLayoutMismatch(root, `no ${source.keyspace.layoutPath} marker, and nodes of the previous layout hold locks (${held.join(', ')})`,
            'move the cluster to this version first (docs/deployment.md, "Moving a cluster to the bucketed keyspace")');
        }
      }
      await session.mkdirp(source.keyspace.nodesPath);
    } catch (err) {
      session.close();
      throw err;
    }
    return source;
  }

  get connected(): boolean {
    return !this.#closed && this.session.connected;
  }

  async watchMembers(listener: (members: MemberInfo[]) => void): Promise<() => void> {
    if (this.#closed) return () => {};
    this.#memberListeners.add(listener);
    if (this.#membership) {
      await this.#membership.refresh();
    } else {
      this.#membership = new MembershipWatch(this.session, {
        root: this.root,
        onMembers: (members) => {
          for (const l of [...this.#memberListeners]) l(members);
        },
        onError: (err) => this.#logger.warn({ err, root: this.root }, 'zookeeper source: listing the members failed; retrying'),
      });
      await this.#membership.start();
    }
    return () => {
      this.#memberListeners.delete(listener);
      // Nobody listening: the watches still armed fire once more and are not re-armed.
      if (this.#memberListeners.size === 0) this.#stopMembership();
    };
  }

  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener);
    return () => this.#reconnectListeners.delete(listener);
  }

  async scanLockQueues(options: { concurrency: number }): Promise<LockQueueScan[]> {
    const session = this.session;
    const keyspace = this.keyspace;
    // A folder removed since its parent's listing has nothing under it; any other failure fails the scan (it is not the truth).
    const childrenOf = (path: string) => session.getChildren(path).catch((err) => {
      if (isZkCode(err, Exception.NO_NODE)) return [] as string[];
      throw err;
    });
    const buckets: Array<{ type: string; bucket: string }> = [];
    await forEachBounded(await childrenOf(keyspace.objectsPath), options.concurrency, async (type) => {
      for (const bucket of await childrenOf(keyspace.typePath(type))) {
        if (isBucketName(bucket)) buckets.push({ type, bucket });
      }
    });
    const parents: Array<{ type: string; id: string; parent: string }> = [];
    await forEachBounded(buckets, options.concurrency, async ({ type, bucket }) => {
      for (const id of await childrenOf(keyspace.bucketPath(type, bucket))) parents.push({ type, id, parent: keyspace.lockParentIn(type, bucket, id) });
    });
    const found: LockQueueScan[] = [];
    await forEachBounded(parents, options.concurrency, async ({ type, id, parent }) => {
      const listed = await session.getChildrenAndStat(parent).catch((err) => {
        // Gone since the listing (its last lock released): no queue. Any other failure fails the scan.
        if (isZkCode(err, Exception.NO_NODE)) return null;
        throw err;
      });
      if (!listed) return;
      const entries = sortQueue(listed.children).map((e): SourceLockEntry => ({
        node: e.node, sequence: e.sequence, path: `${parent}/${e.name}`, epoch: null, waitingSince: null,
      }));
      const [head, ...rest] = entries;
      if (!head) return;
      // The runtime creates a lock parent only together with its first lock, in one multi: while that
      // lock is the parent's only child ever (cversion 1), they share czxid and ctime — no extra read.
      if (listed.stat.cversion === 1 && listed.children.length === 1) {
        head.epoch = czxidOf(listed.stat);
        head.waitingSince = ctimeOf(listed.stat);
      }
      found.push({ type, id, entries: [head, ...rest] });
    });
    return found;
  }

  async readLockEntry(_type: string, _id: string, path: string): Promise<{ epoch: string; waitingSince: number } | null> {
    // Any failure reads as gone: the next scan looks again.
    const stat = await this.session.exists(path).catch(() => null);
    return stat ? { epoch: czxidOf(stat), waitingSince: ctimeOf(stat) } : null;
  }

  async lockQueue(type: string, id: string): Promise<SourceLockEntry[]> {
    const parent = this.#parentOf(type, id);
    let children: string[];
    try {
      children = await this.session.getChildren(parent);
    } catch (err) {
      if (isZkCode(err, Exception.NO_NODE)) return [];
      throw err;
    }
    return this.#queueEntries(parent, children);
  }

  watchLockQueue(type: string, id: string, listener: (queue: SourceLockEntry[]) => void): () => void {
    const watch: QueueWatch = { type, id, listener, armed: false, stopped: false, retry: new Backoff(QUEUE_WATCH_RETRY) };
    this.#queueWatches.add(watch);
    this.#armQueueWatch(watch);
    return () => {
      // The ZooKeeper watch is one-shot: when it fires after this, it is not re-armed.
      watch.stopped = true;
      this.#queueWatches.delete(watch);
    };
  }

  async forceRemoveLock(entry: { type: string; id: string; path: string }): Promise<boolean> {
    try {
      await this.session.remove(entry.path);
      return true;
    } catch (err) {
      // Gone already: the owner released it or its session expired meanwhile; the object is free either way.
      if (isZkCode(err, Exception.NO_NODE)) return false;
      throw err;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#memberListeners.clear();
    this.#stopMembership();
    this.#reconnectListeners.clear();
    for (const watch of this.#queueWatches) watch.stopped = true;
    this.#queueWatches.clear();
    if (this.#ownsSession) this.session.close();
  }

  // ---- members ----

  #stopMembership(): void {
    this.#membership?.stop();
    this.#membership = undefined;
  }

  // ---- lock queues ----

  #parentOf(type: string, id: string): string {
    return this.keyspace.lockParent(type, id);
  }

  #armQueueWatch(watch: QueueWatch): void {
    if (watch.armed || watch.stopped || this.#closed) return;
    watch.armed = true;
    const parent = this.#parentOf(watch.type, watch.id);
    const fire = () => {
      watch.armed = false;
      this.#armQueueWatch(watch);
    };
    this.session.getChildren(parent, fire).then(
      (children) => this.#queueEntries(parent, children),
      async (err) => {
        if (!isZkCode(err, Exception.NO_NODE)) throw err;
        // No queue now: watch for the parent to appear instead.
        await this.session.exists(parent, fire);
        return [];
      },
    ).then((queue) => {
      watch.retry.reset();
      if (watch.stopped) return;
      try {
        watch.listener(queue);
      } catch (err) {
        // The watch itself is armed: a failing listener is logged, not a reason to arm it twice.
        this.#logger.error({ err, type: watch.type, id: watch.id }, 'zookeeper source: a lock queue listener failed');
      }
    }, (err: unknown) => {
      watch.armed = false;
      if (watch.stopped || this.#closed) return;
      const delayMs = watch.retry.next();
      this.#logger.warn({ err, type: watch.type, id: watch.id, retryInMs: Math.round(delayMs) }, 'zookeeper source: watching a lock queue failed; arming it again');
      setTimeout(() => this.#armQueueWatch(watch), delayMs).unref();
    });
  }

  async #queueEntries(parent: string, children: string[]): Promise<SourceLockEntry[]> {
    const sorted = sortQueue(children);
    return Promise.all(sorted.map(async (e) => {
      const path = `${parent}/${e.name}`;
      // Released between the listing and this read: shown without its times.
      const stat = await this.session.exists(path).catch(() => null);
      return { node: e.node, sequence: e.sequence, path, epoch: stat ? czxidOf(stat) : null, waitingSince: stat ? ctimeOf(stat) : null };
    }));
  }
}

interface QueueWatch {
  type: string;
  id: string;
  listener: (queue: SourceLockEntry[]) => void;
  armed: boolean;
  stopped: boolean;
  /** Delays before arming it again after a failure. */
  retry: Backoff;
}

const QUEUE_WATCH_RETRY = { initialMs: 500, maxMs: 5000 };

function ctimeOf(stat: Stat): number {
  return Number(Buffer.from(stat.ctime).readBigInt64BE(0));
}
