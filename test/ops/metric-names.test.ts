import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, startAdminApiProcess, uniqueRoot, type ClusterConfig, type NodeProcess } from '../../scripts/cluster.js';
import { s3Config, zookeeperConnect } from '../harness/servers.js';
import { TEST_OBJECTS } from '../harness/test-objects.js';
import { timing } from '../harness/timing.js';
import { alertRules, dashboard, metricNames, withVariablesResolved } from './ops-files.js';

/**
 * Every metric the alert rules (ops/prometheus/highlander-alerts.yml) and the Grafana dashboard
 * (ops/grafana/highlander.json) read is one that the processes export: a node process (with an
 * audience gateway, as `highlander node --audience-port` runs it) and the admin API process, on the
 * harness's ZooKeeper and radosgw, scraped over HTTP at /metrics as Prometheus scrapes them. A
 * renamed or dropped metric fails here instead of silently emptying a panel or an alert.
 */

const SECRET = 'metric-names-cluster-secret';

let cluster: Cluster;
let config: ClusterConfig;
let auditDir: string;
let admin: { child: ChildProcess; url: string } | undefined;

beforeAll(async () => {
  config = {
    zookeeper: zookeeperConnect(), s3: s3Config(), root: uniqueRoot('metric-names'), sessionTimeoutMs: timing.sessionTimeoutMs,
    objectsModule: TEST_OBJECTS, clusterSecret: SECRET, nodeEnv: { HIGHLANDER_AUDIENCE_PORT: '0' },
  };
  auditDir = await mkdtemp(join(tmpdir(), 'highlander-metric-names-'));
  cluster = await Cluster.start(config, 1);
  admin = await startAdminApiProcess(config, { tokens: 'viewer:vera:metric-names-viewer-token', auditLog: join(auditDir, 'audit.jsonl') });
});

afterAll(async () => {
  if (admin && admin.child.exitCode === null) {
    const exited = new Promise((resolve) => admin!.child.once('exit', resolve));
    admin.child.kill('SIGTERM');
    const timer = setTimeout(() => admin!.child.kill('SIGKILL'), timing.exitMs);
    await exited;
    clearTimeout(timer);
  }
  await cluster?.stop();
  if (auditDir) await rm(auditDir, { recursive: true, force: true });
});

async function scrape(url: string, token?: string): Promise<string> {
  const response = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  expect(response.status).toBe(200);
  return response.text();
}

/** The series names a Prometheus text exposition declares: each family, and a histogram's `_bucket`, `_sum` and `_count`. */
function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

/** Made by Prometheus itself for every scrape target, not by the processes. */
const MADE_BY_PROMETHEUS = new Set(['up']);

describe('metric names in the alert rules and the Grafana dashboard', () => {
  it('are all exported by a node process or the admin API process', async () => {
    const node = cluster.nodes[0] as NodeProcess;
    // One call of each kind, so that the scrape shows call series too (the families are declared either way).
    await node.call('counter', 'metric-names', 'increment', null);
    const onNode = await scrape(`${node.address.replace(/^ws/, 'http')}/metrics`, SECRET);
    const onAdmin = await scrape(`${admin!.url}/metrics`);
    const exported = new Set([...exportedNames(onNode), ...exportedNames(onAdmin)]);

    const { panels, variableQueries } = dashboard();
    const fromRules = alertRules().flatMap((r) => metricNames(r.expr));
    const fromPanels = panels.flatMap((p) => p.exprs.flatMap((e) => metricNames(withVariablesResolved(e))));
    const fromVariables = variableQueries.map((q) => /^label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(q)?.[1] ?? `unparsed variable query: ${q}`);
    const referenced = new Set([...fromRules, ...fromPanels, ...fromVariables]);

    // Sanity of the extraction itself: the names this check is for are found.
    expect([...referenced]).toEqual(expect.arrayContaining([
      'highlander_calls_total', 'highlander_call_duration_seconds_bucket', 'highlander_admin_lock_queue_waiters', 'highlander_audience_connections', 'up',
    ]));
    expect([...referenced].filter((name) => !exported.has(name) && !MADE_BY_PROMETHEUS.has(name)).sort()).toEqual([]);
  });

  it('leave no Highlander metric off the dashboard', async () => {
    const node = cluster.nodes[0] as NodeProcess;
    const families = [...await scrape(`${node.address.replace(/^ws/, 'http')}/metrics`, SECRET).then(exportedNames), ...await scrape(`${admin!.url}/metrics`).then(exportedNames)]
      .filter((name) => name.startsWith('highlander_') && !/_(bucket|sum|count)$/.test(name));
    const shown = new Set(dashboard().panels.flatMap((p) => p.exprs.flatMap((e) => metricNames(withVariablesResolved(e)))).map((n) => n.replace(/_(bucket|sum|count)$/, '')));
    expect(families.filter((name) => !shown.has(name)).sort()).toEqual([]);
  });
});
