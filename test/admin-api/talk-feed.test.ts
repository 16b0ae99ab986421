import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { PresenterQuestion, QnaPresenterView, Reaction, TalkSnapshot } from '@highlander/audience';
import { HttpError } from '../../admin-api/src/http-error.js';
import type { TalkMessage } from '../../admin-api/src/stream/protocol.js';
import { TalkFeeds } from '../../admin-api/src/talk-feed.js';
import type { TalkService } from '../../admin-api/src/talks.js';

/**
 * The stream's `talk` scope poller over a talk service that stands in for the nodes (the live path
 * is in test/audience/audience.test.ts): one poll loop per talk shared by its subscribers, a
 * snapshot then deltas only when something changed, asking only for what is new, and no polling
 * once nobody listens.
 */

class FakeTalks {
  talk: TalkSnapshot = snapshotOf({});
  calls: Array<{ code: string; since: { reaction?: number; timeline?: number } }> = [];
  missing = false;

  snapshot = async (code: string, since: { reaction?: number; timeline?: number } = {}): Promise<TalkSnapshot> => {
    this.calls.push({ code, since });
    if (this.missing) throw new HttpError(404, 'TALK_NOT_FOUND', `no talk with code ${code}`);
    const reactions = this.talk.reactions.filter((r) => since.reaction === undefined || r.seq > since.reaction);
    const timeline = this.talk.timeline.filter((p) => since.timeline === undefined || p.t > since.timeline);
    return { ...this.talk, reactions, timeline, at: Date.now() };
  };

  questionList: Array<PresenterQuestion & { v: number }> = [];
  version = 0;
  questionCalls: Array<number | undefined> = [];

  questions = async (_code: string, since?: number): Promise<QnaPresenterView> => {
    this.questionCalls.push(since);
    const questions = this.questionList.filter((q) => since === undefined || q.v > since).map(({ v: _v, ...q }) => q);
    return { version: this.version, approval: false, onScreen: null, full: since === undefined, questions, count: this.questionList.length };
  };

  ask(text: string): void {
    this.questionList.push({ id: this.questionList.length + 1, text, votes: 0, status: 'open', at: Date.now(), v: ++this.version });
  }

  upvote(id: number): void {
    const q = this.questionList.find((x) => x.id === id)!;
    q.votes++;
    q.v = ++this.version;
  }

  react(emoji: string): void {
    const seq = this.talk.reactionSeq + 1;
    const reaction: Reaction = { seq, emoji, at: Date.now() };
    this.talk = { ...this.talk, reactionSeq: seq, reactions: [...this.talk.reactions, reaction], totals: { ...this.talk.totals, [emoji]: (this.talk.totals[emoji] ?? 0) + 1 } };
  }
}

function snapshotOf(overrides: Partial<TalkSnapshot>): TalkSnapshot {
  return {
    code: 'ABCDE', title: 'Feed', status: 'open', createdAt: 1, openedAt: 1, closedAt: null, round: 0, participants: 0, connected: 0, gateways: [],
    average: null, histogram: new Array(11).fill(0), totals: {}, reactionSeq: 0, reactionsPerMinute: 0, at: 0, reactions: [], reactionsGap: false,
    timeline: [], ...overrides,
  };
}

function feedsOver(talks: FakeTalks): TalkFeeds {
  return new TalkFeeds({ talks: talks as unknown as TalkService, logger: pino({ level: 'silent' }), intervalMs: 20 });
}

