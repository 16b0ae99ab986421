import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devicePseudonym, newTalkCode, type TalkState } from '@highlander/audience';
import { S3StateStore } from '@highlander/runtime';
import { Keyspace, ZkSession } from '@highlander/runtime/zookeeper';
import { Cluster, startAdminApiProcess, uniqueRoot, type ClusterConfig, type NodeProcess } from '../../scripts/cluster.js';
import { s3Config, zookeeperConnect } from '../harness/servers.js';
import { TEST_OBJECTS } from '../harness/test-objects.js';
import { timing } from '../harness/timing.js';
import { Participant, freshAddress, freshDevice } from './participant.js';

/**
 * Audience integrity on node processes with gateways and the admin API: a code nobody created
 * writes nothing anywhere; a device id never leaves the gateway (the talk, its export, the attendee
 * objects, the admin API know pseudonyms); one address introduces new devices only at a bounded pace.
 */

const NODE_TOKEN = 'node-admin-token-integrity';
const OPERATOR = 'operator-token-integrity';
const NEW_DEVICES_BURST = 5;

let zk: ZkSession;
let cluster: Cluster;
let config: ClusterConfig;
let store: S3StateStore;
let auditDir: string;
let api: { child: ChildProcess; url: string };
const participants: Participant[] = [];

