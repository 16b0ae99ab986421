import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Activation, checkTransition, type ActivationHost, type ActivationStatus } from '../../../runtime/src/activation/activation.js';
import { defineObject, type Coordinator } from '@highlander/runtime';
import { HandlerFailed, OwnershipLost, StoreUnavailable, VersionConflict } from '@highlander/runtime';
import type { LifecycleEventBody } from '@highlander/runtime';
import type { LockHandle } from '@highlander/runtime';
import type { StateStore, StoredObject, WriteRequest, WriteResult } from '@highlander/runtime';

/**
 * The mailbox and group-commit logic of one activation, against an in-memory store whose writes
 * the test completes or fails by hand. This is a unit test of pure logic; the same behaviour on
 * ZooKeeper and radosgw is proven in test/cluster/.
 */

const Counter = defineObject({
  type: 'counter',
  initial: () => ({ value: 0 }),
  handlers: {
    increment: (c, _arg: null, ctx) => ctx.reply({ value: c.value + 1 }, c.value + 1),
    mutateThenThrow(c) {
      c.value = 1000;
      throw new Error('boom');
    },
  },
  queries: { value: (c) => c.value },
});

/** How the test completes a write: applied, refused (not sent), condition failed, applied but answer lost, or unknown and not applied. */
type Outcome = 'ok' | 'fail' | 'conflict' | 'lost' | 'timeout';

class ManualStore implements StateStore {
  stored: StoredObject | null = null;
  writes: Array<{ request: WriteRequest; settle: (outcome: Outcome) => void }> = [];
  /** While set, reads fail as if the store were down. */
  readsFail = false;
  #tag = 0;
  async read(): Promise<StoredObject | null> {
    if (this.readsFail) throw new StoreUnavailable('read', 'x', new Error('connection refused'));
    return this.stored;
  }
  write(request: WriteRequest): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      this.writes.push({
        request,
        settle: (outcome) => {
          if (outcome === 'fail') return reject(new StoreUnavailable('write', request.id, new Error('connection refused')));
          if (outcome === 'conflict') return resolve({ ok: false, conflict: true });
          if (outcome === 'timeout') return reject(new StoreUnavailable('write', request.id, new Error('timed out'), true));
          const etag = `etag-${++this.#tag}`;
          this.stored = { body: request.body, etag, epoch: request.epoch, version: request.version };
          if (outcome === 'lost') return reject(new StoreUnavailable('write', request.id, new Error('socket hang up'), true));
          resolve({ ok: true, etag });
        },
      });
    });
  }
  async list() {
    return { objects: [] };
  }
  keyOf(type: string, id: string) {
    return `${type}/${id}`;
  }
  async close() {}
  /** Completes the oldest pending write. */
  settleNext(outcome: Outcome): WriteRequest {
    const next = this.writes.shift();
    if (!next) throw new Error('no write pending');
    next.settle(outcome);
    return next.request;
  }
}

/** The read lease the activation under test sees; a test may let it lapse. */
const lease = { valid: true };

function lock(epoch = '100'): LockHandle {
  return { type: 'counter', id: 'c', epoch, path: '/x', release: async () => {}, verify: async () => true };
}

/** A coordinator that grants the lock at once: the lock recipe itself is tested against ZooKeeper and the embedded registry. */
function grantingCoordinator(epoch: string): Coordinator {
  return { acquire: async () => ({ acquired: true, lock: lock(epoch), waitedMs: 0 }) } as unknown as Coordinator;
}

function hostFor(store: ManualStore, events: LifecycleEventBody[] = [], epoch = '100', maxStateBytes = 1024 * 1024): ActivationHost {
  return {
    nodeName: 'n', coordinator: grantingCoordinator(epoch), store, maxStateBytes, emit: (e) => events.push(e), record: () => {},
    holdsLease: () => lease.valid, refs: { ref: () => { throw new Error('not used'); } }, closed: () => {},
  };
}

