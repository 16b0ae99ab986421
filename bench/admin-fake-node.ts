import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { MemberInfo } from '@highlander/runtime';
import { EventLog } from '@highlander/runtime';
import { NodeStopping } from '@highlander/runtime';
import { PeerServer } from '@highlander/runtime/transport';
import { forEachBounded } from '@highlander/kit';
import { CreateMode, Exception, Keyspace, ZkSession, allBuckets, czxidOf, ensureBucket, ensureKeyspaceLayout, isZkCode } from '@highlander/runtime/zookeeper';

/**
 * One Highlander node simulated at the protocol level, for the admin API benchmarks.
 *
 * Why simulated: what is under test is the admin API, and a real node activates only ~200 objects/s
 * on the reference box (each activation is an S3 GET and a claim PUT on radosgw), so the 100,000
 * active objects of the issue would take about 8 minutes to build per benchmark. A fake node skips
 * S3 and the object code, and shows the admin API exactly what a real node shows it:
 *
 * - its member znode `<root>/nodes/<name>` (EPHEMERAL, the JSON `MemberInfo` the runtime writes,
 *   `activations` refreshed every 2 s when it changed, as the runtime's load report does);
 * - the runtime's own `PeerServer` and `EventLog` (so `/events?since=N` answers byte for byte like a
 *   node: the backlog, then one `{t:'event'}` message per event, a gap-free per-node `seq`, a
 *   10,000-event ring); calls on `/peer` are refused with NODE_STOPPING;
 * - real lock znodes `<root>/objects/<type>/<bucket>/<id>/lock-<node>-<sessionhex>-<nonce>-<seq>`
 *   (keyspace.ts; every bucket of its types is created up front)
 *   (EPHEMERAL_SEQUENTIAL, created with their persistent parent in one multi, deleted with it in
 *   one multi, as runtime/src/zookeeper/lock-queue.ts does), and per activation the events
 *   `lock.acquired` and `object.activated` carrying the lock znode's czxid as epoch; per
 *   deactivation `lock.released` and `object.deactivated`.
 *
 * One difference, for speed: `activateBatch` creates many objects' locks in one multi (a real node
 * sends one multi per activation), so the objects of a batch share one czxid as their epoch. The
 * admin API compares epochs only per object, so it cannot tell; `churn` activates one object per
 * multi, each with its own epoch.
 *
 * Not simulated: S3 (nothing is persisted, so the admin API's listing of persisted objects finds
 * none), `stats` events (nothing is called), `node.joined`/`node.left`, and the node's admin HTTP
 * endpoints (evict, migrate, drain, inspect), which these benchmarks do not use.
 */

export interface FakeNodeOptions {
  connect: string;
  root: string;
  name: string;
  /** Type znodes `<root>/objects/<type>` to create up front. */
  types: readonly string[];
  /** @default 10000 */
  sessionTimeoutMs?: number;
}

export interface FakeObject {
  type: string;
  id: string;
}

interface HeldLock extends FakeObject {
  parent: string;
  path: string;
  epoch: string;
  activatedAtMs: number;
  activeSince: number;
}

/** What the admin API's object view of a fake object is built from. */
export interface HeldObject extends FakeObject {
  owner: string;
  epoch: string;
  activeSince: number;
}

/** The runtime's default `loadReportIntervalMs`. */
const LOAD_REPORT_INTERVAL_MS = 2000;

export class FakeNode {
  readonly name: string;
  readonly events: EventLog;
  readonly #options: FakeNodeOptions;
  readonly #keyspace: Keyspace;
  readonly #session: ZkSession;
  readonly #server: PeerServer;
  readonly #info: MemberInfo;
  /** Active objects, oldest activation first (Map keeps insertion order). */
  readonly #held = new Map<string, HeldLock>();
  /** Keys whose deactivation is in flight. */
  readonly #leaving = new Set<string>();
  #publishedActivations = 0;
  #loadTimer: NodeJS.Timeout | undefined;

