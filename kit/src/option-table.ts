import { parseArgs } from 'node:util';
import { z } from 'zod';

/**
 * Options of the entry points (a node, the admin API, the `highlander` CLI), declared once as a
 * table: each option has a flag, usually an environment variable, a default, a description and a
 * zod schema that turns the raw string into its value. One parser applies a table (a flag wins
 * over its environment variable, the variable over the default), one renderer writes `--help`,
 * another the Markdown table of docs/configuration.md, so the three never disagree.
 *
 * ```ts
 * const OPTIONS = defineOptions({
 *   port: { flag: 'port', env: 'HIGHLANDER_PORT', group: 'Network', placeholder: '<port>', default: '0',
 *           description: 'Port of the ws endpoint; 0 picks a free one.', schema: port() },
 * });
 * const parsed = parseOptions(OPTIONS, process.argv.slice(2), process.env); // throws OptionsError
 * if (!parsed.help) parsed.values.port; // number
 * ```
 */

export interface OptionSpec {
  /** `--<flag>` on the command line. */
  flag: string;
  /** The environment variable, when the option has one. */
  env?: string;
  /** The section of `--help` and of the docs it is listed under. */
  group: string;
  /** What it does, for `--help` and the docs. */
  description: string;
  /** The value's placeholder in `--help` (`<ms>`); switches have none. */
  placeholder?: string;
  /** The value when neither the flag nor the variable is given, written as on the command line (validated like any value). */
  default?: string;
  /** How the docs describe the default when there is no literal one (`the AWS credential chain`). */
  defaultText?: string;
  /** Parsing fails without it. */
  required?: boolean;
  /** A switch: `--read-only` takes no value; its variable is `1`/`true`/`yes` or `0`/`false`/`no`. */
  switch?: boolean;
  /** A secret: never echoed in an error. */
  secret?: boolean;
  /** Turns the raw string into the value; its messages say what a valid value looks like. */
  schema: z.ZodType;
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

type ValueOf<O extends OptionSpec> = O extends { switch: true }
  ? boolean
  : O extends { default: string } | { required: true }
    ? z.output<O['schema']>
    : z.output<O['schema']> | undefined;

/** The values of a parsed table: an option with a default or required is always there. */
export type OptionValues<T extends OptionTable> = { -readonly [K in keyof T]: ValueOf<T[K]> };

export type ParsedOptions<T extends OptionTable> =
  | { help: true }
  | { help: false; values: OptionValues<T>; positionals: string[] };

/** Every problem found in the flags and environment, each naming the flag and the variable. */
export class OptionsError extends TypeError {
  readonly code = 'INVALID_OPTIONS';

  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'OptionsError';
  }
}

/** Declares a table (keeping its literal types) and checks that flags and variables are unique. */
export function defineOptions<const T extends OptionTable>(table: T): T {
  const flags = new Set<string>(['help']);
  const envs = new Set<string>();
  for (const [key, option] of Object.entries(table)) {
    if (flags.has(option.flag)) throw new TypeError(`option ${key}: flag --${option.flag} is declared twice`);
    flags.add(option.flag);
    if (option.env !== undefined) {
      if (envs.has(option.env)) throw new TypeError(`option ${key}: ${option.env} is declared twice`);
      envs.add(option.env);
    }
    if (option.switch && option.default !== undefined) throw new TypeError(`option ${key}: a switch defaults to off`);
    if (option.required && option.default !== undefined) throw new TypeError(`option ${key}: a required option has no default`);
  }
  return table;
}

/** `--zk` and `HIGHLANDER_ZK`, as errors and help name an option. */
export function optionName(option: OptionSpec): string {
  return option.env ? `--${option.flag} / ${option.env}` : `--${option.flag}`;
}

/**
 * Parses `argv` (flags) and `env` with a table. `--help`/`-h` short-circuits validation. Empty
 * environment variables count as unset. Throws {@link OptionsError} listing every problem.
 */