async function get(path: string): Promise<{ status: number; text: string; body: any }> {
  const response = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${OPERATOR}` } });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, text, body };
}

async function joinTalk(node: NodeProcess, code: string, device: string, address = freshAddress()): Promise<Participant> {
  const participant = await Participant.join(node.audienceUrl!, code, device, address);
  participants.push(participant);
  return participant;
}

beforeAll(async () => {
  zk = await ZkSession.open({ connect: zookeeperConnect() });
  auditDir = await mkdtemp(join(tmpdir(), 'highlander-integrity-'));
  config = {
    zookeeper: zookeeperConnect(), s3: s3Config(), root: uniqueRoot('integrity'), sessionTimeoutMs: timing.sessionTimeoutMs,
    objectsModule: TEST_OBJECTS, clusterSecret: NODE_TOKEN,
    nodeEnv: {
      HIGHLANDER_AUDIENCE_PORT: '0',
      HIGHLANDER_AUDIENCE_ATTENDEE_WRITE_INTERVAL_MS: '200',
      HIGHLANDER_AUDIENCE_NEW_DEVICES_PER_ADDRESS_BURST: String(NEW_DEVICES_BURST),
      HIGHLANDER_AUDIENCE_NEW_DEVICES_PER_ADDRESS_PER_MINUTE: '1',
    },
  };
  const s3 = config.s3;
  store = new S3StateStore({
    bucket: s3.bucket, prefix: `${config.root.slice(1)}/objects/`, endpoint: s3.endpoint, region: s3.region,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  cluster = await Cluster.start(config, 2);
  api = await startAdminApiProcess(config, { tokens: `operator:otto:${OPERATOR}`, auditLog: join(auditDir, 'audit.jsonl'), env: { HIGHLANDER_LOG_LEVEL: 'warn' } });
});

afterAll(async () => {
  for (const p of participants) p.ws.terminate();
  if (api) {
    const exited = new Promise((resolve) => api.child.once('exit', resolve));
    api.child.kill('SIGTERM');
    await exited;
  }
  await cluster?.stop();
  await store?.close();
  zk?.close();
  await rm(auditDir, { recursive: true, force: true });
});

describe('audience integrity', () => {
  it('asks for the code at /, sends a typed code to its room, and shows a bad one back as text only', async () => {
    const [a] = cluster.nodes as [NodeProcess];
    const form = await fetch(`${a.audienceUrl}/`);
    expect(form.status).toBe(200);
    expect(form.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await form.text()).toContain('<form method="get" action="/a">');
    const typed = await fetch(`${a.audienceUrl}/a?code=%20abcde%20`, { redirect: 'manual' });
    expect(typed.status).toBe(303);
    expect(typed.headers.get('location')).toBe('/a/ABCDE');
    const bad = await fetch(`${a.audienceUrl}/a?code=${encodeURIComponent('<script>alert(1)</script>')}`, { redirect: 'manual' });
    expect(bad.status).toBe(404);
    const page = await bad.text();
    expect(page).toContain('That is not a room code');
    expect(page).not.toContain('<script>');
  });

  it('joining, querying or exporting a code nobody created writes nothing and activates nothing', async () => {
    const [a] = cluster.nodes as [NodeProcess];
    const code = newTalkCode();
    const phone = await Participant.open(a.audienceUrl!, code, freshDevice('nobody'));
    participants.push(phone);
    expect((await phone.closed).code).toBe(4404);
    expect(phone.messages).toContainEqual(expect.objectContaining({ kind: 'rejected', reason: 'talk-not-found' }));
    for (const path of [`/api/talks/${code}`, `/api/talks/${code}/export`]) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(res.body.error.code, path).toBe('TALK_NOT_FOUND');
    }
    expect(await store.read('talk', code)).toBeNull();
    // Nor does a cursor this API did not hand out reach the store: 400, on the talks and on storage browsing alike.
    for (const path of ['/api/talks?cursor=garbage', '/api/talks?cursor=!!!!', '/api/storage?type=talk&cursor=!!!!', '/api/storage?cursor=garbage']) {
      const res = await get(path);
      expect(res.status, path).toBe(400);
      expect(res.body.error.code, path).toBe('INVALID_CURSOR');
    }
    expect(await zk.exists(new Keyspace(config.root).lockParent('talk', code))).toBeNull();
    for (const node of cluster.nodes) expect((await node.activations()).filter((x) => x.type === 'talk' && x.id === code)).toEqual([]);
  });

  it('never shows a device id: the talk, its export, the attendee objects and the admin API know pseudonyms only; no feedback, no attendee', async () => {
    const [a, b] = cluster.nodes as [NodeProcess, NodeProcess];
    const created = await fetch(`${api.url}/api/talks`, {
      method: 'POST', headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' }, body: JSON.stringify({ title: 'Pseudonyms' }),
    });
    const { talk: { code } } = (await created.json()) as { talk: { code: string } };
    const devices = [freshDevice('secret-one'), freshDevice('secret-two'), freshDevice('secret-three')];
    const speakers = await Promise.all(devices.map((device, i) => joinTalk(i % 2 === 0 ? a : b, code, device)));
    for (const [i, speaker] of speakers.entries()) expect((await speaker.settled([speaker.position(10 * (i + 1))]))[0]!.kind).toBe('ack');
    // A fourth device only watches: it sends no feedback, so no attendee object is ever written for it.
    const silentDevice = freshDevice('secret-silent');
    await joinTalk(b, code, silentDevice);

    const talk = JSON.parse((await store.read('talk', code))!.body) as TalkState;
    const pseudonyms = devices.map((device) => devicePseudonym(talk.secret!, device));
    expect(talk.positions).toEqual(Object.fromEntries(pseudonyms.map((p, i) => [p, 10 * (i + 1)])));
    // The attendee objects appear under pseudonyms (written every 200 ms here), for the three that spoke only.
    await expect.poll(async () => {
      const listed = await get(`/api/storage?type=attendee&prefix=${code}.&limit=100`);
      return (listed.body.items as Array<{ id: string }>).map((item) => item.id).sort();
    }, { timeout: timing.eventMs }).toEqual(pseudonyms.map((p) => `${code}.${p}`).sort());

    const everything = [
      JSON.stringify(talk),
      (await get(`/api/talks/${code}`)).text,
      (await get(`/api/talks/${code}/export`)).text,
      (await get(`/api/talks/${code}/export?format=csv`)).text,
      (await get('/api/objects?limit=1000')).text,
      (await get(`/api/storage?type=attendee&prefix=${code}.&limit=100`)).text,
      (await get(`/api/events?limit=1000`)).text,
    ].join('\n');
    for (const device of [...devices, silentDevice]) expect(everything).not.toContain(device);
    for (const pseudonym of pseudonyms) expect(everything).toContain(pseudonym);
  });

  it('one address introduces new devices at a bounded pace; a device it introduced comes back any time', async () => {
    const [a] = cluster.nodes as [NodeProcess];
    const created = await fetch(`${api.url}/api/talks`, {
      method: 'POST', headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' }, body: JSON.stringify({ title: 'Crowd' }),
    });
    const { talk: { code } } = (await created.json()) as { talk: { code: string } };
    const address = freshAddress();
    const devices = Array.from({ length: NEW_DEVICES_BURST }, (_, i) => freshDevice(`crowd-${i}`));
    for (const device of devices) await (await joinTalk(a, code, device, address)).close();
    // One more new device from the same address: refused before the upgrade, with when to try again.
    const refused = await Participant.open(a.audienceUrl!, code, freshDevice('one-too-many'), address).then(
      () => ({ status: 0 }),
      (err: Error) => ({ status: Number(/refused with (\d+)/.exec(err.message)?.[1]) }),
    );
    expect(refused.status).toBe(429);
    // A device it introduced reconnects; another address introduces its own.
    expect((await joinTalk(a, code, devices[0]!, address)).welcome.code).toBe(code);
    expect((await joinTalk(a, code, freshDevice('elsewhere'), freshAddress())).welcome.code).toBe(code);
    const metrics = await (await fetch(`${a.address.replace(/^ws/, 'http')}/metrics`, { headers: { authorization: `Bearer ${NODE_TOKEN}` } })).text();
    expect(metrics).toMatch(/highlander_audience_rejections_total\{reason="too-many-devices"\} 1/);
  });
});
