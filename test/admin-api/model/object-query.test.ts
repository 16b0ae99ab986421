import { describe, expect, it } from 'vitest';
import type { ObjectView } from '@highlander/admin-api';
import { InvalidCursor, queryObjects } from '../../../admin-api/src/model/object-query.js';
import { objectView } from '../fake-cluster.js';

/** Filtering, sorting and keyset pagination of the model's objects: pure, over plain views. */

const identity = (o: ObjectView) => o;

const objects: ObjectView[] = [
  objectView('todo', 'b', 'node-a', { callsPerSecond: 5, activeSince: 30 }),
  objectView('todo', 'a', 'node-b', { callsPerSecond: 1, activeSince: 10 }),
  objectView('user', 'a', 'node-a', { callsPerSecond: 5, activeSince: 20 }),
  objectView('todo', 'ab', 'node-a', { callsPerSecond: 2, activeSince: 40 }),
  objectView('list', 'z', 'node-b', { callsPerSecond: 0, activeSince: 50 }),
];

const keys = (items: ObjectView[]) => items.map((o) => `${o.type}/${o.id}`);

describe('queryObjects', () => {
  it('sorts by id by default, then by type/id so that the order is total', () => {
    const page = queryObjects(objects, { limit: 10 }, identity);
    expect(keys(page.items)).toEqual(['todo/a', 'user/a', 'todo/ab', 'todo/b', 'list/z']);
    expect(page.total).toBe(5);
    expect(page.cursor).toBeUndefined();
  });

  it('filters by type, owner node and id prefix, building views only for matches', () => {
    const viewed: string[] = [];
    const page = queryObjects(objects, { type: 'todo', node: 'node-a', idPrefix: 'a', limit: 10 }, (o) => {
      viewed.push(o.id);
      return o;
    });
    expect(keys(page.items)).toEqual(['todo/ab']);
    expect(viewed).toEqual(['ab']);
  });

  it('sorts by any field, ascending or descending, ties broken by type/id ascending', () => {
    expect(keys(queryObjects(objects, { sort: 'callsPerSecond', order: 'desc', limit: 10 }, identity).items))
      .toEqual(['todo/b', 'user/a', 'todo/ab', 'todo/a', 'list/z']);
    expect(keys(queryObjects(objects, { sort: 'activeSince', limit: 2 }, identity).items)).toEqual(['todo/a', 'user/a']);
    expect(keys(queryObjects(objects, { sort: 'owner', limit: 10 }, identity).items)).toEqual(['todo/ab', 'todo/b', 'user/a', 'list/z', 'todo/a']);
  });

  it('pages with cursors, and a page continues after its cursor even when objects came and went', () => {
    const first = queryObjects(objects, { sort: 'id', limit: 2 }, identity);
    expect(keys(first.items)).toEqual(['todo/a', 'user/a']);
    expect(first.cursor).toEqual(expect.any(String));
    // todo/a went away, todo/aa arrived before the cursor's position, todo/c after it.
    const changed = [...objects.filter((o) => o.id !== 'a' || o.type !== 'todo'), objectView('todo', 'aa', 'node-a'), objectView('todo', 'c', 'node-a')];
    const second = queryObjects(changed, { sort: 'id', limit: 2, cursor: first.cursor! }, identity);
    expect(keys(second.items)).toEqual(['todo/aa', 'todo/ab']);
    const third = queryObjects(changed, { sort: 'id', limit: 2, cursor: second.cursor! }, identity);
    expect(keys(third.items)).toEqual(['todo/b', 'todo/c']);
    const last = queryObjects(changed, { sort: 'id', limit: 2, cursor: third.cursor! }, identity);
    expect(keys(last.items)).toEqual(['list/z']);
    expect(last.cursor).toBeUndefined();
  });

  it('refuses a cursor it did not hand out', () => {
    expect(() => queryObjects(objects, { limit: 2, cursor: 'not-a-cursor' }, identity)).toThrow(InvalidCursor);
    const foreign = Buffer.from(JSON.stringify({ hello: 1 })).toString('base64url');
    try {
      queryObjects(objects, { limit: 2, cursor: foreign }, identity);
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'INVALID_CURSOR', message: expect.stringContaining('start again without a cursor') });
    }
  });
});
