import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValueWithName } from 'prom-client';
import { callOutcomeKind } from './call-outcome.js';
import type { Coordinator } from './coordinator.js';
import type { DeactivationReason, EventLog, LifecycleEvent } from './events.js';
import type { RequestSample } from './request-observer.js';
import type { StateStore } from './state-store.js';

/**
 * A node's Prometheus metrics, on a registry of the node's own (never prom-client's global one, so
 * several nodes can live in one process). A node creates one unless given `metrics: false`, serves
 * it at `GET /metrics` on its ws port, and exposes it as `node.metrics`:
 *
 * - `highlander_calls_total{type,outcome,kind}`: calls made through this node (`ref().get/put/call`),
 *   wherever the object lives; `outcome` is `ok` or the error's code (`OBJECT_REJECTED`, `CALL_TIMEOUT`, …),
 *   `kind` is `ok`, `rejected` (a declared rejection, `OBJECT_REJECTED`: the object refused on purpose)
 *   or `error` (every other code), so that `kind="error"` counts only what went wrong (call-outcome.ts);
 * - `highlander_call_duration_seconds{type}`: their latency as the caller saw it (histogram);
 * - `highlander_forwarded_calls_total{type,direction}`: calls sent to the owner on another node
 *   (`out`, per attempt) and calls other nodes sent here (`in`);
 * - `highlander_activations_total{type}`, `highlander_activation_duration_seconds{type}` (lock held →
 *   state loaded and claimed), `highlander_active_objects{type}` (gauge: activations here, activating included),
 *   `highlander_queued_calls{type}` (gauge: calls waiting in mailboxes);
 * - `highlander_deactivations_total{type,reason}`: reason `idle | evicted | migrated | drained | shutdown | fenced | session-lost`;
 * - `highlander_persists_total{type}`, `highlander_persisted_calls_total{type}` (calls the PUTs carried:
 *   their ratio is the group commit), `highlander_persist_failures_total{type}`;
 * - `highlander_fenced_total{type}`: activations that found a newer owner and stopped serving;
 * - `highlander_migrations_total{type}`: objects migrated away from this node;
 * - `highlander_session_lost_total`: coordinator sessions lost (every activation dropped);
 * - `highlander_node_members`, `highlander_node_draining` (0/1), `highlander_read_lease` (0/1: the node
 *   may serve), `highlander_coordinator_contact_age_seconds` (since the coordinator last answered);
 * - `highlander_zookeeper_request_duration_seconds{operation}` (create, delete, exists, getChildren,
 *   getData, setData, mkdirp, multi) and `highlander_zookeeper_request_errors_total{operation,code}`
 *   (`NO_NODE`, `NODE_EXISTS`, `BAD_VERSION`, `CONNECTION_LOSS`, `TIMEOUT`, …: some are normal
 *   answers in the lock recipe);
 * - `highlander_s3_request_duration_seconds{operation}` (get, put, list) and
 *   `highlander_s3_request_errors_total{operation,kind}` (`conflict`: a conditional write's 412/409;
 *   `timeout`, `network`, `server` (5xx), `client` (other 4xx));
 * - with `processMetrics`, prom-client's `process_*` and `nodejs_*`.
 *
 * The ZooKeeper and S3 series come from backends that report their requests
 * (`ZooKeeperCoordinator`, `S3StateStore`); the embedded ones do not. A store shared by several
 * nodes of one process reports its requests to each of them.
 *
 * ```ts
 * const node = HighlanderNode.create({ ...options, metrics: new NodeMetrics({ processMetrics: true }) });
 * await node.start();
 * console.log(await node.metrics!.text());   // also served at GET http://<node>/metrics
 * ```
 */

export interface NodeMetricsOptions {
  /**
   * Where the metrics are registered (e.g. your application's registry, to serve them yourself).
   * @default a new Registry of its own
   */
  registry?: Registry;
  /**
   * Also collect prom-client's process and Node.js metrics (`process_*`, `nodejs_*`) in the registry.
   * Off by default: they describe the process, and a process may hold several nodes.
   * @default false
   */
  processMetrics?: boolean;
}

