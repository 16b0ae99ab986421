import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { LifecycleEventBody } from '@highlander/runtime';
import { CoordinatorUnavailable } from '@highlander/runtime';
import { OPERATOR, VIEWER, startAdmin, type AdminServer } from './admin-server.js';
import { nodeView, objectView } from './fake-cluster.js';

/** A real ws client that keeps every message, to read them in order. */
class StreamClient {
  readonly messages: any[] = [];
  #read = 0;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.messages.push(JSON.parse(String(data))));
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The next unread message matching `match` (skipping the others), within 5 s. */
  async next(match: (m: any) => boolean = () => true): Promise<any> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const index = this.messages.findIndex((m, i) => i >= this.#read && match(m));
      if (index >= 0) {
        this.#read = index + 1;
        return this.messages[index];
      }
      if (Date.now() > deadline) throw new Error(`no matching message; got ${JSON.stringify(this.messages.slice(this.#read))}`);
      await sleep(5);
    }
  }

  /** Unread messages matching `match`, without consuming them. */
  unread(match: (m: any) => boolean): any[] {
    return this.messages.slice(this.#read).filter(match);
  }
}

function open(server: AdminServer, options: { token?: string; origin?: string; protocols?: string[]; headers?: Record<string, string> } = {}): WebSocket {
  const protocols = options.protocols ?? (options.token ? ['highlander.v1', `bearer.${options.token}`] : []);
  return new WebSocket(server.wsUrl, protocols, { ...(options.origin ? { origin: options.origin } : {}), ...(options.headers ? { headers: options.headers } : {}) });
}

async function connect(server: AdminServer, token = VIEWER, origin?: string): Promise<StreamClient> {
  const ws = open(server, { token, ...(origin ? { origin } : {}) });
  const client = new StreamClient(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  expect(ws.protocol).toBe('highlander.v1');
  await client.next((m) => m.kind === 'hello');
  return client;
}

/** The status and body of a refused upgrade. */
function refused(ws: WebSocket): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => reject(new Error('the upgrade was accepted')));
    ws.once('error', () => {}); // the refusal also surfaces as an error after unexpected-response
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
  });
}

const isDelta = (scope: string) => (m: any) => m.kind === 'delta' && m.scope === scope;
const isSnapshot = (scope: string) => (m: any) => m.kind === 'snapshot' && m.scope === scope;

let server: AdminServer;
const clients: StreamClient[] = [];

async function client(token = VIEWER, origin?: string): Promise<StreamClient> {
  const c = await connect(server, token, origin);
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await server?.close();
});

