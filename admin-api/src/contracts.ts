import type { LifecycleEvent } from '@highlander/runtime';
import type { HistoryResolution, StatsSample } from './model/stats-history.js';
import type { HistoryPage } from './object-history.js';

/**
 * What the HTTP and ws layer of the admin API needs from the rest of it. `ClusterModel` (the live
 * model fed by the coordination source — ZooKeeper watches, or an in-process registry — node event
 * streams and reconciliation), `ClusterActions` (evict, migrate, drain through the nodes) and
 * `Storage` (S3 or data-folder browsing) implement these.
 */

export interface NodeView {
  name: string;
  address: string;
  pid: number;
  /** Wall-clock ms since the epoch. */
  startedAt: number;
  uptimeMs: number;
  /** `up`: member and event stream connected; `draining`; `unreachable`: member, but its event stream is down. */
  status: 'up' | 'draining' | 'unreachable';
  activations: number;
  /** At its lock budget (`--lock-budget-bytes`): it refuses new activations, placement uses other nodes. */
  full: boolean;
  callsPerSecond: number;
}

/** The registry's ZooKeeper ensembles (`GET /api/shards`): one (home) unless the cluster runs on a shard map. */
export interface ShardsView {
  sharded: boolean;
  /** The shard map's version, when sharded. */
  version?: number;
  ensembles: Array<{
    /** `home` (--zk) or the shard's name. */
    name: string;
    connect: string;
    /** Bucket ranges like `800-fff` (a bucket is the first three hex digits of SHA-256 of an object id). */
    buckets: string[];
    bucketCount: number;
    /** Epochs of its locks are generation × 2^64 + czxid. */
    generation: number;
    /** The admin API's session with it is connected. */
    connected: boolean;
  }>;
  /** A move of buckets under way (with its progress when this admin API runs it). */
  moving?: { buckets: string[]; from: string; to: string; waitingFor?: string[]; locksLeft?: number };
}

/** What `POST /api/shards/move` answers once the move is done. */
export interface MoveShardsResult {
  from: string;
  to: string;
  buckets: string[];
  version: number;
  durationMs: number;
  map: { version: number; shards: Array<{ name: string; connect: string; buckets: string[]; generation: number }> };
}

export interface ObjectView {
  type: string;
  id: string;
  owner: string;
  epoch: string;
  /** Wall-clock ms when the current activation became active. */
  activeSince: number;
  /** Wall-clock ms of the last stats interval in which it had calls, or null. */
  lastCallAt: number | null;
  callsPerSecond: number;
  /** Calls waiting in the owner's mailbox (from its last stats interval). */
  queueLength: number;
  /** Nodes waiting in the object's lock queue behind the owner (a migration target, a node activating it). */
  waiting: number;
}

export interface LockQueueEntryView {
  node: string;
  sequence: number;
  path: string;
  /** Wall-clock ms since which it waits (the owner: since it acquired), when known. */
  waitingSince: number | null;
}

export interface ClusterSummary {
  nodes: number;
  objects: number;
  byType: Record<string, number>;
  callsPerSecond: number;
  /** The newest event cursor. */
  eventCursor: number;
  /** When the model last reconciled with the coordination source (wall-clock ms), and how long it took. */
  lastReconcile: { at: number; durationMs: number } | null;
  /** Persisted objects per the last full S3 listing (null before the first one, or without a store). */
  persisted: { objects: number; byType: Record<string, number>; listedAt: number; durationMs: number } | null;
}

export type ObjectSort = 'id' | 'type' | 'owner' | 'activeSince' | 'callsPerSecond';

export interface ObjectQuery {
  type?: string;
  node?: string;
  idPrefix?: string;
  sort?: ObjectSort;
  order?: 'asc' | 'desc';
  /** Opaque cursor from a previous page. */
  cursor?: string;
  /** 1..1000 */
  limit: number;
}

export interface Page<T> {
  items: T[];
  /** Pass back for the next page; absent on the last. */
  cursor?: string;
  /** Matching items in all pages. */
  total: number;
}

/** What the hot objects are ranked by: calls per second, error rate, p99 latency, mailbox length, state size. */
export type HotRanking = 'calls' | 'errors' | 'p99' | 'queue' | 'state';

export interface HotQuery {
  by: HotRanking;
  type?: string;
  node?: string;
  /** 1..200 */
  limit: number;
}

/** One of the hottest objects, from its node's latest `stats` interval. */
export interface HotObjectView {
  type: string;
  id: string;
  /** The node whose stats listed it (its owner then). */
  node: string;
  callsPerSecond: number;
  /** Calls that failed with an error (not a declared rejection), as a fraction of its calls: 0..1. */
  errorRate: number;
  p99Ms: number;
  /** Calls waiting in its mailbox at the end of the interval. */
  queue: number;
  /** Its state as JSON, in bytes. */
  stateBytes: number;
}

/** A lifecycle event as the admin API numbers them: one cursor across every node's stream. */
export type ModelEvent = LifecycleEvent & { cursor: number };

/** What changed in the model, for the ws stream (coalesced there). */
export type ModelDelta =
  | { kind: 'node'; name: string; node: NodeView | null }
  | { kind: 'object'; type: string; id: string; object: ObjectView | null }
  | { kind: 'event'; event: ModelEvent }
  | { kind: 'lockQueue'; type: string; id: string; queue: LockQueueEntryView[] };

