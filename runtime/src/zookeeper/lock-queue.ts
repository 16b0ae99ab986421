import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { CoordinatorUnavailable, OwnershipLost } from '../errors.js';
import type { AcquireOptions, AcquireResult, LockHandle, LockQueueEntry } from '../coordinator.js';
import { bucketOf, type Keyspace } from './keyspace.js';
import { ensureBucket } from './keyspace-guard.js';
import { CreateMode, Exception, ZkError, czxidOf, isZkCode, type ZkSession } from './zk-session.js';

/**
 * The ZooKeeper lock recipe, one queue per object under its lock parent
 * `<root>/objects/<type>/<bucket>/<id>/` (keyspace.ts):
 * `EPHEMERAL_SEQUENTIAL` znodes named `lock-<node>-<session>-<nonce>-<seq>`; the lowest sequence
 * owns the object, the others wait, each watching only its predecessor.
 *
 * The name carries the session and a per-attempt nonce ("protected" mode): after a connection
 * loss during create, the client finds its own znode by that prefix instead of retrying the
 * create (which could leave a duplicate). The lock parent is created together with the first lock
 * in one multi, and deleted together with the last one, so no empty parents are left behind.
 */

const LOCK_NAME = /^lock-(.+)-([0-9a-f]+)-([0-9a-z]+)-(\d{10})$/;

export function parseLockName(name: string): { node: string; session: string; sequence: number } | null {
  const m = LOCK_NAME.exec(name);
  if (!m) return null;
  return { node: m[1]!, session: m[2]!, sequence: Number(m[4]) };
}

/** Orders lock znode names by their sequence (the prefix differs between nodes). */
export function sortQueue(children: string[]): Array<{ name: string; node: string; sequence: number }> {
  const entries: Array<{ name: string; node: string; sequence: number }> = [];
  for (const name of children) {
    const parsed = parseLockName(name);
    if (parsed) entries.push({ name, node: parsed.node, sequence: parsed.sequence });
  }
  return entries.sort((a, b) => a.sequence - b.sequence);
}

export class LockQueue {
  /**
   * Lock parents → name prefixes of znodes this session may have created or failed to delete, each
   * with the time a create was given up (null for a delete: once absent, it stays absent).
   */
  #orphans = new Map<string, Map<string, number | null>>();

  constructor(
    private readonly session: ZkSession,
    private readonly keyspace: Keyspace,
    private readonly nodeName: string,
  ) {}

  parentOf(type: string, id: string): string {
    return this.keyspace.lockParent(type, id);
  }

  async queue(type: string, id: string): Promise<LockQueueEntry[]> {
    const parent = this.parentOf(type, id);
    let children: string[];
    try {
      children = await this.session.getChildren(parent);
    } catch (err) {
      if (isZkCode(err, Exception.NO_NODE)) return [];
      throw new CoordinatorUnavailable(`list lock queue of ${type}/${id}`, err);
    }
    return sortQueue(children).map((e) => ({ node: e.node, sequence: e.sequence, path: `${parent}/${e.name}` }));
  }

  async owner(type: string, id: string): Promise<string | null> {
    const queue = await this.queue(type, id);
    return queue[0]?.node ?? null;
  }

