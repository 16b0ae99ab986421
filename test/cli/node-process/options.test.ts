import { describe, expect, it } from 'vitest';
import { NODE_OPTIONS, parseNodeConfig } from '@highlander/cli';
import { expectCompleteTable, problems } from '../../harness/option-checks.js';
import { node } from '../option-env.js';

/**
 * The node process's options (cli/src/node-process/options.ts): its table and `parseNodeConfig`. A flag
 * wins over its environment variable, the variable over the default; errors name the flag and the
 * variable and say what a valid value looks like. (The parser itself: test/kit/option-table.test.ts.)
 */

describe('node option precedence', () => {
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
    expect(values.clusterSecret).toBeUndefined();
    expect(values.s3Endpoint).toBeUndefined();
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
});

describe('node option errors', () => {
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
      "HIGHLANDER_CALL_TIMEOUT_MS='10s' (or --call-timeout-ms): must be a duration in milliseconds, a whole number from 1 to 600000 (e.g. 10000 for 10 s)",
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

  it('refuses a node reachable beyond loopback without a cluster secret, a weak secret, and half a TLS setup', () => {
    expect(problems(() => node(['--host', '0.0.0.0']))[0]).toMatch(/^--host \/ HIGHLANDER_HOST 0\.0\.0\.0 needs --cluster-secret \/ HIGHLANDER_CLUSTER_SECRET/);
    expect(node(['--host', '0.0.0.0'], { HIGHLANDER_CLUSTER_SECRET: 'a-cluster-secret-of-some-length' }).host).toBe('0.0.0.0');
    expect(node(['--host', '127.0.0.2']).host).toBe('127.0.0.2');
    expect(problems(() => node([], { HIGHLANDER_CLUSTER_SECRET: 'short' }))[0]).toContain('must be at least 16 characters');
    // A secret is never echoed in an error.
    expect(problems(() => node([], { HIGHLANDER_CLUSTER_SECRET: 'short' }))[0]).not.toContain("'short'");
    expect(problems(() => node(['--tls-cert', 'node.pem']))).toEqual([
      'give both --tls-cert / HIGHLANDER_TLS_CERT and --tls-key / HIGHLANDER_TLS_KEY, or neither (then the port speaks plain ws)',
    ]);
    expect(problems(() => node(['--tls-cert', 'node.pem', '--tls-key', 'node.key', '--tls-client-auth']))[0]).toContain('--tls-client-auth / HIGHLANDER_TLS_CLIENT_AUTH needs');
  });

  it('stops at --help without checking anything else', () => {
    expect(parseNodeConfig(['--help', '--port', 'x'], {})).toEqual({ help: true });
  });
});

describe('the node option table', () => {
  it('keeps every environment variable the node has always read', () => {
    const nodeEnv = Object.values(NODE_OPTIONS).map((o) => o.env);
    const s3 = ['HIGHLANDER_S3_BUCKET', 'HIGHLANDER_S3_PREFIX', 'HIGHLANDER_S3_ENDPOINT', 'HIGHLANDER_S3_REGION', 'HIGHLANDER_S3_ACCESS_KEY_ID', 'HIGHLANDER_S3_SECRET_ACCESS_KEY'];
    expect(nodeEnv).toEqual(expect.arrayContaining([
      'HIGHLANDER_NODE_NAME', 'HIGHLANDER_ZK', 'HIGHLANDER_ZK_ROOT', 'HIGHLANDER_ZK_SESSION_TIMEOUT_MS', ...s3, 'HIGHLANDER_OBJECTS',
      'HIGHLANDER_PLACEMENT', 'HIGHLANDER_HOST', 'HIGHLANDER_PORT', 'HIGHLANDER_ADVERTISE_HOST', 'HIGHLANDER_CALL_TIMEOUT_MS',
      'HIGHLANDER_IDLE_TIMEOUT_MS', 'HIGHLANDER_MAX_STATE_BYTES', 'HIGHLANDER_CLUSTER_SECRET', 'HIGHLANDER_PRINT_EVENTS',
    ]));
  });

  it('has only valid defaults, and --help and the docs list every option', () => {
    expectCompleteTable(NODE_OPTIONS);
  });
});
