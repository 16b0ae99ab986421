import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QnaExport, QnaState, TalkState } from '@highlander/audience';
import { devicePseudonym } from '@highlander/audience';
import { S3StateStore } from '@highlander/runtime';
import { ZkSession } from '@highlander/runtime/zookeeper';
import { Cluster, startAdminApiProcess, uniqueRoot, type ClusterConfig, type NodeProcess } from '../../scripts/cluster.js';
import { ownersInZooKeeper } from '../harness/lock-tree.js';
import { s3Config, zookeeperConnect } from '../harness/servers.js';
import { TEST_OBJECTS } from '../harness/test-objects.js';
import { hold, timing } from '../harness/timing.js';
import { Participant, freshDevice } from './participant.js';

/**
 * Audience Q&A end to end on real parts: ZooKeeper, radosgw, three node processes each with an
 * audience gateway, the admin API as its own process, and ws participants on different nodes. They
 * ask and vote through the gateways; each sees the others' questions and votes; the presenter
 * moderates through the admin API; and `kill -9` of the node owning the talk's `qna` object loses no
 * acknowledged question or vote (read through another node and from S3).
 */

const NODE_TOKEN = 'node-admin-token-qna';
const OPERATOR = 'operator-token-qna';
const VIEWER = 'viewer-token-qna';

let zk: ZkSession;
let cluster: Cluster;
let config: ClusterConfig;
let store: S3StateStore;
let auditDir: string;
let api: { child: ChildProcess; url: string };
const participants: Participant[] = [];

