import { performance } from 'node:perf_hooks';
import { Activation, RouteAgain, type ActivationHost, type Operation } from './activation.js';
import { CallStats } from './call-stats.js';
import type { Coordinator, MemberInfo } from './coordinator.js';
import type { AnyObjectType, CallOptions, OperationArgs, OperationName, OperationReply, Ref, RefFactory, StateOf } from './define-object.js';
import {
  CallTimeout, CoordinatorUnavailable, Fenced, HighlanderError, Indeterminate, InvalidArgument, MigrationRefused, NodeStopping,
  NodeUnreachable, NotActiveHere, OwnershipLost, StateTooLarge, UnknownHandler, UnknownObjectType, causeMessage, deserializeError,
} from './errors.js';
import { EventLog, type LifecycleEvent, type LifecycleEventBody } from './events.js';
import { objectKey, validateNodeName, validateObjectId } from './names.js';
import { placementByName, type Placement, type PlacementName } from './placement.js';
import type { StateStore } from './state-store.js';
import { PeerClient } from './transport/peer-client.js';
import type { PeerAdopt, PeerCall, PeerReplyBody } from './transport/peer-protocol.js';
import { adminHttpHandler } from './node-admin.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { NodeMetrics, serveMetrics } from './metrics.js';
import { logLifecycleEvents, silentLogger } from './node-log.js';
import { PeerServer, upgradeRequired } from './transport/peer-server.js';

export interface HighlanderNodeOptions {
  /** This node's name, unique in the cluster: `[A-Za-z0-9_-]{1,64}`. */
  name: string;
  /** Membership and lock queues (`ZooKeeperCoordinator`). */
  coordinator: Coordinator;
  /** Where states are kept (`S3StateStore`). */
  store: StateStore;
  /** Every object type this node can host. Register the same types on every node. */
  objects: AnyObjectType[];
  /**
   * Where new activations go: `local`, `round-robin`, `random`, `least-loaded`, `hash`, or your own.
   * @default 'local'
   */
  placement?: PlacementName | Placement;
  /**
   * Interface the peer/events ws endpoint listens on.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * Port of the ws endpoint; 0 picks a free one.
   * @default 0
   */
  port?: number;
  /**
   * Host other nodes use to reach this one.
   * @default host
   */
  advertiseHost?: string;
  /**
   * A call fails with `CallTimeout` after this long.
   * @default 10000
   */
  callTimeoutMs?: number;
  /**
   * Deactivate an object after this long without calls (per type: `idleTimeoutMs` in defineObject).
   * @default 60000
   */
  idleTimeoutMs?: number;
  /**
   * Largest state, as JSON, an object may have.
   * @default 1048576 (1 MiB)
   */
  maxStateBytes?: number;
  /**
   * Forwarded requests in flight to one peer; more wait for a slot.
   * @default 1024
   */
  maxInFlightPerPeer?: number;
  /**
   * Interval of `stats` events (call counts and latency per type).
   * @default 1000
   */
  statsIntervalMs?: number;
  /**
   * How often this node republishes its activation count (for `least-loaded`).
   * @default 2000
   */
  loadReportIntervalMs?: number;
  /**
   * Bearer token for the node's admin endpoints (`/admin/…` on its ws port: inspect, evict,
   * migrate, drain). Without one, those endpoints are off. It also guards `GET /metrics`.
   */
  adminToken?: string;
  /**
   * This node's Prometheus metrics (see `NodeMetrics`), served at `GET /metrics` on its ws port
   * (behind `adminToken` when one is set) and readable as `node.metrics`; `false` turns them off.
   * Give each node its own.
   * @default new NodeMetrics()
   */
  metrics?: NodeMetrics | false;
  /**
   * A pino logger for the node's lifecycle (node up/down, membership, session lost and rejoined,
   * fenced objects, failed writes, drain progress, admin actions; details at debug) and for
   * failures of background tasks. Lines carry `node: <name>`.
   * @default none: the node logs nothing (background failures become process warnings)
   */
  logger?: Logger;
}

/** The defaults of {@link HighlanderNodeOptions} (advertiseHost: the host, or 127.0.0.1 for a wildcard one). */
export const NODE_DEFAULTS = {
  placement: 'local',
  host: '127.0.0.1',
  port: 0,
  callTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  maxStateBytes: 1024 * 1024,
  maxInFlightPerPeer: 1024,
  statsIntervalMs: 1000,
  loadReportIntervalMs: 2000,
} as const satisfies Partial<HighlanderNodeOptions>;

/** 'created' → 'starting' → 'running' → 'stopping' → 'stopped'. */
export type NodeStatus = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

type CompiledOptions = Required<Omit<HighlanderNodeOptions, 'placement' | 'advertiseHost' | 'adminToken' | 'metrics' | 'logger'>> & { advertiseHost: string; placement: Placement; adminToken: string | undefined };

const MAX_ROUTING_ATTEMPTS = 64;
/** The pause detector ticks this often; a tick this much late means the process was paused. */
const PAUSE_TICK_MS = 250;
const PAUSE_THRESHOLD_MS = 1000;
/** Objects listed per `stats` event (the busiest of the interval). */
const MAX_STATS_OBJECTS = 1000;

