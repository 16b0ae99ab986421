/**
 * The admin API's shapes as the dashboard reads them (admin-api/src/contracts.ts is the source;
 * the OpenAPI document at /api/openapi.json describes them too).
 */

export type Role = 'viewer' | 'operator';

export interface NodeView {
  name: string;
  address: string;
  pid: number;
  startedAt: number;
  uptimeMs: number;
  status: 'up' | 'draining' | 'unreachable';
  activations: number;
  callsPerSecond: number;
}

export interface ObjectView {
  type: string;
  id: string;
  owner: string;
  epoch: string;
  activeSince: number;
  lastCallAt: number | null;
  callsPerSecond: number;
  /** Calls waiting in the owner's mailbox. */
  queueLength: number;
  /** Nodes waiting in the object's lock queue behind the owner. */
  waiting: number;
}

export type ObjectRow = [type: string, id: string, owner: string, epoch: string, activeSince: number, lastCallAt: number | null, callsPerSecond: number, queueLength: number, waiting: number];

export interface LockQueueEntryView {
  node: string;
  sequence: number;
  path: string;
  waitingSince: number | null;
}

export interface ClusterSummary {
  nodes: number;
  objects: number;
  byType: Record<string, number>;
  callsPerSecond: number;
  eventCursor: number;
  lastReconcile: { at: number; durationMs: number } | null;
  persisted: { objects: number; byType: Record<string, number>; listedAt: number; durationMs: number } | null;
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

export interface ObjectDetail {
  object: ObjectView | null;
  queue: LockQueueEntryView[];
  memory: { state: unknown; version: number; queueLength: number } | null;
  persisted: PersistedObject | null;
}

export interface StoredSummary {
  type: string;
  id: string;
  key: string;
  size: number;
  etag: string;
  lastModified: number | null;
}

export interface Page<T> {
  items: T[];
  cursor?: string;
  total?: number;
}

/** A lifecycle event: `kind` and its fields, plus where and when. */
export interface ModelEvent {
  kind: string;
  cursor: number;
  seq: number;
  node: string;
  time: number;
  type?: string;
  id?: string;
  [field: string]: unknown;
}

export interface StatsEvent extends ModelEvent {
  kind: 'stats';
  intervalMs: number;
  activations: number;
  byType: Record<string, { calls: number; errors: number; p50Ms: number; p99Ms: number }>;
}

export interface AuditRecord {
  id: number;
  time: number;
  who: { name: string; role: Role };
  action: string;
  target: Record<string, string>;
  params: Record<string, unknown>;
  result: 'ok' | 'error';
  durationMs: number;
  clientAddress: string;
  userAgent: string | null;
  error?: { status: number; code: string; message: string };
}

export interface EvictResult { owner: string; forced: boolean; durationMs: number }
export interface MigrateResult { from: string; to: string; durationMs: number }
export interface DrainResult { node: string; deactivated: number; durationMs: number }

/** One change to the set of active objects, as the cluster store tells its listeners (the map animates them). */
export type ObjectChange =
  | { kind: 'added'; object: ObjectView }
  | { kind: 'updated'; before: ObjectView; object: ObjectView }
  | { kind: 'removed'; before: ObjectView };

// ---- audience (talks): admin-api's /api/talks routes and the stream's `talk` scope ----

export type TalkStatus = 'open' | 'closed';

/** One talk in `GET /api/talks` (as last stored). */
export interface TalkListItem {
  code: string;
  title: string;
  status: TalkStatus;
  createdAt: number;
  /** Devices with a position. */
  participants: number;
  /** The node holding it now, or null when it is not active. */
  owner: string | null;
}

export interface TalkReaction {
  /** Increasing over the talk's life, resets included. */
  seq: number;
  emoji: string;
  /** Wall-clock ms at which a gateway accepted it. */
  at: number;
}

export interface TalkTimelinePoint {
  /** Wall-clock ms. */
  t: number;
  /** Average position then, or null with no positions. */
  average: number | null;
  /** Devices with a position. */
  participants: number;
  /** Devices connected. */
  connected?: number;
  /** Reactions since the previous point. */
  reactions: number;
}

/**
 * A talk's aggregates (audience/src/objects.ts `TalkAggregates`), with the recent reactions and the
 * timeline in a snapshot (`GET /api/talks/:code`, the stream's talk snapshot).
 */
export interface TalkView {
  code: string;
  title: string;
  status: TalkStatus;
  createdAt?: number;
  openedAt?: number | null;
  closedAt?: number | null;
  /** Increases on every reset. */
  round?: number;
  /** Devices with a position. */
  participants: number;
  /** Devices connected now. */
  connected: number;
  /** 0..100, or null with no positions. */
  average: number | null;
  /** 11 buckets: bucket i counts positions that round to i × 10. */
  histogram: number[];
  /** Reactions per emoji since the last reset. */
  totals: Record<string, number>;
  reactionsPerMinute: number;
  /** The seq of the newest reaction (0: none yet). */
  reactionSeq?: number;
  /** Per gateway (node): devices connected, and whether its report is recent. */
  gateways?: Array<{ name: string; connected: number; at: number; fresh: boolean }>;
  /** The newest reactions (a snapshot), oldest first. */
  reactions?: TalkReaction[];
  timeline?: TalkTimelinePoint[];
  /** Wall-clock ms of this view. */
  at?: number;
}
