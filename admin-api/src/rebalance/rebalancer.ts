import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { roundMs } from '@highlander/kit';
import { CoordinatorUnavailable } from '@highlander/runtime';
import type { ZkSession } from '@highlander/runtime/zookeeper';
import { CreateMode, Exception, isZkCode } from '@highlander/runtime/zookeeper';
import type { AuditLog } from '../audit-log.js';
import type { Principal } from '../auth.js';
import type { ClusterModel, MigrateResult } from '../contracts.js';
import { describeError } from '../http-error.js';
import { assessBalance, objectKey, planMoves, type NodeBalance, type PlannedMove, type RebalancePolicy } from './plan.js';

/**
 * Automatic rebalancing: while enabled and not paused, the admin API that holds the rebalancing lock
 * moves objects from the fullest nodes to the emptiest with the owner-driven migration (the same as
 * `POST /api/objects/:type/:id/migrate`), at most `movesPerSecond` started and `concurrency` under way,
 * until every node is inside the band (plan.ts). Each move is audited (`rebalance.move`, by
 * `rebalancer`), as are pause and resume.
 *
 * Several admin APIs over one cluster: only the one holding the ephemeral znode `<root>/rebalancer`
 * in its ZooKeeper session moves objects; the others report its status as seen from their model,
 * and take over when its session ends. Pause is kept in ZooKeeper too (`<root>/rebalance-paused`,
 * persistent), so a pause through any admin API holds for the cluster and across restarts.
 */

export interface RebalanceOptions extends RebalancePolicy {
  /** Moves started per second, at most. */
  movesPerSecond: number;
  /** Moves under way at once, at most. */
  concurrency: number;
}

export interface RebalanceMove extends PlannedMove {
  /** Wall-clock ms when it started. */
  startedAt: number;
  state: 'in-flight' | 'done' | 'failed';
  durationMs?: number;
  /** Why it failed (its error code and message). */
  error?: string;
}

export interface RebalanceStatus {
  enabled: boolean;
  paused: boolean;
  /** Who paused it and when (wall-clock ms), while paused. */
  pausedBy?: { name: string; at: number };
  /** This admin API is the one that moves objects (it holds the rebalancing lock). */
  leader: boolean;
  balanced: boolean;
  /** Mean active objects of the nodes that may take objects, and how far from it a node may be. */
  mean: number;
  allowance: number;
  nodes: NodeBalance[];
  moves: { done: number; failed: number; inFlight: number; remaining: number };
  /** The latest moves of this admin API, newest first. */
  recent: RebalanceMove[];
  policy: RebalanceOptions;
}

/** Where the lock and the pause live: ZooKeeper, or (one process: an embedded cluster) memory. */
export interface RebalanceCoordination {
  /** Takes or confirms the lock; false while another holds it. */
  lead(): Promise<boolean>;
  paused(): Promise<{ name: string; at: number } | null>;
  setPaused(by: { name: string; at: number } | null): Promise<void>;
  /** Lets the lock go. */
  release(): Promise<void>;
}

export class MemoryCoordination implements RebalanceCoordination {
  #paused: { name: string; at: number } | null = null;
  lead(): Promise<boolean> {
    return Promise.resolve(true);
  }
  paused(): Promise<{ name: string; at: number } | null> {
    return Promise.resolve(this.#paused);
  }
  setPaused(by: { name: string; at: number } | null): Promise<void> {
    this.#paused = by;
    return Promise.resolve();
  }
  release(): Promise<void> {
    return Promise.resolve();
  }
}

export class ZooKeeperCoordination implements RebalanceCoordination {
  readonly #lockPath: string;
  readonly #pausePath: string;
  constructor(private readonly session: ZkSession, root: string) {
    this.#lockPath = `${root}/rebalancer`;
    this.#pausePath = `${root}/rebalance-paused`;
  }

