import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FileStateStore, S3StateStore, StoreUnavailable, StoredStateCorrupt } from '@highlander/runtime';
import { s3Config } from '../harness/servers.js';
import { timing } from '../harness/timing.js';
import { stateStoreContract } from './state-store-contract.js';

/** The state store contract against the harness's radosgw and against a data folder, then what only the folder store has. */

let prefixes = 0;
stateStoreContract('S3StateStore', async () => {
  const s3 = s3Config();
  return new S3StateStore({
    bucket: s3.bucket, endpoint: s3.endpoint, region: s3.region,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    prefix: `contract-${process.pid}-${Date.now().toString(36)}-${prefixes++}/objects/`,
  });
});

const folders: string[] = [];
async function emptyFolder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'highlander-store-'));
  folders.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(folders.map((dir) => rm(dir, { recursive: true, force: true })));
});

stateStoreContract('FileStateStore', async () => FileStateStore.create({ dir: await emptyFolder() }));

describe('FileStateStore', () => {
  const open: FileStateStore[] = [];
  const children: ChildProcess[] = [];
  async function openStore(dir: string): Promise<FileStateStore> {
    const store = await FileStateStore.create({ dir });
    open.push(store);
    return store;
  }

  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(open.splice(0).map((s) => s.close()));
  });

  it('keeps one JSON file per object with its metadata, written whole, and the folder lock with its pid', async () => {
    const dir = await emptyFolder();
    const store = await openStore(dir);
    const first = await store.write({ type: 'counter', id: 'room:1', body: '{"value":1}', epoch: '7', version: 1, condition: { ifNoneMatch: '*' } });
    if (!first.ok) throw new Error('the create was refused');
    const second = await store.write({ type: 'counter', id: 'room:1', body: '{"value":2}', epoch: '7', version: 2, condition: { ifMatch: first.etag } });
    if (!second.ok) throw new Error('the replace was refused');

    expect(store.keyOf('counter', 'room:1')).toBe('counter/room:1.json');
    expect(store.dir).toBe(await realpath(dir));
    expect(store.pathOf('counter', 'room:1')).toBe(join(store.dir, 'counter', 'room%3A1.json'));
    const record = JSON.parse(await readFile(join(dir, 'counter', 'room%3A1.json'), 'utf8'));
    expect(record).toMatchObject({ type: 'counter', id: 'room:1', etag: second.etag, epoch: '7', version: 2, body: '{"value":2}' });
    expect(new Date(record.lastModified).getTime()).not.toBeNaN();
    expect(await readdir(join(dir, 'counter'))).toEqual(['room%3A1.json']); // no temporary files left
    expect((await readFile(join(dir, '.lock'), 'utf8')).trim()).toBe(String(process.pid));
  });

  it('changes the tag when the same body is claimed under a new epoch, so the older owner is refused', async () => {
    // An S3 ETag is the body's MD5 and would stay the same here; this store's tag covers epoch and version too.
    const store = await openStore(await emptyFolder());
    const mine = await store.write({ type: 'counter', id: 'c', body: '{"value":1}', epoch: '10', version: 1, condition: { ifNoneMatch: '*' } });
    if (!mine.ok) throw new Error('the create was refused');
    const claim = await store.write({ type: 'counter', id: 'c', body: '{"value":1}', epoch: '11', version: 2, condition: { ifMatch: mine.etag } });
    if (!claim.ok) throw new Error('the claim was refused');
    expect(claim.etag).not.toBe(mine.etag);
    const zombie = await store.write({ type: 'counter', id: 'c', body: '{"value":5}', epoch: '10', version: 2, condition: { ifMatch: mine.etag } });
    expect(zombie).toEqual({ ok: false, conflict: true });
    expect(await store.read('counter', 'c')).toMatchObject({ body: '{"value":1}', epoch: '11' });
  });

  it('serialises concurrent writes of one object: exactly one wins, every other is a conflict', async () => {
    const store = await openStore(await emptyFolder());
    const creates = await Promise.all(Array.from({ length: 20 }, (_, i) => store.write({ type: 'counter', id: 'hot', body: `{"w":${i}}`, epoch: '1', version: 1, condition: { ifNoneMatch: '*' } })));
    const created = creates.flatMap((r, i) => (r.ok ? [{ i, etag: r.etag }] : []));
    expect(created).toHaveLength(1);
    expect(creates.filter((r) => !r.ok)).toHaveLength(19);
    const replaces = await Promise.all(Array.from({ length: 20 }, (_, i) => store.write({ type: 'counter', id: 'hot', body: `{"r":${i}}`, epoch: '1', version: 2, condition: { ifMatch: created[0]!.etag } })));
    const replaced = replaces.flatMap((r, i) => (r.ok ? [i] : []));
    expect(replaced).toHaveLength(1);
    expect(await store.read('counter', 'hot')).toMatchObject({ body: `{"r":${replaced[0]}}`, version: 2 });
  });

  it('keeps ids whose escaped names are too long for a file name: shortened, unique, listed by their whole id', async () => {
    const dir = await emptyFolder();
    const store = await openStore(dir);
    const ids = [':'.repeat(200), `${':'.repeat(199)}@`, `${'x.'.repeat(99)}y`];
    for (const [i, id] of ids.entries()) {
      expect((await store.write({ type: 'counter', id, body: JSON.stringify({ i }), epoch: '1', version: 1, condition: { ifNoneMatch: '*' } })).ok).toBe(true);
    }
    for (const [i, id] of ids.entries()) expect((await store.read('counter', id))?.body).toBe(JSON.stringify({ i }));
    const names = await readdir(join(dir, 'counter'));
    expect(names).toHaveLength(3);
    for (const name of names) expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
    const listed = await store.list({ type: 'counter', limit: 2 });
    const rest = await store.list({ type: 'counter', cursor: listed.cursor! });
    expect([...listed.objects, ...rest.objects].map((o) => o.id).sort()).toEqual([...ids].sort());
  });

  it('refuses a second opening of a folder in use in this process, until the first is closed', async () => {
    const dir = await emptyFolder();
    const first = await FileStateStore.create({ dir });
    const refused = await FileStateStore.create({ dir }).then(() => undefined, (err: unknown) => err);
    expect(refused).toBeInstanceOf(StoreUnavailable);
    expect(String((refused as Error).message)).toContain(`process ${process.pid}`);
    await first.close();
    await first.close(); // twice is fine
    await expect(first.read('counter', 'x')).rejects.toBeInstanceOf(StoreUnavailable);
    const again = await openStore(dir);
    expect(await again.read('counter', 'x')).toBeNull();
  });

  it('refuses another process while the folder is held, naming the holder pid', async () => {
    const dir = await emptyFolder();
    await openStore(dir);
    const { reply } = await holdFromChild(dir, children);
    expect(reply).toMatchObject({ opened: false, code: 'STORE_UNAVAILABLE' });
    expect(reply.message).toContain(`in use by process ${process.pid}`);
    expect(reply.message).toContain(join(await realpath(dir), '.lock'));
  });

  it('is refused while another process holds the folder, and takes over the lock it leaves when killed', async () => {
    const dir = await emptyFolder();
    const { reply, child } = await holdFromChild(dir, children);
    expect(reply).toMatchObject({ opened: true, pid: child.pid });
    const refused = await FileStateStore.create({ dir }).then(() => undefined, (err: unknown) => err);
    expect(refused).toBeInstanceOf(StoreUnavailable);
    expect((refused as Error).message).toContain(`in use by process ${child.pid}`);

    // Killed, it cannot remove its lock file: the next opening finds its process dead and clears it.
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect((await readFile(join(dir, '.lock'), 'utf8')).trim()).toBe(String(child.pid));
    const store = await openStore(dir);
    expect((await readFile(join(dir, '.lock'), 'utf8')).trim()).toBe(String(process.pid));
    expect((await store.write({ type: 'counter', id: 'after', body: '{}', epoch: '1', version: 1, condition: { ifNoneMatch: '*' } })).ok).toBe(true);
  });

  it('reads a damaged file as StoredStateCorrupt, and treats it as a conflict for writes', async () => {
    const dir = await emptyFolder();
    const store = await openStore(dir);
    await store.write({ type: 'counter', id: 'torn', body: '{"value":1}', epoch: '1', version: 1, condition: { ifNoneMatch: '*' } });
    const file = store.pathOf('counter', 'torn');
    const intact = await readFile(file, 'utf8');
    for (const damaged of [intact.slice(0, intact.length / 2), '', '{"body":"{}"}', JSON.stringify({ ...JSON.parse(intact), id: 'other' })]) {
      await writeFile(file, damaged);
      const error = await store.read('counter', 'torn').then(() => undefined, (err: unknown) => err);
      expect(error, damaged).toBeInstanceOf(StoredStateCorrupt);
      expect(error).toMatchObject({ key: 'counter/torn.json' });
    }
    expect(await store.write({ type: 'counter', id: 'torn', body: '{}', epoch: '2', version: 2, condition: { ifMatch: 'anything' } })).toEqual({ ok: false, conflict: true });
    expect(await store.write({ type: 'counter', id: 'torn', body: '{}', epoch: '2', version: 1, condition: { ifNoneMatch: '*' } })).toEqual({ ok: false, conflict: true });
    // Listing still shows it (as S3 would); reading it reports the damage.
    expect((await store.list({ type: 'counter' })).objects.map((o) => o.id)).toEqual(['torn']);
  });

  it('turns I/O failures into StoreUnavailable saying what is wrong and where', async () => {
    const dir = await emptyFolder();
    const store = await openStore(dir);
    await writeFile(join(dir, 'todo'), 'not a folder'); // where the type's folder would go
    const write = await store.write({ type: 'todo', id: 't1', body: '{}', epoch: '1', version: 1, condition: { ifNoneMatch: '*' } }).then(() => undefined, (err: unknown) => err);
    expect(write).toBeInstanceOf(StoreUnavailable);
    expect(write).toMatchObject({ code: 'STORE_UNAVAILABLE', operation: 'write', key: 'todo/t1.json', retryable: true });
    expect((write as Error).message).toContain(join(dir, 'todo'));
    expect((write as Error).message).toMatch(/not the store's own file or folder/);
    const read = await store.read('todo', 't1').then(() => undefined, (err: unknown) => err);
    expect(read).toBeInstanceOf(StoreUnavailable);
  });
});

/** Starts a process that opens `dir` (test/contracts/hold-data-folder.ts) and returns its first answer. */
async function holdFromChild(dir: string, children: ChildProcess[]): Promise<{ reply: { opened: boolean; pid?: number; code?: string; message: string }; child: ChildProcess }> {
  const script = fileURLToPath(new URL('./hold-data-folder.ts', import.meta.url));
  const child = spawn(process.execPath, ['--conditions=@highlander/source', '--import', 'tsx', script, dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const reply = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no answer from the second process within ${timing.failoverMs} ms`)), timing.failoverMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const newline = out.indexOf('\n');
      if (newline >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, newline));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!out.includes('\n')) reject(new Error(`the second process exited (${code}) without answering`));
    });
  });
  return { reply: JSON.parse(reply), child };
}
