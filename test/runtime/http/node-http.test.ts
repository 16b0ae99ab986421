import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedRegistry, FileStateStore, HighlanderNode, registerAdminExtension } from '@highlander/runtime';
import { bearerMatches } from '../../../runtime/src/http/node-gate.js';
import { Counter, objects } from '../../harness/test-objects.js';

/**
 * Plain HTTP on a node's port: one route table (/metrics, /admin/*, 426 otherwise) behind one gate
 * (the cluster secret on every request when the node has one; never a browser's Origin). A real node
 * on the embedded backends; requests with fetch.
 */

const TOKEN = 'node-http-cluster-secret';
let dir: string;
let store: FileStateStore;
let guarded: HighlanderNode;
let open: HighlanderNode;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'highlander-node-http-'));
  store = await FileStateStore.create({ dir });
  const registry = new EmbeddedRegistry();
  guarded = HighlanderNode.create({ name: 'guarded', coordinator: registry.coordinator(), store, objects, clusterSecret: TOKEN });
  open = HighlanderNode.create({ name: 'open', coordinator: registry.coordinator(), store, objects });
  await Promise.all([guarded.start(), open.start()]);
});

afterAll(async () => {
  await Promise.all([guarded.stop(), open.stop()]);
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const url = (node: HighlanderNode, path: string) => `${node.address.replace('ws://', 'http://')}${path}`;
const auth = (value = `Bearer ${TOKEN}`) => ({ headers: { authorization: value } });
const json = (res: Response): Promise<any> => res.json();

describe('the node port over plain HTTP', () => {
  it('accepts the bearer scheme in any case, and only the exact token', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      expect((await fetch(url(guarded, '/admin/activations'), auth(`${scheme} ${TOKEN}`))).status, scheme).toBe(200);
      expect((await fetch(url(guarded, '/metrics'), auth(`${scheme} ${TOKEN}`))).status, scheme).toBe(200);
    }
    for (const wrong of ['', TOKEN, `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, 'Bearer']) {
      const res = await fetch(url(guarded, '/admin/activations'), auth(wrong));
      expect(res.status, wrong).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect((await json(res)).error.code).toBe('UNAUTHENTICATED');
    }
    expect(bearerMatches(`bearer   ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerMatches(undefined, TOKEN)).toBe(false);
  });

  it('answers a malformed percent-escape with 400, not 500', async () => {
    const res = await fetch(url(guarded, '/admin/objects/counter/%E0%A4%A'), auth());
    expect(res.status).toBe(400);
    expect((await json(res)).error.code).toBe('BAD_REQUEST');
    // The node still serves.
    expect((await fetch(url(guarded, '/admin/activations'), auth())).status).toBe(200);
  });

  it('routes /metrics, /admin/* and answers 426 to anything else', async () => {
    await guarded.ref(Counter, 'http-1').call('increment', null);
    const inspected = await fetch(url(guarded, '/admin/objects/counter/http-1'), auth());
    expect(inspected.status).toBe(200);
    expect(await inspected.json()).toMatchObject({ type: 'counter', id: 'http-1', status: 'active', state: { value: 1 } });
    expect((await fetch(url(guarded, '/admin/objects/counter/nobody'), auth())).status).toBe(404);
    expect((await fetch(url(guarded, '/admin/nothing-here'), auth())).status).toBe(404);
    expect((await fetch(url(guarded, '/'), auth())).status).toBe(426);
    expect((await fetch(url(guarded, '/peer'), auth())).status).toBe(426);
    const upgrade = await fetch(url(guarded, '/elsewhere'), auth());
    expect((await json(upgrade)).error.code).toBe('UPGRADE_REQUIRED');
    // With a cluster secret, every request needs it, /metrics and unknown paths included.
    for (const path of ['/', '/metrics', '/elsewhere']) expect((await fetch(url(guarded, path))).status, path).toBe(401);
    // Without a cluster secret the admin endpoints are off (and say how to turn them on); /metrics is open.
    const off = await fetch(url(open, '/admin/activations'));
    expect(off.status).toBe(404);
    expect((await json(off)).error.message).toContain('--cluster-secret');
    expect((await fetch(url(open, '/metrics'))).status).toBe(200);
    expect((await fetch(url(open, '/metrics'), { method: 'POST' })).status).toBe(405);
  });

  it('refuses any request that comes from a browser page (an Origin header), with or without the secret', async () => {
    for (const node of [guarded, open]) {
      for (const path of ['/metrics', '/admin/activations', '/']) {
        const res = await fetch(url(node, path), { headers: { authorization: `Bearer ${TOKEN}`, origin: 'http://evil.example' } });
        expect(res.status, `${node.name} ${path}`).toBe(403);
        expect((await json(res)).error.code).toBe('ORIGIN_NOT_ALLOWED');
      }
    }
  });

  it('serves calls and services through the admin endpoints, with runtime errors at their status', async () => {
    const post = (path: string, body: unknown) => fetch(url(guarded, path), { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const called = await post('/admin/call', { type: 'counter', id: 'http-2', op: 'increment', arg: null });
    expect(await called.json()).toEqual({ value: 1 });
    const unknown = await post('/admin/call', { type: 'counter', id: 'http-2', op: 'constructor' });
    expect(unknown.status).toBe(404);
    expect((await json(unknown)).error.code).toBe('UNKNOWN_HANDLER');
    const badTimeout = await post('/admin/call', { type: 'counter', id: 'http-2', op: 'value', timeoutMs: 1e308 });
    expect(badTimeout.status).toBe(400);
    expect((await json(badTimeout)).error.code).toBe('INVALID_ARGUMENT');
    const remove = registerAdminExtension(guarded, { name: 'probe', info: () => ({ ok: true }) });
    expect(await (await fetch(url(guarded, '/admin/services'), auth())).json()).toEqual({ node: 'guarded', services: { probe: { ok: true } } });
    remove();
  });
});