  async lead(): Promise<boolean> {
    try {
      const { stat } = await this.session.getData(this.#lockPath);
      return Buffer.from(stat.ephemeralOwner).toString('hex') === this.session.sessionId;
    } catch (err) {
      if (!isZkCode(err, Exception.NO_NODE)) throw err;
    }
    try {
      await this.session.create(this.#lockPath, Buffer.from(JSON.stringify({ pid: process.pid, since: Date.now() })), CreateMode.EPHEMERAL);
      return true;
    } catch (err) {
      if (isZkCode(err, Exception.NODE_EXISTS) || isZkCode(err, Exception.NO_NODE)) return false; // another took it; or no cluster root yet
      throw err;
    }
  }

  async paused(): Promise<{ name: string; at: number } | null> {
    try {
      const { data } = await this.session.getData(this.#pausePath);
      const parsed = JSON.parse(data?.toString('utf8') ?? 'null') as { name?: unknown; at?: unknown } | null;
      return { name: typeof parsed?.name === 'string' ? parsed.name : 'unknown', at: typeof parsed?.at === 'number' ? parsed.at : 0 };
    } catch (err) {
      if (isZkCode(err, Exception.NO_NODE)) return null;
      throw err;
    }
  }

  async setPaused(by: { name: string; at: number } | null): Promise<void> {
    try {
      await this.#writePaused(by);
    } catch (err) {
      throw new CoordinatorUnavailable(by === null ? 'resuming rebalancing' : 'pausing rebalancing', err);
    }
  }

  async #writePaused(by: { name: string; at: number } | null): Promise<void> {
    if (by === null) {
      await this.session.remove(this.#pausePath).catch((err: unknown) => {
        if (!isZkCode(err, Exception.NO_NODE)) throw err;
      });
      return;
    }
    const data = Buffer.from(JSON.stringify(by));
    try {
      await this.session.create(this.#pausePath, data, CreateMode.PERSISTENT);
    } catch (err) {
      if (!isZkCode(err, Exception.NODE_EXISTS)) throw err;
      await this.session.setData(this.#pausePath, data);
    }
  }

  async release(): Promise<void> {
    if (!(await this.lead().catch(() => false))) return;
    await this.session.remove(this.#lockPath).catch(() => {
      // Gone with the session anyway.
    });
  }
}

export interface RebalancerOptions {
  model: ClusterModel;
  migrate(type: string, id: string, to: string): Promise<MigrateResult>;
  audit: AuditLog;
  coordination: RebalanceCoordination;
  policy: RebalanceOptions;
  logger: Logger;
  /** How often the lock and the pause are read again. @default 1000 */
  coordinationIntervalMs?: number;
}

/** Moves kept for the status. */
const RECENT_MOVES = 50;
/** A done move whose object the model still shows at its source counts as under way for this long at most. */
const MODEL_LAG_MS = 10_000;
const REBALANCER: Principal = { name: 'rebalancer', role: 'operator' };

export class Rebalancer {
  readonly #options: RebalancerOptions;
  readonly #policy: RebalanceOptions;
  readonly #lastMoved = new Map<string, number>();
  readonly #recent: RebalanceMove[] = [];
  readonly #inFlight = new Set<RebalanceMove>();
  /** Each move until it is answered and audited. */
  readonly #settling = new Set<Promise<void>>();
  #leader = false;
  #paused: { name: string; at: number } | null = null;
  #done = 0;
  #failed = 0;
  #ticker: NodeJS.Timeout | undefined;
  #coordinator: NodeJS.Timeout | undefined;
  #lastStart = 0;
  #stopped = false;
  #coordinating = false;
  /** As of the last coordination round: a change is news for the stream (a node joined while paused). */
  #balanced = true;
  #listeners = new Set<() => void>();

  private constructor(options: RebalancerOptions) {
    this.#options = options;
    this.#policy = options.policy;
  }

  /** Reads the lock and the pause once, then runs until `stop`. */
  static async start(options: RebalancerOptions): Promise<Rebalancer> {
    checkPolicy(options.policy);
    const rebalancer = new Rebalancer(options);
    await rebalancer.#coordinate();
    rebalancer.#coordinator = setInterval(() => void rebalancer.#coordinate(), options.coordinationIntervalMs ?? 1000);
    rebalancer.#ticker = setInterval(() => rebalancer.#tick(), Math.max(20, Math.floor(1000 / options.policy.movesPerSecond)));
    return rebalancer;
  }

  /** Stops starting moves, waits for those under way, lets the lock go. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#ticker);
    clearInterval(this.#coordinator);
    await Promise.all([...this.#settling]);
    await this.#options.coordination.release().catch(() => undefined);
  }

  /** Called after each change of the status (a move started or ended, paused, resumed, the lock or the balance changed). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  status(): RebalanceStatus {
    const balance = assessBalance(this.#options.model.nodes(), this.#pending(), this.#policy);
    return {
      enabled: true,
      paused: this.#paused !== null,
      ...(this.#paused ? { pausedBy: this.#paused } : {}),
      leader: this.#leader,
      balanced: balance.balanced,
      mean: roundMs(balance.mean),
      allowance: roundMs(balance.allowance),
      nodes: balance.nodes,
      moves: { done: this.#done, failed: this.#failed, inFlight: this.#inFlight.size, remaining: balance.remaining },
      recent: this.#recent.map((move) => ({ ...move })),
      policy: { ...this.#policy },
    };
  }

  async pause(by: Principal): Promise<RebalanceStatus> {
    const paused = { name: by.name, at: Date.now() };
    await this.#options.coordination.setPaused(paused);
    this.#paused = paused;
    this.#changed();
    return this.status();
  }

  async resume(): Promise<RebalanceStatus> {
    await this.#options.coordination.setPaused(null);
    this.#paused = null;
    this.#changed();
    return this.status();
  }

  async #coordinate(): Promise<void> {
    if (this.#coordinating || this.#stopped) return; // the previous round is still waiting for ZooKeeper; or stopping
    this.#coordinating = true;
    try {
      const [leader, paused] = [await this.#options.coordination.lead(), await this.#options.coordination.paused()];
      const balanced = assessBalance(this.#options.model.nodes(), this.#pending(), this.#policy).balanced;
      const changed = leader !== this.#leader || (paused === null) !== (this.#paused === null) || balanced !== this.#balanced;
      this.#leader = leader;
      this.#paused = paused;
      this.#balanced = balanced;
      if (changed) this.#changed();
    } catch (err) {
      // Not connected: start nothing until it is known again.
      if (this.#leader) this.#options.logger.warn({ err }, 'rebalancing: cannot confirm the lock; no move starts until it can');
      this.#leader = false;
    } finally {
      this.#coordinating = false;
    }
  }

  /** Moves in flight, and done ones the model does not show yet (their object still at its source). */
  #pending(): PlannedMove[] {
    const now = Date.now();
    const model = this.#options.model;
    const lagging = this.#recent.filter((m) => m.state === 'done' && now - m.startedAt < MODEL_LAG_MS + (m.durationMs ?? 0) && model.object(m.type, m.id)?.owner === m.from);
    return [...this.#inFlight, ...lagging].map(({ type, id, from, to }) => ({ type, id, from, to }));
  }

  #tick(): void {
    if (this.#stopped || !this.#leader || this.#paused || !this.#options.model.ready()) return;
    if (this.#inFlight.size >= this.#policy.concurrency) return;
    const now = Date.now();
    if (now - this.#lastStart < 1000 / this.#policy.movesPerSecond) return;
    for (const [key, at] of this.#lastMoved) if (now - at >= this.#policy.cooldownMs) this.#lastMoved.delete(key);
    const model = this.#options.model;
    const [move] = planMoves({
      nodes: model.nodes(),
      pending: this.#pending(),
      objectsOf: (node) => model.objects({ node, sort: 'callsPerSecond', order: 'asc', limit: 1000 }).items,
      lastMoved: this.#lastMoved,
      now,
      policy: this.#policy,
      limit: 1,
    });
    if (!move) return;
    this.#lastStart = now;
    this.#start(move, now);
  }

  #start(planned: PlannedMove, now: number): void {
    const started = performance.now();
    this.#lastMoved.set(objectKey(planned.type, planned.id), now);
    const move: RebalanceMove = { ...planned, startedAt: now, state: 'in-flight' };
    this.#recent.unshift(move);
    this.#recent.splice(RECENT_MOVES);
    this.#inFlight.add(move);
    this.#changed();
    const settled: Promise<void> = this.#options.migrate(planned.type, planned.id, planned.to).then(
      () => {
        move.state = 'done';
        this.#done++;
      },
      (err: unknown) => {
        const described = describeError(err);
        move.state = 'failed';
        move.error = `${described.code}: ${described.message}`;
        this.#failed++;
        return described;
      },
    ).then(async (failure) => {
      move.durationMs = roundMs(performance.now() - started);
      this.#inFlight.delete(move);
      this.#changed();
      await this.#options.audit.append({
        time: now, who: REBALANCER, action: 'rebalance.move', target: { type: planned.type, id: planned.id },
        params: { from: planned.from, to: planned.to }, result: failure ? 'error' : 'ok', durationMs: move.durationMs,
        clientAddress: 'admin-api', userAgent: null,
        ...(failure ? { error: { status: failure.status, code: failure.code, message: failure.message } } : {}),
      }).catch((err: unknown) => this.#options.logger.error({ err, move: planned }, 'audit log: could not record a rebalancing move'));
    });
    this.#settling.add(settled);
    void settled.finally(() => this.#settling.delete(settled));
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }
}

/** The policy's figures, checked (a bad one is a configuration error, said at start). */
export function checkPolicy(policy: RebalanceOptions): void {
  const positive = (name: keyof RebalanceOptions, integer: boolean, min: number) => {
    const value = policy[name];
    if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
      throw new TypeError(`rebalance.${name}: must be ${integer ? 'an integer' : 'a number'} ≥ ${min} (got ${value})`);
    }
  };
  positive('thresholdPercent', false, 0);
  positive('minDifference', true, 1);
  positive('cooldownMs', true, 0);
  positive('movesPerSecond', false, 0.01);
  positive('concurrency', true, 1);
}
