import type {
  ClusterActions, ClusterModel, HotObjectView, HotQuery, ObjectTypeView, ReplaceStateResult, ClusterSummary, LockQueueEntryView, ModelDelta, ModelEvent, ModelGauges, NodeView, ObjectDetail, ObjectQuery,
  ObjectView, Page, PersistedObject, Storage, StoredSummary, HistoryResolution, StatsSample,
} from '@highlander/admin-api';
import { StatsHistory, type HistoryPage } from '@highlander/admin-api';
import type { LifecycleEventBody } from '@highlander/runtime';
import { NotActiveHere } from '@highlander/runtime';
import { HotObjects } from '@highlander/admin-api';

/**
 * In-memory implementations of the admin API's own interfaces (contracts.ts), for testing its HTTP
 * and ws layer. They stand in for the live model, the node actions and S3 browsing — not for
 * ZooKeeper or S3 — and count subscriptions and watches so tests can check what the layer holds.
 */

export function nodeView(name: string, overrides: Partial<NodeView> = {}): NodeView {
  return {
    name, address: `ws://127.0.0.1:1/${name}`, pid: 1, startedAt: 1_700_000_000_000, uptimeMs: 1000, status: 'up',
    activations: 0, full: false, callsPerSecond: 0, ...overrides,
  };
}

export function objectView(type: string, id: string, owner: string, overrides: Partial<ObjectView> = {}): ObjectView {
  return {
    type, id, owner, epoch: '0x100', activeSince: 1_700_000_000_000, lastCallAt: null, callsPerSecond: 0, queueLength: 1, waiting: 0, ...overrides,
  };
}

export class FakeModel implements ClusterModel {
  readonly nodesByName = new Map<string, NodeView>();
  readonly objectsByKey = new Map<string, ObjectView>();
  readonly queues = new Map<string, LockQueueEntryView[]>();
  readonly eventLog: ModelEvent[] = [];
  /** The real history, fed the stats events emitted here. */
  readonly stats = new StatsHistory();
  isReady = true;
  /** Set to make `summary()` throw. */
  failure: Error | null = null;
  readonly #listeners = new Set<(delta: ModelDelta) => void>();
  readonly #queueWatchers = new Map<string, Set<(queue: LockQueueEntryView[]) => void>>();
  #cursor = 0;
  #seq = 0;
  /** The real aggregate, fed by the `stats` events emitted here. */
  readonly hotObjects = new HotObjects();
  /** How many times watchLockQueue was called, ever. */
  watchCalls = 0;

  async gauges(): Promise<ModelGauges> {
    const waiting = [...this.objectsByKey.values()].map((o) => o.waiting);
    return {
      nodes: this.nodesByName.size, objects: this.objectsByKey.size,
      lockWaiters: waiting.reduce((sum, n) => sum + n, 0), longestLockQueue: Math.max(0, ...waiting),
    };
  }

  get subscriberCount(): number {
    return this.#listeners.size;
  }

  watcherCount(type: string, id: string): number {
    return this.#queueWatchers.get(`${type}/${id}`)?.size ?? 0;
  }

  // ---- changing the fake cluster (each change is emitted like the live model does) ----

  setNode(view: NodeView): void {
    this.nodesByName.set(view.name, view);
    this.#emit({ kind: 'node', name: view.name, node: view });
  }

  setObject(view: ObjectView): void {
    this.objectsByKey.set(`${view.type}/${view.id}`, view);
    this.#emit({ kind: 'object', type: view.type, id: view.id, object: view });
  }

  removeObject(type: string, id: string): void {
    this.objectsByKey.delete(`${type}/${id}`);
    this.#emit({ kind: 'object', type, id, object: null });
  }

