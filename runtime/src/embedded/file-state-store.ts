import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, realpath, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { StoreUnavailable, StoredStateCorrupt } from '../errors.js';
import type { ListPage, StateStore, StoredObject, StoredObjectSummary, WriteRequest, WriteResult } from '../state-store.js';

export interface FileStateStoreOptions {
  /** The data folder, created when missing. One process at a time may use it. */
  dir: string;
}

/**
 * The state store on a local folder, for single-machine clusters: one JSON file per object at
 * `<dir>/<type>/<id>.json` (names escaped, see {@link encodeFileName}) holding the state and its
 * metadata (`etag`, `epoch`, `version`, `lastModified`), with the S3 store's conditional writes:
 * If-None-Match `*` creates, If-Match the current tag replaces, anything else is a conflict.
 *
 * Every write goes to a temporary file that is fsynced, then renamed over the object's file (and
 * the folder fsynced), so a crash leaves the old state or the new one, never a mix. Writes of one
 * object are serialised in this process; other processes are kept out by the folder's lock file
 * (`<dir>/.lock`, holding the owner's pid), taken by `create()` and released by `close()`. A lock
 * left by a dead process is cleared on the next `create()`.
 *
 * Tags are a hash of epoch, version and body, so a claim that rewrites the same body under a new
 * epoch changes the tag (an S3 ETag, an MD5 of the body alone, would not).
 *
 * Ids that differ only by case share a file on a case-insensitive file system (the macOS and
 * Windows defaults): keep the folder on a case-sensitive one.
 */
export class FileStateStore implements StateStore {
  readonly dir: string;
  #lockPath: string;
  #closed = false;
  /** Per object key: the last write queued, so that writes of one object run one at a time. */
  #writes = new Map<string, Promise<unknown>>();
  #typeDirs = new Set<string>();

  private constructor(dir: string) {
    this.dir = dir;
    this.#lockPath = join(dir, LOCK_FILE);
  }

  /** Opens (creating when missing) and locks the data folder. Throws `StoreUnavailable` when another live process holds it. */
  static async create(options: FileStateStoreOptions): Promise<FileStateStore> {
    if (!options?.dir) throw new TypeError('FileStateStore: dir (the data folder) is required');
    let dir = resolve(options.dir);
    try {
      await mkdir(dir, { recursive: true });
      dir = await realpath(dir); // one name per folder, so that a second opening through a symlink is recognised
    } catch (err) {
      throw new StoreUnavailable('open', dir, ioCause(err, dir));
    }
    if (openHere.has(dir)) throw new StoreUnavailable('open', dir, lockedBy(dir, process.pid, ' (this process: close the other FileStateStore on it first)'));
    openHere.add(dir);
    try {
      await lockFolder(dir);
      const store = new FileStateStore(dir);
      await store.#removeLeftovers();
      return store;
    } catch (err) {
      openHere.delete(dir);
      throw err;
    }
  }

  /** `<type>/<id>.json`, relative to the data folder, unescaped (as an S3 key would read). */
  keyOf(type: string, id: string): string {
    return `${type}/${id}.json`;
  }

  /** The file an object is stored in. */
  pathOf(type: string, id: string): string {
    return join(this.dir, encodeFileName(type), `${encodeFileName(id)}.json`);
  }

  async read(type: string, id: string): Promise<StoredObject | null> {
    const key = this.keyOf(type, id);
    this.#checkOpen('read', key);
    const record = await this.#readRecord(type, id, 'read');
    if (record === null) return null;
    return { body: record.body, etag: record.etag, epoch: record.epoch, version: record.version, lastModified: new Date(record.lastModified) };
  }

