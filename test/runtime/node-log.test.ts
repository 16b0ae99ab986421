import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import { EmbeddedRegistry, FileStateStore, HighlanderNode } from '@highlander/runtime';
import { Counter, objects } from '../harness/test-objects.js';

/**
 * A node's structured log (runtime/src/node-log.ts, the `logger` option): lifecycle steps at the
 * level an operator needs, admin actions, each line naming the node. Embedded backends, in process.
 */

const TOKEN = 'log-test-cluster-secret';
let nodes: HighlanderNode[] = [];
let cleanup: (() => Promise<void>) | undefined;

afterEach(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  nodes = [];
  await cleanup?.();
});

interface Line {
  level: number;
  node: string;
  msg: string;
  event?: string;
  [field: string]: unknown;
}

async function cluster(level: string): Promise<{ registry: EmbeddedRegistry; lines: Line[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'highlander-log-'));
  const store = await FileStateStore.create({ dir });
  cleanup = async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  };
  const registry = new EmbeddedRegistry();
  const lines: Line[] = [];
  const logger = pino({ level }, { write: (line: string) => lines.push(JSON.parse(line) as Line) });
  nodes = ['node-a', 'node-b'].map((name) => HighlanderNode.create({ name, coordinator: registry.coordinator(), store, objects, logger, clusterSecret: TOKEN }));
  for (const node of nodes) await node.start();
  return { registry, lines };
}

const levels = { trace: 10, debug: 20, info: 30, warn: 40, error: 50 };

it('logs start, membership, admin actions and stop at info, a lost session at warn, each line naming its node', async () => {
  const { registry, lines } = await cluster('info');
  const [a, b] = nodes as [HighlanderNode, HighlanderNode];
  await a.ref(Counter, 'c1').call('increment', null);
  await a.ref(Counter, 'c2').call('increment', null);
  const evicted = await fetch(`${a.address.replace('ws://', 'http://')}/admin/objects/counter/c1/evict`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
  expect(evicted.status).toBe(200);
  const refused = await fetch(`${a.address.replace('ws://', 'http://')}/admin/objects/counter/nope/evict`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
  expect(refused.status).toBe(404);
  expect(registry.expireSession('node-a')).toBe(true);
  await b.stop();

  expect(lines.find((l) => l.event === 'node.up' && l.node === 'node-a')).toMatchObject({ level: levels.info, msg: expect.stringMatching(/^node up at ws:/) });
  expect(lines.find((l) => l.event === 'node.joined' && l.node === 'node-a')).toMatchObject({ level: levels.info, peer: 'node-b' });
  expect(lines.filter((l) => l.event === 'admin.action')).toEqual([
    expect.objectContaining({ level: levels.info, node: 'node-a', path: '/admin/objects/counter/c1/evict', status: 200 }),
    expect.objectContaining({ level: levels.warn, node: 'node-a', path: '/admin/objects/counter/nope/evict', status: 404 }),
  ]);
  expect(lines.find((l) => l.event === 'node.session-lost')).toMatchObject({ level: levels.warn, node: 'node-a', activationsDropped: 1 });
  expect(lines.find((l) => l.event === 'object.deactivated')).toMatchObject({ level: levels.warn, node: 'node-a', id: 'c2', reason: 'session-lost' });
  expect(lines.find((l) => l.event === 'node.down' && l.node === 'node-b')).toMatchObject({ level: levels.info, reason: 'shutdown' });
  // Activations, writes and the eviction's own deactivation are below info.
  expect(lines.some((l) => l.event === 'object.activated' || l.event === 'object.persisted' || l.event === 'lock.acquired')).toBe(false);
  expect(lines.filter((l) => l.event === 'object.deactivated')).toHaveLength(1);
});

it('logs every lifecycle step at debug and trace', async () => {
  const { lines } = await cluster('trace');
  await nodes[0]!.ref(Counter, 'c1').call('increment', null);
  expect(lines.find((l) => l.event === 'object.activated')).toMatchObject({ level: levels.debug, type: 'counter', id: 'c1' });
  expect(lines.find((l) => l.event === 'lock.acquired')).toMatchObject({ level: levels.debug });
  expect(lines.find((l) => l.event === 'object.persisted')).toMatchObject({ level: levels.trace, calls: 1 });
});
