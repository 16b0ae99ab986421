import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreUnavailable, StoredStateCorrupt } from '@highlander/runtime';
import type { StateStore, StoredObjectSummary, WriteRequest, WriteResult } from '@highlander/runtime';

/**
 * The `StateStore` contract, as the runtime relies on it (runtime/src/activation/fenced-writer.ts): conditional
 * writes (create if absent, replace if the tag matches, anything else a conflict, never an error),
 * reads that return the body exactly as written with its tag, epoch and version, and listings by
 * type and id prefix, in key order, a page at a time. Every implementation runs this same suite
 * (test/contracts/state-store.test.ts) on an empty store of its own.
 */

const TYPE = 'counter';

function create(id: string, body: string, epoch = '100', type = TYPE): WriteRequest {
  return { type, id, body, epoch, version: 1, condition: { ifNoneMatch: '*' } };
}

export function stateStoreContract(name: string, openEmptyStore: () => Promise<StateStore>): void {
  describe(`StateStore contract: ${name}`, () => {
    let store: StateStore;

    beforeEach(async () => {
      store = await openEmptyStore();
    });

    afterEach(async () => {
      await store.close();
    });

    it('reads a never-stored object as null', async () => {
      expect(await store.read(TYPE, 'nothing-here')).toBeNull();
    });

    it('creates an object if absent, and reads back its body, tag, epoch and version', async () => {
      const body = '{ "value": 1,\n  "list": [1.0, "é"] }';
      const written = await store.write({ ...create('fresh', body, '4242'), version: 3 });
      if (!written.ok) throw new Error('the create was refused');
      expect(written.etag).not.toBe('');
      const stored = await store.read(TYPE, 'fresh');
      expect(stored).toMatchObject({ body, etag: written.etag, epoch: '4242', version: 3 });
      expect(stored!.lastModified).toBeInstanceOf(Date);
    });

    it('gives a rewrite of an unchanged body a new tag, so the old tag is fenced (a claim by a new owner)', async () => {
      const first = await store.write(create('claimed', '{"n":1}', '10'));
      if (!first.ok) throw new Error('the create was refused');
      // The new owner claims the object: same state, its own epoch, the next version.
      const claim = await store.write({ type: TYPE, id: 'claimed', body: '{"n":1}', epoch: '11', version: 2, condition: { ifMatch: first.etag } });
      if (!claim.ok) throw new Error('the claim was refused');
      expect(claim.etag).not.toBe(first.etag);
      // The old owner, still holding the first tag, must not overwrite the claim.
      const stale = await store.write({ type: TYPE, id: 'claimed', body: '{"n":2}', epoch: '10', version: 2, condition: { ifMatch: first.etag } });
      expect(stale).toEqual({ ok: false, conflict: true });
      expect(await store.read(TYPE, 'claimed')).toMatchObject({ body: '{"n":1}', epoch: '11', version: 2, etag: claim.etag });
    });

    it('refuses a second create as a conflict and keeps the first', async () => {
      const first = await store.write(create('once', '{"n":1}', '1'));
      expect(first.ok).toBe(true);
      expect(await store.write(create('once', '{"n":2}', '2'))).toEqual({ ok: false, conflict: true });
      expect(await store.read(TYPE, 'once')).toMatchObject({ body: '{"n":1}', epoch: '1' });
    });

    it('replaces an object if its tag matches, and refuses a stale tag as a conflict', async () => {
      const first = await store.write(create('tagged', '{"n":1}', '10'));
      if (!first.ok) throw new Error('the create was refused');
      const second = await store.write({ type: TYPE, id: 'tagged', body: '{"n":2}', epoch: '10', version: 2, condition: { ifMatch: first.etag } });
      if (!second.ok) throw new Error('the replace was refused');
      expect(second.etag).not.toBe(first.etag);
      expect(await store.read(TYPE, 'tagged')).toMatchObject({ body: '{"n":2}', etag: second.etag, epoch: '10', version: 2 });

      // An older owner still holding the first tag is refused, and changes nothing.
      const stale = await store.write({ type: TYPE, id: 'tagged', body: '{"n":99}', epoch: '9', version: 2, condition: { ifMatch: first.etag } });
      expect(stale).toEqual({ ok: false, conflict: true });
      // A newer owner claims it: its epoch is recorded with the object.
      const claimed = await store.write({ type: TYPE, id: 'tagged', body: '{"n":3}', epoch: '11', version: 3, condition: { ifMatch: second.etag } });
      expect(claimed.ok).toBe(true);
      expect(await store.read(TYPE, 'tagged')).toMatchObject({ body: '{"n":3}', epoch: '11', version: 3 });
    });

    it('refuses a replace of an object that does not exist as a conflict', async () => {
      const result = await store.write({ type: TYPE, id: 'ghost', body: '{}', epoch: '1', version: 2, condition: { ifMatch: 'some-tag' } });
      expect(result).toEqual({ ok: false, conflict: true });
      expect(await store.read(TYPE, 'ghost')).toBeNull();
    });

    // Racing conditional writes: radosgw answers some losers with a 500 instead of a 412 (seen in this suite),
    // which the S3 store reports as StoreUnavailable with maybeApplied; the runtime then reads the object back.
    // So: at most one write succeeds, a conflict never lands, and what is stored is the winner's.
    it('lets at most one of several concurrent creates win, and stores the winner', async () => {
      const outcomes = await Promise.all(Array.from({ length: 6 }, (_, i) => settle(store.write(create('raced', `{"writer":${i}}`, String(100 + i))))));
      const stored = await store.read(TYPE, 'raced');
      expectOneWinner(outcomes, stored?.body, (i) => `{"writer":${i}}`);
    });

    it('lets at most one of several concurrent replaces of the same tag win, and stores the winner', async () => {
      const first = await store.write(create('contended', '{"n":0}'));
      if (!first.ok) throw new Error('the create was refused');
      const outcomes = await Promise.all(Array.from({ length: 6 }, (_, i) => settle(store.write({
        type: TYPE, id: 'contended', body: `{"n":${i + 1}}`, epoch: '100', version: 2, condition: { ifMatch: first.etag },
      }))));
      const stored = await store.read(TYPE, 'contended');
      expectOneWinner(outcomes, stored?.body, (i) => `{"n":${i + 1}}`);
    });

    it('reads a stored body that is not JSON as StoredStateCorrupt', async () => {
      expect((await store.write(create('garbled', 'not json {'))).ok).toBe(true);
      const error = await store.read(TYPE, 'garbled').then(() => undefined, (err: unknown) => err);
      expect(error).toBeInstanceOf(StoredStateCorrupt);
      expect(error).toMatchObject({ code: 'STORED_STATE_CORRUPT', key: store.keyOf(TYPE, 'garbled') });
    });

    it('lists objects of a type in key order, by id prefix, a page at a time', async () => {
      const ids = ['c-07', 'c-01', 'c-03', 'c-02', 'c-06', 'c-05', 'c-04', 'd-1', 'c', 'c-0x.b'];
      const tags = new Map<string, string>();
      for (const id of ids) {
        const r = await store.write(create(id, JSON.stringify({ id })));
        if (!r.ok) throw new Error(`create of ${id} refused`);
        tags.set(id, r.etag);
      }
      await store.write(create('c-01', '{"other":"type"}', '1', 'todo'));

      const all = await listAll(store, { type: TYPE, limit: 3 });
      expect(all.pages).toBe(4);
      expect(all.objects.map((o) => o.id)).toEqual(byKey(store, TYPE, ids));
      for (const o of all.objects) {
        expect(o).toMatchObject({ type: TYPE, key: store.keyOf(TYPE, o.id), etag: tags.get(o.id) });
        // The stored document's size: the state, and whatever the store keeps with it.
        expect(o.size).toBeGreaterThanOrEqual(Buffer.byteLength(JSON.stringify({ id: o.id })));
        expect(o.size).toBeLessThan(Buffer.byteLength(JSON.stringify({ id: o.id })) + 512);
        expect(o.lastModified).toBeInstanceOf(Date);
      }

      const prefixed = await listAll(store, { type: TYPE, prefix: 'c-0', limit: 2 });
      expect(prefixed.objects.map((o) => o.id)).toEqual(byKey(store, TYPE, ids.filter((id) => id.startsWith('c-0'))));

      // One page exactly: no cursor.
      const single = await store.list({ type: TYPE, prefix: 'd-', limit: 1 });
      expect(single.objects.map((o) => o.id)).toEqual(['d-1']);
      expect(single.cursor).toBeUndefined();
      expect((await store.list({ type: TYPE, prefix: 'zzz' })).objects).toEqual([]);
      expect((await store.list({ type: 'never-written' })).objects).toEqual([]);

      // Without a type: every type, in key order.
      const everything = await listAll(store, { limit: 4 });
      expect(everything.objects.map((o) => `${o.type}/${o.id}`)).toEqual(
        [...ids.map((id) => ({ type: TYPE, id })), { type: 'todo', id: 'c-01' }]
          .sort((a, b) => Buffer.compare(Buffer.from(store.keyOf(a.type, a.id)), Buffer.from(store.keyOf(b.type, b.id))))
          .map((o) => `${o.type}/${o.id}`),
      );
    });

    it('stores, reads and lists ids with every character the runtime allows', async () => {
      // Ids of 100 characters, not 200: the test radosgw limits RADOS object names to 256 bytes (bucket marker + key).
      const ids = ['room:42@eu-west', '.hidden', '..dots', 'a..b', 'end.', 'MiXeD_case-9', '@:.', ':'.repeat(100), `${'x.'.repeat(49)}yz`];
      for (const [i, id] of ids.entries()) {
        const r = await store.write(create(id, JSON.stringify({ i })));
        expect(r.ok, id).toBe(true);
      }
      for (const [i, id] of ids.entries()) {
        expect((await store.read(TYPE, id))?.body, id).toBe(JSON.stringify({ i }));
      }
      const listed = await listAll(store, { type: TYPE, limit: 4 });
      expect(listed.objects.map((o) => o.id)).toEqual(byKey(store, TYPE, ids));
      expect((await store.list({ type: TYPE, prefix: 'room:' })).objects.map((o) => o.id)).toEqual(['room:42@eu-west']);
      expect(store.keyOf(TYPE, 'room:42@eu-west')).toContain(`${TYPE}/room:42@eu-west`);
    });
  });
}

