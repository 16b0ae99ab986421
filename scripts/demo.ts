/**
 * The demo: three Highlander nodes, the admin API with the dashboard, and the seed's
 * shared-todo-list workload calling them, with every lifecycle event printed live.
 *
 * Backends, by what is given:
 *   (nothing)            embedded: the nodes, the embedded coordinator and a file state store in this
 *                        one process, state kept in --data (no ZooKeeper or S3 needed);
 *   --local-servers      a standalone ZooKeeper and radosgw started on loopback (Debian packages
 *                        zookeeper, radosgw; scripts/demo-local-servers.sh installs them), node processes;
 *   HIGHLANDER_ZK + HIGHLANDER_S3_BUCKET (and the other HIGHLANDER_S3_* / AWS variables, see
 *                        docs/configuration.md): your ZooKeeper and S3, node processes.
 *
 *   node --import tsx scripts/demo.ts [--duration <s>] [--nodes <n>] [--rate <steps/s>] [--idle-timeout-ms <ms>]
 *                                     [--data <dir>] [--audience-port <port>] [--local-servers]
 *
 * Stop with Ctrl-C: the nodes drain (flush and release their locks), then everything stops.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { NodeProcess, startAdminApiProcess, type ClusterConfig } from './cluster.js';
import { startEmbeddedCluster } from '@highlander/cli';
import { ObjectRejected, type AnyObjectType, type HighlanderNode, type LifecycleEvent } from '@highlander/runtime';
import { objects as todoObjects } from '@highlander/example-todo';
import { startRadosgw } from './servers/radosgw.js';
import { startZooKeeper } from './servers/zookeeper.js';

const USAGE = 'usage: scripts/demo.ts [--duration <seconds>] [--nodes <n>] [--rate <steps per second>] [--idle-timeout-ms <ms>] [--data <dir>] [--audience-port <port>] [--local-servers]';
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
      'local-servers': { type: 'boolean', default: false },
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
  if (!(value > 0)) {
    console.error(`demo: ${name} must be a positive number`);
    process.exit(2);
  }
}

const color = process.stdout.isTTY ? (code: number, s: string) => `\x1b[${code}m${s}\x1b[0m` : (_: number, s: string) => s;
const NODE_COLORS = [36, 35, 33, 32, 34];
const log = (line: string) => process.stdout.write(`${line}\n`);

log(color(1, 'Highlander demo: there can be only one'));

/** One node of the demo, wherever it runs. */
interface DemoNode {
  readonly name: string;
  readonly running: boolean;
  call(type: string, id: string, name: string, arg?: unknown): Promise<unknown>;
  put(type: string, id: string, state: unknown): Promise<void>;
  activations(): Promise<number>;
}

interface DemoCluster {
  nodes: DemoNode[];
  adminUrl: string;
  stop(): Promise<void>;
}

const operatorToken = `operator-${randomBytes(12).toString('hex')}`;
const viewerToken = `viewer-${randomBytes(12).toString('hex')}`;
const tokens = [{ role: 'operator' as const, name: 'demo-operator', token: operatorToken }, { role: 'viewer' as const, name: 'demo-viewer', token: viewerToken }];
const apiPort = Number(process.env.HIGHLANDER_API_PORT ?? 8080);
const nodeNames = Array.from({ length: nodeCount }, (_, i) => `node-${String.fromCharCode(97 + i)}`);
const nodeColor = new Map(nodeNames.map((n, i) => [n, NODE_COLORS[i % NODE_COLORS.length]!]));
const external = process.env.HIGHLANDER_ZK && process.env.HIGHLANDER_S3_BUCKET;
const audiencePort = Number(args['audience-port']);
if (!Number.isInteger(audiencePort) || audiencePort < 0 || audiencePort > 65535) {
  console.error(`demo: --audience-port must be 0..65535 (got '${args['audience-port']}')`);
  process.exit(2);
}

