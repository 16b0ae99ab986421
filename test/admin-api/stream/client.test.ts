import { describe, expect, it, vi } from 'vitest';
import type { LifecycleEventBody } from '@highlander/runtime';
import { client, isDelta, isSnapshot, start } from './stream-client.js';

/** One connection: what it accepts, and how a slow one is dropped with advice to resume. */

describe('stream client: refusing and closing', () => {
  it('a message that is not JSON closes with 1007 and a reason', async () => {
    await start();
    const c = await client();
    c.send('subscribe summary please');
    expect(await c.closed).toEqual({ code: 1007, reason: 'malformed message: not JSON' });
  });

  it.each([
    [{ subscribe: 'object', type: 'todo' }, /^invalid message: id: /],
    [{ subscribe: 'object', type: 'todo', id: 7 }, /^invalid message: id: /],
    [{ subscribe: 'object', type: 'Bad', id: 'x', extra: 1 }, /^invalid message: /],
    [{ subscribe: 'everything' }, /^invalid message: subscribe: /],
    [{ subscribe: 'events', since: -1 }, /^invalid message: since: /],
    [{ unsubscribe: 'all' }, /^invalid message: unsubscribe: /],
    [{ hello: 1 }, /^invalid message: expected \{"subscribe": …\} or \{"unsubscribe": …\}$/],
    [{ subscribe: 'hot', by: 'speed' }, /by: must be one of calls, errors, p99, queue, state/],
    [{ subscribe: 'hot', limit: 500 }, /limit: must be at most 200/],
    [{ subscribe: 'hot', colour: 'red' }, /colour/],
  ])('%j closes with 1008 and a reason naming the field', async (message, reason) => {
    await start();
    const c = await client();
    c.send(message);
    const closed = await c.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(reason);
  });

  it.each([
    [{ subscribe: 'object', type: 'List', id: 'list-1' }, { kind: 'error', scope: 'object', type: 'List', id: 'list-1', error: { code: 'INVALID_TYPE_NAME', message: expect.stringMatching(/^invalid object type name "List": /) } }],
    [{ subscribe: 'object', type: 'list', id: 'a b' }, { kind: 'error', scope: 'object', type: 'list', id: 'a b', error: { code: 'INVALID_OBJECT_ID', message: expect.stringMatching(/^invalid object id "a b": /) } }],
    [{ subscribe: 'talk', code: 'nope!' }, { kind: 'error', scope: 'talk', code: 'nope!', error: { code: 'INVALID_TALK_CODE', message: expect.stringMatching(/^invalid talk code: a talk code is 4-8 of /) } }],
  ])('%j (a name that cannot exist) fails that scope only: an error for it, and the connection stays', async (message, error) => {
    await start();
    const c = await client();
    c.send({ subscribe: 'events' });
    await c.next(isSnapshot('events'));
    c.send(message);
    expect(await c.next((m) => m.kind === 'error')).toEqual(error);
    // Still open and serving: the next subscription is answered.
    c.send({ unsubscribe: 'events' });
    expect(await c.next((m) => m.kind === 'unsubscribed')).toEqual({ kind: 'unsubscribed', scope: 'events' });
  });

  it('a binary message closes with 1003; too many messages with 1008', async () => {
    await start();
    const binary = await client();
    binary.ws.send(Buffer.from([1, 2, 3]));
    expect((await binary.closed).code).toBe(1003);
    const chatty = await client();
    for (let i = 0; i < 30; i++) chatty.send({ unsubscribe: 'summary' });
    expect(await chatty.closed).toEqual({ code: 1008, reason: 'too many messages: at most 20 per second' });
  });
});

describe('stream client: slow clients', () => {
  it('a client that stops reading is closed with 1013 once too much is unsent, told how to resume, and freed at once', async () => {
    const maxBufferedBytes = 256 * 1024;
    const server = await start({ stream: { maxBufferedBytes, flushIntervalMs: 5, maxPendingChanges: 1_000_000 } });
    const { model } = server.cluster;
    const c = await client();
    c.send({ subscribe: 'events' });
    await c.next(isSnapshot('events'));
    c.ws.pause();

    const big = 'x'.repeat(64 * 1024);
    const dropped = async () => (await server.admin.metrics.wsDropped.get()).values.reduce((sum, v) => sum + v.value, 0);
    // Keep events coming until the server gives up on the client.
    await vi.waitFor(async () => {
      for (let i = 0; i < 8; i++) model.emitEvent({ kind: 'node.left', peer: big } as LifecycleEventBody);
      expect(await dropped()).toBeGreaterThan(0);
    }, { timeout: 30_000, interval: 2 });
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
    const server = await start({ stream: { maxPendingChanges: 50 } });
    const c = await client();
    c.send({ subscribe: 'events' });
    await c.next(isSnapshot('events'));
    for (let i = 0; i < 60; i++) server.cluster.model.emitEvent({ kind: 'node.left', peer: `p${i}` });
    const closed = await c.closed;
    expect(closed).toEqual({ code: 1013, reason: 'too slow: over 50 changes waiting; reconnect and subscribe to events with since=0' });
    expect((await server.admin.metrics.wsDropped.get()).values).toEqual([expect.objectContaining({ labels: { reason: 'pending' }, value: 1 })]);
  });
});
