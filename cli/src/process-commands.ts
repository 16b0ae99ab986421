import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OptionsError, PRECEDENCE, renderHelp, type OptionTable, type OptionValues, type ParsedOptions } from '@highlander/kit';
import { EXIT } from './exit-codes.js';
import { usageError } from './client-commands.js';

/**
 * The commands that run something: `node` and `admin` run in this process (options checked against
 * the option table first, so a bad value exits 2 before anything starts, and `--help` is generated
 * from the table); in a checkout of the repository, `demo` and `bench` run their TypeScript script
 * as a child process with the arguments passed on, relaying SIGINT, SIGTERM and SIGHUP to it, and
 * exit with its exit code.
 */

export interface ProcessCommand {
  name: string;
  synopsis: string;
  /** One line for `highlander --help`. */
  brief: string;
  summary: string;
  run(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<number>;
}

/** A script of the repository (demo, bench): there only in a checkout, run from its TypeScript sources. */
const repositoryScript = (relative: string) => fileURLToPath(new URL(`../../${relative}`, import.meta.url));

/**
 * Runs `file` with this process's Node flags (its loader and conditions) and resolves with its exit
 * code; a `.ts` file runs under tsx. The child gets its own process group, so a Ctrl-C reaches it
 * once, relayed from here (a node drains on the first SIGINT and dies on the second).
 */
export function runScript(file: string, args: readonly string[]): Promise<number> {
  const typescript = file.endsWith('.ts') && !process.execArgv.some((a) => a.includes('tsx'));
  const flags = [...process.execArgv, ...(typescript ? ['--conditions=@highlander/source', '--import', import.meta.resolve('tsx')] : [])];
  const child = spawn(process.execPath, [...flags, file, ...args], {
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
      const file = repositoryScript(spec.file);
      if (!existsSync(file)) {
        process.stderr.write(`highlander ${spec.name}: runs in a checkout of the Highlander repository (${spec.file} is not installed with the CLI)\n`);
        return EXIT.FAILED;
      }
      if (argv.includes('--help') || argv.includes('-h')) {
        process.stdout.write(`highlander ${spec.name}: ${spec.summary}\nIts options (${spec.file}):\n`);
        return runScript(file, ['--help']);
      }
      return runScript(file, argv);
    },
  };
}

/** A process configured by an option table (node, admin API): checked here, then started with the same arguments. */
function configured<T extends OptionTable>(spec: {
  name: string;
  brief: string;
  summary: string;
  table: () => Promise<{
    options: T;
    parse: (argv: readonly string[], env: Readonly<Record<string, string | undefined>>) => ParsedOptions<T>;
    serve: (values: OptionValues<T>) => Promise<unknown>;
  }>;
}): ProcessCommand {
  return {
    name: spec.name,
    brief: spec.brief,
    synopsis: '[options]',
    summary: spec.summary,
    async run(argv, env) {
      const { options, parse, serve } = await spec.table();
      let parsed: ParsedOptions<T>;
      try {
        parsed = parse(argv, env);
      } catch (err) {
        if (err instanceof OptionsError) return usageError(spec.name, err.problems);
        throw err;
      }
      if (parsed.help) {
        process.stdout.write(renderHelp(options, { usage: `usage: highlander ${spec.name} [options]`, summary: spec.summary, footer: PRECEDENCE }));
        return EXIT.OK;
      }
      // In this process: signals reach it directly. It runs until a signal stops it.
      await serve(parsed.values);
      return EXIT.OK;
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
    table: async () => {
      const { NODE_OPTIONS, parseNodeConfig } = await import('./node-process/options.js');
      const { serveNode } = await import('./node-process/node-process.js');
      return { options: NODE_OPTIONS, parse: parseNodeConfig, serve: serveNode };
    },
  }),
  configured({
    name: 'admin',
    brief: 'run the admin API',
    summary: 'Runs the admin API (REST, ws stream, actions, audit log) for one cluster; SIGTERM or Ctrl-C stops it.',
    table: async () => {
      const { ADMIN_OPTIONS, parseAdminConfig } = await import('./admin-process/options.js');
      const { serveAdmin } = await import('./admin-process/admin-process.js');
      return { options: ADMIN_OPTIONS, parse: parseAdminConfig, serve: serveAdmin };
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
