import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { Fenced, StoreUnavailable, type StateStore, type StoredObject, type WriteRequest, type WriteResult } from '@highlander/runtime';
import { FencedUncertain, claim, writeFenced, type FencedWrite } from '../../../runtime/src/activation/fenced-writer.js';

/**
 * The fencing protocol against a store that holds one object and answers as the test scripts it.
 * A unit test of the protocol's decisions; radosgw's and the file store's conditional writes are
 * proven in test/contracts/, fencing of real zombies in test/cluster/faults/.
 */

type Script = 'apply' | 'apply-then-lose-answer' | 'lose-before-applying';

class ScriptedStore implements StateStore {
  stored: StoredObject | null = null;
  writes: WriteRequest[] = [];
  /** How the next writes go (default: apply, honouring the condition). */
  script: Script[] = [];
  /** Reads fail while set. */
  readsFail = false;
  reads = 0;
  #tag = 0;
  async read(): Promise<StoredObject | null> {
    this.reads++;
    if (this.readsFail) throw new StoreUnavailable('read', 'k', new Error('connection refused'));
    return this.stored;
  }
  async write(request: WriteRequest): Promise<WriteResult> {
    this.writes.push(request);
    const how = this.script.shift() ?? 'apply';
    if (how === 'lose-before-applying') throw new StoreUnavailable('write', 'k', new Error('timed out'), true);
    const condition = request.condition;
    const holds = 'ifNoneMatch' in condition ? this.stored === null : this.stored?.etag === condition.ifMatch;
    if (!holds) return { ok: false, conflict: true };
    const etag = `e${++this.#tag}`;
    this.stored = { body: request.body, etag, epoch: request.epoch, version: request.version };
    if (how === 'apply-then-lose-answer') throw new StoreUnavailable('write', 'k', new Error('socket hang up'), true);
    return { ok: true, etag };
  }
  async list() {
    return { objects: [] };
  }
  keyOf() {
    return 'k';
  }
  async close() {}
}

const target = { type: 'counter', id: 'c' };
const write = (over: Partial<FencedWrite> = {}): FencedWrite => ({ body: '{"value":1}', epoch: '100', version: 2, etag: 'e1', deadline: performance.now() + 60_000, ...over });
const noStoreDown = () => {
  throw new Error('the store was not expected to be down');
};

describe('claim', () => {
  it('writes the initial state of a new object with If-None-Match and our epoch', async () => {
    const store = new ScriptedStore();
    const claimed = await claim(store, target, '100', () => '{"value":0}');
    expect(claimed).toEqual({ body: '{"value":0}', etag: 'e1', version: 1, existed: false });
    expect(store.writes[0]).toMatchObject({ condition: { ifNoneMatch: '*' }, epoch: '100', version: 1 });
  });

  it('rewrites a stored state If-Match its ETag, recording our epoch and the next version', async () => {
    const store = new ScriptedStore();
    store.stored = { body: '{"value":7}', etag: 'old', epoch: '90', version: 4 };
    const claimed = await claim(store, target, '100', () => '{"value":0}');
    expect(claimed).toMatchObject({ body: '{"value":7}', version: 5, existed: true });
    expect(store.writes[0]).toMatchObject({ condition: { ifMatch: 'old' }, epoch: '100', version: 5 });
  });

  it('takes an early read as its first, and reads again when that read failed', async () => {
    const store = new ScriptedStore();
    store.stored = { body: '{"value":7}', etag: 'old', epoch: '90', version: 4 };
    await claim(store, target, '100', () => '{}', store.read());
    expect(store.reads).toBe(1); // the early read only
    const failed = Promise.reject(new StoreUnavailable('read', 'k', new Error('connection refused')));
    const again = new ScriptedStore();
    again.stored = { body: '{"value":7}', etag: 'old', epoch: '90', version: 4 };
    expect(await claim(again, target, '100', () => '{}', failed)).toMatchObject({ body: '{"value":7}', version: 5 });
    expect(again.reads).toBe(1);
  });

  it('refuses a stored epoch newer than its own: Fenced, nothing written', async () => {
    const store = new ScriptedStore();
    store.stored = { body: '{"value":7}', etag: 'new', epoch: '200', version: 9 };
    await expect(claim(store, target, '100', () => '{}')).rejects.toBeInstanceOf(Fenced);
    expect(store.writes).toHaveLength(0);
  });

  it('takes a stored claim of its own epoch (an answer lost) as done', async () => {
    const store = new ScriptedStore();
    store.stored = { body: '{"value":3}', etag: 'mine', epoch: '100', version: 2 };
    expect(await claim(store, target, '100', () => '{}')).toMatchObject({ etag: 'mine', version: 2 });
    expect(store.writes).toHaveLength(0);
  });
});