  write(request: WriteRequest): Promise<WriteResult> {
    const key = this.keyOf(request.type, request.id);
    try {
      this.#checkOpen('write', key);
    } catch (err) {
      return Promise.reject(err);
    }
    const previous = this.#writes.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.#write(request), () => this.#write(request));
    this.#writes.set(key, next);
    const forget = () => {
      if (this.#writes.get(key) === next) this.#writes.delete(key);
    };
    next.then(forget, forget);
    return next;
  }

  async list(options: { type?: string; prefix?: string; cursor?: string; limit?: number }): Promise<ListPage> {
    const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
    const listed = options.type ? `${options.type}/${options.prefix ?? ''}` : '';
    this.#checkOpen('list', listed);
    let after: Buffer | undefined;
    if (options.cursor) {
      after = Buffer.from(options.cursor, 'base64url');
      if (after.length === 0) throw new StoreUnavailable('list', listed, new Error(`cursor '${options.cursor}' was not returned by this store`));
    }
    // As on S3, the id prefix applies within a type; without a type, everything is listed.
    const types = options.type ? [options.type] : (await this.#readDir(this.dir, 'list', listed)).filter((e) => e.isDirectory() && !e.name.startsWith('.')).flatMap((e) => decodeFileName(e.name) ?? []);
    const candidates: Array<{ type: string; id: string; key: string; sortKey: Buffer }> = [];
    for (const type of types) {
      const typeDir = join(this.dir, encodeFileName(type));
      for (const entry of await this.#readDir(typeDir, 'list', listed)) {
        if (entry.name.startsWith('.') || !entry.name.endsWith('.json') || !entry.isFile()) continue;
        const stem = entry.name.slice(0, -'.json'.length);
        // A shortened name (see encodeFileName) does not carry the whole id: the file does.
        const id = stem.includes(HASH_MARK) ? await this.#idInFile(type, join(typeDir, entry.name)) : decodeFileName(stem);
        // undefined: not a name this store writes (a stray file), or a shortened name whose file is unreadable.
        if (id === undefined || (options.type && options.prefix && !id.startsWith(options.prefix))) continue;
        const key = this.keyOf(type, id);
        candidates.push({ type, id, key, sortKey: Buffer.from(key, 'utf8') });
      }
    }
    // S3 lists in the binary order of the keys' UTF-8 bytes.
    candidates.sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
    const rest = after ? candidates.filter((c) => Buffer.compare(c.sortKey, after) > 0) : candidates;
    const page = rest.slice(0, limit);
    const objects = await Promise.all(page.map(async (c): Promise<StoredObjectSummary | null> => {
      let record: FileRecord | null;
      try {
        record = await this.#readRecord(c.type, c.id, 'list');
      } catch (err) {
        if (!(err instanceof StoredStateCorrupt)) throw err;
        // Listed all the same, as S3 would list it: reading it reports the damage.
        return { type: c.type, id: c.id, key: c.key, size: 0, etag: '', lastModified: undefined };
      }
      if (record === null) return null; // not written through this store (gone meanwhile)
      return { type: c.type, id: c.id, key: c.key, size: Buffer.byteLength(record.body), etag: record.etag, lastModified: new Date(record.lastModified) };
    }));
    const result: ListPage = { objects: objects.filter((o): o is StoredObjectSummary => o !== null) };
    if (rest.length > limit) result.cursor = page[page.length - 1]!.sortKey.toString('base64url');
    return result;
  }

  /** Waits for writes in progress, then releases the data folder. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#writes.values()]);
    try {
      if ((await readPid(this.#lockPath)) === process.pid) await unlink(this.#lockPath);
    } finally {
      openHere.delete(this.dir);
    }
  }

  // ---- internals ----

  async #write(request: WriteRequest): Promise<WriteResult> {
    const { type, id, body, epoch, version, condition } = request;
    const key = this.keyOf(type, id);
    let current: FileRecord | null | 'corrupt';
    try {
      current = await this.#readRecord(type, id, 'write');
    } catch (err) {
      if (!(err instanceof StoredStateCorrupt)) throw err;
      current = 'corrupt'; // no tag can match it; reading the object reports the damage
    }
    if ('ifNoneMatch' in condition ? current !== null : current === null || current === 'corrupt' || current.etag !== condition.ifMatch) {
      return { ok: false, conflict: true };
    }
    const etag = tagOf(epoch, version, body);
    const record: FileRecord = { type, id, etag, epoch, version, lastModified: new Date().toISOString(), body };
    const file = this.pathOf(type, id);
    const folder = dirname(file);
    let renamed = false;
    const temp = join(folder, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}`);
    try {
      await this.#ensureTypeDir(folder);
      const handle = await open(temp, 'wx');
      try {
        await handle.writeFile(JSON.stringify(record));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, file);
      renamed = true;
      await syncDir(folder);
    } catch (err) {
      if (!renamed) {
        await unlink(temp).catch(() => {
          // Never created, or the folder is unusable: create() removes leftovers next time.
        });
      }
      // After the rename the new state is visible, only its durability is in doubt: the runtime reads it back.
      throw new StoreUnavailable('write', key, ioCause(err, renamed ? folder : file), renamed);
    }
    return { ok: true, etag };
  }

  /** The record of an object, or null when there is none. `file` overrides the object's path (for listing). */
  async #readRecord(type: string, id: string | null, operation: string, file = this.pathOf(type, id ?? '')): Promise<FileRecord | null> {
    const key = id === null ? file : this.keyOf(type, id);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new StoreUnavailable(operation, key, ioCause(err, file));
    }
    const record = parseRecord(text, key);
    if (record.type !== type || (id !== null && record.id !== id)) {
      throw new StoredStateCorrupt(key, `the file ${file} holds ${record.type}/${record.id}`);
    }
    return record;
  }

