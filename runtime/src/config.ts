import { z } from 'zod';
import { AUDIENCE_OPTIONS } from '../../audience/src/gateway-options.js';
import { validateNodeName } from './names.js';
import {
  OptionsError, checkedBy, defineOptions, host, httpUrl, integer, milliseconds, oneOf, optionName, parseOptions, port,
  type OptionValues, type ParsedOptions,
} from './option-table.js';
import type { PlacementName } from './placement.js';
import type { S3StateStoreOptions } from './s3/s3-state-store.js';
import type { ZooKeeperCoordinatorOptions } from './zookeeper/zookeeper-coordinator.js';

/**
 * The configuration of a node process (runtime/src/main.ts, `highlander node`) as one option table:
 * every option's flag, environment variable, default and meaning. The ZooKeeper and S3 options are
 * shared with the admin API (admin-api/src/config.ts). docs/configuration.md is generated from
 * these tables (scripts/gen-config-doc.ts).
 *
 * ```ts
 * const parsed = parseNodeConfig(process.argv.slice(2), process.env); // OptionsError: exit 2
 * if (!parsed.help) new ZooKeeperCoordinator(coordinatorOptions(parsed.values));
 * ```
 */

export const PLACEMENTS = ['local', 'round-robin', 'random', 'least-loaded', 'hash'] as const satisfies readonly PlacementName[];
// Every placement name is listed (a compile error when one is added to placement.ts but not here).
const placementsComplete: PlacementName extends (typeof PLACEMENTS)[number] ? true : false = true;
void placementsComplete;

/** pino's levels, most severe first; `silent` logs nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A bearer token sent in an HTTP header (RFC 6750 characters). */
export const bearerToken = z.string().regex(/^[A-Za-z0-9._~+/=-]+$/, 'must use only A-Z a-z 0-9 . _ ~ + / = -');

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
    flag: 'zk-root', env: 'HIGHLANDER_ZK_ROOT', group: 'ZooKeeper', placeholder: '<path>', default: '/highlander',
    description: 'Root znode (chroot) of the cluster; several clusters can share one ZooKeeper. Nodes and the admin API of one cluster use the same.',
    schema: z.string().regex(/^(\/[A-Za-z0-9_.-]+)+$/, 'must be an absolute znode path like /highlander or /prod/highlander'),
  },
  zkSessionTimeoutMs: {
    flag: 'zk-session-timeout-ms', env: 'HIGHLANDER_ZK_SESSION_TIMEOUT_MS', group: 'ZooKeeper', placeholder: '<ms>', default: '10000',
    description: 'ZooKeeper session timeout asked for (the server bounds it to 2–20 ticks). A crashed node\'s objects move after about this long.',
    schema: milliseconds(1),
  },
});

export const S3_OPTIONS = defineOptions({
  s3Bucket: {
    flag: 's3-bucket', env: 'HIGHLANDER_S3_BUCKET', group: 'S3 state store', placeholder: '<name>', required: true,
    description: 'Bucket holding the objects\' state.',
    schema: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{2,254}$/, 'must be a bucket name: 3 or more letters, digits, dots, hyphens or underscores, e.g. highlander'),
  },
  s3Prefix: {
    flag: 's3-prefix', env: 'HIGHLANDER_S3_PREFIX', group: 'S3 state store', placeholder: '<prefix>', default: 'objects/',
    description: 'Key prefix: an object\'s state is at `<prefix><type>/<id>.json`.',
    schema: z.string().regex(/^[^/].*$|^$/, 'must not start with / (e.g. objects/ or prod/objects/)'),
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
    flag: 's3-request-timeout-ms', env: 'HIGHLANDER_S3_REQUEST_TIMEOUT_MS', group: 'S3 state store', placeholder: '<ms>', default: '10000',
    description: 'Give up on one S3 request after this long (the call then fails with STORE_UNAVAILABLE, or is resolved by reading back).',
    schema: milliseconds(1),
  },
});

