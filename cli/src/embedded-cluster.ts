import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { AdminApi, EmbeddedSource, type LiveClusterModel, type TokenConfig } from '@highlander/admin-api';
import type { AudienceGateway } from '@highlander/audience';
import { dashboardDir as builtDashboardDir } from '@highlander/dashboard';
import {
  EmbeddedRegistry, FileStateStore, type AnyObjectType, type HighlanderNode, type Placement, type PlacementName,
} from '@highlander/runtime';
import { NodeService } from './node-service.js';

/**
 * A whole Highlander cluster in this one process, with no ZooKeeper and no S3: an
 * `EmbeddedRegistry` for membership and lock queues, a `FileStateStore` on a data folder, N
 * `HighlanderNode`s (node-a, node-b, …, each with its ws endpoint on a free loopback port and its
 * admin endpoints on), and optionally the admin API over them (the live model over an
 * `EmbeddedSource`, the actions, storage browsing over the folder, the ws stream, the dashboard).
 * This is what the one-command demo runs on.
 *
 * ```ts
 * const cluster = await startEmbeddedCluster({
 *   nodes: 3, dataDir: '.highlander-data', objects: [Todo, List],
 *   api: { port: 8080, tokens: [{ token, role: 'operator', name: 'ada' }], auditLogPath: '.highlander-data/audit.jsonl' },
 * });
 * await cluster.nodes[0]!.ref(Todo, 't1').call('rename', 'hello');
 * console.log(cluster.api!.url);
 * await cluster.stop(); // API closed, nodes drained (state flushed, locks released), data folder unlocked
 * ```
 */

export interface EmbeddedClusterOptions {
  /** How many nodes, named node-a, node-b, … (1–676). */
  nodes: number;
  /** The FileStateStore's folder (created when missing; one process at a time). */
  dataDir: string;
  /** The object types every node registers. */
  objects: AnyObjectType[];
  /** Where new activations go. @default the runtime's default, 'local' */
  placement?: PlacementName | Placement;
  /** Deactivate an object after this long without calls. @default the runtime's default, 60000 */
  idleTimeoutMs?: number;
  /** A node call fails with CallTimeout after this long. @default the runtime's default, 10000 */
  callTimeoutMs?: number;
  /** Run the admin API over the cluster. @default none */
  api?: EmbeddedAdminApiOptions;
  /**
   * Audience feedback: an audience gateway on every node (the first on `port`, the others on free
   * ports), the talk and attendee types registered, and the admin API's talk routes. `host` is where
   * the gateways listen, `advertiseHost` the host in the URLs they report, `publicUrl` the URL the
   * audience joins through when it is another (a reverse proxy, a tunnel). @default none
   */
  audience?: { port: number; host?: string; advertiseHost?: string; publicUrl?: string };
  /** The cluster secret of the nodes' ports, which the admin API presents to them. @default a random one */
  clusterSecret?: string;
}

export interface EmbeddedAdminApiOptions {
  /** 0 picks a free port. */
  port: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Who may call the API. */
  tokens: TokenConfig[];
  /** The audit log (JSONL; created with its folder when missing). */
  auditLogPath: string;
  /** Refuse every action. @default false */
  readOnly?: boolean;
  /** How long a graceful eviction waits for the owner before a forced one removes its lock entry. @default 3000 */
  evictGraceMs?: number;
  /** Timeout of migrate and drain requests to a node. @default 30000 */
  actionTimeoutMs?: number;
  /** Full reconciliation of the model with the registry this often. @default 60000 */
  reconcileIntervalMs?: number;
  /** Browser origins, besides the API's own, allowed to open the ws stream. @default [] */
  allowedOrigins?: string[];
  /** A connection whose request has not fully arrived within this long is closed (408). @default 30000, as the admin API process */
  requestTimeoutMs?: number;
  /** The built dashboard to serve at `/`; null serves none. @default the dashboardDir of @highlander/dashboard */
  dashboardDir?: string | null;
  /** @default pino at level info, on stdout */
  logger?: Logger;
}

export interface EmbeddedCluster {
  registry: EmbeddedRegistry;
  store: FileStateStore;
  nodes: HighlanderNode[];
  /** The cluster secret of the nodes' ports (random per cluster unless given), as the admin API uses it. */
  clusterSecret: string;
  api?: {
    /** `http://host:port`; the ws stream is at `/api/stream`. */
    url: string;
    model: LiveClusterModel;
  };
  /** With `audience`: each node's gateway, in node order. */
  gateways: AudienceGateway[];
  /** Closes the admin API, drains and stops every node, and closes the store. Idempotent. */
  stop(): Promise<void>;
}

