import { describe, expect, it } from 'vitest';
import {
  MAX_QUESTIONS, MAX_QUESTION_LENGTH, Qna, cleanQuestion, parseClientMessage,
  type QnaApplyResult, type QnaBatch, type QnaExport, type QnaOp, type QnaPresenterView, type QnaPublicView, type QnaState,
} from '@highlander/audience';
import { ObjectRejected, Replied } from '@highlander/runtime';
// How the runtime builds `ctx.fail` (an internal of the runtime, used here to run handlers without a node).
import { makeFailers } from '../../runtime/src/define-object.js';

/**
 * The talk's Q&A object on its own, as the runtime runs it: each call gets the state parsed from the
 * last JSON, and its result is serialized again (what a test sees is what would be persisted).
 */

const CODE = 'ABCDE';

class QnaHarness {
  json = JSON.stringify(Qna.initial());

  get state(): QnaState {
    return JSON.parse(this.json) as QnaState;
  }

  handle<R = unknown>(name: keyof typeof Qna.handlers, arg: unknown = null): R {
    const ctx = { type: 'qna', id: CODE, node: 'n', epoch: '1', fail: makeFailers(Qna, CODE), ref: () => { throw new Error('no refs'); }, reply: (s: unknown, r: unknown) => new Replied(s, r) };
    const result = (Qna.handlers[name] as (s: unknown, a: unknown, c: unknown) => unknown)(this.state, arg, ctx);
    this.json = JSON.stringify(result instanceof Replied ? result.state : result);
    return JSON.parse(JSON.stringify(result instanceof Replied ? result.reply : undefined)) as R;
  }

  query<R = unknown>(name: keyof typeof Qna.queries, arg: unknown = null): R {
    const ctx = { type: 'qna', id: CODE, node: 'n', epoch: '1', fail: makeFailers(Qna, CODE) };
    return JSON.parse(JSON.stringify((Qna.queries[name] as (s: unknown, a: unknown, c: unknown) => unknown)(this.state, arg, ctx))) as R;
  }

  #seq = 0;
  apply(ops: QnaOp[], gateway = 'node-a', seq = ++this.#seq): QnaApplyResult {
    return this.handle<QnaApplyResult>('apply', { gateway, seq, ops } satisfies QnaBatch);
  }
}

function participant(i: number): string {
  return `p${String(i).padStart(21, '0')}`;
}

const ask = (i: number, text: string): QnaOp => ({ op: 'ask', participant: participant(i), text, at: 1000 + i });
const vote = (i: number, question: number, up = true): QnaOp => ({ op: 'vote', participant: participant(i), question, up });

function rejection(run: () => unknown): ObjectRejected {
  try {
    run();
  } catch (err) {
    if (err instanceof ObjectRejected) return err;
    throw err;
  }
  throw new Error('expected the qna object to refuse');
}

