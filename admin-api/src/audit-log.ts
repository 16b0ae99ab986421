import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Principal } from './auth.js';
import { parseJsonLines } from './json-lines.js';

/**
 * The durable audit log of actions: an append-only JSONL file, one record per action (success or
 * failure). `append` resolves only once the record is on disk (written and fsynced), so the API
 * answers an action only after it is recorded. Records are read back on `open`, so the log survives a
 * restart; a torn last line left by a crash is skipped (and the next record starts on a new line).
 * Concurrent appends are written and fsynced together (one write + one fdatasync per batch).
 *
 * ```ts
 * const audit = await AuditLog.open({ path: '/var/lib/highlander/audit.jsonl' });
 * await audit.append({ time: Date.now(), who, action: 'evict', target: { type: 'todo', id: 'a' }, … });
 * audit.list({ limit: 50 }); // newest first, { items, cursor? }
 * ```
 *
 * Every record is kept in memory for listing (a few hundred bytes each); one process writes a file.
 *
 * Repeated refusals do not grow the log without bound: the first refusal of a kind (who, action,
 * error code) is written as usual; the same refusal again within `coalesceRefusalsMs` is answered at
 * once and only counted, and when the window ends one record sums them up (`repeated`: how many,
 * from when to when, a few of their targets).
 */

