import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FILTER, changeMatters, filterQuery, liveRate, moveIndex, parseObjectFilter, rowWindow, scrollToRow, selectObjects, toggleSort,
  type ObjectFilter,
} from '../../dashboard/src/lib/object-table.ts';
import type { ObjectView } from '@highlander/admin-api/protocol';

const NOW = 1_000_000;

function object(type: string, id: string, fields: Partial<ObjectView> = {}): ObjectView {
  return { type, id, owner: 'node-a', epoch: '1', activeSince: NOW - 60_000, lastCallAt: NOW - 500, callsPerSecond: 0, queueLength: 0, waiting: 0, ...fields };
}

const byKey = (list: ObjectView[]) => new Map(list.map((o) => [`${o.type}/${o.id}`, o]));
const filter = (fields: Partial<ObjectFilter>): ObjectFilter => ({ ...DEFAULT_FILTER, ...fields });
const keys = (rows: { key: string }[]) => rows.map((r) => r.key);

describe('the filter in the URL', () => {
  it('reads the documented query', () => {
    const query = new URLSearchParams('type=todo&node=node-a&prefix=li&sort=callsPerSecond&order=desc');
    expect(parseObjectFilter(query)).toEqual({ type: 'todo', node: 'node-a', prefix: 'li', sort: 'callsPerSecond', order: 'desc' });
  });

  it('falls back to the defaults for missing or unknown values', () => {
    expect(parseObjectFilter(new URLSearchParams('sort=bogus&order=sideways'))).toEqual(DEFAULT_FILTER);
    expect(parseObjectFilter(new URLSearchParams('sort=queueLength')).order).toBe('desc');
  });

  it('writes what it reads, leaving the defaults out', () => {
    const f = filter({ type: 'todo', node: 'node-a', prefix: 'li', sort: 'callsPerSecond', order: 'desc' });
    const values = filterQuery(f);
    expect(values).toEqual({ type: 'todo', node: 'node-a', prefix: 'li', sort: 'callsPerSecond', order: 'desc' });
    const query = new URLSearchParams(Object.entries(values).filter((e): e is [string, string] => e[1] !== undefined));
    expect(parseObjectFilter(query)).toEqual(f);
    expect(Object.values(filterQuery(DEFAULT_FILTER)).every((v) => v === undefined)).toBe(true);
  });

  it('flips the order of the sorted column and starts another column at its natural order', () => {
    expect(toggleSort(DEFAULT_FILTER, 'id')).toMatchObject({ sort: 'id', order: 'desc' });
    expect(toggleSort(DEFAULT_FILTER, 'callsPerSecond')).toMatchObject({ sort: 'callsPerSecond', order: 'desc' });
    expect(toggleSort(filter({ sort: 'callsPerSecond', order: 'desc' }), 'owner')).toMatchObject({ sort: 'owner', order: 'asc' });
  });
});

describe('selectObjects', () => {
  const objects = byKey([
    object('todo', 'b', { owner: 'node-b', callsPerSecond: 5 }),
    object('list', 'list-1', { owner: 'node-a', callsPerSecond: 9 }),
    object('todo', 'a', { owner: 'node-a', callsPerSecond: 5, activeSince: NOW - 10 }),
    object('todo', 'li-9', { owner: 'node-c', callsPerSecond: 7, lastCallAt: NOW - 10_000 }),
  ]);

  it('filters by type, node and id prefix together', () => {
    expect(keys(selectObjects(objects, filter({ type: 'todo' }), NOW))).toEqual(['todo/a', 'todo/b', 'todo/li-9']);
    expect(keys(selectObjects(objects, filter({ node: 'node-a' }), NOW))).toEqual(['todo/a', 'list/list-1']);
    expect(keys(selectObjects(objects, filter({ prefix: 'li' }), NOW))).toEqual(['todo/li-9', 'list/list-1']);
    expect(keys(selectObjects(objects, filter({ type: 'list', prefix: 'li' }), NOW))).toEqual(['list/list-1']);
    expect(selectObjects(objects, filter({ node: 'node-z' }), NOW)).toEqual([]);
  });

  it('sorts by the column, then by type and id for a stable order', () => {
    expect(keys(selectObjects(objects, filter({ sort: 'callsPerSecond', order: 'desc' }), NOW))).toEqual(['list/list-1', 'todo/a', 'todo/b', 'todo/li-9']);
    expect(keys(selectObjects(objects, filter({ sort: 'owner' }), NOW))).toEqual(['list/list-1', 'todo/a', 'todo/b', 'todo/li-9']);
    expect(keys(selectObjects(objects, filter({ sort: 'activeSince', order: 'desc' }), NOW))[0]).toBe('todo/a');
    expect(keys(selectObjects(objects, filter({ sort: 'id', order: 'desc' }), NOW))).toEqual(['list/list-1', 'todo/li-9', 'todo/b', 'todo/a']);
  });

  it('counts an object quiet for a while at 0 calls/s, as the admin API does', () => {
    const rows = selectObjects(objects, filter({ sort: 'callsPerSecond', order: 'desc' }), NOW);
    expect(rows.find((r) => r.key === 'todo/li-9')?.callsPerSecond).toBe(0);
    expect(liveRate({ callsPerSecond: 3, lastCallAt: null }, NOW)).toBe(0);
  });

  it('selects and sorts 50,000 objects', () => {
    const many = byKey(Array.from({ length: 50_000 }, (_, i) => object(i % 3 ? 'todo' : 'list', `id-${(i * 7919) % 50_000}`, { owner: `node-${i % 4}`, callsPerSecond: i % 13 })));
    const rows = selectObjects(many, filter({ sort: 'callsPerSecond', order: 'desc' }), NOW);
    expect(rows).toHaveLength(50_000);
    expect(rows[0]!.callsPerSecond).toBe(12);
    expect(rows.every((row, i) => i === 0 || rows[i - 1]!.callsPerSecond >= row.callsPerSecond)).toBe(true);
  });
});

