/**
 * A node process for the test harness and the demo (scripts/cluster.ts forks it): exactly what
 * `highlander node` runs (the same option table, `startNodeProcess`), plus a control channel over
 * IPC. It tells its parent `{ ready }` (or `{ startError }`), sends every lifecycle event as
 * `{ event }`, and takes commands `{ rid, cmd }`: `call`, `get`, `put`, `activations`, `members`,
 * `session` (the ZooKeeper session's credentials, to force its expiry), `stop`. The IPC protocol
 * lives here, not in the production entry point (@highlander/cli's node-process/main.ts).
 */
import { parseOrExit } from '@highlander/kit';
import { NODE_OPTIONS, drainOnSignals, parseNodeConfig, startNodeProcess } from '@highlander/cli';
import { HighlanderError, ShardedCoordinator, type AnyObjectType } from '@highlander/runtime';

const config = parseOrExit('cluster-node', NODE_OPTIONS, parseNodeConfig, 'usage: scripts/cluster-node.ts [the options of highlander node]');

let started;
try {
  started = await startNodeProcess(config);
} catch (err) {
  console.error(`highlander node ${config.name}: could not start: ${(err as Error).message}`);
  process.send?.({ startError: err instanceof HighlanderError ? err.serialize() : { code: 'START_FAILED', message: String(err) } });
  process.exit(1);
}
const { service, coordinator, shutdown } = started;
// The fault suite's deliberately broken runtime (never set outside it): with `read-lease`, the node
// serves from memory whether or not its ZooKeeper session can still be alive, to prove that the
// linearizability checker catches the stale reads that follow.
if (process.env.HIGHLANDER_TEST_BREAK === 'read-lease') coordinator.holdsLease = () => true;
else if (process.env.HIGHLANDER_TEST_BREAK) throw new Error(`HIGHLANDER_TEST_BREAK: unknown breakage '${process.env.HIGHLANDER_TEST_BREAK}' (read-lease)`);
const { node, gateway } = service;
const types = new Map<string, AnyObjectType>([...node.objectTypes()].map((t) => [t.type, t]));
// What happened while starting (node.up…) is still in the event log: send it, then every new event.
for (const event of node.events.since(0).events) process.send?.({ event });
node.events.subscribe((event) => process.send?.({ event }));
drainOnSignals(started);

process.send?.({ ready: { name: node.name, address: node.address, pid: process.pid, ...(gateway ? { audience: gateway.url } : {}) } });

interface Command {
  rid: number;
  cmd: 'call' | 'get' | 'put' | 'activations' | 'members' | 'stop' | 'session' | 'evict';
  type?: string;
  id?: string;
  name?: string;
  arg?: unknown;
  state?: unknown;
  timeoutMs?: number;
  drain?: boolean;
  /** `session` of a sharded node: which ensemble's (default home). */
  ensemble?: string;
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
      return ref.invoke(command.name ?? '', command.arg, options);
    }
    case 'activations':
      return node.activations();
    case 'evict':
      return node.evict(command.type ?? '', command.id ?? '');
    case 'members':
      return node.members().map((m) => m.name);
    case 'session': {
      const zk = coordinator instanceof ShardedCoordinator ? coordinator.ensemble(command.ensemble ?? 'home') : coordinator;
      const { sessionId, sessionPassword } = zk.session.credentials;
      return { sessionId: sessionId.toString('hex'), sessionPassword: sessionPassword.toString('hex'), timeoutMs: zk.options.sessionTimeoutMs };
    }
    case 'stop':
      await shutdown(command.drain ?? true);
      setImmediate(() => process.exit(0));
      return true;
    default:
      throw new Error(`unknown command '${(command as { cmd: string }).cmd}'`);
  }
}
