import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { NodeProcess } from '../scripts/cluster.js';
import { AdminProcess } from './admin-process.js';
import type { ConnectRequest, ConnectResult, LoadRequest, RunRequest, RunResult } from './audience-load.js';
import { BENCH_OBJECTS } from './bench-objects.js';
import type { Benchmark } from './benchmark.js';
import { trackChild } from './child-processes.js';
import { percentiles, type Percentiles } from './latency.js';
import { ProcessSampler, type ProcessUsage, type WatchedProcess } from './proc-stats.js';
import { formatMiB, formatNumber, formatSeconds } from './stats.js';

/**
 * Audience feedback under load: 3 node processes, each with an audience gateway, the admin API as
 * its own process, and a load generator process (bench/audience-load.ts) with N ws participants on
 * loopback spread over the three gateways (20 per loopback address, so the default per-address
 * limits apply as to a crowd), each moving its slider once a second and sending an emoji every
 * 10 s. A presenter here follows the talk on the admin API's stream (`talk` scope).
 *
 * Figure: the presenter's p99 latency from an emoji's send time (in the load generator) to the
 * presenter seeing it counted. The talk's totals only grow, and every acknowledged emoji is counted
 * once, so the k-th acknowledged emoji sent is matched with the first presenter message whose total
 * reaches k (the aggregates travel in the same messages). Also reported: send → ack (durable in the
 * talk) at the participants, gateway → presenter from each reaction's timestamp, accepted emoji vs
 * the talk's totals at the end (must be equal: no accepted feedback lost), every device's last
 * acknowledged position vs the talk's, and CPU (/proc/<pid>/stat) and RSS of every process.
 *
 * Baseline, in the same run: a bare ws echo server in its own process with the same N clients and
 * message rates, p99 round trip. Then the degradation steps (`--audience-steps`, each
 * `--audience-step-seconds` long): where p99 crosses 500 ms or feedback is refused or lost.
 *
 * Audience Q&A rides along: random participants ask `--audience-questions-per-100-per-minute` (1)
 * questions per 100 people per minute and vote `--audience-votes-per-second` (1) times a second
 * for questions asked so far; reported: question sent → acknowledged, and question sent → first seen
 * on the presenter's stream (the talk's `qna` deltas), p50/p99.
 *
 *   npm run bench -- --only audience [--audience-participants 5000] [--audience-seconds 60]
 *                    [--audience-steps 1000,2500,5000,7500] [--audience-step-seconds 20]
 */

const settings = {
  participants: readInteger('audience-participants', 5000),
  seconds: readInteger('audience-seconds', 60),
  steps: readList('audience-steps', [1000, 2500, 5000, 7500]),
  stepSeconds: readInteger('audience-step-seconds', 20),
  /** Audience Q&A: 1 question per 100 people per minute, and votes at 1/s, over the room. */
  questionsPerHundred: readInteger('audience-questions-per-100-per-minute', 1),
  votesPerSecond: readInteger('audience-votes-per-second', 1),
};

const TARGET_P99_MS = 500;
const PER_ADDRESS = 20;
const POSITION_EVERY_MS = 1000;
const EMOJI_EVERY_MS = 10_000;
const SETTLE_MS = 20_000;
const LOAD = fileURLToPath(new URL('./audience-load.ts', import.meta.url));
const ECHO_SERVER = fileURLToPath(new URL('./echo-server.ts', import.meta.url));

