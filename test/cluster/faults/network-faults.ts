import { vi } from 'vitest';
import type { LifecycleEvent } from '@highlander/runtime';
import type { FaultRule } from '../../../scripts/servers/fault-proxy.js';
import { hold, timing } from '../../harness/timing.js';
import type { LiveActivation } from './checker.js';
import { busiestOwner, describeOutcomes, probeUpdate, type FaultContext, type OwnerFault } from './faults.js';
import type { ObjectKind, Op } from './history.js';
import type { FaultNet, NetPath } from './network.js';

/**
 * Network fault injectors: each breaks one path of one node process (to ZooKeeper, to S3, to its
 * peers) through the scenario's FaultNet while every process keeps running, heals it (always, even
 * when something fails half-way), records the fault and returns what a test asserts on.
 */

export interface NetContext extends FaultContext {
  net: FaultNet;
}

const PATH_NAMES: Record<NetPath, string> = { zookeeper: 'ZooKeeper', store: 'S3', peers: 'its peers' };

function ruleText(rule: FaultRule): string {
  if (rule.mode === 'blackhole') return 'partition';
  if (rule.mode === 'drop-replies') return 'one-way loss (replies dropped)';
  if (rule.mode === 'drop-requests') return 'one-way loss (requests dropped)';
  if (rule.mode === 'delay') return `latency +${rule.delayMs} ms`;
  return rule.mode;
}

export interface PathFault extends OwnerFault {
  /** Objects of the victim that another node served, with a newer epoch, while the path was cut. */
  takenOver: LiveActivation[];
  /** Calls sent through the victim for its objects just before the path healed. */
  probes: Op[];
  /** The victim's `node.session-lost` after the fault (undefined if none came). */
  sessionLost: LifecycleEvent | undefined;
  /** Bytes the path's proxies threw away (one-way loss) while it was cut. */
  discardedBytes: number;
}

export interface CutOptions {
  path: NetPath;
  rule: FaultRule;
  /** The path stays cut at least this long. */
  holdMs: number;
  /**
   * Keep it cut (beyond holdMs, at most untilTakenOverMs) until every object the victim owned has
   * been served by another node with a newer epoch.
   */
  untilTakenOverMs?: number;
  /** Service cannot come back before the path heals (see FaultRecord.blocking). */
  blocking: boolean;
  /**
   * The fault is meant to end the victim's session: after healing, wait (at most eventMs) for its
   * `node.session-lost`. Otherwise only one already received is reported: waiting for an event that is
   * not coming cost every such fault eventMs. @default untilTakenOverMs !== undefined
   */
  losesSession?: boolean;
  /**
   * Before healing, send a read and an update through the victim for each object it owned; with
   * `'answered'`, wait for their answers (or their timeouts) before healing.
   */
  probe?: boolean | 'answered';
}

/** Breaks one path of the node owning the most objects (it stays in the workload's pool), then heals it. */
export async function cutOwnerPath(ctx: NetContext, options: CutOptions): Promise<PathFault> {
  return breakOwner(ctx, {
    ...options,
    name: `${ruleText(options.rule)}: owner ↔ ${PATH_NAMES[options.path]}`,
    apply: (victim) => ctx.net.cut(victim, options.path, options.rule),
    discarded: (victim) => ctx.net.stats(victim, options.path).discarded,
  });
}

/**
 * A partition of the ZooKeeper ensemble: its leader is cut off from the other servers, and with it the
 * node owning the most objects, which from then on reaches only that leader (not the other servers,
 * not its peers) but still S3 and its callers. The leader loses its quorum and stops serving; the
 * majority elects a new leader, the victim's session expires there and its objects move, while the
 * victim keeps running beside S3. The fault heals once the ensemble is whole again.
 */
export async function isolateZooKeeperLeader(ctx: NetContext, options: Pick<CutOptions, 'holdMs' | 'untilTakenOverMs' | 'probe'>): Promise<PathFault & { leader: number }> {
  const leader = await ctx.zookeeper.leader();
  const fault = await breakOwner(ctx, {
    ...options,
    blocking: false,
    name: `partition: ZooKeeper leader (server ${leader.id}) and the owner ↔ the rest`,
    apply: (victim) => {
      for (const server of ctx.zookeeper.servers) if (server !== leader) ctx.net.cutZooKeeperServer(victim, server.id);
      ctx.net.cut(victim, 'peers');
      ctx.zookeeper.isolate(leader.id);
    },
    // Calls through the victim would each wait out their timeout on this side of the partition; only probes go there.
    excludeVictim: true,
    heal: async () => {
      ctx.zookeeper.heal();
      await vi.waitFor(async () => {
        const modes = await Promise.all(ctx.zookeeper.servers.map((server) => server.mode()));
        if (modes.includes('down')) throw new Error(`ZooKeeper not whole again: ${modes.join(', ')}`);
      }, { timeout: timing.zkElectionMs, interval: timing.pollMs });
    },
    discarded: () => 0,
  });
  return { ...fault, leader: leader.id };
}

interface BreakOptions extends Omit<CutOptions, 'path' | 'rule'> {
  name: string;
  apply(victim: string): void;
  /** Take the victim out of the workload's pool while the fault lasts. @default false */
  excludeVictim?: boolean;
  /** After the net heals (ctx.net.heal() always runs first). */
  heal?(): Promise<void>;
  discarded(victim: string): number;
}

