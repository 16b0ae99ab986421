/**
 * A line diff of two JSON documents as the dashboard shows them: each pretty-printed with its keys
 * in sorted order (so key order never shows as a change), then compared line by line with Myers'
 * algorithm. Pure; unit-tested.
 *
 *   const diff = diffJsonLines(persisted, memory);
 *   if (diff.kind === 'lines') for (const part of hunks(diff.rows)) ...   // rows, or a count of unchanged lines skipped
 *   else diff.firstLine, diff.oldCount, diff.newCount                     // too big to diff line by line
 *
 * Bounded for big states: past `maxEdits` differing lines, or `maxLines` lines to compare after the
 * common start and end are set aside, it gives up and says where the difference starts and how many
 * lines it spans, so a view never hangs on a big state.
 */
import { indexPath, keyPath } from './json-diff.ts';

/** One line of a pretty-printed document, with the path of the value it shows (json-diff's syntax). */
export interface JsonLine {
  text: string;
  path: string;
}

export interface DiffRow {
  kind: 'same' | 'added' | 'removed';
  /** Part of a replacement: removed lines directly followed by added ones (old and new of the same place). */
  changed: boolean;
  text: string;
  path: string;
  /** 1-based line numbers in the old and the new document (null on the side that lacks the line). */
  oldLine: number | null;
  newLine: number | null;
}

export interface LineDiffOptions {
  /** Most differing lines (removed plus added) to work out line by line. @default 2000 */
  maxEdits?: number;
  /** Most lines (old plus new, after the common start and end) to compare. @default 40000 */
  maxLines?: number;
}

export type LineDiff =
  | { kind: 'lines'; rows: DiffRow[]; added: number; removed: number; changed: number }
  /** Too big to diff line by line: the lines between the common start and the common end differ. */
  | { kind: 'too-big'; firstLine: number; firstPath: string; oldCount: number; newCount: number; oldLines: number; newLines: number };

export const DIFF_DEFAULTS = { maxEdits: 2000, maxLines: 40_000 } as const;

/** `value` as `JSON.stringify(value, null, 2)` would print it, but with every object's keys sorted, line by line. */
export function prettyLines(value: unknown): JsonLine[] {
  const out: JsonLine[] = [];
  const walk = (v: unknown, path: string, indent: string, prefix: string, suffix: string) => {
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON(): unknown }).toJSON();
    if (Array.isArray(v) && v.length > 0) {
      out.push({ text: `${indent}${prefix}[`, path });
      v.forEach((item, i) => walk(item === undefined || typeof item === 'function' ? null : item, indexPath(path, i), `${indent}  `, '', i < v.length - 1 ? ',' : ''));
      out.push({ text: `${indent}]${suffix}`, path });
      return;
    }
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const entries = Object.keys(v).sort().flatMap((k) => {
        const item = (v as Record<string, unknown>)[k];
        return item === undefined || typeof item === 'function' ? [] : [[k, item] as const];
      });
      if (entries.length > 0) {
        out.push({ text: `${indent}${prefix}{`, path });
        entries.forEach(([k, item], i) => walk(item, keyPath(path, k), `${indent}  `, `${JSON.stringify(k)}: `, i < entries.length - 1 ? ',' : ''));
        out.push({ text: `${indent}}${suffix}`, path });
        return;
      }
    }
    out.push({ text: `${indent}${prefix}${JSON.stringify(v) ?? 'null'}${suffix}`, path });
  };
  walk(value, '', '', '', '');
  return out;
}

/** The line diff of two JSON values, each pretty-printed with sorted keys. */
export function diffJsonLines(before: unknown, after: unknown, options: LineDiffOptions = {}): LineDiff {
  return diffLines(prettyLines(before), prettyLines(after), options);
}

