import { MAX_QUESTION_LENGTH } from './protocol.js';

/**
 * The audience gateway's options, as a program passes them to `AudienceGateway.start`. Their
 * defaults are written once, in {@link GATEWAY_DEFAULTS}: the node process's option table
 * (`--audience-*` flags, in @highlander/cli) shows the same values.
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
  /** Questions one device may ask at once, then `questionsPerMinute`. @default 2 */
  questionBurst?: number;
  /** @default 2 */
  questionsPerMinute?: number;
  /** Votes (and undone votes) one device may send at once, then `votesPerSecond`. @default 10 */
  voteBurst?: number;
  /** @default 2 */
  votesPerSecond?: number;
  /** Messages one connection may send per second; more are refused (`rate-limited`), five times more close it (1008). @default 20 */
  maxMessagesPerSecond?: number;
  /** Largest client message (a question of 280 characters fits); bigger closes the connection with 1009. @default 2048 */
  maxMessageBytes?: number;
  /** ws connections from one remote address at most; more are refused with 429 before the upgrade. @default 50 */
  maxConnectionsPerAddress?: number;
  /** ws connections at most; more are refused with 503 before the upgrade. @default 20000 */
  maxConnections?: number;
  /**
   * New devices (device ids this gateway has not seen lately) one remote address may introduce at
   * once, then `newDevicesPerAddressPerMinute`; more are refused with 429 before the upgrade (the
   * page tries again). One connection speaks for one device, so this bounds how fast one client can
   * make up participants; a venue behind one NAT joins at this pace. @default 50
   */
  newDevicesPerAddressBurst?: number;
  /** @default 300 */
  newDevicesPerAddressPerMinute?: number;
  /** Believe the last address of `X-Forwarded-For` (set by your load balancer) as the client's address. @default false */
  trustProxy?: boolean;
  /** An `attendee` object is written at most this often per device (and when it leaves). @default 10000 */
  attendeeWriteIntervalMs?: number;
  /** `attendee` writes in flight at most. @default 4 */
  attendeeWritesInFlight?: number;
  /** `attendee` writes started per second at most (the mirror lags more in a big room; the talk is the truth). @default 25 */
  attendeeWritesPerSecond?: number;
  /**
   * The built dashboard (`audience.html` and `assets/`, e.g. `dashboardDir` of @highlander/dashboard)
   * for the audience page at `/a/<code>`. @default none: the page answers 404 saying so (the ws still works)
   */
  dashboardDir?: string | null;
}

export type CompiledGatewayOptions = Required<AudienceGatewayOptions>;

/** Every default of {@link AudienceGatewayOptions}, in one place. */
export const GATEWAY_DEFAULTS = {
  host: '127.0.0.1',
  flushIntervalMs: 150,
  heartbeatMs: 2000,
  emojiBurst: 5,
  emojiPerSecond: 1,
  addressEmojiBurst: 25,
  addressEmojiPerSecond: 5,
  questionBurst: 2,
  questionsPerMinute: 2,
  voteBurst: 10,
  votesPerSecond: 2,
  maxMessagesPerSecond: 20,
  maxMessageBytes: 2048,
  maxConnectionsPerAddress: 50,
  maxConnections: 20_000,
  newDevicesPerAddressBurst: 50,
  newDevicesPerAddressPerMinute: 300,
  trustProxy: false,
  attendeeWriteIntervalMs: 10_000,
  attendeeWritesInFlight: 4,
  attendeeWritesPerSecond: 25,
} as const satisfies Partial<AudienceGatewayOptions>;

