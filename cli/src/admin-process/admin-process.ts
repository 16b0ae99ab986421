import { pino } from 'pino';
import { AdminApi } from '@highlander/admin-api';
import { dashboardDir } from '@highlander/dashboard';
import { S3StateStore } from '@highlander/runtime';
import { s3StoreOptions } from '../backend-options.js';
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
  const store = new S3StateStore(s3StoreOptions(config));
  let api: AdminApi;
  try {
    api = await AdminApi.start({
      ...adminApiOptionsFromConfig(config), store, dashboardDir,
      logger: pino({ name: 'highlander-admin-api', level: config.logLevel }),
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return { api, store, shutdown: () => (stopping ??= api.close().then(() => store.close())) };
}