describe('changeMatters', () => {
  const a = object('todo', 'a', { owner: 'node-a', callsPerSecond: 1 });

  it('counts objects entering or leaving the selection', () => {
    expect(changeMatters(undefined, a, DEFAULT_FILTER)).toBe(true);
    expect(changeMatters(a, undefined, DEFAULT_FILTER)).toBe(true);
    expect(changeMatters(undefined, a, filter({ type: 'list' }))).toBe(false);
    expect(changeMatters(a, { ...a, owner: 'node-b' }, filter({ node: 'node-a' }))).toBe(true);
  });

  it('counts a new figure only when the rows are sorted by it', () => {
    const busier = { ...a, callsPerSecond: 9 };
    expect(changeMatters(a, busier, DEFAULT_FILTER)).toBe(false);
    expect(changeMatters(a, busier, filter({ sort: 'callsPerSecond' }))).toBe(true);
    expect(changeMatters(a, { ...a, owner: 'node-b' }, filter({ sort: 'owner' }))).toBe(true);
    expect(changeMatters(a, { ...a, activeSince: 1 }, filter({ sort: 'activeSince' }))).toBe(true);
    expect(changeMatters(a, { ...a, activeSince: 1 }, filter({ sort: 'type' }))).toBe(false);
  });
});

describe('rowWindow', () => {
  it('renders the visible rows plus the overscan, with spacers for the rest', () => {
    const w = rowWindow({ scrollTopPx: 3200, viewportPx: 600, rowPx: 32, total: 50_000, overscan: 5 });
    expect(w.start).toBe(95);
    expect(w.end).toBe(100 + 19 + 5 + 1);
    expect(w.padTopPx).toBe(95 * 32);
    expect(w.padTopPx + (w.end - w.start) * 32 + w.padBottomPx).toBe(50_000 * 32);
  });

  it('stays within the rows at either end and with few rows', () => {
    expect(rowWindow({ scrollTopPx: 0, viewportPx: 600, rowPx: 32, total: 3 })).toEqual({ start: 0, end: 3, padTopPx: 0, padBottomPx: 0 });
    const end = rowWindow({ scrollTopPx: 10_000_000, viewportPx: 640, rowPx: 32, total: 1000, overscan: 0 });
    expect(end.end).toBe(1000);
    expect(end.start).toBeGreaterThanOrEqual(1000 - 21);
    expect(rowWindow({ scrollTopPx: 0, viewportPx: 600, rowPx: 32, total: 0 })).toEqual({ start: 0, end: 0, padTopPx: 0, padBottomPx: 0 });
  });
});

describe('keyboard movement', () => {
  it('moves by row, by page and to either end', () => {
    expect(moveIndex('ArrowDown', 4, 10, 5)).toBe(5);
    expect(moveIndex('ArrowDown', 9, 10, 5)).toBe(9);
    expect(moveIndex('ArrowUp', 0, 10, 5)).toBe(0);
    expect(moveIndex('PageDown', 7, 10, 5)).toBe(9);
    expect(moveIndex('PageUp', 7, 10, 5)).toBe(2);
    expect(moveIndex('Home', 7, 10, 5)).toBe(0);
    expect(moveIndex('End', 0, 10, 5)).toBe(9);
    expect(moveIndex('a', 0, 10, 5)).toBeNull();
    expect(moveIndex('ArrowDown', 0, 0, 5)).toBeNull();
  });

  it('scrolls just enough to show a row below the sticky header', () => {
    const at = { scrollTopPx: 320, viewportPx: 320, rowPx: 32, headerPx: 32 };
    expect(scrollToRow(12, at)).toBe(320);
    expect(scrollToRow(5, at)).toBe(160);
    expect(scrollToRow(18, at)).toBe(19 * 32 - 320 + 32);
  });
});
