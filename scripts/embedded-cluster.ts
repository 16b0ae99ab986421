import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { AudienceGateway, audienceObjects } from '../audience/src/index.js';
import { createApp } from '../admin-api/src/app.js';
import { LiveTalkService } from '../admin-api/src/talks.js';
import { registerAdminExtension } from '../runtime/src/node-admin.js';
import { AuditLog } from '../admin-api/src/audit-log.js';
import type { TokenConfig } from '../admin-api/src/auth.js';
import { LiveClusterActions } from '../admin-api/src/cluster-actions.js';
import { LiveClusterModel } from '../admin-api/src/cluster-model.js';
import { EmbeddedSource } from '../admin-api/src/embedded-source.js';
import { NodeAdminClient } from '../admin-api/src/node-admin-client.js';
import { S3Storage } from '../admin-api/src/storage.js';
import type { StreamServer } from '../admin-api/src/stream.js';
import {
  EmbeddedRegistry, FileStateStore, HighlanderNode, type AnyObjectType, type Placement, type PlacementName,
} from '../runtime/src/index.js';

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
   * ports), the talk and attendee types registered, and the admin API's talk routes. @default none
   */
  audience?: { port: number; host?: string };
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
  /** The built dashboard to serve at `/`; null serves none. @default dashboard/dist, when built */
  dashboardDir?: string | null;
  /** @default pino at level info, on stdout */
  logger?: Logger;
}

export interface EmbeddedCluster {
  registry: EmbeddedRegistry;
  store: FileStateStore;
  nodes: HighlanderNode[];
  /** The nodes' admin token (random per cluster), as the admin API uses it. */
  adminToken: string;
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

    const adminToken = randomBytes(24).toString('base64url');
    const nodes = Array.from({ length: options.nodes }, (_, i) => HighlanderNode.create({
      name: nodeName(i),
      coordinator: registry.coordinator(),
      store,
      objects: options.audience ? [...options.objects, ...audienceObjects.filter((t) => !options.objects.some((o) => o.type === t.type))] : options.objects,
      host: '127.0.0.1',
      port: 0,
      adminToken,
      ...(options.placement !== undefined ? { placement: options.placement } : {}),
      ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
      ...(options.callTimeoutMs !== undefined ? { callTimeoutMs: options.callTimeoutMs } : {}),
    }));
    // Drains: queued calls finish, states are flushed, locks released (a node never started just stops).
    cleanups.push(async () => {
      const results = await Promise.allSettled(nodes.map((n) => n.stop()));
      const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      if (failed.length > 0) throw new AggregateError(failed, 'stopping nodes');
    });
    await Promise.all(nodes.map((n) => n.start()));

    const gateways: AudienceGateway[] = [];
    if (options.audience) {
      const { port, host } = options.audience;
      for (const [i, node] of nodes.entries()) {
        const gateway = await AudienceGateway.start(node, { port: i === 0 ? port : 0, ...(host ? { host } : {}) });
        // Closed before the nodes stop: it hands what it accepted to the talks first.
        cleanups.push(() => gateway.close());
        node.metrics?.include(gateway.metrics.registry);
        registerAdminExtension(node, { name: 'audience', info: () => ({ url: gateway.url, connections: gateway.connectionCount }) });
        gateways.push(gateway);
      }
    }

    let api: EmbeddedCluster['api'];
    if (options.api && source) api = await startApi(options.api, { source, store, adminToken, cleanups, talks: options.audience !== undefined });

    let stopping: Promise<void> | undefined;
    return {
      registry, store, nodes, adminToken, gateways,
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

async function startApi(
  options: EmbeddedAdminApiOptions,
  deps: { source: EmbeddedSource; store: FileStateStore; adminToken: string; cleanups: Array<() => Promise<void>>; talks: boolean },
): Promise<NonNullable<EmbeddedCluster['api']>> {
  const { source, cleanups } = deps;
  const storage = new S3Storage(deps.store);
  const model = await LiveClusterModel.start({
    source, storage, ...(options.reconcileIntervalMs !== undefined ? { reconcileIntervalMs: options.reconcileIntervalMs } : {}),
  });
  cleanups.push(() => model.stop());
  const actions = new LiveClusterActions({
    model, storage, source, nodes: new NodeAdminClient(deps.adminToken),
    ...(options.evictGraceMs !== undefined ? { gracefulTimeoutMs: options.evictGraceMs } : {}),
    ...(options.actionTimeoutMs !== undefined ? { actionTimeoutMs: options.actionTimeoutMs } : {}),
  });
  const audit = await AuditLog.open({ path: resolve(options.auditLogPath) });
  cleanups.push(() => audit.close());
  const admin = createApp({
    model, actions, storage, audit,
    tokens: options.tokens,
    readOnly: options.readOnly ?? false,
    allowedOrigins: options.allowedOrigins ?? [],
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.dashboardDir !== undefined ? { dashboardDir: options.dashboardDir } : {}),
    ...(deps.talks ? { talks: new LiveTalkService({ model, storage, nodes: new NodeAdminClient(deps.adminToken) }) } : {}),
  });
  const server: Server = createServer(admin.app);
  let stream: StreamServer | undefined;
  cleanups.push(async () => {
    await stream?.close();
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  });
  stream = admin.attachStream(server);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port, host, () => {
      server.off('error', fail);
      done();
    });
  });
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${(server.address() as AddressInfo).port}`;
  return { url, model };
}

/** node-a … node-z, then node-aa, node-ab, … */
function nodeName(index: number): string {
  const letter = (i: number) => String.fromCharCode(97 + i);
  return index < 26 ? `node-${letter(index)}` : `node-${letter(Math.floor(index / 26) - 1)}${letter(index % 26)}`;
}
