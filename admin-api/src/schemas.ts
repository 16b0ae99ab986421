import { z } from 'zod';
import { HighlanderError } from '@highlander/runtime';
import {
  MAX_NODE_NAME_LENGTH, MAX_OBJECT_ID_LENGTH, MAX_TYPE_NAME_LENGTH, validateNodeName, validateObjectId, validateTypeName,
} from '@highlander/runtime';
import { MAX_TITLE_LENGTH, MODERATION_ACTIONS, type ModerationAction, type QnaPresenterView } from '@highlander/audience';
import { CODE_PATTERN } from '@highlander/audience';
import { AUDIT_ACTIONS, type AuditRecord } from './audit-log.js';
import type { HistoryPage } from './object-history.js';
import type { TalkAggregates, TalkSnapshot } from '@highlander/audience';
import type {
  CallResult, ClusterSummary, DrainResult, EvictResult, HotObjectView, ObjectTypeView, ReplaceStateResult, LockQueueEntryView, MigrateResult, NodeView, ObjectDetail, ObjectView, Page, PersistedObject, StoredSummary,
} from './contracts.js';
import type { TalkSummary } from './talks.js';

/**
 * The zod schemas of the admin API: what it accepts (validated at the edge, so bad input gets a 400
 * naming the field) and what it answers (used for the OpenAPI document; checked against
 * contracts.ts at compile time below).
 */

// ---- names: the runtime's own validation (runtime/src/names.ts), with its messages ----

/** A zod string checked by one of the runtime's name validators; `docs` describes it in JSON Schema. */
function runtimeName(validate: (value: unknown) => string, docs: { pattern: string; maxLength: number; description: string }) {
  return z
    .string()
    .superRefine((value, ctx) => {
      try {
        validate(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: err instanceof HighlanderError ? err.message : String(err) });
      }
    })
    .meta({ ...docs, minLength: 1 });
}

export const TypeName = runtimeName(validateTypeName, {
  pattern: '^[a-z][a-z0-9-]*$', maxLength: MAX_TYPE_NAME_LENGTH, description: 'An object type name.',
});
export const ObjectId = runtimeName(validateObjectId, {
  pattern: '^[A-Za-z0-9._:@-]+$', maxLength: MAX_OBJECT_ID_LENGTH, description: "An object id (not '.' or '..').",
});
export const NodeName = runtimeName(validateNodeName, {
  pattern: '^[A-Za-z0-9_-]+$', maxLength: MAX_NODE_NAME_LENGTH, description: 'A node name.',
});
/** The start of object ids; empty matches every id. */
export const IdPrefix = z
  .string()
  .max(MAX_OBJECT_ID_LENGTH)
  .regex(/^[A-Za-z0-9._:@-]*$/, 'an id prefix has only the characters of object ids: A-Z a-z 0-9 . _ : @ -');

export const Limit = z.coerce.number().int().min(1).max(1000).default(100).meta({ description: 'Items per page, 1..1000.' });
export const Cursor = z.string().min(1).max(2048).meta({ description: 'Opaque: the `cursor` of the previous page.' });

// ---- path parameters ----

export const NodeParams = z.strictObject({ name: NodeName });
export const ObjectParams = z.strictObject({ type: TypeName, id: ObjectId });

// ---- queries ----

export const ObjectsQuery = z.strictObject({
  type: TypeName.optional(),
  node: NodeName.optional().meta({ description: 'Only objects owned by this node.' }),
  idPrefix: IdPrefix.optional(),
  sort: z.enum(['id', 'type', 'owner', 'activeSince', 'callsPerSecond']).default('id'),
  order: z.enum(['asc', 'desc']).default('asc'),
  cursor: Cursor.optional(),
  limit: Limit,
});

