import { fork, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { deserializeError, type LifecycleEvent, type SerializedError } from '@highlander/runtime';

/**
 * Runtime nodes as separate OS processes (scripts/cluster-node.ts: `highlander node` with an IPC
 * channel), driven by commands and watched through the lifecycle events they send back.
 */

const NODE_MAIN = fileURLToPath(new URL('./cluster-node.ts', import.meta.url));
/** Child processes run the packages' TypeScript sources, as the tests do. */
export const SOURCE_EXEC_ARGV = ['--conditions=@highlander/source', '--import', 'tsx'];

export interface ClusterConfig {
  zookeeper: string;
  s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; bucket: string };
  /** Unique per test so tests never see each other's znodes or objects. */
  root: string;
  sessionTimeoutMs?: number;
  idleTimeoutMs?: number;
  callTimeoutMs?: number;
  placement?: string;
  maxStateBytes?: number;
  /** Module exporting `objects`, the object types every node registers. */
  objectsModule: string;
  /** Turns on the nodes' admin endpoints with this bearer token. */
  clusterSecret?: string;
  /** More environment for every node (e.g. `HIGHLANDER_AUDIENCE_PORT: '0'` for an audience gateway each). */
  nodeEnv?: Record<string, string>;
}

export interface NodeProcessOptions {
  env?: Record<string, string>;
  /** Keep the node's stdout (its JSON log lines) in `stdout` instead of passing it through. */
  captureStdout?: boolean;
}

export class NodeProcess {
  readonly events: LifecycleEvent[] = [];
  #child: ChildProcess | undefined;
  #nextRid = 1;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  #eventWaiters: Array<{ test: (e: LifecycleEvent) => boolean; resolve: (e: LifecycleEvent) => void }> = [];
  #exited: Promise<number | null> = Promise.resolve(null);
  address = '';
  /** The node's stdout lines, with `captureStdout`. */
  readonly stdout: string[] = [];
  /** The node's audience gateway (`http://host:port`), when it runs one. */
  audienceUrl: string | undefined;

  constructor(readonly name: string, private readonly config: ClusterConfig, private readonly options: NodeProcessOptions = {}) {}

