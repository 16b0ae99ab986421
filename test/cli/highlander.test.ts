import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkSession } from '@highlander/runtime/zookeeper';
import { Cluster, uniqueRoot, type ClusterConfig, type NodeProcess } from '../../scripts/cluster.js';
import { ownersInZooKeeper } from '../harness/lock-tree.js';
import { s3Config, zookeeperConnect } from '../harness/servers.js';
import { TEST_OBJECTS } from '../harness/test-objects.js';
import { timing } from '../harness/timing.js';

/**
 * The `highlander` CLI (bin/highlander, as a user runs it) end to end: `highlander admin` started
 * with flags over real ZooKeeper, radosgw and three node processes, then the client commands
 * against it — their output, their `--json`, and their exit codes (0 ok, 1 refused by the API,
 * 2 usage, 3 unreachable, 4 auth).
 */

const BIN = fileURLToPath(new URL('../../bin/highlander', import.meta.url));
const NODE_TOKEN = 'node-admin-token-cli';
const OPERATOR = 'operator-token-cli';
const VIEWER = 'viewer-token-cli';

/** The environment without the developer's HIGHLANDER_* settings. */
const BASE_ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HIGHLANDER_')));

let zk: ZkSession;
let cluster: Cluster;
let config: ClusterConfig;
let auditDir: string;
let admin: ChildProcess;
let apiUrl: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs bin/highlander with the admin API's URL and the operator token in the environment, unless overridden. */
function highlander(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const child = spawn(BIN, args, { env: { ...BASE_ENV, HIGHLANDER_API_URL: apiUrl, HIGHLANDER_API_TOKEN: OPERATOR, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The admin API's view of one object, straight over HTTP (for waiting, not for what is tested). */
async function detail(type: string, id: string): Promise<{ object: { owner: string } | null } | null> {
  const response = await fetch(`${apiUrl}/api/objects/${type}/${id}`, { headers: { authorization: `Bearer ${VIEWER}` } });
  return response.ok ? ((await response.json()) as { object: { owner: string } | null }) : null;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  zk = await ZkSession.open({ connect: zookeeperConnect() });
  auditDir = await mkdtemp(join(tmpdir(), 'highlander-cli-audit-'));
  config = {
    zookeeper: zookeeperConnect(), s3: s3Config(), root: uniqueRoot('cli'), sessionTimeoutMs: timing.sessionTimeoutMs,
    objectsModule: TEST_OBJECTS, clusterSecret: NODE_TOKEN,
  };
  cluster = await Cluster.start(config, 3);
  // The admin API through the CLI: the cluster by flags, the secrets by environment variables.
  const s3 = config.s3;
  admin = spawn(BIN, [
    'admin', '--zk', config.zookeeper, '--zk-root', config.root, '--zk-session-timeout-ms', String(timing.sessionTimeoutMs),
    '--s3-bucket', s3.bucket, '--s3-prefix', `${config.root.slice(1)}/objects/`, '--s3-endpoint', s3.endpoint, '--s3-region', s3.region,
    '--port', '0', '--audit-log', join(auditDir, 'audit.jsonl'), '--log-level', 'warn',
  ], {
    env: {
      ...BASE_ENV,
      HIGHLANDER_S3_ACCESS_KEY_ID: s3.accessKeyId, HIGHLANDER_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      HIGHLANDER_CLUSTER_SECRET: NODE_TOKEN, HIGHLANDER_API_TOKENS: `operator:otto:${OPERATOR},viewer:vera:${VIEWER}`,
      // Overridden by --port 0: a flag wins over its variable.
      HIGHLANDER_API_PORT: '1',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  apiUrl = await new Promise<string>((resolve, reject) => {
    createInterface({ input: admin.stdout! }).on('line', (line) => {
      const url = /listening on (http:\/\/\S+)/.exec(line)?.[1];
      if (url) resolve(url);
    });
    admin.once('exit', (code) => reject(new Error(`highlander admin exited with ${code} before it listened`)));
  });
});

afterAll(async () => {
  if (admin && admin.exitCode === null) {
    const exited = new Promise((resolve) => admin.once('exit', resolve));
    admin.kill('SIGTERM'); // the CLI relays it to the admin API, which closes and exits
    const timer = setTimeout(() => admin.kill('SIGKILL'), timing.exitMs);
    await exited;
    clearTimeout(timer);
  }
  await cluster?.stop();
  zk?.close();
  if (auditDir) await rm(auditDir, { recursive: true, force: true });
});

describe('highlander CLI on a live cluster', () => {
  it('lists the nodes, as a table and as the API\'s JSON', async () => {
    const json = await highlander(['ls', 'nodes', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).items.map((n: { name: string }) => n.name)).toEqual(['node-a', 'node-b', 'node-c']);

    const table = await highlander(['ls', 'nodes'], { HIGHLANDER_API_TOKEN: VIEWER });
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^NAME\s+STATUS\s+ADDRESS\s+PID\s+UPTIME\s+ACTIVATIONS\s+CALLS\/S$/);
    expect(rows.map((r) => r.split(/\s+/).slice(0, 2))).toEqual([['node-a', 'up'], ['node-b', 'up'], ['node-c', 'up']]);
  });

  it('shows an object after a call, migrates it, refuses a viewer\'s eviction, and evicts it', async () => {
    const [a] = cluster.nodes as [NodeProcess];
    await a.call('counter', 'cli-1', 'add', 5);
    await expect.poll(async () => (await detail('counter', 'cli-1'))?.object?.owner, { timeout: timing.eventMs }).toBe('node-a');

    const shown = await highlander(['show', 'counter/cli-1'], { HIGHLANDER_API_TOKEN: VIEWER });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^owner\s+node-a, epoch \d+/m);
    expect(shown.stdout).toMatch(/^in memory\s+version \d+, mailbox 0: \{"value":5\}$/m);
    expect(shown.stdout).toMatch(/^persisted\s+version \d+/m);

    const listed = await highlander(['ls', 'objects', '--type', 'counter', '--prefix', 'cli-', '--json']);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).items).toEqual([expect.objectContaining({ type: 'counter', id: 'cli-1', owner: 'node-a' })]);

    const migrated = await highlander(['migrate', 'counter/cli-1', '--to', 'node-b']);
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toMatch(/^migrated counter\/cli-1 from node-a to node-b in /);
    expect((await ownersInZooKeeper(zk, config.root)).get('counter/cli-1')).toBe('node-b');

    const refused = await highlander(['evict', 'counter/cli-1'], { HIGHLANDER_API_TOKEN: VIEWER });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('403 FORBIDDEN');
    expect((await ownersInZooKeeper(zk, config.root)).get('counter/cli-1')).toBe('node-b');

    const evicted = await highlander(['evict', 'counter/cli-1', '--json']);
    expect(evicted.code).toBe(0);
    expect(JSON.parse(evicted.stdout)).toMatchObject({ owner: 'node-b', forced: false });
    expect((await ownersInZooKeeper(zk, config.root)).has('counter/cli-1')).toBe(false);
    await expect.poll(async () => (await detail('counter', 'cli-1'))?.object, { timeout: timing.eventMs }).toBeNull();

    const after = await highlander(['show', 'counter/cli-1']);
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(/^owner\s+not active$/m);
    expect(after.stdout).toContain('{"value":5}'); // the persisted state
  });

  it("prints the cluster's calls per minute from the admin API's history, for one type, and refuses a bad window", async () => {
    for (let i = 0; i < 4; i++) await highlander(['call', 'counter/cli-metrics', 'add', '1']);
    // The calls reach the admin API with the owner's next stats sample.
    await expect.poll(async () => {
      const table = await highlander(['metrics', '--type', 'counter'], { HIGHLANDER_API_TOKEN: VIEWER });
      expect(table.code, table.stderr).toBe(0);
      const rows = table.stdout.trim().split('\n').slice(1).map((line) => line.split(/\s{2,}/));
      return rows.reduce((n, row) => n + Number(row[1]), 0);
    }, { timeout: timing.eventMs, interval: timing.pollMs }).toBeGreaterThanOrEqual(4);
    const header = await highlander(['metrics', '--window', '24h', '--limit', '5']);
    expect(header.stdout.split('\n')[0]).toMatch(/^MINUTE \(UTC\)\s+CALLS\s+ERRORS\s+REJECTED\s+P50\s+P99$/);
    const json = await highlander(['metrics', '--json']);
    expect(JSON.parse(json.stdout).resolution).toBe('1s');
    const bad = await highlander(['metrics', '--window', '2d']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--window');
  });

  it('lists the hottest objects, as a table and as the API\'s JSON, and refuses a ranking it does not know', async () => {
    const nodes = cluster.nodes;
    let running = true;
    // Keeps one counter busy while the CLI is asked (the ranking is of the last stats interval).
    const busy = (async () => {
      for (let i = 0; running; i++) await nodes[i % nodes.length]!.call('counter', 'cli-hot', 'increment', null);
    })();
    try {
      await expect.poll(async () => {
        const table = await highlander(['hot', '--type', 'counter', '--limit', '3'], { HIGHLANDER_API_TOKEN: VIEWER });
        const [header, first] = table.stdout.trimEnd().split('\n');
        return table.code === 0 && /^TYPE\s+ID\s+NODE\s+CALLS\/S\s+ERRORS\s+P99\s+QUEUE\s+STATE$/.test(header ?? '') ? first?.split(/\s+/).slice(0, 2) : header;
      }, { timeout: timing.eventMs, interval: timing.pollMs }).toEqual(['counter', 'cli-hot']);
      const json = await highlander(['hot', '--by', 'state', '--node', 'node-a', '--json']);
      expect(json.code).toBe(0);
      const body = JSON.parse(json.stdout);
      expect(body.by).toBe('state');
      expect(body.items.every((r: { node: string }) => r.node === 'node-a')).toBe(true);
    } finally {
      running = false;
      await busy;
    }
    const badBy = await highlander(['hot', '--by', 'speed']);
    expect(badBy.code).toBe(2);
    expect(badBy.stderr).toContain("--by 'speed'");
    const badLimit = await highlander(['hot', '--limit', '500']);
    expect(badLimit.code).toBe(2);
    expect(badLimit.stderr).toContain("--limit '500'");
  });

  it("prints an object's ownership history, newest first, also once it is no longer active, and pages with --before", async () => {
    for (let round = 0; round < 2; round++) {
      expect((await highlander(['call', 'counter/cli-history', 'add', '1'])).code).toBe(0);
      await expect.poll(async () => (await detail('counter', 'cli-history'))?.object?.owner, { timeout: timing.eventMs }).toBeDefined();
      expect((await highlander(['evict', 'counter/cli-history'])).code).toBe(0);
      await expect.poll(async () => {
        const run = await highlander(['history', 'counter/cli-history', '--json'], { HIGHLANDER_API_TOKEN: VIEWER });
        return JSON.parse(run.stdout).items.filter((e: { reason: string | null }) => e.reason === 'evicted').length;
      }, { timeout: timing.eventMs, interval: timing.pollMs }).toBe(round + 1);
    }
    const table = await highlander(['history', 'counter/cli-history'], { HIGHLANDER_API_TOKEN: VIEWER });
    expect(table.code, table.stderr).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^WHEN \(UTC\)\s+EVENT\s+NODE\s+EPOCH\s+UNTIL \(UTC\)\s+FOR\s+DETAIL$/);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\s+activation\s+node-[abc]\s+\d+\s+\d{4}-.*ended: evicted$/);

    const first = await highlander(['history', 'counter/cli-history', '--limit', '1']);
    const cursor = /older entries: --before (\d+)$/m.exec(first.stdout)?.[1];
    expect(cursor).toBeDefined();
    const older = await highlander(['history', 'counter/cli-history', '--limit', '1', '--before', cursor!, '--json']);
    expect(JSON.parse(older.stdout).items).toHaveLength(1);
    expect(JSON.parse(older.stdout).cursor).toBeUndefined();

    const never = await highlander(['history', 'counter/cli-never']);
    expect(never.code).toBe(0);
    expect(never.stdout).toContain('no history for counter/cli-never');
    const badLimit = await highlander(['history', 'counter/cli-history', '--limit', '0']);
    expect(badLimit.code).toBe(2);
    expect(badLimit.stderr).toContain("--limit '0'");
    const badTarget = await highlander(['history', 'counter']);
    expect(badTarget.code).toBe(2);
  });

  it('exits 1 with the API\'s code and message when the API refuses', async () => {
    const missing = await highlander(['show', 'counter/never-seen']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('404 OBJECT_NOT_FOUND: counter/never-seen is neither active nor stored');
    const json = await highlander(['evict', 'counter/never-seen', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).error.code).toBe('NOT_ACTIVE_HERE');
  });

  it('exits 4 without a token or with an unknown one, naming the problem', async () => {
    const none = await highlander(['ls', 'nodes'], { HIGHLANDER_API_TOKEN: '' });
    expect(none.code).toBe(4);
    expect(none.stderr).toContain('401 UNAUTHENTICATED');
    expect(none.stderr).toContain('no token was given');
    const unknown = await highlander(['ls', 'nodes', '--token', 'not-a-token']);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain('is not one of the admin API\'s HIGHLANDER_API_TOKENS');
  });

  it('exits 3 when the admin API cannot be reached, naming the URL', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const run = await highlander(['ls', 'nodes', '--api', url]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain(`cannot reach the admin API at ${url} (ECONNREFUSED)`);
    expect(run.stderr).toContain('--api / HIGHLANDER_API_URL');
  });

  it('exits 2 on usage errors, before contacting anything', async () => {
    const unknown = await highlander(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    const badFlag = await highlander(['ls', 'objects', '--limit', '5000', '--colour']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain("unknown option '--colour'");
    const badValue = await highlander(['migrate', 'counter/cli-1', '--to', 'no such node']);
    expect(badValue.code).toBe(2);
    expect(badValue.stderr).toContain("--to 'no such node'");
    const badNode = await highlander(['node', '--name', 'n1', '--zk', 'localhost', '--s3-bucket', 'highlander']);
    expect(badNode.code).toBe(2);
    expect(badNode.stderr).toContain("--zk 'localhost' (or HIGHLANDER_ZK): must be host:port pairs");
  });

  it('calls handlers and queries, gets the state and puts a new one guarded by its version', async () => {
    const [a, b] = cluster.nodes as [NodeProcess, NodeProcess];
    await b.call('counter', 'cli-call', 'add', 2);

    const added = await highlander(['call', 'counter/cli-call', 'add', '3']);
    expect(added.code).toBe(0);
    expect(added.stdout.trim()).toBe('5');
    const queried = await highlander(['call', 'counter/cli-call', 'value'], { HIGHLANDER_API_TOKEN: VIEWER });
    expect(queried.code).toBe(0);
    expect(queried.stdout.trim()).toBe('5');
    const refused = await highlander(['call', 'counter/cli-call', 'add', '1'], { HIGHLANDER_API_TOKEN: VIEWER });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('403 FORBIDDEN');
    const unknown = await highlander(['call', 'counter/cli-call', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("404 UNKNOWN_HANDLER: object type 'counter' has no handler or query 'nope'");
    const badJson = await highlander(['call', 'counter/cli-call', 'add', '{oops']);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toContain('the argument is not JSON');

    const got = await highlander(['get', 'counter/cli-call'], { HIGHLANDER_API_TOKEN: VIEWER });
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toEqual({ value: 5 });
    const version = Number(/version (\d+), in memory on node-b/.exec(got.stderr)?.[1]);
    expect(version).toBeGreaterThan(0);

    const file = join(auditDir, 'state.json');
    await writeFile(file, JSON.stringify({ value: 50 }));
    const put = await highlander(['put', 'counter/cli-call', `@${file}`, '--expected-version', String(version)]);
    expect(put.code).toBe(0);
    expect(put.stdout).toContain(`replaced the state of counter/cli-call at version ${version}`);
    expect(put.stdout).toContain('"value": 5');
    expect(await a.call('counter', 'cli-call', 'value', null)).toBe(50);

    const stale = await highlander(['put', 'counter/cli-call', '{"value":0}', '--expected-version', String(version), '--json']);
    expect(stale.code).toBe(1);
    expect(JSON.parse(stale.stdout).error).toMatchObject({ code: 'VERSION_CONFLICT', details: { currentVersion: version + 1, state: { value: 50 } } });
    expect(stale.stderr).toContain('409 VERSION_CONFLICT');
    const notObject = await highlander(['put', 'counter/cli-call', '42']);
    expect(notObject.code).toBe(2);
    expect(notObject.stderr).toContain('the state must be a JSON object or array');
    expect(await a.call('counter', 'cli-call', 'value', null)).toBe(50);

    // Without --expected-version: the version the object is at when the command reads it.
    const blind = await highlander(['put', 'counter/cli-call', '{"value":7}']);
    expect(blind.code).toBe(0);
    expect(await a.call('counter', 'cli-call', 'value', null)).toBe(7);

    // The edits, newest first (the refused one too), and putting back what one replaced.
    const listed = await highlander(['edits', 'counter/cli-call'], { HIGHLANDER_API_TOKEN: VIEWER });
    expect(listed.code).toBe(0);
    const rows = listed.stdout.trim().split('\n').slice(1);
    expect(rows).toHaveLength(3);
    expect(rows.map((row) => row.includes('VERSION_CONFLICT'))).toEqual([false, true, false]);
    expect(rows[0]).toMatch(/yes \(\d+ B\)/);
    const firstEdit = rows[2]!.trim().split(/\s+/)[0]!;
    const latest = await highlander(['restore', 'counter/cli-call']);
    expect(latest.code).toBe(0);
    expect(latest.stdout).toMatch(/restored the state of counter\/cli-call from before edit \d+/);
    expect(await a.call('counter', 'cli-call', 'value', null)).toBe(50);
    const chosen = await highlander(['restore', 'counter/cli-call', firstEdit]);
    expect(chosen.code).toBe(0);
    expect(await a.call('counter', 'cli-call', 'value', null)).toBe(5);
    const asViewer = await highlander(['restore', 'counter/cli-call'], { HIGHLANDER_API_TOKEN: VIEWER });
    expect(asViewer.code).toBe(4);
    const nothing = await highlander(['restore', 'counter/cli-never-edited']);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toContain('no state edit of counter/cli-never-edited in the audit log');
    const badEdit = await highlander(['restore', 'counter/cli-call', 'latest']);
    expect(badEdit.code).toBe(2);
    expect(badEdit.stderr).toContain('<edit> is an edit number');
    expect(await a.call('counter', 'cli-call', 'value', null)).toBe(5);
  });

  it('rebalance: says automatic rebalancing is off, refuses to pause it with the API\'s code, and refuses an unknown action', async () => {
    const status = await highlander(['rebalance'], { HIGHLANDER_API_TOKEN: VIEWER });
    expect(status).toMatchObject({ code: 0, stdout: 'automatic rebalancing is off (start the admin API with --rebalance)\n' });
    const pause = await highlander(['rebalance', 'pause']);
    expect(pause.code).toBe(1);
    expect(pause.stderr).toMatch(/REBALANCE_DISABLED.*--rebalance/);
    const unknown = await highlander(['rebalance', 'stop']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown action 'stop': it is status, pause, resume");
  });

  it('drains a node', async () => {
    const [, , c] = cluster.nodes as [NodeProcess, NodeProcess, NodeProcess];
    await c.call('counter', 'cli-drained', 'add', 1);
    const drained = await highlander(['drain', 'node-c']);
    expect(drained.code).toBe(0);
    expect(drained.stdout).toMatch(/^drained node-c: 1 activation deactivated in /);
    expect((await ownersInZooKeeper(zk, config.root)).has('counter/cli-drained')).toBe(false);
  });
});