async function breakOwner(ctx: NetContext, options: BreakOptions): Promise<PathFault> {
  const { node: victim, owned } = await busiestOwner(ctx);
  if (options.excludeVictim) ctx.workload.exclude(victim);
  options.apply(victim.name);
  // In place from here on: whatever the victim sends on that path from now on meets the rule.
  const injectedAt = Date.now();
  const discardedBefore = options.discarded(victim.name);
  let takenOver: LiveActivation[] = [];
  const probeCalls: Array<Promise<Op>> = [];
  const asks: Array<Promise<Op>> = [];
  let healedAt: number;
  try {
    await hold(options.holdMs);
    if (options.untilTakenOverMs !== undefined) {
      // The workload's clients call objects at random, and a third of their calls go through the victim and wait
      // there: a read through another node for each object not taken over yet makes sure each one is asked for.
      const asking = new Set<string>();
      await vi.waitFor(() => {
        takenOver = takenOverSince(ctx, victim.name, owned, injectedAt);
        const pending = owned.filter((a) => !takenOver.includes(a));
        for (const a of pending) {
          const k = `${a.type}/${a.id}`;
          const others = ctx.cluster.nodes.filter((n) => n !== victim && n.running);
          const via = others[Math.floor(Math.random() * others.length)];
          if (asking.has(k) || !via) continue;
          asking.add(k);
          asks.push(ctx.workload.send('probe', via, a.type as ObjectKind, a.id, 'read').finally(() => asking.delete(k)));
        }
        if (pending.length > 0) throw new Error(`${pending.length} of ${victim.name}'s objects not taken over`);
      }, { timeout: options.untilTakenOverMs, interval: timing.pollMs }).catch(() => undefined);
    }
    if (options.probe) probeCalls.push(...probe(ctx, victim.name, owned));
    if (options.probe === 'answered') await Promise.all(probeCalls);
  } finally {
    ctx.net.heal();
    await options.heal?.();
    healedAt = Date.now();
    ctx.workload.include(victim);
  }
  const discardedBytes = options.discarded(victim.name) - discardedBefore;
  takenOver = takenOverSince(ctx, victim.name, owned, injectedAt);
  const isLoss = (e: LifecycleEvent) => e.kind === 'node.session-lost' && e.time >= injectedAt;
  const sessionLost = options.losesSession ?? options.untilTakenOverMs !== undefined
    ? await victim.waitForEvent(isLoss, ctx.eventMs).catch(() => undefined)
    : victim.events.find(isLoss);
  const probes = await Promise.all(probeCalls);
  await Promise.all(asks);
  const fault = ctx.history.fault({
    name: options.name,
    detail: `${victim.name}, ${owned.length} objects (${takenOver.length} taken over), ${((healedAt - injectedAt) / 1000).toFixed(1)} s`
      + `${sessionLost ? ', session lost' : ''}${probes.length > 0 ? `; probes through it: ${describeOutcomes(probes)}` : ''}`,
    injectedAt, healedAt, blocking: options.blocking,
  });
  return { fault, victim, owned, takenOver, probes, sessionLost, discardedBytes };
}

/** Flaps one path of the busiest owner: cut and restored every periodMs/2 for durationMs. */
export async function flapOwnerPath(ctx: NetContext, path: NetPath, periodMs: number, durationMs: number): Promise<OwnerFault> {
  const { node: victim, owned } = await busiestOwner(ctx);
  const injectedAt = Date.now();
  try {
    await ctx.net.flap(victim.name, path, { periodMs, durationMs, cut: 'blackhole' });
  } finally {
    ctx.net.heal();
  }
  const fault = ctx.history.fault({
    name: `flapping: owner ↔ ${PATH_NAMES[path]}`,
    detail: `${victim.name}, ${owned.length} objects, cut and restored every ${periodMs / 2} ms for ${(durationMs / 1000).toFixed(1)} s`,
    // A path that keeps coming back lets calls through between cuts; service is judged from the end.
    injectedAt, healedAt: Date.now(), blocking: true,
  });
  return { fault, victim, owned };
}

/** The victim's objects that another node served with a newer epoch, in a reply to a call made after `since`. */
export function takenOverSince(ctx: FaultContext, victim: string, owned: readonly LiveActivation[], since: number): LiveActivation[] {
  return owned.filter((a) => ctx.history.ops.some((op) =>
    op.outcome === 'ok' && op.invokedAt >= since && op.type === a.type && op.id === a.id && op.served !== undefined
    && op.served.node !== victim && BigInt(op.served.epoch) > BigInt(a.epoch)));
}

/** A read and an update through `via` for each object. */
function probe(ctx: FaultContext, via: string, objects: readonly LiveActivation[]): Array<Promise<Op>> {
  const node = ctx.cluster.nodes.find((n) => n.name === via)!;
  return objects.flatMap((a) => {
    const type = a.type as ObjectKind;
    return [ctx.workload.send('probe', node, type, a.id, 'read'), ctx.workload.send('probe', node, type, a.id, probeUpdate(type))];
  });
}