/** Embedded: every node in this process on the embedded coordinator, state in files under --data. */
async function startEmbedded(): Promise<DemoCluster> {
  const dataDir = resolve(args.data!);
  log(`embedded backends: coordinator in this process, state in ${dataDir} (kept across runs)`);
  const cluster = await startEmbeddedCluster({
    nodes: nodeCount, dataDir: join(dataDir, 'objects'), objects: todoObjects, placement: 'round-robin', idleTimeoutMs, callTimeoutMs: 15_000,
    api: { port: apiPort, tokens, auditLogPath: join(dataDir, 'audit.jsonl') },
    audience: { port: audiencePort },
  }).catch((err: Error) => {
    throw new Error(`${err.message}${/EADDRINUSE/.test(err.message) ? ` (is port ${apiPort} free? set HIGHLANDER_API_PORT)` : ''}`);
  });
  const types = new Map<string, AnyObjectType>(todoObjects.map((t) => [t.type, t]));
  const typeOf = (name: string) => types.get(name) ?? fail(`unknown type ${name}`);
  const wrap = (node: HighlanderNode): DemoNode => {
    node.events.subscribe(printEvent);
    return {
      name: node.name,
      get running() {
        return node.status === 'running';
      },
      call: (type, id, name, arg) => node.ref(typeOf(type), id).invoke(name, arg, { timeoutMs: 15_000 }),
      put: (type, id, state) => node.ref(typeOf(type), id).put(state, { timeoutMs: 15_000 }),
      activations: async () => node.activationCount,
    };
  };
  return { nodes: cluster.nodes.map(wrap), adminUrl: cluster.api!.url, stop: () => cluster.stop() };
}

