import { defineObject, type AnyObjectType } from '@highlander/runtime';
import { Qna } from './qna.js';
import { CURATED_EMOJI, PSEUDONYM_PATTERN, devicePseudonym, isCuratedEmoji, newTalkSecret, type TalkStatus } from './protocol.js';

/**
 * The audience's object types. A `talk` (id: the room code) is the aggregate of one session and
 * the source of truth: every participant's slider position, the reactions, the timeline. A
 * participant is known by its pseudonym (protocol.ts: a keyed hash of its device id under the
 * talk's `secret`), never by its device id. An `attendee` (id: `<code>.<pseudonym>`) mirrors one
 * participant's position so that the audience
 * shows up on the cluster map; gateways write it lazily (at most every ~10 s per device, and when
 * the device leaves), so it may lag the talk — the talk's `positions` are what counts.
 *
 * Gateways never call a talk per slider move: each one sends one `apply` batch per talk every
 * ~150 ms with its devices' latest positions and the emoji it accepted. A batch carries the
 * gateway's name and a sequence number increasing per gateway; one the talk has already applied
 * (seq ≤ the gateway's `lastSeq`) is acknowledged again without being applied twice, so a gateway
 * retries a batch whose outcome it does not know (its owner died mid-call) without double counting.
 */

/** Most participants (positions) one talk keeps; new devices beyond it are refused (`room-full`). */
export const MAX_PARTICIPANTS = 10_000;
/** Reactions kept in the recent ring (the presenter's feed, the export). Totals count every one. */
export const MAX_RECENT_REACTIONS = 1000;
/** Reactions a snapshot returns at most. */
export const MAX_SNAPSHOT_REACTIONS = 500;
/** A timeline point every this long while the talk is open. */
export const TIMELINE_INTERVAL_MS = 10_000;
/** Timeline points kept; past that, the oldest half is merged pairwise (the whole session, coarser). */
export const MAX_TIMELINE_POINTS = 360;
/** A gateway's `connected` count is part of the room's size while it was reported this recently. */
export const GATEWAY_FRESH_MS = 10_000;
/** A gateway not heard from for this long is forgotten (its retries are long over). */
const GATEWAY_FORGET_MS = 60 * 60 * 1000;
/** Positions and reactions one batch may carry at most (gateways split bigger ones). */
export const MAX_BATCH_POSITIONS = 5000;
export const MAX_BATCH_REACTIONS = 2000;
export const MAX_TITLE_LENGTH = 200;
export const HISTOGRAM_BUCKETS = 11;

export interface Reaction {
  /** Increasing over the talk's life, resets included. */
  seq: number;
  emoji: string;
  /** Wall-clock ms at which the gateway accepted it. */
  at: number;
}

export interface TimelinePoint {
  /** Wall-clock ms. */
  t: number;
  /** Average position at `t` (null with no positions). */
  average: number | null;
  /** Devices with a position. */
  participants: number;
  /** Devices connected to a gateway. */
  connected: number;
  /** Reactions since the previous point. */
  reactions: number;
}

export interface GatewayEntry {
  /** The last batch applied (or acknowledged as closed) from this gateway. */
  lastSeq: number;
  /** Whether that batch's positions and reactions were applied (false: the talk was closed). */
  lastApplied: boolean;
  /** Devices connected to this gateway for this talk, as of its last batch. */
  connected: number;
  /** Wall-clock ms of its last batch. */
  at: number;
}

export interface TalkState {
  code: string;
  title: string;
  status: TalkStatus;
  /** Wall-clock ms; null until created (a talk nobody created answers `notFound`). */
  createdAt: number | null;
  openedAt: number | null;
  closedAt: number | null;
  /** Increases on every reset. */
  round: number;
  /** pseudonym → 0..100: the truth for the average, the histogram and a returning device's position. */
  positions: Record<string, number>;
  /**
   * The key of the participants' pseudonyms (protocol.ts `devicePseudonym`), made at creation; null
   * only in a talk stored before pseudonyms, until `seal` gives it one.
   */
  secret: string | null;
  gateways: Record<string, GatewayEntry>;
  reactions: { seq: number; recent: Reaction[]; totals: Record<string, number> };
  timeline: TimelinePoint[];
  /** Reactions since the last timeline point. */
  pointReactions: number;
}

