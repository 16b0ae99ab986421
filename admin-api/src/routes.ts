import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Request, Response } from 'express';
import type { z } from 'zod';
import { roundMs } from '@highlander/kit';
import { StateTooLarge, UnknownHandler } from '@highlander/runtime';
import { principalOf, type Principal } from './auth.js';
import type { AuditAction, AuditLog, AuditTarget } from './audit-log.js';
import type { CallResult, ClusterActions, ClusterModel, MoveShardsResult, ReplaceStateResult, ShardsView, Storage } from './contracts.js';
import { HttpError, type ErrorCode } from './http-error.js';
import type { AdminMetrics } from './metrics.js';
import {
  AuditPageSchema, AuditQuery, CallBody, CallResultSchema, ClusterSummarySchema, ReplaceStateBody, ReplaceStateResultSchema, TypesSchema, DrainBody, DrainResultSchema, EventsPageSchema, EventsQuery, EvictBody,
  EvictResultSchema, HealthSchema, LockQueueSchema, MigrateBody, MigrateResultSchema, NodeParams, NodeViewSchema, NodesSchema,
  HotPageSchema, HotQueryParams, ObjectDetailSchema, ObjectParams, ObjectsPageSchema, ObjectsQuery, PersistedObjectSchema, ReadySchema, StoragePageSchema,
  StorageQuery, CreateTalkBody, TalkActionBody, TalkExportQuery, TalkParams, TalkSnapshotViewSchema, TalkViewSchema, TalksPageSchema,
  TalksQuery, QuestionsQuery, ModerateBody, QnaSettingsBody, QnaPresenterViewSchema, MetricsHistoryQuery, MetricsHistorySchema, ObjectHistoryQuery, HistoryPageSchema,
  RebalanceActionBody, RebalanceStatusSchema, ShardsSchema, MoveShardsBody, MoveShardsResultSchema,
} from './schemas.js';
import type { Rebalancer } from './rebalance/rebalancer.js';
import { questionsCsv, timelineCsv, type TalkAction, type TalkService, type TalkView } from './talks.js';

/**
 * Every HTTP route of the admin API, declared once: its schemas (validated by app.ts, documented by
 * openapi.ts), who may call it, the error codes it answers with besides the common ones, whether it
 * is an audited action, and its handler.
 */

/**
 * `public`: no token; `viewer`: a viewer or operator token; `operator`: an operator token, and audited.
 * An audited `viewer` route decides itself what needs an operator (`allowAction` in its context).
 */
export type Access = 'public' | 'viewer' | 'operator';

/** What a handler knows of its request besides its validated input. */
export interface RouteContext {
  req: Request;
  res: Response;
  /** Throws 403 READ_ONLY or FORBIDDEN unless the caller may run actions (an operator, the API not read-only). */
  allowAction(): void;
  /** Whether `allowAction` would pass. */
  mayAct(): boolean;
}

export interface RouteInput<P = unknown, Q = unknown, B = unknown> {
  params: P;
  query: Q;
  body: B;
}

export interface RouteSpec {
  method: 'get' | 'post' | 'put';
  /** Express pattern: `/api/objects/:type/:id`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  access: Access;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodObject;
  /** The 200 body; absent for non-JSON answers (`success` describes them). */
  response?: z.ZodType;
  success?: { status: number; description: string; contentType?: string };
  /** Codes this route answers with, besides the ones every route of its access level has. */
  errors: ErrorCode[];
  /** Largest body of this route. @default the API's `maxBodyBytes` */
  maxBodyBytes?: number;
  /**
   * Actions: what the audit log records (`result`: the action's answer, when it succeeded). `params`
   * summarises the body (any value, as sent; by default the body itself when small), `outcome` the answer.
   */
  audit?: {
    action: AuditAction;
    target: (params: Record<string, string>, result?: unknown) => AuditTarget;
    params?: (body: unknown) => Record<string, unknown>;
    outcome?: (result: unknown) => Record<string, unknown>;
  };
  handle(input: RouteInput, context: RouteContext): unknown;
}

/** Declares a route with its handler typed by its schemas. */
function route<P extends z.ZodObject | undefined = undefined, Q extends z.ZodObject | undefined = undefined, B extends z.ZodObject | undefined = undefined>(
  spec: Omit<RouteSpec, 'params' | 'query' | 'body' | 'handle'> & {
    params?: P;
    query?: Q;
    body?: B;
    handle(input: RouteInput<Out<P>, Out<Q>, Out<B>>, context: RouteContext): unknown;
  },
): RouteSpec {
  return spec as unknown as RouteSpec;
}

