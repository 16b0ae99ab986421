import { afterAll, beforeAll, expect, it } from 'vitest';
import { startZooKeeper, type ZooKeeperCluster } from '../../scripts/servers/zookeeper.js';
import { CreateMode, Keyspace, LockQueue, ZkSession, bucketOf, ensureBucket, ensureKeyspaceLayout } from '@highlander/runtime/zookeeper';
import { timing } from '../harness/timing.js';

/**
 * Lock creates that time out on our side can still happen on the server: node-zookeeper-client
 * sends queued requests once the server answers again. A paused ZooKeeper server (SIGSTOP) makes
 * that happen for real; the lock queue must then delete every such znode (and the empty parent),
 * and never the lock it holds.
 */

let zookeeper: ZooKeeperCluster;
let session: ZkSession;
const keyspace = new Keyspace('/t');
const parent = keyspace.lockParent('counter', 'o1');

beforeAll(async () => {
  zookeeper = await startZooKeeper();
  session = await ZkSession.open({ connect: zookeeper.connectString, sessionTimeoutMs: 10_000, requestTimeoutMs: timing.giveUpMs });
  // The bucket exists, so the creates that land late can land (as for any bucket used before).
  await ensureKeyspaceLayout(session, keyspace);
  await ensureBucket(session, keyspace, 'counter', bucketOf('o1'));
});

afterAll(async () => {
  session?.close();
  await zookeeper?.stop();
});

/**
 * An acquire that gives up while the server is paused (as during a quorum loss), then the server
 * answering again: the creates queued in the client land, held by nobody. Returns how the acquire ended.
 */
async function giveUpWhilePaused(queue: LockQueue): Promise<unknown> {
  const server = zookeeper.servers[0]!;
  server.kill('SIGSTOP');
  let outcome: unknown;
  try {
    outcome = await queue.acquire('counter', 'o1', { wait: false, timeoutMs: timing.pausedAcquireMs }).catch((err: unknown) => err);
  } finally {
    server.kill('SIGCONT');
  }
  await expect.poll(async () => (await session.getChildren(parent).catch(() => [] as string[])).length, { timeout: timing.eventMs })
    .toBeGreaterThan(0);
  return outcome;
}

it('sweeps lock znodes whose creates timed out but landed after the acquire gave up', async () => {
  const queue = new LockQueue(session, keyspace, 'node-x');
  expect(await giveUpWhilePaused(queue)).toMatchObject({ code: 'COORDINATOR_UNAVAILABLE' });
  expect(queue.orphanCount).toBeGreaterThan(0);
  await queue.sweepOrphans();
  expect(await session.getChildren(parent).catch(() => [] as string[])).toEqual([]);
  expect(await session.exists(parent)).toBeNull(); // no empty parent left either
  expect(queue.orphanCount).toBe(0);
});

it('keeps looking for a given-up create after a sweep found nothing, for a session timeout', async () => {
  // After a connection breaks, a create sent on it can still be committed after the client listed the
  // parent through another server. Here the late landing is made by hand: the creates that landed
  // are deleted before the first sweep and created again, with the same names, after it.
  const queue = new LockQueue(session, keyspace, 'node-y');
  expect(await giveUpWhilePaused(queue)).toMatchObject({ code: 'COORDINATOR_UNAVAILABLE' });
  const landed = await session.getChildren(parent);
  for (const name of landed) await session.remove(`${parent}/${name}`);

  await queue.sweepOrphans(); // finds nothing of them…
  expect(queue.orphanCount).toBe(1); // …and keeps looking
  // The sweep deleted the empty parent; the first attempt's multi creates it again with its lock.
  await session.create(parent, undefined, CreateMode.PERSISTENT);
  for (const name of landed) await session.create(`${parent}/${name.slice(0, -10)}`, undefined, CreateMode.EPHEMERAL_SEQUENTIAL);
  expect((await session.getChildren(parent)).length).toBe(landed.length);

  await queue.sweepOrphans();
  expect(await session.getChildren(parent).catch(() => [] as string[])).toEqual([]);
  expect(await session.exists(parent)).toBeNull();
  expect(queue.orphanCount).toBe(0); // a create lands once: found and deleted, the search is over
});

it('stops looking for a given-up create that never landed once a session timeout has passed', async () => {
  const queue = new LockQueue(session, keyspace, 'node-z');
  await giveUpWhilePaused(queue);
  for (const name of await session.getChildren(parent)) await session.remove(`${parent}/${name}`); // as if they never landed
  await queue.sweepOrphans();
  expect(queue.orphanCount).toBe(1);
  // Swept again and again (as the coordinator does every few seconds), the entry goes once the session timeout has passed.
  await expect.poll(async () => {
    await queue.sweepOrphans();
    return queue.orphanCount;
  }, { timeout: session.negotiatedTimeoutMs + timing.eventMs, interval: timing.pollMs }).toBe(0);
  expect(await session.exists(parent)).toBeNull();
});