/** Every action the audit log records. */
export const AUDIT_ACTIONS = ['evict', 'migrate', 'drain', 'call', 'state.replace', 'talk.create', 'talk.open', 'talk.close', 'talk.reset', 'talk.moderate', 'talk.settings',
  'rebalance.move', 'rebalance.pause', 'rebalance.resume', 'shards.move'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Which records a listing keeps: one action, one object (both its type and id), or both. */
export interface AuditFilter {
  action?: AuditAction;
  object?: { type: string; id: string };
}

export type AuditTarget = { type: string; id: string } | { node: string } | { talk: string } | { rebalance: 'cluster' } | { shards: 'cluster' };

export interface AuditRecord {
  /** Increasing across restarts; the listing cursor. */
  id: number;
  /** Wall-clock ms when the action was asked for. */
  time: number;
  who: Principal;
  action: AuditAction;
  target: AuditTarget;
  /** The body as validated (or, when it was invalid, as sent, if small). */
  params: Record<string, unknown>;
  result: 'ok' | 'error';
  /** When `result` is `ok`, for some actions: what the action found or did (a call's kind, the state a replacement replaced). */
  outcome?: Record<string, unknown>;
  /** When `result` is `error`: what the client was answered. */
  error?: { status: number; code: string; message: string };
  durationMs: number;
  clientAddress: string;
  userAgent: string | null;
  /** A summary of refusals like this one that were counted instead of written, one by one (see `coalesceRefusalsMs`). */
  repeated?: { count: number; from: number; to: number; targets: AuditTarget[] };
}

export type NewAuditRecord = Omit<AuditRecord, 'id'>;

export interface AuditLogOptions {
  /** The JSONL file; created (mode 0600, with its directory) when missing. */
  path: string;
  /**
   * fdatasync every batch before `append` resolves. Turn off only in throwaway setups.
   * @default true
   */
  fsync?: boolean;
  /** Warnings about skipped lines go here. @default none */
  logger?: Logger;
  /**
   * The same refusal (who, action, error code) again within this long after one written is counted,
   * not written; one summary record follows when the window ends. 0 writes every one.
   * @default 60000
   */
  coalesceRefusalsMs?: number;
}

/** Targets of coalesced refusals kept as examples in a summary record. */
const MAX_SAMPLE_TARGETS = 5;

interface RefusalWindow {
  /** The refusal that was written (opening the window). */
  first: AuditRecord;
  openedAt: number;
  /** Refusals counted since, not written. */
  count: number;
  from: number;
  to: number;
  last: NewAuditRecord | undefined;
  targets: AuditTarget[];
}

/** What is checked of a line read back: enough to list it; newer fields pass through. */
const StoredRecord = z.looseObject({
  id: z.number().int().positive(),
  time: z.number(),
  action: z.string(),
  result: z.enum(['ok', 'error']),
});

export class AuditLog {
  readonly path: string;
  /** Lines of the file that were not records (a torn last line, damage) and were skipped on open. */
  readonly skippedLines: number;
  readonly #fsync: boolean;
  readonly #handle: FileHandle;
  readonly #records: AuditRecord[];
  #lastId: number;
  /** The file may end inside a line (a torn line on open, a failed write): start the next batch on a new line. */
  #needsNewline: boolean;
  #queue: { line: string; record: AuditRecord; resolve: (r: AuditRecord) => void; reject: (e: unknown) => void }[] = [];
  #writing: Promise<void> | null = null;
  #closed = false;
  readonly #coalesceMs: number;
  readonly #refusals = new Map<string, RefusalWindow>();
  #sweeper: NodeJS.Timeout | undefined;

  private constructor(path: string, handle: FileHandle, fsync: boolean, records: AuditRecord[], skipped: number, needsNewline: boolean, coalesceMs: number) {
    this.path = path;
    this.#coalesceMs = coalesceMs;
    this.#handle = handle;
    this.#fsync = fsync;
    this.#records = records;
    this.skippedLines = skipped;
    this.#lastId = records.reduce((max, r) => Math.max(max, r.id), 0);
    this.#needsNewline = needsNewline;
  }

  /** Opens (or creates) the log and reads back every record in it. */
  static async open(options: AuditLogOptions): Promise<AuditLog> {
    const fsync = options.fsync ?? true;
    await mkdir(dirname(options.path), { recursive: true });
    let text = '';
    let created = false;
    try {
      text = await readFile(options.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      created = true;
    }
    const { records, skipped, torn } = parse(text, options.path, options.logger);
    const handle = await open(options.path, 'a', 0o600);
    if (created && fsync) await syncDirectory(dirname(options.path));
    const coalesceMs = options.coalesceRefusalsMs ?? 60_000;
    if (!(coalesceMs >= 0)) throw new TypeError(`AuditLog: coalesceRefusalsMs must be 0 or more (got ${coalesceMs})`);
    return new AuditLog(options.path, handle, fsync, records, skipped, torn, coalesceMs);
  }

  /**
   * Appends one record; resolves with it (and its id) once it is durable. A refusal repeating one
   * written within `coalesceRefusalsMs` resolves at once with that written record: it is counted in
   * the summary that follows.
   */
  append(record: NewAuditRecord): Promise<AuditRecord> {
    if (this.#closed) return Promise.reject(new Error(`audit log ${this.path} is closed`));
    if (record.result === 'error' && this.#coalesceMs > 0) {
      const key = `${record.who.role}\0${record.who.name}\0${record.action}\0${record.error?.code ?? ''}`;
      const window = this.#refusals.get(key);
      if (window && record.time - window.openedAt < this.#coalesceMs) {
        if (window.count === 0) window.from = record.time;
        window.count++;
        window.to = record.time;
        window.last = record;
        if (window.targets.length < MAX_SAMPLE_TARGETS && !window.targets.some((t) => JSON.stringify(t) === JSON.stringify(record.target))) {
          window.targets.push(record.target);
        }
        return Promise.resolve(window.first);
      }
      if (window) this.#closeWindow(key, window);
      return this.#write(record).then((written) => {
        this.#refusals.set(key, { first: written, openedAt: record.time, count: 0, from: record.time, to: record.time, last: undefined, targets: [] });
        this.#sweeper ??= setInterval(() => this.#sweep(), Math.max(10, this.#coalesceMs / 4)).unref();
        return written;
      });
    }
    return this.#write(record);
  }

  /** Writes the summary of refusals counted in windows that are over (all of them with `all`). */
  #sweep(all = false): void {
    const now = Date.now();
    for (const [key, window] of this.#refusals) {
      if (all || now - window.openedAt >= this.#coalesceMs) this.#closeWindow(key, window);
    }
    if (this.#refusals.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  #closeWindow(key: string, window: RefusalWindow): void {
    this.#refusals.delete(key);
    if (window.count === 0 || !window.last) return;
    const summary: NewAuditRecord = {
      ...window.last,
      repeated: { count: window.count, from: window.from, to: window.to, targets: window.targets },
    };
    this.#write(summary).catch(() => {
      // The log is failing: the next action's own append reports it; the counted refusals were answered already.
    });
  }

  #write(record: NewAuditRecord): Promise<AuditRecord> {
    const full: AuditRecord = { id: ++this.#lastId, ...record };
    return new Promise((resolve, reject) => {
      this.#queue.push({ line: `${JSON.stringify(full)}\n`, record: full, resolve, reject });
      this.#writing ??= this.#drain();
    });
  }

  /** Newest first. `before` is a cursor from a previous page (the id of its last record). */
  list(query: { before?: number; limit: number } & AuditFilter): { items: AuditRecord[]; cursor?: string } {
    // Records are in id order: find the first one at or after `before`, and walk backwards from it.
    let end = this.#records.length;
    if (query.before !== undefined) {
      let lo = 0;
      let hi = this.#records.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.#records[mid]!.id < query.before) lo = mid + 1;
        else hi = mid;
      }
      end = lo;
    }
    if (query.action === undefined && query.object === undefined) {
      const start = Math.max(0, end - query.limit);
      const items = this.#records.slice(start, end).reverse();
      const last = items.at(-1);
      return start > 0 && last ? { items, cursor: String(last.id) } : { items };
    }
    // Filtered: walk back until the page is full, then look for one more match to know if there is a next page.
    const items: AuditRecord[] = [];
    for (let i = end - 1; i >= 0; i--) {
      const record = this.#records[i]!;
      if (!matches(record, query)) continue;
      if (items.length === query.limit) return { items, cursor: String(items.at(-1)!.id) };
      items.push(record);
    }
    return { items };
  }

  /** Records in the log. */
  get size(): number {
    return this.#records.length;
  }

  /** Writes the summaries of counted refusals, waits for pending appends, then closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#sweep(true);
    this.#closed = true;
    await this.#writing;
    await this.#handle.close();
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0);
      const text = (this.#needsNewline ? '\n' : '') + batch.map((b) => b.line).join('');
      try {
        await this.#handle.write(text);
        if (this.#fsync) await this.#handle.datasync();
        this.#needsNewline = false;
        for (const b of batch) {
          this.#records.push(b.record);
          b.resolve(b.record);
        }
      } catch (err) {
        // Part of the batch may be on disk: the next batch starts on a new line, and these records
        // are reported as not written (their ids are not reused; a gap is harmless).
        this.#needsNewline = true;
        for (const b of batch) b.reject(err);
      }
    }
    this.#writing = null;
  }
}

function parse(text: string, path: string, logger: Logger | undefined): { records: AuditRecord[]; skipped: number; torn: boolean } {
  const { items, skipped, torn } = parseJsonLines(text, StoredRecord, { path, logger, what: 'audit log', entry: 'a record' });
  const records = items as unknown as AuditRecord[];
  records.sort((a, b) => a.id - b.id);
  return { records, skipped, torn };
}

async function syncDirectory(dir: string): Promise<void> {
  // Makes the new file's directory entry durable too (Linux allows fsync on a directory).
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function matches(record: AuditRecord, filter: AuditFilter): boolean {
  if (filter.action !== undefined && record.action !== filter.action) return false;
  if (filter.object === undefined) return true;
  const target = record.target as Partial<{ type: string; id: string }>;
  return target.type === filter.object.type && target.id === filter.object.id;
}
