import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino, type Logger } from 'pino';
import { dashboardDir } from '@highlander/dashboard';
import { NodeMetrics, S3StateStore, ShardedCoordinator, ZooKeeperCoordinator, type AnyObjectType } from '@highlander/runtime';
import { coordinatorOptions, s3StoreOptions } from '../backend-options.js';
import { readPem } from '../pem.js';
import { readShardMapFile } from '../shard-map-file.js';
import { NodeService } from '../node-service.js';
import { gatewayOptionsFromConfig } from './audience-options.js';
import { nodeOptionsFromConfig, type NodeConfig } from './options.js';

/** A node process's parts, started from its configuration. */
export interface NodeProcess {
  service: NodeService;
  coordinator: ZooKeeperCoordinator | ShardedCoordinator;
  store: S3StateStore;
  logger: Logger;
  /** Stops the gateway and the node (draining by default), then closes the store. Idempotent. */
  shutdown(drain: boolean): Promise<void>;
}

/**
 * Starts what `highlander node` runs, from its parsed configuration: the coordinator on ZooKeeper,
 * the store on S3, the node with the object types of `--objects`, its Prometheus metrics and JSON
 * log (pino on stdout), and the audience gateway when `--audience-port` is set.
 */
export async function startNodeProcess(config: NodeConfig, options: { logger?: Logger } = {}): Promise<NodeProcess> {
  const objects = await loadObjects(config.objects);
  const tls = config.tlsCert !== undefined && config.tlsKey !== undefined
    ? {
      cert: await readPem(config.tlsCert, '--tls-cert'), key: await readPem(config.tlsKey, '--tls-key'),
      ...(config.tlsCa !== undefined ? { ca: await readPem(config.tlsCa, '--tls-ca') } : {}),
      requestClientCert: config.tlsClientAuth,
    }
    : undefined;
  const logger = options.logger ?? pino({ name: 'highlander-node', level: config.logLevel });
  const coordinator = config.zkShards !== undefined
    ? new ShardedCoordinator({ ...coordinatorOptions(config), shardMap: await readShardMapFile(config.zkShards) })
    : new ZooKeeperCoordinator(coordinatorOptions(config));
  const store = new S3StateStore(s3StoreOptions(config));
  const audience = gatewayOptionsFromConfig(config);
  let service: NodeService;
  try {
    service = await NodeService.start({
      node: { ...nodeOptionsFromConfig(config), coordinator, store, objects, logger, metrics: new NodeMetrics({ processMetrics: true }), ...(tls ? { tls } : {}) },
      ...(audience ? { audience: { ...audience, dashboardDir } } : {}),
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    service, coordinator, store, logger,
    shutdown: (drain) => (stopping ??= service.stop({ drain }).then(() => store.close())),
  };
}

/**
 * What `highlander node` does once its options are parsed: starts the node process's parts, drains
 * on SIGTERM/SIGINT (then exits), and prints a line once the node is up. Resolves once it is up; a
 * start failure prints why and exits 1.
 */
export async function serveNode(config: NodeConfig): Promise<NodeProcess> {
  let started: NodeProcess;
  try {
    started = await startNodeProcess(config);
  } catch (err) {
    console.error(`highlander node ${config.name}: could not start: ${(err as Error).message}`);
    process.exit(1);
  }
  drainOnSignals(started);
  const { node, gateway } = started.service;
  console.log(`highlander node ${node.name} up at ${node.address} (pid ${process.pid})${gateway ? `, audience gateway at ${gateway.url}` : ''}`);
  return started;
}

/**
 * SIGTERM or SIGINT drains the node (queued calls finish, state is flushed, locks are released),
 * logging its progress, then exits 0 (1 if stopping failed).
 */
export function drainOnSignals(started: NodeProcess): void {
  const { service: { node }, shutdown } = started;
  const logger = node.logger; // lines carry `node: <name>`
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      const startedAt = performance.now();
      logger.info({ signal, activations: node.activationCount }, `${signal}: draining ${node.activationCount} activations, then exiting`);
      const progress = setInterval(() => logger.info({ remaining: node.activationCount }, `draining: ${node.activationCount} activations left`), 1000).unref();
      shutdown(true).then(() => {
        clearInterval(progress);
        logger.info({ durationMs: Math.round(performance.now() - startedAt) }, 'stopped: every activation flushed and released');
        process.exit(0);
      }, (err: unknown) => {
        logger.error({ err }, 'stop failed');
        console.error(`highlander node: stop failed: ${(err as Error).message}`);
        process.exit(1);
      });
    });
  }
}

/**
 * The `objects` export of the module `spec`: a file path (relative to the working directory), or a
 * package name resolved from the working directory.
 */
export async function loadObjects(spec: string): Promise<AnyObjectType[]> {
  const looksLikePath = spec.startsWith('.') || isAbsolute(spec) || /\.(m?[jt]s)$/.test(spec);
  let url: string;
  try {
    url = looksLikePath ? pathToFileURL(resolve(spec)).href : pathToFileURL(createRequire(join(process.cwd(), 'noop.js')).resolve(spec)).href;
  } catch (err) {
    throw new TypeError(`--objects ${spec}: cannot resolve it from ${process.cwd()} (${(err as Error).message.split('\n')[0]}); give a file path or an installed package's name`);
  }
  let module: { objects?: unknown };
  try {
    module = (await import(url)) as { objects?: unknown };
  } catch (err) {
    throw new TypeError(`--objects ${spec}: cannot load it: ${(err as Error).message.split('\n')[0]}`);
  }
  const objects = module.objects;
  if (!Array.isArray(objects) || objects.length === 0 || !objects.every(isObjectType)) {
    throw new TypeError(`--objects ${spec}: the module must export \`objects\`, an array of object types made with defineObject`);
  }
  return objects as AnyObjectType[];
}

function isObjectType(value: unknown): boolean {
  const t = value as Partial<AnyObjectType> | null;
  return typeof t === 'object' && t !== null && typeof t.type === 'string' && typeof t.initial === 'function' && typeof t.handlers === 'object';
}
