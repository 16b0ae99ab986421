import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { AuditAction, AuditLog, AuditTarget } from './audit-log.js';
import type { ClusterActions, ClusterModel, Storage } from './contracts.js';
import { HttpError, type ErrorCode } from './http-error.js';
import type { AdminMetrics } from './metrics.js';
import {
  AuditPageSchema, AuditQuery, ClusterSummarySchema, DrainBody, DrainResultSchema, EventsPageSchema, EventsQuery, EvictBody,
  EvictResultSchema, HealthSchema, LockQueueSchema, MigrateBody, MigrateResultSchema, NodeParams, NodeViewSchema, NodesSchema,
  ObjectDetailSchema, ObjectParams, ObjectsPageSchema, ObjectsQuery, PersistedObjectSchema, ReadySchema, StoragePageSchema,
  StorageQuery, CreateTalkBody, TalkActionBody, TalkExportQuery, TalkParams, TalkSnapshotViewSchema, TalkViewSchema, TalksPageSchema,
  TalksQuery, QuestionsQuery, ModerateBody, QnaSettingsBody, QnaPresenterViewSchema,
} from './schemas.js';
import { questionsCsv, timelineCsv, type TalkAction, type TalkService, type TalkView } from './talks.js';

/**
 * Every HTTP route of the admin API, declared once: its schemas (validated by app.ts, documented by
 * openapi.ts), who may call it, the error codes it answers with besides the common ones, whether it
 * is an audited action, and its handler.
 */

/** `public`: no token; `viewer`: a viewer or operator token; `operator`: an operator token, and audited. */
export type Access = 'public' | 'viewer' | 'operator';

export interface RouteInput<P = unknown, Q = unknown, B = unknown> {
  params: P;
  query: Q;
  body: B;
}

export interface RouteSpec {
  method: 'get' | 'post';
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
  /** Actions: what the audit log records (`result`: the action's answer, when it succeeded). */
  audit?: { action: AuditAction; target: (params: Record<string, string>, result?: unknown) => AuditTarget };
  handle(input: RouteInput, context: { req: Request; res: Response }): unknown;
}

/** Declares a route with its handler typed by its schemas. */
function route<P extends z.ZodObject | undefined = undefined, Q extends z.ZodObject | undefined = undefined, B extends z.ZodObject | undefined = undefined>(
  spec: Omit<RouteSpec, 'params' | 'query' | 'body' | 'handle'> & {
    params?: P;
    query?: Q;
    body?: B;
    handle(input: RouteInput<Out<P>, Out<Q>, Out<B>>, context: { req: Request; res: Response }): unknown;
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
}

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
        '`{"subscribe":"summary"}`, `{"subscribe":"events","since":n}`, `{"subscribe":"object","type":t,"id":i}` or ' +
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
      method: 'get', path: '/api/audit', operationId: 'listAudit', tag: 'audit', access: 'viewer',
      summary: 'The audit log of actions, newest first', query: AuditQuery, response: AuditPageSchema, errors: [],
      handle: ({ query }) => audit.list({ limit: query.limit, ...(query.cursor ? { before: Number(query.cursor) } : {}) }),
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
        return actions.migrate(params.type, params.id, body.to);
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
    ...talkRoutes(deps.talks),
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

function unavailable(): never {
  throw new HttpError(503, 'TALKS_UNAVAILABLE', 'this admin API runs without a talk service');
}

function nodeNotFound(name: string): never {
  throw new HttpError(404, 'NODE_NOT_FOUND', `no node '${name}' in the cluster`, { node: name });
}
