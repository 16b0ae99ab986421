import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ADMIN_OPTIONS, parseAdminConfig } from '@highlander/cli';
import { CLIENT_OPTIONS } from '@highlander/cli';
import { NODE_OPTIONS, S3_OPTIONS, ZOOKEEPER_OPTIONS, coordinatorOptions, parseNodeConfig, s3StoreOptions } from '@highlander/cli';
import { OptionsError, parseOptions, renderHelp, renderMarkdownTable, type OptionTable } from '@highlander/kit';

/**
 * The option tables (runtime/src/config.ts, admin-api/src/config.ts, the CLI's client options) and
 * their parser: a flag wins over its environment variable, the variable over the default; errors
 * name the flag and the variable and say what a valid value looks like; secrets are never echoed.
 */

const NODE_ENV = { HIGHLANDER_NODE_NAME: 'node-a', HIGHLANDER_OBJECTS: './objects.js', HIGHLANDER_ZK: '127.0.0.1:2181', HIGHLANDER_S3_BUCKET: 'highlander' };
const ADMIN_ENV = { HIGHLANDER_ZK: '127.0.0.1:2181', HIGHLANDER_S3_BUCKET: 'highlander', HIGHLANDER_API_TOKENS: 'operator:ada:op-token,viewer:grace:view-token' };

function node(argv: string[], env: Record<string, string> = {}) {
  const parsed = parseNodeConfig(argv, { ...NODE_ENV, ...env });
  if (parsed.help) throw new Error('unexpected --help');
  return parsed.values;
}

function problems(run: () => unknown): string[] {
  try {
    run();
  } catch (err) {
    if (err instanceof OptionsError) return [...err.problems];
    throw err;
  }
  throw new Error('expected an OptionsError');
}

describe('option precedence', () => {
  it('takes a flag over its environment variable, the variable over the default', () => {
    expect(node([]).port).toBe(0);
    expect(node([], { HIGHLANDER_PORT: '7001' }).port).toBe(7001);
    expect(node(['--port', '7002'], { HIGHLANDER_PORT: '7001' }).port).toBe(7002);
    expect(node(['--port=7003']).port).toBe(7003);
    expect(node(['--zk-root', '/flag'], { HIGHLANDER_ZK_ROOT: '/env' }).zkRoot).toBe('/flag');
  });

  it('applies the documented defaults', () => {
    const values = node([]);
    expect(values).toMatchObject({
      zkRoot: '/highlander', zkSessionTimeoutMs: 10_000, zkRequestTimeoutMs: 5000, s3Prefix: 'objects/', s3RequestTimeoutMs: 10_000,
      placement: 'local', host: '127.0.0.1', port: 0, callTimeoutMs: 10_000, idleTimeoutMs: 60_000, maxStateBytes: 1_048_576,
      maxInFlightPerPeer: 1024, printEvents: false,
    });
    expect(values.adminToken).toBeUndefined();
    expect(values.s3Endpoint).toBeUndefined();
    const parsed = parseAdminConfig([], ADMIN_ENV);
    if (parsed.help) throw new Error('unexpected --help');
    expect(parsed.values).toMatchObject({ host: '127.0.0.1', port: 8080, auditLog: 'data/audit.jsonl', logLevel: 'info', readOnly: false });
  });

  it('counts an empty environment variable as unset', () => {
    expect(node([], { HIGHLANDER_PORT: '', HIGHLANDER_ZK_ROOT: '' })).toMatchObject({ port: 0, zkRoot: '/highlander' });
    expect(problems(() => node([], { HIGHLANDER_ZK: '' }))).toEqual([expect.stringContaining('--zk / HIGHLANDER_ZK is required')]);
  });

  it('reads switches from a bare flag or from 1/true/0/false', () => {
    expect(node(['--print-events']).printEvents).toBe(true);
    expect(node([], { HIGHLANDER_PRINT_EVENTS: '1' }).printEvents).toBe(true);
    expect(node([], { HIGHLANDER_PRINT_EVENTS: 'false' }).printEvents).toBe(false);
    expect(problems(() => node([], { HIGHLANDER_PRINT_EVENTS: 'maybe' }))).toEqual([
      "HIGHLANDER_PRINT_EVENTS='maybe' (or --print-events): must be 1, true, yes or on (or 0, false, no, off)",
    ]);
  });

  it('builds the coordinator and store options from the values', () => {
    const values = node(['--s3-endpoint', 'http://127.0.0.1:7480', '--s3-region', 'eu-west-1'], {
      HIGHLANDER_S3_ACCESS_KEY_ID: 'id', HIGHLANDER_S3_SECRET_ACCESS_KEY: 'secret', HIGHLANDER_ZK_SESSION_TIMEOUT_MS: '4000',
    });
    expect(coordinatorOptions(values)).toEqual({ connect: '127.0.0.1:2181', root: '/highlander', sessionTimeoutMs: 4000, requestTimeoutMs: 5000 });
    expect(s3StoreOptions(values)).toEqual({
      bucket: 'highlander', prefix: 'objects/', requestTimeoutMs: 10_000, endpoint: 'http://127.0.0.1:7480', region: 'eu-west-1',
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
    });
    // Without keys: no credentials, so the AWS SDK's chain applies.
    const parsed = parseOptions(S3_OPTIONS, [], { HIGHLANDER_S3_BUCKET: 'highlander' });
    expect(parsed.help === false && s3StoreOptions(parsed.values)).not.toHaveProperty('credentials');
  });
});