/** What `GET /api/hot` and the stream's `hot` scope rank by. */
export const HOT_RANKINGS = ['calls', 'errors', 'p99', 'queue', 'state'] as const;
export const HotRankingSchema = z.enum(HOT_RANKINGS, { error: `must be one of ${HOT_RANKINGS.join(', ')}` });
const HOT_LIMIT_RULE = 'must be a whole number from 1 to 200';
/** Rows of a hot ranking: from a query string (`coerce`), or a JSON number (the stream). */
export function hotLimit(coerce: boolean) {
  const number = coerce ? z.coerce.number({ error: HOT_LIMIT_RULE }) : z.number({ error: HOT_LIMIT_RULE });
  return number.int(HOT_LIMIT_RULE).min(1, 'must be at least 1').max(200, 'must be at most 200');
}

export const HotQueryParams = z.strictObject({
  by: HotRankingSchema.default('calls').meta({
    description: 'Rank by calls per second (calls), error rate (errors), p99 latency (p99), mailbox length (queue) or state size (state).',
  }),
  type: TypeName.optional().meta({ description: 'Only objects of this type.' }),
  node: NodeName.optional().meta({ description: 'Only objects listed by this node (their owner).' }),
  limit: hotLimit(true).default(20).meta({ description: 'Rows, 1..200.' }),
});

export const StorageQuery = z.strictObject({
  type: TypeName.optional(),
  prefix: IdPrefix.optional().meta({ description: 'Start of the object ids (within `type` when given).' }),
  cursor: Cursor.optional(),
  limit: Limit,
});

export const EventsQuery = z.strictObject({
  since: z.coerce.number().int().min(0).default(0).meta({ description: 'Events after this cursor (0: the oldest kept).' }),
  limit: Limit,
});

export const MetricsHistoryQuery = z.strictObject({
  resolution: z.enum(['1s', '1m'], { error: "resolution must be '1s' (each node's samples, the last hour) or '1m' (per node and minute, the last day)" })
    .default('1s').meta({ description: "`1s`: every node's samples as sent, the last hour; `1m`: rolled up per node and minute, the last day." }),
  since: z.coerce.number({ error: 'since must be a time in ms since the epoch' }).int('since must be a whole number of ms since the epoch').min(0).default(0)
    .meta({ description: 'Samples that ended after this time (ms since the epoch; 0: all kept).' }),
});

const HISTORY_LIMIT_RULE = 'must be a whole number from 1 to 1000';
const HISTORY_BEFORE_RULE = 'must be the cursor of a previous page (a whole number from 1)';
export const ObjectHistoryQuery = z.strictObject({
  limit: z.coerce.number({ error: HISTORY_LIMIT_RULE }).int(HISTORY_LIMIT_RULE).min(1, 'must be at least 1').max(1000, 'must be at most 1000').default(100)
    .meta({ description: 'Entries, 1..1000 (default 100).' }),
  before: z.coerce.number({ error: HISTORY_BEFORE_RULE }).int(HISTORY_BEFORE_RULE).min(1, HISTORY_BEFORE_RULE).max(Number.MAX_SAFE_INTEGER, HISTORY_BEFORE_RULE).optional()
    .meta({ description: 'Entries older than this: the `cursor` of the previous page.' }),
});

export const AuditQuery = z.strictObject({
  cursor: z.string().regex(/^[1-9][0-9]{0,15}$/, 'an audit cursor is the id of the last record of the previous page').optional(),
  limit: Limit,
  action: z.enum(AUDIT_ACTIONS).optional().meta({ description: 'Only records of this action (e.g. `state.replace`: the state edits).' }),
  type: TypeName.optional().meta({ description: 'With `id`: only records about this object.' }),
  id: ObjectId.optional().meta({ description: 'With `type`: only records about this object.' }),
}).refine((q) => (q.type === undefined) === (q.id === undefined), { message: 'give both type and id (one object), or neither', path: ['id'] });

/** Routes without a query still refuse unknown parameters (a typo should not be silently ignored). */
export const NoQuery = z.strictObject({});

// ---- bodies ----

