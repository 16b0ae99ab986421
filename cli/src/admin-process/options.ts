import { z } from 'zod';
import {
  OptionsError, checkedBy, defineOptions, host, httpUrl, milliseconds, integer, oneOf, parseOptions, port, type OptionValues, type ParsedOptions,
} from '@highlander/kit';
import { ADMIN_API_DEFAULTS, OBJECT_HISTORY_DEFAULTS, ROLES, TokenAuthenticator, originChecker, type AdminApiOptions, type Role, type TokenConfig } from '@highlander/admin-api';
import { CLUSTER_OPTIONS, LOG_LEVELS, S3_OPTIONS, ZOOKEEPER_OPTIONS, checkPair, checkS3Credentials } from '../backend-options.js';
import type { ShardMap } from '@highlander/runtime';

/**
 * The configuration of the admin API process (`highlander admin`) as one option table: every
 * option's flag, environment variable, default and meaning. The ZooKeeper and S3 options are the
 * nodes' own (backend-options.ts). docs/configuration.md is generated from it.
 */

/** `role:name:token` entries, comma-separated; checked by the authenticator itself (token characters, duplicates). */
function parseTokens(value: string): TokenConfig[] {
  const tokens = value.split(',').filter(Boolean).map((entry, i) => {
    const [role, name, token, ...rest] = entry.split(':');
    if (!role || !name || !token || rest.length > 0) {
      throw new TypeError(`entry ${i + 1} is not role:name:token (e.g. operator:ada:s3cr3t-token)`);
    }
    if (!(ROLES as readonly string[]).includes(role)) {
      throw new TypeError(`entry ${i + 1} has role '${role}': the roles are ${ROLES.join(' and ')}`);
    }
    return { role: role as Role, name, token };
  });
  if (tokens.length === 0) throw new TypeError('must list at least one role:name:token entry');
  try {
    new TokenAuthenticator(tokens); // checks the token characters and duplicates, never echoing a token
  } catch (err) {
    throw new TypeError((err as Error).message.replace(/^tokens\[(\d+)\]\.?/, (_, i: string) => `entry ${Number(i) + 1}'s `));
  }
  return tokens;
}

function parseOrigins(value: string): string[] {
  const origins = value.split(',').map((o) => o.trim()).filter(Boolean);
  originChecker(origins); // throws on anything that is not scheme://host[:port]
  return origins;
}

