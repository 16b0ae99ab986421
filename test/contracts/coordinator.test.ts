import { vi } from 'vitest';
import { uniqueRoot } from '../../scripts/cluster.js';
import { raceTimeout } from '@highlander/kit';
import { EmbeddedRegistry, ZooKeeperCoordinator, type Coordinator } from '@highlander/runtime';
import { ZkSession } from '@highlander/runtime/zookeeper';
import { zookeeperConnect } from '../harness/servers.js';
import { stealAndClose } from '../harness/session-expiry.js';
import { timing } from '../harness/timing.js';
import { coordinatorContract } from './coordinator-contract.js';

/** The coordinator contract against the real ZooKeeper of the test harness, and against the embedded registry. */

coordinatorContract('ZooKeeperCoordinator', async () => {
  const connect = zookeeperConnect();
  const root = uniqueRoot('contract');
  // The raw session an operator's tool would use to delete a lock znode.
  const raw = await ZkSession.open({ connect });
  return {
    coordinator: () => new ZooKeeperCoordinator({ connect, root, sessionTimeoutMs: timing.sessionTimeoutMs, nameWaitMs: 1000 }),
    forceDelete: (entry) => raw.remove(entry.path),
    expireSession: (coordinator) => expireZooKeeperSession(connect, coordinator),
    close: async () => raw.close(),
  };
});

coordinatorContract('EmbeddedCoordinator', async () => {
  const registry = new EmbeddedRegistry();
  return {
    coordinator: () => registry.coordinator(),
    forceDelete: async (entry) => {
      if (!registry.forceDelete(entry.path)) throw new Error(`no lock-queue entry at ${entry.path}`);
    },
    expireSession: async (_coordinator, node) => {
      if (!registry.expireSession(node)) throw new Error(`no live member '${node}'`);
    },
    close: async () => {},
  };
});

/**
 * Forces a session expiry the way test/cluster/faults does: a second client opens the victim's
 * session with its id and password, then closes it; the victim's next contact finds it expired.
 * If the victim wins the session back before the close arrives (it reconnects within ~100 ms), the
 * session survives: then steal it again, until the victim reports `sessionLost` (at most timing.failoverMs).
 */
async function expireZooKeeperSession(connect: string, coordinator: Coordinator): Promise<void> {
  if (!(coordinator instanceof ZooKeeperCoordinator)) throw new TypeError('not a ZooKeeperCoordinator');
  let lost = false;
  const sessionLost = new Promise<void>((resolve) => coordinator.once('sessionLost', () => {
    lost = true;
    resolve();
  }));
  await vi.waitFor(async () => {
    await stealAndClose(connect, { ...coordinator.session.credentials, timeoutMs: coordinator.session.negotiatedTimeoutMs });
    await raceTimeout(timing.sessionTimeoutMs, sessionLost);
    if (!lost) throw new Error(`the session survived forced expiries for ${timing.failoverMs} ms`);
  }, { timeout: timing.failoverMs });
}