type Out<S> = S extends z.ZodType ? z.output<S> : Record<string, never>;

export interface RouteDeps {
  model: ClusterModel;
  actions: ClusterActions;
  storage: Storage;
  audit: AuditLog;
  metrics: AdminMetrics;
  /** The OpenAPI document (built from these routes). */
  openapi: () => unknown;
  /** Audience feedback sessions; without it, the talk routes answer 503 TALKS_UNAVAILABLE. */
  talks?: TalkService;
  /** The nodes' `maxStateBytes`: a replacement state (and a call argument) may be this large as JSON. */
  maxStateBytes: number;
  /** Automatic rebalancing; without it, `GET /api/rebalance` says it is off and pause and resume answer 409 REBALANCE_DISABLED. */
  rebalancer?: Rebalancer;
  /** The registry's ensembles (`GET /api/shards`). @default none: an empty list */
  shards?: () => ShardsView | Promise<ShardsView>;
  /** Moves buckets to a standby shard (`POST /api/shards/move`); without it the route answers 409 NOT_SHARDED. */
  moveShards?: (buckets: string[], to: string) => Promise<MoveShardsResult>;
}

/** Audit records keep a state or an argument itself up to this size as JSON; larger ones by size and SHA-256. */
export const MAX_AUDITED_STATE_BYTES = 64 * 1024;
/** What a body carrying a state or an argument may add to it. */
const ENVELOPE_BYTES = 16 * 1024;

const SERVICE_ERRORS: ErrorCode[] = ['COORDINATOR_UNAVAILABLE', 'NODE_UNREACHABLE', 'CALL_TIMEOUT'];