  async acquire(type: string, id: string, options: AcquireOptions): Promise<AcquireResult> {
    const started = performance.now();
    const deadline = started + options.timeoutMs;
    const parent = this.parentOf(type, id);
    const sessionAtStart = this.session.sessionId;
    const path = await this.#createLockZnode(type, id, parent, deadline);
    const name = path.slice(parent.length + 1);
    // Fetch our own stat (for the epoch) while looking at the queue: one round trip, pipelined.
    let statPromise: Promise<string | null> | null = this.session.exists(path).then((stat) => (stat ? czxidOf(stat) : null));
    statPromise.catch(() => {}); // awaited below when needed; a failure there is handled there
    let queuedReported = false;
    try {
      for (;;) {
        if (this.session.sessionId !== sessionAtStart) throw new OwnershipLost(type, id, 'session-lost');
        const children = await this.session.getChildren(parent);
        const queue = sortQueue(children);
        const index = queue.findIndex((e) => e.name === name);
        if (index < 0) throw new OwnershipLost(type, id, 'session-lost'); // our ephemeral znode vanished with our session
        if (index === 0) {
          statPromise ??= this.session.exists(path).then((stat) => (stat ? czxidOf(stat) : null));
          const epoch = await statPromise;
          if (epoch === null) throw new OwnershipLost(type, id, 'session-lost');
          return { acquired: true, lock: this.#handle(type, id, parent, path, epoch), waitedMs: performance.now() - started };
        }
        const head = queue[0]!;
        const headSession = parseLockName(head.name)?.session;
        if (head.node === this.nodeName && headSession === this.session.sessionId) {
          // Our own session holds an older lock on this object that nothing uses: a release that
          // failed earlier (the node never holds two locks for one object). Delete it and look again.
          await this.session.remove(`${parent}/${head.name}`).catch((err) => {
            if (!isZkCode(err, Exception.NO_NODE)) throw err;
          });
          continue;
        }
        if (!options.wait) {
          await this.#deleteLock(parent, path);
          return { acquired: false, owner: queue[0]!.node };
        }
        statPromise = null;
        if (!queuedReported) {
          queuedReported = true;
          options.onQueued?.(index, queue[0]!.node);
        }
        const predecessor = `${parent}/${queue[index - 1]!.name}`;
        const remaining = deadline - performance.now();
        if (remaining <= 0) {
          await this.#deleteLock(parent, path);
          return { acquired: false, owner: queue[0]!.node };
        }
        await this.session.waitForDeletion(predecessor, Math.min(remaining, this.session.sessionTimeoutMs));
      }
    } catch (err) {
      await this.#deleteLock(parent, path).catch(() => {
        // Unreachable: if the session is gone, the znode is gone with it; if not, sweep it later.
        this.#orphan(parent, name, 'delete');
      });
      if (err instanceof OwnershipLost) throw err;
      throw new CoordinatorUnavailable(`acquire lock of ${type}/${id}`, err);
    }
  }

  /** Creates our ephemeral sequential znode (and the lock parent when missing), recovering from connection loss by name. */
  async #createLockZnode(type: string, id: string, parent: string, deadline: number): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      if (performance.now() > deadline) throw new CoordinatorUnavailable(`create lock under ${parent}`, new Error('timed out'));
      const prefix = `${parent}/lock-${this.nodeName}-${this.session.sessionId}-${randomBytes(4).toString('hex')}-`;
      try {
        // Most activations are of objects nobody holds, whose lock parent was deleted: one multi creates both.
        if (attempt === 0) {
          const results = await this.session.multi(parent, (tx) => {
            tx.create(parent, CreateMode.PERSISTENT);
            tx.create(prefix, CreateMode.EPHEMERAL_SEQUENTIAL);
          });
          const created = results[1]?.path;
          if (created) return created;
          throw new ZkError(Exception.SYSTEM_ERROR, `multi create under ${parent} returned no path`, parent);
        }
        return await this.session.create(prefix, undefined, CreateMode.EPHEMERAL_SEQUENTIAL);
      } catch (err) {
        if (isZkCode(err, Exception.NODE_EXISTS)) continue; // the parent exists: plain create next
        if (isZkCode(err, Exception.NO_NODE)) {
          // The bucket is missing (first object of the type or of the bucket) or the parent was just cleaned up.
          await ensureBucket(this.session, this.keyspace, type, bucketOf(id));
          attempt = -1; // next attempt is the multi again
          continue;
        }
        if (err instanceof ZkError && err.isConnectionLoss) {
          const found = await this.#findOwn(parent, prefix).catch(() => null);
          if (found) return found;
          // Not there now, but the client may still send the request after a reconnect: sweep it later.
          this.#orphan(parent, prefix.slice(parent.length + 1), 'create');
          continue; // try again with a fresh nonce
        }
        throw err;
      }
    }
  }

  /**
   * Deletes lock znodes this session may have left behind: creates and deletes that timed out
   * (node-zookeeper-client sends queued requests after a reconnect, so a create we gave up on can
   * still happen later). Run when ZooKeeper answers again, periodically while any remain, and
   * before a graceful stop. An entry stays until ZooKeeper answers for it.
   *
   * A create we gave up on is looked for until a full session timeout after we gave up, not only
   * once: a request sent on a connection that then broke can still be committed after the client
   * reconnected to another server and listed the parent (the new server has seen the session's
   * last answered request, not the ones in flight on the old connection). Forgetting it after one
   * empty listing leaked a lock that this node held with no activation behind it, until a call
   * reached this node for that object (seen in a fault-schedule soak).
   */
  async sweepOrphans(): Promise<void> {
    const sessionId = this.session.sessionId;
    for (const [parent, prefixes] of [...this.#orphans]) {
      let children: string[];
      try {
        children = await this.session.getChildren(parent);
      } catch (err) {
        if (!isZkCode(err, Exception.NO_NODE)) continue; // unreachable: next sweep
        children = [];
      }
      const listedAt = performance.now();
      try {
        for (const [prefix, givenUpAt] of [...prefixes]) {
          const found = children.filter((child) => child.startsWith(prefix));
          for (const child of found) await this.#deleteLock(parent, `${parent}/${child}`);
          // A create lands at most once: found and deleted, it is done. Not found, it may still land
          // while the session lives, for a while after it was given up.
          const mayStillLand = found.length === 0 && givenUpAt !== null && prefix.includes(`-${sessionId}-`)
            && listedAt - givenUpAt < this.session.negotiatedTimeoutMs;
          if (!mayStillLand) prefixes.delete(prefix);
        }
        if (children.length === 0) {
          await this.session.remove(parent).catch((err) => {
            // Someone queued meanwhile (not empty) or it is gone: either way not ours to clean.
            if (!isZkCode(err, Exception.NOT_EMPTY) && !isZkCode(err, Exception.NO_NODE)) throw err;
          });
        }
        if (prefixes.size === 0) this.#orphans.delete(parent);
      } catch {
        // Unreachable again: next sweep.
      }
    }
  }

  get orphanCount(): number {
    return this.#orphans.size;
  }

  #orphan(parent: string, namePrefix: string, kind: 'create' | 'delete'): void {
    let prefixes = this.#orphans.get(parent);
    if (!prefixes) {
      prefixes = new Map();
      this.#orphans.set(parent, prefixes);
    }
    prefixes.set(namePrefix, kind === 'create' ? performance.now() : null);
  }

  async #findOwn(parent: string, prefixPath: string): Promise<string | null> {
    await this.session.waitConnected(this.session.requestTimeoutMs);
    const children = await this.session.getChildren(parent).catch((err) => {
      if (isZkCode(err, Exception.NO_NODE)) return [] as string[];
      throw err;
    });
    const prefix = prefixPath.slice(parent.length + 1);
    const own = children.find((c) => c.startsWith(prefix));
    return own ? `${parent}/${own}` : null;
  }

  /** Deletes a lock znode, and its parent when that leaves it empty. */
  async #deleteLock(parent: string, path: string): Promise<void> {
    try {
      await this.session.multi(parent, (tx) => {
        tx.remove(path, -1);
        tx.remove(parent, -1);
      });
      return;
    } catch (err) {
      if (!isZkCode(err, Exception.NOT_EMPTY) && !isZkCode(err, Exception.NO_NODE)) throw err;
    }
    try {
      await this.session.remove(path);
    } catch (err) {
      // Already deleted: our session expired and took the znode with it, or a forced eviction removed it.
      if (!isZkCode(err, Exception.NO_NODE)) throw err;
    }
  }

  #handle(type: string, id: string, parent: string, path: string, epoch: string): LockHandle {
    let released: Promise<void> | undefined;
    return {
      type,
      id,
      epoch,
      path,
      release: () => (released ??= this.#deleteLock(parent, path).catch((err) => {
        released = undefined;
        // The delete may or may not have happened: make sure it does once ZooKeeper answers.
        this.#orphan(parent, path.slice(parent.length + 1), 'delete');
        throw new CoordinatorUnavailable(`release lock of ${type}/${id}`, err);
      })),
      verify: async () => {
        try {
          return (await this.session.exists(path)) !== null;
        } catch (err) {
          throw new CoordinatorUnavailable(`verify lock of ${type}/${id}`, err);
        }
      },
    };
  }
}