  get pid(): number {
    return this.#child?.pid ?? -1;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Forks the process and waits until the node has joined the cluster. */
  async start(): Promise<void> {
    const { config } = this;
    const env: Record<string, string> = {
      ...process.env as Record<string, string>,
      HIGHLANDER_NODE_NAME: this.name,
      HIGHLANDER_ZK: config.zookeeper,
      HIGHLANDER_ZK_ROOT: config.root,
      HIGHLANDER_ZK_SESSION_TIMEOUT_MS: String(config.sessionTimeoutMs ?? 4000),
      HIGHLANDER_S3_BUCKET: config.s3.bucket,
      HIGHLANDER_S3_PREFIX: `${config.root.slice(1)}/objects/`,
      HIGHLANDER_S3_ENDPOINT: config.s3.endpoint,
      HIGHLANDER_S3_REGION: config.s3.region,
      HIGHLANDER_S3_ACCESS_KEY_ID: config.s3.accessKeyId,
      HIGHLANDER_S3_SECRET_ACCESS_KEY: config.s3.secretAccessKey,
      HIGHLANDER_OBJECTS: config.objectsModule,
      HIGHLANDER_PLACEMENT: config.placement ?? 'local',
      HIGHLANDER_CALL_TIMEOUT_MS: String(config.callTimeoutMs ?? 15_000),
      HIGHLANDER_IDLE_TIMEOUT_MS: String(config.idleTimeoutMs ?? 60_000),
      // Warnings and errors only: the tests and the demo watch the nodes through their events.
      HIGHLANDER_LOG_LEVEL: process.env.HIGHLANDER_LOG_LEVEL ?? 'warn',
      ...(config.maxStateBytes ? { HIGHLANDER_MAX_STATE_BYTES: String(config.maxStateBytes) } : {}),
      ...(config.clusterSecret ? { HIGHLANDER_CLUSTER_SECRET: config.clusterSecret } : {}),
      ...config.nodeEnv,
      ...this.options.env,
    };
    const child = fork(NODE_MAIN, [], { env, execArgv: SOURCE_EXEC_ARGV, stdio: ['ignore', this.options.captureStdout ? 'pipe' : 'inherit', 'inherit', 'ipc'] });
    this.#child = child;
    if (child.stdout) createInterface({ input: child.stdout }).on('line', (line) => this.stdout.push(line));
    this.#exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.on('message', (message: Record<string, unknown>) => this.#onMessage(message));
    child.once('exit', () => {
      for (const pending of this.#pending.values()) pending.reject(new Error(`node process ${this.name} exited`));
      this.#pending.clear();
    });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: Record<string, unknown>) => {
        if (message.ready) {
          this.address = (message.ready as { address: string }).address;
          this.audienceUrl = (message.ready as { audience?: string }).audience;
          child.off('message', onMessage);
          resolve();
        } else if (message.startError) {
          reject(deserializeError(message.startError as SerializedError));
        }
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`node process ${this.name} exited with ${code} before it was ready`)));
    });
  }

  /** Sends one command to the node; rejects with the runtime's own error class. */
  command<T = unknown>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const child = this.#child;
    if (!child || !this.running) return Promise.reject(new Error(`node process ${this.name} is not running`));
    const rid = this.#nextRid++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(rid, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ rid, cmd, ...args });
    });
  }

  call<T = unknown>(type: string, id: string, name: string, arg?: unknown, timeoutMs?: number): Promise<T> {
    return this.command<T>('call', { type, id, name, arg, ...(timeoutMs ? { timeoutMs } : {}) });
  }

  get<T = unknown>(type: string, id: string, timeoutMs?: number): Promise<T> {
    return this.command<T>('get', { type, id, ...(timeoutMs ? { timeoutMs } : {}) });
  }

  put(type: string, id: string, state: unknown): Promise<void> {
    return this.command('put', { type, id, state });
  }

  activations(): Promise<Array<{ type: string; id: string; epoch: string; status: string }>> {
    return this.command('activations');
  }

  /** Resolves with the first event (already received or future) that matches. */
  waitForEvent(test: (e: LifecycleEvent) => boolean, timeoutMs: number): Promise<LifecycleEvent> {
    const seen = this.events.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = { test, resolve };
      this.#eventWaiters.push(waiter);
      setTimeout(() => {
        const index = this.#eventWaiters.indexOf(waiter);
        if (index >= 0) {
          this.#eventWaiters.splice(index, 1);
          reject(new Error(`node ${this.name}: no matching event within ${timeoutMs} ms`));
        }
      }, timeoutMs).unref();
    });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.#child?.kill(signal);
  }

  /** Graceful stop (drain) through the IPC channel; kills it if it does not exit in time. */
  async stop(timeoutMs = 20_000): Promise<void> {
    if (!this.running) return;
    const timer = setTimeout(() => this.kill('SIGKILL'), timeoutMs);
    await this.command('stop', { drain: true }).catch(() => {
      // The process may exit before it answers: the exit below is what counts.
    });
    await this.#exited;
    clearTimeout(timer);
  }

  exited(): Promise<number | null> {
    return this.#exited;
  }

  #onMessage(message: Record<string, unknown>): void {
    if (message.event) {
      const event = message.event as LifecycleEvent;
      this.events.push(event);
      for (const waiter of [...this.#eventWaiters]) {
        if (waiter.test(event)) {
          this.#eventWaiters.splice(this.#eventWaiters.indexOf(waiter), 1);
          waiter.resolve(event);
        }
      }
      return;
    }
    if (typeof message.rid === 'number') {
      const pending = this.#pending.get(message.rid);
      if (!pending) return;
      this.#pending.delete(message.rid);
      if (message.ok) pending.resolve(message.value);
      else pending.reject(deserializeError(message.error as SerializedError));
    }
  }
}