  setQueue(type: string, id: string, queue: LockQueueEntryView[]): void {
    this.queues.set(`${type}/${id}`, queue);
    for (const listener of this.#queueWatchers.get(`${type}/${id}`) ?? []) listener(queue);
  }

  emitEvent(body: LifecycleEventBody, node = 'node-a'): ModelEvent {
    const event = { ...body, seq: ++this.#seq, node, time: Date.now(), cursor: ++this.#cursor } as ModelEvent;
    this.eventLog.push(event);
    if (event.kind === 'stats') {
      this.stats.add(event as Parameters<StatsHistory['add']>[0], event.cursor);
      this.hotObjects.update(event, Date.now());
    }
    this.#emit({ kind: 'event', event });
    return event;
  }

  #emit(delta: ModelDelta): void {
    for (const listener of [...this.#listeners]) listener(delta);
  }

  // ---- ClusterModel ----

  summary(): ClusterSummary {
    if (this.failure) throw this.failure;
    const byType: Record<string, number> = {};
    for (const o of this.objectsByKey.values()) byType[o.type] = (byType[o.type] ?? 0) + 1;
    return {
      nodes: this.nodesByName.size, objects: this.objectsByKey.size, byType, callsPerSecond: 0, eventCursor: this.#cursor, lastReconcile: null,
      persisted: null,
    };
  }

  nodes(): NodeView[] {
    return [...this.nodesByName.values()];
  }

  node(name: string): NodeView | undefined {
    return this.nodesByName.get(name);
  }

  hot(query: HotQuery): HotObjectView[] {
    return this.hotObjects.query(query, Date.now());
  }

  objects(query: ObjectQuery): Page<ObjectView> {
    const sort = query.sort ?? 'id';
    const sign = query.order === 'desc' ? -1 : 1;
    const matching = [...this.objectsByKey.values()]
      .filter((o) => (!query.type || o.type === query.type) && (!query.node || o.owner === query.node) && o.id.startsWith(query.idPrefix ?? ''))
      .sort((a, b) => sign * compare(a[sort], b[sort]) || compare(`${a.type}/${a.id}`, `${b.type}/${b.id}`));
    const start = query.cursor ? decodeOffset(query.cursor) : 0;
    const items = matching.slice(start, start + query.limit);
    const next = start + items.length;
    return next < matching.length ? { items, cursor: `o${next}`, total: matching.length } : { items, total: matching.length };
  }

  object(type: string, id: string): ObjectView | undefined {
    return this.objectsByKey.get(`${type}/${id}`);
  }

  async lockQueue(type: string, id: string): Promise<LockQueueEntryView[]> {
    return this.queues.get(`${type}/${id}`) ?? [];
  }

  watchLockQueue(type: string, id: string, listener: (queue: LockQueueEntryView[]) => void): () => void {
    this.watchCalls++;
    const key = `${type}/${id}`;
    let set = this.#queueWatchers.get(key);
    if (!set) this.#queueWatchers.set(key, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#queueWatchers.delete(key);
    };
  }

  history(type: string, id: string): HistoryPage {
    return { type, id, items: [] };
  }

  statsHistory(resolution: HistoryResolution, since: number): StatsSample[] {
    return this.stats.samples(resolution, since);
  }

  events(since: number, limit: number): { events: ModelEvent[]; cursor: number } {
    const events = this.eventLog.filter((e) => e.cursor > since).slice(0, limit);
    return { events, cursor: events.at(-1)?.cursor ?? since };
  }

  subscribe(listener: (delta: ModelDelta) => void): () => void {
    // A wrapper per call, so subscribing twice would show as two subscribers.
    const wrapped = (delta: ModelDelta) => listener(delta);
    this.#listeners.add(wrapped);
    return () => {
      this.#listeners.delete(wrapped);
    };
  }

  ready(): boolean {
    return this.isReady;
  }
}

export class FakeStorage implements Storage {
  readonly stored = new Map<string, PersistedObject>();

  put(type: string, id: string, state: unknown): PersistedObject {
    const body = JSON.stringify(state);
    const object: PersistedObject = {
      type, id, key: `objects/${type}/${id}.json`, etag: `"etag-${id}"`, epoch: '0x100', version: 3, size: Buffer.byteLength(body),
      lastModified: 1_700_000_000_000, state,
    };
    this.stored.set(`${type}/${id}`, object);
    return object;
  }

  async list(query: { type?: string; prefix?: string; cursor?: string; limit: number }): Promise<{ items: StoredSummary[]; cursor?: string }> {
    const matching = [...this.stored.values()]
      .filter((o) => (!query.type || o.type === query.type) && o.id.startsWith(query.prefix ?? ''))
      .sort((a, b) => compare(a.key, b.key))
      .map(({ type, id, key, size, etag, lastModified }) => ({ type, id, key, size, etag, lastModified }));
    const start = query.cursor ? decodeOffset(query.cursor) : 0;
    const items = matching.slice(start, start + query.limit);
    const next = start + items.length;
    return next < matching.length ? { items, cursor: `o${next}` } : { items };
  }

  async get(type: string, id: string): Promise<PersistedObject | null> {
    return this.stored.get(`${type}/${id}`) ?? null;
  }
}

export class FakeActions implements ClusterActions {
  /** Set to make the next calls throw it. */
  failure: unknown = null;
  readonly calls: string[] = [];

  constructor(private readonly model: FakeModel, private readonly storage: FakeStorage) {}

  async detail(type: string, id: string): Promise<ObjectDetail> {
    if (this.failure) throw this.failure;
    const object = this.model.object(type, id) ?? null;
    return {
      object,
      queue: await this.model.lockQueue(type, id),
      memory: object ? { state: { from: 'memory' }, version: 4, queueLength: 0 } : null,
      persisted: await this.storage.get(type, id),
    };
  }

  async evict(type: string, id: string, options: { force: boolean }): Promise<{ owner: string; forced: boolean; durationMs: number }> {
    this.calls.push(`evict ${type}/${id} force=${options.force}`);
    if (this.failure) throw this.failure;
    const object = this.model.object(type, id);
    if (!object) throw new NotActiveHere(type, id, 'any node');
    this.model.removeObject(type, id);
    return { owner: object.owner, forced: options.force, durationMs: 1 };
  }

  async migrate(type: string, id: string, to: string): Promise<{ from: string; to: string; durationMs: number }> {
    this.calls.push(`migrate ${type}/${id} to=${to}`);
    if (this.failure) throw this.failure;
    const object = this.model.object(type, id);
    if (!object) throw new NotActiveHere(type, id, 'any node');
    this.model.setObject({ ...object, owner: to });
    return { from: object.owner, to, durationMs: 2 };
  }

  async drain(node: string): Promise<{ node: string; deactivated: number; durationMs: number }> {
    this.calls.push(`drain ${node}`);
    if (this.failure) throw this.failure;
    let deactivated = 0;
    for (const o of this.model.objects({ node, limit: 1000 }).items) {
      this.model.removeObject(o.type, o.id);
      deactivated++;
    }
    return { node, deactivated, durationMs: 3 };
  }

  async types(): Promise<ObjectTypeView[]> {
    if (this.failure) throw this.failure;
    return [{ type: 'counter', handlers: ['add'], queries: ['value'], errors: [] }];
  }

  async call(type: string, id: string, handler: string, arg: unknown, options: { queryOnly: boolean }): Promise<unknown> {
    this.calls.push(`call ${type}/${id} ${handler} ${JSON.stringify(arg)} queryOnly=${options.queryOnly}`);
    if (this.failure) throw this.failure;
    return { handler };
  }

  async replaceState(type: string, id: string, state: unknown, expectedVersion: number): Promise<ReplaceStateResult> {
    this.calls.push(`replace ${type}/${id} ${JSON.stringify(state)} expectedVersion=${expectedVersion}`);
    if (this.failure) throw this.failure;
    return { previousVersion: expectedVersion, previous: { from: 'memory' }, durationMs: 1 };
  }
}

export interface FakeCluster {
  model: FakeModel;
  actions: FakeActions;
  storage: FakeStorage;
}

/** Two nodes (node-a, node-b), nothing active, nothing stored. */
export function fakeCluster(): FakeCluster {
  const model = new FakeModel();
  const storage = new FakeStorage();
  const actions = new FakeActions(model, storage);
  model.setNode(nodeView('node-a'));
  model.setNode(nodeView('node-b'));
  return { model, actions, storage };
}

function compare(a: string | number | null, b: string | number | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

function decodeOffset(cursor: string): number {
  const match = /^o(\d+)$/.exec(cursor);
  if (!match) throw Object.assign(new Error(`cursor '${cursor}' is not one this API returned`), { code: 'INVALID_CURSOR' });
  return Number(match[1]);
}
