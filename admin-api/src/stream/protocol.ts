import { z } from 'zod';
import { CODE_PATTERN } from '@highlander/audience';
import type { QnaPresenterView, Reaction, TalkAggregates, TalkSnapshot, TimelinePoint } from '@highlander/audience';
import type { Principal } from '../auth.js';
import type { RebalanceStatus } from '../rebalance/rebalancer.js';
import type { ClusterSummary, HotObjectView, HotRanking, LockQueueEntryView, ModelEvent, NodeView, ObjectDetail, ObjectView } from '../contracts.js';
import { HotRankingSchema, hotLimit, NodeName, ObjectId, TypeName } from '../schemas.js';

/**
 * The live stream at `ws://<admin-api>/api/stream`: a snapshot per subscription, then coalesced deltas.
 * This module is the protocol's one description: the zod schemas of what clients send, and the
 * types of what the server sends. The dashboard imports its types (`@highlander/admin-api/protocol`,
 * with `import type` only: nothing of the server reaches the browser).
 *
 * Connecting: offer the subprotocols `highlander.v1` and `bearer.<token>` (a viewer or operator
 * token; non-browser clients may send `Authorization: Bearer <token>` instead). Refused before the
 * upgrade, with a JSON error body: 401 no or unknown token, 403 an `Origin` that is neither the API's
 * own nor in `allowedOrigins`, 400 a `bearer.` subprotocol without `highlander.v1`, 503 too many clients.
 *
 * Client → server (JSON text, at most 4 KiB, at most `maxMessagesPerSecond`):
 *   { "subscribe": "summary", "objects"?: true }     cluster summary, nodes, and every node/object change;
 *                                                    with `objects`, the snapshot lists every active object too
 *   { "subscribe": "events", "since"?: <cursor> }     the event feed (after `since`; without it, the newest)
 *   { "subscribe": "object", "type": t, "id": i }     one object: detail, live lock queue, its events (one at a time)
 *   { "subscribe": "talk", "code": c }                one talk's audience feedback (one at a time; see talk-feed.ts)
 *   { "subscribe": "hot", "by"?: r, "type"?: t, "node"?: n, "limit"?: 1..200 }
 *                                                    the hottest objects (as GET /api/hot ranks them; by calls, 20 rows
 *                                                    unless given), again after each node's stats interval (one at a time)
 *   { "subscribe": "rebalance" }                     automatic rebalancing's status (as GET /api/rebalance answers it)
 *   { "unsubscribe": "summary" | "events" | "object" | "talk" | "hot" | "rebalance" }
 *
 * Server → client (JSON text):
 *   { kind: 'hello', protocol: 'highlander.v1', who: { name, role }, readOnly, flushIntervalMs }
 *   { kind: 'snapshot', scope: 'summary', summary, nodes: NodeView[], objects?: ObjectRow[] }
 *       ObjectRow = [type, id, owner, epoch, activeSince, lastCallAt, callsPerSecond, queueLength, waiting]
 *       (an ObjectView as a tuple: a third of the bytes for the tens of thousands a cluster map needs)
 *   { kind: 'delta', scope: 'summary', summary, nodes: { name, node: NodeView | null }[], objects: { type, id, object: ObjectView | null }[] }
 *   { kind: 'snapshot', scope: 'events', events: ModelEvent[], cursor, gap }   gap: events after `since` were left out
 *                                                                               (fetch them with GET /api/events?since=)
 *   { kind: 'delta', scope: 'events', events: ModelEvent[], cursor }
 *   { kind: 'snapshot', scope: 'object', type, id, detail: ObjectDetail }
 *   { kind: 'delta', scope: 'object', type, id, object?: ObjectView | null, queue?: LockQueueEntryView[], events?: ModelEvent[] }
 *   { kind: 'error', scope: 'object', type, id, error: { code, message } }     the snapshot failed, or the type or id
 *                                                                       is not a valid name (INVALID_TYPE_NAME,
 *                                                                       INVALID_OBJECT_ID); not subscribed
 *   { kind: 'snapshot', scope: 'talk', code, talk: TalkSnapshot, qna: QnaPresenterView }       on subscribing, and again after a reset; then,
 *                                                                       every ~150 ms while something changed:
 *   { kind: 'delta', scope: 'talk', code, talk: TalkAggregates, reactions: Reaction[], timeline?: TimelinePoint[], reactionsGap?: true,
 *     qna?: QnaPresenterView (the questions changed since the previous message) }
 *       reactions: the new ones since the previous message (oldest first); timeline: new points;
 *       reactionsGap: some reactions were skipped (more than 500 between two polls) — `talk.totals` stays exact
 *   { kind: 'error', scope: 'talk', code, error: { code, message } }   no such talk (TALK_NOT_FOUND), no talk
 *                                                                       service (TALKS_UNAVAILABLE), or not a talk
 *                                                                       code (INVALID_TALK_CODE); not subscribed
 *   { kind: 'snapshot' | 'delta', scope: 'hot', by, type?, node?, limit, items: HotObjectView[] }
 *       the whole ranking each time (at most `limit` rows); a delta at most per flush, after a stats interval or a node leaving
 *   { kind: 'snapshot' | 'delta', scope: 'rebalance', status }
 *       the whole status each time; a delta at most per flush, after a move started or ended, a pause or resume, or
 *       the lock or the balance changed (`{ enabled: false }` from an admin API without --rebalance, and no deltas)
 *   { kind: 'unsubscribed', scope }
 *
 * Deltas are coalesced per client (the latest view per node and object, the lock queue's latest,
 * events batched) and sent at most every `flushIntervalMs`. Closes: 1003 binary message, 1007 not JSON,
 * 1008 a message that is not one of the above or too many messages, 1009 over 4 KiB, 1011 an internal
 * error while sending changes, 1013 too slow (more than `maxBufferedBytes` unsent, or more than
 * `maxPendingChanges` waiting for one flush; the reason says how to resume), 1001 the API shutting down.
 *
 * With no subscription open, the stream holds no subscription on the model and no lock queue watch
 * (it subscribes once, for every client, while some client subscribes to something); with no client
 * connected it also runs no timer. Each change is only filed into maps while a flush is pending.
 */