export const NODE_OPTIONS = defineOptions({
  name: {
    flag: 'name', env: 'HIGHLANDER_NODE_NAME', group: 'Node', placeholder: '<name>', required: true,
    description: 'Unique name of this node in the cluster: A-Z a-z 0-9 _ -, at most 64 characters.',
    schema: checkedBy(validateNodeName),
  },
  objects: {
    flag: 'objects', env: 'HIGHLANDER_OBJECTS', group: 'Node', placeholder: '<module>',
    defaultText: 'the todo app, examples/todo/objects.ts',
    description: 'Path of a module exporting `objects`, the object types this node hosts (register the same ones on every node).',
    schema: z.string().min(1),
  },
  placement: {
    flag: 'placement', env: 'HIGHLANDER_PLACEMENT', group: 'Node', placeholder: '<name>', default: 'local',
    description: `Where new activations go: ${PLACEMENTS.join(', ')} (rendezvous).`,
    schema: oneOf(PLACEMENTS),
  },
  ...ZOOKEEPER_OPTIONS,
  zkRequestTimeoutMs: {
    flag: 'zk-request-timeout-ms', env: 'HIGHLANDER_ZK_REQUEST_TIMEOUT_MS', group: 'ZooKeeper', placeholder: '<ms>', default: '5000',
    description: 'Give up on one ZooKeeper request after this long.',
    schema: milliseconds(1),
  },
  ...S3_OPTIONS,
  host: {
    flag: 'host', env: 'HIGHLANDER_HOST', group: 'Network', placeholder: '<host>', default: '127.0.0.1',
    description: 'Interface of the node\'s ws endpoint (forwarded calls, lifecycle events, admin endpoints).',
    schema: host(),
  },
  port: {
    flag: 'port', env: 'HIGHLANDER_PORT', group: 'Network', placeholder: '<port>', default: '0',
    description: 'Port of the ws endpoint; 0 picks a free one (the address is published in ZooKeeper).',
    schema: port(),
  },
  advertiseHost: {
    flag: 'advertise-host', env: 'HIGHLANDER_ADVERTISE_HOST', group: 'Network', placeholder: '<host>', defaultText: 'the --host value',
    description: 'Host other nodes and the admin API connect to, when it differs from --host (0.0.0.0, NAT, containers).',
    schema: host(),
  },
  maxInFlightPerPeer: {
    flag: 'max-in-flight-per-peer', env: 'HIGHLANDER_MAX_IN_FLIGHT_PER_PEER', group: 'Network', placeholder: '<n>', default: '1024',
    description: 'Forwarded requests in flight to one peer; more wait for a slot.',
    schema: integer(1),
  },
  callTimeoutMs: {
    flag: 'call-timeout-ms', env: 'HIGHLANDER_CALL_TIMEOUT_MS', group: 'Timeouts and limits', placeholder: '<ms>', default: '10000',
    description: 'A call fails with CALL_TIMEOUT after this long (unless the caller gives its own timeout).',
    schema: milliseconds(1),
  },
  idleTimeoutMs: {
    flag: 'idle-timeout-ms', env: 'HIGHLANDER_IDLE_TIMEOUT_MS', group: 'Timeouts and limits', placeholder: '<ms>', default: '60000',
    description: 'Deactivate an object after this long without calls (a type may set its own).',
    schema: milliseconds(1),
  },
  maxStateBytes: {
    flag: 'max-state-bytes', env: 'HIGHLANDER_MAX_STATE_BYTES', group: 'Timeouts and limits', placeholder: '<bytes>', default: '1048576',
    description: 'Largest state (as JSON) and call argument; bigger is refused with STATE_TOO_LARGE, nothing written.',
    schema: integer(1),
  },
  statsIntervalMs: {
    flag: 'stats-interval-ms', env: 'HIGHLANDER_STATS_INTERVAL_MS', group: 'Timeouts and limits', placeholder: '<ms>', default: '1000',
    description: 'Interval of the `stats` lifecycle events (call rates and latencies per type).',
    schema: milliseconds(1),
  },
  loadReportIntervalMs: {
    flag: 'load-report-interval-ms', env: 'HIGHLANDER_LOAD_REPORT_INTERVAL_MS', group: 'Timeouts and limits', placeholder: '<ms>', default: '2000',
    description: 'How often the node republishes its activation count in ZooKeeper (for least-loaded placement).',
    schema: milliseconds(1),
  },
  adminToken: {
    flag: 'admin-token', env: 'HIGHLANDER_ADMIN_TOKEN', group: 'Access', placeholder: '<token>', defaultText: 'none (admin endpoints off)', secret: true,
    description: 'Bearer token of the node\'s admin endpoints, which the admin API uses for actions and in-memory state; give the admin API the same. Prefer the variable: flags show in process listings.',
    schema: bearerToken,
  },
  printEvents: {
    flag: 'print-events', env: 'HIGHLANDER_PRINT_EVENTS', group: 'Output', switch: true,
    description: 'Print every lifecycle event as a JSON line on stdout.',
    schema: z.boolean(),
  },
  logLevel: {
    flag: 'log-level', env: 'HIGHLANDER_LOG_LEVEL', group: 'Output', placeholder: '<level>', default: 'info',
    description: `Level of the node's JSON log on stdout (pino): ${LOG_LEVELS.join(', ')}. info: start and stop, membership, drain progress, admin actions; warn: session lost, fenced objects; error: failed writes; debug: every lifecycle step.`,
    schema: oneOf(LOG_LEVELS),
  },
  // The audience gateway's options (audience/src/gateway-options.ts): it runs when --audience-port is set.
  ...AUDIENCE_OPTIONS,
});

