import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { TalkSnapshot, TalkState } from '@highlander/audience';
import { CURATED_EMOJI, devicePseudonym } from '@highlander/audience';
import { S3StateStore } from '@highlander/runtime';
import { ZkSession } from '@highlander/runtime/zookeeper';
import { Cluster, startAdminApiProcess, uniqueRoot, type ClusterConfig, type NodeProcess } from '../../scripts/cluster.js';
import { ownersInZooKeeper } from '../harness/lock-tree.js';
import { s3Config, zookeeperConnect } from '../harness/servers.js';
import { TEST_OBJECTS } from '../harness/test-objects.js';
import { hold, timing } from '../harness/timing.js';
import { Participant, freshAddress, freshDevice } from './participant.js';

/**
 * Audience feedback end to end on real parts: ZooKeeper, radosgw, three node processes each with an
 * audience gateway, the admin API as its own process, and ws participants (each from its own
 * loopback address) connected to different nodes. What a participant is acknowledged is in the
 * talk, read through another node and from S3 — also after the talk's owner is killed with -9.
 */

const NODE_TOKEN = 'node-admin-token-audience';
const OPERATOR = 'operator-token-audience';
const VIEWER = 'viewer-token-audience';
const MAX_PER_ADDRESS = 12;

let zk: ZkSession;
let cluster: Cluster;
let config: ClusterConfig;
let store: S3StateStore;
let auditDir: string;
let api: { child: ChildProcess; url: string };
const participants: Participant[] = [];

function startApi(): Promise<{ child: ChildProcess; url: string }> {
  return startAdminApiProcess(config, {
    tokens: `operator:otto:${OPERATOR},viewer:vera:${VIEWER}`, auditLog: join(auditDir, 'audit.jsonl'), env: { HIGHLANDER_LOG_LEVEL: 'warn' },
  });
}

async function http(method: 'GET' | 'POST', path: string, options: { token?: string | null; body?: unknown } = {}): Promise<{ status: number; body: any; headers: Headers; text: string }> {
  const token = options.token === undefined ? OPERATOR : options.token;
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body, headers: response.headers, text };
}

async function createTalk(title: string): Promise<{ code: string; joinUrl: string | null }> {
  const created = await http('POST', '/api/talks', { body: { title } });
  expect(created.status).toBe(200);
  return { code: created.body.talk.code, joinUrl: created.body.joinUrl };
}

async function snapshot(code: string): Promise<TalkSnapshot> {
  const res = await http('GET', `/api/talks/${code}`, { token: VIEWER });
  expect(res.status).toBe(200);
  return res.body.talk;
}

async function joinRoom(node: NodeProcess, code: string, label: string, address?: string): Promise<Participant> {
  const participant = await Participant.join(node.audienceUrl!, code, freshDevice(label), address);
  participants.push(participant);
  return participant;
}

async function nodeMetrics(node: NodeProcess): Promise<string> {
  const response = await fetch(`${node.address.replace(/^ws/, 'http')}/metrics`, { headers: { authorization: `Bearer ${NODE_TOKEN}` } });
  expect(response.status).toBe(200);
  return response.text();
}

/** A ws connection the gateway must refuse before the upgrade: its status and JSON body. */
function refusedUpgrade(url: string, localAddress: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { localAddress });
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    ws.once('open', () => reject(new Error(`${url} was accepted`)));
    ws.on('error', () => {});
  });
}

