import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Every timeout and every deliberate duration the tests use, in one place. The ZooKeeper session
 * timeout of test nodes is short so that failover after a crash is quick; the rest follow from it.
 *
 * Two kinds of entries:
 * - **Timeouts** bound a wait for a condition: `expect.poll(…, { timeout: timing.eventMs })`,
 *   `vi.waitFor(…, { timeout })`, Playwright's `waitFor({ timeout })`, an event with a deadline. A
 *   test never sleeps to wait for something; it polls for it, or waits for the event.
 * - **Durations** are part of a scenario: how long a fault stays in place, how long a workload keeps
 *   running around it, how far apart messages are spaced. Only these are slept, with {@link hold}.
 *
 * Tests never assert on timings (speed belongs in bench/).
 */
const sessionTimeoutMs = Number(process.env.HIGHLANDER_TEST_SESSION_TIMEOUT_MS ?? 4000);
const faultCallMs = 5000;

export const timing = {
  // ---- timeouts: waits for a condition ----

  /** ZooKeeper session timeout of test nodes (the test server's tickTime is 500 ms: 2–20 ticks). */
  sessionTimeoutMs,
  /** Enough for a node to notice and act on a lifecycle step (idle teardown, activation). */
  eventMs: 15_000,
  /** A call that must survive an owner's crash: session expiry plus a new activation. */
  failoverMs: sessionTimeoutMs * 3 + 10_000,
  /** Something in the test process or on loopback, no cluster involved (a ws reconnect, a timer of the code under test). */
  localMs: 5000,
  /** A process asked to stop with SIGTERM gets this long before it is killed with SIGKILL (teardown). */
  exitMs: 10_000,
  /** test/harness: a request to a harness ZooKeeper server (node-zookeeper-client has no request timeout of its own). */
  harnessRequestMs: 10_000,
  /** ZooKeeper's Java client (`zkCli.sh`): a JVM start, a connection and one command, or the error it reports. */
  javaClientMs: 30_000,
  /**
   * test/harness: a ZooKeeper ensemble noticing a partition and electing again (syncLimit of 5 ticks of 500 ms for a
   * leader to notice, then an election; a partitioned JVM's threads wait out their socket timeouts).
   */
  zkElectionMs: 60_000,
  /** A test that starts an ensemble and waits for elections (up to three, each within zkElectionMs) on a loaded machine. */
  zkEnsembleTestMs: 240_000,
  /**
   * The interval of a poll whose every try is heavy (a read of the whole ZooKeeper tree, a call per object, a
   * talk's snapshot). Other polls keep vitest's 50 ms.
   */
  pollMs: 200,

  // ---- durations: part of a scenario ----

  /** Acquires and calls that must give up (the test checks that they do): short, so that the test is quick. */
  giveUpMs: 300,
  /** How long `slowIncrement` keeps an object busy: long enough to act while it runs (a SIGTERM, a call that times out behind it). */
  slowHandlerMs: 1500,
  /** Contracts: how long each holder keeps a lock, so that two holders at once would overlap. */
  lockHoldMs: 5,
  /**
   * test/cluster/lock-queue-orphans: the ZooKeeper server stays paused (SIGSTOP) while one acquire tries
   * for this long; its lock creates time out after giveUpMs each, and land once the server runs again.
   */
  pausedAcquireMs: 800,
  /** A test's client pauses this long after a failed call before its next one, so that an outage does not become a busy loop. */
  retryPauseMs: 20,
  /**
   * test/cluster/store-outage: the nodes' call timeout, longer than a write takes to fail against a stopped
   * radosgw, so that a call the outage hit fails with StoreUnavailable rather than CallTimeout.
   */
  outageCallMs: 5000,
  /** test/cluster/store-outage: the calls run this long against a healthy store before radosgw stops. */
  storeOutageLoadMs: 700,
  /** test/cluster/store-outage: radosgw stays stopped this long while the calls go on. */
  storeOutageMs: 1500,
  /** test/cluster/admin-actions: clients hammer the object this long before the migration, and again after it. */
  migrationLoadMs: 700,
  /**
   * test/cluster/admin-actions: the owner stays paused this long before its lock is deleted, as the admin API
   * does after a graceful eviction was ignored (3 s by default; shorter here).
   */
  pausedOwnerMs: 1500,
  /**
   * test/audience: participants send one emoji each this far apart (the gateway allows 1 emoji per second per
   * device after a burst): a little over a second, so that every emoji of the load is acknowledged.
   */
  emojiSpacingMs: 1100,
  /** test/audience: participants keep sending this long before the talk's owner is killed. */
  audienceLoadMs: 2500,
  /** test/audience: and this long after the kill: the dead owner's session expires and another node takes the talk meanwhile. */
  audienceFailoverLoadMs: sessionTimeoutMs + 4000,
  /** test/scripts: how long the demo runs its workload (it takes whole seconds). */
  demoRunMs: 6000,

  // ---- the fault suite (test/cluster/faults) ----

  /** The timeout of each workload call; the node retries routing within it. */
  faultCallMs,
  /** An acknowledged call slower than this counts as disturbed when measuring recovery. */
  faultSlowCallMs: 1500,
  /** Workload before the first fault, and after the last one has recovered. */
  faultWarmupMs: 1500,
  /** Longest wait for the workload to recover from one fault before the scenario goes on (and fails). */
  faultRecoveryMs: sessionTimeoutMs * 3 + 10_000,
  /** Ephemeral znodes of a dead or closed session are gone within this. */
  ephemeralsGoneMs: sessionTimeoutMs * 2 + 2000,
  /** One scenario, from starting its nodes to its last check. */
  faultTestMs: 150_000,
  /** When the workload stops, its calls in flight get this long to end (past it, they never answered). */
  faultStopMs: faultCallMs + 5000,
  /** A workload client pauses about this long after a call that did not succeed, and while no node is in its pool. */
  faultClientPauseMs: 50,
  /** A killed ZooKeeper server (leader or follower) stays down this long. */
  faultZkDownMs: 2000,
  /** The randomized schedule: a killed ZooKeeper server stays down this long. */
  faultScheduleZkDownMs: 1500,
  /** Two of the three ZooKeeper servers stay down this long. */
  faultQuorumLossMs: 10_000,
  /** radosgw stays stopped this long. */
  faultStoreOutageMs: 5000,
  /** The randomized schedule: radosgw stays stopped this long. */
  faultScheduleStoreOutageMs: 3000,
  /** The ZooKeeper server is killed this long after the burst of first calls went out, so that it meets lock creates in flight. */
  faultBurstKillDelayMs: 10,
  /** After a ZooKeeper server is killed, the others count as not having stopped serving if they still all serve after this. */
  faultElectionWindowMs: 1000,
  /** Extra latency each way on a node's ZooKeeper path in the latency-spike test (under a third of the session timeout). */
  faultLatencySpikeMs: Math.floor(sessionTimeoutMs / 4),
  /** A flapping path is cut and restored once per this period… */
  faultFlapPeriodMs: 600,
  /** …for this long. */
  faultFlapMs: 6000,
  /** The randomized schedule: how long a blocking cut (S3, peers, one-way loss) holds. */
  faultScheduleCutMs: 3000,
  /** The randomized schedule: the gap between two faults, drawn from 0.5–1.5 times this. */
  faultScheduleGapMs: 1000,
  /** The time the soak's linearizability search may take per register before it reports no verdict. */
  soakLinearizabilityMs: 60_000,
  /** A soak's check of its whole history (200,000 ops for 30 minutes), beyond the run itself. */
  soakCheckMs: 30 * 60_000,
  /** The randomized schedule in CI draws this many faults (the soak draws until its time is up). */
  faultScheduleCount: 5,
  /** A fault's calls count as disturbed only once they have been in flight longer than faultSlowCallMs; recovery is judged this much later. */
  faultSettleMarginMs: 500,

  // ---- the fault proxy (test/scripts/servers/fault-proxy) ----

  /** A proxy fault stays in place this long before the test checks that nothing crossed it. */
  proxyFaultMs: 300,
  /** The latency a proxy's `delay` mode adds to every chunk. */
  proxyDelayMs: 200,
  /** One cut and one restore of a flapping proxy. */
  proxyFlapPeriodMs: 100,
  /** How long a proxy flaps. */
  proxyFlapMs: 1000,

  // ---- the browser (test/e2e) ----

  /** The page shows what happened (a view, a notice, the map repainting). */
  uiMs: 15_000,
  /** An admin action in the UI reports its result (a forced eviction first waits out the graceful one). */
  uiActionMs: 30_000,
  /** One look at the page inside a poll (a read of an element that may not be there yet): the poll looks again. */
  uiLookMs: 1000,
  /** The dashboard's live connection is back after the admin API restarted (its reconnect backs off). */
  uiReconnectMs: 30_000,
  /** The page shows what follows a killed owner: its session expires and another node activates the object. */
  uiFailoverMs: 45_000,
  /** A view gets this long to show an error notice (or to finish animating) before it is checked and photographed. */
  uiSettleMs: 500,
  /**
   * test/runtime/zookeeper/zk-session-restart: how long the ZooKeeper server stays down in each of its restarts,
   * from none to past a heartbeat, so that reconnections land in different phases of its stop and start.
   */
  restartDownMs: [0, 300, 1200, 600],
  /** test/e2e/audience: the phone stays offline this long with a new slider value, which must not reach the talk meanwhile. */
  offlineMs: 1500,
  /** test/e2e/audience: a resent emoji would have reached the talk within this (it must not be resent). */
  resendWindowMs: 1000,
  /** Session timeout of the audience e2e nodes: short, so that the talk's owner killed with -9 is replaced quickly. */
  uiSessionTimeoutMs: 5000,
  /** Session timeout of the dashboard e2e nodes: long enough that a paused owner is still a member when it is force-evicted. */
  uiPausedSessionTimeoutMs: 12_000,

  // ---- test and hook timeouts beyond vitest.config.ts's ----

  /** Starting a browser test's stack: three node processes, the admin API process and Chromium. */
  uiStackStartMs: 120_000,
  /** A browser test that restarts the admin API or kills a node. */
  uiLongTestMs: 120_000,
  /** The demo test: three runs, each a start, demoRunMs of workload and a stop. */
  demoTestMs: 120_000,
} as const;

/**
 * Lets a scenario run for one of the durations above (a fault in place, a workload going on); at once
 * when the duration is 0 or less (what is left of one that started earlier).
 * Never a way to wait for something to happen: poll for it (`expect.poll`, `vi.waitFor`).
 */
export function hold(durationMs: number): Promise<void> {
  return sleep(Math.max(0, durationMs));
}
