/**
 * `npm run bench`: starts its own standalone ZooKeeper and radosgw, runs every benchmark (each
 * measuring its figure and a raw baseline in the same run), prints the medians and a markdown
 * table for the README, stops everything and exits.
 *
 *   npm run bench -- [--runs 5] [--only name[,name…]] [--duration-ms 3000] [--warmup-ms 1000] [--memory-objects 50000]
 *
 * Not a test: nothing here asserts; a missed target is reported as MISS and the exit code stays 0.
 * The exit code is 1 only when a benchmark could not run.
 */
import { availableParallelism, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startRadosgw, type RadosgwServer } from '../scripts/servers/radosgw.js';
import { startZooKeeper, type ZooKeeperCluster } from '../scripts/servers/zookeeper.js';
import { adminHistoryQuery, adminHistoryRecord } from './admin-history.js';
import { adminHot, adminHotHttp } from './admin-hot.js';
import { adminMemory } from './admin-memory.js';
import { adminReconcile } from './admin-reconcile.js';
import { adminSnapshot } from './admin-snapshot.js';
import { adminStream } from './admin-stream.js';
import type { Benchmark, BenchContext, BenchServers, BenchSettings, Sample } from './benchmark.js';
import { coldActivation, coldActivationLatency } from './cold-activation.js';
import { dashboardFirstRender, dashboardFps } from './dashboard.js';
import { forward } from './forward.js';
import { hotObject } from './hot-object.js';
import { isolation } from './isolation.js';
import { localQuery, metricsCost } from './local-query.js';
import { memory } from './memory.js';
import { formatNumber, formatRatio, formatSeconds, median } from './stats.js';
import { audience } from './audience.js';
import { processesWithArgument } from './proc-stats.js';

const BENCHMARKS: readonly Benchmark[] = [localQuery, metricsCost, forward, coldActivation, coldActivationLatency, hotObject, isolation, memory, adminSnapshot, adminMemory, adminReconcile, adminStream, adminHot, adminHotHttp, adminHistoryRecord, adminHistoryQuery, dashboardFirstRender, dashboardFps, audience];
const BUCKET = 'highlander-bench';
const DEFAULT_MEMORY_OBJECTS = 50_000;
const USAGE = `usage: npm run bench -- [--runs N] [--only ${BENCHMARKS.map((b) => b.name).join('|')}[,…]] [--duration-ms N] [--warmup-ms N] [--memory-objects N] [--admin-objects N] [--audience-participants N] [--audience-seconds N] [--audience-steps N,N,…] [--audience-step-seconds N]`;

interface Outcome {
  benchmark: Benchmark;
  samples: Sample[];
  error?: unknown;
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      runs: { type: 'string', default: '5' },
      only: { type: 'string' },
      'duration-ms': { type: 'string', default: '3000' },
      'warmup-ms': { type: 'string', default: '1000' },
      // 100k activations take about 8 minutes on the 2-core reference box (radosgw-bound, see
      // bench/memory.ts): the default keeps the whole run under 10 minutes.
      'memory-objects': { type: 'string', default: String(DEFAULT_MEMORY_OBJECTS) },
      // Read by bench/admin-settings.ts (the admin benchmarks' simulated cluster size); declared here so it is accepted and listed.
      'admin-objects': { type: 'string' },
      // Read by bench/audience.ts (participants, window, degradation steps); declared here so they are accepted and listed.
      'audience-participants': { type: 'string' },
      'audience-seconds': { type: 'string' },
      'audience-steps': { type: 'string' },
      'audience-step-seconds': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
} catch (err) {
  console.error(`bench: ${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
const { values } = parsed;
if (values.help === true) {
  console.log(USAGE);
  process.exit(0);
}

function positiveInteger(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bench: --${name} must be a positive integer (got '${value}')\n${USAGE}`);
    process.exit(2);
  }
  return n;
}

const runs = positiveInteger('runs', values.runs);
const settings: BenchSettings = {
  durationMs: positiveInteger('duration-ms', values['duration-ms']),
  warmupMs: positiveInteger('warmup-ms', values['warmup-ms']),
  memoryObjects: positiveInteger('memory-objects', values['memory-objects']),
};
const selected = values.only === undefined ? BENCHMARKS : values.only.split(',').map((name) => {
  const benchmark = BENCHMARKS.find((b) => b.name === name.trim());
  if (!benchmark) {
    console.error(`bench: unknown benchmark '${name}'\n${USAGE}`);
    process.exit(2);
  }
  return benchmark;
});

let zookeeper: ZooKeeperCluster | undefined;
let radosgw: RadosgwServer | undefined;