/** The subprotocol the server selects; clients offer it next to `bearer.<token>`. */
export const STREAM_PROTOCOL = 'highlander.v1';

// ---- client → server ----

export const StreamScope = z.enum(['summary', 'events', 'object', 'talk', 'hot', 'rebalance']);
export type StreamScope = z.infer<typeof StreamScope>;

/** What a talk code is, as the refusal of one that is not says. */
export const TALK_CODE_RULE = 'a talk code is 4-8 of ABCDEFGHJKMNPQRSTUVWXYZ23456789';

export const SubscribeMessage = z.discriminatedUnion('subscribe', [
  z.strictObject({ subscribe: z.literal('summary'), objects: z.boolean().optional() }),
  z.strictObject({ subscribe: z.literal('events'), since: z.number().int().min(0).optional() }),
  z.strictObject({ subscribe: z.literal('object'), type: TypeName, id: ObjectId }),
  z.strictObject({ subscribe: z.literal('talk'), code: z.string().regex(CODE_PATTERN, TALK_CODE_RULE) }),
  z.strictObject({
    subscribe: z.literal('hot'), by: HotRankingSchema.default('calls'), type: TypeName.optional(), node: NodeName.optional(), limit: hotLimit(false).default(20),
  }),
  z.strictObject({ subscribe: z.literal('rebalance') }),
]);
export type SubscribeMessage = z.infer<typeof SubscribeMessage>;

export const UnsubscribeMessage = z.strictObject({ unsubscribe: StreamScope });
export type UnsubscribeMessage = z.infer<typeof UnsubscribeMessage>;

export type ClientMessage = SubscribeMessage | UnsubscribeMessage;

// ---- server → client ----

/** An ObjectView as a tuple, in the order of its fields (see above). */
export type ObjectRow = [
  type: string, id: string, owner: string, epoch: string, activeSince: number, lastCallAt: number | null,
  callsPerSecond: number, queueLength: number, waiting: number,
];

/** Why a subscription failed: the API's error code (as in REST error bodies) and a message for people. */
export interface StreamError {
  code: string;
  message: string;
}

export interface HelloMessage {
  kind: 'hello';
  protocol: typeof STREAM_PROTOCOL;
  who: Principal;
  /** The API refuses every action (for a read-only banner). */
  readOnly: boolean;
  flushIntervalMs: number;
}

export interface SummarySnapshot {
  kind: 'snapshot';
  scope: 'summary';
  summary: ClusterSummary;
  nodes: NodeView[];
  /** Every active object, when subscribed with `objects: true`. */
  objects?: ObjectRow[];
}

export interface SummaryDelta {
  kind: 'delta';
  scope: 'summary';
  summary: ClusterSummary;
  /** The latest view of each node that changed; null: it left. */
  nodes: Array<{ name: string; node: NodeView | null }>;
  /** The latest view of each object that changed; null: it is no longer active. */
  objects: Array<{ type: string; id: string; object: ObjectView | null }>;
}

