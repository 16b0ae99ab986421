import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Cluster, NodeProcess, startAdminApiProcess, uniqueRoot, type ClusterConfig } from '../../scripts/cluster.js';
import { s3Config, zookeeperConnect } from '../harness/servers.js';
import { TEST_OBJECTS } from '../harness/test-objects.js';
import { highlanderCli } from '../harness/cli.js';
import { timing } from '../harness/timing.js';

/**
 * Automatic rebalancing on node processes, a real ZooKeeper and radosgw, and the admin API as a
 * process of its own (--rebalance): every counter starts on node-a; under a workload of increments
 * through every node, the rebalancer spreads them over the three nodes, a pause holds the moves, and
 * a fourth node that joins fills to within the threshold. No acknowledged increment is lost, no
 * object moves twice within the cool-down, and every move is in the audit log. Pause, resume and
 * the status go through the CLI (`highlander rebalance`, the built bin/highlander).
 */


const SECRET = 'rebalance-cluster-secret';
const VIEWER = 'viewer-token-rebalance-0123456789';
const OPERATOR = 'operator-token-rebalance-0123456789';
const COUNTERS = 24;
/** Longer than the test: no object may move twice. */
const COOLDOWN_MS = 600_000;
/** Allowance max(20 % of the mean, 2): with 24 objects, 8 ± 2 on three nodes, 6 ± 2 on four. */
const THRESHOLD_PERCENT = 20;
const MIN_DIFFERENCE = 2;

let cluster: Cluster | undefined;
let api: Awaited<ReturnType<typeof startAdminApiProcess>> | undefined;
/** A second admin API over the same cluster, when a test starts one. */
let other: Awaited<ReturnType<typeof startAdminApiProcess>> | undefined;
let dir: string | undefined;

async function stopApi(process: Awaited<ReturnType<typeof startAdminApiProcess>>): Promise<void> {
  if (process.child.exitCode !== null || process.child.signalCode !== null) return;
  const exited = new Promise((resolve) => process.child.once('exit', resolve));
  process.child.kill('SIGTERM');
  await exited;
}

