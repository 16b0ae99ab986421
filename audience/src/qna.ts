import { defineObject } from '@highlander/runtime';
import { MAX_QUESTION_LENGTH, MIN_QUESTION_LENGTH, PSEUDONYM_PATTERN, cleanQuestion, type PublicQuestion, type QuestionStatus } from './protocol.js';

/**
 * A talk's audience Q&A: the `qna` object (id: the talk's room code) holds every question, who
 * voted for which (by participant pseudonym, never a device id), and the presenter's moderation.
 * It lives beside the `talk` object, so its load shows on the cluster map as a cell of its own.
 *
 * Gateways never call it per message: each one sends one `apply` batch of asks and votes at a
 * time (qna-channel.ts), numbered per gateway like the talk's batches. The talk keeps each
 * gateway's last batch number and the outcome of every operation in it, so a batch retried after
 * its owner died is answered the same again and applied once.
 *
 * A question is `pending` (waiting for the presenter's approval, when the talk requires it), `open`,
 * `answered` or `hidden` (moderated away). Phones see `open` and `answered` ones only; the presenter
 * sees all of them. At most one is on screen (shown large in presenter mode). Every change bumps
 * `version`, and a question records the version of its last change (`v`), so a reader asks only for
 * what changed since the version it has.
 */

/** Questions one talk keeps at most (hidden ones included); more are refused (`qna-full`). */
export const MAX_QUESTIONS = 200;
/** Votes over all questions at most; more are refused (`qna-full`). Bounds the state well under 1 MiB. */
export const MAX_VOTES = 50_000;
/** Participants who asked or voted at most. */
export const MAX_QNA_PARTICIPANTS = 10_000;
/** Operations one batch may carry at most (gateways split bigger ones). */
export const MAX_QNA_BATCH_OPS = 500;
/** A gateway not heard from for this long is forgotten (its retries are long over). */
const GATEWAY_FORGET_MS = 60 * 60 * 1000;

export type ModerationAction = 'approve' | 'answer' | 'reopen' | 'hide' | 'screen' | 'unscreen';
export const MODERATION_ACTIONS: readonly ModerationAction[] = Object.freeze(['approve', 'answer', 'reopen', 'hide', 'screen', 'unscreen']);

interface StoredQuestion {
  id: number;
  text: string;
  /** Index of the asker in `participants`. */
  asker: number;
  /** Wall-clock ms at which the gateway accepted it. */
  at: number;
  status: QuestionStatus;
  /** Indexes in `participants` of those who voted for it, in vote order. */
  voters: number[];
  /** The version of its last change. */
  v: number;
}

export interface QnaState {
  /** The talk's code; '' until the first write. */
  code: string;
  /** New questions wait for the presenter's approval. */
  approval: boolean;
  /** The question shown large in presenter mode, or null. */
  onScreen: number | null;
  /** Increases on every change. */
  version: number;
  nextId: number;
  /** Pseudonyms of those who asked or voted; questions refer to them by index. */
  participants: string[];
  votes: number;
  questions: StoredQuestion[];
  /** Per gateway: its last batch and the outcome of each of its operations. */
  gateways: Record<string, { lastSeq: number; at: number; results: QnaOpResult[] }>;
}

export type QnaOp =
  | { op: 'ask'; participant: string; text: string; at: number }
  | { op: 'vote'; participant: string; question: number; up: boolean };

export interface QnaBatch {
  gateway: string;
  /** Increasing per gateway; a batch is retried with the same seq until applied. */
  seq: number;
  ops: QnaOp[];
}

/** Why an ask or a vote was refused, as the phone is told. */
export type QnaRefusal = 'qna-full' | 'question-gone';

export type QnaOpResult =
  | { ok: true; question: number; status: QuestionStatus }
  | { ok: false; reason: QnaRefusal; message: string };

export interface QnaApplyResult {
  results: QnaOpResult[];
  /** The batch had been applied before (a retry): the results are those of then. */
  duplicate: boolean;
  version: number;
}