export const audience: Benchmark = {
  name: 'audience',
  title: () => `presenter p99 from emoji sent to seen, ${formatNumber(settings.participants)} ws participants (slider 1/s, emoji 1/10 s) for ${settings.seconds} s`,
  unit: 'ms',
  baselineTitle: 'bare ws echo server in its own process, the same clients and message rates: p99 round trip',
  baselineUnit: 'ms',
  target: { of: 'figure', comparison: '<=', value: TARGET_P99_MS, label: `≤ ${TARGET_P99_MS} ms p99, no accepted feedback lost` },
  once: true,

  async setup(context) {
    const { servers, log } = context;
    const root = context.uniqueRoot('audience');
    const clusterSecret = randomBytes(16).toString('hex');
    const closers: Array<() => Promise<void>> = [];
    const close = async () => {
      for (const closer of closers.reverse()) await closer().catch((err) => log(`  cleanup: ${(err as Error).message}`));
    };
    try {
      const nodes = ['node-a', 'node-b', 'node-c'].map((name) => new NodeProcess(name, {
        zookeeper: servers.zookeeper, s3: servers.s3, root, sessionTimeoutMs: 10_000, callTimeoutMs: 30_000, objectsModule: BENCH_OBJECTS, clusterSecret,
        nodeEnv: { HIGHLANDER_AUDIENCE_PORT: '0', HIGHLANDER_AUDIENCE_MAX_CONNECTIONS: '20000', ...(process.env.BENCH_AUDIENCE_NODE_ENV ? JSON.parse(process.env.BENCH_AUDIENCE_NODE_ENV) as Record<string, string> : {}) },
      }));
      for (const node of nodes) {
        const untrack = trackChild(node);
        closers.push(async () => {
          await node.stop();
          untrack();
        });
      }
      await Promise.all(nodes.map((n) => n.start()));
      const admin = await AdminProcess.start({ servers, root, env: { HIGHLANDER_CLUSTER_SECRET: clusterSecret } });
      closers.push(() => admin.stop());
      const load = await LoadGenerator.start();
      closers.push(() => load.stop());
      const echo = await EchoServer.start();
      closers.push(() => echo.stop());
      const presenter = await Presenter.connect(admin.wsUrl, admin.token);
      closers.push(async () => presenter.close());
      const gateways = nodes.map((n) => n.audienceUrl!);
      log(`    3 nodes with gateways (${gateways.join(', ')}), admin API ${admin.url}, load generator pid ${load.pid}, echo server pid ${echo.pid}`);

      const processes = (extra: WatchedProcess[]): WatchedProcess[] => [
        ...nodes.map((n) => ({ name: n.name, pid: n.pid })),
        { name: 'admin-api', pid: admin.pid },
        { name: 'load generator', pid: load.pid },
        { name: 'bench (presenter)', pid: process.pid },
        ...(servers.processes ?? []),
        ...extra,
      ];
      const createTalk = async (title: string): Promise<string> => {
        const response = await fetch(`${admin.url}/api/talks`, {
          method: 'POST', headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ title }),
        });
        const body = await response.json() as { talk?: { code: string } };
        if (!response.ok || !body.talk) throw new Error(`POST /api/talks: ${response.status} ${JSON.stringify(body)}`);
        return body.talk.code;
      };

      /** One audience run: a fresh talk, N participants, the window, the outcome. */
      const audienceRun = async (participants: number, seconds: number, label: string) => {
        const code = await createTalk(`bench ${label}`);
        await presenter.watch(code);
        const connected = await load.connect({ cmd: 'connect', mode: 'audience', urls: gateways, code, participants, perAddress: PER_ADDRESS, label });
        if (connected.failed > 0) log(`    ${connected.failed} of ${participants} participants could not connect: ${connected.failures.join('; ')}`);
        const sampler = await ProcessSampler.start(processes([]));
        const usage = sampleFor(sampler, seconds * 1000);
        const result = await load.run({
          cmd: 'run', durationMs: seconds * 1000, positionEveryMs: POSITION_EVERY_MS, emojiEveryMs: EMOJI_EVERY_MS, settleMs: SETTLE_MS,
          questionsPerMinute: (participants / 100) * settings.questionsPerHundred, votesPerSecond: settings.votesPerSecond,
        });
        await presenter.waitForTotal(result.acked.emoji, 15_000);
        await presenter.waitForQuestions(result.qna.ackedQuestions.map((q) => q.id), 15_000);
        const questionSeen = result.qna.ackedQuestions.filter((q) => presenter.questionSeen.has(q.id)).map((q) => presenter.questionSeen.get(q.id)! - q.wallAt);
        const exported = await admin.get<{ totals: Record<string, number>; positions: Record<string, number> }>(`/api/talks/${code}/export?format=json`);
        await load.disconnect();
        const counted = Object.values(exported.totals).reduce((a, b) => a + b, 0);
        const emojiMismatch = Object.entries(result.ackedEmoji).filter(([e, n]) => exported.totals[e] !== n).length
          + Object.keys(exported.totals).filter((e) => !(e in result.ackedEmoji)).length;
        // The talk keys positions by pseudonym (a keyed hash the load generator cannot compute), so compare the values as
        // multisets: every last acknowledged position must be in the talk once, and nothing else.
        const positionMismatch = multisetMisses(Object.values(result.lastPositions), Object.values(exported.positions));
        const seen = fifoLatencies(result.ackedEmojiSendTimes, presenter.totals);
        const gatewayStats = await gatewayMetrics(nodes, clusterSecret);
        return {
          code, connected, result, usage: await usage, counted, emojiMismatch, positionMismatch, gatewayStats,
          presenter: percentiles(seen), gatewayToPresenter: percentiles(presenter.reactionDelays),
          questions: { seen: percentiles(questionSeen), unseen: result.qna.ackedQuestions.length - questionSeen.length },
          refused: connected.failed + Object.values(result.rejected).reduce((a, b) => a + b, 0) + result.unresolved,
        };
      };

      return {
        async measure() {
          // Baseline: the bare ws echo, same clients and rates.
          const echoConnected = await load.connect({ cmd: 'connect', mode: 'echo', urls: [echo.url], code: '', participants: settings.participants, perAddress: PER_ADDRESS, label: 'echo' });
          const echoSampler = await ProcessSampler.start([{ name: 'echo server', pid: echo.pid }, { name: 'load generator', pid: load.pid }]);
          const echoUsage = sampleFor(echoSampler, settings.seconds * 1000);
          const echoResult = await load.run({ cmd: 'run', durationMs: settings.seconds * 1000, positionEveryMs: POSITION_EVERY_MS, emojiEveryMs: EMOJI_EVERY_MS, settleMs: 5000 });
          await load.disconnect();
          log(`    baseline: ${formatNumber(echoConnected.connected)} echo clients, round trip ${describe(echoResult.latency)}`);

          const main = await audienceRun(settings.participants, settings.seconds, 'main');
          const { result } = main;
          const lost = result.acked.emoji - main.counted;
          const details = [
            `${formatNumber(main.connected.connected)} participants connected in ${formatSeconds(main.connected.ms)} (${main.connected.failed} failed); talk ${main.code}`,
            `sent ${formatNumber(result.sent.positions / (result.durationMs / 1000))} positions/s and ${formatNumber(result.sent.emoji / (result.durationMs / 1000))} emoji/s; ` +
              `acked ${formatNumber(result.acked.positions)} positions, ${formatNumber(result.acked.emoji)} emoji; refused ${main.refused} ${JSON.stringify(result.rejected)}; ` +
              `unresolved ${result.unresolved}; connections lost ${result.unexpectedCloses}`,
            `no accepted feedback lost: acked emoji ${formatNumber(result.acked.emoji)} vs the talk's totals ${formatNumber(main.counted)} → ${lost === 0 && main.emojiMismatch === 0 ? 'EQUAL' : `DIFFERENT (${lost} lost, ${main.emojiMismatch} emoji differ)`}; ` +
              `last acked positions matching the talk: ${formatNumber(Object.keys(result.lastPositions).length - main.positionMismatch)} of ${formatNumber(Object.keys(result.lastPositions).length)}`,
            `presenter, emoji sent → seen counted: ${describe(main.presenter)}; gateway accepted → presenter saw: ${describe(main.gatewayToPresenter)}`,
            `participant, sent → ack (durable in the talk): ${describe(result.latency)}; baseline echo round trip: ${describe(echoResult.latency)}`,
            `Q&A: ${formatNumber(result.qna.asked)} questions asked, ${formatNumber(result.qna.ackedQuestions.length)} acknowledged; ${formatNumber(result.qna.votes)} votes, ${formatNumber(result.qna.ackedVotes)} acknowledged; ` +
              `question sent → ack: ${describe(result.qna.ackLatency)}; question sent → on the presenter's stream: ${describe(main.questions.seen)}` +
              `${main.questions.unseen > 0 ? ` (${main.questions.unseen} acknowledged questions never reached the presenter)` : ''}`,
            `gateways (3 nodes, since start): ${main.gatewayStats}`,
            `slowest seconds of the window (ack p99 by send second): ${[...result.perSecond].sort((a, b) => b.p99 - a.p99).slice(0, 5).map((s) => `${s.second}s: ${formatNumber(s.p99)} ms`).join(', ')}`,
            ...usageTable(main.usage, 'audience run'),
            ...usageTable(await echoUsage, 'echo baseline').slice(1),
          ];

          // Degradation: where p99 crosses the target, or feedback is refused or lost.
          const steps: string[] = ['degradation steps (participants: presenter p99 | ack p99 | refused | lost | CPU nodes/admin/loadgen/zk+ceph | slowest seconds by ack p99):'];
          let degradedAt: number | undefined;
          for (const count of settings.steps) {
            const step = await audienceRun(count, settings.stepSeconds, `step${count}`);
            const stepLost = step.result.acked.emoji - step.counted;
            const cpu = (match: (u: ProcessUsage) => boolean) => formatNumber(step.usage.filter(match).reduce((a, u) => a + u.cpuPercent, 0));
            const serverNames = new Set((servers.processes ?? []).map((p) => p.pid));
            steps.push(`  ${formatNumber(count)}: ${formatNumber(step.presenter.p99)} ms | ${formatNumber(step.result.latency.p99)} ms | ${step.refused} | ${stepLost} | ` +
              `${cpu((u) => u.name.startsWith('node-'))}% / ${cpu((u) => u.name === 'admin-api')}% / ${cpu((u) => u.name === 'load generator')}% / ${cpu((u) => serverNames.has(u.pid))}% | ` +
              `slowest seconds: ${[...step.result.perSecond].sort((a, b) => b.p99 - a.p99).slice(0, 3).map((x) => `${x.second}s ${formatNumber(x.p99)} ms`).join(', ')}`);
            const degraded = !(step.presenter.p99 <= TARGET_P99_MS) || step.refused > 0 || stepLost !== 0 || step.emojiMismatch > 0;
            if (degraded && degradedAt === undefined) degradedAt = count;
          }
          steps.push(degradedAt === undefined
            ? `  no step degraded (p99 ≤ ${TARGET_P99_MS} ms, nothing refused or lost up to ${formatNumber(settings.steps.at(-1) ?? 0)} participants)`
            : `  degrades at ${formatNumber(degradedAt)} participants (first step with p99 > ${TARGET_P99_MS} ms, or feedback refused or lost)`);

          const figure = lost === 0 && main.emojiMismatch === 0 ? main.presenter.p99 : Number.POSITIVE_INFINITY;
          return { figure, baseline: echoResult.latency.p99, details: [...details, ...steps] };
        },
        close,
      };
    } catch (err) {
      await close();
      throw err;
    }
  },
};