/** What the metrics read from their node (a `HighlanderNode`). */
export interface MeteredNode {
  readonly name: string;
  readonly events: EventLog;
  readonly draining: boolean;
  readonly options: { readonly objects: ReadonlyArray<{ readonly type: string }>; readonly coordinator: Coordinator; readonly store: StateStore };
  activations(): Array<{ type: string; queueLength: number }>;
  members(): unknown[];
}

/** Call latency buckets, in seconds: a local query takes microseconds, a forwarded write milliseconds. */
export const CALL_DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** ZooKeeper and S3 request buckets, in seconds. */
export const REQUEST_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const ACTIVATION_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const REASONS: readonly DeactivationReason[] = ['idle', 'evicted', 'migrated', 'drained', 'shutdown', 'fenced', 'session-lost'];

export class NodeMetrics {
  readonly registry: Registry;
  readonly #calls: CallMeter;
  readonly #forwarded: Counter<'type' | 'direction'>;
  readonly #forwardedIn = new Map<string, Counter.Internal>();
  readonly #forwardedOut = new Map<string, Counter.Internal>();
  readonly #activations: Counter<'type'>;
  readonly #activationDuration: Histogram<'type'>;
  readonly #deactivations: Counter<'type' | 'reason'>;
  readonly #persists: Counter<'type'>;
  readonly #persistedCalls: Counter<'type'>;
  readonly #persistFailures: Counter<'type'>;
  readonly #fenced: Counter<'type'>;
  readonly #migrations: Counter<'type'>;
  readonly #sessionLost: Counter;
  readonly #refusals: Counter<'reason'>;
  readonly #zkDuration: Histogram<'operation'>;
  readonly #zkErrors: Counter<'operation' | 'code'>;
  readonly #s3Duration: Histogram<'operation'>;
  readonly #s3Errors: Counter<'operation' | 'kind'>;
  #node: MeteredNode | undefined;
  #included: Registry[] = [];