/** The line diff of two documents (compared by text; the paths ride along). */
export function diffLines(before: readonly JsonLine[], after: readonly JsonLine[], options: LineDiffOptions = {}): LineDiff {
  const maxEdits = options.maxEdits ?? DIFF_DEFAULTS.maxEdits;
  const maxLines = options.maxLines ?? DIFF_DEFAULTS.maxLines;
  let start = 0;
  while (start < before.length && start < after.length && before[start]!.text === after[start]!.text) start++;
  let endBefore = before.length;
  let endAfter = after.length;
  while (endBefore > start && endAfter > start && before[endBefore - 1]!.text === after[endAfter - 1]!.text) {
    endBefore--;
    endAfter--;
  }
  const a = before.slice(start, endBefore).map((l) => l.text);
  const b = after.slice(start, endAfter).map((l) => l.text);
  const script = a.length + b.length <= maxLines ? myers(a, b, maxEdits) : null;
  if (!script) {
    return {
      kind: 'too-big', firstLine: start + 1, firstPath: (after[start] ?? before[start])?.path ?? '',
      oldCount: a.length, newCount: b.length, oldLines: before.length, newLines: after.length,
    };
  }

  const rows: DiffRow[] = [];
  const same = (i: number, j: number) => rows.push({ kind: 'same', changed: false, text: after[j]!.text, path: after[j]!.path, oldLine: i + 1, newLine: j + 1 });
  for (let i = 0; i < start; i++) same(i, i);
  let i = start;
  let j = start;
  let added = 0;
  let removed = 0;
  let changed = 0;
  // Each run of edits: its removed lines, then its added ones; as many as both have are a replacement.
  for (let s = 0; s < script.length;) {
    if (script[s] === SAME) {
      same(i++, j++);
      s++;
      continue;
    }
    const olds: number[] = [];
    const news: number[] = [];
    for (; s < script.length && script[s] !== SAME; s++) {
      if (script[s] === REMOVE) olds.push(i++);
      else news.push(j++);
    }
    const pairs = Math.min(olds.length, news.length);
    olds.forEach((o, n) => rows.push({ kind: 'removed', changed: n < pairs, text: before[o]!.text, path: before[o]!.path, oldLine: o + 1, newLine: null }));
    news.forEach((o, n) => rows.push({ kind: 'added', changed: n < pairs, text: after[o]!.text, path: after[o]!.path, oldLine: null, newLine: o + 1 }));
    removed += olds.length - pairs;
    added += news.length - pairs;
    changed += pairs;
  }
  for (let k = 0; endBefore + k < before.length; k++) same(endBefore + k, endAfter + k);
  return { kind: 'lines', rows, added, removed, changed };
}

/** A stretch of the diff to show: rows, or unchanged lines left out. */
export type Hunk = { rows: DiffRow[] } | { skipped: number };

/** The changed rows with `context` unchanged lines around each; longer unchanged stretches are counted, not shown. */
export function hunks(rows: readonly DiffRow[], context = 3): Hunk[] {
  const keep = new Array<boolean>(rows.length).fill(false);
  rows.forEach((row, i) => {
    if (row.kind === 'same') return;
    for (let k = Math.max(0, i - context); k <= Math.min(rows.length - 1, i + context); k++) keep[k] = true;
  });
  const out: Hunk[] = [];
  for (let i = 0; i < rows.length;) {
    let k = i;
    while (k < rows.length && keep[k] === keep[i]) k++;
    out.push(keep[i] ? { rows: rows.slice(i, k) } : { skipped: k - i });
    i = k;
  }
  return out;
}

/** Line ranges (1-based, in the new document where the line is there, else the old one) of the changed rows: "2", "5–7". */
export function changedRanges(rows: readonly DiffRow[]): string[] {
  const out: string[] = [];
  let first = -1;
  let last = -1;
  const flush = () => {
    if (first >= 0) out.push(first === last ? `${first}` : `${first}–${last}`);
    first = last = -1;
  };
  let newLine = 0;
  for (const row of rows) {
    if (row.kind === 'same') {
      flush();
      newLine = row.newLine!;
      continue;
    }
    // A removed line is placed where it would be in the new document: after the last new line seen.
    const at = row.newLine ?? newLine + 1;
    if (row.newLine !== null) newLine = row.newLine;
    if (first < 0) first = at;
    last = Math.max(last, at);
  }
  flush();
  return out;
}

/** The paths of the changed rows, the outermost first, each once (a line of a removed or added subtree names its own path). */
export function changedPaths(rows: readonly DiffRow[]): string[] {
  const seen = new Set<string>();
  for (const row of rows) if (row.kind !== 'same') seen.add(row.path);
  return [...seen];
}

const SAME = 0;
const REMOVE = 1;
const ADD = 2;
type Op = typeof SAME | typeof REMOVE | typeof ADD;

/**
 * The shortest edit script from `a` to `b` (Myers 1986, "An O(ND) difference algorithm"), or null
 * when it takes more than `maxEdits` edits. Time O((N+M)·D), memory O(D²) for the trace.
 */
function myers(a: readonly string[], b: readonly string[], maxEdits: number): Op[] | null {
  const n = a.length;
  const m = b.length;
  const limit = Math.min(maxEdits, n + m);
  const offset = limit + 1;
  const v = new Int32Array(2 * limit + 3);
  /** trace[d]: v for k in -d..d after step d (indexed k + d). */
  const trace: Int32Array[] = [];
  for (let d = 0; d <= limit; d++) {
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(trace, d, n, m);
    }
    trace.push(v.slice(offset - d, offset + d + 1));
  }
  return null;
}

function backtrack(trace: readonly Int32Array[], edits: number, n: number, m: number): Op[] {
  const ops: Op[] = [];
  let x = n;
  let y = m;
  for (let d = edits; d > 0; d--) {
    const prev = trace[d - 1]!;
    const at = (k: number) => prev[k + d - 1]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      ops.push(SAME);
      x--;
      y--;
    }
    ops.push(x === prevX ? ADD : REMOVE);
    x = prevX;
    y = prevY;
  }
  while (x > 0 && y > 0) {
    ops.push(SAME);
    x--;
    y--;
  }
  return ops.reverse();
}
