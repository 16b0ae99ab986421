import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { forEachBounded, roundMs } from '@highlander/kit';
import type { Logger } from 'pino';
import { ActivationRegistry } from './activation/activation-registry.js';
import type { MemberInfo, SessionLossScope } from './coordinator.js';
import type { AnyObjectType, Ref, RefFactory } from './define-object.js';
import { NodeStopping, NotActiveHere, UnknownObjectType, causeMessage } from './errors.js';
import { EventLog, type LifecycleEventBody } from './events.js';
import { Housekeeping } from './housekeeping.js';
import type { AdminNode } from './http/node-admin.js';
import { nodeHttpHandler } from './http/node-http.js';
import { NodeGate, RefusalLog, type RefusalReason } from './http/node-gate.js';
import { LeaseGuard } from './lease-guard.js';
import { NodeMetrics } from './metrics.js';
import { objectKey, validateNodeName, validateObjectId } from './names.js';
import { logLifecycleEvents, silentLogger } from './node-log.js';
import { compileNodeOptions, maxPayloadFor, type CompiledNodeOptions, type HighlanderNodeOptions } from './node-options.js';
import { ObjectRef } from './object-ref.js';
import { CallRouter } from './routing/call-router.js';
import { Migration } from './routing/migration.js';
import { OwnerCache } from './routing/owner-cache.js';
import { PeerService } from './routing/peer-service.js';
import { PeerClient } from './transport/peer-client.js';
import { PeerServer } from './transport/peer-server.js';

export type { HighlanderNodeOptions } from './node-options.js';

/** 'created' → 'starting' → 'running' → 'stopping' → 'stopped'. */
export type NodeStatus = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

/** Activations deactivated at once by `drain()`. */
const DRAIN_CONCURRENCY = 16;
/** Bind addresses that mean every interface: connections leave from whichever the system picks. */
const UNSPECIFIED = new Set(['0.0.0.0', '::']);

/**
 * A runtime node: the facade over its parts. It owns the node's lifecycle (start, stop), its
 * activations (the registry), and its view of the cluster's membership; calls go through the
 * call router (routing/call-router.ts), forwarded calls and migration steps from peers through the
 * peer service (routing/peer-service.ts), the admin actions through evict / migrate / drain.
 */
export class HighlanderNode implements RefFactory, AdminNode {
  readonly name: string;
  readonly events: EventLog;
  readonly options: CompiledNodeOptions;
  /** This node's Prometheus metrics (undefined with `metrics: false`). */
  readonly metrics: NodeMetrics | undefined;
  /** The node's logger (silent when none was given), bound to `node: <name>`. */
  readonly logger: Logger;
  #status: NodeStatus = 'created';
  readonly #types = new Map<string, AnyObjectType>();
  #members = new Map<string, MemberInfo>();
  /** A draining node takes no new activations. */
  #draining = false;
  readonly #activations: ActivationRegistry;
  readonly #owners = new OwnerCache();
  readonly #peers: PeerClient;
  readonly #router: CallRouter;
  readonly #peerService: PeerService;
  readonly #migration: Migration;
  readonly #leaseGuard: LeaseGuard;
  readonly #housekeeping: Housekeeping;
  #server: PeerServer | undefined;
  /** Whether a logger was given (otherwise background failures become process warnings). */
  readonly #logging: boolean;
  readonly #unbindMetrics: (() => void) | undefined;

