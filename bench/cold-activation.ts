import { connectRawZooKeeper } from './raw-zookeeper.js';
import { performance } from 'node:perf_hooks';
import zookeeper, { type Client } from 'node-zookeeper-client';
import { Counter } from './bench-objects.js';
import { BenchNode, storeFor } from './bench-node.js';
import type { Benchmark } from './benchmark.js';
import { closedLoop } from './closed-loop.js';
import { formatNumber, formatRatio, formatSeconds } from './stats.js';

const IN_FLIGHT = 64;
const { CreateMode } = zookeeper;

/**
 * Cold activations: `ref(Counter, freshId).get()` on ids never seen before, 64 in flight, on one
 * in-process node (placement local). Each one joins a fresh lock queue in ZooKeeper (a multi that
 * creates the lock parent and the lock znode, then getChildren and exists), reads S3 (404) and
 * claims the object with a conditional PUT. Deactivation is not part of the figure: the node is
 * stopped (drained) after each measurement, and that drain is only reported.
 *
 * Baseline: the bare lock cycle on node-zookeeper-client, same concurrency: a multi creating a
 * fresh lock parent and an EPHEMERAL_SEQUENTIAL child (as the runtime does), getChildren of the
 * parent, then a multi deleting both.
 *
 * Each run also measures, for reference only, the S3 part alone: a GET (404) and a claim PUT
 * (If-None-Match *) per fresh key through S3StateStore, same concurrency.
 */
export const coldActivation: Benchmark = {
  name: 'cold-activation',
  title: 'cold activations, 64 in flight, one node',
  unit: 'activations/s',
  baselineTitle: 'bare ZooKeeper lock cycle on node-zookeeper-client, 64 in flight: multi(create parent, create EPHEMERAL_SEQUENTIAL) + getChildren + multi(delete both)',
  baselineUnit: 'cycles/s',
  target: { of: 'ratio', comparison: '>=', value: 0.5, label: '≥ 0.50x bare ZooKeeper lock cycle' },

  async setup(context) {
    const { servers, settings } = context;
    const root = context.uniqueRoot('cold');
    const client = await connectRawZooKeeper(servers.zookeeper);
    const baselineParent = `${root}/baseline`;
    try {
      await call<string>((cb) => client.mkdirp(baselineParent, cb));
    } catch (err) {
      client.close();
      throw err;
    }
    let nextBaselineId = 0;
    const lockCycle = async () => {
      const parent = `${baselineParent}/id-${nextBaselineId++}`;
      const created = await call<Array<{ path?: string }>>((cb) => client.transaction()
        .create(parent, CreateMode.PERSISTENT)
        .create(`${parent}/lock-bench-`, CreateMode.EPHEMERAL_SEQUENTIAL)
        .commit(cb));
      const lock = created[1]?.path;
      if (!lock) throw new Error('multi create returned no lock path');
      await call<string[]>((cb) => client.getChildren(parent, cb));
      await call<unknown>((cb) => client.transaction().remove(lock, -1).remove(parent, -1).commit(cb));
    };
    const loop = { concurrency: IN_FLIGHT };

    const store = storeFor(servers, root);
    let nextS3Id = 0;
    const readAndClaim = async () => {
      const id = `s3-${nextS3Id++}`;
      if (await store.read(Counter.type, id)) throw new Error(`${id} exists already`);
      const claimed = await store.write({ type: Counter.type, id, body: JSON.stringify(Counter.initial()), epoch: '1', version: 1, condition: { ifNoneMatch: '*' } });
      if (!claimed.ok) throw new Error(`claim of ${id} failed its If-None-Match`);
    };
    const measureS3 = async () => {
      await closedLoop(readAndClaim, { ...loop, durationMs: settings.warmupMs });
      return (await closedLoop(readAndClaim, { ...loop, durationMs: settings.durationMs })).rate;
    };

    let drainMs = 0;
    const measureFigure = async (run: number) => {
      const bench = await BenchNode.start(servers, { name: `cold-${run}`, root, callTimeoutMs: 60_000, idleTimeoutMs: 3_600_000 });
      try {
        let nextId = 0;
        const activate = () => bench.node.ref(Counter, `r${run}-${nextId++}`).get();
        await closedLoop(activate, { ...loop, durationMs: settings.warmupMs });
        const result = await closedLoop(activate, { ...loop, durationMs: settings.durationMs });
        return { rate: result.rate, activations: bench.node.activationCount };
      } finally {
        const drainStarted = performance.now();
        await bench.stop();
        drainMs = performance.now() - drainStarted;
      }
    };
    const measureBaseline = async () => {
      await closedLoop(lockCycle, { ...loop, durationMs: settings.warmupMs });
      return (await closedLoop(lockCycle, { ...loop, durationMs: settings.durationMs })).rate;
    };

    return {
      async measure(run) {
        let figure: { rate: number; activations: number };
        let baseline: number;
        if (run % 2 === 0) {
          figure = await measureFigure(run);
          baseline = await measureBaseline();
        } else {
          baseline = await measureBaseline();
          figure = await measureFigure(run);
        }
        const s3 = await measureS3();
        return {
          figure: figure.rate,
          baseline,
          details: [
            `for reference, the S3 part alone (GET 404 + claim PUT If-None-Match, ${IN_FLIGHT} in flight): ${formatNumber(s3)}/s; activations reach ${formatRatio(figure.rate / s3)} of it`,
            `stopping the node (drain: ${formatNumber(figure.activations)} deactivations, lock releases) took ${formatSeconds(drainMs)}, not measured`,
          ],
        };
      },
      async close() {
        client.close();
        await store.close();
      },
    };
  },
};


/** Promisifies one node-zookeeper-client call. */
function call<T>(start: (cb: (error: Error | null | unknown, result: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    start((error, result) => (error ? reject(error) : resolve(result)));
  });
}
