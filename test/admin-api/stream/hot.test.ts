import { describe, expect, it } from 'vitest';
import type { LifecycleEventBody } from '@highlander/runtime';
import { client, isDelta, isSnapshot, start } from './stream-client.js';

/**
 * The `hot` scope over the HTTP and ws layer (the model a fake, its hot aggregate the real one): a
 * snapshot of the ranking, the ranking again after a node's stats interval, a new query replacing
 * the old (bad queries are refused with the other scopes' in client.test.ts).
 */

const statsOf = (objects: Array<{ id: string; calls: number; errors?: number }>): LifecycleEventBody => ({
  kind: 'stats', intervalMs: 1000, activations: objects.length, byType: {}, objectsOmitted: 0,
  objects: objects.map((o) => ({ type: 'counter', id: o.id, calls: o.calls, queue: 0, errors: o.errors ?? 0, p99Ms: 1, stateBytes: 10 })),
});

describe('stream: hot', () => {
  it('a snapshot of the ranking, then the ranking again after each stats interval', async () => {
    const server = await start();
    const { model } = server.cluster;
    model.emitEvent(statsOf([{ id: 'a', calls: 10 }, { id: 'b', calls: 5, errors: 5 }]), 'node-a');
    const c = await client();
    c.send({ subscribe: 'hot', by: 'errors', limit: 1 });
    expect(await c.next(isSnapshot('hot'))).toMatchObject({ by: 'errors', limit: 1, items: [{ id: 'b', node: 'node-a', errorRate: 1 }] });

    model.emitEvent(statsOf([{ id: 'c', calls: 8, errors: 8 }, { id: 'd', calls: 1 }]), 'node-b');
    const delta = await c.next(isDelta('hot'));
    expect(delta.items.map((r: { id: string }) => r.id)).toEqual(['c']);

    // Another event kind is no news for the ranking.
    model.emitEvent({ kind: 'node.left', peer: 'x' });
    c.send({ subscribe: 'hot', node: 'node-a' });
    expect(await c.next(isSnapshot('hot'))).toMatchObject({ by: 'calls', limit: 20, node: 'node-a', items: [{ id: 'a' }, { id: 'b' }] });
    expect(c.unread(isDelta('hot'))).toEqual([]);

    c.send({ unsubscribe: 'hot' });
    await c.next((m) => m.kind === 'unsubscribed' && m.scope === 'hot');
    expect(server.cluster.model.subscriberCount).toBe(0);
  });
});
