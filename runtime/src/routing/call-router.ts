import { performance } from 'node:perf_hooks';
import { Backoff, raceTimeout, sleep } from '@highlander/kit';
import type { Activation } from '../activation/activation.js';
import type { ActivationRegistry } from '../activation/activation-registry.js';
import type { MemberInfo } from '../coordinator.js';
import type { AnyObjectType } from '../define-object.js';
import {
  CallTimeout, CoordinatorUnavailable, Fenced, HighlanderError, Indeterminate, NodeFull, NodeStopping, NodeUnreachable, OwnershipLost,
  deserializeError,
} from '../errors.js';
import type { NodeMetrics } from '../metrics.js';
import { objectKey } from '../names.js';
import { isReadOnly, operationName, type Invoker, type Operation } from '../operation.js';
import type { Placement } from '../placement.js';
import type { PeerClient } from '../transport/peer-client.js';
import { peerCallOf } from '../transport/peer-protocol.js';
import type { OwnerCache } from './owner-cache.js';

/**
 * The caller's side of a call: runs an operation on an object wherever it lives. Here when the
 * object is active here (or placement chooses this node for a new activation), else forwarded to
 * its owner over the peer connection. Calls that fail in a way that proves they took no effect
 * are routed again with backoff within their timeout (see {@link reroutable}), re-resolving the
 * owner each time; if time runs out, the last such error is thrown.
 */

/** What the router reads from its node. */
export interface RouterNode {
  readonly name: string;
  /** Whether the node takes calls (its status is 'running'). */
  readonly running: boolean;
  /** A draining node takes no new activations. */
  readonly draining: boolean;
  member(name: string): MemberInfo | undefined;
  members(): Iterable<MemberInfo>;
}

export interface CallRouterOptions {
  node: RouterNode;
  activations: ActivationRegistry;
  owners: OwnerCache;
  peers: PeerClient;
  placement: Placement;
  callTimeoutMs: number;
  maxStateBytes: number;
  metrics: NodeMetrics | undefined;
}

/** A bound on attempts, far above what backoff within a call timeout allows: a safety net against a tight loop. */
const MAX_ROUTING_ATTEMPTS = 64;

/**
 * Whether a call that failed with `err` is routed again within its timeout: only errors proving
 * that the call took no effect and that another attempt (maybe at another node) may succeed —
 * ownership moved or was lost (`OwnershipLost`, `Fenced`), the node that got it is stopping
 * (`NodeStopping`), ZooKeeper was briefly unavailable (`CoordinatorUnavailable`), or the owner was
 * unreachable before the request left (`NodeUnreachable` with `delivered: 'no'`).
 *
 * This is not an error's `retryable` flag, which tells the application whether sending the same
 * call again may succeed: `CallTimeout` (it may have taken effect) and `StoreUnavailable` (with S3
 * down, calls fail fast rather than queue until their timeout) are retryable but not rerouted.
 */
export function reroutable(err: unknown): err is HighlanderError {
  return err instanceof OwnershipLost || err instanceof NodeStopping || err instanceof Fenced || err instanceof CoordinatorUnavailable
    || (err instanceof NodeUnreachable && err.delivered === 'no');
}

/** How one attempt ended when it did not settle the call: route again at once, or after a backoff delay. */
interface Again {
  readonly backoff: boolean;
  /** The reroutable error that ended the attempt, thrown if time runs out. */
  readonly error?: HighlanderError;
}

const AT_ONCE: Again = { backoff: false };
const AFTER_BACKOFF: Again = { backoff: true };

/** One call being routed. */
interface Call {
  definition: AnyObjectType;
  id: string;
  key: string;
  operation: Operation;
  deadline: number;
  timeoutMs: number;
  /** The last reroutable error. */
  lastError: HighlanderError | undefined;
  /** Nodes that refused to activate the object for this call (`NodeFull`): placement skips them. */
  full?: Set<string>;
}

/** The error of a call that ran out of time. */
function timeoutOf(call: Call): CallTimeout {
  return new CallTimeout(call.definition.type, call.id, operationName(call.operation), call.timeoutMs);
}

