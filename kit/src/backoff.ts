/**
 * Exponential backoff with jitter, for every retry loop: routing a call again, reconnecting a
 * socket, reading back an interrupted write, polling a failing service.
 *
 * ```ts
 * const backoff = new Backoff({ initialMs: 20, maxMs: 500 });
 * for (;;) {
 *   try { return await attempt(); } catch (err) { if (!retryable(err)) throw err; }
 *   await sleep(backoff.next());
 * }
 * ```
 */
export interface BackoffOptions {
  /** The first delay. */
  initialMs: number;
  /** Delays grow up to this. */
  maxMs: number;
  /**
   * Each delay is this many times the previous one.
   * @default 2
   */
  factor?: number;
  /**
   * Spread each delay uniformly over [0.5, 1.5) of its nominal value, so that many clients failing
   * together do not retry together.
   * @default true
   */
  jitter?: boolean;
}

export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #factor: number;
  readonly #jitter: boolean;
  #nominalMs: number;
  #attempts = 0;

  constructor(options: BackoffOptions) {
    const { initialMs, maxMs, factor = 2, jitter = true } = options;
    if (!(initialMs >= 0) || !(maxMs >= initialMs) || !(factor >= 1)) {
      throw new TypeError(`Backoff: need 0 <= initialMs <= maxMs and factor >= 1 (got ${initialMs}, ${maxMs}, ${factor})`);
    }
    this.#initialMs = initialMs;
    this.#maxMs = maxMs;
    this.#factor = factor;
    this.#jitter = jitter;
    this.#nominalMs = initialMs;
  }

  /** Delays handed out since the last reset. */
  get attempts(): number {
    return this.#attempts;
  }

  /** The next delay in milliseconds; the one after it is longer, up to `maxMs`. */
  next(): number {
    const nominal = this.#nominalMs;
    this.#nominalMs = Math.min(this.#maxMs, nominal * this.#factor);
    this.#attempts++;
    return this.#jitter ? nominal * (0.5 + Math.random()) : nominal;
  }

  /** Back to the first delay (after a success). */
  reset(): void {
    this.#nominalMs = this.#initialMs;
    this.#attempts = 0;
  }
}
