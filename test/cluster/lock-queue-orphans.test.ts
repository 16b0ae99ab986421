import { afterAll, beforeAll, expect, it } from 'vitest';
import { startZooKeeper, type ZooKeeperCluster } from '../../scripts/servers/zookeeper.js';
import { Keyspace, LockQueue, ZkSession, bucketOf, ensureBucket, ensureKeyspaceLayout } from '@highlander/runtime/zookeeper';
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

it('sweeps lock znodes whose creates timed out but landed after the acquire gave up', async () => {
  const queue = new LockQueue(session, keyspace, 'node-x');
  const server = zookeeper.servers[0]!;
  server.kill('SIGSTOP');
  let outcome: unknown;
  try {
    // The acquire gives up while the server is paused (as during a quorum loss)…
    outcome = await queue.acquire('counter', 'o1', { wait: false, timeoutMs: timing.pausedAcquireMs }).catch((err: unknown) => err);
  } finally {
    server.kill('SIGCONT');
  }
  expect(outcome).toMatchObject({ code: 'COORDINATOR_UNAVAILABLE' });
  // …then the server answers, and the creates queued in the client land, held by nobody.
  await expect.poll(async () => (await session.getChildren(parent).catch(() => [] as string[])).length, { timeout: timing.eventMs })
    .toBeGreaterThan(0);
  expect(queue.orphanCount).toBeGreaterThan(0);
  await queue.sweepOrphans();
  expect(await session.getChildren(parent).catch(() => [] as string[])).toEqual([]);
  expect(await session.exists(parent)).toBeNull(); // no empty parent left either
  expect(queue.orphanCount).toBe(0);
});
