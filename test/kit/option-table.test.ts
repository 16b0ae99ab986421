import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  PRECEDENCE, checkedBy, defineOptions, host, httpUrl, integer, milliseconds, oneOf, optionName, parseOptions, port, renderHelp,
  renderMarkdownTable, type OptionTable,
} from '@highlander/kit';
import { problems } from '../harness/option-checks.js';

/**
 * kit's option tables (kit/src/option-table.ts) on a table of this test's own: the parser (a flag wins
 * over its environment variable, the variable over the default; every problem at once, each naming
 * the flag and the variable and saying what a valid value looks like; secrets never echoed), the value
 * schemas, `--help` and the docs' Markdown table. The entry points' own tables: test/cli/.
 */

const TABLE = defineOptions({
  name: {
    flag: 'name', env: 'TEST_NAME', group: 'Identity', placeholder: '<name>', required: true, description: 'Who this is.',
    schema: checkedBy((value) => {
      if (!/^[a-z-]+$/.test(value)) throw new TypeError('allowed characters are a-z and -');
      return value;
    }),
  },
  url: { flag: 'url', env: 'TEST_URL', group: 'Network', placeholder: '<url>', required: true, description: 'Where to connect.', schema: httpUrl('http://127.0.0.1:8080') },
  port: { flag: 'port', env: 'TEST_PORT', group: 'Network', placeholder: '<port>', default: '0', description: 'Port; 0 picks a free one.', schema: port() },
  host: { flag: 'host', env: 'TEST_HOST', group: 'Network', placeholder: '<host>', default: '127.0.0.1', description: 'Interface to listen on.', schema: host() },
  timeoutMs: { flag: 'timeout-ms', env: 'TEST_TIMEOUT_MS', group: 'Network', placeholder: '<ms>', default: '10000', description: 'Give up after this long.', schema: milliseconds(1) },
  mode: { flag: 'mode', env: 'TEST_MODE', group: 'Behaviour', placeholder: '<mode>', default: 'fast', description: 'fast | safe.', schema: oneOf(['fast', 'safe']) },
  retries: { flag: 'retries', group: 'Behaviour', placeholder: '<n>', default: '3', description: 'Attempts; no variable.', schema: integer(1, 10) },
  verbose: { flag: 'verbose', env: 'TEST_VERBOSE', group: 'Behaviour', switch: true, description: 'Say more.', schema: z.boolean() },
  secret: {
    flag: 'secret', env: 'TEST_SECRET', group: 'Access', placeholder: '<token>', secret: true, defaultText: 'none', description: 'A token.',
    schema: z.string().regex(/^[a-z0-9]+$/, 'must use only a-z 0-9'),
  },
});

const REQUIRED = { TEST_NAME: 'ada', TEST_URL: 'http://127.0.0.1:8080' };

function values(argv: string[], env: Record<string, string> = {}) {
  const parsed = parseOptions(TABLE, argv, { ...REQUIRED, ...env });
  if (parsed.help) throw new Error('unexpected --help');
  return parsed.values;
}

