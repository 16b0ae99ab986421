/**
 * The admin API of a Highlander cluster: a live model of nodes, objects and lock queues (from
 * ZooKeeper or the embedded registry, the nodes' event streams and the state store), REST with an
 * OpenAPI document, a ws stream of snapshots and deltas, admin actions (evict, migrate, drain),
 * token roles and a durable audit log.
 *
 * ```ts
 * import { AdminApi } from '@highlander/admin-api';
 * import { S3StateStore } from '@highlander/runtime';
 *
 * const api = await AdminApi.start({
 *   cluster: { zookeeper: { connect: '127.0.0.1:2181', root: '/highlander' } },
 *   store: new S3StateStore({ bucket: 'highlander', endpoint: 'http://127.0.0.1:7480' }),
 *   nodeAdminToken: process.env.NODE_ADMIN_TOKEN,
 *   tokens: [{ role: 'operator', name: 'ada', token: process.env.ADA_TOKEN! }],
 *   auditLogPath: 'data/audit.jsonl',
 *   port: 8080,
 * });
 * console.log(`${api.url}/api/openapi.json`);
 * await api.close();
 * ```
 */
export { AdminApi } from './admin-api.js';
export { ADMIN_API_DEFAULTS } from './defaults.js';
export type { AdminApiOptions } from './admin-api.js';
export { createApp } from './app.js';
export type { AdminApp, AdminAppOptions } from './app.js';
export { AuditLog } from './audit-log.js';
export type { AuditAction, AuditLogOptions, AuditRecord, AuditTarget, NewAuditRecord } from './audit-log.js';
export { ROLES, TokenAuthenticator, originChecker } from './auth.js';
export type { Principal, Role, TokenConfig } from './auth.js';
export { LiveClusterActions } from './cluster-actions.js';
export type { LiveClusterActionsOptions } from './cluster-actions.js';
export { LiveClusterModel } from './model/live-cluster-model.js';
export type { LiveClusterModelOptions, LiveClusterModelSourceOptions } from './model/live-cluster-model.js';
export { StatsHistory } from './model/stats-history.js';
export type { HistoryResolution, StatsHistoryOptions, StatsSample } from './model/stats-history.js';
export { OBJECT_HISTORY_DEFAULTS, ObjectHistory } from './object-history.js';
export type { ActivationEndReason, HistoryEntry, HistoryPage, ObjectHistoryOptions } from './object-history.js';
export { HOT_FIGURES, HotObjects, compareRows, topRows } from './model/hot-objects.js';
export type { ClusterSource, LockQueueScan, SourceLockEntry } from './cluster-source.js';
export type {
  CallResult, ClusterActions, ClusterModel, ClusterSummary, DrainResult, EvictResult, HotObjectView, HotQuery, HotRanking, LockQueueEntryView, MigrateResult, ModelDelta, ModelEvent, ModelGauges, NodeView,
  MoveShardsResult, ObjectDetail, ObjectQuery, ObjectSort, ObjectTypeView, ObjectView, Page, PersistedObject, ReplaceStateResult, ShardsView, Storage, StoredSummary,
} from './contracts.js';
export { EmbeddedSource } from './embedded-source.js';
export { ShardedSource } from './sharded-source.js';
export type { ShardedSourceOptions } from './sharded-source.js';
export { NodeAdminClient } from './node-admin-client.js';
export { S3Storage } from './storage.js';
export { StreamServer } from './stream/server.js';
export type { StreamOptions } from './stream/server.js';
export { STREAM_PROTOCOL } from './stream/protocol.js';
export type { ClientMessage, ObjectRow, ServerMessage } from './stream/protocol.js';
export { assessBalance, planMoves } from './rebalance/plan.js';
export type { Balance, NodeBalance, PlanInput, PlanNode, PlanObject, PlannedMove, RebalancePolicy } from './rebalance/plan.js';
export { MemoryCoordination, Rebalancer, ZooKeeperCoordination } from './rebalance/rebalancer.js';
export type { RebalanceCoordination, RebalanceMove, RebalanceOptions, RebalanceStatus, RebalancerOptions } from './rebalance/rebalancer.js';
export { LiveTalkService } from './talks.js';
export type { TalkService } from './talks.js';
export { ZooKeeperSource } from './zookeeper-source.js';