  private constructor(options: HighlanderNodeOptions) {
    this.name = validateNodeName(options.name);
    this.options = compileNodeOptions(options);
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

    const { coordinator, store, maxStateBytes } = this.options;
    const emit = (event: LifecycleEventBody) => this.#emit(event);
    const running = () => this.#status === 'running';
    // What the routing parts read from this node.
    const self = this;
    const view = {
      name: this.name,
      get running() { return running(); },
      get draining() { return self.#draining; },
      member: (name: string) => this.#members.get(name),
      members: () => this.#members.values(),
      objectType: (name: string) => this.#types.get(name),
      emit,
    };
    this.#activations = new ActivationRegistry({
      nodeName: this.name, coordinator, store, maxStateBytes, refs: this, emit,
      record: (activation, ms, outcome) => this.#housekeeping.record(activation, ms, outcome),
      holdsLease: (type, id) => this.#leaseGuard.holdsLease(type, id),
    }, coordinator.lockBytes ? {
      bytes: this.options.lockBudgetBytes,
      cost: (type, id) => coordinator.lockBytes!(type, id),
      ...(coordinator.lockPool ? { pool: (type: string, id: string) => coordinator.lockPool!(type, id) } : {}),
      changed: () => this.#housekeeping.publishLoad(),
    } : undefined);
    this.#peers = new PeerClient({
      maxPayloadBytes: maxPayloadFor(maxStateBytes), maxInFlight: this.options.maxInFlightPerPeer,
      ...(this.options.clusterSecret ? { clusterSecret: this.options.clusterSecret } : {}),
      ...(this.options.tls ? { tls: this.options.tls } : {}),
      // A node bound to one address talks to its peers from it too, so they (and their firewalls) see
      // the address the node is known by; a wildcard bind leaves the choice to the system.
      ...(isIP(this.options.host) && !UNSPECIFIED.has(this.options.host) ? { localAddress: this.options.host } : {}),
    });
    this.#router = new CallRouter({
      node: view, activations: this.#activations, owners: this.#owners, peers: this.#peers, placement: this.options.placement,
      callTimeoutMs: this.options.callTimeoutMs, maxStateBytes, metrics: this.metrics,
    });
    this.#migration = new Migration({ node: view, activations: this.#activations, owners: this.#owners, peers: this.#peers });
    this.#peerService = new PeerService({
      node: view, activations: this.#activations, coordinator, metrics: this.metrics, adopt: (request) => this.#migration.adopt(request),
    });
    this.#leaseGuard = new LeaseGuard({ coordinator, activations: this.#activations, running });
    this.#housekeeping = new Housekeeping({
      coordinator, types: this.objectTypes(), activations: this.#activations, idleTimeoutMs: this.options.idleTimeoutMs,
      statsIntervalMs: this.options.statsIntervalMs, loadReportIntervalMs: this.options.loadReportIntervalMs, running, emit,
      reportBackgroundError: (what, err) => this.#reportBackgroundError(what, err),
    });
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
    return `${this.options.tls ? 'wss' : 'ws'}://${this.options.advertiseHost}:${this.#server.port}`;
  }

  /** Largest state, and call argument, as JSON (`maxStateBytes`). */
  get maxStateBytes(): number {
    return this.options.maxStateBytes;
  }

  get draining(): boolean {
    return this.#draining;
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
    return [...this.#activations].map((a) => ({ type: a.type, id: a.id, epoch: a.epoch, status: a.status, queueLength: a.queueLength }));
  }

  /** The registered object type of that name, if any (for callers that have only the name, like the admin endpoints). */
  objectType(name: string): AnyObjectType | undefined {
    return this.#types.get(name);
  }

  /** Every object type registered on this node. */
  objectTypes(): readonly AnyObjectType[] {
    return [...this.#types.values()];
  }

  /** A typed handle on one object; the object may live on any node. */
  ref<T extends AnyObjectType>(type: T, id: string): Ref<T> {
    validateObjectId(id);
    const registered = this.#types.get(type.type);
    if (!registered) throw new UnknownObjectType(type.type, this.name);
    return new ObjectRef<T>(this.#router, registered as T, id);
  }

  // ---- lifecycle ----

  async start(): Promise<void> {
    this.#transition('created', 'starting');
    const { coordinator, store } = this.options;
    if (store.selfTest && !this.options.unsafeSkipStoreSelfTest) {
      try {
        await store.selfTest();
      } catch (err) {
        this.#status = 'stopped';
        this.#unbindMetrics?.();
        throw err;
      }
    }
    const gate = new NodeGate(this.options.clusterSecret);
    const refusals = new RefusalLog((address, refusal, notLogged) => this.logger.warn(
      { event: 'node.refused', address, reason: refusal.reason, notLogged },
      `refused a request from ${address} (${refusal.reason}): ${refusal.message}${notLogged > 0 ? `; ${notLogged} more from it not logged` : ''}`,
    ));
    const onRefused = (reason: RefusalReason, address: string, message: string) => {
      this.metrics?.recordRefusal(reason);
      refusals.note(address, { reason, message });
    };
    this.#server = await PeerServer.listen({
      host: this.options.host,
      port: this.options.port,
      maxPayloadBytes: maxPayloadFor(this.options.maxStateBytes),
      onRequest: (request) => this.#peerService.serve(request),
      onHttp: nodeHttpHandler({
        node: this, metrics: this.metrics, gate, onRefused,
        reportError: (what, err) => this.#reportBackgroundError(what, err),
      }),
      admit: (req) => gate.check(req),
      onRefused,
      events: this.events,
      ...(this.options.tls ? { tls: this.options.tls } : {}),
    });
    coordinator.on('members', (members) => this.#onMembers(members));
    coordinator.on('sessionLost', (scope) => this.#onSessionLost(scope));
    coordinator.on('keyspaceMoving', (move) => void this.#onKeyspaceMoving(move));
    coordinator.on('rejoined', (ensemble) => this.logger.info({ event: 'node.rejoined', ...(ensemble ? { ensemble } : {}) }, `rejoined the cluster with a new session${ensemble ? ` (ensemble ${ensemble})` : ''}`));
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
    this.#housekeeping.start();
    this.#leaseGuard.start();
    this.#transition('starting', 'running');
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
    this.#housekeeping.stop();
    this.#leaseGuard.stop();
    this.#activations.refuseNew(() => new NodeStopping(this.name));
    if (options.drain ?? true) {
      // Forwarded calls accepted before the stop finish first (they may still be activating an
      // object); then every activation drains. New calls are refused with NodeStopping meanwhile.
      await this.#peerService.settled(this.options.callTimeoutMs);
      await Promise.allSettled([...this.#activations].map((a) => a.deactivate('shutdown')));
    } else {
      this.#activations.dropAll('shutdown', () => new NodeStopping(this.name));
    }
    this.#emit({ kind: 'node.down', reason: 'shutdown' });
    await this.options.coordinator.stop();
    this.#peers.close();
    await this.#server?.close();
    this.#activations.clear();
    this.#status = 'stopped';
    this.#unbindMetrics?.();
  }

  #transition(from: NodeStatus, to: NodeStatus): void {
    if (this.#status !== from) throw new Error(`node ${this.name} cannot go from '${this.#status}' to '${to}' (expected '${from}')`);
    this.#status = to;
  }

  // ---- admin actions ----

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
    return { node: this.name, durationMs: roundMs(performance.now() - started) };
  }

  /**
   * Moves an object active here to node `to` (see routing/migration.ts): the target joins the lock
   * queue; this owner stops taking calls (new ones wait and then follow the object), runs what is
   * queued, flushes and releases; the target takes over. Resolves once the object is active there.
   */
  migrate(type: string, id: string, to: string, timeoutMs = this.options.callTimeoutMs): Promise<{ from: string; to: string; durationMs: number }> {
    return this.#migration.migrate(type, id, to, timeoutMs);
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
    const activations = [...this.#activations];
    const total = activations.length;
    let remaining = total;
    this.#emit({ kind: 'node.draining', total, remaining });
    let lastReport = performance.now();
    await forEachBounded(activations, DRAIN_CONCURRENCY, async (a) => {
      await a.deactivate('drained').catch((err) => this.#reportBackgroundError(`draining ${a.key}`, err));
      remaining--;
      if (performance.now() - lastReport > 250 || remaining === 0) {
        lastReport = performance.now();
        this.#emit({ kind: 'node.draining', total, remaining });
      }
    });
    const durationMs = roundMs(performance.now() - started);
    this.#emit({ kind: 'node.drained', deactivated: total, durationMs });
    return { deactivated: total, durationMs };
  }

  // ---- membership ----

  #onMembers(members: MemberInfo[]): void {
    const next = new Map(members.map((m) => [m.name, m]));
    for (const [name, member] of next) {
      if (!this.#members.has(name) && name !== this.name) this.#emit({ kind: 'node.joined', peer: name, address: member.address });
    }
    for (const name of this.#members.keys()) {
      if (!next.has(name)) {
        this.#peers.forget(name);
        this.#owners.forgetNode(name);
        if (name !== this.name) this.#emit({ kind: 'node.left', peer: name });
      }
    }
    this.#members = next;
  }

  #onSessionLost(scope?: SessionLossScope): void {
    this.#owners.clear();
    if (scope) {
      // One ensemble of a sharded coordinator: only the objects whose locks were there are gone.
      const dropped = this.#activations.dropWhere((a) => scope.covers(a.type, a.id), 'session-lost');
      this.#emit({ kind: 'node.session-lost', activationsDropped: dropped, ensemble: scope.ensemble });
      return;
    }
    const dropped = this.#activations.dropAll('session-lost');
    this.#emit({ kind: 'node.session-lost', activationsDropped: dropped });
  }

  /**
   * A sharded registry moves buckets to another ensemble: finish and release every activation in
   * them (new ones are refused by the coordinator meanwhile), then acknowledge the map so the move
   * can complete. Acknowledged again after a retry until it lands.
   */
  async #onKeyspaceMoving(move: { version: number; covers(type: string, id: string): boolean }): Promise<void> {
    const leaving = [...this.#activations].filter((a) => a.status !== 'deactivated' && move.covers(a.type, a.id));
    this.logger.info({ event: 'node.keyspace-moving', version: move.version, activations: leaving.length }, `shard map ${move.version}: draining ${leaving.length} activations of moving buckets`);
    await Promise.allSettled(leaving.map((a) => a.deactivate('drained')));
    for (let attempt = 0; this.#status === 'running'; attempt++) {
      try {
        await this.options.coordinator.acknowledgeMap?.(move.version);
        return;
      } catch (err) {
        this.#reportBackgroundError('acknowledging the shard map', err);
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * 2 ** attempt)).unref());
      }
    }
  }

  #emit(event: LifecycleEventBody): void {
    this.events.emit(event);
  }

  #reportBackgroundError(what: string, err: unknown): void {
    // Logged (or a process warning without a logger); the runtime keeps going.
    if (this.#logging) this.logger.warn({ err, task: what }, `${what} failed: ${causeMessage(err)}`);
    else process.emitWarning(`highlander node ${this.name}: ${what} failed: ${causeMessage(err)}`);
  }
}
