/**
 * Runs one Highlander node as a process, configured by flags and environment variables read here
 * and nowhere else, as declared in the option table (runtime/src/config.ts; a flag wins over its
 * variable, the variable over the default; `--help` lists them). A bad or missing option exits 2
 * with a message naming the flag and the variable. SIGTERM or SIGINT drains the node, then exits.
 *
 * When started with an IPC channel (child_process.fork), it also takes commands from the parent
 * (`call`, `get`, `put`, `activations`, `members`, `stop`, `session`) and sends it every lifecycle
 * event: this is how the cluster tests drive nodes in separate processes.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { NODE_OPTIONS, coordinatorOptions, parseNodeConfig, s3StoreOptions, type NodeConfig } from './config.js';
import { HighlanderError, HighlanderNode, NodeMetrics, S3StateStore, ZooKeeperCoordinator, type AnyObjectType } from './index.js';
import { OptionsError, PRECEDENCE, renderHelp } from './option-table.js';
import { registerAdminExtension } from './node-admin.js';
import { AudienceGateway, audienceObjects, gatewayOptionsFromConfig } from '../../audience/src/index.js';

const NODE_USAGE = 'usage: node --import tsx runtime/src/main.ts [options]   (or: highlander node [options])';

let config: NodeConfig;
try {
  const parsed = parseNodeConfig(process.argv.slice(2), process.env);
  if (parsed.help) {
    process.stdout.write(renderHelp(NODE_OPTIONS, { usage: NODE_USAGE, footer: PRECEDENCE }));
    process.exit(0);
  }
  config = parsed.values;
} catch (err) {
  if (!(err instanceof OptionsError)) throw err;
  for (const problem of err.problems) console.error(`highlander node: ${problem}`);
  console.error('highlander node: see --help for every option');
  process.exit(2);
}

const objectsModule = resolve(config.objects ?? new URL('../../examples/todo/objects.ts', import.meta.url).pathname);
const { objects: appObjects } = (await import(pathToFileURL(objectsModule).href)) as { objects: AnyObjectType[] };
// The audience gateway (audience/src/gateway.ts) runs with --audience-port; the talk and attendee types come with it.
const audienceOptions = gatewayOptionsFromConfig(config);
const objects = audienceOptions ? [...appObjects, ...audienceObjects.filter((t) => !appObjects.some((o) => o.type === t.type))] : appObjects;
const printEvents = config.printEvents;

// JSON lines on stdout (beside the events of --print-events, which have no `level`).
const logger = pino({ name: 'highlander-node', level: config.logLevel });
const coordinator = new ZooKeeperCoordinator(coordinatorOptions(config));
const store = new S3StateStore(s3StoreOptions(config));
const node = HighlanderNode.create({
  name: config.name,
  coordinator,
  store,
  objects,
  placement: config.placement,
  host: config.host,
  port: config.port,
  ...(config.advertiseHost !== undefined ? { advertiseHost: config.advertiseHost } : {}),
  callTimeoutMs: config.callTimeoutMs,
  idleTimeoutMs: config.idleTimeoutMs,
  maxStateBytes: config.maxStateBytes,
  maxInFlightPerPeer: config.maxInFlightPerPeer,
  statsIntervalMs: config.statsIntervalMs,
  loadReportIntervalMs: config.loadReportIntervalMs,
  ...(config.adminToken !== undefined ? { adminToken: config.adminToken } : {}),
  logger,
  metrics: new NodeMetrics({ processMetrics: true }),
});

const types = new Map(objects.map((t) => [t.type, t]));
node.events.subscribe((event) => {
  if (printEvents) process.stdout.write(`${JSON.stringify(event)}\n`);
  process.send?.({ event });
});

let audience: AudienceGateway | undefined;
let stopping: Promise<void> | undefined;
async function shutdown(drain: boolean): Promise<void> {
  // The gateway first: it hands the feedback it accepted to the talks while the node still runs.
  stopping ??= (audience?.close() ?? Promise.resolve()).then(() => node.stop({ drain }));
  await stopping;
  await store.close();
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    const started = performance.now();
    node.logger.info({ signal, activations: node.activationCount }, `${signal}: draining ${node.activationCount} activations, then exiting`);
    const progress = setInterval(() => node.logger.info({ remaining: node.activationCount }, `draining: ${node.activationCount} activations left`), 1000).unref();
    shutdown(true).then(() => {
      clearInterval(progress);
      node.logger.info({ durationMs: Math.round(performance.now() - started) }, 'stopped: every activation flushed and released');
      process.exit(0);
    }, (err) => {
      node.logger.error({ err }, 'stop failed');
      console.error(`highlander node: stop failed: ${(err as Error).message}`);
      process.exit(1);
    });
  });
}

try {
  await node.start();
} catch (err) {
  node.logger.fatal({ err }, 'could not start');
  console.error(`highlander node ${config.name}: could not start: ${(err as Error).message}`);
  process.send?.({ startError: err instanceof HighlanderError ? err.serialize() : { code: 'START_FAILED', message: String(err) } });
  process.exit(1);
}
if (audienceOptions) {
  try {
    audience = await AudienceGateway.start(node, audienceOptions);
  } catch (err) {
    node.logger.fatal({ err }, 'the audience gateway could not start');
    await node.stop({ drain: true });
    process.exit(1);
  }
  const gateway = audience;
  node.metrics?.include(gateway.metrics.registry); // served with the node's at GET /metrics on its port, never on the audience port
  registerAdminExtension(node, { name: 'audience', info: () => ({ url: gateway.url, connections: gateway.connectionCount }) });
}
process.send?.({ ready: { name: node.name, address: node.address, pid: process.pid, ...(audience ? { audience: audience.url } : {}) } });
if (!process.send) console.log(`highlander node ${node.name} up at ${node.address} (pid ${process.pid})${audience ? `, audience gateway at ${audience.url}` : ''}`);

interface Command {
  rid: number;
  cmd: 'call' | 'get' | 'put' | 'activations' | 'members' | 'stop' | 'session';
  type?: string;
  id?: string;
  name?: string;
  arg?: unknown;
  state?: unknown;
  timeoutMs?: number;
  drain?: boolean;
}

process.on('message', (message: Command) => {
  void run(message).then(
    (value) => process.send?.({ rid: message.rid, ok: true, value }),
    (err: unknown) => process.send?.({
      rid: message.rid,
      ok: false,
      error: err instanceof HighlanderError ? err.serialize() : { code: 'INTERNAL', message: String((err as Error)?.message ?? err) },
    }),
  );
});

async function run(command: Command): Promise<unknown> {
  const options = command.timeoutMs ? { timeoutMs: command.timeoutMs } : undefined;
  switch (command.cmd) {
    case 'call':
    case 'get':
    case 'put': {
      const type = types.get(command.type ?? '');
      if (!type) throw new Error(`unknown type '${command.type}'`);
      const ref = node.ref(type, command.id ?? '');
      if (command.cmd === 'get') return ref.get(options);
      if (command.cmd === 'put') return ref.put(command.state, options);
      const handler = type.handlers[command.name ?? ''] ?? type.queries[command.name ?? ''];
      const takesArg = typeof handler === 'function' && handler.length >= 2;
      return (ref.call as (name: string, ...args: unknown[]) => Promise<unknown>)(command.name ?? '', ...(takesArg ? [command.arg, options] : [options]));
    }
    case 'activations':
      return node.activations();
    case 'members':
      return node.members().map((m) => m.name);
    case 'session': {
      const { sessionId, sessionPassword } = coordinator.session.credentials;
      return { sessionId: sessionId.toString('hex'), sessionPassword: sessionPassword.toString('hex'), timeoutMs: coordinator.options.sessionTimeoutMs };
    }
    case 'stop':
      await shutdown(command.drain ?? true);
      setImmediate(() => process.exit(0));
      return true;
    default:
      throw new Error(`unknown command '${(command as { cmd: string }).cmd}'`);
  }
}