/** What the gateways' metrics say (on each node's admin port): apply calls, their mean time, attendee writes. */
async function gatewayMetrics(nodes: NodeProcess[], token: string): Promise<string> {
  const sum = { applies: 0, applySeconds: 0, retried: 0, attendeeOk: 0, attendeeFailed: 0 };
  for (const node of nodes) {
    const response = await fetch(`${node.address.replace(/^ws/, 'http')}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    const text = await response.text();
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}"|]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    sum.applies += value('highlander_audience_batch_apply_seconds_count');
    sum.applySeconds += value('highlander_audience_batch_apply_seconds_sum');
    sum.retried += value('highlander_audience_batches_total{result="retried"}');
    sum.attendeeOk += value('highlander_audience_attendee_writes_total{result="ok"}');
    sum.attendeeFailed += value('highlander_audience_attendee_writes_total{result="failed"}');
  }
  return `${formatNumber(sum.applies)} apply calls (mean ${formatNumber((sum.applySeconds / Math.max(1, sum.applies)) * 1000)} ms), ${sum.retried} retried; ` +
    `${formatNumber(sum.attendeeOk)} attendee writes (${sum.attendeeFailed} failed)`;
}

/** The k-th acknowledged emoji sent, matched with the first presenter message whose total reaches k. */
function fifoLatencies(sendTimes: readonly number[], totals: ReadonlyArray<{ at: number; total: number }>): number[] {
  const latencies: number[] = [];
  let r = 0;
  for (let k = 1; k <= sendTimes.length; k++) {
    while (r < totals.length && totals[r]!.total < k) r++;
    if (r >= totals.length) break;
    latencies.push(totals[r]!.at - sendTimes[k - 1]!);
  }
  return latencies;
}

function sampleFor(sampler: ProcessSampler, ms: number): Promise<ProcessUsage[]> {
  return new Promise((resolve, reject) => setTimeout(() => sampler.stop().then(resolve, reject), ms));
}

function describe(p: Percentiles): string {
  return `p50 ${formatNumber(p.p50)} ms, p99 ${formatNumber(p.p99)} ms, max ${formatNumber(p.max)} ms (${formatNumber(p.count)} samples)`;
}

function usageTable(usage: ProcessUsage[], label: string): string[] {
  return [
    'process | pid | CPU (% of a core) | RSS | peak RSS | window',
    ...usage.map((u) => `${u.name} | ${u.pid} | ${formatNumber(u.cpuPercent)}% | ${formatMiB(u.rssBytes)} | ${formatMiB(u.peakRssBytes)} | ${label}`),
  ];
}

/** The load generator process, driven over IPC. */
class LoadGenerator {
  #nextRid = 1;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly child: ChildProcess, private readonly untrack: () => void) {
    child.on('message', (message: { rid: number; result?: unknown; error?: string }) => {
      const pending = this.#pending.get(message.rid);
      if (!pending) return;
      this.#pending.delete(message.rid);
      if (message.error !== undefined) pending.reject(new Error(`load generator: ${message.error}`));
      else pending.resolve(message.result);
    });
    child.once('exit', (code) => {
      for (const pending of this.#pending.values()) pending.reject(new Error(`the load generator exited (${code})`));
      this.#pending.clear();
    });
  }

  static async start(): Promise<LoadGenerator> {
    const child = fork(LOAD, [], { execArgv: ['--conditions=@highlander/source', '--import', 'tsx', '--max-old-space-size=2048'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const untrack = trackChild(child);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', reject);
    });
    return new LoadGenerator(child, untrack);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  connect(request: ConnectRequest): Promise<ConnectResult> {
    return this.#request(request) as Promise<ConnectResult>;
  }

  run(request: RunRequest): Promise<RunResult> {
    return this.#request(request) as Promise<RunResult>;
  }

  disconnect(): Promise<unknown> {
    return this.#request({ cmd: 'disconnect' });
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) resolve();
      else this.child.once('exit', () => resolve());
    });
    this.child.disconnect();
    await exited;
    this.untrack();
  }

  #request(request: LoadRequest): Promise<unknown> {
    const rid = this.#nextRid++;
    return new Promise((resolve, reject) => {
      this.#pending.set(rid, { resolve, reject });
      this.child.send({ ...request, rid });
    });
  }
}

/** bench/echo-server.ts in its own process. */
class EchoServer {
  private constructor(private readonly child: ChildProcess, private readonly untrack: () => void, readonly url: string) {}

  static async start(): Promise<EchoServer> {
    const child = fork(ECHO_SERVER, [], { execArgv: ['--conditions=@highlander/source', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const untrack = trackChild(child);
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (message: { port: number }) => resolve(message.port));
      child.once('exit', (code) => reject(new Error(`echo server exited with ${code} before listening`)));
    });
    return new EchoServer(child, untrack, `ws://127.0.0.1:${port}/`);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) resolve();
      else this.child.once('exit', () => resolve());
    });
    this.child.disconnect();
    await exited;
    this.untrack();
  }
}