async function activate(store: ManualStore, epoch = '100') {
  const events: LifecycleEventBody[] = [];
  const activation = new Activation(Counter, 'c', 'counter/c', hostFor(store, events, epoch));
  void activation.start({ deadline: far() });
  await tick();
  store.settleNext('ok'); // the claim
  expect(await activation.admitted()).toBeUndefined();
  return { activation, events };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
const far = () => performance.now() + 60_000;
const timeout = () => new Error('timeout');
const call = (a: Activation, name: string) => a.enqueue({ op: 'call', name, arg: null }, far(), timeout);

describe('Activation group commit', () => {
  it('claims on load with If-None-Match for a new object, recording epoch and version 1', async () => {
    const store = new ManualStore();
    const { activation } = await activate(store);
    expect(store.stored).toMatchObject({ epoch: '100', version: 1, body: '{"value":0}' });
    expect(activation.status).toBe('active');
  });

  it('acknowledges a change only after the write carrying it; changes during a write coalesce into the next', async () => {
    const store = new ManualStore();
    const { activation } = await activate(store);
    const settled: number[] = [];
    const first = call(activation, 'increment').then((v) => settled.push(v as number));
    await tick();
    expect(store.writes).toHaveLength(1); // the first change is being written
    const rest = [2, 3, 4].map(() => call(activation, 'increment').then((v) => settled.push(v as number)));
    await tick();
    expect(settled).toEqual([]); // nothing durable yet
    expect(store.writes).toHaveLength(1); // the others wait for the write in flight
    const w1 = store.settleNext('ok');
    expect(w1).toMatchObject({ body: '{"value":1}', condition: { ifMatch: 'etag-1' }, version: 2 });
    await first;
    expect(settled).toEqual([1]);
    await tick();
    const w2 = store.settleNext('ok');
    expect(w2).toMatchObject({ body: '{"value":4}', version: 3 }); // three changes, one write
    await Promise.all(rest);
    expect(settled).toEqual([1, 2, 3, 4]);
  });

  it('a failed write fails exactly the calls it carried; later calls run again on the durable state', async () => {
    const store = new ManualStore();
    const { activation } = await activate(store);
    const a = call(activation, 'increment');
    await tick();
    const b = call(activation, 'increment'); // runs on the not-yet-durable value 1
    const q = call(activation, 'value'); // observes 2, not durable
    await tick();
    store.settleNext('fail');
    await expect(a).rejects.toBeInstanceOf(StoreUnavailable);
    await tick();
    // b and q ran again on the durable state { value: 0 }: b now makes it 1.
    const w = store.settleNext('ok');
    expect(w.body).toBe('{"value":1}');
    expect(await b).toBe(1);
    expect(await q).toBe(1);
    expect(JSON.parse(activation.stateJson)).toEqual({ value: 1 });
  });

  it('a query on durable state answers at once; on state not yet durable it waits for the write', async () => {
    const store = new ManualStore();
    const { activation } = await activate(store);
    expect(await call(activation, 'value')).toBe(0);
    const inc = call(activation, 'increment');
    let answered = false;
    const q = call(activation, 'value').then((v) => {
      answered = true;
      return v;
    });
    await tick();
    expect(answered).toBe(false);
    store.settleNext('ok');
    expect(await q).toBe(1);
    expect(await inc).toBe(1);
  });

  it('a handler that mutates its state and throws fails only its call and leaves the state unchanged', async () => {
    const store = new ManualStore();
    const { activation } = await activate(store);
    await expect(call(activation, 'mutateThenThrow')).rejects.toBeInstanceOf(HandlerFailed);
    expect(await call(activation, 'value')).toBe(0);
    expect(store.writes).toHaveLength(0);
  });

  it('a conflicting write by another epoch fences the activation and fails its calls retryably', async () => {
    const store = new ManualStore();
    const { activation, events } = await activate(store);
    const a = call(activation, 'increment');
    await tick();
    store.stored = { body: '{"value":42}', etag: 'other', epoch: '200', version: 9 }; // a newer owner claimed it
    store.settleNext('conflict');
    const err: any = await a.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OwnershipLost);
    expect(err.retryable).toBe(true);
    expect(activation.status).toBe('deactivated');
    expect(events.map((e) => e.kind)).toContain('object.fenced');
  });

  it('serves nothing once the read lease lapses, and serves again when it is renewed', async () => {
    const store = new ManualStore();
    const { activation } = await activate(store);
    lease.valid = false;
    try {
      const query = await call(activation, 'value').catch((e: unknown) => e);
      expect(query).toBeInstanceOf(OwnershipLost);
      const write = await call(activation, 'increment').catch((e: unknown) => e);
      expect(write).toBeInstanceOf(OwnershipLost);
      expect(store.writes).toHaveLength(0); // the handler never ran
    } finally {
      lease.valid = true;
    }
    expect(await call(activation, 'value')).toBe(0);
  });

  it('a write whose answer was lost is resolved by reading it back: acknowledged when it landed', async () => {
    const store = new ManualStore();
    const { activation } = await activate(store);
    const a = call(activation, 'increment');
    await tick();
    store.settleNext('lost');
    expect(await a).toBe(1);
    expect(store.stored).toMatchObject({ body: '{"value":1}', version: 2 });
  });

  it('an interrupted write that did not land fails its calls with StoreUnavailable (no effect)', async () => {
    const store = new ManualStore();
    const { activation } = await activate(store);
    const a = call(activation, 'increment');
    await tick();
    store.settleNext('timeout');
    await expect(a).rejects.toBeInstanceOf(StoreUnavailable);
    expect(await call(activation, 'value')).toBe(0);
  });

  it('an interrupted write that cannot be read back before the deadline is Indeterminate', async () => {
    const store = new ManualStore();
    const { activation } = await activate(store);
    const a = activation.enqueue({ op: 'call', name: 'increment', arg: null }, performance.now() + 300, timeout);
    await tick();
    store.readsFail = true;
    store.settleNext('timeout');
    const err = await a.catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INDETERMINATE' });
  });

  it('refuses to activate over a stored epoch newer than its own', async () => {
    const store = new ManualStore();
    store.stored = { body: '{"value":7}', etag: 'e', epoch: '500', version: 3 };
    const activation = new Activation(Counter, 'c', 'counter/c', hostFor(store, [], '100', 1024));
    void activation.start({ deadline: far() });
    await expect(activation.admitted()).rejects.toMatchObject({ code: 'FENCED' });
    expect(activation.status).toBe('deactivated');
    expect(store.writes).toHaveLength(0);
  });
});

