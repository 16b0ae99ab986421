import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { ClusterSummary } from '@highlander/admin-api';
import { prefixOf } from './bench-node.js';
import type { BenchServers } from './benchmark.js';
import { trackChild } from './child-processes.js';
import { formatNumber, formatSeconds } from './stats.js';

const MAIN = fileURLToPath(new URL('../scripts/cluster-admin.ts', import.meta.url));
/** The admin API reconciles before it listens: with 100k objects that is part of its start. */
const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 10_000;
/** Lines of the admin API's output kept for an error message. */
const LOG_TAIL_LINES = 40;

export interface AdminProcessOptions {
  servers: BenchServers;
  root: string;
  /** Extra node flags for the admin API process (e.g. `--cpu-prof`). @default [] */
  execArgv?: string[];
  /** More environment (e.g. `HIGHLANDER_CLUSTER_SECRET`, the nodes' cluster secret, for talks). @default {} */
  env?: Record<string, string>;
}

export interface ProcessMemory {
  /** VmRSS from /proc/<pid>/status. */
  rssBytes: number;
  /** VmHWM: the peak RSS so far. */
  peakRssBytes: number;
}

/**
 * The admin API as its own process (admin-api/src/main.ts, configured through the environment as
 * in production), with an operator token, listening on a free loopback port, its audit log in a
 * temporary directory. S3 is configured (main.ts constructs the store) but nothing here reads it.
 */
export class AdminProcess {
  readonly #tail: string[];
  readonly #exited: Promise<void>;
  #exitedAlready = false;

  private constructor(
    private readonly child: ChildProcess,
    untrack: () => void,
    private readonly dir: string,
    /** The operator token it accepts. */
    readonly token: string,
    readonly url: string,
    readonly pid: number,
    /** From fork to `{ ready }`: the model's first reconciliation included. */
    readonly startMs: number,
    tail: string[],
  ) {
    this.#tail = tail;
    this.#exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    void this.#exited.then(() => {
      this.#exitedAlready = true;
      untrack();
    });
  }

  static async start(options: AdminProcessOptions): Promise<AdminProcess> {
    const { servers, root } = options;
    const dir = await mkdtemp(join(tmpdir(), 'highlander-bench-admin-'));
    const token = randomBytes(16).toString('hex');
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HIGHLANDER_')));
    Object.assign(env, {
      HIGHLANDER_ZK: servers.zookeeper,
      HIGHLANDER_ZK_ROOT: root,
      HIGHLANDER_S3_BUCKET: servers.s3.bucket,
      HIGHLANDER_S3_PREFIX: prefixOf(root),
      HIGHLANDER_S3_ENDPOINT: servers.s3.endpoint,
      HIGHLANDER_S3_REGION: servers.s3.region,
      HIGHLANDER_S3_ACCESS_KEY_ID: servers.s3.accessKeyId,
      HIGHLANDER_S3_SECRET_ACCESS_KEY: servers.s3.secretAccessKey,
      HIGHLANDER_API_TOKENS: `operator:bench:${token}`,
      HIGHLANDER_API_HOST: '127.0.0.1',
      HIGHLANDER_API_PORT: '0',
      HIGHLANDER_AUDIT_LOG: join(dir, 'audit.jsonl'),
      ...options.env,
    });
    const started = performance.now();
    const child = fork(MAIN, [], {
      execArgv: [...(options.execArgv ?? []), '--conditions=@highlander/source', '--import', 'tsx'],
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const untrack = trackChild(child);
    const tail: string[] = [];
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) tail.push(line);
      if (tail.length > LOG_TAIL_LINES) tail.splice(0, tail.length - LOG_TAIL_LINES);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    try {
      const ready = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the admin API did not report ready within ${formatSeconds(READY_TIMEOUT_MS)}`)), READY_TIMEOUT_MS);
        child.on('message', (message: { ready?: { url: string; pid: number } }) => {
          if (!message.ready) return;
          clearTimeout(timer);
          resolve(message.ready);
        });
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`the admin API exited while starting (code ${code}, signal ${signal})`));
        });
      });
      return new AdminProcess(child, untrack, dir, token, ready.url, ready.pid, performance.now() - started, tail);
    } catch (err) {
      child.kill('SIGKILL');
      untrack();
      await rm(dir, { recursive: true, force: true });
      throw new Error(`${(err as Error).message}\nadmin API output:\n${tail.join('\n')}`);
    }
  }

  get wsUrl(): string {
    return `${this.url.replace(/^http/, 'ws')}/api/stream`;
  }

  /** GET a JSON route with the operator token; throws on a non-2xx answer. */
  async get<T>(path: string): Promise<T> {
    const response = await fetch(`${this.url}${path}`, { headers: { authorization: `Bearer ${this.token}` } });
    const text = await response.text();
    if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  }

  /** Its resident memory, from /proc. */
  async memory(): Promise<ProcessMemory> {
    const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
    const kib = (field: string) => {
      const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
      if (!match) throw new Error(`no ${field} in /proc/${this.pid}/status`);
      return Number(match[1]) * 1024;
    };
    return { rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') };
  }

  /** The V8 heap as prom-client reports it on `/metrics` (read at the scrape). */
  async heap(): Promise<{ usedBytes: number; totalBytes: number }> {
    const response = await fetch(`${this.url}/metrics`);
    const text = await response.text();
    const value = (name: string) => {
      const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
      if (!match) throw new Error(`no ${name} on /metrics`);
      return Number(match[1]);
    };
    return { usedBytes: value('nodejs_heap_size_used_bytes'), totalBytes: value('nodejs_heap_size_total_bytes') };
  }

  /** Polls `GET /api/summary` until the model holds `objects` objects; returns that summary. */
  async waitForObjects(objects: number, timeoutMs: number, log: (message: string) => void): Promise<ClusterSummary> {
    const started = performance.now();
    let lastReport = started;
    for (;;) {
      const summary = await this.get<ClusterSummary>('/api/summary');
      if (summary.objects === objects) return summary;
      const now = performance.now();
      if (now - started > timeoutMs) {
        throw new Error(`the admin API's model holds ${formatNumber(summary.objects)} objects, not ${formatNumber(objects)}, after ${formatSeconds(timeoutMs)}`);
      }
      if (now - lastReport >= 5000) {
        lastReport = now;
        log(`    admin API model: ${formatNumber(summary.objects)} of ${formatNumber(objects)} objects`);
      }
      await sleep(100);
    }
  }

  /** The last lines it printed (pino JSON), for diagnosis. */
  outputTail(): string {
    return this.#tail.join('\n');
  }

  /** SIGTERM (it closes the stream, server, audit log and model), SIGKILL after 10 s; removes its temp dir. */
  async stop(): Promise<void> {
    if (!this.#exitedAlready) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await this.#exited;
      clearTimeout(timer);
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
