import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { CoordinatorUnavailable, KeyspaceLayoutMismatch, NodeNameTaken, ShardMapMismatch } from '../errors.js';
import type { AcquireOptions, AcquireResult, Coordinator, CoordinatorEvents, LockQueueEntry, MemberInfo } from '../coordinator.js';
import { RequestObservers, type RequestObserver } from '../request-observer.js';
import { Keyspace } from './keyspace.js';
import { ensureKeyspaceLayout, ensureShardMap } from './keyspace-guard.js';
import { LockQueue } from './lock-queue.js';
import { MembershipWatch } from './membership-watch.js';
import { CreateMode, Exception, ZkSession, isZkCode } from './zk-session.js';

export interface ZooKeeperCoordinatorOptions {
  /** Comma-separated `host:port` list, e.g. `127.0.0.1:2181,127.0.0.1:2182`. */
  connect: string;
  /**
   * Root znode of this cluster; several clusters can share one ZooKeeper.
   * @default '/highlander'
   */
  root?: string;
  /**
   * ZooKeeper session timeout. Failover after a crash takes about this long.
   * @default 10000
   */
  sessionTimeoutMs?: number;
  /**
   * Give up on one ZooKeeper request after this long.
   * @default 5000
   */
  requestTimeoutMs?: number;
  /**
   * How long `start()` waits for a previous holder of the node name (a crashed process whose
   * session has not expired yet) before failing with `NodeNameTaken`.
   * @default 2 × sessionTimeoutMs
   */
  nameWaitMs?: number;
  /**
   * Fraction of the session timeout, counted from the last request ZooKeeper answered, during which
   * this node may serve calls (the read lease). Lower is safer under clock-rate drift.
   * @default 0.66
   */
  readLeaseFraction?: number;
  /**
   * In a sharded cluster: the shard map's marker (`ShardTable.marker()`) that `<root>/shard-map`
   * must hold in this ensemble. Absent: the cluster must not be sharded (see `ensureShardMap`).
   * Set by `ShardedCoordinator`.
   */
  shardMarker?: string;
}

/** The defaults of {@link ZooKeeperCoordinatorOptions} (nameWaitMs: twice the session timeout). */
export const ZOOKEEPER_DEFAULTS = {
  root: '/highlander',
  sessionTimeoutMs: 10_000,
  requestTimeoutMs: 5_000,
  readLeaseFraction: 0.66,
} as const;

/**
 * Membership and lock queues on ZooKeeper:
 * `<root>/nodes/<name>` (ephemeral, the node's info as JSON) and
 * `<root>/objects/<type>/<bucket>/<id>/lock-…` (the lock queue, see {@link LockQueue}; the layout is
 * keyspace.ts's). `start()` refuses a root in another layout (`KeyspaceLayoutMismatch`, keyspace-guard.ts).
 * Holds one children watch on `<root>/nodes` and one data watch per member; none per object.
 */
export class ZooKeeperCoordinator extends EventEmitter implements Coordinator {
  readonly root: string;
  readonly keyspace: Keyspace;
  readonly options: Required<Omit<ZooKeeperCoordinatorOptions, 'root' | 'shardMarker'>>;
  readonly #shardMarker: string | undefined;
  #session: ZkSession | undefined;
  #locks: LockQueue | undefined;
  #self: MemberInfo | undefined;
  #members = new Map<string, MemberInfo>();
  #stopped = false;
  #sweeper: NodeJS.Timeout | undefined;
  #watch: MembershipWatch | undefined;
  #observers = new RequestObservers();