export type ZooKeeperConfig = OptionValues<typeof ZOOKEEPER_OPTIONS>;
export type S3Config = OptionValues<typeof S3_OPTIONS>;
export type NodeConfig = OptionValues<typeof NODE_OPTIONS>;

/** A node's configuration from its flags and environment (flag over variable over default); throws {@link OptionsError}. */
export function parseNodeConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ParsedOptions<typeof NODE_OPTIONS> {
  const parsed = parseOptions(NODE_OPTIONS, argv, env);
  if (!parsed.help) checkS3Credentials(parsed.values);
  return parsed;
}

/** Static S3 keys come in pairs: one without the other is a mistake, not a request for the credential chain. */
export function checkS3Credentials(values: Pick<S3Config, 's3AccessKeyId' | 's3SecretAccessKey'>): void {
  if ((values.s3AccessKeyId === undefined) !== (values.s3SecretAccessKey === undefined)) {
    throw new OptionsError([
      `give both ${optionName(S3_OPTIONS.s3AccessKeyId)} and ${optionName(S3_OPTIONS.s3SecretAccessKey)}, or neither (then the AWS credential chain applies)`,
    ]);
  }
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

/**
 * The store's options from `HIGHLANDER_S3_BUCKET`, `HIGHLANDER_S3_PREFIX`, `HIGHLANDER_S3_ENDPOINT`,
 * `HIGHLANDER_S3_REGION`, `HIGHLANDER_S3_ACCESS_KEY_ID`, `HIGHLANDER_S3_SECRET_ACCESS_KEY` and
 * `HIGHLANDER_S3_REQUEST_TIMEOUT_MS` ({@link S3_OPTIONS}); without explicit keys the AWS SDK's
 * credential chain applies (AWS_* variables, profiles, roles). For entry points that read only the
 * environment. Throws {@link OptionsError} (a `TypeError`) naming each bad variable.
 */
export function s3StoreOptionsFromEnv(env: Readonly<Record<string, string | undefined>>): S3StateStoreOptions {
  const parsed = parseOptions(S3_OPTIONS, [], env);
  if (parsed.help) throw new TypeError('unreachable: no flags were given');
  return s3StoreOptions(parsed.values);
}
