/**
 * `npm run bench:capacity`: how many locks a small ZooKeeper ensemble holds, measured. Not part of
 * `npm run bench` (it takes tens of minutes). Starts its own 3-server loopback ensemble (stock
 * settings; only the JVM heap is an input), then for each step brings the number of held locks to
 * N with the runtime's own lock recipe (ZooKeeperCoordinator.acquire through sessions standing
 * for nodes, at most 10,000 locks each, 256 in flight, UUID ids spread over the 4,096 buckets by
 * their hash) and measures:
 *
 * - ZooKeeper's heap used after a full GC (`jcmd <pid> GC.run`, then `GC.heap_info`) and RSS
 *   (/proc/<pid>/status), the largest of the three servers, and `mntr`'s znode count;
 * - the size of a snapshot taken after the step's locks were in place (the newest
 *   `version-2/snapshot.<zxid>` of each server whose zxid is past the load; when a server has none
 *   yet, cheap setData transactions are written until it takes one — ZooKeeper snapshots every
 *   50–100% of `snapCount`, 100,000 transactions);
 * - acquire+release cycles/s on fresh ids at 64 and at 256 in flight (the figure), against the
 *   same ZooKeeper work on a bare node-zookeeper-client in the same run (multi(create parent,
 *   create EPHEMERAL_SEQUENTIAL) + getChildren + exists + multi(delete lock, delete parent));
 * - the admin API's full reconciliation: `LiveClusterModel.start()` of a fresh model, which lists
 *   every bucket and lock parent and reads each lock's stat (as bench/admin-reconcile.ts times it);
 * - the fullest bucket's child count, its `getChildren` reply size, and whether ZooKeeper's Java
 *   client (`zkCli.sh -server … ls <bucket>`, Debian's package) lists it.
 *
 * After the first step of at least `--recovery-locks` locks, a node holding `--recovery-locks` locks
 * of its own loses its session (closed: ZooKeeper deletes every ephemeral znode of it in one
 * transaction, as at an expiry, without waiting out the timeout) while another node waits in the
 * queues of `--recovery-waiters` of those objects and asks for all the others: the time until that
 * node holds every one of them, and how fast the waiters were woken.
 *
 * How many locks one session may hold is bounded by that transaction: a CloseSessionTxn lists the
 * path of every ephemeral znode of the session, and a stock follower refuses a transaction over
 * `jute.maxbuffer` + `jute.maxbuffer.extrasize` (2 × 1 MiB): the followers drop out, the ensemble
 * loses its quorum and the znodes stay (ZOOKEEPER-4306; measured here: 25,000 ephemerals of ~110 B
 * in one session, `IOException: Unreasonable length = 2788938` on both followers, and a session of
 * 100,000 locks took the whole ensemble down). So the sessions standing for nodes hold at most
 * 10,000 locks each, and the recovery refuses to close a session whose transaction would not fit.
 *
 *   npm run bench:capacity -- [--steps 10000,100000,300000] [--max-heap 512m] [--cycle-ms 5000]
 *     [--recovery-locks 15000] [--recovery-waiters 2000]
 *
 * It goes as far as memory allows: a step is not started when the heap measured so far, per lock,
 * says it would not fit in 90% of `--max-heap`, and a step that fails stops the run. Either way the
 * table of the steps done is printed, with why it stopped; the exit code is 1 when a step failed.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { Client } from 'node-zookeeper-client';
import { pino } from 'pino';
import { forEachBounded } from '@highlander/kit';
import { ZooKeeperCoordinator, type LockHandle } from '@highlander/runtime';
import { Keyspace, allBuckets, ensureBucket } from '@highlander/runtime/zookeeper';
import { LiveClusterModel } from '@highlander/admin-api';
import { fourLetterWord } from '../scripts/servers/four-letter-word.js';
import { startZooKeeper, type ZooKeeperCluster, type ZooKeeperServer } from '../scripts/servers/zookeeper.js';
import { alternate, closedLoop } from './closed-loop.js';
import { bareLockAcquire, call, connectRawZooKeeper } from './raw-zookeeper.js';
import { residentMemory } from './proc-stats.js';
import { formatNumber, formatRatio, formatSeconds } from './stats.js';

const ZKCLI = '/usr/share/zookeeper/bin/zkCli.sh';
const ZKCLI_TIMEOUT_MS = 60_000;
const ROOT = '/capacity';
const TYPE = 'doc';
const CYCLE_TYPE = 'cycle';
/**
 * Locks each session standing for a node holds at most. A session's close or expiry is one
 * CloseSessionTxn naming every ephemeral znode of it; a stock follower refuses a transaction over
 * jute.maxbuffer plus its default extra size (2 × 1 MiB), and the ensemble then loses its quorum
 * (ZOOKEEPER-4306). The runtime's lock paths here are ~115 bytes: 10,000 make ~1.1 MiB.
 */