export const EvictBody = z.strictObject({
  force: z.boolean().default(false).meta({ description: "When the owner does not answer, delete its lock znode (safe: fencing stops its writes)." }),
});
export const MigrateBody = z.strictObject({ to: NodeName.meta({ description: 'The node to move the object to: live, not draining, not its owner.' }) });
export const DrainBody = z.strictObject({});
export const RebalanceActionBody = z.strictObject({});

export const CallBody = z.strictObject({
  handler: z.string().min(1).max(200).meta({ description: 'The name of a handler (changes state: operators only) or a query (read-only: viewers too), as `GET /api/types` lists them.' }),
  arg: z.unknown().optional().meta({ description: 'The argument, any JSON (omit for a handler that takes none); at most the state-size limit as JSON.' }),
  timeoutMs: z.number().int().min(1).max(600_000).optional().meta({ description: 'Give up after this long (CALL_TIMEOUT: it may or may not have taken effect). Default: 10000.' }),
});

const JsonState = z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())]).meta({ description: 'A JSON object or array.' });
export const ReplaceStateBody = z.strictObject({
  state: JsonState.meta({ description: 'The new state: a JSON object or array, at most the state-size limit as JSON.' }),
  expectedVersion: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).meta({
    description: 'The version of the state this one replaces, as `GET /api/objects/{type}/{id}` showed it (memory.version, or persisted.version when not active; 0 when nothing is stored). Another version: 409 VERSION_CONFLICT with the current version and state.',
  }),
});

// ---- responses ----

export const NodeViewSchema = z.object({
  name: z.string(),
  address: z.string(),
  pid: z.number().int(),
  startedAt: z.number().meta({ description: 'Wall-clock ms since the epoch.' }),
  uptimeMs: z.number(),
  status: z.enum(['up', 'draining', 'unreachable']),
  activations: z.number().int(),
  full: z.boolean().meta({ description: 'At its lock budget (--lock-budget-bytes): it refuses new activations (NODE_FULL) and placement uses other nodes.' }),
  callsPerSecond: z.number(),
}).meta({ id: 'NodeView' });

export const ObjectViewSchema = z.object({
  type: z.string(),
  id: z.string(),
  owner: z.string(),
  epoch: z.string(),
  activeSince: z.number(),
  lastCallAt: z.number().nullable(),
  callsPerSecond: z.number(),
  queueLength: z.number().int(),
  waiting: z.number().int(),
}).meta({ id: 'ObjectView' });

export const LockQueueEntrySchema = z.object({
  node: z.string(),
  sequence: z.number().int(),
  path: z.string(),
  waitingSince: z.number().nullable(),
}).meta({ id: 'LockQueueEntry' });

export const ClusterSummarySchema = z.object({
  nodes: z.number().int(),
  objects: z.number().int(),
  byType: z.record(z.string(), z.number().int()),
  callsPerSecond: z.number(),
  eventCursor: z.number().int(),
  lastReconcile: z.object({ at: z.number(), durationMs: z.number() }).nullable(),
  persisted: z.object({ objects: z.number().int(), byType: z.record(z.string(), z.number().int()), listedAt: z.number(), durationMs: z.number() }).nullable()
    .meta({ description: 'Persisted objects per the last full S3 listing (taken at start and with every periodic reconciliation).' }),
}).meta({ id: 'ClusterSummary' });

export const ObjectsPageSchema = z.object({
  items: z.array(ObjectViewSchema),
  cursor: z.string().optional(),
  total: z.number().int(),
});

export const NodesSchema = z.object({ items: z.array(NodeViewSchema) });

export const HotObjectViewSchema = z.object({
  type: z.string(),
  id: z.string(),
  node: z.string().meta({ description: 'The node whose latest stats listed it (its owner then).' }),
  callsPerSecond: z.number(),
  errorRate: z.number().meta({ description: 'Calls that failed with an error (not a declared rejection), as a fraction of its calls: 0..1.' }),
  p99Ms: z.number(),
  queue: z.number().int().meta({ description: 'Calls waiting in its mailbox at the end of the interval.' }),
  stateBytes: z.number().int().meta({ description: 'Its state as JSON, in bytes.' }),
}).meta({ id: 'HotObjectView' });

