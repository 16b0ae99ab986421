import { pino } from 'pino';
import { AdminApi } from '@highlander/admin-api';
import { dashboardDir } from '@highlander/dashboard';
import { S3StateStore } from '@highlander/runtime';
import { s3StoreOptions } from '../backend-options.js';
import { readPem } from '../pem.js';
import { readShardMapFile } from '../shard-map-file.js';
import { adminApiOptionsFromConfig, type AdminConfig } from './options.js';

/** An admin API process's parts, started from its configuration. */
export interface AdminProcess {
  api: AdminApi;
  store: S3StateStore;
  /** Closes the API (stream, server, audit log, model), then the store. Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * Starts what `highlander admin` runs, from its parsed configuration: the admin API over the
 * cluster's ZooKeeper and S3 bucket, serving the built dashboard, logging JSON lines (pino) on stdout.
 */
export async function startAdminProcess(config: AdminConfig): Promise<AdminProcess> {
  const nodeTls = {
    ...(config.nodeTlsCa !== undefined ? { ca: await readPem(config.nodeTlsCa, '--node-tls-ca') } : {}),
    ...(config.nodeTlsCert !== undefined && config.nodeTlsKey !== undefined
      ? { cert: await readPem(config.nodeTlsCert, '--node-tls-cert'), key: await readPem(config.nodeTlsKey, '--node-tls-key') }
      : {}),
  };
  const store = new S3StateStore(s3StoreOptions(config));
  let api: AdminApi;
  try {
    api = await AdminApi.start({
      ...adminApiOptionsFromConfig(config, config.zkShards !== undefined ? await readShardMapFile(config.zkShards) : undefined), store, dashboardDir, ...(Object.keys(nodeTls).length > 0 ? { nodeTls } : {}),
      logger: pino({ name: 'highlander-admin-api', level: config.logLevel }),
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return { api, store, shutdown: () => (stopping ??= api.close().then(() => store.close())) };
}

/**
 * What `highlander admin` does once its options are parsed: starts the admin API, closes it on
 * SIGTERM/SIGINT (then exits 0), and prints a line once it listens. A start failure prints why and exits 1.
 */
export async function serveAdmin(config: AdminConfig): Promise<AdminProcess> {
  let started: AdminProcess;
  try {
    started = await startAdminProcess(config);
  } catch (err) {
    console.error(`highlander admin: could not start: ${(err as Error).message}`);
    process.exit(1);
  }
  const { api, shutdown } = started;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      shutdown().then(() => process.exit(0), (err: unknown) => {
        console.error(`highlander admin: stop failed: ${(err as Error).message}`);
        process.exit(1);
      });
    });
  }
  console.log(`highlander admin-api listening on ${api.url} (ZooKeeper ${config.zk}${config.zkRoot}, audit log ${api.audit.path})`);
  return started;
}
