import type { AnyObjectType } from '../define-object.js';
import { NodeFull } from '../errors.js';
import { objectKey } from '../names.js';
import { Activation, type ActivationHost, type StartOptions } from './activation.js';

/**
 * A bound on the lock paths one node holds. When a ZooKeeper session ends, the server deletes all
 * its ephemeral znodes in one transaction that lists their paths, and a stock server refuses a
 * transaction over 2 MiB (ZOOKEEPER-4306): the crash of a node holding more would take the ensemble
 * down. So a node refuses a new activation (`NodeFull`) once its lock paths would pass the budget.
 */
export interface LockBudget {
  /** The most bytes of lock paths this node may hold (waiting or owning). */
  bytes: number;
  /** What one object's lock adds (`Coordinator.lockBytes`). */
  cost(type: string, id: string): number;
  /**
   * The session whose close transaction lists the object's lock (`Coordinator.lockPool`: a sharded
   * coordinator's ensemble). The budget holds per pool. @default one pool
   */
  pool?(type: string, id: string): string;
  /** Called when the node's fullness (see `ActivationRegistry.full`) may have changed. */
  changed?(): void;
}

/**
 * The activations of one node, by object key. An activation is registered the moment it starts
 * (so every call for the object finds it, in arrival order) and leaves once it is closed (its lock
 * released or gone). With a lock budget, a new activation that would pass it is refused.
 */
export class ActivationRegistry implements Iterable<Activation> {
  readonly #byKey = new Map<string, Activation>();
  readonly #host: ActivationHost;
  readonly #budget: LockBudget | undefined;
  /** The lock cost and pool of each registered activation (with a budget). */
  readonly #costs = new Map<string, { cost: number; pool: string }>();
  /** Bytes and locks per pool. */
  readonly #pools = new Map<string, { bytes: number; count: number }>();
  #lockBytes = 0;
  #full = false;
  /** Set once the node stops: no new activation starts. */
  #refuseNew: (() => Error) | undefined;

  constructor(host: Omit<ActivationHost, 'closed'>, budget?: LockBudget) {
    this.#budget = budget;
    this.#host = {
      ...host,
      closed: (activation) => {
        if (this.#byKey.get(activation.key) !== activation) return;
        this.#byKey.delete(activation.key);
        this.#release(activation.key);
      },
    };
  }

  /** Bytes of lock paths of the registered activations (0 without a budget). */
  get lockBytes(): number {
    return this.#lockBytes;
  }

  /**
   * Whether the node is (about) at its lock budget: in some pool, one more lock of that pool's average
   * cost would pass it. Published with the node's info so that placement sends new activations elsewhere.
   */
  get full(): boolean {
    return this.#full;
  }

  #release(key: string): void {
    const entry = this.#costs.get(key);
    if (entry === undefined) return;
    this.#costs.delete(key);
    this.#lockBytes -= entry.cost;
    const pool = this.#pools.get(entry.pool)!;
    pool.bytes -= entry.cost;
    pool.count--;
    if (pool.count === 0) this.#pools.delete(entry.pool);
    this.#updateFull();
  }

  #updateFull(): void {
    if (!this.#budget) return;
    const budget = this.#budget.bytes;
    const full = [...this.#pools.values()].some((p) => p.count > 0 && p.bytes + p.bytes / p.count > budget);
    if (full === this.#full) return;
    this.#full = full;
    this.#budget.changed?.();
  }

  get size(): number {
    return this.#byKey.size;
  }

  get(key: string): Activation | undefined {
    return this.#byKey.get(key);
  }

  [Symbol.iterator](): Iterator<Activation> {
    return this.#byKey.values();
  }

  /**
   * The object's activation here: the registered one, or a new one that starts joining the lock
   * queue (see `Activation.start`). Throws what `refuseNew` gave once the node stops.
   */
  activate(definition: AnyObjectType, id: string, options: StartOptions): Activation {
    const key = objectKey(definition.type, id);
    const registered = this.#byKey.get(key);
    if (registered) return registered;
    if (this.#refuseNew) throw this.#refuseNew();
    if (this.#budget) {
      const cost = this.#budget.cost(definition.type, id);
      const poolName = this.#budget.pool?.(definition.type, id) ?? '';
      const pool = this.#pools.get(poolName) ?? { bytes: 0, count: 0 };
      if (pool.bytes + cost > this.#budget.bytes) {
        if (!this.#full) {
          this.#full = true;
          this.#budget.changed?.();
        }
        throw new NodeFull(this.#host.nodeName, pool.bytes, this.#budget.bytes);
      }
      this.#costs.set(key, { cost, pool: poolName });
      pool.bytes += cost;
      pool.count++;
      this.#pools.set(poolName, pool);
      this.#lockBytes += cost;
      this.#updateFull();
    }
    const activation = new Activation(definition, id, key, this.#host);
    this.#byKey.set(key, activation);
    void activation.start(options);
    return activation;
  }

  /** From now on, `activate` starts nothing new and throws `error()` instead. */
  refuseNew(error: () => Error): void {
    this.#refuseNew = error;
  }

  /** Forgets every activation (after a stop: they are closed, or their locks went with the session). */
  clear(): void {
    this.#byKey.clear();
    this.#forgetCosts();
  }

  #forgetCosts(): void {
    this.#costs.clear();
    this.#pools.clear();
    this.#lockBytes = 0;
    this.#updateFull();
  }

  /** Drops the activations `which` selects (their locks are gone: one ensemble's session ended). Returns how many. */
  dropWhere(which: (activation: Activation) => boolean, reason: 'session-lost'): number {
    const dropped = [...this.#byKey.values()].filter(which);
    for (const activation of dropped) activation.drop(reason);
    return dropped.length;
  }

  /** Drops every activation at once (session lost, stop without drain); returns how many there were. */

  dropAll(reason: 'session-lost' | 'shutdown', error?: () => Error): number {
    const activations = [...this.#byKey.values()];
    this.#byKey.clear();
    this.#forgetCosts();
    for (const activation of activations) activation.drop(reason, error?.());
    return activations.length;
  }
}