afterEach(async () => {
  for (const process of [api, other]) if (process) await stopApi(process);
  api = undefined;
  other = undefined;
  await cluster?.stop();
  cluster = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function request(method: 'GET' | 'POST', path: string, token = VIEWER, url = api!.url): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}${path}`, {
    method, headers: { authorization: `Bearer ${token}`, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  return { status: response.status, body: await response.json() };
}

/** Runs `highlander …` against the admin API with `token`; exit code and output. */
function highlander(args: string[], token: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return highlanderCli(api!.url, token, args);
}

/** Active counters per node, as the nodes themselves say. */
async function countsOnNodes(c: Cluster): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const node of c.nodes) counts[node.name] = (await node.activations()).filter((a) => a.type === 'counter' && a.status === 'active').length;
  return counts;
}

/** Increments random counters through every running node until stopped: the acknowledged ones, and how many ended indeterminate. */
function workload(c: Cluster, clients = 4) {
  const acked = new Map<string, number>();
  const indeterminate = new Map<string, number>();
  let running = true;
  let next = 0;
  const client = async () => {
    while (running) {
      const id = `c-${next++ % COUNTERS}`;
      const nodes = c.nodes.filter((n) => n.running);
      const via = nodes[next % nodes.length]!;
      try {
        await via.call<number>('counter', id, 'increment', null);
        acked.set(id, (acked.get(id) ?? 0) + 1);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code !== 'CALL_TIMEOUT' && code !== 'INDETERMINATE') throw err;
        indeterminate.set(id, (indeterminate.get(id) ?? 0) + 1);
      }
    }
  };
  const done = Promise.all(Array.from({ length: clients }, () => client()));
  done.catch(() => {
    running = false; // an unexpected error: stop() rejects with it
  });
  return {
    async stop() {
      running = false;
      await done;
      return { acked, indeterminate };
    },
  };
}

describe('automatic rebalancing', () => {
  it('spreads objects over the nodes under load, pauses and resumes, fills a joining fourth node to within the threshold; 0 acknowledged calls lost', async () => {
    const root = uniqueRoot('rebalance');
    const config: ClusterConfig = {
      zookeeper: zookeeperConnect(), s3: s3Config(), root, sessionTimeoutMs: timing.sessionTimeoutMs, objectsModule: TEST_OBJECTS,
      clusterSecret: SECRET, placement: 'local', idleTimeoutMs: 600_000,
    };
    cluster = await Cluster.start(config, 3);
    const a = cluster.node('node-a');
    // Placement is local: every counter starts on node-a, the node it was first called through.
    for (let i = 0; i < COUNTERS; i++) await a.call('counter', `c-${i}`, 'increment', null);
    expect(await countsOnNodes(cluster)).toEqual({ 'node-a': COUNTERS, 'node-b': 0, 'node-c': 0 });

    dir = await mkdtemp(join(tmpdir(), 'highlander-rebalance-'));
    api = await startAdminApiProcess(config, {
      tokens: `viewer:vera:${VIEWER},operator:ada:${OPERATOR}`, auditLog: join(dir, 'audit.jsonl'),
      env: {
        HIGHLANDER_LOG_LEVEL: 'error', HIGHLANDER_API_REBALANCE: 'true', HIGHLANDER_API_REBALANCE_MOVES_PER_SECOND: '5',
        HIGHLANDER_API_REBALANCE_CONCURRENCY: '2', HIGHLANDER_API_REBALANCE_COOLDOWN_MS: String(COOLDOWN_MS),
        HIGHLANDER_API_REBALANCE_THRESHOLD_PERCENT: String(THRESHOLD_PERCENT), HIGHLANDER_API_REBALANCE_MIN_DIFFERENCE: String(MIN_DIFFERENCE),
      },
    });
    const load = workload(cluster);

    // Three nodes: node-b and node-c fill from node-a until each holds 8 ± 2.
    await vi.waitFor(async () => {
      const status = (await request('GET', '/api/rebalance')).body;
      expect(status).toMatchObject({ enabled: true, leader: true, paused: false, balanced: true, moves: { inFlight: 0 } });
      expect(status.nodes.map((n: { name: string }) => n.name).sort()).toEqual(['node-a', 'node-b', 'node-c']);
    }, { timeout: timing.eventMs * 4, interval: timing.pollMs });
    const spread = await countsOnNodes(cluster);
    for (const count of Object.values(spread)) expect(Math.abs(count - COUNTERS / 3)).toBeLessThanOrEqual(MIN_DIFFERENCE);

    const balancedStatus = await highlander(['rebalance'], VIEWER);
    expect(balancedStatus.code).toBe(0);
    expect(balancedStatus.stdout).toMatch(/^rebalancing: balanced\n/);
    expect(balancedStatus.stdout).toMatch(/^NODE\s+OBJECTS\s+ROLE$/m);
    expect(balancedStatus.stdout).toMatch(/^counter\/c-\d+\s+node-a\s+node-[bc]\s+done\s/m);

    // Paused (by an operator, audited): a fourth node joins and nothing moves to it.
    const refused = await highlander(['rebalance', 'pause'], VIEWER);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('forbidden');
    const paused = await highlander(['rebalance', 'pause', '--json'], OPERATOR);
    expect(paused.code).toBe(0);
    expect(JSON.parse(paused.stdout)).toMatchObject({ paused: true, pausedBy: { name: 'ada' } });
    const movesBefore = (await request('GET', '/api/rebalance')).body.moves.done;
    const d = new NodeProcess('node-d', config);
    await d.start();
    cluster.nodes.push(d);
    await vi.waitFor(async () => {
      const status = (await request('GET', '/api/rebalance')).body;
      expect(status).toMatchObject({ paused: true, balanced: false });
      expect(status.nodes.find((n: { name: string }) => n.name === 'node-d')).toMatchObject({ objects: 0, role: 'takes' });
    }, { timeout: timing.eventMs, interval: timing.pollMs });
    expect((await request('GET', '/api/rebalance')).body.moves).toMatchObject({ done: movesBefore, inFlight: 0 });
    expect((await countsOnNodes(cluster))['node-d']).toBe(0);
    const pausedStatus = await highlander(['rebalance', 'status'], VIEWER);
    expect(pausedStatus.stdout).toMatch(/^rebalancing: paused by ada at \d{4}-/);
    expect(pausedStatus.stdout).toMatch(/^node-d\s+0\s+takes$/m);

    // Resumed: node-d fills to within the threshold of the mean (6 ± 2), under load.
    const resumed = await highlander(['rebalance', 'resume'], OPERATOR);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/^rebalancing: rebalancing\n/);
    await vi.waitFor(async () => {
      const status = (await request('GET', '/api/rebalance')).body;
      expect(status).toMatchObject({ balanced: true, moves: { inFlight: 0 } });
      expect(status.nodes.find((n: { name: string }) => n.name === 'node-d').objects).toBeGreaterThanOrEqual(COUNTERS / 4 - MIN_DIFFERENCE);
    }, { timeout: timing.eventMs * 4, interval: timing.pollMs });
    const { acked, indeterminate } = await load.stop();

    // The nodes agree: node-d holds its share, every node is within the threshold, each counter has one owner.
    const final = await countsOnNodes(cluster);
    expect(Object.values(final).reduce((x, y) => x + y, 0)).toBe(COUNTERS);
    for (const count of Object.values(final)) expect(Math.abs(count - COUNTERS / 4)).toBeLessThanOrEqual(MIN_DIFFERENCE);

    // 0 acknowledged calls lost: each counter holds its first increment, every acknowledged one, and at most the indeterminate ones.
    expect([...acked.values()].reduce((x, y) => x + y, 0)).toBeGreaterThan(COUNTERS);
    for (let i = 0; i < COUNTERS; i++) {
      const id = `c-${i}`;
      const value = await a.call<number>('counter', id, 'value', null);
      expect(value, id).toBeGreaterThanOrEqual(1 + (acked.get(id) ?? 0));
      expect(value, id).toBeLessThanOrEqual(1 + (acked.get(id) ?? 0) + (indeterminate.get(id) ?? 0));
    }

    // Every move is audited, by the rebalancer; no object moved twice (the cool-down outlasts the test); some went to node-d.
    const audit = (await request('GET', '/api/audit?limit=500')).body.items as Array<{ action: string; who: { name: string }; target: { type: string; id: string }; params: { from: string; to: string }; result: string }>;
    const moves = audit.filter((r) => r.action === 'rebalance.move');
    const status = (await request('GET', '/api/rebalance')).body;
    expect(moves).toHaveLength(status.moves.done + status.moves.failed);
    expect(moves.every((m) => m.who.name === 'rebalancer' && m.result === 'ok')).toBe(true);
    expect(new Set(moves.map((m) => m.target.id)).size).toBe(moves.length);
    expect(moves.filter((m) => m.params.to === 'node-d').length).toBeGreaterThanOrEqual(COUNTERS / 4 - MIN_DIFFERENCE);
    expect(audit.filter((r) => r.action === 'rebalance.pause').map((r) => [r.who.name, r.result])).toEqual([['ada', 'ok'], ['vera', 'error']]);
    expect(audit.some((r) => r.action === 'rebalance.resume' && r.result === 'ok')).toBe(true);
    // And the nodes saw them as migrations.
    const migrated = cluster.allEvents().filter((e) => e.kind === 'object.migrated');
    expect(migrated.length).toBe(moves.length);
  });

  it('with two admin APIs, one moves objects (the lock under the root); a pause through the other holds; the other takes over when the first stops', async () => {
    const root = uniqueRoot('rebalance-lock');
    const config: ClusterConfig = {
      zookeeper: zookeeperConnect(), s3: s3Config(), root, sessionTimeoutMs: timing.sessionTimeoutMs, objectsModule: TEST_OBJECTS,
      clusterSecret: SECRET, placement: 'local', idleTimeoutMs: 600_000,
    };
    cluster = await Cluster.start(config, 2);
    dir = await mkdtemp(join(tmpdir(), 'highlander-rebalance-lock-'));
    const env = {
      HIGHLANDER_LOG_LEVEL: 'error', HIGHLANDER_API_REBALANCE: 'true', HIGHLANDER_API_REBALANCE_MOVES_PER_SECOND: '5',
      HIGHLANDER_API_REBALANCE_COOLDOWN_MS: String(COOLDOWN_MS),
    };
    const tokens = `viewer:vera:${VIEWER},operator:ada:${OPERATOR}`;
    api = await startAdminApiProcess(config, { tokens, auditLog: join(dir, 'first.jsonl'), env });
    // The first holds the lock before the second starts.
    await vi.waitFor(async () => expect((await request('GET', '/api/rebalance')).body.leader).toBe(true), { timeout: timing.eventMs, interval: timing.pollMs });
    other = await startAdminApiProcess(config, { tokens, auditLog: join(dir, 'second.jsonl'), env });
    expect((await request('GET', '/api/rebalance', VIEWER, other.url)).body).toMatchObject({ enabled: true, leader: false });

    // Paused through the second: the first, which moves objects, holds.
    expect((await request('POST', '/api/rebalance/pause', OPERATOR, other.url)).body).toMatchObject({ paused: true });
    await vi.waitFor(async () => expect((await request('GET', '/api/rebalance')).body).toMatchObject({ paused: true, pausedBy: { name: 'ada' } }), { timeout: timing.eventMs, interval: timing.pollMs });
    const a = cluster.node('node-a');
    for (let i = 0; i < 10; i++) await a.call('counter', `l-${i}`, 'increment', null);
    await vi.waitFor(async () => expect((await request('GET', '/api/rebalance')).body).toMatchObject({ balanced: false, nodes: [{ name: 'node-a', objects: 10 }, { name: 'node-b', objects: 0 }] }), { timeout: timing.eventMs, interval: timing.pollMs });
    expect((await request('GET', '/api/rebalance')).body.moves).toMatchObject({ done: 0, inFlight: 0 });

    // The first stops (it lets the lock go); the second takes over and, resumed, balances the two nodes.
    await stopApi(api);
    await vi.waitFor(async () => expect((await request('GET', '/api/rebalance', VIEWER, other!.url)).body.leader).toBe(true), { timeout: timing.eventMs, interval: timing.pollMs });
    expect((await request('POST', '/api/rebalance/resume', OPERATOR, other.url)).body).toMatchObject({ paused: false });
    await vi.waitFor(async () => {
      const status = (await request('GET', '/api/rebalance', VIEWER, other!.url)).body;
      expect(status).toMatchObject({ balanced: true, moves: { inFlight: 0 } });
      expect(status.moves.done).toBeGreaterThan(0);
    }, { timeout: timing.eventMs * 2, interval: timing.pollMs });
    const counts = await countsOnNodes(cluster);
    expect(Math.abs(counts['node-a']! - counts['node-b']!)).toBeLessThanOrEqual(2 * MIN_DIFFERENCE);
    expect(counts['node-b']).toBeGreaterThanOrEqual(5 - MIN_DIFFERENCE);
  });
});
