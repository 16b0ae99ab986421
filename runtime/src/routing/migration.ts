import { performance } from 'node:perf_hooks';
import { roundMs } from '@highlander/kit';
import type { ActivationRegistry } from '../activation/activation-registry.js';
import type { MemberInfo } from '../coordinator.js';
import type { AnyObjectType } from '../define-object.js';
import { CallTimeout, MigrationRefused, NodeFull, NodeStopping, NotActiveHere, UnknownObjectType, deserializeError } from '../errors.js';
import type { LifecycleEventBody } from '../events.js';
import { objectKey, validateObjectId } from '../names.js';
import type { PeerClient } from '../transport/peer-client.js';
import type { PeerAdopt, PeerReplyBody } from '../transport/peer-protocol.js';
import type { OwnerCache } from './owner-cache.js';

/**
 * Moving one object from its owner to another node, operator-driven:
 *
 * 1. the owner asks the target to join the object's lock queue (`adopt`, phase `queue`): the
 *    target registers an activation at once, so calls forwarded to it wait there;
 * 2. the owner stops taking calls (new ones wait for it to close, then follow the object to the
 *    target), runs what is queued, flushes and releases its lock (reason `migrated`);
 * 3. the target takes the lock, loads, claims and serves; the owner asks it (phase `active`) and
 *    answers once the object is active there, emitting `object.migrated`.
 */

/** What migration reads from its node. */
export interface MigrationNode {
  readonly name: string;
  /** Whether the node takes calls (its status is 'running'). */
  readonly running: boolean;
  readonly draining: boolean;
  member(name: string): MemberInfo | undefined;
  objectType(name: string): AnyObjectType | undefined;
  emit(event: LifecycleEventBody): void;
}

export interface MigrationOptions {
  node: MigrationNode;
  activations: ActivationRegistry;
  owners: OwnerCache;
  peers: PeerClient;
}

export class Migration {
  readonly #options: MigrationOptions;

  constructor(options: MigrationOptions) {
    this.#options = options;
  }

  /** The owner's side: moves an object active here to node `to`; resolves once it is active there. */
  async migrate(type: string, id: string, to: string, timeoutMs: number): Promise<{ from: string; to: string; durationMs: number }> {
    const { node, activations, owners, peers } = this.#options;
    const started = performance.now();
    const deadline = started + timeoutMs;
    const key = objectKey(type, id);
    const activation = activations.get(key);
    if (!activation || activation.status !== 'active') throw new NotActiveHere(type, id, node.name);
    if (to === node.name) throw new MigrationRefused(type, id, to, 'it is already there');
    const target = node.member(to);
    if (!target) throw new MigrationRefused(type, id, to, 'no live node of that name');
    if (target.draining) throw new MigrationRefused(type, id, to, 'the node is draining');
    const adopt = async (phase: 'queue' | 'active') => {
      const remaining = Math.max(1, deadline - performance.now());
      const reply = await peers.request(to, target.address, { t: 'adopt', type, id, from: node.name, phase, timeoutMs: Math.floor(remaining) }, remaining);
      if (reply.t === 'err') throw deserializeError(reply.error);
      if (reply.t !== 'ok') throw new MigrationRefused(type, id, to, 'the target did not take the object');
    };
    await adopt('queue');
    // Calls arriving from now on wait for this activation to close, then follow the object to `to`.
    owners.set(key, to);
    await activation.deactivate('migrated');
    await adopt('active');
    const durationMs = roundMs(performance.now() - started);
    node.emit({ kind: 'object.migrated', type, id, from: node.name, to, durationMs });
    return { from: node.name, to, durationMs };
  }

  /** The target's side of a migration step (see the steps above). */
  async adopt(request: PeerAdopt): Promise<PeerReplyBody> {
    const { node, activations } = this.#options;
    const { type, id } = request;
    const definition = node.objectType(type);
    if (!definition) return { t: 'err', error: new UnknownObjectType(type, node.name).serialize() };
    validateObjectId(id);
    if (!node.running) return { t: 'err', error: new NodeStopping(node.name).serialize() };
    if (node.draining) return refused(request, node.name, 'the node is draining');
    const deadline = performance.now() + request.timeoutMs;
    const timeout = () => new CallTimeout(type, id, 'migrate', request.timeoutMs);
    if (request.phase === 'queue') {
      if (activations.get(objectKey(type, id))) return refused(request, node.name, 'the target already has an activation of it');
      let queued!: () => void;
      const isQueued = new Promise<void>((resolve) => (queued = resolve));
      let activation;
      try {
        activation = activations.activate(definition, id, { deadline, wait: true, onQueued: () => queued() });
      } catch (err) {
        if (err instanceof NodeFull) return refused(request, node.name, `the target is at its lock budget: ${err.message}`);
        throw err;
      }
      // Queued behind the owner, or (if the owner released meanwhile) already serving, or failed.
      await Promise.race([isQueued, activation.admitted(deadline, timeout).catch(() => undefined)]);
      if (activation.status === 'deactivated') return refused(request, node.name, 'the target could not join the lock queue');
      return { t: 'ok', value: { queued: true } };
    }
    const activation = activations.get(objectKey(type, id));
    if (!activation) return refused(request, node.name, 'the target is not taking it over');
    await activation.admitted(deadline, timeout).catch(() => undefined);
    if (activation.status !== 'active') return refused(request, node.name, `the target's activation is ${activation.status}`);
    return { t: 'ok', value: { active: true, epoch: activation.epoch } };
  }
}

function refused(request: PeerAdopt, self: string, reason: string): PeerReplyBody {
  return { t: 'err', error: new MigrationRefused(request.type, request.id, self, reason).serialize() };
}