describe('the qna object', () => {
  it('takes questions and votes (one per participant per question, undoable) and phones see them with counts', () => {
    const qna = new QnaHarness();
    const first = qna.apply([ask(1, 'Why ZooKeeper and not etcd?'), ask(2, 'How big can a state get?')]);
    expect(first.results).toEqual([{ ok: true, question: 1, status: 'open' }, { ok: true, question: 2, status: 'open' }]);
    qna.apply([vote(3, 2), vote(4, 2), vote(3, 2), vote(5, 1)]);
    const view = qna.query<QnaPublicView>('view', { participants: [participant(3), participant(1)] });
    expect(view.full).toBe(true);
    expect(view.questions.map((q) => [q.id, q.votes])).toEqual([[1, 1], [2, 2]]);
    expect(view.mine).toEqual({
      [participant(3)]: { voted: [2], asked: [] },
      [participant(1)]: { voted: [], asked: [{ id: 1, text: 'Why ZooKeeper and not etcd?', status: 'open' }] },
    });
    // Taking a vote back, twice: counted once.
    qna.apply([vote(3, 2, false), vote(3, 2, false)]);
    expect(qna.query<QnaPublicView>('view').questions.find((q) => q.id === 2)?.votes).toBe(1);
    expect(qna.state.votes).toBe(2);
  });

  it('answers a retried batch as the first time and applies it once', () => {
    const qna = new QnaHarness();
    const ops = [ask(1, 'Is the lock fair?'), vote(2, 1)];
    const once = qna.apply(ops, 'node-b', 7);
    const again = qna.apply(ops, 'node-b', 7);
    expect(again).toEqual({ ...once, duplicate: true });
    expect(qna.state.questions).toHaveLength(1);
    expect(qna.state.questions[0]!.voters).toHaveLength(1);
  });

  it('reads only what changed since a version; hidden and pending questions are removed from the phones’ view', () => {
    const qna = new QnaHarness();
    qna.apply([ask(1, 'First question'), ask(2, 'Second question')]);
    const v1 = qna.query<QnaPublicView>('view').version;
    expect(qna.query<QnaPublicView>('view', { since: v1 })).toMatchObject({ full: false, questions: [], removed: [] });
    qna.apply([vote(3, 2)]);
    qna.handle('moderate', { question: 1, action: 'hide' });
    const delta = qna.query<QnaPublicView>('view', { since: v1 });
    expect(delta.questions.map((q) => q.id)).toEqual([2]);
    expect(delta.removed).toEqual([1]);
    // A vote for a hidden question is refused as gone.
    expect(qna.apply([vote(4, 1)]).results[0]).toMatchObject({ ok: false, reason: 'question-gone' });
    // The presenter still sees it.
    expect(qna.query<QnaPresenterView>('presenter').questions.find((q) => q.id === 1)?.status).toBe('hidden');
    // A reader whose version is ahead of the object's (it was reset by hand) gets everything.
    expect(qna.query<QnaPublicView>('view', { since: 10_000 }).full).toBe(true);
  });

  it('with approval on, questions wait as pending until approved; one question at a time is on screen', () => {
    const qna = new QnaHarness();
    qna.handle('settings', { approval: true });
    expect(qna.apply([ask(1, 'Pending question')]).results[0]).toEqual({ ok: true, question: 1, status: 'pending' });
    expect(qna.query<QnaPublicView>('view').questions).toEqual([]);
    expect(qna.query<QnaPublicView>('view', { participants: [participant(1)] }).mine[participant(1)]!.asked[0]!.status).toBe('pending');
    qna.handle('moderate', { question: 1, action: 'approve' });
    expect(qna.query<QnaPublicView>('view').questions.map((q) => q.id)).toEqual([1]);
    qna.apply([ask(2, 'Another one')]);
    // Putting a pending question on screen shows it to the room as well.
    qna.handle('moderate', { question: 2, action: 'screen' });
    expect(qna.query<QnaPublicView>('view')).toMatchObject({ onScreen: 2 });
    qna.handle('moderate', { question: 1, action: 'screen' });
    expect(qna.state.onScreen).toBe(1);
    qna.handle('moderate', { question: 1, action: 'answer' });
    expect(qna.query<QnaPresenterView>('presenter').questions.find((q) => q.id === 1)?.status).toBe('answered');
    qna.handle('moderate', { question: 1, action: 'hide' });
    expect(qna.state.onScreen).toBeNull();
    expect(rejection(() => qna.handle('moderate', { question: 99, action: 'hide' })).error).toBe('noQuestion');
    expect(rejection(() => qna.handle('moderate', { question: 1, action: 'delete' })).error).toBe('invalid');
    expect(rejection(() => qna.handle('settings', { approval: 'yes' })).error).toBe('invalid');
  });

  it('refuses a malformed batch without a change, and a full talk per question with a reason', () => {
    const qna = new QnaHarness();
    const before = qna.json;
    for (const bad of [
      { gateway: '', seq: 1, ops: [] },
      { gateway: 'g', seq: -1, ops: [] },
      { gateway: 'g', seq: 1, ops: [{ op: 'ask', participant: 'not-a-pseudonym', text: 'hello there', at: 1 }] },
      { gateway: 'g', seq: 1, ops: [{ op: 'ask', participant: participant(1), text: '  needs cleaning  ', at: 1 }] },
      { gateway: 'g', seq: 1, ops: [{ op: 'vote', participant: participant(1), question: 0, up: true }] },
      { gateway: 'g', seq: 1, ops: [{ op: 'delete', participant: participant(1) }] },
    ]) {
      expect(rejection(() => qna.handle('apply', bad)).error).toBe('invalid');
    }
    expect(qna.json).toBe(before);
    const many = Array.from({ length: MAX_QUESTIONS + 1 }, (_, i) => ask(i, `Question number ${i}`));
    const results = qna.apply(many).results;
    expect(results.filter((r) => r.ok)).toHaveLength(MAX_QUESTIONS);
    expect(results.at(-1)).toMatchObject({ ok: false, reason: 'qna-full' });
    // The biggest questions, all voted for by many: the state stays far below the runtime's 1 MiB.
    const big = new QnaHarness();
    big.apply(Array.from({ length: MAX_QUESTIONS }, (_, i) => ask(i, '🤔'.repeat(MAX_QUESTION_LENGTH - 4) + String(i).padStart(4, '0'))).slice(0, 500));
    for (let round = 0; round < 10; round++) big.apply(Array.from({ length: 500 }, (_, i) => vote(round * 500 + i, 1 + (i % MAX_QUESTIONS))));
    expect(Buffer.byteLength(big.json)).toBeLessThan(512 * 1024);
    const exported = big.query<QnaExport>('export');
    expect(exported.questions.reduce((n, q) => n + q.voters.length, 0)).toBe(5000);
  });
});

