import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { objectKey, type DeactivationReason, type LifecycleEvent } from '@highlander/runtime';
import { parseJsonLines } from './json-lines.js';

/**
 * Ownership history: for every object, each activation (node, epoch, start, end, why it ended), each
 * migration (from, to, how long) and each fenced write refused, folded from the nodes' lifecycle
 * events (`object.activated`, `object.deactivated`, `object.migrated`, `object.fenced`,
 * `node.session-lost`, `node.down`) — never from calls. Kept for objects that are no longer active.
 *
 * Durable: an append-only JSONL file, one line per version of an entry (an activation is written when
 * it starts and again when it ends; the later line wins on load). Lines are written in batches every
 * `flushIntervalMs` (and on close), without waiting for the disk: a crash loses at most the last
 * batch, and a torn last line is skipped on load. When the file holds more than twice the kept entries
 * (plus 1,000 lines), it is rewritten with the kept entries only (to a temporary file, then renamed).
 *
 * Bounded: at most `maxEntriesPerObject` entries per object (its oldest dropped first) and
 * `maxEntries` in all (beyond, the objects whose history changed longest ago are forgotten, whole).
 *
 * ```ts
 * const history = await ObjectHistory.open({ path: 'data/object-history.jsonl' });
 * history.record(lifecycleEvent);                       // as the model receives them
 * history.query('todo', 'a', { limit: 50 });            // newest first, { items, cursor? }
 * await history.close();                                // writes what is pending
 * ```
 */

/** Why an activation ended: the runtime's reason, `node-left` (its node left the cluster without saying), or `unknown` (a later activation began before its end was reported). */
export type ActivationEndReason = DeactivationReason | 'node-left' | 'unknown';

export type HistoryEntry =
  | {
      kind: 'activation';
      /** Increasing across the whole history and restarts: the paging cursor (`before`). */
      seq: number;
      node: string;
      epoch: string;
      /** Wall-clock ms when it became active. */
      start: number;
      /** Wall-clock ms when it ended; null while active. */
      end: number | null;
      reason: ActivationEndReason | null;
      /** How long it was active, as its node measured it (null while active or when unknown). */
      activeMs: number | null;
    }
  | { kind: 'migration'; seq: number; time: number; from: string; to: string; durationMs: number }
  | { kind: 'fenced'; seq: number; time: number; node: string; epoch: string };

export interface HistoryPage {
  type: string;
  id: string;
  /** Newest first. */
  items: HistoryEntry[];
  /** Pass back as `before` for older entries; absent when there are none. */
  cursor?: string;
}

export interface ObjectHistoryOptions {
  /** The JSONL file; created (mode 0600, with its directory) when missing. @default none: kept in memory only, lost on restart */
  path?: string;
  /** Entries kept per object; older ones are dropped. @default 100 */
  maxEntriesPerObject?: number;
  /** Entries kept in all; beyond, the objects whose history changed longest ago are forgotten. @default 200000 */
  maxEntries?: number;
  /** Pending lines are appended this often. @default 200 */
  flushIntervalMs?: number;
  /** fdatasync after each batch (survives a power loss, not only a crash of the process). @default false */
  fsync?: boolean;
  /** Warnings about skipped lines and failed writes go here. @default none */
  logger?: Logger;
}

export const OBJECT_HISTORY_DEFAULTS = { maxEntriesPerObject: 100, maxEntries: 200_000, flushIntervalMs: 200 } as const;

/** Lines beyond twice the kept entries that the file may hold before it is rewritten. */
const COMPACTION_SLACK_LINES = 1000;

interface ObjectRecord {
  type: string;
  id: string;
  /** Oldest first. */
  entries: HistoryEntry[];
}

/** A line of the file: an entry with its object. */
type StoredLine = HistoryEntry & { type: string; id: string };

