import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { S3StateStore } from '@highlander/runtime';
import { Cluster, startAdminApiProcess, uniqueRoot, type ClusterConfig, type NodeProcess } from '../../scripts/cluster.js';
import { frame, rawExchange, upgradeThen, type RawOutcome } from '../harness/raw-ws.js';
import { s3Config, zookeeperConnect } from '../harness/servers.js';
import { TEST_OBJECTS } from '../harness/test-objects.js';
import { timing } from '../harness/timing.js';
import { Participant, freshDevice } from '../audience/participant.js';

/**
 * No input can end a process: a real cluster (two node processes with audience gateways, on
 * ZooKeeper and radosgw, and the admin API as its own process) gets a corpus of hostile input on
 * every port it listens on — bytes that are no protocol, garbage before the upgrade, huge and
 * slow-drip headers, and after a valid upgrade invalid UTF-8, reserved opcodes, RSV bits, unmasked
 * client frames, oversized and truncated frames, random bytes; then a crowd of half-open
 * connections. Each bad connection is closed on its own (with the fitting close code where the
 * protocol has one); a bystander connection on each port stays open and served; afterwards every
 * process is alive and serving, and every acknowledged write is intact.
 */

const SECRET = 'fuzz-test-cluster-secret';
const OPERATOR = 'fuzz-test-operator-token';
let dir: string;
let config: ClusterConfig;
let cluster: Cluster;
let api: { child: ChildProcess; url: string };
let talkCode: string;
const acknowledged = new Map<string, number>();

interface Target {
  name: string;
  port: number;
  /** A path and headers that upgrade. */
  ws: { path: string; headers: Record<string, string> };
  /** The largest message it takes: a frame declaring more is closed with 1009. */
  maxPayloadBytes: number;
}
let targets: Target[];

const portOf = (url: string) => Number(new URL(url.replace(/^ws/, 'http')).port);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'highlander-fuzz-'));
  config = {
    zookeeper: zookeeperConnect(), s3: s3Config(), root: uniqueRoot('fuzz'), sessionTimeoutMs: timing.sessionTimeoutMs,
    objectsModule: TEST_OBJECTS, clusterSecret: SECRET, nodeEnv: { HIGHLANDER_AUDIENCE_PORT: '0' },
  };
  cluster = await Cluster.start(config, 2);
  api = await startAdminApiProcess(config, { tokens: `operator:otto:${OPERATOR}`, auditLog: join(dir, 'audit.jsonl'), env: { HIGHLANDER_LOG_LEVEL: 'error' } });
  const [a] = cluster.nodes as [NodeProcess];
  for (let i = 0; i < 5; i++) await increment(a, `fuzz-${i % 3}`);
  const created = await fetch(`${api.url}/api/talks`, {
    method: 'POST', headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' }, body: JSON.stringify({ title: 'Fuzz' }),
  });
  talkCode = ((await created.json()) as { talk: { code: string } }).talk.code;
  targets = [
    { name: 'node port', port: portOf(a.address), ws: { path: '/events?since=0', headers: { authorization: `Bearer ${SECRET}` } }, maxPayloadBytes: 3 * 1024 * 1024 },
    { name: 'admin API', port: portOf(api.url), ws: { path: '/api/stream', headers: { 'sec-websocket-protocol': `highlander.v1, bearer.${OPERATOR}` } }, maxPayloadBytes: 4096 },
    { name: 'audience gateway', port: portOf(a.audienceUrl!), ws: { path: `/audience/ws?code=${talkCode}&device=${freshDevice('fuzz')}`, headers: {} }, maxPayloadBytes: 2048 },
  ];
});

