import { performance } from 'node:perf_hooks';
import { HOT_FIGURES, HotObjects, type HotObjectView, type HotRanking } from '@highlander/admin-api';
import type { LifecycleEvent } from '@highlander/runtime';
import { FAKE_NODES, FAKE_TYPES } from './admin-cluster.js';
import { startFixture } from './admin-fixture.js';
import { adminObjects } from './admin-settings.js';
import type { Benchmark } from './benchmark.js';
import { formatNumber, rates } from './stats.js';

type StatsEvent = Extract<LifecycleEvent, { kind: 'stats' }>;

/** Objects a node lists per stats event (the runtime's cap). */
const LISTED = 1000;
/** Intervals prepared up front (each lists a different draw of objects), cycled through while measuring. */
const PREPARED_INTERVALS = 16;
const RANKINGS: readonly HotRanking[] = ['calls', 'errors', 'p99', 'queue', 'state'];
const LIMIT = 20;

/**
 * The cost of the admin API's hot objects (admin-api/src/model/hot-objects.ts, the class the model
 * runs) per stats interval with `--admin-objects` (100,000) objects active on 5 nodes: each node's
 * stats event lists 1,000 of its 20,000 objects (a different draw each interval, with random
 * calls, errors, p99, mailbox and state size); per interval the aggregate takes the 5 events and
 * answers `GET /api/hot` once per ranking (20 rows, the default). The figure is intervals handled
 * per second, in this process (HTTP is not included: it is the same for every route).
 *
 * Baseline, same run and rows: the same 5,000 rows, already built, put in one array and sorted by
 * hand (`Array.prototype.sort` on the ranked figure) for each ranking, the first 20 taken.
 *
 * The aggregate never sees the active objects themselves: what it holds and what a query costs are
 * bounded by nodes × 1,000 rows (the details say how many it held), whatever `--admin-objects` is.
 */
export const adminHot: Benchmark = {
  name: 'admin-hot',
  title: () => `hot objects: ${FAKE_NODES} stats events of ${formatNumber(LISTED)} objects folded + ${RANKINGS.length} rankings answered, per interval, ${formatNumber(adminObjects)} objects active`,
  unit: 'intervals/s',
  baselineTitle: `the same ${formatNumber(FAKE_NODES * LISTED)} rows sorted by hand per ranking (Array.prototype.sort, first ${LIMIT}), in the bench process`,
  baselineUnit: 'intervals/s',
  // The ranking must cost about what sorting the rows by hand costs, and never more than twice that.
  target: { of: 'ratio', comparison: '>=', value: 0.5, label: '≥ 0.5x of sorting by hand' },

  async setup(context) {
    const intervals = Array.from({ length: PREPARED_INTERVALS }, (_, i) => prepareInterval(i));
    const hot = new HotObjects();
    const { durationMs, warmupMs } = context.settings;
    let now = Date.now();

    const handle = (i: number) => {
      const interval = intervals[i % intervals.length]!;
      now += 1000;
      let rows = 0;
      for (const event of interval.events) hot.update({ ...event, time: now }, now);
      for (const by of RANKINGS) rows += hot.query({ by, limit: LIMIT }, now).length;
      return rows;
    };
    const byHand = (i: number) => {
      const interval = intervals[i % intervals.length]!;
      let rows = 0;
      for (const by of RANKINGS) {
        const all = ([] as HotObjectView[]).concat(...interval.rows);
        const figure = HOT_FIGURES[by];
        all.sort((a, b) => figure(b) - figure(a));
        rows += all.slice(0, LIMIT).length;
      }
      return rows;
    };

    return {
      async measure() {
        const { figure, baseline } = rates(handle, byHand, warmupMs, durationMs);
        return {
          figure: figure.perSecond,
          baseline: baseline.perSecond,
          details: [
            `${formatNumber(1000 / figure.perSecond)} ms per interval (${formatNumber(figure.count)} intervals); by hand ${formatNumber(1000 / baseline.perSecond)} ms`,
            `rows held by the aggregate: ${formatNumber(hot.size)} (${FAKE_NODES} nodes × ${formatNumber(LISTED)}), with ${formatNumber(adminObjects)} objects active`,
          ],
        };
      },
      async close() {},
    };
  },
};

