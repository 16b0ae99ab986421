import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand, DeleteBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { logTail, ServerStartError } from './errors.js';
import { freePorts } from './free-port.js';
import { spawnGuarded, type GuardedDaemon } from './guarded-daemon.js';
import { createOwnedTempDir, removeOwnedTempDir } from './owned-temp-dir.js';
import { runGuarded } from './run-guarded.js';
import { s3ClientConfig } from './s3-client-config.js';

const PROBE_BUCKET = 'highlander-probe';
const POLL_INTERVAL_MS = 100;
const PROBE_REQUEST_TIMEOUT_MS = 3000;
const CLI_CONNECT_TIMEOUT_S = 20;
/**
 * Commands that talk to the mon are retried: right after the mon starts, a client may send its
 * first command before it has the monmap, with fsid 0, and the mon refuses it with EPERM
 * ("handle_command on fsid 00000000-… != …"). Every retried command is idempotent.
 */
const CLI_ATTEMPTS = 8;
const CLI_RETRY_DELAY_MS = 250;
const RGW_NAME = 'client.rgw.x';

export interface RadosgwOptions {
  /** Directory in which the `highlander-rgw-*` temporary directory is made. @default os.tmpdir() */
  baseDir?: string;
  /** How long a cold start may take (~13 s measured here, mostly the first pool creation). @default 60_000 */
  startTimeoutMs?: number;
  /** How long startGateway() waits for the restarted gateway to answer. @default 30_000 */
  gatewayStartTimeoutMs?: number;
}

/**
 * A throwaway single-host Ceph cluster (one mon, one memstore osd) with one radosgw on loopback.
 * Nothing survives stop(): the osd keeps its data in memory.
 */
export interface RadosgwServer {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly region: 'us-east-1';
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The temporary directory holding the config and every daemon's log. */
  readonly dir: string;
  /** Pid of the current radosgw daemon (of the last one once stopped), for SIGSTOP/SIGCONT/SIGKILL. */
  readonly gatewayPid: number;
  /** Creates a bucket; succeeds if it already exists and is ours. */
  createBucket(name: string): Promise<void>;
  /** Stops only the radosgw daemon (the mon and osd keep the data): S3 requests are refused until startGateway(). */
  stopGateway(): Promise<void>;
  /** Starts the radosgw daemon again (~0.3 s); resolves once it answers S3 requests. */
  startGateway(): Promise<void>;
  /** Kills every daemon and removes the temporary directory. Safe to call twice. */
  stop(): Promise<void>;
}

interface CompiledOptions {
  baseDir: string | undefined;
  startTimeoutMs: number;
  gatewayStartTimeoutMs: number;
}

function compileOptions(options: RadosgwOptions): CompiledOptions {
  return {
    baseDir: options.baseDir,
    startTimeoutMs: options.startTimeoutMs ?? 60_000,
    gatewayStartTimeoutMs: options.gatewayStartTimeoutMs ?? 30_000,
  };
}

/**
 * Starts a real Ceph radosgw (S3 with atomic conditional writes) on free loopback ports, following
 * the single-host recipe of notes/s3.md. The daemons die with this process, however it dies.
 *
 * @example
 * const rgw = await startRadosgw();
 * await rgw.createBucket('highlander-test');
 * const s3 = new S3Client(s3ClientConfig(rgw));
 * await rgw.stopGateway(); // an S3 outage; the data stays
 * await rgw.startGateway();
 * await rgw.stop();
 */