type Outcome = { ok: true; etag: string } | { ok: false; conflict: true } | { error: unknown };

function settle(write: Promise<WriteResult>): Promise<Outcome> {
  return write.then((r) => r, (error: unknown) => ({ error }));
}

/** At most one write won; a refused write did not land; an uncertain one (StoreUnavailable, maybeApplied) may have. */
function expectOneWinner(outcomes: Outcome[], storedBody: string | undefined, bodyOf: (i: number) => string): void {
  const winners = outcomes.flatMap((o, i) => ('ok' in o && o.ok ? [i] : []));
  const uncertain = outcomes.flatMap((o, i) => ('error' in o ? [i] : []));
  for (const i of uncertain) {
    const error = (outcomes[i] as { error: unknown }).error;
    expect(error, String(error)).toBeInstanceOf(StoreUnavailable);
    expect(error).toMatchObject({ maybeApplied: true });
  }
  expect(winners.length).toBeLessThanOrEqual(1);
  if (winners.length === 1) expect(storedBody).toBe(bodyOf(winners[0]!));
  else expect(uncertain.map(bodyOf)).toContain(storedBody);
  expect(winners.length + uncertain.length, 'some write must win or be in doubt').toBeGreaterThan(0);
}

async function listAll(store: StateStore, options: { type?: string; prefix?: string; limit: number }): Promise<{ objects: StoredObjectSummary[]; pages: number }> {
  const objects: StoredObjectSummary[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.list({ ...options, ...(cursor ? { cursor } : {}) });
    pages++;
    expect(page.objects.length).toBeLessThanOrEqual(options.limit);
    objects.push(...page.objects);
    cursor = page.cursor;
    if (pages > 100) throw new Error('listing does not end');
  } while (cursor);
  return { objects, pages };
}

/** Ids in the order of their keys' bytes (S3's listing order). */
function byKey(store: StateStore, type: string, ids: string[]): string[] {
  return [...ids].sort((a, b) => Buffer.compare(Buffer.from(store.keyOf(type, a)), Buffer.from(store.keyOf(type, b))));
}