const END_REASONS = ['idle', 'evicted', 'migrated', 'drained', 'shutdown', 'fenced', 'session-lost', 'node-left', 'unknown'] as const;
const StoredLineSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('activation'), type: z.string(), id: z.string(), seq: z.number().int().positive(), node: z.string(), epoch: z.string(),
    start: z.number(), end: z.number().nullable(), reason: z.enum(END_REASONS).nullable(), activeMs: z.number().nullable(),
  }),
  z.object({
    kind: z.literal('migration'), type: z.string(), id: z.string(), seq: z.number().int().positive(), time: z.number(), from: z.string(), to: z.string(), durationMs: z.number(),
  }),
  z.object({ kind: z.literal('fenced'), type: z.string(), id: z.string(), seq: z.number().int().positive(), time: z.number(), node: z.string(), epoch: z.string() }),
]);

export class ObjectHistory {
  readonly path: string | undefined;
  readonly maxEntriesPerObject: number;
  readonly maxEntries: number;
  /** Lines of the file that were not entries (a torn last line, damage) and were skipped on open. */
  readonly skippedLines: number;
  readonly #fsync: boolean;
  readonly #logger: Logger | undefined;
  /** By object key, least recently changed first (a change moves an object to the end). */
  readonly #objects = new Map<string, ObjectRecord>();
  /** Activations still open, per node: closed by the node's `session-lost` or leaving. */
  readonly #open = new Map<string, Map<string, HistoryEntry & { kind: 'activation' }>>();
  #size = 0;
  #seq: number;
  #handle: FileHandle | undefined;
  #linesInFile: number;
  #pending: string[] = [];
  #needsNewline: boolean;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | null = null;
  /** The file must be rewritten (too many superseded lines, or a write failed). */
  #compactionOwed = false;
  #closed = false;

  private constructor(options: ObjectHistoryOptions, handle: FileHandle | undefined, loaded: { lines: StoredLine[]; skipped: number; torn: boolean; linesInFile: number }) {
    this.path = options.path;
    this.maxEntriesPerObject = options.maxEntriesPerObject ?? OBJECT_HISTORY_DEFAULTS.maxEntriesPerObject;
    this.maxEntries = options.maxEntries ?? OBJECT_HISTORY_DEFAULTS.maxEntries;
    this.#fsync = options.fsync ?? false;
    this.#logger = options.logger;
    this.#handle = handle;
    this.skippedLines = loaded.skipped;
    this.#needsNewline = loaded.torn;
    this.#linesInFile = loaded.linesInFile;
    let seq = 0;
    for (const line of loaded.lines) {
      seq = Math.max(seq, line.seq);
      this.#put(line);
    }
    this.#seq = seq;
    // The open activations as the file left them: a session loss or a node leaving still closes them.
    for (const record of this.#objects.values()) {
      for (const entry of record.entries) if (entry.kind === 'activation' && entry.end === null) this.#markOpen(record, entry);
    }
    this.#compactionOwed = this.#linesInFile > 2 * this.#size + COMPACTION_SLACK_LINES;
    const flushIntervalMs = options.flushIntervalMs ?? OBJECT_HISTORY_DEFAULTS.flushIntervalMs;
    if (handle) {
      this.#timer = setInterval(() => this.#flush(), flushIntervalMs);
      this.#timer.unref();
    }
  }