export const ADMIN_OPTIONS = defineOptions({
  ...ZOOKEEPER_OPTIONS,
  ...S3_OPTIONS,
  tokens: {
    flag: 'tokens', env: 'HIGHLANDER_API_TOKENS', group: 'Access', placeholder: '<role:name:token,…>', required: true, secret: true,
    description:
      'Who may call the API: role:name:token entries, comma-separated. Role viewer may read (every GET, the stream); role operator may ' +
      'also evict, migrate and drain. The name is recorded in the audit log. Tokens use A-Z a-z 0-9 - . _ ~. Prefer the variable: flags show in process listings.',
    schema: checkedBy(parseTokens),
  },
  ...CLUSTER_OPTIONS,
  nodeTlsCa: {
    flag: 'node-tls-ca', env: 'HIGHLANDER_NODE_TLS_CA', group: 'TLS', placeholder: '<file>', defaultText: 'the system\'s CAs',
    description: 'PEM CA that signed the nodes\' certificates (their --tls-cert), for nodes with TLS.',
    schema: z.string().min(1, 'must be a file path'),
  },
  nodeTlsCert: {
    flag: 'node-tls-cert', env: 'HIGHLANDER_NODE_TLS_CERT', group: 'TLS', placeholder: '<file>', defaultText: 'none',
    description: 'PEM client certificate presented to nodes that require mutual TLS (--tls-client-auth), with --node-tls-key.',
    schema: z.string().min(1, 'must be a file path'),
  },
  nodeTlsKey: {
    flag: 'node-tls-key', env: 'HIGHLANDER_NODE_TLS_KEY', group: 'TLS', placeholder: '<file>', defaultText: 'none',
    description: 'PEM private key of --node-tls-cert.',
    schema: z.string().min(1, 'must be a file path'),
  },
  readOnly: {
    flag: 'read-only', env: 'HIGHLANDER_API_READ_ONLY', group: 'Access', switch: true,
    description: 'Refuse every action (403 READ_ONLY), whoever asks.',
    schema: z.boolean(),
  },
  allowedOrigins: {
    flag: 'allowed-origins', env: 'HIGHLANDER_API_ALLOWED_ORIGINS', group: 'Access', placeholder: '<origin,…>',
    defaultText: 'none (only the API\'s own origin)',
    description: 'Extra browser origins (scheme://host[:port]) allowed to open the ws stream, comma-separated.',
    schema: checkedBy(parseOrigins),
  },
  // Audience feedback (admin-api/src/talks.ts): where the audience joins.
  audienceUrl: {
    flag: 'audience-url', env: 'HIGHLANDER_AUDIENCE_URL', group: 'Audience', placeholder: '<url>',
    defaultText: 'the audience gateway URL a live node reports',
    description: 'Public URL of the nodes\' audience gateways (e.g. a load balancer in front of their --audience-port); a talk\'s join link is <url>/a/<code>.',
    schema: httpUrl('https://live.example.com'),
  },
  trustProxy: {
    flag: 'trust-proxy', env: 'HIGHLANDER_API_TRUST_PROXY', group: 'Network', placeholder: '<hops|addresses>',
    defaultText: 'none (the client address is the socket\'s peer)',
    description: 'Behind a reverse proxy: how many proxy hops (a number) or which proxy addresses/subnets (comma-separated, e.g. loopback or 10.0.0.0/8) to believe X-Forwarded-For from, for the client address in the audit log.',
    schema: z.string().min(1).transform((value) => (/^\d+$/.test(value) ? Number(value) : value.split(',').map((part) => part.trim()).filter(Boolean))),
  },
  host: {
    flag: 'host', env: 'HIGHLANDER_API_HOST', group: 'Network', placeholder: '<host>', default: ADMIN_API_DEFAULTS.host,
    description: 'Interface to listen on (0.0.0.0 for every interface).',
    schema: host(),
  },
  port: {
    flag: 'port', env: 'HIGHLANDER_API_PORT', group: 'Network', placeholder: '<port>', default: String(ADMIN_API_DEFAULTS.port),
    description: 'Port to listen on; 0 picks a free one (printed at start).',
    schema: port(),
  },
  requestTimeoutMs: {
    flag: 'request-timeout-ms', env: 'HIGHLANDER_API_REQUEST_TIMEOUT_MS', group: 'Timeouts and limits', placeholder: '<ms>', default: String(ADMIN_API_DEFAULTS.requestTimeoutMs),
    description: 'Close a connection whose request has not fully arrived within this long (slow or stuck clients).',
    schema: milliseconds(1),
  },
  actionTimeoutMs: {
    flag: 'action-timeout-ms', env: 'HIGHLANDER_API_ACTION_TIMEOUT_MS', group: 'Timeouts and limits', placeholder: '<ms>', default: String(ADMIN_API_DEFAULTS.actionTimeoutMs),
    description: 'How long an evict, migrate or drain waits for the node carrying it out (then 503 NODE_UNREACHABLE).',
    schema: milliseconds(1),
  },
  evictGraceMs: {
    flag: 'evict-grace-ms', env: 'HIGHLANDER_API_EVICT_GRACE_MS', group: 'Timeouts and limits', placeholder: '<ms>', default: String(ADMIN_API_DEFAULTS.evictGraceMs),
    description: 'A forced eviction first asks the owner; if it does not answer within this long, its lock znode is deleted.',
    schema: milliseconds(1),
  },
  reconcileIntervalMs: {
    flag: 'reconcile-interval-ms', env: 'HIGHLANDER_API_RECONCILE_INTERVAL_MS', group: 'Timeouts and limits', placeholder: '<ms>', default: String(ADMIN_API_DEFAULTS.reconcileIntervalMs),
    description: 'Full reconciliation with ZooKeeper and S3 this often while the API is in use (also at start, after reconnects and gaps).',
    schema: milliseconds(100),
  },
  maxBodyBytes: {
    flag: 'max-body-bytes', env: 'HIGHLANDER_API_MAX_BODY_BYTES', group: 'Timeouts and limits', placeholder: '<bytes>', default: String(ADMIN_API_DEFAULTS.maxBodyBytes),
    description: 'Largest request body; bigger is refused with 413 PAYLOAD_TOO_LARGE.',
    schema: integer(1),
  },
  maxStateBytes: {
    flag: 'max-state-bytes', env: 'HIGHLANDER_API_MAX_STATE_BYTES', group: 'Timeouts and limits', placeholder: '<bytes>', default: String(ADMIN_API_DEFAULTS.maxStateBytes),
    description: "The nodes' --max-state-bytes: the largest state an operator may put (bigger: 413 STATE_TOO_LARGE) and call argument; their request bodies may be this plus 16 KiB.",
    schema: integer(1),
  },
  callTimeoutMs: {
    flag: 'call-timeout-ms', env: 'HIGHLANDER_API_CALL_TIMEOUT_MS', group: 'Timeouts and limits', placeholder: '<ms>', default: String(ADMIN_API_DEFAULTS.callTimeoutMs),
    description: 'Timeout of calls and state replacements made through the API (a call may ask for another, up to 10 min).',
    schema: milliseconds(1),
  },
  // Automatic rebalancing (admin-api/src/rebalance/): off unless asked for.
  rebalance: {
    flag: 'rebalance', env: 'HIGHLANDER_API_REBALANCE', group: 'Rebalancing', switch: true,
    description:
      'Move objects between nodes automatically until every node holds about as many active objects as the mean (a node joined, or the load skewed), ' +
      'with the owner-driven migration, the coldest objects first. With several admin APIs, only the one holding <zk-root>/rebalancer moves objects. ' +
      'Pause and resume with POST /api/rebalance/pause|resume or highlander rebalance pause|resume.',
    schema: z.boolean(),
  },
  rebalanceThresholdPercent: {
    flag: 'rebalance-threshold-percent', env: 'HIGHLANDER_API_REBALANCE_THRESHOLD_PERCENT', group: 'Rebalancing', placeholder: '<percent>',
    default: String(ADMIN_API_DEFAULTS.rebalance.thresholdPercent),
    description: 'A node is out of balance when its active objects are more than this percentage of the mean above or below the mean…',
    schema: integer(0, 1000),
  },
  rebalanceMinDifference: {
    flag: 'rebalance-min-difference', env: 'HIGHLANDER_API_REBALANCE_MIN_DIFFERENCE', group: 'Rebalancing', placeholder: '<objects>',
    default: String(ADMIN_API_DEFAULTS.rebalance.minDifference),
    description: '…and at least this many objects away from it (so small clusters do not churn).',
    schema: integer(1),
  },
  rebalanceMovesPerSecond: {
    flag: 'rebalance-moves-per-second', env: 'HIGHLANDER_API_REBALANCE_MOVES_PER_SECOND', group: 'Rebalancing', placeholder: '<n>',
    default: String(ADMIN_API_DEFAULTS.rebalance.movesPerSecond),
    description: 'Moves started per second, at most.',
    schema: integer(1, 1000),
  },
  rebalanceConcurrency: {
    flag: 'rebalance-concurrency', env: 'HIGHLANDER_API_REBALANCE_CONCURRENCY', group: 'Rebalancing', placeholder: '<n>',
    default: String(ADMIN_API_DEFAULTS.rebalance.concurrency),
    description: 'Moves under way at once, at most.',
    schema: integer(1, 100),
  },
  rebalanceCooldownMs: {
    flag: 'rebalance-cooldown-ms', env: 'HIGHLANDER_API_REBALANCE_COOLDOWN_MS', group: 'Rebalancing', placeholder: '<ms>',
    default: String(ADMIN_API_DEFAULTS.rebalance.cooldownMs),
    description: 'An object moved (or tried) is not moved again within this long.',
    schema: milliseconds(0),
  },
  auditLog: {
    flag: 'audit-log', env: 'HIGHLANDER_AUDIT_LOG', group: 'Output', placeholder: '<file>', default: 'data/audit.jsonl',
    description: 'The audit log (JSON lines, appended and fsynced before each action is answered); relative to the working directory.',
    schema: z.string().min(1, 'must be a file path'),
  },
  historyLog: {
    flag: 'history-log', env: 'HIGHLANDER_HISTORY_LOG', group: 'Output', placeholder: '<file>', defaultText: 'object-history.jsonl beside the audit log',
    description: 'Each object\'s ownership history (activations, migrations, fenced writes; JSON lines, rewritten when it holds twice what is kept); relative to the working directory.',
    schema: z.string().min(1, 'must be a file path'),
  },
  historyMaxPerObject: {
    flag: 'history-max-per-object', env: 'HIGHLANDER_HISTORY_MAX_PER_OBJECT', group: 'Output', placeholder: '<n>', default: String(OBJECT_HISTORY_DEFAULTS.maxEntriesPerObject),
    description: 'Ownership history entries kept per object; its oldest are dropped first.',
    schema: integer(1),
  },
  historyMaxEntries: {
    flag: 'history-max-entries', env: 'HIGHLANDER_HISTORY_MAX_ENTRIES', group: 'Output', placeholder: '<n>', default: String(OBJECT_HISTORY_DEFAULTS.maxEntries),
    description: 'Ownership history entries kept in all (in memory about 350 bytes each at 2 per object; on disk at most twice that many lines of about 170 bytes); beyond, the objects whose history changed longest ago are forgotten.',
    schema: integer(1),
  },
  logLevel: {
    flag: 'log-level', env: 'HIGHLANDER_LOG_LEVEL', group: 'Output', placeholder: '<level>', default: 'info',
    description: `Level of the JSON log on stdout (pino): ${LOG_LEVELS.join(', ')}.`,
    schema: oneOf(LOG_LEVELS),
  },
});

