import { performance } from 'node:perf_hooks';
import { roundMs } from '@highlander/kit';
import type { Activation } from './activation/activation.js';
import type { CallOutcomeKind } from './call-outcome.js';
import { CallStats, ObjectLatency } from './call-stats.js';
import type { Coordinator } from './coordinator.js';
import type { AnyObjectType } from './define-object.js';
import type { LifecycleEventBody } from './events.js';

/**
 * A node's periodic chores: deactivating idle objects, `stats` events (call counts and latency per
 * type, the busiest objects), and republishing the activation count for `least-loaded` placement.
 */

/** Objects listed per `stats` event (the busiest of the interval). */
const MAX_STATS_OBJECTS = 1000;
/**
 * Per-object latency histograms kept for reuse between intervals. The histograms in use are one per
 * object called in the interval (256 bytes each, see ObjectLatency: 25 MB if 100,000 objects are
 * called in one interval), all given back at each `stats` event; at most this many stay allocated
 * while the node is quiet (1 MiB).
 */
const MAX_SPARE_LATENCIES = 4096;

export interface HousekeepingOptions {
  coordinator: Coordinator;
  types: Iterable<AnyObjectType>;
  activations: Iterable<Activation> & { readonly size: number; readonly full: boolean };
  idleTimeoutMs: number;
  statsIntervalMs: number;
  loadReportIntervalMs: number;
  /** Whether the node still runs: no load is published once it stops. */
  running(): boolean;
  emit(event: LifecycleEventBody): void;
  reportBackgroundError(what: string, err: unknown): void;
}

export class Housekeeping {
  readonly #options: HousekeepingOptions;
  readonly #stats = new CallStats();
  /** Activations that finished a call in the current stats interval. */
  readonly #calledThisInterval = new Set<Activation>();
  readonly #spareLatencies: ObjectLatency[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  #publishedActivations = -1;
  #publishedFull = false;

  constructor(options: HousekeepingOptions) {
    this.#options = options;
  }

  start(): void {
    this.#every(this.#options.statsIntervalMs, () => this.#emitStats());
    this.#every(this.#idleSweepIntervalMs(), () => this.#sweepIdle());
    this.#every(this.#options.loadReportIntervalMs, () => this.publishLoad());
  }

  stop(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.length = 0;
  }

  /** One call of `activation` finished (for the interval's stats). */
  record(activation: Activation, ms: number, outcome: CallOutcomeKind): void {
    this.#stats.record(activation.type, ms, outcome);
    if (activation.intervalCalls++ === 0) {
      this.#calledThisInterval.add(activation);
      activation.intervalErrors = 0;
      activation.intervalLatency = this.#spareLatencies.pop() ?? new ObjectLatency();
    }
    activation.intervalLatency?.record(ms);
    if (outcome === 'error') activation.intervalErrors++;
  }

  #every(intervalMs: number, task: () => void): void {
    const timer = setInterval(task, intervalMs);
    timer.unref();
    this.#timers.push(timer);
  }

  #idleSweepIntervalMs(): number {
    let shortest = this.#options.idleTimeoutMs;
    for (const t of this.#options.types) if (t.idleTimeoutMs !== undefined) shortest = Math.min(shortest, t.idleTimeoutMs);
    return Math.min(1000, Math.max(20, Math.floor(shortest / 4)));
  }

  #sweepIdle(): void {
    const now = performance.now();
    for (const activation of this.#options.activations) {
      if (activation.status !== 'active' || !activation.quiescent) continue;
      const idleTimeoutMs = activation.definition.idleTimeoutMs ?? this.#options.idleTimeoutMs;
      if (now - activation.lastActivityMs >= idleTimeoutMs) {
        activation.deactivate('idle').catch((err) => this.#options.reportBackgroundError('idle deactivation', err));
      }
    }
  }

  #emitStats(): void {
    const byType = this.#stats.drain();
    const called = [...this.#calledThisInterval];
    this.#calledThisInterval.clear();
    if (Object.keys(byType).length === 0) return;
    // The busiest objects of the interval (all of them, up to the cap), for per-object rates in the admin API.
    called.sort((a, b) => b.intervalCalls - a.intervalCalls);
    const objects = called.slice(0, MAX_STATS_OBJECTS).map((a) => ({
      type: a.type, id: a.id, calls: a.intervalCalls, queue: a.queueLength,
      errors: a.intervalErrors, p99Ms: roundMs(a.intervalLatency?.quantile(0.99) ?? 0, 3), stateBytes: a.stateBytes,
    }));
    for (const a of called) {
      a.intervalCalls = 0;
      a.intervalErrors = 0;
      const latency = a.intervalLatency;
      a.intervalLatency = undefined;
      if (latency && this.#spareLatencies.length < MAX_SPARE_LATENCIES) {
        latency.reset();
        this.#spareLatencies.push(latency);
      }
    }
    this.#options.emit({
      kind: 'stats', intervalMs: this.#options.statsIntervalMs, activations: this.#options.activations.size, byType, objects,
      objectsOmitted: Math.max(0, called.length - MAX_STATS_OBJECTS),
    });
  }

  /** Republishes the activation count and fullness if either changed (every loadReportIntervalMs, and at once when the node fills up or has room again). */
  publishLoad(): void {
    const count = this.#options.activations.size;
    const full = this.#options.activations.full;
    if ((count === this.#publishedActivations && full === this.#publishedFull) || !this.#options.running()) return;
    this.#publishedActivations = count;
    this.#publishedFull = full;
    this.#options.coordinator.update({ activations: count, full }).catch(() => {
      this.#publishedActivations = -1; // try again next interval
    });
  }
}
