import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Cluster, startAdminApiProcess, uniqueRoot, type ClusterConfig, type NodeProcess } from '../../scripts/cluster.js';
import { makeCertificates, type TestCertificates } from '../harness/certificates.js';
import { ownersInZooKeeper } from '../harness/lock-tree.js';
import { s3Config, zookeeperConnect } from '../harness/servers.js';
import { TEST_OBJECTS } from '../harness/test-objects.js';
import { timing } from '../harness/timing.js';
import { ZkSession } from '@highlander/runtime/zookeeper';

/**
 * Only members of the cluster talk to nodes, on real processes: two nodes with TLS, mutual TLS and
 * the cluster secret forward calls to each other over wss; the admin API, with the secret, the CA
 * and its own client certificate, follows their event streams and carries out an eviction; plain
 * ws, a missing client certificate, a stranger's certificate and a missing secret are all refused.
 * The certificates are made for the test by Debian's openssl.
 */

const SECRET = 'security-test-cluster-secret';
const OPERATOR = 'security-test-operator-token';
let dir: string;
let certs: TestCertificates;
let config: ClusterConfig;
let cluster: Cluster;
let api: { child: ChildProcess; url: string };
let zk: ZkSession;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'highlander-security-'));
  certs = await makeCertificates(dir);
  zk = await ZkSession.open({ connect: zookeeperConnect() });
  config = {
    zookeeper: zookeeperConnect(), s3: s3Config(), root: uniqueRoot('security'), sessionTimeoutMs: timing.sessionTimeoutMs,
    objectsModule: TEST_OBJECTS, clusterSecret: SECRET, placement: 'round-robin',
    nodeEnv: {
      HIGHLANDER_TLS_CERT: certs.node.cert, HIGHLANDER_TLS_KEY: certs.node.key, HIGHLANDER_TLS_CA: certs.ca, HIGHLANDER_TLS_CLIENT_AUTH: '1',
    },
  };
  cluster = await Cluster.start(config, 2);
  api = await startAdminApiProcess(config, {
    tokens: `operator:otto:${OPERATOR}`, auditLog: join(dir, 'audit.jsonl'),
    env: {
      HIGHLANDER_LOG_LEVEL: 'warn', HIGHLANDER_NODE_TLS_CA: certs.ca, HIGHLANDER_NODE_TLS_CERT: certs.client.cert, HIGHLANDER_NODE_TLS_KEY: certs.client.key,
    },
  });
});

afterAll(async () => {
  if (api) {
    const exited = new Promise((resolve) => api.child.once('exit', resolve));
    api.child.kill('SIGTERM');
    await exited;
  }
  await cluster?.stop();
  zk?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** How a ws connection attempt to a node's /events ends: 'open', an HTTP status, or the TLS/network error. */
async function attempt(address: string, options: WebSocket.ClientOptions): Promise<string> {
  const ws = new WebSocket(`${address}/events?since=0`, options);
  return new Promise((resolve) => {
    ws.once('open', () => {
      ws.close();
      resolve('open');
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(`HTTP ${res.statusCode}`);
    });
    ws.once('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code ?? err.message}`));
  });
}

describe('a cluster with TLS, mutual TLS and a cluster secret', () => {
  it('publishes wss:// addresses and forwards calls between nodes over them', async () => {
    const [a, b] = cluster.nodes as [NodeProcess, NodeProcess];
    expect(a.address).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
    // Round-robin placement puts some of these on node-b: node-a forwards their calls over wss.
    for (let i = 0; i < 6; i++) expect(await a.call('counter', `tls-${i}`, 'increment', null)).toBe(1);
    const owners = await ownersInZooKeeper(zk, config.root);
    const onB = [...owners].filter(([key, owner]) => key.startsWith('counter/tls-') && owner === 'node-b').map(([key]) => key.slice('counter/'.length));
    expect(onB.length).toBeGreaterThan(0);
    for (const id of onB) expect(await a.call('counter', id, 'increment', null)).toBe(2);
    expect(await b.call('counter', onB[0]!, 'value', null)).toBe(2);
  });

  it('lets the admin API (secret, CA and client certificate) follow the nodes and act through their admin endpoints', async () => {
    const [a] = cluster.nodes as [NodeProcess];
    await a.call('counter', 'tls-evict', 'increment', null);
    const headers = { authorization: `Bearer ${OPERATOR}` };
    await expect.poll(async () => {
      const nodes = (await (await fetch(`${api.url}/api/nodes`, { headers })).json()) as { items: Array<{ name: string; status: string }> };
      return nodes.items.map((n) => `${n.name}:${n.status}`).sort();
    }, { timeout: timing.eventMs }).toEqual(['node-a:up', 'node-b:up']);
    // Events reach the model over wss: the object shows up, then an eviction goes through the owner's admin endpoint over https.
    await expect.poll(async () => (await fetch(`${api.url}/api/objects/counter/tls-evict`, { headers })).status, { timeout: timing.eventMs }).toBe(200);
    const evicted = await fetch(`${api.url}/api/objects/counter/tls-evict/evict`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{}' });
    expect(evicted.status).toBe(200);
    expect((await evicted.json()) as { forced: boolean }).toMatchObject({ forced: false });
  });

  it('refuses plain ws, a client without a certificate, a stranger\'s certificate, and a missing or wrong secret', async () => {
    const [a] = cluster.nodes as [NodeProcess];
    const ca = await readFile(certs.ca);
    const cert = await readFile(certs.client.cert);
    const key = await readFile(certs.client.key);
    const auth = { authorization: `Bearer ${SECRET}` };
    expect(await attempt(a.address.replace('wss://', 'ws://'), { headers: auth })).toMatch(/^error|^HTTP 400/);
    expect(await attempt(a.address, { headers: auth, ca })).toMatch(/^error/);
    expect(await attempt(a.address, { headers: auth, ca, cert: await readFile(certs.stranger.cert), key: await readFile(certs.stranger.key) })).toMatch(/^error/);
    expect(await attempt(a.address, { ca, cert, key })).toBe('HTTP 401');
    expect(await attempt(a.address, { headers: { authorization: `Bearer ${SECRET}-not` }, ca, cert, key })).toBe('HTTP 401');
    expect(await attempt(a.address, { headers: auth, ca, cert, key })).toBe('open');
    // The node's HTTP too: /metrics over https with the client certificate needs the secret.
    const status = (headers: Record<string, string>) => new Promise<number>((resolve, reject) => {
      const req = request(`${a.address.replace('wss://', 'https://')}/metrics`, { ca, cert, key, headers }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.once('error', reject);
      req.end();
    });
    expect(await status({})).toBe(401);
    expect(await status(auth)).toBe(200);
  });
});
