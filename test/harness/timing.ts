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
} as const;
