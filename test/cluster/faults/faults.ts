import { vi } from 'vitest';
import type { Cluster, NodeProcess } from '../../../scripts/cluster.js';
import { fourLetterWord } from '../../../scripts/servers/four-letter-word.js';
import type { RadosgwServer } from '../../../scripts/servers/radosgw.js';
import type { ZooKeeperCluster, ZooKeeperServer } from '../../../scripts/servers/zookeeper.js';
import type { LifecycleEvent } from '@highlander/runtime';
import { stealAndClose } from '../../harness/session-expiry.js';
import { hold, timing } from '../../harness/timing.js';
import type { LiveActivation } from './checker.js';
import type { FaultRecord, History, ObjectKind, Op, OpName } from './history.js';
import type { Workload } from './workload.js';

/**
 * Fault injectors. Each one injects one fault into a running scenario, undoes it where there is
 * something to undo (always, even when it fails half-way), records it in the history and returns
 * what a test needs to assert that the fault really happened.
 */

export interface FaultContext {
  cluster: Cluster;
  zookeeper: ZooKeeperCluster;
  radosgw: RadosgwServer;
  workload: Workload;
  history: History;
  sessionTimeoutMs: number;
  /** How long to wait for a lifecycle event that must follow a fault. */
  eventMs: number;
}

export interface OwnerFault {
  fault: FaultRecord;
  victim: NodeProcess;
  /** The workload objects the victim owned when the fault was injected. */
  owned: LiveActivation[];
}

/** The node in the workload's pool that owns the most workload objects (ties: the first). */
export async function busiestOwner(ctx: FaultContext): Promise<{ node: NodeProcess; owned: LiveActivation[] }> {
  const wanted = new Set(ctx.workload.objects.map((o) => `${o.type}/${o.id}`));
  let best: { node: NodeProcess; owned: LiveActivation[] } | undefined;
  for (const node of ctx.workload.pool) {
    if (!node.running) continue;
    const owned = (await node.activations())
      .filter((a) => a.status === 'active' && wanted.has(`${a.type}/${a.id}`))
      .map((a) => ({ node: node.name, type: a.type, id: a.id, epoch: a.epoch, status: a.status }));
    if (!best || owned.length > best.owned.length) best = { node, owned };
  }
  if (!best) throw new Error('no running node in the workload pool');
  return best;
}

/** `kill -9` of the node owning the most objects; it stays dead. */
export async function killOwner(ctx: FaultContext): Promise<OwnerFault> {
  const { node, owned } = await busiestOwner(ctx);
  ctx.workload.exclude(node);
  const injectedAt = Date.now();
  node.kill('SIGKILL');
  await node.exited();
  const fault = ctx.history.fault({ name: 'kill -9 owner', detail: `${node.name}, ${owned.length} objects`, injectedAt, healedAt: injectedAt, blocking: false });
  return { fault, victim: node, owned };
}

/** `kill -9` of the node owning the most objects, then at once the same name again (it waits out its old session). */
export async function restartOwner(ctx: FaultContext): Promise<OwnerFault & { upAgain: LifecycleEvent }> {
  const { node, owned } = await busiestOwner(ctx);
  ctx.workload.exclude(node);
  const injectedAt = Date.now();
  node.kill('SIGKILL');
  await node.exited();
  await node.start();
  const healedAt = Date.now();
  ctx.workload.include(node);
  const upAgain = await node.waitForEvent((e) => e.kind === 'node.up' && e.time >= injectedAt, ctx.eventMs);
  const fault = ctx.history.fault({ name: 'restart under same name', detail: `${node.name} (kill -9, start), ${owned.length} objects`, injectedAt, healedAt, blocking: false });
  return { fault, victim: node, owned, upAgain };
}

export interface PauseFault extends OwnerFault {
  /** Objects of the zombie for which another node acknowledged a write with a newer epoch before it resumed. */
  takenOver: LiveActivation[];
  /** When the first of those acknowledged writes completed. */
  takeoverAckAt: number | null;
  /** Calls queued in the zombie's IPC channel while it was stopped: it reads them the moment it resumes. */
  probes: Op[];
  /** The zombie's `node.session-lost` after it resumed (undefined if it never came). */
  sessionLost: LifecycleEvent | undefined;
}

