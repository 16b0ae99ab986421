import { HighlanderNode, S3StateStore, ZooKeeperCoordinator } from '@highlander/runtime';
import { objects } from './bench-objects.js';
import type { BenchServers } from './benchmark.js';

export interface BenchNodeOptions {
  name: string;
  /** ZooKeeper root; the S3 prefix is derived from it as scripts/cluster.ts does. */
  root: string;
  /** @default 60_000 */
  idleTimeoutMs?: number;
  /** @default 30_000 */
  callTimeoutMs?: number;
  /** @default 10_000 */
  sessionTimeoutMs?: number;
  /** false: the node keeps no Prometheus metrics. @default true */
  metrics?: boolean;
  /** The node's lock budget (HighlanderNodeOptions.lockBudgetBytes). @default the node's default */
  lockBudgetBytes?: number;
}

/** The S3 key prefix that scripts/cluster.ts gives node processes of `root`. */
export function prefixOf(root: string): string {
  return `${root.slice(1)}/objects/`;
}

export function storeFor(servers: BenchServers, root: string): S3StateStore {
  const { s3 } = servers;
  return new S3StateStore({
    bucket: s3.bucket,
    prefix: prefixOf(root),
    endpoint: s3.endpoint,
    region: s3.region,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
}

/**
 * A running in-process node on the real servers (ZooKeeperCoordinator + S3StateStore) hosting the
 * benchmark object types (bench/bench-objects.ts), placement local.
 */
export class BenchNode {
  private constructor(readonly node: HighlanderNode, readonly store: S3StateStore) {}

  static async start(servers: BenchServers, options: BenchNodeOptions): Promise<BenchNode> {
    const store = storeFor(servers, options.root);
    const node = HighlanderNode.create({
      name: options.name,
      coordinator: new ZooKeeperCoordinator({
        connect: servers.zookeeper,
        root: options.root,
        sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
      }),
      store,
      objects,
      placement: 'local',
      idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
      callTimeoutMs: options.callTimeoutMs ?? 30_000,
      ...(options.metrics === false ? { metrics: false as const } : {}),
      ...(options.lockBudgetBytes === undefined ? {} : { lockBudgetBytes: options.lockBudgetBytes }),
    });
    try {
      await node.start();
    } catch (err) {
      await store.close();
      throw err;
    }
    return new BenchNode(node, store);
  }

  /** Stops the node (draining by default: every activation releases its lock) and closes the store. */
  async stop(options: { drain?: boolean } = {}): Promise<void> {
    try {
      await this.node.stop(options);
    } finally {
      await this.store.close();
    }
  }
}
