import { performance } from 'node:perf_hooks';
import { Counter } from './bench-objects.js';
import { BenchNode } from './bench-node.js';
import type { Benchmark } from './benchmark.js';
import { alternate, closedLoop } from './closed-loop.js';
import { percentiles, type Percentiles } from './latency.js';
import { formatNumber } from './stats.js';

/** Callers hammering the hot object (as in hot-object: enough to keep its group commit full). */
const HOT_CALLERS = 256;
/** Warm objects probed, each active from the start. */
const WARM_OBJECTS = 16;
/** Probe workers, one call at a time each: two for warm objects, one for cold ones. */
const WARM_PROBES = 2;

interface Probed {
  warm: Percentiles;
  cold: Percentiles;
  hotRate: number;
}

function ms(value: number): string {
  return `${value.toFixed(1)} ms`;
}

/**
 * "One list's activity doesn't slow down another": on one in-process node, the p99 latency of
 * durable updates to warm objects (active, 16 of them, two callers one call at a time) while one
 * hot object takes as many updates as 256 callers can make, against the same p99 with the hot
 * object left alone, in the same run. First calls to cold objects (a new id each: lock, S3 read,
 * claim) are probed at the same time and reported beside it.
 *
 * Each object has its own mailbox, so nothing in the runtime makes a call wait for another
 * object's calls; what they share is the node's event loop, ZooKeeper and the S3 server (here a
 * radosgw on the same two cores).
 */
export const isolation: Benchmark = {
  name: 'isolation',
  title: 'p99 of updates to warm objects while one hot object takes 256 callers, one node',
  unit: 'ms',
  baselineTitle: 'the same p99 with the hot object idle',
  baselineUnit: 'ms',
  target: { of: 'ratio', comparison: '<=', value: 2, label: '≤ 2x idle' },

  async setup(context) {
    const { settings } = context;
    const bench = await BenchNode.start(context.servers, { name: 'isolation-node', root: context.uniqueRoot('isolation') });
    try {
      const hot = bench.node.ref(Counter, 'hot');
      await hot.call('increment', null);
      const warm = Array.from({ length: WARM_OBJECTS }, (_, i) => bench.node.ref(Counter, `warm-${i}`));
      await Promise.all(warm.map((ref) => ref.call('increment', null)));
      let nextWarm = 0;
      let nextCold = 0;

      /** Probes warm and cold objects for durationMs (after a warm-up), with the hot object under load or not. */
      const probe = async (loaded: boolean): Promise<Probed> => {
        const warmSamples: number[] = [];
        const coldSamples: number[] = [];
        let measuring = false;
        let stop = false;
        const timed = async (samples: number[], call: () => Promise<unknown>) => {
          while (!stop) {
            const started = performance.now();
            await call();
            if (measuring) samples.push(performance.now() - started);
          }
        };
        const probes = [
          ...Array.from({ length: WARM_PROBES }, () => timed(warmSamples, () => warm[nextWarm++ % WARM_OBJECTS]!.call('increment', null))),
          timed(coldSamples, () => bench.node.ref(Counter, `cold-${process.pid}-${nextCold++}`).call('increment', null)),
        ];
        let hotRate = 0;
        try {
          const load = loaded
            ? closedLoop(() => hot.call('increment', null), { concurrency: HOT_CALLERS, durationMs: settings.warmupMs + settings.durationMs })
            : new Promise((resolve) => setTimeout(resolve, settings.warmupMs + settings.durationMs));
          setTimeout(() => {
            measuring = true;
          }, settings.warmupMs);
          const result = await load;
          if (loaded) hotRate = (result as { rate: number }).rate;
        } finally {
          stop = true;
          await Promise.all(probes);
        }
        return { warm: percentiles(warmSamples), cold: percentiles(coldSamples), hotRate };
      };

      return {
        async measure(run) {
          const { figure, baseline } = await alternate(run, () => probe(true), () => probe(false));
          return {
            figure: figure.warm.p99,
            baseline: baseline.warm.p99,
            details: [
              `warm updates: p50 ${ms(figure.warm.p50)} loaded vs ${ms(baseline.warm.p50)} idle (${figure.warm.count} / ${baseline.warm.count} calls)`,
              `cold first calls: p99 ${ms(figure.cold.p99)} loaded vs ${ms(baseline.cold.p99)} idle, p50 ${ms(figure.cold.p50)} vs ${ms(baseline.cold.p50)} (${figure.cold.count} / ${baseline.cold.count} calls)`,
              `the hot object meanwhile: ${formatNumber(figure.hotRate)} durable updates/s`,
            ],
          };
        },
        close: () => bench.stop(),
      };
    } catch (err) {
      await bench.stop();
      throw err;
    }
  },
};
