import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedRegistry, FileStateStore, HandlerFailed, HighlanderNode, MigrationRefused, NotActiveHere, type LifecycleEvent } from '@highlander/runtime';
import { Counter, objects } from '../harness/test-objects.js';
import { timing } from '../harness/timing.js';

/**
 * The node as a whole, fast: three nodes in this process on the embedded backends (EmbeddedRegistry
 * and a FileStateStore in a temp dir), real ws between them. Routing, redirects, migration, drain
 * and stop; the same on ZooKeeper and radosgw, across processes and under faults, is in test/cluster/.
 */

let dir: string;
let registry: EmbeddedRegistry;
let store: FileStateStore;
let nodes: HighlanderNode[];
let events: LifecycleEvent[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'highlander-node-'));
  registry = new EmbeddedRegistry();
  store = await FileStateStore.create({ dir });
  events = [];
  nodes = ['node-a', 'node-b', 'node-c'].map((name) => HighlanderNode.create({
    name, coordinator: registry.coordinator(), store, objects, callTimeoutMs: timing.failoverMs,
  }));
  for (const node of nodes) node.events.subscribe((e) => events.push(e));
  await Promise.all(nodes.map((n) => n.start()));
  await vi.waitFor(() => expect(nodes.every((n) => n.members().length === 3)).toBe(true), { timeout: timing.eventMs });
});

