/**
 * Latest-wins throttling for the slider: while someone drags, `set` is called for every pixel;
 * the gateway needs a few values a second. The first change goes out at once, then at most one
 * value per `intervalMs` (the latest one), and the final value always goes out (a trailing send).
 * A value equal to the last one sent is not sent again. Timers and the clock are injected, so the
 * logic is unit-tested without a browser.
 */

export interface CoalescerOptions<T> {
  /** At most one send per this many ms. */
  intervalMs: number;
  send: (value: T) => void;
  /** @default performance.now */
  now?: () => number;
  /** @default setTimeout */
  setTimer?: (run: () => void, ms: number) => unknown;
  /** @default clearTimeout */
  clearTimer?: (timer: unknown) => void;
  /** @default Object.is */
  equals?: (a: T, b: T) => boolean;
}

export class Coalescer<T> {
  readonly #options: Required<CoalescerOptions<T>>;
  #lastSentAt = -Infinity;
  #hasSent = false;
  #lastSent: T | undefined;
  #pending: { value: T } | null = null;
  #timer: unknown = null;

  constructor(options: CoalescerOptions<T>) {
    if (!(options.intervalMs > 0)) throw new TypeError(`Coalescer: intervalMs must be positive (got ${options.intervalMs})`);
    this.#options = {
      now: () => performance.now(),
      setTimer: (run, ms) => setTimeout(run, ms),
      clearTimer: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
      equals: Object.is,
      ...options,
    };
  }

  /** The value waiting for its turn, if any. */
  get pending(): T | undefined {
    return this.#pending?.value;
  }

  /** A new value: sent now if the last send is old enough, else at the next slot (replacing any waiting one). */
  set(value: T): void {
    if (this.#timer !== null) {
      this.#pending = { value };
      return;
    }
    const wait = this.#lastSentAt + this.#options.intervalMs - this.#options.now();
    if (wait <= 0) {
      this.#send(value);
      return;
    }
    this.#pending = { value };
    this.#timer = this.#options.setTimer(() => this.#fire(), wait);
  }

  /** Forgets the waiting value (the connection is gone: the caller resends the current one later). */
  cancel(): void {
    if (this.#timer !== null) this.#options.clearTimer(this.#timer);
    this.#timer = null;
    this.#pending = null;
  }

  /** Forgets what was sent too: the next value goes out even if equal to the last one (a new connection). */
  reset(): void {
    this.cancel();
    this.#hasSent = false;
    this.#lastSent = undefined;
    this.#lastSentAt = -Infinity;
  }

  #fire(): void {
    this.#timer = null;
    const pending = this.#pending;
    this.#pending = null;
    if (pending) this.#send(pending.value);
  }

  #send(value: T): void {
    if (this.#hasSent && this.#options.equals(this.#lastSent as T, value)) return;
    this.#hasSent = true;
    this.#lastSent = value;
    this.#lastSentAt = this.#options.now();
    this.#options.send(value);
  }
}