describe('stream: snapshot, then coalesced deltas', () => {
  it('summary: a snapshot, then one delta per flush carrying only the latest view of each node and object', async () => {
    server = await startAdmin();
    const { model } = server.cluster;
    const c = await client();
    c.send({ subscribe: 'summary' });
    const snapshot = await c.next(isSnapshot('summary'));
    expect(snapshot.summary).toMatchObject({ nodes: 2, objects: 0 });
    expect(snapshot.nodes.map((n: { name: string }) => n.name)).toEqual(['node-a', 'node-b']);

    for (let i = 0; i < 50; i++) model.setObject(objectView('todo', 'hot', 'node-a', { callsPerSecond: i }));
    model.setNode(nodeView('node-b', { activations: 3 }));
    model.setNode(nodeView('node-b', { activations: 7 }));

    const delta = await c.next(isDelta('summary'));
    expect(delta.objects).toEqual([{ type: 'todo', id: 'hot', object: expect.objectContaining({ callsPerSecond: 49 }) }]);
    expect(delta.nodes).toEqual([{ name: 'node-b', node: expect.objectContaining({ activations: 7 }) }]);
    expect(delta.summary).toMatchObject({ objects: 1 });
    await sleep(300);
    expect(c.unread(isDelta('summary'))).toEqual([]);

    model.removeObject('todo', 'hot');
    expect((await c.next(isDelta('summary'))).objects).toEqual([{ type: 'todo', id: 'hot', object: null }]);
  });

  it('summary with objects: the snapshot lists every active object as a row, then deltas as usual', async () => {
    server = await startAdmin();
    const { model } = server.cluster;
    model.setObject(objectView('todo', 'a', 'node-a', { callsPerSecond: 2, queueLength: 1 }));
    model.setObject(objectView('user', 'b', 'node-b'));
    const c = await client();
    c.send({ subscribe: 'summary', objects: true });
    const snapshot = await c.next(isSnapshot('summary'));
    const a = model.object('todo', 'a')!;
    expect(snapshot.objects).toEqual([
      [a.type, a.id, a.owner, a.epoch, a.activeSince, a.lastCallAt, 2, 1, 0],
      expect.arrayContaining(['user', 'b', 'node-b']),
    ]);
    model.removeObject('todo', 'a');
    expect((await c.next(isDelta('summary'))).objects).toEqual([{ type: 'todo', id: 'a', object: null }]);
    c.send({ subscribe: 'summary', objects: 'yes' });
    expect((await c.closed).code).toBe(1008);
  });

  it('events: a snapshot after `since`, then batched deltas in order, nothing twice', async () => {
    server = await startAdmin();
    const { model } = server.cluster;
    for (let i = 0; i < 3; i++) model.emitEvent({ kind: 'node.left', peer: `p${i}` });
    const c = await client();
    c.send({ subscribe: 'events', since: 1 });
    const snapshot = await c.next(isSnapshot('events'));
    expect(snapshot.events.map((e: { cursor: number }) => e.cursor)).toEqual([2, 3]);
    expect(snapshot).toMatchObject({ cursor: 3, gap: false });

    for (let i = 0; i < 5; i++) model.emitEvent({ kind: 'node.joined', peer: `q${i}`, address: 'x' });
    const delta = await c.next(isDelta('events'));
    expect(delta.events.map((e: { cursor: number }) => e.cursor)).toEqual([4, 5, 6, 7, 8]);
    expect(delta.cursor).toBe(8);
  });

  it('events: a snapshot holds the newest maxSnapshotEvents and says when it left some out', async () => {
    server = await startAdmin({ stream: { maxSnapshotEvents: 2 } });
    for (let i = 0; i < 5; i++) server.cluster.model.emitEvent({ kind: 'node.left', peer: `p${i}` });
    const c = await client();
    c.send({ subscribe: 'events', since: 0 });
    expect(await c.next(isSnapshot('events'))).toMatchObject({ cursor: 5, gap: true, events: [{ cursor: 4 }, { cursor: 5 }] });
    c.send({ subscribe: 'events' });
    expect(await c.next(isSnapshot('events'))).toMatchObject({ cursor: 5, gap: false, events: [{ cursor: 4 }, { cursor: 5 }] });
  });

  it("object: the detail, then its live lock queue, view and events; one shared watch; stopped on unsubscribe", async () => {
    server = await startAdmin();
    const { model } = server.cluster;
    model.setObject(objectView('todo', 'a', 'node-a'));
    const owner = { node: 'node-a', sequence: 1, path: '/h/objects/todo/a/lock-1', waitingSince: 1 };
    model.setQueue('todo', 'a', [owner]);
    const c = await client();
    const other = await client(OPERATOR);
    c.send({ subscribe: 'object', type: 'todo', id: 'a' });
    other.send({ subscribe: 'object', type: 'todo', id: 'a' });
    const snapshot = await c.next(isSnapshot('object'));
    expect(snapshot).toMatchObject({ type: 'todo', id: 'a', detail: { object: { owner: 'node-a' }, queue: [owner], memory: { version: 4 } } });
    await other.next(isSnapshot('object'));
    expect(model.watcherCount('todo', 'a')).toBe(1);
    expect(model.watchCalls).toBe(1);

    const waiter = { node: 'node-b', sequence: 2, path: '/h/objects/todo/a/lock-2', waitingSince: 2 };
    model.setQueue('todo', 'a', [owner]);
    model.setQueue('todo', 'a', [owner, waiter]);
    model.emitEvent({ kind: 'lock.queued', type: 'todo', id: 'a', position: 1, owner: 'node-a' }, 'node-b');
    model.emitEvent({ kind: 'lock.queued', type: 'todo', id: 'other', position: 1, owner: 'node-a' }, 'node-b');
    model.setObject(objectView('todo', 'a', 'node-a', { queueLength: 2 }));
    const delta = await c.next(isDelta('object'));
    expect(delta).toMatchObject({ type: 'todo', id: 'a', queue: [owner, waiter], object: { queueLength: 2 } });
    expect(delta.events.map((e: { id: string }) => e.id)).toEqual(['a']);

    c.send({ unsubscribe: 'object' });
    await c.next((m) => m.kind === 'unsubscribed' && m.scope === 'object');
    expect(model.watcherCount('todo', 'a')).toBe(1);
    other.ws.close();
    await other.closed;
    await sleep(50);
    expect(model.watcherCount('todo', 'a')).toBe(0);
  });

  it('object: a snapshot that fails is an error message, and leaves nothing subscribed', async () => {
    server = await startAdmin();
    server.cluster.actions.failure = new CoordinatorUnavailable('getChildren');
    const c = await client();
    c.send({ subscribe: 'object', type: 'todo', id: 'a' });
    const error = await c.next((m) => m.kind === 'error');
    expect(error).toMatchObject({ scope: 'object', type: 'todo', id: 'a', error: { code: 'COORDINATOR_UNAVAILABLE' } });
    expect(server.cluster.model.watcherCount('todo', 'a')).toBe(0);
    expect(server.cluster.model.subscriberCount).toBe(0);
  });
});

