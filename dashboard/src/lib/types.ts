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
  queueLength: number;
}

export type ObjectRow = [type: string, id: string, owner: string, epoch: string, activeSince: number, lastCallAt: number | null, callsPerSecond: number, queueLength: number];

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
