import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, startAdminApiProcess, uniqueRoot, type ClusterConfig } from '../../scripts/cluster.js';
import { freePorts } from '../../scripts/servers/free-port.js';
import { s3Config, zookeeperConnect } from '../harness/servers.js';
import { TEST_OBJECTS } from '../harness/test-objects.js';
import { timing } from '../harness/timing.js';

export const OPERATOR = 'operator-token-dashboard-e2e';
export const VIEWER = 'viewer-token-dashboard-e2e';
const NODE_TOKEN = 'node-admin-token-dashboard-e2e';

/**
 * What the dashboard tests run against: three node processes on the harness's ZooKeeper and
 * radosgw, and the admin API process (serving the built dashboard) on a port of its own, which
 * it keeps across a restart so an open page can reconnect to it.
 */
export class DashboardStack {
  #api: ChildProcess | undefined;

  private constructor(
    readonly cluster: Cluster,
    readonly config: ClusterConfig,
    readonly port: number,
    private readonly auditDir: string,
    private readonly apiEnv: Record<string, string>,
  ) {}

  /**
   * `nodeEnv`: more environment for every node, e.g. `HIGHLANDER_AUDIENCE_PORT: '0'` for an audience gateway each;
   * `apiEnv`: for the admin API (e.g. `HIGHLANDER_API_REBALANCE: 'true'`); `placement`: the nodes' placement.
   */
  static async start(options: { sessionTimeoutMs: number; nodeEnv?: Record<string, string>; apiEnv?: Record<string, string>; placement?: string }): Promise<DashboardStack> {
    const config: ClusterConfig = {
      zookeeper: zookeeperConnect(), s3: s3Config(), root: uniqueRoot('dashboard'), sessionTimeoutMs: options.sessionTimeoutMs,
      objectsModule: TEST_OBJECTS, clusterSecret: NODE_TOKEN, ...(options.nodeEnv ? { nodeEnv: options.nodeEnv } : {}),
      ...(options.placement ? { placement: options.placement } : {}),
    };
    const [port] = await freePorts(1);
    const auditDir = await mkdtemp(join(tmpdir(), 'highlander-dashboard-audit-'));
    const cluster = await Cluster.start(config, 3);
    const stack = new DashboardStack(cluster, config, port!, auditDir, options.apiEnv ?? {});
    await stack.startApi();
    return stack;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async startApi(): Promise<void> {
    const { child } = await startAdminApiProcess(this.config, {
      tokens: `operator:olga:${OPERATOR},viewer:victor:${VIEWER}`, auditLog: join(this.auditDir, 'audit.jsonl'), port: this.port,
      env: { HIGHLANDER_LOG_LEVEL: 'warn', ...this.apiEnv },
    });
    this.#api = child;
  }

  async stopApi(): Promise<void> {
    const child = this.#api;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timing.exitMs);
    await exited;
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    await this.stopApi();
    await this.cluster.stop();
    await rm(this.auditDir, { recursive: true, force: true });
  }
}
