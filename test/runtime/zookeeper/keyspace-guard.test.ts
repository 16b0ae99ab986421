import zookeeper, { type Client } from 'node-zookeeper-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { uniqueRoot } from '../../../scripts/cluster.js';
import { KeyspaceLayoutMismatch, ZooKeeperCoordinator, type MemberInfo } from '@highlander/runtime';
import {
  CreateMode, Exception, Keyspace, ZkSession, ensureKeyspaceLayout, isGuardedAcl, readKeyspaceLayout,
} from '@highlander/runtime/zookeeper';
import { zookeeperConnect } from '../../harness/servers.js';
import { timing } from '../../harness/timing.js';

/**
 * Moving a cluster's root to the bucketed keyspace, against the harness's real ZooKeeper. A node of
 * the previous version is played by a client without the keyspace writer's identity doing what that
 * version did: lock parents directly under `<root>/objects/<type>/`, created in one multi with the lock.
 */

let session: ZkSession;
const clients: Client[] = [];
const coordinators: ZooKeeperCoordinator[] = [];

beforeAll(async () => {
  session = await ZkSession.open({ connect: zookeeperConnect() });
});

afterAll(() => session.close());

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(coordinators.splice(0).map((c) => c.stop()));
});

/** A client of the previous version: no keyspace writer identity. */
async function previousVersionClient(): Promise<Client> {
  const client = zookeeper.createClient(zookeeperConnect(), { sessionTimeout: timing.sessionTimeoutMs, retries: 0 });
  clients.push(client);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no connection to ZooKeeper')), timing.harnessRequestMs);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve();
    });
    client.connect();
  });
  return client;
}

/** What the previous version's lock queue sent for an object nobody held: the parent and the lock in one multi. */
function previousVersionLock(client: Client, root: string, type: string, id: string): Promise<string> {
  const parent = `${root}/objects/${type}/${id}`;
  return new Promise((resolve, reject) => {
    client.transaction()
      .create(parent, CreateMode.PERSISTENT)
      .create(`${parent}/lock-old-node-0-0-`, CreateMode.EPHEMERAL_SEQUENTIAL)
      .commit((error, results) => (error ? reject(error) : resolve((results as Array<{ path: string }>)[1]!.path)));
  });
}

function mkdirp(client: Client, path: string): Promise<void> {
  return new Promise((resolve, reject) => client.mkdirp(path, (error) => (error ? reject(error) : resolve())));
}

function codeOf(err: unknown): number | undefined {
  return (err as { getCode?: () => number }).getCode?.();
}

function member(name: string): MemberInfo {
  return { name, address: `ws://127.0.0.1:1/${name}`, pid: process.pid, startedAt: Date.now(), activations: 0, draining: false };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => new Error('expected a failure, got none'), (err: unknown) => err);
}