export type AdminConfig = OptionValues<typeof ADMIN_OPTIONS>;

/** The admin API's configuration from its flags and environment (flag over variable over default); throws `OptionsError`. */
export function parseAdminConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ParsedOptions<typeof ADMIN_OPTIONS> {
  const parsed = parseOptions(ADMIN_OPTIONS, argv, env);
  if (parsed.help) return parsed;
  checkS3Credentials(parsed.values);
  if (parsed.values.historyMaxPerObject > parsed.values.historyMaxEntries) {
    throw new OptionsError([`--history-max-per-object (${parsed.values.historyMaxPerObject}) cannot be more than --history-max-entries (${parsed.values.historyMaxEntries})`]);
  }
  checkPair(
    { given: parsed.values.nodeTlsCert !== undefined, spec: ADMIN_OPTIONS.nodeTlsCert },
    { given: parsed.values.nodeTlsKey !== undefined, spec: ADMIN_OPTIONS.nodeTlsKey },
    'then no client certificate is presented to the nodes',
  );
  return parsed;
}

/** The admin API's options from its configuration (everything but the store and the logger). */
export function adminApiOptionsFromConfig(config: AdminConfig, shardMap?: ShardMap): Omit<AdminApiOptions, 'store'> {
  return {
    cluster: { zookeeper: { connect: config.zk, root: config.zkRoot, sessionTimeoutMs: config.zkSessionTimeoutMs, ...(shardMap ? { shardMap } : {}) } },
    tokens: config.tokens,
    auditLogPath: config.auditLog,
    history: {
      ...(config.historyLog !== undefined ? { path: config.historyLog } : {}),
      maxEntriesPerObject: config.historyMaxPerObject,
      maxEntries: config.historyMaxEntries,
    },
    host: config.host,
    port: config.port,
    readOnly: config.readOnly,
    allowedOrigins: config.allowedOrigins ?? [],
    maxBodyBytes: config.maxBodyBytes,
    maxStateBytes: config.maxStateBytes,
    callTimeoutMs: config.callTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    evictGraceMs: config.evictGraceMs,
    actionTimeoutMs: config.actionTimeoutMs,
    reconcileIntervalMs: config.reconcileIntervalMs,
    ...(config.rebalance
      ? {
        rebalance: {
          thresholdPercent: config.rebalanceThresholdPercent, minDifference: config.rebalanceMinDifference,
          movesPerSecond: config.rebalanceMovesPerSecond, concurrency: config.rebalanceConcurrency, cooldownMs: config.rebalanceCooldownMs,
        },
      }
      : {}),
    talks: config.audienceUrl !== undefined ? { audienceUrl: config.audienceUrl } : {},
    ...(config.clusterSecret !== undefined ? { clusterSecret: config.clusterSecret } : {}),
    ...(config.trustProxy !== undefined ? { trustProxy: config.trustProxy } : {}),
  };
}
