import { FAKE_NODES, FAKE_TYPES, FakeCluster, describePopulate } from './admin-cluster.js';
import { AdminProcess } from './admin-process.js';
import { adminObjects } from './admin-settings.js';
import type { BenchContext } from './benchmark.js';
import { formatNumber, formatSeconds } from './stats.js';

/** How long the admin API may take to hold every object once they exist (events, then reconciliation). */
const MODEL_TIMEOUT_MS = 120_000;

export interface AdminFixture {
  cluster: FakeCluster;
  /** Present when asked for. */
  admin: AdminProcess | undefined;
  /** Stops the admin API first (so it does not chase the cleanup), then removes the cluster. Safe to call twice. */
  close(): Promise<void>;
}

/** The line every admin benchmark prints about what it runs against. */
export function describeSimulation(): string {
  return `${FAKE_NODES} nodes simulated at the protocol level in a child process (member znodes, the runtime's /events endpoint, `
    + `real lock znodes; bench/admin-fake-node.ts): real nodes activate ~200 objects/s here (S3 GET + claim PUT each), too slow for ${formatNumber(adminObjects)}`;
}

/**
 * The simulated cluster for one admin benchmark under a fresh root, optionally populated with
 * `--admin-objects` objects before the admin API starts, and optionally the admin API process
 * (started after populating, and waited for until its model holds every object).
 */
export async function startFixture(context: BenchContext, label: string, options: { populate: boolean; admin: boolean }): Promise<AdminFixture> {
  const { log } = context;
  const root = context.uniqueRoot(label);
  log(`    ${describeSimulation()}`);
  const cluster = await FakeCluster.start({ zookeeper: context.servers.zookeeper, root, log });
  let admin: AdminProcess | undefined;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      await admin?.stop();
    } finally {
      await cluster.stop(log);
    }
  };
  try {
    if (options.populate) {
      log(`    activating ${formatNumber(adminObjects)} objects over ${FAKE_NODES} nodes and ${FAKE_TYPES.length} types…`);
      log(`    ${describePopulate(await cluster.populate(adminObjects))}`);
    }
    if (options.admin) {
      admin = await AdminProcess.start({ servers: context.servers, root });
      log(`    admin API (pid ${admin.pid}) ready in ${formatSeconds(admin.startMs)}${options.populate ? ', its first reconciliation included' : ''}`);
      if (options.populate) {
        const summary = await admin.waitForObjects(adminObjects, MODEL_TIMEOUT_MS, log);
        log(`    admin API model holds ${formatNumber(summary.objects)} objects on ${summary.nodes} nodes (last reconciliation ${formatSeconds(summary.lastReconcile?.durationMs ?? Number.NaN)})`);
      }
    }
  } catch (err) {
    await close().catch((closeErr: unknown) => log(`    cleanup after a failed setup failed too: ${String(closeErr)}`));
    throw err;
  }
  return { cluster, admin, close };
}
