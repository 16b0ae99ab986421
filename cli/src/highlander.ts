#!/usr/bin/env node
/**
 * `highlander`: run a cluster (`demo`, `node`, `admin`, `bench`) and operate one through the admin
 * API (`ls nodes`, `ls objects`, `hot`, `show`, `get`, `call`, `put`, `evict`, `migrate`, `drain`, `rebalance`). `highlander --help` and
 * `highlander <command> --help` describe everything; docs/cli.md too. Exit codes: cli/exit-codes.ts.
 *
 *   bin/highlander ls nodes --api http://127.0.0.1:8080 --token "$VIEWER_TOKEN"
 *   npm run highlander -- migrate todo/a1 --to node-b --json
 */
import { CLIENT_COMMANDS, CLIENT_OPTIONS, usageError } from './client-commands.js';
import { EXIT, EXIT_CODES_HELP } from './exit-codes.js';
import { PROCESS_COMMANDS } from './process-commands.js';
import type { OptionSpec } from '@highlander/kit';

interface Command {
  name: string;
  synopsis: string;
  /** One line for `highlander --help`. */
  brief: string;
  summary: string;
  run(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<number>;
}

const COMMANDS: readonly Command[] = [...PROCESS_COMMANDS, ...CLIENT_COMMANDS];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => usageOf(c).length)) + 2;
  const line = (c: Command) => `  ${usageOf(c).padEnd(width)}${c.brief}`;
  const options = Object.values(CLIENT_OPTIONS).map((o: OptionSpec) => {
    const signature = `--${o.flag}${o.placeholder ? ` ${o.placeholder}` : ''}`;
    const facts = [o.env, o.default !== undefined ? `default ${o.default}` : undefined].filter(Boolean).join(', ');
    return `  ${signature.padEnd(width)}${facts || o.description.split(' (')[0]}`;
  });
  return [
    'usage: highlander <command> [arguments] [options]',
    '',
    'Highlander: single-owner objects on ZooKeeper and S3. There can be only one.',
    '',
    'Run:',
    ...PROCESS_COMMANDS.map(line),
    '',
    'Operate, through the admin API:',
    ...CLIENT_COMMANDS.map(line),
    '',
    'Options of every operate command:',
    ...options,
    '',
    '`highlander <command> --help` describes a command and each of its options; docs/configuration.md lists',
    'every option of nodes and the admin API.',
    '',
    EXIT_CODES_HELP,
    '',
  ].join('\n');
}

/** `show <type>/<id>`; the run commands' many options are in their own --help. */
function usageOf(command: Command): string {
  return command.synopsis && !command.synopsis.startsWith('[') ? `${command.name} ${command.synopsis}` : command.name;
}

async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    if (first === undefined) {
      process.stderr.write(help());
      return EXIT.USAGE;
    }
    process.stdout.write(help());
    return EXIT.OK;
  }
  if (first === 'ls') {
    const [what, ...args] = rest;
    if (what === undefined || what === '--help' || what === '-h') {
      const out = what === undefined ? process.stderr : process.stdout;
      out.write('usage: highlander ls nodes [options] | highlander ls objects [options]\n  (highlander ls nodes --help, highlander ls objects --help)\n');
      return what === undefined ? EXIT.USAGE : EXIT.OK;
    }
    const command = COMMANDS.find((c) => c.name === `ls ${what}`);
    if (!command) return usageError('ls', [`unknown listing '${what}': it is ls nodes or ls objects`]);
    return command.run(args, process.env);
  }
  const command = COMMANDS.find((c) => c.name === first);
  if (!command) {
    process.stderr.write(`highlander: unknown command '${first}'; the commands are ${[...new Set(COMMANDS.map((c) => c.name.split(' ')[0]))].join(', ')} (see highlander --help)\n`);
    return EXIT.USAGE;
  }
  return command.run(rest, process.env);
}

process.exitCode = await main(process.argv.slice(2));
