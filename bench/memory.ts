import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Benchmark } from './benchmark.js';
import { trackChild } from './child-processes.js';
import type { MemoryProbeConfig, MemoryProbeMessage, MemoryProbeResult } from './memory-probe.js';
import { formatBytes, formatMiB, formatNumber, formatSeconds } from './stats.js';

const PROBE = fileURLToPath(new URL('./memory-probe.ts', import.meta.url));
const CONCURRENCY = 256;
/** Enough lifecycle events (4 per activation and deactivation) to fill the node's 10,000-event log before the first reading. */
const WARMUP_OBJECTS = 3_000;
/** The size the issue states the target at. */
const ISSUE_OBJECTS = 100_000;

/**
 * Memory per active object: N counters activated on one in-process node (in a child process run
 * with --expose-gc), heapUsed after full GCs before and after, divided by N, minus the state's
 * JSON size. Baseline: the heap cost per entry of the same N parsed states in a plain Map, keyed
 * as the runtime keys activations. Measured once (N activations are N lock znodes, N S3 reads and
 * N claim PUTs). N defaults to 50,000 (bench/run.ts): on the 2-core reference box activations run at
 * 200–300/s, bound by radosgw and the S3 client, so the issue's 100,000 take about 8 minutes.
 */
export const memory: Benchmark = {
  name: 'memory',
  title: (settings) => `heap per active object (minus its state JSON), ${formatNumber(settings.memoryObjects)} activations on one node`,
  unit: 'B/object',
  baselineTitle: 'heap per entry of the same parsed states in a plain Map keyed by `<type>/<id>`',
  baselineUnit: 'B/entry',
  target: { of: 'figure', comparison: '<=', value: 2048, label: '≤ 2,048 B/object plus state' },
  once: true,

  async setup(context) {
    const { servers, settings } = context;
    return {
      async measure() {
        const config: MemoryProbeConfig = {
          servers,
          root: context.uniqueRoot('memory'),
          objects: settings.memoryObjects,
          concurrency: CONCURRENCY,
          warmupObjects: Math.min(WARMUP_OBJECTS, settings.memoryObjects),
        };
        const r = await runProbe(config, context.log);
        const n = r.objects;
        const heapPerObject = (r.heapAfter - r.heapBefore) / n;
        const rssPerObject = (r.rssAfter - r.rssBefore) / n;
        return {
          figure: heapPerObject - r.stateBytes,
          baseline: r.mapHeapBytes / n,
          details: [
            `${formatNumber(n)} activations in ${formatSeconds(r.activationMs)} (${formatNumber((n * 1000) / r.activationMs)}/s, ${CONCURRENCY} in flight)`,
            `heapUsed ${formatMiB(r.heapBefore)} → ${formatMiB(r.heapAfter)}: ${formatBytes(heapPerObject)} per activation, of which state JSON ${formatBytes(r.stateBytes)}`,
            `RSS ${formatMiB(r.rssBefore)} → ${formatMiB(r.rssAfter)}: ${formatBytes(rssPerObject)} per activation`,
            `plain Map of the same states: ${formatMiB(r.mapHeapBytes)}, ${formatBytes(r.mapHeapBytes / n)} per entry`,
            ...(n === ISSUE_OBJECTS ? [] : [`measured at ${formatNumber(n)} activations, not the issue's ${formatNumber(ISSUE_OBJECTS)} (--memory-objects ${ISSUE_OBJECTS}: about 8 minutes here)`]),
          ],
        };
      },
      async close() {
        // The probe process stops its node and exits by itself.
      },
    };
  },
};

function runProbe(config: MemoryProbeConfig, log: (message: string) => void): Promise<MemoryProbeResult> {
  const child = fork(PROBE, [], {
    execArgv: ['--expose-gc', '--conditions=@highlander/source', '--import', 'tsx'],
    env: { ...process.env, BENCH_MEMORY_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const untrack = trackChild(child);
  // Only a guard against a hung probe: 10 ms per activation is 20 times the usual pace.
  const timeoutMs = 300_000 + config.objects * 10;
  return new Promise<MemoryProbeResult>((resolve, reject) => {
    let result: MemoryProbeResult | undefined;
    let error: string | undefined;
    const timer = setTimeout(() => {
      error = `the memory probe did not finish within ${formatSeconds(timeoutMs)}`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('message', (message: MemoryProbeMessage) => {
      if ('progress' in message) log(`    ${message.progress}`);
      else if ('result' in message) result = message.result;
      else error = message.error;
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      untrack();
      if (result) resolve(result);
      else reject(new Error(error ?? `the memory probe exited (code ${code}, signal ${signal}) without a result`));
    });
  });
}