export class CallRouter implements Invoker {
  readonly callTimeoutMs: number;
  readonly maxStateBytes: number;
  readonly #options: CallRouterOptions;

  constructor(options: CallRouterOptions) {
    this.#options = options;
    this.callTimeoutMs = options.callTimeoutMs;
    this.maxStateBytes = options.maxStateBytes;
  }

  invoke(definition: AnyObjectType, id: string, operation: Operation, timeoutMs: number): Promise<unknown> {
    const { metrics, node, activations } = this.#options;
    const key = objectKey(definition.type, id);
    const local = node.running ? activations.get(key) : undefined;
    // Fastest path: a synchronous query on an object active here runs now (no mailbox, no routing).
    // Its outcome is never reroutable: the activation served it, or refused its argument, or the query threw.
    if (local !== undefined && operation.op === 'call') {
      const now = local.runNow(operation);
      if (now !== undefined) {
        metrics?.recordCall(definition.type, now.ms, now.ok ? undefined : now.error);
        return now.ok ? Promise.resolve(now.value) : Promise.reject(now.error);
      }
    }
    const started = performance.now();
    const outcome = this.#invoke({ definition, id, key, operation, deadline: started + timeoutMs, timeoutMs, lastError: undefined }, local);
    if (metrics === undefined) return outcome;
    outcome.then(
      () => metrics.recordCall(definition.type, performance.now() - started, undefined),
      (err: unknown) => metrics.recordCall(definition.type, performance.now() - started, err),
    );
    return outcome;
  }

