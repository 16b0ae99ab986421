import { performance } from 'node:perf_hooks';
import { roundMs } from '@highlander/kit';
import { MigrationRefused, NodeUnreachable, NotActiveHere } from '@highlander/runtime';
import type { ZkSession } from '@highlander/runtime/zookeeper';
import { ADMIN_API_DEFAULTS } from './defaults.js';
import type { ClusterSource } from './cluster-source.js';
import type { ClusterActions, ClusterModel, ObjectDetail, Storage } from './contracts.js';
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
}

/** Admin actions, carried out by the nodes through their admin endpoints. */
export class LiveClusterActions implements ClusterActions {
  readonly #gracefulTimeoutMs: number;
  readonly #actionTimeoutMs: number;
  readonly #source: ClusterSource;

  constructor(private readonly options: LiveClusterActionsOptions) {
    if (options.source && options.zookeeper) throw new TypeError('LiveClusterActions: give either zookeeper or source, not both');
    if (!options.source && !options.zookeeper) throw new TypeError('LiveClusterActions: zookeeper or source is required (for forced evictions)');
    this.#source = options.source ?? new ZooKeeperSource(options.zookeeper!);
    this.#gracefulTimeoutMs = options.gracefulTimeoutMs ?? ADMIN_API_DEFAULTS.evictGraceMs;
    this.#actionTimeoutMs = options.actionTimeoutMs ?? ADMIN_API_DEFAULTS.actionTimeoutMs;
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
