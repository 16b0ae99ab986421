import { describe, expect, it } from 'vitest';
import { changedPaths, changedRanges, diffJsonLines, diffLines, hunks, prettyLines, type DiffRow, type JsonLine } from '../../dashboard/src/lib/line-diff.ts';

const lines = (...texts: string[]): JsonLine[] => texts.map((text) => ({ text, path: '' }));
/** A row as a unified diff prints it. */
const unified = (rows: readonly DiffRow[]) => rows.map((r) => `${r.kind === 'same' ? ' ' : r.kind === 'added' ? '+' : '-'}${r.changed ? '~' : ' '}${r.text}`);

/** Applies a diff's rows to the old document: it must give the new one (whatever script was chosen). */
function check(before: string[], after: string[]) {
  const diff = diffLines(lines(...before), lines(...after));
  if (diff.kind !== 'lines') throw new Error('expected a line diff');
  expect(diff.rows.filter((r) => r.kind !== 'added').map((r) => r.text)).toEqual(before);
  expect(diff.rows.filter((r) => r.kind !== 'removed').map((r) => r.text)).toEqual(after);
  return diff;
}

describe('prettyLines', () => {
  it('prints like JSON.stringify with two spaces, keys sorted at every depth, each line with its path', () => {
    const value = { b: [1, { z: true, a: null }], a: 'x', e: {}, f: [] };
    const printed = prettyLines(value);
    expect(printed.map((l) => l.text).join('\n')).toBe(JSON.stringify({ a: 'x', b: [1, { a: null, z: true }], e: {}, f: [] }, null, 2));
    expect(printed.map((l) => l.path)).toEqual(['', 'a', 'b', 'b[0]', 'b[1]', 'b[1].a', 'b[1].z', 'b[1]', 'b', 'e', 'f', '']);
  });

  it('prints a scalar on one line and leaves out undefined members like JSON does', () => {
    expect(prettyLines(3)).toEqual([{ text: '3', path: '' }]);
    expect(prettyLines({ a: undefined, b: 1 }).map((l) => l.text)).toEqual(['{', '  "b": 1', '}']);
  });
});

describe('diffLines', () => {
  it('finds nothing between the same lines', () => {
    const diff = check(['{', '  "a": 1', '}'], ['{', '  "a": 1', '}']);
    expect(diff).toMatchObject({ added: 0, removed: 0, changed: 0 });
  });

  it('marks a changed line as a removed and an added row of one replacement, with both line numbers', () => {
    const diff = check(['{', '  "a": 1,', '  "b": 2', '}'], ['{', '  "a": 1,', '  "b": 3', '}']);
    expect(unified(diff.rows)).toEqual(['  {', '    "a": 1,', '-~  "b": 2', '+~  "b": 3', '  }']);
    expect(diff.rows[2]).toMatchObject({ oldLine: 3, newLine: null });
    expect(diff.rows[3]).toMatchObject({ oldLine: null, newLine: 3 });
    expect(diff).toMatchObject({ added: 0, removed: 0, changed: 1 });
  });

  it('marks inserted and deleted lines alone as added and removed, the rest unchanged', () => {
    const diff = check(['a', 'b', 'c', 'd', 'e'], ['a', 'x', 'b', 'c', 'e']);
    expect(unified(diff.rows)).toEqual(['  a', '+ x', '  b', '  c', '- d', '  e']);
    expect(diff).toMatchObject({ added: 1, removed: 1, changed: 0 });
  });

  it('finds the shortest script through repeated lines', () => {
    // Myers' own example: ABCABBA → CBABAC takes 5 edits.
    const diff = check([...'ABCABBA'], [...'CBABAC']);
    expect(diff.rows.filter((r) => r.kind !== 'same')).toHaveLength(5);
  });

  it('handles empty sides', () => {
    expect(check([], ['a', 'b'])).toMatchObject({ added: 2, removed: 0 });
    expect(check(['a'], [])).toMatchObject({ added: 0, removed: 1 });
    expect(check([], [])).toMatchObject({ rows: [] });
  });

  it('gives the same documents back whatever the edits (random documents)', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const before = Array.from({ length: random(30) }, () => 'abcde'[random(5)]!);
      const after = Array.from({ length: random(30) }, () => 'abcde'[random(5)]!);
      check(before, after);
    }
  });

  it('gives up past the edit bound, saying where the difference starts and how far it reaches', () => {
    const before = lines('{', ...Array.from({ length: 50 }, (_, i) => `  "k${i}": ${i},`), '}');
    const after = lines('{', ...Array.from({ length: 50 }, (_, i) => `  "k${i}": ${i + 1},`), '}');
    expect(diffLines(before, after, { maxEdits: 99 })).toEqual({ kind: 'too-big', firstLine: 2, firstPath: '', oldCount: 50, newCount: 50, oldLines: 52, newLines: 52 });
    expect(diffLines(before, after, { maxEdits: 100 }).kind).toBe('lines');
    expect(diffLines(before, after, { maxLines: 99 }).kind).toBe('too-big');
  });

  it('stays fast on a big state with a few changes, and bounded on one changed throughout', () => {
    const big = Array.from({ length: 20_000 }, (_, i) => ({ id: `item-${i}`, done: i % 3 === 0 }));
    const edited = big.map((item, i) => (i === 10_000 ? { ...item, done: !item.done } : item));
    const diff = diffJsonLines({ items: big }, { items: edited });
    expect(diff.kind === 'lines' && changedPaths(diff.rows)).toEqual(['items[10000].done']);
    const everything = diffJsonLines({ items: big }, { items: big.map((item) => ({ ...item, done: !item.done })) });
    expect(everything).toMatchObject({ kind: 'too-big', firstLine: 4, firstPath: 'items[0].done' });
  });
});

describe('diffJsonLines', () => {
  it('ignores key order and names the paths and lines that changed', () => {
    const diff = diffJsonLines({ title: 'a', meta: { owner: 'ada' }, gone: true }, { meta: { owner: 'ada', due: 3 }, title: 'b' });
    if (diff.kind !== 'lines') throw new Error('expected a line diff');
    expect(unified(diff.rows)).toEqual([
      '  {', '-   "gone": true,', '    "meta": {', '+     "due": 3,', '      "owner": "ada"', '    },', '-~  "title": "a"', '+~  "title": "b"', '  }',
    ]);
    expect(changedPaths(diff.rows)).toEqual(['gone', 'meta.due', 'title']);
    expect(changedRanges(diff.rows)).toEqual(['2', '3', '6']);
    expect(diffJsonLines({ a: 1, b: 2 }, { b: 2, a: 1 })).toMatchObject({ added: 0, removed: 0, changed: 0 });
  });
});

describe('hunks', () => {
  it('keeps the changed rows with their context and counts the unchanged stretches between', () => {
    const before = Array.from({ length: 30 }, (_, i) => `line ${i}`);
    const after = before.map((l, i) => (i === 2 || i === 25 ? `${l}!` : l));
    const diff = diffLines(lines(...before), lines(...after));
    if (diff.kind !== 'lines') throw new Error('expected a line diff');
    const parts = hunks(diff.rows, 3);
    expect(parts.map((p) => ('skipped' in p ? p.skipped : p.rows.length))).toEqual([7, 16, 8, 1]);
    expect('rows' in parts[0]! && parts[0].rows[0]!.text).toBe('line 0');
    expect(hunks(diff.rows.filter((r) => r.kind === 'same'))).toEqual([{ skipped: 28 }]);
  });
});