export interface TalkBatch {
  /** The gateway's name (its node's name). */
  gateway: string;
  /** Increasing per gateway; a batch is retried with the same seq until applied. */
  seq: number;
  /** pseudonym → position. */
  positions: Record<string, number>;
  reactions: Array<{ emoji: string; at: number }>;
  /** Devices connected to this gateway for this talk. */
  connected: number;
}

export interface ApplyResult {
  /** Whether this batch's positions and reactions are in the talk (false: the talk was closed). */
  applied: boolean;
  /** The batch had been applied before (a retry): nothing was applied again. */
  duplicate: boolean;
  status: TalkStatus;
  title: string;
  round: number;
  /** Devices connected over every gateway. */
  connected: number;
  /** Participants (pseudonyms) of the batch refused because the talk is full ({@link MAX_PARTICIPANTS}). */
  refusedDevices: string[];
}

export interface TalkLookup {
  title: string;
  status: TalkStatus;
  round: number;
  connected: number;
  /** The positions the talk has of the participants (pseudonyms) asked about. */
  positions: Record<string, number>;
}

export interface TalkAggregates {
  code: string;
  title: string;
  status: TalkStatus;
  createdAt: number;
  openedAt: number | null;
  closedAt: number | null;
  round: number;
  /** Devices with a position. */
  participants: number;
  /** Devices connected now (gateways heard from in the last ~10 s). */
  connected: number;
  /** Per gateway: devices connected and whether its report is fresh. */
  gateways: Array<{ name: string; connected: number; at: number; fresh: boolean }>;
  /** Average position (0..100), or null with no positions. */
  average: number | null;
  /** 11 buckets: bucket i counts positions p with round(p / 10) = i (0, 10, …, 100). */
  histogram: number[];
  /** Reactions per emoji since the last reset. */
  totals: Record<string, number>;
  /** The seq of the newest reaction (0: none yet). */
  reactionSeq: number;
  /** Reactions in about the last minute (10 s resolution). */
  reactionsPerMinute: number;
  /** Wall-clock ms of this snapshot. */
  at: number;
}

export interface TalkSnapshot extends TalkAggregates {
  /** Reactions after `sinceReaction` (the newest 500 at most), oldest first. */
  reactions: Reaction[];
  /** Reactions after `sinceReaction` were left out (more than 500, or older than the recent ring). */
  reactionsGap: boolean;
  /** Timeline points after `sinceTimeline` (all without it). */
  timeline: TimelinePoint[];
}

export interface TalkExport extends TalkAggregates {
  exportedAt: number;
  positions: Record<string, number>;
  reactions: Reaction[];
  timeline: TimelinePoint[];
}

function initialTalk(): TalkState {
  return {
    code: '', title: '', status: 'closed', createdAt: null, openedAt: null, closedAt: null, round: 0,
    positions: {}, secret: null, gateways: {}, reactions: { seq: 0, recent: [], totals: {} }, timeline: [], pointReactions: 0,
  };
}

