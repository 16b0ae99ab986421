import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { HeldObject } from './admin-fake-node.js';
import type {
  ChurnRequest, ChurnResult, FakeClusterConfig, FakeClusterMessage, FakeClusterRequest, PopulateRequest, PopulateResult, StatsRequest, StopResult,
} from './admin-cluster-process.js';
import { trackChild } from './child-processes.js';
import { formatNumber, formatSeconds } from './stats.js';

const PROCESS = fileURLToPath(new URL('./admin-cluster-process.ts', import.meta.url));
const START_TIMEOUT_MS = 30_000;

/** The admin API benchmarks' cluster: five nodes, four object types. */
export const FAKE_NODES = 5;
export const FAKE_TYPES = ['account', 'cart', 'counter', 'session'];

/** Objects per multi and multis in flight per node while populating: ~100k lock znodes in a few seconds. */
const POPULATE_BATCH = 500;
const POPULATE_IN_FLIGHT = 2;

export interface FakeClusterOptions {
  zookeeper: string;
  root: string;
  log(message: string): void;
}

/**
 * Five Highlander nodes simulated at the protocol level, in a child process (see
 * bench/admin-fake-node.ts for what they do and why they are simulated): member znodes, the
 * runtime's `/events` ws endpoint, and real lock znodes for their objects.
 */
export class FakeCluster {
  #nextRid = 0;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  #exited = false;
  #stopped = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly untrack: () => void,
    readonly root: string,
    readonly nodes: ReadonlyArray<{ name: string; address: string }>,
  ) {
    child.on('message', (message: FakeClusterMessage) => {
      if (!('rid' in message)) return;
      const waiter = this.#pending.get(message.rid);
      this.#pending.delete(message.rid);
      if ('error' in message) waiter?.reject(new Error(`fake cluster: ${message.error}`));
      else waiter?.resolve(message.result);
    });
    child.once('exit', (code, signal) => {
      this.#exited = true;
      untrack();
      for (const waiter of this.#pending.values()) waiter.reject(new Error(`the fake cluster process exited (code ${code}, signal ${signal})`));
      this.#pending.clear();
    });
  }

  static async start(options: FakeClusterOptions): Promise<FakeCluster> {
    const config: FakeClusterConfig = { zookeeper: options.zookeeper, root: options.root, nodes: FAKE_NODES, types: FAKE_TYPES };
    const child = fork(PROCESS, [], {
      execArgv: ['--conditions=@highlander/source', '--import', 'tsx'],
      env: { ...process.env, BENCH_ADMIN_CLUSTER_CONFIG: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const untrack = trackChild(child);
    child.on('message', (message: FakeClusterMessage) => {
      if ('progress' in message) options.log(`    ${message.progress}`);
    });
    const nodes = await new Promise<Array<{ name: string; address: string }>>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the fake cluster did not start within ${formatSeconds(START_TIMEOUT_MS)}`));
      }, START_TIMEOUT_MS);
      const onMessage = (message: FakeClusterMessage) => {
        if ('ready' in message) {
          clearTimeout(timer);
          child.off('exit', onExit);
          child.off('message', onMessage);
          resolve(message.ready.nodes);
        } else if ('error' in message && !('rid' in message)) {
          clearTimeout(timer);
          reject(new Error(message.error));
        }
      };
      const onExit = (code: number | null, signal: string | null) => {
        clearTimeout(timer);
        untrack();
        reject(new Error(`the fake cluster process exited while starting (code ${code}, signal ${signal})`));
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
    return new FakeCluster(child, untrack, options.root, nodes);
  }

  /** Activates `count` more objects, spread evenly over the nodes and types. */
  populate(count: number, options: { ratePerSecond?: number } = {}): Promise<PopulateResult> {
    return this.#request<PopulateResult>({
      cmd: 'populate', count, batchSize: POPULATE_BATCH, inFlight: POPULATE_IN_FLIGHT,
      ...(options.ratePerSecond ? { ratePerSecond: options.ratePerSecond } : {}),
    } satisfies PopulateRequest);
  }

  /** `changesPerSecond` object changes (half deactivations, half activations) for `durationMs`. */
  churn(changesPerSecond: number, durationMs: number): Promise<ChurnResult> {
    return this.#request<ChurnResult>({ cmd: 'churn', changesPerSecond, durationMs } satisfies ChurnRequest);
  }

  /** Each node sends one `stats` event listing `listed` of its objects (at random, with random figures). */
  stats(listed: number, intervalMs: number): Promise<null> {
    return this.#request<null>({ cmd: 'stats', listed, intervalMs } satisfies StatsRequest);
  }

  /** Every active object with its owner, epoch and activation time. */
  objects(): Promise<HeldObject[]> {
    return this.#request<HeldObject[]>({ cmd: 'objects' });
  }

  /**
   * Deletes every lock znode, lock parent, member znode and the root, closes the nodes, and waits
   * for the process to exit. Safe to call twice.
   */
  async stop(log: (message: string) => void): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#exited) {
      log(`    the fake cluster process had exited already: its ephemeral znodes go with its sessions, but the persistent ones under ${this.root} are left`);
      return;
    }
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    try {
      const result = await this.#request<StopResult>({ cmd: 'stop' });
      log(`    fake cluster removed in ${formatSeconds(result.elapsedMs)}${result.clean ? `: nothing left under ${this.root}` : `; ${this.root} is NOT empty`}`);
    } finally {
      this.child.disconnect();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  }

  #request<T>(request: FakeClusterRequest): Promise<T> {
    if (this.#exited) return Promise.reject(new Error('the fake cluster process has exited'));
    const rid = this.#nextRid++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(rid, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ ...request, rid });
    });
  }
}

/** `1,234 objects in 2.1 s (588/s)`. */
export function describePopulate(result: PopulateResult): string {
  return `${formatNumber(result.count)} objects activated in ${formatSeconds(result.elapsedMs)} (${formatNumber((result.count * 1000) / result.elapsedMs)}/s, ${formatNumber(result.events)} node events)`;
}
