import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { OptionsError, PRECEDENCE, renderHelp, type OptionTable, type ParsedOptions } from '../runtime/src/option-table.js';
import { EXIT } from './exit-codes.js';
import { usageError } from './client-commands.js';

/**
 * The commands that run something: `demo`, `node`, `admin`, `bench`. Each runs its script as a
 * child process (TypeScript through tsx, as the CLI itself) with the arguments passed on, relays
 * SIGINT, SIGTERM and SIGHUP to it, and exits with its exit code. `node` and `admin` check their
 * options against the option table first, so a bad value exits 2 before anything starts, and
 * `--help` is generated from the table.
 */

export interface ProcessCommand {
  name: string;
  synopsis: string;
  /** One line for `highlander --help`. */
  brief: string;
  summary: string;
  run(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<number>;
}

const script = (relative: string) => fileURLToPath(new URL(`../${relative}`, import.meta.url));

/**
 * Runs `file` under tsx and resolves with its exit code. The child gets its own process group, so
 * a Ctrl-C reaches it once, relayed from here (a node drains on the first SIGINT and dies on the second).
 */
export function runScript(file: string, args: readonly string[]): Promise<number> {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), file, ...args], {
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
  const relay = (signal: NodeJS.Signals) => () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => [signal, relay(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  return new Promise((resolve) => {
    child.once('error', (err) => {
      process.stderr.write(`highlander: could not start ${file}: ${err.message}\n`);
      resolve(EXIT.FAILED);
    });
    child.once('exit', (code, signal) => {
      for (const [name, handler] of handlers) process.off(name, handler);
      resolve(code ?? 128 + (signal ? signalNumber(signal) : 0));
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 0;
}

/** A script that reads its own flags (demo, bench): `--help` adds a line saying what it is. */
function passThrough(spec: { name: string; synopsis: string; brief: string; summary: string; file: string }): ProcessCommand {
  return {
    name: spec.name,
    brief: spec.brief,
    synopsis: spec.synopsis,
    summary: spec.summary,
    async run(argv) {
      if (argv.includes('--help') || argv.includes('-h')) {
        process.stdout.write(`highlander ${spec.name}: ${spec.summary}\nIts options (${spec.file}):\n`);
        return runScript(script(spec.file), ['--help']);
      }
      return runScript(script(spec.file), argv);
    },
  };
}

/** A process configured by an option table (node, admin API): checked here, then started with the same arguments. */
function configured<T extends OptionTable>(spec: {
  name: string;
  brief: string;
  summary: string;
  file: string;
  table: () => Promise<{ options: T; parse: (argv: readonly string[], env: Readonly<Record<string, string | undefined>>) => ParsedOptions<T> }>;
}): ProcessCommand {
  return {
    name: spec.name,
    brief: spec.brief,
    synopsis: '[options]',
    summary: spec.summary,
    async run(argv, env) {
      const { options, parse } = await spec.table();
      try {
        if (parse(argv, env).help) {
          process.stdout.write(renderHelp(options, { usage: `usage: highlander ${spec.name} [options]`, summary: spec.summary, footer: PRECEDENCE }));
          return EXIT.OK;
        }
      } catch (err) {
        if (err instanceof OptionsError) return usageError(spec.name, err.problems);
        throw err;
      }
      return runScript(script(spec.file), argv);
    },
  };
}

export const PROCESS_COMMANDS: readonly ProcessCommand[] = [
  passThrough({
    name: 'demo',
    brief: 'ZooKeeper, radosgw, 3 nodes and the admin API on loopback, with a workload',
    synopsis: '[--duration <s>] [--nodes <n>] [--rate <steps/s>] [--idle-timeout-ms <ms>]',
    summary:
      'Starts ZooKeeper, radosgw, three nodes and the admin API on loopback with the shared-todo-list workload, printing lifecycle events ' +
      'live; Ctrl-C stops it. Needs zookeeper and radosgw installed (./scripts/demo.sh installs them).',
    file: 'scripts/demo.ts',
  }),
  configured({
    name: 'node',
    brief: 'run one node',
    summary: 'Runs one Highlander node; SIGTERM or Ctrl-C drains it (queued calls finish, state is flushed, locks released), then it exits.',
    file: 'runtime/src/main.ts',
    table: async () => {
      const { NODE_OPTIONS, parseNodeConfig } = await import('../runtime/src/config.js');
      return { options: NODE_OPTIONS, parse: parseNodeConfig };
    },
  }),
  configured({
    name: 'admin',
    brief: 'run the admin API',
    summary: 'Runs the admin API (REST, ws stream, actions, audit log) for one cluster; SIGTERM or Ctrl-C stops it.',
    file: 'admin-api/src/main.ts',
    table: async () => {
      const { ADMIN_OPTIONS, parseAdminConfig } = await import('../admin-api/src/config.js');
      return { options: ADMIN_OPTIONS, parse: parseAdminConfig };
    },
  }),
  passThrough({
    name: 'bench',
    brief: 'run the benchmarks',
    synopsis: '[--runs N] [--only name,…] [--duration-ms N] …',
    summary: 'Runs the benchmarks, printing ratios against raw baselines measured in the same run.',
    file: 'bench/run.ts',
  }),
];
