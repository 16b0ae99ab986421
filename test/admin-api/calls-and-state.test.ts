import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkSession } from '@highlander/runtime/zookeeper';
import { Cluster, startAdminApiProcess, uniqueRoot, type ClusterConfig, type NodeProcess } from '../../scripts/cluster.js';
import { ownersInZooKeeper } from '../harness/lock-tree.js';
import { s3Config, zookeeperConnect } from '../harness/servers.js';
import { TEST_OBJECTS } from '../harness/test-objects.js';
import { timing } from '../harness/timing.js';

/**
 * Invoking handlers and queries and replacing state through the admin API (a process of its own) over
 * real ZooKeeper, radosgw and three node processes: who may do what, that a call runs on the owner
 * like any call, the version guard of a replacement, every refusal of bad input, and the audit log.
 */

const NODE_TOKEN = 'node-admin-token-calls';
const OPERATOR = 'operator-token-calls';
const VIEWER = 'viewer-token-calls';
/** Small, so that states and arguments over the limit are small requests. */
const MAX_STATE_BYTES = 4096;

let zk: ZkSession;
let cluster: Cluster;
let config: ClusterConfig;
let auditDir: string;
let api: { child: ChildProcess; url: string };
let readOnlyApi: { child: ChildProcess; url: string };

async function http(
  method: 'GET' | 'POST' | 'PUT', path: string, options: { token?: string; body?: unknown; url?: string } = {},
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${options.url ?? api.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${options.token ?? OPERATOR}`,
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(options.body === undefined ? {} : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

const callObject = (id: string, body: unknown, token = OPERATOR, url?: string) =>
  http('POST', `/api/objects/counter/${id}/calls`, { token, body, ...(url ? { url } : {}) });
const putState = (id: string, body: unknown, token = OPERATOR) => http('PUT', `/api/objects/counter/${id}/state`, { token, body });

/** The counter's value, asked of a node directly (not through the admin API). */
const valueOf = (node: NodeProcess, id: string) => node.call<number>('counter', id, 'value', null);

/** Audit records of one object, newest first. */
async function auditOf(id: string): Promise<any[]> {
  const items = (await http('GET', '/api/audit?limit=1000', { token: VIEWER })).body.items as any[];
  return items.filter((r) => r.target.id === id);
}

const sha256 = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');

beforeAll(async () => {
  zk = await ZkSession.open({ connect: zookeeperConnect() });
  auditDir = await mkdtemp(join(tmpdir(), 'highlander-calls-audit-'));
  config = {
    zookeeper: zookeeperConnect(), s3: s3Config(), root: uniqueRoot('calls'), sessionTimeoutMs: timing.sessionTimeoutMs,
    objectsModule: TEST_OBJECTS, clusterSecret: NODE_TOKEN, maxStateBytes: MAX_STATE_BYTES,
  };
  cluster = await Cluster.start(config, 3);
  const tokens = `operator:otto:${OPERATOR},viewer:vera:${VIEWER}`;
  const env = { HIGHLANDER_API_MAX_STATE_BYTES: String(MAX_STATE_BYTES) };
  api = await startAdminApiProcess(config, { tokens, auditLog: join(auditDir, 'audit.jsonl'), env });
  readOnlyApi = await startAdminApiProcess(config, { tokens, auditLog: join(auditDir, 'read-only.jsonl'), env: { ...env, HIGHLANDER_API_READ_ONLY: 'true' } });
});

afterAll(async () => {
  for (const process of [api, readOnlyApi]) {
    if (!process) continue;
    const exited = new Promise((r) => process.child.once('exit', r));
    process.child.kill('SIGTERM');
    await exited;
  }
  await cluster?.stop();
  zk?.close();
  if (auditDir) await rm(auditDir, { recursive: true, force: true });
});

describe('calls through the admin API', () => {
  it('lists the hosted types with their handlers and queries', async () => {
    const types = await http('GET', '/api/types', { token: VIEWER });
    expect(types.status).toBe(200);
    const counter = types.body.items.find((t: { type: string }) => t.type === 'counter');
    expect(counter.handlers).toEqual(expect.arrayContaining(['add', 'increment', 'explode']));
    expect(counter.queries).toEqual(['value', 'dividedBy']);
  });

  it("runs an operator's handler on the owner, where it stays, and audits it with the argument's digest", async () => {
    const [a, b] = cluster.nodes as [NodeProcess, NodeProcess];
    await b.call('counter', 'op-1', 'add', 10); // active on node-b
    const called = await callObject('op-1', { handler: 'add', arg: 5 });
    expect(called.status).toBe(200);
    expect(called.body).toMatchObject({ type: 'counter', id: 'op-1', handler: 'add', kind: 'handler', value: 15 });
    expect(await valueOf(a, 'op-1')).toBe(15);
    expect((await ownersInZooKeeper(zk, config.root)).get('counter/op-1')).toBe('node-b');

    const [record] = await auditOf('op-1');
    expect(record).toMatchObject({
      action: 'call', who: { name: 'otto', role: 'operator' }, result: 'ok',
      params: { handler: 'add', arg: { bytes: 1, sha256: sha256(5) } }, outcome: { kind: 'handler' },
    });
  });

  it('lets a viewer run a query but refuses its handler (403, audited, no effect)', async () => {
    const [a] = cluster.nodes as [NodeProcess];
    await a.call('counter', 'view-1', 'add', 3);
    const queried = await callObject('view-1', { handler: 'value' }, VIEWER);
    expect(queried.status).toBe(200);
    expect(queried.body).toMatchObject({ kind: 'query', value: 3 });

    const refused = await callObject('view-1', { handler: 'add', arg: 100 }, VIEWER);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('FORBIDDEN');
    expect(refused.body.error.message).toContain("role 'operator'");
    expect(await valueOf(a, 'view-1')).toBe(3);

    const records = await auditOf('view-1');
    expect(records.map((r) => [r.who.name, r.result, r.error?.code ?? r.outcome.kind])).toEqual([['vera', 'error', 'FORBIDDEN'], ['vera', 'ok', 'query']]);
  });

  it("does not create an object for a viewer's query", async () => {
    const missing = await callObject('never-made', { handler: 'value' }, VIEWER);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('OBJECT_NOT_FOUND');
    expect((await http('GET', '/api/storage/counter/never-made', { token: VIEWER })).status).toBe(404);
    expect((await ownersInZooKeeper(zk, config.root)).has('counter/never-made')).toBe(false);
  });

  it('in read-only mode runs queries and refuses handlers, whoever asks', async () => {
    const [a] = cluster.nodes as [NodeProcess];
    await a.call('counter', 'ro-1', 'add', 2);
    expect((await callObject('ro-1', { handler: 'value' }, OPERATOR, readOnlyApi.url)).body).toMatchObject({ value: 2 });
    const refused = await callObject('ro-1', { handler: 'add', arg: 1 }, OPERATOR, readOnlyApi.url);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('READ_ONLY');
    expect(await valueOf(a, 'ro-1')).toBe(2);
  });

  it('answers bad calls with a clear 4xx and the runtime\'s codes, and changes nothing', async () => {
    const [a] = cluster.nodes as [NodeProcess];
    await a.call('counter', 'bad-1', 'add', 1);
    const cases: Array<[string, Promise<{ status: number; body: any }>, number, string, string]> = [
      ['unknown handler', callObject('bad-1', { handler: 'nope' }), 404, 'UNKNOWN_HANDLER', "no handler or query 'nope'"],
      ['unknown type', http('POST', '/api/objects/widget/bad-1/calls', { body: { handler: 'x' } }), 404, 'UNKNOWN_OBJECT_TYPE', "'widget'"],
      ['invalid type', http('POST', '/api/objects/Counter/bad-1/calls', { body: { handler: 'add' } }), 400, 'VALIDATION_FAILED', 'params.type'],
      ['invalid id', http('POST', '/api/objects/counter/has%20space/calls', { body: { handler: 'add' } }), 400, 'VALIDATION_FAILED', 'params.id'],
      ['bad JSON', callObject('bad-1', '{"handler": "add", "arg": '), 400, 'INVALID_JSON', 'not valid JSON'],
      ['no handler', callObject('bad-1', { arg: 1 }), 400, 'VALIDATION_FAILED', 'body.handler'],
      ['unknown key', callObject('bad-1', { handler: 'add', arg: 1, force: true }), 400, 'VALIDATION_FAILED', 'force'],
      ['argument over the state limit', callObject('bad-1', { handler: 'add', arg: 'x'.repeat(MAX_STATE_BYTES + 10) }), 400, 'INVALID_ARGUMENT', 'over the limit'],
      ['body over the limit', callObject('bad-1', { handler: 'add', arg: 'x'.repeat(MAX_STATE_BYTES + 20_000) }), 413, 'PAYLOAD_TOO_LARGE', 'over the limit'],
      ['handler that throws', callObject('bad-1', { handler: 'explode' }), 500, 'HANDLER_FAILED', 'boom'],
      ['argument against its schema', http('POST', '/api/objects/set/bad-1/calls', { body: { handler: 'add', arg: 42 } }), 400, 'INVALID_ARGUMENT', "the argument of 'add' on set/bad-1 is not valid"],
    ];
    for (const [what, response, status, code, message] of cases) {
      const { status: got, body } = await response;
      expect({ what, status: got, code: body.error.code }).toEqual({ what, status, code });
      expect(body.error.message).toContain(message);
    }
    expect(await valueOf(a, 'bad-1')).toBe(1);
    expect((await ownersInZooKeeper(zk, config.root)).has('set/bad-1')).toBe(false); // refused before anything was activated
  });
});

describe('state replacement through the admin API', () => {
  it('replaces the state at the version the operator saw, through the owner, and audits the previous state', async () => {
    const [a, b] = cluster.nodes as [NodeProcess, NodeProcess];
    await b.call('counter', 'edit-1', 'add', 7);
    const detail = await http('GET', '/api/objects/counter/edit-1', { token: VIEWER });
    const seen = detail.body.memory.version as number;
    expect(detail.body.memory.state).toEqual({ value: 7 });

    const put = await putState('edit-1', { state: { value: 70 }, expectedVersion: seen });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ previousVersion: seen, previous: { value: 7 } });
    expect(await valueOf(a, 'edit-1')).toBe(70);
    expect((await ownersInZooKeeper(zk, config.root)).get('counter/edit-1')).toBe('node-b');
    const stored = await http('GET', '/api/storage/counter/edit-1', { token: VIEWER });
    expect(stored.body).toMatchObject({ state: { value: 70 }, version: seen + 1 });

    const [record] = await auditOf('edit-1');
    expect(record).toMatchObject({
      action: 'state.replace', who: { name: 'otto' }, result: 'ok',
      params: { expectedVersion: seen, state: { value: { value: 70 } } },
      outcome: { previousVersion: seen, previous: { value: { value: 7 }, sha256: sha256({ value: 7 }) } },
    });
  });

  it('refuses a stale version with 409 and both versions and the current state, writing nothing', async () => {
    const [a] = cluster.nodes as [NodeProcess];
    await a.call('counter', 'edit-2', 'add', 1);
    const seen = (await http('GET', '/api/objects/counter/edit-2', { token: VIEWER })).body.memory.version as number;
    await a.call('counter', 'edit-2', 'add', 1); // someone else changes it meanwhile
    const stale = await putState('edit-2', { state: { value: 100 }, expectedVersion: seen });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('VERSION_CONFLICT');
    expect(stale.body.error.details).toMatchObject({ expectedVersion: seen, currentVersion: seen + 1, state: { value: 2 } });
    expect(await valueOf(a, 'edit-2')).toBe(2);
    const [record] = await auditOf('edit-2');
    expect(record).toMatchObject({ action: 'state.replace', result: 'error', error: { status: 409, code: 'VERSION_CONFLICT' } });

    // With the version the conflict named, it goes through.
    const retried = await putState('edit-2', { state: { value: 100 }, expectedVersion: stale.body.error.details.currentVersion });
    expect(retried.status).toBe(200);
    expect(await valueOf(a, 'edit-2')).toBe(100);
  });

  it('refuses a state over the size limit, not JSON, or from a viewer, writing nothing', async () => {
    const [a] = cluster.nodes as [NodeProcess];
    await a.call('counter', 'edit-3', 'add', 5);
    const seen = (await http('GET', '/api/objects/counter/edit-3', { token: VIEWER })).body.memory.version as number;
    const cases: Array<[string, Promise<{ status: number; body: any }>, number, string, string]> = [
      ['state over the limit', putState('edit-3', { state: { value: 'x'.repeat(MAX_STATE_BYTES) }, expectedVersion: seen }), 413, 'STATE_TOO_LARGE', 'over the limit'],
      ['body over the limit', putState('edit-3', { state: { value: 'x'.repeat(MAX_STATE_BYTES + 20_000) }, expectedVersion: seen }), 413, 'PAYLOAD_TOO_LARGE', 'over the limit'],
      ['a string state', putState('edit-3', { state: 'text', expectedVersion: seen }), 400, 'VALIDATION_FAILED', 'body.state'],
      ['no version', putState('edit-3', { state: { value: 1 } }), 400, 'VALIDATION_FAILED', 'body.expectedVersion'],
      ['a negative version', putState('edit-3', { state: { value: 1 }, expectedVersion: -1 }), 400, 'VALIDATION_FAILED', 'body.expectedVersion'],
      ['bad JSON', putState('edit-3', '{"state": {'), 400, 'INVALID_JSON', 'not valid JSON'],
      ['a viewer', putState('edit-3', { state: { value: 1 }, expectedVersion: seen }, VIEWER), 403, 'FORBIDDEN', "role 'operator'"],
      ['an unknown type', http('PUT', '/api/objects/widget/edit-3/state', { body: { state: {}, expectedVersion: 0 } }), 404, 'UNKNOWN_OBJECT_TYPE', "'widget'"],
    ];
    for (const [what, response, status, code, message] of cases) {
      const { status: got, body } = await response;
      expect({ what, status: got, code: body.error.code }).toEqual({ what, status, code });
      expect(body.error.message).toContain(message);
    }
    expect(await valueOf(a, 'edit-3')).toBe(5);
    expect((await http('GET', '/api/storage/counter/edit-3', { token: VIEWER })).body.version).toBe(seen);
  });
});
