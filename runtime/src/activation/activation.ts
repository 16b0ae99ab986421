import { performance } from 'node:perf_hooks';
import { roundMs } from '@highlander/kit';
import { failureKind, type CallOutcomeKind } from '../call-outcome.js';
import type { ObjectLatency } from '../call-stats.js';
import type { AcquireResult, Coordinator, LockHandle } from '../coordinator.js';
import { Replied, argumentProblem, type AnyObjectType, type RefFactory } from '../define-object.js';
import {
  Fenced, HandlerFailed, HighlanderError, InvalidArgument, InvalidState, OwnershipLost, StateTooLarge, StoreUnavailable, UnknownHandler, VersionConflict, causeMessage,
} from '../errors.js';
import type { DeactivationReason, LifecycleEventBody } from '../events.js';
import { Redirect, type Operation } from '../operation.js';
import type { StateStore } from '../state-store.js';
import { FencedUncertain, claim, writeFenced } from './fenced-writer.js';
import { ObjectContext } from './object-context.js';

/**
 * One object on the node that owns it, from registration to release: it joins the object's lock
 * queue, loads and claims the stored state, serves operations from a FIFO mailbox one at a time,
 * makes every change durable by group commit, and deactivates (drain, flush, release) or is
 * dropped at once (fenced, session lost).
 *
 * **Lifecycle** (one private status, changed only by {@link Activation#transition}):
 *
 * ```
 * activating ──► active ──► deactivating ──► deactivated
 *      │            │                            ▲
 *      └────────────┴────────────────────────────┘   not the owner, failed, dropped
 * ```
 *
 * - `activating`: registered (so calls for the object find it at once, in arrival order), joining
 *   the lock queue, then loading and claiming. Callers wait with {@link Activation#admitted}: it
 *   resolves once the activation serves, or with a {@link Redirect} to the node that owns the object.
 * - `active`: serves calls (only while the node holds its read lease).
 * - `deactivating`: takes no new calls; runs what is queued, flushes, then releases the lock.
 * - `deactivated`: nothing leaves it. The activation is *closed* (and leaves the node's registry)
 *   once its lock is released or known to be gone.
 *
 * **Durability** (group commit): an operation's outcome (its reply or its error) is released to
 * the caller only once the state it observed is durable. The first change starts a conditional
 * write at once; changes made while it is in flight are coalesced into the next write. A failed
 * write fails exactly the calls it carried; operations that ran after it (on state that never
 * became durable) run again on the last durable state, since nobody has seen their outcome.
 */

export type ActivationStatus = 'activating' | 'active' | 'deactivating' | 'deactivated';

/** The legal transitions of {@link ActivationStatus}. */
export const ACTIVATION_TRANSITIONS: Readonly<Record<ActivationStatus, readonly ActivationStatus[]>> = {
  activating: ['active', 'deactivated'],
  active: ['deactivating', 'deactivated'],
  deactivating: ['deactivated'],
  deactivated: [],
};

/** Throws unless `from` → `to` is a legal transition. */
export function checkTransition(from: ActivationStatus, to: ActivationStatus, what = 'activation'): void {
  if (!ACTIVATION_TRANSITIONS[from].includes(to)) throw new Error(`${what}: illegal transition from '${from}' to '${to}'`);
}

/** What an activation needs from its node. */
export interface ActivationHost {
  readonly nodeName: string;
  readonly coordinator: Coordinator;
  readonly store: StateStore;
  readonly maxStateBytes: number;
  /** For `ctx.ref()` in handlers. */
  readonly refs: RefFactory;
  emit(event: LifecycleEventBody): void;
  /** Records one finished call of `activation` for the interval's stats. */
  record(activation: Activation, ms: number, outcome: CallOutcomeKind): void;
  /** The read lease of the object's lock: false once the coordinator has been silent long enough that the lock may be gone. */
  holdsLease(type: string, id: string): boolean;
  /** The activation is closed: its lock is released or gone. */
  closed(activation: Activation): void;
}