function counter(metrics: string, name: string, labels: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

async function storedTalk(code: string): Promise<TalkState> {
  const stored = await store.read('talk', code);
  return JSON.parse(stored!.body) as TalkState;
}

beforeAll(async () => {
  zk = await ZkSession.open({ connect: zookeeperConnect() });
  auditDir = await mkdtemp(join(tmpdir(), 'highlander-audience-'));
  config = {
    zookeeper: zookeeperConnect(), s3: s3Config(), root: uniqueRoot('audience'), sessionTimeoutMs: timing.sessionTimeoutMs,
    objectsModule: TEST_OBJECTS, clusterSecret: NODE_TOKEN,
    nodeEnv: {
      HIGHLANDER_AUDIENCE_PORT: '0',
      HIGHLANDER_AUDIENCE_MAX_CONNECTIONS_PER_ADDRESS: String(MAX_PER_ADDRESS),
      HIGHLANDER_AUDIENCE_ATTENDEE_WRITE_INTERVAL_MS: '500',
    },
  };
  const s3 = config.s3;
  store = new S3StateStore({
    bucket: s3.bucket, prefix: `${config.root.slice(1)}/objects/`, endpoint: s3.endpoint, region: s3.region,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  cluster = await Cluster.start(config, 3);
  api = await startApi();
});

afterAll(async () => {
  for (const p of participants) p.ws.terminate();
  if (api) {
    const exited = new Promise((r) => api.child.once('exit', r));
    api.child.kill('SIGTERM');
    await exited;
  }
  await cluster?.stop();
  await store?.close();
  zk?.close();
  await rm(auditDir, { recursive: true, force: true });
});

describe('audience feedback on a live cluster', () => {
  it('every node runs a gateway that serves the audience page, its assets, healthz, and nothing administrative', async () => {
    const [a] = cluster.nodes as [NodeProcess];
    for (const node of cluster.nodes) expect(node.audienceUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${a.audienceUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', node: 'node-a' });
    const page = await fetch(`${a.audienceUrl}/a/abcde`);
    // Built by the dashboard (a second Vite entry); until then the gateway says so.
    expect([200, 503]).toContain(page.status);
    if (page.status === 503) expect(await page.text()).toMatch(/npm run build:dashboard/);
    else expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect((await fetch(`${a.audienceUrl}/a/not-a-code`)).status).toBe(404);
    for (const path of ['/api/summary', '/api/talks', '/admin/activations', '/admin/metrics', '/metrics', '/api/stream', '/assets/../../package.json', '/assets/%2e%2e%2fpackage.json']) {
      expect((await fetch(`${a.audienceUrl}${path}`, { headers: { authorization: `Bearer ${NODE_TOKEN}` } })).status, path).toBe(404);
    }
    expect((await fetch(`${a.audienceUrl}/a/ABCDE`, { method: 'POST' })).status).toBe(405);
  });

  it('positions from participants on three nodes make the average exactly; a returning device gets its position back', async () => {
    const [a, b, c] = cluster.nodes as [NodeProcess, NodeProcess, NodeProcess];
    const { code, joinUrl } = await createTalk('There can be only one');
    expect(joinUrl).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/a/${code}$`));
    const people = await Promise.all([a, a, b, b, c, c].map((node, i) => joinRoom(node, code, `avg${i}`)));
    for (const p of people) expect(p.welcome).toMatchObject({ kind: 'welcome', code, title: 'There can be only one', status: 'open', position: null, emoji: CURATED_EMOJI, round: 0 });
    expect(people[0]!.welcome.limits).toMatchObject({ emojiBurst: 5, emojiPerSecond: 1, maxMessageBytes: 2048, questionBurst: 2, maxQuestionLength: 280 });
    const values = [0, 20, 40, 60, 80, 100];
    // Each moves the slider a few times: only the last position of each device counts.
    const refs = people.map((p, i) => [p.position(50), p.position(Math.abs(values[i]! - 1)), p.position(values[i]!)]);
    for (const [i, p] of people.entries()) expect((await p.settled(refs[i]!)).map((o) => o.kind)).toEqual(['ack', 'ack', 'ack']);
    let view = await snapshot(code);
    expect(view).toMatchObject({ participants: 6, average: 50 });
    expect(view.histogram).toEqual([1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    // The connected counts follow the gateways' heartbeats.
    view = await vi.waitFor(async () => {
      const v = await snapshot(code);
      expect(v.connected).toBe(6);
      return v;
    }, { timeout: timing.eventMs, interval: timing.pollMs });
    expect(view.gateways.map((g) => [g.name, g.connected])).toEqual([['node-a', 2], ['node-b', 2], ['node-c', 2]]);
    // Everyone is told the room's size.
    const room = await people[5]!.next((m) => m.kind === 'room' && m.participants === 6);
    expect(room).toMatchObject({ status: 'open', round: 0 });

    // The first device reloads its page, on another node this time: its position is the talk's.
    const first = people[0]!;
    await first.close();
    const again = await Participant.join(c.audienceUrl!, code, first.device);
    participants.push(again);
    expect(again.welcome.position).toBe(0);
    expect((await again.settled([again.position(30)]))[0]!.kind).toBe('ack');
    view = await snapshot(code);
    expect(view.average).toBe(55);
    expect(view.participants).toBe(6);

    // S3 has the same: the talk's positions are the truth.
    const stored = await storedTalk(code);
    expect(Object.values(stored.positions).sort((x, y) => x - y)).toEqual([20, 30, 40, 60, 80, 100]);
    // The talk knows each device by its pseudonym only (a keyed hash of the device id).
    const firstPseudonym = devicePseudonym(stored.secret!, first.device);
    expect(stored.positions[firstPseudonym]).toBe(30);
    // The attendee objects follow lazily (every 500 ms here).
    await expect.poll(() => b.get<{ talk: string; position: number | null }>('attendee', `${code}.${firstPseudonym}`), { timeout: timing.eventMs, interval: timing.pollMs })
      .toMatchObject({ talk: code, position: 30 });
  });

  it('refuses what breaks the rules, clearly and counted: rate limits, non-curated emoji, bad input, oversize, too many connections', async () => {
    const [a, b] = cluster.nodes as [NodeProcess, NodeProcess];
    const { code } = await createTalk('Limits');
    const before = await nodeMetrics(a);
    const p = await joinRoom(a, code, 'limits');

    // Emoji: a burst of 5, then 1 per second.
    const refs = Array.from({ length: 7 }, (_, i) => p.emoji(CURATED_EMOJI[i % CURATED_EMOJI.length]!));
    const outcomes = await p.settled(refs);
    expect(outcomes.slice(0, 5).map((o) => o.kind)).toEqual(['ack', 'ack', 'ack', 'ack', 'ack']);
    for (const o of outcomes.slice(5)) {
      expect(o).toMatchObject({ kind: 'rejected', reason: 'rate-limited' });
      expect(o.message).toMatch(/at most 5 emoji at once, then 1 per second/);
      expect(o.retryAfterMs).toBeGreaterThan(0);
    }
    const [notCurated] = await p.settled([p.emoji('💩')]);
    expect(notCurated).toMatchObject({ kind: 'rejected', reason: 'not-curated' });
    expect(notCurated!.message).toContain('👏');
    const [badValue] = await p.settled([p.position(101)]);
    expect(badValue).toMatchObject({ kind: 'rejected', reason: 'malformed' });
    expect(badValue!.message).toMatch(/from 0 .* to 100/);
    p.send('{"kind":"wave","ref":"w1"}');
    expect((await p.settled(['w1']))[0]).toMatchObject({ reason: 'malformed' });

    // More than 20 messages in a second: the rest are refused (the latest position still counts).
    const burst = Array.from({ length: 30 }, (_, i) => p.position(i));
    const burstOutcomes = await p.settled(burst);
    expect(burstOutcomes.filter((o) => o.reason === 'rate-limited').length).toBeGreaterThanOrEqual(10);

    // Per address: devices sharing one address share a bucket of 25 emoji.
    const shared = freshAddress();
    const crowd = await Promise.all(Array.from({ length: 6 }, (_, i) => joinRoom(a, code, `crowd${i}`, shared)));
    const crowdOutcomes = (await Promise.all(crowd.map((q) => q.settled(Array.from({ length: 5 }, () => q.emoji('🎉')))))).flat();
    const network = crowdOutcomes.filter((o) => o.kind === 'rejected');
    expect(crowdOutcomes.filter((o) => o.kind === 'ack').length).toBeLessThanOrEqual(25 + 5);
    expect(network.length).toBeGreaterThan(0);
    expect(network[0]!.message).toMatch(/too many emoji from your network/);

    // Oversized: closed with 1009 and a reason naming the limit.
    const big = await joinRoom(a, code, 'big');
    big.send({ kind: 'position', value: 1, ref: 'x', padding: 'y'.repeat(2100) });
    const closed = await big.closed;
    expect(closed.code).toBe(1009);
    expect(closed.reason).toMatch(/at most 2048 bytes/);
    expect(big.messages.find((m) => m.kind === 'rejected')).toMatchObject({ reason: 'too-large' });

    // Too many connections from one address: 429 before the upgrade, with a JSON body.
    const address = freshAddress();
    const many = await Promise.all(Array.from({ length: MAX_PER_ADDRESS }, (_, i) => Participant.open(b.audienceUrl!, code, freshDevice(`many${i}`), address)));
    participants.push(...many);
    const refused = await refusedUpgrade(`${b.audienceUrl!.replace('http', 'ws')}/audience/ws?code=${code}&device=${freshDevice('one-too-many')}`, address);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: 'too-many-connections' });
    expect(refused.body.error.message).toMatch(/at most 12 connections from one address/);
    // A malformed request is refused before the upgrade too.
    const malformed = await refusedUpgrade(`${b.audienceUrl!.replace('http', 'ws')}/audience/ws?code=AB&device=x`, freshAddress());
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.message).toMatch(/code must be a room code/);

    // A code no talk has: told, then closed with 4404.
    const nobody = await Participant.open(a.audienceUrl!, 'ZZZZZZ', freshDevice('nobody'));
    participants.push(nobody);
    expect(await nobody.next((m) => m.kind === 'rejected')).toMatchObject({ reason: 'talk-not-found' });
    expect((await nobody.closed).code).toBe(4404);

    // Every refusal is counted by reason, on the node's admin port (never the public one).
    const after = await nodeMetrics(a);
    const delta = (reason: string) => counter(after, 'highlander_audience_rejections_total', `reason="${reason}"`) - counter(before, 'highlander_audience_rejections_total', `reason="${reason}"`);
    expect(delta('rate-limited')).toBeGreaterThanOrEqual(2 + 10 + network.length);
    expect(delta('not-curated')).toBe(1);
    expect(delta('malformed')).toBeGreaterThanOrEqual(2);
    expect(delta('too-large')).toBe(1);
    expect(delta('talk-not-found')).toBe(1);
    const bMetrics = await nodeMetrics(b);
    expect(counter(bMetrics, 'highlander_audience_rejections_total', 'reason="too-many-connections"')).toBeGreaterThanOrEqual(1);
    expect(counter(after, 'highlander_audience_batches_total', 'result="applied"')).toBeGreaterThan(0);
    expect(after).toContain('highlander_audience_batch_apply_seconds_bucket');
    for (const q of many) q.ws.terminate();
  });

  it('the presenter creates, opens, closes, resets and exports a talk through the admin API, audited, and follows it live on the stream', async () => {
    const [a, b] = cluster.nodes as [NodeProcess, NodeProcess];
    const { code } = await createTalk('Presenter');
    // A viewer may read but not act.
    expect((await http('POST', `/api/talks/${code}/close`, { token: VIEWER, body: {} })).status).toBe(403);
    expect((await http('GET', '/api/talks/ZZZZ9', { token: VIEWER })).status).toBe(404);
    expect((await http('GET', '/api/talks/lower', { token: VIEWER })).status).toBe(400);
    expect((await http('POST', '/api/talks', { body: { title: '' } })).status).toBe(400);

    // The live feed.
    const stream = new WebSocket(`${api.url.replace('http', 'ws')}/api/stream`, ['highlander.v1', `bearer.${VIEWER}`]);
    const feed: any[] = [];
    stream.on('message', (data) => feed.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => {
      stream.once('open', resolve);
      stream.once('error', reject);
    });
    stream.send(JSON.stringify({ subscribe: 'talk', code }));
    /** The first message of the feed that passes `test`, once there is one. */
    const fromFeed = (test: (m: any) => boolean) => expect.poll(() => feed.find(test), { timeout: timing.eventMs });
    await fromFeed((m) => m.kind === 'snapshot' && m.scope === 'talk').toMatchObject({ code, talk: { title: 'Presenter', status: 'open' } });

    const p = await joinRoom(a, code, 'presenter-a');
    const q = await joinRoom(b, code, 'presenter-b');
    await p.settled([p.emoji('🎉'), p.emoji('🔥'), p.position(90)]);
    await q.settled([q.emoji('🎉'), q.position(70)]);
    await fromFeed((m) => m.kind === 'delta' && m.scope === 'talk' && m.talk.totals['🎉'] === 2 && m.talk.average === 80).toBeDefined();
    const seen = feed.filter((m) => m.kind === 'delta').flatMap((m) => m.reactions.map((r: { emoji: string }) => r.emoji));
    expect(seen.sort()).toEqual(['🎉', '🎉', '🔥']);

    // Closed: feedback is refused, clearly; opened again: it counts.
    const closed = await http('POST', `/api/talks/${code}/close`, { body: {} });
    expect(closed.status).toBe(200);
    expect(closed.body.talk.status).toBe('closed');
    await p.next((m) => m.kind === 'room' && m.status === 'closed');
    const [refused] = await p.settled([p.emoji('👏')]);
    expect(refused).toMatchObject({ kind: 'rejected', reason: 'closed' });
    expect(refused!.message).toMatch(/closed/);
    expect((await snapshot(code)).totals['👏']).toBeUndefined();
    expect((await http('POST', `/api/talks/${code}/open`, { body: {} })).body.talk.status).toBe('open');
    await p.next((m) => m.kind === 'room' && m.status === 'open' && p.messages.indexOf(m) > p.messages.findIndex((x) => x.kind === 'room' && x.status === 'closed'));
    expect((await p.settled([p.emoji('👏')]))[0]!.kind).toBe('ack');

    // Export: JSON with positions, reactions, timeline and cluster events; CSV of the timeline.
    const json = await http('GET', `/api/talks/${code}/export?format=json`, { token: VIEWER });
    expect(json.status).toBe(200);
    expect(json.headers.get('content-disposition')).toMatch(new RegExp(`attachment; filename="?talk-${code}-.*\\.json"?`));
    expect(json.body).toMatchObject({ code, title: 'Presenter', participants: 2, average: 80, totals: { '🎉': 2, '🔥': 1, '👏': 1 } });
    expect(Object.values(json.body.positions).sort()).toEqual([70, 90]);
    expect(json.body.reactions).toHaveLength(4);
    expect(json.body.timeline.length).toBeGreaterThan(0);
    expect(Array.isArray(json.body.events)).toBe(true);
    const csv = await http('GET', `/api/talks/${code}/export?format=csv`, { token: VIEWER });
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    expect(csv.text.split('\n')[0]).toBe('time,average,participants,connected,reactions');
    expect(csv.text.split('\n').length).toBeGreaterThan(2);

    // Reset: a new round, nothing counted; the participants and the presenter are told.
    const reset = await http('POST', `/api/talks/${code}/reset`, { body: {} });
    expect(reset.body.talk).toMatchObject({ round: 1, participants: 0, average: null, totals: {} });
    await q.next((m) => m.kind === 'room' && m.round === 1);
    await fromFeed((m) => m.kind === 'snapshot' && m.scope === 'talk' && m.talk.round === 1).toBeDefined();
    stream.close();

    // Listed, and every action is in the audit log with who did it.
    const list = await http('GET', '/api/talks', { token: VIEWER });
    expect(list.body.items.map((t: { code: string }) => t.code)).toContain(code);
    const audit = await http('GET', '/api/audit?limit=100', { token: VIEWER });
    const mine = audit.body.items.filter((r: { target: { talk?: string } }) => r.target.talk === code).map((r: { action: string; who: { name: string } }) => `${r.action}:${r.who.name}`);
    expect(mine).toEqual(expect.arrayContaining(['talk.create:otto', 'talk.close:otto', 'talk.open:otto', 'talk.reset:otto']));
    expect(audit.body.items.some((r: { action: string; result: string; who: { name: string } }) => r.action === 'talk.close' && r.who.name === 'vera' && r.result === 'error')).toBe(true);
  });

  it('applies a retried batch once: a gateway that did not learn the outcome sends it again, nothing is counted twice', async () => {
    const [a, b] = cluster.nodes as [NodeProcess, NodeProcess];
    const { code } = await createTalk('Idempotent');
    const batch = { gateway: 'test-gateway', seq: 42, positions: { 'retried-participant-01': 64 }, reactions: [{ emoji: '🎉', at: Date.now() }, { emoji: '🙌', at: Date.now() }], connected: 1 };
    expect(await a.call('talk', code, 'apply', batch)).toMatchObject({ applied: true, duplicate: false });
    expect(await b.call('talk', code, 'apply', batch)).toMatchObject({ applied: true, duplicate: true });
    const view = await snapshot(code);
    expect(view.totals).toEqual({ '🎉': 1, '🙌': 1 });
    expect(view.reactions).toHaveLength(2);
  });

  it('kill -9 of the node that owns the talk while participants keep sending: every acknowledged emoji and the latest positions are in the talk', async () => {
    const { code } = await createTalk('Survivor');
    const owner = (await ownersInZooKeeper(zk, config.root)).get(`talk/${code}`);
    expect(owner).toBeDefined();
    const victim = cluster.node(owner!);
    const survivors = cluster.nodes.filter((n) => n !== victim);
    const crowd = await Promise.all(Array.from({ length: 8 }, (_, i) => joinRoom(survivors[i % 2]!, code, `survivor${i}`)));
    const sent = new Map<Participant, { emoji: Array<{ ref: string; emoji: string }>; positions: Array<{ ref: string; value: number }> }>();
    for (const p of crowd) sent.set(p, { emoji: [], positions: [] });
    let running = true;
    let tick = 0;
    const load = (async () => {
      while (running) {
        tick++;
        for (const [i, p] of crowd.entries()) {
          const mine = sent.get(p)!;
          const value = (tick * 7 + i * 13) % 101;
          mine.positions.push({ ref: p.position(value), value });
          const emoji = CURATED_EMOJI[(tick + i) % CURATED_EMOJI.length]!;
          mine.emoji.push({ ref: p.emoji(emoji), emoji });
        }
        await hold(timing.emojiSpacingMs); // within 1 emoji per second per device
      }
    })();
    try {
      await hold(timing.audienceLoadMs);
      victim.kill('SIGKILL');
      await victim.exited();
      // Keep sending through the failover (the dead owner's session expires, another node activates the talk).
      await hold(timing.audienceFailoverLoadMs);
    } finally {
      running = false;
      await load;
    }

    // Every message gets its outcome: the gateways retried their batches until the talk took them.
    const acked = new Map<string, number>();
    const lastPosition = new Map<string, number>();
    for (const [p, mine] of sent) {
      const emojiOutcomes = await p.settled(mine.emoji.map((e) => e.ref), timing.failoverMs);
      const positionOutcomes = await p.settled(mine.positions.map((e) => e.ref), timing.failoverMs);
      expect(emojiOutcomes.filter((o) => o.kind !== 'ack')).toEqual([]);
      expect(positionOutcomes.filter((o) => o.kind !== 'ack')).toEqual([]);
      for (const e of mine.emoji) acked.set(e.emoji, (acked.get(e.emoji) ?? 0) + 1);
      lastPosition.set(p.device, mine.positions.at(-1)!.value);
    }
    const ackedTotal = [...acked.values()].reduce((x, y) => x + y, 0);
    expect(ackedTotal).toBeGreaterThan(8 * 5);

    // Through another node: exactly the acknowledged emoji (none lost, none twice) and each device's last position.
    const reader = survivors[0]!;
    const view = await reader.call<TalkSnapshot>('talk', code, 'snapshot', {}, timing.failoverMs);
    expect(view.totals).toEqual(Object.fromEntries(acked));
    const stored = await storedTalk(code);
    const lastByParticipant = Object.fromEntries([...lastPosition].map(([device, value]) => [devicePseudonym(stored.secret!, device), value]));
    const exported = await reader.call<{ positions: Record<string, number> }>('talk', code, 'export', null);
    expect(exported.positions).toEqual(lastByParticipant);
    // And in S3.
    expect(stored.reactions.totals).toEqual(Object.fromEntries(acked));
    expect(stored.positions).toEqual(lastByParticipant);
    const newOwner = (await ownersInZooKeeper(zk, config.root)).get(`talk/${code}`);
    expect(survivors.map((n) => n.name)).toContain(newOwner);
    // The surviving gateways report their participants; the dead one's count ages out.
    await expect.poll(async () => (await snapshot(code)).connected, { timeout: timing.eventMs, interval: timing.pollMs }).toBe(8);
  });
});
