import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { TokenConfig } from '../../admin-api/src/auth.js';
import { defineObject, type HighlanderNode, type LifecycleEvent } from '@highlander/runtime';
import { startEmbeddedCluster, type EmbeddedCluster } from '@highlander/cli';
import { Counter, objects } from '../harness/test-objects.js';
import { rawExchange } from '../harness/raw-ws.js';
import { timing } from '../harness/timing.js';

/**
 * The admin API over an embedded cluster (scripts/embedded-cluster.ts): three nodes in this
 * process on an EmbeddedRegistry and a FileStateStore, the live model over an EmbeddedSource, and
 * the real HTTP and ws API in front, as the one-command demo runs it.
 */

const VIEWER = 'viewer-token-embedded-0123';
const OPERATOR = 'operator-token-embedded-0123';
/** Short, so that a request that never completes is dropped within the test. */
const REQUEST_TIMEOUT_MS = 1000;
const TOKENS: TokenConfig[] = [
  { token: VIEWER, role: 'viewer', name: 'vera' },
  { token: OPERATOR, role: 'operator', name: 'otto' },
];

/** A handler that blocks until the test opens the gate: an owner that does not answer in time. */
let gate = newGate();
function newGate() {
  let started!: () => void;
  let open!: () => void;
  return {
    started: new Promise<void>((resolve) => (started = resolve)),
    opened: new Promise<void>((resolve) => (open = resolve)),
    markStarted: () => started(),
    open: () => open(),
  };
}
const Gate = defineObject({
  type: 'gate',
  initial: () => ({ value: 0 }),
  handlers: {
    bump: (g, _arg: null, ctx) => ctx.reply({ value: g.value + 1 }, g.value + 1),
    async hold(g, _arg: null, ctx) {
      gate.markStarted();
      await gate.opened;
      return ctx.reply({ value: g.value + 100 }, g.value + 100);
    },
  },
});

let dir: string;
let cluster: EmbeddedCluster;
let url: string;
let events: LifecycleEvent[];
const sockets: WebSocket[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'highlander-embedded-admin-'));
  gate = newGate();
  cluster = await startEmbeddedCluster({
    nodes: 3,
    dataDir: join(dir, 'data'),
    objects: [...objects, Gate],
    api: {
      port: 0, tokens: TOKENS, auditLogPath: join(dir, 'audit', 'audit.jsonl'),
      evictGraceMs: 500, logger: pino({ level: 'silent' }), dashboardDir: null, requestTimeoutMs: REQUEST_TIMEOUT_MS,
    },
  });
  url = cluster.api!.url;
  events = [];
  for (const node of cluster.nodes) node.events.subscribe((e) => events.push(e));
});