  /** The id recorded in a file with a shortened name; undefined when the file cannot tell. */
  async #idInFile(type: string, file: string): Promise<string | undefined> {
    try {
      return (await this.#readRecord(type, null, 'list', file))?.id;
    } catch (err) {
      if (err instanceof StoredStateCorrupt) return undefined; // its id is unknown: it cannot be listed, as on S3 a key without '.json'
      throw err;
    }
  }

  async #readDir(folder: string, operation: string, key: string) {
    try {
      return await readdir(folder, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new StoreUnavailable(operation, key, ioCause(err, folder));
    }
  }

  async #ensureTypeDir(folder: string): Promise<void> {
    if (this.#typeDirs.has(folder)) return;
    await mkdir(folder, { recursive: true });
    await syncDir(this.dir); // the new folder's entry must survive a crash too
    this.#typeDirs.add(folder);
  }

  /** Temporary files of writes a crash interrupted, and lock files of interrupted openings. */
  async #removeLeftovers(): Promise<void> {
    for (const entry of await this.#readDir(this.dir, 'open', this.dir)) {
      if (entry.isFile() && entry.name.startsWith(`${LOCK_FILE}.`)) await unlinkLeftover(join(this.dir, entry.name));
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const folder = join(this.dir, entry.name);
      for (const file of await this.#readDir(folder, 'open', this.dir)) {
        if (file.name.startsWith(TEMP_PREFIX)) await unlinkLeftover(join(folder, file.name));
      }
    }
  }

  #checkOpen(operation: string, key: string): void {
    if (this.#closed) throw new StoreUnavailable(operation, key, new Error(`the FileStateStore on ${this.dir} is closed`));
  }
}

interface FileRecord {
  type: string;
  id: string;
  etag: string;
  epoch: string;
  version: number;
  /** ISO 8601. */
  lastModified: string;
  /** The state's JSON text exactly as written (a string, so that it reads back byte for byte). */
  body: string;
}

const LOCK_FILE = '.lock';
const TEMP_PREFIX = '.tmp-';
/** Separates a shortened file name from the hash that keeps it unique. */
const HASH_MARK = '~';
/** Longest file name most file systems take is 255 bytes; leave room for '.json'. */
const MAX_STEM_BYTES = 240;

/** Data folders open in this process (a second store on one would break per-object serialisation). */
const openHere = new Set<string>();

/**
 * A type or id as a file name: `A-Z a-z 0-9 _ @ -` and `.` (except a leading one, which would hide
 * the file or make `.` / `..`) stay as they are; every other byte of the UTF-8 form becomes `%XX`.
 * So `chat:room@1` is `chat%3Aroom@1`. A name longer than 240 bytes is cut and ends in
 * `~<hash>`; the file itself records the whole id.
 */
