import { Counter } from './bench-objects.js';
import { BenchNode } from './bench-node.js';
import type { Benchmark } from './benchmark.js';
import { closedLoop } from './closed-loop.js';

const IN_FLIGHT = 64;
/** The calls settle without I/O: read the clock only every this many calls (see closedLoop). */
const CLOCK_EVERY = 256;

/**
 * `ref.call('value')` on a counter active on this node, 64 calls in flight, against the same
 * query function called straight on a plain object in the same loop (each result awaited too).
 */
export const localQuery: Benchmark = {
  name: 'local-query',
  title: 'local query on an active object, one node',
  unit: 'calls/s',
  baselineTitle: 'the query function on a plain object, same loop',
  baselineUnit: 'calls/s',
  target: { of: 'figure', comparison: '>=', value: 500_000, label: '≥ 500,000 calls/s' },

  async setup(context) {
    const bench = await BenchNode.start(context.servers, { name: 'query-node', root: context.uniqueRoot('local-query') });
    const ref = bench.node.ref(Counter, 'queried');
    try {
      await ref.call('increment', null); // activates it; the stored state is then { value: 1 }
    } catch (err) {
      await bench.stop();
      throw err;
    }
    const plain = { value: 1 };
    const query = Counter.queries.value;
    const { durationMs, warmupMs } = context.settings;
    const loop = { concurrency: IN_FLIGHT, clockEvery: CLOCK_EVERY };

    const viaRuntime = () => ref.call('value');
    const direct = () => query(plain);
    const measureFigure = async () => {
      await closedLoop(viaRuntime, { ...loop, durationMs: warmupMs });
      return (await closedLoop(viaRuntime, { ...loop, durationMs })).rate;
    };
    const measureBaseline = async () => {
      await closedLoop(direct, { ...loop, durationMs: warmupMs });
      return (await closedLoop(direct, { ...loop, durationMs })).rate;
    };

    return {
      async measure(run) {
        // Alternate the order so that drift on a busy machine does not always favour one side.
        if (run % 2 === 0) {
          const figure = await measureFigure();
          return { figure, baseline: await measureBaseline() };
        }
        const baseline = await measureBaseline();
        return { figure: await measureFigure(), baseline };
      },
      close: () => bench.stop(),
    };
  },
};
