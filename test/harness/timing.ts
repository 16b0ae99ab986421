/**
 * Every timeout the tests use, in one place. The ZooKeeper session timeout of test nodes is short
 * so that failover after a crash is quick; the rest follow from it. Tests never assert on timings.
 */
const sessionTimeoutMs = Number(process.env.HIGHLANDER_TEST_SESSION_TIMEOUT_MS ?? 4000);

export const timing = {
  /** ZooKeeper session timeout of test nodes (the test server's tickTime is 500 ms: 2–20 ticks). */
  sessionTimeoutMs,
  /** Enough for a node to notice and act on a lifecycle step (idle teardown, activation). */
  eventMs: 15_000,
  /** A call that must survive an owner's crash: session expiry plus a new activation. */
  failoverMs: sessionTimeoutMs * 3 + 10_000,
  /** Fault suite (test/cluster/faults): the timeout of each workload call; the node retries routing within it. */
  faultCallMs: 5000,
  /** Fault suite: an acknowledged call slower than this counts as disturbed when measuring recovery. */
  faultSlowCallMs: 1500,
  /** Fault suite: workload before the first fault, and after the last one has recovered. */
  faultWarmupMs: 1500,
  /** Fault suite: longest wait for the workload to recover from one fault before the scenario goes on (and fails). */
  faultRecoveryMs: sessionTimeoutMs * 3 + 10_000,
  /** Fault suite: ephemeral znodes of a dead or closed session are gone within this. */
  ephemeralsGoneMs: sessionTimeoutMs * 2 + 2000,
  /** Fault suite: one scenario, from starting its nodes to its last check. */
  faultTestMs: 150_000,
} as const;