  private constructor(options: FakeNodeOptions, session: ZkSession, server: PeerServer, events: EventLog) {
    this.#options = options;
    this.#keyspace = new Keyspace(options.root);
    this.name = options.name;
    this.#session = session;
    this.#server = server;
    this.events = events;
    this.#info = {
      name: options.name, address: `ws://127.0.0.1:${server.port}`, pid: process.pid, startedAt: Date.now(), activations: 0, draining: false,
    };
  }

  static async start(options: FakeNodeOptions): Promise<FakeNode> {
    const events = new EventLog(options.name);
    const session = await ZkSession.open({ connect: options.connect, sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000 });
    let server: PeerServer | undefined;
    try {
      server = await PeerServer.listen({
        host: '127.0.0.1',
        port: 0,
        // The runtime's default for a 1 MiB state limit (2 × state + 1 MiB).
        maxPayloadBytes: 3 * 1024 * 1024,
        events,
        onRequest: async () => ({ t: 'err', error: new NodeStopping(options.name).serialize() }),
      });
      const node = new FakeNode(options, session, server, events);
      const keyspace = node.#keyspace;
      await ensureKeyspaceLayout(session, keyspace);
      await session.mkdirp(keyspace.nodesPath);
      const buckets = options.types.flatMap((type) => allBuckets().map((bucket) => ({ type, bucket })));
      await forEachBounded(buckets, 256, ({ type, bucket }) => ensureBucket(session, keyspace, type, bucket));
      await session.create(keyspace.memberPath(options.name), Buffer.from(JSON.stringify(node.#info)), CreateMode.EPHEMERAL);
      node.#loadTimer = setInterval(() => node.#publishLoad(), LOAD_REPORT_INTERVAL_MS);
      events.emit({ kind: 'node.up', address: node.address });
      return node;
    } catch (err) {
      await server?.close();
      session.close();
      throw err;
    }
  }

  get address(): string {
    return this.#info.address;
  }

  get activations(): number {
    return this.#held.size;
  }

  /** The active objects, for the baseline views. */
  held(): HeldObject[] {
    return [...this.#held.values()].map((h) => ({ type: h.type, id: h.id, owner: this.name, epoch: h.epoch, activeSince: h.activeSince }));
  }

  /**
   * A `stats` event as the runtime's housekeeping sends it, listing `listed` of the held objects
   * (picked at random, busiest first) with random calls, errors, p99, mailbox length and state size.
   */
  emitStats(listed: number, intervalMs: number): void {
    const held = [...this.#held.values()];
    const objects: Array<{ type: string; id: string; calls: number; queue: number; errors: number; p99Ms: number; stateBytes: number }> = [];
    for (let i = 0; i < Math.min(listed, held.length); i++) {
      const h = held[Math.floor(Math.random() * held.length)]!;
      const calls = 1 + Math.floor(Math.random() ** 3 * 500);
      objects.push({
        type: h.type, id: h.id, calls, queue: Math.floor(Math.random() ** 4 * 20), errors: Math.random() < 0.05 ? Math.floor(Math.random() * calls) : 0,
        p99Ms: Math.round(Math.random() ** 2 * 2000) / 10, stateBytes: Math.floor(Math.random() * 64_000),
      });
    }
    objects.sort((a, b) => b.calls - a.calls);
    const byType: Record<string, { calls: number; errors: number; rejected: number; p50Ms: number; p99Ms: number }> = {};
    for (const o of objects) {
      const t = (byType[o.type] ??= { calls: 0, errors: 0, rejected: 0, p50Ms: 1, p99Ms: 10 });
      t.calls += o.calls;
      t.errors += o.errors;
    }
    this.events.emit({ kind: 'stats', intervalMs, activations: held.length, byType, objects, objectsOmitted: Math.max(0, held.length - objects.length) });
  }

  /** The oldest `count` active objects not being deactivated already (the next ones `churn` deactivates). */
  oldest(count: number): FakeObject[] {
    const out: FakeObject[] = [];
    for (const [key, h] of this.#held) {
      if (out.length >= count) break;
      if (!this.#leaving.has(key)) out.push({ type: h.type, id: h.id });
    }
    return out;
  }

  /**
   * Activates `objects` (none held here or elsewhere): one multi creating each lock parent and lock
   * znode, one exists for the batch's czxid, then `lock.acquired` and `object.activated` per object.
   */
  async activateBatch(objects: readonly FakeObject[], emitEvents = true): Promise<void> {
    if (objects.length === 0) return;
    const started = performance.now();
    const plan = objects.map((o) => {
      const parent = this.#keyspace.lockParent(o.type, o.id);
      return { ...o, parent, prefix: `${parent}/lock-${this.name}-${this.#session.sessionId}-${randomBytes(4).toString('hex')}-` };
    });
    const results = await this.#session.multi(plan[0]!.parent, (tx) => {
      for (const p of plan) {
        tx.create(p.parent, CreateMode.PERSISTENT);
        tx.create(p.prefix, CreateMode.EPHEMERAL_SEQUENTIAL);
      }
    });
    const firstLock = results[1]?.path;
    if (!firstLock) throw new Error(`multi create under ${plan[0]!.parent} returned no lock path`);
    const stat = await this.#session.exists(firstLock);
    if (!stat) throw new Error(`lock ${firstLock} vanished right after its creation`);
    const epoch = czxidOf(stat);
    const activeSince = Number(Buffer.from(stat.ctime).readBigInt64BE(0));
    const loadMs = Math.round((performance.now() - started) * 1000) / 1000;
    const now = performance.now();
    plan.forEach((p, i) => {
      const path = results[2 * i + 1]?.path;
      if (!path) throw new Error(`multi create under ${p.parent} returned no lock path`);
      this.#held.set(`${p.type}/${p.id}`, { type: p.type, id: p.id, parent: p.parent, path, epoch, activatedAtMs: now, activeSince });
      if (!emitEvents) return;
      this.events.emit({ kind: 'lock.acquired', type: p.type, id: p.id, epoch, waitedMs: 0 });
      this.events.emit({ kind: 'object.activated', type: p.type, id: p.id, epoch, version: 0, stored: false, loadMs });
    });
  }

  /**
   * Deactivates held objects: one multi deleting each lock znode and its parent, then
   * `lock.released` and `object.deactivated` per object (unless `emitEvents` is false: cleanup).
   */
  async deactivateBatch(objects: readonly FakeObject[], emitEvents = true): Promise<void> {
    const locks = objects.map((o) => this.#held.get(`${o.type}/${o.id}`)).filter((h): h is HeldLock => h !== undefined);
    if (locks.length === 0) return;
    for (const h of locks) this.#leaving.add(`${h.type}/${h.id}`);
    try {
      await this.#session.multi(locks[0]!.parent, (tx) => {
        for (const h of locks) {
          tx.remove(h.path, -1);
          tx.remove(h.parent, -1);
        }
      });
    } finally {
      for (const h of locks) this.#leaving.delete(`${h.type}/${h.id}`);
    }
    const now = performance.now();
    for (const h of locks) {
      this.#held.delete(`${h.type}/${h.id}`);
      if (!emitEvents) continue;
      this.events.emit({ kind: 'lock.released', type: h.type, id: h.id, epoch: h.epoch });
      this.events.emit({ kind: 'object.deactivated', type: h.type, id: h.id, epoch: h.epoch, reason: 'idle', activeMs: Math.round(now - h.activatedAtMs) });
    }
  }

  /** Publishes the activation count in the member znode now (the runtime does it every 2 s when it changed). */
  async publishLoad(): Promise<void> {
    const count = this.#held.size;
    if (count === this.#publishedActivations) return;
    this.#info.activations = count;
    await this.#session.setData(`${this.#options.root}/nodes/${this.name}`, Buffer.from(JSON.stringify(this.#info)));
    this.#publishedActivations = count;
  }

  /**
   * Deletes every lock znode and lock parent it holds (many multis in flight, no events: this is
   * cleanup, not a simulated drain), then its member znode, and closes its server and session.
   */
  async stop(batchSize: number, inFlight: number): Promise<void> {
    clearInterval(this.#loadTimer);
    const all: FakeObject[] = [...this.#held.values()];
    let next = 0;
    const worker = async () => {
      while (next < all.length) {
        const batch = all.slice(next, next + batchSize);
        next += batchSize;
        await this.deactivateBatch(batch, false);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    this.events.emit({ kind: 'node.down', reason: 'shutdown' });
    await this.#session.remove(this.#keyspace.memberPath(this.name)).catch((err) => {
      // Already gone: nothing else removes it, but a retry of stop() may have.
      if (!isZkCode(err, Exception.NO_NODE)) throw err;
    });
    await this.#server.close();
    this.#session.close();
  }

  #publishLoad(): void {
    this.publishLoad().catch((err) => {
      console.error(`fake node ${this.name}: publishing its load failed: ${(err as Error).message}`);
    });
  }
}
