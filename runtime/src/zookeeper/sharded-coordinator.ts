import { EventEmitter } from 'node:events';
import { CoordinatorUnavailable } from '../errors.js';
import type { AcquireOptions, AcquireResult, Coordinator, CoordinatorEvents, LockHandle, LockQueueEntry, MemberInfo } from '../coordinator.js';
import type { RequestObserver } from '../request-observer.js';
import { bucketOf } from './keyspace.js';
import { HOME_ENSEMBLE, ShardTable, composeEpoch, mapFromMarker, type ShardMap, type ShardRoute } from './shard-map.js';
import { isZkCode, Exception } from './zk-session.js';
import { ZooKeeperCoordinator, type ZooKeeperCoordinatorOptions } from './zookeeper-coordinator.js';

export interface ShardedCoordinatorOptions extends Omit<ZooKeeperCoordinatorOptions, 'shardMarker'> {
  /** The ensembles besides the home one (`connect`) and the buckets each holds (shard-map.ts). */
  shardMap: ShardMap;
}

/**
 * Lock queues spread over several ZooKeeper ensembles by bucket (shard-map.ts): a
 * {@link ZooKeeperCoordinator} per ensemble, all under the same root. Every node joins every
 * ensemble — a session and a member znode in each — and an object's lock queue lives in the
 * ensemble of its bucket:
 *
 * - **Read lease per ensemble.** `holdsLease(type, id)` is the lease of the object's ensemble, so an
 *   ensemble that loses its quorum stops only the objects of its buckets; the rest keep serving.
 * - **Session loss per ensemble.** `sessionLost` carries a scope: the node drops only the
 *   activations whose lock was in that ensemble.
 * - **Epochs** are `generation × 2⁶⁴ + czxid` (composeEpoch): totally ordered per object across a
 *   change of the map, which the S3 claim compares as integers.
 * - **Membership** is the union of the ensembles' views: a node is a member while any ensemble
 *   sees it. Placement may therefore pick a node whose session with the object's ensemble is
 *   down; its acquire then fails with `COORDINATOR_UNAVAILABLE` naming the ensemble, as a call would
 *   on an unsharded cluster whose ZooKeeper is unreachable.
 * - Every ensemble holds `<root>/shard-map` (keyspace-guard.ts `ensureShardMap`): a node with
 *   another map, or without one, does not start.
 *
 * Not done here: moving buckets while the cluster runs. A map change needs the whole cluster
 * stopped (docs/deployment.md).
 */
export class ShardedCoordinator extends EventEmitter implements Coordinator {
  #table: ShardTable;
  /** The marker text the table was built from. */
  #mapText: string;
  /** The home session under which the map was last read (and its watch armed); acquisitions need it current. */
  #mapSession: string | undefined;
  readonly #connects: Map<string, string>;
  #stopped = false;
  readonly #home: ZooKeeperCoordinator;
  readonly #byName = new Map<string, ZooKeeperCoordinator>();
  #members = new Map<string, MemberInfo>();

