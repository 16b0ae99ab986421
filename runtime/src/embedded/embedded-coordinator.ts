import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { CoordinatorUnavailable, NodeNameTaken, OwnershipLost } from '../errors.js';
import type { AcquireOptions, AcquireResult, Coordinator, CoordinatorEvents, LockHandle, LockQueueEntry, MemberInfo } from '../coordinator.js';
import { Keyspace } from '../zookeeper/keyspace.js';

/** Lock paths as the ZooKeeper keyspace lays them out, without a root: `/objects/<type>/<bucket>/<id>/lock-…`. */
const EMBEDDED_KEYSPACE = new Keyspace('');

/**
 * The coordinator for a cluster whose nodes all live in one OS process (the seed's Elixir
 * `Registry` case): an {@link EmbeddedRegistry} holds the truth, members and one FIFO lock queue
 * per object, and each node gets its own {@link EmbeddedCoordinator} on it.
 *
 * ```ts
 * const registry = new EmbeddedRegistry();
 * const a = HighlanderNode.create({ name: 'node-a', coordinator: registry.coordinator(), store, objects });
 * const b = HighlanderNode.create({ name: 'node-b', coordinator: registry.coordinator(), store, objects });
 * ```
 *
 * Semantics are the ZooKeeper coordinator's: each coordinator has a *session* that owns its
 * membership and its lock-queue entries; the lowest entry of a queue owns the object; epochs come
 * from one counter for the whole registry (like czxids), so they increase across objects and owners.
 * Being in-process, it answers at once and never loses contact: the read lease holds for as long as
 * the session lives. A session ends with `stop()` or with {@link EmbeddedRegistry.expireSession}
 * (what a crash or a partition is in ZooKeeper); after an expiry the coordinator emits
 * `sessionLost`, opens a new session, rejoins and emits `rejoined`.
 */

export interface EmbeddedRegistryOptions {
  /**
   * Epoch of the first lock. A state store refuses (fences) an owner whose epoch is below the one
   * stored with an object, so epochs must stay above those of earlier runs on the same stored state:
   * the default, the wall clock in microseconds, does as long as the clock does not go back.
   * @default BigInt(Date.now()) * 1000n
   */
  firstEpoch?: bigint;
}

/** One entry of a lock queue as the registry shows it: the coordinator's entry plus the epoch. */
export interface EmbeddedLockEntry extends LockQueueEntry {
  /** The epoch this entry's node has while it owns the object. */
  epoch: string;
}

export interface LockQueueSnapshot {
  type: string;
  id: string;
  /** Owner first. */
  entries: EmbeddedLockEntry[];
}

/** What {@link EmbeddedRegistry.subscribe} reports, after the change is made. */
export type RegistryChange =
  | { kind: 'members'; members: MemberInfo[] }
  | { kind: 'lock-queue'; type: string; id: string; entries: EmbeddedLockEntry[] };

interface Session {
  readonly id: number;
  readonly node: string;
  alive: boolean;
  readonly locks: Set<Lock>;
  readonly hooks: SessionHooks;
}

interface SessionHooks {
  /** The registry ended the session (not the coordinator itself). */
  expired(): void;
  members(members: MemberInfo[]): void;
}

interface Lock {
  readonly type: string;
  readonly id: string;
  readonly node: string;
  readonly session: Session;
  readonly sequence: number;
  readonly epoch: string;
  readonly path: string;
}

interface Queue {
  readonly type: string;
  readonly id: string;
  readonly locks: Lock[];
  /** Acquirers waiting for the queue to change. */
  readonly waiters: Set<() => void>;
}

/** What one coordinator may do with its session; built by the registry, never exported. */
interface SessionPort {
  readonly session: Session;
  join(info: MemberInfo): void;
  update(info: MemberInfo): void;
  enqueue(type: string, id: string): Lock;
  queue(type: string, id: string): readonly Lock[];
  remove(lock: Lock): void;
  holds(lock: Lock): boolean;
  /** Resolves at the next change of the object's queue, or after `timeoutMs`. */
  changed(type: string, id: string, timeoutMs: number): Promise<void>;
  /** Ends the session: its locks and its membership go. */
  close(): void;
}

