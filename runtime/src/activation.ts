import { performance } from 'node:perf_hooks';
import type { LockHandle } from './coordinator.js';
import { Replied, makeFailers, type AnyObjectType, type Failers, type Ref, type RefFactory } from './define-object.js';
import {
  Fenced, HandlerFailed, HighlanderError, Indeterminate, InvalidState, OwnershipLost, StateTooLarge, StoreUnavailable,
  UnknownHandler, causeMessage,
} from './errors.js';
import type { DeactivationReason, LifecycleEventBody } from './events.js';
import type { StateStore, StoredObject, WriteCondition } from './state-store.js';

/**
 * One live object on its owner: the in-memory state, a FIFO mailbox that runs one operation at a
 * time, and the group-commit write path to the state store.
 *
 * Durability: an operation's outcome (its reply or its error) is released to the caller only once
 * the state it observed is durable. A state change is carried by the next conditional PUT; changes
 * made while a PUT is in flight are coalesced into the one after it. A failed PUT fails exactly the
 * calls it carried; operations that ran after it (on state that never became durable) are run
 * again on the last durable state, since nobody has seen their outcome.
 *
 * Lifecycle: 'activating' → 'active' → 'deactivating' → 'deactivated'. Calls are accepted while
 * activating or active; a deactivating or deactivated activation accepts none.
 */

/** How long before the callers' deadline the read-back of an interrupted write gives up. */
const READ_BACK_MARGIN_MS = 50;

export type ActivationStatus = 'activating' | 'active' | 'deactivating' | 'deactivated';

export type Operation =
  | { op: 'get' }
  | { op: 'put'; state: unknown }
  | { op: 'call'; name: string; arg: unknown };

/** Thrown into callers queued on an activation that did not become (or stopped being) the owner. */
export class RouteAgain extends Error {
  constructor(readonly owner: string | null) {
    super(owner ? `object is owned by ${owner}` : 'object has no owner here');
  }
}

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

/** What an activation needs from its node. */
export interface ActivationHost {
  readonly nodeName: string;
  readonly store: StateStore;
  readonly maxStateBytes: number;
  emit(event: LifecycleEventBody): void;
  /** Records one finished call of `activation` for the interval's stats. */
  record(activation: Activation, ms: number, failed: boolean): void;
  /** The read lease: false once the coordinator has been silent long enough that the lock may be gone. */
  holdsLease(): boolean;
  refs: RefFactory;
}

export class Activation {
  status: ActivationStatus = 'activating';
  lastActivityMs = performance.now();
  readonly activatedAtMs = performance.now();
  lock: LockHandle | undefined;
  /** Calls finished in the current stats interval (read and reset by the node). */
  intervalCalls = 0;

  #state: any;
  #json = '';
  #changeSeq = 0;
  #durableJson = '';
  #durableSeq = 0;
  #etag: string | undefined;
  #storedVersion = 0;

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
  #ctx: ObjectContext | undefined;
  #closed: Promise<void>;
  #resolveClosed!: () => void;
  #loaded: Promise<void>;
  #resolveLoaded!: () => void;
  #deactivating: Promise<void> | undefined;

  constructor(
    readonly definition: AnyObjectType,
    readonly id: string,
    readonly key: string,
    private readonly host: ActivationHost,
  ) {
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#loaded = new Promise((resolve) => (this.#resolveLoaded = resolve));
  }

  /** Resolves once the activation is active (it may never be: see `closed`). */
  get loaded(): Promise<void> {
    return this.#loaded;
  }

  get type(): string {
    return this.definition.type;
  }

  get epoch(): string {
    return this.lock?.epoch ?? '0';
  }

