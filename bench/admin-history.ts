import { appendFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ObjectHistory, type HistoryEntry } from '@highlander/admin-api';
import type { LifecycleEvent } from '@highlander/runtime';
import { FAKE_NODES, FAKE_TYPES } from './admin-cluster.js';
import { adminObjects } from './admin-settings.js';
import type { Benchmark } from './benchmark.js';
import { formatMiB, formatNumber, rates } from './stats.js';

/** Activations of each object per run of `admin-history-record`: each an `object.activated` and an `object.deactivated`. */
const ROUNDS = 2;
/** Entries the query asks for (the dashboard's page). */
const QUERY_LIMIT = 100;
/** Entries per object in the history `admin-history-query` reads (2 × 100k = the default total bound). */
const ENTRIES_PER_OBJECT = 2;

/**
 * The cost of the admin API's ownership history (admin-api/src/object-history.ts, the class the
 * model records into) at `--admin-objects` (100,000) objects on 5 nodes: every object activated and
 * deactivated twice (400,000 lifecycle events at 100k), recorded into a history on a file in a temp
 * dir with the default bounds, until the last line is written (`flush`), compactions included. The
 * figure is events recorded per second.
 *
 * Baseline, same run and events: the same JSON lines (one per entry version) built and appended to
 * a file by hand with `fs.appendFile` in the same batches, and the entries kept in a Map by object —
 * what the history does, without its folding, bounds, de-duplication and compaction.
 */
