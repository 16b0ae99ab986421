import { connectRawZooKeeper } from './raw-zookeeper.js';
import { performance } from 'node:perf_hooks';
import type { Client } from 'node-zookeeper-client';
import { Keyspace } from '@highlander/runtime/zookeeper';
import { LiveClusterModel } from '@highlander/admin-api';
import { fourLetterWord } from '../scripts/servers/four-letter-word.js';
import { startFixture } from './admin-fixture.js';
import { adminObjects } from './admin-settings.js';
import type { Benchmark } from './benchmark.js';
import { formatNumber, formatSeconds } from './stats.js';

/** LiveClusterModel's default `reconcileConcurrency`, used by the baseline too. */
const IN_FLIGHT = 256;

/**
 * A full reconciliation of the lock tree with `--admin-objects` (100,000) objects: a
 * LiveClusterModel started fresh in this process (`LiveClusterModel.start()`, which lists the
 * members, connects to every node's event stream and reconciles before it resolves) knows no
 * object, so its scan lists every lock parent and reads the stat (epoch, ctime) of the lock of
 * every object that the nodes' event backlogs (10,000 events each) did not already tell it about.
 * The figure is the time `start()` takes, until the model holds every object: that is the full
 * reconciliation as the admin API does it when it starts. The details give the requests ZooKeeper
 * received meanwhile (its `srvr` counter), which shows how many scans that took, and, in the first
 * run only (to keep the benchmark's time down), one more `reconcile()` on the loaded model: the
 * steady-state scan that runs every minute (every object known, one getChildren per object).
 *
 * Baseline: the bare ZooKeeper work of a scan on node-zookeeper-client, same concurrency (256 in
 * flight): getChildren of `<root>/objects`, of every type, of every bucket and of every object's lock parent.
 */
export const adminReconcile: Benchmark = {
  name: 'admin-reconcile',
  title: () => `full reconciliation of ${formatNumber(adminObjects)} objects' lock tree by a fresh LiveClusterModel`,
  unit: 'ms',
  baselineTitle: `bare getChildren of <root>/objects, every type, every bucket and every object's lock parent on node-zookeeper-client, ${IN_FLIGHT} in flight`,
  baselineUnit: 'ms',
  target: { of: 'figure', comparison: '<=', value: 10_000, label: '< 10 s' },

  async setup(context) {
    const { servers } = context;
    const fixture = await startFixture(context, 'admin-reconcile', { populate: true, admin: false });
    const root = fixture.cluster.root;
    let client: Client;
    try {
      client = await connectRawZooKeeper(servers.zookeeper);
    } catch (err) {
      await fixture.close();
      throw err;
    }

    const zookeeperPort = Number(servers.zookeeper.split(',')[0]!.split(':')[1]);
    const measureFigure = async (steadyState: boolean) => {
      const requestsBefore = await receivedRequests(zookeeperPort);
      const started = performance.now();
      const model = await LiveClusterModel.start({ connect: servers.zookeeper, root, reconcileIntervalMs: 3_600_000 });
      try {
        const startMs = performance.now() - started;
        const requests = (await receivedRequests(zookeeperPort)) - requestsBefore;
        const atStart = model.summary();
        let steady: { ms: number; objects: number } | undefined;
        if (steadyState) {
          const again = performance.now();
          await model.reconcile();
          steady = { ms: performance.now() - again, objects: model.summary().objects };
        }
        return { startMs, requests, objects: atStart.objects, lastScanMs: atStart.lastReconcile?.durationMs ?? Number.NaN, steady };
      } finally {
        await model.stop();
      }
    };
    const measureBaseline = async () => {
      const started = performance.now();
      const parents = await bareScan(client, new Keyspace(root));
      return { ms: performance.now() - started, parents };
    };

    return {
      async measure(run) {
        let figure: Awaited<ReturnType<typeof measureFigure>>;
        let baseline: Awaited<ReturnType<typeof measureBaseline>>;
        if (run % 2 === 0) {
          figure = await measureFigure(run === 0);
          baseline = await measureBaseline();
        } else {
          baseline = await measureBaseline();
          figure = await measureFigure(run === 0);
        }
        if (figure.objects !== adminObjects) throw new Error(`the fresh model held ${figure.objects} objects after start(), not ${adminObjects}`);
        return {
          figure: figure.startMs,
          baseline: baseline.ms,
          details: [
            `start() resolved after ${formatSeconds(figure.startMs)} holding ${formatNumber(figure.objects)} objects; its last scan (summary().lastReconcile) took ${formatSeconds(figure.lastScanMs)}`,
            `ZooKeeper received ${formatNumber(figure.requests)} requests meanwhile: ${(figure.requests / figure.objects).toFixed(2)} per object (one scan lists each lock parent once; each object not in the nodes' event backlogs adds an exists)`,
            ...(figure.steady ? [`steady-state reconcile() on the loaded model: ${formatSeconds(figure.steady.ms)} (${formatNumber(figure.steady.objects)} objects after it; first run only)`] : []),
            `bare scan: ${formatNumber(baseline.parents)} lock parents listed in ${formatSeconds(baseline.ms)} (${formatNumber((baseline.parents * 1000) / baseline.ms)} getChildren/s)`,
          ],
        };
      },
      async close() {
        client.close();
        await fixture.close();
      },
    };
  },
};

/** Requests ZooKeeper received since it started (`srvr`'s counter: every client's, ours dominate). */
async function receivedRequests(port: number): Promise<number> {
  const answer = await fourLetterWord(port, 'srvr');
  const match = /^Received: (\d+)$/m.exec(answer);
  if (!match) throw new Error(`no Received count in ZooKeeper's srvr answer: ${answer.slice(0, 200)}`);
  return Number(match[1]);
}

/** Lists every lock parent's children, bucket by bucket, `IN_FLIGHT` requests in flight; returns how many parents. */
async function bareScan(client: Client, keyspace: Keyspace): Promise<number> {
  const types = await children(client, keyspace.objectsPath);
  const buckets: Array<{ type: string; bucket: string }> = [];
  await boundedAll(types, async (type) => {
    for (const bucket of await children(client, keyspace.typePath(type))) buckets.push({ type, bucket });
  });
  const parents: string[] = [];
  await boundedAll(buckets, async ({ type, bucket }) => {
    for (const id of await children(client, keyspace.bucketPath(type, bucket))) parents.push(keyspace.lockParentIn(type, bucket, id));
  });
  await boundedAll(parents, async (parent) => {
    await children(client, parent);
  });
  return parents.length;
}

async function boundedAll<T>(items: T[], task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, items.length) }, worker));
}

function children(client: Client, path: string): Promise<string[]> {
  return new Promise((resolve, reject) => client.getChildren(path, (error, result) => (error ? reject(error) : resolve(result))));
}

