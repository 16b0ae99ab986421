import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { logTail, ServerStartError } from './errors.js';
import { fourLetterWord } from './four-letter-word.js';
import { freePorts } from './free-port.js';
import { spawnGuarded, type GuardedDaemon } from './guarded-daemon.js';
import { createOwnedTempDir, removeOwnedTempDir } from './owned-temp-dir.js';
import { QuorumLinks } from './zookeeper-quorum-links.js';

const CLASSPATH = ['/usr/share/java/zookeeper.jar', '/usr/share/java/slf4j-simple.jar'].join(':');
/**
 * Stock settings apart from the heap: in particular `jute.maxbuffer` stays at its 1 MB default, as on
 * production ensembles, so that tests and benchmarks meet every request a stock server refuses (a large
 * multi, the watches a client sends again after a reconnect).
 */
const JVM_ARGS = ['-XX:+UseSerialGC'];
const DEFAULT_MAX_HEAP = '512m';
const MAIN_CLASS = 'org.apache.zookeeper.server.quorum.QuorumPeerMain';
const POLL_INTERVAL_MS = 50;
/** A restart after kill() waits this long for the previous JVM to be gone. */
const PREVIOUS_EXIT_TIMEOUT_MS = 10_000;
/** Starts on fresh ports after a server found its port taken, before the error is thrown. */
const START_ATTEMPTS = 3;

export interface ZooKeeperOptions {
  /** 1 runs a standalone server; 3 or 5 run an ensemble on loopback. @default 1 */
  servers?: 1 | 3 | 5;
  /** ZooKeeper's `tickTime`; session timeouts are clamped to 2–20 ticks. @default 500 */
  tickTimeMs?: number;
  /** Directory in which the `highlander-zk-*` temporary directory is made. @default os.tmpdir() */
  baseDir?: string;
  /** How long start (and each restart) waits for a server to report its Mode. @default 30_000 */
  startTimeoutMs?: number;
  /**
   * The servers of an ensemble reach each other through loopback fault proxies
   * (zookeeper-quorum-links.ts), so that `isolate(id)` can cut one off while it keeps running.
   * @default false
   */
  quorumProxies?: boolean;
  /**
   * Each JVM's maximum heap (`-Xmx`), e.g. `'2g'`: a sizing input for capacity benchmarks, not a
   * protocol setting. @default '512m'
   */
  maxHeap?: string;
}

/** What the `srvr` four-letter word reports; `down` when the server does not answer or is not serving. */
export type ZooKeeperMode = 'leader' | 'follower' | 'standalone' | 'down';

export interface ZooKeeperServer {
  /** The `myid` of this server (1 for a standalone server). */
  readonly id: number;
  readonly clientPort: number;
  /** Pid of the current JVM (of the last one once stopped), for SIGSTOP/SIGCONT/SIGKILL. */
  readonly pid: number;
  /** stdout and stderr of every JVM this server ran, appended. */
  readonly logFile: string;
  /** The server's `dataDir` (snapshots and transaction logs under `version-2/`). */
  readonly dataDir: string;
  /** Sends a signal to the JVM. @default 'SIGKILL' */
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, SIGKILL after 5 s; resolves once the JVM has exited. */
  stop(): Promise<void>;
  /** Starts it again (after kill() or stop()) with the same config and data; resolves once it reports a Mode. */
  start(): Promise<void>;
  mode(): Promise<ZooKeeperMode>;
}

export interface ZooKeeperCluster {
  /** `127.0.0.1:port[,127.0.0.1:port…]`, for node-zookeeper-client's `createClient`. */
  readonly connectString: string;
  /** The temporary directory holding every server's config, data and log. */
  readonly dir: string;
  readonly servers: readonly ZooKeeperServer[];
  /** The server whose Mode is `leader` (or `standalone`); waits for an election to finish. @default timeoutMs 30_000 */
  leader(timeoutMs?: number): Promise<ZooKeeperServer>;
  /**
   * Cuts server `id` off from the other servers, both ways (a partition of the ensemble; its clients
   * still reach it). Needs `quorumProxies: true`.
   */
  isolate(id: number): void;
  /** Every link between the servers passes again (nothing to do without `quorumProxies`). */
  heal(): void;
  /** SIGKILLs every server and removes the temporary directory. Safe to call twice. */
  stop(): Promise<void>;
}

interface CompiledOptions {
  servers: 1 | 3 | 5;
  tickTimeMs: number;
  baseDir: string | undefined;
  startTimeoutMs: number;
  quorumProxies: boolean;
  maxHeap: string;
}

