/**
 * Runs one Highlander node as a process, configured from the environment (read here and nowhere
 * else). SIGTERM or SIGINT drains the node, then exits.
 *
 * When started with an IPC channel (child_process.fork), it also takes commands from the parent
 * (`call`, `get`, `put`, `activations`, `members`, `stop`, `session`) and sends it every lifecycle
 * event: this is how the cluster tests drive nodes in separate processes.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import {
  HighlanderError, HighlanderNode, S3StateStore, ZooKeeperCoordinator, s3StoreOptionsFromEnv, type AnyObjectType, type PlacementName,
} from './index.js';

const env = process.env;

function required(name: string): string {
  const value = env[name];
  if (!value) {
    console.error(`highlander node: environment variable ${name} is required`);
    process.exit(2);
  }
  return value;
}

function optionalNumber(name: string): number | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) {
    console.error(`highlander node: ${name} must be a number (got '${value}')`);
    process.exit(2);
  }
  return n;
}

const objectsModule = resolve(env.HIGHLANDER_OBJECTS ?? new URL('../../examples/todo/objects.ts', import.meta.url).pathname);
const { objects } = (await import(pathToFileURL(objectsModule).href)) as { objects: AnyObjectType[] };
const printEvents = env.HIGHLANDER_PRINT_EVENTS === '1';

const coordinator = new ZooKeeperCoordinator({
  connect: required('HIGHLANDER_ZK'),
  root: env.HIGHLANDER_ZK_ROOT ?? '/highlander',
  sessionTimeoutMs: optionalNumber('HIGHLANDER_ZK_SESSION_TIMEOUT_MS') ?? 10_000,
});
let store: S3StateStore;
try {
  store = new S3StateStore(s3StoreOptionsFromEnv(env));
} catch (err) {
  console.error(`highlander node: ${(err as Error).message}`);
  process.exit(2);
}
const node = HighlanderNode.create({
  name: required('HIGHLANDER_NODE_NAME'),
  coordinator,
  store,
  objects,
  placement: (env.HIGHLANDER_PLACEMENT ?? 'local') as PlacementName,
  host: env.HIGHLANDER_HOST ?? '127.0.0.1',
  port: optionalNumber('HIGHLANDER_PORT') ?? 0,
  ...(env.HIGHLANDER_ADVERTISE_HOST ? { advertiseHost: env.HIGHLANDER_ADVERTISE_HOST } : {}),
  ...(optionalNumber('HIGHLANDER_CALL_TIMEOUT_MS') !== undefined ? { callTimeoutMs: optionalNumber('HIGHLANDER_CALL_TIMEOUT_MS')! } : {}),
  ...(optionalNumber('HIGHLANDER_IDLE_TIMEOUT_MS') !== undefined ? { idleTimeoutMs: optionalNumber('HIGHLANDER_IDLE_TIMEOUT_MS')! } : {}),
  ...(optionalNumber('HIGHLANDER_MAX_STATE_BYTES') !== undefined ? { maxStateBytes: optionalNumber('HIGHLANDER_MAX_STATE_BYTES')! } : {}),
  ...(env.HIGHLANDER_ADMIN_TOKEN ? { adminToken: env.HIGHLANDER_ADMIN_TOKEN } : {}),
});

const types = new Map(objects.map((t) => [t.type, t]));
node.events.subscribe((event) => {
  if (printEvents) process.stdout.write(`${JSON.stringify(event)}\n`);
  process.send?.({ event });
});

let stopping: Promise<void> | undefined;
async function shutdown(drain: boolean): Promise<void> {
  stopping ??= node.stop({ drain });
  await stopping;
  await store.close();
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    shutdown(true).then(() => process.exit(0), (err) => {
      console.error(`highlander node: stop failed: ${(err as Error).message}`);
      process.exit(1);
    });
  });
}

try {
  await node.start();
} catch (err) {
  console.error(`highlander node ${env.HIGHLANDER_NODE_NAME}: could not start: ${(err as Error).message}`);
  process.send?.({ startError: err instanceof HighlanderError ? err.serialize() : { code: 'START_FAILED', message: String(err) } });
  process.exit(1);
}
process.send?.({ ready: { name: node.name, address: node.address, pid: process.pid } });
if (!process.send) console.log(`highlander node ${node.name} up at ${node.address} (pid ${process.pid})`);

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
