import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type {
  AuditRecord, CallResult, HistoryEntry, HistoryPage, HotObjectView, HotRanking, LockQueueEntryView, NodeView, ObjectDetail, ObjectView, Page, RebalanceStatus,
  MoveShardsResult, ReplaceStateResult, ShardsView, StatsSample,
} from '@highlander/admin-api';
import { validateNodeName, validateObjectId, validateTypeName } from '@highlander/runtime';
import {
  OptionsError, PRECEDENCE, checkedBy, defineOptions, httpUrl, integer, milliseconds, oneOf, parseOptions, renderHelp,
  type OptionTable, type OptionValues,
} from '@highlander/kit';
import { AdminApiClient, type ApiAnswer } from './admin-api-client.js';
import { CliError, EXIT, EXIT_CODES_HELP } from './exit-codes.js';
import { formatDuration, formatJson, formatTable } from './table.js';

/**
 * The commands that operate a running cluster through the admin API: `ls nodes`, `ls objects`,
 * `hot`, `show`, `history`, `get`, `call`, `put`, `edits`, `restore`, `evict`, `migrate`, `drain`, `rebalance`, `shards`, `metrics`. Each declares its options as a table (@highlander/kit's option table)
 * on top of {@link CLIENT_OPTIONS}, prints aligned tables, or with `--json` the admin API's answer verbatim.
 */

/** Options every client command takes: where the admin API is, which token, how long to wait, how to print. */
export const CLIENT_OPTIONS = defineOptions({
  api: {
    flag: 'api', env: 'HIGHLANDER_API_URL', group: 'Admin API', placeholder: '<url>', default: 'http://127.0.0.1:8080',
    description: 'Base URL of the admin API (what `highlander admin` prints when it starts).',
    schema: httpUrl('http://127.0.0.1:8080'),
  },
  token: {
    flag: 'token', env: 'HIGHLANDER_API_TOKEN', group: 'Admin API', placeholder: '<token>', secret: true,
    defaultText: 'none (every request is refused: 401)',
    description: 'One of the admin API\'s tokens: a viewer token reads, an operator token also evicts, migrates and drains. Prefer the variable: flags show in process listings.',
    schema: z.string().regex(/^[A-Za-z0-9._~-]+$/, 'must use only A-Z a-z 0-9 - . _ ~ (like every admin API token)'),
  },
  timeoutMs: {
    flag: 'timeout-ms', env: 'HIGHLANDER_API_TIMEOUT_MS', group: 'Admin API', placeholder: '<ms>', default: '60000',
    description: 'Give up on the admin API after this long (exit 3). Migrations and drains answer once done.',
    schema: milliseconds(1),
  },
  json: {
    flag: 'json', group: 'Output', switch: true,
    description: 'Print the admin API\'s JSON answer verbatim instead of a table (its error body too, on stdout).',
    schema: z.boolean(),
  },
});

type ClientValues = OptionValues<typeof CLIENT_OPTIONS>;

interface Context<T extends OptionTable> {
  values: ClientValues & OptionValues<T>;
  positionals: string[];
  api: AdminApiClient;
  /** Writes the answer: verbatim with `--json`, else `human(body)`. */
  print<B>(answer: ApiAnswer<B>, human: (body: B) => string): void;
}

