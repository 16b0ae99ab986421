import { afterAll, beforeAll, expect, it } from 'vitest';
import { startZooKeeper, type ZooKeeperCluster } from '../../scripts/servers/zookeeper.js';
import { LockQueue } from '@highlander/runtime/zookeeper';
import { ZkSession } from '@highlander/runtime/zookeeper';
import { timing } from '../harness/timing.js';

/**
 * Lock creates that time out on our side can still happen on the server: node-zookeeper-client
 * sends queued requests once the server answers again. A paused ZooKeeper server (SIGSTOP) makes
 * that happen for real; the lock queue must then delete every such znode (and the empty parent),
 * and never the lock it holds.
 */

let zookeeper: ZooKeeperCluster;
let session: ZkSession;

beforeAll(async () => {
  zookeeper = await startZooKeeper();
  session = await ZkSession.open({ connect: zookeeper.connectString, sessionTimeoutMs: 10_000, requestTimeoutMs: timing.giveUpMs });
  await session.mkdirp('/t/objects/counter');
});

afterAll(async () => {
  session?.close();
  await zookeeper?.stop();
});

it('sweeps lock znodes whose creates timed out but landed after the acquire gave up', async () => {
  const queue = new LockQueue(session, '/t/objects', 'node-x');
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
  await expect.poll(async () => (await session.getChildren('/t/objects/counter/o1').catch(() => [] as string[])).length, { timeout: timing.eventMs })
    .toBeGreaterThan(0);
  expect(queue.orphanCount).toBeGreaterThan(0);
  await queue.sweepOrphans();
  expect(await session.getChildren('/t/objects/counter/o1').catch(() => [] as string[])).toEqual([]);
  expect(await session.exists('/t/objects/counter/o1')).toBeNull(); // no empty parent left either
  expect(queue.orphanCount).toBe(0);
});