export const Talk = defineObject({
  type: 'talk',
  initial: initialTalk,
  errors: {
    notFound: (code: string) => ({ message: `no talk with code ${code}: create it first (POST /api/talks)`, code }),
    exists: (code: string) => ({ message: `a talk with code ${code} exists already`, code }),
    invalid: (what: string) => ({ message: `invalid request: ${what}`, what }),
  },
  handlers: {
    /** Creates the talk, open at once. Refused if it exists. */
    create(talk, arg: { title: string }, ctx) {
      if (talk.createdAt !== null) ctx.fail.exists(ctx.id);
      const title = typeof arg?.title === 'string' ? arg.title.trim() : '';
      if (title.length === 0 || title.length > MAX_TITLE_LENGTH) ctx.fail.invalid(`title must be 1 to ${MAX_TITLE_LENGTH} characters`);
      const now = Date.now();
      const created: TalkState = { ...initialTalk(), code: ctx.id, title, status: 'open', createdAt: now, openedAt: now, secret: newTalkSecret() };
      return ctx.reply(created, aggregates(created, now));
    },
    open(talk, _arg: null, ctx) {
      requireTalk(talk, ctx);
      const now = Date.now();
      if (talk.status !== 'open') {
        talk.status = 'open';
        talk.openedAt = now;
        talk.closedAt = null;
      }
      return ctx.reply(talk, aggregates(talk, now));
    },
    close(talk, _arg: null, ctx) {
      requireTalk(talk, ctx);
      const now = Date.now();
      if (talk.status !== 'closed') {
        addTimelinePoint(talk, now);
        talk.status = 'closed';
        talk.closedAt = now;
      }
      return ctx.reply(talk, aggregates(talk, now));
    },
    /** Forgets positions, reactions and the timeline (a new round); keeps title, status and the gateways' sequence numbers. */
    reset(talk, _arg: null, ctx) {
      requireTalk(talk, ctx);
      talk.positions = {};
      talk.reactions = { seq: talk.reactions.seq, recent: [], totals: {} };
      talk.timeline = [];
      talk.pointReactions = 0;
      talk.round++;
      return ctx.reply(talk, aggregates(talk, Date.now()));
    },
    /**
     * The key of the participants' pseudonyms. A talk stored before pseudonyms gets one now, and the
     * device ids it holds are replaced by their pseudonyms (written once; later calls change nothing).
     */
    seal(talk, _arg: null, ctx) {
      requireTalk(talk, ctx);
      if (talk.secret) return ctx.reply(talk, { secret: talk.secret });
      const secret = newTalkSecret();
      const positions: Record<string, number> = {};
      for (const [device, value] of Object.entries(talk.positions)) positions[devicePseudonym(secret, device)] = value;
      return ctx.reply({ ...talk, secret, positions }, { secret });
    },
    /** One gateway's batch; idempotent per (gateway, seq). */
    apply(talk, batch: TalkBatch, ctx) {
      requireTalk(talk, ctx);
      if (!talk.secret) ctx.fail.invalid('the talk has no pseudonym key yet: call seal first');
      checkBatch(batch, ctx.fail.invalid);
      const now = Date.now();
      const known = talk.gateways[batch.gateway];
      if (known !== undefined && batch.seq <= known.lastSeq) {
        // Applied before (or older): the gateway did not learn the outcome. Acknowledge, change nothing.
        return ctx.reply(talk, applyResult(talk, now, known.lastApplied, true, []));
      }
      const open = talk.status === 'open';
      const refusedDevices: string[] = [];
      if (open) {
        let count = Object.keys(talk.positions).length;
        for (const [device, value] of Object.entries(batch.positions)) {
          if (!(device in talk.positions)) {
            if (count >= MAX_PARTICIPANTS) {
              refusedDevices.push(device);
              continue;
            }
            count++;
          }
          talk.positions[device] = value;
        }
        const { reactions } = talk;
        for (const { emoji, at } of batch.reactions) {
          reactions.recent.push({ seq: ++reactions.seq, emoji, at });
          reactions.totals[emoji] = (reactions.totals[emoji] ?? 0) + 1;
        }
        if (reactions.recent.length > MAX_RECENT_REACTIONS) reactions.recent.splice(0, reactions.recent.length - MAX_RECENT_REACTIONS);
        talk.pointReactions += batch.reactions.length;
      }
      talk.gateways[batch.gateway] = { lastSeq: batch.seq, lastApplied: open, connected: batch.connected, at: now };
      for (const [name, entry] of Object.entries(talk.gateways)) if (now - entry.at > GATEWAY_FORGET_MS) delete talk.gateways[name];
      if (open) {
        const last = talk.timeline.at(-1);
        if (last === undefined || now - last.t >= TIMELINE_INTERVAL_MS) addTimelinePoint(talk, now);
      }
      return ctx.reply(talk, applyResult(talk, now, open, false, refusedDevices));
    },
  },
  queries: {
    /** What a gateway needs to welcome joining devices: the talk's status and those participants' (pseudonyms') positions. */
    lookup(talk, arg: { participants: string[] }, ctx): TalkLookup {
      requireTalk(talk, ctx);
      const positions: Record<string, number> = {};
      for (const participant of Array.isArray(arg?.participants) ? arg.participants : []) {
        const value = typeof participant === 'string' && Object.hasOwn(talk.positions, participant) ? talk.positions[participant] : undefined;
        if (value !== undefined) positions[participant] = value;
      }
      return { title: talk.title, status: talk.status, round: talk.round, connected: connectedNow(talk, Date.now()), positions };
    },
    /** The presenter's view: aggregates, the reactions after `sinceReaction`, the timeline after `sinceTimeline`. */
    snapshot(talk, arg: { sinceReaction?: number; sinceTimeline?: number } | null, ctx): TalkSnapshot {
      requireTalk(talk, ctx);
      const now = Date.now();
      const since = typeof arg?.sinceReaction === 'number' ? arg.sinceReaction : undefined;
      const sinceTimeline = typeof arg?.sinceTimeline === 'number' ? arg.sinceTimeline : undefined;
      const recent = talk.reactions.recent;
      let reactions: Reaction[];
      let reactionsGap = false;
      if (since === undefined) {
        reactions = recent.slice(-MAX_SNAPSHOT_REACTIONS);
      } else {
        const after = recent.filter((r) => r.seq > since);
        reactions = after.slice(-MAX_SNAPSHOT_REACTIONS);
        const oldestKept = reactions[0]?.seq ?? talk.reactions.seq + 1;
        reactionsGap = oldestKept > since + 1 && talk.reactions.seq > since;
      }
      const timeline = sinceTimeline === undefined ? talk.timeline : talk.timeline.filter((p) => p.t > sinceTimeline);
      return { ...aggregates(talk, now), reactions, reactionsGap, timeline };
    },
    /** Everything, for the presenter's download. */
    export(talk, _arg: null, ctx): TalkExport {
      requireTalk(talk, ctx);
      const now = Date.now();
      return { ...aggregates(talk, now), exportedAt: now, positions: talk.positions, reactions: talk.reactions.recent, timeline: talk.timeline };
    },
  },
});