describe('option errors', () => {
  it('names the flag and the variable of every missing required option, all at once', () => {
    expect(problems(() => parseNodeConfig([], {}))).toEqual([
      expect.stringMatching(/^--name \/ HIGHLANDER_NODE_NAME is required: /),
      expect.stringMatching(/^--objects \/ HIGHLANDER_OBJECTS is required: /),
      expect.stringMatching(/^--zk \/ HIGHLANDER_ZK is required: /),
      expect.stringMatching(/^--s3-bucket \/ HIGHLANDER_S3_BUCKET is required: /),
    ]);
  });

  it('says where a bad value came from and what a valid one looks like', () => {
    expect(problems(() => node(['--port', '70000']))).toEqual(["--port '70000' (or HIGHLANDER_PORT): must be a whole number from 0 to 65535"]);
    expect(problems(() => node([], { HIGHLANDER_CALL_TIMEOUT_MS: '10s' }))).toEqual([
      "HIGHLANDER_CALL_TIMEOUT_MS='10s' (or --call-timeout-ms): must be a duration in milliseconds, a whole number of at least 1 (e.g. 10000 for 10 s)",
    ]);
    expect(problems(() => node([], { HIGHLANDER_ZK: 'zk1:2181/highlander' }))[0]).toContain('put the chroot in --zk-root');
    expect(problems(() => node([], { HIGHLANDER_ZK_ROOT: 'highlander' }))[0]).toContain('must be an absolute znode path like /highlander');
    expect(problems(() => node(['--placement', 'nearest']))[0]).toContain('must be one of local, round-robin, random, least-loaded, hash');
    expect(problems(() => node(['--name', 'node a']))[0]).toContain('allowed characters are A-Z a-z 0-9 _ -');
    expect(problems(() => node(['--s3-endpoint', '127.0.0.1:7480']))[0]).toContain('must be an http(s) URL like http://127.0.0.1:7480');
  });

  it('refuses unknown flags, stray arguments and a flag without its value', () => {
    expect(problems(() => node(['--prot', '1']))).toEqual(["unknown option '--prot'"]);
    expect(problems(() => node(['node-a']))).toEqual(["unexpected argument 'node-a'"]);
    expect(problems(() => node(['--port']))[0]).toContain('--port');
  });

  it('wants both static S3 keys or neither', () => {
    expect(problems(() => node([], { HIGHLANDER_S3_ACCESS_KEY_ID: 'id' }))).toEqual([
      'give both --s3-access-key-id / HIGHLANDER_S3_ACCESS_KEY_ID and --s3-secret-access-key / HIGHLANDER_S3_SECRET_ACCESS_KEY, or neither (then the AWS credential chain applies)',
    ]);
  });

  it('parses the admin API\'s tokens and roles, and never echoes a token', () => {
    const parsed = parseAdminConfig([], ADMIN_ENV);
    if (parsed.help) throw new Error('unexpected --help');
    expect(parsed.values.tokens).toEqual([{ role: 'operator', name: 'ada', token: 'op-token' }, { role: 'viewer', name: 'grace', token: 'view-token' }]);
    const cases: Array<[string, string]> = [
      ['admin:ada:secret-1', "entry 1 has role 'admin': the roles are viewer and operator"],
      ['viewer:ada', 'entry 1 is not role:name:token'],
      ['viewer:ada:secret 1', "entry 1's token: must be non-empty and use only A-Z a-z 0-9 - . _ ~"],
      ['viewer:ada:secret-1,operator:bob:secret-1', "entry 2's token: the same token is configured twice"],
    ];
    for (const [tokens, message] of cases) {
      const [problem] = problems(() => parseAdminConfig(['--tokens', tokens], ADMIN_ENV));
      expect(problem).toContain("--tokens '…' (or HIGHLANDER_API_TOKENS)");
      expect(problem).toContain(message);
      expect(problem).not.toContain('secret');
    }
    expect(problems(() => parseAdminConfig(['--allowed-origins', 'https://ok.example,not an origin'], ADMIN_ENV))[0]).toContain('is not an origin');
    expect(problems(() => parseAdminConfig(['--log-level', 'verbose'], ADMIN_ENV))[0]).toContain('must be one of fatal, error, warn, info, debug, trace, silent');
  });

  it('stops at --help without checking anything else', () => {
    expect(parseNodeConfig(['--help', '--port', 'x'], {})).toEqual({ help: true });
    expect(parseAdminConfig(['-h'], {})).toEqual({ help: true });
  });
});

