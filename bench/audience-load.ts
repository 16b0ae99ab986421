/**
 * The audience load generator (forked with `--import tsx` by bench/audience.ts): N ws participants
 * in one process, driven by its parent over IPC. Each participant connects from a loopback address
 * of its own group (127.0.x.y, `perAddress` participants per address, so the gateways' per-address
 * limits apply as they would to a crowd), moves its slider once a second and sends an emoji every
 * ten seconds, each at its own phase, and records the outcome of every message.
 *
 * Two targets: `audience` (the gateways' `/audience/ws`, outcomes are acks and rejections) and
 * `echo` (a bare ws echo server, the raw baseline: the same clients, messages and rates; the
 * outcome is the echo). Exits when its parent goes away.
 */
import WebSocket from 'ws';
import { CURATED_EMOJI } from '@highlander/audience';
import { percentiles, type Percentiles } from './latency.js';

export interface ConnectRequest {
  cmd: 'connect';
  mode: 'audience' | 'echo';
  /** Gateway base URLs (`http://…`, participants spread round-robin) or the echo server's `ws://…` URL. */
  urls: string[];
  code: string;
  participants: number;
  perAddress: number;
  /** Distinguishes devices of successive runs. */
  label: string;
}

export interface RunRequest {
  cmd: 'run';
  durationMs: number;
  positionEveryMs: number;
  emojiEveryMs: number;
  /** Audience Q&A: questions asked per minute over the whole room (by random participants). @default 0 */
  questionsPerMinute?: number;
  /** Votes per second over the whole room, for random questions acknowledged so far. @default 0 */
  votesPerSecond?: number;
  /** After the window: how long to wait for the outcomes of messages still in flight. */
  settleMs: number;
}

export type LoadRequest = ConnectRequest | RunRequest | { cmd: 'disconnect' };

export interface ConnectResult {
  connected: number;
  failed: number;
  /** The first failures' reasons. */
  failures: string[];
  ms: number;
}

export interface RunResult {
  durationMs: number;
  sent: { positions: number; emoji: number };
  acked: { positions: number; emoji: number };
  rejected: Record<string, number>;
  /** Messages with no outcome after the settle time. */
  unresolved: number;
  /** Connections closed during the run (not by us). */
  unexpectedCloses: number;
  /** Send → ack (audience) or send → echo (echo), in ms. */
  latency: Percentiles;
  /** The same per second of the window (by send time): where the tail comes from. */
  perSecond: Array<{ second: number; p99: number; max: number }>;
  /** Audience: wall-clock send times (Date.now()) of the emoji that were acknowledged, ascending. */
  ackedEmojiSendTimes: number[];
  /** Q&A: questions and votes sent and acknowledged; each acknowledged question's id and wall-clock send time. */
  qna: { asked: number; votes: number; ackedVotes: number; ackedQuestions: Array<{ id: number; wallAt: number }>; ackLatency: Percentiles };
  ackedEmoji: Record<string, number>;
  /** Audience: device → the last position it sent, for devices whose last position was acknowledged. */
  lastPositions: Record<string, number>;
}

interface Pending {
  sentAt: number;
  wallAt: number;
  kind: 'position' | 'emoji' | 'question' | 'vote';
  emoji?: string;
  value?: number;
}

class Client {
  ws: WebSocket | undefined;
  readonly pending = new Map<string, Pending>();
  /** Echo mode: send times in order (echoes come back in order). */
  readonly echoes: number[] = [];
  position = Math.floor(Math.random() * 101);
  lastSent: { ref: string; value: number } | undefined;
  lastAcked: number | undefined;
  nextRef = 0;
  closedByUs = false;

  constructor(readonly device: string, readonly address: string) {}
}

const send = (message: unknown) => process.send?.(message);
process.on('disconnect', () => process.exit(0));

let mode: 'audience' | 'echo' = 'audience';
let clients: Client[] = [];
let run: RunState | undefined;

interface RunState {
  latencies: number[];
  startedAt: number;
  bySecond: number[][];
  sent: { positions: number; emoji: number };
  acked: { positions: number; emoji: number };
  rejected: Record<string, number>;
  ackedEmojiSendTimes: number[];
  ackedEmoji: Record<string, number>;
  qna: { asked: number; votes: number; ackedVotes: number; ackedQuestions: Array<{ id: number; wallAt: number }>; latencies: number[] };
  unexpectedCloses: number;
}

process.on('message', (message: LoadRequest & { rid: number }) => {
  handle(message).then(
    (result) => send({ rid: message.rid, result }),
    (err: unknown) => send({ rid: message.rid, error: (err as Error)?.stack ?? String(err) }),
  );
});

async function handle(request: LoadRequest): Promise<unknown> {
  switch (request.cmd) {
    case 'connect':
      return connect(request);
    case 'run':
      return runLoad(request);
    case 'disconnect':
      return disconnect();
  }
}

