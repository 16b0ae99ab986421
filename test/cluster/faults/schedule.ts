import { hold, timing } from '../../harness/timing.js';
import { expireSession, killZooKeeper, pauseOwner, restartOwner, stopStore } from './faults.js';
import type { FaultRecord } from './history.js';
import { cutOwnerPath, flapOwnerPath, isolateZooKeeperLeader } from './network-faults.js';
import type { NetContext } from './network-faults.js';
import { seededRandom } from './random.js';
import type { ScenarioContext } from './scenario.js';

/**
 * A randomized fault schedule: network faults (network-faults.ts) and process faults (faults.ts) drawn
 * one after another from a seeded generator, each followed by a wait for service to recover and a
 * random gap. The same seed draws the same faults in the same order (what they meet depends on the
 * run: which node owns the most objects, which server leads), so a failing run is replayed with
 * `HIGHLANDER_FAULT_SEED=<seed>`.
 */


/** The seed of this run: `HIGHLANDER_FAULT_SEED` when set (an unsigned 32-bit integer), else a fresh one. */
export function faultSeed(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.HIGHLANDER_FAULT_SEED;
  if (text === undefined || text === '') return Math.floor(Math.random() * 2 ** 32);
  const seed = Number(text);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
    throw new TypeError(`HIGHLANDER_FAULT_SEED must be an integer from 0 to 4294967295, got '${text}'`);
  }
  return seed;
}

type Ctx = NetContext & ScenarioContext;

interface Drawn {
  fault: FaultRecord;
  owned?: ReadonlyArray<{ type: string; id: string }>;
}

/** What the schedule draws from: every fault kind of the suite that leaves the cluster whole afterwards. */
export const SCHEDULE_FAULTS: ReadonlyArray<{ name: string; run(ctx: Ctx): Promise<Drawn> }> = [
  {
    name: 'partition owner ↔ ZooKeeper',
    run: (ctx) => cutOwnerPath(ctx, { path: 'zookeeper', rule: { mode: 'blackhole' }, holdMs: timing.sessionTimeoutMs, untilTakenOverMs: timing.failoverMs, blocking: false }),
  },
  { name: 'partition owner ↔ S3', run: (ctx) => cutOwnerPath(ctx, { path: 'store', rule: { mode: 'blackhole' }, holdMs: timing.faultScheduleCutMs, blocking: true }) },
  { name: 'partition owner ↔ peers', run: (ctx) => cutOwnerPath(ctx, { path: 'peers', rule: { mode: 'blackhole' }, holdMs: timing.faultScheduleCutMs, blocking: true }) },
  { name: 'replies lost owner ↔ ZooKeeper', run: (ctx) => cutOwnerPath(ctx, { path: 'zookeeper', rule: { mode: 'drop-replies' }, holdMs: timing.faultScheduleCutMs, blocking: true }) },
  { name: 'replies lost owner ↔ S3', run: (ctx) => cutOwnerPath(ctx, { path: 'store', rule: { mode: 'drop-replies' }, holdMs: timing.faultScheduleCutMs, blocking: true }) },
  { name: 'replies lost owner ↔ peers', run: (ctx) => cutOwnerPath(ctx, { path: 'peers', rule: { mode: 'drop-replies' }, holdMs: timing.faultScheduleCutMs, blocking: true }) },
  {
    name: 'ZooKeeper path stalled past the session',
    run: (ctx) => cutOwnerPath(ctx, { path: 'zookeeper', rule: { mode: 'stall' }, holdMs: timing.sessionTimeoutMs * 1.5, blocking: false, losesSession: true }),
  },
  {
    name: 'latency spike owner ↔ ZooKeeper',
    run: (ctx) => cutOwnerPath(ctx, { path: 'zookeeper', rule: { mode: 'delay', delayMs: timing.faultLatencySpikeMs }, holdMs: timing.faultScheduleCutMs, blocking: false }),
  },
  { name: 'flapping owner ↔ ZooKeeper', run: (ctx) => flapOwnerPath(ctx, 'zookeeper', timing.faultFlapPeriodMs, timing.faultFlapMs) },
  { name: 'flapping owner ↔ peers', run: (ctx) => flapOwnerPath(ctx, 'peers', timing.faultFlapPeriodMs, timing.faultFlapMs) },
  { name: 'ZooKeeper leader isolated', run: (ctx) => isolateZooKeeperLeader(ctx, { holdMs: timing.sessionTimeoutMs, untilTakenOverMs: timing.failoverMs }) },
  { name: 'kill -9 and restart owner', run: (ctx) => restartOwner(ctx) },
  { name: 'SIGSTOP owner past its session', run: (ctx) => pauseOwner(ctx, timing.failoverMs) },
  { name: 'forced session expiry', run: (ctx) => expireSession(ctx) },
  { name: 'kill -9 ZooKeeper leader', run: async (ctx) => killZooKeeper(ctx, 'leader', timing.faultScheduleZkDownMs) },
  { name: 'kill -9 ZooKeeper follower', run: async (ctx) => killZooKeeper(ctx, 'follower', timing.faultScheduleZkDownMs) },
  { name: 'S3 outage', run: async (ctx) => stopStore(ctx, timing.faultScheduleStoreOutageMs) },
];

export interface ScheduleOptions {
  seed: number;
  /** Draw this many faults… */
  faults?: number;
  /** …or draw until this much time has passed (the soak). */
  durationMs?: number;
  /** Called after each fault (the soak prints progress). */
  onFault?(index: number, name: string, recovered: boolean): void;
}

/** Runs the schedule inside a scenario's `inject`; returns the names drawn, in order. */
export async function runSchedule(ctx: Ctx, options: ScheduleOptions): Promise<string[]> {
  if ((options.faults === undefined) === (options.durationMs === undefined)) throw new TypeError('runSchedule: give faults or durationMs, not both');
  const random = seededRandom(options.seed);
  const until = options.durationMs === undefined ? Infinity : Date.now() + options.durationMs;
  const drawn: string[] = [];
  while (options.faults === undefined ? Date.now() < until : drawn.length < options.faults) {
    const entry = SCHEDULE_FAULTS[Math.floor(random() * SCHEDULE_FAULTS.length)]!;
    const gapMs = Math.round(timing.faultScheduleGapMs * (0.5 + random()));
    drawn.push(entry.name);
    const { fault, owned } = await entry.run(ctx);
    const recovered = await ctx.settle(fault, owned ?? []);
    options.onFault?.(drawn.length, entry.name, recovered);
    await hold(gapMs);
  }
  return drawn;
}