  constructor(options: NodeMetricsOptions = {}) {
    const registry = (this.registry = options.registry ?? new Registry());
    const registers = [registry];
    this.#calls = new CallMeter(registry);
    this.#forwarded = new Counter({
      name: 'highlander_forwarded_calls_total', help: 'Calls forwarded to the owner on another node (out, per attempt) and from other nodes to this one (in)',
      labelNames: ['type', 'direction'] as const, registers,
    });
    this.#activations = new Counter({ name: 'highlander_activations_total', help: 'Objects activated on this node', labelNames: ['type'] as const, registers });
    this.#activationDuration = new Histogram({
      name: 'highlander_activation_duration_seconds', help: 'From holding the lock to serving: reading the state and claiming it',
      labelNames: ['type'] as const, buckets: ACTIVATION_DURATION_BUCKETS, registers,
    });
    this.#deactivations = new Counter({
      name: 'highlander_deactivations_total', help: 'Objects deactivated on this node, by reason (idle, evicted, migrated, drained, shutdown, fenced, session-lost)',
      labelNames: ['type', 'reason'] as const, registers,
    });
    this.#persists = new Counter({ name: 'highlander_persists_total', help: 'States written to the store (one conditional PUT each)', labelNames: ['type'] as const, registers });
    this.#persistedCalls = new Counter({
      name: 'highlander_persisted_calls_total', help: 'Calls acknowledged by those writes (several per write under load: group commit)', labelNames: ['type'] as const, registers,
    });
    this.#persistFailures = new Counter({ name: 'highlander_persist_failures_total', help: 'Writes that failed (their calls failed with it)', labelNames: ['type'] as const, registers });
    this.#fenced = new Counter({ name: 'highlander_fenced_total', help: 'Activations that found a newer owner (or lost their lock) and stopped serving', labelNames: ['type'] as const, registers });
    this.#migrations = new Counter({ name: 'highlander_migrations_total', help: 'Objects migrated from this node to another', labelNames: ['type'] as const, registers });
    this.#sessionLost = new Counter({ name: 'highlander_session_lost_total', help: 'Coordinator (ZooKeeper) sessions lost; every activation was dropped', registers });
    this.#refusals = new Counter({
      name: 'highlander_node_refusals_total', help: 'Requests and connections the node port refused or ended (origin, unauthenticated, malformed-frame, bad-request)',
      labelNames: ['reason'] as const, registers,
    });
    const metrics = this;
    new Gauge({
      name: 'highlander_active_objects', help: 'Activations on this node (activating included)', labelNames: ['type'] as const, registers,
      collect() {
        for (const [type, count] of metrics.#perType((a) => (a ? 1 : 0))) this.set({ type }, count);
      },
    });
    new Gauge({
      name: 'highlander_queued_calls', help: 'Calls waiting in the mailboxes of this node\'s activations', labelNames: ['type'] as const, registers,
      collect() {
        for (const [type, count] of metrics.#perType((a) => a.queueLength)) this.set({ type }, count);
      },
    });
    new Gauge({
      name: 'highlander_node_members', help: 'Live nodes of the cluster as this node sees them (itself included)', registers,
      collect() {
        this.set(metrics.#node?.members().length ?? 0);
      },
    });
    new Gauge({
      name: 'highlander_node_draining', help: '1 while this node is draining (it takes no new activations)', registers,
      collect() {
        this.set(metrics.#node?.draining ? 1 : 0);
      },
    });
    new Gauge({
      name: 'highlander_read_lease', help: '1 while the coordinator answered recently enough for this node to serve calls', registers,
      collect() {
        this.set(metrics.#node?.options.coordinator.holdsLease() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'highlander_coordinator_contact_age_seconds', help: 'Time since the coordinator (ZooKeeper) last answered this node', registers,
      collect() {
        const last = metrics.#node?.options.coordinator.lastContactMs();
        if (last !== undefined && Number.isFinite(last)) this.set(Math.max(0, performance.now() - last) / 1000);
      },
    });
    this.#zkDuration = new Histogram({
      name: 'highlander_zookeeper_request_duration_seconds', help: 'ZooKeeper requests by operation, failed ones included',
      labelNames: ['operation'] as const, buckets: REQUEST_DURATION_BUCKETS, registers,
    });
    this.#zkErrors = new Counter({
      name: 'highlander_zookeeper_request_errors_total', help: 'ZooKeeper requests that failed, by operation and error code (TIMEOUT: no answer in time)',
      labelNames: ['operation', 'code'] as const, registers,
    });
    this.#s3Duration = new Histogram({
      name: 'highlander_s3_request_duration_seconds', help: 'S3 requests by operation (get, put, list), failed ones included',
      labelNames: ['operation'] as const, buckets: REQUEST_DURATION_BUCKETS, registers,
    });
    this.#s3Errors = new Counter({
      name: 'highlander_s3_request_errors_total', help: 'S3 requests that failed, by operation and kind (conflict: a conditional write refused; timeout; network; server: 5xx; client: other 4xx)',
      labelNames: ['operation', 'kind'] as const, registers,
    });
    this.#sessionLost.inc(0);
    if (options.processMetrics) collectDefaultMetrics({ register: registry });
  }

  /** The Prometheus text exposition of these metrics (and of the registries added with `include`). */
  async text(): Promise<string> {
    const parts = await Promise.all([this.registry, ...this.#included].map((r) => r.metrics()));
    return parts.join('\n');
  }

  /** Content type of {@link text}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Serves another registry's metrics beside these at `/metrics` (an extension's own, say). Names must not clash. */
  include(registry: Registry): void {
    if (registry !== this.registry && !this.#included.includes(registry)) this.#included.push(registry);
  }

  /**
   * @internal Called by the node when it starts: follows its lifecycle events and its backends'
   * requests. Returns the function that stops (called when the node has stopped).
   */
  bind(node: MeteredNode): () => void {
    if (this.#node && this.#node !== node) throw new TypeError(`these NodeMetrics already belong to node '${this.#node.name}'; give each node its own`);
    this.#node = node;
    for (const { type } of node.options.objects) {
      this.#activations.inc({ type }, 0);
      this.#persistFailures.inc({ type }, 0);
      this.#fenced.inc({ type }, 0);
      for (const reason of REASONS) this.#deactivations.inc({ type, reason }, 0);
    }
    const stops = [
      node.events.subscribe((event) => this.#onEvent(event)),
      node.options.coordinator.observeRequests?.((sample) => this.#observe(this.#zkDuration, this.#zkErrors, 'code', sample)),
      node.options.store.observeRequests?.((sample) => this.#observe(this.#s3Duration, this.#s3Errors, 'kind', sample)),
    ];
    return () => {
      for (const stop of stops) stop?.();
    };
  }

  /** @internal One call made through the node finished: `error` undefined when it succeeded. */
  recordCall(type: string, durationMs: number, error: unknown): void {
    this.#calls.record(type, durationMs, error === undefined ? undefined : outcomeOf(error));
  }

  /** @internal A call forwarded to (`out`) or from (`in`) another node. */
  /** A request or connection refused (or ended for a malformed frame) on the node's port. */
  recordRefusal(reason: string): void {
    this.#refusals.inc({ reason });
  }

  recordForwarded(type: string, direction: 'in' | 'out'): void {
    // Per call: the labelled child is looked up once per type (prom-client hashes the labels on every inc otherwise).
    const children = direction === 'in' ? this.#forwardedIn : this.#forwardedOut;
    let child = children.get(type);
    if (child === undefined) {
      child = this.#forwarded.labels({ type, direction });
      children.set(type, child);
    }
    child.inc();
  }

  #onEvent(event: LifecycleEvent): void {
    switch (event.kind) {
      case 'object.activated':
        this.#activations.inc({ type: event.type });
        this.#activationDuration.observe({ type: event.type }, event.loadMs / 1000);
        break;
      case 'object.deactivated':
        this.#deactivations.inc({ type: event.type, reason: event.reason });
        if (event.reason === 'fenced') this.#fenced.inc({ type: event.type });
        break;
      case 'object.persisted':
        this.#persists.inc({ type: event.type });
        this.#persistedCalls.inc({ type: event.type }, event.calls);
        break;
      case 'object.persist-failed':
        this.#persistFailures.inc({ type: event.type });
        break;
      case 'object.migrated':
        this.#migrations.inc({ type: event.type });
        break;
      case 'node.session-lost':
        this.#sessionLost.inc();
        break;
      default:
        break;
    }
  }

  #observe<L extends string>(duration: Histogram<'operation'>, errors: Counter<'operation' | L>, errorLabel: L, sample: RequestSample): void {
    duration.observe({ operation: sample.operation }, sample.durationMs / 1000);
    if (sample.error !== undefined) errors.inc({ operation: sample.operation, [errorLabel]: sample.error } as Record<'operation' | L, string>);
  }

  /** Sums `value` over the node's activations per registered type (0 for types with none). */
  #perType(value: (activation: { queueLength: number }) => number): Map<string, number> {
    const totals = new Map<string, number>();
    const node = this.#node;
    if (!node) return totals;
    for (const { type } of node.options.objects) totals.set(type, 0);
    for (const a of node.activations()) totals.set(a.type, (totals.get(a.type) ?? 0) + value(a));
    return totals;
  }
}

/** The error code of a failed call (`CALL_TIMEOUT`), or `INTERNAL` for anything that is not a Highlander error. */
function outcomeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code) ? code : 'INTERNAL';
}

interface CallTally {
  /** Calls per latency bucket (not cumulative; the last bucket's overflow is `count` minus their sum). */
  buckets: Float64Array;
  sum: number;
  count: number;
  ok: number;
  errors: Map<string, number>;
}

/**
 * Calls are counted on the hot path (a local query takes about a microsecond), where prom-client's
 * per-observation label handling would cost half as much again. So they are tallied here, per type,
 * in plain arrays, and turned into `highlander_calls_total` and `highlander_call_duration_seconds`
 * when the registry is read.
 */
class CallMeter {
  readonly #byType = new Map<string, CallTally>();

  constructor(registry: Registry) {
    const meter = this;
    new Counter({
      name: 'highlander_calls_total',
      help: 'Calls made through this node (wherever the object lives), by type, outcome (ok, or the error code) and kind (ok; rejected: a declared rejection, OBJECT_REJECTED; error: any other code)',
      labelNames: ['type', 'outcome', 'kind'] as const, registers: [registry],
      collect() {
        this.reset();
        for (const [type, tally] of meter.#byType) {
          this.inc({ type, outcome: 'ok', kind: 'ok' }, tally.ok);
          for (const [outcome, n] of tally.errors) this.inc({ type, outcome, kind: callOutcomeKind(outcome) }, n);
        }
      },
    });
    registry.registerMetric(new CallDurationHistogram(this.#byType));
  }

  /** The type of the last call and its tally: calls come in runs of one type, so most skip the map. */
  #lastType: string | undefined;
  #lastTally: CallTally | undefined;

  /** `error`: undefined for a call that succeeded, else its code. */
  record(type: string, durationMs: number, error: string | undefined): void {
    let tally = type === this.#lastType ? this.#lastTally : this.#byType.get(type);
    if (!tally) {
      tally = { buckets: new Float64Array(CALL_DURATION_BUCKETS.length), sum: 0, count: 0, ok: 0, errors: new Map() };
      this.#byType.set(type, tally);
    }
    this.#lastType = type;
    this.#lastTally = tally;
    const seconds = durationMs / 1000;
    let i = 0;
    while (i < CALL_DURATION_BUCKETS.length && seconds > CALL_DURATION_BUCKETS[i]!) i++;
    if (i < CALL_DURATION_BUCKETS.length) tally.buckets[i]!++;
    tally.sum += seconds;
    tally.count++;
    if (error === undefined) tally.ok++;
    else tally.errors.set(error, (tally.errors.get(error) ?? 0) + 1);
  }
}

const CALL_DURATION = {
  name: 'highlander_call_duration_seconds',
  help: 'Latency of calls made through this node, as the caller saw it (forwarding and retries included)',
};

/** `highlander_call_duration_seconds`: a prom-client Histogram whose values come from the {@link CallMeter}'s tallies. */
class CallDurationHistogram extends Histogram<'type'> {
  /** Unset while the base constructor runs (it calls `reset()`). */
  private readonly tallies: Map<string, CallTally> | undefined;

  constructor(tallies: Map<string, CallTally>) {
    super({ ...CALL_DURATION, labelNames: ['type'] as const, buckets: CALL_DURATION_BUCKETS, registers: [] });
    this.tallies = tallies;
  }

  override async get(): Promise<MetricObjectWithValues<MetricValueWithName<'type'>>> {
    type Labels = MetricValueWithName<'type'>['labels'];
    const { name, help } = CALL_DURATION;
    const values: MetricValueWithName<'type'>[] = [];
    for (const [type, tally] of this.tallies ?? []) {
      let cumulative = 0;
      CALL_DURATION_BUCKETS.forEach((le, i) => {
        cumulative += tally.buckets[i]!;
        values.push({ metricName: `${name}_bucket`, labels: { type, le } as Labels, value: cumulative });
      });
      values.push({ metricName: `${name}_bucket`, labels: { type, le: '+Inf' } as Labels, value: tally.count });
      values.push({ metricName: `${name}_sum`, labels: { type }, value: tally.sum });
      values.push({ metricName: `${name}_count`, labels: { type }, value: tally.count });
    }
    return { name, help, type: 'histogram', aggregator: 'sum', values } as unknown as MetricObjectWithValues<MetricValueWithName<'type'>>;
  }

  /** The registry prefers this to `get()` when present (prom-client's Histogram has one). */
  getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<'type'>>> {
    return this.get();
  }

  override reset(): void {
    for (const tally of this.tallies?.values() ?? []) {
      tally.buckets.fill(0);
      tally.sum = 0;
      tally.count = 0;
      tally.ok = 0;
      tally.errors.clear();
    }
  }
}