async function connect(request: ConnectRequest): Promise<ConnectResult> {
  const started = performance.now();
  mode = request.mode;
  clients = Array.from({ length: request.participants }, (_, i) => {
    const group = Math.floor(i / request.perAddress);
    const address = `127.${1 + Math.floor(group / 62_500)}.${Math.floor(group / 250) % 250}.${1 + (group % 250)}`;
    return new Client(`${request.label}-${String(i).padStart(8, '0')}-${Math.random().toString(36).slice(2, 8)}`.padEnd(16, '_'), address);
  });
  let failed = 0;
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < clients.length; i = next++) {
      const client = clients[i]!;
      const base = request.urls[i % request.urls.length]!;
      const url = mode === 'echo' ? base : `${base.replace(/^http/, 'ws')}/audience/ws?code=${request.code}&device=${client.device}`;
      try {
        await open(client, url);
      } catch (err) {
        failed++;
        if (failures.length < 5) failures.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  return { connected: clients.length - failed, failed, failures, ms: performance.now() - started };
}

function open(client: Client, url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { localAddress: client.address, perMessageDeflate: false, handshakeTimeout: 30_000 });
    client.ws = ws;
    const timer = setTimeout(() => reject(new Error('no welcome within 60 s')), 60_000);
    ws.on('message', (data) => {
      if (mode === 'echo') {
        const sentAt = client.echoes.shift();
        if (sentAt !== undefined && run) record(run, sentAt);
        return;
      }
      const message = JSON.parse(String(data)) as { kind: string; ref?: string; reason?: string; question?: { id: number } };
      if (message.kind === 'welcome') {
        clearTimeout(timer);
        resolve();
        return;
      }
      if (message.kind === 'ack' || message.kind === 'rejected') onOutcome(client, message);
    });
    ws.once('open', () => {
      if (mode === 'echo') {
        clearTimeout(timer);
        resolve();
      }
    });
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      reject(new Error(`refused with HTTP ${res.statusCode}`));
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.once('close', () => {
      if (!client.closedByUs && run) run.unexpectedCloses++;
    });
  });
}

function onOutcome(client: Client, message: { kind: string; ref?: string; reason?: string; question?: { id: number } }): void {
  if (!message.ref) return;
  const pending = client.pending.get(message.ref);
  if (!pending) return;
  client.pending.delete(message.ref);
  if (!run) return;
  if (message.kind === 'ack' && (pending.kind === 'question' || pending.kind === 'vote')) {
    run.qna.latencies.push(performance.now() - pending.sentAt);
    if (pending.kind === 'vote') run.qna.ackedVotes++;
    else if (message.question) {
      run.qna.ackedQuestions.push({ id: message.question.id, wallAt: pending.wallAt });
      knownQuestions.push(message.question.id);
    }
    return;
  }
  if (message.kind === 'ack') {
    record(run, pending.sentAt);
    if (pending.kind === 'emoji') {
      run.acked.emoji++;
      run.ackedEmojiSendTimes.push(pending.wallAt);
      run.ackedEmoji[pending.emoji!] = (run.ackedEmoji[pending.emoji!] ?? 0) + 1;
    } else {
      run.acked.positions++;
      if (client.lastSent?.ref === message.ref) client.lastAcked = pending.value;
    }
  } else {
    const reason = message.reason ?? 'unknown';
    run.rejected[reason] = (run.rejected[reason] ?? 0) + 1;
  }
}