export async function startEmbeddedCluster(options: EmbeddedClusterOptions): Promise<EmbeddedCluster> {
  if (!Number.isInteger(options.nodes) || options.nodes < 1 || options.nodes > 26 * 26) {
    throw new TypeError(`startEmbeddedCluster: nodes must be an integer from 1 to ${26 * 26} (got ${String(options.nodes)})`);
  }
  if (options.api && (!Number.isInteger(options.api.port) || options.api.port < 0 || options.api.port > 65_535)) {
    throw new TypeError(`startEmbeddedCluster: api.port must be 0 (a free one) or a TCP port (got ${String(options.api.port)})`);
  }
  const cleanups: Array<() => Promise<void>> = [];
  const cleanUp = async () => {
    // Last started, first stopped; every step runs even if an earlier one failed.
    const errors: unknown[] = [];
    for (const step of cleanups.splice(0).reverse()) await step().catch((err: unknown) => errors.push(err));
    if (errors.length > 0) throw new AggregateError(errors, `stopping the embedded cluster: ${errors.length} step(s) failed`);
  };
  try {
    const registry = new EmbeddedRegistry();
    const store = await FileStateStore.create({ dir: options.dataDir });
    cleanups.push(() => store.close());
    // Before the nodes start, so that it sees every lock entry come (their times are its own).
    const source = options.api ? new EmbeddedSource(registry) : undefined;
    if (source) cleanups.push(() => source.close());

    const clusterSecret = options.clusterSecret ?? randomBytes(24).toString('base64url');
    const services: NodeService[] = [];
    // Gateways first, then the nodes drain: queued calls finish, states are flushed, locks released.
    cleanups.push(async () => {
      const results = await Promise.allSettled(services.map((s) => s.stop()));
      const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      if (failed.length > 0) throw new AggregateError(failed, 'stopping nodes');
    });
    await Promise.all(Array.from({ length: options.nodes }, async (_, i) => {
      services[i] = await NodeService.start({
        node: {
          name: nodeName(i),
          coordinator: registry.coordinator(),
          store,
          objects: options.objects,
          host: '127.0.0.1',
          port: 0,
          clusterSecret,
          ...(options.placement !== undefined ? { placement: options.placement } : {}),
          ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
          ...(options.callTimeoutMs !== undefined ? { callTimeoutMs: options.callTimeoutMs } : {}),
        },
        ...(options.audience
          ? {
            audience: {
              port: i === 0 ? options.audience.port : 0, dashboardDir: builtDashboardDir,
              ...(options.audience.host ? { host: options.audience.host } : {}),
              ...(options.audience.advertiseHost ? { advertiseHost: options.audience.advertiseHost } : {}),
            },
          }
          : {}),
      });
    }));
    const nodes = services.map((s) => s.node);
    const gateways = services.flatMap((s) => (s.gateway ? [s.gateway] : []));

    let api: EmbeddedCluster['api'];
    if (options.api && source) {
      const started = await AdminApi.start({
        cluster: { source }, store, clusterSecret,
        tokens: options.api.tokens,
        auditLogPath: options.api.auditLogPath,
        port: options.api.port,
        dashboardDir: options.api.dashboardDir === undefined ? builtDashboardDir : options.api.dashboardDir,
        ...(options.audience ? { talks: options.audience.publicUrl ? { audienceUrl: options.audience.publicUrl } : {} } : {}),
        ...(options.api.host !== undefined ? { host: options.api.host } : {}),
        ...(options.api.readOnly !== undefined ? { readOnly: options.api.readOnly } : {}),
        ...(options.api.evictGraceMs !== undefined ? { evictGraceMs: options.api.evictGraceMs } : {}),
        ...(options.api.actionTimeoutMs !== undefined ? { actionTimeoutMs: options.api.actionTimeoutMs } : {}),
        ...(options.api.reconcileIntervalMs !== undefined ? { reconcileIntervalMs: options.api.reconcileIntervalMs } : {}),
        ...(options.api.allowedOrigins !== undefined ? { allowedOrigins: options.api.allowedOrigins } : {}),
        ...(options.api.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.api.requestTimeoutMs } : {}),
        ...(options.api.logger !== undefined ? { logger: options.api.logger } : {}),
      });
      cleanups.push(() => started.close());
      api = { url: started.url, model: started.model };
    }

    let stopping: Promise<void> | undefined;
    return {
      registry, store, nodes, clusterSecret, gateways,
      ...(api ? { api } : {}),
      stop: () => (stopping ??= cleanUp()),
    };
  } catch (err) {
    await cleanUp().catch(() => {
      // The start failure is what the caller needs to see; a failed cleanup step adds nothing to it.
    });
    throw err;
  }
}

/** node-a … node-z, then node-aa, node-ab, … */
function nodeName(index: number): string {
  const letter = (i: number) => String.fromCharCode(97 + i);
  return index < 26 ? `node-${letter(index)}` : `node-${letter(Math.floor(index / 26) - 1)}${letter(index % 26)}`;
}