/**
 * SIGSTOP of the node owning the most objects, past its session timeout, until other nodes have
 * activated its objects and acknowledged writes on them (or `takeoverTimeoutMs` passed); then calls
 * for its objects are queued in its IPC channel and it gets SIGCONT. Those calls and every call
 * forwarded to it meet a zombie that has not yet learned its session is gone.
 */
export async function pauseOwner(ctx: FaultContext, takeoverTimeoutMs: number): Promise<PauseFault> {
  const { node: zombie, owned } = await busiestOwner(ctx);
  ctx.workload.exclude(zombie);
  const injectedAt = Date.now();
  zombie.kill('SIGSTOP');
  let takenOver: LiveActivation[] = [];
  let takeoverAckAt: number | null = null;
  const probeCalls: Array<Promise<Op>> = [];
  let healedAt: number;
  try {
    // Stopped past its session timeout, until every object it owned was taken over (at most takeoverTimeoutMs:
    // the scenario then goes on, and the test's assertions say what was not taken over).
    await vi.waitFor(() => {
      const acks = owned.map((a) => ctx.history.ops.find((op) =>
        op.outcome === 'ok' && op.name !== 'read' && op.type === a.type && op.id === a.id && op.served !== undefined
        && op.served.node !== zombie.name && BigInt(op.served.epoch) > BigInt(a.epoch)));
      takenOver = owned.filter((_, i) => acks[i] !== undefined);
      const times = acks.flatMap((op) => (op?.completedAt !== undefined ? [op.completedAt] : []));
      takeoverAckAt = times.length > 0 ? Math.min(...times) : null;
      if (Date.now() - injectedAt <= ctx.sessionTimeoutMs) throw new Error(`${zombie.name} is not past its session timeout yet`);
      if (takenOver.length < owned.length) throw new Error(`${owned.length - takenOver.length} of ${zombie.name}'s objects not taken over`);
    }, { timeout: takeoverTimeoutMs }).catch(() => undefined);
    for (const a of owned) {
      const type = a.type as ObjectKind;
      probeCalls.push(ctx.workload.send('probe', zombie, type, a.id, 'read'));
      probeCalls.push(ctx.workload.send('probe', zombie, type, a.id, probeUpdate(type)));
    }
  } finally {
    healedAt = Date.now();
    zombie.kill('SIGCONT');
  }
  const sessionLost = await zombie.waitForEvent((e) => e.kind === 'node.session-lost' && e.time >= injectedAt, ctx.eventMs).catch(() => undefined);
  ctx.workload.include(zombie);
  const probes = await Promise.all(probeCalls);
  const fault = ctx.history.fault({
    name: 'SIGSTOP owner',
    detail: `${zombie.name}, ${owned.length} objects (${takenOver.length} taken over), paused ${((healedAt - injectedAt) / 1000).toFixed(1)} s; probes through it: ${describeOutcomes(probes)}`,
    injectedAt, healedAt, blocking: false,
  });
  return { fault, victim: zombie, owned, takenOver, takeoverAckAt, probes, sessionLost };
}

/**
 * Forced session expiry of the node owning the most objects: a second client opens the victim's
 * session with its id and password, then closes it; the victim's next contact finds it expired.
 */
export async function expireSession(ctx: FaultContext): Promise<OwnerFault & { sessionLost: LifecycleEvent | undefined }> {
  const { node, owned } = await busiestOwner(ctx);
  const session = await node.command<{ sessionId: string; sessionPassword: string; timeoutMs: number }>('session');
  const injectedAt = Date.now();
  await stealAndClose(ctx.zookeeper.connectString, {
    sessionId: Buffer.from(session.sessionId, 'hex'), sessionPassword: Buffer.from(session.sessionPassword, 'hex'), timeoutMs: session.timeoutMs,
  });
  const sessionLost = await node.waitForEvent((e) => e.kind === 'node.session-lost' && e.time >= injectedAt, ctx.eventMs).catch(() => undefined);
  const fault = ctx.history.fault({ name: 'session expiry', detail: `${node.name}, ${owned.length} objects`, injectedAt, healedAt: injectedAt, blocking: false });
  return { fault, victim: node, owned, sessionLost };
}