export const HotPageSchema = z.object({
  by: HotRankingSchema,
  items: z.array(HotObjectViewSchema),
});

export const PersistedObjectSchema = z.object({
  type: z.string(),
  id: z.string(),
  key: z.string(),
  etag: z.string(),
  epoch: z.string(),
  version: z.number().int(),
  size: z.number().int(),
  lastModified: z.number().nullable(),
  state: z.unknown(),
}).meta({ id: 'PersistedObject' });

export const ObjectDetailSchema = z.object({
  object: ObjectViewSchema.nullable(),
  queue: z.array(LockQueueEntrySchema),
  memory: z.object({ state: z.unknown(), version: z.number().int(), queueLength: z.number().int() }).nullable(),
  persisted: PersistedObjectSchema.nullable(),
}).meta({ id: 'ObjectDetail' });

export const LockQueueSchema = z.object({ type: z.string(), id: z.string(), queue: z.array(LockQueueEntrySchema) });

export const StoredSummarySchema = z.object({
  type: z.string(),
  id: z.string(),
  key: z.string(),
  size: z.number().int(),
  etag: z.string(),
  lastModified: z.number().nullable(),
}).meta({ id: 'StoredSummary' });

export const StoragePageSchema = z.object({ items: z.array(StoredSummarySchema), cursor: z.string().optional() });

/** A lifecycle event (runtime/src/events.ts) numbered by the admin API; the fields beyond these depend on `kind`. */
export const ModelEventSchema = z.looseObject({
  kind: z.enum([
    'node.up', 'node.down', 'node.joined', 'node.left', 'node.session-lost', 'node.draining', 'node.drained',
    'lock.queued', 'lock.acquired', 'lock.released', 'object.activated', 'object.persisted', 'object.persist-failed',
    'object.deactivated', 'object.migrated', 'object.fenced', 'stats',
  ]),
  seq: z.number().int().meta({ description: 'Per-node sequence number.' }),
  node: z.string(),
  time: z.number(),
  cursor: z.number().int().meta({ description: 'One cursor across every node: pass it back as `since`.' }),
}).meta({ id: 'ModelEvent' });

export const EventsPageSchema = z.object({ events: z.array(ModelEventSchema), cursor: z.number().int() });

const SampleTypeStatsSchema = z.object({
  calls: z.number().int(), errors: z.number().int(), rejected: z.number().int(), p50Ms: z.number(), p99Ms: z.number(),
});

/** One node's calls over an interval: a `stats` event without its busiest objects, or a minute of them rolled up. */
export const StatsSampleSchema = z.object({
  cursor: z.number().int().meta({ description: 'The `stats` event\'s cursor (0 in a minute rollup).' }),
  node: z.string(),
  time: z.number().meta({ description: 'When the interval ended (ms since the epoch).' }),
  intervalMs: z.number(),
  activations: z.number().int(),
  byType: z.record(z.string(), SampleTypeStatsSchema).meta({ description: 'Per type: calls, errors, declared rejections, p50/p99 (a rollup: calls-weighted p50, highest p99).' }),
}).meta({ id: 'StatsSample' });

export const MetricsHistorySchema = z.object({ resolution: z.enum(['1s', '1m']), samples: z.array(StatsSampleSchema) });