async function until(test: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('talk feeds', () => {
  it('send a snapshot, then deltas with only the new reactions, only when something changed', async () => {
    const talks = new FakeTalks();
    const feeds = feedsOver(talks);
    const got: TalkMessage[] = [];
    const stop = feeds.subscribe('ABCDE', (m) => got.push(m));
    await until(() => got.length === 1);
    expect(got[0]).toMatchObject({ kind: 'snapshot', scope: 'talk', code: 'ABCDE', talk: { title: 'Feed' } });
    await until(() => talks.calls.length >= 5);
    expect(got).toHaveLength(1); // nothing changed: no delta
    talks.react('🎉');
    talks.react('👏');
    await until(() => got.length === 2);
    expect(got[1]).toMatchObject({ kind: 'delta', talk: { totals: { '🎉': 1, '👏': 1 } } });
    expect((got[1] as { reactions: Reaction[] }).reactions.map((r) => r.emoji)).toEqual(['🎉', '👏']);
    // It asks only for what is new.
    await until(() => talks.calls.at(-1)!.since.reaction === 2);
    talks.talk = { ...talks.talk, average: 70, participants: 1 };
    await until(() => got.length === 3);
    expect(got[2]).toMatchObject({ kind: 'delta', talk: { average: 70 }, reactions: [] });
    stop();
    const polls = talks.calls.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(talks.calls.length - polls).toBeLessThanOrEqual(1);
    expect(feeds.activeFeeds).toBe(0);
  });

  it('share one poll loop per talk; a late subscriber gets the merged snapshot; a reset sends snapshots again', async () => {
    const talks = new FakeTalks();
    const feeds = feedsOver(talks);
    const first: TalkMessage[] = [];
    const second: TalkMessage[] = [];
    const stopFirst = feeds.subscribe('ABCDE', (m) => first.push(m));
    await until(() => first.length === 1);
    talks.react('🔥');
    await until(() => first.length === 2);
    const stopSecond = feeds.subscribe('ABCDE', (m) => second.push(m));
    expect(second[0]).toMatchObject({ kind: 'snapshot', talk: { totals: { '🔥': 1 } } });
    expect((second[0] as { talk: TalkSnapshot }).talk.reactions.map((r) => r.emoji)).toEqual(['🔥']);
    expect(feeds.activeFeeds).toBe(1);
    talks.talk = snapshotOf({ round: 1, reactionSeq: talks.talk.reactionSeq });
    await until(() => first.at(-1)?.kind === 'snapshot' && second.at(-1)?.kind === 'snapshot');
    expect(first.at(-1)).toMatchObject({ talk: { round: 1, totals: {} } });
    stopFirst();
    stopSecond();
  });

  it('carry the questions: all of them in the snapshot, then only the changed ones, asked for by version', async () => {
    const talks = new FakeTalks();
    talks.ask('Before anyone subscribed?');
    const feeds = feedsOver(talks);
    const got: TalkMessage[] = [];
    const stop = feeds.subscribe('ABCDE', (m) => got.push(m));
    await until(() => got.length === 1);
    expect(got[0]).toMatchObject({ kind: 'snapshot', qna: { full: true, questions: [{ id: 1, text: 'Before anyone subscribed?' }] } });
    talks.ask('Second?');
    talks.upvote(1);
    await until(() => got.length === 2);
    expect(got[1]).toMatchObject({ kind: 'delta', reactions: [], qna: { full: false, version: 3 } });
    expect((got[1] as { qna: QnaPresenterView }).qna.questions.map((q) => [q.id, q.votes])).toEqual([[1, 1], [2, 0]]);
    await until(() => talks.questionCalls.at(-1) === 3);
    // A late subscriber gets every question, merged.
    const late: TalkMessage[] = [];
    const stopLate = feeds.subscribe('ABCDE', (m) => late.push(m));
    expect((late[0] as { qna: QnaPresenterView }).qna.questions.map((q) => [q.id, q.votes])).toEqual([[1, 1], [2, 0]]);
    stop();
    stopLate();
  });

  it('tell every subscriber when the talk does not exist, and stop', async () => {
    const talks = new FakeTalks();
    talks.missing = true;
    const feeds = feedsOver(talks);
    const got: TalkMessage[] = [];
    feeds.subscribe('ZZZZZ', (m) => got.push(m));
    await until(() => got.length === 1);
    expect(got[0]).toMatchObject({ kind: 'error', scope: 'talk', code: 'ZZZZZ', error: { code: 'TALK_NOT_FOUND' } });
    expect(feeds.activeFeeds).toBe(0);
  });
});
