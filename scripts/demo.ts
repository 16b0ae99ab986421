/**
 * The demo: three Highlander nodes, the admin API with the dashboard, an audience session a room of
 * phones can join, and the seed's shared-todo-list workload calling the nodes.
 *
 * Backends, by what is given:
 *   (nothing)            embedded: the nodes, the embedded coordinator and a file state store in this
 *                        one process, state kept in --data (no ZooKeeper or S3 needed);
 *   --local-servers      a standalone ZooKeeper and radosgw started on loopback (Debian packages
 *                        zookeeper, radosgw; scripts/demo-local-servers.sh installs them), node processes;
 *   HIGHLANDER_ZK + HIGHLANDER_S3_BUCKET (and the other HIGHLANDER_S3_* / AWS variables, see
 *                        docs/configuration.md): your ZooKeeper and S3, node processes.
 *
 * Where it listens: the audience gateways on the machine's LAN address (a phone on the same network
 * opens the join link or scans the QR code), or on --public-host; with --public-url (a reverse proxy
 * or a tunnel) the join link is that URL and the gateways stay on loopback unless --public-host says
 * otherwise. The nodes and the admin API stay on loopback (--api-host to open the dashboard to others).
 *
 * Across restarts (same --data): the tokens, the nodes' admin token, the cluster secret and the talk's
 * code are kept in <data>/demo-state.json, so open dashboard and presenter tabs just reconnect;
 * --new-tokens makes new ones.
 *
 * The terminal shows a header (links, tokens, join code), then one status line refreshed in place and
 * notable events only (failures, fencing, migrations, evictions, drains, membership); --events prints
 * every lifecycle event.
 *
 *   node --conditions=@highlander/source --import tsx scripts/demo.ts [--duration <s>] [--nodes <n>]
 *     [--rate <steps/s>] [--idle-timeout-ms <ms>] [--data <dir>] [--audience-port <port>] [--public-host <host>]
 *     [--public-url <url>] [--api-host <host>] [--new-tokens] [--events] [--local-servers]
 *
 * Stop with Ctrl-C: the nodes drain (flush and release their locks), then everything stops.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import { fileURLToPath } from 'node:url';
import { newTalkCode, Talk } from '@highlander/audience';
import { startEmbeddedCluster } from '@highlander/cli';
import { objects as todoObjects } from '@highlander/example-todo';
import { ObjectRejected, type AnyObjectType, type HighlanderNode, type LifecycleEvent } from '@highlander/runtime';
import { NodeProcess, startAdminApiProcess, type ClusterConfig } from './cluster.js';
import { pickLanAddress, urlHost } from './public-address.js';
import { startRadosgw } from './servers/radosgw.js';
import { startZooKeeper } from './servers/zookeeper.js';

const USAGE = `usage: scripts/demo.ts [--duration <seconds>] [--nodes <n>] [--rate <steps per second>] [--idle-timeout-ms <ms>] [--data <dir>]
                      [--audience-port <port>] [--public-host <host>] [--public-url <url>] [--api-host <host>] [--new-tokens] [--events]
                      [--local-servers] [--title <talk title>]`;
let parsed;
try {
  parsed = parseArgs({
    options: {
      duration: { type: 'string' },
      nodes: { type: 'string', default: '3' },
      rate: { type: 'string', default: '40' },
      'idle-timeout-ms': { type: 'string', default: '8000' },
      data: { type: 'string', default: '.highlander-data/demo' },
      'audience-port': { type: 'string', default: process.env.HIGHLANDER_AUDIENCE_PORT ?? '8081' },
      'public-host': { type: 'string' },
      'public-url': { type: 'string' },
      'api-host': { type: 'string', default: '127.0.0.1' },
      'new-tokens': { type: 'boolean', default: false },
      events: { type: 'boolean', default: false },
      'local-servers': { type: 'boolean', default: false },
      title: { type: 'string', default: 'There can be only one' },
      help: { type: 'boolean', short: 'h' },
    },
  });
} catch (err) {
  console.error(`demo: ${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
const { values: args } = parsed;
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const durationS = args.duration === undefined ? Infinity : Number(args.duration);
const nodeCount = Number(args.nodes);
const rate = Number(args.rate);
const idleTimeoutMs = Number(args['idle-timeout-ms']);
for (const [name, value] of [['--duration', durationS], ['--nodes', nodeCount], ['--rate', rate], ['--idle-timeout-ms', idleTimeoutMs]] as const) {
  if (!(value > 0)) usage(`${name} must be a positive number`);
}
const audiencePort = Number(args['audience-port']);
if (!Number.isInteger(audiencePort) || audiencePort < 0 || audiencePort > 65535) usage(`--audience-port must be 0..65535 (got '${args['audience-port']}')`);
let publicUrl: string | undefined;
if (args['public-url'] !== undefined) {
  try {
    const url = new URL(args['public-url']);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    publicUrl = url.href.replace(/\/+$/, '');
  } catch {
    usage(`--public-url must be an http(s) URL such as https://talk.example.com (got '${args['public-url']}')`);
  }
}
const apiHost = args['api-host'];
const apiPort = Number(process.env.HIGHLANDER_API_PORT ?? 8080);

const color = process.stdout.isTTY ? (code: number, s: string) => `\x1b[${code}m${s}\x1b[0m` : (_: number, s: string) => s;
const NODE_COLORS = [36, 35, 33, 32, 34];
const nodeNames = Array.from({ length: nodeCount }, (_, i) => `node-${String.fromCharCode(97 + i)}`);
const nodeColor = new Map(nodeNames.map((n, i) => [n, NODE_COLORS[i % NODE_COLORS.length]!]));
const external = process.env.HIGHLANDER_ZK && process.env.HIGHLANDER_S3_BUCKET;

function usage(message: string): never {
  console.error(`demo: ${message}\n${USAGE}`);
  process.exit(2);
}

// ---- the terminal: a header, then one status line refreshed in place and notable events ----

const tty = process.stdout.isTTY === true;
let statusLine = '';
function log(line: string): void {
  if (tty && statusLine) process.stdout.write('\r\x1b[2K');
  process.stdout.write(`${line}\n`);
  if (tty && statusLine) process.stdout.write(statusLine);
}
function showStatus(line: string): void {
  statusLine = line;
  if (tty) process.stdout.write(`\r\x1b[2K${line}`);
}

// ---- what is kept across restarts ----

interface DemoState {
  operatorToken: string;
  viewerToken: string;
  clusterSecret: string;
  talkCode: string;
}

const dataDir = resolve(args.data!);
const STATE_FILE = join(dataDir, 'demo-state.json');

async function loadState(): Promise<DemoState> {
  const fresh = (): DemoState => ({
    operatorToken: `operator-${randomBytes(12).toString('hex')}`,
    viewerToken: `viewer-${randomBytes(12).toString('hex')}`,
    clusterSecret: randomBytes(32).toString('base64url'),
    talkCode: newTalkCode(),
  });
  let kept: Partial<DemoState> = {};
  try {
    kept = JSON.parse(await readFile(STATE_FILE, 'utf8')) as Partial<DemoState>;
  } catch {
    // First run (or an unreadable file): everything is made anew.
  }
  const made = fresh();
  const state: DemoState = args['new-tokens']
    ? { ...made, talkCode: kept.talkCode ?? made.talkCode }
    : { ...made, ...Object.fromEntries(Object.entries(kept).filter(([, v]) => typeof v === 'string' && v.length > 0)) };
  await mkdir(dataDir, { recursive: true });
  await writeFile(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await chmod(STATE_FILE, 0o600);
  return state;
}

// ---- where the audience joins ----

function audienceHosts(): { bind: string; advertise: string; note: string } {
  if (args['public-host'] !== undefined) return { bind: args['public-host'], advertise: args['public-host'], note: `--public-host ${args['public-host']}` };
  if (publicUrl !== undefined) return { bind: '127.0.0.1', advertise: '127.0.0.1', note: `behind ${publicUrl}` };
  const lan = pickLanAddress(networkInterfaces());
  if (lan) return { bind: lan.address, advertise: lan.address, note: `the LAN address of ${lan.interface}` };
  return { bind: '127.0.0.1', advertise: '127.0.0.1', note: 'loopback only: no LAN address found (give --public-host or --public-url)' };
}

/** One node of the demo, wherever it runs. */
interface DemoNode {
  readonly name: string;
  readonly running: boolean;
  call(type: string, id: string, name: string, arg?: unknown): Promise<unknown>;
  activations(): Promise<number>;
}

