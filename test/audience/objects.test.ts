import { describe, expect, it } from 'vitest';
import {
  CURATED_EMOJI, MAX_PARTICIPANTS, PSEUDONYM_PATTERN, Talk, devicePseudonym, type ApplyResult, type TalkBatch, type TalkExport, type TalkSnapshot, type TalkState,
} from '@highlander/audience';
import { ObjectRejected, Replied } from '@highlander/runtime';
import { MAX_RECENT_REACTIONS, MAX_TIMELINE_POINTS, TIMELINE_INTERVAL_MS } from '../../audience/src/objects.js';
// How the runtime builds `ctx.fail` (an internal of the runtime, used here to run handlers without a node).
import { makeFailers } from '../../runtime/src/define-object.js';

/**
 * The talk object's handlers and queries on their own, as the runtime runs them: each call gets the
 * state parsed from the last JSON and its result is serialized again (so a test sees exactly what
 * would be persisted).
 */

const CODE = 'ABCDE';

class TalkHarness {
  json = JSON.stringify(Talk.initial());

  get state(): TalkState {
    return JSON.parse(this.json) as TalkState;
  }

  get bytes(): number {
    return Buffer.byteLength(this.json);
  }

  handle<R = unknown>(name: keyof typeof Talk.handlers, arg: unknown = null): R {
    const ctx = { type: 'talk', id: CODE, node: 'n', epoch: '1', fail: makeFailers(Talk, CODE), ref: () => { throw new Error('no refs'); }, reply: (s: unknown, r: unknown) => new Replied(s, r) };
    const result = (Talk.handlers[name] as (s: unknown, a: unknown, c: unknown) => unknown)(this.state, arg, ctx);
    const next = result instanceof Replied ? result.state : result;
    this.json = JSON.stringify(next);
    return JSON.parse(JSON.stringify(result instanceof Replied ? result.reply : undefined)) as R;
  }

  query<R = unknown>(name: keyof typeof Talk.queries, arg: unknown = null): R {
    const ctx = { type: 'talk', id: CODE, node: 'n', epoch: '1', fail: makeFailers(Talk, CODE) };
    return JSON.parse(JSON.stringify((Talk.queries[name] as (s: unknown, a: unknown, c: unknown) => unknown)(this.state, arg, ctx))) as R;
  }
}

/** A participant as the talk knows it: a pseudonym (22 characters), never a device id. */
function participant(i: number): string {
  return `p${String(i).padStart(21, '0')}`;
}

function batch(seq: number, overrides: Partial<TalkBatch> = {}): TalkBatch {
  return { gateway: 'node-a', seq, positions: {}, reactions: [], connected: 0, ...overrides };
}

function rejection(run: () => unknown): ObjectRejected {
  try {
    run();
  } catch (err) {
    if (err instanceof ObjectRejected) return err;
    throw err;
  }
  throw new Error('expected the talk to refuse');
}

function created(): TalkHarness {
  const talk = new TalkHarness();
  talk.handle('create', { title: 'There can be only one' });
  return talk;
}