/** What gateways read: the visible questions changed after `since` (all without it), and those no longer visible. */
export interface QnaPublicView {
  version: number;
  approval: boolean;
  onScreen: number | null;
  /** Every visible question (no `since`, or `since` ahead of the talk), or those changed after `since`. */
  full: boolean;
  questions: PublicQuestion[];
  /** Questions changed after `since` that phones must not show (pending or hidden). */
  removed: number[];
  /** Per participant asked about: the questions it voted for and the ones it asked. */
  mine: Record<string, ParticipantQna>;
}

export interface ParticipantQna {
  voted: number[];
  asked: Array<{ id: number; text: string; status: QuestionStatus }>;
}

/** A question as the presenter sees it. */
export interface PresenterQuestion {
  id: number;
  text: string;
  votes: number;
  status: QuestionStatus;
  at: number;
}

export interface QnaPresenterView {
  version: number;
  approval: boolean;
  onScreen: number | null;
  full: boolean;
  /** Every question (`full`), or those changed after `since`. */
  questions: PresenterQuestion[];
  /** Questions kept (hidden ones included). */
  count: number;
}

export interface QnaExportQuestion extends PresenterQuestion {
  /** The asker's pseudonym. */
  asker: string;
  /** Pseudonyms of the voters. */
  voters: string[];
}

export interface QnaExport {
  approval: boolean;
  onScreen: number | null;
  questions: QnaExportQuestion[];
}

function initialQna(): QnaState {
  return { code: '', approval: false, onScreen: null, version: 0, nextId: 1, participants: [], votes: 0, questions: [], gateways: {} };
}

