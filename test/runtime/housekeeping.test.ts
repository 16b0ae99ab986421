import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedRegistry, FileStateStore, HandlerFailed, HighlanderNode, ObjectRejected, type LifecycleEvent } from '@highlander/runtime';
import { List } from '@highlander/example-todo';
import { Counter, Quick, objects } from '../harness/test-objects.js';
import { timing } from '../harness/timing.js';

/** A node's periodic chores (housekeeping.ts) on a real node on the embedded backends. */

let dir: string;
let store: FileStateStore;
let registry: EmbeddedRegistry;
let node: HighlanderNode;
let events: LifecycleEvent[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'highlander-housekeeping-'));
  store = await FileStateStore.create({ dir });
  registry = new EmbeddedRegistry();
  node = HighlanderNode.create({ name: 'node-a', coordinator: registry.coordinator(), store, objects, statsIntervalMs: 100, loadReportIntervalMs: 100 });
  events = [];
  node.events.subscribe((e) => events.push(e));
  await node.start();
});

afterEach(async () => {
  await node.stop();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('housekeeping', () => {
  it('deactivates an object idle past its type\'s idleTimeoutMs, and keeps the others', async () => {
    await node.ref(Quick, 'q1').call('touch', null); // idleTimeoutMs: 500
    await node.ref(Counter, 'c1').call('increment', null); // the node's default: 60 s
    await vi.waitFor(() => expect(events.some((e) => e.kind === 'object.deactivated' && e.id === 'q1')).toBe(true), { timeout: timing.eventMs });
    expect(events.find((e) => e.kind === 'object.deactivated' && e.id === 'q1')).toMatchObject({ reason: 'idle' });
    expect(node.activations().map((a) => a.id)).toEqual(['c1']);
    expect(registry.lockQueue('quick', 'q1')).toEqual([]);
  });

  it('emits stats with the objects called in each interval, busiest first, and publishes the activation count', async () => {
    for (let i = 0; i < 5; i++) await node.ref(Counter, 'busy').call('increment', null);
    await node.ref(Counter, 'calm').call('value');
    const stats = () => events.filter((e): e is Extract<LifecycleEvent, { kind: 'stats' }> => e.kind === 'stats');
    const callsOf = (id: string) => stats().flatMap((e) => e.objects).filter((o) => o.id === id).reduce((sum, o) => sum + o.calls, 0);
    await vi.waitFor(() => expect([callsOf('busy'), callsOf('calm')]).toEqual([5, 1]), { timeout: timing.eventMs });
    expect(stats().reduce((sum, e) => sum + (e.byType.counter?.calls ?? 0), 0)).toBe(6);
    for (const e of stats()) expect(e.objects.map((o) => o.calls)).toEqual([...e.objects.map((o) => o.calls)].sort((a, b) => b - a));
    await vi.waitFor(() => expect(registry.members().find((m) => m.name === 'node-a')?.activations).toBe(2), { timeout: timing.eventMs });
  });

  it('counts a declared rejection as rejected and an undeclared throw as an error in the stats', async () => {
    const todo = { id: 't1', title: 'milk', completed: false };
    await node.ref(List, 'shared').call('share', 'ada');
    await node.ref(List, 'shared').call('insertTodo', { todo, userId: 'ada' });
    for (const userId of ['mallory', 'eve']) {
      await expect(node.ref(List, 'shared').call('insertTodo', { todo, userId })).rejects.toBeInstanceOf(ObjectRejected);
    }
    await expect(node.ref(Counter, 'c2').call('explode')).rejects.toBeInstanceOf(HandlerFailed);
    const stats = () => events.filter((e): e is Extract<LifecycleEvent, { kind: 'stats' }> => e.kind === 'stats');
    const total = (type: string, field: 'calls' | 'errors' | 'rejected') => stats().reduce((sum, e) => sum + (e.byType[type]?.[field] ?? 0), 0);
    await vi.waitFor(() => expect([total('list', 'calls'), total('counter', 'calls')]).toEqual([4, 1]), { timeout: timing.eventMs });
    expect({ rejected: total('list', 'rejected'), errors: total('list', 'errors') }).toEqual({ rejected: 2, errors: 0 });
    expect({ rejected: total('counter', 'rejected'), errors: total('counter', 'errors') }).toEqual({ rejected: 0, errors: 1 });
  });

  it("lists each called object's errors, p99 latency and state size, with a declared rejection not counted as an error", async () => {
    await node.ref(Counter, 'big').call('grow', 2000);
    for (let i = 0; i < 3; i++) await expect(node.ref(Counter, 'faulty').call('explode')).rejects.toBeInstanceOf(HandlerFailed);
    await node.ref(Counter, 'faulty').call('increment', null);
    await node.ref(Counter, 'slow').call('slowIncrement', timing.slowHandlerMs);
    const todo = { id: 't1', title: 'milk', completed: false };
    await node.ref(List, 'guarded').call('share', 'ada');
    await expect(node.ref(List, 'guarded').call('insertTodo', { todo, userId: 'eve' })).rejects.toBeInstanceOf(ObjectRejected);
    const listed = () => events.flatMap((e) => (e.kind === 'stats' ? e.objects : []));
    const sum = (id: string, field: 'calls' | 'errors') => listed().filter((o) => o.id === id).reduce((n, o) => n + (o[field] ?? 0), 0);
    await vi.waitFor(() => expect(['big', 'faulty', 'slow', 'guarded'].map((id) => sum(id, 'calls'))).toEqual([1, 4, 1, 2]), { timeout: timing.eventMs });
    expect(['big', 'faulty', 'slow', 'guarded'].map((id) => sum(id, 'errors'))).toEqual([0, 3, 0, 0]);
    const big = listed().find((o) => o.id === 'big')!;
    expect(big.stateBytes).toBe(Buffer.byteLength(JSON.stringify({ value: 0, padding: 'x'.repeat(2000) })));
    // The slow handler's one call is its p99 (a bucket's upper bound: at most 25% over).
    const slow = listed().find((o) => o.id === 'slow')!;
    expect(slow.p99Ms).toBeGreaterThanOrEqual(timing.slowHandlerMs);
  });
});