  constructor(options: ZooKeeperCoordinatorOptions) {
    super();
    if (!options.connect) throw new TypeError('ZooKeeperCoordinator: connect (a host:port list) is required');
    const root = options.root ?? ZOOKEEPER_DEFAULTS.root;
    if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(root)) throw new TypeError(`ZooKeeperCoordinator: root must be an absolute znode path like '/highlander' (got '${root}')`);
    this.root = root;
    this.keyspace = new Keyspace(root);
    const sessionTimeoutMs = options.sessionTimeoutMs ?? ZOOKEEPER_DEFAULTS.sessionTimeoutMs;
    this.options = {
      connect: options.connect,
      sessionTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs ?? ZOOKEEPER_DEFAULTS.requestTimeoutMs,
      nameWaitMs: options.nameWaitMs ?? 2 * sessionTimeoutMs,
      readLeaseFraction: options.readLeaseFraction ?? ZOOKEEPER_DEFAULTS.readLeaseFraction,
    };
    this.#shardMarker = options.shardMarker;
    if (!(this.options.readLeaseFraction > 0 && this.options.readLeaseFraction < 1)) {
      throw new TypeError(`ZooKeeperCoordinator: readLeaseFraction must be between 0 and 1 (got ${this.options.readLeaseFraction})`);
    }
  }

  /** The underlying session (for tests and diagnostics). */
  get session(): ZkSession {
    if (!this.#session) throw new CoordinatorUnavailable('session', new Error('coordinator not started'));
    return this.#session;
  }

  /**
   * Tells `observer` about every ZooKeeper request (the node's metrics use it): operation, duration,
   * error code. Returns the function that stops it.
   */
  observeRequests(observer: RequestObserver): () => void {
    return this.#observers.add(observer);
  }

  async start(self: MemberInfo): Promise<void> {
    this.#self = { ...self };
    const session = await ZkSession.open({
      connect: this.options.connect,
      sessionTimeoutMs: this.options.sessionTimeoutMs,
      requestTimeoutMs: this.options.requestTimeoutMs,
      observe: (sample) => this.#observers.notify(sample),
    });
    this.#session = session;
    this.#locks = new LockQueue(session, this.keyspace, self.name);
    // Re-arms its watches itself after a renewed session.
    this.#watch = new MembershipWatch(session, {
      root: this.root,
      onMembers: (members) => {
        this.#members = new Map(members.map((m) => [m.name, m]));
        this.emit('members', this.members());
      },
      // Retried with backoff by the watch; reported so that a node's log shows why its membership view is stale.
      onError: (err) => this.emit('error', err),
    });
    session.on('expired', () => this.emit('sessionLost'));
    session.on('connected', () => this.#sweep());
    this.#sweeper = setInterval(() => this.#sweep(), 2000);
    this.#sweeper.unref();
    session.on('renewed', () => {
      if (this.#stopped) return;
      this.#join().then(() => this.emit('rejoined'), (err) => this.emit('error', err));
    });
    try {
      await ensureKeyspaceLayout(session, this.keyspace);
      await session.mkdirp(this.keyspace.nodesPath);
      await ensureShardMap(session, this.keyspace, this.#shardMarker);
      await this.#join();
    } catch (err) {
      session.close();
      throw err instanceof NodeNameTaken || err instanceof KeyspaceLayoutMismatch || err instanceof ShardMapMismatch ? err : new CoordinatorUnavailable('join cluster', err);
    }
  }

  async update(info: Partial<Omit<MemberInfo, 'name'>>): Promise<void> {
    if (!this.#self) return;
    this.#self = { ...this.#self, ...info };
    try {
      await this.session.setData(this.#memberPath(this.#self.name), Buffer.from(JSON.stringify(this.#self)));
    } catch (err) {
      throw new CoordinatorUnavailable('publish node info', err);
    }
  }

  members(): MemberInfo[] {
    return [...this.#members.values()];
  }

  owner(type: string, id: string): Promise<string | null> {
    return this.#lockQueue().owner(type, id);
  }

  queue(type: string, id: string): Promise<LockQueueEntry[]> {
    return this.#lockQueue().queue(type, id);
  }

  acquire(type: string, id: string, options: AcquireOptions): Promise<AcquireResult> {
    return this.#lockQueue().acquire(type, id, options);
  }

  lockBytes(type: string, id: string): number {
    // <lock parent>/lock-<node>-<16-hex session>-<8-hex nonce>-<10-digit sequence> (lock-queue.ts), as the
    // session-close transaction lists it: its UTF-8 bytes after a 4-byte length.
    const node = this.#self?.name ?? '';
    return Buffer.byteLength(this.keyspace.lockParent(type, id)) + Buffer.byteLength(node) + '/lock-'.length + 1 + 16 + 1 + 8 + 1 + 10 + 4;
  }

  lastContactMs(): number {
    return this.#session?.lastContactMs ?? -Infinity;
  }

  /**
   * Valid while connected, and for `readLeaseFraction` of the negotiated session timeout after the
   * send time of the last request ZooKeeper answered. The server cannot expire the session sooner than a full timeout
   * after that send; the rest is margin for clock-rate drift between this process and the server.
   */
  holdsLease(): boolean {
    const session = this.#session;
    // Disconnected: serve nothing until connected again. The session may be alive (then the lease
    // resumes at once), or may be being closed by someone else (a forced expiry takes the connection
    // first): waiting out the lease there would serve reads beside a newer owner.
    if (!session || this.#stopped || !session.connected) return false;
    return performance.now() - session.lastContactMs < session.negotiatedTimeoutMs * this.options.readLeaseFraction;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#sweeper);
    const session = this.#session;
    if (!session) return;
    // Leave no lock parents behind: znodes of uncertain creates go with the session, their parents would not.
    if (session.connected) await this.#locks?.sweepOrphans().catch(() => {});
    if (this.#self && session.connected) {
      // Delete our member znode explicitly so peers see us leave at once, not after the session timeout.
      await session.remove(this.#memberPath(this.#self.name)).catch(() => {
        // Gone already (expired session) or unreachable: closing the session removes it anyway.
      });
    }
    this.#watch?.stop();
    session.close();
    this.#members.clear();
  }

  override on<E extends keyof CoordinatorEvents>(event: E, listener: CoordinatorEvents[E]): this {
    return super.on(event, listener);
  }

  override off<E extends keyof CoordinatorEvents>(event: E, listener: CoordinatorEvents[E]): this {
    return super.off(event, listener);
  }

  #sweep(): void {
    if (this.#stopped || !this.#locks || this.#locks.orphanCount === 0 || !this.#session?.connected) return;
    this.#locks.sweepOrphans().catch((err) => this.emit('error', err));
  }

  #lockQueue(): LockQueue {
    if (!this.#locks) throw new CoordinatorUnavailable('lock queue', new Error('coordinator not started'));
    return this.#locks;
  }

  #memberPath(name: string): string {
    return this.keyspace.memberPath(name);
  }

  /** Creates our member znode, waiting for a previous holder of the name to expire. */
  async #join(): Promise<void> {
    const self = this.#self!;
    const session = this.session;
    const path = this.#memberPath(self.name);
    const started = performance.now();
    for (;;) {
      try {
        await session.create(path, Buffer.from(JSON.stringify(self)), CreateMode.EPHEMERAL);
        break;
      } catch (err) {
        if (!isZkCode(err, Exception.NODE_EXISTS)) throw err;
        const stat = await session.exists(path);
        // Ours already: a create whose answer was lost, or a rejoin racing the old session's cleanup.
        if (stat && Buffer.from(stat.ephemeralOwner).toString('hex') === session.sessionId) break;
        const waited = performance.now() - started;
        if (waited > this.options.nameWaitMs) throw new NodeNameTaken(self.name, Math.round(waited));
        await session.waitForDeletion(path, 500).catch(() => {
          // Could not ask: look again on the next round, until nameWaitMs.
        });
      }
    }
    await this.#watch!.start();
  }
}
