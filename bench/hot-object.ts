import type { LifecycleEvent } from '@highlander/runtime';
import { Counter } from './bench-objects.js';
import { BenchNode, storeFor } from './bench-node.js';
import type { Benchmark } from './benchmark.js';
import { closedLoop } from './closed-loop.js';
import { formatNumber } from './stats.js';

const CALLERS = 256;
const HOT_ID = 'hot';
const BASELINE_ID = 'hot-baseline';

/**
 * Durable updates on one hot object: 256 callers incrementing one counter on an in-process node;
 * each call resolves only once its state is in S3 (group commit carries many updates per PUT).
 * Baseline: one PUT per update, sequential conditional PUTs (If-Match the previous ETag) of the
 * counter's JSON through S3StateStore.write, the runtime's own write path.
 */
export const hotObject: Benchmark = {
  name: 'hot-object',
  title: 'durable updates on one hot object, 256 callers',
  unit: 'updates/s',
  baselineTitle: 'one conditional PUT (If-Match the previous ETag) per update, sequential, same JSON, S3StateStore.write',
  baselineUnit: 'PUTs/s',
  target: { of: 'ratio', comparison: '>=', value: 10, label: '≥ 10x one PUT per update' },

  async setup(context) {
    const { servers, settings } = context;
    const root = context.uniqueRoot('hot');
    const bench = await BenchNode.start(servers, { name: 'hot-node', root });
    const store = storeFor(servers, root);
    const close = async () => {
      await bench.stop();
      await store.close();
    };
    try {
      const ref = bench.node.ref(Counter, HOT_ID);
      await ref.call('increment', null); // activates it

      let value = 0;
      const created = await store.write({
        type: Counter.type, id: BASELINE_ID, body: JSON.stringify({ value }), epoch: '1', version: 1, condition: { ifNoneMatch: '*' },
      });
      if (!created.ok) throw new Error(`could not create ${BASELINE_ID}: its key already exists`);
      let { etag } = created;
      const putUpdate = async () => {
        value++;
        const result = await store.write({
          type: Counter.type, id: BASELINE_ID, body: JSON.stringify({ value }), epoch: '1', version: value + 1, condition: { ifMatch: etag },
        });
        if (!result.ok) throw new Error(`conditional PUT of ${BASELINE_ID} failed its If-Match`);
        etag = result.etag;
      };

      let puts = 0;
      let carried = 0;
      bench.node.events.subscribe((event: LifecycleEvent) => {
        if (event.kind === 'object.persisted' && event.id === HOT_ID) {
          puts++;
          carried += event.calls;
        }
      });
      const increment = () => ref.call('increment', null);
      const measureFigure = async () => {
        await closedLoop(increment, { concurrency: CALLERS, durationMs: settings.warmupMs });
        puts = 0;
        carried = 0;
        const result = await closedLoop(increment, { concurrency: CALLERS, durationMs: settings.durationMs });
        return { rate: result.rate, putsPerSecond: (puts * 1000) / result.elapsedMs, callsPerPut: carried / Math.max(1, puts) };
      };
      const measureBaseline = async () => {
        await closedLoop(putUpdate, { concurrency: 1, durationMs: settings.warmupMs });
        return (await closedLoop(putUpdate, { concurrency: 1, durationMs: settings.durationMs })).rate;
      };

      return {
        async measure(run) {
          let figure: Awaited<ReturnType<typeof measureFigure>>;
          let baseline: number;
          if (run % 2 === 0) {
            figure = await measureFigure();
            baseline = await measureBaseline();
          } else {
            baseline = await measureBaseline();
            figure = await measureFigure();
          }
          return {
            figure: figure.rate,
            baseline,
            details: [`group commit: ${formatNumber(figure.putsPerSecond)} PUTs/s carrying ${formatNumber(figure.callsPerPut)} updates each on average`],
          };
        },
        close,
      };
    } catch (err) {
      await close();
      throw err;
    }
  },
};