export async function startRadosgw(options: RadosgwOptions = {}): Promise<RadosgwServer> {
  const compiled = compileOptions(options);
  const dir = await createOwnedTempDir('highlander-rgw-', compiled.baseDir);
  const cluster = new CephCluster(dir, compiled);
  try {
    await cluster.start();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

class CephCluster implements RadosgwServer {
  readonly region = 'us-east-1' as const;
  readonly accessKeyId = `HL${randomBytes(9).toString('hex').toUpperCase()}`;
  readonly secretAccessKey = randomBytes(20).toString('hex');
  #endpoint = '';
  readonly #configFile: string;
  readonly #deadline: number;
  #daemons: { mon?: GuardedDaemon; osd?: GuardedDaemon; rgw?: GuardedDaemon } = {};
  #client: S3Client | undefined;
  #commandCount = 0;
  #stopped = false;

  constructor(
    readonly dir: string,
    private readonly options: CompiledOptions,
  ) {
    this.#configFile = join(dir, 'ceph.conf');
    this.#deadline = Date.now() + options.startTimeoutMs;
  }

  get endpoint(): string {
    return this.#endpoint;
  }

  get gatewayPid(): number {
    if (this.#daemons.rgw === undefined) throw new Error('radosgw was never started');
    return this.#daemons.rgw.pid;
  }

  async start(): Promise<void> {
    const [monPort, rgwPort] = (await freePorts(2)) as [number, number];
    this.#endpoint = `http://127.0.0.1:${rgwPort}`;
    const fsid = randomUUID();
    const osdUuid = randomUUID();
    const dir = this.dir;
    const keyring = join(dir, 'keyring');
    const monmap = join(dir, 'monmap');
    await Promise.all(['run', 'setup', 'mon.a', 'osd.0'].map((sub) => mkdir(join(dir, sub), { recursive: true })));
    await writeFile(this.#configFile, cephConfig({ dir, fsid, monPort, rgwPort }));

    await this.#run('ceph-authtool', ['--create-keyring', keyring, '--gen-key', '-n', 'mon.', '--cap', 'mon', 'allow *']);
    await this.#run('ceph-authtool', [
      keyring,
      '--gen-key',
      '-n',
      'client.admin',
      ...['--cap', 'mon', 'allow *', '--cap', 'osd', 'allow *', '--cap', 'mgr', 'allow *'],
    ]);
    await this.#run('monmaptool', ['--create', '--addv', 'a', `[v1:127.0.0.1:${monPort}]`, '--fsid', fsid, monmap]);

    await this.#run('ceph-mon', ['-c', this.#configFile, '--mkfs', '-i', 'a', '--monmap', monmap, '--keyring', keyring]);
    this.#daemons.mon = await this.#spawn('mon.a', 'ceph-mon', ['-f', '-c', this.#configFile, '-i', 'a']);

    const ceph = ['-c', this.#configFile, '--connect-timeout', String(CLI_CONNECT_TIMEOUT_S)];
    // `osd new` with the same uuid returns the same id; `crush add` of a present item just sets it again.
    await this.#run('ceph', [...ceph, 'osd', 'new', osdUuid], { retry: true });
    await this.#run('ceph', [...ceph, 'osd', 'crush', 'add', 'osd.0', '1.0', 'root=default'], { retry: true });
    await this.#run('ceph-osd', ['-c', this.#configFile, '-i', '0', '--mkfs', '--osd-uuid', osdUuid]);
    this.#daemons.osd = await this.#spawn('osd.0', 'ceph-osd', ['-f', '-c', this.#configFile, '-i', '0']);

    this.#daemons.rgw = await this.#spawn(RGW_NAME, 'radosgw', ['-f', '-c', this.#configFile, '-n', RGW_NAME]);
    await this.#run(
      'radosgw-admin',
      [
        ...['-c', this.#configFile, 'user', 'create', '--uid=highlander', '--display-name=Highlander'],
        `--access-key=${this.accessKeyId}`,
        `--secret-key=${this.secretAccessKey}`,
      ],
      // On a retry, "exists" means an earlier attempt created the user (nobody else uses this cluster).
      { retry: true, doneOnRetryIf: /user: highlander exists/ },
    );

    // The first CreateBucket waits for radosgw to create its pools: most of the cold start.
    const createProbe = new CreateBucketCommand({ Bucket: PROBE_BUCKET });
    await this.#waitUntilServing((options) => this.#s3().send(createProbe, options), this.#deadline, 'start');
    await this.#s3().send(new DeleteBucketCommand({ Bucket: PROBE_BUCKET }));
  }

  async createBucket(name: string): Promise<void> {
    try {
      await this.#s3().send(new CreateBucketCommand({ Bucket: name }));
    } catch (error) {
      // already ours: creating it is idempotent for the caller
      if ((error as Error).name === 'BucketAlreadyOwnedByYou') return;
      throw error;
    }
  }

  async stopGateway(): Promise<void> {
    await this.#daemons.rgw?.stop({ gracefulTimeoutMs: 2000 });
  }

  async startGateway(): Promise<void> {
    if (this.#stopped) throw new Error('radosgw: startGateway() after stop()');
    const previous = this.#daemons.rgw;
    if (previous?.running === true) throw new Error(`radosgw is already running (pid ${previous.pid})`);
    this.#daemons.rgw = await this.#spawn(RGW_NAME, 'radosgw', ['-f', '-c', this.#configFile, '-n', RGW_NAME]);
    const deadline = Date.now() + this.options.gatewayStartTimeoutMs;
    const listProbe = new ListBucketsCommand({});
    await this.#waitUntilServing((options) => this.#s3().send(listProbe, options), deadline, 'restart');
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#client?.destroy();
    // SIGKILL: memstore keeps nothing worth a graceful shutdown, and the osd's takes seconds.
    const daemons = Object.values(this.#daemons);
    for (const daemon of daemons) daemon.kill('SIGKILL');
    await Promise.all(daemons.map((daemon) => daemon.exited));
    await removeOwnedTempDir(this.dir);
  }

  #s3(): S3Client {
    this.#client ??= new S3Client({ ...s3ClientConfig(this), maxAttempts: 1 });
    return this.#client;
  }

  #spawn(name: string, command: string, args: string[]): Promise<GuardedDaemon> {
    return spawnGuarded({ name: `ceph ${name}`, command, args, logFile: join(this.dir, `${name}.out`) });
  }

  /**
   * Runs a setup command under the guard (so it dies with us), its output in `setup/`; with `retry`,
   * again (up to CLI_ATTEMPTS times, within the start deadline) when it fails.
   */
  async #run(command: string, args: string[], options: { retry?: boolean; doneOnRetryIf?: RegExp } = {}): Promise<void> {
    const attempts = options.retry === true ? CLI_ATTEMPTS : 1;
    for (let attempt = 1; ; attempt++) {
      const timeoutMs = Math.max(this.#deadline - Date.now(), 1000);
      this.#commandCount += 1;
      const logFile = join(this.dir, 'setup', `${String(this.#commandCount).padStart(2, '0')}-${command}.out`);
      const { exit, timedOut, output } = await runGuarded({ name: command, command, args, logFile, cwd: this.dir, timeoutMs });
      if (exit.code === 0) return;
      if (attempt > 1 && options.doneOnRetryIf?.test(output) === true) return;
      if (attempt < attempts && !timedOut && Date.now() + CLI_RETRY_DELAY_MS < this.#deadline) {
        await sleep(CLI_RETRY_DELAY_MS);
        continue;
      }
      const what = timedOut ? `timed out after ${timeoutMs} ms` : `exit code ${exit.code}, signal ${exit.signal}`;
      throw new ServerStartError(
        `radosgw: \`${command} ${args.join(' ')}\` failed (attempt ${attempt} of ${attempts}): ${what}`,
        'SERVER_COMMAND_FAILED',
        'radosgw',
        `${logTail(logFile, 20)}\n${this.#logTails()}`,
      );
    }
  }

  /** Sends `probe` until it succeeds; fails fast if a daemon dies, with every log's tail on failure. */
  async #waitUntilServing(
    probe: (options: { abortSignal: AbortSignal }) => Promise<unknown>,
    deadline: number,
    phase: string,
  ): Promise<void> {
    let lastError: unknown;
    for (;;) {
      const dead = Object.values(this.#daemons).find((daemon) => !daemon.running);
      if (dead !== undefined) {
        const exit = await dead.exited;
        throw new ServerStartError(
          `radosgw ${phase}: ${dead.name} exited (code ${exit.code}, signal ${exit.signal})`,
          'SERVER_EXITED',
          'radosgw',
          this.#logTails(),
        );
      }
      try {
        await probe({ abortSignal: AbortSignal.timeout(PROBE_REQUEST_TIMEOUT_MS) });
        return;
      } catch (error) {
        lastError = error; // not serving yet: refused, 5xx while pools are created, unknown key until the user exists
      }
      if (Date.now() > deadline) {
        const reason = lastError instanceof Error ? `${lastError.name}: ${lastError.message}` : String(lastError);
        throw new ServerStartError(
          `radosgw ${phase}: ${this.endpoint} not serving S3 in time (last error ${reason})`,
          'SERVER_START_TIMEOUT',
          'radosgw',
          this.#logTails(),
          { cause: lastError },
        );
      }
      await sleep(POLL_INTERVAL_MS);
    }
  }

  #logTails(): string {
    const names = ['mon.a', 'osd.0', RGW_NAME];
    return names
      .flatMap((name) => [logTail(join(this.dir, `${name}.log`), 25), logTail(join(this.dir, `${name}.out`), 10)])
      .join('\n');
  }
}

function cephConfig(options: { dir: string; fsid: string; monPort: number; rgwPort: number }): string {
  const { dir, fsid, monPort, rgwPort } = options;
  return `[global]
fsid = ${fsid}
mon host = v1:127.0.0.1:${monPort}
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
run dir = ${dir}/run
admin socket = ${dir}/run/$name.asok
pid file = ${dir}/run/$name.pid
log file = ${dir}/$name.log
keyring = ${dir}/keyring

[mon]
mon data = ${dir}/mon.$id
# Propose map changes at once instead of batching them for 1 s: a cold start takes ~1.3 s instead of ~13 s.
paxos propose interval = 0.05

[osd]
osd data = ${dir}/osd.$id
osd objectstore = memstore
osd crush update on start = false
osd class update on start = false
memstore device bytes = 536870912
osd max object name len = 2048
osd max object namespace len = 64

[${RGW_NAME}]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort} tcp_nodelay=1
rgw dns name = localhost
`;
}