const LOCKS_PER_SESSION = 10_000;
/** What a follower reads at most (`jute.maxbuffer` + `jute.maxbuffer.extrasize`, stock), less a margin for the packet's header. */
const CLOSE_SESSION_TXN_LIMIT = 2 * 1_048_575 - 4096;
/** Acquisitions in flight while loading a step (the admin API's scan uses the same). */
const LOAD_IN_FLIGHT = 256;
const SESSION_TIMEOUT_MS = 10_000;
/** Generous: a request queued behind 256 others on a loaded 2-core box. */
const REQUEST_TIMEOUT_MS = 60_000;
/** A step is not started when the heap it would need passes this share of the maximum heap. */
const HEAP_HEADROOM = 0.9;
const PACER_DATA = Buffer.from('x');
const USAGE = 'usage: npm run bench:capacity -- [--steps N,N,…] [--max-heap 512m] [--cycle-ms N] [--warmup-ms N] [--recovery-locks N] [--recovery-waiters N]';

let parsed;
try {
  parsed = parseArgs({
    options: {
      steps: { type: 'string', default: '10000,100000,300000' },
      'max-heap': { type: 'string', default: '512m' },
      'cycle-ms': { type: 'string', default: '5000' },
      'warmup-ms': { type: 'string', default: '1000' },
      'recovery-locks': { type: 'string', default: '15000' },
      'recovery-waiters': { type: 'string', default: '2000' },
      help: { type: 'boolean', short: 'h' },
    },
  });
} catch (err) {
  console.error(`bench:capacity: ${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
const { values } = parsed;
if (values.help === true) {
  console.log(USAGE);
  process.exit(0);
}

function positiveInteger(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bench:capacity: --${name} must be a positive integer (got '${value}')\n${USAGE}`);
    process.exit(2);
  }
  return n;
}

const steps = values.steps.split(',').map((s) => positiveInteger('steps', s.trim()));
if (steps.some((n, i) => i > 0 && n <= steps[i - 1]!)) {
  console.error(`bench:capacity: --steps must increase (got ${values.steps})`);
  process.exit(2);
}
const maxHeap = values['max-heap'];
const maxHeapBytes = heapBytes(maxHeap);
const cycleMs = positiveInteger('cycle-ms', values['cycle-ms']);
const warmupMs = positiveInteger('warmup-ms', values['warmup-ms']);
const recoveryLocks = positiveInteger('recovery-locks', values['recovery-locks']);
const recoveryWaiters = positiveInteger('recovery-waiters', values['recovery-waiters']);
if (recoveryWaiters > recoveryLocks) {
  console.error('bench:capacity: --recovery-waiters cannot exceed --recovery-locks');
  process.exit(2);
}

interface StepRow {
  locks: number;
  loadMs: number;
  znodes: number;
  heapUsedBytes: number;
  rssBytes: number;
  snapshotBytes: number | null;
  cycles64: { figure: number; baseline: number };
  cycles256: { figure: number; baseline: number };
  reconcileMs: number;
  reconciledObjects: number;
  largestBucket: { path: string; children: number; replyBytes: number };
  javaClient: { listed: boolean; children: number | null; ms: number; error?: string };
}

interface RecoveryResult {
  locks: number;
  waiters: number;
  waitersAllMs: number;
  waitersFirstMs: number;
  waitersP50Ms: number;
  allMs: number;
  releaseMs: number;
}

const log = (message: string) => console.log(message);
const silentLogger = pino({ level: 'silent' });
const rows: StepRow[] = [];
let recovery: RecoveryResult | undefined;
let stopReason = 'every step requested was run';
let failed = false;