export interface AttendeeState {
  /** The talk's code (empty until first written). */
  talk: string;
  position: number | null;
  /** Wall-clock ms of the write. */
  updatedAt: number | null;
}

export const Attendee = defineObject({
  type: 'attendee',
  initial: (): AttendeeState => ({ talk: '', position: null, updatedAt: null }),
  // Written at most every ~10 s while its device takes part, and once when it leaves.
  idleTimeoutMs: 60_000,
  handlers: {
    set: (_attendee, arg: { talk: string; position: number | null }): AttendeeState => ({
      talk: String(arg.talk),
      position: typeof arg.position === 'number' ? arg.position : null,
      updatedAt: Date.now(),
    }),
  },
});

/** The audience's object types, registered by a node that runs a gateway: talks, their Q&A, attendees. */
export const audienceObjects: AnyObjectType[] = [Talk, Qna, Attendee];

// ---- aggregation ----

function requireTalk(talk: TalkState, ctx: { id: string; fail: { notFound: (code: string) => never } }): void {
  if (talk.createdAt === null) ctx.fail.notFound(ctx.id);
}

function checkBatch(batch: TalkBatch, invalid: (what: string) => never): void {
  if (typeof batch !== 'object' || batch === null) invalid('a batch is an object');
  if (typeof batch.gateway !== 'string' || batch.gateway.length === 0 || batch.gateway.length > 128) invalid('batch.gateway must be a name');
  if (!Number.isSafeInteger(batch.seq) || batch.seq < 0) invalid('batch.seq must be a non-negative integer');
  if (!Number.isInteger(batch.connected) || batch.connected < 0) invalid('batch.connected must be a non-negative integer');
  if (typeof batch.positions !== 'object' || batch.positions === null || Array.isArray(batch.positions)) invalid('batch.positions must be an object');
  const devices = Object.keys(batch.positions);
  if (devices.length > MAX_BATCH_POSITIONS) invalid(`a batch carries at most ${MAX_BATCH_POSITIONS} positions`);
  for (const participant of devices) {
    const value = batch.positions[participant];
    if (!PSEUDONYM_PATTERN.test(participant)) invalid(`participant ${JSON.stringify(participant.slice(0, 80))} is not a pseudonym (22 characters of A-Z a-z 0-9 _ -)`);
    if (!Number.isInteger(value) || value! < 0 || value! > 100) invalid(`the position of ${participant} must be a whole number from 0 to 100`);
  }
  if (!Array.isArray(batch.reactions)) invalid('batch.reactions must be an array');
  if (batch.reactions.length > MAX_BATCH_REACTIONS) invalid(`a batch carries at most ${MAX_BATCH_REACTIONS} reactions`);
  for (const reaction of batch.reactions) {
    if (!isCuratedEmoji(reaction?.emoji)) invalid(`only the curated emoji are accepted: ${CURATED_EMOJI.join(' ')}`);
    if (!Number.isFinite(reaction.at)) invalid('a reaction\'s "at" must be a time in ms');
  }
}