function compileOptions(options: ZooKeeperOptions): CompiledOptions {
  const servers = options.servers ?? 1;
  if (servers !== 1 && servers !== 3 && servers !== 5) {
    throw new TypeError(`startZooKeeper: servers must be 1, 3 or 5, got ${String(servers)}`);
  }
  const tickTimeMs = options.tickTimeMs ?? 500;
  if (!Number.isInteger(tickTimeMs) || tickTimeMs < 1) {
    throw new TypeError(`startZooKeeper: tickTimeMs must be a positive integer, got ${tickTimeMs}`);
  }
  const quorumProxies = options.quorumProxies ?? false;
  if (quorumProxies && servers === 1) throw new TypeError('startZooKeeper: quorumProxies needs an ensemble (servers 3 or 5)');
  const maxHeap = options.maxHeap ?? DEFAULT_MAX_HEAP;
  if (!/^\d+[kmg]$/.test(maxHeap)) throw new TypeError(`startZooKeeper: maxHeap must be like '512m' or '2g', got '${maxHeap}'`);
  return { servers, tickTimeMs, baseDir: options.baseDir, startTimeoutMs: options.startTimeoutMs ?? 30_000, quorumProxies, maxHeap };
}

/**
 * Starts a real ZooKeeper (standalone or an ensemble) on free loopback ports in a fresh
 * `highlander-zk-*` temporary directory. The JVMs die with this process, however it dies.
 *
 * @example
 * const zk = await startZooKeeper({ servers: 3 });
 * const client = createClient(zk.connectString);
 * await (await zk.leader()).stop(); // an election follows
 * await zk.stop();
 */
export async function startZooKeeper(options: ZooKeeperOptions = {}): Promise<ZooKeeperCluster> {
  const compiled = compileOptions(options);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnFreshPorts(compiled);
    } catch (error) {
      // A port that was free when picked was bound by another process before the server bound it:
      // nothing is wrong with the server, so it starts again on other ports.
      const portTaken = error instanceof ServerStartError && error.logTail.includes('Address already in use');
      if (!portTaken || attempt >= START_ATTEMPTS) throw error;
    }
  }
}

async function startOnFreshPorts(compiled: CompiledOptions): Promise<ZooKeeperCluster> {
  const dir = await createOwnedTempDir('highlander-zk-', compiled.baseDir);
  const servers: ZooKeeperServerProcess[] = [];
  let links: QuorumLinks | undefined;
  try {
    const ports = await freePorts(compiled.servers * 3);
    const portsOf = (id: number) => ({
      clientPort: ports[(id - 1) * 3] as number,
      quorumPort: ports[(id - 1) * 3 + 1] as number,
      electionPort: ports[(id - 1) * 3 + 2] as number,
    });
    const ids = Array.from({ length: compiled.servers }, (_, index) => index + 1);
    if (compiled.quorumProxies) links = await QuorumLinks.start(ids, portsOf);
    /** How server `self` reaches every server: its own ports for itself, its links' proxies for the others. */
    const ensembleLines = (self: number) =>
      compiled.servers === 1
        ? []
        : [
            'initLimit=10',
            'syncLimit=5',
            ...ids.map((id) => {
              const { quorumPort, electionPort } = links !== undefined && id !== self ? links.portsFor(self, id) : portsOf(id);
              return `server.${id}=127.0.0.1:${quorumPort}:${electionPort}`;
            }),
          ];
    for (const id of ids) {
      const serverDir = join(dir, `server.${id}`);
      const dataDir = join(serverDir, 'data');
      await mkdir(dataDir, { recursive: true });
      if (compiled.servers > 1) await writeFile(join(dataDir, 'myid'), `${id}\n`);
      const { clientPort } = portsOf(id);
      const config = [
        `tickTime=${compiled.tickTimeMs}`,
        `dataDir=${dataDir}`,
        `clientPort=${clientPort}`,
        'clientPortAddress=127.0.0.1',
        'admin.enableServer=false',
        '4lw.commands.whitelist=*',
        'maxClientCnxns=0',
        'forceSync=no',
        ...ensembleLines(id),
      ];
      const configFile = join(serverDir, 'zoo.cfg');
      await writeFile(configFile, `${config.join('\n')}\n`);
      servers.push(
        new ZooKeeperServerProcess(id, clientPort, configFile, join(serverDir, 'server.log'), compiled.startTimeoutMs, [`-Xmx${compiled.maxHeap}`, ...JVM_ARGS], dataDir),
      );
    }
    await Promise.all(servers.map((server) => server.start()));
  } catch (error) {
    await Promise.all(servers.map((server) => server.forceStop()));
    await links?.close();
    await removeOwnedTempDir(dir);
    throw error;
  }
  return new LocalZooKeeperCluster(dir, servers, links);
}

