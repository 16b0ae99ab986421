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
   * The most bytes of lock paths this node holds (its objects' lock znodes, waiting or owning, as
   * `Coordinator.lockBytes` counts them). When a node's ZooKeeper session ends, the server deletes
   * all its locks in one transaction listing their paths, and a stock server refuses one over 2 MiB
   * (ZOOKEEPER-4306: the ensemble then loses its quorum). Past the budget the node refuses new
   * activations (`NodeFull`) and placement sends them to other nodes. The default, 75% of that
   * limit, is ~13,000 locks with UUID ids and short names. Ignored by a coordinator without the limit.
   * With a sharded coordinator (`Coordinator.lockPool`) it holds per ensemble: each session's
   * transaction lists only the locks in its own ensemble.
   * @default 1500000
   */
  lockBudgetBytes?: number;
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
   * The cluster's shared secret (at least 16 characters of A-Z a-z 0-9 . _ ~ + / = -): every node and
   * the admin API have the same one, and every request on the node's port must carry it
   * (`Authorization: Bearer <secret>`, compared in constant time): forwarded calls (`/peer`), event
   * subscriptions (`/events`), the admin endpoints (`/admin/…`) and `/metrics`; anything else is
   * refused with 401 before a ws upgrade. Without one the admin endpoints are off, and the node must
   * listen on loopback (a node on any other address refuses to start without it).
   */
  clusterSecret?: string;
  /**
   * Skip the state store's self-test at start (S3: that the server enforces conditional writes).
   * UNSAFE: on a server that ignores If-None-Match / If-Match, fencing is void and a paused or
   * partitioned old owner can overwrite a newer one's state. Only for a server you have checked.
   * @default false
   */
  unsafeSkipStoreSelfTest?: boolean;
  /**
   * TLS on the node's port (`wss://`, `https://`) and for its connections to other nodes: PEM
   * certificate and key, the CA that signed the other nodes' certificates, and `requestClientCert`
   * for mutual TLS (peers and the admin API must then present a certificate the CA signed).
   * @default none (plain ws)
   */
  tls?: NodeTlsOptions;
  /**
   * This node's Prometheus metrics (see `NodeMetrics`), served at `GET /metrics` on its ws port
   * (behind `clusterSecret` when one is set) and readable as `node.metrics`; `false` turns them off.
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

/** TLS of a node's port and of its connections to other nodes (PEM text or buffers). */
export interface NodeTlsOptions {
  cert: string | Buffer;
  key: string | Buffer;
  /** The CA (or CAs) that signed the other nodes' certificates (and, with `requestClientCert`, the clients'). @default the system's CAs */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Mutual TLS: refuse a connection without a client certificate signed by `ca`. @default false */
  requestClientCert?: boolean;
}

/** A cluster secret goes in an HTTP header: these characters, at least this many. */
export const CLUSTER_SECRET_PATTERN = /^[A-Za-z0-9._~+/=-]{16,}$/;

/** Whether `host` is a loopback address (or localhost): the only place a node may listen without a cluster secret. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
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
  lockBudgetBytes: 1_500_000,
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
  readonly lockBudgetBytes: number;
  readonly statsIntervalMs: number;
  readonly loadReportIntervalMs: number;
  readonly clusterSecret: string | undefined;
  readonly unsafeSkipStoreSelfTest: boolean;
  readonly tls: NodeTlsOptions | undefined;
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
  if (options.clusterSecret !== undefined && !CLUSTER_SECRET_PATTERN.test(options.clusterSecret)) {
    throw new TypeError('HighlanderNode: clusterSecret must be at least 16 characters of A-Z a-z 0-9 . _ ~ + / = - (e.g. 32 random bytes in base64url)');
  }
  if (options.clusterSecret === undefined && !isLoopbackHost(host)) {
    throw new TypeError(`HighlanderNode: a node listening on ${host} needs a clusterSecret (the same on every node and the admin API); only a node on loopback may run without one`);
  }
  if (options.tls && (!options.tls.cert || !options.tls.key)) throw new TypeError('HighlanderNode: tls needs both cert and key (PEM)');
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
    lockBudgetBytes: positive('lockBudgetBytes'),
    statsIntervalMs: positive('statsIntervalMs'),
    loadReportIntervalMs: positive('loadReportIntervalMs'),
    clusterSecret: options.clusterSecret,
    unsafeSkipStoreSelfTest: options.unsafeSkipStoreSelfTest ?? false,
    tls: options.tls,
  };
}

/** The largest ws frame a node accepts: a frame may carry a whole state plus framing; twice the state limit leaves room for batching. */
export function maxPayloadFor(maxStateBytes: number): number {
  return 2 * maxStateBytes + 1024 * 1024;
}
