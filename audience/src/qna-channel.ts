import { Backoff } from '@highlander/kit';
import { HighlanderError, InvalidArgument, ObjectRejected, StateTooLarge, type HighlanderNode } from '@highlander/runtime';
import type { AudienceMetrics } from './gateway-metrics.js';
import type { PublicQuestion, QuestionsMessage, RejectionReason } from './protocol.js';
import { MAX_QNA_BATCH_OPS, Qna, type QnaApplyResult, type QnaBatch, type QnaOp, type QnaPublicView } from './qna.js';
import type { RoomMember } from './talk-room.js';

/**
 * One talk's Q&A as one gateway sees it (qna.ts holds the truth): the asks and votes its devices
 * sent that are not in the `qna` object yet, the one `apply` batch in flight, and the questions as
 * the devices here were last told.
 *
 * - Asks and votes go in ONE batch at a time, at most every flush interval, numbered like the
 *   talk's batches; a batch whose outcome is unknown (the owner died, a timeout) is sent again with
 *   the same seq until the object answers, and the object answers a retried batch as it did the
 *   first time. Only then is each message acknowledged (an ask with its question's id and status)
 *   or refused with the object's reason: an ack means the question or vote is durable.
 * - While devices are connected, the object's public view is read every flush interval, asking
 *   only for what changed since the version this gateway has; a device that just joined gets every
 *   visible question and its own votes and questions, the others get what changed.
 */

export interface QnaChannelContext {
  node: HighlanderNode;
  gateway: string;
  metrics: AudienceMetrics;
  flushIntervalMs: number;
  /** The welcomed members of the room. */
  members(): Iterable<RoomMember>;
  /** A welcomed member's pseudonym. */
  participant(member: RoomMember): string;
  reject(member: RoomMember, reason: RejectionReason, message: string, extra?: { ref?: string; retryAfterMs?: number }): void;
  warn(message: string): void;
}

interface Pending {
  op: QnaOp;
  member: RoomMember;
  ref: string | undefined;
}

const APPLY_TIMEOUT_MS = 10_000;
const VIEW_TIMEOUT_MS = 5000;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2000;
/** Asks and votes waiting for one talk at most; beyond, the room is too busy (refused as rate-limited). */
const MAX_PENDING_OPS = 5000;

export class QnaChannel {
  #pending: Pending[] = [];
  #inflight: { batch: QnaBatch; waiters: Pending[]; attempts: number; retry: Backoff } | undefined;
  #seq: number;
  #timer: NodeJS.Timeout | undefined;
  #lastBatchAt = -Infinity;
  /** Members that still need every question (they just joined). */
  readonly #fresh = new Set<RoomMember>();
  /** The visible questions as told to the members, by id. */
  readonly #questions = new Map<number, PublicQuestion>();
  #version: number | undefined;
  #approval = false;
  #onScreen: number | null = null;
  #viewing = false;
  #viewAgain = false;
  #lastViewAt = -Infinity;
  #closed = false;

  constructor(readonly code: string, private readonly context: QnaChannelContext) {
    // Increasing across restarts of this gateway (the object keeps the last seq per gateway).
    this.#seq = Date.now() * 1000;
  }

  /** Nothing waiting or in flight. */
  get idle(): boolean {
    return this.#pending.length === 0 && this.#inflight === undefined && !this.#viewing;
  }

  /** Asks and votes accepted here that are not in the object yet. */
  get unsettled(): number {
    return this.#pending.length + (this.#inflight?.batch.ops.length ?? 0);
  }

  /** A welcomed member: it gets every question with the next view. */
  join(member: RoomMember): void {
    this.#fresh.add(member);
    this.#view();
  }

  leave(member: RoomMember): void {
    this.#fresh.delete(member);
  }

  ask(member: RoomMember, text: string, ref: string | undefined): void {
    this.#add({ op: 'ask', participant: this.context.participant(member), text, at: Date.now() }, member, ref);
  }

  vote(member: RoomMember, question: number, up: boolean, ref: string | undefined): void {
    this.#add({ op: 'vote', participant: this.context.participant(member), question, up }, member, ref);
  }

  /** Every flush interval: a batch to send, a view to read. */
  tick(now: number, connected: boolean): void {
    if (this.#closed) return;
    if (this.#pending.length > 0) this.#schedule();
    if (connected && now - this.#lastViewAt >= this.context.flushIntervalMs) this.#view();
  }

  stop(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #add(op: QnaOp, member: RoomMember, ref: string | undefined): void {
    if (this.#pending.length >= MAX_PENDING_OPS) {
      this.context.reject(member, 'rate-limited', 'the room is very busy right now: send it again in a moment', { ...(ref ? { ref } : {}), retryAfterMs: 1000 });
      return;
    }
    this.#pending.push({ op, member, ref });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed || this.#inflight || this.#timer || this.#pending.length === 0) return;
    const delay = Math.max(0, this.#lastBatchAt + this.context.flushIntervalMs - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#closed && !this.#inflight && this.#pending.length > 0) this.#start();
    }, delay);
  }

  #start(): void {
    this.#lastBatchAt = performance.now();
    const waiters = this.#pending.splice(0, MAX_QNA_BATCH_OPS);
    const batch: QnaBatch = { gateway: this.context.gateway, seq: ++this.#seq, ops: waiters.map((w) => w.op) };
    this.#inflight = { batch, waiters, attempts: 0, retry: new Backoff({ initialMs: RETRY_MIN_MS, maxMs: RETRY_MAX_MS }) };
    this.#send();
  }

  #send(): void {
    const inflight = this.#inflight!;
    inflight.attempts++;
    this.context.node.ref(Qna, this.code).call('apply', inflight.batch, { timeoutMs: APPLY_TIMEOUT_MS }).then(
      (result) => this.#applied(result),
      (err: unknown) => this.#failed(err),
    );
  }

  #applied(result: QnaApplyResult): void {
    const { waiters } = this.#inflight!;
    this.#inflight = undefined;
    this.context.metrics.batches.inc({ result: result.duplicate ? 'duplicate' : 'applied' });
    for (const [i, waiter] of waiters.entries()) {
      const outcome = result.results[i];
      if (!outcome) continue;
      if (!outcome.ok) {
        this.context.reject(waiter.member, outcome.reason, outcome.message, waiter.ref ? { ref: waiter.ref } : {});
        continue;
      }
      if (waiter.ref === undefined) continue;
      waiter.member.send(waiter.op.op === 'ask'
        ? { kind: 'ack', ref: waiter.ref, question: { id: outcome.question, status: outcome.status } }
        : { kind: 'ack', ref: waiter.ref });
      this.context.metrics.acks.inc();
    }
    // The devices here see the change at once, not at the next tick.
    this.#view();
    this.#schedule();
  }

