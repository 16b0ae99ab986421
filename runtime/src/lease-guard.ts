import { performance } from 'node:perf_hooks';
import { Backoff, forEachBounded, sleep } from '@highlander/kit';
import type { Activation } from './activation/activation.js';
import type { Coordinator } from './coordinator.js';
import { OwnershipLost } from './errors.js';

/**
 * Whether this node may serve from memory now: the coordinator's read lease, plus this process's
 * own liveness.
 *
 * A process that was stopped or starved (SIGSTOP, a VM pause, a long GC) may have had a lock
 * deleted meanwhile by a forced eviction while its session stayed alive, so the read lease alone
 * would let it serve stale state. A timer ticks every {@link PAUSE_TICK_MS}; a tick over
 * {@link PAUSE_THRESHOLD_MS} late means the process was paused. Then nothing is served until every
 * held lock is verified, and the activations whose lock is gone are dropped as fenced.
 */

/** The pause detector ticks this often. */
export const PAUSE_TICK_MS = 250;
/** A tick this much late means the process was paused. */
export const PAUSE_THRESHOLD_MS = 1000;
/** Locks verified at once after a pause. */
const VERIFY_CONCURRENCY = 64;

export interface LeaseGuardOptions {
  coordinator: Coordinator;
  /** The activations whose locks are verified after a pause. */
  activations: Iterable<Activation>;
  /** Whether the node still runs: verification gives up once it stops. */
  running(): boolean;
}

export class LeaseGuard {
  readonly #options: LeaseGuardOptions;
  /** Monotonic time of the last tick. */
  #lastTickMs = performance.now();
  #timer: NodeJS.Timeout | undefined;
  /** Set while the locks are re-checked after a pause: nothing is served meanwhile. */
  #verifying: Promise<void> | undefined;

  constructor(options: LeaseGuardOptions) {
    this.#options = options;
  }

  start(): void {
    this.#lastTickMs = performance.now();
    this.#timer = setInterval(() => this.#tick(), PAUSE_TICK_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /**
   * The read lease, unless a pause is being checked. After a resume, pending I/O may run before the
   * late tick, so an overdue tick already counts as a pause here.
   */
  holdsLease(type?: string, id?: string): boolean {
    if (this.#verifying !== undefined) return false;
    if (performance.now() - this.#lastTickMs > PAUSE_TICK_MS + PAUSE_THRESHOLD_MS) {
      this.#tick();
      return false;
    }
    return this.#options.coordinator.holdsLease(type, id);
  }

  #tick(): void {
    const now = performance.now();
    const lagMs = now - this.#lastTickMs - PAUSE_TICK_MS;
    this.#lastTickMs = now;
    if (lagMs < PAUSE_THRESHOLD_MS || this.#verifying) return;
    this.#verifying = this.#verifyLocks().finally(() => {
      this.#verifying = undefined;
    });
  }

  async #verifyLocks(): Promise<void> {
    const held = [...this.#options.activations].filter((a) => a.lock !== undefined && a.status !== 'deactivated');
    await forEachBounded(held, VERIFY_CONCURRENCY, async (activation) => {
      const backoff = new Backoff({ initialMs: 100, maxMs: 1000 });
      while (this.#options.running()) {
        try {
          if (!(await activation.lock!.verify())) {
            activation.drop('fenced', new OwnershipLost(activation.type, activation.id, 'its lock was deleted (forced eviction) while this node was paused'));
          }
          return;
        } catch {
          // ZooKeeper unreachable: keep serving nothing and ask again; an expired session drops everything anyway.
          await sleep(backoff.next());
        }
      }
    });
  }
}