const ACTIVATION_END_REASONS = ['idle', 'evicted', 'migrated', 'drained', 'shutdown', 'fenced', 'session-lost', 'node-left', 'unknown'] as const;
export const HistoryEntrySchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('activation'),
    seq: z.number().int().meta({ description: 'Increasing over the whole history: the paging cursor.' }),
    node: z.string(),
    epoch: z.string(),
    start: z.number().meta({ description: 'When it became active (ms since the epoch).' }),
    end: z.number().nullable().meta({ description: 'When it ended (ms since the epoch); null while active.' }),
    reason: z.enum(ACTIVATION_END_REASONS).nullable().meta({
      description: "Why it ended: the runtime's deactivation reason; `node-left`: its node left the cluster without saying; `unknown`: a later activation began before its end was reported. Null while active.",
    }),
    activeMs: z.number().nullable().meta({ description: 'How long it was active, as its node measured it (null while active, or not reported).' }),
  }).meta({ id: 'HistoryActivation' }),
  z.object({ kind: z.literal('migration'), seq: z.number().int(), time: z.number(), from: z.string(), to: z.string(), durationMs: z.number() }).meta({ id: 'HistoryMigration' }),
  z.object({
    kind: z.literal('fenced'), seq: z.number().int(), time: z.number(),
    node: z.string().meta({ description: 'The node whose write the store refused (a former owner).' }), epoch: z.string(),
  }).meta({ id: 'HistoryFenced' }),
]);

export const HistoryPageSchema = z.object({
  type: z.string(),
  id: z.string(),
  items: z.array(HistoryEntrySchema).meta({ description: 'Newest first.' }),
  cursor: z.string().optional().meta({ description: 'Pass back as `before` for older entries; absent on the last page.' }),
}).meta({ id: 'HistoryPage' });

export const PrincipalSchema = z.object({ name: z.string(), role: z.enum(['viewer', 'operator']) });

export const AuditRecordSchema = z.object({
  id: z.number().int(),
  time: z.number(),
  who: PrincipalSchema,
  action: z.enum(AUDIT_ACTIONS),
  target: z.union([z.object({ type: z.string(), id: z.string() }), z.object({ node: z.string() }), z.object({ talk: z.string() }), z.object({ rebalance: z.literal('cluster') }), z.object({ shards: z.literal('cluster') })]),
  params: z.record(z.string(), z.unknown()),
  result: z.enum(['ok', 'error']),
  outcome: z.record(z.string(), z.unknown()).optional().meta({
    description: "For some actions that succeeded: a call's `kind`; a replacement's `previousVersion` and the state it replaced (`previous`, or its size and SHA-256 when large).",
  }),
  error: z.object({ status: z.number().int(), code: z.string(), message: z.string() }).optional(),
  durationMs: z.number(),
  clientAddress: z.string(),
  userAgent: z.string().nullable(),
}).meta({ id: 'AuditRecord' });

export const AuditPageSchema = z.object({ items: z.array(AuditRecordSchema), cursor: z.string().optional() });

export const EvictResultSchema = z.object({ owner: z.string(), forced: z.boolean(), durationMs: z.number() });
export const MigrateResultSchema = z.object({ from: z.string(), to: z.string(), durationMs: z.number() });
export const DrainResultSchema = z.object({ node: z.string(), deactivated: z.number().int(), durationMs: z.number() });

const RebalancePolicySchema = z.object({
  thresholdPercent: z.number(), minDifference: z.number().int(), cooldownMs: z.number().int(), movesPerSecond: z.number(), concurrency: z.number().int(),
});

export const RebalanceStatusSchema = z.object({
  enabled: z.boolean().meta({ description: 'Automatic rebalancing is on for this admin API (--rebalance); when off, the other fields are absent.' }),
  paused: z.boolean().optional(),
  pausedBy: z.object({ name: z.string(), at: z.number() }).optional().meta({ description: 'Who paused it and when (ms since the epoch), while paused.' }),
  leader: z.boolean().optional().meta({ description: 'This admin API moves objects (it holds the rebalancing lock under the cluster root in ZooKeeper).' }),
  balanced: z.boolean().optional(),
  mean: z.number().optional().meta({ description: 'Mean active objects of the nodes that may take objects (up, not full).' }),
  allowance: z.number().optional().meta({ description: 'How far from the mean a node may be: max(mean × thresholdPercent / 100, minDifference).' }),
  nodes: z.array(z.object({
    name: z.string(),
    objects: z.number().int().meta({ description: 'Active objects, counting moves under way as done.' }),
    role: z.enum(['gives', 'takes', 'balanced', 'excluded']),
    excluded: z.enum(['draining', 'unreachable', 'full']).optional(),
  })).optional(),
  moves: z.object({
    done: z.number().int(), failed: z.number().int(), inFlight: z.number().int(),
    remaining: z.number().int().meta({ description: 'Moves still needed to bring every node inside the band (an estimate).' }),
  }).optional(),
  recent: z.array(z.object({
    type: z.string(), id: z.string(), from: z.string(), to: z.string(), startedAt: z.number(),
    state: z.enum(['in-flight', 'done', 'failed']), durationMs: z.number().optional(), error: z.string().optional(),
  })).optional().meta({ description: "This admin API's latest moves, newest first (at most 50)." }),
  policy: RebalancePolicySchema.optional(),
}).meta({ id: 'RebalanceStatus' });