function applyResult(talk: TalkState, now: number, applied: boolean, duplicate: boolean, refusedDevices: string[]): ApplyResult {
  return { applied, duplicate, status: talk.status, title: talk.title, round: talk.round, connected: connectedNow(talk, now), refusedDevices };
}

function connectedNow(talk: TalkState, now: number): number {
  let connected = 0;
  for (const entry of Object.values(talk.gateways)) if (now - entry.at <= GATEWAY_FRESH_MS) connected += entry.connected;
  return connected;
}

/** Average and histogram of the current positions. */
export function positionStats(positions: Record<string, number>): { participants: number; average: number | null; histogram: number[] } {
  const histogram = new Array<number>(HISTOGRAM_BUCKETS).fill(0);
  let sum = 0;
  let participants = 0;
  for (const device in positions) {
    const value = positions[device]!;
    sum += value;
    participants++;
    histogram[Math.round(value / 10)]!++;
  }
  return { participants, average: participants === 0 ? null : Math.round((sum / participants) * 100) / 100, histogram };
}

function addTimelinePoint(talk: TalkState, now: number): void {
  const { participants, average } = positionStats(talk.positions);
  talk.timeline.push({ t: now, average, participants, connected: connectedNow(talk, now), reactions: talk.pointReactions });
  talk.pointReactions = 0;
  if (talk.timeline.length > MAX_TIMELINE_POINTS) {
    // Keep the whole session at a coarser resolution: merge the oldest half pairwise.
    const half = Math.floor(talk.timeline.length / 2);
    const merged: TimelinePoint[] = [];
    for (let i = 0; i + 1 < half; i += 2) {
      const a = talk.timeline[i]!;
      const b = talk.timeline[i + 1]!;
      merged.push({ ...b, reactions: a.reactions + b.reactions });
    }
    const rest = talk.timeline.slice(half % 2 === 0 ? half : half - 1);
    talk.timeline = [...merged, ...rest];
  }
}

function reactionsPerMinute(talk: TalkState, now: number): number {
  let count = talk.pointReactions;
  for (let i = talk.timeline.length - 1; i >= 0; i--) {
    const point = talk.timeline[i]!;
    if (point.t <= now - 60_000) break;
    count += point.reactions;
  }
  return count;
}

export function aggregates(talk: TalkState, now: number): TalkAggregates {
  const stats = positionStats(talk.positions);
  return {
    code: talk.code,
    title: talk.title,
    status: talk.status,
    createdAt: talk.createdAt ?? 0,
    openedAt: talk.openedAt,
    closedAt: talk.closedAt,
    round: talk.round,
    participants: stats.participants,
    connected: connectedNow(talk, now),
    gateways: Object.entries(talk.gateways)
      .map(([name, g]) => ({ name, connected: g.connected, at: g.at, fresh: now - g.at <= GATEWAY_FRESH_MS }))
      .sort((a, b) => (a.name < b.name ? -1 : 1)),
    average: stats.average,
    histogram: stats.histogram,
    totals: { ...talk.reactions.totals },
    reactionSeq: talk.reactions.seq,
    reactionsPerMinute: reactionsPerMinute(talk, now),
    at: now,
  };
}
