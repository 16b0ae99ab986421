import { performance } from 'node:perf_hooks';
import { roundMs } from '@highlander/kit';
import { HighlanderError, MigrationRefused, NodeStopping, NodeUnreachable, NotActiveHere } from '@highlander/runtime';
import type { ZkSession } from '@highlander/runtime/zookeeper';
import { ADMIN_API_DEFAULTS } from './defaults.js';
import type { ClusterSource } from './cluster-source.js';
import type { ClusterActions, ClusterModel, NodeView, ObjectDetail, ObjectTypeView, ReplaceStateResult, Storage } from './contracts.js';
import { HttpError } from './http-error.js';
import type { NodeAdminClient } from './node-admin-client.js';
import { ZooKeeperSource } from './zookeeper-source.js';

/** Where forced evictions remove the owner's lock-queue entry: a ZooKeeper session, or any source. */
export type LiveClusterActionsOptions = LiveClusterActionsCommonOptions & (
  | {
    /** For forced evictions (deleting an owner's lock znode); the caller closes it. */
    zookeeper: ZkSession;
    source?: never;
  }
  | {
    /** For forced evictions (removing the owner's lock-queue entry); the caller closes it. */
    source: ClusterSource;
    zookeeper?: never;
  }
);

export interface LiveClusterActionsCommonOptions {
  model: ClusterModel;
  storage: Storage;
  nodes: NodeAdminClient;
  /**
   * How long a graceful eviction waits for the owner before a forced one removes its lock-queue entry.
   * @default 3000
   */
  gracefulTimeoutMs?: number;
  /**
   * Timeout of migrate and drain requests to a node.
   * @default 30000
   */
  actionTimeoutMs?: number;
  /**
   * Timeout of calls and state replacements made for operators (a call may pass a shorter one).
   * @default 10000
   */
  callTimeoutMs?: number;
}

/** Admin actions, carried out by the nodes through their admin endpoints. */
export class LiveClusterActions implements ClusterActions {
  readonly #gracefulTimeoutMs: number;
  readonly #actionTimeoutMs: number;
  readonly #callTimeoutMs: number;
  readonly #source: ClusterSource;
  #next = 0;

  constructor(private readonly options: LiveClusterActionsOptions) {
    if (options.source && options.zookeeper) throw new TypeError('LiveClusterActions: give either zookeeper or source, not both');
    if (!options.source && !options.zookeeper) throw new TypeError('LiveClusterActions: zookeeper or source is required (for forced evictions)');
    this.#source = options.source ?? new ZooKeeperSource(options.zookeeper!);
    this.#gracefulTimeoutMs = options.gracefulTimeoutMs ?? ADMIN_API_DEFAULTS.evictGraceMs;
    this.#actionTimeoutMs = options.actionTimeoutMs ?? ADMIN_API_DEFAULTS.actionTimeoutMs;
    this.#callTimeoutMs = options.callTimeoutMs ?? ADMIN_API_DEFAULTS.callTimeoutMs;
  }

  async detail(type: string, id: string): Promise<ObjectDetail> {
    const { model, storage } = this.options;
    const object = model.object(type, id) ?? null;
    const [queue, persisted, memory] = await Promise.all([
      model.lockQueue(type, id),
      storage.get(type, id),
      object ? this.#memory(object.owner, type, id) : Promise.resolve(null),
    ]);
    return { object, queue, memory, persisted };
  }