describe('stream: costs nothing unwatched', () => {
  it('holds one model subscription while some client subscribes to something, and none otherwise', async () => {
    server = await startAdmin();
    const { model } = server.cluster;
    expect(model.subscriberCount).toBe(0);
    const first = await client();
    expect(model.subscriberCount).toBe(0);
    first.send({ subscribe: 'summary' });
    await first.next(isSnapshot('summary'));
    expect(model.subscriberCount).toBe(1);
    const second = await client();
    second.send({ subscribe: 'events' });
    await second.next(isSnapshot('events'));
    expect(model.subscriberCount).toBe(1);

    first.send({ unsubscribe: 'summary' });
    await first.next((m) => m.kind === 'unsubscribed');
    expect(model.subscriberCount).toBe(1);
    second.ws.close();
    await second.closed;
    await sleep(50);
    expect(model.subscriberCount).toBe(0);
    first.ws.close();
    await first.closed;
    await sleep(50);
    expect(server.stream.clientCount).toBe(0);
    expect(model.subscriberCount).toBe(0);
  });
});

describe('stream: refusing and closing', () => {
  it('a message that is not JSON closes with 1007 and a reason', async () => {
    server = await startAdmin();
    const c = await client();
    c.send('subscribe summary please');
    expect(await c.closed).toEqual({ code: 1007, reason: 'malformed message: not JSON' });
  });

  it.each([
    [{ subscribe: 'object', type: 'Bad', id: 'x' }, /^invalid message: type: invalid object type name/],
    [{ subscribe: 'object', type: 'todo' }, /^invalid message: id: /],
    [{ subscribe: 'everything' }, /^invalid message: subscribe: /],
    [{ subscribe: 'events', since: -1 }, /^invalid message: since: /],
    [{ unsubscribe: 'all' }, /^invalid message: unsubscribe: /],
    [{ hello: 1 }, /^invalid message: expected \{"subscribe": …\} or \{"unsubscribe": …\}$/],
  ])('%j closes with 1008 and a reason naming the field', async (message, reason) => {
    server = await startAdmin();
    const c = await client();
    c.send(message);
    const closed = await c.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(reason);
  });

  it('a binary message closes with 1003; too many messages with 1008', async () => {
    server = await startAdmin();
    const binary = await client();
    binary.ws.send(Buffer.from([1, 2, 3]));
    expect((await binary.closed).code).toBe(1003);
    const chatty = await client();
    for (let i = 0; i < 30; i++) chatty.send({ unsubscribe: 'summary' });
    expect(await chatty.closed).toEqual({ code: 1008, reason: 'too many messages: at most 20 per second' });
  });

  it('an Origin that is neither the API\'s own nor allowed is refused with 403; allowed and same-origin ones connect', async () => {
    server = await startAdmin({ allowedOrigins: ['https://dashboard.example'] });
    const evil = await refused(open(server, { token: VIEWER, origin: 'https://evil.example' }));
    expect(evil).toEqual({ status: 403, body: { error: { code: 'ORIGIN_NOT_ALLOWED', message: expect.stringContaining('https://evil.example') } } });
    await client(VIEWER, 'https://dashboard.example');
    await client(VIEWER, server.url);
  });

  it('401 without a token or with an unknown one; 400 without the highlander.v1 subprotocol; Authorization works too', async () => {
    server = await startAdmin();
    expect((await refused(open(server))).status).toBe(401);
    const unknown = await refused(open(server, { token: 'nope-nope-nope' }));
    expect(unknown).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED' } } });
    const noProtocol = await refused(open(server, { protocols: [`bearer.${VIEWER}`] }));
    expect(noProtocol).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining('highlander.v1') } } });
    const ws = open(server, { headers: { authorization: `Bearer ${VIEWER}` } });
    const c = new StreamClient(ws);
    clients.push(c);
    expect(await c.next((m) => m.kind === 'hello')).toMatchObject({ who: { name: 'vera', role: 'viewer' } });
  });
});