  /** Opens (or creates) the history and reads back every entry in it. */
  static async open(options: ObjectHistoryOptions): Promise<ObjectHistory> {
    const positive = (name: string, value: number | undefined) => {
      if (value !== undefined && !(Number.isInteger(value) && value > 0)) throw new TypeError(`ObjectHistory: ${name} must be a positive integer (got ${value})`);
    };
    positive('maxEntriesPerObject', options.maxEntriesPerObject);
    positive('maxEntries', options.maxEntries);
    positive('flushIntervalMs', options.flushIntervalMs);
    if ((options.maxEntriesPerObject ?? OBJECT_HISTORY_DEFAULTS.maxEntriesPerObject) > (options.maxEntries ?? OBJECT_HISTORY_DEFAULTS.maxEntries)) {
      throw new TypeError('ObjectHistory: maxEntriesPerObject cannot be more than maxEntries');
    }
    if (options.path === undefined) return new ObjectHistory(options, undefined, { lines: [], skipped: 0, torn: false, linesInFile: 0 });
    await mkdir(dirname(options.path), { recursive: true });
    let text = '';
    try {
      text = await readFile(options.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const loaded = parse(text, options.path, options.logger);
    const handle = await open(options.path, 'a', 0o600);
    return new ObjectHistory(options, handle, loaded);
  }

  /** Entries kept, over every object. */
  get size(): number {
    return this.#size;
  }

  /** Objects with a history. */
  get objects(): number {
    return this.#objects.size;
  }

  /** Folds one lifecycle event in; events that are not about ownership are ignored. */
  record(event: LifecycleEvent): void {
    if (this.#closed) return;
    switch (event.kind) {
      case 'object.activated': {
        // Events are folded idempotently: after a restart of the admin API, the nodes send their recent events again.
        const known = this.#objects.get(objectKey(event.type, event.id));
        if (known && (known.entries.some((e) => e.kind === 'activation' && e.epoch === event.epoch && e.node === event.node) || this.#olderThanKept(known, event.time))) break;
        const record = this.#record(event.type, event.id);
        // A previous activation nobody reported the end of (events missed): it ended when this one began, for an unknown reason.
        for (let i = record.entries.length - 1; i >= 0; i--) {
          const entry = record.entries[i]!;
          if (entry.kind !== 'activation') continue;
          if (entry.end === null && entry.epoch !== event.epoch) this.#end(record, entry, event.time, 'unknown', null);
          break;
        }
        const entry: HistoryEntry = {
          kind: 'activation', seq: ++this.#seq, node: event.node, epoch: event.epoch, start: event.time, end: null, reason: null, activeMs: null,
        };
        this.#add(record, entry);
        this.#markOpen(record, entry);
        break;
      }
      case 'object.deactivated': {
        const record = this.#record(event.type, event.id);
        const entry = findLast(record.entries, (e) => e.kind === 'activation' && e.epoch === event.epoch && e.node === event.node);
        if (entry?.kind === 'activation') {
          if (entry.end !== event.time || entry.reason !== event.reason) this.#end(record, entry, event.time, event.reason, event.activeMs);
        } else if (!this.#olderThanKept(record, event.time - event.activeMs)) {
          // Its start is older than what is kept (or than this history): known from its length.
          const start = event.time - event.activeMs;
          this.#add(record, {
            kind: 'activation', seq: ++this.#seq, node: event.node, epoch: event.epoch, start, end: event.time, reason: event.reason, activeMs: event.activeMs,
          });
        }
        break;
      }
      case 'object.migrated': {
        const known = this.#objects.get(objectKey(event.type, event.id));
        if (known?.entries.some((e) => e.kind === 'migration' && e.time === event.time && e.from === event.from && e.to === event.to)) break;
        if (known && this.#olderThanKept(known, event.time)) break;
        this.#add(this.#record(event.type, event.id), {
          kind: 'migration', seq: ++this.#seq, time: event.time, from: event.from, to: event.to, durationMs: event.durationMs,
        });
        break;
      }
      case 'object.fenced': {
        const known = this.#objects.get(objectKey(event.type, event.id));
        if (known?.entries.some((e) => e.kind === 'fenced' && e.time === event.time && e.node === event.node && e.epoch === event.epoch)) break;
        if (known && this.#olderThanKept(known, event.time)) break;
        this.#add(this.#record(event.type, event.id), { kind: 'fenced', seq: ++this.#seq, time: event.time, node: event.node, epoch: event.epoch });
        break;
      }
      case 'node.session-lost':
        // With an ensemble: one shard's session; its objects' deactivations were reported one by one.
        if (event.ensemble === undefined) this.#endAllOn(event.node, event.time, 'session-lost');
        break;
      case 'node.down':
        // `shutdown`: its activations reported their own ends first; `left`: it vanished without saying.
        this.#endAllOn(event.node, event.time, event.reason === 'left' ? 'node-left' : 'shutdown');
        break;
      default:
        break;
    }
  }

  /** One object's history, newest first; `before`: the `cursor` of the previous page. Empty for an object never seen. */
  query(type: string, id: string, query: { limit: number; before?: number }): HistoryPage {
    const entries = this.#objects.get(objectKey(type, id))?.entries ?? [];
    // Entries are in seq order: the first at or after `before`, then backwards from it.
    let end = entries.length;
    if (query.before !== undefined) {
      let lo = 0;
      let hi = entries.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (entries[mid]!.seq < query.before) lo = mid + 1;
        else hi = mid;
      }
      end = lo;
    }
    const start = Math.max(0, end - query.limit);
    const items = entries.slice(start, end).reverse().map((e) => ({ ...e }));
    const last = items.at(-1);
    return start > 0 && last ? { type, id, items, cursor: String(last.seq) } : { type, id, items };
  }

  /** Writes what is pending (and compacts when due), then closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#writing;
    this.#flush();
    await this.#writing;
    await this.#handle?.close();
  }

  /** Waits until every entry recorded so far is in the file (tests and benchmarks). */
  async flush(): Promise<void> {
    await this.#writing;
    this.#flush();
    await this.#writing;
  }

  // ---- folding ----

  #record(type: string, id: string): ObjectRecord {
    const key = objectKey(type, id);
    let record = this.#objects.get(key);
    if (record) {
      // Most recently changed last: the total bound forgets from the front.
      this.#objects.delete(key);
    } else {
      record = { type, id, entries: [] };
    }
    this.#objects.set(key, record);
    return record;
  }

  /** An event from before the oldest entry of an object whose history is full: dropped already (a replay after a restart). */
  #olderThanKept(record: ObjectRecord, time: number): boolean {
    const oldest = record.entries[0];
    return record.entries.length >= this.maxEntriesPerObject && oldest !== undefined && time < (oldest.kind === 'activation' ? oldest.start : oldest.time);
  }