describe('writeFenced', () => {
  it('writes If-Match the last ETag', async () => {
    const store = new ScriptedStore();
    store.stored = { body: '{"value":0}', etag: 'e1', epoch: '100', version: 1 };
    expect(await writeFenced(store, target, write({ etag: 'e1' }), noStoreDown)).toMatchObject({ version: 2 });
    expect(store.writes[0]).toMatchObject({ condition: { ifMatch: 'e1' } });
  });

  it('a failed condition with our own epoch stored is our earlier write: writes on top of it', async () => {
    const store = new ScriptedStore();
    store.stored = { body: '{"value":5}', etag: 'ours-later', epoch: '100', version: 3 };
    const written = await writeFenced(store, target, write({ etag: 'stale' }), noStoreDown);
    expect(written.version).toBe(4);
    expect(store.stored).toMatchObject({ body: '{"value":1}', version: 4, epoch: '100' });
  });

  it('a failed condition with another epoch stored is a newer owner: Fenced', async () => {
    const store = new ScriptedStore();
    store.stored = { body: '{"value":42}', etag: 'theirs', epoch: '200', version: 9 };
    await expect(writeFenced(store, target, write({ etag: 'e1' }), noStoreDown)).rejects.toBeInstanceOf(Fenced);
    expect(store.stored.epoch).toBe('200');
  });

  it('an interrupted write that landed is found by reading it back', async () => {
    const store = new ScriptedStore();
    store.stored = { body: '{"value":0}', etag: 'e1', epoch: '100', version: 1 };
    store.script = ['apply-then-lose-answer'];
    expect(await writeFenced(store, target, write(), noStoreDown)).toMatchObject({ version: 2, body: '{"value":1}' });
  });

  it('an interrupted write that did not land is StoreUnavailable (no effect)', async () => {
    const store = new ScriptedStore();
    store.stored = { body: '{"value":0}', etag: 'e1', epoch: '100', version: 1 };
    store.script = ['lose-before-applying'];
    await expect(writeFenced(store, target, write(), noStoreDown)).rejects.toBeInstanceOf(StoreUnavailable);
  });

  it('an interrupted write followed by a newer owner is fenced with an unknown outcome', async () => {
    const store = new ScriptedStore();
    store.stored = { body: '{"value":0}', etag: 'e1', epoch: '100', version: 1 };
    store.script = ['lose-before-applying'];
    const writing = writeFenced(store, target, write(), noStoreDown);
    store.stored = { body: '{"value":9}', etag: 'theirs', epoch: '200', version: 5 };
    const err = await writing.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FencedUncertain);
    expect((err as FencedUncertain).indeterminate.code).toBe('INDETERMINATE');
  });

  it('an interrupted write that cannot be read back before the deadline is Indeterminate; the store is reported down once', async () => {
    const store = new ScriptedStore();
    store.stored = { body: '{"value":0}', etag: 'e1', epoch: '100', version: 1 };
    store.script = ['lose-before-applying'];
    store.readsFail = true;
    const down: StoreUnavailable[] = [];
    const err = await writeFenced(store, target, write({ deadline: performance.now() + 400 }), (e) => down.push(e)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INDETERMINATE' });
    expect(down).toHaveLength(1);
    expect(store.reads).toBeGreaterThan(1); // read back with backoff until the deadline
  });
});