export interface EventsSnapshot {
  kind: 'snapshot';
  scope: 'events';
  /** The newest events after `since` (oldest first). */
  events: ModelEvent[];
  /** Deltas continue after this cursor. */
  cursor: number;
  /** Events after `since` were left out (fetch them with `GET /api/events?since=`). */
  gap: boolean;
}

export interface EventsDelta {
  kind: 'delta';
  scope: 'events';
  events: ModelEvent[];
  cursor: number;
}

export interface ObjectSnapshot {
  kind: 'snapshot';
  scope: 'object';
  type: string;
  id: string;
  detail: ObjectDetail;
}

export interface ObjectDelta {
  kind: 'delta';
  scope: 'object';
  type: string;
  id: string;
  /** Present when the view changed; null: it is no longer active. */
  object?: ObjectView | null;
  /** Present when the lock queue changed: all of it, owner first. */
  queue?: LockQueueEntryView[];
  /** Its new events, oldest first. */
  events?: ModelEvent[];
}

export interface ObjectError {
  kind: 'error';
  scope: 'object';
  type: string;
  id: string;
  error: StreamError;
}

export interface TalkSnapshotMessage {
  kind: 'snapshot';
  scope: 'talk';
  code: string;
  talk: TalkSnapshot;
  /** Every question of the talk (pending and hidden ones too), as the presenter sees them. */
  qna: QnaPresenterView;
}

export interface TalkDelta {
  kind: 'delta';
  scope: 'talk';
  code: string;
  talk: TalkAggregates;
  /** The new reactions since the previous message, oldest first. */
  reactions: Reaction[];
  /** New timeline points. */
  timeline?: TimelinePoint[];
  /** Some reactions were skipped (more than 500 between two polls); `talk.totals` stays exact. */
  reactionsGap?: true;
  /** The questions changed since the previous message (`full`: all of them, replacing what the client has). */
  qna?: QnaPresenterView;
}

export interface TalkError {
  kind: 'error';
  scope: 'talk';
  code: string;
  error: StreamError;
}

export interface HotSnapshot {
  kind: 'snapshot';
  scope: 'hot';
  by: HotRanking;
  type?: string;
  node?: string;
  limit: number;
  /** The hottest objects, highest first. */
  items: HotObjectView[];
}

export interface HotDelta extends Omit<HotSnapshot, 'kind'> {
  kind: 'delta';
}

/** Automatic rebalancing's status, or that it is off for this admin API. */
export type RebalanceView = RebalanceStatus | { enabled: false };

export interface RebalanceMessage {
  kind: 'snapshot' | 'delta';
  scope: 'rebalance';
  status: RebalanceView;
}

export interface UnsubscribedMessage {
  kind: 'unsubscribed';
  scope: StreamScope;
}

/** One talk's feed, as talk-feed.ts polls it. */
export type TalkMessage = TalkSnapshotMessage | TalkDelta | TalkError;

/** Every message of a subscription (what a scope's handler receives). */
export type ScopeMessage =
  | SummarySnapshot | SummaryDelta | EventsSnapshot | EventsDelta | ObjectSnapshot | ObjectDelta | ObjectError | TalkMessage | HotSnapshot | HotDelta
  | RebalanceMessage;

/** The messages of one scope's subscription. */
export type MessageOf<S extends StreamScope> = Extract<ScopeMessage, { scope: S }>;

export type ServerMessage = HelloMessage | ScopeMessage | UnsubscribedMessage;

// ---- the shapes the messages carry (and the REST routes answer with), for clients ----

export type {
  CallResult, ClusterSummary, DrainResult, EvictResult, HotObjectView, HotQuery, HotRanking, LockQueueEntryView, MigrateResult, ModelEvent, NodeView, ObjectDetail, ObjectQuery, ObjectSort,
  ObjectTypeView, ObjectView, Page, PersistedObject, ReplaceStateResult, ShardsView, StoredSummary,
} from '../contracts.js';
export type { HistoryResolution, SampleTypeStats, StatsSample } from '../model/stats-history.js';
export type { ActivationEndReason, HistoryEntry, HistoryPage } from '../object-history.js';
export type { Principal, Role } from '../auth.js';
export type { AuditAction, AuditRecord, AuditTarget } from '../audit-log.js';
export type { TalkAction, TalkSummary, TalkView } from '../talks.js';
export type { RebalanceMove, RebalanceStatus } from '../rebalance/rebalancer.js';
export type { NodeBalance } from '../rebalance/plan.js';
export type { DeactivationReason, LifecycleEvent, LifecycleEventKind } from '@highlander/runtime';
export type {
  ModerationAction, PresenterQuestion, QnaPresenterView, QuestionStatus, Reaction, TalkAggregates, TalkSnapshot, TalkStatus, TimelinePoint,
} from '@highlander/audience';
