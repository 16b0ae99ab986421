/**
 * Highlander: there can be only one live instance of each object id in the whole cluster.
 *
 * ```ts
 * import { pino } from 'pino';
 * import { defineObject, HighlanderNode, ZooKeeperCoordinator, S3StateStore } from '@highlander/runtime';
 *
 * const Counter = defineObject({
 *   type: 'counter',
 *   initial: () => ({ value: 0 }),
 *   handlers: { increment: (s, by: number, ctx) => ctx.reply({ value: s.value + by }, s.value + by) },
 *   queries: { value: (s) => s.value },
 * });
 *
 * const node = HighlanderNode.create({
 *   name: 'node-a',
 *   coordinator: new ZooKeeperCoordinator({ connect: '127.0.0.1:2181' }),
 *   store: new S3StateStore({ bucket: 'highlander', endpoint: 'http://127.0.0.1:7480' }),
 *   objects: [Counter],
 *   logger: pino(), // optional: lifecycle logs (default: none)
 * });
 * await node.start();
 * const next = await node.ref(Counter, 'visits').call('increment', 1); // durable when it resolves
 * console.log(await node.metrics?.text()); // Prometheus text, also at GET http://<node>/metrics
 * await node.stop();
 * ```
 */
export { defineObject, Replied } from './define-object.js';
export type {
  AnyObjectType, ArgumentSchema, CallOptions, ErrorSpecs, HandlerContext, ObjectDefinition, ObjectType, OperationArgs, OperationName,
  OperationReply, OperationSpec, QueryContext, Ref, Replaced, ReplaceOptions, StateOf,
} from './define-object.js';
export { HighlanderNode } from './node.js';
export type { NodeStatus } from './node.js';
export { NODE_DEFAULTS } from './node-options.js';
export { MAX_CALL_TIMEOUT_MS, MIN_CALL_TIMEOUT_MS } from './object-ref.js';
export type { HighlanderNodeOptions, NodeTlsOptions } from './node-options.js';
export { CLUSTER_SECRET_PATTERN, isLoopbackHost } from './node-options.js';
export * from './errors.js';
export { EventLog } from './events.js';
export type { DeactivationReason, LifecycleEvent, LifecycleEventBody, LifecycleEventKind } from './events.js';
export { NodeMetrics } from './metrics.js';
export { DECLARED_REJECTION_CODES, callOutcomeKind, failureKind } from './call-outcome.js';
export type { CallOutcomeKind } from './call-outcome.js';
export type { NodeMetricsOptions } from './metrics.js';
export type { RequestObserver, RequestSample } from './request-observer.js';
export type { AcquireOptions, AcquireResult, Coordinator, CoordinatorEvents, LockHandle, LockQueueEntry, MemberInfo, SessionLossScope } from './coordinator.js';
export type { ListPage, StateStore, StoredObject, StoredObjectSummary, WriteCondition, WriteRequest, WriteResult } from './state-store.js';
export { ZOOKEEPER_DEFAULTS, ZooKeeperCoordinator } from './zookeeper/zookeeper-coordinator.js';
export type { ZooKeeperCoordinatorOptions } from './zookeeper/zookeeper-coordinator.js';
export { ShardedCoordinator } from './zookeeper/sharded-coordinator.js';
export type { ShardedCoordinatorOptions } from './zookeeper/sharded-coordinator.js';
export { HOME_ENSEMBLE, ShardTable, composeEpoch, shardMapProblems } from './zookeeper/shard-map.js';
export type { ShardMap, ShardRoute, ShardSpec } from './zookeeper/shard-map.js';
export { MAX_S3_PREFIX_BYTES, S3_DEFAULTS, S3StateStore } from './s3/s3-state-store.js';
export type { S3StateStoreOptions } from './s3/s3-state-store.js';
export { hashPlacement, leastLoadedPlacement, localPlacement, placementByName, randomPlacement, roundRobinPlacement } from './placement.js';
export type { Placement, PlacementContext, PlacementName } from './placement.js';
export { MAX_NODE_NAME_LENGTH, MAX_OBJECT_ID_LENGTH, MAX_TYPE_NAME_LENGTH, objectKey, validateNodeName, validateObjectId, validateTypeName } from './names.js';
export { registerAdminExtension } from './http/node-admin.js';
export type { AdminExtension } from './http/node-admin.js';
export { EmbeddedCoordinator, EmbeddedRegistry } from './embedded/embedded-coordinator.js';
export type { EmbeddedLockEntry, EmbeddedRegistryOptions, LockQueueSnapshot, RegistryChange } from './embedded/embedded-coordinator.js';
export { FileStateStore } from './embedded/file-state-store.js';
export type { FileStateStoreOptions } from './embedded/file-state-store.js';
