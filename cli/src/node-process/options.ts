import { z } from 'zod';
import { OptionsError, checkedBy, defineOptions, host, integer, milliseconds, oneOf, optionName, parseOptions, port, type OptionValues, type ParsedOptions } from '@highlander/kit';
import {
  MAX_CALL_TIMEOUT_MS, NODE_DEFAULTS, ZOOKEEPER_DEFAULTS, isLoopbackHost, validateNodeName, type HighlanderNodeOptions, type PlacementName,
} from '@highlander/runtime';
import { CLUSTER_OPTIONS, LOG_LEVELS, S3_OPTIONS, ZOOKEEPER_OPTIONS, checkPair, checkS3Credentials } from '../backend-options.js';
import { AUDIENCE_OPTIONS } from './audience-options.js';

/**
 * The configuration of a node process (`highlander node`) as one option table: every option's
 * flag, environment variable, default and meaning, the audience gateway's included. The defaults
 * are the runtime's (`NODE_DEFAULTS`, `ZOOKEEPER_DEFAULTS`, `S3_DEFAULTS`, `GATEWAY_DEFAULTS`).
 *
 * ```ts
 * const parsed = parseNodeConfig(process.argv.slice(2), process.env); // OptionsError: exit 2
 * if (!parsed.help) HighlanderNode.create({ ...nodeOptionsFromConfig(parsed.values), coordinator, store, objects });
 * ```
 */

export const PLACEMENTS = ['local', 'round-robin', 'random', 'least-loaded', 'hash'] as const satisfies readonly PlacementName[];
// Every placement name is listed (a compile error when one is added to placement.ts but not here).
const placementsComplete: PlacementName extends (typeof PLACEMENTS)[number] ? true : false = true;
void placementsComplete;