  async evict(type: string, id: string, options: { force: boolean }): Promise<{ owner: string; forced: boolean; durationMs: number }> {
    const started = performance.now();
    const queue = await this.options.model.lockQueue(type, id);
    const head = queue[0];
    if (!head) throw new NotActiveHere(type, id, 'any node');
    const member = this.options.model.node(head.node);
    try {
      if (!member) throw new NodeUnreachable(head.node, new Error('not a live member (its session has not expired yet)'));
      await this.options.nodes.request(member.address, head.node, 'POST', `/objects/${enc(type)}/${enc(id)}/evict`, undefined, options.force ? this.#gracefulTimeoutMs : this.#actionTimeoutMs);
      return { owner: head.node, forced: false, durationMs: roundMs(performance.now() - started) };
    } catch (err) {
      if (!options.force || !(err instanceof NodeUnreachable)) throw err;
    }
    // The owner does not answer: remove its lock-queue entry (its lock znode). Safe because writes are
    // fenced: the next owner claims the stored object, and the old owner's writes fail from then on.
    // false (gone already: released, or its session expired meanwhile) frees the object just the same.
    await this.#source.forceRemoveLock({ type, id, path: head.path });
    return { owner: head.node, forced: true, durationMs: roundMs(performance.now() - started) };
  }

  async migrate(type: string, id: string, to: string): Promise<{ from: string; to: string; durationMs: number }> {
    const object = this.options.model.object(type, id);
    const owner = object?.owner ?? (await this.options.model.lockQueue(type, id))[0]?.node;
    if (!owner) throw new NotActiveHere(type, id, 'any node');
    if (owner === to) throw new MigrationRefused(type, id, to, 'it is already there');
    const member = this.options.model.node(owner);
    if (!member) throw new NodeUnreachable(owner, new Error('the owner is not a live member'));
    return this.options.nodes.request(member.address, owner, 'POST', `/objects/${enc(type)}/${enc(id)}/migrate`, { to }, this.#actionTimeoutMs);
  }

  async drain(node: string): Promise<{ node: string; deactivated: number; durationMs: number }> {
    const member = this.options.model.node(node);
    if (!member) throw new NodeUnreachable(node, new Error('no live node of that name'));
    const result = await this.options.nodes.request<{ deactivated: number; durationMs: number }>(member.address, node, 'POST', '/drain', undefined, this.#actionTimeoutMs);
    return { node, ...result };
  }

  async types(): Promise<ObjectTypeView[]> {
    return this.#throughLiveNode(null, async (node) => {
      const reply = await this.options.nodes.request<{ types: ObjectTypeView[] }>(node.address, node.name, 'GET', '/types', undefined, this.#callTimeoutMs);
      return reply.types;
    });
  }

  async call(type: string, id: string, handler: string, arg: unknown, options: { queryOnly: boolean; timeoutMs?: number }): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? this.#callTimeoutMs;
    return this.#throughLiveNode({ type, id }, async (node) => {
      const body = { type, id, op: handler, ...(arg === undefined ? {} : { arg }), timeoutMs, queryOnly: options.queryOnly };
      try {
        return (await this.options.nodes.request<{ value: unknown }>(node.address, node.name, 'POST', '/call', body, timeoutMs + NODE_ANSWER_MARGIN_MS)).value;
      } catch (err) {
        if (err instanceof HighlanderError && err.code === 'NOT_A_QUERY') throw new HttpError(403, 'FORBIDDEN', err.message, { type, handler });
        throw err;
      }
    });
  }

  async replaceState(type: string, id: string, state: unknown, expectedVersion: number): Promise<ReplaceStateResult> {
    const started = performance.now();
    const timeoutMs = this.#callTimeoutMs;
    const replaced = await this.#throughLiveNode({ type, id }, (node) =>
      this.options.nodes.request<{ previous: unknown; previousVersion: number }>(
        node.address, node.name, 'PUT', `/objects/${enc(type)}/${enc(id)}/state`, { state, expectedVersion, timeoutMs }, timeoutMs + NODE_ANSWER_MARGIN_MS,
      ));
    return { previousVersion: replaced.previousVersion, previous: replaced.previous, durationMs: roundMs(performance.now() - started) };
  }

  /**
   * Sends a request through a live node (the object's owner first, when known: one hop less), trying
   * the next when one is down or stopping before it took the request.
   */
  async #throughLiveNode<T>(object: { type: string; id: string } | null, send: (node: NodeView) => Promise<T>): Promise<T> {
    const live = this.options.model.nodes().filter((n) => n.status !== 'unreachable');
    if (live.length === 0) throw new NodeUnreachable('any', new Error('no live node in the cluster'));
    const owner = object ? this.options.model.object(object.type, object.id)?.owner : undefined;
    const start = this.#next++ % live.length;
    const nodes = [...live.slice(start), ...live.slice(0, start)].sort((a, b) => Number(b.name === owner) - Number(a.name === owner));
    let last: unknown;
    for (const node of nodes) {
      try {
        return await send(node);
      } catch (err) {
        // Not delivered (the node is down) or refused before it ran (stopping): the next node may take it.
        if ((err instanceof NodeUnreachable && err.delivered === 'no') || err instanceof NodeStopping) {
          last = err;
          continue;
        }
        throw err;
      }
    }
    throw last;
  }

  async #memory(owner: string, type: string, id: string): Promise<ObjectDetail['memory']> {
    const member = this.options.model.node(owner);
    if (!member) return null;
    try {
      const d = await this.options.nodes.request<{ state: unknown; version: number; queueLength: number }>(member.address, owner, 'GET', `/objects/${enc(type)}/${enc(id)}`, undefined, 2000);
      return { state: d.state, version: d.version, queueLength: d.queueLength };
    } catch {
      return null; // not active there any more, or the owner does not answer: the detail shows no in-memory state
    }
  }
}

const enc = encodeURIComponent;

/** How much longer than a call's own timeout the admin API waits for the node's answer (the node answers CALL_TIMEOUT first). */
const NODE_ANSWER_MARGIN_MS = 2000;
