import { Backoff } from '@highlander/kit';
import { HighlanderError, InvalidArgument, ObjectRejected, StateTooLarge, type HighlanderNode } from '@highlander/runtime';
import type { AttendeeWriter } from './attendee-writer.js';
import type { AudienceMetrics } from './gateway-metrics.js';
import { MAX_BATCH_POSITIONS, MAX_BATCH_REACTIONS, Talk, type ApplyResult, type TalkBatch, type TalkLookup, type TalkState } from './objects.js';
import { QnaChannel } from './qna-channel.js';
import { devicePseudonym, type RejectionReason, type ServerMessage, type TalkStatus, type WelcomeMessage } from './protocol.js';

/**
 * One talk as one gateway sees it: the devices connected here, the feedback they sent that is not
 * in the talk yet, and the one `apply` batch in flight.
 *
 * - Whether the talk exists is read from the state store first: a code nobody created activates
 *   nothing and writes nothing. Its pseudonym key comes with it (a talk stored before pseudonyms
 *   gets one with `seal`). From then on every participant is its pseudonym; device ids stay here.
 * - Joining devices are welcomed after a `lookup` of the talk (one call for every device that
 *   joined meanwhile), which also gives each its position as the talk has it.
 * - Positions are coalesced per device (the latest wins) and emoji collected; ONE `apply` call
 *   carries them with this gateway's connected count, at most one every `flushIntervalMs` (150 ms)
 *   and one at a time: feedback arriving while a batch is in flight waits for the next. A batch
 *   also goes every heartbeat while devices are connected (the room's size).
 * - A batch that fails in a way that may be retried (the owner died, a timeout, S3 unavailable) is
 *   sent again with the same seq until it is applied; the talk applies a (gateway, seq) once. Only
 *   then is every message it carries acknowledged: an ack means the feedback is durable in the talk.
 *   Meanwhile new feedback waits for the next batch; batches never overtake each other.
 */

/** What the room needs from one connection. */
export interface RoomMember {
  /** The device id: a secret of the device, kept in this gateway only. */
  readonly device: string;
  send(message: ServerMessage): void;
  /** Called once the talk is known: the member may send feedback from now on. */
  welcome(message: WelcomeMessage): void;
  close(code: number, reason: string): void;
}

export interface RoomContext {
  node: HighlanderNode;
  /** The gateway's name in batches: its node's name. */
  gateway: string;
  metrics: AudienceMetrics;
  attendees: AttendeeWriter;
  heartbeatMs: number;
  /** One batch per talk at most this often. */
  flushIntervalMs: number;
  welcomeLimits: WelcomeMessage['limits'];
  emoji: readonly string[];
  reject(member: RoomMember, reason: RejectionReason, message: string, extra?: { ref?: string; retryAfterMs?: number }): void;
  /** Background trouble worth an operator's attention. */
  warn(message: string): void;
}

/** ws close code for a room code no talk has. */
export const CLOSE_TALK_NOT_FOUND = 4404;
/** Emoji waiting for one talk at most; beyond, the room is too busy (refused as rate-limited). */
const MAX_PENDING_REACTIONS = 10_000;
/** Refs kept per device while its position waits; older ones of a superseded position are not acknowledged. */
const MAX_REFS_PER_DEVICE = 16;
const APPLY_TIMEOUT_MS = 10_000;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2000;
/** A batch slower than this makes the gateway hold back its attendee writes (they share the store). */
const SLOW_BATCH_MS = 100;
/** The room message is repeated at least this often… */
const ROOM_MESSAGE_EVERY_MS = 2000;
/** …and sent for a change of the room's size at most this often. */
const ROOM_RESIZE_EVERY_MS = 500;

interface Waiter {
  member: RoomMember;
  ref: string;
}

interface InFlight {
  batch: TalkBatch;
  positionWaiters: Map<string, Waiter[]>;
  reactionWaiters: Array<Waiter | undefined>;
  attempts: number;
  /** Delays between resends of this batch. */
  retry: Backoff;
  startedAt: number;
}

export class TalkRoom {
  status: TalkStatus | undefined;
  title = '';
  round = 0;
  /** Devices connected over every gateway, as the talk last said. */
  connected = 0;
  /** The talk does not exist (performance.now() when learnt), or undefined. */
  notFoundAt: number | undefined;