  /** Resolves once the activation is deactivated (its lock released or lost). */
  get closed(): Promise<void> {
    return this.#closed;
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

  get storedVersion(): number {
    return this.#storedVersion;
  }

  /**
   * Loads the state and claims the stored object for this owner's epoch with a conditional write,
   * so that a write of any earlier owner still in flight fails from now on.
   */
  async load(lock: LockHandle): Promise<void> {
    this.lock = lock;
    const started = performance.now();
    const store = this.host.store;
    let stored: StoredObject | null = null;
    let existed = false;
    for (let attempt = 0; ; attempt++) {
      stored = await store.read(this.type, this.id);
      if (attempt === 0) existed = stored !== null;
      if (stored && BigInt(stored.epoch) > BigInt(lock.epoch)) {
        // A newer owner has claimed the object: we are the stale one.
        throw new Fenced(this.type, this.id);
      }
      if (stored && stored.epoch === lock.epoch) break; // our own claim, whose answer was lost
      const body = stored ? stored.body : this.#serialize(this.definition.initial());
      const version = (stored?.version ?? 0) + 1;
      const result = await store.write({
        type: this.type, id: this.id, body, epoch: lock.epoch, version,
        condition: stored ? { ifMatch: stored.etag } : { ifNoneMatch: '*' },
      });
      if (result.ok) {
        stored = { body, etag: result.etag, epoch: lock.epoch, version };
        break;
      }
      // Someone wrote between our read and our claim (an earlier owner's last write): read again.
      if (attempt >= 5) throw new Fenced(this.type, this.id);
    }
    if (this.status !== 'activating') {
      // Dropped while loading (session lost, node stopping): the lock may be gone; never serve.
      throw new OwnershipLost(this.type, this.id, 'dropped while activating');
    }
    this.#json = stored.body;
    this.#state = JSON.parse(stored.body);
    this.#durableJson = stored.body;
    this.#etag = stored.etag;
    this.#storedVersion = stored.version;
    this.status = 'active';
    this.#resolveLoaded();
    this.host.emit({
      kind: 'object.activated', type: this.type, id: this.id, epoch: lock.epoch, version: stored.version,
      stored: existed, loadMs: round(performance.now() - started),
    });
    this.#kick();
  }

  /**
   * Queues an operation; resolves with its outcome once the state it observed is durable, or
   * rejects with `timeoutError()` at `deadline`.
   */
  enqueue(operation: Operation, deadline: number, timeoutError: () => Error): Promise<unknown> {
    const startMs = performance.now();
    this.lastActivityMs = startMs;
    // Fast path: an idle, clean, active activation runs a synchronous query at once.
    if (this.status === 'active' && !this.#running && this.#mailbox.length === 0 && !this.#revertPending && !this.#storeDown && operation.op === 'call' && this.host.holdsLease()) {
      const query = this.definition.queries[operation.name];
      if (query && this.#changeSeq === this.#durableSeq) {
        try {
          const value = query(this.#state, operation.arg, this.#context());
          if (!isThenable(value)) {
            this.host.record(this, performance.now() - startMs, false);
            return Promise.resolve(copyReply(value));
          }
        } catch (err) {
          this.host.record(this, performance.now() - startMs, true);
          return Promise.reject(this.#handlerError(operation.name, err));
        }
      }
    }
    return new Promise((resolve, reject) => {
      const entry: Entry = { operation, resolve, reject, deadline, startMs, timer: undefined, ok: false, value: undefined };
      entry.timer = setTimeout(() => {
        entry.timer = undefined;
        this.host.record(this, performance.now() - startMs, true);
        reject(timeoutError());
      }, Math.max(0, deadline - startMs));
      this.#mailbox.push(entry);
      this.#kick();
    });
  }

  /**
   * Stops taking calls, runs what is queued, flushes, releases the lock. Idempotent; concurrent
   * callers share one deactivation.
   */
  deactivate(reason: DeactivationReason): Promise<void> {
    this.#deactivating ??= this.#deactivate(reason);
    return this.#deactivating;
  }

  /**
   * Drops the activation at once, without flushing or releasing (the lock is already gone or
   * suspect). Queued calls and calls held for a write not yet started fail with a retryable
   * `OwnershipLost`; a write in flight still settles the calls it carries by its own outcome.
   */
  drop(reason: 'fenced' | 'session-lost' | 'shutdown', error?: Error): void {
    if (this.status === 'deactivated') return;
    this.status = 'deactivated';
    const lost = error ?? new OwnershipLost(this.type, this.id, reason);
    for (const entry of this.#mailbox.splice(0)) fail(entry, lost);
    for (const entry of this.#held.splice(0)) fail(entry, lost);
    this.#finish(reason);
  }

  /** Fails queued calls so their callers route them again (this node did not become the owner). */
  abort(owner: string | null, error?: unknown): void {
    if (this.status === 'deactivated') return;
    this.status = 'deactivated';
    for (const entry of this.#mailbox.splice(0)) fail(entry, error ?? new RouteAgain(owner));
    this.#resolveClosed();
  }

  // ---- the mailbox ----

  #kick(): void {
    if (this.#running || this.status === 'activating' || this.status === 'deactivated') return;
    if (this.#mailbox.length === 0 && !this.#revertPending) return;
    this.#running = true;
    void this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#mailbox.length > 0 || this.#revertPending) {
        if (this.status === 'deactivated') return;
        if (this.#revertPending) this.#revert();
        const entry = this.#mailbox.shift();
        if (!entry) continue;
        if (entry.timer === undefined) continue; // the caller gave up already (CallTimeout): never run it
        if (this.#storeDown) {
          this.#fail(entry, this.#storeDown);
          continue;
        }
        if (!this.host.holdsLease()) {
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
      this.#apply(entry, operation.state, undefined, 'put');
      return undefined;
    }
    const { name, arg } = operation;
    const query = this.definition.queries[name];
    if (query) {
      try {
        const value = query(this.#state, arg, this.#context());
        if (isThenable(value)) {
          return Promise.resolve(value).then((v) => this.#settle(entry, true, copyReply(v)), (err) => this.#settle(entry, false, this.#handlerError(name, err)));
        }
        this.#settle(entry, true, copyReply(value));
      } catch (err) {
        this.#restoreIfMutated();
        this.#settle(entry, false, this.#handlerError(name, err));
      }
      return undefined;
    }
    const handler = this.definition.handlers[name];
    if (!handler) {
      this.#settle(entry, false, new UnknownHandler(this.type, name, [...Object.keys(this.definition.handlers), ...Object.keys(this.definition.queries)]));
      return undefined;
    }
    let result: unknown;
    try {
      result = handler(this.#state, arg, this.#context());
    } catch (err) {
      this.#restoreIfMutated();
      this.#settle(entry, false, this.#handlerError(name, err));
      return undefined;
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (r) => this.#applyResult(entry, r, name),
        (err) => {
          this.#restoreIfMutated();
          this.#settle(entry, false, this.#handlerError(name, err));
        },
      );
    }
    this.#applyResult(entry, result, name);
    return undefined;
  }

  #applyResult(entry: Entry, result: unknown, name: string): void {
    if (this.status === 'deactivated') {
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
    if (this.#inflight || this.#changeSeq === this.#durableSeq || this.status === 'deactivated' || this.#revertPending) {
      // Clean: outcomes held only because a write was in flight can go now.
      if (!this.#inflight && this.#changeSeq === this.#durableSeq && this.#held.length > 0) {
        for (const entry of this.#held.splice(0)) this.#release(entry);
      }
      return;
    }
    const seq = this.#changeSeq;
    const body = this.#json;
    const entries = this.#held.splice(0);
    const version = this.#storedVersion + 1;
    const epoch = this.epoch;
    const condition = this.#etag === undefined ? { ifNoneMatch: '*' as const } : { ifMatch: this.#etag };
    this.#inflight = { seq, entries };
    const started = performance.now();
    // Resolving an interrupted write may take until the last carried caller gives up (1 s when none waits).
    const deadline = entries.length > 0 ? entries.reduce((latest, e) => Math.max(latest, e.deadline), 0) : performance.now() + 1_000;
    this.#write(body, epoch, version, condition, deadline)
      .then(({ etag, version: written }) => {
        this.#etag = etag;
        this.#storedVersion = written;
        this.#durableJson = body;
        this.#durableSeq = seq;
        this.#inflight = undefined;
        for (const entry of entries) this.#release(entry);
        this.host.emit({
          kind: 'object.persisted', type: this.type, id: this.id, epoch, version: written,
          bytes: Buffer.byteLength(body), calls: entries.length, putMs: round(performance.now() - started),
        });
        this.#afterWrite();
      }, (err: unknown) => {
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
   * One conditional write, resolving a failed condition by reading the object back: the write is
   * ours if the stored epoch is ours (only this activation writes with it). Either this very write
   * landed and its answer was lost, or an earlier one of ours that we counted as failed landed; in
   * that case write again on top of it. Any other epoch means a newer owner: `Fenced`.
   */
  async #write(body: string, epoch: string, version: number, condition: WriteCondition, deadline: number): Promise<{ etag: string; version: number }> {
    const { store } = this.host;
    let result;
    try {
      result = await store.write({ type: this.type, id: this.id, body, epoch, version, condition });
    } catch (err) {
      if (err instanceof StoreUnavailable && err.maybeApplied) return this.#resolveUncertainWrite(body, epoch, version, deadline, err);
      throw err;
    }
    if (result.ok) return { etag: result.etag, version };
    const stored = await store.read(this.type, this.id);
    if (stored && stored.epoch === epoch) {
      if (stored.version === version && stored.body === body) return { etag: stored.etag, version };
      const again = await store.write({ type: this.type, id: this.id, body, epoch, version: stored.version + 1, condition: { ifMatch: stored.etag } });
      if (again.ok) return { etag: again.etag, version: stored.version + 1 };
    }
    throw new Fenced(this.type, this.id);
  }

  /**
   * A write whose request may have reached the store but whose answer never came: read the object
   * back (retrying until `deadline`) and decide by what is stored, never by guessing. Ours → done;
   * our epoch with another version or body → it did not land (`StoreUnavailable`); another epoch →
   * a newer owner took over and may or may not have seen it; unreadable → `Indeterminate`.
   */
  async #resolveUncertainWrite(body: string, epoch: string, version: number, deadline: number, cause: StoreUnavailable): Promise<{ etag: string; version: number }> {
    let lastError: unknown = cause;
    try {
      for (let delayMs = 50; ; delayMs = Math.min(delayMs * 2, 500)) {
        try {
          const stored = await this.host.store.read(this.type, this.id);
          if (stored && stored.epoch === epoch && stored.version === version && stored.body === body) return { etag: stored.etag, version };
          if (!stored || stored.epoch === epoch) throw cause;
          throw new FencedUncertain(new Indeterminate(this.type, this.id, `the write was interrupted (${cause.message}) and a newer owner (epoch ${stored.epoch}) has taken over since`, cause));
        } catch (err) {
          if (err === cause || err instanceof FencedUncertain) throw err;
          lastError = err;
          if (!this.#storeDown) this.#enterStoreDown(err instanceof StoreUnavailable ? err : cause, body);
        }
        // Give up a little before the callers' deadline, so they learn "indeterminate" rather than a bare timeout.
        const remaining = deadline - READ_BACK_MARGIN_MS - performance.now();
        if (remaining <= 0) break;
        await new Promise((resolve) => setTimeout(resolve, Math.min(delayMs, remaining)));
      }
    } finally {
      this.#storeDown = undefined;
    }
    throw new Indeterminate(this.type, this.id, `the write was interrupted (${cause.message}) and reading it back failed until the call's timeout (${causeMessage(lastError)})`, lastError);
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

  // ---- deactivation ----

  #wakeDeactivation: (() => void) | undefined;

  async #deactivate(reason: DeactivationReason): Promise<void> {
    if (this.status === 'deactivated') return;
    this.status = 'deactivating';
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
    if ((this.status as ActivationStatus) === 'deactivated') return; // dropped meanwhile (fenced, session lost)
    this.status = 'deactivated';
    try {
      await this.lock?.release();
    } finally {
      this.#finish(reason);
    }
  }

  #finish(reason: DeactivationReason): void {
    if (this.lock) this.host.emit({ kind: 'lock.released', type: this.type, id: this.id, epoch: this.epoch });
    this.host.emit({
      kind: 'object.deactivated', type: this.type, id: this.id, epoch: this.epoch, reason,
      activeMs: Math.round(performance.now() - this.activatedAtMs),
    });
    this.#resolveClosed();
  }

  // ---- helpers ----

  #release(entry: Entry): void {
    if (entry.timer === undefined) return; // timed out already: the caller has its CallTimeout
    this.host.record(this, performance.now() - entry.startMs, !entry.ok);
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

/** A newer owner was found while resolving an interrupted write: fenced, and the carried calls' outcome is unknown. */
class FencedUncertain extends Error {
  constructor(readonly indeterminate: Indeterminate) {
    super(indeterminate.message);
  }
}

/** The `ctx` handlers and queries receive; one per activation, built on first use. */
class ObjectContext {
  #fail: Failers<any> | undefined;
  constructor(private readonly activation: Activation, private readonly refs: RefFactory, readonly node: string) {}
  get type(): string {
    return this.activation.type;
  }
  get id(): string {
    return this.activation.id;
  }
  get epoch(): string {
    return this.activation.epoch;
  }
  private get definition(): AnyObjectType {
    return this.activation.definition;
  }
  get fail(): Failers<any> {
    return (this.#fail ??= makeFailers(this.definition, this.id));
  }
  reply<S, R>(state: S, reply: R): Replied<S, R> {
    return new Replied(state, reply);
  }
  ref<T extends AnyObjectType>(type: T, id: string): Ref<T> {
    return this.refs.ref(type, id);
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

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