/** How an activation joins the lock queue. */
export interface StartOptions {
  /** Give up joining at this monotonic time. */
  deadline: number;
  /** Wait behind the current owner (a migration's target) instead of giving up at once. */
  wait?: boolean;
  /** With `wait`: called once queued behind `owner`, at `position` (1 = next). */
  onQueued?: (position: number, owner: string) => void;
}

/** What {@link Activation.runNow} did: the query's value or error, and how long it took (ms). */
export type RunNow = { ok: true; value: unknown; ms: number } | { ok: false; error: unknown; ms: number };

interface Entry {
  operation: Operation;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  deadline: number;
  startMs: number;
  timer: NodeJS.Timeout | undefined;
  /** The outcome, held until the state it observed is durable. */
  ok: boolean;
  value: unknown;
}

/** A caller waiting for the activation to serve (or to learn it never will). */
interface AdmissionWaiter {
  resolve: (redirect: Redirect | undefined) => void;
  reject: (error: unknown) => void;
  timer: NodeJS.Timeout | undefined;
}

export class Activation {
  #status: ActivationStatus = 'activating';
  #lock: LockHandle | undefined;
  lastActivityMs = performance.now();
  readonly activatedAtMs = this.lastActivityMs;
  /** Calls finished in the current stats interval (read and reset by the node's stats). */
  intervalCalls = 0;
  /** Of those, calls that failed with an error (not declared rejections). */
  intervalErrors = 0;
  /** Their latencies: set on the interval's first call, given back when the stats are emitted (housekeeping.ts). */
  intervalLatency: ObjectLatency | undefined;

  // ---- state and durability ----
  #state: any;
  #json = '';
  /** The JSON last measured by `stateBytes`, and its size. */
  #measuredJson = '';
  #measuredBytes = 0;
  #changeSeq = 0;
  #durableJson = '';
  #durableSeq = 0;
  #etag: string | undefined;
  #storedVersion = 0;
  /**
   * The lowest stored version whose state is the durable state now: claims write a new version of
   * the same state, so an operator who saw version v before an owner change still sees the current state.
   */
  #sameStateSince = 0;

  // ---- mailbox and group commit ----
  #mailbox: Entry[] = [];
  #running = false;
  /** Executed entries whose outcome waits for durability. */
  #held: Entry[] = [];
  #inflight: { seq: number; entries: Entry[] } | undefined;
  #revertPending = false;
  /**
   * Set while an interrupted write is being read back and the store does not answer: calls that
   * write did not carry fail fast with `StoreUnavailable` (they take no effect) until it is resolved.
   */
  #storeDown: StoreUnavailable | undefined;

  // ---- lifecycle ----
  /** Callers waiting while activating; undefined once the activation serves or never will. */
  #waiters: AdmissionWaiter[] | undefined;
  /** Why the activation will never serve, once known: where the owner is, or the error. */
  #refusal: Redirect | { error: unknown } | undefined;
  #closed: { promise: Promise<void>; resolve: () => void } | undefined;
  #isClosed = false;
  #deactivating: Promise<void> | undefined;
  #wakeDeactivation: (() => void) | undefined;
  #ctx: ObjectContext | undefined;

  constructor(
    readonly definition: AnyObjectType,
    readonly id: string,
    readonly key: string,
    private readonly host: ActivationHost,
  ) {}

  get status(): ActivationStatus {
    return this.#status;
  }

  get type(): string {
    return this.definition.type;
  }

  /** The lock while held: its epoch, and its `verify()` after a pause. */
  get lock(): LockHandle | undefined {
    return this.#lock;
  }

  get epoch(): string {
    return this.#lock?.epoch ?? '0';
  }

  get queueLength(): number {
    return this.#mailbox.length;
  }

  /** True when nothing is queued, running, or waiting for a write. */
  get quiescent(): boolean {
    return this.#mailbox.length === 0 && !this.#running && this.#held.length === 0 && this.#inflight === undefined && this.#changeSeq === this.#durableSeq;
  }