  readonly #members = new Set<RoomMember>();
  /** Connections per participant (pseudonym) welcomed here. */
  readonly #devices = new Map<string, number>();
  /** Joining members by device id, until the talk is known. */
  readonly #joining = new Map<string, RoomMember[]>();
  /** The talk's pseudonym key, once known. */
  #secret: string | undefined;
  /** Pseudonyms of the devices connected here (device id → pseudonym). */
  readonly #pseudonyms = new Map<string, string>();
  #lookupRunning = false;
  #lookupRetryAt = 0;
  readonly #pendingPositions = new Map<string, { value: number; waiters: Waiter[] }>();
  #pendingReactions: Array<{ emoji: string; at: number; waiter: Waiter | undefined }> = [];
  #inflight: InFlight | undefined;
  #seq: number;
  #lastBatchAt = -Infinity;
  #lastBatchStartedAt = -Infinity;
  #batchTimer: NodeJS.Timeout | undefined;
  #reportedConnected = 0;
  #lastRoomMessageAt = -Infinity;
  #closed = false;
  /** performance.now() until which this room's batches count as slow (see `slow`). */
  #slowUntil = -Infinity;
  /** The talk's questions and votes (its `qna` object). */
  readonly #qna: QnaChannel;

  constructor(readonly code: string, private readonly context: RoomContext) {
    // Increasing across restarts of this gateway too (the talk remembers the last seq per gateway):
    // microseconds since the epoch at creation, then +1 per batch.
    this.#seq = Date.now() * 1000;
    this.#qna = new QnaChannel(code, {
      node: context.node, gateway: context.gateway, metrics: context.metrics, flushIntervalMs: context.flushIntervalMs,
      members: () => this.#members, participant: (member) => this.#participant(member), reject: context.reject, warn: context.warn,
    });
  }

  /** Devices connected here. */
  get deviceCount(): number {
    return this.#devices.size;
  }

  get memberCount(): number {
    return this.#members.size + [...this.#joining.values()].reduce((n, list) => n + list.length, 0);
  }

  /** Nothing connected, waiting or in flight, and the talk knows we have nobody: the room can go. */
  get idle(): boolean {
    return this.memberCount === 0 && this.#pendingPositions.size === 0 && this.#pendingReactions.length === 0
      && this.#inflight === undefined && !this.#lookupRunning && this.#reportedConnected === 0 && this.#qna.idle;
  }

  /** The talk's batches are slow now: one in flight for over SLOW_BATCH_MS, or one that took that long in the last second. */
  slow(now: number): boolean {
    return now < this.#slowUntil || (this.#inflight !== undefined && now - this.#inflight.startedAt > SLOW_BATCH_MS);
  }

  /** Feedback accepted here that is not in the talk yet (pending or in flight). */
  get unsettled(): number {
    return this.#pendingPositions.size + this.#pendingReactions.length
      + (this.#inflight ? Object.keys(this.#inflight.batch.positions).length + this.#inflight.batch.reactions.length : 0)
      + this.#qna.unsettled;
  }

  // ---- members ----

  join(member: RoomMember): void {
    const list = this.#joining.get(member.device);
    if (list) list.push(member);
    else this.#joining.set(member.device, [member]);
    this.#lookup();
  }

  leave(member: RoomMember): void {
    const joining = this.#joining.get(member.device);
    if (joining?.includes(member)) {
      joining.splice(joining.indexOf(member), 1);
      if (joining.length === 0) this.#joining.delete(member.device);
      return;
    }
    if (!this.#members.delete(member)) return;
    this.#qna.leave(member);
    const participant = this.#participant(member);
    const count = (this.#devices.get(participant) ?? 1) - 1;
    if (count > 0) {
      this.#devices.set(participant, count);
      return;
    }
    this.#devices.delete(participant);
    this.#pseudonyms.delete(member.device);
    this.context.attendees.left(this.code, participant);
  }

  /** A welcomed member's pseudonym (the key is known by then). */
  #participant(member: RoomMember): string {
    let pseudonym = this.#pseudonyms.get(member.device);
    if (pseudonym === undefined) {
      pseudonym = devicePseudonym(this.#secret!, member.device);
      this.#pseudonyms.set(member.device, pseudonym);
    }
    return pseudonym;
  }

  // ---- feedback (already validated and rate-limited by the gateway) ----

  /** Accepts a position for the next batch; false (and the member is told) when the talk is closed. */
  position(member: RoomMember, value: number, ref: string | undefined): boolean {
    if (!this.#acceptsFeedback(member, ref)) return false;
    const participant = this.#participant(member);
    const pending = this.#pendingPositions.get(participant);
    const waiter = ref === undefined ? undefined : { member, ref };
    if (pending) {
      pending.value = value;
      if (waiter) {
        pending.waiters.push(waiter);
        if (pending.waiters.length > MAX_REFS_PER_DEVICE) pending.waiters.shift();
      }
    } else {
      this.#pendingPositions.set(participant, { value, waiters: waiter ? [waiter] : [] });
    }
    this.context.metrics.positions.inc();
    this.#schedule();
    return true;
  }

  /** Accepts an emoji for the next batch; false (and the member is told) when the talk is closed or the room is swamped. */
  emoji(member: RoomMember, emoji: string, ref: string | undefined): boolean {
    if (!this.#acceptsFeedback(member, ref)) return false;
    if (this.#pendingReactions.length >= MAX_PENDING_REACTIONS) {
      this.context.reject(member, 'rate-limited', 'the room is very busy right now: send that emoji again in a moment', { ...(ref ? { ref } : {}), retryAfterMs: 1000 });
      return false;
    }
    this.#pendingReactions.push({ emoji, at: Date.now(), waiter: ref === undefined ? undefined : { member, ref } });
    this.context.metrics.emoji.inc();
    this.#schedule();
    return true;
  }

  /** Accepts a question (already cleaned) for the talk's Q&A; false when the talk is closed. */
  ask(member: RoomMember, text: string, ref: string | undefined): boolean {
    if (!this.#acceptsFeedback(member, ref)) return false;
    this.#qna.ask(member, text, ref);
    return true;
  }

  /** Accepts a vote (or its undoing) for a question; false when the talk is closed. */
  vote(member: RoomMember, question: number, up: boolean, ref: string | undefined): boolean {
    if (!this.#acceptsFeedback(member, ref)) return false;
    this.#qna.vote(member, question, up, ref);
    return true;
  }

  #acceptsFeedback(member: RoomMember, ref: string | undefined): boolean {
    if (this.status === 'closed') {
      this.context.reject(member, 'closed', 'the talk is closed: feedback is not taken right now', ref ? { ref } : {});
      return false;
    }
    return true;
  }

  // ---- the periodic work ----

  /** Called every flush interval by the gateway: lookups to retry, heartbeats, the connected count. */
  tick(now: number): void {
    if (this.#closed) return;
    if (this.#joining.size > 0 && !this.#lookupRunning && now >= this.#lookupRetryAt) this.#lookup();
    if (!this.#inflight && this.#due(now)) this.#schedule();
    this.#qna.tick(now, this.#members.size > 0);
  }

  /** Something to send: feedback, a changed connected count, or a heartbeat. */
  #due(now: number): boolean {
    const connected = this.#devices.size;
    return this.#pendingPositions.size > 0 || this.#pendingReactions.length > 0 || connected !== this.#reportedConnected
      || (connected > 0 && now - this.#lastBatchAt >= this.context.heartbeatMs);
  }

  /** Stops retrying (the gateway is closing); what is unsettled stays unacknowledged. */
  stop(): void {
    this.#closed = true;
    clearTimeout(this.#batchTimer);
    this.#qna.stop();
  }

  /**
   * Starts the next batch as soon as one may go: no batch in flight, and `flushIntervalMs` since
   * the previous one started. (A timer even when that is now: feedback arriving in the same turn
   * joins the batch.)
   */
  #schedule(): void {
    if (this.#closed || this.#inflight || this.#batchTimer || this.status === undefined) return;
    const delay = Math.max(0, this.#lastBatchStartedAt + this.context.flushIntervalMs - performance.now());
    this.#batchTimer = setTimeout(() => {
      this.#batchTimer = undefined;
      if (!this.#closed && !this.#inflight && this.#due(performance.now())) this.#startBatch();
    }, delay);
  }

  #lookup(): void {
    if (this.#lookupRunning || this.#joining.size === 0 || this.#closed) return;
    this.#lookupRunning = true;
    const devices = [...this.#joining.keys()].slice(0, MAX_BATCH_POSITIONS);
    this.#prepare().then(async (found) => {
      if (!found) return null;
      const participants = devices.map((device) => devicePseudonym(this.#secret!, device));
      return this.context.node.ref(Talk, this.code).call('lookup', { participants }, { timeoutMs: APPLY_TIMEOUT_MS });
    }).then(
      (lookup) => {
        this.#lookupRunning = false;
        if (lookup === null) {
          this.#notFound();
          return;
        }
        this.notFoundAt = undefined;
        this.#learn(lookup);
        for (const device of devices) {
          const members = this.#joining.get(device);
          if (!members) continue;
          this.#joining.delete(device);
          const participant = devicePseudonym(this.#secret!, device);
          const position = this.#latestPosition(participant) ?? lookup.positions[participant] ?? null;
          for (const member of members) this.#welcome(member, position);
        }
        if (this.#joining.size > 0) this.#lookup();
      },
      (err: unknown) => {
        this.#lookupRunning = false;
        if (Talk.isError(err, 'notFound')) {
          this.#notFound();
          return;
        }
        // The talk is moving, its owner died or the store is unreachable: ask again shortly (the joining devices wait).
        this.#lookupRetryAt = performance.now() + RETRY_MIN_MS * 5;
        this.context.warn(`talk ${this.code}: lookup failed, retrying: ${describe(err)}`);
      },
    );
  }

  /**
   * Whether the talk exists, and its pseudonym key: read from the state store, so that a code
   * nobody created activates nothing and writes nothing (a talk, once created, is never deleted).
   */
  async #prepare(): Promise<boolean> {
    if (this.#secret !== undefined) return true;
    const stored = await this.context.node.options.store.read(Talk.type, this.code);
    if (stored === null) return false;
    const state = JSON.parse(stored.body) as Partial<TalkState>;
    if (state.createdAt === null || state.createdAt === undefined) return false;
    // A talk stored before pseudonyms gets its key now (once, on its owner).
    this.#secret = state.secret ?? (await this.context.node.ref(Talk, this.code).call('seal', null, { timeoutMs: APPLY_TIMEOUT_MS })).secret;
    return true;
  }

  #notFound(): void {
    this.notFoundAt = performance.now();
    for (const members of this.#joining.values()) {
      for (const member of members) {
        this.context.reject(member, 'talk-not-found', `there is no talk with code ${this.code}: check the code on the presenter's screen`);
        member.close(CLOSE_TALK_NOT_FOUND, `no talk with code ${this.code}`);
      }
    }
    this.#joining.clear();
  }

  #welcome(member: RoomMember, position: number | null): void {
    this.#members.add(member);
    const participant = this.#participant(member);
    this.#devices.set(participant, (this.#devices.get(participant) ?? 0) + 1);
    member.welcome({
      kind: 'welcome', code: this.code, title: this.title, status: this.status ?? 'open', emoji: this.context.emoji, position,
      participants: Math.max(this.connected, 1), round: this.round, limits: this.context.welcomeLimits,
    });
    this.#qna.join(member);
  }

  /** The position this gateway is about to write for `participant`, if any. */
  #latestPosition(participant: string): number | undefined {
    return this.#pendingPositions.get(participant)?.value ?? this.#inflight?.batch.positions[participant];
  }

  #startBatch(): void {
    this.#lastBatchStartedAt = performance.now();
    const positions: Record<string, number> = {};
    const positionWaiters = new Map<string, Waiter[]>();
    let count = 0;
    for (const [device, pending] of this.#pendingPositions) {
      if (count++ >= MAX_BATCH_POSITIONS) break;
      positions[device] = pending.value;
      if (pending.waiters.length > 0) positionWaiters.set(device, pending.waiters);
      this.#pendingPositions.delete(device);
    }
    const taken = this.#pendingReactions.splice(0, MAX_BATCH_REACTIONS);
    const batch: TalkBatch = {
      gateway: this.context.gateway,
      seq: ++this.#seq,
      positions,
      reactions: taken.map(({ emoji, at }) => ({ emoji, at })),
      connected: this.#devices.size,
    };
    this.#inflight = { batch, positionWaiters, reactionWaiters: taken.map((r) => r.waiter), attempts: 0, retry: new Backoff({ initialMs: RETRY_MIN_MS, maxMs: RETRY_MAX_MS }), startedAt: this.#lastBatchStartedAt };
    this.#send(this.#inflight);
  }

  #send(inflight: InFlight): void {
    inflight.attempts++;
    const started = performance.now();
    this.context.node.ref(Talk, this.code).call('apply', inflight.batch, { timeoutMs: APPLY_TIMEOUT_MS }).then(
      (result) => {
        const ms = performance.now() - started;
        this.context.metrics.applySeconds.observe(ms / 1000);
        if (ms > SLOW_BATCH_MS) this.#slowUntil = performance.now() + 1000;
        this.#applied(inflight, result);
      },
      (err: unknown) => this.#failed(inflight, err),
    );
  }

  #applied(inflight: InFlight, result: ApplyResult): void {
    const { metrics } = this.context;
    metrics.batches.inc({ result: result.duplicate ? 'duplicate' : result.applied ? 'applied' : 'closed' });
    this.#inflight = undefined;
    this.#lastBatchAt = performance.now();
    this.#reportedConnected = inflight.batch.connected;
    this.notFoundAt = undefined;
    if (result.applied) {
      const refused = new Set(result.refusedDevices);
      for (const [device, value] of Object.entries(inflight.batch.positions)) {
        if (refused.has(device)) continue;
        this.context.attendees.applied(this.code, device, value, this.#devices.has(device));
      }
      for (const [device, waiters] of inflight.positionWaiters) {
        for (const waiter of waiters) {
          if (refused.has(device)) this.context.reject(waiter.member, 'room-full', 'this talk has as many participants as it can hold: your position is not counted', { ref: waiter.ref });
          else this.#ack(waiter);
        }
      }
      for (const waiter of inflight.reactionWaiters) if (waiter) this.#ack(waiter);
    } else {
      this.#rejectAll(inflight, 'closed', 'the talk was closed before this reached it: it is not counted');
    }
    this.#learn(result);
    if (this.#pendingPositions.size > 0 || this.#pendingReactions.length > 0) this.#schedule();
  }

  #failed(inflight: InFlight, err: unknown): void {
    if (this.#closed) return;
    const definitive: [RejectionReason, string] | undefined = Talk.isError(err, 'notFound')
      ? ['talk-not-found', `there is no talk with code ${this.code} any more`]
      : err instanceof StateTooLarge
        ? ['room-full', 'this talk has as much feedback as it can hold: it is not counted']
        : err instanceof InvalidArgument
          ? ['too-large', 'this gateway\'s batch was over the node\'s size limit: it is not counted']
          : err instanceof ObjectRejected
            ? ['malformed', 'the talk refused this feedback']
            : undefined;
    if (definitive) {
      // The talk answered, and will answer the same to the same batch: retrying cannot help.
      this.context.metrics.batches.inc({ result: 'refused' });
      this.context.warn(`talk ${this.code}: batch ${inflight.batch.seq} refused: ${describe(err)}`);
      this.#inflight = undefined;
      this.#rejectAll(inflight, definitive[0], definitive[1]);
      this.#schedule();
      return;
    }
    // Unknown outcome or not applied: send the very same batch again (same seq); the talk applies it once.
    this.context.metrics.batches.inc({ result: 'retried' });
    if (inflight.attempts === 1 || inflight.attempts % 10 === 0) {
      this.context.warn(`talk ${this.code}: batch ${inflight.batch.seq} not applied yet (attempt ${inflight.attempts}), retrying: ${describe(err)}`);
    }
    const delay = inflight.retry.next();
    setTimeout(() => {
      if (!this.#closed) this.#send(inflight);
    }, delay);
  }

  #rejectAll(inflight: InFlight, reason: RejectionReason, message: string): void {
    for (const waiters of inflight.positionWaiters.values()) for (const w of waiters) this.context.reject(w.member, reason, message, { ref: w.ref });
    for (const w of inflight.reactionWaiters) if (w) this.context.reject(w.member, reason, message, { ref: w.ref });
  }

  #ack(waiter: Waiter): void {
    waiter.member.send({ kind: 'ack', ref: waiter.ref });
    this.context.metrics.acks.inc();
  }

  /** Takes the talk's status and room size, and tells the members when they changed (or every ~2 s). */
  #learn(talk: Pick<TalkLookup, 'title' | 'status' | 'round' | 'connected'>): void {
    const news = talk.status !== this.status || talk.round !== this.round;
    const resized = talk.connected !== this.connected;
    const wasUnknown = this.status === undefined;
    this.title = talk.title;
    this.status = talk.status;
    this.round = talk.round;
    this.connected = talk.connected;
    const now = performance.now();
    // Status and round at once; the room's size at most every half second (it changes a lot while people join).
    const since = now - this.#lastRoomMessageAt;
    if (!news && !(resized && since >= ROOM_RESIZE_EVERY_MS) && since < ROOM_MESSAGE_EVERY_MS) return;
    this.#lastRoomMessageAt = now;
    const message = { kind: 'room', participants: Math.max(talk.connected, this.#devices.size), status: talk.status, round: talk.round } as const;
    for (const member of this.#members) member.send(message);
  }
}

function describe(err: unknown): string {
  if (err instanceof HighlanderError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

