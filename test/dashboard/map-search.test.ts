import { describe, expect, it } from 'vitest';
import { validateObjectId, validateTypeName } from '@highlander/runtime';
import { exactKey, findOnMap, parseMapSearch } from '../../dashboard/src/lib/map-search.ts';

const entry = (type: string, id: string) => ({ key: `${type}/${id}`, type, id });
const entries = [entry('todo', 'list-1'), entry('todo', 'list-10'), entry('todo', 'inbox'), entry('counter', 'list-2'), entry('list', 'list-1')];

describe('parseMapSearch', () => {
  it('reads type/id, type/ and a bare id prefix', () => {
    expect(parseMapSearch('  todo/list-1 ')).toEqual({ kind: 'query', type: 'todo', id: 'list-1', text: 'todo/list-1' });
    expect(parseMapSearch('todo/')).toEqual({ kind: 'query', type: 'todo', id: '', text: 'todo/' });
    expect(parseMapSearch('list-')).toEqual({ kind: 'query', type: null, id: 'list-', text: 'list-' });
    expect(parseMapSearch('   ')).toEqual({ kind: 'empty' });
  });

  it('says what is wrong with a name that cannot exist', () => {
    expect(parseMapSearch('List/list-1')).toEqual({ kind: 'invalid', message: expect.stringContaining('“List” is not a type name') });
    expect(parseMapSearch('todo/list 1')).toEqual({ kind: 'invalid', message: expect.stringContaining('a space cannot be in an object id') });
    expect(parseMapSearch('todo/a/b')).toEqual({ kind: 'invalid', message: expect.stringContaining('“/” cannot be in an object id') });
    expect(parseMapSearch('/x')).toEqual({ kind: 'invalid', message: expect.stringContaining('nothing before the “/”') });
    expect(parseMapSearch(`todo/${'x'.repeat(201)}`)).toEqual({ kind: 'invalid', message: 'an object id is at most 200 characters' });
    expect(parseMapSearch(`${'t'.repeat(65)}/x`)).toEqual({ kind: 'invalid', message: 'a type name is at most 64 characters' });
  });

  it('accepts exactly the names the runtime accepts', () => {
    const candidates = ['todo', 'Todo', 't0-do', '0todo', '-x', 'a', 'list_1', 'a.b', 'a:b@c', 'ü', 'a b', 'x'.repeat(64), 'x'.repeat(65), 'id%20', 'UPPER', 'a,b'];
    const ok = (f: (v: string) => unknown, v: string) => {
      try {
        f(v);
        return true;
      } catch {
        return false;
      }
    };
    for (const c of candidates) {
      expect(parseMapSearch(`${c}/x`).kind === 'query', `type ${c}`).toBe(ok(validateTypeName, c));
      // '.' and '..' are valid prefixes of ids, though not ids themselves.
      if (c !== '.' && c !== '..') expect(parseMapSearch(`todo/${c}`).kind === 'query', `id ${c}`).toBe(ok(validateObjectId, c));
    }
  });
});

describe('findOnMap', () => {
  it('finds the named object alone when it is active', () => {
    const search = parseMapSearch('todo/list-1');
    expect(exactKey(search)).toBe('todo/list-1');
    expect(findOnMap(entries, search, 10)).toEqual({ shown: [entry('todo', 'list-1')], total: 1, exact: true });
  });

  it('falls back to the ids of that type starting so, and finds prefixes across types', () => {
    expect(findOnMap(entries, parseMapSearch('todo/list'), 10)).toEqual({ shown: [entry('todo', 'list-1'), entry('todo', 'list-10')], total: 2, exact: false });
    expect(findOnMap(entries, parseMapSearch('todo/'), 10).total).toBe(3);
    expect(findOnMap(entries, parseMapSearch('list-'), 10).shown.map((e) => e.key)).toEqual(['todo/list-1', 'todo/list-10', 'counter/list-2', 'list/list-1']);
    expect(findOnMap(entries, parseMapSearch('nothing'), 10)).toEqual({ shown: [], total: 0, exact: false });
  });

  it('shows at most `limit` cells but counts them all', () => {
    const many = Array.from({ length: 1000 }, (_, i) => entry('todo', `x${i}`));
    const found = findOnMap(many, parseMapSearch('x'), 50);
    expect(found.shown).toHaveLength(50);
    expect(found.total).toBe(1000);
  });

  it('finds nothing for an invalid or empty search', () => {
    expect(findOnMap(entries, parseMapSearch('List/x'), 10).total).toBe(0);
    expect(findOnMap(entries, parseMapSearch(''), 10).total).toBe(0);
  });
});