interface DemoCluster {
  nodes: DemoNode[];
  adminUrl: string;
  /** The audience gateways' URL phones reach (before --public-url). */
  gatewayUrl: string;
  stop(): Promise<void>;
}

/** Embedded: every node in this process on the embedded coordinator, state in files under --data. */
async function startEmbedded(state: DemoState, hosts: ReturnType<typeof audienceHosts>): Promise<DemoCluster> {
  const tokens = [{ role: 'operator' as const, name: 'demo-operator', token: state.operatorToken }, { role: 'viewer' as const, name: 'demo-viewer', token: state.viewerToken }];
  const cluster = await startEmbeddedCluster({
    nodes: nodeCount, dataDir: join(dataDir, 'objects'), objects: todoObjects, placement: 'round-robin', idleTimeoutMs, callTimeoutMs: 15_000,
    clusterSecret: state.clusterSecret,
    api: { host: apiHost, port: apiPort, tokens, auditLogPath: join(dataDir, 'audit.jsonl'), logger: quietLogger() },
    audience: { port: audiencePort, host: hosts.bind, advertiseHost: hosts.advertise, ...(publicUrl ? { publicUrl } : {}) },
  }).catch((err: Error) => {
    throw new Error(`${err.message}${/EADDRINUSE/.test(err.message) ? ` (is port ${apiPort} or ${audiencePort} free? set HIGHLANDER_API_PORT or --audience-port)` : ''}`);
  });
  const types = new Map<string, AnyObjectType>([...todoObjects, Talk].map((t) => [t.type, t]));
  const wrap = (node: HighlanderNode): DemoNode => {
    node.events.subscribe(onEvent);
    return {
      name: node.name,
      get running() {
        return node.status === 'running';
      },
      call: (type, id, name, arg) => node.ref(types.get(type)!, id).invoke(name, arg, { timeoutMs: 15_000 }),
      activations: async () => node.activationCount,
    };
  };
  return { nodes: cluster.nodes.map(wrap), adminUrl: cluster.api!.url, gatewayUrl: cluster.gateways[0]!.url, stop: () => cluster.stop() };
}