/** One interval: each node's stats event listing 1,000 of its objects (a seeded draw), and the same as rows. */
function prepareInterval(seed: number): { events: StatsEvent[]; rows: HotObjectView[][] } {
  let state = seed * 7919 + 1;
  const random = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const perNode = Math.ceil(adminObjects / FAKE_NODES);
  const events: StatsEvent[] = [];
  const rows: HotObjectView[][] = [];
  for (let n = 0; n < FAKE_NODES; n++) {
    const node = `bench-node-${n}`;
    const objects: StatsEvent['objects'] = [];
    const picked = new Set<number>();
    while (picked.size < Math.min(LISTED, perNode)) picked.add(Math.floor(random() * perNode));
    for (const index of picked) {
      const calls = 1 + Math.floor(random() ** 3 * 500);
      objects.push({
        type: FAKE_TYPES[index % FAKE_TYPES.length]!, id: `o-${n}-${index}`, calls, queue: Math.floor(random() ** 4 * 20),
        errors: random() < 0.05 ? Math.floor(random() * calls) : 0, p99Ms: Math.round(random() ** 2 * 2000) / 10, stateBytes: Math.floor(random() * 64_000),
      });
    }
    objects.sort((a, b) => b.calls - a.calls);
    events.push({ kind: 'stats', intervalMs: 1000, activations: perNode, byType: {}, objects, objectsOmitted: perNode - objects.length, seq: seed + 1, node, time: 0 });
    rows.push(objects.map((o) => ({
      type: o.type, id: o.id, node, callsPerSecond: o.calls, errorRate: o.errors! / o.calls, p99Ms: o.p99Ms!, queue: o.queue, stateBytes: o.stateBytes!,
    })));
  }
  return { events, rows };
}

/**
 * `GET /api/hot` answered by the admin API process over HTTP, with `--admin-objects` (100,000)
 * objects in its model on 5 simulated nodes (bench/admin-fixture.ts) that each send a stats event
 * listing 1,000 of their objects before every measurement: the figure is the median time of one
 * request per ranking (20 rows), from sending it to the parsed answer, in ms.
 *
 * Baseline, in this process: the same rows (as the API answered them with limit 200 beforehand,
 * padded to 5,000 by repeating them) sorted by hand for each ranking and the first 20 serialized.
 */
export const adminHotHttp: Benchmark = {
  name: 'admin-hot-http',
  title: () => `GET /api/hot (20 rows) over HTTP with ${formatNumber(adminObjects)} objects active and ${FAKE_NODES} × ${formatNumber(LISTED)} listed`,
  unit: 'ms',
  baselineTitle: `the same ${formatNumber(FAKE_NODES * LISTED)} rows sorted by hand per ranking + JSON.stringify of the first ${LIMIT}, in the bench process`,
  baselineUnit: 'ms',
  target: { of: 'figure', comparison: '<=', value: 50, label: '< 50 ms' },

  async setup(context) {
    const fixture = await startFixture(context, 'admin-hot', { populate: true, admin: true });
    const admin = fixture.admin!;
    const cluster = fixture.cluster;
    /** Sends a round of stats and waits until the API ranks rows from every node. */
    const interval = async () => {
      await cluster.stats(LISTED, 1000);
      const started = performance.now();
      for (;;) {
        const page = await admin.get<{ items: HotObjectView[] }>('/api/hot?limit=200');
        if (new Set(page.items.map((r) => r.node)).size === FAKE_NODES || performance.now() - started > 30_000) return page.items;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    return {
      async measure() {
        const sample = await interval();
        const times: number[] = [];
        let held = 0;
        for (const by of RANKINGS) {
          const started = performance.now();
          const page = await admin.get<{ items: HotObjectView[] }>(`/api/hot?by=${by}`);
          times.push(performance.now() - started);
          held += page.items.length;
        }
        const rows = Array.from({ length: FAKE_NODES * LISTED }, (_, i) => sample[i % sample.length]!);
        const started = performance.now();
        for (const by of RANKINGS) {
          const figure = HOT_FIGURES[by];
          const sorted = [...rows].sort((a, b) => figure(b) - figure(a));
          JSON.stringify(sorted.slice(0, LIMIT));
        }
        const baseline = (performance.now() - started) / RANKINGS.length;
        const sorted = [...times].sort((a, b) => a - b);
        return {
          figure: sorted[Math.floor(sorted.length / 2)]!,
          baseline,
          details: [`per ranking: ${RANKINGS.map((by, i) => `${by} ${formatNumber(times[i]!)} ms`).join(', ')} (${held} rows answered)`],
        };
      },
      close: () => fixture.close(),
    };
  },
};