/**
 * A runtime node: hosts activations, forwards calls for objects owned elsewhere, and serves
 * forwarded calls and event subscribers on its ws endpoint.
 */
export class HighlanderNode implements RefFactory {
  readonly name: string;
  readonly events: EventLog;
  readonly options: CompiledOptions;
  /** This node's Prometheus metrics (undefined with `metrics: false`). */
  readonly metrics: NodeMetrics | undefined;
  /** The node's logger (silent when none was given), bound to `node: <name>`. */
  readonly logger: Logger;
  #status: NodeStatus = 'created';
  #types = new Map<string, AnyObjectType>();
  #activations = new Map<string, Activation>();
  /** Last known owner of objects owned elsewhere; dropped on any sign it is stale. */
  #ownerCache = new Map<string, string>();
  #members = new Map<string, MemberInfo>();
  #server: PeerServer | undefined;
  #peers: PeerClient;
  #stats = new CallStats();
  #timers: NodeJS.Timeout[] = [];
  #host: ActivationHost;
  #publishedActivations = -1;
  /** Activations that finished a call in the current stats interval. */
  #calledThisInterval = new Set<Activation>();
  /** A draining node takes no new activations. */
  #draining = false;
  /** Requests from peers being served now. */
  #serving = new Set<Promise<unknown>>();
  /** Monotonic time of the last pause-detector tick. */
  #lastTickMs = performance.now();
  /** Set while the locks are re-checked after this process was paused: nothing is served meanwhile. */
  #verifyingLocks: Promise<void> | undefined;
  #adminHttp: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  /** Whether a logger was given (otherwise background failures become process warnings). */
  #logging: boolean;
  #unbindMetrics: (() => void) | undefined;