/** The update a probe sends to an object of each kind. */
export function probeUpdate(type: ObjectKind): OpName {
  return type === 'tally' ? 'increment' : type === 'bag' ? 'add' : 'write';
}

/** `3 ok (node-b), 2 OWNERSHIP_LOST`: how a handful of calls ended. */
export function describeOutcomes(ops: readonly Op[]): string {
  const counts = new Map<string, number>();
  for (const op of ops) {
    const key = op.outcome === 'ok' ? `ok (${op.served?.node ?? '?'})` : op.error?.code ?? 'no answer';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, n]) => `${n} ${key}`).join(', ');
}

/** Client connections a ZooKeeper server holds (its `cons` answer), 0 when it does not answer. */
async function connectionCount(server: ZooKeeperServer): Promise<number> {
  try {
    const answer = await fourLetterWord(server.clientPort, 'cons');
    return answer.split('\n').filter((line) => /sid=0x/.test(line)).length;
  } catch {
    return 0; // not answering: no clients to lose there
  }
}

/** The follower most node processes are connected to. */
async function busiestFollower(zk: ZooKeeperCluster): Promise<ZooKeeperServer> {
  let best: { server: ZooKeeperServer; clients: number } | undefined;
  for (const server of zk.servers) {
    if ((await server.mode()) !== 'follower') continue;
    const clients = await connectionCount(server);
    if (!best || clients > best.clients) best = { server, clients };
  }
  if (!best) throw new Error('no ZooKeeper follower is serving');
  return best.server;
}

/**
 * How long the servers still up went without all serving clients after `since` (polling their `srvr`
 * mode), to tell ZooKeeper's own outage (an election) from the runtime's recovery. 0 when none of them
 * stopped serving within timing.faultElectionWindowMs; null when they were not all serving again within `timeoutMs`.
 */
async function ensembleOutage(zk: ZooKeeperCluster, down: readonly ZooKeeperServer[], since: number, timeoutMs: number): Promise<number | null> {
  const alive = zk.servers.filter((s) => !down.includes(s));
  let sawDown = false;
  return vi.waitFor(async () => {
    const modes = await Promise.all(alive.map((s) => s.mode()));
    const serving = modes.every((m) => m === 'leader' || m === 'follower');
    if (!serving) sawDown = true;
    if (serving && (sawDown || Date.now() - since > timing.faultElectionWindowMs)) return sawDown ? Date.now() - since : 0;
    throw new Error(serving ? 'serving, and the election window is still open' : 'not every server still up is serving');
  }, { timeout: Math.max(0, since + timeoutMs - Date.now()) }).catch(() => null);
}

const outageText = (ms: number | null) => (ms === null ? 'ensemble not serving again in time' : `ensemble serving again after ${(ms / 1000).toFixed(1)} s`);

async function pickServer(zk: ZooKeeperCluster, role: 'leader' | 'follower'): Promise<ZooKeeperServer> {
  return role === 'leader' ? zk.leader() : busiestFollower(zk);
}

/** `kill -9` of the ZooKeeper leader or of the follower with the most clients, started again after `downMs`. */
export async function killZooKeeper(ctx: FaultContext, role: 'leader' | 'follower', downMs: number): Promise<{ fault: FaultRecord; server: ZooKeeperServer }> {
  const server = await pickServer(ctx.zookeeper, role);
  const injectedAt = Date.now();
  server.kill('SIGKILL');
  const outage = ensembleOutage(ctx.zookeeper, [server], injectedAt, ctx.eventMs);
  try {
    await hold(downMs);
  } finally {
    await server.start();
  }
  const healedAt = Date.now();
  const fault = ctx.history.fault({
    name: `kill -9 ZooKeeper ${role}`, detail: `server ${server.id}, down ${(downMs / 1000).toFixed(1)} s; ${outageText(await outage)}`,
    injectedAt, healedAt, blocking: false,
  });
  return { fault, server };
}

