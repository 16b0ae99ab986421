import { performance } from 'node:perf_hooks';
import type { LifecycleEvent, MemberInfo } from '@highlander/runtime';
import { ADMIN_API_DEFAULTS } from './defaults.js';
import { forEachBounded } from '@highlander/kit';
import type { ClusterSource, SourceLockEntry } from './cluster-source.js';
import type {
  ClusterModel, ClusterSummary, LockQueueEntryView, ModelDelta, ModelEvent, NodeView, ObjectQuery, ObjectView, Page, Storage,
} from './contracts.js';
import { NodeEventStream } from './node-event-stream.js';
import { ZooKeeperSource } from './zookeeper-source.js';

/** The model over ZooKeeper, on a session of its own (closed by `stop()`). */
export interface LiveClusterModelOptions extends LiveClusterModelCommonOptions {
  /** ZooKeeper connect string of the cluster. */
  connect: string;
  /** @default '/highlander' */
  root?: string;
  /** @default 10000 */
  sessionTimeoutMs?: number;
}

/** The model over any coordination source; the caller closes the source after `stop()`. */
export interface LiveClusterModelSourceOptions extends LiveClusterModelCommonOptions {
  source: ClusterSource;
}

export interface LiveClusterModelCommonOptions {
  /** The state store, listed with every full reconciliation for the persisted objects' counts. @default none */
  storage?: Storage;
  /**
   * Full reconciliation with the source this often (also at start, after the source reconnects and
   * after a gap in any node's event stream).
   * @default 60000
   */
  reconcileIntervalMs?: number;
  /**
   * Requests in flight to the source (ZooKeeper) during a reconciliation scan.
   * @default 256
   */
  reconcileConcurrency?: number;
  /**
   * Events kept for `events(since)` and the stream.
   * @default 10000
   */
  maxEvents?: number;
}

interface ObjectRecord extends Omit<ObjectView, 'waiting'> {
  /** Stats interval of the last rate, to let rates decay when an object goes quiet. */
  rateIntervalMs: number;
  /** Nodes waiting in the object's lock queue (from `lock.queued` events, scans and watched queues). */
  waiters: Set<string>;
}

interface MemberRecord {
  info: MemberInfo;
  stream: NodeEventStream;
  streamConnected: boolean;
  callsPerSecond: number;
  rateAt: number;
}

/**
 * The admin API's live model of the cluster. Nodes come from the source's membership (on
 * ZooKeeper: one children watch on `<root>/nodes` and one data watch per node); objects from every
 * node's lifecycle event stream, checked against a scan of the source's lock queues at start,
 * after any reconnect or gap, and periodically. It holds no watch per object, except on lock
 * queues someone is looking at (`watchLockQueue`).
 *
 * ```ts
 * const model = await LiveClusterModel.start({ connect: '127.0.0.1:2181', root: '/highlander', storage });
 * const embedded = await LiveClusterModel.start({ source: new EmbeddedSource(registry), storage });
 * ```
 */
export class LiveClusterModel implements ClusterModel {
  /** Where members and lock queues come from. */
  readonly source: ClusterSource;
  readonly #ownsSource: boolean;
  readonly #options: Required<Omit<LiveClusterModelCommonOptions, 'storage'>>;
  readonly #storage: Storage | undefined;
  #persisted: ClusterSummary['persisted'] = null;
  #unwatchMembers: (() => void) | undefined;
  #unsubscribeReconnect: (() => void) | undefined;
  #members = new Map<string, MemberRecord>();
  #objects = new Map<string, ObjectRecord>();
  /**
   * Keys removed, with when and the epoch removed: a scan that started earlier must not bring them
   * back, and a replayed (older) activation from another node's backlog must not either.
   */
  #removed = new Map<string, { at: number; epoch: bigint }>();
  #events: ModelEvent[] = [];
  #cursor = 0;
  #listeners = new Set<(delta: ModelDelta) => void>();
  /** One source watch per watched lock queue, whoever many listen to it. */
  #queueWatches = new Map<string, { listeners: Set<(queue: LockQueueEntryView[]) => void>; stop: () => void }>();
  #reconciling: Promise<void> | undefined;
  #reconcileAgain = false;
  #lastReconcile: { at: number; durationMs: number } | null = null;
  #timer: NodeJS.Timeout | undefined;
  /** Wall-clock ms of the last query: the periodic scan runs only while the API is in use. */
  #lastQueryAt = 0;
  /** Wall-clock ms at which the current (or last) scan started. */
  #scanStartedAt = 0;
  #listingPersisted = false;
  #stopped = false;

