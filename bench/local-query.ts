import { Counter } from './bench-objects.js';
import { BenchNode } from './bench-node.js';
import type { Benchmark, BenchContext, BenchSession } from './benchmark.js';
import { alternate, closedLoop } from './closed-loop.js';
import { formatNumber } from './stats.js';

const IN_FLIGHT = 64;
/** The calls settle without I/O: read the clock only every this many calls (see closedLoop). */
const CLOCK_EVERY = 256;

/**
 * A minimal promise-based mailbox: operations run one at a time in arrival order, each caller
 * awaiting its own result — the least any single-threaded object host must do per call, and the
 * baseline the runtime's local path is measured against.
 */
export class FifoMailbox {
  #queue: Array<{ run: () => unknown; resolve: (value: unknown) => void; reject: (error: unknown) => void }> = [];
  #head = 0;
  #draining = false;

  enqueue<T>(run: () => T | Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ run, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#draining) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    while (this.#head < this.#queue.length) {
      const item = this.#queue[this.#head++]!;
      try {
        item.resolve(await item.run());
      } catch (err) {
        item.reject(err);
      }
      if (this.#head > 1024) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
    }
    this.#draining = false;
  }
}

async function queryLoop(context: BenchContext, label: string, metrics: boolean) {
  const bench = await BenchNode.start(context.servers, { name: `${label}-node`, root: context.uniqueRoot(label), metrics });
  const ref = bench.node.ref(Counter, 'queried');
  try {
    await ref.call('increment', null); // activates it; the stored state is then { value: 1 }
  } catch (err) {
    await bench.stop();
    throw err;
  }
  const { durationMs, warmupMs } = context.settings;
  const loop = { concurrency: IN_FLIGHT, clockEvery: CLOCK_EVERY };
  const rate = async (operation: () => unknown) => {
    await closedLoop(operation, { ...loop, durationMs: warmupMs });
    return (await closedLoop(operation, { ...loop, durationMs })).rate;
  };
  return { viaRuntime: () => rate(() => ref.call('value')), rate, stop: () => bench.stop() };
}

/**
 * `ref.call('value')` on a counter active on this node, 64 calls in flight, against the same query
 * function run through a bare {@link FifoMailbox} in the same loop. The query function called
 * directly (no mailbox) is reported beside them.
 */
export const localQuery: Benchmark = {
  name: 'local-query',
  title: 'local query on an active object, one node',
  unit: 'calls/s',
  baselineTitle: 'the query function through a bare promise-based FIFO mailbox, same loop',
  baselineUnit: 'calls/s',
  target: { of: 'ratio', comparison: '>=', value: 0.25, label: '≥ 0.25x bare FIFO mailbox' },

  async setup(context): Promise<BenchSession> {
    const node = await queryLoop(context, 'local-query', true);
    const plain = { value: 1 };
    const query = Counter.queries.value;
    const mailbox = new FifoMailbox();
    return {
      async measure(run) {
        const sample = await alternate(run, node.viaRuntime, () => node.rate(() => mailbox.enqueue(() => query(plain))));
        const direct = await node.rate(() => query(plain));
        return { ...sample, details: [`the query function called directly (no mailbox): ${formatNumber(direct)} calls/s`] };
      },
      close: () => node.stop(),
    };
  },
};

/**
 * The cost of the node's Prometheus metrics on the local call path: the local query above on a
 * node with metrics, against the same on a node started with `metrics: false`, in the same run.
 */
export const metricsCost: Benchmark = {
  name: 'metrics-cost',
  title: 'local query with metrics on, one node',
  unit: 'calls/s',
  baselineTitle: 'the same with metrics off (`metrics: false`)',
  baselineUnit: 'calls/s',
  target: { of: 'ratio', comparison: '>=', value: 0.9, label: '≥ 0.90x metrics off (cost < 10%)' },

  async setup(context): Promise<BenchSession> {
    const on = await queryLoop(context, 'metrics-on', true);
    let off;
    try {
      off = await queryLoop(context, 'metrics-off', false);
    } catch (err) {
      await on.stop();
      throw err;
    }
    const offLoop = off;
    return {
      measure: (run) => alternate(run, on.viaRuntime, offLoop.viaRuntime),
      async close() {
        await Promise.allSettled([on.stop(), offLoop.stop()]);
      },
    };
  },
};
