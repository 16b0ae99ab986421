/** Small helpers about time, used everywhere instead of local copies. */

/** Resolves after `ms` (at once for 0 or less). An `unref`ed timer: it keeps no process alive by itself when `unref` is set. */
export function sleep(ms: number, options: { unref?: boolean } = {}): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, ms));
    if (options.unref) timer.unref();
  });
}

/**
 * Waits for the first of `promises` to settle, or `ms`, whichever comes first, and clears its
 * timer: a timer left behind would keep a library user's process alive after it stopped.
 * Never rejects: a promise's rejection counts as settling.
 */
export async function raceTimeout(ms: number, ...promises: Promise<unknown>[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const settled = promises.map((p) => p.then(() => undefined, () => undefined));
  try {
    await Promise.race([...settled, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))))]);
  } finally {
    clearTimeout(timer);
  }
}

/** A duration in milliseconds rounded to `decimals` (two unless said: 10 µs), for events and replies. */
export function roundMs(ms: number, decimals = 2): number {
  const scale = 10 ** decimals;
  return Math.round(ms * scale) / scale;
}
