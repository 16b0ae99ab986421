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
export function rejectionText(rejected: Pick<RejectedMessage, 'reason' | 'message' | 'retryAfterMs'>, about: 'emoji' | 'position' | 'question' | 'vote' | null, limits: Limits | null): string {
  const wait = rejected.retryAfterMs !== undefined && rejected.retryAfterMs > 0 ? ` · try again in ${formatWait(rejected.retryAfterMs)}` : '';
  switch (rejected.reason) {
    case 'rate-limited':
      if (about === 'emoji') return `Slow down: ${emojiRate(limits)}${wait}`;
      if (about === 'question') return `Slow down: ${limits?.questionBurst ?? 2} questions at once, then ${limits?.questionsPerMinute ?? 2} a minute${wait}`;
      if (about === 'vote') return `Slow down: too many votes at once${wait}`;
      return `Slow down: too many messages${wait}`;
    case 'closed':
      if (about === 'emoji') return 'The talk is closed: that emoji was not counted';
      if (about === 'question') return 'The talk is closed: your question was not sent';
      if (about === 'vote') return 'The talk is closed: your vote was not counted';
      return 'The talk is closed: your rating was not counted';
    case 'question-length':
      return `A question is ${3} to ${limits?.maxQuestionLength ?? 280} characters`;
    case 'qna-full':
      return 'The talk takes no more questions or votes';
    case 'question-gone':
      return 'That question is no longer shown';
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