/** The admin API's log stays off the demo's terminal: warnings only. */
function quietLogger(): Logger {
  return pino({ name: 'highlander-admin-api', level: 'warn' });
}

/** Node processes and the admin API process on ZooKeeper and S3: started here (--local-servers) or yours (HIGHLANDER_*). */
async function startProcesses(state: DemoState, hosts: ReturnType<typeof audienceHosts>): Promise<DemoCluster> {
  let stopServers = async () => {};
  let config: ClusterConfig;
  const common = {
    root: process.env.HIGHLANDER_ZK_ROOT ?? '/highlander', sessionTimeoutMs: 6000, idleTimeoutMs, callTimeoutMs: 15_000, placement: 'round-robin',
    objectsModule: fileURLToPath(new URL('../examples/todo/objects.ts', import.meta.url)), clusterSecret: state.clusterSecret,
  };
  if (args['local-servers']) {
    log('starting ZooKeeper and radosgw on loopback…');
    const [zookeeper, radosgw] = await Promise.all([startZooKeeper(), startRadosgw()]);
    const bucket = 'highlander-demo';
    await radosgw.createBucket(bucket);
    log(`ZooKeeper ${zookeeper.connectString}   S3 ${radosgw.endpoint} bucket ${bucket}`);
    config = {
      ...common, zookeeper: zookeeper.connectString,
      s3: { endpoint: radosgw.endpoint, region: radosgw.region, accessKeyId: radosgw.accessKeyId, secretAccessKey: radosgw.secretAccessKey, bucket },
    };
    stopServers = async () => void (await Promise.all([zookeeper.stop(), radosgw.stop()]));
  } else {
    const env = process.env;
    config = {
      ...common, zookeeper: env.HIGHLANDER_ZK!,
      s3: { endpoint: env.HIGHLANDER_S3_ENDPOINT ?? '', region: env.HIGHLANDER_S3_REGION ?? '', accessKeyId: env.HIGHLANDER_S3_ACCESS_KEY_ID ?? '', secretAccessKey: env.HIGHLANDER_S3_SECRET_ACCESS_KEY ?? '', bucket: env.HIGHLANDER_S3_BUCKET! },
    };
    log(`your backends: ZooKeeper ${config.zookeeper}${config.root}, S3 bucket ${config.s3.bucket}${config.s3.endpoint ? ` at ${config.s3.endpoint}` : ''}`);
  }
  const auditDir = await mkdtemp(join(tmpdir(), 'highlander-demo-audit-'));
  // Every node runs an audience gateway: node-a on --audience-port, the others on free ports.
  const nodes = nodeNames.map((name, i) => new NodeProcess(name, {
    ...config,
    nodeEnv: { HIGHLANDER_AUDIENCE_PORT: String(i === 0 ? audiencePort : 0), HIGHLANDER_AUDIENCE_HOST: hosts.bind, HIGHLANDER_AUDIENCE_ADVERTISE_HOST: hosts.advertise },
  }));
  await Promise.all(nodes.map((n) => n.start()));
  for (const node of nodes) {
    for (const event of node.events) onEvent(event);
    let seen = node.events.length;
    setInterval(() => {
      for (; seen < node.events.length; seen++) onEvent(node.events[seen]!);
    }, 100).unref();
  }
  const tokens = `operator:demo-operator:${state.operatorToken},viewer:demo-viewer:${state.viewerToken}`;
  const { child: adminApi, url: adminUrl } = await startAdminApiProcess(config, {
    tokens, auditLog: join(auditDir, 'audit.jsonl'), port: apiPort, stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { HIGHLANDER_API_HOST: apiHost, HIGHLANDER_LOG_LEVEL: 'warn', ...(publicUrl ? { HIGHLANDER_AUDIENCE_URL: publicUrl } : {}) },
  });
  return {
    nodes: nodes.map((n) => ({
      name: n.name,
      get running() {
        return n.running;
      },
      call: (type, id, name, arg) => n.call(type, id, name, arg),
      activations: async () => (await n.activations().catch(() => [])).length,
    })),
    adminUrl,
    gatewayUrl: nodes[0]!.audienceUrl!,
    async stop() {
      adminApi.kill('SIGTERM');
      await Promise.all(nodes.map((n) => n.stop().catch(() => n.kill('SIGKILL'))));
      await Promise.all([stopServers(), rm(auditDir, { recursive: true, force: true })]);
    },
  };
}

