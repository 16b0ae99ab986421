import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CallTimeout, CoordinatorUnavailable, HighlanderError, MigrationRefused } from '@highlander/runtime';
import { OPERATOR, VIEWER, call, startAdmin, type AdminServer } from './admin-server.js';
import { nodeView, objectView } from './fake-cluster.js';

let server: AdminServer;

beforeEach(async () => {
  server = await startAdmin();
  server.cluster.model.setObject(objectView('todo', 'a', 'node-a'));
});

afterEach(async () => {
  await server.close();
});

describe('access', () => {
  it('401 without a token, with WWW-Authenticate', async () => {
    const res = await call(server, 'GET', '/api/summary');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHENTICATED');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
  });

  it('401 with an unknown token, flagged invalid_token', async () => {
    const res = await call(server, 'GET', '/api/summary', { token: 'not-a-configured-token' });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHENTICATED');
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('a viewer reads', async () => {
    const res = await call(server, 'GET', '/api/summary', { token: VIEWER });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ nodes: 2, objects: 1, byType: { todo: 1 } });
  });

  it('a viewer may not act: 403 FORBIDDEN, and nothing is done', async () => {
    const res = await call(server, 'POST', '/api/objects/todo/a/evict', { token: VIEWER, body: {} });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('FORBIDDEN');
    expect(server.cluster.actions.calls).toEqual([]);
  });

  it('an operator acts', async () => {
    const res = await call(server, 'POST', '/api/objects/todo/a/evict', { token: OPERATOR });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ owner: 'node-a', forced: false, durationMs: 1 });
    expect(server.cluster.actions.calls).toEqual(['evict todo/a force=false']);
  });

  it('read-only mode refuses every action with 403 READ_ONLY, operators included, and still serves reads', async () => {
    const readOnly = await startAdmin({ readOnly: true });
    try {
      readOnly.cluster.model.setObject(objectView('todo', 'a', 'node-a'));
      for (const token of [OPERATOR, VIEWER]) {
        const res = await call(readOnly, 'POST', '/api/objects/todo/a/evict', { token, body: { force: true } });
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe('READ_ONLY');
      }
      expect((await call(readOnly, 'POST', '/api/nodes/node-a/drain', { token: OPERATOR })).body.error.code).toBe('READ_ONLY');
      expect(readOnly.cluster.actions.calls).toEqual([]);
      expect((await call(readOnly, 'GET', '/api/nodes', { token: OPERATOR })).status).toBe(200);
    } finally {
      await readOnly.close();
    }
  });

  it('health, readiness and metrics need no token', async () => {
    expect((await call(server, 'GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await call(server, 'GET', '/readyz')).status).toBe(200);
    server.cluster.model.isReady = false;
    const notReady = await call(server, 'GET', '/readyz');
    expect(notReady.status).toBe(503);
    expect(notReady.body.error.code).toBe('NOT_READY');
    await call(server, 'GET', '/api/summary', { token: VIEWER });
    const metrics = await call(server, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(metrics.text).toMatch(/highlander_admin_http_requests_total\{method="GET",route="\/api\/summary",status="200"\} 1/);
  });

  it('metrics carry the model\'s gauges: nodes, objects, lock-queue waiters and the longest queue', async () => {
    server.cluster.model.setNode(nodeView('node-a'));
    server.cluster.model.setNode(nodeView('node-b'));
    server.cluster.model.setObject(objectView('todo', 'b', 'node-a', { waiting: 2 }));
    server.cluster.model.setObject(objectView('todo', 'c', 'node-a', { waiting: 1 }));
    const text = (await call(server, 'GET', '/metrics')).text;
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    expect({
      nodes: value('highlander_admin_cluster_nodes'), objects: value('highlander_admin_cluster_objects'),
      waiters: value('highlander_admin_lock_queue_waiters'), longest: value('highlander_admin_lock_queue_longest'),
    }).toEqual({ nodes: 2, objects: 3, waiters: 3, longest: 2 });
  });
});

describe('validation', () => {
  it('an invalid object id is a 400 naming the field', async () => {
    const res = await call(server, 'GET', '/api/objects/todo/bad%20id', { token: VIEWER });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.message).toContain('params.id');
    expect(res.body.error.details.issues).toEqual([{ path: 'params.id', message: expect.stringContaining('allowed characters') }]);
  });

  it('an invalid type name is a 400 naming the field', async () => {
    const res = await call(server, 'GET', '/api/storage/Todo/a', { token: VIEWER });
    expect(res.status).toBe(400);
    expect(res.body.error.details.issues[0].path).toBe('params.type');
  });

  it.each(['0', '1001', 'abc', '1.5'])('limit=%s is a 400 naming query.limit', async (limit) => {
    const res = await call(server, 'GET', `/api/objects?limit=${limit}`, { token: VIEWER });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toEqual(['query.limit']);
  });

  it('an unknown query parameter is refused (a typo is not silently ignored)', async () => {
    const res = await call(server, 'GET', '/api/objects?limt=5', { token: VIEWER });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('limt');
  });

  it('bad body fields name the field; an unknown one too', async () => {
    const wrongType = await call(server, 'POST', '/api/objects/todo/a/migrate', { token: OPERATOR, body: { to: 5 } });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error.details.issues[0].path).toBe('body.to');
    const unknown = await call(server, 'POST', '/api/objects/todo/a/evict', { token: OPERATOR, body: { forced: true } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('forced');
    const notBoolean = await call(server, 'POST', '/api/objects/todo/a/evict', { token: OPERATOR, body: { force: 'yes' } });
    expect(notBoolean.body.error.details.issues[0].path).toBe('body.force');
    expect(server.cluster.actions.calls).toEqual([]);
  });

  it('malformed JSON is a 400 INVALID_JSON', async () => {
    const res = await call(server, 'POST', '/api/objects/todo/a/evict', { token: OPERATOR, rawBody: '{"force": tru' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_JSON');
  });

  it('a body over maxBodyBytes is a 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await call(server, 'POST', '/api/objects/todo/a/migrate', { token: OPERATOR, body: { to: 'node-b', pad: 'x'.repeat(20_000) } });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(server.cluster.actions.calls).toEqual([]);
  });

  it('a body that is not JSON is a 415', async () => {
    const res = await call(server, 'POST', '/api/objects/todo/a/evict', { token: OPERATOR, rawBody: 'force', headers: { 'content-type': 'text/plain' } });
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('a path that is not valid percent-encoding is a 400', async () => {
    const res = await call(server, 'GET', '/api/nodes/%E0%A4%A', { token: VIEWER });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BAD_REQUEST');
  });
});

describe('not found', () => {
  it('an unknown node is a 404 NODE_NOT_FOUND (read, drain); as a migration target, a 409', async () => {
    expect((await call(server, 'GET', '/api/nodes/node-z', { token: VIEWER })).body.error.code).toBe('NODE_NOT_FOUND');
    const drain = await call(server, 'POST', '/api/nodes/node-z/drain', { token: OPERATOR });
    expect(drain.status).toBe(404);
    expect(drain.body.error.code).toBe('NODE_NOT_FOUND');
    const migrate = await call(server, 'POST', '/api/objects/todo/a/migrate', { token: OPERATOR, body: { to: 'node-z' } });
    expect(migrate.status).toBe(409);
    expect(migrate.body.error).toMatchObject({ code: 'MIGRATION_REFUSED', details: { reason: 'target-not-live' } });
    expect(server.cluster.actions.calls).toEqual([]);
  });

  it('an object neither active nor stored is a 404 OBJECT_NOT_FOUND; a stored one is found', async () => {
    const missing = await call(server, 'GET', '/api/objects/todo/missing', { token: VIEWER });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('OBJECT_NOT_FOUND');
    server.cluster.storage.put('todo', 'missing', { title: 'stored' });
    const stored = await call(server, 'GET', '/api/objects/todo/missing', { token: VIEWER });
    expect(stored.status).toBe(200);
    expect(stored.body).toMatchObject({ object: null, memory: null, persisted: { etag: '"etag-missing"', version: 3, state: { title: 'stored' } } });
  });

  it('evicting an object that is not active is the runtime NOT_ACTIVE_HERE, as 404', async () => {
    const res = await call(server, 'POST', '/api/objects/todo/nope/evict', { token: OPERATOR });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_ACTIVE_HERE');
  });

  it('an unknown stored object is a 404 STORED_OBJECT_NOT_FOUND', async () => {
    const res = await call(server, 'GET', '/api/storage/todo/nope', { token: VIEWER });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('STORED_OBJECT_NOT_FOUND');
  });

  it('an unknown route is a 404 NOT_FOUND in the same error shape', async () => {
    const res = await call(server, 'GET', '/api/nope', { token: VIEWER });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { code: 'NOT_FOUND', message: expect.stringContaining('/api/nope') } });
  });
});

describe('actions', () => {
  it('migrating to the node that already owns the object is a 409, and nothing is asked of the cluster', async () => {
    const res = await call(server, 'POST', '/api/objects/todo/a/migrate', { token: OPERATOR, body: { to: 'node-a' } });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'MIGRATION_REFUSED', details: { reason: 'same-node' } });
    expect(server.cluster.actions.calls).toEqual([]);
  });

  it('migrating to a draining or unreachable node is a 409', async () => {
    server.cluster.model.setNode(nodeView('node-b', { status: 'draining' }));
    server.cluster.model.setNode(nodeView('node-c', { status: 'unreachable' }));
    const draining = await call(server, 'POST', '/api/objects/todo/a/migrate', { token: OPERATOR, body: { to: 'node-b' } });
    expect(draining.status).toBe(409);
    expect(draining.body.error.details.reason).toBe('target-draining');
    const unreachable = await call(server, 'POST', '/api/objects/todo/a/migrate', { token: OPERATOR, body: { to: 'node-c' } });
    expect(unreachable.body.error.details.reason).toBe('target-unreachable');
  });

  it('a migration the runtime refuses is a 409 with its message', async () => {
    server.cluster.actions.failure = new MigrationRefused('todo', 'a', 'node-b', 'the target could not take over');
    const res = await call(server, 'POST', '/api/objects/todo/a/migrate', { token: OPERATOR, body: { to: 'node-b' } });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('MIGRATION_REFUSED');
    expect(res.body.error.message).toContain('could not take over');
  });

  it('migrate and drain succeed', async () => {
    const migrate = await call(server, 'POST', '/api/objects/todo/a/migrate', { token: OPERATOR, body: { to: 'node-b' } });
    expect(migrate.body).toEqual({ from: 'node-a', to: 'node-b', durationMs: 2 });
    const drain = await call(server, 'POST', '/api/nodes/node-b/drain', { token: OPERATOR });
    expect(drain.body).toEqual({ node: 'node-b', deactivated: 1, durationMs: 3 });
  });

  it('runtime errors keep their code with their status: 503, 504', async () => {
    server.cluster.actions.failure = new CoordinatorUnavailable('getChildren');
    const unavailable = await call(server, 'GET', '/api/objects/todo/a', { token: VIEWER });
    expect(unavailable.status).toBe(503);
    expect(unavailable.body.error.code).toBe('COORDINATOR_UNAVAILABLE');
    server.cluster.actions.failure = new CallTimeout('todo', 'a', 'evict', 5000);
    const timeout = await call(server, 'POST', '/api/objects/todo/a/evict', { token: OPERATOR });
    expect(timeout.status).toBe(504);
    expect(timeout.body.error.code).toBe('CALL_TIMEOUT');
  });

  it('an unexpected error is a 500 with a correlation id, logged with its stack, and no stack or message in the body', async () => {
    server.cluster.actions.failure = new TypeError('secret detail of /srv/internal/thing');
    const res = await call(server, 'GET', '/api/objects/todo/a', { token: VIEWER });
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe('INTERNAL');
    const correlationId = res.body.error.correlationId as string;
    expect(correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('x-correlation-id')).toBe(correlationId);
    expect(res.body.error.message).toContain(correlationId);
    expect(res.text).not.toContain('secret');
    expect(res.text).not.toContain('TypeError');
    expect(res.text).not.toMatch(/\bat\s.+:\d+:\d+/);
    const logged = server.logs.find((line) => line.correlationId === correlationId);
    expect(logged).toBeDefined();
    expect((logged!.err as { stack: string }).stack).toContain('TypeError: secret detail');
  });

  it('a runtime error without a status of its own is a 500 that keeps its code and message, with a correlation id', async () => {
    server.cluster.actions.failure = new HighlanderError('NODE_ADMIN_UNAUTHORIZED', "node 'node-a' refused the admin token");
    const res = await call(server, 'POST', '/api/nodes/node-a/drain', { token: OPERATOR });
    expect(res.status).toBe(500);
    expect(res.body.error).toEqual({
      code: 'NODE_ADMIN_UNAUTHORIZED', message: "node 'node-a' refused the admin token", correlationId: res.headers.get('x-correlation-id'),
    });
    expect(server.logs.some((line) => line.correlationId === res.body.error.correlationId)).toBe(true);
  });
});

describe('listings', () => {
  it('objects: filtered, sorted, and paged with a cursor until the end', async () => {
    for (let i = 0; i < 25; i++) server.cluster.model.setObject(objectView('list', `l-${String(i).padStart(2, '0')}`, i % 2 ? 'node-a' : 'node-b', { callsPerSecond: i }));
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await call(server, 'GET', `/api/objects?type=list&sort=callsPerSecond&order=desc&limit=10${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: VIEWER });
      expect(res.status).toBe(200);
      expect(res.body.total).toBe(25);
      seen.push(...res.body.items.map((o: { id: string }) => o.id));
      cursor = res.body.cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(25);
    expect(seen[0]).toBe('l-24');
    expect(seen.at(-1)).toBe('l-00');
    const byNode = await call(server, 'GET', '/api/objects?node=node-a&idPrefix=l-1', { token: VIEWER });
    expect(byNode.body.items.map((o: { id: string }) => o.id)).toEqual(['l-11', 'l-13', 'l-15', 'l-17', 'l-19']);
  });

  it('a cursor the API did not hand out is a 400 INVALID_CURSOR', async () => {
    const res = await call(server, 'GET', '/api/objects?cursor=forged', { token: VIEWER });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_CURSOR');
  });

  it('storage: by prefix, paged with a cursor', async () => {
    for (let i = 0; i < 7; i++) server.cluster.storage.put('todo', `t-${i}`, { i });
    server.cluster.storage.put('todo', 'other', {});
    const first = await call(server, 'GET', '/api/storage?type=todo&prefix=t-&limit=5', { token: VIEWER });
    expect(first.body.items).toHaveLength(5);
    const second = await call(server, 'GET', `/api/storage?type=todo&prefix=t-&limit=5&cursor=${first.body.cursor}`, { token: VIEWER });
    expect(second.body.items.map((o: { id: string }) => o.id)).toEqual(['t-5', 't-6']);
    expect(second.body.cursor).toBeUndefined();
    const one = await call(server, 'GET', '/api/storage/todo/t-3', { token: VIEWER });
    expect(one.body).toMatchObject({ key: 'objects/todo/t-3.json', etag: '"etag-t-3"', epoch: '0x100', version: 3, state: { i: 3 } });
  });

  it('events after a cursor', async () => {
    for (let i = 0; i < 5; i++) server.cluster.model.emitEvent({ kind: 'node.left', peer: `p${i}` });
    const res = await call(server, 'GET', '/api/events?since=2&limit=2', { token: VIEWER });
    expect(res.body.events.map((e: { cursor: number }) => e.cursor)).toEqual([3, 4]);
    expect(res.body.cursor).toBe(4);
  });

  it('nodes, one node, an object and its lock queue', async () => {
    expect((await call(server, 'GET', '/api/nodes', { token: VIEWER })).body.items.map((n: { name: string }) => n.name)).toEqual(['node-a', 'node-b']);
    expect((await call(server, 'GET', '/api/nodes/node-b', { token: VIEWER })).body).toMatchObject({ name: 'node-b', status: 'up' });
    server.cluster.model.setQueue('todo', 'a', [{ node: 'node-a', sequence: 1, path: '/x/lock-1', waitingSince: null }]);
    const detail = await call(server, 'GET', '/api/objects/todo/a', { token: VIEWER });
    expect(detail.body).toMatchObject({ object: { owner: 'node-a' }, queue: [{ node: 'node-a' }], memory: { state: { from: 'memory' } } });
    const queue = await call(server, 'GET', '/api/objects/todo/a/queue', { token: VIEWER });
    expect(queue.body).toEqual({ type: 'todo', id: 'a', queue: [{ node: 'node-a', sequence: 1, path: '/x/lock-1', waitingSince: null }] });
  });
});

describe('audit log through the API', () => {
  it('records every action with who, what, target, params, result, client address and user agent, newest first', async () => {
    await call(server, 'POST', '/api/objects/todo/a/evict', { token: OPERATOR, body: { force: true }, headers: { 'user-agent': 'audit-test/1.0' } });
    await call(server, 'POST', '/api/objects/todo/a/evict', { token: VIEWER, headers: { 'user-agent': 'audit-test/1.0' } });
    await call(server, 'POST', '/api/objects/todo/a/migrate', { token: OPERATOR, body: { to: 'node-z' } });
    const res = await call(server, 'GET', '/api/audit', { token: VIEWER });
    expect(res.status).toBe(200);
    const [migrate, forbidden, evict] = res.body.items;
    expect(evict).toMatchObject({
      id: 1, who: { name: 'otto', role: 'operator' }, action: 'evict', target: { type: 'todo', id: 'a' }, params: { force: true },
      result: 'ok', clientAddress: '127.0.0.1', userAgent: 'audit-test/1.0',
    });
    expect(evict.error).toBeUndefined();
    expect(typeof evict.time).toBe('number');
    expect(typeof evict.durationMs).toBe('number');
    expect(forbidden).toMatchObject({ who: { name: 'vera', role: 'viewer' }, result: 'error', error: { status: 403, code: 'FORBIDDEN' } });
    expect(migrate).toMatchObject({ action: 'migrate', params: { to: 'node-z' }, result: 'error', error: { status: 409, code: 'MIGRATION_REFUSED' } });
  });

  it('is paged with a cursor, newest first', async () => {
    for (let i = 0; i < 5; i++) await call(server, 'POST', '/api/nodes/node-b/drain', { token: OPERATOR });
    const first = await call(server, 'GET', '/api/audit?limit=3', { token: VIEWER });
    expect(first.body.items.map((r: { id: number }) => r.id)).toEqual([5, 4, 3]);
    const second = await call(server, 'GET', `/api/audit?limit=3&cursor=${first.body.cursor}`, { token: VIEWER });
    expect(second.body.items.map((r: { id: number }) => r.id)).toEqual([2, 1]);
    expect(second.body.cursor).toBeUndefined();
  });

  it('a 500 during an action is recorded with the same correlation id the client got', async () => {
    server.cluster.actions.failure = new Error('disk on fire');
    const res = await call(server, 'POST', '/api/nodes/node-a/drain', { token: OPERATOR });
    expect(res.status).toBe(500);
    const [record] = (await call(server, 'GET', '/api/audit', { token: VIEWER })).body.items;
    expect(record.error).toEqual({ status: 500, code: 'INTERNAL', message: `INTERNAL; correlation id ${res.body.error.correlationId}` });
  });
});

describe('rebalancing, off', () => {
  it('the status says it is off; pause and resume answer 409 REBALANCE_DISABLED saying how to turn it on, audited; viewers and bad bodies are refused', async () => {
    expect((await call(server, 'GET', '/api/rebalance', { token: VIEWER })).body).toEqual({ enabled: false });
    const pause = await call(server, 'POST', '/api/rebalance/pause', { token: OPERATOR });
    expect(pause.status).toBe(409);
    expect(pause.body.error).toMatchObject({ code: 'REBALANCE_DISABLED', message: expect.stringContaining('--rebalance') });
    expect((await call(server, 'POST', '/api/rebalance/resume', { token: VIEWER })).body.error.code).toBe('FORBIDDEN');
    const extra = await call(server, 'POST', '/api/rebalance/resume', { token: OPERATOR, body: { now: true } });
    expect(extra.status).toBe(400);
    expect(extra.body.error.code).toBe('VALIDATION_FAILED');
    const [last, forbidden, first] = (await call(server, 'GET', '/api/audit', { token: VIEWER })).body.items;
    expect(forbidden).toMatchObject({ action: 'rebalance.resume', result: 'error', error: { code: 'FORBIDDEN' } });
    expect(first).toMatchObject({ action: 'rebalance.pause', target: { rebalance: 'cluster' }, result: 'error', error: { code: 'REBALANCE_DISABLED' } });
    expect(last).toMatchObject({ action: 'rebalance.resume', result: 'error', error: { code: 'VALIDATION_FAILED' } });
  });
});

describe('OpenAPI document', () => {
  const expected = [
    'get /healthz', 'get /readyz', 'get /metrics', 'get /api/openapi.json', 'get /api/stream', 'get /api/summary', 'get /api/nodes',
    'get /api/nodes/{name}', 'get /api/objects', 'get /api/hot', 'get /api/objects/{type}/{id}', 'get /api/objects/{type}/{id}/queue',
    'get /api/objects/{type}/{id}/history',
    'get /api/storage', 'get /api/storage/{type}/{id}', 'get /api/events', 'get /api/metrics/history', 'get /api/audit',
    'post /api/objects/{type}/{id}/evict', 'post /api/objects/{type}/{id}/migrate', 'post /api/nodes/{name}/drain',
    'get /api/types', 'post /api/objects/{type}/{id}/calls', 'put /api/objects/{type}/{id}/state',
    'get /api/shards', 'post /api/shards/move', 'get /api/rebalance', 'post /api/rebalance/pause', 'post /api/rebalance/resume',
    'get /api/talks', 'post /api/talks', 'get /api/talks/{code}', 'get /api/talks/{code}/export', 'post /api/talks/{code}/open',
    'post /api/talks/{code}/close', 'post /api/talks/{code}/reset', 'get /api/talks/{code}/questions', 'post /api/talks/{code}/questions/moderate',
    'post /api/talks/{code}/questions/settings',
  ];

  it('is served as JSON without a token and lists every route with params, responses and error codes', async () => {
    const res = await call(server, 'GET', '/api/openapi.json');
    expect(res.status).toBe(200);
    const doc = JSON.parse(res.text);
    expect(doc.openapi).toBe('3.1.0');
    const operations = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(operations.sort()).toEqual([...expected].sort());
    expect(server.admin.routes.map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`).sort()).toEqual([...expected].sort());

    const migrate = doc.paths['/api/objects/{type}/{id}/migrate'].post;
    expect(migrate.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual(['path:type', 'path:id']);
    expect(migrate.parameters[0].schema).toMatchObject({ type: 'string', pattern: '^[a-z][a-z0-9-]*$', maxLength: 64 });
    expect(migrate.parameters[1].schema).toMatchObject({ type: 'string', pattern: '^[A-Za-z0-9._:@-]+$', maxLength: 200 });
    expect(migrate.requestBody.content['application/json'].schema.required).toEqual(['to']);
    expect(migrate['x-required-role']).toBe('operator');
    expect(migrate.responses['200'].content['application/json'].schema.properties.from).toEqual({ type: 'string' });
    expect(migrate.responses['404']['x-error-codes']).toEqual(['NOT_ACTIVE_HERE']);
    expect(migrate.responses['409']['x-error-codes']).toEqual(['MIGRATION_REFUSED']);
    expect(migrate.responses['403']['x-error-codes']).toEqual(['FORBIDDEN', 'READ_ONLY']);
    expect(migrate.responses['413']['x-error-codes']).toEqual(['PAYLOAD_TOO_LARGE']);

    const calls = doc.paths['/api/objects/{type}/{id}/calls'].post;
    expect(calls['x-required-role']).toBe('viewer');
    expect(calls.requestBody.content['application/json'].schema.required).toEqual(['handler']);
    expect(calls.responses['403']['x-error-codes']).toEqual(['FORBIDDEN', 'READ_ONLY']);
    expect(calls.responses['404']['x-error-codes']).toEqual(['OBJECT_NOT_FOUND', 'UNKNOWN_OBJECT_TYPE', 'UNKNOWN_HANDLER']);
    const state = doc.paths['/api/objects/{type}/{id}/state'].put;
    expect(state['x-required-role']).toBe('operator');
    expect(state.requestBody.content['application/json'].schema.required).toEqual(['state', 'expectedVersion']);
    expect(state.responses['409']['x-error-codes']).toEqual(['VERSION_CONFLICT']);
    expect(state.responses['413']['x-error-codes']).toEqual(['PAYLOAD_TOO_LARGE', 'STATE_TOO_LARGE']);

    const objects = doc.paths['/api/objects'].get;
    const limit = objects.parameters.find((p: { name: string }) => p.name === 'limit');
    expect(limit).toMatchObject({ in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } });
    expect(objects.responses['401']['x-error-codes']).toEqual(['UNAUTHENTICATED']);
    expect(objects.responses['200'].content['application/json'].schema.properties.items.items).toEqual({ $ref: '#/components/schemas/ObjectView' });

    const hot = doc.paths['/api/hot'].get;
    expect(hot['x-required-role']).toBe('viewer');
    expect(hot.parameters.map((p: { name: string }) => p.name)).toEqual(['by', 'type', 'node', 'limit']);
    expect(hot.parameters[0].schema).toMatchObject({ enum: ['calls', 'errors', 'p99', 'queue', 'state'], default: 'calls' });
    expect(hot.parameters[3].schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 200, default: 20 });
    expect(hot.responses['400']['x-error-codes']).toEqual(['VALIDATION_FAILED']);
    expect(hot.responses['200'].content['application/json'].schema.properties.items.items).toEqual({ $ref: '#/components/schemas/HotObjectView' });

    const history = doc.paths['/api/objects/{type}/{id}/history'].get;
    expect(history['x-required-role']).toBe('viewer');
    expect(history.parameters.map((p: { in: string; name: string }) => `${p.in}:${p.name}`)).toEqual(['path:type', 'path:id', 'query:limit', 'query:before']);
    expect(history.parameters[2].schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 1000, default: 100 });
    expect(history.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/HistoryPage' });

    // Every $ref resolves.
    const refs = [...res.text.matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      expect(ref.startsWith('#/components/schemas/')).toBe(true);
      expect(doc.components.schemas[ref.slice('#/components/schemas/'.length)]).toBeDefined();
    }
  });
});
