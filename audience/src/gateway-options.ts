import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { defineOptions, host, integer, milliseconds, port, type OptionValues } from '../../runtime/src/option-table.js';

/**
 * The audience gateway's options: the `AudienceGatewayOptions` a program passes to
 * `AudienceGateway.start`, and the same options as a table of flags and environment variables
 * (`HIGHLANDER_AUDIENCE_*`) that a node process (runtime/src/main.ts) reads with its own options;
 * the gateway runs when `--audience-port` / `HIGHLANDER_AUDIENCE_PORT` is set.
 */

export interface AudienceGatewayOptions {
  /** Port of the gateway (HTTP and ws); 0 picks a free one. */
  port: number;
  /** @default '127.0.0.1' */
  host?: string;
  /**
   * Host in the URL the gateway reports (`url`), when it differs from `host` (0.0.0.0, NAT).
   * @default host (127.0.0.1 for 0.0.0.0 / ::)
   */
  advertiseHost?: string;
  /**
   * Each talk gets one `apply` batch from this gateway at most this often.
   * @default 150
   */
  flushIntervalMs?: number;
  /**
   * A talk hears from this gateway at least this often while it has devices connected (their count, the room size).
   * @default 2000
   */
  heartbeatMs?: number;
  /** Emoji one device may send at once, then `emojiPerSecond`. @default 5 */
  emojiBurst?: number;
  /** @default 1 */
  emojiPerSecond?: number;
  /**
   * Emoji one remote address may send at once, then `addressEmojiPerSecond`. Higher than a device's:
   * a venue's wifi puts a whole room behind one address.
   * @default 25
   */
  addressEmojiBurst?: number;
  /** @default 5 */
  addressEmojiPerSecond?: number;
  /** Messages one connection may send per second; more are refused (`rate-limited`), five times more close it (1008). @default 20 */
  maxMessagesPerSecond?: number;
  /** Largest client message; bigger closes the connection with 1009. @default 512 */
  maxMessageBytes?: number;
  /** ws connections from one remote address at most; more are refused with 429 before the upgrade. @default 50 */
  maxConnectionsPerAddress?: number;
  /** ws connections at most; more are refused with 503 before the upgrade. @default 20000 */
  maxConnections?: number;
  /** Believe the last address of `X-Forwarded-For` (set by your load balancer) as the client's address. @default false */
  trustProxy?: boolean;
  /** An `attendee` object is written at most this often per device (and when it leaves). @default 10000 */
  attendeeWriteIntervalMs?: number;
  /** `attendee` writes in flight at most. @default 4 */
  attendeeWritesInFlight?: number;
  /** `attendee` writes started per second at most (the mirror lags more in a big room; the talk is the truth). @default 25 */
  attendeeWritesPerSecond?: number;
  /** The built dashboard: `audience.html` and `assets/`. @default dashboard/dist of this repository */
  dashboardDir?: string;
}

export type CompiledGatewayOptions = Required<AudienceGatewayOptions>;

const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../dashboard/dist', import.meta.url));

export function compileGatewayOptions(options: AudienceGatewayOptions): CompiledGatewayOptions {
  const host = options.host ?? '127.0.0.1';
  const compiled: CompiledGatewayOptions = {
    port: options.port,
    host,
    advertiseHost: options.advertiseHost ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host),
    flushIntervalMs: options.flushIntervalMs ?? 150,
    heartbeatMs: options.heartbeatMs ?? 2000,
    emojiBurst: options.emojiBurst ?? 5,
    emojiPerSecond: options.emojiPerSecond ?? 1,
    addressEmojiBurst: options.addressEmojiBurst ?? 25,
    addressEmojiPerSecond: options.addressEmojiPerSecond ?? 5,
    maxMessagesPerSecond: options.maxMessagesPerSecond ?? 20,
    maxMessageBytes: options.maxMessageBytes ?? 512,
    maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? 50,
    maxConnections: options.maxConnections ?? 20_000,
    trustProxy: options.trustProxy ?? false,
    attendeeWriteIntervalMs: options.attendeeWriteIntervalMs ?? 10_000,
    attendeeWritesInFlight: options.attendeeWritesInFlight ?? 4,
    attendeeWritesPerSecond: options.attendeeWritesPerSecond ?? 25,
    dashboardDir: options.dashboardDir ?? DEFAULT_DASHBOARD_DIR,
  };
  if (!Number.isInteger(compiled.port) || compiled.port < 0 || compiled.port > 65535) throw new TypeError(`audience gateway: port must be 0..65535 (got ${compiled.port})`);
  for (const name of [
    'flushIntervalMs', 'heartbeatMs', 'emojiBurst', 'emojiPerSecond', 'addressEmojiBurst', 'addressEmojiPerSecond', 'maxMessagesPerSecond',
    'maxMessageBytes', 'maxConnectionsPerAddress', 'maxConnections', 'attendeeWriteIntervalMs', 'attendeeWritesInFlight', 'attendeeWritesPerSecond',
  ] as const) {
    const value = compiled[name];
    if (!Number.isFinite(value) || value <= 0) throw new TypeError(`audience gateway: ${name} must be a positive number (got ${value})`);
  }
  if (compiled.emojiBurst < 1 || compiled.addressEmojiBurst < 1) throw new TypeError('audience gateway: an emoji burst must be at least 1');
  return compiled;
}