/** Node processes and the admin API process on ZooKeeper and S3: started here (--local-servers) or yours (HIGHLANDER_*). */
async function startProcesses(): Promise<DemoCluster> {
  let stopServers = async () => {};
  let config: ClusterConfig;
  const common = {
    root: process.env.HIGHLANDER_ZK_ROOT ?? '/highlander', sessionTimeoutMs: 6000, idleTimeoutMs, callTimeoutMs: 15_000, placement: 'round-robin',
    objectsModule: fileURLToPath(new URL('../examples/todo/objects.ts', import.meta.url)), adminToken: randomBytes(16).toString('hex'),
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
  const nodes = nodeNames.map((name, i) => new NodeProcess(name, { ...config, nodeEnv: { HIGHLANDER_AUDIENCE_PORT: String(i === 0 ? audiencePort : 0) } }));
  await Promise.all(nodes.map((n) => n.start()));
  for (const node of nodes) {
    for (const event of node.events) printEvent(event);
    let printed = node.events.length;
    setInterval(() => {
      for (; printed < node.events.length; printed++) printEvent(node.events[printed]!);
    }, 100).unref();
  }
  const { child: adminApi, url: adminUrl } = await startAdminApiProcess(config, {
    tokens: tokens.map((t) => `${t.role}:${t.name}:${t.token}`).join(','), auditLog: join(auditDir, 'audit.jsonl'), port: apiPort,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return {
    nodes: nodes.map((n) => ({
      name: n.name,
      get running() {
        return n.running;
      },
      call: (type, id, name, arg) => n.call(type, id, name, arg),
      put: (type, id, state) => n.put(type, id, state),
      activations: async () => (await n.activations().catch(() => [])).length,
    })),
    adminUrl,
    async stop() {
      adminApi.kill('SIGTERM');
      await Promise.all(nodes.map((n) => n.stop().catch(() => n.kill('SIGKILL'))));
      await Promise.all([stopServers(), rm(auditDir, { recursive: true, force: true })]);
    },
  };
}

/** Opens an audience session for the room and prints its join link and the presenter's view. */
async function openAudienceSession(): Promise<void> {
  try {
    const response = await fetch(`${cluster!.adminUrl}/api/talks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'There can be only one' }),
    });
    const body = (await response.json()) as { talk?: { code: string }; joinUrl?: string | null; error?: { message: string } };
    if (!response.ok || !body.talk) throw new Error(body.error?.message ?? `HTTP ${response.status}`);
    log(color(1, `audience: join at ${body.joinUrl ?? `(no gateway URL) code ${body.talk.code}`}   presenter: ${cluster!.adminUrl}/audience/${body.talk.code}`));
  } catch (err) {
    log(color(31, `audience: could not open a session: ${(err as Error).message}`));
  }
}

function fail(message: string): never {
  throw new Error(message);
}

let stopping = false;
async function shutdown(code: number): Promise<never> {
  if (stopping) process.exit(code);
  stopping = true;
  clearInterval(workload);
  clearInterval(summary);
  log('\nstopping: the workload finishes its steps, then the nodes drain (flush, release locks)…');
  const inFlightDeadline = Date.now() + 20_000;
  while (inFlight > 0 && Date.now() < inFlightDeadline) await new Promise((r) => setTimeout(r, 50));
  await cluster?.stop();
  log(`done: ${counts.ok} calls acknowledged, ${counts.refused} refused by List.insertTodo (not allowed), ${counts.failed} failed`);
  process.exit(code);
}
process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));

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
    case 'object.migrated': return `${event.type}/${event.id} migrated ${event.from} → ${event.to}`;
    case 'object.fenced': return `${event.type}/${event.id} FENCED`;
    case 'node.session-lost': return `ZooKeeper session LOST, dropped ${event.activationsDropped} activations`;
    case 'node.draining': return `draining: ${event.remaining} of ${event.total} activations left`;
    case 'node.drained': return `drained ${event.deactivated} activations in ${event.durationMs} ms`;
    case 'stats': return `stats: ${event.activations} active, ${Object.entries(event.byType).map(([t, s]) => `${t} ${s.calls} calls p50 ${s.p50Ms} ms p99 ${s.p99Ms} ms`).join('; ')}`;
  }
}

function printEvent(event: LifecycleEvent): void {
  if (event.kind === 'stats') return; // summarised every few seconds below
  const time = new Date(event.time).toISOString().slice(11, 23);
  log(`${color(90, time)} ${color(nodeColor.get(event.node) ?? 37, event.node.padEnd(7))} ${color(event.kind.startsWith('object.fenced') || event.kind.endsWith('failed') || event.kind === 'node.session-lost' ? 31 : 37, event.kind.padEnd(19))} ${describe(event)}`);
}

let cluster: DemoCluster | undefined;
try {
  cluster = args['local-servers'] || external ? await startProcesses() : await startEmbedded();
} catch (err) {
  console.error(`demo: ${(err as Error).message}`);
  process.exit(1);
}
const { nodes, adminUrl } = cluster;
log(color(1, `dashboard ${adminUrl}/?token=${operatorToken}`));
await openAudienceSession();
log(`admin API ${adminUrl}  operator token ${operatorToken}  viewer token ${viewerToken}`);
log(`  try: curl -s -H 'Authorization: Bearer ${viewerToken}' ${adminUrl}/api/summary`);
log(`       bin/highlander ls objects --api ${adminUrl} --token ${viewerToken}`);
log(`       curl -s -X POST -H 'Authorization: Bearer ${operatorToken}' -H 'content-type: application/json' -d '{"to":"node-b"}' ${adminUrl}/api/objects/list/list-1/migrate`);

// ---- the seed's workload: users share lists and add todos; an outsider keeps getting refused ----
const users = ['myobie', 'ada', 'grace', 'linus', 'barbara', 'ken'];
const lists = Array.from({ length: 12 }, (_, i) => `list-${i + 1}`);
const counts = { ok: 0, refused: 0, failed: 0 };
const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)]!;
const anyNode = () => pick(nodes.filter((n) => n.running));

/** Who each list has been shared with, as the workload learned it: members insert, an outsider is refused. */
const members = new Map<string, string[]>();

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
    const todoId = randomUUID().slice(0, 8);
    await node.put('todo', todoId, { title: `todo from ${user}`, completed: false, color: pick(['blue', 'green', 'red']) });
    await node.call('list', list, 'insertTodo', { todo: { id: todoId, title: `todo from ${user}`, completed: false }, userId: user });
  } else if (r < 0.95) {
    await node.call('list', list, 'openTodos');
  } else {
    await node.call('list', list, 'insertTodo', { todo: { id: 'x', title: 'spam', completed: false }, userId: 'mallory' });
  }
}

let inFlight = 0;
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

const summary = setInterval(() => {
  void Promise.all(nodes.filter((n) => n.running).map(async (n) => `${n.name}: ${await n.activations().catch(() => 0)} active`)).then((parts) => {
    log(color(1, `— ${counts.ok} workload steps ok, ${counts.refused} refused (not allowed), ${counts.failed} failed | ${parts.join(', ')}`));
  });
}, 5000);

log(color(1, `${nodeCount} nodes up; workload running at ${rate} steps/s${Number.isFinite(durationS) ? ` for ${durationS} s` : '; Ctrl-C to stop'}`));
if (Number.isFinite(durationS)) setTimeout(() => void shutdown(counts.failed > 0 ? 1 : 0), durationS * 1000);