  private constructor(options: HighlanderNodeOptions) {
    this.name = validateNodeName(options.name);
    this.options = compileOptions(options);
    for (const type of options.objects) {
      if (this.#types.has(type.type)) throw new TypeError(`object type '${type.type}' is registered twice`);
      this.#types.set(type.type, type);
    }
    this.events = new EventLog(this.name);
    this.#logging = options.logger !== undefined;
    this.logger = (options.logger ?? silentLogger()).child({ node: this.name });
    if (this.#logging) logLifecycleEvents(this.events, this.logger);
    this.metrics = options.metrics === false ? undefined : (options.metrics ?? new NodeMetrics());
    this.#unbindMetrics = this.metrics?.bind(this);
    if (this.options.adminToken) this.#adminHttp = adminHttpHandler(this, this.options.adminToken);
    const maxPayloadBytes = maxPayloadFor(this.options.maxStateBytes);
    this.#peers = new PeerClient({ maxPayloadBytes, maxInFlight: this.options.maxInFlightPerPeer });
    this.#host = {
      nodeName: this.name,
      store: this.options.store,
      maxStateBytes: this.options.maxStateBytes,
      emit: (event) => this.#emit(event),
      record: (activation, ms, failed) => {
        this.#stats.record(activation.type, ms, failed);
        if (activation.intervalCalls++ === 0) this.#calledThisInterval.add(activation);
      },
      holdsLease: () => this.#holdsLease(),
      refs: this,
    };
  }

  /** Validates the options; `start()` then joins the cluster. */
  static create(options: HighlanderNodeOptions): HighlanderNode {
    return new HighlanderNode(options);
  }

  get status(): NodeStatus {
    return this.#status;
  }

  /** ws URL of this node's endpoint (after start). */
  get address(): string {
    if (!this.#server) throw new NodeStopping(this.name);
    return `ws://${this.options.advertiseHost}:${this.#server.port}`;
  }

  get activationCount(): number {
    return this.#activations.size;
  }

  /** The live members as this node sees them. */
  members(): MemberInfo[] {
    return [...this.#members.values()];
  }

  /** Active objects on this node (for admin views and tests). */
  activations(): Array<{ type: string; id: string; epoch: string; status: string; queueLength: number }> {
    return [...this.#activations.values()].map((a) => ({ type: a.type, id: a.id, epoch: a.epoch, status: a.status, queueLength: a.queueLength }));
  }

  async start(): Promise<void> {
    this.#transition('created', 'starting');
    const { coordinator } = this.options;
    this.#server = await PeerServer.listen({
      host: this.options.host,
      port: this.options.port,
      maxPayloadBytes: maxPayloadFor(this.options.maxStateBytes),
      onRequest: (request) => this.#track(request.t === 'adopt' ? this.#serveAdopt(request) : this.#serveForwarded(request)),
      ...this.#httpHandler(),
      events: this.events,
    });
    coordinator.on('members', (members) => this.#onMembers(members));
    coordinator.on('sessionLost', () => this.#onSessionLost());
    coordinator.on('rejoined', () => this.logger.info({ event: 'node.rejoined' }, 'rejoined the cluster with a new session'));
    coordinator.on('error', (err) => this.#reportBackgroundError('coordinator', err));
    try {
      await coordinator.start({
        name: this.name, address: this.address, pid: process.pid, startedAt: Date.now(), activations: 0, draining: false,
      });
    } catch (err) {
      await this.#server.close();
      this.#status = 'stopped';
      this.#unbindMetrics?.();
      throw err;
    }
    this.#onMembers(coordinator.members());
    this.#every(this.options.statsIntervalMs, () => this.#emitStats());
    this.#every(this.#idleSweepIntervalMs(), () => this.#sweepIdle());
    this.#every(this.options.loadReportIntervalMs, () => this.#publishLoad());
    this.#lastTickMs = performance.now();
    this.#every(PAUSE_TICK_MS, () => this.#detectPause());
    this.#status = 'running';
    this.#emit({ kind: 'node.up', address: this.address });
  }

  /**
   * Leaves the cluster. With `drain` (the default) every activation finishes its queued calls,
   * flushes and releases its lock first; without, queued calls fail with `NodeStopping` and the
   * locks go with the session.
   */
  async stop(options: { drain?: boolean } = {}): Promise<void> {
    if (this.#status === 'stopped' || this.#status === 'stopping') return;
    if (this.#status === 'created') {
      this.#status = 'stopped';
      this.#unbindMetrics?.();
      return;
    }
    this.#status = 'stopping';
    for (const timer of this.#timers) clearInterval(timer);
    if (options.drain ?? true) {
      // Forwarded calls accepted before the stop finish first (they may still be activating an
      // object); then every activation drains. New calls are refused with NodeStopping meanwhile.
      await raceTimeout(this.options.callTimeoutMs, Promise.allSettled([...this.#serving]));
      await Promise.allSettled([...this.#activations.values()].map((a) => a.deactivate('shutdown')));
    } else {
      for (const a of this.#activations.values()) a.drop('shutdown', new NodeStopping(this.name));
    }
    this.#emit({ kind: 'node.down', reason: 'shutdown' });
    await this.options.coordinator.stop();
    this.#peers.close();
    await this.#server?.close();
    this.#activations.clear();
    this.#status = 'stopped';
    this.#unbindMetrics?.();
  }

  /** A typed handle on one object; the object may live on any node. */
  ref<T extends AnyObjectType>(type: T, id: string): Ref<T> {
    validateObjectId(id);
    const registered = this.#types.get(type.type);
    if (!registered) throw new UnknownObjectType(type.type, this.name);
    return new ObjectRef<T>(this, registered as T, id);
  }

  /** The registered object type of that name, if any (for callers that have only the name, like the admin endpoints). */
  objectType(name: string): AnyObjectType | undefined {
    return this.#types.get(name);
  }

  /** Every object type registered on this node. */
  objectTypes(): readonly AnyObjectType[] {
    return [...this.#types.values()];
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** One activation's details and in-memory state, or null when it is not active here. */
  inspect(type: string, id: string): { type: string; id: string; epoch: string; status: string; queueLength: number; version: number; state: unknown; activeForMs: number; idleForMs: number } | null {
    const a = this.#activations.get(objectKey(type, id));
    if (!a || a.status === 'deactivated') return null;
    const now = performance.now();
    return {
      type: a.type, id: a.id, epoch: a.epoch, status: a.status, queueLength: a.queueLength, version: a.storedVersion,
      state: a.stateJson ? JSON.parse(a.stateJson) : null,
      activeForMs: Math.round(now - a.activatedAtMs), idleForMs: Math.round(now - a.lastActivityMs),
    };
  }

  /** Gracefully deactivates an object active here (flush, release); resolves once its lock is released. */
  async evict(type: string, id: string): Promise<{ node: string; durationMs: number }> {
    const started = performance.now();
    const activation = this.#activations.get(objectKey(type, id));
    if (!activation || activation.status === 'deactivated') throw new NotActiveHere(type, id, this.name);
    await activation.deactivate('evicted');
    return { node: this.name, durationMs: round(performance.now() - started) };
  }

  /**
   * Moves an object active here to node `to`: the target joins the lock queue; this owner stops
   * taking calls (new ones wait and then follow the object), runs what is queued, flushes and
   * releases; the target takes over. Resolves once the object is active on the target.
   */
  async migrate(type: string, id: string, to: string, timeoutMs = this.options.callTimeoutMs): Promise<{ from: string; to: string; durationMs: number }> {
    const started = performance.now();
    const deadline = started + timeoutMs;
    const key = objectKey(type, id);
    const activation = this.#activations.get(key);
    if (!activation || activation.status !== 'active') throw new NotActiveHere(type, id, this.name);
    if (to === this.name) throw new MigrationRefused(type, id, to, 'it is already there');
    const target = this.#members.get(to);
    if (!target) throw new MigrationRefused(type, id, to, 'no live node of that name');
    if (target.draining) throw new MigrationRefused(type, id, to, 'the node is draining');
    const adopt = async (phase: 'queue' | 'active') => {
      const remaining = Math.max(1, deadline - performance.now());
      const reply = await this.#peers.request(to, target.address, { t: 'adopt', type, id, from: this.name, phase, timeoutMs: Math.floor(remaining) }, remaining);
      if (reply.t === 'err') throw deserializeError(reply.error);
      if (reply.t !== 'ok') throw new MigrationRefused(type, id, to, 'the target did not take the object');
    };
    await adopt('queue');
    // Calls arriving from now on wait for this activation to close, then follow the object to `to`.
    this.#ownerCache.set(key, to);
    await activation.deactivate('migrated');
    await adopt('active');
    const durationMs = round(performance.now() - started);
    this.#emit({ kind: 'object.migrated', type, id, from: this.name, to, durationMs });
    return { from: this.name, to, durationMs };
  }

  /**
   * Drains this node: it takes no new activations (placement skips it, forwarded calls for objects
   * it does not hold are sent elsewhere) and deactivates every object it holds (reason `drained`),
   * with `node.draining` progress events; their next calls activate them on other nodes.
   */
  async drain(): Promise<{ deactivated: number; durationMs: number }> {
    const started = performance.now();
    this.#draining = true;
    await this.options.coordinator.update({ draining: true });
    const activations = [...this.#activations.values()];
    const total = activations.length;
    let remaining = total;
    this.#emit({ kind: 'node.draining', total, remaining });
    let lastReport = performance.now();
    const queue = [...activations];
    const worker = async () => {
      for (let a = queue.shift(); a; a = queue.shift()) {
        await a.deactivate('drained').catch((err) => this.#reportBackgroundError(`draining ${a.key}`, err));
        remaining--;
        if (performance.now() - lastReport > 250 || remaining === 0) {
          lastReport = performance.now();
          this.#emit({ kind: 'node.draining', total, remaining });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, total) }, worker));
    const durationMs = round(performance.now() - started);
    this.#emit({ kind: 'node.drained', deactivated: total, durationMs });
    return { deactivated: total, durationMs };
  }

  // ---- routing ----

  /**
   * @internal Runs an operation on an object wherever it lives. Errors that prove the call took no
   * effect and that another attempt may succeed (ownership moved or was lost, the owner is
   * stopping or unreachable before the request left, ZooKeeper briefly unavailable) are retried
   * with backoff within the call's timeout, re-resolving the owner each time; if time runs out, the
   * last such error is thrown. Everything else is thrown at once.
   */
  invoke(definition: AnyObjectType, id: string, operation: Operation, timeoutMs: number): Promise<unknown> {
    const metrics = this.metrics;
    if (metrics === undefined) return this.#invoke(definition, id, operation, timeoutMs);
    const started = performance.now();
    const outcome = this.#invoke(definition, id, operation, timeoutMs);
    outcome.then(
      () => metrics.recordCall(definition.type, performance.now() - started, undefined),
      (err: unknown) => metrics.recordCall(definition.type, performance.now() - started, err),
    );
    return outcome;
  }

  async #invoke(definition: AnyObjectType, id: string, operation: Operation, timeoutMs: number): Promise<unknown> {
    if (this.#status !== 'running') throw new NodeStopping(this.name);
    const started = performance.now();
    const deadline = started + timeoutMs;
    const key = objectKey(definition.type, id);
    const name = operationName(operation);
    const timeout = () => new CallTimeout(definition.type, id, name, timeoutMs);

    // Fast path: the object is active here.
    const local = this.#activations.get(key);
    if (local !== undefined && local.status === 'active') {
      try {
        return await local.enqueue(operation, deadline, timeout);
      } catch (err) {
        if (!(err instanceof RouteAgain) && !isRetryable(err)) throw err;
      }
    }

    const readOnly = operation.op === 'get' || (operation.op === 'call' && operation.name in definition.queries);
    let lastError: HighlanderError | undefined;
    let backoffMs = 20;
    const backoff = async () => {
      await sleep(Math.min(backoffMs * (0.5 + Math.random()), Math.max(0, deadline - performance.now())));
      backoffMs = Math.min(backoffMs * 2, 500);
    };
    for (let attempt = 0; attempt < MAX_ROUTING_ATTEMPTS; attempt++) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) throw lastError ?? timeout();
      if (this.#status !== 'running') throw new NodeStopping(this.name);

      const activation = this.#activations.get(key);
      if (activation) {
        if (activation.status === 'active' || activation.status === 'activating') {
          try {
            return await activation.enqueue(operation, deadline, timeout);
          } catch (err) {
            if (err instanceof RouteAgain) {
              if (err.owner && err.owner !== this.name) this.#ownerCache.set(key, err.owner);
              continue;
            }
            if (!isRetryable(err)) throw err;
            lastError = err;
            await backoff();
            continue;
          }
        }
        // Deactivating: wait for it to finish, then route again (it may be placed anywhere).
        await raceTimeout(remaining, activation.closed);
        continue;
      }

      let owner: string | null | undefined = this.#ownerCache.get(key);
      if (owner === undefined) {
        owner = this.#place(definition, id, key, deadline);
        if (owner === null) continue; // activating here: queue on it
      }
      const member = this.#members.get(owner);
      if (!member) {
        // The owner is not a live member: its lock outlives it until its session expires.
        this.#ownerCache.delete(key);
        await backoff();
        continue;
      }
      let reply: PeerReplyBody;
      this.metrics?.recordForwarded(definition.type, 'out');
      try {
        reply = await this.#peers.request(owner, member.address, {
          t: 'call', type: definition.type, id, op: operation.op,
          ...(operation.op === 'call' ? { name: operation.name, arg: operation.arg } : {}),
          ...(operation.op === 'put' ? { arg: operation.state } : {}),
          timeoutMs: Math.max(1, Math.floor(remaining)),
        }, remaining);
      } catch (err) {
        if (!(err instanceof NodeUnreachable)) throw err;
        this.#ownerCache.delete(key);
        if (err.delivered === 'unknown' && !readOnly) {
          if (performance.now() >= deadline) throw timeout();
          throw new Indeterminate(definition.type, id, `the connection to the owner '${owner}' failed after the call was sent (${err.message})`, err);
        }
        if (performance.now() >= deadline) throw readOnly ? timeout() : (lastError ?? timeout());
        lastError = err;
        await backoff();
        continue;
      }
      if (reply.t === 'ok') return reply.value;
      if (reply.t === 'err') {
        const error = deserializeError(reply.error);
        if (!isRetryable(error)) throw error;
        this.#ownerCache.delete(key);
        lastError = error;
        await backoff();
        continue;
      }
      // Redirected: the receiver is not (or no longer) the owner.
      if (reply.owner && reply.owner !== owner) this.#ownerCache.set(key, reply.owner);
      else this.#ownerCache.delete(key);
      if (!reply.owner || reply.owner === owner) await backoff();
    }
    throw lastError ?? timeout();
  }

  /**
   * For an object with no known owner: asks placement. Starts an activation here if chosen
   * (returns null; the caller then queues on it), else returns the chosen node, which activates
   * the object or redirects.
   */
  #place(definition: AnyObjectType, id: string, key: string, deadline: number): string | null {
    const candidates = [...this.#members.values()]
      .filter((m) => !m.draining && !(this.#draining && m.name === this.name))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    const chosen = candidates.length === 0 ? this.name : this.options.placement.choose({ type: definition.type, id, self: this.name, candidates });
    if (chosen !== this.name) return chosen;
    this.#startActivation(definition, id, key, deadline);
    return null;
  }

  /**
   * Registers an activation at once, so that every call for the object queues on it in arrival
   * order, then joins the lock queue (without waiting) and loads the state in the background. If
   * another node owns the object, queued calls are routed there (`RouteAgain`); if acquiring or
   * loading fails, they fail with that error.
   */
  #startActivation(definition: AnyObjectType, id: string, key: string, deadline: number, wait?: { onQueued: (position: number, owner: string) => void }): void {
    if (this.#activations.has(key)) return;
    if (this.#status !== 'running') throw new NodeStopping(this.name); // a stopping node starts nothing new
    const activation = new Activation(definition, id, key, this.#host);
    this.#activations.set(key, activation);
    void activation.closed.then(() => {
      if (this.#activations.get(key) === activation) this.#activations.delete(key);
    });
    void this.#acquireAndLoad(activation, Math.max(1, deadline - performance.now()), wait);
  }

  async #acquireAndLoad(activation: Activation, timeoutMs: number, wait?: { onQueued: (position: number, owner: string) => void }): Promise<void> {
    const { type, id, key } = activation;
    let result;
    try {
      result = await this.options.coordinator.acquire(type, id, {
        wait: wait !== undefined,
        timeoutMs,
        ...(wait ? {
          onQueued: (position: number, owner: string) => {
            this.#emit({ kind: 'lock.queued', type, id, position, owner });
            wait.onQueued(position, owner);
          },
        } : {}),
      });
    } catch (err) {
      activation.abort(null, err as Error);
      return;
    }
    if (!result.acquired) {
      if (result.owner !== this.name) this.#ownerCache.set(key, result.owner);
      activation.abort(result.owner);
      return;
    }
    if (activation.status !== 'activating') {
      // Dropped while acquiring (session lost, node stopping): give the lock back, if it still exists.
      await result.lock.release().catch(() => {
        // Gone with the old session already.
      });
      return;
    }
    this.#ownerCache.delete(key);
    this.#emit({ kind: 'lock.acquired', type, id, epoch: result.lock.epoch, waitedMs: round(result.waitedMs) });
    try {
      await activation.load(result.lock);
    } catch (err) {
      activation.abort(null, err as Error);
      await result.lock.release().catch(() => {
        // The lock goes with the session if this fails; nothing else to do here.
      });
      this.#emit({ kind: 'lock.released', type, id, epoch: result.lock.epoch });
    }
  }

  /** Remembers a request being served until it settles, so a graceful stop can wait for it. */
  #track<T>(serving: Promise<T>): Promise<T> {
    this.#serving.add(serving);
    const done = () => this.#serving.delete(serving);
    serving.then(done, done);
    return serving;
  }

  /** Serves a call forwarded by another node: run it here, activate here, or redirect to the owner. */
  async #serveForwarded(call: PeerCall): Promise<PeerReplyBody> {
    const definition = this.#types.get(call.type);
    if (!definition) return { t: 'err', error: new UnknownObjectType(call.type, this.name).serialize() };
    this.metrics?.recordForwarded(definition.type, 'in');
    validateObjectId(call.id);
    if (this.#status !== 'running') return { t: 'err', error: new NodeStopping(this.name).serialize() };
    const operation: Operation = call.op === 'get' ? { op: 'get' }
      : call.op === 'put' ? { op: 'put', state: call.arg }
      : { op: 'call', name: call.name!, arg: call.arg };
    const key = objectKey(call.type, call.id);
    const deadline = performance.now() + call.timeoutMs;
    const timeout = () => new CallTimeout(call.type, call.id, operationName(operation), call.timeoutMs);
    for (let attempt = 0; attempt < 8; attempt++) {
      const activation = this.#activations.get(key);
      if (activation) {
        if (activation.status === 'active' || activation.status === 'activating') {
          try {
            return { t: 'ok', value: await activation.enqueue(operation, deadline, timeout) };
          } catch (err) {
            if (err instanceof RouteAgain) return { t: 'redirect', owner: err.owner };
            throw err;
          }
        }
        await raceTimeout(deadline - performance.now(), activation.closed);
        continue;
      }
      const owner = await this.options.coordinator.owner(call.type, call.id);
      if (owner !== null && owner !== this.name) return { t: 'redirect', owner };
      if (this.#draining) return { t: 'redirect', owner: null }; // take no new activations: the caller places it elsewhere
      // Nobody owns it (or only a stale lock of ours, which acquiring cleans up): activate here.
      this.#startActivation(definition, call.id, key, deadline);
    }
    return { t: 'redirect', owner: null };
  }

  /** The target side of a migration (see `migrate`). */
  async #serveAdopt(request: PeerAdopt): Promise<PeerReplyBody> {
    const definition = this.#types.get(request.type);
    if (!definition) return { t: 'err', error: new UnknownObjectType(request.type, this.name).serialize() };
    validateObjectId(request.id);
    if (this.#status !== 'running') return { t: 'err', error: new NodeStopping(this.name).serialize() };
    if (this.#draining) return { t: 'err', error: new MigrationRefused(request.type, request.id, this.name, 'the node is draining').serialize() };
    const key = objectKey(request.type, request.id);
    const deadline = performance.now() + request.timeoutMs;
    if (request.phase === 'queue') {
      if (this.#activations.has(key)) {
        return { t: 'err', error: new MigrationRefused(request.type, request.id, this.name, 'the target already has an activation of it').serialize() };
      }
      let queued!: () => void;
      const isQueued = new Promise<void>((resolve) => (queued = resolve));
      this.#startActivation(definition, request.id, key, deadline, { onQueued: () => queued() });
      const activation = this.#activations.get(key)!;
      // Queued behind the owner, or (if the owner released meanwhile) already holding the lock.
      await raceTimeout(request.timeoutMs, isQueued, activation.loaded, activation.closed);
      if (activation.status === 'deactivated') return { t: 'err', error: new MigrationRefused(request.type, request.id, this.name, 'the target could not join the lock queue').serialize() };
      return { t: 'ok', value: { queued: true } };
    }
    const activation = this.#activations.get(key);
    if (!activation) return { t: 'err', error: new MigrationRefused(request.type, request.id, this.name, 'the target is not taking it over').serialize() };
    await raceTimeout(request.timeoutMs, activation.loaded, activation.closed);
    if (activation.status !== 'active') return { t: 'err', error: new MigrationRefused(request.type, request.id, this.name, `the target's activation is ${activation.status}`).serialize() };
    return { t: 'ok', value: { active: true, epoch: activation.epoch } };
  }

  // ---- cluster events ----

  #onMembers(members: MemberInfo[]): void {
    const next = new Map(members.map((m) => [m.name, m]));
    for (const [name, member] of next) {
      if (!this.#members.has(name) && name !== this.name) this.#emit({ kind: 'node.joined', peer: name, address: member.address });
    }
    for (const name of this.#members.keys()) {
      if (!next.has(name)) {
        this.#peers.forget(name);
        for (const [key, owner] of this.#ownerCache) if (owner === name) this.#ownerCache.delete(key);
        if (name !== this.name) this.#emit({ kind: 'node.left', peer: name });
      }
    }
    this.#members = next;
  }

  #onSessionLost(): void {
    const activations = [...this.#activations.values()];
    this.#activations.clear();
    this.#ownerCache.clear();
    for (const a of activations) a.drop('session-lost');
    this.#emit({ kind: 'node.session-lost', activationsDropped: activations.length });
  }

  // ---- timers ----

  #every(intervalMs: number, task: () => void): void {
    const timer = setInterval(task, intervalMs);
    timer.unref();
    this.#timers.push(timer);
  }

  #idleSweepIntervalMs(): number {
    let shortest = this.options.idleTimeoutMs;
    for (const t of this.#types.values()) if (t.idleTimeoutMs !== undefined) shortest = Math.min(shortest, t.idleTimeoutMs);
    return Math.min(1000, Math.max(20, Math.floor(shortest / 4)));
  }

  #sweepIdle(): void {
    const now = performance.now();
    for (const activation of this.#activations.values()) {
      if (activation.status !== 'active' || !activation.quiescent) continue;
      const idleTimeoutMs = activation.definition.idleTimeoutMs ?? this.options.idleTimeoutMs;
      if (now - activation.lastActivityMs >= idleTimeoutMs) {
        activation.deactivate('idle').catch((err) => this.#reportBackgroundError('idle deactivation', err));
      }
    }
  }

  /**
   * A process that was stopped or starved (SIGSTOP, a VM pause, a long GC) may have had a lock
   * deleted meanwhile by a forced eviction while its session stayed alive, so the read lease alone
   * would let it serve stale state. After a pause, serve nothing until every held lock is verified;
   * activations whose lock is gone are dropped as fenced.
   */
  /**
   * The read lease, plus this process's own liveness: after a resume, pending I/O may run before
   * the late pause-detector tick, so an overdue tick already counts as a pause here.
   */
  #holdsLease(): boolean {
    if (this.#verifyingLocks !== undefined) return false;
    if (performance.now() - this.#lastTickMs > PAUSE_TICK_MS + PAUSE_THRESHOLD_MS) {
      this.#detectPause();
      return false;
    }
    return this.options.coordinator.holdsLease();
  }

  #detectPause(): void {
    const now = performance.now();
    const lagMs = now - this.#lastTickMs - PAUSE_TICK_MS;
    this.#lastTickMs = now;
    if (lagMs < PAUSE_THRESHOLD_MS || this.#verifyingLocks) return;
    this.#verifyingLocks = this.#verifyLocks().finally(() => {
      this.#verifyingLocks = undefined;
    });
  }

  async #verifyLocks(): Promise<void> {
    const held = [...this.#activations.values()].filter((a) => a.lock !== undefined && a.status !== 'deactivated');
    let next = 0;
    const worker = async () => {
      for (let a = held[next++]; a; a = held[next++]) {
        for (;;) {
          try {
            if (!(await a.lock!.verify())) a.drop('fenced', new OwnershipLost(a.type, a.id, 'its lock was deleted (forced eviction) while this node was paused'));
            break;
          } catch {
            // ZooKeeper unreachable: keep serving nothing and ask again; an expired session drops everything anyway.
            await sleep(200);
            if (this.#status !== 'running') return;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(64, held.length) }, worker));
  }

  #emitStats(): void {
    const byType = this.#stats.drain();
    const called = [...this.#calledThisInterval];
    this.#calledThisInterval.clear();
    if (Object.keys(byType).length === 0) return;
    // The busiest objects of the interval (all of them, up to the cap), for per-object rates in the admin API.
    called.sort((a, b) => b.intervalCalls - a.intervalCalls);
    const objects = called.slice(0, MAX_STATS_OBJECTS).map((a) => ({ type: a.type, id: a.id, calls: a.intervalCalls, queue: a.queueLength }));
    for (const a of called) a.intervalCalls = 0;
    this.#emit({ kind: 'stats', intervalMs: this.options.statsIntervalMs, activations: this.#activations.size, byType, objects, objectsOmitted: Math.max(0, called.length - MAX_STATS_OBJECTS) });
  }

  #publishLoad(): void {
    const count = this.#activations.size;
    if (count === this.#publishedActivations || this.#status !== 'running') return;
    this.#publishedActivations = count;
    this.options.coordinator.update({ activations: count }).catch(() => {
      this.#publishedActivations = -1; // try again next interval
    });
  }

  #emit(event: LifecycleEventBody): LifecycleEvent {
    return this.events.emit(event);
  }

  #reportBackgroundError(what: string, err: unknown): void {
    // Logged (or a process warning without a logger); the runtime keeps going.
    if (this.#logging) this.logger.warn({ err, task: what }, `${what} failed: ${causeMessage(err)}`);
    else process.emitWarning(`highlander node ${this.name}: ${what} failed: ${causeMessage(err)}`);
  }

  /**
   * Plain HTTP on the ws port: `GET /metrics` when metrics are on (behind the admin token when set),
   * the admin endpoints when an admin token is set, else 426.
   */
  #httpHandler(): { onHttp?: (req: IncomingMessage, res: ServerResponse) => void } {
    const admin = this.#adminHttp;
    const metrics = this.metrics ? serveMetrics(this.metrics, this.options.adminToken) : undefined;
    if (!metrics) return admin ? { onHttp: admin } : {};
    return {
      onHttp: (req, res) => {
        if (metrics(req, res)) return;
        if (admin) admin(req, res);
        else upgradeRequired(res);
      },
    };
  }

  #transition(from: NodeStatus, to: NodeStatus): void {
    if (this.#status !== from) throw new Error(`node ${this.name} cannot go from '${this.#status}' to '${to}' (expected '${from}')`);
    this.#status = to;
  }
}

class ObjectRef<T extends AnyObjectType> implements Ref<T> {
  constructor(private readonly node: HighlanderNode, private readonly definition: T, readonly id: string) {}

  get type(): string {
    return this.definition.type;
  }

  get(options?: CallOptions): Promise<StateOf<T>> {
    return this.node.invoke(this.definition, this.id, { op: 'get' }, this.#timeout(options)) as Promise<StateOf<T>>;
  }

  async put(state: StateOf<T>, options?: CallOptions): Promise<void> {
    const json = JSON.stringify(state);
    const bytes = json === undefined ? 0 : Buffer.byteLength(json);
    if (bytes > this.node.options.maxStateBytes) throw new StateTooLarge(this.type, this.id, bytes, this.node.options.maxStateBytes);
    await this.node.invoke(this.definition, this.id, { op: 'put', state: json === undefined ? undefined : JSON.parse(json) }, this.#timeout(options));
  }

  call<K extends OperationName<T>>(name: K, ...args: [...OperationArgs<T, K>, options?: CallOptions]): Promise<OperationReply<T, K>> {
    const fn = this.definition.handlers[name] ?? this.definition.queries[name];
    if (typeof fn !== 'function') {
      return Promise.reject(new UnknownHandler(this.type, name, [...Object.keys(this.definition.handlers), ...Object.keys(this.definition.queries)]));
    }
    // A handler declared as (state) or (state, ctx)-less takes no argument: the first extra is options.
    const takesArg = fn.length >= 2;
    return this.invoke(name, takesArg ? args[0] : undefined, (takesArg ? args[1] : args[0]) as CallOptions | undefined) as Promise<OperationReply<T, K>>;
  }

  invoke(name: string, arg: unknown, options?: CallOptions): Promise<unknown> {
    const fn = this.definition.handlers[name] ?? this.definition.queries[name];
    if (typeof fn !== 'function') {
      return Promise.reject(new UnknownHandler(this.type, name, [...Object.keys(this.definition.handlers), ...Object.keys(this.definition.queries)]));
    }
    let copied: unknown;
    try {
      copied = copyArgument(arg, this.node.options.maxStateBytes);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.node.invoke(this.definition, this.id, { op: 'call', name, arg: copied }, this.#timeout(options));
  }

  #timeout(options: CallOptions | undefined): number {
    const timeoutMs = options?.timeoutMs ?? this.node.options.callTimeoutMs;
    if (!(timeoutMs > 0)) throw new TypeError(`timeoutMs must be a positive number of milliseconds (got ${timeoutMs})`);
    return timeoutMs;
  }
}

/** Arguments are passed as JSON wherever the object lives, so a local call sees exactly what a remote one would. */
function copyArgument(arg: unknown, maxBytes: number): unknown {
  if (typeof arg !== 'object' || arg === null) {
    if (typeof arg === 'function' || typeof arg === 'bigint' || typeof arg === 'symbol') {
      throw new InvalidArgument(`a call argument must be JSON; got a ${typeof arg}`);
    }
    return arg;
  }
  let json: string;
  try {
    json = JSON.stringify(arg);
  } catch (err) {
    throw new InvalidArgument(`a call argument must be JSON: ${causeMessage(err)}`);
  }
  if (Buffer.byteLength(json) > maxBytes) throw new InvalidArgument(`a call argument is ${Buffer.byteLength(json)} bytes as JSON, over the limit of ${maxBytes} (maxStateBytes)`);
  return JSON.parse(json);
}

/**
 * Errors after which the call certainly took no effect and another attempt may succeed: retried
 * within the call's timeout. (`StoreUnavailable` is not: with S3 down, calls fail fast.)
 */
function isRetryable(err: unknown): err is HighlanderError {
  return err instanceof OwnershipLost || err instanceof NodeStopping || err instanceof Fenced || err instanceof CoordinatorUnavailable
    || (err instanceof NodeUnreachable && err.delivered === 'no');
}

function operationName(operation: Operation): string {
  return operation.op === 'call' ? operation.name : operation.op;
}

function compileOptions(options: HighlanderNodeOptions): CompiledOptions {
  if (!options.coordinator) throw new TypeError('HighlanderNode: coordinator is required');
  if (!options.store) throw new TypeError('HighlanderNode: store is required');
  if (!Array.isArray(options.objects) || options.objects.length === 0) throw new TypeError('HighlanderNode: objects must list at least one object type');
  const positive = (name: string, value: number | undefined, fallback: number) => {
    const v = value ?? fallback;
    if (!(Number.isFinite(v) && v > 0)) throw new TypeError(`HighlanderNode: ${name} must be a positive number (got ${value})`);
    return v;
  };
  const host = options.host ?? NODE_DEFAULTS.host;
  const port = options.port ?? NODE_DEFAULTS.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`HighlanderNode: port must be 0..65535 (got ${port})`);
  const placement = typeof options.placement === 'object' ? options.placement : placementByName(options.placement ?? NODE_DEFAULTS.placement);
  return {
    name: options.name,
    coordinator: options.coordinator,
    store: options.store,
    objects: options.objects,
    placement,
    host,
    port,
    advertiseHost: options.advertiseHost ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host),
    callTimeoutMs: positive('callTimeoutMs', options.callTimeoutMs, NODE_DEFAULTS.callTimeoutMs),
    idleTimeoutMs: positive('idleTimeoutMs', options.idleTimeoutMs, NODE_DEFAULTS.idleTimeoutMs),
    maxStateBytes: positive('maxStateBytes', options.maxStateBytes, NODE_DEFAULTS.maxStateBytes),
    maxInFlightPerPeer: positive('maxInFlightPerPeer', options.maxInFlightPerPeer, NODE_DEFAULTS.maxInFlightPerPeer),
    statsIntervalMs: positive('statsIntervalMs', options.statsIntervalMs, NODE_DEFAULTS.statsIntervalMs),
    loadReportIntervalMs: positive('loadReportIntervalMs', options.loadReportIntervalMs, NODE_DEFAULTS.loadReportIntervalMs),
    adminToken: options.adminToken,
  };
}

/** A frame may carry a whole state plus framing; twice the state limit leaves room for batching. */
function maxPayloadFor(maxStateBytes: number): number {
  return 2 * maxStateBytes + 1024 * 1024;
}

/**
 * Waits for the first of `promises` or `ms`, whichever comes first, and clears its timer: a timer
 * left behind would keep a library user's process alive for up to a call timeout after `stop()`.
 */
async function raceTimeout(ms: number, ...promises: Promise<unknown>[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([...promises, new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))))]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

