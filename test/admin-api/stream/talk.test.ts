import { describe, expect, it } from 'vitest';
import type { TalkSnapshot } from '@highlander/audience';
import { HttpError } from '../../../admin-api/src/http-error.js';
import type { TalkService } from '../../../admin-api/src/talks.js';
import { client, isDelta, isSnapshot, start } from './stream-client.js';

/** The `talk` scope over the stream (the shared poller itself is in talk-feed.test.ts; live nodes in test/audience). */

function talkSnapshot(overrides: Partial<TalkSnapshot> = {}): TalkSnapshot {
  return {
    code: 'ABCDE', title: 'Stream', status: 'open', createdAt: 1, openedAt: 1, closedAt: null, round: 0, participants: 0, connected: 0, gateways: [],
    average: null, histogram: new Array(11).fill(0), totals: {}, reactionSeq: 0, reactionsPerMinute: 0, at: 0, reactions: [], reactionsGap: false,
    timeline: [], ...overrides,
  };
}

/** Talk ABCDE exists; any other code does not. */
function talks(state: { talk: TalkSnapshot }): TalkService {
  return {
    snapshot: async (code: string) => {
      if (code !== 'ABCDE') throw new HttpError(404, 'TALK_NOT_FOUND', `no talk with code ${code}`);
      return { ...state.talk, at: Date.now() };
    },
    questions: async () => ({ version: 0, approval: false, onScreen: null, full: true, questions: [], count: 0 }),
  } as unknown as TalkService;
}

describe('stream: talk', () => {
  it('a snapshot, then a delta when the talk changes; unsubscribing says so', async () => {
    const state = { talk: talkSnapshot() };
    await start({ talks: talks(state) });
    const c = await client();
    c.send({ subscribe: 'talk', code: 'ABCDE' });
    expect(await c.next(isSnapshot('talk'))).toMatchObject({ code: 'ABCDE', talk: { title: 'Stream' } });
    state.talk = talkSnapshot({ average: 60, participants: 1 });
    expect(await c.next(isDelta('talk'))).toMatchObject({ code: 'ABCDE', talk: { average: 60 }, reactions: [] });
    c.send({ unsubscribe: 'talk' });
    expect(await c.next((m) => m.kind === 'unsubscribed')).toEqual({ kind: 'unsubscribed', scope: 'talk' });
  });

  it('no such talk, or no talk service: an error message, and nothing subscribed', async () => {
    await start({ talks: talks({ talk: talkSnapshot() }) });
    const c = await client();
    c.send({ subscribe: 'talk', code: 'ZZZZZ' });
    expect(await c.next((m) => m.kind === 'error')).toMatchObject({ scope: 'talk', code: 'ZZZZZ', error: { code: 'TALK_NOT_FOUND' } });
  });

  it('without a talk service, a subscription is answered TALKS_UNAVAILABLE', async () => {
    await start();
    const c = await client();
    c.send({ subscribe: 'talk', code: 'ABCDE' });
    expect(await c.next((m) => m.kind === 'error')).toEqual({
      kind: 'error', scope: 'talk', code: 'ABCDE', error: { code: 'TALKS_UNAVAILABLE', message: 'this admin API has no talk service' },
    });
  });
});
