/**
 * The memory benchmark's child process (run with `--expose-gc --import tsx` by bench/memory.ts):
 * measures the heap cost of N parsed states in a plain Map, then of N activations on an
 * in-process node, and sends the numbers to its parent. Configured by BENCH_MEMORY_CONFIG (JSON);
 * exits when its parent goes away.
 */
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Counter } from './bench-objects.js';
import { BenchNode } from './bench-node.js';
import type { BenchServers } from './benchmark.js';

export interface MemoryProbeConfig {
  servers: BenchServers;
  root: string;
  objects: number;
  concurrency: number;
  /** Activated and deactivated before the first heap reading, so that pools and buffers are warm. */
  warmupObjects: number;
}

export interface MemoryProbeResult {
  objects: number;
  stateBytes: number;
  mapHeapBytes: number;
  heapBefore: number;
  heapAfter: number;
  rssBefore: number;
  rssAfter: number;
  activationMs: number;
}

export type MemoryProbeMessage = { progress: string } | { result: MemoryProbeResult } | { error: string };

const send = (message: MemoryProbeMessage) => process.send?.(message);
process.on('disconnect', () => process.exit(1));

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  send({ error: 'the memory probe needs node --expose-gc' });
  process.exit(1);
}
const config = JSON.parse(process.env.BENCH_MEMORY_CONFIG ?? '{}') as MemoryProbeConfig;

/** Collects until the heap stops shrinking (a few full GCs with turns of the event loop between). */
async function settledHeap(): Promise<{ heapUsed: number; rss: number }> {
  let previous = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 10; i++) {
    gc!();
    await yieldToEventLoop();
    const { heapUsed } = process.memoryUsage();
    if (heapUsed >= previous - 64 * 1024 && i >= 2) break;
    previous = heapUsed;
  }
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
}

/** Runs `operation(i)` for i in [0, count) with `concurrency` in flight. */
async function forEachConcurrently(count: number, concurrency: number, operation: (i: number) => Promise<unknown>, onProgress?: (done: number) => void): Promise<void> {
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < count) {
      await operation(next++);
      done++;
      onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

async function main(): Promise<MemoryProbeResult> {
  const { objects, concurrency } = config;
  const stateJson = JSON.stringify(Counter.initial());
  const stateBytes = Buffer.byteLength(stateJson);

  // The baseline: the same parsed states, keyed as the runtime keys activations.
  const mapBefore = await settledHeap();
  const states = new Map<string, unknown>();
  for (let i = 0; i < objects; i++) states.set(`${Counter.type}/mem-${i}`, JSON.parse(stateJson));
  const mapAfter = await settledHeap();
  const mapHeapBytes = mapAfter.heapUsed - mapBefore.heapUsed;
  if (states.size !== objects) throw new Error('the baseline map lost entries');
  states.clear();

  const bench = await BenchNode.start(config.servers, {
    name: 'memory-node',
    root: config.root,
    idleTimeoutMs: 24 * 3_600_000, // nothing may deactivate while we count
    callTimeoutMs: 600_000,
    // Past the default budget on purpose: the benchmarks' ZooKeeper is a standalone server, with no
    // follower to refuse the session-close transaction that lists all these locks (a 3-server
    // ensemble would lose its quorum over it: README, "How many locks…").
    lockBudgetBytes: (objects + config.warmupObjects) * 256,
  });
  try {
    const { node } = bench;
    await forEachConcurrently(config.warmupObjects, concurrency, (i) => node.ref(Counter, `warm-${i}`).get());
    await forEachConcurrently(config.warmupObjects, concurrency, (i) => node.evict(Counter.type, `warm-${i}`));
    if (node.activationCount !== 0) throw new Error(`${node.activationCount} warm-up activations are still active`);

    const before = await settledHeap();
    const started = performance.now();
    let lastReport = started;
    await forEachConcurrently(objects, concurrency, (i) => node.ref(Counter, `mem-${i}`).get(), (done) => {
      const now = performance.now();
      if (now - lastReport < 10_000) return;
      lastReport = now;
      send({ progress: `${done.toLocaleString('en-US')}/${objects.toLocaleString('en-US')} activations (${Math.round((done * 1000) / (now - started)).toLocaleString('en-US')}/s)` });
    });
    const activationMs = performance.now() - started;
    const after = await settledHeap();
    if (node.activationCount !== objects) throw new Error(`expected ${objects} activations, the node has ${node.activationCount}`);
    return {
      objects, stateBytes, mapHeapBytes, activationMs,
      heapBefore: before.heapUsed, heapAfter: after.heapUsed, rssBefore: before.rss, rssAfter: after.rss,
    };
  } finally {
    // Without drain: the locks go with the session at once instead of one release per object.
    await bench.stop({ drain: false });
  }
}

/** Sends the last message, then exits (whatever handles the stopped node may still hold). */
function finish(message: MemoryProbeMessage, code: number): void {
  if (process.send) process.send(message, () => process.exit(code));
  else {
    console.log(JSON.stringify(message));
    process.exit(code);
  }
}

main().then(
  (result) => finish({ result }, 0),
  (err: unknown) => finish({ error: (err as Error)?.stack ?? String(err) }, 1),
);
