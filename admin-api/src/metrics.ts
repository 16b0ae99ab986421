import { performance } from 'node:perf_hooks';
import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ModelGauges } from './contracts.js';

/**
 * The admin API's own Prometheus metrics, on a registry of its own (served at `GET /metrics`):
 *
 * - `highlander_admin_http_requests_total{method,route,status}` and
 *   `highlander_admin_http_request_duration_seconds{method,route,status}`: `route` is the route's
 *   pattern (`/api/objects/:type/:id`), or `unmatched`, so the label set stays bounded;
 * - `highlander_admin_ws_clients`: connected stream clients;
 * - `highlander_admin_ws_dropped_clients_total{reason}`: stream clients closed for being slow
 *   (`buffered`: too much unsent; `pending`: too many coalesced changes waiting);
 * - `highlander_admin_audit_records_total{action,result}`: actions recorded in the audit log;
 * - from the live model of the cluster (`observeModel`): `highlander_admin_cluster_nodes`,
 *   `highlander_admin_cluster_objects` (active), `highlander_admin_lock_queue_waiters` (nodes
 *   waiting behind an owner, summed over every lock queue) and `highlander_admin_lock_queue_longest`
 *   (the waiters of the longest queue);
 * - the process metrics of prom-client (`process_*`, `nodejs_*`).
 */

export interface AdminMetricsOptions {
  /** Also collect prom-client's process and Node.js metrics. @default true */
  processMetrics?: boolean;
  /** The clock that ages a reading of the live model (tests). @default performance.now */
  now?: () => number;
}

/** How long a reading of the live model serves later scrapes. */
const MODEL_READING_REUSE_MS = 1000;

/** Route label of requests no route matched. */
export const UNMATCHED_ROUTE = 'unmatched';

export class AdminMetrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'highlander_admin_http_requests_total',
    help: 'HTTP requests answered, by route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'highlander_admin_http_request_duration_seconds',
    help: 'Time to answer HTTP requests, by route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly wsClients = new Gauge({
    name: 'highlander_admin_ws_clients',
    help: 'Connected ws stream clients',
    registers: [this.registry],
  });
  readonly wsDropped = new Counter({
    name: 'highlander_admin_ws_dropped_clients_total',
    help: 'ws stream clients closed with 1013 for reading too slowly, by reason (buffered | pending)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly refusals = new Counter({
    name: 'highlander_admin_refusals_total',
    help: 'Connections the API refused or ended before serving them, by reason (bad-request: broken HTTP; malformed-frame: a broken ws frame on the stream; not-found, origin, unauthenticated, bad-subprotocol, too-many-clients: stream upgrades refused)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly auditRecords = new Counter({
    name: 'highlander_admin_audit_records_total',
    help: 'Actions recorded in the audit log, by action and result',
    labelNames: ['action', 'result'] as const,
    registers: [this.registry],
  });

  #model: { gauges(): Promise<ModelGauges> } | undefined;
  /**
   * The latest reading of the model, shared by its four gauges and by every scrape within
   * {@link MODEL_READING_REUSE_MS} of it: a reading may ask ZooKeeper for lock queues, and `/metrics`
   * needs no token, so a flood of scrapes costs ZooKeeper at most one reading a second.
   */
  #reading: { promise: Promise<ModelGauges | undefined>; settledAt: number | undefined } | undefined;

  readonly #now: () => number;

  constructor(options: AdminMetricsOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const metrics = this;
    const fromModel = (name: string, help: string, pick: (g: ModelGauges) => number) => new Gauge({
      name, help, registers: [this.registry],
      async collect() {
        const gauges = await metrics.#read();
        if (gauges) this.set(pick(gauges));
      },
    });
    fromModel('highlander_admin_cluster_nodes', 'Live nodes of the cluster, as the live model knows them', (g) => g.nodes);
    fromModel('highlander_admin_cluster_objects', 'Active objects in the cluster, as the live model knows them', (g) => g.objects);
    fromModel('highlander_admin_lock_queue_waiters', 'Nodes waiting behind the owner in the lock queues of active objects, summed over the cluster', (g) => g.lockWaiters);
    fromModel('highlander_admin_lock_queue_longest', 'Nodes waiting behind the owner in the longest lock queue (0: none waits)', (g) => g.longestLockQueue);
  }

  /** Reads the cluster gauges from `model` at every scrape (without it they stay at 0). */
  observeModel(model: { gauges(): Promise<ModelGauges> }): void {
    this.#model = model;
  }

  #read(): Promise<ModelGauges | undefined> {
    const model = this.#model;
    if (!model) return Promise.resolve(undefined);
    const last = this.#reading;
    if (last && (last.settledAt === undefined || this.#now() - last.settledAt < MODEL_READING_REUSE_MS)) return last.promise;
    const reading: { promise: Promise<ModelGauges | undefined>; settledAt: number | undefined } = { promise: Promise.resolve(undefined), settledAt: undefined };
    // A failed reading leaves the gauges as they were (LiveClusterModel's never fails: it counts a
    // queue it cannot read as the model has it).
    reading.promise = model.gauges().catch(() => undefined).finally(() => {
      reading.settledAt = this.#now();
    });
    this.#reading = reading;
    return reading.promise;
  }

  /** Counts and times every request; mount first. Routes name themselves in `res.locals.route`. */
  httpMiddleware(): RequestHandler {
    return (req, res, next) => {
      const stop = this.httpDuration.startTimer();
      res.once('finish', () => {
        const labels = {
          method: req.method,
          route: typeof res.locals.route === 'string' ? res.locals.route : UNMATCHED_ROUTE,
          status: String(res.statusCode),
        };
        stop(labels);
        this.httpRequests.inc(labels);
      });
      next();
    };
  }
}