describe('keyspace guard', () => {
  it('writes the marker on a fresh root and lets only this version create types', async () => {
    const keyspace = new Keyspace(uniqueRoot('keyspace-fresh'));
    expect(await readKeyspaceLayout(session, keyspace)).toBe('absent');
    await ensureKeyspaceLayout(session, keyspace);
    expect(await readKeyspaceLayout(session, keyspace)).toBe('current');
    expect(isGuardedAcl(await session.getACL(keyspace.objectsPath))).toBe(true);

    const previous = await previousVersionClient();
    expect(codeOf(await failure(mkdirp(previous, keyspace.typePath('todo'))))).toBe(Exception.NO_AUTH);
    // Running it again on a moved root changes nothing.
    await ensureKeyspaceLayout(session, keyspace);
    expect(await readKeyspaceLayout(session, keyspace)).toBe('current');
  });

  it('refuses a root whose previous-layout locks are held, changing nothing; moves it once they are gone, and the previous version then gets no lock', async () => {
    const root = uniqueRoot('keyspace-move');
    const keyspace = new Keyspace(root);
    const previous = await previousVersionClient();
    await mkdirp(previous, `${root}/objects/todo`);
    await mkdirp(previous, `${root}/nodes`);
    await previousVersionLock(previous, root, 'todo', 'a');
    await mkdirp(previous, `${root}/objects/todo/left-behind`); // an empty lock parent a crash left

    const refused = await failure(ensureKeyspaceLayout(session, keyspace));
    expect(refused).toBeInstanceOf(KeyspaceLayoutMismatch);
    expect((refused as Error).message).toContain(`${root}/objects/todo/a`);
    expect((refused as Error).message).toContain('stop every node of the previous version');
    expect(await readKeyspaceLayout(session, keyspace)).toBe('absent');
    expect(isGuardedAcl(await session.getACL(keyspace.objectsPath))).toBe(false);
    // A node of this version refuses to start there too, with the same error.
    const early = new ZooKeeperCoordinator({ connect: zookeeperConnect(), root, sessionTimeoutMs: timing.sessionTimeoutMs });
    expect(await failure(early.start(member('node-new')))).toBeInstanceOf(KeyspaceLayoutMismatch);

    // The previous version's node stops: its session, and the lock with it, are gone.
    previous.close();
    await expect.poll(() => session.getChildren(`${root}/objects/todo/a`), { timeout: timing.eventMs }).toEqual([]);
    await ensureKeyspaceLayout(session, keyspace);
    expect(await readKeyspaceLayout(session, keyspace)).toBe('current');
    expect(await session.getChildren(keyspace.typePath('todo'))).toEqual([]);
    expect(isGuardedAcl(await session.getACL(keyspace.objectsPath))).toBe(true);
    expect(isGuardedAcl(await session.getACL(keyspace.typePath('todo')))).toBe(true);

    // A node of the previous version started again gets no lock, in a type it knew or a new one.
    const again = await previousVersionClient();
    expect(codeOf(await failure(previousVersionLock(again, root, 'todo', 'c')))).toBe(Exception.NO_AUTH);
    expect(codeOf(await failure(mkdirp(again, `${root}/objects/other`)))).toBe(Exception.NO_AUTH);

    // A node of this version takes the object, in its bucket.
    const coordinator = new ZooKeeperCoordinator({ connect: zookeeperConnect(), root, sessionTimeoutMs: timing.sessionTimeoutMs });
    coordinators.push(coordinator);
    await coordinator.start(member('node-new'));
    const acquired = await coordinator.acquire('todo', 'c', { wait: false, timeoutMs: timing.localMs });
    expect(acquired.acquired).toBe(true);
    if (acquired.acquired) expect(acquired.lock.path.startsWith(`${keyspace.lockParent('todo', 'c')}/lock-node-new-`)).toBe(true);
  });

  it('moves one root from several nodes at once', async () => {
    const root = uniqueRoot('keyspace-race');
    const keyspace = new Keyspace(root);
    const previous = await previousVersionClient();
    for (const id of ['a', 'b', 'c']) await mkdirp(previous, `${root}/objects/todo/${id}`);
    const sessions = await Promise.all([1, 2, 3].map(() => ZkSession.open({ connect: zookeeperConnect() })));
    try {
      await Promise.all(sessions.map((s) => ensureKeyspaceLayout(s, keyspace)));
    } finally {
      for (const s of sessions) s.close();
    }
    expect(await readKeyspaceLayout(session, keyspace)).toBe('current');
    expect(await session.getChildren(keyspace.typePath('todo'))).toEqual([]);
  });

  it('refuses a root marked with another layout', async () => {
    const keyspace = new Keyspace(uniqueRoot('keyspace-other'));
    await session.mkdirp(keyspace.root);
    await session.create(keyspace.layoutPath, Buffer.from('{"version":3}'), CreateMode.PERSISTENT);
    const refused = await failure(ensureKeyspaceLayout(session, keyspace));
    expect(refused).toBeInstanceOf(KeyspaceLayoutMismatch);
    expect((refused as Error).message).toContain('{\\"version\\":3}');
    expect(await session.exists(keyspace.objectsPath)).toBeNull();
  });
});
