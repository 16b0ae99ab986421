import { raceTimeout } from '@highlander/kit';
import type { NodeProcess } from '../../../scripts/cluster.js';
import { hold } from '../../harness/timing.js';
import type { History, Issuer, ObjectKind, Op, OpName } from './history.js';

/**
 * Concurrent clients in the test process: each loop picks an object and a live node process at random
 * and sends one call at a time through it — `increment` on a tally, `add` of a unique element to a
 * bag, `write` of a unique value or `cas` from the last value seen to a unique one on a register, or
 * a `read` of any — recording every call in the history. Faults take node processes out of
 * the pool (killed, paused) and put them back.
 */

export interface WorkloadOptions {
  clients: number;
  objects: Array<{ type: ObjectKind; id: string }>;
  /** Share of calls that are reads. */
  readRatio: number;
  callTimeoutMs: number;
  /** A client waits about this long after a call that did not succeed, and while no node is in its pool (timing.faultClientPauseMs). */
  errorPauseMs: number;
}

export class Workload {
  #objects: Array<{ type: ObjectKind; id: string }>;
  #pool: NodeProcess[];
  #running = false;
  #loops: Promise<void>[] = [];
  #inflight = new Set<Promise<Op>>();
  #elements = 0;
  #written = 0;
  /** The last value seen of each register (read, written or swapped in): what a `cas` expects. */
  #lastSeen = new Map<string, string | null>();

  constructor(readonly history: History, nodes: readonly NodeProcess[], private readonly options: WorkloadOptions) {
    this.#objects = [...options.objects];
    this.#pool = [...nodes];
  }

  get objects(): ReadonlyArray<{ type: ObjectKind; id: string }> {
    return this.#objects;
  }

  /** Node processes calls may go through. */
  get pool(): readonly NodeProcess[] {
    return this.#pool;
  }

  start(): void {
    this.#running = true;
    for (let client = 0; client < this.options.clients; client++) this.#loops.push(this.#loop(client));
  }

  /** Stops the clients and waits (at most `waitMs`) for their calls in flight; those left never answered. */
  async stop(waitMs: number): Promise<void> {
    this.#running = false;
    await raceTimeout(waitMs, Promise.all([...this.#loops, ...this.#inflight]));
  }

  /** Takes a node out of the pool (killed, paused, restarting). */
  exclude(node: NodeProcess): void {
    this.#pool = this.#pool.filter((n) => n !== node);
  }

  include(node: NodeProcess): void {
    if (!this.#pool.includes(node)) this.#pool.push(node);
  }

  addObjects(objects: Array<{ type: ObjectKind; id: string }>): void {
    this.#objects.push(...objects);
  }

  /** Sends one call and records it; never rejects. */
  send(issuer: Issuer, node: NodeProcess, type: ObjectKind, id: string, name: OpName, timeoutMs = this.options.callTimeoutMs): Promise<Op> {
    const key = `${type}/${id}`;
    const fields: Partial<Op> = {};
    let arg: unknown = null;
    if (name === 'add') arg = fields.element = `e${this.#elements++}`;
    if (name === 'write') arg = fields.written = `v${this.#written++}`;
    if (name === 'cas') {
      fields.expected = this.#lastSeen.get(key) ?? null;
      fields.written = `v${this.#written++}`;
      arg = { expected: fields.expected, next: fields.written };
    }
    const op = this.history.invoke({ issuer, type, id, name, via: node.name, ...fields });
    const done = node.call(type, id, name, arg, timeoutMs).then(
      (reply) => {
        this.history.ok(op, reply);
        if (op.read !== undefined) this.#lastSeen.set(key, op.read);
        if (name === 'write' || op.swapped) this.#lastSeen.set(key, op.written!);
        return op;
      },
      (err: unknown) => {
        this.history.failed(op, err);
        return op;
      },
    );
    this.#inflight.add(done);
    void done.then(() => this.#inflight.delete(done));
    return done;
  }

  async #loop(client: number): Promise<void> {
    const pause = this.options.errorPauseMs;
    while (this.#running) {
      const node = pick(this.#pool.filter((n) => n.running));
      const object = pick(this.#objects);
      if (!node || !object) {
        await hold(pause);
        continue;
      }
      const name: OpName = Math.random() < this.options.readRatio ? 'read' : UPDATES[object.type][Math.floor(Math.random() * UPDATES[object.type].length)]!;
      const op = await this.send(client, node, object.type, object.id, name);
      if (op.outcome !== 'ok') await hold(pause / 2 + Math.random() * pause);
    }
  }
}

/** The updates a client sends to each kind of object, picked evenly. */
const UPDATES: Record<ObjectKind, OpName[]> = { tally: ['increment'], bag: ['add'], register: ['write', 'cas'] };

function pick<T>(list: readonly T[]): T | undefined {
  return list.length === 0 ? undefined : list[Math.floor(Math.random() * list.length)];
}
