import { roundMs } from '@highlander/kit';
import { objectKey, type LifecycleEvent, type MemberInfo } from '@highlander/runtime';
import type { NodeView, ObjectView } from '../contracts.js';

/** An active object as the model keeps it. */
export interface ObjectRecord extends Omit<ObjectView, 'waiting'> {
  /** Stats interval of the last rate, to let rates decay when an object goes quiet. */
  rateIntervalMs: number;
  /** Nodes waiting in the object's lock queue (from `lock.queued` events, scans and watched queues). */
  waiters: Set<string>;
}

/** A member node as the model keeps it. */
export interface MemberRecord {
  info: MemberInfo;
  /** Its event stream is connected. */
  streamConnected: boolean;
  /** From its last `stats` event. */
  callsPerSecond: number;
  /** Wall-clock ms of that event's arrival. */
  rateAt: number;
}

/** What changed in the state; the model turns it into a delta only when someone listens. */
export type StateChange =
  | { kind: 'node'; name: string }
  | { kind: 'object'; type: string; id: string; record: ObjectRecord | null };

/** How long a removed object's tombstone is kept after a scan (older replayed events are ignored meanwhile). */
export const TOMBSTONE_MS = 10 * 60_000;
/** A node's call rate counts for this long after its last `stats` event. */
const NODE_RATE_FRESH_MS = 2500;

/**
 * The cluster model's state and how lifecycle events, member listings and scans fold into it: the
 * members, the active objects (owner, epoch, rates, waiters) and the tombstones of removed ones.
 * No I/O and no clock of its own (times are passed in); every change is reported to `changed`.
 *
 * Events of different nodes arrive in any order (a new model replays every node's backlog), so an
 * activation replaces what is known only with a newer epoch (epochs are globally monotonic), and a
 * removed object's tombstone keeps an older activation from bringing it back.
 *
 * ```ts
 * const state = new ClusterState((change) => console.log(change));
 * state.applyMembers([info], Date.now());
 * state.fold(event, Date.now());
 * state.objectView(state.objects.get('todo/a')!, Date.now());
 * ```
 */
export class ClusterState {
  readonly members = new Map<string, MemberRecord>();
  readonly objects = new Map<string, ObjectRecord>();
  /**
   * Keys removed, with when and the epoch removed: a scan that started earlier must not bring them
   * back, and a replayed (older) activation from another node's backlog must not either.
   */
  readonly #removed = new Map<string, { at: number; epoch: bigint }>();

  constructor(private readonly changed: (change: StateChange) => void) {}

  // ---- members ----

  /**
   * Folds a member listing in. `started`: members new to the model, or a new process under a known
   * name (their event streams start from scratch); `gone`: names that are no longer members (remove
   * them with {@link removeMember}).
   */
  applyMembers(infos: MemberInfo[]): { started: MemberInfo[]; gone: string[] } {
    const started: MemberInfo[] = [];
    const seen = new Set<string>();
    for (const info of infos) {
      seen.add(info.name);
      const known = this.members.get(info.name);
      if (known && known.info.address === info.address && known.info.startedAt === info.startedAt) {
        known.info = info;
      } else {
        this.members.set(info.name, { info, streamConnected: false, callsPerSecond: 0, rateAt: 0 });
        started.push(info);
      }
      this.changed({ kind: 'node', name: info.name });
    }
    const gone = [...this.members.keys()].filter((name) => !seen.has(name));
    return { started, gone };
  }

  /** A member left: its locks went with its session, so its objects go now rather than at the next scan. */
  removeMember(name: string, now: number): void {
    if (!this.members.delete(name)) return;
    this.#removeOwnedBy(name, now);
    this.changed({ kind: 'node', name });
  }

  setStreamConnected(name: string, connected: boolean): void {
    const member = this.members.get(name);
    if (!member) return;
    member.streamConnected = connected;
    this.changed({ kind: 'node', name });
  }

  // ---- lifecycle events ----

  /** Folds one node's lifecycle event in; `now` is its arrival (wall-clock ms). */
  fold(event: LifecycleEvent, now: number): void {
    switch (event.kind) {
      case 'object.activated': {
        const key = objectKey(event.type, event.id);
        const epoch = BigInt(event.epoch);
        const known = this.objects.get(key);
        if (known && BigInt(known.epoch) >= epoch) break;
        const removed = this.#removed.get(key);
        if (!known && removed && removed.epoch >= epoch) break;
        this.#removed.delete(key);
        this.#put(newRecord(event.type, event.id, event.node, event.epoch, event.time));
        break;
      }
      case 'object.deactivated': {
        const o = this.objects.get(objectKey(event.type, event.id));
        if (o && o.owner === event.node && o.epoch === event.epoch) this.#remove(o, now);
        break;
      }
      case 'node.session-lost':
        // With an ensemble: one shard's session, whose objects each reported their own deactivation.
        if (event.ensemble === undefined) this.#removeOwnedBy(event.node, now);
        break;
      case 'node.down':
        this.#removeOwnedBy(event.node, now);
        break;
      case 'stats': {
        const member = this.members.get(event.node);
        if (member) {
          const calls = Object.values(event.byType).reduce((sum, t) => sum + t.calls, 0);
          member.callsPerSecond = calls / (event.intervalMs / 1000);
          member.rateAt = now;
        }
        for (const s of event.objects ?? []) {
          const o = this.objects.get(objectKey(s.type, s.id));
          if (!o || o.owner !== event.node) continue;
          o.lastCallAt = event.time;
          o.callsPerSecond = s.calls / (event.intervalMs / 1000);
          o.queueLength = s.queue;
          o.rateIntervalMs = event.intervalMs;
          this.#updated(o);
        }
        break;
      }
      case 'lock.queued': {
        const o = this.objects.get(objectKey(event.type, event.id));
        if (o && o.owner !== event.node && !o.waiters.has(event.node)) {
          o.waiters.add(event.node);
          this.#updated(o);
        }
        break;
      }
      case 'lock.acquired': {
        const o = this.objects.get(objectKey(event.type, event.id));
        if (o?.waiters.delete(event.node)) this.#updated(o);
        break;
      }
      default:
        break;
    }
  }