/** The presenter: the admin API's stream, `talk` scope, recording when each total was seen. */
class Presenter {
  /** Wall-clock time and the talk's total reactions, per message. */
  totals: Array<{ at: number; total: number }> = [];
  /** Per reaction seen: now − its `at` (the gateway's acceptance time). */
  reactionDelays: number[] = [];
  /** Question id → the wall-clock time it first reached the presenter. */
  questionSeen = new Map<number, number>();
  #code = '';
  #snapshot: (() => void) | undefined;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const now = Date.now();
      const message = JSON.parse(String(data)) as {
        kind: string; scope?: string; code?: string; talk?: { totals: Record<string, number> }; reactions?: Array<{ at: number }>; qna?: { questions: Array<{ id: number }> };
      };
      if (message.scope !== 'talk' || message.code !== this.#code || !message.talk) return;
      for (const q of message.qna?.questions ?? []) if (!this.questionSeen.has(q.id)) this.questionSeen.set(q.id, now);
      const total = Object.values(message.talk.totals).reduce((a, b) => a + b, 0);
      this.totals.push({ at: now, total });
      if (message.kind === 'delta') for (const r of message.reactions ?? []) this.reactionDelays.push(now - r.at);
      if (message.kind === 'snapshot') this.#snapshot?.();
    });
  }

  static async connect(wsUrl: string, token: string): Promise<Presenter> {
    const ws = new WebSocket(wsUrl, ['highlander.v1', `bearer.${token}`], { perMessageDeflate: false });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new Presenter(ws);
  }

  /** Follows `code` from now on (its snapshot has arrived when this resolves). */
  watch(code: string): Promise<void> {
    this.#code = code;
    this.totals = [];
    this.reactionDelays = [];
    this.questionSeen = new Map();
    const snapshot = new Promise<void>((resolve) => (this.#snapshot = resolve));
    this.ws.send(JSON.stringify({ subscribe: 'talk', code }));
    return snapshot;
  }

  async waitForTotal(total: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.totals.at(-1)?.total ?? 0) < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  async waitForQuestions(ids: number[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (ids.some((id) => !this.questionSeen.has(id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  close(): void {
    this.ws.close();
  }
}

function readInteger(name: string, fallback: number): number {
  const value = flag(name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bench: --${name} must be a positive integer (got '${value}')`);
    process.exit(2);
  }
  return n;
}

function readList(name: string, fallback: number[]): number[] {
  const value = flag(name);
  if (value === undefined) return fallback;
  const list = value.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1)) {
    console.error(`bench: --${name} must be positive integers separated by commas (got '${value}')`);
    process.exit(2);
  }
  return list;
}

function flag(name: string): string | undefined {
  const argv = process.argv;
  let value: string | undefined;
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === `--${name}`) value = argv[i + 1];
    else if (arg.startsWith(`--${name}=`)) value = arg.slice(name.length + 3);
  }
  return value;
}

/** How many of `expected` have no counterpart in `actual` (as multisets), plus how many of `actual` are left over. */
function multisetMisses(expected: readonly number[], actual: readonly number[]): number {
  const left = new Map<number, number>();
  for (const v of actual) left.set(v, (left.get(v) ?? 0) + 1);
  let misses = 0;
  for (const v of expected) {
    const n = left.get(v) ?? 0;
    if (n === 0) misses++;
    else left.set(v, n - 1);
  }
  for (const n of left.values()) misses += n;
  return misses;
}