export function apiRoutes(deps: RouteDeps): RouteSpec[] {
  const { model, actions, storage, audit } = deps;
  return [
    route({
      method: 'get', path: '/healthz', operationId: 'health', tag: 'operations', access: 'public',
      summary: 'The process is up', response: HealthSchema, errors: [],
      handle: () => ({ status: 'ok' }),
    }),
    route({
      method: 'get', path: '/readyz', operationId: 'ready', tag: 'operations', access: 'public',
      summary: 'Connected to ZooKeeper and reconciled at least once', response: ReadySchema, errors: ['NOT_READY'],
      handle: () => {
        if (!model.ready()) throw new HttpError(503, 'NOT_READY', 'not connected to ZooKeeper or not reconciled yet');
        return { ready: true };
      },
    }),
    route({
      method: 'get', path: '/metrics', operationId: 'metrics', tag: 'operations', access: 'public',
      summary: 'Prometheus metrics of the admin API', errors: [],
      success: { status: 200, description: 'Prometheus text format', contentType: 'text/plain; version=0.0.4' },
      handle: async (_input, { res }) => {
        res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
      },
    }),
    route({
      method: 'get', path: '/api/openapi.json', operationId: 'openapi', tag: 'operations', access: 'public',
      summary: 'This document', errors: [],
      success: { status: 200, description: 'OpenAPI 3.1 document', contentType: 'application/json' },
      handle: () => deps.openapi(),
    }),
    route({
      method: 'get', path: '/api/stream', operationId: 'stream', tag: 'stream', access: 'viewer',
      summary: 'The live stream (WebSocket)',
      description:
        'Upgrade to a WebSocket with the subprotocols `highlander.v1` and `bearer.<token>`. Send ' +
        '`{"subscribe":"summary"}`, `{"subscribe":"events","since":n}`, `{"subscribe":"object","type":t,"id":i}`, ' +
        '`{"subscribe":"hot","by":"calls|errors|p99|queue|state","type"?,"node"?,"limit"?}`, `{"subscribe":"rebalance"}` or ' +
        '`{"unsubscribe":scope}`; receive a snapshot per subscription, then deltas coalesced per client (flushed every 100 ms by default). ' +
        'Slow clients are closed with 1013 and a reason saying how to resume. See admin-api/src/stream/protocol.ts. ' +
        'A plain GET is answered 426.',
      success: { status: 101, description: 'Switching to the WebSocket protocol' },
      errors: ['UPGRADE_REQUIRED', 'ORIGIN_NOT_ALLOWED', 'BAD_REQUEST', 'TOO_MANY_CLIENTS'],
      handle: () => {
        throw new HttpError(426, 'UPGRADE_REQUIRED', 'the stream is a WebSocket: connect with the subprotocols highlander.v1 and bearer.<token>');
      },
    }),
    route({
      method: 'get', path: '/api/summary', operationId: 'getSummary', tag: 'cluster', access: 'viewer',
      summary: 'Cluster summary: nodes, objects by type, call rate, event cursor', response: ClusterSummarySchema, errors: [],
      handle: () => model.summary(),
    }),
    route({
      method: 'get', path: '/api/nodes', operationId: 'listNodes', tag: 'cluster', access: 'viewer',
      summary: 'Every node', response: NodesSchema, errors: [],
      handle: () => ({ items: model.nodes() }),
    }),
    route({
      method: 'get', path: '/api/nodes/:name', operationId: 'getNode', tag: 'cluster', access: 'viewer',
      summary: 'One node', params: NodeParams, response: NodeViewSchema, errors: ['NODE_NOT_FOUND'],
      handle: ({ params }) => model.node(params.name) ?? nodeNotFound(params.name),
    }),
    route({
      method: 'get', path: '/api/objects', operationId: 'listObjects', tag: 'objects', access: 'viewer',
      summary: 'Active objects, filtered by type, node and id prefix, sorted, a page at a time',
      query: ObjectsQuery, response: ObjectsPageSchema, errors: ['INVALID_CURSOR'],
      handle: ({ query }) => model.objects(query),
    }),
    route({
      method: 'get', path: '/api/hot', operationId: 'listHotObjects', tag: 'objects', access: 'viewer',
      summary: 'The hottest objects by calls/s, error rate, p99 latency, mailbox length or state size',
      description:
        "From each node's latest stats interval, which lists its busiest objects (at most 1,000 per node): the ranking " +
        'covers those, so its cost is bounded by nodes × 1,000 rows however many objects are active. A node without calls ' +
        'for two intervals, or gone, has no rows. The stream scope `{"subscribe":"hot"}` pushes the same rows each interval.',
      query: HotQueryParams, response: HotPageSchema, errors: [],
      handle: ({ query }) => ({ by: query.by, items: model.hot(query) }),
    }),
    route({
      method: 'get', path: '/api/objects/:type/:id', operationId: 'getObject', tag: 'objects', access: 'viewer',
      summary: 'One object: owner, epoch, lock queue, activity, in-memory state (from its owner) and persisted state',
      params: ObjectParams, response: ObjectDetailSchema, errors: ['OBJECT_NOT_FOUND', 'STORE_UNAVAILABLE', ...SERVICE_ERRORS],
      handle: async ({ params }) => {
        const detail = await actions.detail(params.type, params.id);
        if (!detail.object && !detail.persisted && !detail.memory && detail.queue.length === 0) {
          throw new HttpError(404, 'OBJECT_NOT_FOUND', `${params.type}/${params.id} is neither active nor stored`, { type: params.type, id: params.id });
        }
        return detail;
      },
    }),
    route({
      method: 'get', path: '/api/objects/:type/:id/queue', operationId: 'getLockQueue', tag: 'objects', access: 'viewer',
      summary: "The object's lock queue, read from ZooKeeper now (the owner first; empty when not active)",
      params: ObjectParams, response: LockQueueSchema, errors: ['COORDINATOR_UNAVAILABLE'],
      handle: async ({ params }) => ({ type: params.type, id: params.id, queue: await model.lockQueue(params.type, params.id) }),
    }),
    route({
      method: 'get', path: '/api/objects/:type/:id/history', operationId: 'getObjectHistory', tag: 'objects', access: 'viewer',
      summary: "The object's ownership history, newest first: activations (node, epoch, start, end, reason), migrations, fenced writes",
      description:
        "Folded from the nodes' lifecycle events (never per call) and kept by the admin API in a JSON-lines file, so it answers " +
        'for objects that are no longer active and survives a restart of the admin API. Bounded per object (100 entries by ' +
        'default, the oldest dropped) and in all (200,000 by default; the objects whose history changed longest ago are ' +
        'forgotten). An object never seen has no entries. Older entries: pass `cursor` back as `before`.',
      params: ObjectParams, query: ObjectHistoryQuery, response: HistoryPageSchema, errors: [],
      handle: ({ params, query }) => model.history(params.type, params.id, { limit: query.limit, ...(query.before !== undefined ? { before: query.before } : {}) }),
    }),
    route({
      method: 'get', path: '/api/storage', operationId: 'listStorage', tag: 'storage', access: 'viewer',
      summary: 'Persisted objects by type and id prefix, a page at a time',
      query: StorageQuery, response: StoragePageSchema, errors: ['INVALID_CURSOR', 'STORE_UNAVAILABLE'],
      handle: ({ query }) => storage.list(query),
    }),
    route({
      method: 'get', path: '/api/storage/:type/:id', operationId: 'getStored', tag: 'storage', access: 'viewer',
      summary: 'One persisted object: state, ETag, epoch, version, size, last-modified',
      params: ObjectParams, response: PersistedObjectSchema, errors: ['STORED_OBJECT_NOT_FOUND', 'STORE_UNAVAILABLE'],
      handle: async ({ params }) => {
        const stored = await storage.get(params.type, params.id);
        if (!stored) throw new HttpError(404, 'STORED_OBJECT_NOT_FOUND', `nothing is stored for ${params.type}/${params.id}`, { type: params.type, id: params.id });
        return stored;
      },
    }),
    route({
      method: 'get', path: '/api/events', operationId: 'listEvents', tag: 'events', access: 'viewer',
      summary: 'Lifecycle events after a cursor, oldest first', query: EventsQuery, response: EventsPageSchema, errors: [],
      handle: ({ query }) => model.events(query.since, query.limit),
    }),
    route({
      method: 'get', path: '/api/metrics/history', operationId: 'metricsHistory', tag: 'events', access: 'viewer',
      summary: "The nodes' call metrics over the last hour (each node's samples) or day (per node and minute), oldest first",
      query: MetricsHistoryQuery, response: MetricsHistorySchema, errors: [],
      handle: ({ query }) => ({ resolution: query.resolution, samples: model.statsHistory(query.resolution, query.since) }),
    }),
    route({
      method: 'get', path: '/api/audit', operationId: 'listAudit', tag: 'audit', access: 'viewer',
      summary: 'The audit log of actions, newest first; filtered by action and by object', query: AuditQuery, response: AuditPageSchema, errors: [],
      handle: ({ query }) => audit.list({
        limit: query.limit, ...(query.cursor ? { before: Number(query.cursor) } : {}), ...(query.action ? { action: query.action } : {}),
        ...(query.type !== undefined && query.id !== undefined ? { object: { type: query.type, id: query.id } } : {}),
      }),
    }),
    route({
      method: 'post', path: '/api/objects/:type/:id/evict', operationId: 'evictObject', tag: 'actions', access: 'operator',
      summary: 'Deactivate an object (graceful through its owner; `force` deletes the lock znode of an owner that does not answer)',
      params: ObjectParams, body: EvictBody, response: EvictResultSchema, errors: ['NOT_ACTIVE_HERE', ...SERVICE_ERRORS],
      audit: { action: 'evict', target: (p) => ({ type: p.type ?? '', id: p.id ?? '' }) },
      handle: ({ params, body }) => actions.evict(params.type, params.id, { force: body.force }),
    }),
    route({
      method: 'post', path: '/api/objects/:type/:id/migrate', operationId: 'migrateObject', tag: 'actions', access: 'operator',
      summary: 'Move an object to another live node',
      params: ObjectParams, body: MigrateBody, response: MigrateResultSchema,
      errors: ['MIGRATION_REFUSED', 'NOT_ACTIVE_HERE', ...SERVICE_ERRORS],
      audit: { action: 'migrate', target: (p) => ({ type: p.type ?? '', id: p.id ?? '' }) },
      handle: ({ params, body }) => {
        const refuse = (reason: string, why: string): never => {
          throw new HttpError(409, 'MIGRATION_REFUSED', `cannot migrate ${params.type}/${params.id} to '${body.to}': ${why}`, { reason, to: body.to });
        };
        // A target that is not a live member is a conflict with the cluster's state (dead, or never there), not a missing resource.
        const target = model.node(body.to) ?? refuse('target-not-live', 'no live node of that name; pick one from GET /api/nodes');
        if (model.object(params.type, params.id)?.owner === body.to) refuse('same-node', 'it is already there');
        if (target.status === 'draining') refuse('target-draining', 'that node is draining');
        if (target.status === 'unreachable') refuse('target-unreachable', "that node's event stream is down");
        if (target.full) refuse('target-full', 'that node is at its lock budget (--lock-budget-bytes) and takes no new activation; pick one that is not full');
        return actions.migrate(params.type, params.id, body.to);
      },
    }),
    route({
      method: 'get', path: '/api/types', operationId: 'listTypes', tag: 'objects', access: 'viewer',
      summary: 'The object types the nodes host, with their handlers (operators may call them) and queries (viewers too)',
      response: TypesSchema, errors: SERVICE_ERRORS,
      handle: async () => ({ items: await actions.types() }),
    }),
    route({
      method: 'post', path: '/api/objects/:type/:id/calls', operationId: 'callObject', tag: 'actions', access: 'viewer',
      summary: 'Run a handler or a query of an object with a JSON argument, routed to its owner like any call',
      description:
        'A query (read-only) may be run by a viewer, but only on an object that is active or stored (it would otherwise be created); ' +
        'a handler (it may change state) needs an operator and is refused in read-only mode. Every call is audited ' +
        '(handler, kind, the argument\'s size and SHA-256, outcome). Errors keep the runtime\'s codes: UNKNOWN_HANDLER, ' +
        'OBJECT_REJECTED (a declared error: `details.error`, `details.data`), HANDLER_FAILED, INVALID_ARGUMENT, CALL_TIMEOUT…',
      params: ObjectParams, body: CallBody, response: CallResultSchema, maxBodyBytes: deps.maxStateBytes + ENVELOPE_BYTES,
      errors: [
        'FORBIDDEN', 'READ_ONLY', 'OBJECT_NOT_FOUND', 'UNKNOWN_OBJECT_TYPE', 'UNKNOWN_HANDLER', 'INVALID_ARGUMENT', 'OBJECT_REJECTED',
        'HANDLER_FAILED', 'STATE_TOO_LARGE', 'INVALID_STATE', 'STORE_UNAVAILABLE', 'INDETERMINATE', ...SERVICE_ERRORS,
      ],
      audit: {
        action: 'call', target: (p) => ({ type: p.type ?? '', id: p.id ?? '' }),
        params: (body) => {
          const { handler, arg, timeoutMs } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
          return {
            handler: typeof handler === 'string' ? handler.slice(0, 200) : handler === undefined ? null : `(${typeof handler})`,
            ...(arg === undefined ? {} : { arg: digestOf(arg) }),
            ...(typeof timeoutMs === 'number' ? { timeoutMs } : {}),
          };
        },
        outcome: (result) => ({ kind: (result as CallResult).kind, value: digestOf((result as CallResult).value) }),
      },
      handle: async ({ params, body }, context) => {
        const started = performance.now();
        const type = (await actions.types()).find((t) => t.type === params.type);
        if (!type) throw new HttpError(404, 'UNKNOWN_OBJECT_TYPE', `no node hosts object type '${params.type}'; GET /api/types lists the types`, { type: params.type });
        const kind = type.queries.includes(body.handler) ? 'query' : type.handlers.includes(body.handler) ? 'handler' : undefined;
        if (!kind) throw new UnknownHandler(params.type, body.handler, [...type.handlers, ...type.queries]);
        if (kind === 'handler') context.allowAction();
        else if (!context.mayAct() && !model.object(params.type, params.id) && !(await storage.get(params.type, params.id))) {
          throw new HttpError(404, 'OBJECT_NOT_FOUND', `${params.type}/${params.id} is neither active nor stored; a viewer's query does not create it`, { type: params.type, id: params.id });
        }
        const value = await actions.call(params.type, params.id, body.handler, body.arg, {
          queryOnly: kind === 'query', ...(body.timeoutMs !== undefined ? { timeoutMs: body.timeoutMs } : {}),
        });
        const result: CallResult = {
          type: params.type, id: params.id, handler: body.handler, kind, value: value ?? null, durationMs: roundMs(performance.now() - started),
        };
        return result;
      },
    }),
    route({
      method: 'put', path: '/api/objects/:type/:id/state', operationId: 'replaceState', tag: 'actions', access: 'operator',
      summary: "Replace an object's state with JSON, through its owner's mailbox, if it is still at the version the operator saw",
      description:
        'Applied like any update (the owner runs it in turn, writes it fenced, answers once it is durable; an object that is not ' +
        'active is activated). 409 VERSION_CONFLICT when the object is at another version, with `details.currentVersion` and ' +
        '`details.state`; 413 STATE_TOO_LARGE over the state-size limit. Audited with the state it replaced.',
      params: ObjectParams, body: ReplaceStateBody, response: ReplaceStateResultSchema, maxBodyBytes: deps.maxStateBytes + ENVELOPE_BYTES,
      errors: ['VERSION_CONFLICT', 'STATE_TOO_LARGE', 'INVALID_STATE', 'UNKNOWN_OBJECT_TYPE', 'STORE_UNAVAILABLE', 'INDETERMINATE', ...SERVICE_ERRORS],
      audit: {
        action: 'state.replace', target: (p) => ({ type: p.type ?? '', id: p.id ?? '' }),
        params: (body) => {
          const { state, expectedVersion } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
          return { expectedVersion: typeof expectedVersion === 'number' ? expectedVersion : null, state: keptOrDigest(state) };
        },
        outcome: (result) => ({ previousVersion: (result as ReplaceStateResult).previousVersion, previous: keptOrDigest((result as ReplaceStateResult).previous) }),
      },
      handle: ({ params, body }) => {
        const bytes = Buffer.byteLength(JSON.stringify(body.state));
        if (bytes > deps.maxStateBytes) throw new StateTooLarge(params.type, params.id, bytes, deps.maxStateBytes);
        return actions.replaceState(params.type, params.id, body.state, body.expectedVersion);
      },
    }),
    route({
      method: 'post', path: '/api/nodes/:name/drain', operationId: 'drainNode', tag: 'actions', access: 'operator',
      summary: 'Deactivate everything on a node and take it out of placement',
      params: NodeParams, body: DrainBody, response: DrainResultSchema, errors: ['NODE_NOT_FOUND', ...SERVICE_ERRORS],
      audit: { action: 'drain', target: (p) => ({ node: p.name ?? '' }) },
      handle: ({ params }) => {
        if (!model.node(params.name)) nodeNotFound(params.name);
        return actions.drain(params.name);
      },
    }),
    route({
      method: 'get', path: '/api/shards', operationId: 'getShards', tag: 'cluster', access: 'viewer',
      summary: 'The ZooKeeper ensembles of the registry and the buckets each holds',
      description: 'One ensemble (home, --zk) unless the cluster runs on a shard map (--zk-shards): then each shard, its bucket ranges, its ' +
        'generation and whether the admin API is connected to it. Lock queues, scans and forced evictions of an object go to the ensemble of its bucket.',
      response: ShardsSchema, errors: [],
      handle: () => deps.shards?.() ?? { sharded: false, ensembles: [] },
    }),
    route({
      method: 'post', path: '/api/shards/move', operationId: 'moveShards', tag: 'actions', access: 'operator',
      summary: 'Move buckets to a standby shard while the cluster runs',
      description: 'The nodes drain the objects of those buckets (calls to them wait and retry meanwhile) and acknowledge; once the source ' +
        'ensemble holds no lock in them, the map gives them to the target shard under a new generation. Answers when the move is done ' +
        '(or aborted after 2 minutes: the map is then as before). The answer holds the map now in force, for the nodes\' --zk-shards files.',
      body: MoveShardsBody, response: MoveShardsResultSchema, errors: ['NOT_SHARDED', 'MOVE_REFUSED', 'COORDINATOR_UNAVAILABLE'],
      audit: {
        action: 'shards.move', target: () => ({ shards: 'cluster' }),
        params: (body) => ({ buckets: (body as { buckets?: unknown }).buckets, to: (body as { to?: unknown }).to }),
        outcome: (result) => {
          const r = result as MoveShardsResult;
          return { from: r.from, version: r.version, durationMs: r.durationMs };
        },
      },
      handle: ({ body }) => {
        if (!deps.moveShards) throw new HttpError(409, 'NOT_SHARDED', 'the cluster does not run on a shard map: start the nodes and the admin API with --zk-shards');
        return deps.moveShards(body.buckets, body.to);
      },
    }),
    ...rebalanceRoutes(deps.rebalancer),
    ...talkRoutes(deps.talks),
  ];
}

