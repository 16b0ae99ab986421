import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import { HighlanderError, type StateStore } from '@highlander/runtime';
import { HOME_ENSEMBLE, KEYSPACE_BUCKETS, ZkSession, type ShardMap } from '@highlander/runtime/zookeeper';
import { answerClientErrors } from '@highlander/kit';
import { createApp, type AdminApp } from './app.js';
import { ADMIN_API_DEFAULTS } from './defaults.js';
import { AuditLog } from './audit-log.js';
import type { TokenConfig } from './auth.js';
import { LiveClusterActions } from './cluster-actions.js';
import { LiveClusterModel } from './model/live-cluster-model.js';
import { ObjectHistory } from './object-history.js';
import type { ClusterSource } from './cluster-source.js';
import type { MoveShardsResult, ShardsView } from './contracts.js';
import { HttpError } from './http-error.js';
import { ShardedSource } from './sharded-source.js';
import type { NodeAccess } from './node-access.js';
import { NodeAdminClient } from './node-admin-client.js';
import { S3Storage } from './storage.js';
import type { StreamOptions, StreamServer } from './stream/server.js';
import { MemoryCoordination, Rebalancer, ZooKeeperCoordination, type RebalanceOptions } from './rebalance/rebalancer.js';
import { LiveTalkService } from './talks.js';

/**
 * The whole admin API, assembled and listening: the live model (over ZooKeeper or any
 * `ClusterSource`), the actions, storage browsing over the state store, the audit log, REST, the
 * ws stream and, when given, the built dashboard and the audience talks. The admin API process
 * (`highlander admin`) and an embedded cluster both start it this way.
 *
 * ```ts
 * const api = await AdminApi.start({
 *   cluster: { zookeeper: { connect: '127.0.0.1:2181', root: '/highlander' } },
 *   store: new S3StateStore({ bucket: 'highlander' }),
 *   clusterSecret, tokens: [{ role: 'operator', name: 'ada', token }], auditLogPath: 'data/audit.jsonl', port: 8080,
 * });
 * console.log(api.url);
 * await api.close(); // stream, server, audit log, model; the store is the caller's
 * ```
 */
export interface AdminApiOptions {
  /** Where members and lock queues come from: a ZooKeeper ensemble (sessions of its own) or a source (the caller closes it). */
  cluster: { zookeeper: { connect: string; root?: string; sessionTimeoutMs?: number; shardMap?: ShardMap } } | { source: ClusterSource };
  /** The cluster's state store, for browsing persisted state (the caller closes it). */
  store: StateStore;
  /** The nodes' cluster secret, for actions, in-memory state and event streams. @default none (actions fail with NODE_ADMIN_UNAUTHORIZED) */
  clusterSecret?: string;
  /** For nodes with TLS: the CA of their certificates, and cert and key for mutual TLS. @default none (plain ws) */
  nodeTls?: NodeAccess['tls'];
  /** Who may call the API. */
  tokens: readonly TokenConfig[];
  /** The audit log (JSON lines; created with its folder when missing). */
  auditLogPath: string;
  /**
   * Each object's ownership history (object-history.ts): the JSONL file and its bounds.
   * @default `object-history.jsonl` beside the audit log; 100 entries per object, 200000 in all
   */
  history?: { path?: string; maxEntriesPerObject?: number; maxEntries?: number };
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free one. @default 8080 */
  port?: number;
  /** Refuse every action. @default false */
  readOnly?: boolean;
  /** Browser origins, besides the API's own, allowed to open the ws stream. @default [] */
  allowedOrigins?: readonly string[];
  /** Largest request body. @default 16384 */
  maxBodyBytes?: number;
  /** The nodes' `maxStateBytes`: the largest state an operator may put, and call argument. @default 1048576 */
  maxStateBytes?: number;
  /** Timeout of calls and state replacements made through the API (a call may ask for another). @default 10000 */
  callTimeoutMs?: number;
  /** Express's `trust proxy`, for the client address in the audit log. @default false */
  trustProxy?: boolean | number | string | string[];
  /** A connection whose request (headers and body) has not arrived within this long is closed. @default 30000 */
  requestTimeoutMs?: number;
  /** How long a graceful eviction waits for the owner before a forced one removes its lock entry. @default 3000 */
  evictGraceMs?: number;
  /** Timeout of migrate and drain requests to a node. @default 30000 */
  actionTimeoutMs?: number;
  /** Full reconciliation of the model this often. @default 60000 */
  reconcileIntervalMs?: number;
  /** Audience talks (routes under /api/talks, the stream's talk scope); `audienceUrl` is the gateways' public URL. @default off */
  talks?: { audienceUrl?: string };
  /** The built dashboard to serve at `/`. @default none */
  dashboardDir?: string | null;
  /** The ws stream's limits and pace. */
  stream?: StreamOptions;
  /**
   * Automatic rebalancing (rebalance/): on when given, with these figures (the rest from
   * `ADMIN_API_DEFAULTS.rebalance`). Over ZooKeeper, only the admin API holding `<root>/rebalancer` moves objects.
   * @default off
   */
  rebalance?: Partial<RebalanceOptions>;
  /** @default pino at level info on stdout */
  logger?: Logger;
}