afterEach(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function holders(id: string): string[] {
  return nodes.filter((n) => n.status === 'running' && n.activations().some((a) => a.type === 'counter' && a.id === id)).map((n) => n.name);
}

function forwardedOut(node: HighlanderNode): Promise<number> {
  return node.metrics!.text().then((text) => {
    const line = text.split('\n').find((l) => l.startsWith('highlander_forwarded_calls_total{') && l.includes('type="counter"') && l.includes('direction="out"'));
    return line ? Number(line.split(' ').pop()) : 0;
  });
}

describe('routing', () => {
  it('forwards a call to the owner: a node that loses the lock race learns the owner and goes there', async () => {
    const [a, b] = nodes as [HighlanderNode, HighlanderNode, HighlanderNode];
    expect(await a.ref(Counter, 'r1').call('increment', null)).toBe(1);
    // Placement is 'local': node-b tries to activate it, finds node-a holding the lock, and forwards.
    expect(await b.ref(Counter, 'r1').call('increment', null)).toBe(2);
    expect(await b.ref(Counter, 'r1').call('value')).toBe(2);
    expect(holders('r1')).toEqual(['node-a']);
    expect(await forwardedOut(b)).toBe(2);
    expect(events.filter((e) => e.kind === 'object.activated' && e.id === 'r1')).toHaveLength(1);
  });

  it('answers a query at once on the owner, here and forwarded, and a query that throws with HANDLER_FAILED', async () => {
    const [a, b] = nodes as [HighlanderNode, HighlanderNode, HighlanderNode];
    for (let i = 0; i < 6; i++) await a.ref(Counter, 'q1').call('increment', null);
    expect(await a.ref(Counter, 'q1').call('dividedBy', 3)).toBe(2);
    expect(await b.ref(Counter, 'q1').call('dividedBy', 2)).toBe(3); // forwarded to node-a
    for (const via of [a, b]) {
      const failed = await via.ref(Counter, 'q1').call('dividedBy', 0).catch((err: unknown) => err);
      expect(failed).toBeInstanceOf(HandlerFailed);
      expect((failed as HandlerFailed).message).toContain('division by zero');
    }
    // The failed query changed nothing, and the owner goes on serving.
    expect(await b.ref(Counter, 'q1').call('value')).toBe(6);
    expect(holders('q1')).toEqual(['node-a']);
  });

  it('a call sent to a former owner is redirected to the current one', async () => {
    const [a, b, c] = nodes as [HighlanderNode, HighlanderNode, HighlanderNode];
    await a.ref(Counter, 'r2').call('increment', null);
    await b.ref(Counter, 'r2').call('increment', null); // node-b now caches node-a as the owner
    await a.evict('counter', 'r2');
    expect(await c.ref(Counter, 'r2').call('increment', null)).toBe(3); // now owned by node-c
    expect(holders('r2')).toEqual(['node-c']);
    const before = await forwardedOut(b);
    // node-b sends to node-a (cached), which redirects it to node-c.
    expect(await b.ref(Counter, 'r2').call('increment', null)).toBe(4);
    expect(await forwardedOut(b)).toBe(before + 2);
    expect(holders('r2')).toEqual(['node-c']);
  });

  it('calls for an object whose owner stopped activate it elsewhere with its last acknowledged state', async () => {
    const [a, b] = nodes as [HighlanderNode, HighlanderNode, HighlanderNode];
    for (let i = 0; i < 5; i++) await a.ref(Counter, 'r3').call('increment', null);
    await b.ref(Counter, 'r3').call('value'); // cached owner: node-a
    await a.stop();
    expect(await b.ref(Counter, 'r3').call('increment', null)).toBe(6);
    expect(holders('r3')).toEqual(['node-b']);
  });

  it('a node whose session is lost drops its activations; calls fail over and nothing acknowledged is lost', async () => {
    const [a, b] = nodes as [HighlanderNode, HighlanderNode, HighlanderNode];
    const acknowledged = await Promise.all(Array.from({ length: 20 }, () => a.ref(Counter, 'r4').call('increment', null)));
    expect(registry.expireSession('node-a')).toBe(true);
    expect(holders('r4')).toEqual([]);
    expect(await b.ref(Counter, 'r4').call('increment', null)).toBe(Math.max(...acknowledged) + 1);
    expect(events.some((e) => e.kind === 'node.session-lost' && e.node === 'node-a')).toBe(true);
  });
});

describe('migration', () => {
  it('moves an object while another node calls it: no acknowledged call is lost, the target owns it after', async () => {
    const [a, b] = nodes as [HighlanderNode, HighlanderNode, HighlanderNode];
    await a.ref(Counter, 'm1').call('increment', null);
    let stop = false;
    const acknowledged: number[] = [];
    const caller = (async () => {
      while (!stop) acknowledged.push(await b.ref(Counter, 'm1').call('increment', null));
    })();
    await vi.waitFor(() => expect(acknowledged.length).toBeGreaterThan(5), { timeout: timing.eventMs });
    const result = await a.migrate('counter', 'm1', 'node-c');
    expect(result).toMatchObject({ from: 'node-a', to: 'node-c' });
    await vi.waitFor(() => expect(acknowledged.length).toBeGreaterThan(20), { timeout: timing.eventMs });
    stop = true;
    await caller;
    expect(holders('m1')).toEqual(['node-c']);
    // Every acknowledged value is distinct and the last one is the stored one.
    expect(new Set(acknowledged).size).toBe(acknowledged.length);
    expect(await b.ref(Counter, 'm1').call('value')).toBe(Math.max(...acknowledged));
    const kinds = events.filter((e) => 'id' in e && e.id === 'm1').map((e) => `${e.node}:${e.kind}`);
    expect(kinds).toContain('node-c:lock.queued');
    expect(kinds).toContain('node-a:object.migrated');
  });

  it('refuses to migrate to itself, to an unknown node, or an object that is not active here', async () => {
    const [a, b] = nodes as [HighlanderNode, HighlanderNode, HighlanderNode];
    await a.ref(Counter, 'm2').call('increment', null);
    await expect(a.migrate('counter', 'm2', 'node-a')).rejects.toBeInstanceOf(MigrationRefused);
    await expect(a.migrate('counter', 'm2', 'node-z')).rejects.toBeInstanceOf(MigrationRefused);
    await expect(b.migrate('counter', 'm2', 'node-c')).rejects.toBeInstanceOf(NotActiveHere);
    expect(holders('m2')).toEqual(['node-a']);
  });
});

describe('drain and stop', () => {
  it('drain deactivates everything with progress events; the objects come back elsewhere with their state', async () => {
    const [a, b] = nodes as [HighlanderNode, HighlanderNode, HighlanderNode];
    for (let i = 0; i < 10; i++) await a.ref(Counter, `d${i}`).call('increment', null);
    const result = await a.drain();
    expect(result.deactivated).toBe(10);
    expect(a.activationCount).toBe(0);
    expect(a.draining).toBe(true);
    expect(events.filter((e) => e.kind === 'node.draining' && e.node === 'node-a').at(-1)).toMatchObject({ remaining: 0 });
    await vi.waitFor(() => expect(b.members().find((m) => m.name === 'node-a')?.draining).toBe(true), { timeout: timing.eventMs });
    // A draining node's own calls activate objects elsewhere.
    expect(await a.ref(Counter, 'd0').call('increment', null)).toBe(2);
    expect(holders('d0')).not.toContain('node-a');
    expect(holders('d0')).toHaveLength(1);
  });

  it('stop drains: calls queued before it complete and are durable, the lock is released', async () => {
    const [a] = nodes as [HighlanderNode, HighlanderNode, HighlanderNode];
    await a.ref(Counter, 's1').call('increment', null);
    const queued = Array.from({ length: 10 }, () => a.ref(Counter, 's1').call('increment', null));
    const stopping = a.stop();
    expect((await Promise.all(queued)).sort((x, y) => x - y)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    await stopping;
    expect(registry.lockQueue('counter', 's1')).toEqual([]);
    expect(JSON.parse((await store.read('counter', 's1'))!.body)).toEqual({ value: 11 });
    await expect(a.ref(Counter, 's1').call('value')).rejects.toMatchObject({ code: 'NODE_STOPPING' });
  });
});