describe('Activation argument schemas', () => {
  it('refuses a forwarded call whose argument does not match the schema, on the owner, before the handler runs', async () => {
    const Named = defineObject({
      type: 'named',
      initial: () => ({ name: '' }),
      handlers: { rename: (_n, name: string) => ({ name }) },
      queries: { startsWith: (n, prefix: string) => n.name.startsWith(prefix) },
      args: { rename: z.string().min(1), startsWith: z.string() },
    });
    const store = new ManualStore();
    const activation = new Activation(Named, 'n', 'named/n', hostFor(store));
    void activation.start({ deadline: far() });
    await tick();
    store.settleNext('ok');
    await activation.admitted();
    const send = (name: string, arg: unknown) => activation.enqueue({ op: 'call', name, arg }, far(), timeout);
    await expect(send('rename', '')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(send('startsWith', 7)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(store.writes).toHaveLength(0);
    expect(await send('startsWith', '')).toBe(true);
  });
});

describe('Activation guarded replacement', () => {
  const replace = (a: Activation, state: unknown, expectedVersion: number) => a.enqueue({ op: 'put', state, expectedVersion }, far(), timeout);

  it('replaces the state at the expected version through the mailbox, answering the state it replaced once durable', async () => {
    const store = new ManualStore();
    const { activation } = await activate(store); // claimed: version 1
    const done = replace(activation, { value: 40 }, 1);
    await tick();
    const w = store.settleNext('ok');
    expect(w).toMatchObject({ body: '{"value":40}', version: 2 });
    expect(await done).toEqual({ previous: { value: 0 }, previousVersion: 1 });
    const inc = call(activation, 'increment');
    await tick();
    expect(store.settleNext('ok')).toMatchObject({ body: '{"value":41}', version: 3 });
    expect(await inc).toBe(41);
  });

  it('refuses a stale version with the current version and state, writing nothing', async () => {
    const store = new ManualStore();
    const { activation } = await activate(store);
    const inc = call(activation, 'increment');
    await tick();
    store.settleNext('ok'); // version 2: { value: 1 }
    await inc;
    const err: any = await replace(activation, { value: 99 }, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VersionConflict);
    expect(err.details()).toMatchObject({ expectedVersion: 1, currentVersion: 2, state: { value: 1 } });
    expect(store.writes).toHaveLength(0);
    expect(JSON.parse(activation.stateJson)).toEqual({ value: 1 });
  });

  it('refuses while a change is not yet durable, naming the version it will be stored as', async () => {
    const store = new ManualStore();
    const { activation } = await activate(store);
    const inc = call(activation, 'increment'); // in flight as version 2
    await tick();
    const conflict = replace(activation, { value: 99 }, 1).catch((e: unknown) => e);
    await tick();
    store.settleNext('ok');
    await inc;
    const err: any = await conflict;
    expect(err).toBeInstanceOf(VersionConflict);
    expect(err.details()).toMatchObject({ expectedVersion: 1, currentVersion: 2, state: { value: 1 } });
    expect(store.writes).toHaveLength(0);
  });

  it('accepts the version seen before a new owner claimed the same state', async () => {
    const store = new ManualStore();
    store.stored = { body: '{"value":7}', etag: 'e', epoch: '50', version: 3 };
    const activation = new Activation(Counter, 'c', 'counter/c', hostFor(store));
    void activation.start({ deadline: far() });
    await tick();
    expect(store.settleNext('ok')).toMatchObject({ version: 4, body: '{"value":7}' }); // the claim
    await activation.admitted();
    const done = replace(activation, { value: 8 }, 3);
    await tick();
    expect(store.settleNext('ok')).toMatchObject({ version: 5, body: '{"value":8}' });
    expect(await done).toEqual({ previous: { value: 7 }, previousVersion: 4 });
    await expect(replace(activation, { value: 9 }, 4)).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
  });

  it('refuses a replacement that is no JSON object or is over maxStateBytes, leaving the state unchanged', async () => {
    const store = new ManualStore();
    const events: LifecycleEventBody[] = [];
    const activation = new Activation(Counter, 'c', 'counter/c', hostFor(store, events, '100', 64));
    void activation.start({ deadline: far() });
    await tick();
    store.settleNext('ok');
    await activation.admitted();
    await expect(replace(activation, 'text', 1)).rejects.toMatchObject({ code: 'INVALID_STATE' });
    await expect(replace(activation, { value: 'x'.repeat(100) }, 1)).rejects.toMatchObject({ code: 'STATE_TOO_LARGE' });
    expect(store.writes).toHaveLength(0);
    expect(JSON.parse(activation.stateJson)).toEqual({ value: 0 });
  });
});

describe('Activation lifecycle', () => {
  it('allows only the documented transitions', () => {
    const legal: Array<[ActivationStatus, ActivationStatus]> = [
      ['activating', 'active'], ['activating', 'deactivated'], ['active', 'deactivating'], ['active', 'deactivated'], ['deactivating', 'deactivated'],
    ];
    const all: ActivationStatus[] = ['activating', 'active', 'deactivating', 'deactivated'];
    for (const from of all) {
      for (const to of all) {
        if (legal.some(([f, t]) => f === from && t === to)) expect(() => checkTransition(from, to)).not.toThrow();
        else expect(() => checkTransition(from, to), `${from} → ${to}`).toThrow(/illegal transition/);
      }
    }
  });

  it('redirects waiting callers to the owner when another node holds the lock', async () => {
    const store = new ManualStore();
    const host = { ...hostFor(store), coordinator: { acquire: async () => ({ acquired: false, owner: 'node-b' }) } as unknown as Coordinator };
    const activation = new Activation(Counter, 'c', 'counter/c', host);
    const waiting = activation.admitted(far(), timeout);
    void activation.start({ deadline: far() });
    expect(await waiting).toMatchObject({ owner: 'node-b' });
    expect(activation.status).toBe('deactivated');
    await activation.closed;
  });

  it('deactivates: drains the mailbox, flushes, releases the lock, then reports and closes', async () => {
    const store = new ManualStore();
    const { activation, events } = await activate(store);
    const inc = call(activation, 'increment');
    await tick();
    const deactivating = activation.deactivate('evicted');
    expect(activation.status).toBe('deactivating');
    store.settleNext('ok');
    expect(await inc).toBe(1);
    await deactivating;
    expect(activation.status).toBe('deactivated');
    expect(events.map((e) => e.kind).slice(-2)).toEqual(['lock.released', 'object.deactivated']);
    await expect(call(activation, 'value')).rejects.toBeInstanceOf(OwnershipLost);
  });

  it('dropped while activating: waiting callers get a retryable OwnershipLost and it never serves', async () => {
    const store = new ManualStore();
    const activation = new Activation(Counter, 'c', 'counter/c', hostFor(store));
    void activation.start({ deadline: far() });
    const waiting = activation.admitted(far(), timeout);
    await tick(); // the claim is being written
    activation.drop('session-lost');
    store.settleNext('ok');
    await expect(waiting).rejects.toBeInstanceOf(OwnershipLost);
    await tick();
    expect(activation.status).toBe('deactivated');
  });
});
