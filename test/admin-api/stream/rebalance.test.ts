import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { MemoryCoordination, Rebalancer } from '../../../admin-api/src/rebalance/rebalancer.js';
import { OPERATOR, call } from '../admin-server.js';
import { nodeView, objectView } from '../fake-cluster.js';
import { client, isDelta, isSnapshot, start } from './stream-client.js';

/**
 * The `rebalance` scope over the HTTP and ws layer (the model and the migrations a fake, the
 * rebalancer the real one, its lock and pause in memory): a snapshot of the status, then the status
 * again after a pause, a change of balance, a resume and the moves it starts; `{ enabled: false }`
 * from an admin API without rebalancing.
 */

describe('stream: rebalance', () => {
  it('a snapshot of the status, then the status again after each change', async () => {
    const server = await start({
      rebalancer: (cluster, audit) => Rebalancer.start({
        model: cluster.model, audit, logger: pino({ level: 'silent' }), coordination: new MemoryCoordination(), coordinationIntervalMs: 20,
        migrate: (type, id, to) => cluster.actions.migrate(type, id, to),
        policy: { thresholdPercent: 20, minDifference: 2, cooldownMs: 600_000, movesPerSecond: 50, concurrency: 1 },
      }),
    });
    const c = await client();
    c.send({ subscribe: 'rebalance' });
    expect(await c.next(isSnapshot('rebalance'))).toMatchObject({ status: { enabled: true, leader: true, paused: false, balanced: true, moves: { done: 0 } } });

    expect((await call(server, 'POST', '/api/rebalance/pause', { token: OPERATOR })).status).toBe(200);
    expect(await c.next(isDelta('rebalance'))).toMatchObject({ status: { paused: true, pausedBy: { name: 'otto' } } });

    // Every object on node-a (the fake model's node counts are set by hand): out of balance, told while paused.
    const { model } = server.cluster;
    for (let i = 0; i < 6; i++) model.setObject(objectView('counter', `r-${i}`, 'node-a'));
    model.setNode(nodeView('node-a', { activations: 6 }));
    expect(await c.next((m) => isDelta('rebalance')(m) && m.status.balanced === false)).toMatchObject({
      status: { paused: true, nodes: [{ name: 'node-a', objects: 6, role: 'gives' }, { name: 'node-b', objects: 0, role: 'takes' }] },
    });

    // Resumed: the moves go out with their state (deltas coalesced per flush; the fake's node counts stay as set).
    expect((await call(server, 'POST', '/api/rebalance/resume', { token: OPERATOR })).status).toBe(200);
    const moved = await c.next((m) => isDelta('rebalance')(m) && m.status.moves.done >= 1);
    const first = moved.status.recent.at(-1);
    expect(first).toMatchObject({ type: 'counter', id: 'r-0', from: 'node-a', to: 'node-b', state: 'done' });
    expect(server.cluster.actions.calls).toContain('migrate counter/r-0 to=node-b');

    c.send({ unsubscribe: 'rebalance' });
    await c.next((m) => m.kind === 'unsubscribed' && m.scope === 'rebalance');
  });

  it('an admin API without rebalancing says it is off', async () => {
    await start();
    const c = await client();
    c.send({ subscribe: 'rebalance' });
    expect(await c.next(isSnapshot('rebalance'))).toEqual({ kind: 'snapshot', scope: 'rebalance', status: { enabled: false } });
  });
});
