import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HighlanderError, NodeNameTaken } from '@highlander/runtime';
import type { AcquireResult, Coordinator, LockHandle, LockQueueEntry, MemberInfo } from '@highlander/runtime';
import { hold, timing } from '../harness/timing.js';

/**
 * The `Coordinator` contract, as the runtime relies on it (runtime/src/activation/, routing/, node.ts): membership with
 * events, one FIFO lock queue per object whose head owns the object, epochs that only grow, forced
 * deletions that `verify()` notices, and sessions whose loss takes every lock with them. Every
 * implementation runs this same suite (test/contracts/coordinator.test.ts).
 */

/** One cluster of one implementation, fresh for each test. */
export interface CoordinatorFixture {
  /** A new coordinator of this test's cluster, not started. */
  coordinator(): Coordinator;
  /** Deletes one lock-queue entry behind its holder's back, as a forced eviction does. */
  forceDelete(entry: LockQueueEntry): Promise<void>;
  /** Ends a started coordinator's session from outside, as a crash or a partition would. */
  expireSession(coordinator: Coordinator, node: string): Promise<void>;
  /** Releases what the fixture itself holds. */
  close(): Promise<void>;
}

const TYPE = 'counter';

export function memberInfo(name: string, extra: Partial<MemberInfo> = {}): MemberInfo {
  return { name, address: `ws://127.0.0.1:1/${name}`, pid: process.pid, startedAt: Date.now(), activations: 0, draining: false, ...extra };
}

