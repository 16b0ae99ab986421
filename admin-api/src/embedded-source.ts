import type { EmbeddedLockEntry, EmbeddedRegistry, MemberInfo } from '@highlander/runtime';
import type { ClusterSource, LockQueueScan, SourceLockEntry } from './cluster-source.js';

/**
 * The cluster as an {@link EmbeddedRegistry} has it, for an admin API in the same process as the
 * nodes. Everything is in memory: members and queue changes are pushed by the registry (no
 * polling, no watch to re-arm), a scan is a copy of the registry's queues, and it never loses
 * contact. A forced eviction is `registry.forceDelete(path)`.
 *
 * The registry does not record when an entry was queued: the source does, from the changes it sees
 * (entries already there when it was created count from then). Create it before the nodes start for
 * exact times.
 */
export class EmbeddedSource implements ClusterSource {
  readonly registry: EmbeddedRegistry;
  readonly description = 'embedded registry (this process)';
  /** Per object (`type/id`): when each of its entries (by path) was first seen, wall-clock ms. */
  #seen = new Map<string, Map<string, number>>();
  #unsubscribe: () => void;
  #memberListeners = new Set<(members: MemberInfo[]) => void>();
  #queueListeners = new Map<string, Set<(queue: SourceLockEntry[]) => void>>();
  #closed = false;

  constructor(registry: EmbeddedRegistry) {
    this.registry = registry;
    const now = Date.now();
    for (const q of registry.lockQueues()) this.#seen.set(keyOf(q.type, q.id), new Map(q.entries.map((e) => [e.path, now])));
    // The registry reports changes from inside the nodes' coordinator calls: listeners run a microtask
    // later (in order), so that the admin side's work never runs in the middle of a node's.
    this.#unsubscribe = registry.subscribe((change) => {
      if (change.kind === 'members') {
        deliver(this.#memberListeners, change.members);
        return;
      }
      const key = keyOf(change.type, change.id);
      const entries = this.#entries(key, change.entries, true);
      const listeners = this.#queueListeners.get(key);
      if (listeners) deliver(listeners, entries);
    });
  }

  get connected(): boolean {
    return !this.#closed;
  }

  async watchMembers(listener: (members: MemberInfo[]) => void): Promise<() => void> {
    if (this.#closed) return () => {};
    this.#memberListeners.add(listener);
    listener(this.registry.members());
    return () => this.#memberListeners.delete(listener);
  }

  /** In-process, the registry never goes away: there is nothing to reconnect. */
  onReconnect(): () => void {
    return () => {};
  }

  async scanLockQueues(): Promise<LockQueueScan[]> {
    const found: LockQueueScan[] = [];
    for (const q of this.registry.lockQueues()) {
      const [head, ...rest] = this.#entries(keyOf(q.type, q.id), q.entries, false);
      if (head) found.push({ type: q.type, id: q.id, entries: [head, ...rest] });
    }
    return found;
  }

  async readLockEntry(type: string, id: string, path: string): Promise<{ epoch: string; waitingSince: number } | null> {
    const entry = this.#entries(keyOf(type, id), this.registry.lockQueue(type, id), false).find((e) => e.path === path);
    return entry ? { epoch: entry.epoch!, waitingSince: entry.waitingSince ?? Date.now() } : null;
  }

  async lockQueue(type: string, id: string): Promise<SourceLockEntry[]> {
    return this.#entries(keyOf(type, id), this.registry.lockQueue(type, id), false);
  }

  watchLockQueue(type: string, id: string, listener: (queue: SourceLockEntry[]) => void): () => void {
    if (this.#closed) return () => {};
    const key = keyOf(type, id);
    let listeners = this.#queueListeners.get(key);
    if (!listeners) {
      listeners = new Set();
      this.#queueListeners.set(key, listeners);
    }
    // A distinct function per call, so that one caller's stop never removes another's listener.
    const own = (queue: SourceLockEntry[]) => listener(queue);
    listeners.add(own);
    let stopped = false;
    // The current queue a turn later, as a ZooKeeper watch delivers it: after the caller holds the stop function.
    setImmediate(() => {
      if (!stopped && !this.#closed) listener(this.#entries(key, this.registry.lockQueue(type, id), false));
    });
    return () => {
      stopped = true;
      listeners.delete(own);
      if (listeners.size === 0 && this.#queueListeners.get(key) === listeners) this.#queueListeners.delete(key);
    };
  }

  async forceRemoveLock(entry: { type: string; id: string; path: string }): Promise<boolean> {
    return this.registry.forceDelete(entry.path);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
    this.#memberListeners.clear();
    this.#queueListeners.clear();
    this.#seen.clear();
  }

  /** The registry's entries with the times they were first seen; `record` (on a change) also forgets entries that left. */
  #entries(key: string, entries: EmbeddedLockEntry[], record: boolean): SourceLockEntry[] {
    const seen = this.#seen.get(key);
    const now = Date.now();
    const views = entries.map((e) => ({
      node: e.node, sequence: e.sequence, path: e.path, epoch: e.epoch, waitingSince: seen?.get(e.path) ?? (record ? now : null),
    }));
    if (record) {
      if (views.length === 0) this.#seen.delete(key);
      else this.#seen.set(key, new Map(views.map((v) => [v.path, v.waitingSince ?? now])));
    }
    return views;
  }
}

/** Calls each listener with `value` a microtask later; one that throws does not keep the others from it. */
function deliver<T>(listeners: Set<(value: T) => void>, value: T): void {
  const targets = [...listeners];
  queueMicrotask(() => {
    for (const listener of targets) {
      if (!listeners.has(listener)) continue; // stopped meanwhile
      try {
        listener(value);
      } catch {
        // A faulty listener (the model's subscribers are guarded already) must not starve the others.
      }
    }
  });
}

function keyOf(type: string, id: string): string {
  return `${type}/${id}`;
}