afterAll(async () => {
  if (api) {
    const exited = new Promise((resolve) => api.child.once('exit', resolve));
    api.child.kill('SIGTERM');
    await exited;
  }
  await cluster?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function increment(node: NodeProcess, id: string): Promise<void> {
  const value = await node.call<number>('counter', id, 'increment', null);
  acknowledged.set(id, Math.max(acknowledged.get(id) ?? 0, value));
}

const text = (s: string) => Buffer.from(s, 'utf8');
const INVALID_UTF8 = Buffer.from([0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d]); // 8 bytes on the wire with the header: the probe

/** A bystander per port: a legitimate connection that must stay open and served through everything. */
async function bystanders(): Promise<{ check(): Promise<void>; close(): void }> {
  const [a] = cluster.nodes as [NodeProcess];
  const events: string[] = [];
  const subscriber = new WebSocket(`${a.address}/events`, { headers: { authorization: `Bearer ${SECRET}` } });
  subscriber.on('message', (data) => events.push(String(data)));
  const stream = new WebSocket(`${api.url.replace('http', 'ws')}/api/stream`, ['highlander.v1', `bearer.${OPERATOR}`]);
  const streamed: string[] = [];
  stream.on('message', (data) => streamed.push(String(data)));
  await Promise.all([subscriber, stream].map((ws) => new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  })));
  stream.send(JSON.stringify({ subscribe: 'summary' }));
  const phone = await Participant.join(a.audienceUrl!, talkCode, freshDevice('bystander'));
  return {
    async check() {
      expect(subscriber.readyState).toBe(WebSocket.OPEN);
      expect(stream.readyState).toBe(WebSocket.OPEN);
      expect(phone.ws.readyState).toBe(WebSocket.OPEN);
      const before = events.length;
      await increment(a, 'fuzz-bystander-a'); // activated on node-a (local placement): its subscriber and the admin API hear of it
      await expect.poll(() => events.length, { timeout: timing.eventMs }).toBeGreaterThan(before);
      await expect.poll(() => streamed.some((m) => m.includes('fuzz-bystander-a')), { timeout: timing.eventMs }).toBe(true);
      expect((await phone.settled([phone.position(42)]))[0]!.kind).toBe('ack');
    },
    close() {
      subscriber.terminate();
      stream.terminate();
      phone.ws.terminate();
    },
  };
}

/** Every process alive and serving; every acknowledged counter value in the talk of its owner and in S3. */
async function everythingServes(): Promise<void> {
  for (const node of cluster.nodes) expect(node.running, node.name).toBe(true);
  expect(api.child.exitCode).toBeNull();
  expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
  for (const node of cluster.nodes) expect((await fetch(`${node.audienceUrl}/healthz`)).status, node.name).toBe(200);
  const [a, b] = cluster.nodes as [NodeProcess, NodeProcess];
  const store = new S3StateStore({
    bucket: config.s3.bucket, prefix: `${config.root.slice(1)}/objects/`, endpoint: config.s3.endpoint, region: config.s3.region,
    credentials: { accessKeyId: config.s3.accessKeyId, secretAccessKey: config.s3.secretAccessKey },
  });
  try {
    for (const [id, value] of acknowledged) {
      expect(await b.call('counter', id, 'value', null), id).toBe(value);
      expect(JSON.parse((await store.read('counter', id))!.body), id).toEqual({ value });
    }
  } finally {
    await store.close();
  }
  await increment(a, 'fuzz-after');
}

