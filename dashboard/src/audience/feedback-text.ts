import type { Limits, RejectedMessage } from './protocol.ts';

/**
 * What the audience page says when the gateway refuses something: short, in words a person in a
 * lecture hall understands, with the wait when there is one. Pure, unit-tested.
 */

/** "0.4 s", "2 s". */
export function formatWait(ms: number): string {
  const s = ms / 1000;
  return s < 1 ? `${Math.max(0.1, Math.ceil(s * 10) / 10)} s` : `${Math.ceil(s)} s`;
}

/** One emoji per second: "one emoji per second", "2 emoji per second", "an emoji every 2 s". */
export function emojiRate(limits: Pick<Limits, 'emojiPerSecond'> | null): string {
  const rate = limits?.emojiPerSecond ?? 1;
  if (rate === 1) return 'one emoji per second';
  if (rate > 1) return `${rate} emoji per second`;
  return `an emoji every ${formatWait(1000 / rate)}`;
}

/** The message for a `rejected`; `about` says what was refused when the ref told us. */
export function rejectionText(rejected: Pick<RejectedMessage, 'reason' | 'message' | 'retryAfterMs'>, about: 'emoji' | 'position' | null, limits: Limits | null): string {
  const wait = rejected.retryAfterMs !== undefined && rejected.retryAfterMs > 0 ? ` · try again in ${formatWait(rejected.retryAfterMs)}` : '';
  switch (rejected.reason) {
    case 'rate-limited':
      return about === 'emoji' ? `Slow down: ${emojiRate(limits)}${wait}` : `Slow down: too many messages${wait}`;
    case 'closed':
      return about === 'emoji' ? 'The talk is closed: that emoji was not counted' : 'The talk is closed: your rating was not counted';
    case 'not-curated':
      return 'That emoji is not on the palette';
    case 'room-full':
      return 'The room is full: your rating is not counted';
    case 'talk-not-found':
      return 'There is no talk with this code any more';
    default:
      return rejected.message || 'The room refused that';
  }
}