  #failed(err: unknown): void {
    if (this.#closed) return;
    const inflight = this.#inflight!;
    const definitive: [RejectionReason, string] | undefined = err instanceof StateTooLarge
      ? ['qna-full', 'this talk has as many questions and votes as it can hold']
      : err instanceof InvalidArgument
        ? ['too-large', 'this gateway\'s batch was over the node\'s size limit: send it again']
        : err instanceof ObjectRejected
          ? ['malformed', 'the talk refused this question or vote']
          : undefined;
    if (definitive) {
      this.context.metrics.batches.inc({ result: 'refused' });
      this.context.warn(`qna ${this.code}: batch ${inflight.batch.seq} refused: ${describe(err)}`);
      this.#inflight = undefined;
      for (const w of inflight.waiters) this.context.reject(w.member, definitive[0], definitive[1], w.ref ? { ref: w.ref } : {});
      this.#schedule();
      return;
    }
    // Unknown outcome or not applied: the very same batch again; the object applies it once.
    this.context.metrics.batches.inc({ result: 'retried' });
    if (inflight.attempts === 1 || inflight.attempts % 10 === 0) {
      this.context.warn(`qna ${this.code}: batch ${inflight.batch.seq} not applied yet (attempt ${inflight.attempts}), retrying: ${describe(err)}`);
    }
    setTimeout(() => {
      if (!this.#closed) this.#send();
    }, inflight.retry.next());
  }

  // ---- what the devices see ----

  #view(): void {
    if (this.#closed) return;
    if (this.#viewing) {
      this.#viewAgain = true;
      return;
    }
    this.#viewing = true;
    this.#viewAgain = false;
    this.#lastViewAt = performance.now();
    const fresh = [...this.#fresh];
    const participants = [...new Set(fresh.map((m) => this.context.participant(m)))].slice(0, MAX_QNA_BATCH_OPS);
    const since = this.#version;
    this.context.node.ref(Qna, this.code).call('view', { ...(since !== undefined ? { since } : {}), participants }, { timeoutMs: VIEW_TIMEOUT_MS }).then(
      (view) => {
        this.#viewing = false;
        this.#learn(view, fresh);
        if (this.#viewAgain) this.#view();
      },
      (err: unknown) => {
        this.#viewing = false;
        // The owner failing over: the next tick reads again; the devices keep what they have meanwhile.
        this.context.warn(`qna ${this.code}: reading the questions failed, retrying: ${describe(err)}`);
      },
    );
  }

  #learn(view: QnaPublicView, fresh: RoomMember[]): void {
    const changed: PublicQuestion[] = [];
    const removed: number[] = [];
    const incoming = new Set<number>();
    for (const q of view.questions) {
      incoming.add(q.id);
      const known = this.#questions.get(q.id);
      if (!known || known.votes !== q.votes || known.status !== q.status || known.text !== q.text) changed.push(q);
      this.#questions.set(q.id, q);
    }
    for (const id of view.removed) {
      if (this.#questions.delete(id)) removed.push(id);
    }
    if (view.full) {
      for (const id of [...this.#questions.keys()]) {
        if (!incoming.has(id)) {
          this.#questions.delete(id);
          removed.push(id);
        }
      }
    }
    const settingsChanged = view.approval !== this.#approval || view.onScreen !== this.#onScreen;
    this.#version = view.version;
    this.#approval = view.approval;
    this.#onScreen = view.onScreen;
    const told = new Set<RoomMember>();
    // Those who just joined: everything, with their own votes and questions.
    if (fresh.length > 0) {
      const all = [...this.#questions.values()];
      for (const member of fresh) {
        if (!this.#fresh.delete(member)) continue; // left meanwhile
        const mine = view.mine[this.context.participant(member)] ?? { voted: [], asked: [] };
        member.send({ kind: 'questions', full: true, approval: view.approval, onScreen: view.onScreen, questions: all, removed: [], mine });
        told.add(member);
      }
    }
    if (changed.length === 0 && removed.length === 0 && !settingsChanged) return;
    const delta: QuestionsMessage = { kind: 'questions', full: false, approval: view.approval, onScreen: view.onScreen, questions: changed, removed };
    for (const member of this.context.members()) {
      // Still waiting for its full list (joined after this view was asked for): that comes next.
      if (told.has(member) || this.#fresh.has(member)) continue;
      member.send(delta);
    }
  }
}

function describe(err: unknown): string {
  if (err instanceof HighlanderError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