afterEach(async () => {
  gate.open();
  for (const ws of sockets.splice(0)) ws.terminate();
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

function node(name: string): HighlanderNode {
  return cluster.nodes.find((n) => n.name === name)!;
}

async function api(method: 'GET' | 'POST', path: string, options: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${options.token ?? VIEWER}`,
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  return { status: response.status, body: await response.json() };
}

/** Owners as the registry has them: the first entry of every lock queue. */
function ownersInRegistry(): string[] {
  return cluster.registry.lockQueues().map((q) => `${q.type}/${q.id}@${q.entries[0]!.node}`).sort();
}

async function ownersInApi(): Promise<string[]> {
  const { body } = await api('GET', '/api/objects?limit=1000');
  return (body.items as Array<{ type: string; id: string; owner: string }>).map((o) => `${o.type}/${o.id}@${o.owner}`).sort();
}

/** Waits until the API's model agrees with the registry (events arrive asynchronously), failing with the difference. */
async function expectApiMatchesRegistry(): Promise<void> {
  const deadline = Date.now() + timing.eventMs;
  for (;;) {
    const truth = ownersInRegistry();
    const seen = await ownersInApi();
    if (JSON.stringify(seen) === JSON.stringify(truth)) return;
    if (Date.now() > deadline) expect(seen).toEqual(truth);
    await sleep(50);
  }
}

/** Polls `read` until `done` holds of its value, then returns that value (or the last one after the deadline). */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + timing.eventMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(50);
  }
}

describe('admin API over an embedded cluster', () => {
  it('lists the nodes and the objects the registry has, with their detail, and streams a summary snapshot', async () => {
    const nodes = await until(() => api('GET', '/api/nodes'), (r) => r.body.items?.every((n: { status: string }) => n.status === 'up'));
    expect(nodes.status).toBe(200);
    expect(nodes.body.items.map((n: { name: string; status: string }) => [n.name, n.status])).toEqual([['node-a', 'up'], ['node-b', 'up'], ['node-c', 'up']]);
    expect(nodes.body.items.map((n: { address: string }) => n.address)).toEqual(cluster.nodes.map((n) => n.address));

    // Local placement: each counter lives where it was first called.
    for (let i = 0; i < 9; i++) await cluster.nodes[i % 3]!.ref(Counter, `c${i}`).call('add', i + 1);
    await node('node-c').ref(Counter, 'c1').call('add', 10); // forwarded to node-b
    await expectApiMatchesRegistry();
    expect(ownersInRegistry()).toHaveLength(9);
    expect(ownersInRegistry()).toContain('counter/c1@node-b');
    const summary = await api('GET', '/api/summary');
    expect(summary.body).toMatchObject({ nodes: 3, objects: 9, byType: { counter: 9 } });

    // One object: owner, epoch and lock queue from the registry, in-memory state from its owner, persisted from the folder.
    const [lock] = cluster.registry.lockQueue('counter', 'c1');
    const detail = await api('GET', '/api/objects/counter/c1');
    expect(detail.status).toBe(200);
    expect(detail.body.object).toMatchObject({ type: 'counter', id: 'c1', owner: 'node-b', epoch: lock!.epoch });
    expect(detail.body.queue).toEqual([{ node: 'node-b', sequence: lock!.sequence, path: lock!.path, waitingSince: expect.any(Number) }]);
    expect(detail.body.queue[0].waitingSince).toBeGreaterThan(0);
    expect(detail.body.memory).toMatchObject({ state: { value: 12 } });
    expect(detail.body.persisted).toMatchObject({ type: 'counter', id: 'c1', key: 'counter/c1.json', epoch: lock!.epoch, state: { value: 12 } });
    expect((await api('GET', '/api/objects/counter/c1/queue')).body.queue.map((e: { node: string }) => e.node)).toEqual(['node-b']);
    expect((await api('GET', '/api/objects/counter/never')).status).toBe(404);

    // Storage browsing over the data folder.
    const stored = await api('GET', '/api/storage?type=counter&limit=100');
    expect(stored.body.items.map((s: { id: string }) => s.id).sort()).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8']);

    // The ws stream: a summary snapshot listing every active object.
    const ws = new WebSocket(`${url.replace('http', 'ws')}/api/stream`, ['highlander.v1', `bearer.${VIEWER}`]);
    sockets.push(ws);
    const messages: any[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    expect(ws.protocol).toBe('highlander.v1');
    ws.send(JSON.stringify({ subscribe: 'summary', objects: true }));
    const deadline = Date.now() + timing.eventMs;
    while (!messages.some((m) => m.kind === 'snapshot') && Date.now() < deadline) await sleep(20);
    const snapshot = messages.find((m) => m.kind === 'snapshot');
    expect(messages[0]).toMatchObject({ kind: 'hello', who: { name: 'vera', role: 'viewer' } });
    expect(snapshot).toMatchObject({ scope: 'summary', summary: { nodes: 3, objects: 9 } });
    expect(snapshot.nodes.map((n: { name: string }) => n.name)).toEqual(['node-a', 'node-b', 'node-c']);
    const rows = (snapshot.objects as unknown[][]).map(([type, id, owner]) => `${type as string}/${id as string}@${owner as string}`).sort();
    expect(rows).toEqual(ownersInRegistry());
  });

  it("keeps the nodes' call metrics, each node's samples and per node and minute, and refuses a bad query", async () => {
    for (let i = 0; i < 7; i++) await node('node-a').ref(Counter, 'history-1').call('increment', null);
    type Sample = { cursor: number; node: string; time: number; intervalMs: number; byType: Record<string, { calls: number }> };
    const history = async (query: string) => (await api('GET', `/api/metrics/history${query}`)).body as { resolution: string; samples: Sample[] };
    const counterCalls = (samples: Sample[]) => samples.reduce((n, s) => n + (s.byType.counter?.calls ?? 0), 0);
    // The calls arrive with the owner's next stats event.
    await expect.poll(async () => counterCalls((await history('')).samples), { timeout: timing.eventMs }).toBe(7);
    const fine = await history('?resolution=1s');
    expect(fine.resolution).toBe('1s');
    expect(fine.samples.some((s) => s.node === 'node-a' && (s.byType.counter?.calls ?? 0) > 0)).toBe(true);
    expect(fine.samples.every((s) => s.cursor > 0 && s.intervalMs > 0)).toBe(true);
    // Rolled up per node and minute: the same calls, in samples a minute long.
    const coarse = await history('?resolution=1m');
    expect(counterCalls(coarse.samples)).toBe(7);
    expect(coarse.samples.every((s) => s.intervalMs === 60_000 && s.time % 60_000 === 0)).toBe(true);
    // `since` leaves out what ended before it.
    const last = Math.max(...fine.samples.map((s) => s.time));
    expect(counterCalls((await history(`?since=${last}`)).samples)).toBe(0);
    // A query that cannot be answered is refused, saying why.
    for (const [query, says] of [['?resolution=1h', "'1s'"], ['?since=-5', 'since'], ['?since=soon', 'since'], ['?window=1h', 'window']] as const) {
      const refused = await api('GET', `/api/metrics/history${query}`);
      expect(refused.status, query).toBe(400);
      expect(JSON.stringify(refused.body), query).toContain(says);
    }
  });

  it('pages the store with cursors it signed, and refuses any other cursor with 400 INVALID_CURSOR', async () => {
    for (let i = 0; i < 3; i++) await node('node-a').ref(Gate, `paged-${i}`).call('bump', null);
    await cluster.stop(); // flushed: every state is in the folder
    cluster = await startEmbeddedCluster({
      nodes: 1, dataDir: join(dir, 'data'), objects: [...objects, Gate],
      api: { port: 0, tokens: TOKENS, auditLogPath: join(dir, 'audit', 'audit.jsonl'), logger: pino({ level: 'silent' }), dashboardDir: null },
    });
    url = cluster.api!.url;
    const first = await api('GET', '/api/storage?type=gate&limit=2');
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(2);
    const next = await api('GET', `/api/storage?type=gate&limit=2&cursor=${encodeURIComponent(first.body.cursor)}`);
    expect(next.status).toBe(200);
    expect(next.body.items.map((i: { id: string }) => i.id)).toEqual(['paged-2']);
    for (const cursor of ['!!!!', 'garbage', `${first.body.cursor}x`, first.body.cursor.split('.')[0]]) {
      const refused = await api('GET', `/api/storage?type=gate&limit=2&cursor=${encodeURIComponent(cursor)}`);
      expect(refused.status, cursor).toBe(400);
      expect(refused.body.error.code, cursor).toBe('INVALID_CURSOR');
    }
    // A cursor of one listing is no cursor of another.
    expect((await api('GET', `/api/storage?type=counter&limit=2&cursor=${encodeURIComponent(first.body.cursor)}`)).status).toBe(400);
  });

  it('closes a connection whose request does not arrive in time, like the admin API process', async () => {
    const port = Number(new URL(url).port);
    const outcome = await rawExchange(port, [Buffer.from(`POST /api/nodes/node-a/drain HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${OPERATOR}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a"`)], { timeoutMs: timing.localMs });
    expect(outcome).toMatchObject({ status: expect.stringMatching(/^HTTP\/1\.1 408/), end: 'closed' });
    expect(node('node-a').draining).toBe(false);
  });

  it('evicts, migrates and drains through the nodes, and the model follows', async () => {
    const [a, b] = cluster.nodes as [HighlanderNode, HighlanderNode, HighlanderNode];
    await a.ref(Counter, 'e1').call('add', 41);
    await a.ref(Counter, 'm1').call('add', 7);
    for (let i = 0; i < 4; i++) await b.ref(Counter, `d${i}`).call('add', i);
    await expectApiMatchesRegistry();

    // Viewers may not act.
    expect((await api('POST', '/api/objects/counter/e1/evict', { body: {} })).status).toBe(403);

    // Evict: flushed and released; the persisted state is there for the next activation.
    const evicted = await api('POST', '/api/objects/counter/e1/evict', { token: OPERATOR, body: {} });
    expect(evicted.status).toBe(200);
    expect(evicted.body).toMatchObject({ owner: 'node-a', forced: false });
    expect(cluster.registry.lockQueue('counter', 'e1')).toEqual([]);
    expect(a.activations().some((x) => x.id === 'e1')).toBe(false);
    expect(events.some((e) => e.kind === 'object.deactivated' && e.id === 'e1' && e.reason === 'evicted')).toBe(true);
    expect((await api('GET', '/api/storage/counter/e1')).body).toMatchObject({ state: { value: 41 } });
    await expectApiMatchesRegistry();
    expect((await api('GET', '/api/objects/counter/e1')).body).toMatchObject({ object: null, queue: [], memory: null, persisted: { state: { value: 41 } } });
    expect(await b.ref(Counter, 'e1').call('add', 1)).toBe(42);

    // force=true on an owner that answers: the graceful path does it, nothing is forced.
    const gentle = await api('POST', '/api/objects/counter/e1/evict', { token: OPERATOR, body: { force: true } });
    expect(gentle.body).toMatchObject({ owner: 'node-b', forced: false });
    expect(events.filter((e) => e.kind === 'object.deactivated' && e.id === 'e1' && e.reason === 'evicted')).toHaveLength(2);
    expect((await api('POST', '/api/objects/counter/e1/evict', { token: OPERATOR, body: {} })).status).toBe(404);

    // Migrate: the target owns it after, with its state.
    const migrated = await api('POST', '/api/objects/counter/m1/migrate', { token: OPERATOR, body: { to: 'node-c' } });
    expect(migrated.status).toBe(200);
    expect(migrated.body).toMatchObject({ from: 'node-a', to: 'node-c' });
    expect(cluster.registry.lockQueue('counter', 'm1').map((e) => e.node)).toEqual(['node-c']);
    expect(node('node-c').activations().map((x) => x.id)).toContain('m1');
    await expectApiMatchesRegistry();
    expect((await api('GET', '/api/objects/counter/m1')).body.object).toMatchObject({ owner: 'node-c' });
    expect(await a.ref(Counter, 'm1').call('value')).toBe(7);
    expect((await api('POST', '/api/objects/counter/m1/migrate', { token: OPERATOR, body: { to: 'node-c' } })).status).toBe(409);

    // Drain: node-b holds nothing after, and new activations go elsewhere.
    const drained = await api('POST', '/api/nodes/node-b/drain', { token: OPERATOR, body: {} });
    expect(drained.status).toBe(200);
    expect(drained.body).toMatchObject({ node: 'node-b', deactivated: 4 });
    expect(b.activations()).toEqual([]);
    expect(cluster.registry.lockQueues().filter((q) => q.entries.some((e) => e.node === 'node-b'))).toEqual([]);
    expect(await b.ref(Counter, 'd3').call('add', 100)).toBe(103);
    expect(b.activations()).toEqual([]);
    await expectApiMatchesRegistry();
    const nodeB = await until(() => api('GET', '/api/nodes/node-b'), (r) => r.body.status === 'draining');
    expect(nodeB.body).toMatchObject({ name: 'node-b', status: 'draining', activations: 0 });

    // Every action is in the audit log.
    const audit = await api('GET', '/api/audit?limit=100');
    expect(audit.status).toBe(200);
    expect(JSON.stringify(audit.body)).toContain('drain');
  });

  it('shows how many nodes wait in an object\'s lock queue (a migration target behind a busy owner)', async () => {
    const [a] = cluster.nodes as [HighlanderNode, HighlanderNode, HighlanderNode];
    await a.ref(Counter, 'w1').call('add', 1);
    await until(async () => (await api('GET', '/api/objects/counter/w1')).body.object?.owner, (owner) => owner === 'node-a');
    // The owner is busy for a while: the migration's target queues behind it until the hand-off.
    const busy = a.ref(Counter, 'w1').call('slowIncrement', 1500);
    const migrating = api('POST', '/api/objects/counter/w1/migrate', { token: OPERATOR, body: { to: 'node-b' } });
    const waiting = await until(async () => (await api('GET', '/api/objects?limit=1000')).body.items.find((o: { id: string }) => o.id === 'w1'), (o) => o?.waiting === 1);
    expect(waiting).toMatchObject({ owner: 'node-a', waiting: 1 });
    expect((await migrating).status).toBe(200);
    await busy;
    const after = await until(async () => (await api('GET', '/api/objects?limit=1000')).body.items.find((o: { id: string }) => o.id === 'w1'), (o) => o?.owner === 'node-b');
    expect(after).toMatchObject({ owner: 'node-b', waiting: 0 });
  });

  it('forces an eviction when the owner does not answer in time; the old owner is fenced', async () => {
    const [a, b] = cluster.nodes as [HighlanderNode, HighlanderNode, HighlanderNode];
    expect(await a.ref(Gate, 'g1').call('bump', null)).toBe(1);
    const [oldLock] = cluster.registry.lockQueue('gate', 'g1');
    expect(oldLock!.node).toBe('node-a');
    // The owner is busy in a handler that does not return: a graceful eviction cannot finish.
    const held = a.ref(Gate, 'g1').call('hold', null).then((value) => ({ value }), (error: unknown) => ({ error }));
    await gate.started;

    const forced = await api('POST', '/api/objects/gate/g1/evict', { token: OPERATOR, body: { force: true } });
    expect(forced.status).toBe(200);
    expect(forced.body).toMatchObject({ owner: 'node-a', forced: true });
    expect(cluster.registry.lockQueue('gate', 'g1')).toEqual([]);

    // The object is free: another node takes it over from the persisted state, under a newer epoch.
    expect(await b.ref(Gate, 'g1').call('bump', null)).toBe(2);
    const [newLock] = cluster.registry.lockQueue('gate', 'g1');
    expect(newLock).toMatchObject({ node: 'node-b' });
    expect(BigInt(newLock!.epoch)).toBeGreaterThan(BigInt(oldLock!.epoch));

    // The old owner finishes its handler: its write is refused (fenced), and the call is routed to the new owner.
    gate.open();
    const outcome = await held;
    expect(outcome).toEqual({ value: 102 });
    expect(events.some((e) => e.kind === 'object.fenced' && e.id === 'g1' && e.node === 'node-a')).toBe(true);
    expect(a.activations().some((x) => x.id === 'g1')).toBe(false);
    const stored = await api('GET', '/api/storage/gate/g1');
    expect(stored.body).toMatchObject({ epoch: newLock!.epoch, state: { value: 102 } });
    await expectApiMatchesRegistry();
    expect((await api('GET', '/api/objects/gate/g1')).body.object).toMatchObject({ owner: 'node-b', epoch: newLock!.epoch });
  });
});