export const ObjectTypeViewSchema = z.object({
  type: z.string(),
  handlers: z.array(z.string()).meta({ description: 'Operations that may change the state: operators only.' }),
  queries: z.array(z.string()).meta({ description: 'Read-only operations: viewers too.' }),
  errors: z.array(z.string()).meta({ description: "Declared errors: OBJECT_REJECTED with details.error one of these." }),
  args: z.record(z.string(), z.record(z.string(), z.unknown())).optional()
    .meta({ description: "Each operation's argument as JSON Schema (draft 2020-12), where its schema can say; the dashboard draws a form from it." }),
}).meta({ id: 'ObjectTypeView' });
export const TypesSchema = z.object({ items: z.array(ObjectTypeViewSchema) });

export const CallResultSchema = z.object({
  type: z.string(),
  id: z.string(),
  handler: z.string(),
  kind: z.enum(['handler', 'query']),
  value: z.unknown().meta({ description: 'The reply (null for a handler without one).' }),
  durationMs: z.number(),
}).meta({ id: 'CallResult' });

export const ReplaceStateResultSchema = z.object({
  previousVersion: z.number().int(),
  previous: z.unknown().meta({ description: 'The state that was replaced.' }),
  durationMs: z.number(),
}).meta({ id: 'ReplaceStateResult' });

export const HealthSchema = z.object({ status: z.literal('ok') });

export const ShardsSchema = z.object({
  sharded: z.boolean().meta({ description: 'The cluster runs on a shard map (--zk-shards): its lock queues are spread over several ZooKeeper ensembles.' }),
  version: z.number().int().optional().meta({ description: "The shard map's version, when sharded." }),
  ensembles: z.array(z.object({
    name: z.string().meta({ description: '`home` (--zk) or the shard\'s name.' }),
    connect: z.string(),
    buckets: z.array(z.string()).meta({ description: 'Bucket ranges like `800-fff`; an object\'s bucket is the first three hex digits of SHA-256 of its id.' }),
    bucketCount: z.number().int(),
    generation: z.number().int().meta({ description: 'Epochs of its locks are generation × 2^64 + the lock znode\'s czxid.' }),
    connected: z.boolean().meta({ description: "The admin API's session with this ensemble is connected." }),
  })),
  moving: z.object({
    buckets: z.array(z.string()), from: z.string(), to: z.string(),
    waitingFor: z.array(z.string()).optional().meta({ description: 'Live nodes that have not drained the moving buckets yet (when this admin API runs the move).' }),
    locksLeft: z.number().int().optional().meta({ description: 'Lock queues still held in the source ensemble\'s moving buckets (when this admin API runs the move).' }),
  }).optional().meta({ description: 'A move of buckets to a standby shard under way: calls to objects in those buckets wait until it is done.' }),
}).meta({ id: 'Shards' });

const BucketRange = z.string().regex(/^[0-9a-f]{3}(-[0-9a-f]{3})?$/, 'must be a bucket (three lower-case hex digits, e.g. a3c) or a range (e.g. 800-bff)');
export const MoveShardsBody = z.strictObject({
  buckets: z.array(BucketRange).min(1).max(64).meta({ description: 'Bucket ranges to move, all in one ensemble now.' }),
  to: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a shard name from the shard map (lower-case letters, digits, hyphens)').meta({ description: 'A standby shard: listed in --zk-shards with no buckets.' }),
});

