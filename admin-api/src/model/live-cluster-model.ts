import { pino, type Logger } from 'pino';
import { objectKey, type LifecycleEvent, type MemberInfo } from '@highlander/runtime';
import { forEachBounded, roundMs } from '@highlander/kit';
import { ADMIN_API_DEFAULTS } from '../defaults.js';
import type { NodeAccess } from '../node-access.js';
import type { ClusterSource, SourceLockEntry } from '../cluster-source.js';
import type {
  ClusterModel, ClusterSummary, HotObjectView, HotQuery, LockQueueEntryView, ModelDelta, ModelEvent, ModelGauges, NodeView, ObjectQuery, ObjectView, Page, Storage,
} from '../contracts.js';
import { ObjectHistory, type HistoryPage } from '../object-history.js';
import { ShardedSource } from '../sharded-source.js';
import { ZooKeeperSource } from '../zookeeper-source.js';
import { ClusterState, type StateChange } from './cluster-state.js';
import { ModelEventLog } from './event-log.js';
import { StatsHistory, type HistoryResolution, type StatsSample } from './stats-history.js';
import { HotObjects } from './hot-objects.js';
import { MemberStreams } from './member-streams.js';
import { queryObjects } from './object-query.js';
import { PersistedCensus } from './persisted-census.js';
import { Reconciler } from './reconciler.js';

/** Lock queues read again per {@link LiveClusterModel.gauges} call at most, and how many at once. */
const MAX_RECHECKED_QUEUES = 256;
const RECHECK_CONCURRENCY = 32;

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
  /**
   * Where each object's ownership history is kept (the model records into it; `stop()` does not close it).
   * @default one in memory only, with the default bounds
   */
  history?: ObjectHistory;
  /** Where failures of background work (reconciliation, listings, event streams) are logged. @default pino at level info */
  logger?: Logger;
  /** The cluster secret and TLS of the nodes' ports, for their event streams. @default none */
  nodeAccess?: NodeAccess;
}

/**
 * The admin API's live model of the cluster. Nodes come from the source's membership (on
 * ZooKeeper: one children watch on `<root>/nodes` and one data watch per node); objects from every
 * node's lifecycle event stream, checked against a scan of the source's lock queues at start,
 * after any reconnect or gap, and periodically. It holds no watch per object, except on lock
 * queues someone is looking at (`watchLockQueue`).
 *
 * The parts (model/): the state and how events fold into it (cluster-state.ts), the event log
 * (event-log.ts), queries (object-query.ts), the members' event streams (member-streams.ts),
 * reconciliation (reconciler.ts) and the persisted objects' counts (persisted-census.ts). This
 * class wires them to the source and tells subscribers what changed.
 *
 * ```ts
 * const model = await LiveClusterModel.start({ connect: '127.0.0.1:2181', root: '/highlander', storage, logger });
 * const embedded = await LiveClusterModel.start({ source: new EmbeddedSource(registry), storage, logger });
 * ```
 */
export class LiveClusterModel implements ClusterModel {
  /** Where members and lock queues come from. */
  readonly source: ClusterSource;
  readonly #ownsSource: boolean;
  readonly #reconcileIntervalMs: number;
  readonly #logger: Logger;
  readonly #state = new ClusterState((change) => this.#changed(change));
  readonly #events: ModelEventLog;
  readonly #statsHistory = new StatsHistory();
  readonly #hot = new HotObjects();
  readonly #history: ObjectHistory;
  readonly #streams: MemberStreams;
  readonly #reconciler: Reconciler;
  readonly #census: PersistedCensus | undefined;
  #unwatchMembers: (() => void) | undefined;
  #unsubscribeReconnect: (() => void) | undefined;
  #listeners = new Set<(delta: ModelDelta) => void>();
  /** One source watch per watched lock queue, however many listen to it. */
  #queueWatches = new Map<string, { listeners: Set<(queue: LockQueueEntryView[]) => void>; stop: () => void }>();
  #timer: NodeJS.Timeout | undefined;
  /** Wall-clock ms of the last query: the periodic scan runs only while the API is in use. */
  #lastQueryAt = 0;
  #stopped = false;