const openSession = Symbol('EmbeddedRegistry.openSession');
/** setTimeout's longest delay; a longer wait just looks again. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The truth of an embedded cluster: members, lock queues, sessions. */
export class EmbeddedRegistry {
  readonly #epochBase: bigint;
  #sequence = 0;
  #sessionIds = 0;
  #members = new Map<string, { info: MemberInfo; session: Session }>();
  #queues = new Map<string, Queue>();
  #byPath = new Map<string, Lock>();
  #listeners = new Set<(change: RegistryChange) => void>();

  constructor(options: EmbeddedRegistryOptions = {}) {
    const first = options.firstEpoch ?? BigInt(Date.now()) * 1000n;
    if (typeof first !== 'bigint' || first < 1n) throw new TypeError(`EmbeddedRegistry: firstEpoch must be a positive bigint (got ${String(first)})`);
    this.#epochBase = first - 1n;
  }

  /** A coordinator for one node of this cluster (start it with the node). */
  coordinator(): EmbeddedCoordinator {
    return new EmbeddedCoordinator(this);
  }

  // ---- inspection and operations ----

  /** The live members, by name. */
  members(): MemberInfo[] {
    return [...this.#members.values()].map((m) => ({ ...m.info })).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** One object's lock queue, owner first (empty when nobody holds or waits for it). */
  lockQueue(type: string, id: string): EmbeddedLockEntry[] {
    return entriesOf(this.#queues.get(queueKey(type, id)));
  }

  /** Every non-empty lock queue, by type and id. */
  lockQueues(): LockQueueSnapshot[] {
    return [...this.#queues.values()]
      .map((q) => ({ type: q.type, id: q.id, entries: entriesOf(q) }))
      .sort((a, b) => (a.type === b.type ? (a.id < b.id ? -1 : 1) : a.type < b.type ? -1 : 1));
  }

  /**
   * Calls `listener` after every change of membership or of a lock queue. A listener that throws
   * does not disturb the registry or the other listeners. Returns the unsubscribe function.
   */
  subscribe(listener: (change: RegistryChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Deletes one lock-queue entry behind its holder's back: a forced eviction. The holder's
   * `verify()` answers false from then on, and the next in the queue becomes the owner. Returns
   * whether the entry existed.
   */
  forceDelete(path: string): boolean;
  forceDelete(type: string, id: string, node: string): boolean;
  forceDelete(pathOrType: string, id?: string, node?: string): boolean {
    const lock = id === undefined
      ? this.#byPath.get(pathOrType)
      : this.#queues.get(queueKey(pathOrType, id))?.locks.find((l) => l.node === node);
    if (!lock) return false;
    this.#removeLock(lock);
    return true;
  }

  /**
   * Ends the session of the live member `node`, as a ZooKeeper session expiry would: its locks and
   * its membership go at once; its coordinator then emits `sessionLost`, joins again under a new
   * session and emits `rejoined`. Returns false when no live member has that name.
   */
  expireSession(node: string): boolean {
    const member = this.#members.get(node);
    if (!member) return false;
    this.#endSession(member.session);
    member.session.hooks.expired();
    return true;
  }

  // ---- sessions (used by EmbeddedCoordinator only) ----

  /** @internal Opens a session for `node`; its coordinator acts through the returned port. */
  [openSession](node: string, hooks: SessionHooks): SessionPort {
    const session: Session = { id: ++this.#sessionIds, node, alive: true, locks: new Set(), hooks };
    const live = (operation: string) => {
      if (!session.alive) throw new CoordinatorUnavailable(operation, new Error(`the session of node '${node}' has ended`));
    };
    return {
      session,
      join: (info) => {
        live('join cluster');
        const holder = this.#members.get(info.name);
        if (holder && holder.session !== session) throw new NodeNameTaken(info.name, 0);
        this.#members.set(info.name, { info: { ...info }, session });
        this.#membersChanged();
      },
      update: (info) => {
        live('publish node info');
        const member = this.#members.get(info.name);
        if (!member || member.session !== session) throw new CoordinatorUnavailable('publish node info', new Error(`node '${info.name}' is not a member`));
        member.info = { ...info };
        this.#membersChanged();
      },
      enqueue: (type, id) => {
        live(`acquire lock of ${type}/${id}`);
        const key = queueKey(type, id);
        let queue = this.#queues.get(key);
        if (!queue) {
          queue = { type, id, locks: [], waiters: new Set() };
          this.#queues.set(key, queue);
        }
        const sequence = ++this.#sequence;
        // Named like the ZooKeeper lock znodes (lock-<node>-<session>-<nonce>-<sequence>) under a root-less keyspace, so tools read both alike.
        const path = `${EMBEDDED_KEYSPACE.lockParent(type, id)}/lock-${node}-${session.id.toString(16)}-0-${String(sequence).padStart(10, '0')}`;
        const lock: Lock = { type, id, node, session, sequence, epoch: (this.#epochBase + BigInt(sequence)).toString(), path };
        queue.locks.push(lock);
        session.locks.add(lock);
        this.#byPath.set(path, lock);
        this.#queueChanged(queue);
        return lock;
      },
      queue: (type, id) => this.#queues.get(queueKey(type, id))?.locks ?? [],
      remove: (lock) => this.#removeLock(lock),
      holds: (lock) => this.#byPath.get(lock.path) === lock,
      changed: (type, id, timeoutMs) => {
        const queue = this.#queues.get(queueKey(type, id));
        if (!queue) return Promise.resolve();
        return new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            queue.waiters.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, Math.min(Math.max(0, timeoutMs), MAX_TIMER_MS));
          queue.waiters.add(wake);
        });
      },
      close: () => this.#endSession(session),
    };
  }

  #endSession(session: Session): void {
    if (!session.alive) return;
    session.alive = false;
    for (const lock of [...session.locks]) this.#removeLock(lock);
    for (const [name, member] of this.#members) {
      if (member.session === session) {
        this.#members.delete(name);
        this.#membersChanged();
      }
    }
  }

  #removeLock(lock: Lock): void {
    if (this.#byPath.get(lock.path) !== lock) return; // released already, or gone with its session
    this.#byPath.delete(lock.path);
    lock.session.locks.delete(lock);
    const queue = this.#queues.get(queueKey(lock.type, lock.id));
    if (!queue) return;
    queue.locks.splice(queue.locks.indexOf(lock), 1);
    this.#queueChanged(queue);
  }

  #queueChanged(queue: Queue): void {
    // An empty queue goes (like the ZooKeeper lock parent); its waiters, whose entries are gone, find out on waking.
    if (queue.locks.length === 0) this.#queues.delete(queueKey(queue.type, queue.id));
    for (const wake of [...queue.waiters]) wake();
    this.#publish({ kind: 'lock-queue', type: queue.type, id: queue.id, entries: entriesOf(queue) });
  }

  #membersChanged(): void {
    const members = this.members();
    for (const { session } of [...this.#members.values()]) session.hooks.members(members.map((m) => ({ ...m })));
    this.#publish({ kind: 'members', members });
  }

  #publish(change: RegistryChange): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch {
        // A faulty subscriber must not break the registry or the other subscribers (as in EventLog).
      }
    }
  }
}

/**
 * One node's coordinator on an {@link EmbeddedRegistry}. Create it with `registry.coordinator()`
 * or `new EmbeddedCoordinator(registry)`.
 */
export class EmbeddedCoordinator extends EventEmitter implements Coordinator {
  readonly registry: EmbeddedRegistry;
  #port: SessionPort | undefined;
  #self: MemberInfo | undefined;
  #stopped = false;
  /** When the current session ended (while none is live). */
  #lostAtMs = -Infinity;

  constructor(registry: EmbeddedRegistry) {
    super();
    if (!(registry instanceof EmbeddedRegistry)) throw new TypeError('EmbeddedCoordinator: registry must be an EmbeddedRegistry');
    this.registry = registry;
  }

  async start(self: MemberInfo): Promise<void> {
    if (this.#port || this.#stopped) throw new CoordinatorUnavailable('join cluster', new Error('this coordinator was started before; use a new one'));
    this.#self = { ...self };
    const port = this.#open();
    try {
      port.join(this.#self);
    } catch (err) {
      port.close();
      this.#port = undefined;
      throw err;
    }
  }

  async update(info: Partial<Omit<MemberInfo, 'name'>>): Promise<void> {
    if (!this.#self) return;
    this.#self = { ...this.#self, ...info };
    this.#live('publish node info').update(this.#self);
  }

  members(): MemberInfo[] {
    return this.#port && !this.#stopped ? this.registry.members() : [];
  }

  async owner(type: string, id: string): Promise<string | null> {
    return this.#live(`read the owner of ${type}/${id}`).queue(type, id)[0]?.node ?? null;
  }

  async queue(type: string, id: string): Promise<LockQueueEntry[]> {
    return this.#live(`list lock queue of ${type}/${id}`).queue(type, id).map((l) => ({ node: l.node, sequence: l.sequence, path: l.path }));
  }

  async acquire(type: string, id: string, options: AcquireOptions): Promise<AcquireResult> {
    const started = performance.now();
    const deadline = started + options.timeoutMs;
    const port = this.#live(`acquire lock of ${type}/${id}`);
    const lock = port.enqueue(type, id);
    let queuedReported = false;
    try {
      for (;;) {
        if (!port.holds(lock)) throw new OwnershipLost(type, id, 'session-lost'); // gone with our session, or force-deleted
        const queue = port.queue(type, id);
        const index = queue.indexOf(lock);
        if (index === 0) return { acquired: true, lock: handle(port, lock), waitedMs: performance.now() - started };
        const head = queue[0]!;
        if (head.session === lock.session) {
          // An older lock of this very session that nothing uses (a node never holds two locks for
          // one object): the ZooKeeper coordinator deletes it too. Look again.
          port.remove(head);
          continue;
        }
        if (!options.wait) {
          port.remove(lock);
          return { acquired: false, owner: head.node };
        }
        if (!queuedReported) {
          queuedReported = true;
          options.onQueued?.(index, head.node);
        }
        const remaining = deadline - performance.now();
        if (remaining <= 0) {
          port.remove(lock);
          return { acquired: false, owner: head.node };
        }
        await port.changed(type, id, remaining);
      }
    } catch (err) {
      port.remove(lock);
      throw err;
    }
  }

  /** In-process, the registry always answers: now, while the session lives. */
  lastContactMs(): number {
    return this.#port?.session.alive && !this.#stopped ? performance.now() : this.#lostAtMs;
  }

  holdsLease(): boolean {
    return !this.#stopped && this.#port?.session.alive === true;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#port?.close();
    this.#lostAtMs = performance.now();
  }

  override on<E extends keyof CoordinatorEvents>(event: E, listener: CoordinatorEvents[E]): this {
    return super.on(event, listener);
  }

  override off<E extends keyof CoordinatorEvents>(event: E, listener: CoordinatorEvents[E]): this {
    return super.off(event, listener);
  }

  #open(): SessionPort {
    const port = this.registry[openSession](this.#self!.name, {
      expired: () => this.#onExpired(port),
      members: (members) => {
        try {
          this.emit('members', members);
        } catch (err) {
          // A listener failed: report it like a failed background task, after the registry's change is complete.
          queueMicrotask(() => this.emit('error', err as Error));
        }
      },
    });
    this.#port = port;
    return port;
  }

  /** Like a new ZooKeeper session after an expiry: report the loss, then join again, a turn later. */
  #onExpired(port: SessionPort): void {
    if (port !== this.#port) return;
    this.#lostAtMs = performance.now();
    this.emit('sessionLost');
    setImmediate(() => {
      if (this.#stopped || port !== this.#port) return;
      const next = this.#open();
      try {
        next.join(this.#self!);
      } catch (err) {
        // The name was taken meanwhile: this coordinator stays without a session, as a ZooKeeper one whose rejoin failed.
        next.close();
        this.emit('error', err as Error);
        return;
      }
      this.emit('rejoined');
    });
  }

  #live(operation: string): SessionPort {
    const port = this.#port;
    if (!port || this.#stopped) throw new CoordinatorUnavailable(operation, new Error(this.#stopped ? 'coordinator stopped' : 'coordinator not started'));
    if (!port.session.alive) throw new CoordinatorUnavailable(operation, new Error('the session expired; rejoining'));
    return port;
  }
}

function handle(port: SessionPort, lock: Lock): LockHandle {
  return {
    type: lock.type,
    id: lock.id,
    epoch: lock.epoch,
    path: lock.path,
    // Idempotent: removing an entry that is gone (released, expired, force-deleted) does nothing.
    release: async () => port.remove(lock),
    verify: async () => port.holds(lock),
  };
}

function entriesOf(queue: Queue | undefined): EmbeddedLockEntry[] {
  return (queue?.locks ?? []).map((l) => ({ node: l.node, sequence: l.sequence, path: l.path, epoch: l.epoch }));
}

function queueKey(type: string, id: string): string {
  return `${type}/${id}`;
}
