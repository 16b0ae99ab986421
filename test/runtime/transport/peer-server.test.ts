import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedRegistry, FileStateStore, HighlanderNode } from '@highlander/runtime';
import { Counter, objects } from '../../harness/test-objects.js';

/**
 * The node's ws endpoint refuses malformed frames per connection: invalid UTF-8 in a text frame
 * and a frame over the payload limit close that one connection (1007, 1009), and the node goes on
 * serving calls and event subscribers. A real node on the embedded backends, real ws clients.
 */

let dir: string;
let store: FileStateStore;
let node: HighlanderNode;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'highlander-peer-server-'));
  store = await FileStateStore.create({ dir });
  // A small state limit makes a small payload limit: 2 × 1 KiB + 1 MiB.
  node = HighlanderNode.create({ name: 'node-a', coordinator: new EmbeddedRegistry().coordinator(), store, objects, maxStateBytes: 1024 });
  await node.start();
});

afterEach(async () => {
  await node.stop();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** Opens a ws connection to `path`, sends `frame` as a text frame, and resolves with the close code. */
async function sendAndAwaitClose(path: string, frame: Buffer): Promise<number> {
  const ws = new WebSocket(`${node.address}${path}`);
  ws.on('error', () => {}); // the server closing on us mid-send may surface as a client-side error too
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.send(frame, { binary: false });
  return closed;
}

const INVALID_UTF8 = Buffer.from([0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d]); // ["\xff\xfe"]
const OVERSIZED = () => Buffer.alloc(2 * 1024 * 1024, 0x20); // 2 MiB of spaces, over the 1 MiB + 2 KiB limit

describe('the node endpoint and malformed frames', () => {
  it.each(['/peer', '/events'])('%s: invalid UTF-8 and an oversized frame close only their connection; the node still serves', async (path) => {
    expect(await sendAndAwaitClose(path, INVALID_UTF8)).toBe(1007);
    expect(await sendAndAwaitClose(path, OVERSIZED())).toBe(1009);

    expect(node.status).toBe('running');
    expect(await node.ref(Counter, 'still-here').call('increment', null)).toBe(1);
    // A new event subscriber is served its backlog.
    const subscriber = new WebSocket(`${node.address}/events?since=0`);
    const first = await new Promise<{ t: string; events: Array<{ kind: string }> }>((resolve, reject) => {
      subscriber.once('message', (data) => resolve(JSON.parse(String(data))));
      subscriber.once('error', reject);
    });
    subscriber.close();
    expect(first.t).toBe('events');
    expect(first.events.map((e) => e.kind)).toContain('object.activated');
  });
});

describe('who may open /peer and /events', () => {
  const SECRET = 'peer-server-cluster-secret';

  /** The status of a ws upgrade: 101 when accepted, else the HTTP status of the refusal and its JSON code. */
  async function upgrade(address: string, path: string, headers: Record<string, string>): Promise<{ status: number; code?: string }> {
    const ws = new WebSocket(`${address}${path}`, { headers });
    return new Promise((resolve, reject) => {
      ws.once('open', () => {
        ws.close();
        resolve({ status: 101 });
      });
      ws.once('unexpected-response', (_req, res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(text) as { error: { code: string } }).error.code }));
      });
      ws.once('error', reject);
    });
  }

  it('with a cluster secret: refused with 401 without it or with a wrong one, 403 with an Origin, counted; open with it', async () => {
    const guardedDir = await mkdtemp(join(tmpdir(), 'highlander-peer-gate-'));
    const guardedStore = await FileStateStore.create({ dir: guardedDir });
    const guarded = HighlanderNode.create({ name: 'guarded', coordinator: new EmbeddedRegistry().coordinator(), store: guardedStore, objects, clusterSecret: SECRET });
    await guarded.start();
    try {
      for (const path of ['/peer', '/events?since=0']) {
        expect(await upgrade(guarded.address, path, {}), path).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
        expect(await upgrade(guarded.address, path, { authorization: `Bearer ${SECRET}x` }), path).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
        expect(await upgrade(guarded.address, path, { authorization: `Bearer ${SECRET}`, origin: 'http://localhost:5173' }), path).toEqual({ status: 403, code: 'ORIGIN_NOT_ALLOWED' });
        expect(await upgrade(guarded.address, path, { authorization: `bearer ${SECRET}` }), path).toEqual({ status: 101 });
      }
      const metrics = await guarded.metrics!.text();
      expect(metrics).toMatch(/highlander_node_refusals_total\{reason="unauthenticated"\} 4/);
      expect(metrics).toMatch(/highlander_node_refusals_total\{reason="origin"\} 2/);
    } finally {
      await guarded.stop();
      await guardedStore.close();
      await rm(guardedDir, { recursive: true, force: true });
    }
  });

  it('without a cluster secret (loopback only): open to members, still closed to browsers', async () => {
    expect(await upgrade(node.address, '/peer', {})).toEqual({ status: 101 });
    expect(await upgrade(node.address, '/events', { origin: 'https://attacker.example' })).toEqual({ status: 403, code: 'ORIGIN_NOT_ALLOWED' });
  });

  it('refuses to start a node listening beyond loopback without a cluster secret', () => {
    const coordinator = new EmbeddedRegistry().coordinator();
    expect(() => HighlanderNode.create({ name: 'exposed', coordinator, store, objects, host: '0.0.0.0' })).toThrow(/needs a clusterSecret/);
    expect(() => HighlanderNode.create({ name: 'weak', coordinator, store, objects, clusterSecret: 'short' })).toThrow(/at least 16 characters/);
    expect(() => HighlanderNode.create({ name: 'second-loopback', coordinator, store, objects, host: '127.0.0.2' })).not.toThrow();
    expect(() => HighlanderNode.create({ name: 'exposed-with-secret', coordinator, store, objects, host: '0.0.0.0', clusterSecret: SECRET })).not.toThrow();
  });
});