  /** What the source (a scan, a watched queue) says waits behind `owner`; ignored when the model knows another owner. */
  setWaiters(type: string, id: string, nodes: string[], owner: string | undefined): void {
    const o = this.objects.get(objectKey(type, id));
    if (!o || o.owner !== owner) return;
    if (nodes.length === o.waiters.size && nodes.every((n) => o.waiters.has(n))) return;
    o.waiters = new Set(nodes);
    this.#updated(o);
  }

  // ---- reconciliation (see reconciler.ts) ----

  /** Whether a scan that started at `scanStartedAt` and found `owner` at the head of the object's queue should (re)activate it. */
  missesOwner(type: string, id: string, owner: string, scanStartedAt: number): boolean {
    const key = objectKey(type, id);
    const known = this.objects.get(key);
    if (known && known.owner === owner) return false;
    const removed = this.#removed.get(key);
    return removed === undefined || removed.at < scanStartedAt;
  }

  /** An object the events did not tell about, found by a scan: active since its owner's lock entry was created. */
  addScanned(type: string, id: string, owner: string, epoch: string, activeSince: number): void {
    this.#put(newRecord(type, id, owner, epoch, activeSince));
  }

  /**
   * Drops the objects a scan did not find (`found`: their keys), unless activated after it began
   * (their locks may postdate its listing); forgets tombstones older than {@link TOMBSTONE_MS} before it.
   */
  forgetUnscanned(found: Set<string>, scanStartedAt: number): void {
    for (const [key, o] of this.objects) {
      if (!found.has(key) && o.activeSince < scanStartedAt) {
        this.objects.delete(key);
        this.changed({ kind: 'object', type: o.type, id: o.id, record: null });
      }
    }
    // Tombstones outlive a scan by a while: another node's backlog may still replay older events.
    for (const [key, removed] of this.#removed) if (removed.at < scanStartedAt - TOMBSTONE_MS) this.#removed.delete(key);
  }

  // ---- views ----

  /** The active objects that have nodes waiting in their lock queue (as far as the model knows). */
  *objectsWithWaiters(): Iterable<ObjectRecord> {
    for (const o of this.objects.values()) if (o.waiters.size > 0) yield o;
  }

  objectView(o: ObjectRecord, now: number): ObjectView {
    // A rate is for the interval it was measured in; an object quiet since then is at 0.
    const fresh = o.lastCallAt !== null && now - o.lastCallAt < 2 * o.rateIntervalMs + 500;
    return {
      type: o.type, id: o.id, owner: o.owner, epoch: o.epoch, activeSince: o.activeSince, lastCallAt: o.lastCallAt,
      callsPerSecond: fresh ? roundMs(o.callsPerSecond) : 0, queueLength: fresh ? o.queueLength : 0, waiting: o.waiters.size,
    };
  }

  nodeView(name: string, now: number): NodeView | undefined {
    const m = this.members.get(name);
    if (!m) return undefined;
    let activations = 0;
    for (const o of this.objects.values()) if (o.owner === name) activations++;
    return {
      name,
      address: m.info.address,
      pid: m.info.pid,
      startedAt: m.info.startedAt,
      uptimeMs: Math.max(0, now - m.info.startedAt),
      status: m.info.draining ? 'draining' : m.streamConnected ? 'up' : 'unreachable',
      activations,
      full: m.info.full === true,
      callsPerSecond: roundMs(this.nodeRate(m, now)),
    };
  }

  /** A member's calls per second from its last `stats` event, or 0 when that is stale. */
  nodeRate(m: MemberRecord, now: number): number {
    return now - m.rateAt < NODE_RATE_FRESH_MS ? m.callsPerSecond : 0;
  }

  // ---- helpers ----

  #put(record: ObjectRecord): void {
    this.objects.set(objectKey(record.type, record.id), record);
    this.#updated(record);
  }

  #updated(o: ObjectRecord): void {
    this.changed({ kind: 'object', type: o.type, id: o.id, record: o });
  }

  #remove(o: ObjectRecord, now: number): void {
    this.objects.delete(objectKey(o.type, o.id));
    this.#removed.set(objectKey(o.type, o.id), { at: now, epoch: BigInt(o.epoch) });
    this.changed({ kind: 'object', type: o.type, id: o.id, record: null });
  }

  #removeOwnedBy(node: string, now: number): void {
    for (const o of this.objects.values()) if (o.owner === node) this.#remove(o, now);
  }
}

function newRecord(type: string, id: string, owner: string, epoch: string, activeSince: number): ObjectRecord {
  return { type, id, owner, epoch, activeSince, lastCallAt: null, callsPerSecond: 0, queueLength: 0, rateIntervalMs: 1000, waiters: new Set() };
}