export const MoveShardsResultSchema = z.object({
  from: z.string(), to: z.string(), buckets: z.array(z.string()), version: z.number().int(), durationMs: z.number(),
  map: z.object({
    version: z.number().int(),
    shards: z.array(z.object({ name: z.string(), connect: z.string(), buckets: z.array(z.string()), generation: z.number().int() })),
  }).meta({ description: 'The map now in force: what every --zk-shards file should say from now on (nodes started with the old file are refused).' }),
});
export const ReadySchema = z.object({ ready: z.literal(true) });

export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
    correlationId: z.string().optional().meta({ description: 'On 500s: the id under which the error is logged.' }),
  }),
}).meta({ id: 'Error' });

// ---- talks: audience feedback sessions (talks.ts, audience/src/objects.ts) ----

export const TalkCode = z.string().regex(CODE_PATTERN, 'a talk code is 4-8 of ABCDEFGHJKMNPQRSTUVWXYZ23456789 (uppercase)')
  .meta({ description: 'A talk\'s room code.', pattern: CODE_PATTERN.source });
export const TalkParams = z.strictObject({ code: TalkCode });
export const TalksQuery = z.strictObject({ cursor: Cursor.optional(), limit: Limit });
export const CreateTalkBody = z.strictObject({
  title: z.string().trim().min(1).max(MAX_TITLE_LENGTH).meta({ description: 'Shown to the audience and the presenter.' }),
});
export const TalkActionBody = z.strictObject({});
export const TalkExportQuery = z.strictObject({
  format: z.enum(['json', 'csv']).default('json').meta({ description: '`json`: everything (positions, reactions, timeline, questions, cluster events); `csv`: one table.' }),
  table: z.enum(['timeline', 'questions']).default('timeline').meta({ description: 'With `format=csv`: the timeline (a row per point) or the questions (a row per question, most votes first).' }),
});

export const QuestionsQuery = z.strictObject({
  since: z.coerce.number().int().min(0).optional().meta({ description: 'Only the questions changed after this version (the `version` of an earlier answer).' }),
});
export const ModerateBody = z.strictObject({
  question: z.number().int().min(1).meta({ description: 'The question\'s id.' }),
  action: z.enum(MODERATION_ACTIONS as [ModerationAction, ...ModerationAction[]]).meta({
    description: '`approve` (a pending question appears), `answer`, `reopen` (answered or hidden back to open), `hide` (from every phone), `screen` (shown large in presenter mode; one at a time), `unscreen`.',
  }),
});
export const QnaSettingsBody = z.strictObject({
  approval: z.boolean().meta({ description: 'New questions wait for approval before phones see them.' }),
});

const QuestionStatusSchema = z.enum(['pending', 'open', 'answered', 'hidden']);
export const QnaPresenterViewSchema = z.object({
  version: z.number().int(),
  approval: z.boolean(),
  onScreen: z.number().int().nullable(),
  full: z.boolean(),
  questions: z.array(z.object({ id: z.number().int(), text: z.string(), votes: z.number().int(), status: QuestionStatusSchema, at: z.number() }).meta({ id: 'PresenterQuestion' })),
  count: z.number().int(),
}).meta({ id: 'QnaPresenterView' });

const TalkStatusSchema = z.enum(['open', 'closed']);
const ReactionSchema = z.object({ seq: z.number().int(), emoji: z.string(), at: z.number() }).meta({ id: 'Reaction' });
const TimelinePointSchema = z.object({
  t: z.number(), average: z.number().nullable(), participants: z.number().int(), connected: z.number().int(), reactions: z.number().int(),
}).meta({ id: 'TimelinePoint' });