describe('parseOptions', () => {
  it('takes a flag over its environment variable, the variable over the default', () => {
    expect(values([]).port).toBe(0);
    expect(values([], { TEST_PORT: '7001' }).port).toBe(7001);
    expect(values(['--port', '7002'], { TEST_PORT: '7001' }).port).toBe(7002);
    expect(values(['--port=7003']).port).toBe(7003);
    expect(values(['--name', 'grace']).name).toBe('grace');
  });

  it('turns every value into its type, and leaves an option without a default undefined', () => {
    expect(values([])).toEqual({
      name: 'ada', url: 'http://127.0.0.1:8080', port: 0, host: '127.0.0.1', timeoutMs: 10_000, mode: 'fast', retries: 3, verbose: false, secret: undefined,
    });
  });

  it('counts an empty environment variable as unset', () => {
    expect(values([], { TEST_PORT: '', TEST_MODE: '' })).toMatchObject({ port: 0, mode: 'fast' });
    expect(problems(() => values([], { TEST_NAME: '' }))).toEqual(['--name / TEST_NAME is required: Who this is.']);
  });

  it('reads a switch from a bare flag or from 1/true/yes/on or 0/false/no/off, in any case', () => {
    expect(values(['--verbose']).verbose).toBe(true);
    for (const on of ['1', 'true', 'YES', 'on']) expect(values([], { TEST_VERBOSE: on }).verbose).toBe(true);
    for (const off of ['0', 'false', 'no', 'Off']) expect(values([], { TEST_VERBOSE: off }).verbose).toBe(false);
    expect(problems(() => values([], { TEST_VERBOSE: 'maybe' }))).toEqual([
      "TEST_VERBOSE='maybe' (or --verbose): must be 1, true, yes or on (or 0, false, no, off)",
    ]);
  });

  it('names the flag and the variable of every missing required option, all at once', () => {
    expect(problems(() => parseOptions(TABLE, [], {}))).toEqual([
      '--name / TEST_NAME is required: Who this is.',
      '--url / TEST_URL is required: Where to connect.',
    ]);
  });

  it('says where each bad value came from and what a valid one looks like, all at once', () => {
    expect(problems(() => values(['--port', '70000'], { TEST_TIMEOUT_MS: '10s' }))).toEqual([
      "--port '70000' (or TEST_PORT): must be a whole number from 0 to 65535",
      "TEST_TIMEOUT_MS='10s' (or --timeout-ms): must be a duration in milliseconds, a whole number of at least 1 (e.g. 10000 for 10 s)",
    ]);
    expect(problems(() => values(['--retries', '11']))).toEqual(["--retries '11': must be a whole number from 1 to 10"]);
    expect(problems(() => values(['--mode', 'slow']))).toEqual(["--mode 'slow' (or TEST_MODE): must be one of fast, safe"]);
    expect(problems(() => values([], { TEST_URL: '127.0.0.1:8080' }))).toEqual([
      "TEST_URL='127.0.0.1:8080' (or --url): must be an http(s) URL like http://127.0.0.1:8080",
    ]);
    expect(problems(() => values(['--host', 'a host']))[0]).toContain('must be a host name or an IP address');
    expect(problems(() => values(['--name', 'Ada 1']))).toEqual(["--name 'Ada 1' (or TEST_NAME): allowed characters are a-z and -"]);
  });

  it('never echoes a secret', () => {
    for (const [argv, env] of [[['--secret', 'NOT A TOKEN'], {}], [[], { TEST_SECRET: 'NOT A TOKEN' }]] as const) {
      const [problem] = problems(() => values([...argv], env));
      expect(problem).toContain("'…'");
      expect(problem).toContain('must use only a-z 0-9');
      expect(problem).not.toContain('NOT A TOKEN');
    }
    expect(values([], { TEST_SECRET: 'abc123' }).secret).toBe('abc123');
  });

  it('refuses unknown flags, stray arguments and a flag without its value', () => {
    expect(problems(() => values(['--prot', '1']))).toEqual(["unknown option '--prot'"]);
    expect(problems(() => values(['stray']))).toEqual(["unexpected argument 'stray'"]);
    expect(problems(() => values(['--port']))[0]).toContain('--port');
  });

  it('returns positional arguments when asked to take them', () => {
    expect(parseOptions(TABLE, ['counter/c1', '--port', '1'], REQUIRED, { positionals: true })).toMatchObject({
      help: false, values: { port: 1 }, positionals: ['counter/c1'],
    });
  });

  it('stops at --help or -h without checking anything else', () => {
    expect(parseOptions(TABLE, ['--help', '--port', 'x'], {})).toEqual({ help: true });
    expect(parseOptions(TABLE, ['-h'], {})).toEqual({ help: true });
  });
});