describe('questions as a phone sends them', () => {
  it('cleans text to one line of plain text, and refuses what is too short or too long with a reason', () => {
    expect(cleanQuestion('  How\n\ndoes\tfencing\u202E work?  ')).toBe('How does fencing work?');
    expect(cleanQuestion('<b>bold</b>')).toBe('<b>bold</b>'); // kept as typed: shown as text, never as markup
    expect(cleanQuestion('ab')).toBeNull();
    expect(cleanQuestion('x'.repeat(MAX_QUESTION_LENGTH))).toHaveLength(MAX_QUESTION_LENGTH);
    expect(cleanQuestion('x'.repeat(MAX_QUESTION_LENGTH + 1))).toBeNull();
    expect(parseClientMessage(JSON.stringify({ kind: 'ask', text: ' Why? Why not? ', ref: 'q1' }))).toEqual({ ok: true, message: { kind: 'ask', text: 'Why? Why not?', ref: 'q1' } });
    expect(parseClientMessage(JSON.stringify({ kind: 'ask', text: 'x'.repeat(MAX_QUESTION_LENGTH + 1), ref: 'q2' })))
      .toEqual({ ok: false, reason: 'question-length', message: 'a question is 3 to 280 characters', ref: 'q2' });
    expect(parseClientMessage(JSON.stringify({ kind: 'ask', text: 'x'.repeat(5000) }))).toMatchObject({ ok: false, reason: 'question-length', message: 'a question is at most 280 characters' });
    expect(parseClientMessage(JSON.stringify({ kind: 'vote', question: 3, up: false, ref: 'v' }))).toEqual({ ok: true, message: { kind: 'vote', question: 3, up: false, ref: 'v' } });
    for (const [bad, pattern] of [
      [{ kind: 'ask', text: 42 }, /"text"/],
      [{ kind: 'ask', text: 'hello', extra: true }, /unknown field "extra"/],
      [{ kind: 'vote', question: 1.5, up: true }, /"question"/],
      [{ kind: 'vote', question: 1, up: 'yes' }, /"up"/],
      [{ kind: 'vote', question: 1 }, /"up"/],
    ] as const) {
      const parsed = parseClientMessage(JSON.stringify(bad));
      expect(parsed).toMatchObject({ ok: false, reason: 'malformed' });
      expect(!parsed.ok && parsed.message).toMatch(pattern);
    }
  });
});