let ensemble: ZooKeeperCluster | undefined;
const coordinators: ZooKeeperCoordinator[] = [];
let raw: Client | undefined;

async function cleanUp(): Promise<void> {
  raw?.close();
  // The ensemble first: closing sessions that hold many locks is the recovery's business, not the cleanup's.
  await ensemble?.stop();
  await Promise.allSettled(coordinators.map((c) => c.stop()));
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\nbench:capacity: ${signal}, stopping…`);
    cleanUp().finally(() => process.exit(130));
  });
}

const startedMs = performance.now();
log(`Highlander registry capacity — node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown cpu'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB`);
log(`Steps ${steps.map(formatNumber).join(', ')} held locks; ZooKeeper: 3 servers on loopback, stock settings, -Xmx${maxHeap} each.`);
try {
  if (!existsSync(ZKCLI)) throw new Error(`${ZKCLI} is missing (Debian's zookeeper package)`);
  ensemble = await startZooKeeper({ servers: 3, maxHeap });
  const zk = ensemble;
  log(`Ensemble up: ${zk.connectString} (leader: server ${(await zk.leader()).id})`);
  raw = await connectRawZooKeeper(zk.connectString);
  const bare = raw;
  const keyspace = new Keyspace(ROOT);
  const holderCount = Math.max(4, Math.ceil(steps.at(-1)! / LOCKS_PER_SESSION));
  const holders = await Promise.all(Array.from({ length: holderCount }, (_, i) => startCoordinator(zk, `holder-${i}`)));
  log(`${holderCount} sessions stand for the nodes holding the locks (at most ${formatNumber(LOCKS_PER_SESSION)} each)`);
  const cycler = await startCoordinator(zk, 'cycler');
  // Every bucket of both types exists, as on a cluster in use: no step pays for making them.
  const bucketsStarted = performance.now();
  await forEachBounded([TYPE, CYCLE_TYPE].flatMap((type) => allBuckets().map((bucket) => ({ type, bucket }))), LOAD_IN_FLIGHT, ({ type, bucket }) => ensureBucket(cycler.session, keyspace, type, bucket));
  log(`The ${allBuckets().length * 2} buckets of types ${TYPE} and ${CYCLE_TYPE} made in ${formatSeconds(performance.now() - bucketsStarted)}\n`);
  await call<string>((cb) => bare.mkdirp(`${ROOT}-baseline`, cb));
  await call<string>((cb) => bare.mkdirp(`${ROOT}-pacer`, cb));
  const held: LockHandle[] = [];
  let cycleIds = 0;
  let baselineIds = 0;

  for (const [stepIndex, locks] of steps.entries()) {
    const previous = rows.at(-1);
    if (previous) {
      const perLock = previous.heapUsedBytes / previous.locks;
      const projected = previous.heapUsedBytes + (locks - previous.locks) * perLock;
      if (projected > HEAP_HEADROOM * maxHeapBytes) {
        stopReason = `stopped before ${formatNumber(locks)}: at ${formatNumber(previous.locks)} locks ZooKeeper's heap held ${mib(previous.heapUsedBytes)} after a full GC (${formatNumber(perLock)} B per lock, both znodes), so ${formatNumber(locks)} would need ~${mib(projected)}, over ${HEAP_HEADROOM * 100}% of -Xmx${maxHeap}`;
        log(`\n${stopReason}`);
        break;
      }
    }
    log(`[step ${stepIndex + 1}/${steps.length}] ${formatNumber(locks)} held locks`);
    try {
      // Bring the held locks to N with the real recipe.
      const loadStarted = performance.now();
      const toAcquire = locks - held.length;
      const first = held.length;
      let done = 0;
      await forEachBounded(range(toAcquire), LOAD_IN_FLIGHT, async (_, i) => {
        const holder = holders[(first + i) % holderCount]!;
        const id = randomUUID();
        const result = await holder.acquire(TYPE, id, { wait: false, timeoutMs: REQUEST_TIMEOUT_MS });
        if (!result.acquired) throw new Error(`${TYPE}/${id} is held by ${result.owner} (a fresh id)`);
        held.push(result.lock);
        if (++done % 100_000 === 0) log(`    … ${formatNumber(held.length)} held (${formatNumber((done * 1000) / (performance.now() - loadStarted))} acquisitions/s)`);
      });
      const loadMs = performance.now() - loadStarted;
      log(`  load: ${formatNumber(toAcquire)} acquisitions in ${formatSeconds(loadMs)} (${formatNumber((toAcquire * 1000) / loadMs)}/s, ${LOAD_IN_FLIGHT} in flight over ${holderCount} sessions)`);
      const loadedZxid = await currentZxid(zk.servers[0]!);

      // Acquire+release cycles on fresh ids against the same ZooKeeper work on a bare client.
      const cycle = async () => {
        const result = await cycler.acquire(CYCLE_TYPE, `c${cycleIds++}`, { wait: false, timeoutMs: REQUEST_TIMEOUT_MS });
        if (!result.acquired) throw new Error(`fresh cycle id held by ${result.owner}`);
        await result.lock.release();
      };
      const bareCycle = () => bareLockCycle(bare, `${ROOT}-baseline/b${baselineIds++}`);
      const rate = async (operation: () => Promise<void>, concurrency: number) => {
        await closedLoop(operation, { concurrency, durationMs: warmupMs });
        return (await closedLoop(operation, { concurrency, durationMs: cycleMs })).rate;
      };
      const cycles64 = await alternate(stepIndex, () => rate(cycle, 64), () => rate(bareCycle, 64));
      const cycles256 = await alternate(stepIndex + 1, () => rate(cycle, 256), () => rate(bareCycle, 256));
      log(`  cycles/s: 64 in flight ${formatNumber(cycles64.figure)} (bare ${formatNumber(cycles64.baseline)}, ${formatRatio(cycles64.figure / cycles64.baseline)}); 256 in flight ${formatNumber(cycles256.figure)} (bare ${formatNumber(cycles256.baseline)}, ${formatRatio(cycles256.figure / cycles256.baseline)})`);

      // The admin API's full reconciliation.
      const reconcileStarted = performance.now();
      const model = await LiveClusterModel.start({ connect: zk.connectString, root: ROOT, reconcileIntervalMs: 3_600_000, logger: silentLogger });
      const reconcileMs = performance.now() - reconcileStarted;
      const reconciledObjects = model.summary().objects;
      await model.stop();
      log(`  full reconciliation by a fresh LiveClusterModel: ${formatSeconds(reconcileMs)}, ${formatNumber(reconciledObjects)} objects`);
      if (reconciledObjects !== held.length) throw new Error(`the model held ${reconciledObjects} objects, not ${held.length}`);

      // The fullest bucket, and ZooKeeper's Java client on it.
      const largestBucket = await fullestBucket(bare, keyspace);
      const javaClient = await zkCliLs(zk.servers[0]!.clientPort, largestBucket.path);
      log(`  fullest bucket ${largestBucket.path}: ${count(largestBucket.children)} children, ${count(largestBucket.replyBytes)} B reply; zkCli.sh ls: ${javaClient.listed ? `listed ${javaClient.children} names` : `FAILED (${javaClient.error})`} in ${formatSeconds(javaClient.ms)}`);

      // A snapshot written after the load, and the memory it all takes.
      const snapshotBytes = await snapshotAfter(zk, bare, loadedZxid);
      const servers = await Promise.all(zk.servers.map((server) => serverMemory(server)));
      const heapUsedBytes = Math.max(...servers.map((s) => s.heapUsedBytes));
      const rssBytes = Math.max(...servers.map((s) => s.rssBytes));
      const znodes = await znodeCount(zk.servers[0]!);
      log(`  ZooKeeper: ${formatNumber(znodes)} znodes; heap used after a full GC ${servers.map((s) => mib(s.heapUsedBytes)).join(' / ')}, RSS ${servers.map((s) => mib(s.rssBytes)).join(' / ')} (servers 1/2/3); snapshot ${snapshotBytes === null ? 'none' : mib(snapshotBytes)}`);

      rows.push({ locks, loadMs, znodes, heapUsedBytes, rssBytes, snapshotBytes, cycles64, cycles256, reconcileMs, reconciledObjects, largestBucket, javaClient });

      if (recovery === undefined && locks >= recoveryLocks) {
        recovery = await measureRecovery(zk, keyspace);
      }
    } catch (err) {
      failed = true;
      stopReason = `step ${formatNumber(locks)} failed: ${(err as Error)?.stack ?? String(err)}`;
      log(`\n${stopReason}`);
      const modes = await Promise.all(zk.servers.map(async (s) => `server ${s.id}: ${await s.mode()}`));
      log(`  ensemble after the failure: ${modes.join(', ')}`);
      // The logs go with the ensemble's temporary directory: keep what says why here.
      for (const server of zk.servers) {
        // Quorum and server-state lines only: the connection noise of clients being turned away says nothing.
        const lines = (await readFile(server.logFile, 'utf8').catch(() => '')).split('\n')
          .filter((line) => / (WARN|ERROR) |Exception|OutOfMemory/.test(line) && !/NIOServerCnxn|old client|not running|maxCnxns|Connection refused/.test(line));
        log(`  server ${server.id}'s log, first and last of its ${lines.length} quorum warnings and errors:`);
        for (const line of [...new Set([...lines.slice(0, 5), ...lines.slice(-15)])]) log(`    ${line.slice(0, 300)}`);
      }
      break;
    }
    log('');
  }
  if (recovery === undefined && !failed) log(`(no recovery measurement: no step reached ${formatNumber(recoveryLocks)} locks)`);
} catch (err) {
  failed = true;
  stopReason = `failed: ${(err as Error)?.stack ?? String(err)}`;
  log(`\n${stopReason}`);
} finally {
  log('Stopping the ensemble…');
  await cleanUp();
}

log(`\nDone in ${formatSeconds(performance.now() - startedMs)}: ${stopReason.split('\n')[0]}\n`);
log('| held locks | znodes | ZK heap used (after GC) / RSS | snapshot | cycles/s, 64 in flight (vs bare) | cycles/s, 256 in flight (vs bare) | full reconciliation | fullest bucket | zkCli.sh ls |');
log('|---|---|---|---|---|---|---|---|---|');
for (const row of rows) {
  log(`| ${formatNumber(row.locks)} | ${formatNumber(row.znodes)} | ${mib(row.heapUsedBytes)} / ${mib(row.rssBytes)} | ${row.snapshotBytes === null ? '—' : mib(row.snapshotBytes)} `
    + `| ${formatNumber(row.cycles64.figure)} (${formatRatio(row.cycles64.figure / row.cycles64.baseline)}) | ${formatNumber(row.cycles256.figure)} (${formatRatio(row.cycles256.figure / row.cycles256.baseline)}) `
    + `| ${formatSeconds(row.reconcileMs)} | ${count(row.largestBucket.children)} children, ${(row.largestBucket.replyBytes / 1024).toFixed(1)} KiB | ${row.javaClient.listed ? 'OK' : 'FAILED'} |`);
}
if (recovery) {
  log(`\nRecovery: a node holding ${formatNumber(recovery.locks)} locks loses its session; another node waits in ${formatNumber(recovery.waiters)} of those queues and asks for the rest.`);
  const wakeMs = recovery.waitersAllMs - recovery.waitersFirstMs;
  log(`- the first waiter holds its lock ${formatSeconds(recovery.waitersFirstMs)} after the session was closed, every waiter after ${formatSeconds(recovery.waitersAllMs)} (p50 ${formatSeconds(recovery.waitersP50Ms)})`);
  log(`- waiters woken at ${formatNumber((recovery.waiters * 1000) / Math.max(wakeMs, 1))}/s from the first to the last (each waiter watches only its predecessor: one watch fires per object, and each woken waiter makes one getChildren and one exists)`);
  log(`- every one of the ${formatNumber(recovery.locks)} objects is held by the other node after ${formatSeconds(recovery.allMs)} (${formatNumber((recovery.locks * 1000) / recovery.allMs)} objects/s); releasing them took ${formatSeconds(recovery.releaseMs)}`);
}
process.exit(failed ? 1 : 0);

async function startCoordinator(zk: ZooKeeperCluster, name: string): Promise<ZooKeeperCoordinator> {
  const coordinator = new ZooKeeperCoordinator({ connect: zk.connectString, root: ROOT, sessionTimeoutMs: SESSION_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS });
  coordinators.push(coordinator);
  // Loopback port 1: nothing listens there, so the admin API's event-stream connections are refused at once.
  await coordinator.start({ name, address: 'ws://127.0.0.1:1', pid: process.pid, startedAt: Date.now(), activations: 0, draining: false });
  return coordinator;
}

/**
 * A node holding `recoveryLocks` locks loses its session while another waits in `recoveryWaiters`
 * queues and asks for every other object (waiting in its queue too, so no retries): the time until
 * that other node holds every one, and the waiters' wake-ups. The other node releases them after.
 */
async function measureRecovery(zk: ZooKeeperCluster, keyspace: Keyspace): Promise<RecoveryResult> {
  log(`  recovery: a node takes ${formatNumber(recoveryLocks)} more locks…`);
  const victim = await startCoordinator(zk, 'victim');
  const rescuer = await startCoordinator(zk, 'rescuer');
  const ids = Array.from({ length: recoveryLocks }, () => randomUUID());
  const loadStarted = performance.now();
  let closeTxnBytes = 0;
  await forEachBounded(ids, LOAD_IN_FLIGHT, async (id) => {
    const result = await victim.acquire(TYPE, id, { wait: false, timeoutMs: REQUEST_TIMEOUT_MS });
    if (!result.acquired) throw new Error(`${TYPE}/${id} is held by ${result.owner} (a fresh id)`);
    closeTxnBytes += 4 + Buffer.byteLength(result.lock.path);
  });
  // Its CloseSessionTxn lists every lock path: past what a stock follower reads, closing it would take the ensemble down.
  if (closeTxnBytes > CLOSE_SESSION_TXN_LIMIT) {
    throw new Error(`a session holding ${formatNumber(recoveryLocks)} locks makes a ${formatNumber(closeTxnBytes)} B CloseSessionTxn, over the ${formatNumber(CLOSE_SESSION_TXN_LIMIT)} B a stock follower reads: its close or expiry would cost the ensemble its quorum (ZOOKEEPER-4306); not closing it`);
  }
  log(`    its CloseSessionTxn will list ${formatNumber(closeTxnBytes)} B of lock paths (a stock follower reads ${formatNumber(CLOSE_SESSION_TXN_LIMIT)} B at most)`);
  log(`    taken in ${formatSeconds(performance.now() - loadStarted)}; ${formatNumber(recoveryWaiters)} waiters queue behind it…`);
  let queued = 0;
  let closedAt = 0;
  const wokenAt: number[] = [];
  const handles: LockHandle[] = [];
  const waiters = ids.slice(0, recoveryWaiters).map((id) => rescuer.acquire(TYPE, id, { wait: true, timeoutMs: 600_000, onQueued: () => queued++ }).then((result) => {
    if (!result.acquired) throw new Error(`waiter for ${TYPE}/${id} gave up (owner ${result.owner})`);
    wokenAt.push(performance.now() - closedAt);
    handles.push(result.lock);
  }));
  waiters.forEach((w) => w.catch(() => {})); // awaited below
  const queuedBy = performance.now() + 120_000;
  while (queued < recoveryWaiters) {
    if (performance.now() > queuedBy) throw new Error(`only ${queued} of ${recoveryWaiters} waiters queued within 120 s`);
    await sleep(50);
  }
  if (wokenAt.length > 0) throw new Error('a waiter got its lock before the holder lost its session');
  const owner = await victim.session.getChildren(keyspace.lockParent(TYPE, ids[0]!));
  if (owner.length !== 2) throw new Error(`expected the holder and one waiter in ${TYPE}/${ids[0]}'s queue, found ${owner.length}`);

  log(`    the holder's session is closed now (ZooKeeper deletes its ${formatNumber(recoveryLocks)} lock znodes in one transaction)`);
  closedAt = performance.now();
  victim.session.close();
  // Everyone else asks for its object and waits in its queue (behind the dead lock, until it is deleted).
  const others = forEachBounded(ids.slice(recoveryWaiters), LOAD_IN_FLIGHT, async (id) => {
    const result = await rescuer.acquire(TYPE, id, { wait: true, timeoutMs: 600_000 });
    if (!result.acquired) throw new Error(`${TYPE}/${id} not acquired after the holder's session was closed (owner ${result.owner})`);
    handles.push(result.lock);
  });
  await Promise.all(waiters);
  const waitersAllMs = performance.now() - closedAt;
  await others;
  const allMs = performance.now() - closedAt;
  const sorted = [...wokenAt].sort((a, b) => a - b);
  const waitersP50Ms = sorted[Math.floor(sorted.length / 2)]!;
  log(`    waiters: all ${formatNumber(recoveryWaiters)} hold their lock after ${formatSeconds(waitersAllMs)} (first ${formatSeconds(sorted[0]!)}, p50 ${formatSeconds(waitersP50Ms)}); all ${formatNumber(recoveryLocks)} objects held elsewhere after ${formatSeconds(allMs)}`);
  const releaseStarted = performance.now();
  await forEachBounded(handles, LOAD_IN_FLIGHT, (lock) => lock.release());
  const releaseMs = performance.now() - releaseStarted;
  await rescuer.stop();
  await victim.stop().catch(() => {}); // its session is closed already
  return { locks: recoveryLocks, waiters: recoveryWaiters, waitersAllMs, waitersFirstMs: sorted[0]!, waitersP50Ms, allMs, releaseMs };
}

/** The recipe's ZooKeeper work on a bare client: multi(create parent, create lock) + getChildren + exists + multi(delete lock, delete parent). */
async function bareLockCycle(client: Client, parent: string): Promise<void> {
  const lock = await bareLockAcquire(client, parent);
  await call<unknown>((cb) => client.transaction().remove(lock, -1).remove(parent, -1).commit(cb));
}

/** The bucket of TYPE with the most children (lock parents), and the size of its getChildren reply. */
async function fullestBucket(client: Client, keyspace: Keyspace): Promise<{ path: string; children: number; replyBytes: number }> {
  const buckets = await call<string[]>((cb) => client.getChildren(keyspace.typePath(TYPE), cb));
  let best = { path: '', children: -1, replyBytes: 0 };
  await forEachBounded(buckets, LOAD_IN_FLIGHT, async (bucket) => {
    const path = keyspace.bucketPath(TYPE, bucket);
    const children = await call<string[]>((cb) => client.getChildren(path, cb));
    if (children.length > best.children) {
      // A reply: header and list length (20 B), then 4 B of length and the bytes of each name.
      best = { path, children: children.length, replyBytes: 20 + children.reduce((sum, name) => sum + 4 + Buffer.byteLength(name), 0) };
    }
  });
  return best;
}

/** `zkCli.sh -server 127.0.0.1:<port> ls <path>`: listed when it printed the `[a, b, …]` line with every name. */
async function zkCliLs(port: number, path: string): Promise<{ listed: boolean; children: number | null; ms: number; error?: string }> {
  const started = performance.now();
  const { output, exitCode } = await new Promise<{ output: string; exitCode: number | null }>((resolve, reject) => {
    const child = spawn(ZKCLI, ['-server', `127.0.0.1:${port}`, 'ls', path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ output: `${text}\n(no answer within ${ZKCLI_TIMEOUT_MS} ms)`, exitCode: null });
    }, ZKCLI_TIMEOUT_MS);
    const collect = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      // A reply it cannot read makes it reconnect forever: stop it there.
      if (/KeeperErrorCode = ConnectionLoss|Packet len\s*\d+ is out of range/.test(text)) child.kill('SIGKILL');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ output: text, exitCode: code });
    });
  });
  const ms = performance.now() - started;
  const line = output.split('\n').find((l) => /^\[.*\]$/.test(l.trim()));
  if (exitCode !== 0 || line === undefined) {
    const error = /Packet len\s*\d+ is out of range|KeeperErrorCode = \w+|no answer within \d+ ms/.exec(output)?.[0] ?? `exit code ${exitCode}`;
    return { listed: false, children: null, ms, error };
  }
  const inner = line.trim().slice(1, -1);
  return { listed: true, children: inner === '' ? 0 : inner.split(', ').length, ms };
}

