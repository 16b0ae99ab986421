import type { AnyObjectType } from '../define-object.js';
import { objectKey } from '../names.js';
import { Activation, type ActivationHost, type StartOptions } from './activation.js';

/**
 * The activations of one node, by object key. An activation is registered the moment it starts
 * (so every call for the object finds it, in arrival order) and leaves once it is closed (its lock
 * released or gone).
 */
export class ActivationRegistry implements Iterable<Activation> {
  readonly #byKey = new Map<string, Activation>();
  readonly #host: ActivationHost;
  /** Set once the node stops: no new activation starts. */
  #refuseNew: (() => Error) | undefined;

  constructor(host: Omit<ActivationHost, 'closed'>) {
    this.#host = {
      ...host,
      closed: (activation) => {
        if (this.#byKey.get(activation.key) === activation) this.#byKey.delete(activation.key);
      },
    };
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
  }

  /** Drops every activation at once (session lost, stop without drain); returns how many there were. */
  dropAll(reason: 'session-lost' | 'shutdown', error?: () => Error): number {
    const activations = [...this.#byKey.values()];
    this.#byKey.clear();
    for (const activation of activations) activation.drop(reason, error?.());
    return activations.length;
  }
}
