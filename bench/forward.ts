import { NodeProcess } from '../scripts/cluster.js';
import { BENCH_OBJECTS, Counter } from './bench-objects.js';
import { BenchNode } from './bench-node.js';
import type { Benchmark } from './benchmark.js';
import { trackChild } from './child-processes.js';
import { closedLoop } from './closed-loop.js';
import { EchoClient } from './echo-client.js';

const IN_FLIGHT = 256;
const CALL_TIMEOUT_MS = 30_000;
const OBJECT_ID = 'forwarded';

/**
 * Calls forwarded between two node processes: the owner (runtime/src/main.ts, forked) hosts a
 * counter; this process runs the caller node, whose `ref.call('value')` goes over the peer ws,
 * 256 in flight. A query, so no S3 write is involved. Baseline: a bare ws echo server in its own
 * process and a client here, 256 messages in flight, each the size of one forwarded call's JSON.
 */
export const forward: Benchmark = {
  name: 'forward',
  title: 'forwarded calls between two node processes, 256 in flight',
  unit: 'calls/s',
  baselineTitle: 'bare ws echo server in its own process, 256 messages in flight, each the size of a forwarded call',
  baselineUnit: 'msgs/s',
  target: { of: 'ratio', comparison: '>=', value: 0.9, label: '≥ 0.90x bare ws echo' },

  async setup(context) {
    const { servers, settings } = context;
    const root = context.uniqueRoot('forward');
    const closers: Array<() => Promise<void>> = [];
    const close = async () => {
      for (const closer of closers.reverse()) await closer().catch((err) => context.log(`  cleanup: ${(err as Error).message}`));
    };
    try {
      const owner = new NodeProcess('owner', {
        zookeeper: servers.zookeeper,
        s3: servers.s3,
        root,
        sessionTimeoutMs: 10_000,
        callTimeoutMs: CALL_TIMEOUT_MS,
        objectsModule: BENCH_OBJECTS,
      });
      const untrack = trackChild(owner);
      closers.push(async () => {
        await owner.stop();
        untrack();
      });
      await owner.start();
      await owner.call('counter', OBJECT_ID, 'increment', null); // active on the owner from now on

      const caller = await BenchNode.start(servers, { name: 'caller', root, callTimeoutMs: CALL_TIMEOUT_MS });
      closers.push(() => caller.stop());
      await waitFor(() => caller.node.members().some((m) => m.name === 'owner'), 10_000, 'the caller to see the owner');
      const ref = caller.node.ref(Counter, OBJECT_ID);
      await ref.call('value'); // learns the owner (and caches it)
      if (caller.node.activationCount !== 0) throw new Error('the caller activated the object itself: calls would not be forwarded');

      // The JSON of one forwarded call as the caller's PeerClient writes it (rid and timeout as they run).
      const callJson = JSON.stringify({ t: 'call', type: Counter.type, id: OBJECT_ID, op: 'call', name: 'value', timeoutMs: CALL_TIMEOUT_MS - 1, rid: 1_000_000 });
      const echo = await EchoClient.start('x'.repeat(callJson.length));
      closers.push(() => echo.close());

      const loop = { concurrency: IN_FLIGHT };
      const forwarded = () => ref.call('value');
      const echoed = () => echo.roundTrip();
      const measureFigure = async () => {
        await closedLoop(forwarded, { ...loop, durationMs: settings.warmupMs });
        return (await closedLoop(forwarded, { ...loop, durationMs: settings.durationMs })).rate;
      };
      const measureBaseline = async () => {
        await closedLoop(echoed, { ...loop, durationMs: settings.warmupMs });
        return (await closedLoop(echoed, { ...loop, durationMs: settings.durationMs })).rate;
      };

      return {
        async measure(run) {
          let figure: number;
          let baseline: number;
          if (run % 2 === 0) {
            figure = await measureFigure();
            baseline = await measureBaseline();
          } else {
            baseline = await measureBaseline();
            figure = await measureFigure();
          }
          const details = run === 0 ? [`payload ${callJson.length} bytes per message (one forwarded call's JSON)`] : [];
          if (caller.node.activationCount !== 0) throw new Error('the caller activated the object itself: calls were not forwarded');
          return { figure, baseline, details };
        },
        close,
      };
    } catch (err) {
      await close();
      throw err;
    }
  },
};

async function waitFor(test: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