export interface ClientCommand {
  name: string;
  /** `<type>/<id> [--force]` */
  synopsis: string;
  /** One line for `highlander --help`. */
  brief: string;
  summary: string;
  run(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<number>;
}

function clientCommand<const T extends OptionTable>(spec: {
  name: string;
  synopsis: string;
  brief: string;
  summary: string;
  options: T;
  /** Names of the positional arguments, e.g. `['<type>/<id>']`. */
  positionals: readonly string[];
  /** How many of the last positionals may be left out. @default 0 */
  optional?: number;
  run(context: Context<T>): Promise<void>;
}): ClientCommand {
  const table = { ...CLIENT_OPTIONS, ...spec.options };
  return {
    name: spec.name,
    brief: spec.brief,
    synopsis: spec.synopsis,
    summary: spec.summary,
    async run(argv, env) {
      let values: ClientValues & OptionValues<T>;
      let positionals: string[];
      try {
        const parsed = parseOptions(table, argv, env, { positionals: spec.positionals.length > 0 });
        if (parsed.help) {
          process.stdout.write(renderHelp([spec.options, CLIENT_OPTIONS], {
            usage: `usage: highlander ${spec.name}${spec.synopsis ? ` ${spec.synopsis}` : ''} [options]`,
            summary: spec.summary,
            footer: `${PRECEDENCE}\n\n${EXIT_CODES_HELP}`,
          }));
          return EXIT.OK;
        }
        const fewest = spec.positionals.length - (spec.optional ?? 0);
        if (parsed.positionals.length < fewest || parsed.positionals.length > spec.positionals.length) {
          const expected = spec.positionals.length === 0
            ? 'no arguments'
            : spec.positionals.map((p, i) => (i >= fewest ? `[${p}]` : p)).join(' ');
          throw new OptionsError([`highlander ${spec.name} takes ${expected} (got ${parsed.positionals.length === 0 ? 'none' : parsed.positionals.map((p) => `'${p}'`).join(' ')})`]);
        }
        values = parsed.values as ClientValues & OptionValues<T>;
        positionals = parsed.positionals;
      } catch (err) {
        if (err instanceof OptionsError) return usageError(spec.name, err.problems);
        throw err;
      }
      const api = new AdminApiClient({ url: values.api, token: values.token, timeoutMs: values.timeoutMs });
      const print = <B>(answer: ApiAnswer<B>, human: (body: B) => string) => {
        process.stdout.write(values.json ? `${answer.text.trimEnd()}\n` : `${human(answer.body)}\n`);
      };
      try {
        await spec.run({ values, positionals, api, print });
        return EXIT.OK;
      } catch (err) {
        if (err instanceof OptionsError) return usageError(spec.name, err.problems);
        if (!(err instanceof CliError)) throw err;
        if (values.json && err.body !== undefined) process.stdout.write(`${err.body.trimEnd()}\n`);
        process.stderr.write(`highlander ${spec.name}: ${err.message}\n`);
        return err.exitCode;
      }
    },
  };
}

export function usageError(command: string, problems: readonly string[]): number {
  for (const problem of problems) process.stderr.write(`highlander ${command}: ${problem}\n`);
  process.stderr.write(`highlander ${command}: see highlander ${command} --help\n`);
  return EXIT.USAGE;
}

/** `<type>/<id>`, checked with the runtime's own name rules. */
function objectArgument(value: string): { type: string; id: string } {
  const slash = value.indexOf('/');
  if (slash < 0) throw new OptionsError([`'${value}' is not <type>/<id>, e.g. todo/a1b2`]);
  const type = value.slice(0, slash);
  const id = value.slice(slash + 1);
  const problems: string[] = [];
  for (const check of [() => validateTypeName(type), () => validateObjectId(id)]) {
    try {
      check();
    } catch (err) {
      problems.push(`'${value}': ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new OptionsError(problems);
  return { type, id };
}

function nodeArgument(value: string): string {
  try {
    return validateNodeName(value);
  } catch (err) {
    throw new OptionsError([`'${value}': ${(err as Error).message}`]);
  }
}

const enc = encodeURIComponent;
const path = (o: { type: string; id: string }) => `/api/objects/${enc(o.type)}/${enc(o.id)}`;
const ago = (time: number | null | undefined) => (time ? `${formatDuration(Math.max(0, Date.now() - time))} ago` : '—');
const rate = (n: number) => (n === 0 ? '0' : n.toFixed(n < 10 ? 1 : 0));

// ---- the commands ----

const lsNodes = clientCommand({
  name: 'ls nodes',
  brief: 'the live nodes',
  synopsis: '',
  summary: 'Lists the live nodes: address, pid, uptime, status (up, draining, unreachable), activations, calls per second.',
  options: defineOptions({}),
  positionals: [],
  async run({ api, print }) {
    print(await api.get<{ items: NodeView[] }>('/api/nodes'), ({ items }) => {
      if (items.length === 0) return 'no nodes';
      return formatTable(
        ['NAME', 'STATUS', 'ADDRESS', 'PID', 'UPTIME', 'ACTIVATIONS', 'CALLS/S'],
        items.map((n) => [n.name, n.status, n.address, n.pid, formatDuration(n.uptimeMs), n.activations, rate(n.callsPerSecond)]),
        { right: [3, 5, 6] },
      );
    });
  },
});

const LS_OBJECTS_OPTIONS = defineOptions({
  type: {
    flag: 'type', group: 'Filter', placeholder: '<type>', description: 'Only objects of this type.', schema: checkedBy(validateTypeName),
  },
  node: {
    flag: 'node', group: 'Filter', placeholder: '<node>', description: 'Only objects owned by this node.', schema: checkedBy(validateNodeName),
  },
  prefix: {
    flag: 'prefix', group: 'Filter', placeholder: '<id-prefix>', description: 'Only ids starting with this.',
    schema: z.string().regex(/^[A-Za-z0-9._:@-]*$/, 'an id prefix has only the characters of object ids: A-Z a-z 0-9 . _ : @ -'),
  },
  sort: {
    flag: 'sort', group: 'Order and pages', placeholder: '<key>', default: 'id', description: 'Sort by id, type, owner, activeSince or callsPerSecond.',
    schema: oneOf(['id', 'type', 'owner', 'activeSince', 'callsPerSecond']),
  },
  order: {
    flag: 'order', group: 'Order and pages', placeholder: '<asc|desc>', default: 'asc', description: 'Sort order.', schema: oneOf(['asc', 'desc']),
  },
  limit: {
    flag: 'limit', group: 'Order and pages', placeholder: '<n>', default: '100', description: 'Objects per page, 1 to 1000.', schema: integer(1, 1000),
  },
  cursor: {
    flag: 'cursor', group: 'Order and pages', placeholder: '<cursor>', description: 'The next page: the cursor printed under the previous one.',
    schema: z.string().min(1),
  },
});

const lsObjects = clientCommand({
  name: 'ls objects',
  brief: 'the active objects (filter, sort, pages)',
  synopsis: '',
  summary: 'Lists the active objects (one page at a time): type, id, owner, epoch, age, last call, calls per second, mailbox length.',
  options: LS_OBJECTS_OPTIONS,
  positionals: [],
  async run({ values, api, print }) {
    const query = new URLSearchParams({ sort: values.sort, order: values.order, limit: String(values.limit) });
    if (values.type) query.set('type', values.type);
    if (values.node) query.set('node', values.node);
    if (values.prefix) query.set('idPrefix', values.prefix);
    if (values.cursor) query.set('cursor', values.cursor);
    print(await api.get<Page<ObjectView>>(`/api/objects?${query}`), (page) => {
      const lines: string[] = [];
      if (page.items.length > 0) {
        lines.push(formatTable(
          ['TYPE', 'ID', 'OWNER', 'EPOCH', 'ACTIVE FOR', 'LAST CALL', 'CALLS/S', 'QUEUE'],
          page.items.map((o) => [o.type, o.id, o.owner, o.epoch, formatDuration(Date.now() - o.activeSince), ago(o.lastCallAt), rate(o.callsPerSecond), o.queueLength]),
          { right: [6, 7] },
        ));
      }
      const what = page.total === 1 ? 'object' : 'objects';
      lines.push(page.items.length === page.total ? `${page.total} ${what}` : `${page.items.length} of ${page.total} ${what}`);
      if (page.cursor) lines.push(`next page: --cursor ${page.cursor}`);
      return lines.join('\n');
    });
  },
});

const hot = clientCommand({
  name: 'hot',
  brief: 'the hottest objects by calls/s, error rate, p99, mailbox or state size',
  synopsis: '',
  summary:
    "Lists the hottest objects, from each node's latest stats interval (its busiest objects, at most 1,000 per node): " +
    'type, id, node, calls per second, error rate, p99 latency, mailbox length, state size; highest first by --by.',
  options: defineOptions({
    by: {
      flag: 'by', group: 'Ranking', placeholder: '<figure>', default: 'calls',
      description: 'Rank by calls (per second), errors (error rate), p99 (latency), queue (mailbox length) or state (size).',
      schema: oneOf(['calls', 'errors', 'p99', 'queue', 'state']),
    },
    type: LS_OBJECTS_OPTIONS.type,
    node: { ...LS_OBJECTS_OPTIONS.node, description: 'Only objects listed by this node (their owner).' },
    limit: { flag: 'limit', group: 'Ranking', placeholder: '<n>', default: '20', description: 'Rows, 1 to 200.', schema: integer(1, 200) },
  }),
  positionals: [],
  async run({ values, api, print }) {
    const query = new URLSearchParams({ by: values.by, limit: String(values.limit) });
    if (values.type) query.set('type', values.type);
    if (values.node) query.set('node', values.node);
    print(await api.get<{ by: HotRanking; items: HotObjectView[] }>(`/api/hot?${query}`), ({ items }) => {
      if (items.length === 0) return 'no objects with calls in the last interval';
      return formatTable(
        ['TYPE', 'ID', 'NODE', 'CALLS/S', 'ERRORS', 'P99', 'QUEUE', 'STATE'],
        items.map((o) => [o.type, o.id, o.node, rate(o.callsPerSecond), percent(o.errorRate), `${o.p99Ms} ms`, o.queue, formatBytes(o.stateBytes)]),
        { right: [3, 4, 5, 6, 7] },
      );
    });
  },
});

const percent = (fraction: number) => (fraction === 0 ? '0%' : `${(fraction * 100).toFixed(fraction < 0.1 ? 1 : 0)}%`);
const formatBytes = (n: number) => (n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`);

const show = clientCommand({
  name: 'show',
  brief: 'one object: owner, lock queue, in-memory and persisted state',
  synopsis: '<type>/<id>',
  summary: 'Shows one object: its owner, epoch and activity, its lock queue, its in-memory state (from its owner) and its persisted state (from S3).',
  options: defineOptions({}),
  positionals: ['<type>/<id>'],
  async run({ positionals, api, print }) {
    const object = objectArgument(positionals[0]!);
    print(await api.get<ObjectDetail>(path(object)), (detail) => describeObject(object, detail));
  },
});

function describeObject(target: { type: string; id: string }, detail: ObjectDetail): string {
  const indent = ' '.repeat(12);
  const row = (label: string, text: string) => `${label.padEnd(12)}${text}`;
  const lines = [`${target.type}/${target.id}`];
  const o = detail.object;
  lines.push(row('owner', o
    ? `${o.owner}, epoch ${o.epoch}, active for ${formatDuration(Date.now() - o.activeSince)}, last call ${ago(o.lastCallAt)}, ${rate(o.callsPerSecond)} calls/s, mailbox ${o.queueLength}`
    : 'not active'));
  lines.push(row('lock queue', detail.queue.length === 0 ? 'empty' : detail.queue.map((q, i) => describeQueueEntry(q, i)).join(`\n${indent}`)));
  lines.push(row('in memory', detail.memory
    ? `version ${detail.memory.version}, mailbox ${detail.memory.queueLength}: ${formatJson(detail.memory.state, indent)}`
    : o ? 'unknown (the owner did not answer)' : 'nothing'));
  const p = detail.persisted;
  lines.push(row('persisted', p
    ? `version ${p.version}, epoch ${p.epoch}, ${p.size} B, modified ${p.lastModified ? new Date(p.lastModified).toISOString() : '—'}, ETag ${p.etag}, key ${p.key}:\n${indent}${formatJson(p.state, indent)}`
    : 'nothing stored'));
  return lines.join('\n');
}

function describeQueueEntry(entry: LockQueueEntryView, index: number): string {
  return `${index + 1}. ${entry.node} (sequence ${entry.sequence})${index === 0 ? ' owner' : `, waiting${entry.waitingSince ? ` for ${formatDuration(Date.now() - entry.waitingSince)}` : ''}`}`;
}

/** Where `show`, `get` and `put` find the object's state and its version: in memory on its owner, else in S3. */
function currentState(detail: ObjectDetail): { state: unknown; version: number; where: string } | null {
  if (detail.memory) return { state: detail.memory.state, version: detail.memory.version, where: `in memory on ${detail.object?.owner ?? 'its owner'}` };
  if (detail.persisted) return { state: detail.persisted.state, version: detail.persisted.version, where: 'persisted, not active' };
  return null;
}

/** A JSON argument: inline, `@file`, or `@-` for standard input. */
async function jsonArgument(value: string, what: string): Promise<unknown> {
  let text = value;
  if (value.startsWith('@')) {
    const file = value.slice(1);
    try {
      text = file === '-' ? await readStream(process.stdin) : await readFile(file, 'utf8');
    } catch (err) {
      throw new OptionsError([`${what}: cannot read ${file === '-' ? 'standard input' : `'${file}'`}: ${(err as Error).message}`]);
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new OptionsError([`${what} is not JSON (${(err as Error).message}); quote it for the shell, e.g. '{"title":"x"}', or give @file`]);
  }
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

const get = clientCommand({
  name: 'get',
  brief: "an object's state as JSON (its version on stderr)",
  synopsis: '<type>/<id>',
  summary:
    "Prints an object's state as JSON: in memory on its owner when active, else as persisted. Its version goes to stderr " +
    '(what `highlander put --expected-version` takes). Reads only: a viewer token will do; an object neither active nor stored is 404.',
  options: defineOptions({}),
  positionals: ['<type>/<id>'],
  async run({ positionals, api, print }) {
    const object = objectArgument(positionals[0]!);
    const answer = await api.get<ObjectDetail>(path(object));
    const current = currentState(answer.body);
    if (!current) throw new CliError(EXIT.FAILED, `${object.type}/${object.id} has no state to show (it is being activated): try again`);
    print(answer, () => JSON.stringify(current.state, null, 2));
    process.stderr.write(`${object.type}/${object.id}: version ${current.version}, ${current.where}\n`);
  },
});

const call = clientCommand({
  name: 'call',
  brief: 'run a handler (operator) or a query (viewer) with a JSON argument',
  synopsis: '<type>/<id> <handler> [json|@file]',
  summary:
    "Runs one of an object's handlers or queries with a JSON argument (omit it for none), routed to its owner like any call, " +
    'and prints the reply as JSON. Queries need a viewer token (and an object that exists); handlers, which may change ' +
    'state, an operator token. Audited. Errors keep the runtime\'s codes (UNKNOWN_HANDLER, OBJECT_REJECTED, …).',
  options: defineOptions({
    callTimeout: {
      flag: 'call-timeout-ms', group: 'Action', placeholder: '<ms>',
      description: "The call's own timeout (CALL_TIMEOUT after it: it may or may not have taken effect); default the admin API's.",
      schema: milliseconds(1, 600_000),
    },
  }),
  positionals: ['<type>/<id>', '<handler>', 'json|@file'],
  optional: 1,
  async run({ values, positionals, api, print }) {
    const object = objectArgument(positionals[0]!);
    const handler = positionals[1]!;
    const arg = positionals[2] === undefined ? undefined : await jsonArgument(positionals[2], 'the argument');
    const answer = await api.post<CallResult>(`${path(object)}/calls`, {
      handler, ...(arg === undefined ? {} : { arg }), ...(values.callTimeout !== undefined ? { timeoutMs: values.callTimeout } : {}),
    });
    print(answer, (r) => JSON.stringify(r.value, null, 2));
  },
});

const put = clientCommand({
  name: 'put',
  brief: "replace an object's state with JSON (operator)",
  synopsis: '<type>/<id> <json|@file> [--expected-version n]',
  summary:
    "Replaces an object's state through its owner's mailbox, like any update, once it is durable. Guarded by a version: " +
    "--expected-version (what `highlander get` printed), else the version the object is at when the command reads it; " +
    'if the object changed meanwhile, nothing is written (409 VERSION_CONFLICT, exit 1). Needs an operator token; audited with the previous state.',
  options: defineOptions({
    expectedVersion: {
      flag: 'expected-version', group: 'Action', placeholder: '<n>',
      description: 'Replace only the state at this version (as `highlander get` or `show` printed it).', schema: integer(0),
    },
  }),
  positionals: ['<type>/<id>', '<json|@file>'],
  async run({ values, positionals, api, print }) {
    const object = objectArgument(positionals[0]!);
    const state = await jsonArgument(positionals[1]!, 'the state');
    if (typeof state !== 'object' || state === null) throw new OptionsError(['the state must be a JSON object or array']);
    let expectedVersion = values.expectedVersion;
    if (expectedVersion === undefined) {
      const current = currentState((await api.get<ObjectDetail>(path(object))).body);
      expectedVersion = current?.version ?? 0;
    }
    const answer = await api.put<ReplaceStateResult>(`${path(object)}/state`, { state, expectedVersion });
    print(answer, (r) => `replaced the state of ${object.type}/${object.id} at version ${r.previousVersion} in ${formatDuration(r.durationMs)}; it was:\n${JSON.stringify(r.previous, null, 2)}`);
  },
});

/** What the audit log kept of the state a `state.replace` replaced: the state itself when it was small enough, else its digest. */
interface ReplacedState {
  previousVersion: number;
  previous: { bytes: number; sha256: string; value?: unknown };
}

function replacedState(record: AuditRecord): ReplacedState | null {
  const outcome = record.outcome as Partial<ReplacedState> | undefined;
  return record.action === 'state.replace' && record.result === 'ok' && typeof outcome?.previousVersion === 'number' && outcome.previous ? outcome as ReplacedState : null;
}

async function stateEdits(api: AdminApiClient, object: { type: string; id: string }, limit: number): Promise<ApiAnswer<Page<AuditRecord>>> {
  const query = new URLSearchParams({ action: 'state.replace', type: object.type, id: object.id, limit: String(limit) });
  return api.get<Page<AuditRecord>>(`/api/audit?${query}`);
}

const edits = clientCommand({
  name: 'edits',
  brief: "an object's state edits, each with the state it replaced (for restore)",
  synopsis: '<type>/<id>',
  summary:
    "Lists the replacements of an object's state (`highlander put`, the dashboard's Edit state), newest first, from the audit log: " +
    'when, who, the version replaced, and whether the audit log kept that state (up to 64 KiB) so that `highlander restore` can put it back.',
  options: defineOptions({
    limit: { flag: 'limit', group: 'History', placeholder: '<n>', default: '20', description: 'Edits, 1 to 1000.', schema: integer(1, 1000) },
  }),
  positionals: ['<type>/<id>'],
  async run({ values, positionals, api, print }) {
    const object = objectArgument(positionals[0]!);
    print(await stateEdits(api, object, values.limit), (page) => {
      if (page.items.length === 0) return `no state edits of ${object.type}/${object.id} in the audit log`;
      return formatTable(['EDIT', 'WHEN (UTC)', 'WHO', 'RESULT', 'REPLACED VERSION', 'KEPT'], page.items.map((record) => {
        const replaced = replacedState(record);
        return [
          record.id, utc(record.time), `${record.who.name} (${record.who.role})`, record.result === 'ok' ? 'ok' : `${record.error?.code ?? 'error'}`,
          replaced ? replaced.previousVersion : '', replaced ? (replaced.previous.value === undefined ? `no (${replaced.previous.bytes} B: digest only)` : `yes (${replaced.previous.bytes} B)`) : '',
        ];
      }), { right: [0, 4] });
    });
  },
});

const restore = clientCommand({
  name: 'restore',
  brief: 'put back the state an edit replaced (operator)',
  synopsis: '<type>/<id> [<edit>]',
  summary:
    'Replaces an object\'s state with the state that one of its edits replaced, as the audit log kept it (`highlander edits` lists them; ' +
    'default: the latest edit). Like `highlander put`: through the owner\'s mailbox, guarded by the version the object is at when the ' +
    'command reads it (409 VERSION_CONFLICT, exit 1, if it changed meanwhile), audited. Needs an operator token.',
  options: defineOptions({}),
  positionals: ['<type>/<id>', '<edit>'],
  optional: 1,
  async run({ positionals, api, print }) {
    const object = objectArgument(positionals[0]!);
    const wanted = positionals[1] === undefined ? undefined : Number(positionals[1]);
    if (wanted !== undefined && !(Number.isSafeInteger(wanted) && wanted > 0)) {
      throw new OptionsError([`<edit> is an edit number as \`highlander edits ${object.type}/${object.id}\` prints it (got '${positionals[1]}')`]);
    }
    const page = (await stateEdits(api, object, 1000)).body;
    const record = page.items.find((r) => replacedState(r) !== null && (wanted === undefined || r.id === wanted));
    if (!record) {
      throw new CliError(EXIT.FAILED, wanted === undefined
        ? `no state edit of ${object.type}/${object.id} in the audit log to restore from`
        : `edit ${wanted} is not a successful state edit of ${object.type}/${object.id} (see \`highlander edits ${object.type}/${object.id}\`)`);
    }
    const replaced = replacedState(record)!;
    if (replaced.previous.value === undefined) {
      throw new CliError(EXIT.FAILED, `edit ${record.id} replaced a state of ${replaced.previous.bytes} bytes: the audit log kept only its digest (sha256 ${replaced.previous.sha256}), so it cannot be restored`);
    }
    const current = currentState((await api.get<ObjectDetail>(path(object))).body);
    const answer = await api.put<ReplaceStateResult>(`${path(object)}/state`, { state: replaced.previous.value, expectedVersion: current?.version ?? 0 });
    print(answer, (r) => `restored the state of ${object.type}/${object.id} from before edit ${record.id} (version ${replaced.previousVersion}) in ${formatDuration(r.durationMs)}; it was at version ${r.previousVersion}`);
  },
});

const evict = clientCommand({
  name: 'evict',
  brief: 'deactivate an object (operator)',
  synopsis: '<type>/<id> [--force]',
  summary:
    'Deactivates an object: its owner drains its mailbox, flushes its state and releases its lock (answers once released). ' +
    'The next call activates it again wherever placement says. Needs an operator token; audited.',
  options: defineOptions({
    force: {
      flag: 'force', group: 'Action', switch: true,
      description: 'If the owner does not answer (within the admin API\'s --evict-grace-ms), delete its lock znode. Safe: fencing stops its writes.',
      schema: z.boolean(),
    },
  }),
  positionals: ['<type>/<id>'],
  async run({ values, positionals, api, print }) {
    const object = objectArgument(positionals[0]!);
    const answer = await api.post<{ owner: string; forced: boolean; durationMs: number }>(`${path(object)}/evict`, { force: values.force });
    print(answer, (r) => r.forced
      ? `evicted ${object.type}/${object.id} by force: ${r.owner} did not answer, its lock znode was deleted (${formatDuration(r.durationMs)})`
      : `evicted ${object.type}/${object.id} from ${r.owner} in ${formatDuration(r.durationMs)}`);
  },
});

const migrate = clientCommand({
  name: 'migrate',
  brief: 'move an object to another node (operator)',
  synopsis: '<type>/<id> --to <node>',
  summary:
    'Moves an object to another live node: the target queues for its lock, the owner drains, flushes and releases, the target takes over; ' +
    'calls meanwhile wait and follow. Answers once it is active on the target. Needs an operator token; audited.',
  options: defineOptions({
    to: {
      flag: 'to', group: 'Action', placeholder: '<node>', required: true,
      description: 'The node to move it to: live, not draining, not its owner (see highlander ls nodes).', schema: checkedBy(validateNodeName),
    },
  }),
  positionals: ['<type>/<id>'],
  async run({ values, positionals, api, print }) {
    const object = objectArgument(positionals[0]!);
    const answer = await api.post<{ from: string; to: string; durationMs: number }>(`${path(object)}/migrate`, { to: values.to });
    print(answer, (r) => `migrated ${object.type}/${object.id} from ${r.from} to ${r.to} in ${formatDuration(r.durationMs)}`);
  },
});

const drain = clientCommand({
  name: 'drain',
  brief: 'deactivate everything on a node; it takes no new activations (operator)',
  synopsis: '<node>',
  summary:
    'Drains a node: it takes no new activations and deactivates everything it holds (their next calls activate them elsewhere). ' +
    'Answers once done. The node keeps running: stop it afterwards. Needs an operator token; audited.',
  options: defineOptions({}),
  positionals: ['<node>'],
  async run({ positionals, api, print }) {
    const node = nodeArgument(positionals[0]!);
    const answer = await api.post<{ node: string; deactivated: number; durationMs: number }>(`/api/nodes/${enc(node)}/drain`, {});
    print(answer, (r) => `drained ${r.node}: ${r.deactivated} activation${r.deactivated === 1 ? '' : 's'} deactivated in ${formatDuration(r.durationMs)}; it takes no new activations`);
  },
});

const REBALANCE_ACTIONS = ['status', 'pause', 'resume'] as const;

const rebalance = clientCommand({
  name: 'rebalance',
  brief: 'automatic rebalancing: its progress, or pause and resume it (operator)',
  synopsis: '[status|pause|resume]',
  summary:
    'status (the default): whether automatic rebalancing is on (admin API --rebalance), paused, balanced; active objects per node against ' +
    'the mean and its allowance; moves done, under way and remaining; the latest moves. pause and resume hold and restart the moves ' +
    'for the whole cluster (moves under way finish). Pause and resume need an operator token; audited.',
  options: defineOptions({}),
  positionals: ['<status|pause|resume>'],
  optional: 1,
  async run({ positionals, api, print }) {
    const action = positionals[0] ?? 'status';
    if (!(REBALANCE_ACTIONS as readonly string[]).includes(action)) {
      throw new OptionsError([`unknown action '${action}': it is ${REBALANCE_ACTIONS.join(', ')}`]);
    }
    const answer = action === 'status'
      ? await api.get<Partial<RebalanceStatus> & { enabled: boolean }>('/api/rebalance')
      : await api.post<Partial<RebalanceStatus> & { enabled: boolean }>(`/api/rebalance/${action}`, {});
    print(answer, describeRebalance);
  },
});

function describeRebalance(status: Partial<RebalanceStatus> & { enabled: boolean }): string {
  if (!status.enabled || !status.moves || !status.nodes) return 'automatic rebalancing is off (start the admin API with --rebalance)';
  const state = status.paused
    ? `paused${status.pausedBy ? ` by ${status.pausedBy.name} at ${new Date(status.pausedBy.at).toISOString()}` : ''}`
    : status.balanced ? 'balanced' : 'rebalancing';
  const lines = [
    `rebalancing: ${state}${status.leader ? '' : ' (another admin API moves objects)'}`,
    `mean ${status.mean} active objects per node, allowance ±${status.allowance}`,
    `moves: ${status.moves.done} done, ${status.moves.failed} failed, ${status.moves.inFlight} under way, about ${status.moves.remaining} to go`,
    '',
    formatTable(['NODE', 'OBJECTS', 'ROLE'], status.nodes.map((n) => [n.name, n.objects, n.excluded ? `excluded (${n.excluded})` : n.role]), { right: [1] }),
  ];
  const recent = status.recent ?? [];
  if (recent.length > 0) {
    lines.push('', formatTable(
      ['OBJECT', 'FROM', 'TO', 'STATE', 'DURATION'],
      recent.slice(0, 10).map((m) => [`${m.type}/${m.id}`, m.from, m.to, m.error ? `failed: ${m.error}` : m.state, m.durationMs === undefined ? '—' : formatDuration(m.durationMs)]),
    ));
  }
  return lines.join('\n');
}

const shards = clientCommand({
  name: 'shards',
  brief: "the registry's ZooKeeper ensembles, or move buckets to a standby one (operator)",
  synopsis: '[move <buckets> <shard>]',
  summary:
    'Without arguments: the ensembles of a sharded registry (--zk-shards), the buckets each holds, its generation, whether the admin API is ' +
    'connected to it, and a move under way. move <buckets> <shard>: moves bucket ranges (comma-separated, e.g. 800-bff or 800-bff,c00-c0f; all ' +
    'in one ensemble now) to a standby shard while the cluster runs; calls to their objects wait meanwhile. Answers once done, with the map ' +
    'to write into every --zk-shards file. Needs an operator token; audited.',
  options: defineOptions({}),
  positionals: ['<move>', '<buckets>', '<shard>'],
  optional: 3,
  async run({ positionals, api, print }) {
    if (positionals.length === 0) {
      print(await api.get<ShardsView>('/api/shards'), describeShards);
      return;
    }
    const [action, buckets, to] = positionals;
    if (action !== 'move') throw new OptionsError([`unknown action '${action}': it is move (or nothing, to list the ensembles)`]);
    if (buckets === undefined || to === undefined) throw new OptionsError(['move needs the buckets and the standby shard, e.g. highlander shards move 800-bff zk-c']);
    const answer = await api.post<MoveShardsResult>('/api/shards/move', { buckets: buckets.split(',').map((b) => b.trim()).filter((b) => b.length > 0), to });
    print(answer, (r) => [
      `moved buckets ${r.buckets.join(', ')} from ${r.from} to ${r.to} in ${formatDuration(r.durationMs)}; the shard map is now version ${r.version}`,
      'write this into every --zk-shards file (nodes started with the old one are refused):',
      JSON.stringify(r.map, null, 2),
    ].join('\n'));
  },
});

function describeShards(view: ShardsView): string {
  if (!view.sharded) return 'the registry is not sharded: every lock queue is on --zk (start the nodes and the admin API with --zk-shards to shard it)';
  const lines = [
    `shard map version ${view.version}`,
    formatTable(['ENSEMBLE', 'STATUS', 'BUCKETS', 'COUNT', 'GENERATION', 'CONNECT'], view.ensembles.map((e) => [
      e.name, e.connected ? 'connected' : 'disconnected', e.buckets.join(', ') || '— (standby)', e.bucketCount, e.generation, e.connect,
    ]), { right: [3, 4] }),
  ];
  if (view.moving) {
    const m = view.moving;
    lines.push('', `moving buckets ${m.buckets.join(', ')} from ${m.from} to ${m.to}${m.waitingFor ? `: waiting for ${m.waitingFor.join(', ') || 'no node'}, ${m.locksLeft ?? 0} locks left in ${m.from}` : ''}`);
  }
  return lines.join('\n');
}

const METRICS_OPTIONS = defineOptions({
  window: {
    flag: 'window', group: 'What', placeholder: '<1h|24h>', default: '1h',
    description: "1h: from every node's samples of the last hour; 24h: from the admin API's rollups per node and minute of the last day.",
    schema: oneOf(['1h', '24h']),
  },
  type: {
    flag: 'type', group: 'What', placeholder: '<type>', description: 'Only calls to objects of this type.', schema: checkedBy(validateTypeName),
  },
  limit: {
    flag: 'limit', group: 'What', placeholder: '<n>', default: '20', description: 'The newest n minutes, 1 to 1440.', schema: integer(1, 1440),
  },
});

/** One minute of the cluster's calls, summed over the nodes' samples that ended in it. */
interface MinuteRow {
  minute: number;
  calls: number;
  errors: number;
  rejected: number;
  p50Weighted: number;
  p99: number;
}

const metrics = clientCommand({
  name: 'metrics',
  brief: "the cluster's calls per minute: errors, declared rejections, latency",
  synopsis: '',
  summary:
    "Prints the cluster's calls per minute (UTC), newest last: calls, errors, declared rejections (OBJECT_REJECTED, not errors), " +
    'p50 (weighted by calls) and p99 (the highest of the nodes\'), from the history the admin API keeps (GET /api/metrics/history).',
  options: METRICS_OPTIONS,
  positionals: [],
  async run({ values, api, print }) {
    const resolution = values.window === '24h' ? '1m' : '1s';
    const answer = await api.get<{ samples: StatsSample[] }>(`/api/metrics/history?resolution=${resolution}`);
    print(answer, ({ samples }) => {
      const rows = new Map<number, MinuteRow>();
      for (const sample of samples) {
        const minute = Math.ceil(sample.time / 60_000) * 60_000;
        const row = rows.get(minute) ?? rows.set(minute, { minute, calls: 0, errors: 0, rejected: 0, p50Weighted: 0, p99: 0 }).get(minute)!;
        for (const [type, t] of Object.entries(sample.byType)) {
          if (values.type && type !== values.type) continue;
          row.calls += t.calls;
          row.errors += t.errors;
          row.rejected += t.rejected;
          row.p50Weighted += t.p50Ms * t.calls;
          if (t.calls > 0) row.p99 = Math.max(row.p99, t.p99Ms);
        }
      }
      const newest = [...rows.values()].sort((a, b) => a.minute - b.minute).slice(-values.limit);
      if (newest.length === 0) return 'no samples yet: every node sends one per interval while it runs';
      const ms = (n: number) => (n === 0 ? '—' : `${n < 10 ? n.toFixed(2) : n.toFixed(0)} ms`);
      return formatTable(
        ['MINUTE (UTC)', 'CALLS', 'ERRORS', 'REJECTED', 'P50', 'P99'],
        newest.map((r) => [new Date(r.minute - 60_000).toISOString().slice(0, 16).replace('T', ' '), r.calls, r.errors, r.rejected, ms(r.calls > 0 ? r.p50Weighted / r.calls : 0), ms(r.p99)]),
        { right: [1, 2, 3, 4, 5] },
      );
    });
  },
});

const history = clientCommand({
  name: 'history',
  brief: "an object's ownership history: activations, migrations, fenced writes",
  synopsis: '<type>/<id>',
  summary:
    "Prints an object's ownership history, newest first, as the admin API keeps it (also for objects no longer active): each " +
    'activation with its node, epoch, start and end (UTC) and why it ended, each migration with its duration, each fenced write refused.',
  options: defineOptions({
    limit: { flag: 'limit', group: 'History', placeholder: '<n>', default: '50', description: 'Entries, 1 to 1000.', schema: integer(1, 1000) },
    before: {
      flag: 'before', group: 'History', placeholder: '<cursor>', defaultText: 'the newest',
      description: 'Entries older than this cursor (printed under the table when there are more).', schema: integer(1),
    },
  }),
  positionals: ['<type>/<id>'],
  async run({ values, positionals, api, print }) {
    const object = objectArgument(positionals[0]!);
    const query = new URLSearchParams({ limit: String(values.limit) });
    if (values.before !== undefined) query.set('before', String(values.before));
    print(await api.get<HistoryPage>(`${path(object)}/history?${query}`), (page) => {
      if (page.items.length === 0) return `no history for ${object.type}/${object.id}: the admin API has seen no activation of it`;
      const table = formatTable(['WHEN (UTC)', 'EVENT', 'NODE', 'EPOCH', 'UNTIL (UTC)', 'FOR', 'DETAIL'], page.items.map(historyRow), { right: [5] });
      return page.cursor ? `${table}\nolder entries: --before ${page.cursor}` : table;
    });
  },
});

const utc = (time: number) => new Date(time).toISOString().slice(0, 23).replace('T', ' ');

function historyRow(entry: HistoryEntry): (string | number)[] {
  switch (entry.kind) {
    case 'activation':
      return [
        utc(entry.start), 'activation', entry.node, entry.epoch, entry.end === null ? 'active' : utc(entry.end),
        entry.end === null ? formatDuration(Math.max(0, Date.now() - entry.start)) : formatDuration(entry.activeMs ?? entry.end - entry.start),
        entry.reason === null ? '' : `ended: ${entry.reason}`,
      ];
    case 'migration':
      return [utc(entry.time), 'migration', `${entry.from} → ${entry.to}`, '', '', formatDuration(entry.durationMs), ''];
    case 'fenced':
      return [utc(entry.time), 'fenced write', entry.node, entry.epoch, '', '', 'refused by the store: a newer owner holds it'];
  }
}

export const CLIENT_COMMANDS: readonly ClientCommand[] = [lsNodes, lsObjects, hot, show, history, get, call, put, edits, restore, evict, migrate, drain, rebalance, shards, metrics];
