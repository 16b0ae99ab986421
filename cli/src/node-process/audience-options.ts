import { z } from 'zod';
import { defineOptions, host, integer, milliseconds, port, type OptionValues } from '@highlander/kit';
import { GATEWAY_DEFAULTS, type AudienceGatewayOptions } from '@highlander/audience';

/**
 * The audience gateway's options as flags and variables (`HIGHLANDER_AUDIENCE_*`), part of the node
 * process's option table: the gateway runs when `--audience-port` is set. The defaults are the
 * gateway's own (`GATEWAY_DEFAULTS`).
 */

const GROUP = 'Audience gateway';

/** The gateway's options as flags and variables, for a node process (merged into the node's option table). */
export const AUDIENCE_OPTIONS = defineOptions({
  audiencePort: {
    flag: 'audience-port', env: 'HIGHLANDER_AUDIENCE_PORT', group: GROUP, placeholder: '<port>', defaultText: 'none (no gateway)',
    description: 'Runs the audience gateway (the public audience page /a/<code> and its ws) on this port; 0 picks a free one. Also registers the talk and attendee object types: set it on every node or on none.',
    schema: port(),
  },
  audienceHost: {
    flag: 'audience-host', env: 'HIGHLANDER_AUDIENCE_HOST', group: GROUP, placeholder: '<host>', default: GATEWAY_DEFAULTS.host,
    description: 'Interface of the audience gateway (0.0.0.0 for every interface).',
    schema: host(),
  },
  audienceAdvertiseHost: {
    flag: 'audience-advertise-host', env: 'HIGHLANDER_AUDIENCE_ADVERTISE_HOST', group: GROUP, placeholder: '<host>', defaultText: 'the --audience-host value',
    description: 'Host in the gateway URL the node reports to the admin API (used for join links when the admin API has no --audience-url).',
    schema: host(),
  },
  audienceFlushIntervalMs: {
    flag: 'audience-flush-interval-ms', env: 'HIGHLANDER_AUDIENCE_FLUSH_INTERVAL_MS', group: GROUP, placeholder: '<ms>', default: String(GATEWAY_DEFAULTS.flushIntervalMs),
    description: 'Each talk gets one batch of this node\'s positions and emoji at most this often.',
    schema: milliseconds(10),
  },
  audienceEmojiBurst: {
    flag: 'audience-emoji-burst', env: 'HIGHLANDER_AUDIENCE_EMOJI_BURST', group: GROUP, placeholder: '<n>', default: String(GATEWAY_DEFAULTS.emojiBurst),
    description: 'Emoji one device may send at once; then --audience-emoji-per-second.',
    schema: integer(1),
  },
  audienceEmojiPerSecond: {
    flag: 'audience-emoji-per-second', env: 'HIGHLANDER_AUDIENCE_EMOJI_PER_SECOND', group: GROUP, placeholder: '<n>', default: String(GATEWAY_DEFAULTS.emojiPerSecond),
    description: 'Emoji one device may send per second after its burst.',
    schema: positiveNumber(),
  },
  audienceAddressEmojiBurst: {
    flag: 'audience-address-emoji-burst', env: 'HIGHLANDER_AUDIENCE_ADDRESS_EMOJI_BURST', group: GROUP, placeholder: '<n>', default: String(GATEWAY_DEFAULTS.addressEmojiBurst),
    description: 'Emoji one remote address may send at once (a venue\'s wifi puts a whole room behind one address).',
    schema: integer(1),
  },
  audienceAddressEmojiPerSecond: {
    flag: 'audience-address-emoji-per-second', env: 'HIGHLANDER_AUDIENCE_ADDRESS_EMOJI_PER_SECOND', group: GROUP, placeholder: '<n>', default: String(GATEWAY_DEFAULTS.addressEmojiPerSecond),
    description: 'Emoji one remote address may send per second after its burst.',
    schema: positiveNumber(),
  },
  audienceQuestionBurst: {
    flag: 'audience-question-burst', env: 'HIGHLANDER_AUDIENCE_QUESTION_BURST', group: GROUP, placeholder: '<n>', default: String(GATEWAY_DEFAULTS.questionBurst),
    description: 'Questions one device may ask at once (Q&A); then --audience-questions-per-minute.',
    schema: integer(1),
  },
  audienceQuestionsPerMinute: {
    flag: 'audience-questions-per-minute', env: 'HIGHLANDER_AUDIENCE_QUESTIONS_PER_MINUTE', group: GROUP, placeholder: '<n>', default: String(GATEWAY_DEFAULTS.questionsPerMinute),
    description: 'Questions one device may ask per minute after its burst.',
    schema: positiveNumber(),
  },
  audienceVoteBurst: {
    flag: 'audience-vote-burst', env: 'HIGHLANDER_AUDIENCE_VOTE_BURST', group: GROUP, placeholder: '<n>', default: String(GATEWAY_DEFAULTS.voteBurst),
    description: 'Votes (and votes taken back) one device may send at once; then --audience-votes-per-second.',
    schema: integer(1),
  },
  audienceVotesPerSecond: {
    flag: 'audience-votes-per-second', env: 'HIGHLANDER_AUDIENCE_VOTES_PER_SECOND', group: GROUP, placeholder: '<n>', default: String(GATEWAY_DEFAULTS.votesPerSecond),
    description: 'Votes one device may send per second after its burst.',
    schema: positiveNumber(),
  },
  audienceMaxMessagesPerSecond: {
    flag: 'audience-max-messages-per-second', env: 'HIGHLANDER_AUDIENCE_MAX_MESSAGES_PER_SECOND', group: GROUP, placeholder: '<n>', default: String(GATEWAY_DEFAULTS.maxMessagesPerSecond),
    description: 'Messages one audience connection may send per second; more are refused (rate-limited), five times more close it (1008).',
    schema: integer(1),
  },
  audienceMaxMessageBytes: {
    flag: 'audience-max-message-bytes', env: 'HIGHLANDER_AUDIENCE_MAX_MESSAGE_BYTES', group: GROUP, placeholder: '<bytes>', default: String(GATEWAY_DEFAULTS.maxMessageBytes),
    description: 'Largest audience message (at least 1400: a question of 280 characters fits); a bigger one closes the connection with 1009.',
    schema: integer(1400),
  },
  audienceMaxConnectionsPerAddress: {
    flag: 'audience-max-connections-per-address', env: 'HIGHLANDER_AUDIENCE_MAX_CONNECTIONS_PER_ADDRESS', group: GROUP, placeholder: '<n>', default: String(GATEWAY_DEFAULTS.maxConnectionsPerAddress),
    description: 'Audience connections from one remote address at most (more: 429 before the upgrade). Raise it when the audience shares one address (venue NAT).',
    schema: integer(1),
  },
  audienceMaxConnections: {
    flag: 'audience-max-connections', env: 'HIGHLANDER_AUDIENCE_MAX_CONNECTIONS', group: GROUP, placeholder: '<n>', default: String(GATEWAY_DEFAULTS.maxConnections),
    description: 'Audience connections on this node at most (more: 503 before the upgrade).',
    schema: integer(1),
  },
  audienceNewDevicesPerAddressBurst: {
    flag: 'audience-new-devices-per-address-burst', env: 'HIGHLANDER_AUDIENCE_NEW_DEVICES_PER_ADDRESS_BURST', group: GROUP, placeholder: '<n>',
    default: String(GATEWAY_DEFAULTS.newDevicesPerAddressBurst),
    description: 'New devices one remote address may introduce at once (then --audience-new-devices-per-address-per-minute); more wait (429, the page retries). Bounds how fast one client can make up participants; a venue behind one NAT joins at this pace.',
    schema: integer(1),
  },
  audienceNewDevicesPerAddressPerMinute: {
    flag: 'audience-new-devices-per-address-per-minute', env: 'HIGHLANDER_AUDIENCE_NEW_DEVICES_PER_ADDRESS_PER_MINUTE', group: GROUP, placeholder: '<n>',
    default: String(GATEWAY_DEFAULTS.newDevicesPerAddressPerMinute),
    description: 'New devices one remote address may introduce per minute after its burst.',
    schema: integer(1),
  },
  audienceTrustProxy: {
    flag: 'audience-trust-proxy', env: 'HIGHLANDER_AUDIENCE_TRUST_PROXY', group: GROUP, switch: true,
    description: 'Take the client address from the last X-Forwarded-For entry (set it only behind a load balancer that writes that header).',
    schema: z.boolean(),
  },
  audienceAttendeeWriteIntervalMs: {
    flag: 'audience-attendee-write-interval-ms', env: 'HIGHLANDER_AUDIENCE_ATTENDEE_WRITE_INTERVAL_MS', group: GROUP, placeholder: '<ms>', default: String(GATEWAY_DEFAULTS.attendeeWriteIntervalMs),
    description: 'An attendee object (one per participant, for the cluster map) is written at most this often per device, and when it leaves; the talk holds the truth.',
    schema: milliseconds(100),
  },
  audienceAttendeeWritesPerSecond: {
    flag: 'audience-attendee-writes-per-second', env: 'HIGHLANDER_AUDIENCE_ATTENDEE_WRITES_PER_SECOND', group: GROUP, placeholder: '<n>', default: String(GATEWAY_DEFAULTS.attendeeWritesPerSecond),
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
    questionBurst: config.audienceQuestionBurst,
    questionsPerMinute: config.audienceQuestionsPerMinute,
    voteBurst: config.audienceVoteBurst,
    votesPerSecond: config.audienceVotesPerSecond,
    maxMessagesPerSecond: config.audienceMaxMessagesPerSecond,
    maxMessageBytes: config.audienceMaxMessageBytes,
    maxConnectionsPerAddress: config.audienceMaxConnectionsPerAddress,
    maxConnections: config.audienceMaxConnections,
    newDevicesPerAddressBurst: config.audienceNewDevicesPerAddressBurst,
    newDevicesPerAddressPerMinute: config.audienceNewDevicesPerAddressPerMinute,
    trustProxy: config.audienceTrustProxy,
    attendeeWriteIntervalMs: config.audienceAttendeeWriteIntervalMs,
    attendeeWritesPerSecond: config.audienceAttendeeWritesPerSecond,
  };
}

function positiveNumber() {
  const message = 'must be a positive number, e.g. 1 or 0.5';
  return z.string().trim().regex(/^[0-9]+(\.[0-9]+)?$/, message).transform(Number).pipe(z.number().positive(message));
}