export const adminHistoryRecord: Benchmark = {
  name: 'admin-history-record',
  title: () => `ownership history: lifecycle events recorded (activated + deactivated, ${ROUNDS} activations of each of ${formatNumber(adminObjects)} objects), to the file`,
  unit: 'events/s',
  baselineTitle: 'the same JSON lines appended to a file by hand with fs + a Map of entries per object, in the bench process',
  baselineUnit: 'events/s',
  // Folding, bounds and de-duplication may cost, but never more than the raw append three times over.
  target: { of: 'ratio', comparison: '>=', value: 0.33, label: '≥ 0.33x of appending by hand' },

  async setup() {
    const events = prepareEvents();
    const dir = await mkdtemp(join(tmpdir(), 'highlander-bench-history-'));
    return {
      async measure(run) {
        const path = join(dir, `history-${run}.jsonl`);
        const started = performance.now();
        const history = await ObjectHistory.open({ path });
        for (let i = 0; i < events.length; i++) {
          history.record(events[i]!);
          // The model records as events arrive; the history writes every 200 ms meanwhile. Here, a batch every 10,000.
          if (i % 10_000 === 9_999) await history.flush();
        }
        await history.flush();
        const recordMs = performance.now() - started;
        await history.close();
        const bytes = (await stat(path)).size;
        const loadStarted = performance.now();
        const reopened = await ObjectHistory.open({ path });
        const loadMs = performance.now() - loadStarted;
        const kept = reopened.size;
        await reopened.close();

        const handPath = join(dir, `by-hand-${run}.jsonl`);
        const handStarted = performance.now();
        await byHand(events, handPath);
        const handMs = performance.now() - handStarted;
        return {
          figure: (events.length / recordMs) * 1000,
          baseline: (events.length / handMs) * 1000,
          details: [
            `${formatNumber((recordMs * 1000) / events.length)} µs per event (${formatNumber(events.length)} events in ${formatNumber(recordMs)} ms); by hand ${formatNumber((handMs * 1000) / events.length)} µs`,
            `file after the run: ${formatMiB(bytes)}, ${formatNumber(kept)} entries kept; read back on open (a restart) in ${formatNumber(loadMs)} ms`,
          ],
        };
      },
      async close() {
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
};

/**
 * Answering one object's history (the newest 100 entries) from a history of `--admin-objects`
 * (100,000) objects with 2 entries each (200,000, the default total bound), read back from its
 * file: the figure is queries per second, in this process (HTTP is not included: it is the same for
 * every route).
 *
 * Baseline, same run and objects: the same entries, already built, in a Map by object key; a lookup
 * and the newest 100 copied out, newest first.
 */
export const adminHistoryQuery: Benchmark = {
  name: 'admin-history-query',
  title: () => `ownership history: one object's newest ${QUERY_LIMIT} entries answered, ${formatNumber(adminObjects * ENTRIES_PER_OBJECT)} entries of ${formatNumber(adminObjects)} objects kept`,
  unit: 'queries/s',
  baselineTitle: 'a Map lookup of the same entries + the newest 100 copied out, in the bench process',
  baselineUnit: 'queries/s',
  target: { of: 'ratio', comparison: '>=', value: 0.5, label: '≥ 0.5x of a Map lookup' },

  async setup(context) {
    const dir = await mkdtemp(join(tmpdir(), 'highlander-bench-history-'));
    const path = join(dir, 'history.jsonl');
    const writer = await ObjectHistory.open({ path });
    const events = prepareEvents(ENTRIES_PER_OBJECT);
    for (let i = 0; i < events.length; i++) {
      writer.record(events[i]!);
      if (i % 10_000 === 9_999) await writer.flush();
    }
    await writer.close();
    const history = await ObjectHistory.open({ path });
    // The same entries as plain arrays by key, oldest first, for the baseline.
    const byKey = new Map<string, HistoryEntry[]>();
    for (let o = 0; o < adminObjects; o++) {
      const { type, id } = objectOf(o);
      byKey.set(`${type}/${id}`, history.query(type, id, { limit: 1000 }).items.reverse());
    }
    const { durationMs, warmupMs } = context.settings;
    const query = (i: number) => {
      const { type, id } = objectOf((i * 7919) % adminObjects);
      return history.query(type, id, { limit: QUERY_LIMIT }).items.length;
    };
    const lookup = (i: number) => {
      const { type, id } = objectOf((i * 7919) % adminObjects);
      const entries = byKey.get(`${type}/${id}`) ?? [];
      return entries.slice(-QUERY_LIMIT).reverse().map((e) => ({ ...e })).length;
    };
    return {
      async measure() {
        const { figure, baseline } = rates(query, lookup, warmupMs, durationMs);
        return {
          figure: figure.perSecond,
          baseline: baseline.perSecond,
          details: [
            `${formatNumber(1_000_000 / figure.perSecond)} µs per query (${formatNumber(figure.count)} queries); Map lookup ${formatNumber(1_000_000 / baseline.perSecond)} µs`,
            `entries kept: ${formatNumber(history.size)} of ${formatNumber(history.objects)} objects`,
          ],
        };
      },
      async close() {
        await history.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
};

function objectOf(o: number): { type: string; id: string } {
  return { type: FAKE_TYPES[o % FAKE_TYPES.length]!, id: `o-${o}` };
}

/** `rounds` activations of every object, each an activated and a deactivated event, on the 5 nodes in turn. */
function prepareEvents(rounds = ROUNDS): LifecycleEvent[] {
  const events: LifecycleEvent[] = [];
  let time = Date.now() - 3_600_000;
  let epoch = 1_000_000;
  const seq = new Array<number>(FAKE_NODES).fill(0);
  for (let round = 0; round < rounds; round++) {
    for (let o = 0; o < adminObjects; o++) {
      const { type, id } = objectOf(o);
      const n = (o + round) % FAKE_NODES;
      const node = `bench-node-${n}`;
      const e = String(epoch++);
      events.push({ kind: 'object.activated', type, id, epoch: e, version: round, stored: round > 0, loadMs: 3, node, seq: ++seq[n]!, time: time++ });
      events.push({ kind: 'object.deactivated', type, id, epoch: e, reason: 'idle', activeMs: 1000, node, seq: ++seq[n]!, time: time++ });
    }
  }
  return events;
}

/** The baseline: a line per entry version built and appended in batches of 10,000 events, entries kept in a Map. */
async function byHand(events: readonly LifecycleEvent[], path: string): Promise<void> {
  const entries = new Map<string, Array<Record<string, unknown>>>();
  let pending: string[] = [];
  let n = 0;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    if (event.kind === 'object.activated' || event.kind === 'object.deactivated') {
      const key = `${event.type}/${event.id}`;
      let list = entries.get(key);
      if (!list) entries.set(key, (list = []));
      const entry = event.kind === 'object.activated'
        ? { kind: 'activation', seq: ++n, node: event.node, epoch: event.epoch, start: event.time, end: null, reason: null, activeMs: null }
        : { ...list.at(-1), end: event.time, reason: event.reason, activeMs: event.activeMs };
      if (event.kind === 'object.activated') list.push(entry);
      else list[list.length - 1] = entry;
      pending.push(`${JSON.stringify({ type: event.type, id: event.id, ...entry })}\n`);
    }
    if (i % 10_000 === 9_999) {
      await appendFile(path, pending.join(''));
      pending = [];
    }
  }
  if (pending.length > 0) await appendFile(path, pending.join(''));
}
