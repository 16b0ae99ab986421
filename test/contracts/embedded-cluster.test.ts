import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { EmbeddedRegistry, FileStateStore, HighlanderNode, ObjectRejected } from '@highlander/runtime';
import type { LifecycleEvent } from '@highlander/runtime';
import { List } from '@highlander/example-todo';
import { Counter, objects } from '../harness/test-objects.js';
import { timing } from '../harness/timing.js';

/**
 * A whole cluster in this one process: three HighlanderNodes on one EmbeddedRegistry and one
 * FileStateStore (the single-machine setup), with the same guarantees as on ZooKeeper and S3.
 */

let dir: string;
let registry: EmbeddedRegistry;
let store: FileStateStore;
let nodes: HighlanderNode[];
let events: LifecycleEvent[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'highlander-embedded-'));
  registry = new EmbeddedRegistry();
  store = await FileStateStore.create({ dir });
  events = [];
  nodes = ['node-a', 'node-b', 'node-c'].map((name) => HighlanderNode.create({
    name, coordinator: registry.coordinator(), store, objects, callTimeoutMs: timing.failoverMs,
  }));
  for (const node of nodes) node.events.subscribe((e) => events.push(e));
  await Promise.all(nodes.map((n) => n.start()));
});

afterEach(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function holders(type: string, id: string): string[] {
  return nodes.filter((n) => n.status === 'running' && n.activations().some((a) => a.type === type && a.id === id)).map((n) => n.name);
}

it('makes exactly one activation from 50 concurrent first calls at 3 nodes', async () => {
  const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => nodes[i % 3]!.ref(Counter, 'contended').call('increment', null)));
  // Every increment applied exactly once, by one owner: the replies are 1..50.
  expect([...replies].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  const activated = events.filter((e) => e.kind === 'object.activated' && e.type === 'counter' && e.id === 'contended');
  expect(activated).toHaveLength(1);
  expect(holders('counter', 'contended')).toEqual([activated[0]!.node]);
  expect(registry.lockQueue('counter', 'contended').map((e) => e.node)).toEqual([activated[0]!.node]);
  // Durable in the folder, written by that owner's epoch.
  expect(await store.read('counter', 'contended')).toMatchObject({ body: JSON.stringify({ value: 50 }), epoch: registry.lockQueue('counter', 'contended')[0]!.epoch });
});

it('forwards calls to the owner, with typed object errors arriving intact from another node', async () => {
  const [a, b, c] = nodes as [HighlanderNode, HighlanderNode, HighlanderNode];
  await a.ref(List, 'groceries').call('share', 'alice');
  expect(holders('list', 'groceries')).toEqual(['node-a']);
  const size = await b.ref(List, 'groceries').call('insertTodo', { todo: { id: 't1', title: 'milk', completed: false }, userId: 'alice' });
  expect(size).toBe(1);
  const refused = await c.ref(List, 'groceries').call('insertTodo', { todo: { id: 't2', title: 'beer', completed: false }, userId: 'mallory' }).then(() => undefined, (err: unknown) => err);
  expect(refused).toBeInstanceOf(ObjectRejected);
  expect(List.isError(refused, 'notAllowed') && refused.data.userId).toBe('mallory');
  expect(await c.ref(List, 'groceries').call('size')).toBe(1);
  // Still one activation: b and c forwarded rather than activating.
  expect(holders('list', 'groceries')).toEqual(['node-a']);
  expect(events.filter((e) => e.kind === 'object.activated' && e.type === 'list')).toHaveLength(1);
});

it('serves an object from another node with its last acknowledged state once its owner stops', async () => {
  const [a, b] = nodes as [HighlanderNode, HighlanderNode, HighlanderNode];
  for (let i = 0; i < 20; i++) await a.ref(Counter, 'survivor').call('increment', null);
  expect(holders('counter', 'survivor')).toEqual(['node-a']);
  await a.stop();
  expect(registry.members().map((m) => m.name)).toEqual(['node-b', 'node-c']);
  expect(registry.lockQueue('counter', 'survivor')).toEqual([]);
  expect(await b.ref(Counter, 'survivor').call('value')).toBe(20);
  expect(await b.ref(Counter, 'survivor').call('increment', null)).toBe(21);
  expect(holders('counter', 'survivor')).toEqual(['node-b']);
});

it('fails over when the owner loses its session, fencing nothing acknowledged away', async () => {
  const [a, b, c] = nodes as [HighlanderNode, HighlanderNode, HighlanderNode];
  const acknowledged: number[] = [];
  for (let i = 0; i < 10; i++) acknowledged.push(await a.ref(Counter, 'crashy').call('increment', null));
  expect(holders('counter', 'crashy')).toEqual(['node-a']);
  const oldEpoch = registry.lockQueue('counter', 'crashy')[0]!.epoch;

  expect(registry.expireSession('node-a')).toBe(true);
  // node-a dropped its activation at once; a call from elsewhere activates it again with the stored state.
  expect(holders('counter', 'crashy')).toEqual([]);
  expect(await c.ref(Counter, 'crashy').call('increment', null)).toBe(11);
  const [owner] = registry.lockQueue('counter', 'crashy');
  expect(BigInt(owner!.epoch) > BigInt(oldEpoch)).toBe(true);
  expect(holders('counter', 'crashy')).toEqual([owner!.node]);
  expect(events.some((e) => e.kind === 'node.session-lost' && e.node === 'node-a')).toBe(true);
  // node-a rejoins and serves calls again, reaching the one owner.
  await expect.poll(() => registry.members().map((m) => m.name), { timeout: timing.eventMs }).toContain('node-a');
  expect(await a.ref(Counter, 'crashy').call('increment', null)).toBe(12);
  expect(await b.ref(Counter, 'crashy').call('value')).toBe(12);
  expect(holders('counter', 'crashy')).toHaveLength(1);
});