describe('talk', () => {
  it('is created once, open, and refuses everything before it exists', () => {
    const talk = new TalkHarness();
    expect(rejection(() => talk.handle('apply', batch(1))).error).toBe('notFound');
    expect(rejection(() => talk.query('snapshot')).error).toBe('notFound');
    expect(rejection(() => talk.handle('create', { title: '  ' })).error).toBe('invalid');
    const view = talk.handle<{ status: string; title: string; code: string }>('create', { title: 'There can be only one' });
    expect(view).toMatchObject({ status: 'open', title: 'There can be only one', code: CODE });
    expect(rejection(() => talk.handle('create', { title: 'again' })).error).toBe('exists');
  });

  it('averages the latest position of each device and builds the 11-bucket histogram', () => {
    const talk = created();
    talk.handle('apply', batch(1, { positions: { [participant(1)]: 0, [participant(2)]: 50, [participant(3)]: 100 }, connected: 3 }));
    talk.handle('apply', batch(2, { positions: { [participant(2)]: 74, [participant(4)]: 96 }, connected: 4 }));
    const view = talk.query<TalkSnapshot>('snapshot');
    expect(view.participants).toBe(4);
    expect(view.average).toBe((0 + 74 + 100 + 96) / 4);
    const expected = new Array(11).fill(0);
    expected[0] = 1; // 0
    expected[7] = 1; // 74 → 70
    expected[10] = 2; // 100 and 96 → 100
    expect(view.histogram).toEqual(expected);
    expect(view.connected).toBe(4);
  });

  it('applies a batch once: a retried (gateway, seq) is acknowledged without counting twice', () => {
    const talk = created();
    const first = batch(10, { positions: { [participant(1)]: 30 }, reactions: [{ emoji: '🎉', at: 1 }, { emoji: '👏', at: 2 }] });
    const applied = talk.handle<ApplyResult>('apply', first);
    expect(applied).toMatchObject({ applied: true, duplicate: false });
    const retried = talk.handle<ApplyResult>('apply', first);
    expect(retried).toMatchObject({ applied: true, duplicate: true });
    // An older seq of the same gateway is not applied either; another gateway's seq is its own.
    expect(talk.handle<ApplyResult>('apply', batch(9, { reactions: [{ emoji: '🎉', at: 3 }] })).duplicate).toBe(true);
    talk.handle('apply', batch(1, { gateway: 'node-b', reactions: [{ emoji: '🎉', at: 4 }] }));
    const view = talk.query<TalkSnapshot>('snapshot');
    expect(view.totals).toEqual({ '🎉': 2, '👏': 1 });
    expect(view.reactions.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(view.reactionSeq).toBe(3);
  });

  it('takes no feedback while closed, and says so to the gateway (also on a retry)', () => {
    const talk = created();
    talk.handle('close');
    const result = talk.handle<ApplyResult>('apply', batch(1, { positions: { [participant(1)]: 40 }, reactions: [{ emoji: '🔥', at: 1 }] }));
    expect(result).toMatchObject({ applied: false, status: 'closed' });
    expect(talk.handle<ApplyResult>('apply', batch(1, { positions: { [participant(1)]: 40 } }))).toMatchObject({ applied: false, duplicate: true });
    talk.handle('open');
    const view = talk.query<TalkSnapshot>('snapshot');
    expect(view).toMatchObject({ status: 'open', participants: 0, totals: {} });
  });

  it('reset forgets the feedback and starts a new round, but not the gateways\' sequence numbers', () => {
    const talk = created();
    talk.handle('apply', batch(5, { positions: { [participant(1)]: 80 }, reactions: [{ emoji: '❤️', at: 1 }] }));
    talk.handle('reset');
    const view = talk.query<TalkSnapshot>('snapshot');
    expect(view).toMatchObject({ participants: 0, average: null, totals: {}, round: 1, reactions: [] });
    // A batch retried across the reset is still recognised as applied.
    expect(talk.handle<ApplyResult>('apply', batch(5, { reactions: [{ emoji: '❤️', at: 1 }] })).duplicate).toBe(true);
    // Reaction seqs keep increasing, so a presenter polling with sinceReaction misses nothing.
    talk.handle('apply', batch(6, { reactions: [{ emoji: '❤️', at: 2 }] }));
    expect(talk.query<TalkSnapshot>('snapshot', { sinceReaction: 1 }).reactions.map((r) => r.seq)).toEqual([2]);
  });

  it('knows participants by pseudonym only: a fresh key per talk, never in a snapshot or an export; a device id is refused', () => {
    const talk = created();
    const { secret } = talk.state;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(created().state.secret).not.toBe(secret);
    // What a gateway sends is the keyed hash of the device id, which the talk cannot turn back.
    const phone = 'a-device-id-of-some-phone';
    const pseudonym = devicePseudonym(secret!, phone);
    expect(pseudonym).toMatch(PSEUDONYM_PATTERN);
    talk.handle('apply', batch(1, { positions: { [pseudonym]: 64 } }));
    expect(talk.query<{ positions: Record<string, number> }>('lookup', { participants: [pseudonym, 'missing-participant-00'] }).positions).toEqual({ [pseudonym]: 64 });
    const exported = talk.query<TalkExport>('export');
    expect(exported.positions).toEqual({ [pseudonym]: 64 });
    expect(JSON.stringify(exported)).not.toContain(secret);
    expect(JSON.stringify(talk.query('snapshot'))).not.toContain(secret);
    expect(JSON.stringify(talk.state)).not.toContain(phone);
    // A device id in a batch is refused as a whole.
    expect(rejection(() => talk.handle('apply', batch(2, { positions: { [phone]: 10 } }))).error).toBe('invalid');
  });

  it('seals a talk stored before pseudonyms once: a key, and its device ids replaced by their pseudonyms', () => {
    const talk = created();
    const devices = { 'old-device-id-00000001': 20, 'old-device-id-00000002': 80 };
    // As it was stored: positions by device id, no key.
    talk.json = JSON.stringify({ ...talk.state, secret: null, positions: devices });
    expect(rejection(() => talk.handle('apply', batch(1, { positions: { [participant(1)]: 5 } }))).error).toBe('invalid');
    const { secret } = talk.handle<{ secret: string }>('seal');
    expect(talk.state.secret).toBe(secret);
    expect(talk.state.positions).toEqual(Object.fromEntries(Object.entries(devices).map(([d, v]) => [devicePseudonym(secret, d), v])));
    // Sealed already: the same key, nothing changes.
    const before = talk.json;
    expect(talk.handle<{ secret: string }>('seal').secret).toBe(secret);
    expect(talk.json).toBe(before);
  });

  it('refuses non-curated emoji and malformed batches as a whole', () => {
    const talk = created();
    expect(rejection(() => talk.handle('apply', batch(1, { reactions: [{ emoji: '💩', at: 1 }] }))).error).toBe('invalid');
    expect(rejection(() => talk.handle('apply', batch(1, { positions: { [participant(1)]: 101 } }))).error).toBe('invalid');
    expect(rejection(() => talk.handle('apply', batch(1, { positions: { 'short': 1 } }))).error).toBe('invalid');
    expect(rejection(() => talk.handle('apply', { ...batch(1), seq: -1 })).error).toBe('invalid');
    expect(talk.query<TalkSnapshot>('snapshot').reactionSeq).toBe(0);
  });

  it('keeps its rings bounded: the last reactions, the snapshot cap, the timeline', () => {
    const talk = created();
    let seq = 0;
    for (let i = 0; i < 6; i++) {
      const reactions = Array.from({ length: 400 }, (_, j) => ({ emoji: CURATED_EMOJI[(i + j) % CURATED_EMOJI.length]!, at: j }));
      talk.handle('apply', batch(++seq, { reactions }));
    }
    const state = talk.state;
    expect(state.reactions.recent).toHaveLength(MAX_RECENT_REACTIONS);
    expect(state.reactions.recent.at(-1)!.seq).toBe(2400);
    expect(Object.values(state.reactions.totals).reduce((a, b) => a + b, 0)).toBe(2400);
    const all = talk.query<TalkSnapshot>('snapshot');
    expect(all.reactions).toHaveLength(500);
    expect(all.reactions.at(-1)!.seq).toBe(2400);
    // Asking from too far back says so (the presenter refetches the totals, which are exact).
    const behind = talk.query<TalkSnapshot>('snapshot', { sinceReaction: 100 });
    expect(behind.reactionsGap).toBe(true);
    expect(talk.query<TalkSnapshot>('snapshot', { sinceReaction: 2300 })).toMatchObject({ reactionsGap: false });

    // Timeline: one point per 10 s of applies, merged when over the cap.
    const s = talk.state;
    const start = Date.now() - (MAX_TIMELINE_POINTS + 50) * TIMELINE_INTERVAL_MS;
    s.timeline = Array.from({ length: MAX_TIMELINE_POINTS + 40 }, (_, i) => ({ t: start + i * TIMELINE_INTERVAL_MS, average: 50, participants: 1, connected: 1, reactions: 1 }));
    talk.json = JSON.stringify(s);
    talk.handle('apply', batch(++seq, { reactions: [{ emoji: '🎉', at: 1 }] }));
    const timeline = talk.state.timeline;
    expect(timeline.length).toBeLessThanOrEqual(MAX_TIMELINE_POINTS);
    // Merging keeps every reaction: the replaced points' plus those not yet in a point plus the new one.
    expect(timeline.reduce((n, p) => n + p.reactions, 0)).toBe(MAX_TIMELINE_POINTS + 40 + s.pointReactions + 1);
    expect(timeline.every((p, i) => i === 0 || p.t > timeline[i - 1]!.t)).toBe(true);
  });

  it(`holds ${MAX_PARTICIPANTS.toLocaleString('en-US')} participants at most (under the 1 MiB state limit) and refuses new devices beyond`, () => {
    const talk = created();
    let seq = 0;
    for (let from = 0; from < MAX_PARTICIPANTS; from += 5000) {
      const positions = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [participant(from + i), (from + i) % 101]));
      talk.handle('apply', batch(++seq, { positions }));
    }
    const result = talk.handle<ApplyResult>('apply', batch(++seq, { positions: { [participant(MAX_PARTICIPANTS)]: 50, [participant(0)]: 99 } }));
    expect(result.refusedDevices).toEqual([participant(MAX_PARTICIPANTS)]);
    expect(talk.state.positions[participant(0)]).toBe(99);
    expect(Object.keys(talk.state.positions)).toHaveLength(MAX_PARTICIPANTS);
    // Full reaction ring and timeline too: still under the runtime's default limit, even for a talk stored before pseudonyms with the longest device ids.
    const longIds = new TalkHarness();
    longIds.handle('create', { title: 'x'.repeat(200) });
    const s = longIds.state;
    for (let i = 0; i < MAX_PARTICIPANTS; i++) s.positions[`${'d'.repeat(58)}${String(i).padStart(6, '0')}`] = 100;
    s.reactions.recent = Array.from({ length: MAX_RECENT_REACTIONS }, (_, i) => ({ seq: 1_000_000 + i, emoji: '❤️', at: Date.now() }));
    s.timeline = Array.from({ length: MAX_TIMELINE_POINTS }, (_, i) => ({ t: Date.now() + i, average: 55.55, participants: MAX_PARTICIPANTS, connected: MAX_PARTICIPANTS, reactions: 1234 }));
    s.gateways = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`node-${i}`, { lastSeq: Date.now() * 1000, lastApplied: true, connected: 500, at: Date.now() }]));
    expect(Buffer.byteLength(JSON.stringify(s))).toBeLessThan(1024 * 1024);
  });
});