describe('stream: slow clients', () => {
  it('a client that stops reading is closed with 1013 once too much is unsent, told how to resume, and freed at once', async () => {
    const maxBufferedBytes = 256 * 1024;
    server = await startAdmin({ stream: { maxBufferedBytes, flushIntervalMs: 5, maxPendingChanges: 1_000_000 } });
    const { model } = server.cluster;
    const c = await client();
    c.send({ subscribe: 'events' });
    await c.next(isSnapshot('events'));
    c.ws.pause();

    const big = 'x'.repeat(64 * 1024);
    const dropped = async () => (await server.admin.metrics.wsDropped.get()).values.reduce((sum, v) => sum + v.value, 0);
    const deadline = Date.now() + 30_000;
    while ((await dropped()) === 0) {
      if (Date.now() > deadline) throw new Error('the slow client was never dropped');
      for (let i = 0; i < 8; i++) model.emitEvent({ kind: 'node.left', peer: big } as LifecycleEventBody);
      await sleep(2);
    }
    expect((await server.admin.metrics.wsDropped.get()).values).toEqual([expect.objectContaining({ labels: { reason: 'buffered' }, value: 1 })]);
    expect(model.subscriberCount).toBe(0);

    c.ws.resume();
    const closed = await c.closed;
    expect(closed.code).toBe(1013);
    expect(closed.reason).toMatch(new RegExp(`^too slow: over ${maxBufferedBytes} bytes unsent; reconnect and subscribe to events with since=\\d+$`));
    // The cursor in the reason is the last one the client was sent: resuming from it loses nothing.
    const since = Number(/since=(\d+)/.exec(closed.reason)![1]);
    const received = c.messages.filter(isDelta('events')).flatMap((m) => m.events.map((e: { cursor: number }) => e.cursor));
    expect(received.at(-1)).toBe(since);
  });

  it('a client with more changes waiting than maxPendingChanges is closed with 1013', async () => {
    server = await startAdmin({ stream: { maxPendingChanges: 50 } });
    const c = await client();
    c.send({ subscribe: 'events' });
    await c.next(isSnapshot('events'));
    for (let i = 0; i < 60; i++) server.cluster.model.emitEvent({ kind: 'node.left', peer: `p${i}` });
    const closed = await c.closed;
    expect(closed).toEqual({ code: 1013, reason: 'too slow: over 50 changes waiting; reconnect and subscribe to events with since=0' });
    expect((await server.admin.metrics.wsDropped.get()).values).toEqual([expect.objectContaining({ labels: { reason: 'pending' }, value: 1 })]);
  });
});