class LocalZooKeeperCluster implements ZooKeeperCluster {
  readonly connectString: string;
  #stopped = false;

  constructor(
    readonly dir: string,
    readonly servers: readonly ZooKeeperServerProcess[],
    private readonly links: QuorumLinks | undefined,
  ) {
    this.connectString = servers.map((server) => `127.0.0.1:${server.clientPort}`).join(',');
  }

  isolate(id: number): void {
    if (this.links === undefined) throw new TypeError('ZooKeeper: isolate() needs an ensemble started with quorumProxies: true');
    this.links.isolate(id);
  }

  heal(): void {
    this.links?.heal();
  }

  async leader(timeoutMs = 30_000): Promise<ZooKeeperServer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const modes = await Promise.all(this.servers.map((server) => server.mode()));
      const index = modes.findIndex((mode) => mode === 'leader' || mode === 'standalone');
      const leader = this.servers[index];
      if (leader !== undefined) return leader;
      if (Date.now() > deadline) {
        const summary = this.servers.map((server, i) => `server ${server.id}: ${modes[i]}`).join(', ');
        throw new Error(`ZooKeeper: no leader within ${timeoutMs} ms (${summary})`);
      }
      await sleep(POLL_INTERVAL_MS);
    }
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await Promise.all(this.servers.map((server) => server.forceStop()));
    await this.links?.close();
    await removeOwnedTempDir(this.dir);
  }
}

class ZooKeeperServerProcess implements ZooKeeperServer {
  #daemon: GuardedDaemon | undefined;

  constructor(
    readonly id: number,
    readonly clientPort: number,
    private readonly configFile: string,
    readonly logFile: string,
    private readonly startTimeoutMs: number,
    private readonly jvmArgs: readonly string[],
    readonly dataDir: string,
  ) {}

  get pid(): number {
    if (this.#daemon === undefined) throw new Error(`ZooKeeper server ${this.id} was never started`);
    return this.#daemon.pid;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.#daemon?.kill(signal);
  }

  async stop(): Promise<void> {
    await this.#daemon?.stop();
  }

  /** SIGKILL: the data is thrown away anyway, and a JVM shutdown takes a while. */
  async forceStop(): Promise<void> {
    this.#daemon?.kill('SIGKILL');
    await this.#daemon?.exited;
  }

  async start(): Promise<void> {
    const previous = this.#daemon;
    if (previous?.running === true) {
      const timeout = new AbortController();
      const gone = await Promise.race([
        previous.exited,
        sleep(PREVIOUS_EXIT_TIMEOUT_MS, 'running' as const, { signal: timeout.signal }),
      ]);
      timeout.abort();
      if (gone === 'running') throw new Error(`ZooKeeper server ${this.id} is still running (pid ${previous.pid})`);
    }
    const name = `zookeeper server ${this.id}`;
    const daemon = await spawnGuarded({
      name,
      command: 'java',
      args: [...this.jvmArgs, '-cp', CLASSPATH, MAIN_CLASS, this.configFile],
      logFile: this.logFile,
    });
    this.#daemon = daemon;
    const deadline = Date.now() + this.startTimeoutMs;
    for (;;) {
      if (!daemon.running) {
        const exit = await daemon.exited;
        throw new ServerStartError(
          `${name} exited during start (code ${exit.code}, signal ${exit.signal})`,
          'SERVER_EXITED',
          name,
          logTail(this.logFile),
        );
      }
      if ((await this.mode()) !== 'down') return;
      if (Date.now() > deadline) {
        daemon.kill('SIGKILL');
        throw new ServerStartError(
          `${name} did not report a Mode within ${this.startTimeoutMs} ms (port ${this.clientPort})`,
          'SERVER_START_TIMEOUT',
          name,
          logTail(this.logFile),
        );
      }
      await sleep(POLL_INTERVAL_MS);
    }
  }

  async mode(): Promise<ZooKeeperMode> {
    if (this.#daemon?.running !== true) return 'down';
    let answer: string;
    try {
      answer = await fourLetterWord(this.clientPort, 'srvr');
    } catch {
      return 'down'; // refused, reset or unanswered (paused): not serving, which is what 'down' means
    }
    const mode = /^Mode: (\w+)/m.exec(answer)?.[1];
    return mode === 'leader' || mode === 'follower' || mode === 'standalone' ? mode : 'down';
  }
}