export const TalkAggregatesSchema = z.object({
  code: z.string(),
  title: z.string(),
  status: TalkStatusSchema,
  createdAt: z.number(),
  openedAt: z.number().nullable(),
  closedAt: z.number().nullable(),
  round: z.number().int().meta({ description: 'Increases on every reset.' }),
  participants: z.number().int().meta({ description: 'Devices with a slider position.' }),
  connected: z.number().int().meta({ description: 'Devices connected to a gateway now.' }),
  gateways: z.array(z.object({ name: z.string(), connected: z.number().int(), at: z.number(), fresh: z.boolean() })),
  average: z.number().nullable(),
  histogram: z.array(z.number().int()).meta({ description: '11 buckets: bucket i counts positions p with round(p / 10) = i.' }),
  totals: z.record(z.string(), z.number().int()),
  reactionSeq: z.number().int(),
  reactionsPerMinute: z.number().int(),
  at: z.number(),
}).meta({ id: 'TalkAggregates' });

export const TalkSnapshotSchema = TalkAggregatesSchema.extend({
  reactions: z.array(ReactionSchema),
  reactionsGap: z.boolean(),
  timeline: z.array(TimelinePointSchema),
}).meta({ id: 'TalkSnapshot' });

export const TalkViewSchema = z.object({
  talk: TalkAggregatesSchema,
  joinUrl: z.string().nullable().meta({ description: 'The audience page of this talk (null when no gateway URL is known).' }),
});
export const TalkSnapshotViewSchema = z.object({ talk: TalkSnapshotSchema, joinUrl: z.string().nullable() });

export const TalkSummarySchema = z.object({
  code: z.string(), title: z.string(), status: TalkStatusSchema, createdAt: z.number(), participants: z.number().int(), owner: z.string().nullable(),
}).meta({ id: 'TalkSummary' });
export const TalksPageSchema = z.object({ items: z.array(TalkSummarySchema), cursor: z.string().optional() });

// The ws stream's client messages are in stream/protocol.ts, next to the server's.

// ---- the response schemas describe exactly the contract types (a compile error when they drift) ----

type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemasMatchContracts: [
  Exactly<z.infer<typeof NodeViewSchema>, NodeView>,
  Exactly<z.infer<typeof ObjectViewSchema>, ObjectView>,
  Exactly<z.infer<typeof LockQueueEntrySchema>, LockQueueEntryView>,
  Exactly<z.infer<typeof ClusterSummarySchema>, ClusterSummary>,
  Exactly<z.infer<typeof ObjectsPageSchema>, Page<ObjectView>>,
  Exactly<z.infer<typeof HotObjectViewSchema>, HotObjectView>,
  Exactly<z.infer<typeof PersistedObjectSchema>, PersistedObject>,
  Exactly<z.infer<typeof ObjectDetailSchema>, ObjectDetail>,
  Exactly<z.infer<typeof StoredSummarySchema>, StoredSummary>,
  Exactly<z.infer<typeof AuditRecordSchema>, AuditRecord>,
  Exactly<z.infer<typeof TalkAggregatesSchema>, TalkAggregates>,
  Exactly<z.infer<typeof TalkSnapshotSchema>, TalkSnapshot>,
  Exactly<z.infer<typeof TalkSummarySchema>, TalkSummary>,
  Exactly<z.infer<typeof QnaPresenterViewSchema>, QnaPresenterView>,
  Exactly<z.infer<typeof EvictResultSchema>, EvictResult>,
  Exactly<z.infer<typeof MigrateResultSchema>, MigrateResult>,
  Exactly<z.infer<typeof DrainResultSchema>, DrainResult>,
  Exactly<z.infer<typeof ObjectTypeViewSchema>, ObjectTypeView>,
  Exactly<z.infer<typeof CallResultSchema>, CallResult>,
  Exactly<z.infer<typeof ReplaceStateResultSchema>, ReplaceStateResult>,
  Exactly<z.infer<typeof HistoryPageSchema>, HistoryPage>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true];
void schemasMatchContracts;