export const Qna = defineObject({
  type: 'qna',
  initial: initialQna,
  errors: {
    noQuestion: (id: number) => ({ message: `no question ${id} in this talk`, id }),
    invalid: (what: string) => ({ message: `invalid request: ${what}`, what }),
  },
  handlers: {
    /** One gateway's asks and votes; idempotent per (gateway, seq). */
    apply(qna, batch: QnaBatch, ctx) {
      checkBatch(batch, ctx.fail.invalid);
      const now = Date.now();
      if (qna.code === '') qna.code = ctx.id;
      const known = qna.gateways[batch.gateway];
      if (known !== undefined && batch.seq <= known.lastSeq) {
        // Applied before: the gateway did not learn the outcome. The same answer, nothing applied again.
        const results = batch.seq === known.lastSeq ? known.results : batch.ops.map(() => ({ ok: false as const, reason: 'question-gone' as const, message: 'this was sent long ago: send it again' }));
        return ctx.reply(qna, { results, duplicate: true, version: qna.version });
      }
      const results = batch.ops.map((op) => (op.op === 'ask' ? ask(qna, op) : vote(qna, op)));
      qna.gateways[batch.gateway] = { lastSeq: batch.seq, at: now, results };
      for (const [name, entry] of Object.entries(qna.gateways)) if (now - entry.at > GATEWAY_FORGET_MS) delete qna.gateways[name];
      return ctx.reply(qna, { results, duplicate: false, version: qna.version });
    },
    /** The presenter's moderation of one question. */
    moderate(qna, arg: { question: number; action: ModerationAction }, ctx) {
      if (!MODERATION_ACTIONS.includes(arg?.action)) ctx.fail.invalid(`action must be one of ${MODERATION_ACTIONS.join(', ')}`);
      if (arg.action === 'unscreen') {
        if (qna.onScreen !== null) {
          const shown = qna.questions.find((q) => q.id === qna.onScreen);
          qna.onScreen = null;
          if (shown) touch(qna, shown);
          else qna.version++;
        }
        return ctx.reply(qna, presenterView(qna, undefined));
      }
      const found = qna.questions.find((q) => q.id === arg.question);
      if (!found) return ctx.fail.noQuestion(Number(arg.question));
      const question = found;
      if (qna.code === '') qna.code = ctx.id;
      switch (arg.action) {
        case 'approve':
        case 'reopen':
          question.status = 'open';
          break;
        case 'answer':
          question.status = 'answered';
          break;
        case 'hide':
          question.status = 'hidden';
          if (qna.onScreen === question.id) qna.onScreen = null;
          break;
        case 'screen': {
          // On screen means visible: a pending or hidden question is shown to the room too.
          if (question.status === 'pending' || question.status === 'hidden') question.status = 'open';
          const previous = qna.questions.find((q) => q.id === qna.onScreen);
          qna.onScreen = question.id;
          if (previous && previous !== question) touch(qna, previous);
          break;
        }
      }
      touch(qna, question);
      return ctx.reply(qna, presenterView(qna, undefined));
    },
    /** Whether new questions wait for the presenter's approval. */
    settings(qna, arg: { approval: boolean }, ctx) {
      if (typeof arg?.approval !== 'boolean') ctx.fail.invalid('approval must be true or false');
      if (qna.code === '') qna.code = ctx.id;
      if (qna.approval !== arg.approval) {
        qna.approval = arg.approval;
        qna.version++;
      }
      return ctx.reply(qna, presenterView(qna, undefined));
    },
  },
  queries: {
    /** What gateways show phones: visible questions changed after `since`, and each asked-about participant's own. */
    view(qna, arg: { since?: number; participants?: string[] } | null): QnaPublicView {
      const since = typeof arg?.since === 'number' && arg.since <= qna.version ? arg.since : undefined;
      const questions: PublicQuestion[] = [];
      const removed: number[] = [];
      for (const q of qna.questions) {
        if (since !== undefined && q.v <= since) continue;
        if (q.status === 'open' || q.status === 'answered') questions.push({ id: q.id, text: q.text, votes: q.voters.length, status: q.status, at: q.at });
        else if (since !== undefined) removed.push(q.id);
      }
      const mine: Record<string, ParticipantQna> = {};
      const asked = Array.isArray(arg?.participants) ? arg.participants.slice(0, MAX_QNA_BATCH_OPS) : [];
      if (asked.length > 0) {
        const index = new Map(qna.participants.map((p, i) => [p, i]));
        for (const participant of asked) {
          const i = typeof participant === 'string' ? index.get(participant) : undefined;
          if (i === undefined) continue;
          mine[participant] = {
            voted: qna.questions.filter((q) => q.voters.includes(i)).map((q) => q.id),
            asked: qna.questions.filter((q) => q.asker === i).map((q) => ({ id: q.id, text: q.text, status: q.status })),
          };
        }
      }
      return { version: qna.version, approval: qna.approval, onScreen: qna.onScreen, full: since === undefined, questions, removed, mine };
    },
    /** The presenter's list: every question changed after `since` (all without it). */
    presenter(qna, arg: { since?: number } | null): QnaPresenterView {
      return presenterView(qna, typeof arg?.since === 'number' ? arg.since : undefined);
    },
    /** Everything, for the talk's export. */
    export(qna): QnaExport {
      return {
        approval: qna.approval,
        onScreen: qna.onScreen,
        questions: qna.questions.map((q) => ({
          id: q.id, text: q.text, votes: q.voters.length, status: q.status, at: q.at,
          asker: qna.participants[q.asker] ?? '', voters: q.voters.map((i) => qna.participants[i] ?? ''),
        })),
      };
    },
  },
});

// ---- the operations ----

function ask(qna: QnaState, op: Extract<QnaOp, { op: 'ask' }>): QnaOpResult {
  if (qna.questions.length >= MAX_QUESTIONS) return { ok: false, reason: 'qna-full', message: `this talk has as many questions as it can take (${MAX_QUESTIONS})` };
  const asker = participantIndex(qna, op.participant);
  if (asker === undefined) return { ok: false, reason: 'qna-full', message: 'this talk has as many people asking as it can take' };
  const status: QuestionStatus = qna.approval ? 'pending' : 'open';
  const question: StoredQuestion = { id: qna.nextId++, text: op.text, asker, at: op.at, status, voters: [], v: 0 };
  qna.questions.push(question);
  touch(qna, question);
  return { ok: true, question: question.id, status };
}

