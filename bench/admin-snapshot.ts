import { performance } from 'node:perf_hooks';
import type { ObjectView, Page } from '@highlander/admin-api';
import { startFixture } from './admin-fixture.js';
import { adminObjects } from './admin-settings.js';
import { AdminStreamClient } from './admin-stream-client.js';
import type { AdminProcess } from './admin-process.js';
import type { Benchmark } from './benchmark.js';
import { formatNumber } from './stats.js';

const FIRST_PAGE = '/api/objects?limit=1000';
/** The other first pages a dashboard asks for, each timed once per run for the details. */
const OTHER_PAGES = [
  '/api/objects?limit=1000&sort=activeSince&order=desc',
  '/api/objects?limit=1000&sort=owner',
  '/api/objects?limit=1000&sort=callsPerSecond&order=desc',
  '/api/objects?limit=1000&type=counter',
];

/**
 * What a newly connected client of the admin API gets, with `--admin-objects` (100,000) objects
 * in the model: it opens the ws stream and subscribes to `summary` (the snapshot: summary and
 * nodes) while it fetches the first page of `GET /api/objects?limit=1000` (sorted by id, the
 * default); the figure is the time from opening the socket until both arrived. The admin API runs
 * as its own process; the client is this process. Other sorts, the second page, and each request
 * alone are timed once per run for the details.
 *
 * Baseline, in this process: the same 100,000 object views as plain records (built from what the
 * nodes hold), sorted by id the plain way, and the first 1,000 serialized with JSON.stringify.
 */
export const adminSnapshot: Benchmark = {
  name: 'admin-snapshot',
  title: () => `new client's snapshot (ws summary + first page of 1,000 objects by id), ${formatNumber(adminObjects)} objects`,
  unit: 'ms',
  baselineTitle: `sort of the same ${formatNumber(adminObjects)} object views as plain records by id + JSON.stringify of the first 1,000, in the bench process`,
  baselineUnit: 'ms',
  target: { of: 'figure', comparison: '<=', value: 1000, label: '< 1 s' },

  async setup(context) {
    const fixture = await startFixture(context, 'admin-snapshot', { populate: true, admin: true });
    const admin = fixture.admin!;
    const views: ObjectView[] = (await fixture.cluster.objects()).map((o) => ({
      type: o.type, id: o.id, owner: o.owner, epoch: o.epoch, activeSince: o.activeSince, lastCallAt: null, callsPerSecond: 0, queueLength: 0, waiting: 0,
    }));
    const allJsonMs = time(() => JSON.stringify(views)).ms;
    return {
      async measure() {
        const figure = await newClient(admin);
        const baseline = time(() => {
          const sorted = [...views].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
          return JSON.stringify(sorted.slice(0, 1000)).length;
        }).ms;
        const pages: string[] = [];
        const first = await timedGet<Page<ObjectView>>(admin, FIRST_PAGE);
        pages.push(`${FIRST_PAGE} ${ms(first.ms)} (${formatNumber(first.bytes)} B, total ${formatNumber(first.body.total)})`);
        if (first.body.cursor) {
          const second = await timedGet<Page<ObjectView>>(admin, `${FIRST_PAGE}&cursor=${first.body.cursor}`);
          pages.push(`second page ${ms(second.ms)}`);
        }
        for (const path of OTHER_PAGES) pages.push(`${path.slice('/api/objects?limit=1000'.length) || '(default)'} ${ms((await timedGet(admin, path)).ms)}`);
        const client = await AdminStreamClient.connect(admin.wsUrl, admin.token);
        let summaryMs: number;
        let summaryBytes: number;
        try {
          const subscribed = await client.subscribe({ subscribe: 'summary' });
          summaryMs = subscribed.ms;
          summaryBytes = client.tally.bytes;
        } finally {
          client.close();
        }
        const summary = await timedGet(admin, '/api/summary');
        return {
          figure: figure.totalMs,
          baseline,
          details: [
            `new client: ws open + hello ${ms(figure.connectMs)}, then summary snapshot and first page together ${ms(figure.totalMs - figure.connectMs)}`,
            `alone: ws summary snapshot ${ms(summaryMs)} (${formatNumber(summaryBytes)} B incl. hello), GET /api/summary ${ms(summary.ms)}`,
            `first pages: ${pages.join('; ')}`,
            `for reference, JSON.stringify of all ${formatNumber(views.length)} views in this process: ${ms(allJsonMs)}`,
          ],
        };
      },
      close: () => fixture.close(),
    };
  },
};

/** A dashboard connecting: ws open, then the summary snapshot and the first objects page in parallel. */
async function newClient(admin: AdminProcess): Promise<{ connectMs: number; totalMs: number }> {
  const started = performance.now();
  const client = await AdminStreamClient.connect(admin.wsUrl, admin.token);
  try {
    const connectMs = performance.now() - started;
    await Promise.all([client.subscribe({ subscribe: 'summary' }), timedGet(admin, FIRST_PAGE)]);
    return { connectMs, totalMs: performance.now() - started };
  } finally {
    client.close();
  }
}

async function timedGet<T = unknown>(admin: AdminProcess, path: string): Promise<{ ms: number; bytes: number; body: T }> {
  const started = performance.now();
  const response = await fetch(`${admin.url}${path}`, { headers: { authorization: `Bearer ${admin.token}` } });
  const text = await response.text();
  const elapsed = performance.now() - started;
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${text.slice(0, 300)}`);
  return { ms: elapsed, bytes: Buffer.byteLength(text), body: JSON.parse(text) as T };
}

function time<T>(work: () => T): { ms: number; result: T } {
  const started = performance.now();
  const result = work();
  return { ms: performance.now() - started, result };
}

function ms(value: number): string {
  return `${formatNumber(value)} ms`;
}