export class Cluster {
  readonly nodes: NodeProcess[];
  /** `options(name)`: what differs per node (e.g. its own addresses of ZooKeeper and S3 behind fault proxies). */
  constructor(readonly config: ClusterConfig, names: string[], options?: (name: string) => NodeProcessOptions) {
    this.nodes = names.map((name) => new NodeProcess(name, config, options?.(name)));
  }

  static async start(config: ClusterConfig, count: number): Promise<Cluster> {
    const cluster = new Cluster(config, Array.from({ length: count }, (_, i) => `node-${String.fromCharCode(97 + i)}`));
    await Promise.all(cluster.nodes.map((n) => n.start()));
    return cluster;
  }

  node(name: string): NodeProcess {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no node ${name}`);
    return node;
  }

  /** Every lifecycle event from every node process, in arrival order per node. */
  allEvents(): LifecycleEvent[] {
    return this.nodes.flatMap((n) => n.events);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map(async (n) => {
      if (n.running) await n.stop().catch(() => n.kill('SIGKILL'));
    }));
  }
}

const ADMIN_API_MAIN = fileURLToPath(new URL('./cluster-admin.ts', import.meta.url));

export interface AdminApiProcessOptions {
  /** The API's tokens, `role:name:token` entries as HIGHLANDER_API_TOKENS takes them. */
  tokens: string;
  /** The audit log file. */
  auditLog: string;
  /** 0 picks a free port. @default 0 */
  port?: number;
  /** More environment (HIGHLANDER_LOG_LEVEL, …). */
  env?: Record<string, string>;
  /** @default ['ignore', 'inherit', 'inherit', 'ipc'] */
  stdio?: Array<'ignore' | 'inherit' | 'ipc'>;
}

/**
 * The admin API (scripts/cluster-admin.ts: `highlander admin` with an IPC channel) as its own process over the cluster of `config` (the nodes'
 * admin token, the same ZooKeeper root and S3 prefix), ready when this resolves.
 */
export async function startAdminApiProcess(config: ClusterConfig, options: AdminApiProcessOptions): Promise<{ child: ChildProcess; url: string }> {
  const s3 = config.s3;
  const child = fork(ADMIN_API_MAIN, [], {
    execArgv: SOURCE_EXEC_ARGV,
    stdio: options.stdio ?? ['ignore', 'inherit', 'inherit', 'ipc'],
    env: {
      ...process.env,
      HIGHLANDER_ZK: config.zookeeper, HIGHLANDER_ZK_ROOT: config.root,
      HIGHLANDER_S3_BUCKET: s3.bucket, HIGHLANDER_S3_PREFIX: `${config.root.slice(1)}/objects/`, HIGHLANDER_S3_ENDPOINT: s3.endpoint,
      HIGHLANDER_S3_REGION: s3.region, HIGHLANDER_S3_ACCESS_KEY_ID: s3.accessKeyId, HIGHLANDER_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      ...(config.clusterSecret ? { HIGHLANDER_CLUSTER_SECRET: config.clusterSecret } : {}),
      HIGHLANDER_API_TOKENS: options.tokens,
      HIGHLANDER_API_PORT: String(options.port ?? 0),
      HIGHLANDER_AUDIT_LOG: options.auditLog,
      ...options.env,
    },
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.on('message', (m: { ready?: { url: string } }) => m.ready && resolve(m.ready.url));
    child.once('exit', (code) => reject(new Error(`the admin API exited with ${code} before it was ready${options.port ? ` (is port ${options.port} free?)` : ''}`)));
  });
  return { child, url };
}

/** Stops an admin API process started with {@link startAdminApiProcess} (SIGTERM) and waits for it to exit. */
export async function stopAdminApiProcess(api: { child: ChildProcess }): Promise<void> {
  if (api.child.exitCode !== null || api.child.signalCode !== null) return;
  const exited = new Promise((resolve) => api.child.once('exit', resolve));
  api.child.kill('SIGTERM');
  await exited;
}

let rootCounter = 0;
/** A ZooKeeper root (and S3 prefix) no other test uses. */
export function uniqueRoot(label: string): string {
  return `/t-${label}-${process.pid}-${Date.now().toString(36)}-${rootCounter++}`;
}
