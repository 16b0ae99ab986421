import zookeeper, { type Client } from 'node-zookeeper-client';
import { afterEach, describe, expect, it } from 'vitest';
import { uniqueRoot } from '../../scripts/cluster.js';
import { ZooKeeperSource } from '@highlander/admin-api';
import { KeyspaceLayoutMismatch, ZooKeeperCoordinator, type MemberInfo } from '@highlander/runtime';
import { CreateMode, Keyspace, bucketOf } from '@highlander/runtime/zookeeper';
import { zookeeperConnect } from '../harness/servers.js';
import { timing } from '../harness/timing.js';

/** The admin API's view of ZooKeeper on the bucketed keyspace, against the harness's real ZooKeeper. */

const closers: Array<() => unknown> = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function member(name: string): MemberInfo {
  return { name, address: `ws://127.0.0.1:1/${name}`, pid: process.pid, startedAt: Date.now(), activations: 0, draining: false };
}

async function coordinator(root: string, name: string): Promise<ZooKeeperCoordinator> {
  const c = new ZooKeeperCoordinator({ connect: zookeeperConnect(), root, sessionTimeoutMs: timing.sessionTimeoutMs });
  await c.start(member(name));
  closers.push(() => c.stop());
  return c;
}

/** A client without the keyspace writer's identity, as the previous version's nodes were. */
async function previousVersionClient(): Promise<Client> {
  const client = zookeeper.createClient(zookeeperConnect(), { sessionTimeout: timing.sessionTimeoutMs, retries: 0 });
  closers.push(() => client.close());
  await new Promise<void>((resolve) => {
    client.once('connected', () => resolve());
    client.connect();
  });
  return client;
}

describe('ZooKeeperSource', () => {
  it('scans lock queues bucket by bucket, and leaves out what is not a bucket', async () => {
    const root = uniqueRoot('source-scan');
    const a = await coordinator(root, 'node-a');
    const b = await coordinator(root, 'node-b');
    const ids = ['a', 'groceries', 'list-1', 'obj-0000001'];
    expect(new Set(ids.map(bucketOf)).size).toBe(ids.length); // four buckets
    for (const id of ids) expect(await a.acquire('todo', id, { wait: false, timeoutMs: timing.localMs })).toMatchObject({ acquired: true });
    // node-b waits behind node-a for one of them.
    const waiting = b.acquire('todo', 'groceries', { wait: true, timeoutMs: timing.eventMs });
    const keyspace = new Keyspace(root);
    await expect.poll(async () => (await a.session.getChildren(keyspace.lockParent('todo', 'groceries'))).length, { timeout: timing.eventMs }).toBe(2);
    // Something else under the type (an operator's znode) is not read as a bucket.
    await a.session.create(`${keyspace.typePath('todo')}/notes`, undefined, CreateMode.PERSISTENT);

    const source = await ZooKeeperSource.open({ connect: zookeeperConnect(), root });
    closers.push(() => source.close());
    const scan = await source.scanLockQueues({ concurrency: 4 });
    expect(scan.map((q) => `${q.type}/${q.id}`).sort()).toEqual(ids.map((id) => `todo/${id}`).sort());
    for (const q of scan) {
      expect(q.entries[0].node).toBe('node-a');
      expect(q.entries[0].path.startsWith(`${keyspace.lockParent(q.type, q.id)}/`)).toBe(true);
    }
    expect(scan.find((q) => q.id === 'groceries')!.entries.map((e) => e.node)).toEqual(['node-a', 'node-b']);
    expect((await source.lockQueue('todo', 'groceries')).map((e) => e.node)).toEqual(['node-a', 'node-b']);

    await a.stop();
    expect(await waiting).toMatchObject({ acquired: true });
  });

  it('refuses a root whose previous-layout locks are held, naming them', async () => {
    const root = uniqueRoot('source-previous');
    const previous = await previousVersionClient();
    await new Promise<void>((resolve, reject) => previous.mkdirp(`${root}/objects/todo`, (error) => (error ? reject(error) : resolve())));
    await new Promise<void>((resolve, reject) => previous.transaction()
      .create(`${root}/objects/todo/a`, CreateMode.PERSISTENT)
      .create(`${root}/objects/todo/a/lock-old-0-0-`, CreateMode.EPHEMERAL_SEQUENTIAL)
      .commit((error) => (error ? reject(error) : resolve())));
    const refused = await ZooKeeperSource.open({ connect: zookeeperConnect(), root }).then(
      (source) => {
        closers.push(() => source.close());
        return new Error('opened');
      },
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(KeyspaceLayoutMismatch);
    expect((refused as Error).message).toContain('todo/a');
  });
});