describe('hostile input on every port', () => {
  it('closes each bad connection alone, with its close code, and every process keeps serving', async () => {
    const watchers = await bystanders();
    const outcomes: Array<{ target: string; probe: string; outcome: RawOutcome }> = [];
    const probe = async (target: Target, name: string, run: () => Promise<RawOutcome>) => outcomes.push({ target: target.name, probe: name, outcome: await run() });
    for (const target of targets) {
      const ws = (...frames: Buffer[]) => upgradeThen(target.port, target.ws.path, target.ws.headers, frames, timing.localMs);
      await probe(target, 'random bytes', () => rawExchange(target.port, [randomBytes(2048)], { timeoutMs: timing.localMs }));
      await probe(target, 'garbage request line', () => rawExchange(target.port, [text('GARBAGE \x00\x01 NOT HTTP\r\n\r\n')], { timeoutMs: timing.localMs }));
      await probe(target, 'huge headers', () => rawExchange(target.port, [text(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(80 * 1024)}\r\n\r\n`)], { timeoutMs: timing.localMs }));
      await probe(target, 'slow-drip headers', () => rawExchange(target.port, [...'GET / HTTP/1.1\r\nHost: x\r\nX-Drip: 1'].map((c) => text(c)), { timeoutMs: timing.localMs, gapMs: 20 }));
      await probe(target, 'malformed URL in a request', () => rawExchange(target.port, [text('GET //[%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')], { timeoutMs: timing.localMs }));
      await probe(target, 'malformed URL in an upgrade', () => upgradeThen(target.port, '//[', target.ws.headers, [], timing.localMs));
      await probe(target, 'invalid UTF-8', () => ws(frame({ opcode: 0x1, payload: INVALID_UTF8 })));
      await probe(target, 'reserved opcode', () => ws(frame({ opcode: 0x3, payload: text('{}') })));
      await probe(target, 'RSV bits', () => ws(frame({ opcode: 0x1, payload: text('{}'), rsv: 0b011 })));
      await probe(target, 'unmasked client frame', () => ws(frame({ opcode: 0x1, payload: text('{}'), mask: false })));
      await probe(target, 'declared over the limit', () => ws(frame({ opcode: 0x1, payload: Buffer.alloc(1024, 0x20), declaredLength: target.maxPayloadBytes + 4 * 1024 * 1024 })));
      await probe(target, 'a real 4 MiB frame', () => ws(frame({ opcode: 0x1, payload: Buffer.alloc(4 * 1024 * 1024, 0x20) })));
      await probe(target, 'truncated frame', () => ws(frame({ opcode: 0x1, payload: text('{"a":1}'), declaredLength: 100 })));
      await probe(target, 'random bytes after the upgrade', () => ws(randomBytes(4096)));
    }
    const by = (target: string, name: string) => outcomes.find((o) => o.target === target && o.probe === name)!.outcome;
    for (const target of targets) {
      // Each protocol violation gets its close code, as RFC 6455 says.
      expect(by(target.name, 'invalid UTF-8'), target.name).toMatchObject({ closeCode: 1007, end: 'closed' });
      for (const name of ['reserved opcode', 'RSV bits', 'unmasked client frame']) expect(by(target.name, name), `${target.name}: ${name}`).toMatchObject({ closeCode: 1002, end: 'closed' });
      for (const name of ['declared over the limit', 'a real 4 MiB frame']) expect(by(target.name, name), `${target.name}: ${name}`).toMatchObject({ closeCode: 1009, end: 'closed' });
      // Not HTTP at all, or headers no server takes: refused and closed.
      for (const name of ['random bytes', 'garbage request line']) expect(by(target.name, name), `${target.name}: ${name}`).toMatchObject({ status: expect.stringMatching(/^HTTP\/1\.1 400/), end: 'closed' });
      // An answer, never a 5xx (the admin API answers unknown paths with the dashboard's page, for deep links).
      expect(by(target.name, 'malformed URL in a request').status, target.name).toMatch(target.name === 'admin API' ? /^HTTP\/1\.1 200/ : /^HTTP\/1\.1 4\d\d/);
      expect(by(target.name, 'malformed URL in an upgrade'), target.name).toMatchObject({ status: expect.stringMatching(/^HTTP\/1\.1 400/), end: 'closed' });
      expect(by(target.name, 'huge headers'), target.name).toMatchObject({ status: expect.stringMatching(/^HTTP\/1\.1 431/), end: 'closed' });
      expect(by(target.name, 'random bytes after the upgrade').end, target.name).toBe('closed');
    }
    // The bystanders never noticed; the processes serve; what was acknowledged is intact.
    await watchers.check();
    await everythingServes();
    watchers.close();
    // The node counted what it refused.
    const [a] = cluster.nodes as [NodeProcess];
    const metrics = await (await fetch(`${a.address.replace('ws', 'http')}/metrics`, { headers: { authorization: `Bearer ${SECRET}` } })).text();
    expect(metrics).toMatch(/highlander_node_refusals_total\{reason="malformed-frame"\} [1-9]/);
    expect(metrics).toMatch(/highlander_node_refusals_total\{reason="bad-request"\} [1-9]/);
    // So did the audience gateway (its metrics are the node's) and the admin API.
    expect(metrics).toMatch(/highlander_audience_rejections_total\{reason="malformed-frame"\} [1-9]/);
    expect(metrics).toMatch(/highlander_audience_rejections_total\{reason="bad-request"\} [1-9]/);
    const apiMetrics = await (await fetch(`${api.url}/metrics`)).text();
    for (const reason of ['malformed-frame', 'bad-request']) expect(apiMetrics).toMatch(new RegExp(`highlander_admin_refusals_total\\{reason="${reason}"\\} [1-9]`));
  });

  it('survives a crowd of half-open connections on every port, and serves once they are gone', async () => {
    const limit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()) || 1024;
    // Bounded by this machine's descriptors: this process holds them all, each server one per connection.
    const perPort = Math.max(50, Math.min(1000, Math.floor((limit - 300) / targets.length)));
    const sockets: Socket[] = [];
    for (const target of targets) {
      await Promise.all(Array.from({ length: perPort }, () => new Promise<void>((resolve) => {
        const socket = connect(target.port, '127.0.0.1');
        sockets.push(socket);
        socket.on('error', () => resolve());
        socket.once('connect', () => {
          socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n'); // and never the end of the headers
          resolve();
        });
      })));
    }
    expect(sockets.length).toBe(perPort * targets.length);
    // While they hang there, everything serves.
    await everythingServes();
    for (const socket of sockets) socket.destroy();
    await everythingServes();
  });
});