export class AdminApi {
  readonly #close: () => Promise<void>;

  private constructor(
    /** `http://host:port`; the ws stream is at `/api/stream`. */
    readonly url: string,
    readonly model: LiveClusterModel,
    readonly app: AdminApp,
    readonly server: Server,
    readonly stream: StreamServer,
    readonly audit: AuditLog,
    close: () => Promise<void>,
  ) {
    this.#close = close;
  }

  static async start(options: AdminApiOptions): Promise<AdminApi> {
    const cleanups: Array<() => Promise<void> | void> = [];
    const cleanUp = async () => {
      // Last started, first stopped; every step runs even if an earlier one failed.
      const errors: unknown[] = [];
      for (const step of cleanups.splice(0).reverse()) {
        try {
          await step();
        } catch (err) {
          errors.push(err);
        }
      }
      if (errors.length > 0) throw new AggregateError(errors, `stopping the admin API: ${errors.length} step(s) failed`);
    };
    try {
      const logger = options.logger ?? pino({ name: 'highlander-admin-api' });
      const storage = new S3Storage(options.store);
      const nodeAccess: NodeAccess = {
        ...(options.clusterSecret !== undefined ? { clusterSecret: options.clusterSecret } : {}),
        ...(options.nodeTls !== undefined ? { tls: options.nodeTls } : {}),
      };
      const nodes = new NodeAdminClient(nodeAccess);
      const history = await ObjectHistory.open({
        path: resolve(options.history?.path ?? join(dirname(resolve(options.auditLogPath)), 'object-history.jsonl')),
        logger,
        ...(options.history?.maxEntriesPerObject !== undefined ? { maxEntriesPerObject: options.history.maxEntriesPerObject } : {}),
        ...(options.history?.maxEntries !== undefined ? { maxEntries: options.history.maxEntries } : {}),
      });
      cleanups.push(() => history.close());
      const common = { storage, logger, nodeAccess, history, ...(options.reconcileIntervalMs !== undefined ? { reconcileIntervalMs: options.reconcileIntervalMs } : {}) };
      let forced: { zookeeper: ZkSession } | { source: ClusterSource };
      let sharded: ShardedSource | undefined;
      let model: LiveClusterModel;
      if ('source' in options.cluster) {
        model = await LiveClusterModel.start({ ...common, source: options.cluster.source });
        cleanups.push(() => model.stop());
        forced = { source: options.cluster.source };
      } else if (options.cluster.zookeeper.shardMap) {
        // A sharded registry: one source over every ensemble; the rebalancer's lock and pause live in the home one.
        const { connect, root, sessionTimeoutMs, shardMap } = options.cluster.zookeeper;
        const source = await ShardedSource.open({
          connect, shardMap, logger, ...(root !== undefined ? { root } : {}), ...(sessionTimeoutMs !== undefined ? { sessionTimeoutMs } : {}),
        });
        cleanups.push(() => source.close());
        model = await LiveClusterModel.start({ ...common, source });
        cleanups.push(() => model.stop());
        forced = { source };
        sharded = source;
      } else {
        const { connect, root, sessionTimeoutMs } = options.cluster.zookeeper;
        model = await LiveClusterModel.start({
          ...common, connect, ...(root !== undefined ? { root } : {}), ...(sessionTimeoutMs !== undefined ? { sessionTimeoutMs } : {}),
        });
        cleanups.push(() => model.stop());
        const zookeeper = await ZkSession.open({ connect, ...(sessionTimeoutMs !== undefined ? { sessionTimeoutMs } : {}) });
        cleanups.push(() => zookeeper.close());
        forced = { zookeeper };
      }
      const actions = new LiveClusterActions({
        model, storage, nodes, ...forced,
        ...(options.evictGraceMs !== undefined ? { gracefulTimeoutMs: options.evictGraceMs } : {}),
        ...(options.actionTimeoutMs !== undefined ? { actionTimeoutMs: options.actionTimeoutMs } : {}),
        ...(options.callTimeoutMs !== undefined ? { callTimeoutMs: options.callTimeoutMs } : {}),
      });
      const audit = await AuditLog.open({ path: resolve(options.auditLogPath) });
      cleanups.push(() => audit.close());
      let rebalancer: Rebalancer | undefined;
      if (options.rebalance) {
        const root = model.root;
        rebalancer = await Rebalancer.start({
          model, audit, logger,
          migrate: (type, id, to) => actions.migrate(type, id, to),
          coordination: sharded ? new ZooKeeperCoordination(sharded.home().session, sharded.root)
            : 'zookeeper' in forced && root !== undefined ? new ZooKeeperCoordination(forced.zookeeper, root) : new MemoryCoordination(),
          policy: { ...ADMIN_API_DEFAULTS.rebalance, ...options.rebalance },
        });
        cleanups.push(() => rebalancer?.stop());
      }
      const app = createApp({
        model, actions, storage, audit, logger,
        tokens: options.tokens,
        readOnly: options.readOnly ?? false,
        allowedOrigins: options.allowedOrigins ?? [],
        ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
        ...(options.maxStateBytes !== undefined ? { maxStateBytes: options.maxStateBytes } : {}),
        ...(options.trustProxy !== undefined ? { trustProxy: options.trustProxy } : {}),
        ...(options.stream !== undefined ? { stream: options.stream } : {}),
        ...(rebalancer ? { rebalancer } : {}),
        shards: () => shardsView(options.cluster, sharded, model),
        ...(sharded ? { moveShards: (buckets: string[], to: string) => moveShards(sharded!, buckets, to) } : {}),
        ...(options.dashboardDir !== undefined ? { dashboardDir: options.dashboardDir } : {}),
        ...(options.talks
          ? { talks: new LiveTalkService({ model, storage, nodes, ...(options.talks.audienceUrl ? { audienceUrl: options.talks.audienceUrl } : {}) }) }
          : {}),
      });
      const requestTimeoutMs = options.requestTimeoutMs ?? ADMIN_API_DEFAULTS.requestTimeoutMs;
      // Headers must arrive within the request timeout too (Node's default headersTimeout is 60 s, above a short requestTimeout).
      // Node checks these timeouts every connectionsCheckingInterval (30 s by default): often enough that they hold.
      const server = createServer({
        requestTimeout: requestTimeoutMs, headersTimeout: Math.min(requestTimeoutMs, 60_000),
        connectionsCheckingInterval: Math.max(100, Math.min(1000, requestTimeoutMs / 4)),
      }, app.app);
      answerClientErrors(server, () => app.metrics.refusals.inc({ reason: 'bad-request' }));
      let stream: StreamServer | undefined;
      cleanups.push(async () => {
        await stream?.close();
        server.closeAllConnections();
        await new Promise<void>((done) => server.close(() => done()));
      });
      stream = app.attachStream(server);
      const host = options.host ?? ADMIN_API_DEFAULTS.host;
      await new Promise<void>((done, fail) => {
        server.once('error', fail);
        server.listen(options.port ?? ADMIN_API_DEFAULTS.port, host, () => {
          server.off('error', fail);
          done();
        });
      });
      const url = `http://${host.includes(':') ? `[${host}]` : host}:${(server.address() as AddressInfo).port}`;
      let closing: Promise<void> | undefined;
      return new AdminApi(url, model, app, server, stream, audit, () => (closing ??= cleanUp()));
    } catch (err) {
      await cleanUp().catch(() => {
        // The start failure is what the caller needs to see; a failed cleanup step adds nothing to it.
      });
      throw err;
    }
  }

