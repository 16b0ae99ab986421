import { describe, expect, it } from 'vitest';
import type { ClusterModel, ModelEvent } from '@highlander/admin-api';
import { eventsSnapshot } from '../../../admin-api/src/stream/events.js';
import { client, isDelta, isSnapshot, start } from './stream-client.js';

/** The `events` scope: a snapshot after `since`, then batched deltas in order, nothing twice. */

describe('stream: events', () => {
  it('a snapshot after `since`, then batched deltas in order, nothing twice', async () => {
    const server = await start();
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

  it('a snapshot holds the newest maxSnapshotEvents and says when it left some out', async () => {
    const server = await start({ stream: { maxSnapshotEvents: 2 } });
    for (let i = 0; i < 5; i++) server.cluster.model.emitEvent({ kind: 'node.left', peer: `p${i}` });
    const c = await client();
    c.send({ subscribe: 'events', since: 0 });
    expect(await c.next(isSnapshot('events'))).toMatchObject({ cursor: 5, gap: true, events: [{ cursor: 4 }, { cursor: 5 }] });
    c.send({ subscribe: 'events' });
    expect(await c.next(isSnapshot('events'))).toMatchObject({ cursor: 5, gap: false, events: [{ cursor: 4 }, { cursor: 5 }] });
  });
});

describe('eventsSnapshot', () => {
  /** A model that keeps events with cursors `first..last`. */
  function modelWith(first: number, last: number): ClusterModel {
    const all = Array.from({ length: last - first + 1 }, (_, i) => ({ kind: 'node.left', peer: 'p', seq: 1, node: 'n', time: 1, cursor: first + i }) as ModelEvent);
    return {
      events: (since: number, limit: number) => {
        const events = all.filter((e) => e.cursor > since).slice(0, limit);
        return { events, cursor: events.at(-1)?.cursor ?? Math.max(since, first - 1) };
      },
    } as ClusterModel;
  }

  it('pages through the model and keeps the newest `max`, with the cursor to continue from', () => {
    expect(eventsSnapshot(modelWith(1, 7), 0, 3)).toEqual({ events: [expect.objectContaining({ cursor: 5 }), expect.objectContaining({ cursor: 6 }), expect.objectContaining({ cursor: 7 })], cursor: 7, gap: true });
    expect(eventsSnapshot(modelWith(1, 7), 5, 3)).toMatchObject({ cursor: 7, gap: false });
  });

  it('a gap when the model no longer keeps the events right after `since`; none without `since`', () => {
    expect(eventsSnapshot(modelWith(10, 12), 3, 100)).toMatchObject({ cursor: 12, gap: true });
    expect(eventsSnapshot(modelWith(10, 12), undefined, 100)).toMatchObject({ cursor: 12, gap: false });
    expect(eventsSnapshot(modelWith(10, 12), 12, 100)).toEqual({ events: [], cursor: 12, gap: false });
  });
});
