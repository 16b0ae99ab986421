import { z } from 'zod';
import { OptionsError, defineOptions, httpUrl, milliseconds, optionName, type OptionSpec, type OptionValues } from '@highlander/kit';
import { CLUSTER_SECRET_PATTERN, MAX_S3_PREFIX_BYTES, S3_DEFAULTS, ZOOKEEPER_DEFAULTS, type S3StateStoreOptions, type ZooKeeperCoordinatorOptions } from '@highlander/runtime';

/**
 * What the node process and the admin API process share, as option tables: how to reach the
 * cluster's ZooKeeper and its S3 bucket, log levels, the token format. The defaults are the
 * runtime's own (`ZOOKEEPER_DEFAULTS`, `S3_DEFAULTS`); docs/configuration.md is generated from the
 * tables (scripts/gen-config-doc.ts).
 */

/** pino's levels, most severe first; `silent` logs nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A bearer token sent in an HTTP header (RFC 6750 characters). */
export const bearerToken = z.string().regex(/^[A-Za-z0-9._~+/=-]+$/, 'must use only A-Z a-z 0-9 . _ ~ + / = -');

/** The cluster's shared secret, the same for every node and the admin API. */
export const CLUSTER_OPTIONS = defineOptions({
  clusterSecret: {
    flag: 'cluster-secret', env: 'HIGHLANDER_CLUSTER_SECRET', group: 'Access', placeholder: '<secret>', secret: true,
    defaultText: 'none (nodes on loopback only; their admin endpoints off)',
    description:
      'The cluster\'s shared secret: every node and the admin API have the same, and every request on a node\'s port (other nodes\' calls, the admin API\'s actions and event streams, Prometheus) must carry it as Authorization: Bearer <secret>. '
      + 'Required for a node listening on anything but loopback. At least 16 characters of A-Z a-z 0-9 . _ ~ + / = - (e.g. openssl rand -base64 32). Prefer the variable: flags show in process listings.',
    schema: z.string().regex(CLUSTER_SECRET_PATTERN, 'must be at least 16 characters of A-Z a-z 0-9 . _ ~ + / = - (e.g. openssl rand -base64 32)'),
  },
});

export const ZOOKEEPER_OPTIONS = defineOptions({
  zk: {
    flag: 'zk', env: 'HIGHLANDER_ZK', group: 'ZooKeeper', placeholder: '<host:port,…>', required: true,
    description: 'ZooKeeper connect string: the ensemble\'s host:port pairs, comma-separated (the chroot is --zk-root).',
    schema: z.string().regex(
      /^[^\s,/:]+:[0-9]{1,5}(,[^\s,/:]+:[0-9]{1,5})*$/,
      'must be host:port pairs separated by commas, e.g. 127.0.0.1:2181 or zk1:2181,zk2:2181 (put the chroot in --zk-root)',
    ),
  },
  zkRoot: {
    flag: 'zk-root', env: 'HIGHLANDER_ZK_ROOT', group: 'ZooKeeper', placeholder: '<path>', default: ZOOKEEPER_DEFAULTS.root,
    description: 'Root znode (chroot) of the cluster; several clusters can share one ZooKeeper. Nodes and the admin API of one cluster use the same.',
    schema: z.string().regex(/^(\/[A-Za-z0-9_.-]+)+$/, 'must be an absolute znode path like /highlander or /prod/highlander'),
  },
  zkSessionTimeoutMs: {
    flag: 'zk-session-timeout-ms', env: 'HIGHLANDER_ZK_SESSION_TIMEOUT_MS', group: 'ZooKeeper', placeholder: '<ms>', default: String(ZOOKEEPER_DEFAULTS.sessionTimeoutMs),
    description: 'ZooKeeper session timeout asked for (the server bounds it to 2–20 ticks). A crashed node\'s objects move after about this long.',
    schema: milliseconds(1),
  },
  zkShards: {
    flag: 'zk-shards', env: 'HIGHLANDER_ZK_SHARDS', group: 'ZooKeeper', placeholder: '<file>', defaultText: 'none: every lock queue on --zk',
    description: 'A JSON shard map spreading the lock queues over more ZooKeeper ensembles by bucket: {"version": 1, "shards": [{"name": "zk-b", "connect": "zk-b1:2181,…", "buckets": ["800-fff"], "generation": 1}]}. '
      + 'Buckets no shard names stay on --zk. Every node and the admin API of the cluster need the same map (a node with another does not start); docs/deployment.md, "Sharding the registry".',
    schema: z.string().min(1),
  },
});