  #add(record: ObjectRecord, entry: HistoryEntry): void {
    record.entries.push(entry);
    this.#size++;
    this.#write(record, entry);
    this.#bound(record);
  }

  #end(record: ObjectRecord, entry: HistoryEntry & { kind: 'activation' }, time: number, reason: ActivationEndReason, activeMs: number | null): void {
    entry.end = time;
    entry.reason = reason;
    entry.activeMs = activeMs;
    this.#open.get(entry.node)?.delete(objectKey(record.type, record.id));
    this.#write(record, entry);
  }

  #endAllOn(node: string, time: number, reason: ActivationEndReason): void {
    const open = this.#open.get(node);
    if (!open) return;
    for (const [key, entry] of [...open]) {
      const record = this.#objects.get(key);
      if (record && entry.end === null) this.#end(this.#record(record.type, record.id), entry, time, reason, null);
    }
    this.#open.delete(node);
  }

  #markOpen(record: ObjectRecord, entry: HistoryEntry & { kind: 'activation' }): void {
    let open = this.#open.get(entry.node);
    if (!open) this.#open.set(entry.node, (open = new Map()));
    open.set(objectKey(record.type, record.id), entry);
  }

  /** Loading: puts a line's entry in place (a later version of an entry replaces the earlier). */
  #put(line: StoredLine): void {
    const { type, id, ...entry } = line;
    const record = this.#record(type, id);
    const at = findLastIndex(record.entries, (e) => e.seq <= entry.seq);
    if (at >= 0 && record.entries[at]!.seq === entry.seq) {
      record.entries[at] = entry;
    } else {
      record.entries.splice(at + 1, 0, entry);
      this.#size++;
      this.#bound(record);
    }
  }

  #bound(record: ObjectRecord): void {
    const over = record.entries.length - this.maxEntriesPerObject;
    if (over > 0) this.#forget(record, record.entries.splice(0, over));
    // Only when over: iterating a Map whose front was churned by delete-and-set skips every deleted slot.
    if (this.#size <= this.maxEntries) return;
    for (const [key, oldest] of this.#objects) {
      if (this.#size <= this.maxEntries) break;
      if (oldest === record) continue;
      this.#objects.delete(key);
      this.#forget(oldest, oldest.entries);
    }
  }

  #forget(record: ObjectRecord, entries: HistoryEntry[]): void {
    this.#size -= entries.length;
    for (const entry of entries) {
      if (entry.kind === 'activation' && entry.end === null && this.#open.get(entry.node)?.get(objectKey(record.type, record.id)) === entry) {
        this.#open.get(entry.node)!.delete(objectKey(record.type, record.id));
      }
    }
  }

  // ---- the file ----

  #write(record: ObjectRecord, entry: HistoryEntry): void {
    if (!this.#handle) return;
    this.#pending.push(`${JSON.stringify({ type: record.type, id: record.id, ...entry })}\n`);
  }

  /** Starts writing what is pending, unless a write is under way (the next tick takes it). */
  #flush(): void {
    if (this.#writing || (this.#pending.length === 0 && !this.#compactionOwed)) return;
    this.#writing = this.#write1().finally(() => {
      this.#writing = null;
    });
  }

  async #write1(): Promise<void> {
    const compact = this.#compactionOwed || this.#linesInFile + this.#pending.length > 2 * this.#size + COMPACTION_SLACK_LINES;
    try {
      if (compact) await this.#compact();
      else await this.#append();
      this.#compactionOwed = false;
    } catch (err) {
      // Lost from the file, not from memory: the next write rewrites the file from memory.
      this.#needsNewline = true;
      this.#compactionOwed = true;
      this.#logger?.warn({ err, path: this.path }, 'object history: a write failed; the file is rewritten with the next batch');
    }
  }

  async #append(): Promise<void> {
    const lines = this.#pending.splice(0);
    const text = (this.#needsNewline ? '\n' : '') + lines.join('');
    this.#linesInFile += lines.length;
    await this.#handle!.write(text);
    this.#needsNewline = false;
    if (this.#fsync) await this.#handle!.datasync();
  }

  /** Rewrites the file with the kept entries: memory holds every pending line already, so they are dropped. */
  async #compact(): Promise<void> {
    this.#pending = [];
    const lines: string[] = [];
    for (const record of this.#objects.values()) {
      for (const entry of record.entries) lines.push(`${JSON.stringify({ type: record.type, id: record.id, ...entry })}\n`);
    }
    const path = this.path!;
    const temporary = `${path}.compacting`;
    const handle = await open(temporary, 'w', 0o600);
    try {
      await handle.write(lines.join(''));
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
    const previous = this.#handle;
    this.#handle = await open(path, 'a', 0o600);
    this.#linesInFile = lines.length;
    this.#needsNewline = false;
    await previous?.close();
  }
}

function parse(text: string, path: string, logger: Logger | undefined): { lines: StoredLine[]; skipped: number; torn: boolean; linesInFile: number } {
  const { items, skipped, torn, lineCount } = parseJsonLines(text, StoredLineSchema, { path, logger, what: 'object history', entry: 'an entry' });
  return { lines: items, skipped, torn, linesInFile: lineCount };
}

function findLastIndex<T>(items: readonly T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i]!)) return i;
  return -1;
}

function findLast<T>(items: readonly T[], test: (item: T) => boolean): T | undefined {
  const i = findLastIndex(items, test);
  return i < 0 ? undefined : items[i];
}