async function http(method: 'GET' | 'POST', path: string, options: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: any; text: string }> {
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${options.token ?? OPERATOR}`, ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text };
}

async function createTalk(title: string): Promise<string> {
  const created = await http('POST', '/api/talks', { body: { title } });
  expect(created.status).toBe(200);
  return created.body.talk.code as string;
}

async function enter(node: NodeProcess, code: string, label: string): Promise<Participant> {
  const participant = await Participant.join(node.audienceUrl!, code, freshDevice(label));
  participants.push(participant);
  return participant;
}

/** The questions a participant holds now, from the `questions` messages it got: id → votes, in the order a phone shows them. */
function seen(p: Participant): Array<[string, number]> {
  const questions = new Map<number, { text: string; votes: number }>();
  for (const m of p.messages) {
    if (m.kind !== 'questions') continue;
    if (m.full) questions.clear();
    for (const q of m.questions) questions.set(q.id, { text: q.text, votes: q.votes });
    for (const id of m.removed) questions.delete(id);
  }
  return [...questions.values()].sort((a, b) => b.votes - a.votes).map((q) => [q.text, q.votes]);
}

let nextRef = 0;
function ask(p: Participant, text: string): string {
  const ref = `q${nextRef++}`;
  p.send({ kind: 'ask', text, ref });
  return ref;
}
function vote(p: Participant, question: number, up = true): string {
  const ref = `v${nextRef++}`;
  p.send({ kind: 'vote', question, up, ref });
  return ref;
}

async function asked(p: Participant, text: string): Promise<number> {
  const ref = ask(p, text);
  const [outcome] = await p.settled([ref]);
  expect(outcome).toEqual({ kind: 'ack' });
  return (p.messages.find((m) => m.kind === 'ack' && m.ref === ref) as { question: { id: number } }).question.id;
}

beforeAll(async () => {
  zk = await ZkSession.open({ connect: zookeeperConnect() });
  auditDir = await mkdtemp(join(tmpdir(), 'highlander-qna-'));
  config = {
    zookeeper: zookeeperConnect(), s3: s3Config(), root: uniqueRoot('qna'), sessionTimeoutMs: timing.sessionTimeoutMs,
    objectsModule: TEST_OBJECTS, clusterSecret: NODE_TOKEN,
    nodeEnv: {
      HIGHLANDER_AUDIENCE_PORT: '0',
      // The kill test's participants ask and vote faster than a person would.
      HIGHLANDER_AUDIENCE_QUESTION_BURST: '40',
      HIGHLANDER_AUDIENCE_VOTE_BURST: '80',
    },
  };
  const s3 = config.s3;
  store = new S3StateStore({
    bucket: s3.bucket, prefix: `${config.root.slice(1)}/objects/`, endpoint: s3.endpoint, region: s3.region,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  cluster = await Cluster.start(config, 3);
  api = await startAdminApiProcess(config, {
    tokens: `operator:otto:${OPERATOR},viewer:vera:${VIEWER}`, auditLog: join(auditDir, 'audit.jsonl'), env: { HIGHLANDER_LOG_LEVEL: 'warn' },
  });
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

describe('audience Q&A on a live cluster', () => {
  it('phones on different nodes ask and vote; each sees the others’ questions and the order change; limits are explained', async () => {
    const [a, b, c] = cluster.nodes as [NodeProcess, NodeProcess, NodeProcess];
    const code = await createTalk('Questions');
    const [ann, bob, cat] = await Promise.all([enter(a, code, 'ann'), enter(b, code, 'bob'), enter(c, code, 'cat')]);
    expect(ann.welcome.limits).toMatchObject({ questionBurst: 40, maxQuestionLength: 280 });
    await ann.next((m) => m.kind === 'questions' && m.full);
    const first = await asked(ann, 'How does fencing work?');
    const second = await asked(bob, '<script>alert(1)</script> Is this shown as text?');
    await expect.poll(() => seen(cat), { timeout: timing.eventMs }).toEqual([['How does fencing work?', 0], ['<script>alert(1)</script> Is this shown as text?', 0]]);
    // Two votes for the second question (one of them sent twice: counted once) put it first on every phone.
    expect(await cat.settled([vote(cat, second), vote(cat, second), vote(ann, second)].slice(0, 2))).toEqual([{ kind: 'ack' }, { kind: 'ack' }]);
    for (const p of [ann, bob, cat]) {
      await expect.poll(() => seen(p), { timeout: timing.eventMs }).toEqual([['<script>alert(1)</script> Is this shown as text?', 2], ['How does fencing work?', 0]]);
    }
    // Taking a vote back.
    await cat.settled([vote(cat, second, false)]);
    await expect.poll(() => seen(bob)[0], { timeout: timing.eventMs }).toEqual(['<script>alert(1)</script> Is this shown as text?', 1]);
    // A device that comes back gets every question and its own votes and questions.
    const again = await Participant.join(a.audienceUrl!, code, ann.device);
    participants.push(again);
    const full = await again.next((m) => m.kind === 'questions' && m.full);
    expect(full.mine).toEqual({ voted: [second], asked: [{ id: first, text: 'How does fencing work?', status: 'open' }] });

    // Refusals, each with a reason and a message a person understands; nothing written.
    const tooLong = ask(bob, 'x'.repeat(281));
    const tooShort = ask(bob, ' a ');
    const gone = vote(bob, 999);
    const [long, short, missing] = await bob.settled([tooLong, tooShort, gone]);
    expect(long).toMatchObject({ kind: 'rejected', reason: 'question-length', message: 'a question is 3 to 280 characters' });
    expect(short).toMatchObject({ kind: 'rejected', reason: 'question-length' });
    expect(missing).toMatchObject({ kind: 'rejected', reason: 'question-gone', message: 'that question is no longer shown' });
    bob.send({ kind: 'vote', question: 'first', up: true, ref: 'bad' });
    expect((await bob.settled(['bad']))[0]).toMatchObject({ kind: 'rejected', reason: 'malformed', message: expect.stringMatching(/"question"/) });
    const view = await http('GET', `/api/talks/${code}/questions`, { token: VIEWER });
    expect(view.body.questions).toHaveLength(2);
  });

  it('the presenter moderates through the admin API: hiding takes a question off every phone; approval holds new ones back; exports and audit', async () => {
    const [a, b] = cluster.nodes as [NodeProcess, NodeProcess];
    const code = await createTalk('Moderated');
    const [dan, eve] = await Promise.all([enter(a, code, 'dan'), enter(b, code, 'eve')]);
    const rude = await asked(dan, 'A rude question');
    const fine = await asked(eve, 'A fine question, with "quotes", commas and =SUM(A1)');
    await expect.poll(() => seen(eve).length, { timeout: timing.eventMs }).toBe(2);

    const hidden = await http('POST', `/api/talks/${code}/questions/moderate`, { body: { question: rude, action: 'hide' } });
    expect(hidden.status).toBe(200);
    expect(hidden.body.questions.find((q: { id: number }) => q.id === rude).status).toBe('hidden');
    for (const p of [dan, eve]) await expect.poll(() => seen(p).map(([text]) => text), { timeout: timing.eventMs }).toEqual(['A fine question, with "quotes", commas and =SUM(A1)']);
    // Voting for it now is refused as gone.
    expect((await dan.settled([vote(dan, rude)]))[0]).toMatchObject({ kind: 'rejected', reason: 'question-gone' });

    expect((await http('POST', `/api/talks/${code}/questions/moderate`, { body: { question: fine, action: 'screen' } })).body.onScreen).toBe(fine);
    await dan.next((m) => m.kind === 'questions' && m.onScreen === fine);
    expect((await http('POST', `/api/talks/${code}/questions/settings`, { body: { approval: true } })).body.approval).toBe(true);
    const waiting = ask(dan, 'Waiting for approval?');
    await dan.settled([waiting]);
    const pendingId = (dan.messages.find((m) => m.kind === 'ack' && m.ref === waiting) as { question: { id: number; status: string } }).question;
    expect(pendingId.status).toBe('pending');
    const presenter = await http('GET', `/api/talks/${code}/questions`, { token: VIEWER });
    expect(presenter.body.questions.map((q: { status: string }) => q.status)).toEqual(['hidden', 'open', 'pending']);
    // A later change reaches the phones (answered), and the pending question is not with it.
    await http('POST', `/api/talks/${code}/questions/moderate`, { body: { question: fine, action: 'answer' } });
    await eve.next((m) => m.kind === 'questions' && m.questions.some((q: { id: number; status: string }) => q.id === fine && q.status === 'answered'));
    expect(seen(eve).map(([text]) => text)).not.toContain('Waiting for approval?');
    await http('POST', `/api/talks/${code}/questions/moderate`, { body: { question: pendingId.id, action: 'approve' } });
    await expect.poll(() => seen(eve).map(([text]) => text), { timeout: timing.eventMs }).toContain('Waiting for approval?');

    // Bad requests get a clear 4xx naming the field; a viewer may not moderate.
    expect((await http('POST', `/api/talks/${code}/questions/moderate`, { body: { question: 999, action: 'hide' } })).body.error.code).toBe('QUESTION_NOT_FOUND');
    const invalid = await http('POST', `/api/talks/${code}/questions/moderate`, { body: { question: fine, action: 'delete' } });
    expect(invalid.status).toBe(400);
    expect(invalid.text).toMatch(/action/);
    expect((await http('POST', `/api/talks/${code}/questions/moderate`, { token: VIEWER, body: { question: fine, action: 'hide' } })).status).toBe(403);
    expect((await http('GET', '/api/talks/ZZZZZ/questions')).status).toBe(404);

    const json = await http('GET', `/api/talks/${code}/export`);
    expect(json.body.qna.questions.map((q: { text: string; status: string }) => [q.text, q.status])).toEqual([
      ['A rude question', 'hidden'], ['A fine question, with "quotes", commas and =SUM(A1)', 'answered'], ['Waiting for approval?', 'open'],
    ]);
    const csv = await http('GET', `/api/talks/${code}/export?format=csv&table=questions`);
    expect(csv.text.split('\n')[0]).toBe('id,asked,status,votes,on_screen,text');
    expect(csv.text).toContain(`,answered,0,true,"A fine question, with ""quotes"", commas and =SUM(A1)"`);
    const audit = await http('GET', '/api/audit');
    expect(audit.body.items.filter((r: { action: string }) => r.action === 'talk.moderate').length).toBeGreaterThanOrEqual(3);
    expect(audit.body.items.find((r: { action: string }) => r.action === 'talk.settings').params).toEqual({ approval: true });
  });

  it('kill -9 of the node that owns the talk’s Q&A while phones keep asking and voting: every acknowledged question and vote is there', async () => {
    const code = await createTalk('Survivors ask');
    const starter = await enter(cluster.nodes[0]!, code, 'starter');
    const seed = await asked(starter, 'The first question of the crowd');
    const owner = (await ownersInZooKeeper(zk, config.root)).get(`qna/${code}`);
    expect(owner).toBeDefined();
    const victim = cluster.node(owner!);
    const survivors = cluster.nodes.filter((n) => n !== victim);
    const crowd = await Promise.all(Array.from({ length: 6 }, (_, i) => enter(survivors[i % 2]!, code, `asker${i}`)));
    const questions: Array<{ p: Participant; ref: string; text: string }> = [];
    const votes: Array<{ p: Participant; ref: string; question: number; up: boolean }> = [];
    let running = true;
    let tick = 0;
    const load = (async () => {
      while (running) {
        tick++;
        for (const [i, p] of crowd.entries()) {
          const text = `Question ${tick} from asker ${i}`;
          if (tick % 3 === i % 3) questions.push({ p, ref: ask(p, text), text });
          // Votes for the seed question, toggled every tick: the last one acknowledged is what counts.
          const up = (tick + i) % 2 === 0;
          votes.push({ p, ref: vote(p, seed, up), question: seed, up });
        }
        await hold(timing.emojiSpacingMs);
      }
    })();
    try {
      await hold(timing.audienceLoadMs);
      victim.kill('SIGKILL');
      await victim.exited();
      await hold(timing.audienceFailoverLoadMs);
    } finally {
      running = false;
      await load;
    }

    // Every message gets its outcome: the gateways retried their batches until the object took them.
    for (const p of crowd) {
      const outcomes = await p.settled([...questions.filter((q) => q.p === p).map((q) => q.ref), ...votes.filter((v) => v.p === p).map((v) => v.ref)], timing.failoverMs);
      expect(outcomes.filter((o) => o.kind !== 'ack')).toEqual([]);
    }
    expect(questions.length).toBeGreaterThan(6);
    const talk = JSON.parse((await store.read('talk', code))!.body) as TalkState;
    const expectedVoters = crowd.filter((p) => votes.filter((v) => v.p === p).at(-1)!.up).map((p) => devicePseudonym(talk.secret!, p.device)).sort();
    const expectedTexts = ['The first question of the crowd', ...questions.map((q) => q.text)].sort();

    // Through another node: each acknowledged question once, and the seed's voters as their last votes left them.
    const exported = await survivors[0]!.call<QnaExport>('qna', code, 'export', null, timing.failoverMs);
    expect(exported.questions.map((q) => q.text).sort()).toEqual(expectedTexts);
    expect([...exported.questions.find((q) => q.id === seed)!.voters].sort()).toEqual(expectedVoters);
    // And in S3.
    const stored = JSON.parse((await store.read('qna', code))!.body) as QnaState;
    expect(stored.questions.map((q) => q.text).sort()).toEqual(expectedTexts);
    expect(stored.questions.find((q) => q.id === seed)!.voters.map((i) => stored.participants[i]).sort()).toEqual(expectedVoters);
    const newOwner = (await ownersInZooKeeper(zk, config.root)).get(`qna/${code}`);
    expect(survivors.map((n) => n.name)).toContain(newOwner);
  });
});
