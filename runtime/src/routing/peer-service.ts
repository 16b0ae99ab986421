import { performance } from 'node:perf_hooks';
import { raceTimeout } from '@highlander/kit';
import type { Activation } from '../activation/activation.js';
import type { ActivationRegistry } from '../activation/activation-registry.js';
import type { Coordinator } from '../coordinator.js';
import type { AnyObjectType } from '../define-object.js';
import { CallTimeout, NodeStopping, UnknownObjectType } from '../errors.js';
import type { NodeMetrics } from '../metrics.js';
import { objectKey, validateObjectId } from '../names.js';
import { Redirect, operationName } from '../operation.js';
import { operationOf, type PeerAdopt, type PeerCall, type PeerReplyBody, type PeerRequest } from '../transport/peer-protocol.js';

/**
 * The owner's side of a forwarded call: the node that receives it serves it if it holds the
 * object, activates the object if nobody does, or redirects the caller to the owner. One pass,
 * no retry: the caller's router retries (see `reroutable` in call-router.ts).
 */

/** What the peer service reads from its node. */
export interface PeerServiceNode {
  readonly name: string;
  /** Whether the node takes calls (its status is 'running'). */
  readonly running: boolean;
  /** A draining node takes no new activations. */
  readonly draining: boolean;
  objectType(name: string): AnyObjectType | undefined;
}

export interface PeerServiceOptions {
  node: PeerServiceNode;
  activations: ActivationRegistry;
  coordinator: Coordinator;
  metrics: NodeMetrics | undefined;
  /** The target's side of a migration step (see migration.ts). */
  adopt(request: PeerAdopt): Promise<PeerReplyBody>;
}

export class PeerService {
  readonly #options: PeerServiceOptions;
  /** Requests from peers being served now. */
  readonly #serving = new Set<Promise<unknown>>();

  constructor(options: PeerServiceOptions) {
    this.#options = options;
  }

  /**
   * Serves one request from a peer: a forwarded call, or a migration step. A synchronous query on an
   * object active here is answered at once (the reply, not a promise); a query that throws, throws.
   */
  serve(request: PeerRequest): PeerReplyBody | Promise<PeerReplyBody> {
    if (request.t === 'call') {
      const now = this.#serveNow(request);
      if (now !== undefined) return now;
    }
    const serving = request.t === 'adopt' ? this.#options.adopt(request) : this.#serveCall(request);
    this.#serving.add(serving);
    const done = () => this.#serving.delete(serving);
    serving.then(done, done);
    return serving;
  }

  /** Resolves once every request accepted so far has been answered (or after `timeoutMs`). */
  settled(timeoutMs: number): Promise<void> {
    return raceTimeout(timeoutMs, Promise.allSettled([...this.#serving]));
  }

  /** The reply to a call that runs at once here ({@link Activation.runNow}), or undefined when it cannot. */
  #serveNow(call: PeerCall): PeerReplyBody | undefined {
    const { node, activations, metrics } = this.#options;
    // An activation is registered under a checked type and id only: finding one checks the call's.
    const active = node.running ? activations.get(objectKey(call.type, call.id)) : undefined;
    if (active === undefined) return undefined;
    const now = active.runNow(operationOf(call));
    if (now === undefined) return undefined;
    metrics?.recordForwarded(active.type, 'in');
    if (!now.ok) throw now.error;
    return { t: 'ok', value: now.value };
  }

  async #serveCall(call: PeerCall): Promise<PeerReplyBody> {
    const { node, metrics } = this.#options;
    const definition = node.objectType(call.type);
    if (!definition) return { t: 'err', error: new UnknownObjectType(call.type, node.name).serialize() };
    metrics?.recordForwarded(definition.type, 'in');
    validateObjectId(call.id);
    if (!node.running) return { t: 'err', error: new NodeStopping(node.name).serialize() };
    const operation = operationOf(call);
    const deadline = performance.now() + call.timeoutMs;
    const timeout = () => new CallTimeout(call.type, call.id, operationName(operation), call.timeoutMs);
    // The common case first: the object is active here.
    const active = this.#options.activations.get(objectKey(call.type, call.id));
    if (active?.status === 'active') return { t: 'ok', value: await active.enqueue(operation, deadline, timeout) };
    const here = await this.#acquireOrRedirect(definition, call.id, deadline, timeout);
    if (here instanceof Redirect) return { t: 'redirect', owner: here.owner };
    return { t: 'ok', value: await here.enqueue(operation, deadline, timeout) };
  }

  /**
   * The activation that serves the object here once it serves — the registered one, or a new one
   * when nobody owns the object — or where the caller goes instead.
   */
  async #acquireOrRedirect(definition: AnyObjectType, id: string, deadline: number, timeout: () => CallTimeout): Promise<Activation | Redirect> {
    const { node, activations, coordinator } = this.#options;
    const key = objectKey(definition.type, id);
    let activation = activations.get(key);
    if (activation && !takesCalls(activation)) {
      // Deactivating (idle, evicted, migrated, drained): its calls follow the object once it is released.
      await raceTimeout(deadline - performance.now(), activation.closed);
      activation = activations.get(key);
    }
    if (!activation || !takesCalls(activation)) {
      const owner = await coordinator.owner(definition.type, id);
      if (owner !== null && owner !== node.name) return new Redirect(owner);
      // Take no new activations while draining: the caller places the object elsewhere.
      if (node.draining) return new Redirect(null);
      // Nobody owns it (or only a stale lock of ours, which acquiring cleans up): activate here.
      activation = activations.activate(definition, id, { deadline });
      // Still the one that would not close in time: the caller tries again.
      if (!takesCalls(activation)) return new Redirect(null);
    }
    const redirect = activation.status === 'activating' ? await activation.admitted(deadline, timeout) : undefined;
    return redirect ?? activation;
  }
}

/** Whether an activation takes new calls: activating (they wait for it) or active. */
function takesCalls(activation: Activation): boolean {
  return activation.status === 'activating' || activation.status === 'active';
}