  private constructor(source: ClusterSource, ownsSource: boolean, options: LiveClusterModelCommonOptions) {
    this.source = source;
    this.#ownsSource = ownsSource;
    this.#storage = options.storage;
    this.#options = {
      reconcileIntervalMs: options.reconcileIntervalMs ?? ADMIN_API_DEFAULTS.reconcileIntervalMs,
      reconcileConcurrency: options.reconcileConcurrency ?? 256,
      maxEvents: options.maxEvents ?? 10_000,
    };
  }

  /**
   * Starts following the cluster: over ZooKeeper with `connect` (a session of its own), or over
   * `source`. Resolves once the members are known and the first reconciliation is done.
   */
  static async start(options: LiveClusterModelOptions | LiveClusterModelSourceOptions): Promise<LiveClusterModel> {
    if ('source' in options && 'connect' in options) throw new TypeError('LiveClusterModel: give either connect (ZooKeeper) or source, not both');
    const model = 'source' in options
      ? new LiveClusterModel(options.source, false, options)
      : new LiveClusterModel(await ZooKeeperSource.open({
        connect: options.connect,
        root: options.root ?? '/highlander',
        sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
      }), true, options);
    try {
      await model.#start();
    } catch (err) {
      await model.stop();
      throw err;
    }
    return model;
  }

  /** The ZooKeeper root of the cluster, when the model follows one. */
  get root(): string | undefined {
    return this.source instanceof ZooKeeperSource ? this.source.root : undefined;
  }

  async #start(): Promise<void> {
    this.#unsubscribeReconnect = this.source.onReconnect(() => this.reconcile().catch(() => {}));
    this.#unwatchMembers = await this.source.watchMembers((members) => this.#applyMembers(members));
    await this.reconcile();
    // Periodic scans only while the API is in use (a stream subscriber, or a query in the last interval);
    // scans after reconnects and gaps happen regardless.
    this.#timer = setInterval(() => {
      if (this.#listeners.size > 0 || Date.now() - this.#lastQueryAt < this.#options.reconcileIntervalMs) {
        this.reconcile().catch(() => {});
        this.#listPersisted().catch(() => {});
      }
    }, this.#options.reconcileIntervalMs);
    this.#listPersisted().catch(() => {
      // S3 unreachable at start: the summary says persisted null until a listing succeeds.
    });
    this.#timer.unref();
  }

  /** Stops following the cluster: closes the event streams, drops every watch, and closes the source if the model opened it. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#unwatchMembers?.();
    this.#unsubscribeReconnect?.();
    for (const watch of this.#queueWatches.values()) watch.stop();
    this.#queueWatches.clear();
    for (const member of this.#members.values()) member.stream.close();
    if (this.#ownsSource) await this.source.close();
  }

  ready(): boolean {
    return !this.#stopped && this.source.connected && this.#lastReconcile !== null;
  }

  /** For tests: drops one node's event stream connection (it reconnects and resumes or reconciles). */
  cutEventStream(node: string): void {
    this.#members.get(node)?.stream.cut();
  }

  // ---- queries ----

  summary(): ClusterSummary {
    this.#lastQueryAt = Date.now();
    const byType: Record<string, number> = {};
    for (const o of this.#objects.values()) byType[o.type] = (byType[o.type] ?? 0) + 1;
    return {
      nodes: this.#members.size,
      objects: this.#objects.size,
      byType,
      callsPerSecond: round([...this.#members.values()].reduce((sum, m) => sum + this.#nodeRate(m), 0)),
      eventCursor: this.#cursor,
      lastReconcile: this.#lastReconcile,
      persisted: this.#persisted,
    };
  }

  nodes(): NodeView[] {
    this.#lastQueryAt = Date.now();
    return [...this.#members.keys()].sort().map((name) => this.node(name)!);
  }

  node(name: string): NodeView | undefined {
    const m = this.#members.get(name);
    if (!m) return undefined;
    let activations = 0;
    for (const o of this.#objects.values()) if (o.owner === name) activations++;
    return {
      name,
      address: m.info.address,
      pid: m.info.pid,
      startedAt: m.info.startedAt,
      uptimeMs: Math.max(0, Date.now() - m.info.startedAt),
      status: m.info.draining ? 'draining' : m.streamConnected ? 'up' : 'unreachable',
      activations,
      callsPerSecond: round(this.#nodeRate(m)),
    };
  }

  objects(query: ObjectQuery): Page<ObjectView> {
    this.#lastQueryAt = Date.now();
    const matching: ObjectView[] = [];
    for (const o of this.#objects.values()) {
      if (query.type && o.type !== query.type) continue;
      if (query.node && o.owner !== query.node) continue;
      if (query.idPrefix && !o.id.startsWith(query.idPrefix)) continue;
      matching.push(this.#view(o));
    }
    const sort = query.sort ?? 'id';
    const direction = query.order === 'desc' ? -1 : 1;
    const keyOf = (o: ObjectView) => `${o.type}/${o.id}`;
    const compare = (a: ObjectView, b: ObjectView) => {
      const av = sort === 'id' ? a.id : a[sort];
      const bv = sort === 'id' ? b.id : b[sort];
      if (av !== bv) return (av < bv ? -1 : 1) * direction;
      const ak = keyOf(a);
      const bk = keyOf(b);
      return ak === bk ? 0 : ak < bk ? -1 : 1;
    };
    matching.sort(compare);
    let start = 0;
    if (query.cursor) {
      const after = decodeCursor(query.cursor);
      // Keyset pagination: the first item after the last one of the previous page, even if items came or went.
      start = matching.findIndex((o) => compare(o, after) > 0);
      if (start < 0) start = matching.length;
    }
    const items = matching.slice(start, start + query.limit);
    const last = items.at(-1);
    return {
      items,
      total: matching.length,
      ...(last && start + query.limit < matching.length ? { cursor: encodeCursor(last) } : {}),
    };
  }

  object(type: string, id: string): ObjectView | undefined {
    const o = this.#objects.get(`${type}/${id}`);
    return o ? this.#view(o) : undefined;
  }

  async lockQueue(type: string, id: string): Promise<LockQueueEntryView[]> {
    return (await this.source.lockQueue(type, id)).map(entryView);
  }

  watchLockQueue(type: string, id: string, listener: (queue: LockQueueEntryView[]) => void): () => void {
    if (this.#stopped) return () => {};
    const key = `${type}/${id}`;
    let watch = this.#queueWatches.get(key);
    if (!watch) {
      const listeners = new Set<(queue: LockQueueEntryView[]) => void>();
      const created = { listeners, stop: () => {} };
      watch = created;
      this.#queueWatches.set(key, created);
      created.stop = this.source.watchLockQueue(type, id, (entries) => {
        const queue = entries.map(entryView);
        this.#setWaiters(type, id, entries.slice(1).map((e) => e.node), entries[0]?.node);
        for (const l of listeners) l(queue);
        this.#delta(() => ({ kind: 'lockQueue', type, id, queue }));
      });
    }
    const shared = watch;
    shared.listeners.add(listener);
    return () => {
      shared.listeners.delete(listener);
      // Nobody left: the source stops watching (on ZooKeeper, the one-shot watch is not re-armed).
      if (shared.listeners.size === 0 && this.#queueWatches.get(key) === shared) {
        this.#queueWatches.delete(key);
        shared.stop();
      }
    };
  }

  events(since: number, limit: number): { events: ModelEvent[]; cursor: number } {
    const first = this.#events[0]?.cursor ?? this.#cursor + 1;
    const start = Math.max(0, since + 1 - first);
    const events = this.#events.slice(start, start + limit);
    return { events, cursor: events.at(-1)?.cursor ?? Math.max(since, first - 1) };
  }

  subscribe(listener: (delta: ModelDelta) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // ---- reconciliation ----

  /**
   * Compares the model with the source's lock queues (on ZooKeeper, the lock tree): every object
   * with a lock queue has its first entry's node as owner. Objects whose events were missed are
   * added (epoch and active-since from the owner's entry: a lock znode's czxid and ctime) or
   * removed. Concurrent calls share one scan (plus one more if asked for during it).
   */
  reconcile(missedBefore?: number): Promise<void> {
    if (this.#reconciling) {
      // A scan that started after the missed events happened already sees their outcome.
      if (missedBefore === undefined || this.#scanStartedAt < missedBefore) this.#reconcileAgain = true;
      return this.#reconciling;
    }
    this.#reconciling = (async () => {
      try {
        do {
          this.#reconcileAgain = false;
          await this.#scan();
        } while (this.#reconcileAgain && !this.#stopped);
      } finally {
        this.#reconciling = undefined;
      }
    })();
    return this.#reconciling;
  }

  async #scan(): Promise<void> {
    const startedWall = Date.now();
    this.#scanStartedAt = startedWall;
    const started = performance.now();
    const concurrency = this.#options.reconcileConcurrency;
    const found = new Map<string, { type: string; id: string; head: SourceLockEntry }>();
    const waiting = new Map<string, string[]>();
    for (const q of await this.source.scanLockQueues({ concurrency })) {
      found.set(`${q.type}/${q.id}`, { type: q.type, id: q.id, head: q.entries[0] });
      waiting.set(`${q.type}/${q.id}`, q.entries.slice(1).map((e) => e.node));
    }
    // Objects the events did not tell us about: read their owner's epoch and start from its lock entry.
    const missing = [...found.entries()].filter(([key, f]) => {
      const known = this.#objects.get(key);
      if (known && known.owner === f.head.node) return false;
      const removed = this.#removed.get(key);
      return removed === undefined || removed.at < startedWall;
    });
    await forEachBounded(missing, concurrency, async ([key, f]) => {
      let epoch = f.head.epoch;
      let since = f.head.waitingSince;
      if (epoch === null || since === null) {
        const read = await this.source.readLockEntry(f.type, f.id, f.head.path);
        if (!read) return;
        epoch = read.epoch;
        since = read.waitingSince;
      }
      const record: ObjectRecord = {
        type: f.type, id: f.id, owner: f.head.node, epoch, activeSince: since,
        lastCallAt: null, callsPerSecond: 0, queueLength: 0, rateIntervalMs: 1000, waiters: new Set(),
      };
      this.#objects.set(key, record);
      this.#delta(() => ({ kind: 'object', type: f.type, id: f.id, object: this.#view(record) }));
    });
    for (const [key, nodes] of waiting) {
      const f = found.get(key)!;
      this.#setWaiters(f.type, f.id, nodes, f.head.node);
    }
    for (const [key, o] of this.#objects) {
      // Gone from the source, unless activated after the scan began (its lock may postdate our listing).
      if (!found.has(key) && o.activeSince < startedWall) {
        this.#objects.delete(key);
        this.#delta(() => ({ kind: 'object', type: o.type, id: o.id, object: null }));
      }
    }
    // Tombstones outlive a scan by a while: another node's backlog may still replay older events.
    for (const [key, removed] of this.#removed) if (removed.at < startedWall - TOMBSTONE_MS) this.#removed.delete(key);
    this.#lastReconcile = { at: startedWall, durationMs: Math.round(performance.now() - started) };
  }

  /** Counts the persisted objects per type with a full listing of the store (1,000 keys a page). */
  async #listPersisted(): Promise<void> {
    if (!this.#storage || this.#listingPersisted) return;
    this.#listingPersisted = true;
    try {
      const started = performance.now();
      const byType: Record<string, number> = {};
      let objects = 0;
      let cursor: string | undefined;
      do {
        const page = await this.#storage.list({ limit: 1000, ...(cursor ? { cursor } : {}) });
        for (const item of page.items) {
          byType[item.type] = (byType[item.type] ?? 0) + 1;
          objects++;
        }
        cursor = page.cursor;
      } while (cursor && !this.#stopped);
      this.#persisted = { objects, byType, listedAt: Date.now(), durationMs: Math.round(performance.now() - started) };
    } finally {
      this.#listingPersisted = false;
    }
  }

  // ---- members and their event streams ----

  /** Folds the source's member list into the model: new members get an event stream, gone ones take their objects with them. */
  #applyMembers(infos: MemberInfo[]): void {
    if (this.#stopped) return;
    const seen = new Set<string>();
    for (const info of infos) {
      seen.add(info.name);
      const known = this.#members.get(info.name);
      if (known && known.info.address === info.address && known.info.startedAt === info.startedAt) {
        known.info = info;
        this.#delta(() => ({ kind: 'node', name: info.name, node: this.node(info.name) ?? null }));
        continue;
      }
      known?.stream.close(); // a new process under the same name: a new stream
      this.#members.set(info.name, this.#newMember(info));
      this.#delta(() => ({ kind: 'node', name: info.name, node: this.node(info.name) ?? null }));
    }
    for (const [name, member] of this.#members) {
      if (seen.has(name)) continue;
      member.stream.close();
      this.#members.delete(name);
      // Its locks went with its session: drop its objects now rather than at the next scan.
      for (const [key, o] of this.#objects) {
        if (o.owner === name) this.#removeObject(key, o);
      }
      this.#record({ kind: 'node.down', reason: 'left', seq: 0, node: name, time: Date.now() });
      this.#delta(() => ({ kind: 'node', name, node: null }));
    }
  }

  #newMember(info: MemberInfo): MemberRecord {
    const record: MemberRecord = {
      info,
      streamConnected: false,
      callsPerSecond: 0,
      rateAt: 0,
      stream: new NodeEventStream({
        node: info.name,
        address: info.address,
        onEvents: (events, gap) => {
          for (const event of events) this.#apply(event);
          // What was missed happened before the first event received now (or before now, if none came).
          if (gap) this.reconcile(events[0]?.time ?? Date.now()).catch(() => {});
        },
        onStatus: (connected) => {
          record.streamConnected = connected;
          this.#delta(() => ({ kind: 'node', name: info.name, node: this.node(info.name) ?? null }));
        },
      }),
    };
    return record;
  }

  /** Folds one node's lifecycle event into the model. */
  #apply(event: LifecycleEvent): void {
    this.#record(event);
    switch (event.kind) {
      case 'object.activated': {
        const key = `${event.type}/${event.id}`;
        // Events of different nodes arrive in any order (a new model replays every node's backlog):
        // epochs are globally monotonic, so only a newer activation replaces what is known.
        const epoch = BigInt(event.epoch);
        const known = this.#objects.get(key);
        if (known && BigInt(known.epoch) >= epoch) break;
        const removed = this.#removed.get(key);
        if (!known && removed && removed.epoch >= epoch) break;
        const record: ObjectRecord = {
          type: event.type, id: event.id, owner: event.node, epoch: event.epoch, activeSince: event.time,
          lastCallAt: null, callsPerSecond: 0, queueLength: 0, rateIntervalMs: 1000, waiters: new Set(),
        };
        this.#objects.set(key, record);
        this.#removed.delete(key);
        this.#delta(() => ({ kind: 'object', type: event.type, id: event.id, object: this.#view(record) }));
        break;
      }
      case 'object.deactivated': {
        const key = `${event.type}/${event.id}`;
        const o = this.#objects.get(key);
        if (o && o.owner === event.node && o.epoch === event.epoch) this.#removeObject(key, o);
        break;
      }
      case 'node.session-lost':
      case 'node.down':
        for (const [key, o] of this.#objects) if (o.owner === event.node) this.#removeObject(key, o);
        break;
      case 'stats': {
        const member = this.#members.get(event.node);
        if (member) {
          const calls = Object.values(event.byType).reduce((sum, t) => sum + t.calls, 0);
          member.callsPerSecond = calls / (event.intervalMs / 1000);
          member.rateAt = Date.now();
        }
        for (const s of event.objects ?? []) {
          const o = this.#objects.get(`${s.type}/${s.id}`);
          if (!o || o.owner !== event.node) continue;
          o.lastCallAt = event.time;
          o.callsPerSecond = s.calls / (event.intervalMs / 1000);
          o.queueLength = s.queue;
          o.rateIntervalMs = event.intervalMs;
          this.#delta(() => ({ kind: 'object', type: o.type, id: o.id, object: this.#view(o) }));
        }
        break;
      }
      case 'lock.queued': {
        const o = this.#objects.get(`${event.type}/${event.id}`);
        if (o && o.owner !== event.node && !o.waiters.has(event.node)) {
          o.waiters.add(event.node);
          this.#delta(() => ({ kind: 'object', type: o.type, id: o.id, object: this.#view(o) }));
        }
        break;
      }
      case 'lock.acquired': {
        const o = this.#objects.get(`${event.type}/${event.id}`);
        if (o?.waiters.delete(event.node)) this.#delta(() => ({ kind: 'object', type: o.type, id: o.id, object: this.#view(o) }));
        break;
      }
      default:
        break;
    }
    if (event.kind.startsWith('lock.') && 'type' in event) this.#notifyQueue(event.type, event.id);
  }

  #removeObject(key: string, o: ObjectRecord): void {
    this.#objects.delete(key);
    this.#removed.set(key, { at: Date.now(), epoch: BigInt(o.epoch) });
    this.#delta(() => ({ kind: 'object', type: o.type, id: o.id, object: null }));
  }

  #record(event: LifecycleEvent): void {
    const modelEvent = { ...event, cursor: ++this.#cursor } as ModelEvent;
    this.#events.push(modelEvent);
    // Trim in chunks: shifting the whole buffer on every event would cost O(maxEvents) each time.
    const max = this.#options.maxEvents;
    if (this.#events.length > max + max / 4) this.#events.splice(0, this.#events.length - max);
    this.#delta(() => ({ kind: 'event', event: modelEvent }));
  }

  /** Tells subscribers; the delta is only built when someone listens (nothing is spent otherwise). */
  #delta(build: () => ModelDelta): void {
    if (this.#listeners.size === 0) return;
    const delta = build();
    for (const listener of this.#listeners) {
      try {
        listener(delta);
      } catch {
        // A failing subscriber must not break the model or the other subscribers.
      }
    }
  }

  // ---- lock queue watches ----

  /** A lock event for a watched queue: the source's watch reports it too, this only makes it prompt if the source is slower. */
  #notifyQueue(type: string, id: string): void {
    const watch = this.#queueWatches.get(`${type}/${id}`);
    if (!watch) return;
    void this.lockQueue(type, id).then((queue) => {
      for (const listener of watch.listeners) listener(queue);
    }, () => {});
  }

  // ---- helpers ----

  /** What ZooKeeper (a scan or a watched queue) says waits behind the owner. */
  #setWaiters(type: string, id: string, nodes: string[], owner: string | undefined): void {
    const o = this.#objects.get(`${type}/${id}`);
    if (!o || o.owner !== owner) return;
    const same = nodes.length === o.waiters.size && nodes.every((n) => o.waiters.has(n));
    if (same) return;
    o.waiters = new Set(nodes);
    this.#delta(() => ({ kind: 'object', type: o.type, id: o.id, object: this.#view(o) }));
  }

  #view(o: ObjectRecord): ObjectView {
    // A rate is for the interval it was measured in; an object quiet since then is at 0.
    const fresh = o.lastCallAt !== null && Date.now() - o.lastCallAt < 2 * o.rateIntervalMs + 500;
    return {
      type: o.type, id: o.id, owner: o.owner, epoch: o.epoch, activeSince: o.activeSince, lastCallAt: o.lastCallAt,
      callsPerSecond: fresh ? round(o.callsPerSecond) : 0, queueLength: fresh ? o.queueLength : 0, waiting: o.waiters.size,
    };
  }

  #nodeRate(m: MemberRecord): number {
    return Date.now() - m.rateAt < 2500 ? m.callsPerSecond : 0;
  }
}

/** How long a removed object's tombstone is kept after a scan (older replayed events are ignored meanwhile). */
const TOMBSTONE_MS = 10 * 60_000;

function entryView(e: SourceLockEntry): LockQueueEntryView {
  return { node: e.node, sequence: e.sequence, path: e.path, waitingSince: e.waitingSince };
}

function encodeCursor(o: ObjectView): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

function decodeCursor(cursor: string): ObjectView {
  try {
    const o = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as ObjectView;
    if (typeof o.type !== 'string' || typeof o.id !== 'string') throw new Error('not a cursor');
    return o;
  } catch {
    throw new InvalidCursor(cursor);
  }
}

/** A cursor that this API did not hand out. */
export class InvalidCursor extends Error {
  readonly code = 'INVALID_CURSOR';
  constructor(readonly cursor: string) {
    super(`cursor '${cursor.slice(0, 40)}' is not one this API returned; start again without a cursor`);
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