  private constructor(source: ClusterSource, ownsSource: boolean, options: LiveClusterModelCommonOptions & { history: ObjectHistory }, logger: Logger) {
    this.source = source;
    this.#history = options.history;
    this.#ownsSource = ownsSource;
    this.#logger = logger;
    this.#reconcileIntervalMs = options.reconcileIntervalMs ?? ADMIN_API_DEFAULTS.reconcileIntervalMs;
    this.#events = new ModelEventLog(options.maxEvents ?? 10_000);
    this.#census = options.storage ? new PersistedCensus(options.storage) : undefined;
    this.#reconciler = new Reconciler({ source, state: this.#state, concurrency: options.reconcileConcurrency ?? 256 });
    this.#streams = new MemberStreams({
      logger,
      ...(options.nodeAccess ? { access: options.nodeAccess } : {}),
      onEvents: (node, events, gap) => {
        const now = Date.now();
        for (const event of events) this.#apply(event, now);
        // What was missed happened before the first event received now (or before now, if none came).
        if (gap) this.#inBackground(this.#reconciler.reconcile(events[0]?.time ?? now), `reconciling after a gap in ${node}'s event stream`);
      },
      onStatus: (node, connected) => this.#state.setStreamConnected(node, connected),
    });
  }

  /**
   * Starts following the cluster: over ZooKeeper with `connect` (a session of its own), or over
   * `source`. Resolves once the members are known and the first reconciliation is done.
   */
  static async start(options: LiveClusterModelOptions | LiveClusterModelSourceOptions): Promise<LiveClusterModel> {
    if ('source' in options && 'connect' in options) throw new TypeError('LiveClusterModel: give either connect (ZooKeeper) or source, not both');
    const logger = options.logger ?? pino({ name: 'highlander-admin-api' });
    const history = options.history ?? await ObjectHistory.open({ logger });
    const model = 'source' in options
      ? new LiveClusterModel(options.source, false, { ...options, history }, logger)
      : new LiveClusterModel(await ZooKeeperSource.open({
        connect: options.connect,
        root: options.root ?? '/highlander',
        sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
        logger,
      }), true, { ...options, history }, logger);
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
    return this.source instanceof ZooKeeperSource || this.source instanceof ShardedSource ? this.source.root : undefined;
  }

  async #start(): Promise<void> {
    this.#unsubscribeReconnect = this.source.onReconnect(() => this.#inBackground(this.reconcile(), 'reconciling after the source reconnected'));
    this.#unwatchMembers = await this.source.watchMembers((members) => this.#applyMembers(members));
    await this.reconcile();
    // Periodic scans only while the API is in use (a stream subscriber, or a query in the last interval);
    // scans after reconnects and gaps happen regardless.
    this.#timer = setInterval(() => {
      if (this.#listeners.size > 0 || Date.now() - this.#lastQueryAt < this.#reconcileIntervalMs) {
        this.#inBackground(this.reconcile(), 'periodic reconciliation');
        this.#countPersisted();
      }
    }, this.#reconcileIntervalMs);
    this.#timer.unref();
    // The store unreachable at start: the summary says persisted null until a listing succeeds.
    this.#countPersisted();
  }

  /** Stops following the cluster: closes the event streams, drops every watch, and closes the source if the model opened it. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#reconciler.stop();
    this.#census?.stop();
    this.#unwatchMembers?.();
    this.#unsubscribeReconnect?.();
    for (const watch of this.#queueWatches.values()) watch.stop();
    this.#queueWatches.clear();
    this.#streams.close();
    if (this.#ownsSource) await this.source.close();
  }

  ready(): boolean {
    return !this.#stopped && this.source.connected && this.#reconciler.last !== null;
  }

  /** For tests: drops one node's event stream connection (it reconnects and resumes or reconciles). */
  cutEventStream(node: string): void {
    this.#streams.cut(node);
  }

  // ---- queries ----

  summary(): ClusterSummary {
    const now = Date.now();
    this.#lastQueryAt = now;
    const byType: Record<string, number> = {};
    for (const o of this.#state.objects.values()) byType[o.type] = (byType[o.type] ?? 0) + 1;
    let callsPerSecond = 0;
    for (const m of this.#state.members.values()) callsPerSecond += this.#state.nodeRate(m, now);
    return {
      nodes: this.#state.members.size,
      objects: this.#state.objects.size,
      byType,
      callsPerSecond: roundMs(callsPerSecond),
      eventCursor: this.#events.cursor,
      lastReconcile: this.#reconciler.last,
      persisted: this.#census?.current ?? null,
    };
  }

  /**
   * The gauges' figures. Waiters come from lifecycle events and scans, and a node that gives up
   * waiting (its call timed out) says nothing until the next scan; so the queues the model believes
   * have waiters (at most {@link MAX_RECHECKED_QUEUES}) are read again from the source first, and
   * what they hold now is what counts (and goes into the model). A queue that cannot be read counts
   * as the model has it. Not a use of the API: it does not keep the periodic scans running.
   */
  async gauges(): Promise<ModelGauges> {
    const waited = [...this.#state.objectsWithWaiters()];
    const fresh = new Map<string, number>();
    await forEachBounded(waited.slice(0, MAX_RECHECKED_QUEUES), RECHECK_CONCURRENCY, async (o) => {
      try {
        const entries = await this.source.lockQueue(o.type, o.id);
        fresh.set(objectKey(o.type, o.id), Math.max(0, entries.length - 1));
        this.#state.setWaiters(o.type, o.id, entries.slice(1).map((e) => e.node), entries[0]?.node);
      } catch (err) {
        // Counted as the model has it; the next scrape reads it again.
        this.#logger.debug({ err, type: o.type, id: o.id }, 'model: reading a lock queue for the gauges failed');
      }
    });
    let lockWaiters = 0;
    let longestLockQueue = 0;
    for (const o of waited) {
      const waiting = fresh.get(objectKey(o.type, o.id)) ?? o.waiters.size;
      lockWaiters += waiting;
      longestLockQueue = Math.max(longestLockQueue, waiting);
    }
    return { nodes: this.#state.members.size, objects: this.#state.objects.size, lockWaiters, longestLockQueue };
  }

  nodes(): NodeView[] {
    this.#lastQueryAt = Date.now();
    return [...this.#state.members.keys()].sort().map((name) => this.node(name)!);
  }

  node(name: string): NodeView | undefined {
    return this.#state.nodeView(name, Date.now());
  }

  objects(query: ObjectQuery): Page<ObjectView> {
    const now = Date.now();
    this.#lastQueryAt = now;
    return queryObjects(this.#state.objects.values(), query, (o) => this.#state.objectView(o, now));
  }

  object(type: string, id: string): ObjectView | undefined {
    const o = this.#state.objects.get(objectKey(type, id));
    return o ? this.#state.objectView(o, Date.now()) : undefined;
  }

  hot(query: HotQuery): HotObjectView[] {
    const now = Date.now();
    this.#lastQueryAt = now;
    return this.#hot.query(query, now);
  }

  async lockQueue(type: string, id: string): Promise<LockQueueEntryView[]> {
    return (await this.source.lockQueue(type, id)).map(entryView);
  }

  watchLockQueue(type: string, id: string, listener: (queue: LockQueueEntryView[]) => void): () => void {
    if (this.#stopped) return () => {};
    const key = objectKey(type, id);
    let watch = this.#queueWatches.get(key);
    if (!watch) {
      const listeners = new Set<(queue: LockQueueEntryView[]) => void>();
      const created = { listeners, stop: () => {} };
      watch = created;
      this.#queueWatches.set(key, created);
      created.stop = this.source.watchLockQueue(type, id, (entries) => {
        const queue = entries.map(entryView);
        this.#state.setWaiters(type, id, entries.slice(1).map((e) => e.node), entries[0]?.node);
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
    return this.#events.since(since, limit);
  }

  history(type: string, id: string, query: { limit: number; before?: number }): HistoryPage {
    return this.#history.query(type, id, query);
  }

  /** The nodes' call metrics over the last hour (`1s`: as sent) or day (`1m`: per node and minute), after `since` (ms). */
  statsHistory(resolution: HistoryResolution, since: number): StatsSample[] {
    return this.#statsHistory.samples(resolution, since);
  }

  subscribe(listener: (delta: ModelDelta) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Compares the model with the source's lock queues now (see reconciler.ts); `missedBefore`: the
   * wall-clock ms before which the events that call for it happened. Concurrent calls share one scan.
   */
  reconcile(missedBefore?: number): Promise<void> {
    return this.#reconciler.reconcile(missedBefore);
  }

  // ---- members and their events ----

  /** Folds the source's member list in: new members get an event stream, gone ones take their objects with them. */
  #applyMembers(infos: MemberInfo[]): void {
    if (this.#stopped) return;
    const { started, gone } = this.#state.applyMembers(infos);
    for (const info of started) this.#streams.follow(info);
    const now = Date.now();
    for (const name of gone) {
      this.#streams.unfollow(name);
      this.#hot.dropNode(name);
      this.#state.removeMember(name, now);
      this.#record({ kind: 'node.down', reason: 'left', seq: 0, node: name, time: now });
    }
  }

  /** Folds one node's lifecycle event into the model. */
  #apply(event: LifecycleEvent, now: number): void {
    // The hot objects first: a stream's hot scope reads them when the event's delta arrives.
    if (event.kind === 'stats') this.#hot.update(event, now);
    else if (event.kind === 'node.down' || event.kind === 'node.session-lost') this.#hot.dropNode(event.node);
    this.#record(event);
    this.#state.fold(event, now);
    if (event.kind.startsWith('lock.') && 'type' in event) this.#notifyQueue(event.type, event.id);
  }

  #record(event: LifecycleEvent): void {
    const modelEvent = this.#events.record(event);
    if (event.kind === 'stats') this.#statsHistory.add(event, modelEvent.cursor);
    else this.#history.record(event);
    this.#delta(() => ({ kind: 'event', event: modelEvent }));
  }

  /** A lock event for a watched queue: the source's watch reports it too, this only makes it prompt if the source is slower. */
  #notifyQueue(type: string, id: string): void {
    const watch = this.#queueWatches.get(objectKey(type, id));
    if (!watch) return;
    this.lockQueue(type, id).then((queue) => {
      for (const listener of watch.listeners) listener(queue);
    }, (err: unknown) => {
      // Only a shortcut: the source's own watch still delivers the queue when it changes.
      this.#logger.debug({ err, type, id }, 'model: reading a watched lock queue failed');
    });
  }

  // ---- telling subscribers ----

  #changed(change: StateChange): void {
    if (change.kind === 'node') {
      this.#delta(() => ({ kind: 'node', name: change.name, node: this.node(change.name) ?? null }));
    } else {
      const { type, id, record } = change;
      this.#delta(() => ({ kind: 'object', type, id, object: record ? this.#state.objectView(record, Date.now()) : null }));
    }
  }

  /** Tells subscribers; the delta is only built when someone listens (nothing is spent otherwise). */
  #delta(build: () => ModelDelta): void {
    if (this.#listeners.size === 0) return;
    const delta = build();
    for (const listener of this.#listeners) {
      try {
        listener(delta);
      } catch (err) {
        // A failing subscriber must not break the model or the other subscribers.
        this.#logger.error({ err, delta: delta.kind }, 'model: a subscriber failed');
      }
    }
  }

  // ---- background work ----

  #countPersisted(): void {
    if (this.#census) this.#inBackground(this.#census.count(), 'counting the persisted objects');
  }

  /** Runs work nobody waits for: a failure is logged (the next periodic run, reconnect or gap tries again). */
  #inBackground(work: Promise<void>, what: string): void {
    work.catch((err: unknown) => {
      if (this.#stopped) this.#logger.debug({ err }, `model: ${what} failed while stopping`);
      else this.#logger.warn({ err }, `model: ${what} failed; it is tried again later`);
    });
  }
}

function entryView(e: SourceLockEntry): LockQueueEntryView {
  return { node: e.node, sequence: e.sequence, path: e.path, waitingSince: e.waitingSince };
}