  /** `local`: the object's activation here when the call was made, if any. */
  async #invoke(call: Call, local: Activation | undefined): Promise<unknown> {
    const { node, owners } = this.#options;
    if (!node.running) throw new NodeStopping(node.name);
    // Fast paths: the object is active here, or known to be active elsewhere (then forwarded at once).
    if (local !== undefined) {
      if (local.status === 'active') {
        try {
          return await local.enqueue(call.operation, call.deadline, () => timeoutOf(call));
        } catch (err) {
          if (!reroutable(err)) throw err;
        }
      }
      return this.#route(call, AT_ONCE);
    }
    const owner = owners.get(call.key);
    if (owner === undefined || owner === node.name) return this.#route(call, AT_ONCE);
    const outcome = await this.#forward(owner, call);
    if ('value' in outcome) return outcome.value;
    if (outcome.error) call.lastError = outcome.error;
    return this.#route(call, outcome);
  }

  /** Routes the call until it settles, within its deadline; `first`: how the attempt before this ended. */
  async #route(call: Call, first: Again): Promise<unknown> {
    const { node, activations, owners } = this.#options;
    let backoff: Backoff | undefined; // made on first use: most calls are routed at the first attempt
    let again = first;
    for (let attempt = 0; attempt < MAX_ROUTING_ATTEMPTS; attempt++) {
      if (again.backoff) {
        backoff ??= new Backoff({ initialMs: 20, maxMs: 500 });
        await sleep(Math.min(backoff.next(), Math.max(0, call.deadline - performance.now())));
      }
      if (call.deadline - performance.now() <= 0) throw call.lastError ?? timeoutOf(call);
      if (!node.running) throw new NodeStopping(node.name);
      let here = activations.get(call.key);
      let outcome: { value: unknown } | Again;
      if (here) outcome = await this.#callHere(here, call);
      else {
        const owner = owners.get(call.key) ?? this.#place(call);
        if (owner === node.name) {
          here = this.#activateHere(call);
          outcome = here ? await this.#callHere(here, call) : AT_ONCE;
        } else {
          outcome = await this.#forward(owner, call);
        }
      }
      if ('value' in outcome) return outcome.value;
      if (outcome.error) call.lastError = outcome.error;
      again = outcome;
    }
    throw call.lastError ?? timeoutOf(call);
  }

  /**
   * For an object nobody is known to own: the node placement chooses among the live members taking
   * activations (not draining, not refused this call already), those not published as full first.
   * Fullness is published with a lag and estimated, so a full-looking node is still asked before the
   * call gives up; each node refuses a call at most once, and once all have, the last `NodeFull` is
   * thrown. With no member at all, this node.
   */
  #place(call: Call): string {
    const { node, placement } = this.#options;
    const open = [...node.members()]
      .filter((m) => !m.draining && !call.full?.has(m.name) && !(node.draining && m.name === node.name))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    const roomy = open.filter((m) => !m.full);
    const candidates = roomy.length > 0 ? roomy : open;
    if (candidates.length > 0) return placement.choose({ type: call.definition.type, id: call.id, self: node.name, candidates });
    if (call.full !== undefined && call.lastError) throw call.lastError;
    return node.name;
  }

  /** Activates the object here, or notes that this node is full (`NodeFull`) and returns undefined. */
  #activateHere(call: Call): Activation | undefined {
    try {
      return this.#options.activations.activate(call.definition, call.id, { deadline: call.deadline });
    } catch (err) {
      if (!(err instanceof NodeFull)) throw err;
      (call.full ??= new Set()).add(this.#options.node.name);
      call.lastError = err;
      return undefined;
    }
  }

  /** Runs the call on the activation here: once it serves, or after it closed, or wherever it says the owner is. */
  async #callHere(activation: Activation, call: Call): Promise<{ value: unknown } | Again> {
    if (activation.status === 'deactivating' || activation.status === 'deactivated') {
      // Deactivating: wait for it to close, then route again (it may be placed anywhere, or follow a migration).
      await raceTimeout(call.deadline - performance.now(), activation.closed);
      return AT_ONCE;
    }
    try {
      const redirect = activation.status === 'activating' ? await activation.admitted(call.deadline, () => timeoutOf(call)) : undefined;
      if (redirect) {
        // Another node won the lock: go there.
        if (redirect.owner !== null && redirect.owner !== this.#options.node.name) this.#options.owners.set(call.key, redirect.owner);
        return AT_ONCE;
      }
      return { value: await activation.enqueue(call.operation, call.deadline, () => timeoutOf(call)) };
    } catch (err) {
      if (!reroutable(err)) throw err;
      return { backoff: true, error: err };
    }
  }

  /** Sends the call to `owner` (as cached, or as placement chose); a former owner redirects to the current one. */
  async #forward(owner: string, call: Call): Promise<{ value: unknown } | Again> {
    const { owners, peers, metrics } = this.#options;
    const { definition, id, key, operation, deadline } = call;
    const member = this.#options.node.member(owner);
    if (!member) {
      // The owner is not a live member: its lock outlives it until its session expires.
      owners.delete(key);
      return AFTER_BACKOFF;
    }
    const remaining = deadline - performance.now();
    metrics?.recordForwarded(definition.type, 'out');
    let reply;
    try {
      reply = await peers.request(owner, member.address, peerCallOf(definition.type, id, operation, Math.max(1, Math.floor(remaining))), remaining);
    } catch (err) {
      if (!(err instanceof NodeUnreachable)) throw err;
      owners.delete(key);
      const readOnly = isReadOnly(definition, operation);
      if (err.delivered === 'unknown' && !readOnly) {
        if (performance.now() >= deadline) throw timeoutOf(call);
        throw new Indeterminate(definition.type, id, `the connection to the owner '${owner}' failed after the call was sent (${err.message})`, err);
      }
      if (performance.now() >= deadline) {
        if (readOnly) throw timeoutOf(call);
        return AT_ONCE; // out of time: the last reroutable error before this one, or CallTimeout
      }
      return { backoff: true, error: err };
    }
    if (reply.t === 'ok') return { value: reply.value };
    if (reply.t === 'err') {
      const error = deserializeError(reply.error);
      if (error instanceof NodeFull) {
        // Placement chose a node at its lock budget (its published info lagged): place it elsewhere.
        owners.delete(key);
        (call.full ??= new Set()).add(owner);
        return { backoff: false, error };
      }
      if (!reroutable(error)) throw error;
      owners.delete(key);
      return { backoff: true, error };
    }
    // Redirected: the receiver is not (or no longer) the owner.
    if (reply.owner && reply.owner !== owner) {
      owners.set(key, reply.owner);
      return AT_ONCE;
    }
    owners.delete(key);
    return AFTER_BACKOFF;
  }
}
