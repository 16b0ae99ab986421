/**
 * Where two JSON documents differ, as paths in JsonView's syntax: `` (the root), `a`, `a.b`,
 * `a.b[2]`, `[0].c`. Pure; unit-tested.
 *
 *   const diff = diffJson(persisted, memory);
 *   // diff.changed: paths on both sides whose values differ (a scalar, or a value of another kind)
 *   // diff.added:   the top of each subtree only in `after`; diff.removed: only in `before`
 *   highlightPaths(memory, [...diff.changed, ...diff.added]);    // every line to mark in `after`
 *   highlightPaths(persisted, [...diff.changed, ...diff.removed]);
 *
 * Arrays are aligned on their common prefix and suffix and compared by index in between, so an item
 * appended, inserted or removed marks that item, not everything after it.
 */

export interface JsonDiff {
  /** Paths present on both sides with different values (scalars, or a different kind of value). */
  changed: Set<string>;
  /** Paths only in `after`: the top of each added subtree. */
  added: Set<string>;
  /** Paths only in `before`: the top of each removed subtree. */
  removed: Set<string>;
}

/** The path of `key` inside the object at `path`. */
export function keyPath(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** The path of item `index` inside the array at `path`. */
export function indexPath(path: string, index: number): string {
  return `${path}[${index}]`;
}

export function diffJson(before: unknown, after: unknown): JsonDiff {
  const diff: JsonDiff = { changed: new Set(), added: new Set(), removed: new Set() };
  walk(before, after, '', diff);
  return diff;
}

/** True when the diff found nothing. */
export function isSame(diff: JsonDiff): boolean {
  return diff.changed.size === 0 && diff.added.size === 0 && diff.removed.size === 0;
}

/** Deep equality of JSON values (object key order does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const kind = kindOf(a);
  if (kind !== kindOf(b)) return false;
  if (kind === 'array') {
    const x = a as unknown[];
    const y = b as unknown[];
    return x.length === y.length && x.every((item, i) => jsonEqual(item, y[i]));
  }
  if (kind === 'object') {
    const x = a as Record<string, unknown>;
    const y = b as Record<string, unknown>;
    const keys = Object.keys(x);
    return keys.length === Object.keys(y).length && keys.every((k) => Object.hasOwn(y, k) && jsonEqual(x[k], y[k]));
  }
  return false; // scalars of the same kind that are not ===
}

/**
 * Every path of `value` at or below one of `roots`: what to highlight so that a whole added,
 * removed or replaced subtree is marked, not only its first line.
 */
export function highlightPaths(value: unknown, roots: Iterable<string>): Set<string> {
  const wanted = new Set(roots);
  const out = new Set<string>();
  if (wanted.size === 0) return out;
  const visit = (v: unknown, path: string, inside: boolean) => {
    const marked = inside || wanted.has(path);
    if (marked) out.add(path);
    const kind = kindOf(v);
    if (kind === 'array') (v as unknown[]).forEach((item, i) => visit(item, indexPath(path, i), marked));
    else if (kind === 'object') for (const [k, item] of Object.entries(v as Record<string, unknown>)) visit(item, keyPath(path, k), marked);
  };
  visit(value, '', false);
  return out;
}

type Kind = 'array' | 'object' | 'null' | 'string' | 'number' | 'boolean' | 'other';

function kindOf(v: unknown): Kind {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  const t = typeof v;
  if (t === 'object') return 'object';
  if (t === 'string' || t === 'number' || t === 'boolean') return t;
  return 'other';
}

function walk(before: unknown, after: unknown, path: string, diff: JsonDiff): void {
  if (before === after) return;
  const kind = kindOf(before);
  if (kind !== kindOf(after)) {
    diff.changed.add(path);
    return;
  }
  if (kind === 'object') {
    const b = before as Record<string, unknown>;
    const a = after as Record<string, unknown>;
    for (const key of Object.keys(b)) {
      if (!Object.hasOwn(a, key)) diff.removed.add(keyPath(path, key));
      else walk(b[key], a[key], keyPath(path, key), diff);
    }
    for (const key of Object.keys(a)) if (!Object.hasOwn(b, key)) diff.added.add(keyPath(path, key));
    return;
  }
  if (kind === 'array') {
    walkArray(before as unknown[], after as unknown[], path, diff);
    return;
  }
  if (!jsonEqual(before, after)) diff.changed.add(path);
}

function walkArray(before: unknown[], after: unknown[], path: string, diff: JsonDiff): void {
  let start = 0;
  const shortest = Math.min(before.length, after.length);
  while (start < shortest && jsonEqual(before[start], after[start])) start++;
  let endBefore = before.length;
  let endAfter = after.length;
  while (endBefore > start && endAfter > start && jsonEqual(before[endBefore - 1], after[endAfter - 1])) {
    endBefore--;
    endAfter--;
  }
  // Between the common prefix and suffix: the same index on both sides is compared; the rest was added or removed.
  const paired = Math.min(endBefore, endAfter);
  for (let i = start; i < paired; i++) walk(before[i], after[i], indexPath(path, i), diff);
  for (let i = paired; i < endBefore; i++) diff.removed.add(indexPath(path, i));
  for (let i = paired; i < endAfter; i++) diff.added.add(indexPath(path, i));
}
