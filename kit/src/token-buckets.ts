/**
 * Token buckets by key (a device, a remote address): each holds at most `burst` tokens and gains
 * `perSecond` tokens a second. Buckets that have refilled completely are forgotten by `sweep()`, so
 * memory follows the active keys only.
 *
 * ```ts
 * const emoji = new TokenBuckets({ burst: 5, perSecond: 1 });
 * const verdict = emoji.take(deviceId);            // { ok: true } or { ok: false, retryAfterMs }
 * ```
 */

export interface TokenBucketOptions {
  /** Tokens a fresh (or long idle) key may spend at once. */
  burst: number;
  /** Tokens regained per second. */
  perSecond: number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number };

interface Bucket {
  tokens: number;
  /** Monotonic ms of the last refill. */
  at: number;
}

export class TokenBuckets {
  readonly burst: number;
  readonly perSecond: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: TokenBucketOptions) {
    if (!(options.burst >= 1)) throw new TypeError(`TokenBuckets: burst must be at least 1 (got ${options.burst})`);
    if (!(options.perSecond > 0)) throw new TypeError(`TokenBuckets: perSecond must be positive (got ${options.perSecond})`);
    this.burst = options.burst;
    this.perSecond = options.perSecond;
  }

  /** Keys with a bucket that is not full. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Whether `key` has a token now (nothing is spent). */
  check(key: string, now = performance.now()): TakeResult {
    const tokens = this.#tokens(key, now);
    return tokens >= 1 ? { ok: true } : { ok: false, retryAfterMs: Math.ceil(((1 - tokens) / this.perSecond) * 1000) };
  }

  /** Spends one token of `key` if it has one. */
  take(key: string, now = performance.now()): TakeResult {
    const verdict = this.check(key, now);
    if (verdict.ok) this.spend(key, now);
    return verdict;
  }

  /** Spends a token without checking (after `check` said yes, with other buckets checked too). */
  spend(key: string, now = performance.now()): void {
    const tokens = this.#tokens(key, now);
    this.#buckets.set(key, { tokens: tokens - 1, at: now });
  }

  /** Forgets buckets that are full again. */
  sweep(now = performance.now()): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond >= this.burst) this.#buckets.delete(key);
    }
  }

  #tokens(key: string, now: number): number {
    const bucket = this.#buckets.get(key);
    if (!bucket) return this.burst;
    return Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
  }
}
