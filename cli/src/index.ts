/**
 * The `highlander` command and what it runs, for programs that start Highlander processes or a
 * whole cluster in one process: the node process and the admin API process (their option tables,
 * configuration → options, start), a node with its in-process services, and an embedded cluster.
 *
 * ```ts
 * import { startEmbeddedCluster } from '@highlander/cli';
 * import { objects } from '@highlander/example-todo';
 *
 * const cluster = await startEmbeddedCluster({
 *   nodes: 3, dataDir: '.highlander-data', objects,
 *   api: { port: 8080, tokens: [{ role: 'operator', name: 'ada', token: 'a-long-random-token' }], auditLogPath: '.highlander-data/audit.jsonl' },
 * });
 * console.log(cluster.api?.url);
 * await cluster.stop();
 * ```
 */
export { LOG_LEVELS, S3_OPTIONS, ZOOKEEPER_OPTIONS, bearerToken, checkS3Credentials, coordinatorOptions, s3StoreOptions } from './backend-options.js';
export type { S3Config, ZooKeeperConfig } from './backend-options.js';
export { AUDIENCE_OPTIONS, gatewayOptionsFromConfig } from './node-process/audience-options.js';
export type { AudienceConfig } from './node-process/audience-options.js';
export { NODE_OPTIONS, PLACEMENTS, nodeOptionsFromConfig, parseNodeConfig } from './node-process/options.js';
export type { NodeConfig } from './node-process/options.js';
export { drainOnSignals, loadObjects, serveNode, startNodeProcess } from './node-process/node-process.js';
export type { NodeProcess } from './node-process/node-process.js';
export { ADMIN_OPTIONS, adminApiOptionsFromConfig, parseAdminConfig } from './admin-process/options.js';
export type { AdminConfig } from './admin-process/options.js';
export { serveAdmin, startAdminProcess } from './admin-process/admin-process.js';
export type { AdminProcess } from './admin-process/admin-process.js';
export { NodeService, withAudienceObjects } from './node-service.js';
export type { NodeServiceOptions } from './node-service.js';
export { startEmbeddedCluster } from './embedded-cluster.js';
export type { EmbeddedAdminApiOptions, EmbeddedCluster, EmbeddedClusterOptions } from './embedded-cluster.js';
export { CLIENT_OPTIONS } from './client-commands.js';