  /** The current in-memory state as JSON (for admin views). */
  get stateJson(): string {
    return this.#json;
  }

  /** The size of the in-memory state as JSON, in bytes (measured again only after the state changed). */
  get stateBytes(): number {
    if (this.#measuredJson !== this.#json) {
      this.#measuredJson = this.#json;
      this.#measuredBytes = Buffer.byteLength(this.#json);
    }
    return this.#measuredBytes;
  }

  get storedVersion(): number {
    return this.#storedVersion;
  }

  /** Resolves once the activation is closed: its lock released or known to be gone. */
  get closed(): Promise<void> {
    if (this.#isClosed) return Promise.resolve();
    if (!this.#closed) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#closed = { promise, resolve };
    }
    return this.#closed.promise;
  }

  // ---- lifecycle ----

  /**
   * Joins the lock queue, then loads and claims the stored state and serves. Never rejects: how it
   * ended is what {@link admitted} tells. Called once, by the registry that made the activation.
   */
  async start(options: StartOptions): Promise<void> {
    const { type, id } = this;
    // Read the stored state while the lock is being acquired: the claim tells a stale read by its
    // failed conditional write and reads again (see claim), so this saves a round trip, never a check.
    const earlyRead = this.host.store.read(type, id);
    earlyRead.catch(() => {}); // unused when the lock is not ours; a failure is the claim's to handle
    let acquired: AcquireResult;
    try {
      acquired = await this.host.coordinator.acquire(type, id, {
        wait: options.wait ?? false,
        timeoutMs: Math.max(1, options.deadline - performance.now()),
        ...(options.onQueued ? {
          onQueued: (position: number, owner: string) => {
            this.host.emit({ kind: 'lock.queued', type, id, position, owner });
            options.onQueued!(position, owner);
          },
        } : {}),
      });
    } catch (err) {
      this.#refuse({ error: err });
      return;
    }
    if (!acquired.acquired) {
      this.#refuse(new Redirect(acquired.owner));
      return;
    }
    const { lock } = acquired;
    if (this.#status !== 'activating') {
      // Dropped while acquiring (session lost, node stopping): give the lock back, if it still exists.
      await lock.release().catch(() => {
        // Gone with the old session already, or swept once ZooKeeper answers again.
      });
      return;
    }
    this.#lock = lock;
    this.host.emit({ kind: 'lock.acquired', type, id, epoch: lock.epoch, waitedMs: roundMs(acquired.waitedMs) });
    const started = performance.now();
    let claimed;
    try {
      claimed = await claim(this.host.store, this, lock.epoch, () => this.#serialize(this.definition.initial()), earlyRead);
    } catch (err) {
      // Unless dropped meanwhile (the drop reported the release), refuse with the error and report it.
      const report = this.#status === 'activating';
      this.#refuse({ error: err });
      await this.#releaseAfterFailedStart(lock, report);
      return;
    }
    if (this.#status !== 'activating') {
      // Dropped while loading: the lock may be gone; never serve (the drop reported the release).
      await this.#releaseAfterFailedStart(lock, false);
      return;
    }
    this.#json = claimed.body;
    this.#state = JSON.parse(claimed.body);
    this.#durableJson = claimed.body;
    this.#etag = claimed.etag;
    this.#storedVersion = claimed.version;
    this.#sameStateSince = claimed.version - 1;
    this.#transition('active');
    this.#settleWaiters();
    this.host.emit({
      kind: 'object.activated', type, id, epoch: lock.epoch, version: claimed.version, stored: claimed.existed,
      loadMs: roundMs(performance.now() - started),
    });
    this.#kick();
  }

  /**
   * Waits until this activation serves calls (resolves `undefined`) or knows it never will:
   * resolves with the {@link Redirect} to the node that owns the object, or rejects with why
   * activating failed — or with `timeout()` at `deadline`.
   */
  admitted(deadline = Infinity, timeout?: () => Error): Promise<Redirect | undefined> {
    if (this.#status !== 'activating') return this.#refusalOutcome();
    return new Promise((resolve, reject) => {
      const waiter: AdmissionWaiter = { resolve, reject, timer: undefined };
      if (Number.isFinite(deadline)) {
        waiter.timer = setTimeout(() => {
          const index = this.#waiters?.indexOf(waiter) ?? -1;
          if (index >= 0) this.#waiters!.splice(index, 1);
          reject(timeout?.() ?? new Error('timed out waiting for the activation'));
        }, Math.max(0, deadline - performance.now()));
      }
      (this.#waiters ??= []).push(waiter);
    });
  }

  /**
   * Stops taking calls, runs what is queued, flushes, releases the lock. Idempotent; concurrent
   * callers share one deactivation. An activation that is still activating never serves: its
   * waiting callers get a retryable `OwnershipLost`, and its lock is given back once acquired.
   */
  deactivate(reason: DeactivationReason): Promise<void> {
    this.#deactivating ??= this.#deactivate(reason);
    return this.#deactivating;
  }

  /**
   * Drops the activation at once, without flushing or releasing (the lock is already gone or
   * suspect). Queued calls and calls held for a write not yet started fail with a retryable
   * `OwnershipLost` (or `error`); a write in flight still settles the calls it carries by its own outcome.
   */
  drop(reason: 'fenced' | 'session-lost' | 'shutdown', error?: Error): void {
    this.#close(reason, error ?? new OwnershipLost(this.type, this.id, reason));
  }

  /** Changes the status; an illegal transition throws (see {@link ACTIVATION_TRANSITIONS}). */
  #transition(to: ActivationStatus): void {
    checkTransition(this.#status, to, `activation of ${this.key}`);
    this.#status = to;
  }

  async #deactivate(reason: DeactivationReason): Promise<void> {
    if (this.#status === 'activating') {
      this.#close(reason, new OwnershipLost(this.type, this.id, `${reason} before it was active`));
      return;
    }
    if (this.#status !== 'active') return;
    this.#transition('deactivating');
    // Let the mailbox run dry and every change reach the store (or fail and be re-run).
    while (!this.quiescent && this.status === 'deactivating') {
      await new Promise<void>((resolve) => {
        this.#wakeDeactivation = resolve;
        setTimeout(resolve, 50).unref();
        if (!this.#running) {
          this.#running = true;
          void this.#drain();
        }
      });
      this.#wakeDeactivation = undefined;
    }
    if (this.status !== 'deactivating') return; // dropped meanwhile (fenced, session lost)
    this.#transition('deactivated');
    try {
      await this.#lock?.release();
    } finally {
      this.#finish(reason);
    }
  }

  /** Ends the activation at once: fails what waits with `error`, then reports and closes. */
  #close(reason: DeactivationReason, error: unknown): void {
    if (this.#status === 'deactivated') return;
    const wasActivating = this.#status === 'activating';
    this.#transition('deactivated');
    if (wasActivating) {
      this.#refusal = { error };
      this.#settleWaiters();
    }
    for (const entry of this.#mailbox.splice(0)) fail(entry, error);
    for (const entry of this.#held.splice(0)) fail(entry, error);
    this.#finish(reason);
  }

  /** This node will not serve the object (another owns it, or acquiring failed): nothing to report. */
  #refuse(refusal: Redirect | { error: unknown }): void {
    if (this.#status !== 'activating') return;
    this.#transition('deactivated');
    this.#refusal = refusal;
    this.#settleWaiters();
    // Callers wait for admission before they enqueue; anything queued anyway is routed again.
    for (const entry of this.#mailbox.splice(0)) fail(entry, new OwnershipLost(this.type, this.id, 'not the owner'));
    this.#markClosed();
  }

  async #releaseAfterFailedStart(lock: LockHandle, report: boolean): Promise<void> {
    await lock.release().catch(() => {
      // The lock goes with the session if this fails (or is swept once ZooKeeper answers again).
    });
    if (report) this.host.emit({ kind: 'lock.released', type: this.type, id: this.id, epoch: lock.epoch });
  }

  #settleWaiters(): void {
    const waiters = this.#waiters;
    this.#waiters = undefined;
    if (!waiters) return;
    for (const waiter of waiters) {
      clearTimeout(waiter.timer);
      this.#refusalOutcome().then(waiter.resolve, waiter.reject);
    }
  }

  #refusalOutcome(): Promise<Redirect | undefined> {
    const refusal = this.#refusal;
    if (refusal === undefined) {
      // Admitted, or closed after serving: a caller still holding this activation looks again.
      return this.#status === 'deactivated' ? Promise.reject(new OwnershipLost(this.type, this.id, 'deactivated')) : Promise.resolve(undefined);
    }
    return refusal instanceof Redirect ? Promise.resolve(refusal) : Promise.reject(refusal.error);
  }

  #finish(reason: DeactivationReason): void {
    if (this.#lock) this.host.emit({ kind: 'lock.released', type: this.type, id: this.id, epoch: this.epoch });
    this.host.emit({
      kind: 'object.deactivated', type: this.type, id: this.id, epoch: this.epoch, reason,
      activeMs: Math.round(performance.now() - this.activatedAtMs),
    });
    this.#markClosed();
  }

  #markClosed(): void {
    this.#isClosed = true;
    this.host.closed(this);
    this.#closed?.resolve();
    this.#closed = undefined;
  }

  // ---- the mailbox ----

  /**
   * The fast path of a synchronous query: when this activation is active, idle (nothing queued or
   * running), clean (every change durable) and holds the read lease, a query whose function returns
   * a value (not a promise) runs at once, without the mailbox, and its outcome is returned. Undefined
   * when the operation must go through {@link enqueue} instead (and nothing ran: an asynchronous
   * query's promise is dropped, and it runs again in the mailbox; a query has no effect on the state).
   */
  runNow(operation: Operation): RunNow | undefined {
    if (operation.op !== 'call' || this.#status !== 'active' || this.#running || this.#mailbox.length > 0 || this.#revertPending
      || this.#storeDown || this.#changeSeq !== this.#durableSeq) return undefined;
    const spec = this.definition.operations.get(operation.name);
    if (spec?.kind !== 'query' || !this.host.holdsLease(this.type, this.id)) return undefined;
    const startMs = performance.now();
    this.lastActivityMs = startMs;
    const problem = argumentProblem(spec, operation.arg);
    if (problem) {
      const refusal = new InvalidArgument(`the argument of '${operation.name}' on ${this.type}/${this.id} is not valid: ${problem}`);
      const ms = performance.now() - startMs;
      this.host.record(this, ms, failureKind(refusal));
      return { ok: false, error: refusal, ms };
    }
    let value: unknown;
    try {
      value = spec.fn(this.#state, operation.arg, this.#context());
    } catch (err) {
      const error = this.#handlerError(operation.name, err);
      const ms = performance.now() - startMs;
      this.host.record(this, ms, failureKind(error));
      return { ok: false, error, ms };
    }
    if (isThenable(value)) return undefined;
    const reply = copyReply(value);
    const ms = performance.now() - startMs;
    this.host.record(this, ms, 'ok');
    return { ok: true, value: reply, ms };
  }

  /**
   * Queues an operation; resolves with its outcome once the state it observed is durable, or
   * rejects with `timeoutError()` at `deadline`. A deactivated activation refuses it with a
   * retryable `OwnershipLost`.
   */
  enqueue(operation: Operation, deadline: number, timeoutError: () => Error): Promise<unknown> {
    if (this.#status === 'deactivated') return Promise.reject(new OwnershipLost(this.type, this.id, 'deactivated'));
    const now = this.runNow(operation);
    if (now !== undefined) return now.ok ? Promise.resolve(now.value) : Promise.reject(now.error);
    const startMs = performance.now();
    this.lastActivityMs = startMs;
    return new Promise((resolve, reject) => {
      const entry: Entry = { operation, resolve, reject, deadline, startMs, timer: undefined, ok: false, value: undefined };
      entry.timer = setTimeout(() => {
        entry.timer = undefined;
        this.host.record(this, performance.now() - startMs, 'error');
        reject(timeoutError());
      }, Math.max(0, deadline - startMs));
      this.#mailbox.push(entry);
      this.#kick();
    });
  }

  #kick(): void {
    if (this.#running || this.#status === 'activating' || this.#status === 'deactivated') return;
    if (this.#mailbox.length === 0 && !this.#revertPending) return;
    this.#running = true;
    void this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#mailbox.length > 0 || this.#revertPending) {
        if (this.#status === 'deactivated') return;
        if (this.#revertPending) this.#revert();
        const entry = this.#mailbox.shift();
        if (!entry) continue;
        if (entry.timer === undefined) continue; // the caller gave up already (CallTimeout): never run it
        if (this.#storeDown) {
          this.#fail(entry, this.#storeDown);
          continue;
        }
        if (!this.host.holdsLease(this.type, this.id)) {
          // ZooKeeper has been silent too long: our session, and the lock, may be gone. Serve nothing;
          // the caller retries, and reaches whoever owns the object by then (maybe us, once renewed).
          this.#fail(entry, new OwnershipLost(this.type, this.id, 'read lease expired: no answer from the coordinator'));
          continue;
        }
        const ran = this.#execute(entry);
        if (ran) await ran;
        // Start a write as soon as there is a change; later changes coalesce into the next one.
        this.#flush();
      }
    } finally {
      this.#running = false;
    }
    this.#flush();
  }

  /** Runs one operation. Returns a promise only when a handler is asynchronous. */
  #execute(entry: Entry): Promise<void> | undefined {
    const { operation } = entry;
    if (operation.op === 'get') {
      this.#settle(entry, true, JSON.parse(this.#json));
      return undefined;
    }
    if (operation.op === 'put') {
      if (operation.expectedVersion === undefined) {
        this.#apply(entry, operation.state, undefined, 'put');
        return undefined;
      }
      const conflict = this.#versionConflict(operation.expectedVersion);
      if (conflict) this.#settle(entry, false, conflict);
      else this.#apply(entry, operation.state, { previous: JSON.parse(this.#json), previousVersion: this.#storedVersion }, 'put');
      return undefined;
    }
    const { name, arg } = operation;
    const spec = this.definition.operations.get(name);
    if (!spec) {
      this.#settle(entry, false, new UnknownHandler(this.type, name, [...this.definition.operations.keys()]));
      return undefined;
    }
    // Checked by the caller's ref too; checked again here for calls forwarded from other nodes.
    const problem = argumentProblem(spec, arg);
    if (problem) {
      this.#settle(entry, false, new InvalidArgument(`the argument of '${name}' on ${this.type}/${this.id} is not valid: ${problem}`));
      return undefined;
    }
    let result: unknown;
    try {
      result = spec.fn(this.#state, arg, this.#context());
    } catch (err) {
      this.#restoreIfMutated();
      this.#settle(entry, false, this.#handlerError(name, err));
      return undefined;
    }
    const onResult = spec.kind === 'query'
      ? (value: unknown) => this.#settle(entry, true, copyReply(value))
      : (value: unknown) => this.#applyResult(entry, value, name);
    if (!isThenable(result)) {
      onResult(result);
      return undefined;
    }
    return Promise.resolve(result).then(onResult, (err: unknown) => {
      this.#restoreIfMutated();
      this.#settle(entry, false, this.#handlerError(name, err));
    });
  }

  #applyResult(entry: Entry, result: unknown, name: string): void {
    if (this.#status === 'deactivated') {
      fail(entry, new OwnershipLost(this.type, this.id, 'deactivated'));
      return;
    }
    if (result instanceof Replied) this.#apply(entry, result.state, copyReply(result.reply), name);
    else this.#apply(entry, result, undefined, name);
  }

  /** Makes `next` the in-memory state if it is valid, then settles the entry. */
  #apply(entry: Entry, next: unknown, reply: unknown, name: string): void {
    if (next === undefined) {
      this.#restoreIfMutated();
      this.#settle(entry, false, new HandlerFailed(this.type, this.id, name, 'it returned undefined; a handler returns the next state (or ctx.reply(state, reply))'));
      return;
    }
    let json: string;
    try {
      json = this.#serialize(next);
    } catch (err) {
      this.#restoreIfMutated();
      this.#settle(entry, false, err);
      return;
    }
    if (json !== this.#json) {
      this.#json = json;
      this.#state = JSON.parse(json);
      this.#changeSeq++;
    }
    this.#settle(entry, true, reply);
  }

  /**
   * Why a replacement guarded by `expected` may not run: the object's state is not the one stored at
   * that version (a newer version, or changes not yet durable). Undefined when it may.
   */
  #versionConflict(expected: number): VersionConflict | undefined {
    const clean = this.#changeSeq === this.#durableSeq;
    if (clean && expected >= this.#sameStateSince && expected <= this.#storedVersion) return undefined;
    // The version the current state will be stored as: pending changes go into the next write, after one in flight.
    const inflight = this.#inflight;
    const current = clean ? this.#storedVersion : this.#storedVersion + (inflight && this.#changeSeq !== inflight.seq ? 2 : 1);
    return new VersionConflict(this.type, this.id, expected, current, JSON.parse(this.#json));
  }

  #serialize(state: unknown): string {
    let json: string | undefined;
    try {
      json = JSON.stringify(state);
    } catch (err) {
      throw new InvalidState(this.type, this.id, causeMessage(err));
    }
    if (json === undefined || typeof state !== 'object' || state === null) {
      throw new InvalidState(this.type, this.id, 'a state must be a JSON object or array');
    }
    const bytes = Buffer.byteLength(json);
    if (bytes > this.host.maxStateBytes) throw new StateTooLarge(this.type, this.id, bytes, this.host.maxStateBytes);
    return json;
  }

  /** A handler may have mutated the state in place before failing: go back to the last good JSON. */
  #restoreIfMutated(): void {
    this.#state = JSON.parse(this.#json);
  }

  /** Releases the outcome now if the state it observed is durable; else holds it for the next write. */
  #settle(entry: Entry, ok: boolean, value: unknown): void {
    entry.ok = ok;
    entry.value = value;
    if (this.#changeSeq === this.#durableSeq && this.#inflight === undefined) this.#release(entry);
    else this.#held.push(entry);
  }

  // ---- group commit ----

  #flush(): void {
    if (this.#inflight || this.#changeSeq === this.#durableSeq || this.#status === 'deactivated' || this.#revertPending) {
      // Clean: outcomes held only because a write was in flight can go now.
      if (!this.#inflight && this.#changeSeq === this.#durableSeq && this.#held.length > 0) {
        for (const entry of this.#held.splice(0)) this.#release(entry);
      }
      return;
    }
    const seq = this.#changeSeq;
    const body = this.#json;
    const entries = this.#held.splice(0);
    const epoch = this.epoch;
    this.#inflight = { seq, entries };
    const started = performance.now();
    // Resolving an interrupted write may take until the last carried caller gives up (1 s when none waits).
    const deadline = entries.length > 0 ? entries.reduce((latest, e) => Math.max(latest, e.deadline), 0) : performance.now() + 1_000;
    const write = { body, epoch, version: this.#storedVersion + 1, etag: this.#etag, deadline };
    writeFenced(this.host.store, this, write, (error) => this.#enterStoreDown(error, body))
      .then(({ etag, version }) => {
        this.#storeDown = undefined;
        this.#etag = etag;
        this.#storedVersion = version;
        if (body !== this.#durableJson) this.#sameStateSince = version;
        this.#durableJson = body;
        this.#durableSeq = seq;
        this.#inflight = undefined;
        for (const entry of entries) this.#release(entry);
        this.host.emit({
          kind: 'object.persisted', type: this.type, id: this.id, epoch, version,
          bytes: Buffer.byteLength(body), calls: entries.length, putMs: roundMs(performance.now() - started),
        });
        this.#afterWrite();
      }, (err: unknown) => {
        this.#storeDown = undefined;
        this.#inflight = undefined;
        if (err instanceof Fenced || err instanceof FencedUncertain) {
          const outcome = err instanceof FencedUncertain ? err.indeterminate : new OwnershipLost(this.type, this.id, 'fenced', err);
          for (const entry of entries) this.#fail(entry, outcome);
          this.host.emit({ kind: 'object.fenced', type: this.type, id: this.id, epoch });
          this.drop('fenced', new OwnershipLost(this.type, this.id, 'fenced', err));
          return;
        }
        const error = err instanceof HighlanderError ? err : new StoreUnavailable('write', this.host.store.keyOf(this.type, this.id), err);
        for (const entry of entries) this.#fail(entry, error);
        this.host.emit({ kind: 'object.persist-failed', type: this.type, id: this.id, epoch, calls: entries.length, error: error.message });
        // Everything that ran after this write observed state that will never be durable: run it again.
        this.#revertPending = true;
        if (!this.#running) {
          this.#running = true;
          void this.#drain();
        }
        this.#afterWrite();
      });
  }

  /**
   * The store does not answer while an interrupted write is unresolved. Calls that ran after that
   * write observed state that may never be durable, and nothing can be written until it is resolved:
   * fail them now (no effect) and go back to the state the write carries; new calls fail fast.
   */
  #enterStoreDown(error: StoreUnavailable, inflightBody: string): void {
    this.#storeDown = new StoreUnavailable('write', this.host.store.keyOf(this.type, this.id), error.cause ?? error);
    for (const entry of this.#held.splice(0)) this.#fail(entry, this.#storeDown);
    this.#json = inflightBody;
    this.#state = JSON.parse(inflightBody);
    this.#changeSeq = this.#inflight?.seq ?? this.#changeSeq;
  }

  #revert(): void {
    this.#revertPending = false;
    const rerun = this.#held.splice(0);
    for (const entry of rerun) {
      entry.ok = false;
      entry.value = undefined;
    }
    this.#mailbox.unshift(...rerun);
    this.#json = this.#durableJson;
    this.#state = JSON.parse(this.#durableJson);
    this.#changeSeq = this.#durableSeq;
  }

  #afterWrite(): void {
    this.#flush();
    this.#wakeDeactivation?.();
  }

  // ---- helpers ----

  #release(entry: Entry): void {
    if (entry.timer === undefined) return; // timed out already: the caller has its CallTimeout
    this.host.record(this, performance.now() - entry.startMs, entry.ok ? 'ok' : failureKind(entry.value));
    release(entry);
  }

  #fail(entry: Entry, error: unknown): void {
    entry.ok = false;
    entry.value = error;
    this.#release(entry);
  }

  #context(): ObjectContext {
    return (this.#ctx ??= new ObjectContext(this, this.host.refs, this.host.nodeName));
  }

  #handlerError(name: string, err: unknown): HighlanderError {
    if (err instanceof HighlanderError) return err;
    return new HandlerFailed(this.type, this.id, name, causeMessage(err), err);
  }
}

function release(entry: Entry): void {
  clearTimeout(entry.timer);
  entry.timer = undefined;
  if (entry.ok) entry.resolve(entry.value);
  else entry.reject(entry.value);
}

function fail(entry: Entry, error: unknown): void {
  entry.ok = false;
  entry.value = error;
  release(entry);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** Replies cross node boundaries as JSON; a local caller gets the same copy, never a live reference into state. */
function copyReply(value: unknown): unknown {
  return typeof value === 'object' && value !== null ? JSON.parse(JSON.stringify(value)) : value;
}
