import { describe, expect, it } from 'vitest';
import { emojiRate, formatWait, rejectionText } from '../../../dashboard/src/audience/feedback-text.ts';

const limits = { emojiBurst: 5, emojiPerSecond: 1, maxMessageBytes: 512 };

describe('what the audience page says when refused', () => {
  it('asks to slow down, with the rate and the wait', () => {
    expect(rejectionText({ reason: 'rate-limited', message: 'at most 5 emoji at once', retryAfterMs: 730 }, 'emoji', limits))
      .toBe('Slow down: one emoji per second · try again in 0.8 s');
    expect(rejectionText({ reason: 'rate-limited', message: '' }, 'emoji', { ...limits, emojiPerSecond: 2 })).toBe('Slow down: 2 emoji per second');
    expect(rejectionText({ reason: 'rate-limited', message: '', retryAfterMs: 1500 }, null, limits)).toBe('Slow down: too many messages · try again in 2 s');
  });

  it('says what a closed talk means for what was sent', () => {
    expect(rejectionText({ reason: 'closed', message: '' }, 'emoji', limits)).toMatch(/closed.*emoji/);
    expect(rejectionText({ reason: 'closed', message: '' }, 'position', limits)).toMatch(/closed.*rating/);
  });

  it("falls back to the server's message for reasons it has no words for", () => {
    expect(rejectionText({ reason: 'malformed', message: '"value" must be a number' }, 'position', limits)).toBe('"value" must be a number');
  });

  it('formats rates and waits', () => {
    expect(emojiRate(null)).toBe('one emoji per second');
    expect(emojiRate({ emojiPerSecond: 0.5 })).toBe('an emoji every 2 s');
    expect(formatWait(20)).toBe('0.1 s');
    expect(formatWait(999)).toBe('1 s');
    expect(formatWait(4001)).toBe('5 s');
  });

  it('explains what happened to a question or a vote', () => {
    expect(rejectionText({ reason: 'question-length', message: '' }, 'question', { ...limits, maxQuestionLength: 280 })).toBe('A question is 3 to 280 characters');
    expect(rejectionText({ reason: 'rate-limited', message: '', retryAfterMs: 20_000 }, 'question', { ...limits, questionBurst: 2, questionsPerMinute: 2 }))
      .toBe('Slow down: 2 questions at once, then 2 a minute · try again in 20 s');
    expect(rejectionText({ reason: 'question-gone', message: '' }, 'vote', limits)).toBe('That question is no longer shown');
    expect(rejectionText({ reason: 'closed', message: '' }, 'question', limits)).toBe('The talk is closed: your question was not sent');
  });
});