  constructor(options: ShardedCoordinatorOptions) {
    super();
    const { shardMap, ...zookeeper } = options;
    this.#table = new ShardTable(shardMap);
    const marker = this.#table.marker();
    this.#mapText = marker;
    this.#connects = new Map([[HOME_ENSEMBLE, zookeeper.connect], ...shardMap.shards.map((s) => [s.name, s.connect] as [string, string])]);
    this.#home = new ZooKeeperCoordinator({ ...zookeeper, shardMarker: marker });
    this.#byName.set(HOME_ENSEMBLE, this.#home);
    for (const shard of shardMap.shards) {
      this.#byName.set(shard.name, new ZooKeeperCoordinator({ ...zookeeper, connect: shard.connect, shardMarker: marker }));
    }
    for (const [ensemble, coordinator] of this.#byName) {
      coordinator.on('members', () => this.#mergeMembers());
      coordinator.on('sessionLost', () => this.emit('sessionLost', {
        ensemble, covers: (_type: string, id: string) => this.#table.route(id).ensemble === ensemble,
      }));
      coordinator.on('rejoined', () => this.emit('rejoined', ensemble));
      coordinator.on('error', (err: Error) => this.emit('error', new Error(`ensemble ${ensemble}: ${err.message}`, { cause: err })));
    }
  }

  /** The shard map in force (it changes when a move starts and ends: shard-move.ts). */
  get table(): ShardTable {
    return this.#table;
  }

  /** The ensembles' names, home first. */
  get ensembles(): string[] {
    return [...this.#byName.keys()];
  }

  /** One ensemble's coordinator (for tests and diagnostics). */
  ensemble(name: string): ZooKeeperCoordinator {
    const coordinator = this.#byName.get(name);
    if (!coordinator) throw new TypeError(`no ensemble '${name}' in the shard map (ensembles: ${this.ensembles.join(', ')})`);
    return coordinator;
  }

  /** The ensemble and generation of an object's lock queue. */
  route(id: string): ShardRoute {
    return this.#table.route(id);
  }

  observeRequests(observer: RequestObserver): () => void {
    const stops = [...this.#byName.values()].map((c) => c.observeRequests(observer));
    return () => stops.forEach((stop) => stop());
  }

  /** Joins every ensemble; if one cannot be joined, leaves the others and throws why. */
  async start(self: MemberInfo): Promise<void> {
    const started: ZooKeeperCoordinator[] = [];
    const results = await Promise.allSettled([...this.#byName].map(async ([ensemble, coordinator]) => {
      try {
        await coordinator.start(self);
        started.push(coordinator);
      } catch (err) {
        throw ensembleError(ensemble, err);
      }
    }));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.allSettled(started.map((c) => c.stop()));
      throw failed.reason;
    }
    this.#mergeMembers();
    const home = this.#home.session;
    // A renewed home session has no watch: read the map again (acquisitions wait for it meanwhile).
    home.on('renewed', () => this.#watchMap());
    home.on('connected', () => this.#watchMap());
    await this.#watchMap();
  }

  /**
   * Reads `<root>/shard-map` in the home ensemble and watches it. A new map is adopted at once;
   * one with a move under way is announced (`keyspaceMoving`) so that the node drains the moving
   * buckets and acknowledges with {@link acknowledgeMap}.
   */
  async #watchMap(): Promise<void> {
    if (this.#stopped) return;
    const session = this.#home.session;
    const sessionId = session.sessionId;
    try {
      const { data } = await session.getData(this.#home.keyspace.shardMapPath, () => void this.#watchMap());
      this.#adopt(data?.toString('utf8') ?? '');
      if (session.sessionId === sessionId) this.#mapSession = sessionId;
    } catch (err) {
      if (this.#stopped) return;
      if (!isZkCode(err, Exception.NO_NODE)) {
        // Unreachable or timed out: acquisitions stay refused until a read under the current session succeeds.
        if (!session.connected) return;
        setTimeout(() => void this.#watchMap(), 500).unref();
      }
      this.emit('error', new Error(`reading the shard map: ${(err as Error).message}`, { cause: err }));
    }
  }

  #adopt(text: string): void {
    if (text === this.#mapText) return;
    let map: ShardMap;
    try {
      map = mapFromMarker(text, this.#connects);
    } catch (err) {
      this.#mapSession = undefined;
      this.emit('error', new Error(`${(err as Error).message}; this node takes no new locks until it runs on the cluster's map`, { cause: err }));
      return;
    }
    this.#table = new ShardTable(map);
    this.#mapText = text;
    this.emit('shardMap', map);
    if (map.moving) {
      const table = this.#table;
      this.emit('keyspaceMoving', { version: map.version, covers: (_type: string, id: string) => table.isMoving(id) });
    }
  }

  /** Tells the cluster that this node runs on map `version` (after draining a move's buckets): published in its member info. */
  async acknowledgeMap(version: number): Promise<void> {
    // The mover reads acknowledgements in the home ensemble; the others learn it too, but one of them being down must not hold the move.
    await this.#home.update({ shardMap: version });
    for (const [name, coordinator] of this.#byName) {
      if (name !== HOME_ENSEMBLE) coordinator.update({ shardMap: version }).catch(() => {});
    }
  }

  /** Publishes to every ensemble; throws (after trying all) when one could not be reached. */
  async update(info: Partial<Omit<MemberInfo, 'name'>>): Promise<void> {
    const results = await Promise.allSettled([...this.#byName].map(([ensemble, c]) => c.update(info).catch((err) => {
      throw ensembleError(ensemble, err);
    })));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  members(): MemberInfo[] {
    return [...this.#members.values()];
  }

  owner(type: string, id: string): Promise<string | null> {
    const { ensemble } = this.#table.route(id);
    return this.#byName.get(ensemble)!.owner(type, id).catch((err) => {
      throw ensembleError(ensemble, err);
    });
  }

  queue(type: string, id: string): Promise<LockQueueEntry[]> {
    const { ensemble } = this.#table.route(id);
    return this.#byName.get(ensemble)!.queue(type, id).catch((err) => {
      throw ensembleError(ensemble, err);
    });
  }

  async acquire(type: string, id: string, options: AcquireOptions): Promise<AcquireResult> {
    this.#checkMayAcquire(id);
    const table = this.#table;
    const { ensemble, generation } = table.route(id);
    let result: AcquireResult;
    try {
      result = await this.#byName.get(ensemble)!.acquire(type, id, options);
    } catch (err) {
      throw ensembleError(ensemble, err);
    }
    if (!result.acquired) return result;
    if (this.#table !== table && (this.#table.isMoving(id) || this.#table.route(id).ensemble !== ensemble)) {
      // The map changed while this lock was being taken: its bucket is moving (or has moved). Give it up.
      await result.lock.release().catch(() => {});
      this.#checkMayAcquire(id);
      throw new CoordinatorUnavailable(`acquire (ensemble ${ensemble})`, new Error('the shard map changed while the lock was taken; retry'));
    }
    if (generation === 0) return result;
    return { ...result, lock: withEpoch(result.lock, composeEpoch(generation, result.lock.epoch)) };
  }

  /**
   * A lock may be taken only on the cluster's current map: read under the current home session
   * while its lease holds (a node cut off from the home ensemble may have missed a move), and not
   * in a bucket that is moving.
   */
  #checkMayAcquire(id: string): void {
    const home = this.#home;
    if (!home.holdsLease() || this.#mapSession === undefined || this.#mapSession !== home.session.sessionId) {
      throw new CoordinatorUnavailable('acquire (ensemble home)', new Error('the shard map is not confirmed with the home ensemble now; new activations wait for it'));
    }
    if (this.#table.isMoving(id)) {
      const move = this.#table.map.moving!;
      throw new CoordinatorUnavailable('acquire', new Error(`bucket ${bucketOf(id)} is moving from ${move.from} to ${move.to}; retry when the move is done`));
    }
  }

  lockBytes(type: string, id: string): number {
    return this.#byName.get(this.#table.route(id).ensemble)!.lockBytes(type, id);
  }

  /** Each ensemble's session-close transaction lists only its own locks: the lock budget holds per ensemble. */
  lockPool(_type: string, id: string): string {
    return this.#table.route(id).ensemble;
  }

  /** The oldest of the ensembles' last answers: what the node's metrics report as its coordinator's silence. */
  lastContactMs(): number {
    return Math.min(...[...this.#byName.values()].map((c) => c.lastContactMs()));
  }

  holdsLease(type?: string, id?: string): boolean {
    if (id !== undefined) return this.#byName.get(this.#table.route(id).ensemble)!.holdsLease();
    for (const coordinator of this.#byName.values()) if (!coordinator.holdsLease()) return false;
    return true;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.allSettled([...this.#byName.values()].map((c) => c.stop()));
    this.#members.clear();
  }

  override on<E extends keyof CoordinatorEvents>(event: E, listener: CoordinatorEvents[E]): this {
    return super.on(event, listener);
  }

  override off<E extends keyof CoordinatorEvents>(event: E, listener: CoordinatorEvents[E]): this {
    return super.off(event, listener);
  }

  /** The union of the ensembles' member views; the home ensemble's info wins for a node seen in several. */
  #mergeMembers(): void {
    const merged = new Map<string, MemberInfo>();
    for (const coordinator of [...this.#byName.values()].reverse()) {
      for (const member of coordinator.members()) merged.set(member.name, member);
    }
    this.#members = merged;
    this.emit('members', this.members());
  }
}

/** The lock, reporting `epoch` instead of its czxid. */
function withEpoch(lock: LockHandle, epoch: string): LockHandle {
  return {
    type: lock.type, id: lock.id, epoch, path: lock.path,
    release: () => lock.release(),
    verify: () => lock.verify(),
  };
}

/** A coordinator failure, saying which ensemble it was. */
function ensembleError(ensemble: string, err: unknown): unknown {
  if (err instanceof CoordinatorUnavailable) return new CoordinatorUnavailable(`${err.operation} (ensemble ${ensemble})`, err.cause);
  return err;
}
