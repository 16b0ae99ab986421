import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Cluster, startAdminApiProcess, uniqueRoot, type ClusterConfig, type NodeProcess } from '../../scripts/cluster.js';
import { s3Config, zookeeperConnect } from '../harness/servers.js';
import { TEST_OBJECTS } from '../harness/test-objects.js';
import { hold, timing } from '../harness/timing.js';

/**
 * The hot objects (`GET /api/hot` and the stream's `hot` scope) over real ZooKeeper, radosgw, two
 * node processes and the admin API as a process of its own: a workload makes one counter the
 * busiest, one fail, one slow with a queue, one big, and the ranking by each figure puts it first,
 * from nothing but the nodes' per-interval stats.
 */

const NODE_TOKEN = 'node-admin-token-hot';
const VIEWER = 'viewer-token-hot';
const OPERATOR = 'operator-token-hot';
/** The state `hot-big` grows to (the others stay at `{"value":n}`). */
const BIG_STATE_BYTES = 3000;

let cluster: Cluster;
let config: ClusterConfig;
let auditDir: string;
let api: { child: ChildProcess; url: string };
let stopWorkload: (() => Promise<void>) | undefined;
/** Errors the workload did not expect (a failed call other than `explode`'s); a test checks there are none. */
const workloadErrors: unknown[] = [];