export function coordinatorContract(name: string, createFixture: () => Promise<CoordinatorFixture>): void {
  describe(`Coordinator contract: ${name}`, () => {
    let fixture: CoordinatorFixture;
    let started: Coordinator[] = [];

    beforeEach(async () => {
      fixture = await createFixture();
      started = [];
    });

    afterEach(async () => {
      await Promise.allSettled(started.map((c) => c.stop()));
      await fixture.close();
    });

    async function join(node: string, extra: Partial<MemberInfo> = {}): Promise<Coordinator> {
      const c = fixture.coordinator();
      c.on('error', () => {
        // Background failures are what some tests provoke; each test asserts the outcomes it cares about.
      });
      started.push(c);
      await c.start(memberInfo(node, extra));
      return c;
    }

    it('publishes members and reports joins, updates and leaves as members events', async () => {
      const a = await join('node-a');
      expect(a.members().map((m) => m.name)).toContain('node-a');
      const seen: string[][] = [];
      a.on('members', (members) => seen.push(members.map((m) => m.name).sort()));

      const b = await join('node-b', { address: 'ws://127.0.0.1:7102' });
      const withB = await membersMatching(a, (ms) => ms.some((m) => m.name === 'node-b'), 'node-b joins');
      expect(withB.find((m) => m.name === 'node-b')).toMatchObject({ address: 'ws://127.0.0.1:7102', activations: 0, draining: false });
      expect(seen.some((names) => names.includes('node-b'))).toBe(true);

      await b.update({ activations: 7, draining: true });
      const updated = await membersMatching(a, (ms) => ms.some((m) => m.name === 'node-b' && m.activations === 7), 'node-b publishes its load');
      expect(updated.find((m) => m.name === 'node-b')).toMatchObject({ activations: 7, draining: true, address: 'ws://127.0.0.1:7102' });

      await b.stop();
      const without = await membersMatching(a, (ms) => !ms.some((m) => m.name === 'node-b'), 'node-b leaves');
      expect(without.map((m) => m.name)).toEqual(['node-a']);
      expect(seen.at(-1)).toEqual(['node-a']);
    });

    it('refuses a name held by a live member with NodeNameTaken, and frees it when that member stops', async () => {
      const a = await join('node-a');
      const twin = fixture.coordinator();
      started.push(twin);
      const refused = await twin.start(memberInfo('node-a')).then(() => undefined, (err: unknown) => err);
      expect(refused).toBeInstanceOf(NodeNameTaken);
      expect(refused).toMatchObject({ code: 'NODE_NAME_TAKEN', node: 'node-a' });
      expect(a.members().filter((m) => m.name === 'node-a')).toHaveLength(1);

      await a.stop();
      const again = await join('node-a');
      expect(again.members().map((m) => m.name)).toContain('node-a');
    });

    it('gives an object to exactly one of three coordinators acquiring it at once; the others learn the owner', async () => {
      const coordinators = await Promise.all(['node-a', 'node-b', 'node-c'].map((n) => join(n)));
      const names = ['node-a', 'node-b', 'node-c'];
      const ids = Array.from({ length: 10 }, (_, i) => `contended-${i}`);
      const results = await Promise.all(ids.map((id) => Promise.all(coordinators.map((c) => c.acquire(TYPE, id, { wait: false, timeoutMs: timing.eventMs })))));
      for (const [i, perNode] of results.entries()) {
        const winners = perNode.flatMap((r, n) => (r.acquired ? [names[n]!] : []));
        expect(winners, `owners of ${ids[i]}`).toHaveLength(1);
        for (const r of perNode) if (!r.acquired) expect(r.owner).toBe(winners[0]);
        // The losers left the queue: only the owner's entry remains.
        expect((await coordinators[0]!.queue(TYPE, ids[i]!)).map((e) => e.node)).toEqual(winners);
        expect(await coordinators[1]!.owner(TYPE, ids[i]!)).toBe(winners[0]);
      }
    });

    it('never lets two coordinators hold one object at once when all three wait their turn', async () => {
      const coordinators = await Promise.all(['node-a', 'node-b', 'node-c'].map((n) => join(n)));
      let holders = 0;
      let mostHolders = 0;
      const epochs: bigint[] = [];
      await Promise.all(coordinators.map(async (c) => {
        for (let round = 0; round < 4; round++) {
          const result = await c.acquire(TYPE, 'turns', { wait: true, timeoutMs: timing.eventMs });
          if (!result.acquired) throw new Error(`acquire gave up: owner ${result.owner}`);
          holders++;
          mostHolders = Math.max(mostHolders, holders);
          epochs.push(BigInt(result.lock.epoch));
          await hold(timing.lockHoldMs);
          holders--;
          await result.lock.release();
        }
      }));
      expect(mostHolders).toBe(1);
      expect(epochs).toHaveLength(12);
      // Each owner's epoch is above every earlier owner's.
      for (let i = 1; i < epochs.length; i++) expect(epochs[i]! > epochs[i - 1]!).toBe(true);
      expect(await coordinators[0]!.queue(TYPE, 'turns')).toEqual([]);
    });

    it('queues waiters in arrival order, reports their positions, and hands the object on in that order', async () => {
      const [a, b, c] = await Promise.all(['node-a', 'node-b', 'node-c'].map((n) => join(n))) as [Coordinator, Coordinator, Coordinator];
      const first = await acquired(a.acquire(TYPE, 'fifo', { wait: false, timeoutMs: timing.eventMs }));

      const queuedB = deferred<[number, string]>();
      const bResult = b.acquire(TYPE, 'fifo', { wait: true, timeoutMs: timing.eventMs, onQueued: (position, owner) => queuedB.resolve([position, owner]) });
      expect(await queuedB.promise).toEqual([1, 'node-a']);
      const queuedC = deferred<[number, string]>();
      const cResult = c.acquire(TYPE, 'fifo', { wait: true, timeoutMs: timing.eventMs, onQueued: (position, owner) => queuedC.resolve([position, owner]) });
      expect(await queuedC.promise).toEqual([2, 'node-a']);

      const queue = await a.queue(TYPE, 'fifo');
      expect(queue.map((e) => e.node)).toEqual(['node-a', 'node-b', 'node-c']);
      expect(queue[0]!.sequence < queue[1]!.sequence && queue[1]!.sequence < queue[2]!.sequence).toBe(true);
      expect(queue[0]!.path).toBe(first.path);

      const order: string[] = [];
      void bResult.then(() => order.push('node-b'));
      void cResult.then(() => order.push('node-c'));
      await first.release();
      const second = await acquired(bResult);
      expect(await b.owner(TYPE, 'fifo')).toBe('node-b');
      expect((await b.queue(TYPE, 'fifo')).map((e) => e.node)).toEqual(['node-b', 'node-c']);
      await second.release();
      const third = await acquired(cResult);
      expect(order).toEqual(['node-b', 'node-c']);
      expect(BigInt(first.epoch) < BigInt(second.epoch) && BigInt(second.epoch) < BigInt(third.epoch)).toBe(true);
      await third.release();
      expect(await a.owner(TYPE, 'fifo')).toBeNull();
    });

    it('answers a no-wait acquire of a held object with its owner, leaving the queue as it was', async () => {
      const [a, b] = await Promise.all(['node-a', 'node-b'].map((n) => join(n))) as [Coordinator, Coordinator];
      const held = await acquired(a.acquire(TYPE, 'held', { wait: false, timeoutMs: timing.eventMs }));
      const queued: number[] = [];
      const result = await b.acquire(TYPE, 'held', { wait: false, timeoutMs: timing.eventMs, onQueued: (p) => queued.push(p) });
      expect(result).toEqual({ acquired: false, owner: 'node-a' });
      expect(queued).toEqual([]);
      expect((await b.queue(TYPE, 'held')).map((e) => e.path)).toEqual([held.path]);
      expect(await held.verify()).toBe(true);
    });

    it('gives up waiting after timeoutMs, reports the owner and leaves the queue', async () => {
      const [a, b] = await Promise.all(['node-a', 'node-b'].map((n) => join(n))) as [Coordinator, Coordinator];
      const held = await acquired(a.acquire(TYPE, 'slow', { wait: false, timeoutMs: timing.eventMs }));
      const positions: number[] = [];
      const result = await b.acquire(TYPE, 'slow', { wait: true, timeoutMs: timing.giveUpMs, onQueued: (p) => positions.push(p) });
      expect(result).toEqual({ acquired: false, owner: 'node-a' });
      expect(positions).toEqual([1]);
      expect((await a.queue(TYPE, 'slow')).map((e) => e.node)).toEqual(['node-a']);
      // The object is still a's, and free for b once a lets go.
      await held.release();
      const next = await acquired(b.acquire(TYPE, 'slow', { wait: false, timeoutMs: timing.eventMs }));
      expect(BigInt(next.epoch) > BigInt(held.epoch)).toBe(true);
    });

    it('gives successive owners strictly increasing epochs, across objects too', async () => {
      const [a, b, c] = await Promise.all(['node-a', 'node-b', 'node-c'].map((n) => join(n))) as [Coordinator, Coordinator, Coordinator];
      const epochs: bigint[] = [];
      for (const [owner, id] of [[a, 'x'], [b, 'x'], [c, 'x'], [a, 'x'], [b, 'y'], [a, 'x']] as const) {
        const lock = await acquired(owner.acquire(TYPE, id, { wait: false, timeoutMs: timing.eventMs }));
        expect(lock.epoch).toMatch(/^\d+$/);
        epochs.push(BigInt(lock.epoch));
        if (id === 'x') await lock.release();
      }
      for (let i = 1; i < epochs.length; i++) expect(epochs[i]! > epochs[i - 1]!, `epoch ${i} after epoch ${i - 1}`).toBe(true);
    });

    it('releases idempotently, and an empty queue has no owner', async () => {
      const a = await join('node-a');
      const lock = await acquired(a.acquire(TYPE, 'twice', { wait: false, timeoutMs: timing.eventMs }));
      expect(lock).toMatchObject({ type: TYPE, id: 'twice' });
      await lock.release();
      await lock.release();
      expect(await lock.verify()).toBe(false);
      expect(await a.owner(TYPE, 'twice')).toBeNull();
      expect(await a.queue(TYPE, 'twice')).toEqual([]);
    });

    it('lets verify() see a forced deletion of the lock, after which the next node owns the object', async () => {
      const [a, b] = await Promise.all(['node-a', 'node-b'].map((n) => join(n))) as [Coordinator, Coordinator];
      const lock = await acquired(a.acquire(TYPE, 'evicted', { wait: false, timeoutMs: timing.eventMs }));
      expect(await lock.verify()).toBe(true);
      const queuedB = deferred<void>();
      const bResult = b.acquire(TYPE, 'evicted', { wait: true, timeoutMs: timing.eventMs, onQueued: () => queuedB.resolve() });
      await queuedB.promise;

      const [head] = await b.queue(TYPE, 'evicted');
      expect(head).toMatchObject({ node: 'node-a', path: lock.path });
      await fixture.forceDelete(head!);
      expect(await lock.verify()).toBe(false);
      const taken = await acquired(bResult);
      expect(BigInt(taken.epoch) > BigInt(lock.epoch)).toBe(true);
      expect(await a.owner(TYPE, 'evicted')).toBe('node-b');
      // Releasing the deleted lock is harmless: it does not touch the new owner's.
      await lock.release();
      expect(await taken.verify()).toBe(true);
    });

    it('drops every lock on session loss, emits sessionLost then rejoined, and fails a waiting acquire', async () => {
      const [a, b] = await Promise.all(['node-a', 'node-b'].map((n) => join(n))) as [Coordinator, Coordinator];
      const x = await acquired(a.acquire(TYPE, 'x', { wait: false, timeoutMs: timing.eventMs }));
      const y = await acquired(a.acquire(TYPE, 'y', { wait: false, timeoutMs: timing.eventMs }));
      const z = await acquired(b.acquire(TYPE, 'z', { wait: false, timeoutMs: timing.eventMs }));
      const queuedA = deferred<void>();
      const waiting = a.acquire(TYPE, 'z', { wait: true, timeoutMs: timing.failoverMs, onQueued: () => queuedA.resolve() });
      waiting.catch(() => {}); // asserted below
      await queuedA.promise;
      expect(a.holdsLease()).toBe(true);

      const events: string[] = [];
      const rejoined = new Promise<void>((resolve) => a.on('rejoined', () => {
        events.push('rejoined');
        resolve();
      }));
      a.on('sessionLost', () => events.push('sessionLost'));
      await fixture.expireSession(a, 'node-a');
      await within(rejoined, timing.failoverMs, 'node-a rejoins');
      expect(events).toEqual(['sessionLost', 'rejoined']);

      expect(await x.verify()).toBe(false);
      expect(await y.verify()).toBe(false);
      expect(await b.owner(TYPE, 'x')).toBeNull();
      expect(await b.owner(TYPE, 'y')).toBeNull();
      const lost = await within(waiting.then(() => undefined, (err: unknown) => err), timing.failoverMs, 'the waiting acquire ends');
      // Retryable either way: ZooKeeper may say the session's requests failed (CoordinatorUnavailable), the registry that the entry is gone.
      expect(lost, String(lost)).toBeInstanceOf(HighlanderError);
      expect(['OWNERSHIP_LOST', 'COORDINATOR_UNAVAILABLE']).toContain((lost as HighlanderError).code);
      expect(lost).toMatchObject({ retryable: true });
      expect((await b.queue(TYPE, 'z')).map((e) => e.node)).toEqual(['node-b']);
      expect(await z.verify()).toBe(true);

      // A member again, under its new session, and able to take objects again with newer epochs.
      await membersMatching(b, (ms) => ms.some((m) => m.name === 'node-a'), 'node-a is a member again');
      expect(a.holdsLease()).toBe(true);
      const again = await acquired(a.acquire(TYPE, 'x', { wait: false, timeoutMs: timing.eventMs }));
      expect(BigInt(again.epoch) > BigInt(z.epoch)).toBe(true);
    });

    it('releases every lock and leaves the cluster on stop', async () => {
      const [a, b] = await Promise.all(['node-a', 'node-b'].map((n) => join(n))) as [Coordinator, Coordinator];
      await acquired(a.acquire(TYPE, 'x', { wait: false, timeoutMs: timing.eventMs }));
      await acquired(a.acquire(TYPE, 'y', { wait: false, timeoutMs: timing.eventMs }));
      const queuedB = deferred<void>();
      const bResult = b.acquire(TYPE, 'x', { wait: true, timeoutMs: timing.failoverMs, onQueued: () => queuedB.resolve() });
      await queuedB.promise;
      expect(a.holdsLease()).toBe(true);
      expect(a.lastContactMs()).toBeLessThanOrEqual(performance.now());

      await a.stop();
      expect(a.holdsLease()).toBe(false);
      const taken = await acquired(bResult);
      expect(taken.id).toBe('x');
      expect(await b.owner(TYPE, 'y')).toBeNull();
      const without = await membersMatching(b, (ms) => !ms.some((m) => m.name === 'node-a'), 'node-a leaves');
      expect(without.map((m) => m.name)).toEqual(['node-b']);
    });
  });
}

/** The lock of a result that must have been acquired. */
async function acquired(result: Promise<AcquireResult>): Promise<LockHandle> {
  const r = await result;
  if (!r.acquired) throw new Error(`expected to acquire the lock, but '${r.owner}' owns it`);
  return r.lock;
}

/** Waits for `c`'s members (now or in a later members event) to satisfy `predicate`. */
function membersMatching(c: Coordinator, predicate: (members: MemberInfo[]) => boolean, what: string): Promise<MemberInfo[]> {
  if (predicate(c.members())) return Promise.resolve(c.members());
  return within(new Promise<MemberInfo[]>((resolve) => {
    const listener = (members: MemberInfo[]) => {
      if (!predicate(members)) return;
      c.off('members', listener);
      resolve(members);
    };
    c.on('members', listener);
  }), timing.eventMs, what);
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