/** The model's figures behind the admin API's gauges (`highlander_admin_cluster_*`, `highlander_admin_lock_queue_*`). */
export interface ModelGauges {
  /** Live member nodes. */
  nodes: number;
  /** Active objects. */
  objects: number;
  /** Nodes waiting behind the owner in the lock queues of active objects, summed. */
  lockWaiters: number;
  /** Nodes waiting behind the owner in the longest lock queue (0 when none waits). */
  longestLockQueue: number;
}

export interface ClusterModel {
  summary(): ClusterSummary;
  /** The figures of the admin API's gauges, as of now (read at every Prometheus scrape; not a use of the API). */
  gauges(): Promise<ModelGauges>;
  nodes(): NodeView[];
  node(name: string): NodeView | undefined;
  objects(query: ObjectQuery): Page<ObjectView>;
  object(type: string, id: string): ObjectView | undefined;
  /**
   * The hottest objects by one figure, from each node's latest `stats` event (the busiest objects of
   * its interval, at most 1,000 per node): bounded by nodes × 1,000 rows, not by active objects.
   */
  hot(query: HotQuery): HotObjectView[];
  /** Reads the object's lock queue from the coordination source (ZooKeeper) now. */
  lockQueue(type: string, id: string): Promise<LockQueueEntryView[]>;
  /** Watches one lock queue while someone looks at it; returns the stop function. Never one watch per object otherwise. */
  watchLockQueue(type: string, id: string, listener: (queue: LockQueueEntryView[]) => void): () => void;
  /** Events after `since` (oldest first), at most `limit`; `cursor` is the last one returned (or `since`). */
  events(since: number, limit: number): { events: ModelEvent[]; cursor: number };
  /**
   * One object's ownership history (activations with node, epoch, start, end and reason; migrations;
   * fenced writes), newest first, also for objects no longer active; `before`: a previous page's cursor.
   */
  history(type: string, id: string, query: { limit: number; before?: number }): HistoryPage;
  /** The nodes' call metrics after `since` (ms): each node's samples of the last hour (`1s`), or per node and minute of the last day (`1m`). */
  statsHistory(resolution: HistoryResolution, since: number): StatsSample[];
  /** Subscribes to model changes; returns the unsubscribe function. */
  subscribe(listener: (delta: ModelDelta) => void): () => void;
  /** Ready: connected to the coordination source (ZooKeeper) and reconciled at least once. */
  ready(): boolean;
}

export interface ObjectDetail {
  object: ObjectView | null;
  queue: LockQueueEntryView[];
  /** The owner's in-memory state, or null when not active / the owner did not answer. */
  memory: { state: unknown; version: number; queueLength: number } | null;
  persisted: PersistedObject | null;
}

export interface PersistedObject {
  type: string;
  id: string;
  key: string;
  etag: string;
  epoch: string;
  version: number;
  size: number;
  lastModified: number | null;
  state: unknown;
}

export interface ClusterActions {
  /** One object with its queue, in-memory state (from its owner) and persisted state. */
  detail(type: string, id: string): Promise<ObjectDetail>;
  /** Graceful through the owner; with `force`, deletes the owner's lock znode when it does not answer. */
  evict(type: string, id: string, options: { force: boolean }): Promise<EvictResult>;
  migrate(type: string, id: string, to: string): Promise<MigrateResult>;
  drain(node: string): Promise<DrainResult>;
  /** The object types the nodes host, with the names of their handlers and queries (asked of a live node). */
  types(): Promise<ObjectTypeView[]>;
  /**
   * Runs a handler or query through a live node, which routes it to the owner like any call. With
   * `queryOnly`, the node refuses a handler before anything runs.
   */
  call(type: string, id: string, handler: string, arg: unknown, options: { queryOnly: boolean; timeoutMs?: number }): Promise<unknown>;
  /** Replaces the state through the owner's mailbox if it is still at `expectedVersion` (else VERSION_CONFLICT). */
  replaceState(type: string, id: string, state: unknown, expectedVersion: number): Promise<ReplaceStateResult>;
}

export interface ObjectTypeView {
  type: string;
  /** Operations that may change the state: operators only. */
  handlers: string[];
  /** Read-only operations: viewers too. */
  queries: string[];
  /** Declared errors (`OBJECT_REJECTED` with `details.error` one of these). */
  errors: string[];
  /** The JSON Schema of each operation's argument that has one (absent: any JSON; from nodes of a version that did not send them, none). */
  args?: Record<string, Record<string, unknown>>;
}

export interface CallResult {
  type: string;
  id: string;
  handler: string;
  kind: 'handler' | 'query';
  /** The reply (JSON; null for a handler without a reply). */
  value: unknown;
  durationMs: number;
}

export interface ReplaceStateResult {
  /** The version the new state replaced (the expected one, or the same state claimed again by a new owner). */
  previousVersion: number;
  /** The state it replaced. */
  previous: unknown;
  durationMs: number;
}

export interface EvictResult {
  owner: string;
  forced: boolean;
  durationMs: number;
}

export interface MigrateResult {
  from: string;
  to: string;
  durationMs: number;
}

export interface DrainResult {
  node: string;
  deactivated: number;
  durationMs: number;
}

export interface StoredSummary {
  type: string;
  id: string;
  key: string;
  size: number;
  etag: string;
  lastModified: number | null;
}

export interface Storage {
  /** Stored objects of a type (or all) by id prefix, a page at a time. */
  list(query: { type?: string; prefix?: string; cursor?: string; limit: number }): Promise<{ items: StoredSummary[]; cursor?: string }>;
  /** One stored object, or null. */
  get(type: string, id: string): Promise<PersistedObject | null>;
}