async function get(path: string, token: string | null = VIEWER): Promise<{ status: number; body: any }> {
  const response = await fetch(`${api.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, body: await response.json() };
}

/** Calls on the counters until stopped: each loop is one client, the busy one has four. */
function startWorkload(nodes: readonly NodeProcess[]): () => Promise<void> {
  let running = true;
  const loop = async (body: (i: number) => Promise<unknown>) => {
    for (let i = 0; running; i++) {
      try {
        await body(i);
      } catch (err) {
        workloadErrors.push(err);
        await hold(timing.retryPauseMs);
      }
    }
  };
  const node = (i: number) => nodes[i % nodes.length]!;
  const loops = [
    // Four clients as fast as they go: the busiest by far.
    ...[0, 1, 2, 3].map((c) => loop((i) => node(i + c).call('counter', 'hot-calls', 'increment', null))),
    // Every call an error, paced so that it is not the busiest.
    loop(async (i) => {
      await node(i).call('counter', 'hot-errors', 'explode').catch((err: { code?: string }) => {
        if (err.code !== 'HANDLER_FAILED') throw err;
      });
      await hold(timing.retryPauseMs);
    }),
    // Three clients behind one slow handler: calls wait in its mailbox, and take seconds.
    ...[0, 1, 2].map((c) => loop((i) => node(i + c).call('counter', 'hot-slow', 'slowIncrement', timing.slowHandlerMs, timing.failoverMs))),
    // A big state, called now and then (an object shows only in intervals with calls).
    loop(async (i) => {
      await node(i).call('counter', 'hot-big', 'grow', BIG_STATE_BYTES);
      await hold(timing.retryPauseMs);
    }),
  ];
  return async () => {
    running = false;
    await Promise.all(loops);
  };
}

beforeAll(async () => {
  auditDir = await mkdtemp(join(tmpdir(), 'highlander-hot-audit-'));
  config = {
    zookeeper: zookeeperConnect(), s3: s3Config(), root: uniqueRoot('hot'), sessionTimeoutMs: timing.sessionTimeoutMs,
    objectsModule: TEST_OBJECTS, clusterSecret: NODE_TOKEN,
  };
  cluster = await Cluster.start(config, 2);
  api = await startAdminApiProcess(config, { tokens: `operator:otto:${OPERATOR},viewer:vera:${VIEWER}`, auditLog: join(auditDir, 'audit.jsonl') });
  stopWorkload = startWorkload(cluster.nodes);
});

afterAll(async () => {
  await stopWorkload?.();
  if (api) {
    const exited = new Promise((r) => api.child.once('exit', r));
    api.child.kill('SIGTERM');
    await exited;
  }
  await cluster?.stop();
  if (auditDir) await rm(auditDir, { recursive: true, force: true });
});

/** The id ranked first by `by` (with the query's other parameters), or undefined. */
async function first(query: string): Promise<string | undefined> {
  const res = await get(`/api/hot?${query}`);
  expect(res.status).toBe(200);
  return res.body.items[0]?.id;
}

describe('hot objects over a real cluster', () => {
  it.each([
    ['calls', 'hot-calls'],
    ['errors', 'hot-errors'],
    ['p99', 'hot-slow'],
    ['queue', 'hot-slow'],
    ['state', 'hot-big'],
  ])('ranks by %s with %s first', async (by, id) => {
    await expect.poll(() => first(`by=${by}`), { timeout: timing.eventMs, interval: timing.pollMs }).toBe(id);
  });

  it("gives each row its node and figures, and filters by type and by node", async () => {
    let row: any;
    await expect.poll(async () => {
      row = (await get('/api/hot?by=errors&limit=200')).body.items.find((r: { id: string }) => r.id === 'hot-errors');
      return row?.errorRate;
    }, { timeout: timing.eventMs, interval: timing.pollMs }).toBe(1);
    expect(row).toMatchObject({ type: 'counter', id: 'hot-errors', node: expect.stringMatching(/^node-[ab]$/), queue: expect.any(Number) });
    expect(row.callsPerSecond).toBeGreaterThan(0);

    let big: any;
    await expect.poll(async () => {
      big = (await get('/api/hot?by=state&type=counter&limit=1')).body.items[0];
      return big?.id;
    }, { timeout: timing.eventMs, interval: timing.pollMs }).toBe('hot-big');
    expect(big.stateBytes).toBe(Buffer.byteLength(JSON.stringify({ value: 0, padding: 'x'.repeat(BIG_STATE_BYTES) })));

    // Only counters are called: another type has no rows.
    expect((await get('/api/hot?type=todo')).body.items).toEqual([]);

    // By node: the busy counter shows under the node whose stats list it, and never under the other.
    let owner: string | undefined;
    await expect.poll(async () => {
      owner = (await get('/api/hot?by=calls&limit=1')).body.items[0]?.node;
      return owner && (await first(`by=calls&node=${owner}`));
    }, { timeout: timing.eventMs, interval: timing.pollMs }).toBe('hot-calls');
    const other = owner === 'node-a' ? 'node-b' : 'node-a';
    const elsewhere = (await get(`/api/hot?node=${other}&limit=200`)).body.items as Array<{ id: string; node: string }>;
    expect(elsewhere.every((r) => r.node === other)).toBe(true);
  });

  it('limits the rows', async () => {
    await expect.poll(async () => (await get('/api/hot?limit=2')).body.items.length, { timeout: timing.eventMs, interval: timing.pollMs }).toBe(2);
    const page = await get('/api/hot');
    expect(page.body.by).toBe('calls');
    expect(page.body.items.length).toBeLessThanOrEqual(20);
  });

  it('refuses bad parameters with 400 saying what is allowed, and readers without a token with 401', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['by=speed', 'query.by', /one of calls, errors, p99, queue, state/],
      ['limit=0', 'query.limit', /at least 1/],
      ['limit=201', 'query.limit', /at most 200/],
      ['limit=ten', 'query.limit', /whole number from 1 to 200/],
      ['limit=1.5', 'query.limit', /whole number from 1 to 200/],
      ['type=Counter', 'query.type', /type/],
      ['node=no%20such', 'query.node', /node/],
      ['order=desc', 'query', /order/],
    ];
    for (const [query, field, message] of cases) {
      const res = await get(`/api/hot?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      expect(res.body.error.message, query).toContain(`invalid ${field}`);
      expect(res.body.error.message, query).toMatch(message);
    }
    const anonymous = await get('/api/hot', null);
    expect(anonymous.status).toBe(401);
  });

  it('streams the ranking after each stats interval to a viewer subscribed to the hot scope', async () => {
    const ws = new WebSocket(`${api.url.replace(/^http/, 'ws')}/api/stream`, ['highlander.v1', `bearer.${VIEWER}`]);
    const messages: any[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data))));
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      ws.send(JSON.stringify({ subscribe: 'hot', by: 'errors', type: 'counter', limit: 3 }));
      await expect.poll(() => messages.some((m) => m.scope === 'hot' && m.kind === 'snapshot'), { timeout: timing.localMs }).toBe(true);
      await expect.poll(
        () => messages.filter((m) => m.scope === 'hot' && m.kind === 'delta' && m.items[0]?.id === 'hot-errors').length,
        { timeout: timing.eventMs },
      ).toBeGreaterThanOrEqual(2);
      const delta = messages.find((m) => m.scope === 'hot' && m.kind === 'delta');
      expect(delta).toMatchObject({ by: 'errors', type: 'counter', limit: 3 });
      expect(delta.items.length).toBeLessThanOrEqual(3);
    } finally {
      ws.terminate();
    }
  });

  it('ran the workload without unexpected errors', () => {
    expect(workloadErrors).toEqual([]);
  });
});