/** Automatic rebalancing (rebalance/): its status, and pause and resume (audited). */
function rebalanceRoutes(rebalancer: Rebalancer | undefined): RouteSpec[] {
  const enabled = (): Rebalancer => rebalancer ?? (() => {
    throw new HttpError(409, 'REBALANCE_DISABLED', 'automatic rebalancing is off for this admin API: start it with --rebalance (HIGHLANDER_API_REBALANCE=true)');
  })();
  const toggle = (name: 'pause' | 'resume', summary: string) => route({
    method: 'post', path: `/api/rebalance/${name}`, operationId: `${name}Rebalance`, tag: 'actions', access: 'operator', summary,
    body: RebalanceActionBody, response: RebalanceStatusSchema, errors: ['REBALANCE_DISABLED', 'COORDINATOR_UNAVAILABLE'],
    audit: { action: `rebalance.${name}`, target: () => ({ rebalance: 'cluster' }) },
    handle: (_input, { res }) => (name === 'pause' ? enabled().pause(principalOf(res)) : enabled().resume()),
  });
  return [
    route({
      method: 'get', path: '/api/rebalance', operationId: 'getRebalance', tag: 'cluster', access: 'viewer',
      summary: 'Automatic rebalancing: on or off, paused, balanced, active objects per node against the band, moves done, under way and remaining, the latest moves',
      description:
        'Balance is counted in active objects per node: a node further from the mean than max(mean × thresholdPercent / 100, minDifference) is out of ' +
        'balance. The admin API holding the rebalancing lock moves the coldest objects of the fullest nodes to the emptiest with the owner-driven ' +
        'migration, at a bounded rate, never an object twice within the cool-down. Off unless the admin API runs with --rebalance. ' +
        'The stream scope `{"subscribe":"rebalance"}` pushes the same status after each change.',
      response: RebalanceStatusSchema, errors: [],
      handle: () => rebalancer?.status() ?? { enabled: false },
    }),
    toggle('pause', 'Pause automatic rebalancing for the cluster (moves under way finish; kept in ZooKeeper, so it holds across admin APIs and restarts)'),
    toggle('resume', 'Resume automatic rebalancing'),
  ];
}

