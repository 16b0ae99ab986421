import { describe, expect, it } from 'vitest';
import { diffJson, highlightPaths, isSame, jsonEqual } from '../../dashboard/src/lib/json-diff.ts';

const sorted = (set: Set<string>) => [...set].sort();

describe('diffJson', () => {
  it('finds nothing between equal documents, whatever the key order', () => {
    const diff = diffJson({ a: 1, b: { c: [1, 2], d: null } }, { b: { d: null, c: [1, 2] }, a: 1 });
    expect(isSame(diff)).toBe(true);
  });

  it('names changed, added and removed keys in JsonView path syntax', () => {
    const diff = diffJson({ title: 'a', meta: { owner: 'ada', tags: ['x'] }, gone: true }, { title: 'b', meta: { owner: 'ada', tags: ['x'], due: 3 } });
    expect(sorted(diff.changed)).toEqual(['title']);
    expect(sorted(diff.added)).toEqual(['meta.due']);
    expect(sorted(diff.removed)).toEqual(['gone']);
  });

  it('marks a value that changed kind as changed at its own path, not below it', () => {
    const diff = diffJson({ a: { b: 1 }, c: [1], d: 1 }, { a: [1], c: null, d: '1' });
    expect(sorted(diff.changed)).toEqual(['a', 'c', 'd']);
    expect(diff.added.size + diff.removed.size).toBe(0);
  });

  it('marks the root when two scalars differ', () => {
    expect(sorted(diffJson(1, 2).changed)).toEqual(['']);
    expect(isSame(diffJson('x', 'x'))).toBe(true);
  });

  it('marks an appended item only, not the items before it', () => {
    const before = { todos: [{ id: 'a' }, { id: 'b' }] };
    const after = { todos: [{ id: 'a' }, { id: 'b' }, { id: 'c' }] };
    const diff = diffJson(before, after);
    expect(sorted(diff.added)).toEqual(['todos[2]']);
    expect(diff.changed.size + diff.removed.size).toBe(0);
  });

  it('marks a removed item in the middle at its index in the old document only', () => {
    const diff = diffJson({ todos: ['a', 'b', 'c', 'd'] }, { todos: ['a', 'c', 'd'] });
    expect(sorted(diff.removed)).toEqual(['todos[1]']);
    expect(diff.changed.size + diff.added.size).toBe(0);
  });

  it('marks an inserted item at its index in the new document only', () => {
    const diff = diffJson(['a', 'c'], ['a', 'b', 'c']);
    expect(sorted(diff.added)).toEqual(['[1]']);
    expect(diff.changed.size + diff.removed.size).toBe(0);
  });

  it('descends into an item that changed in place', () => {
    const diff = diffJson({ todos: [{ id: 'a', done: false }, { id: 'b', done: false }] }, { todos: [{ id: 'a', done: true }, { id: 'b', done: false }] });
    expect(sorted(diff.changed)).toEqual(['todos[0].done']);
  });

  it('pairs the differing middle of two arrays by index, the rest added or removed', () => {
    const diff = diffJson([1, 2, 3, 9], [1, 5, 9]);
    expect(sorted(diff.changed)).toEqual(['[1]']);
    expect(sorted(diff.removed)).toEqual(['[2]']);
    expect(diff.added.size).toBe(0);
  });
});

describe('highlightPaths', () => {
  it('marks every line of an added subtree, as JsonView names them', () => {
    const after = { todos: [{ id: 'a' }, { id: 'b', tags: ['x'] }] };
    const diff = diffJson({ todos: [{ id: 'a' }] }, after);
    expect(sorted(highlightPaths(after, [...diff.changed, ...diff.added]))).toEqual(['todos[1]', 'todos[1].id', 'todos[1].tags', 'todos[1].tags[0]']);
  });

  it('marks nothing without roots and ignores roots the document lacks', () => {
    expect(highlightPaths({ a: 1 }, []).size).toBe(0);
    expect(sorted(highlightPaths({ a: 1 }, ['b', 'a']))).toEqual(['a']);
  });

  it('marks the whole document for the root path', () => {
    expect(sorted(highlightPaths([{ a: 1 }], ['']))).toEqual(['', '[0]', '[0].a']);
  });
});

describe('jsonEqual', () => {
  it('compares deeply and by kind', () => {
    expect(jsonEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
    expect(jsonEqual(0, '0')).toBe(false);
  });
});
