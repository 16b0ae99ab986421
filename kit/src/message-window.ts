import { performance } from 'node:perf_hooks';

/**
 * Messages per connection in a one-second window: `count()` says whether this one is within
 * `perSecond`, how far over the limit the connection is (a flood is closed, not answered), and when
 * the window ends.
 *
 * ```ts
 * const window = new MessageWindow(20);
 * ws.on('message', () => { if (!window.count().ok) ws.close(1008, 'too many messages: at most 20 per second'); });
 * ```
 */
export class MessageWindow {
  #windowStart = -Infinity;
  #count = 0;

  constructor(readonly perSecond: number) {
    if (!(perSecond > 0)) throw new TypeError(`MessageWindow: perSecond must be positive (got ${perSecond})`);
  }

  /** Counts one message; `over` is how many messages beyond the limit this window has seen. */
  count(now = performance.now()): { ok: boolean; over: number; retryAfterMs: number } {
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#count = 0;
    }
    this.#count++;
    const over = Math.max(0, this.#count - this.perSecond);
    return { ok: over === 0, over, retryAfterMs: Math.max(1, Math.ceil(this.#windowStart + 1000 - now)) };
  }
}
