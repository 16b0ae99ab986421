import { describe, expect, it } from 'vitest';
import { busiestObjects, countObjects, countOwnedBy } from '../../dashboard/src/lib/node-objects.ts';
import type { ObjectView } from '@highlander/admin-api/protocol';

const NOW = 50_000;
const o = (type: string, id: string, owner: string, callsPerSecond = 0): ObjectView =>
  ({ type, id, owner, epoch: '1', activeSince: 0, lastCallAt: NOW - 100, callsPerSecond, queueLength: 0, waiting: 0 });

const objects = [o('todo', 'a', 'node-a', 3), o('todo', 'b', 'node-a', 9), o('list', 'l', 'node-a', 3), o('todo', 'c', 'node-b', 50)];

describe('node objects', () => {
  it('counts objects per node and type', () => {
    const counts = countObjects(objects);
    expect(counts.types).toEqual(['list', 'todo']);
    expect(counts.byNode.get('node-a')?.total).toBe(3);
    expect(Object.fromEntries(counts.byNode.get('node-a')!.byType)).toEqual({ todo: 2, list: 1 });
    expect(counts.byNode.get('node-b')?.total).toBe(1);
    expect(countOwnedBy(objects, 'node-a')).toBe(3);
    expect(countOwnedBy(objects, 'node-z')).toBe(0);
  });

  it("lists a node's busiest objects, ties by key", () => {
    const top = busiestObjects(objects, 'node-a', 2, NOW);
    expect(top.map((t) => `${t.object.type}/${t.object.id}`)).toEqual(['todo/b', 'list/l']);
    expect(busiestObjects(objects, 'node-a', 0, NOW)).toEqual([]);
    expect(busiestObjects(objects, 'node-z', 5, NOW)).toEqual([]);
  });
});
