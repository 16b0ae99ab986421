import { untrack } from 'svelte';
import type { LockQueueEntryView, MessageOf, ModelEvent, ObjectDetail, ObjectView, PersistedObject } from '@highlander/admin-api/protocol';
import { ApiError, api, objectPath } from './api.ts';
import { cluster } from './cluster.svelte.ts';
import { describeError, handleError } from './notices.svelte.ts';
import { addEvents } from './object-events.ts';
import { liveRate } from './object-table.ts';
import { pushSample } from './rate-samples.ts';
import { stream } from './stream.svelte.ts';

/** The call rate is sampled this often for the sparkline. */
const SAMPLE_INTERVAL_MS = 1000;
/** In-memory and persisted state are read again at most this often while the object changes… */
const STATE_REFRESH_MS = 2000;
/** …and this often when it is big (both states travel each time). */
const BIG_STATE_REFRESH_MS = 10_000;
const BIG_STATE_BYTES = 64 * 1024;

/**
 * One object as the detail view shows it, fed by the stream's `object` subscription: its view, the
 * live lock queue and its events from the deltas; in-memory and persisted state from the snapshot,
 * read again (throttled) when it persists, activates or deactivates. `start()` returns the stop function.
 *
 *   const watch = new ObjectWatch('todo', 'a');
 *   $effect(() => watch.start());
 */
export class ObjectWatch {
  /** `loading` until the first snapshot; `failed` when the stream could not read the object. */
  status = $state<'loading' | 'ready' | 'failed'>('loading');
  /** Why the snapshot failed (the server's message). */
  problem = $state<string | null>(null);
  object = $state.raw<ObjectView | null>(null);
  queue = $state.raw<LockQueueEntryView[]>([]);
  memory = $state.raw<ObjectDetail['memory']>(null);
  persisted = $state.raw<PersistedObject | null>(null);
  /** Persisted state was looked up (null `persisted` then means "never stored"). */
  persistedKnown = $state(false);
  /** Why the last read of the state failed (cleared by the next success). */
  stateProblem = $state<string | null>(null);
  /** When in-memory and persisted state were read. */
  stateReadAt = $state<number | null>(null);
  refreshing = $state(false);
  /** Newest first, since the page opened. */
  events = $state.raw<ModelEvent[]>([]);
  /** Calls per second, one a second, oldest first. */
  samples = $state.raw<number[]>([]);

  #refreshTimer: ReturnType<typeof setTimeout> | null = null;
  #lastRefresh = 0;
  #stopped = false;
  /** A failed automatic refresh is reported once, not every two seconds. */
  #reportedFailure = false;
  #abort = new AbortController();

  constructor(
    readonly type: string,
    readonly id: string,
  ) {}

  get label(): string {
    return `${this.type}/${this.id}`;
  }

  /** Subscribes and starts sampling; returns the stop function. Reads nothing reactively, so an `$effect` runs it once. */
  start(): () => void {
    return untrack(() => this.#start());
  }

  #start(): () => void {
    this.#stopped = false;
    this.#abort = new AbortController();
    // Until the snapshot arrives, the cluster store already knows the object if it is active.
    this.object = cluster.object(this.type, this.id) ?? null;
    this.#sample();
    const sampler = setInterval(() => this.#sample(), SAMPLE_INTERVAL_MS);
    const unsubscribe = stream.subscribe({ subscribe: 'object', type: this.type, id: this.id }, (message) => this.#receive(message));
    return () => {
      this.#stopped = true;
      clearInterval(sampler);
      if (this.#refreshTimer) clearTimeout(this.#refreshTimer);
      this.#refreshTimer = null;
      this.#abort.abort();
      unsubscribe();
    };
  }

  /** Reads in-memory and persisted state again now (the Refresh button; `quiet` for automatic ones). */
  async refresh(quiet = false): Promise<void> {
    if (this.#refreshTimer) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = null;
    this.#lastRefresh = Date.now();
    this.refreshing = true;
    const signal = this.#abort.signal;
    const path = objectPath(this.type, this.id);
    try {
      if (this.object) {
        const detail = await api<ObjectDetail>('GET', `/api/objects/${path}`, { signal });
        if (this.#stopped) return;
        this.#apply(detail);
      } else {
        this.memory = null;
        this.persisted = await this.#stored(signal);
        this.persistedKnown = true;
        this.stateReadAt = Date.now();
      }
      this.#reportedFailure = false;
      this.stateProblem = null;
    } catch (err) {
      if (this.#stopped) return;
      // Not active and not stored: the detail route says 404; the view says so from its fields.
      if (err instanceof ApiError && err.code === 'OBJECT_NOT_FOUND') {
        this.object = null;
        this.memory = null;
        this.persisted = null;
        this.persistedKnown = true;
        this.stateReadAt = Date.now();
        return;
      }
      this.stateProblem = describeError(err);
      if (!quiet || !this.#reportedFailure) handleError(err, `Reading ${this.label}`);
      this.#reportedFailure = true;
    } finally {
      if (!this.#stopped) this.refreshing = false;
    }
  }

  #receive(message: MessageOf<'object'>): void {
    if (this.#stopped || message.type !== this.type || message.id !== this.id) return;
    switch (message.kind) {
      case 'snapshot':
        this.#apply(message.detail);
        this.status = 'ready';
        this.problem = null;
        return;
      case 'delta': {
        const wasActive = this.object !== null;
        if (message.object !== undefined) this.object = message.object;
        if (message.queue) this.queue = message.queue;
        const events = message.events ?? [];
        if (events.length > 0) this.events = addEvents(this.events, events);
        const isActive = this.object !== null;
        if (wasActive && !isActive) this.memory = null;
        if (wasActive !== isActive || events.some((e) => e.kind === 'object.persisted' || e.kind === 'object.activated')) this.#scheduleRefresh();
        return;
      }
      case 'error': {
        const { error } = message;
        this.status = 'failed';
        this.problem = error.message || 'the admin API could not read this object';
        handleError(new ApiError(0, error.code || 'ERROR', this.problem), `Reading ${this.label}`);
        this.#reportedFailure = true;
        // The stream gave up on the detail; what is stored may still be readable.
        void this.refresh(true);
        return;
      }
    }
  }

  #apply(detail: ObjectDetail): void {
    this.stateProblem = null;
    this.object = detail.object;
    this.queue = detail.queue;
    this.memory = detail.memory;
    this.persisted = detail.persisted;
    this.persistedKnown = true;
    this.stateReadAt = Date.now();
  }

  async #stored(signal: AbortSignal): Promise<PersistedObject | null> {
    try {
      return await api<PersistedObject>('GET', `/api/storage/${objectPath(this.type, this.id)}`, { signal });
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null; // never stored
      throw err;
    }
  }

  #scheduleRefresh(): void {
    if (this.#refreshTimer || this.#stopped) return;
    const every = (this.persisted?.size ?? 0) > BIG_STATE_BYTES ? BIG_STATE_REFRESH_MS : STATE_REFRESH_MS;
    const wait = Math.max(0, this.#lastRefresh + every - Date.now());
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = null;
      void this.refresh(true);
    }, wait);
  }

  #sample(): void {
    const object = this.object ?? cluster.object(this.type, this.id) ?? null;
    this.samples = pushSample(this.samples, object ? liveRate(object, Date.now()) : 0);
  }
}