  /** Closes the stream (1001 to every client), the server, the audit log, the model and the object history. Idempotent. */
  close(): Promise<void> {
    return this.#close();
  }
}

/** `GET /api/shards`: the ensembles of the registry and the buckets each holds. */
async function shardsView(cluster: AdminApiOptions['cluster'], sharded: ShardedSource | undefined, model: LiveClusterModel): Promise<ShardsView> {
  if (sharded) {
    await sharded.refresh().catch(() => {
      // Unreachable home ensemble: show the map as last read (its `connected` says so).
    });
    const moving = sharded.table.map.moving;
    const progress = sharded.move?.progress;
    return {
      sharded: true, version: sharded.table.map.version, ensembles: sharded.ensembles(),
      ...(moving ? { moving: { ...moving, ...(progress ? { waitingFor: progress.waitingFor, locksLeft: progress.locksLeft } : {}) } } : {}),
    };
  }
  if ('source' in cluster) return { sharded: false, ensembles: [] };
  return {
    sharded: false,
    ensembles: [{ name: HOME_ENSEMBLE, connect: cluster.zookeeper.connect, buckets: ['000-fff'], bucketCount: KEYSPACE_BUCKETS, generation: 0, connected: model.source.connected }],
  };
}

/** `POST /api/shards/move`: a refused or aborted move is a 409 saying why (the runtime's messages say what to do). */
async function moveShards(sharded: ShardedSource, buckets: string[], to: string): Promise<MoveShardsResult> {
  try {
    const result = await sharded.moveBuckets(buckets, to);
    return { ...result, map: { version: result.map.version, shards: result.map.shards } };
  } catch (err) {
    if (err instanceof HighlanderError) throw err;
    throw new HttpError(409, 'MOVE_REFUSED', (err as Error).message);
  }
}