async function runLoad(request: RunRequest): Promise<RunResult> {
  const state: RunState = {
    latencies: [], startedAt: performance.now(), bySecond: [], sent: { positions: 0, emoji: 0 }, acked: { positions: 0, emoji: 0 }, rejected: {}, ackedEmojiSendTimes: [], ackedEmoji: {}, unexpectedCloses: 0,
    qna: { asked: 0, votes: 0, ackedVotes: 0, ackedQuestions: [], latencies: [] },
  };
  knownQuestions = [];
  const questionsPerTick = mode === 'audience' ? ((request.questionsPerMinute ?? 0) / 60_000) * 20 : 0;
  const votesPerTick = mode === 'audience' ? ((request.votesPerSecond ?? 0) / 1000) * 20 : 0;
  let questionsDue = 0;
  let votesDue = 0;
  run = state;
  for (const client of clients) {
    client.lastSent = undefined;
    client.lastAcked = undefined;
  }
  const tickMs = 20;
  const positionSlots = Math.max(1, Math.round(request.positionEveryMs / tickMs));
  const emojiSlots = Math.max(1, Math.round(request.emojiEveryMs / tickMs));
  // Each client's phase: spread evenly over the period.
  const positionBySlot: Client[][] = Array.from({ length: positionSlots }, () => []);
  const emojiBySlot: Client[][] = Array.from({ length: emojiSlots }, () => []);
  for (const [i, client] of clients.entries()) {
    positionBySlot[i % positionSlots]!.push(client);
    emojiBySlot[(i * 7919) % emojiSlots]!.push(client);
  }
  const started = performance.now();
  let tick = 0;
  while (performance.now() - started < request.durationMs) {
    const due = Math.floor((performance.now() - started) / tickMs);
    for (; tick <= due; tick++) {
      for (const client of positionBySlot[tick % positionSlots]!) sendPosition(client, state);
      for (const client of emojiBySlot[tick % emojiSlots]!) sendEmoji(client, state, tick);
      questionsDue += questionsPerTick;
      votesDue += votesPerTick;
      for (; questionsDue >= 1; questionsDue--) sendQna(randomClient(), state, { kind: 'ask', text: `Bench question ${state.qna.asked + 1}: how does it scale?` });
      for (; votesDue >= 1 && knownQuestions.length > 0; votesDue--) {
        sendQna(randomClient(), state, { kind: 'vote', question: knownQuestions[Math.floor(Math.random() * knownQuestions.length)]!, up: true });
      }
    }
    await new Promise((resolve) => setTimeout(resolve, tickMs));
  }
  const durationMs = performance.now() - started;
  const settleDeadline = performance.now() + request.settleMs;
  while (performance.now() < settleDeadline && outstanding() > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  run = undefined;
  const lastPositions: Record<string, number> = {};
  for (const client of clients) if (client.lastAcked !== undefined) lastPositions[client.device] = client.lastAcked;
  state.ackedEmojiSendTimes.sort((a, b) => a - b);
  return {
    durationMs,
    sent: state.sent,
    acked: state.acked,
    rejected: state.rejected,
    unresolved: outstanding(),
    unexpectedCloses: state.unexpectedCloses,
    latency: percentiles(state.latencies),
    perSecond: state.bySecond.map((values, second) => ({ second, ...percentiles(values ?? []) })).filter((s) => s.count > 0).map(({ second, p99, max }) => ({ second, p99, max })),
    ackedEmojiSendTimes: state.ackedEmojiSendTimes,
    ackedEmoji: state.ackedEmoji,
    qna: { asked: state.qna.asked, votes: state.qna.votes, ackedVotes: state.qna.ackedVotes, ackedQuestions: state.qna.ackedQuestions, ackLatency: percentiles(state.qna.latencies) },
    lastPositions,
  };
}

function record(state: RunState, sentAt: number): void {
  const latency = performance.now() - sentAt;
  state.latencies.push(latency);
  (state.bySecond[Math.floor((sentAt - state.startedAt) / 1000)] ??= []).push(latency);
}

function outstanding(): number {
  let n = 0;
  for (const client of clients) n += mode === 'echo' ? client.echoes.length : client.pending.size;
  return n;
}

function sendPosition(client: Client, state: RunState): void {
  const ws = client.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  client.position = Math.max(0, Math.min(100, client.position + Math.round((Math.random() - 0.5) * 20)));
  const ref = `p${client.nextRef++}`;
  const text = JSON.stringify({ kind: 'position', value: client.position, ref });
  transmit(client, ref, text, { kind: 'position', value: client.position });
  if (mode === 'audience') client.lastSent = { ref, value: client.position };
  state.sent.positions++;
}

function sendEmoji(client: Client, state: RunState, tick: number): void {
  const ws = client.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  const emoji = CURATED_EMOJI[tick % CURATED_EMOJI.length]!;
  const ref = `e${client.nextRef++}`;
  transmit(client, ref, JSON.stringify({ kind: 'emoji', emoji, ref }), { kind: 'emoji', emoji });
  state.sent.emoji++;
}

/** Question ids acknowledged in this run (votes go to them). */
let knownQuestions: number[] = [];

function randomClient(): Client {
  return clients[Math.floor(Math.random() * clients.length)]!;
}

function sendQna(client: Client | undefined, state: RunState, message: { kind: 'ask'; text: string } | { kind: 'vote'; question: number; up: boolean }): void {
  const ws = client?.ws;
  if (!client || !ws || ws.readyState !== WebSocket.OPEN) return;
  const ref = `${message.kind === 'ask' ? 'q' : 'v'}${client.nextRef++}`;
  transmit(client, ref, JSON.stringify({ ...message, ref }), { kind: message.kind === 'ask' ? 'question' : 'vote' });
  if (message.kind === 'ask') state.qna.asked++;
  else state.qna.votes++;
}

function transmit(client: Client, ref: string, text: string, what: Omit<Pending, 'sentAt' | 'wallAt'>): void {
  const now = performance.now();
  if (mode === 'echo') client.echoes.push(now);
  else client.pending.set(ref, { sentAt: now, wallAt: Date.now(), ...what });
  client.ws!.send(text);
}

async function disconnect(): Promise<{ closed: number }> {
  const closing = clients.map((client) => new Promise<void>((resolve) => {
    const ws = client.ws;
    client.closedByUs = true;
    if (!ws || ws.readyState === WebSocket.CLOSED) return resolve();
    const timer = setTimeout(() => {
      ws.terminate();
      resolve();
    }, 5000);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.close();
  }));
  await Promise.all(closing);
  const closed = clients.length;
  clients = [];
  return { closed };
}
