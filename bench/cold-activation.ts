import { bareLockAcquire, call, connectRawZooKeeper } from './raw-zookeeper.js';
import { performance } from 'node:perf_hooks';
import { Counter } from './bench-objects.js';
import { BenchNode, storeFor } from './bench-node.js';
import type { Benchmark, BenchContext, BenchSession } from './benchmark.js';
import { alternate, closedLoop } from './closed-loop.js';
import { percentiles } from './latency.js';
import { formatNumber, formatRatio, formatSeconds } from './stats.js';

const IN_FLIGHT = 64;

/**
 * Cold activations: `ref(Counter, freshId).get()` on ids never seen before, on one in-process node
 * (placement local). Each one joins a fresh lock queue in ZooKeeper (a multi that creates the lock
 * parent and the lock znode, then getChildren and exists), reads S3 (404) and claims the object
 * with a conditional PUT. Deactivation is not part of the figure: the node is stopped (drained)
 * after each measurement, and that drain is only reported.
 *
 * Baseline: the same work by hand, each step after the other, on a bare node-zookeeper-client and
 * a bare S3StateStore: multi(create parent, create EPHEMERAL_SEQUENTIAL) + getChildren + exists of
 * the lock, then the S3 GET (404) and the claim PUT (If-None-Match *). The lock is not released
 * (neither is an activation's, within the measurement; the baseline's go with its session).
 *
 * Two figures: throughput at 64 in flight, and the first call's latency one at a time (p50; p99 in
 * the details), each against the baseline's, in the same run.
 */

interface ColdFixture {
  /** One activation's work by hand. */
  byHand(): Promise<void>;
  /** Starts a node for one measurement; `activate()` activates a fresh object. */
  withNode<T>(run: number, body: (activate: () => Promise<unknown>) => Promise<T>): Promise<{ result: T; drainMs: number; activations: number }>;
  close(): Promise<void>;
}

async function coldFixture(context: BenchContext, label: string): Promise<ColdFixture> {
  const { servers } = context;
  const root = context.uniqueRoot(label);
  const client = await connectRawZooKeeper(servers.zookeeper);
  const store = storeFor(servers, root);
  const baselineParent = `${root}/baseline`;
  try {
    await call<string>((cb) => client.mkdirp(baselineParent, cb));
  } catch (err) {
    client.close();
    await store.close();
    throw err;
  }
  let nextId = 0;
  return {
    async byHand() {
      const id = `hand-${nextId++}`;
      const parent = `${baselineParent}/${id}`;
      await bareLockAcquire(client, parent);
      if (await store.read(Counter.type, id)) throw new Error(`${id} exists already`);
      const claimed = await store.write({ type: Counter.type, id, body: JSON.stringify(Counter.initial()), epoch: '1', version: 1, condition: { ifNoneMatch: '*' } });
      if (!claimed.ok) throw new Error(`claim of ${id} failed its If-None-Match`);
    },
    async withNode(run, body) {
      const bench = await BenchNode.start(servers, { name: `${label}-${run}`, root, callTimeoutMs: 60_000, idleTimeoutMs: 3_600_000 });
      let result;
      let activations = 0;
      let drainMs = 0;
      try {
        let next = 0;
        result = await body(() => bench.node.ref(Counter, `r${run}-${next++}`).get());
        activations = bench.node.activationCount;
      } finally {
        const drainStarted = performance.now();
        await bench.stop();
        drainMs = performance.now() - drainStarted;
      }
      return { result, drainMs, activations };
    },
    async close() {
      client.close();
      await store.close();
    },
  };
}

export const coldActivation: Benchmark = {
  name: 'cold-activation',
  title: 'cold activations, 64 in flight, one node',
  unit: 'activations/s',
  baselineTitle: 'the same steps by hand, 64 in flight: ZooKeeper multi(create parent, create lock) + getChildren + exists, then S3 GET (404) + claim PUT (If-None-Match)',
  baselineUnit: 'activations/s',
  target: { of: 'ratio', comparison: '>=', value: 0.9, label: '≥ 0.90x the same steps by hand' },

  async setup(context): Promise<BenchSession> {
    const { settings } = context;
    const fixture = await coldFixture(context, 'cold');
    const loop = { concurrency: IN_FLIGHT };
    const measureFigure = async (run: number) => {
      const { result, activations, drainMs } = await fixture.withNode(run, async (activate) => {
        await closedLoop(activate, { ...loop, durationMs: settings.warmupMs });
        return (await closedLoop(activate, { ...loop, durationMs: settings.durationMs })).rate;
      });
      return { rate: result, activations, drainMs };
    };
    const measureBaseline = async () => {
      await closedLoop(() => fixture.byHand(), { ...loop, durationMs: settings.warmupMs });
      return (await closedLoop(() => fixture.byHand(), { ...loop, durationMs: settings.durationMs })).rate;
    };
    return {
      async measure(run) {
        const { figure, baseline } = await alternate(run, () => measureFigure(run), measureBaseline);
        return {
          figure: figure.rate,
          baseline,
          details: [`stopping the node (drain: ${formatNumber(figure.activations)} deactivations, lock releases) took ${formatSeconds(figure.drainMs)}, not measured`],
        };
      },
      close: () => fixture.close(),
    };
  },
};

export const coldActivationLatency: Benchmark = {
  name: 'cold-activation-latency',
  title: 'first call to a cold object, one at a time, one node (p50)',
  unit: 'ms',
  baselineTitle: 'the same steps by hand, one after the other (p50)',
  baselineUnit: 'ms',
  target: { of: 'ratio', comparison: '<=', value: 1.2, label: '≤ 1.20x the same steps by hand' },

  async setup(context): Promise<BenchSession> {
    const { settings } = context;
    const fixture = await coldFixture(context, 'cold-latency');
    /** Latencies of `operation` one at a time for `durationMs` (after a warm-up as long as the settings say). */
    const sequential = async (operation: () => Promise<unknown>) => {
      const warmUntil = performance.now() + settings.warmupMs;
      while (performance.now() < warmUntil) await operation();
      const samples: number[] = [];
      const until = performance.now() + settings.durationMs;
      while (performance.now() < until) {
        const started = performance.now();
        await operation();
        samples.push(performance.now() - started);
      }
      return percentiles(samples);
    };
    return {
      async measure(run) {
        const measureFigure = async () => (await fixture.withNode(run, (activate) => sequential(activate))).result;
        const measureBaseline = () => sequential(() => fixture.byHand());
        const { figure, baseline } = await alternate(run, measureFigure, measureBaseline);
        return {
          figure: figure.p50,
          baseline: baseline.p50,
          details: [
            `first call p50 ${figure.p50.toFixed(1)} ms, p99 ${figure.p99.toFixed(1)} ms (${formatNumber(figure.count)} calls); by hand p50 ${baseline.p50.toFixed(1)} ms, p99 ${baseline.p99.toFixed(1)} ms; p99 ratio ${formatRatio(figure.p99 / baseline.p99)}`,
          ],
        };
      },
      close: () => fixture.close(),
    };
  },
};


