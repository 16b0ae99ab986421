import { CLOSE_TALK_NOT_FOUND } from './protocol.ts';

/**
 * When the audience page reconnects, and whether it should: pure, unit-tested. Venue wifi drops
 * connections all the time; the page keeps trying, backing off so a room full of phones does not
 * hammer a recovering server, with jitter so they do not come back in step.
 */

/** Delays before attempt 1, 2, 3…; the last one repeats. */
export const BACKOFF_MS = [300, 1000, 2000, 4000, 8000] as const;

/** The delay before reconnect attempt `attempt` (0 = the first after a drop), ±25 % jitter. */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = BACKOFF_MS[Math.min(Math.max(0, attempt), BACKOFF_MS.length - 1)]!;
  return Math.round(base * (0.75 + random() * 0.5));
}

export type CloseVerdict =
  /** Try again after the backoff delay. */
  | { action: 'retry'; why: string }
  /** Trying again cannot help (no such talk): say so and wait for the person. */
  | { action: 'stop'; why: string };

/** What to do when the ws closed with `code` (1006 when it never opened or dropped). */
export function closeVerdict(code: number, reason: string): CloseVerdict {
  switch (code) {
    case CLOSE_TALK_NOT_FOUND:
      return { action: 'stop', why: 'not-found' };
    case 1001:
      return { action: 'retry', why: 'The server restarted' };
    case 1008:
    case 1009:
      return { action: 'retry', why: reason || 'The server closed the connection' };
    default:
      return { action: 'retry', why: 'The connection dropped' };
  }
}

/** A connection that heard nothing for this long is presumed dead (the server speaks every ~2 s). */
export const SILENCE_MS = 8000;