const GROUP = 'Audience gateway';

/** The gateway's options as flags and variables, for a node process (merged into the node's option table). */
export const AUDIENCE_OPTIONS = defineOptions({
  audiencePort: {
    flag: 'audience-port', env: 'HIGHLANDER_AUDIENCE_PORT', group: GROUP, placeholder: '<port>', defaultText: 'none (no gateway)',
    description: 'Runs the audience gateway (the public audience page /a/<code> and its ws) on this port; 0 picks a free one. Also registers the talk and attendee object types: set it on every node or on none.',
    schema: port(),
  },
  audienceHost: {
    flag: 'audience-host', env: 'HIGHLANDER_AUDIENCE_HOST', group: GROUP, placeholder: '<host>', default: '127.0.0.1',
    description: 'Interface of the audience gateway (0.0.0.0 for every interface).',
    schema: host(),
  },
  audienceAdvertiseHost: {
    flag: 'audience-advertise-host', env: 'HIGHLANDER_AUDIENCE_ADVERTISE_HOST', group: GROUP, placeholder: '<host>', defaultText: 'the --audience-host value',
    description: 'Host in the gateway URL the node reports to the admin API (used for join links when the admin API has no --audience-url).',
    schema: host(),
  },
  audienceFlushIntervalMs: {
    flag: 'audience-flush-interval-ms', env: 'HIGHLANDER_AUDIENCE_FLUSH_INTERVAL_MS', group: GROUP, placeholder: '<ms>', default: '150',
    description: 'Each talk gets one batch of this node\'s positions and emoji at most this often.',
    schema: milliseconds(10),
  },
  audienceEmojiBurst: {
    flag: 'audience-emoji-burst', env: 'HIGHLANDER_AUDIENCE_EMOJI_BURST', group: GROUP, placeholder: '<n>', default: '5',
    description: 'Emoji one device may send at once; then --audience-emoji-per-second.',
    schema: integer(1),
  },
  audienceEmojiPerSecond: {
    flag: 'audience-emoji-per-second', env: 'HIGHLANDER_AUDIENCE_EMOJI_PER_SECOND', group: GROUP, placeholder: '<n>', default: '1',
    description: 'Emoji one device may send per second after its burst.',
    schema: positiveNumber(),
  },
  audienceAddressEmojiBurst: {
    flag: 'audience-address-emoji-burst', env: 'HIGHLANDER_AUDIENCE_ADDRESS_EMOJI_BURST', group: GROUP, placeholder: '<n>', default: '25',
    description: 'Emoji one remote address may send at once (a venue\'s wifi puts a whole room behind one address).',
    schema: integer(1),
  },
  audienceAddressEmojiPerSecond: {
    flag: 'audience-address-emoji-per-second', env: 'HIGHLANDER_AUDIENCE_ADDRESS_EMOJI_PER_SECOND', group: GROUP, placeholder: '<n>', default: '5',
    description: 'Emoji one remote address may send per second after its burst.',
    schema: positiveNumber(),
  },
  audienceMaxMessagesPerSecond: {
    flag: 'audience-max-messages-per-second', env: 'HIGHLANDER_AUDIENCE_MAX_MESSAGES_PER_SECOND', group: GROUP, placeholder: '<n>', default: '20',
    description: 'Messages one audience connection may send per second; more are refused (rate-limited), five times more close it (1008).',
    schema: integer(1),
  },
  audienceMaxMessageBytes: {
    flag: 'audience-max-message-bytes', env: 'HIGHLANDER_AUDIENCE_MAX_MESSAGE_BYTES', group: GROUP, placeholder: '<bytes>', default: '512',
    description: 'Largest audience message; a bigger one closes the connection with 1009.',
    schema: integer(16),
  },
  audienceMaxConnectionsPerAddress: {
    flag: 'audience-max-connections-per-address', env: 'HIGHLANDER_AUDIENCE_MAX_CONNECTIONS_PER_ADDRESS', group: GROUP, placeholder: '<n>', default: '50',
    description: 'Audience connections from one remote address at most (more: 429 before the upgrade). Raise it when the audience shares one address (venue NAT).',
    schema: integer(1),
  },
  audienceMaxConnections: {
    flag: 'audience-max-connections', env: 'HIGHLANDER_AUDIENCE_MAX_CONNECTIONS', group: GROUP, placeholder: '<n>', default: '20000',
    description: 'Audience connections on this node at most (more: 503 before the upgrade).',
    schema: integer(1),
  },
  audienceTrustProxy: {
    flag: 'audience-trust-proxy', env: 'HIGHLANDER_AUDIENCE_TRUST_PROXY', group: GROUP, switch: true,
    description: 'Take the client address from the last X-Forwarded-For entry (set it only behind a load balancer that writes that header).',
    schema: z.boolean(),
  },
  audienceAttendeeWriteIntervalMs: {
    flag: 'audience-attendee-write-interval-ms', env: 'HIGHLANDER_AUDIENCE_ATTENDEE_WRITE_INTERVAL_MS', group: GROUP, placeholder: '<ms>', default: '10000',
    description: 'An attendee object (one per participant, for the cluster map) is written at most this often per device, and when it leaves; the talk holds the truth.',
    schema: milliseconds(100),
  },
  audienceAttendeeWritesPerSecond: {
    flag: 'audience-attendee-writes-per-second', env: 'HIGHLANDER_AUDIENCE_ATTENDEE_WRITES_PER_SECOND', group: GROUP, placeholder: '<n>', default: '25',
    description: 'Attendee writes this node starts per second at most: in a big room each attendee is written less often (the S3 PUTs stay bounded); none start while the talks\' batches are slow.',
    schema: integer(1),
  },
});