/**
 * The size of each server's newest snapshot taken after `afterZxid` (the largest of the three).
 * While a server has none, setData transactions are written (256 in flight) until it takes one:
 * ZooKeeper snapshots after a random 50–100% of `snapCount` (100,000) transactions.
 */
async function snapshotAfter(zk: ZooKeeperCluster, client: Client, afterZxid: bigint): Promise<number | null> {
  const pacer = `${ROOT}-pacer`;
  const deadline = performance.now() + 300_000;
  let written = 0;
  for (;;) {
    const sizes = await Promise.all(zk.servers.map((server) => newestSnapshot(server.dataDir, afterZxid)));
    if (sizes.every((size) => size !== null)) {
      if (written > 0) log(`  (wrote ${formatNumber(written)} setData transactions for every server to take a snapshot after the load)`);
      return Math.max(...(sizes as number[]));
    }
    if (performance.now() > deadline) {
      log(`  no snapshot after the load on every server within 300 s (${formatNumber(written)} setData transactions written)`);
      return null;
    }
    await forEachBounded(range(10_000), LOAD_IN_FLIGHT, async () => {
      await call<unknown>((cb) => client.setData(pacer, PACER_DATA, -1, cb));
    });
    written += 10_000;
  }
}

/** The size of the newest `snapshot.<zxid>` in `dataDir/version-2` with a zxid past `afterZxid`, once its size is settled; null when none. */
async function newestSnapshot(dataDir: string, afterZxid: bigint): Promise<number | null> {
  const dir = join(dataDir, 'version-2');
  const files = (await readdir(dir)).filter((name) => /^snapshot\.[0-9a-f]+$/.test(name));
  const newest = files.map((name) => ({ name, zxid: BigInt(`0x${name.slice('snapshot.'.length)}`) })).sort((a, b) => (a.zxid < b.zxid ? 1 : -1))[0];
  if (!newest || newest.zxid <= afterZxid) return null;
  // Written in the background: wait until its size stops changing.
  let size = (await stat(join(dir, newest.name))).size;
  for (;;) {
    await sleep(500);
    const now = (await stat(join(dir, newest.name))).size;
    if (now === size && now > 0) return now;
    size = now;
  }
}

