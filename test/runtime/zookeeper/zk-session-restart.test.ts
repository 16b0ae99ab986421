import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startZooKeeper, type ZooKeeperCluster } from '../../../scripts/servers/zookeeper.js';
import { ZkSession } from '@highlander/runtime/zookeeper';
import { hold, timing } from '../../harness/timing.js';

/**
 * Sessions come back after their ZooKeeper server restarts. node-zookeeper-client alone leaves some
 * clients waiting for good on a connection the restarting server accepted and never answered (a
 * handshake without a timeout); ZkSession cuts such a handshake, like the Java client, and the
 * client connects again. Several sessions, several restarts with different down times: every
 * session is connected again after each one.
 */

let zk: ZooKeeperCluster;
const sessions: ZkSession[] = [];

beforeAll(async () => {
  zk = await startZooKeeper();
  for (let i = 0; i < 8; i++) sessions.push(await ZkSession.open({ connect: zk.connectString, sessionTimeoutMs: timing.sessionTimeoutMs }));
}, timing.zkEnsembleTestMs);

afterAll(async () => {
  for (const session of sessions) session.close();
  await zk?.stop();
});

describe('ZkSession across server restarts', () => {
  it('every session reconnects after each restart of its server', async () => {
    for (const downMs of timing.restartDownMs) {
      await zk.servers[0]!.stop();
      await hold(downMs);
      await zk.servers[0]!.start();
      await expect.poll(() => sessions.filter((s) => !s.connected).length, { timeout: timing.eventMs, interval: timing.pollMs }).toBe(0);
    }
    // Each is a working session (resumed, or renewed if the outage outlasted it).
    for (const session of sessions) expect(await session.exists('/')).not.toBeNull();

  }, timing.zkEnsembleTestMs);
});