async function stopServers(): Promise<void> {
  const results = await Promise.allSettled([zookeeper?.stop(), radosgw?.stop()]);
  for (const result of results) if (result.status === 'rejected') console.error('bench: stopping a server failed:', result.reason);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\nbench: ${signal}, stopping…`);
    // The exit hooks kill the child processes; the servers' guards and temp-dir hook take the servers.
    stopServers().finally(() => process.exit(130));
  });
}

// The pinned AWS SDK supports Node 20; its notice about releases after January 2027 is not actionable here
// (S3StateStore sets the same, but the servers' own S3 client is created first). Children inherit it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const startedMs = performance.now();
const log = (message: string) => console.log(message);
log(`Highlander benchmarks — node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown cpu'})`);
log(`${runs} run(s) per benchmark (memory: once), ${settings.durationMs} ms per measurement after ${settings.warmupMs} ms of warm-up; medians reported (a ratio: the median of the runs' ratios).`);
log('Starting ZooKeeper (standalone) and radosgw…');

const [zookeeperResult, radosgwResult] = await Promise.allSettled([
  startZooKeeper().then((cluster) => (zookeeper = cluster)),
  startRadosgw().then((server) => (radosgw = server)),
]);
if (zookeeperResult.status === 'rejected' || radosgwResult.status === 'rejected') {
  for (const result of [zookeeperResult, radosgwResult]) {
    if (result.status === 'rejected') console.error('bench: a server failed to start:', result.reason);
  }
  await stopServers();
  process.exit(1);
}
const zk = zookeeper!;
const rgw = radosgw!;
await rgw.createBucket(BUCKET);
const servers: BenchServers = {
  zookeeper: zk.connectString,
  s3: { endpoint: rgw.endpoint, region: rgw.region, accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey, bucket: BUCKET },
  processes: [
    ...zk.servers.map((s) => ({ name: `zookeeper-${s.id}`, pid: s.pid })),
    ...(await processesWithArgument(rgw.dir)).map((p) => ({ name: p.pid === rgw.gatewayPid ? 'radosgw' : p.name, pid: p.pid })),
  ],
};
log(`Servers up in ${formatSeconds(performance.now() - startedMs)}: ZooKeeper ${servers.zookeeper}, radosgw ${servers.s3.endpoint}\n`);

let rootCounter = 0;
const context: BenchContext = {
  servers,
  settings,
  uniqueRoot: (label) => `/bench-${label}-${process.pid}-${Date.now().toString(36)}-${rootCounter++}`,
  log,
};

const outcomes: Outcome[] = [];
for (const [index, benchmark] of selected.entries()) {
  const outcome: Outcome = { benchmark, samples: [] };
  outcomes.push(outcome);
  const count = benchmark.once ? 1 : runs;
  log(`[${index + 1}/${selected.length}] ${benchmark.name}: ${titleOf(benchmark)}`);
  log(`  baseline: ${benchmark.baselineTitle}; target ${benchmark.target.label}${benchmark.once ? '; measured once' : ''}`);
  const benchStarted = performance.now();
  try {
    const session = await benchmark.setup(context);
    try {
      for (let run = 0; run < count; run++) {
        const runStarted = performance.now();
        const sample = await session.measure(run);
        outcome.samples.push(sample);
        log(`  run ${run + 1}/${count}: ${formatValue(sample.figure, benchmark.unit)}, baseline ${formatValue(sample.baseline, benchmark.baselineUnit)}, ratio ${formatRatio(sample.figure / sample.baseline)} (${formatSeconds(performance.now() - runStarted)})`);
        for (const line of sample.details ?? []) log(`      ${line}`);
      }
    } finally {
      await session.close();
    }
    const summary = summarize(outcome);
    log(`  median: ${summary.measured}, baseline ${summary.baseline}, ratio ${summary.ratio} → ${summary.result} (${benchmark.target.label}) in ${formatSeconds(performance.now() - benchStarted)}\n`);
  } catch (err) {
    outcome.error = err;
    log(`  FAILED after ${formatSeconds(performance.now() - benchStarted)}: ${(err as Error)?.stack ?? String(err)}\n`);
  }
}

log('Stopping the servers…');
await stopServers();

const totalMs = performance.now() - startedMs;
log(`\nDone in ${formatSeconds(totalMs)}. Medians of ${runs} run(s) (memory: one run), each figure measured with its baseline in the same run:\n`);
log('| figure | measured | baseline | ratio | target | result |');
log('|---|---|---|---|---|---|');
for (const outcome of outcomes) {
  const s = summarize(outcome);
  log(`| ${outcome.benchmark.name}: ${titleOf(outcome.benchmark)} | ${s.measured} | ${s.baseline} | ${s.ratio} | ${outcome.benchmark.target.label} | ${s.result} |`);
}
log('');
log('Baselines:');
for (const { benchmark } of outcomes) log(`- ${benchmark.name}: ${benchmark.baselineTitle}.`);

process.exit(outcomes.some((o) => o.error !== undefined) ? 1 : 0);

function summarize(outcome: Outcome): { measured: string; baseline: string; ratio: string; result: string } {
  const { benchmark, samples } = outcome;
  if (outcome.error !== undefined || samples.length === 0) return { measured: '—', baseline: '—', ratio: '—', result: 'ERROR' };
  const figure = median(samples.map((s) => s.figure));
  const baseline = median(samples.map((s) => s.baseline));
  // Each run's figure against the baseline of the same run, then the median of those ratios: the
  // medians of the figures and of the baselines may come from different runs, on a machine whose
  // speed drifts between runs.
  const ratio = median(samples.map((s) => s.figure / s.baseline));
  const { target } = benchmark;
  const compared = target.of === 'figure' ? figure : ratio;
  const pass = target.comparison === '>=' ? compared >= target.value : compared <= target.value;
  return {
    measured: formatValue(figure, benchmark.unit),
    baseline: formatValue(baseline, benchmark.baselineUnit),
    ratio: formatRatio(ratio),
    result: pass ? 'PASS' : 'MISS',
  };
}

function titleOf(benchmark: Benchmark): string {
  return typeof benchmark.title === 'function' ? benchmark.title(settings) : benchmark.title;
}

function formatValue(value: number, unit: string): string {
  return `${formatNumber(value)} ${unit}`;
}