function vote(qna: QnaState, op: Extract<QnaOp, { op: 'vote' }>): QnaOpResult {
  const question = qna.questions.find((q) => q.id === op.question);
  if (!question || (question.status !== 'open' && question.status !== 'answered')) {
    return { ok: false, reason: 'question-gone', message: 'that question is no longer shown' };
  }
  const voter = participantIndex(qna, op.participant);
  if (voter === undefined) return { ok: false, reason: 'qna-full', message: 'this talk has as many people voting as it can take' };
  const at = question.voters.indexOf(voter);
  if (op.up && at === -1) {
    if (qna.votes >= MAX_VOTES) return { ok: false, reason: 'qna-full', message: 'this talk has as many votes as it can take' };
    question.voters.push(voter);
    qna.votes++;
    touch(qna, question);
  } else if (!op.up && at !== -1) {
    question.voters.splice(at, 1);
    qna.votes--;
    touch(qna, question);
  }
  // A vote that is already so (sent twice, or undone twice) changes nothing and is fine.
  return { ok: true, question: question.id, status: question.status };
}

function participantIndex(qna: QnaState, participant: string): number | undefined {
  const i = qna.participants.indexOf(participant);
  if (i !== -1) return i;
  if (qna.participants.length >= MAX_QNA_PARTICIPANTS) return undefined;
  qna.participants.push(participant);
  return qna.participants.length - 1;
}

function touch(qna: QnaState, question: StoredQuestion): void {
  question.v = ++qna.version;
}

function presenterView(qna: QnaState, since: number | undefined): QnaPresenterView {
  const from = since !== undefined && since <= qna.version ? since : undefined;
  const questions = qna.questions
    .filter((q) => from === undefined || q.v > from)
    .map((q) => ({ id: q.id, text: q.text, votes: q.voters.length, status: q.status, at: q.at }));
  return { version: qna.version, approval: qna.approval, onScreen: qna.onScreen, full: from === undefined, questions, count: qna.questions.length };
}

function checkBatch(batch: QnaBatch, invalid: (what: string) => never): void {
  if (typeof batch !== 'object' || batch === null) invalid('a batch is an object');
  if (typeof batch.gateway !== 'string' || batch.gateway.length === 0 || batch.gateway.length > 128) invalid('batch.gateway must be a name');
  if (!Number.isSafeInteger(batch.seq) || batch.seq < 0) invalid('batch.seq must be a non-negative integer');
  if (!Array.isArray(batch.ops)) invalid('batch.ops must be an array');
  if (batch.ops.length > MAX_QNA_BATCH_OPS) invalid(`a batch carries at most ${MAX_QNA_BATCH_OPS} operations`);
  for (const op of batch.ops) {
    if (typeof op !== 'object' || op === null) invalid('an operation is an object');
    if (typeof op.participant !== 'string' || !PSEUDONYM_PATTERN.test(op.participant)) invalid('an operation\'s participant must be a pseudonym');
    if (op.op === 'ask') {
      if (typeof op.text !== 'string' || cleanQuestion(op.text) !== op.text) invalid(`a question is ${MIN_QUESTION_LENGTH} to ${MAX_QUESTION_LENGTH} characters of cleaned text`);
      if (!Number.isFinite(op.at)) invalid('a question\'s "at" must be a time in ms');
    } else if (op.op === 'vote') {
      if (!Number.isSafeInteger(op.question) || op.question < 1) invalid('a vote\'s question must be a question id');
      if (typeof op.up !== 'boolean') invalid('a vote\'s "up" must be true or false');
    } else {
      invalid('an operation is "ask" or "vote"');
    }
  }
}
