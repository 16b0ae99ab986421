import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { describePopulate } from './admin-cluster.js';
import { startFixture } from './admin-fixture.js';
import { adminObjects } from './admin-settings.js';
import type { Benchmark } from './benchmark.js';
import { formatBytes, formatNumber, formatSeconds } from './stats.js';

const MB = 1_000_000;
/** Quiet time before each reading: connections settled, the ingestion's garbage mostly collected. */
const SETTLE_MS = 3000;
const MODEL_TIMEOUT_MS = 180_000;

/**
 * The admin API process's memory with `--admin-objects` (100,000) active objects in its model.
 * The admin API (admin-api/src/main.ts, its own process) starts against the simulated cluster with
 * no object; its RSS then is the baseline. The nodes then activate the objects (lock znodes, and
 * the lifecycle events the admin API follows on every node's stream, as it would in production),
 * until `GET /api/summary` reports them all; the RSS then is the figure. RSS is VmRSS from
 * /proc/<pid>/status; the V8 heap comes from its own /metrics. Measured once.
 */
export const adminMemory: Benchmark = {
  name: 'admin-memory',
  title: () => `admin API process RSS with ${formatNumber(adminObjects)} active objects over 5 (simulated) nodes`,
  unit: 'MB',
  baselineTitle: 'RSS of the same admin API process before the objects were activated (0 objects)',
  baselineUnit: 'MB',
  target: { of: 'figure', comparison: '<=', value: 500, label: '< 500 MB RSS' },
  once: true,

  async setup(context) {
    const fixture = await startFixture(context, 'admin-memory', { populate: false, admin: true });
    const admin = fixture.admin!;
    return {
      async measure() {
        await sleep(SETTLE_MS);
        const before = await admin.memory();
        const heapBefore = await admin.heap();
        context.log(`    0 objects: RSS ${formatMB(before.rssBytes)}, heap used ${formatMB(heapBefore.usedBytes)}; activating ${formatNumber(adminObjects)} objects with the admin API following…`);
        const started = performance.now();
        const populated = await fixture.cluster.populate(adminObjects);
        context.log(`    ${describePopulate(populated)}`);
        const summary = await admin.waitForObjects(adminObjects, MODEL_TIMEOUT_MS, context.log);
        const ingestMs = performance.now() - started;
        await sleep(SETTLE_MS);
        const after = await admin.memory();
        const heapAfter = await admin.heap();
        const n = adminObjects;
        return {
          figure: after.rssBytes / MB,
          baseline: before.rssBytes / MB,
          details: [
            `the model held all ${formatNumber(n)} objects ${formatSeconds(ingestMs)} after the nodes began activating them (${formatNumber(populated.events)} node events; last reconciliation ${summary.lastReconcile ? `${formatNumber(summary.lastReconcile.durationMs)} ms` : 'none'})`,
            `RSS ${formatMB(before.rssBytes)} → ${formatMB(after.rssBytes)}: ${formatBytes((after.rssBytes - before.rssBytes) / n)} per object; peak RSS (VmHWM) ${formatMB(after.peakRssBytes)}`,
            `V8 heap used ${formatMB(heapBefore.usedBytes)} → ${formatMB(heapAfter.usedBytes)} (${formatBytes((heapAfter.usedBytes - heapBefore.usedBytes) / n)} per object, not collected first), heap total ${formatMB(heapAfter.totalBytes)}`,
          ],
        };
      },
      close: () => fixture.close(),
    };
  },
};

function formatMB(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}