export function parseOptions<const T extends OptionTable>(
  table: T,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  options: { positionals?: boolean } = {},
): ParsedOptions<T> {
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(Object.values(table).map((o) => [o.flag, { type: o.switch ? 'boolean' : 'string' } as const])),
      },
      strict: true,
      allowPositionals: options.positionals ?? false,
    }) as typeof parsed;
  } catch (err) {
    throw new OptionsError([describeParseArgsError(err)]);
  }
  if (parsed.values.help === true) return { help: true };

  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, option] of Object.entries(table)) {
    const fromFlag = parsed.values[option.flag];
    const fromEnv = option.env ? env[option.env] : undefined;
    let raw: string | undefined;
    let source: string;
    if (fromFlag !== undefined) {
      raw = fromFlag === true ? 'true' : String(fromFlag);
      source = `--${option.flag} ${show(option, raw)}${option.env ? ` (or ${option.env})` : ''}`;
    } else if (fromEnv !== undefined && fromEnv !== '') {
      raw = fromEnv;
      source = `${option.env}=${show(option, raw)} (or --${option.flag})`;
    } else {
      raw = option.default;
      source = `the default of ${optionName(option)}, ${show(option, raw ?? '')},`;
    }
    if (raw === undefined) {
      if (option.switch) values[key] = false;
      else if (option.required) problems.push(`${optionName(option)} is required: ${option.description}`);
      else values[key] = undefined;
      continue;
    }
    const result = (option.switch ? switchValue : option.schema).safeParse(raw);
    if (result.success) values[key] = result.data;
    else problems.push(`${source}: ${result.error.issues.map((i) => i.message).join('; ')}`);
  }
  if (problems.length > 0) throw new OptionsError(problems);
  return { help: false, values: values as OptionValues<T>, positionals: parsed.positionals };
}

function show(option: OptionSpec, raw: string): string {
  return option.secret ? "'…'" : `'${raw}'`;
}

function describeParseArgsError(err: unknown): string {
  const { code, message } = err as { code?: string; message?: string };
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /'([^']+)'/.exec(message ?? '')?.[1];
    return `unknown option ${option ? `'${option}'` : ''}`.trim();
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const argument = /'([^']+)'/.exec(message ?? '')?.[1];
    return `unexpected argument ${argument ? `'${argument}'` : ''}`.trim();
  }
  // ERR_PARSE_ARGS_INVALID_OPTION_VALUE: a missing value, or a value given to a switch.
  return (message ?? String(err)).replace(/\.$/, '');
}

// ---- help and docs ----

/** How a value is chosen, said once in every `--help`. */
export const PRECEDENCE =
  'Each option may be given as a flag or as its environment variable: a flag wins over the variable, the variable over the default. ' +
  'An empty variable counts as unset.';

export interface HelpText {
  /** `usage: highlander node [options]` */
  usage: string;
  /** A paragraph under the usage line. */
  summary?: string;
  /** Lines after the options (exit codes…). */
  footer?: string;
}

/** `--help`: the options by group, each with its variable, its default and its description. */
export function renderHelp(tables: OptionTable | readonly OptionTable[], text: HelpText): string {
  const options = (Array.isArray(tables) ? tables : [tables]).flatMap((t: OptionTable) => Object.values(t));
  const width = Math.max(...options.map((o) => signature(o).length)) + 2;
  const lines = [text.usage];
  if (text.summary) lines.push('', ...wrap(text.summary, 100));
  for (const group of [...new Set(options.map((o) => o.group))]) {
    lines.push('', `${group}:`);
    for (const option of options.filter((o) => o.group === group)) {
      const facts = [option.env, defaultOf(option, 'text')].filter(Boolean).join(', ');
      lines.push(`  ${signature(option).padEnd(width)}${facts}`.trimEnd());
      for (const line of wrap(option.description, 96)) lines.push(`      ${line}`);
    }
  }
  lines.push('', '  -h, --help', '      Print this help.');
  if (text.footer) lines.push('', text.footer);
  return `${lines.join('\n')}\n`;
}