export const S3_OPTIONS = defineOptions({
  s3Bucket: {
    flag: 's3-bucket', env: 'HIGHLANDER_S3_BUCKET', group: 'S3 state store', placeholder: '<name>', required: true,
    description: 'Bucket holding the objects\' state.',
    schema: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{2,254}$/, 'must be a bucket name: 3 or more letters, digits, dots, hyphens or underscores, e.g. highlander'),
  },
  s3Prefix: {
    flag: 's3-prefix', env: 'HIGHLANDER_S3_PREFIX', group: 'S3 state store', placeholder: '<prefix>', default: S3_DEFAULTS.prefix,
    description: 'Key prefix: an object\'s state is at `<prefix><type>/<id>.json`.',
    schema: z.string().regex(/^[^/].*$|^$/, 'must not start with / (e.g. objects/ or prod/objects/)')
      .refine((prefix) => Buffer.byteLength(prefix) <= MAX_S3_PREFIX_BYTES, `must be at most ${MAX_S3_PREFIX_BYTES} bytes, so that every key (<prefix><type>/<id>.json) stays within S3's 1024 bytes`),
  },
  s3Endpoint: {
    flag: 's3-endpoint', env: 'HIGHLANDER_S3_ENDPOINT', group: 'S3 state store', placeholder: '<url>',
    defaultText: 'AWS_ENDPOINT_URL_S3, else AWS S3',
    description: 'S3 endpoint URL, for S3-compatible servers (radosgw, MinIO); path-style addressing when set.',
    schema: httpUrl('http://127.0.0.1:7480'),
  },
  s3Region: {
    flag: 's3-region', env: 'HIGHLANDER_S3_REGION', group: 'S3 state store', placeholder: '<region>',
    defaultText: 'AWS_REGION, else us-east-1',
    description: 'S3 region.',
    schema: z.string().regex(/^[a-z0-9-]+$/, 'must be a region name like us-east-1'),
  },
  s3AccessKeyId: {
    flag: 's3-access-key-id', env: 'HIGHLANDER_S3_ACCESS_KEY_ID', group: 'S3 state store', placeholder: '<id>',
    defaultText: 'the AWS credential chain', secret: true,
    description: 'Static access key id; give it with --s3-secret-access-key, or neither to use the AWS SDK\'s credential chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws, web identity, ECS and EC2 instance roles).',
    schema: z.string().min(1),
  },
  s3SecretAccessKey: {
    flag: 's3-secret-access-key', env: 'HIGHLANDER_S3_SECRET_ACCESS_KEY', group: 'S3 state store', placeholder: '<secret>',
    defaultText: 'the AWS credential chain', secret: true,
    description: 'Static secret access key, with --s3-access-key-id. Prefer the variable: flags show in process listings.',
    schema: z.string().min(1),
  },
  s3RequestTimeoutMs: {
    flag: 's3-request-timeout-ms', env: 'HIGHLANDER_S3_REQUEST_TIMEOUT_MS', group: 'S3 state store', placeholder: '<ms>', default: String(S3_DEFAULTS.requestTimeoutMs),
    description: 'Give up on one S3 request after this long (the call then fails with STORE_UNAVAILABLE, or is resolved by reading back).',
    schema: milliseconds(1),
  },
});

export type ZooKeeperConfig = OptionValues<typeof ZOOKEEPER_OPTIONS>;
export type S3Config = OptionValues<typeof S3_OPTIONS>;

/** Options that go in pairs (a key and its secret, a certificate and its key): one without the other is a mistake. */
export function checkPair(a: { given: boolean; spec: OptionSpec }, b: { given: boolean; spec: OptionSpec }, neither: string): void {
  if (a.given !== b.given) throw new OptionsError([`give both ${optionName(a.spec)} and ${optionName(b.spec)}, or neither (${neither})`]);
}

/** Static S3 keys come in pairs: one without the other is a mistake, not a request for the credential chain. */
export function checkS3Credentials(values: Pick<S3Config, 's3AccessKeyId' | 's3SecretAccessKey'>): void {
  checkPair(
    { given: values.s3AccessKeyId !== undefined, spec: S3_OPTIONS.s3AccessKeyId },
    { given: values.s3SecretAccessKey !== undefined, spec: S3_OPTIONS.s3SecretAccessKey },
    'then the AWS credential chain applies',
  );
}

export function coordinatorOptions(values: ZooKeeperConfig & { zkRequestTimeoutMs?: number }): ZooKeeperCoordinatorOptions {
  return {
    connect: values.zk,
    root: values.zkRoot,
    sessionTimeoutMs: values.zkSessionTimeoutMs,
    ...(values.zkRequestTimeoutMs !== undefined ? { requestTimeoutMs: values.zkRequestTimeoutMs } : {}),
  };
}

export function s3StoreOptions(values: S3Config): S3StateStoreOptions {
  checkS3Credentials(values);
  return {
    bucket: values.s3Bucket,
    prefix: values.s3Prefix,
    requestTimeoutMs: values.s3RequestTimeoutMs,
    ...(values.s3Endpoint !== undefined ? { endpoint: values.s3Endpoint } : {}),
    ...(values.s3Region !== undefined ? { region: values.s3Region } : {}),
    ...(values.s3AccessKeyId !== undefined && values.s3SecretAccessKey !== undefined
      ? { credentials: { accessKeyId: values.s3AccessKeyId, secretAccessKey: values.s3SecretAccessKey } }
      : {}),
  };
}

