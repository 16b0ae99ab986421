import { describe, expect, it, vi } from 'vitest';
import { CoordinatorUnavailable } from '@highlander/runtime';
import { OPERATOR } from '../admin-server.js';
import { objectView } from '../fake-cluster.js';
import { client, isDelta, isSnapshot, start } from './stream-client.js';

/** The `object` scope: the detail, then its live lock queue, view and events. */

describe('stream: object', () => {
  it('the detail, then its live lock queue, view and events; one shared watch; stopped on unsubscribe', async () => {
    const server = await start();
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
    await vi.waitFor(() => expect(model.watcherCount('todo', 'a')).toBe(0));
  });

  it('a snapshot that fails is an error message, and leaves nothing subscribed', async () => {
    const server = await start();
    server.cluster.actions.failure = new CoordinatorUnavailable('getChildren');
    const c = await client();
    c.send({ subscribe: 'object', type: 'todo', id: 'a' });
    const error = await c.next((m) => m.kind === 'error');
    expect(error).toMatchObject({ scope: 'object', type: 'todo', id: 'a', error: { code: 'COORDINATOR_UNAVAILABLE' } });
    expect(server.cluster.model.watcherCount('todo', 'a')).toBe(0);
    expect(server.cluster.model.subscriberCount).toBe(0);
  });
});