export function encodeFileName(name: string): string {
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const plain = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
      || byte === 0x5f || byte === 0x40 || byte === 0x2d || (byte === 0x2e && out.length > 0);
    out += plain ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (out.length <= MAX_STEM_BYTES) return out;
  let cut = MAX_STEM_BYTES - 1 - 16;
  if (out[cut - 1] === '%') cut -= 1;
  else if (out[cut - 2] === '%') cut -= 2;
  return `${out.slice(0, cut)}${HASH_MARK}${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
}

/** The inverse of {@link encodeFileName} for names that were not shortened. */
export function decodeFileName(fileName: string): string | undefined {
  try {
    return decodeURIComponent(fileName);
  } catch {
    return undefined; // a malformed escape: not a name encodeFileName makes
  }
}

function tagOf(epoch: string, version: number, body: string): string {
  const hash = createHash('sha256').update(`${epoch}\n${version}\n`).update(body).digest('hex').slice(0, 24);
  return `${version}-${hash}`;
}

function parseRecord(text: string, key: string): FileRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new StoredStateCorrupt(key, `the file is not JSON (${(err as Error).message})`);
  }
  const r = value as Partial<FileRecord> | null;
  if (typeof r !== 'object' || r === null || typeof r.body !== 'string' || typeof r.etag !== 'string' || typeof r.epoch !== 'string'
    || typeof r.version !== 'number' || typeof r.lastModified !== 'string' || typeof r.type !== 'string' || typeof r.id !== 'string') {
    throw new StoredStateCorrupt(key, 'the file lacks one of type, id, etag, epoch, version, lastModified, body');
  }
  try {
    JSON.parse(r.body);
  } catch (err) {
    throw new StoredStateCorrupt(key, `not JSON (${(err as Error).message})`);
  }
  return r as FileRecord;
}

/**
 * Takes `<dir>/.lock` for this process: the file is made complete (with our pid) beside it and
 * linked into place, which fails if it exists, so no process ever sees a half-written lock. A lock
 * whose process is dead is moved aside (only one process can move it) and checked again before it
 * is deleted, so two processes clearing the same stale lock cannot both end up holding the folder.
 */
async function lockFolder(dir: string): Promise<void> {
  const lockPath = join(dir, LOCK_FILE);
  const mine = join(dir, `${LOCK_FILE}.new-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(mine, `${process.pid}\n`);
  } catch (err) {
    throw new StoreUnavailable('open', dir, ioCause(err, dir));
  }
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await link(mine, lockPath);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new StoreUnavailable('open', dir, ioCause(err, lockPath));
      }
      const holder = await readPid(lockPath);
      if (holder === undefined) continue; // released meanwhile: try again
      if (holder !== null && isAlive(holder)) throw new StoreUnavailable('open', dir, lockedBy(dir, holder));
      const aside = join(dir, `${LOCK_FILE}.stale-${process.pid}-${randomBytes(4).toString('hex')}`);
      try {
        await rename(lockPath, aside);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // another process moved it first
        throw new StoreUnavailable('open', dir, ioCause(err, lockPath));
      }
      const moved = await readPid(aside);
      if (moved !== holder && moved !== null && moved !== undefined && isAlive(moved)) {
        // Between our look and our move, another process cleared the stale lock and took the folder: give it back.
        await link(aside, lockPath).catch(() => {
          // EEXIST: yet another process holds it now; either way the folder is not ours.
        });
        await unlinkLeftover(aside);
        throw new StoreUnavailable('open', dir, lockedBy(dir, moved));
      }
      await unlinkLeftover(aside);
    }
    throw new StoreUnavailable('open', dir, new Error(`could not take ${lockPath} after 5 attempts: other processes keep opening this data folder`));
  } finally {
    await unlinkLeftover(mine);
  }
}

/** The pid in a lock file; null when it holds none; undefined when the file is gone. */
async function readPid(file: string): Promise<number | null | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StoreUnavailable('open', dirname(file), ioCause(err, file));
  }
  return /^\d+\s*$/.test(text) ? Number(text.trim()) : null;
}

/** Whether `pid` is a live process that may hold `dir` (our own pid only if this process has it open). */
function isAlive(pid: number): boolean {
  if (pid === process.pid) return false; // `create()` refused already if this process has it open: a leftover of a reused pid
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by another user
  }
}

function lockedBy(dir: string, pid: number, who = ''): Error {
  return new Error(`the data folder is in use by process ${pid}${who} (lock file ${join(dir, LOCK_FILE)}); stop that process, or delete the lock file if no process uses the folder`);
}

async function unlinkLeftover(file: string): Promise<void> {
  await unlink(file).catch(() => {
    // Gone already, or not removable now: the next opening of the folder cleans it.
  });
}

async function syncDir(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** An I/O error as a cause that says what to check. */
function ioCause(err: unknown, path: string): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  const hint = code === 'ENOSPC' || code === 'EDQUOT' ? 'the disk (or quota) is full'
    : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'check that this process may write to the data folder'
    : code === 'ENOENT' ? 'the data folder or one of its subfolders was removed while in use'
    : code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST' ? 'something that is not the store\'s own file or folder is in the way'
    : code === 'EMFILE' || code === 'ENFILE' ? 'too many open files (raise the limit)'
    : 'check the data folder and its disk';
  return new Error(`${code ?? 'error'} on ${path}: ${hint} (${(err as Error)?.message ?? String(err)})`, { cause: err });
}