/** The demo's talk, under the code kept in the state file: created on the first run, the same one after. */
async function ensureTalk(code: string): Promise<'created' | 'kept'> {
  try {
    await anyNode().call('talk', code, 'create', { title: args.title });
    return 'created';
  } catch (err) {
    if (Talk.isError(err, 'exists')) return 'kept';
    throw err;
  }
}

// ---- lifecycle events: counted for the status line, printed when notable (all with --events) ----

const counters = { calls: 0, activations: new Map<string, number>() };
const NOTABLE_DEACTIVATIONS = new Set(['evicted', 'migrated', 'drained', 'fenced', 'session-lost']);

function onEvent(event: LifecycleEvent): void {
  if (event.kind === 'stats') {
    counters.calls += Object.values(event.byType).reduce((n, s) => n + s.calls, 0);
    counters.activations.set(event.node, event.activations);
    if (args.events) printEvent(event);
    return;
  }
  const notable = event.kind === 'node.up' || event.kind === 'node.down' || event.kind === 'node.joined' || event.kind === 'node.left'
    || event.kind === 'node.session-lost' || event.kind === 'node.draining' || event.kind === 'node.drained'
    || event.kind === 'object.fenced' || event.kind === 'object.persist-failed' || event.kind === 'object.migrated'
    || (event.kind === 'object.deactivated' && NOTABLE_DEACTIVATIONS.has(event.reason));
  if (args.events || notable) printEvent(event);
}