describe('the tables', () => {
  const tables: Record<string, OptionTable> = { node: NODE_OPTIONS, admin: ADMIN_OPTIONS, client: CLIENT_OPTIONS };

  it('keep every environment variable the node and the admin API have always read', () => {
    const nodeEnv = Object.values(NODE_OPTIONS).map((o) => o.env);
    const adminEnv = Object.values(ADMIN_OPTIONS).map((o) => o.env);
    const s3 = ['HIGHLANDER_S3_BUCKET', 'HIGHLANDER_S3_PREFIX', 'HIGHLANDER_S3_ENDPOINT', 'HIGHLANDER_S3_REGION', 'HIGHLANDER_S3_ACCESS_KEY_ID', 'HIGHLANDER_S3_SECRET_ACCESS_KEY'];
    expect(nodeEnv).toEqual(expect.arrayContaining([
      'HIGHLANDER_NODE_NAME', 'HIGHLANDER_ZK', 'HIGHLANDER_ZK_ROOT', 'HIGHLANDER_ZK_SESSION_TIMEOUT_MS', ...s3, 'HIGHLANDER_OBJECTS',
      'HIGHLANDER_PLACEMENT', 'HIGHLANDER_HOST', 'HIGHLANDER_PORT', 'HIGHLANDER_ADVERTISE_HOST', 'HIGHLANDER_CALL_TIMEOUT_MS',
      'HIGHLANDER_IDLE_TIMEOUT_MS', 'HIGHLANDER_MAX_STATE_BYTES', 'HIGHLANDER_ADMIN_TOKEN', 'HIGHLANDER_PRINT_EVENTS',
    ]));
    expect(adminEnv).toEqual(expect.arrayContaining([
      'HIGHLANDER_ZK', 'HIGHLANDER_ZK_ROOT', ...s3, 'HIGHLANDER_ADMIN_TOKEN', 'HIGHLANDER_API_TOKENS', 'HIGHLANDER_API_READ_ONLY',
      'HIGHLANDER_API_ALLOWED_ORIGINS', 'HIGHLANDER_API_HOST', 'HIGHLANDER_API_PORT', 'HIGHLANDER_AUDIT_LOG', 'HIGHLANDER_LOG_LEVEL',
    ]));
  });

  it.each(Object.entries(tables))('%s: every default is valid, and --help and the docs list every option', (_, table) => {
    for (const [key, option] of Object.entries(table)) {
      if (option.default !== undefined) expect(option.schema.safeParse(option.default).success, `${key}: default '${option.default}'`).toBe(true);
      expect(Boolean(option.required) && option.default !== undefined, `${key}: required with a default`).toBe(false);
    }
    const help = renderHelp(table, { usage: 'usage: x' });
    const doc = renderMarkdownTable(table);
    for (const option of Object.values(table)) {
      expect(help).toContain(`--${option.flag}`);
      expect(doc).toContain(`\`--${option.flag}`);
      if (option.env) {
        expect(help).toContain(option.env);
        expect(doc).toContain(option.env);
      }
    }
  });

  it('share the ZooKeeper and S3 options between nodes and the admin API', () => {
    for (const key of [...Object.keys(ZOOKEEPER_OPTIONS), ...Object.keys(S3_OPTIONS)]) {
      expect(NODE_OPTIONS).toHaveProperty(key);
      expect(ADMIN_OPTIONS).toHaveProperty(key);
    }
  });

  it('parse the client options (api URL, token)', () => {
    const parsed = parseOptions(CLIENT_OPTIONS, ['--json'], { HIGHLANDER_API_TOKEN: 'tok-1' });
    expect(parsed).toMatchObject({ help: false, values: { api: 'http://127.0.0.1:8080', token: 'tok-1', timeoutMs: 60_000, json: true } });
    expect(problems(() => parseOptions(CLIENT_OPTIONS, ['--api', 'localhost:8080'], {}))[0]).toContain('must be an http(s) URL');
  });
});

describe('entry points', () => {
  const run = (file: string, args: string[], env: Record<string, string>) =>
    new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HIGHLANDER_')));
      const child = spawn(process.execPath, ['--conditions=@highlander/source', '--import', 'tsx', fileURLToPath(new URL(`../../${file}`, import.meta.url)), ...args], {
        env: { ...base, ...env }, stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stderr }));
    });

  it('a node exits 2 on a bad option, naming the flag and the variable', async () => {
    const { code, stderr } = await run('cli/src/node-process/main.ts', ['--idle-timeout-ms=-5'], { ...NODE_ENV, HIGHLANDER_PORT: 'eighty' });
    expect(code).toBe(2);
    expect(stderr).toContain("highlander node: --idle-timeout-ms '-5' (or HIGHLANDER_IDLE_TIMEOUT_MS): must be a duration in milliseconds");
    expect(stderr).toContain("highlander node: HIGHLANDER_PORT='eighty' (or --port): must be a whole number from 0 to 65535");
  });

  it('the admin API exits 2 on a missing option, naming the flag and the variable', async () => {
    const { code, stderr } = await run('cli/src/admin-process/main.ts', [], { HIGHLANDER_ZK: '127.0.0.1:2181', HIGHLANDER_S3_BUCKET: 'highlander' });
    expect(code).toBe(2);
    expect(stderr).toContain('highlander admin: --tokens / HIGHLANDER_API_TOKENS is required');
  });
});