/** The docs' table: `| flag | env var | default | meaning |`, one row per option. */
export function renderMarkdownTable(tables: OptionTable | readonly OptionTable[]): string {
  const options = (Array.isArray(tables) ? tables : [tables]).flatMap((t: OptionTable) => Object.values(t));
  const cell = (s: string) => s.replaceAll('|', '\\|');
  const rows = options.map((o) => `| \`${signature(o)}\` | ${o.env ? `\`${o.env}\`` : '—'} | ${cell(defaultOf(o, 'markdown'))} | ${cell(o.description)} |`);
  return ['| flag | env var | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

function signature(option: OptionSpec): string {
  return option.placeholder && !option.switch ? `--${option.flag} ${option.placeholder}` : `--${option.flag}`;
}

function defaultOf(option: OptionSpec, style: 'text' | 'markdown'): string {
  const code = (s: string) => (style === 'markdown' ? `\`${s}\`` : s);
  if (option.required) return style === 'markdown' ? '**required**' : 'required';
  if (option.switch) return style === 'markdown' ? 'off' : '';
  if (option.default !== undefined) return `${style === 'text' ? 'default ' : ''}${code(option.default)}${option.defaultText ? ` (${option.defaultText})` : ''}`;
  if (option.defaultText) return `${style === 'text' ? 'default: ' : ''}${option.defaultText}`;
  return style === 'markdown' ? '—' : '';
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

// ---- schemas for raw string values; their messages say what a valid value looks like ----

const SWITCH_VALUES: Record<string, boolean> = { 1: true, true: true, yes: true, on: true, 0: false, false: false, no: false, off: false };

const switchValue = z.string().transform((value, ctx) => {
  const on = SWITCH_VALUES[value.toLowerCase()];
  if (on === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be 1, true, yes or on (or 0, false, no, off)' });
    return z.NEVER;
  }
  return on;
});

/** A whole number in `[min, max]`. */
export function integer(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
  const message = `must be a whole number ${range}`;
  return z.string().trim().regex(/^-?[0-9]+$/, message).transform(Number).pipe(z.number().int().min(min, message).max(max, message));
}

/** A duration in milliseconds, at least `min`. */
export function milliseconds(min = 1, max = 2 ** 31 - 1) {
  const message = max === 2 ** 31 - 1
    ? `must be a duration in milliseconds, a whole number of at least ${min} (e.g. 10000 for 10 s)`
    : `must be a duration in milliseconds, a whole number from ${min} to ${max} (e.g. 10000 for 10 s)`;
  return z.string().trim().regex(/^[0-9]+$/, message).transform(Number).pipe(z.number().int().min(min, message).max(max, message));
}

/** A TCP port; 0 picks a free one. */
export function port() {
  return integer(0, 65535);
}

/** A host name or IP address to listen on or to advertise. */
export function host() {
  return z.string().regex(/^[A-Za-z0-9.:_[\]-]+$/, 'must be a host name or an IP address, e.g. 127.0.0.1 or 0.0.0.0');
}

/** An http(s) URL. */
export function httpUrl(example: string) {
  return z.string().refine((value) => {
    try {
      return ['http:', 'https:'].includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, `must be an http(s) URL like ${example}`);
}

/** One of `values`. */
export function oneOf<const V extends readonly [string, ...string[]]>(values: V) {
  return z.enum(values, { error: `must be one of ${values.join(', ')}` });
}

/** A string checked by a validator that throws with a message (the runtime's name validators, the admin API's token checks). */
export function checkedBy<T>(validate: (value: string) => T) {
  return z.string().transform((value, ctx) => {
    try {
      return validate(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
      return z.NEVER;
    }
  });
}