export type AudienceConfig = OptionValues<typeof AUDIENCE_OPTIONS>;

/** The gateway's options from a parsed configuration, or undefined when no audience port is set. */
export function gatewayOptionsFromConfig(config: AudienceConfig): AudienceGatewayOptions | undefined {
  if (config.audiencePort === undefined) return undefined;
  return {
    port: config.audiencePort,
    host: config.audienceHost,
    ...(config.audienceAdvertiseHost !== undefined ? { advertiseHost: config.audienceAdvertiseHost } : {}),
    flushIntervalMs: config.audienceFlushIntervalMs,
    emojiBurst: config.audienceEmojiBurst,
    emojiPerSecond: config.audienceEmojiPerSecond,
    addressEmojiBurst: config.audienceAddressEmojiBurst,
    addressEmojiPerSecond: config.audienceAddressEmojiPerSecond,
    maxMessagesPerSecond: config.audienceMaxMessagesPerSecond,
    maxMessageBytes: config.audienceMaxMessageBytes,
    maxConnectionsPerAddress: config.audienceMaxConnectionsPerAddress,
    maxConnections: config.audienceMaxConnections,
    trustProxy: config.audienceTrustProxy,
    attendeeWriteIntervalMs: config.audienceAttendeeWriteIntervalMs,
    attendeeWritesPerSecond: config.audienceAttendeeWritesPerSecond,
  };
}

function positiveNumber() {
  const message = 'must be a positive number, e.g. 1 or 0.5';
  return z.string().trim().regex(/^[0-9]+(\.[0-9]+)?$/, message).transform(Number).pipe(z.number().positive(message));
}