function describe(event: LifecycleEvent): string {
  switch (event.kind) {
    case 'node.up': return `up at ${event.address}`;
    case 'node.down': return `down (${event.reason})`;
    case 'node.joined': return `sees ${event.peer} join`;
    case 'node.left': return `sees ${event.peer} leave`;
    case 'lock.acquired': return `${event.type}/${event.id} lock acquired, epoch ${event.epoch}`;
    case 'lock.released': return `${event.type}/${event.id} lock released`;
    case 'lock.queued': return `${event.type}/${event.id} queued at ${event.position} behind ${event.owner}`;
    case 'object.activated': return `${event.type}/${event.id} activated (${event.stored ? `loaded v${event.version - 1}` : 'new'}, ${event.loadMs} ms)`;
    case 'object.persisted': return `${event.type}/${event.id} persisted v${event.version} (${event.calls} call${event.calls === 1 ? '' : 's'}, ${event.bytes} B, ${event.putMs} ms)`;
    case 'object.persist-failed': return `${event.type}/${event.id} write FAILED: ${event.error}`;
    case 'object.deactivated': return `${event.type}/${event.id} deactivated (${event.reason})`;
    case 'object.migrated': return `${event.type}/${event.id} migrated ${event.from} → ${event.to} in ${event.durationMs} ms`;
    case 'object.fenced': return `${event.type}/${event.id} FENCED`;
    case 'node.session-lost': return `ZooKeeper session LOST, dropped ${event.activationsDropped} activations`;
    case 'node.draining': return `draining: ${event.remaining} of ${event.total} activations left`;
    case 'node.drained': return `drained ${event.deactivated} activations in ${event.durationMs} ms`;
    case 'stats': return `stats: ${event.activations} active, ${Object.entries(event.byType).map(([t, s]) => `${t} ${s.calls} calls p50 ${s.p50Ms} ms p99 ${s.p99Ms} ms`).join('; ')}`;
  }
}

function printEvent(event: LifecycleEvent): void {
  const time = new Date(event.time).toISOString().slice(11, 23);
  const alarming = event.kind === 'object.fenced' || event.kind.endsWith('failed') || event.kind === 'node.session-lost' || event.kind === 'node.down';
  log(`${color(90, time)} ${color(nodeColor.get(event.node) ?? 37, event.node.padEnd(7))} ${color(alarming ? 31 : 37, event.kind.padEnd(19))} ${describe(event)}`);
}

// ---- start ----

log(color(1, 'Highlander demo: there can be only one'));
const state = await loadState();
const hosts = audienceHosts();
let cluster: DemoCluster | undefined;
try {
  if (args['local-servers'] || external) cluster = await startProcesses(state, hosts);
  else {
    log(`embedded backends: coordinator in this process, state in ${dataDir} (kept across runs)`);
    cluster = await startEmbedded(state, hosts);
  }
} catch (err) {
  console.error(`demo: ${(err as Error).message}`);
  process.exit(1);
}
const { nodes, adminUrl } = cluster;
const anyNode = () => pick(nodes.filter((n) => n.running));
const joinBase = publicUrl ?? cluster.gatewayUrl;
const code = state.talkCode;
let talkNote: string;
try {
  talkNote = (await ensureTalk(code)) === 'created' ? 'new' : 'kept from the last run';
} catch (err) {
  talkNote = color(31, `could not be opened: ${(err as Error).message}`);
}

log('');
log(color(1, `  audience   ${joinBase}/a/${code}`) + `   (code ${color(1, code)}, ${talkNote}; the gateway on ${hosts.note}; ${joinBase}/ asks for the code)`);
log(color(1, `  presenter  ${adminUrl}/audience/${code}?token=${state.operatorToken}`));
log(color(1, `  projector  ${adminUrl}/present/${code}?token=${state.operatorToken}`) + '   (presenter mode: press ? for its keys)');
log(color(1, `  dashboard  ${adminUrl}/?token=${state.operatorToken}`));
log(`  tokens     operator ${state.operatorToken}   viewer ${state.viewerToken}   (kept in ${STATE_FILE}; --new-tokens rotates them)`);
log(`  try        bin/highlander ls objects --api ${adminUrl} --token ${state.viewerToken}`);
log(`             curl -s -X POST -H 'Authorization: Bearer ${state.operatorToken}' -H 'content-type: application/json' -d '{"to":"node-b"}' ${adminUrl}/api/objects/list/list-1/migrate`);
log('');

// ---- the seed's workload, bounded: users share lists and add todos; an outsider keeps getting refused ----

const users = ['myobie', 'ada', 'grace', 'linus', 'barbara', 'ken'];
const lists = Array.from({ length: 12 }, (_, i) => `list-${i + 1}`);
/** Todos per list before the workload completes the oldest and clears the completed ones: every list stays small. */
const MAX_TODOS_PER_LIST = 20;
/** Todo objects are reused from a fixed pool: their number stays bounded however long the demo runs. */
const TODO_POOL = 240;
const counts = { ok: 0, refused: 0, failed: 0 };
function pick<T>(items: T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}