/** The last zxid a server has seen (`srvr`). */
async function currentZxid(server: ZooKeeperServer): Promise<bigint> {
  const answer = await fourLetterWord(server.clientPort, 'srvr');
  const match = /^Zxid: (0x[0-9a-f]+)$/m.exec(answer);
  if (!match) throw new Error(`no Zxid in ZooKeeper's srvr answer: ${answer.slice(0, 200)}`);
  return BigInt(match[1]!);
}

async function znodeCount(server: ZooKeeperServer): Promise<number> {
  const answer = await fourLetterWord(server.clientPort, 'mntr');
  const match = /^zk_znode_count\s+(\d+)$/m.exec(answer);
  if (!match) throw new Error(`no zk_znode_count in ZooKeeper's mntr answer: ${answer.slice(0, 200)}`);
  return Number(match[1]);
}

/** Heap used right after a full GC (`jcmd GC.run`, then `GC.heap_info`: the serial collector's generations), and RSS. */
async function serverMemory(server: ZooKeeperServer): Promise<{ heapUsedBytes: number; rssBytes: number }> {
  await run('jcmd', [String(server.pid), 'GC.run']);
  const info = await run('jcmd', [String(server.pid), 'GC.heap_info']);
  const used = [...info.matchAll(/^\s*(?:def new generation|tenured generation)\s+total \d+K, used (\d+)K/gm)].map((m) => Number(m[1]) * 1024);
  if (used.length !== 2) throw new Error(`unexpected jcmd GC.heap_info answer from server ${server.id}: ${info.slice(0, 400)}`);
  const memory = await residentMemory(server.pid);
  if (!memory) throw new Error(`no /proc/${server.pid}/status for server ${server.id}`);
  return { heapUsedBytes: used[0]! + used[1]!, rssBytes: memory.rssBytes };
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${output.slice(0, 400)}`))));
  });
}


function range(n: number): number[] {
  return Array.from({ length: Math.max(0, n) }, (_, i) => i);
}

function heapBytes(value: string): number {
  const match = /^(\d+)([kmg])$/.exec(value);
  if (!match) {
    console.error(`bench:capacity: --max-heap must be like 512m or 2g (got '${value}')\n${USAGE}`);
    process.exit(2);
  }
  return Number(match[1]) * { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 }[match[2] as 'k' | 'm' | 'g'];
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(bytes < 100 * 2 ** 20 ? 1 : 0)} MiB`;
}

/** An integer count as `1,234` (formatNumber gives small numbers three significant digits). */
function count(value: number): string {
  return value.toLocaleString('en-US');
}
