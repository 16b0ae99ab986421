import type { Logger } from 'pino';
import type { Coordinator } from './coordinator.js';
import type { AnyObjectType } from './define-object.js';
import type { NodeMetrics } from './metrics.js';
import { MAX_CALL_TIMEOUT_MS } from './object-ref.js';
import { placementByName, type Placement, type PlacementName } from './placement.js';
import type { StateStore } from './state-store.js';

/**
 * A node's options (`HighlanderNode.create`), their defaults ({@link NODE_DEFAULTS}, also read by
 * the CLI's option table), and their compilation into required values, checked once.
 */
export interface HighlanderNodeOptions {
  /** This node's name, unique in the cluster: `[A-Za-z0-9_-]{1,64}`. */
  name: string;
  /** Membership and lock queues (`ZooKeeperCoordinator`). */
  coordinator: Coordinator;
  /** Where states are kept (`S3StateStore`). */
  store: StateStore;
  /** Every object type this node can host. Register the same types on every node. */
  objects: AnyObjectType[];
  /**
   * Where new activations go: `local`, `round-robin`, `random`, `least-loaded`, `hash`, or your own.
   * @default 'local'
   */
  placement?: PlacementName | Placement;
  /**
   * Interface the peer/events ws endpoint listens on.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * Port of the ws endpoint; 0 picks a free one.
   * @default 0
   */
  port?: number;
  /**
   * Host other nodes use to reach this one.
   * @default host (127.0.0.1 for a wildcard host)
   */
  advertiseHost?: string;
  /**
   * A call fails with `CallTimeout` after this long (per call: `{ timeoutMs }`); at most 10 minutes.
   * @default 10000
   */
  callTimeoutMs?: number;
  /**
   * Deactivate an object after this long without calls (per type: `idleTimeoutMs` in defineObject).
   * @default 60000
   */
  idleTimeoutMs?: number;
  /**
   * Largest state, and call argument, as JSON.
   * @default 1048576
   */
  maxStateBytes?: number;
  /**
   * Forwarded requests in flight to one peer; more wait for a slot.
   * @default 1024
   */
  maxInFlightPerPeer?: number;
  /**
   * Interval of `stats` events (call counts and latency per type).
   * @default 1000
   */
  statsIntervalMs?: number;
  /**
   * How often this node republishes its activation count (for `least-loaded`).
   * @default 2000
   */
  loadReportIntervalMs?: number;
  /**
   * Bearer token for the node's admin endpoints (`/admin/…` on its ws port: inspect, evict,
   * migrate, drain). Without one, those endpoints are off. It also guards `GET /metrics`.
   */
  adminToken?: string;
  /**
   * This node's Prometheus metrics (see `NodeMetrics`), served at `GET /metrics` on its ws port
   * (behind `adminToken` when one is set) and readable as `node.metrics`; `false` turns them off.
   * Give each node its own.
   * @default new NodeMetrics()
   */
  metrics?: NodeMetrics | false;
  /**
   * A pino logger for the node's lifecycle (node up/down, membership, session lost and rejoined,
   * fenced objects, failed writes, drain progress, admin actions; details at debug) and for
   * failures of background tasks. Lines carry `node: <name>`.
   * @default none: the node logs nothing (background failures become process warnings)
   */
  logger?: Logger;
}

/** The defaults of {@link HighlanderNodeOptions}: the one place they are written (advertiseHost: the host, or 127.0.0.1 for a wildcard one). */
export const NODE_DEFAULTS = {
  placement: 'local',
  host: '127.0.0.1',
  port: 0,
  callTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  maxStateBytes: 1024 * 1024,
  maxInFlightPerPeer: 1024,
  statsIntervalMs: 1000,
  loadReportIntervalMs: 2000,
} as const satisfies Partial<HighlanderNodeOptions>;

/** The options with every default applied and every value checked. */
export interface CompiledNodeOptions {
  readonly name: string;
  readonly coordinator: Coordinator;
  readonly store: StateStore;
  readonly objects: readonly AnyObjectType[];
  readonly placement: Placement;
  readonly host: string;
  readonly port: number;
  readonly advertiseHost: string;
  readonly callTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxStateBytes: number;
  readonly maxInFlightPerPeer: number;
  readonly statsIntervalMs: number;
  readonly loadReportIntervalMs: number;
  readonly adminToken: string | undefined;
}

/** Applies the defaults and checks every value; a missing or contradictory option is a `TypeError`. */
export function compileNodeOptions(options: HighlanderNodeOptions): CompiledNodeOptions {
  if (!options.coordinator) throw new TypeError('HighlanderNode: coordinator is required');
  if (!options.store) throw new TypeError('HighlanderNode: store is required');
  if (!Array.isArray(options.objects) || options.objects.length === 0) throw new TypeError('HighlanderNode: objects must list at least one object type');
  const positive = (name: keyof typeof NODE_DEFAULTS & keyof HighlanderNodeOptions) => {
    const given = options[name] as number | undefined;
    const value = given ?? (NODE_DEFAULTS[name] as number);
    if (!(Number.isFinite(value) && value > 0)) throw new TypeError(`HighlanderNode: ${name} must be a positive number (got ${given})`);
    return value;
  };
  const host = options.host ?? NODE_DEFAULTS.host;
  const port = options.port ?? NODE_DEFAULTS.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`HighlanderNode: port must be 0..65535 (got ${port})`);
  const callTimeoutMs = positive('callTimeoutMs');
  if (callTimeoutMs > MAX_CALL_TIMEOUT_MS) throw new TypeError(`HighlanderNode: callTimeoutMs must be at most ${MAX_CALL_TIMEOUT_MS} ms (got ${callTimeoutMs})`);
  return {
    name: options.name,
    coordinator: options.coordinator,
    store: options.store,
    objects: options.objects,
    placement: typeof options.placement === 'object' ? options.placement : placementByName(options.placement ?? NODE_DEFAULTS.placement),
    host,
    port,
    advertiseHost: options.advertiseHost ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host),
    callTimeoutMs,
    idleTimeoutMs: positive('idleTimeoutMs'),
    maxStateBytes: positive('maxStateBytes'),
    maxInFlightPerPeer: positive('maxInFlightPerPeer'),
    statsIntervalMs: positive('statsIntervalMs'),
    loadReportIntervalMs: positive('loadReportIntervalMs'),
    adminToken: options.adminToken,
  };
}

/** The largest ws frame a node accepts: a frame may carry a whole state plus framing; twice the state limit leaves room for batching. */
export function maxPayloadFor(maxStateBytes: number): number {
  return 2 * maxStateBytes + 1024 * 1024;
}