/** Two of three ZooKeeper servers (the leader and a follower) down for `durationMs`, then started again. */
export async function loseQuorum(ctx: FaultContext, durationMs: number): Promise<{ fault: FaultRecord }> {
  const leader = await ctx.zookeeper.leader();
  const follower = await busiestFollower(ctx.zookeeper);
  const injectedAt = Date.now();
  leader.kill('SIGKILL');
  follower.kill('SIGKILL');
  let restartAt = Date.now();
  try {
    await hold(durationMs);
  } finally {
    restartAt = Date.now();
    // start() resolves once the server reports a mode: a quorum has formed again.
    await Promise.all([leader.start(), follower.start()]);
  }
  const healedAt = Date.now();
  const fault = ctx.history.fault({
    name: 'quorum loss',
    detail: `servers ${leader.id} and ${follower.id} down ${(durationMs / 1000).toFixed(0)} s; ensemble serving again ${((healedAt - restartAt) / 1000).toFixed(1)} s after the restart`,
    injectedAt, healedAt, blocking: true,
  });
  return { fault };
}

/** radosgw stopped for `durationMs`, then started again (S3 refuses every request meanwhile). */
export async function stopStore(ctx: FaultContext, durationMs: number): Promise<{ fault: FaultRecord }> {
  const injectedAt = Date.now();
  try {
    await ctx.radosgw.stopGateway();
    await hold(injectedAt + durationMs - Date.now());
  } finally {
    await ctx.radosgw.startGateway();
  }
  const fault = ctx.history.fault({ name: 'S3 outage', detail: `radosgw down ${(durationMs / 1000).toFixed(0)} s`, injectedAt, healedAt: Date.now(), blocking: true });
  return { fault };
}

export interface BurstFault {
  fault: FaultRecord;
  server: ZooKeeperServer;
  /** The first calls to fresh objects, sent through every node at once. */
  burst: Op[];
  /** Burst calls still unanswered when the server died: their activations were under way. */
  inFlightAtKill: number;
}

/**
 * Connection loss during lock creation: a burst of first calls to `count` fresh objects through every
 * node at once (each one makes nodes create lock znodes), and `killDelayMs` later a `kill -9` of a
 * ZooKeeper server (the leader: every client loses its connection with its requests in flight), started
 * again after `downMs`. The fresh objects then join the workload.
 */
export async function killZooKeeperDuringActivations(
  ctx: FaultContext,
  options: { role: 'leader' | 'follower'; label: string; count: number; killDelayMs: number; downMs: number },
): Promise<BurstFault> {
  const server = await pickServer(ctx.zookeeper, options.role);
  const fresh = Array.from({ length: options.count }, (_, i) => ({ type: (i % 2 === 0 ? 'tally' : 'bag') as ObjectKind, id: `${options.label}-${i}` }));
  const nodes = ctx.workload.pool.filter((n) => n.running);
  const calls = fresh.flatMap((o) => nodes.map((n) => ctx.workload.send('burst', n, o.type, o.id, o.type === 'tally' ? 'increment' : 'add')));
  await hold(options.killDelayMs);
  const injectedAt = Date.now();
  server.kill('SIGKILL');
  const outage = ensembleOutage(ctx.zookeeper, [server], injectedAt, ctx.eventMs);
  let burst: Op[];
  try {
    burst = await Promise.all(calls);
    ctx.workload.addObjects(fresh);
    await hold(injectedAt + options.downMs - Date.now());
  } finally {
    await server.start();
  }
  const healedAt = Date.now();
  const inFlightAtKill = burst.filter((op) => op.completedAt === undefined || op.completedAt > injectedAt).length;
  const fault = ctx.history.fault({
    name: `ZooKeeper ${options.role} killed during activations`,
    detail: `server ${server.id}; ${burst.length} first calls to ${fresh.length} fresh objects, ${inFlightAtKill} in flight at the kill; ${outageText(await outage)}`,
    injectedAt, healedAt, blocking: false,
  });
  return { fault, server, burst, inFlightAtKill };
}