/** Who each list has been shared with, as the workload learned it: members insert, an outsider is refused. */
const members = new Map<string, string[]>();
let nextTodo = 0;

async function step(): Promise<void> {
  const node = anyNode();
  const list = pick(lists.slice(0, 4 + Math.floor(Math.random() * lists.length)));
  const shared = members.get(list) ?? [];
  const r = Math.random();
  if (shared.length === 0 || r < 0.15) {
    const user = pick(users);
    await node.call('list', list, 'share', user);
    await anyNode().call('user', user, 'rememberList', list);
    if (!shared.includes(user)) members.set(list, [...shared, user]);
  } else if (r < 0.75) {
    const user = pick(shared);
    const todoId = `todo-${nextTodo++ % TODO_POOL}`;
    const title = `todo from ${user}`;
    await node.call('todo', todoId, 'rename', title);
    const size = (await node.call('list', list, 'insertTodo', { todo: { id: todoId, title, completed: false }, userId: user })) as number;
    if (size > MAX_TODOS_PER_LIST) {
      const open = (await node.call('list', list, 'openTodos')) as Array<{ id: string }>;
      for (const todo of open.slice(MAX_TODOS_PER_LIST / 2)) await node.call('list', list, 'completeTodo', { todoId: todo.id, userId: user });
      await node.call('list', list, 'clearCompleted', { userId: user });
    }
  } else if (r < 0.95) {
    await node.call('list', list, 'openTodos');
  } else {
    await node.call('list', list, 'insertTodo', { todo: { id: 'x', title: 'spam', completed: false }, userId: 'mallory' });
  }
}

let inFlight = 0;
let stopping = false;
const workload = setInterval(() => {
  if (stopping) return;
  inFlight++;
  step().finally(() => inFlight--).then(() => counts.ok++, (err) => {
    if (err instanceof ObjectRejected) counts.refused++;
    else {
      counts.failed++;
      log(color(31, `call failed: ${(err as Error).message}`));
    }
  });
}, 1000 / rate);

// ---- the status line ----

let participants: number | string = '…';
let lastCalls = 0;
let lastAt = performance.now();
const STATUS_EVERY_MS = 1000;
const STATUS_LINE_EVERY_MS = 10_000;
let lastPrinted = -Infinity;
const status = setInterval(() => {
  void (async () => {
    const now = performance.now();
    const callsPerSecond = Math.round(((counters.calls - lastCalls) * 1000) / (now - lastAt));
    lastCalls = counters.calls;
    lastAt = now;
    try {
      const view = (await anyNode().call('talk', code, 'snapshot', { sinceReaction: Number.MAX_SAFE_INTEGER, sinceTimeline: Date.now() })) as { connected: number };
      participants = view.connected;
    } catch {
      participants = '?';
    }
    const up = nodes.filter((n) => n.running).length;
    const objects = [...counters.activations.values()].reduce((n, a) => n + a, 0);
    const line = `${color(1, '●')} nodes ${up}/${nodes.length} up · ${objects} objects active · ${callsPerSecond} calls/s · ${participants} participants · workload ${counts.ok} ok, ${counts.refused} refused, ${counts.failed} failed`;
    showStatus(line);
    if (!tty && now - lastPrinted >= STATUS_LINE_EVERY_MS) {
      lastPrinted = now;
      log(line);
    }
  })();
}, STATUS_EVERY_MS);

async function shutdown(exitCode: number): Promise<never> {
  if (stopping) process.exit(exitCode);
  stopping = true;
  clearInterval(workload);
  clearInterval(status);
  showStatus('');
  log('\nstopping: the workload finishes its steps, then the nodes drain (flush, release locks)…');
  const inFlightDeadline = Date.now() + 20_000;
  while (inFlight > 0 && Date.now() < inFlightDeadline) await new Promise((r) => setTimeout(r, 50));
  await cluster?.stop();
  log(`done: ${counts.ok} calls acknowledged, ${counts.refused} refused by List.insertTodo (not allowed), ${counts.failed} failed`);
  process.exit(exitCode);
}
process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));

log(color(1, `${nodeCount} nodes up; workload running at ${rate} steps/s${Number.isFinite(durationS) ? ` for ${durationS} s` : '; Ctrl-C to stop'}`));
if (Number.isFinite(durationS)) setTimeout(() => void shutdown(counts.failed > 0 ? 1 : 0), durationS * 1000);