describe('defineOptions', () => {
  it('refuses a flag or a variable declared twice, a switch with a default and a required option with a default', () => {
    const schema = port();
    expect(() => defineOptions({ a: { flag: 'x', group: 'g', description: '', schema }, b: { flag: 'x', group: 'g', description: '', schema } })).toThrow('flag --x is declared twice');
    expect(() => defineOptions({ a: { flag: 'help', group: 'g', description: '', schema } })).toThrow('flag --help is declared twice');
    expect(() => defineOptions({ a: { flag: 'a', env: 'X', group: 'g', description: '', schema }, b: { flag: 'b', env: 'X', group: 'g', description: '', schema } })).toThrow('X is declared twice');
    expect(() => defineOptions({ a: { flag: 'a', switch: true, default: '1', group: 'g', description: '', schema } })).toThrow('a switch defaults to off');
    expect(() => defineOptions({ a: { flag: 'a', required: true, default: '1', group: 'g', description: '', schema } })).toThrow('a required option has no default');
  });

  it('names an option by its flag and its variable', () => {
    expect(optionName(TABLE.port)).toBe('--port / TEST_PORT');
    expect(optionName(TABLE.retries)).toBe('--retries');
  });
});

describe('--help and the docs', () => {
  it('--help lists every option under its group, with its variable and its default, then the footer', () => {
    const help = renderHelp(TABLE, { usage: 'usage: test [options]', summary: 'A test program.', footer: PRECEDENCE });
    const lines = help.split('\n');
    expect(lines[0]).toBe('usage: test [options]');
    expect(lines[2]).toBe('A test program.');
    expect(lines.filter((l) => l.endsWith(':') && !l.startsWith(' '))).toEqual(['Identity:', 'Network:', 'Behaviour:', 'Access:']);
    expect(help).toMatch(/^ {2}--name <name> +TEST_NAME, required$/m);
    expect(help).toMatch(/^ {2}--port <port> +TEST_PORT, default 0$/m);
    expect(help).toMatch(/^ {2}--retries <n> +default 3$/m);
    expect(help).toMatch(/^ {2}--verbose +TEST_VERBOSE$/m);
    expect(help).toMatch(/^ {2}--secret <token> +TEST_SECRET, default: none$/m);
    expect(help).toMatch(/^ {6}Port; 0 picks a free one\.$/m);
    expect(help).toContain('  -h, --help\n      Print this help.');
    expect(help.trimEnd().endsWith(`\n\n${PRECEDENCE}`)).toBe(true);
  });

  it('the docs\' table has one row per option, required and switches said so, pipes escaped', () => {
    const rows = renderMarkdownTable(TABLE).split('\n');
    expect(rows.slice(0, 2)).toEqual(['| flag | env var | default | meaning |', '|---|---|---|---|']);
    expect(rows).toHaveLength(2 + Object.keys(TABLE).length);
    expect(rows).toContain('| `--name <name>` | `TEST_NAME` | **required** | Who this is. |');
    expect(rows).toContain('| `--port <port>` | `TEST_PORT` | `0` | Port; 0 picks a free one. |');
    expect(rows).toContain('| `--retries <n>` | — | `3` | Attempts; no variable. |');
    expect(rows).toContain('| `--verbose` | `TEST_VERBOSE` | off | Say more. |');
    expect(rows).toContain('| `--secret <token>` | `TEST_SECRET` | none | A token. |');
    expect(rows).toContain('| `--mode <mode>` | `TEST_MODE` | `fast` | fast \\| safe. |');
  });

  it('both take several tables as one', () => {
    const other: OptionTable = defineOptions({ extra: { flag: 'extra', env: 'TEST_EXTRA', group: 'Other', description: 'More.', schema: port() } });
    expect(renderHelp([TABLE, other], { usage: 'u' })).toContain('Other:\n  --extra');
    expect(renderMarkdownTable([TABLE, other]).split('\n')).toHaveLength(2 + Object.keys(TABLE).length + 1);
  });
});
