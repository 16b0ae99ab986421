import { describe, expect, it } from 'vitest';
import { nodeView, objectView } from '../fake-cluster.js';
import { client, isDelta, isSnapshot, start } from './stream-client.js';

/** The `summary` scope: a snapshot, then one coalesced delta per flush. */

describe('stream: summary', () => {
  it('a snapshot, then one delta per flush carrying only the latest view of each node and object', async () => {
    const server = await start();
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
    // Nothing of the burst is left for a later flush: the next delta carries only the next change.
    model.setNode(nodeView('node-a', { activations: 1 }));
    const next = await c.next(isDelta('summary'));
    expect(next.objects).toEqual([]);
    expect(next.nodes).toEqual([{ name: 'node-a', node: expect.objectContaining({ activations: 1 }) }]);
    expect(c.unread(isDelta('summary'))).toEqual([]);

    model.removeObject('todo', 'hot');
    expect((await c.next(isDelta('summary'))).objects).toEqual([{ type: 'todo', id: 'hot', object: null }]);
  });

  it('with objects: the snapshot lists every active object as a row, then deltas as usual', async () => {
    const server = await start();
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
});