/**
 * The presenter's side of audience feedback (talks.ts): talks are objects of type `talk` driven
 * through the nodes; creating, opening, closing and resetting are audited actions.
 */
function talkRoutes(service: TalkService | undefined): RouteSpec[] {
  const talks = (): TalkService => service ?? unavailable();
  const TALK_ERRORS: ErrorCode[] = ['TALK_NOT_FOUND', 'TALKS_UNAVAILABLE', ...SERVICE_ERRORS];
  const action = (name: TalkAction, summary: string) => route({
    method: 'post', path: `/api/talks/:code/${name}`, operationId: `${name}Talk`, tag: 'talks', access: 'operator', summary,
    params: TalkParams, body: TalkActionBody, response: TalkViewSchema, errors: TALK_ERRORS,
    audit: { action: `talk.${name}`, target: (p) => ({ talk: p.code ?? '' }) },
    handle: ({ params }) => talks().act(params.code, name),
  });
  return [
    route({
      method: 'get', path: '/api/talks', operationId: 'listTalks', tag: 'talks', access: 'viewer',
      summary: 'Stored talks (audience feedback sessions), newest first, a page of the store at a time',
      query: TalksQuery, response: TalksPageSchema, errors: ['INVALID_CURSOR', 'STORE_UNAVAILABLE', 'TALKS_UNAVAILABLE'],
      handle: ({ query }) => talks().list(query),
    }),
    route({
      method: 'post', path: '/api/talks', operationId: 'createTalk', tag: 'talks', access: 'operator',
      summary: 'Create a talk with a fresh room code, open at once; answers its join URL',
      body: CreateTalkBody, response: TalkViewSchema, errors: ['TALKS_UNAVAILABLE', ...SERVICE_ERRORS],
      audit: { action: 'talk.create', target: (_p, result) => ({ talk: (result as TalkView | undefined)?.talk.code ?? '(none)' }) },
      handle: ({ body }) => talks().create(body.title),
    }),
    route({
      method: 'get', path: '/api/talks/:code', operationId: 'getTalk', tag: 'talks', access: 'viewer',
      summary: 'One talk: average, histogram, participants, reactions, timeline, and its join URL',
      params: TalkParams, response: TalkSnapshotViewSchema, errors: TALK_ERRORS,
      handle: async ({ params }) => {
        const [talk, joinUrl] = await Promise.all([talks().snapshot(params.code), talks().joinUrl(params.code)]);
        return { talk, joinUrl };
      },
    }),
    route({
      method: 'get', path: '/api/talks/:code/export', operationId: 'exportTalk', tag: 'talks', access: 'viewer',
      summary: 'Download a talk: JSON (positions, reactions, timeline, questions, cluster events) or CSV (the timeline, or the questions with table=questions)',
      params: TalkParams, query: TalkExportQuery, errors: TALK_ERRORS,
      success: { status: 200, description: 'The export as an attachment: application/json, or text/csv with format=csv', contentType: 'application/json' },
      handle: async ({ params, query }, { res }) => {
        const exported = await talks().export(params.code);
        const name = `talk-${params.code}-${new Date(exported.exportedAt).toISOString().replaceAll(':', '-').slice(0, 19)}`;
        if (query.format === 'csv') {
          const questions = query.table === 'questions';
          res.type('text/csv; charset=utf-8').attachment(`${name}${questions ? '-questions' : ''}.csv`).send(questions ? questionsCsv(exported) : timelineCsv(exported));
        } else {
          res.type('application/json').attachment(`${name}.json`).send(JSON.stringify(exported, null, 2));
        }
      },
    }),
    action('open', 'Open a talk: the audience\'s feedback counts again'),
    action('close', 'Close a talk: feedback is refused (`closed`) until it is opened again'),
    action('reset', 'Reset a talk: forget positions, reactions and the timeline; a new round starts (the questions stay)'),
    route({
      method: 'get', path: '/api/talks/:code/questions', operationId: 'talkQuestions', tag: 'talks', access: 'viewer',
      summary: 'The talk\'s audience questions as the presenter sees them: every one (pending and hidden too) with its votes, or those changed after `since`',
      params: TalkParams, query: QuestionsQuery, response: QnaPresenterViewSchema, errors: TALK_ERRORS,
      handle: ({ params, query }) => talks().questions(params.code, query.since),
    }),
    route({
      method: 'post', path: '/api/talks/:code/questions/moderate', operationId: 'moderateQuestion', tag: 'talks', access: 'operator',
      summary: 'Moderate one question: approve, answer, reopen, hide (from every phone), or put on screen (presenter mode) and take off',
      params: TalkParams, body: ModerateBody, response: QnaPresenterViewSchema, errors: [...TALK_ERRORS, 'QUESTION_NOT_FOUND'],
      audit: { action: 'talk.moderate', target: (p) => ({ talk: p.code ?? '' }) },
      handle: ({ params, body }) => talks().moderate(params.code, body.question, body.action),
    }),
    route({
      method: 'post', path: '/api/talks/:code/questions/settings', operationId: 'questionSettings', tag: 'talks', access: 'operator',
      summary: 'Whether new questions wait for the presenter\'s approval before phones see them',
      params: TalkParams, body: QnaSettingsBody, response: QnaPresenterViewSchema, errors: TALK_ERRORS,
      audit: { action: 'talk.settings', target: (p) => ({ talk: p.code ?? '' }) },
      handle: ({ params, body }) => talks().qnaSettings(params.code, body),
    }),
  ];
}

/** A value as the audit log keeps it: its size and SHA-256 as JSON (never the value: arguments may carry secrets). */
function digestOf(value: unknown): { bytes: number; sha256: string } {
  const json = JSON.stringify(value) ?? 'null';
  return { bytes: Buffer.byteLength(json), sha256: createHash('sha256').update(json).digest('hex') };
}

/** A state as the audit log keeps it: itself up to {@link MAX_AUDITED_STATE_BYTES}, so it can be restored; else its digest. */
function keptOrDigest(state: unknown): unknown {
  const digest = digestOf(state);
  return digest.bytes <= MAX_AUDITED_STATE_BYTES ? { ...digest, value: state } : digest;
}

function unavailable(): never {
  throw new HttpError(503, 'TALKS_UNAVAILABLE', 'this admin API runs without a talk service');
}

function nodeNotFound(name: string): never {
  throw new HttpError(404, 'NODE_NOT_FOUND', `no node '${name}' in the cluster`, { node: name });
}
