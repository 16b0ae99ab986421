/** The defaults of `AdminApiOptions` (admin-api.ts), in one place (the parts that take them use these too). */
export const ADMIN_API_DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  requestTimeoutMs: 30_000,
  maxBodyBytes: 16 * 1024,
  evictGraceMs: 3000,
  actionTimeoutMs: 30_000,
  callTimeoutMs: 10_000,
  maxStateBytes: 1024 * 1024,
  reconcileIntervalMs: 60_000,
  /** Automatic rebalancing (off unless asked for): its policy. */
  rebalance: {
    thresholdPercent: 20,
    minDifference: 2,
    cooldownMs: 10 * 60_000,
    movesPerSecond: 2,
    concurrency: 2,
  },
} as const;