export function compileGatewayOptions(options: AudienceGatewayOptions): CompiledGatewayOptions {
  const host = options.host ?? GATEWAY_DEFAULTS.host;
  const compiled: CompiledGatewayOptions = {
    port: options.port,
    host,
    advertiseHost: options.advertiseHost ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host),
    flushIntervalMs: options.flushIntervalMs ?? GATEWAY_DEFAULTS.flushIntervalMs,
    heartbeatMs: options.heartbeatMs ?? GATEWAY_DEFAULTS.heartbeatMs,
    emojiBurst: options.emojiBurst ?? GATEWAY_DEFAULTS.emojiBurst,
    emojiPerSecond: options.emojiPerSecond ?? GATEWAY_DEFAULTS.emojiPerSecond,
    addressEmojiBurst: options.addressEmojiBurst ?? GATEWAY_DEFAULTS.addressEmojiBurst,
    addressEmojiPerSecond: options.addressEmojiPerSecond ?? GATEWAY_DEFAULTS.addressEmojiPerSecond,
    questionBurst: options.questionBurst ?? GATEWAY_DEFAULTS.questionBurst,
    questionsPerMinute: options.questionsPerMinute ?? GATEWAY_DEFAULTS.questionsPerMinute,
    voteBurst: options.voteBurst ?? GATEWAY_DEFAULTS.voteBurst,
    votesPerSecond: options.votesPerSecond ?? GATEWAY_DEFAULTS.votesPerSecond,
    maxMessagesPerSecond: options.maxMessagesPerSecond ?? GATEWAY_DEFAULTS.maxMessagesPerSecond,
    maxMessageBytes: options.maxMessageBytes ?? GATEWAY_DEFAULTS.maxMessageBytes,
    maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? GATEWAY_DEFAULTS.maxConnectionsPerAddress,
    maxConnections: options.maxConnections ?? GATEWAY_DEFAULTS.maxConnections,
    newDevicesPerAddressBurst: options.newDevicesPerAddressBurst ?? GATEWAY_DEFAULTS.newDevicesPerAddressBurst,
    newDevicesPerAddressPerMinute: options.newDevicesPerAddressPerMinute ?? GATEWAY_DEFAULTS.newDevicesPerAddressPerMinute,
    trustProxy: options.trustProxy ?? GATEWAY_DEFAULTS.trustProxy,
    attendeeWriteIntervalMs: options.attendeeWriteIntervalMs ?? GATEWAY_DEFAULTS.attendeeWriteIntervalMs,
    attendeeWritesInFlight: options.attendeeWritesInFlight ?? GATEWAY_DEFAULTS.attendeeWritesInFlight,
    attendeeWritesPerSecond: options.attendeeWritesPerSecond ?? GATEWAY_DEFAULTS.attendeeWritesPerSecond,
    dashboardDir: options.dashboardDir ?? null,
  };
  if (!Number.isInteger(compiled.port) || compiled.port < 0 || compiled.port > 65535) throw new TypeError(`audience gateway: port must be 0..65535 (got ${compiled.port})`);
  for (const name of [
    'flushIntervalMs', 'heartbeatMs', 'emojiBurst', 'emojiPerSecond', 'addressEmojiBurst', 'addressEmojiPerSecond', 'questionBurst', 'questionsPerMinute', 'voteBurst', 'votesPerSecond', 'maxMessagesPerSecond',
    'maxMessageBytes', 'maxConnectionsPerAddress', 'maxConnections', 'newDevicesPerAddressBurst', 'newDevicesPerAddressPerMinute',
    'attendeeWriteIntervalMs', 'attendeeWritesInFlight', 'attendeeWritesPerSecond',
  ] as const) {
    const value = compiled[name];
    if (!Number.isFinite(value) || value <= 0) throw new TypeError(`audience gateway: ${name} must be a positive number (got ${value})`);
  }
  if (compiled.emojiBurst < 1 || compiled.addressEmojiBurst < 1) throw new TypeError('audience gateway: an emoji burst must be at least 1');
  if (compiled.questionBurst < 1 || compiled.voteBurst < 1) throw new TypeError('audience gateway: a question or vote burst must be at least 1');
  if (compiled.maxMessageBytes < 1400) throw new TypeError(`audience gateway: maxMessageBytes must be at least 1400 so that a question of ${MAX_QUESTION_LENGTH} characters fits (got ${compiled.maxMessageBytes})`);
  return compiled;
}