export const NODE_OPTIONS = defineOptions({
  name: {
    flag: 'name', env: 'HIGHLANDER_NODE_NAME', group: 'Node', placeholder: '<name>', required: true,
    description: 'Unique name of this node in the cluster: A-Z a-z 0-9 _ -, at most 64 characters.',
    schema: checkedBy(validateNodeName),
  },
  objects: {
    flag: 'objects', env: 'HIGHLANDER_OBJECTS', group: 'Node', placeholder: '<module>', required: true,
    description: 'The module exporting `objects`, the object types this node hosts (register the same ones on every node): a file path, or a package name resolved from the working directory (e.g. @highlander/example-todo).',
    schema: z.string().min(1),
  },
  placement: {
    flag: 'placement', env: 'HIGHLANDER_PLACEMENT', group: 'Node', placeholder: '<name>', default: NODE_DEFAULTS.placement,
    description: `Where new activations go: ${PLACEMENTS.join(', ')} (rendezvous).`,
    schema: oneOf(PLACEMENTS),
  },
  ...ZOOKEEPER_OPTIONS,
  zkRequestTimeoutMs: {
    flag: 'zk-request-timeout-ms', env: 'HIGHLANDER_ZK_REQUEST_TIMEOUT_MS', group: 'ZooKeeper', placeholder: '<ms>', default: String(ZOOKEEPER_DEFAULTS.requestTimeoutMs),
    description: 'Give up on one ZooKeeper request after this long.',
    schema: milliseconds(1),
  },
  ...S3_OPTIONS,
  host: {
    flag: 'host', env: 'HIGHLANDER_HOST', group: 'Network', placeholder: '<host>', default: NODE_DEFAULTS.host,
    description: 'Interface of the node\'s ws endpoint (forwarded calls, lifecycle events, admin endpoints).',
    schema: host(),
  },
  port: {
    flag: 'port', env: 'HIGHLANDER_PORT', group: 'Network', placeholder: '<port>', default: String(NODE_DEFAULTS.port),
    description: 'Port of the ws endpoint; 0 picks a free one (the address is published in ZooKeeper).',
    schema: port(),
  },
  advertiseHost: {
    flag: 'advertise-host', env: 'HIGHLANDER_ADVERTISE_HOST', group: 'Network', placeholder: '<host>', defaultText: 'the --host value',
    description: 'Host other nodes and the admin API connect to, when it differs from --host (0.0.0.0, NAT, containers).',
    schema: host(),
  },
  maxInFlightPerPeer: {
    flag: 'max-in-flight-per-peer', env: 'HIGHLANDER_MAX_IN_FLIGHT_PER_PEER', group: 'Network', placeholder: '<n>', default: String(NODE_DEFAULTS.maxInFlightPerPeer),
    description: 'Forwarded requests in flight to one peer; more wait for a slot.',
    schema: integer(1),
  },
  callTimeoutMs: {
    flag: 'call-timeout-ms', env: 'HIGHLANDER_CALL_TIMEOUT_MS', group: 'Timeouts and limits', placeholder: '<ms>', default: String(NODE_DEFAULTS.callTimeoutMs),
    description: `A call fails with CALL_TIMEOUT after this long (unless the caller gives its own timeout); at most ${MAX_CALL_TIMEOUT_MS} (10 minutes).`,
    schema: milliseconds(1, MAX_CALL_TIMEOUT_MS),
  },
  idleTimeoutMs: {
    flag: 'idle-timeout-ms', env: 'HIGHLANDER_IDLE_TIMEOUT_MS', group: 'Timeouts and limits', placeholder: '<ms>', default: String(NODE_DEFAULTS.idleTimeoutMs),
    description: 'Deactivate an object after this long without calls (a type may set its own).',
    schema: milliseconds(1),
  },
  maxStateBytes: {
    flag: 'max-state-bytes', env: 'HIGHLANDER_MAX_STATE_BYTES', group: 'Timeouts and limits', placeholder: '<bytes>', default: String(NODE_DEFAULTS.maxStateBytes),
    description: 'Largest state (as JSON) and call argument; bigger is refused with STATE_TOO_LARGE, nothing written.',
    schema: integer(1),
  },
  lockBudgetBytes: {
    flag: 'lock-budget-bytes', env: 'HIGHLANDER_LOCK_BUDGET_BYTES', group: 'Timeouts and limits', placeholder: '<bytes>', default: String(NODE_DEFAULTS.lockBudgetBytes),
    description: 'Most bytes of lock paths the node holds (~115 bytes per object with a UUID id: ~13,000 objects by default). '
      + 'ZooKeeper deletes them in one transaction when the node\'s session ends, and a stock server refuses one over 2 MiB '
      + '(the ensemble then loses its quorum); past the budget the node refuses new activations with NODE_FULL and placement uses other nodes. '
      + 'With --zk-shards it holds per ensemble (each session lists only its own locks).',
    schema: integer(1),
  },
  statsIntervalMs: {
    flag: 'stats-interval-ms', env: 'HIGHLANDER_STATS_INTERVAL_MS', group: 'Timeouts and limits', placeholder: '<ms>', default: String(NODE_DEFAULTS.statsIntervalMs),
    description: 'Interval of the `stats` lifecycle events (call rates and latencies per type).',
    schema: milliseconds(1),
  },
  loadReportIntervalMs: {
    flag: 'load-report-interval-ms', env: 'HIGHLANDER_LOAD_REPORT_INTERVAL_MS', group: 'Timeouts and limits', placeholder: '<ms>', default: String(NODE_DEFAULTS.loadReportIntervalMs),
    description: 'How often the node republishes its activation count in ZooKeeper (for least-loaded placement).',
    schema: milliseconds(1),
  },
  ...CLUSTER_OPTIONS,
  unsafeSkipStoreSelfTest: {
    flag: 'unsafe-skip-store-self-test', env: 'HIGHLANDER_UNSAFE_SKIP_STORE_SELF_TEST', group: 'S3 state store', switch: true,
    description: 'UNSAFE: start without checking that the S3 server enforces conditional writes (If-None-Match, If-Match). On a server that ignores them fencing is void: a paused old owner can overwrite a newer one\'s state.',
    schema: z.boolean(),
  },
  tlsCert: {
    flag: 'tls-cert', env: 'HIGHLANDER_TLS_CERT', group: 'TLS', placeholder: '<file>', defaultText: 'none (plain ws)',
    description: 'PEM certificate of the node\'s port: with --tls-key, the node serves wss:// and https:// and publishes a wss:// address.',
    schema: z.string().min(1, 'must be a file path'),
  },
  tlsKey: {
    flag: 'tls-key', env: 'HIGHLANDER_TLS_KEY', group: 'TLS', placeholder: '<file>', defaultText: 'none',
    description: 'PEM private key of --tls-cert.',
    schema: z.string().min(1, 'must be a file path'),
  },
  tlsCa: {
    flag: 'tls-ca', env: 'HIGHLANDER_TLS_CA', group: 'TLS', placeholder: '<file>', defaultText: 'the system\'s CAs',
    description: 'PEM CA that signed the other nodes\' certificates (and, with --tls-client-auth, the clients\').',
    schema: z.string().min(1, 'must be a file path'),
  },
  tlsClientAuth: {
    flag: 'tls-client-auth', env: 'HIGHLANDER_TLS_CLIENT_AUTH', group: 'TLS', switch: true,
    description: 'Mutual TLS: refuse connections without a client certificate signed by --tls-ca (the node presents its own --tls-cert to other nodes).',
    schema: z.boolean(),
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
  // The audience gateway's options (audience-options.ts): it runs when --audience-port is set.
  ...AUDIENCE_OPTIONS,
});

export type NodeConfig = OptionValues<typeof NODE_OPTIONS>;

/** A node's configuration from its flags and environment (flag over variable over default); throws `OptionsError`. */
export function parseNodeConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ParsedOptions<typeof NODE_OPTIONS> {
  const parsed = parseOptions(NODE_OPTIONS, argv, env);
  if (parsed.help) return parsed;
  const values = parsed.values;
  checkS3Credentials(values);
  checkPair({ given: values.tlsCert !== undefined, spec: NODE_OPTIONS.tlsCert }, { given: values.tlsKey !== undefined, spec: NODE_OPTIONS.tlsKey }, 'then the port speaks plain ws');
  const problems: string[] = [];
  if (values.clusterSecret === undefined && !isLoopbackHost(values.host)) {
    problems.push(`${optionName(NODE_OPTIONS.host)} ${values.host} needs ${optionName(NODE_OPTIONS.clusterSecret)}: a node reachable from other machines serves only cluster members (the same secret on every node and the admin API); without one, keep it on loopback`);
  }
  if (values.tlsClientAuth && (values.tlsCert === undefined || values.tlsCa === undefined)) {
    problems.push(`${optionName(NODE_OPTIONS.tlsClientAuth)} needs ${optionName(NODE_OPTIONS.tlsCert)}, ${optionName(NODE_OPTIONS.tlsKey)} and ${optionName(NODE_OPTIONS.tlsCa)} (the CA that signs the clients' certificates)`);
  }
  if (problems.length > 0) throw new OptionsError(problems);
  return parsed;
}

/** The node's own options from its configuration (everything but the coordinator, the store, the objects and the logger). */
export function nodeOptionsFromConfig(config: NodeConfig): Omit<HighlanderNodeOptions, 'coordinator' | 'store' | 'objects'> {
  return {
    name: config.name,
    placement: config.placement,
    host: config.host,
    port: config.port,
    ...(config.advertiseHost !== undefined ? { advertiseHost: config.advertiseHost } : {}),
    callTimeoutMs: config.callTimeoutMs,
    idleTimeoutMs: config.idleTimeoutMs,
    maxStateBytes: config.maxStateBytes,
    maxInFlightPerPeer: config.maxInFlightPerPeer,
    lockBudgetBytes: config.lockBudgetBytes,
    statsIntervalMs: config.statsIntervalMs,
    loadReportIntervalMs: config.loadReportIntervalMs,
    ...(config.clusterSecret !== undefined ? { clusterSecret: config.clusterSecret } : {}),
    ...(config.unsafeSkipStoreSelfTest ? { unsafeSkipStoreSelfTest: true } : {}),
  };
}
