import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { join, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import { ADMIN_API_DEFAULTS } from './defaults.js';
import type { AuditLog, AuditRecord } from './audit-log.js';
import { TokenAuthenticator, authenticate, checkActionAllowed, originChecker, principalOf, type TokenConfig } from './auth.js';
import type { ClusterActions, ClusterModel, MoveShardsResult, ShardsView, Storage } from './contracts.js';
import { HttpError, correlationIdOf, describeError, errorMiddleware, notFoundHandler } from './http-error.js';
import { AdminMetrics } from './metrics.js';
import { buildOpenApiDocument, type OpenApiDocument } from './openapi.js';
import { apiRoutes, type RouteContext, type RouteInput, type RouteSpec } from './routes.js';
import { StreamServer, compileStreamOptions, type StreamOptions } from './stream/server.js';
import { TalkFeeds } from './talk-feed.js';
import type { Rebalancer } from './rebalance/rebalancer.js';
import type { TalkService } from './talks.js';

/**
 * The admin API's HTTP layer: REST under `/api` (see routes.ts, documented at `/api/openapi.json`),
 * `/healthz`, `/readyz`, `/metrics`, and the ws stream at `/api/stream` (stream/).
 *
 * ```ts
 * const audit = await AuditLog.open({ path: 'audit.jsonl' });
 * const admin = createApp({ model, actions, storage, audit, tokens: [{ token, role: 'operator', name: 'ada' }] });
 * const server = http.createServer(admin.app).listen(8080);
 * const stream = admin.attachStream(server);
 * // shutdown: await stream.close(); server.close(); await audit.close();
 * ```
 */

export interface AdminAppOptions {
  model: ClusterModel;
  actions: ClusterActions;
  storage: Storage;
  /** The tokens that may call the API, each `{ token, role: 'viewer' | 'operator', name }`. */
  tokens: readonly TokenConfig[];
  /** Refuse every action (403 READ_ONLY), whoever asks. @default false */
  readOnly?: boolean;
  /** Browser origins, besides the API's own, allowed to open the ws stream (`https://host[:port]`). @default [] */
  allowedOrigins?: readonly string[];
  /** Where actions are recorded; `append` must resolve before an action is answered. */
  audit: AuditLog;
  /** @default pino at level info */
  logger?: Logger;
  /** Largest request body; bigger is refused with 413. @default 16384 (16 KiB) */
  maxBodyBytes?: number;
  /**
   * The nodes' `maxStateBytes`: a state replacement or a call argument may be this large as JSON (their
   * routes take bodies up to this plus 16 KiB); a larger state is refused with 413 STATE_TOO_LARGE.
   * @default 1048576 (1 MiB, the nodes' default)
   */
  maxStateBytes?: number;
  /**
   * Express's `trust proxy`: which proxies' `X-Forwarded-For` to believe for the client address
   * (the audit log records it). @default false (the socket's peer address)
   */
  trustProxy?: boolean | number | string | string[];
  /** The ws stream's limits and pace. @default see StreamOptions */
  stream?: StreamOptions;
  /** Collect prom-client's process metrics too. @default true */
  processMetrics?: boolean;
  /** Audience feedback sessions (routes under /api/talks, the stream's `talk` scope). @default none (503 TALKS_UNAVAILABLE) */
  talks?: TalkService;
  /** Automatic rebalancing (`GET /api/rebalance`, pause, resume). @default none (off) */
  rebalancer?: Rebalancer;
  /** The registry's ensembles, for `GET /api/shards`. @default none (an empty list) */
  shards?: () => ShardsView | Promise<ShardsView>;
  /** Moves buckets to a standby shard (`POST /api/shards/move`). @default none (409 NOT_SHARDED) */
  moveShards?: (buckets: string[], to: string) => Promise<MoveShardsResult>;
  /**
   * The built dashboard (`vite build` output, e.g. `dashboardDir` of @highlander/dashboard) to serve at `/`.
   * @default none
   */
  dashboardDir?: string | null;
}

export interface AdminApp {
  /** The express app: mount it on an HTTP server. */
  app: Express;
  /** Starts the ws stream on the server the app is mounted on (listens for its `upgrade` events). */
  attachStream(server: Server): StreamServer;
  metrics: AdminMetrics;
  /** The OpenAPI document, as served. */
  openapi: OpenApiDocument;
  /** The routes, as declared. */
  routes: readonly RouteSpec[];
}

/** Audit records name a target; these bound what an invalid request may write there. */
const MAX_AUDITED_STRING = 256;
const MAX_AUDITED_PARAMS_BYTES = 1024;

export function createApp(options: AdminAppOptions): AdminApp {
  const maxBodyBytes = options.maxBodyBytes ?? ADMIN_API_DEFAULTS.maxBodyBytes;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes <= 0) throw new TypeError(`maxBodyBytes: must be a positive integer (got ${maxBodyBytes})`);
  const maxStateBytes = options.maxStateBytes ?? ADMIN_API_DEFAULTS.maxStateBytes;
  if (!Number.isInteger(maxStateBytes) || maxStateBytes <= 0) throw new TypeError(`maxStateBytes: must be a positive integer (got ${maxStateBytes})`);
  const readOnly = options.readOnly ?? false;
  const authenticator = new TokenAuthenticator(options.tokens);
  const checkOrigin = originChecker(options.allowedOrigins ?? []);
  const streamOptions = compileStreamOptions(options.stream);
  const logger = options.logger ?? pino({ name: 'highlander-admin-api' });
  const metrics = new AdminMetrics({ processMetrics: options.processMetrics ?? true });
  metrics.observeModel(options.model);
  const audit = options.audit;

  let openapi: OpenApiDocument | undefined;
  const routes = apiRoutes({ ...options, maxStateBytes, metrics, openapi: () => openapi });
  const talkFeeds = options.talks ? new TalkFeeds({ talks: options.talks, logger }) : undefined;
  openapi = buildOpenApiDocument(routes);

  const jsonParsers = new Map<number, RequestHandler>();
  const parseBody = (req: Request, res: Response, limit = maxBodyBytes): Promise<unknown> => {
    const length = req.headers['content-length'];
    if (req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0')) return Promise.resolve({});
    if (length !== undefined && Number(length) > limit) {
      return Promise.reject(new HttpError(413, 'PAYLOAD_TOO_LARGE', `request body is over the limit of ${limit} bytes`, { limitBytes: limit }));
    }
    let jsonParser = jsonParsers.get(limit);
    if (!jsonParser) jsonParsers.set(limit, (jsonParser = express.json({ limit })));
    if (!req.is('application/json')) {
      return Promise.reject(new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json'));
    }
    return new Promise((resolve, reject) => jsonParser(req, res, (err?: unknown) => (err ? reject(err) : resolve(req.body ?? {}))));
  };
  const contextOf = (req: Request, res: Response): RouteContext => ({
    req, res,
    allowAction: () => checkActionAllowed(principalOf(res), readOnly),
    mayAct: () => !readOnly && principalOf(res).role === 'operator',
  });

  /** Reads: validate, answer. */
  const read = (route: RouteSpec): RequestHandler => async (req, res) => {
    const input = validate(route, req, undefined);
    const result = await route.handle(input, contextOf(req, res));
    if (!res.headersSent) res.json(result);
  };

  /** Actions: check access, parse, validate, act, and record the outcome in the audit log before answering. */
  const act = (route: RouteSpec & { audit: NonNullable<RouteSpec['audit']> }): RequestHandler => async (req, res) => {
    const started = performance.now();
    const time = Date.now();
    const principal = principalOf(res);
    let params: Record<string, unknown> = {};
    let result: unknown;
    let failure: unknown;
    const summarise = route.audit.params;
    try {
      if (route.access === 'operator') checkActionAllowed(principal, readOnly);
      const body = await parseBody(req, res, route.maxBodyBytes);
      params = summarise ? summarise(body) : auditedParams(body);
      const input = validate(route, req, body);
      if (!summarise) params = input.body as Record<string, unknown>;
      result = await route.handle(input, contextOf(req, res));
    } catch (err) {
      failure = err;
    }
    const record: Omit<AuditRecord, 'id'> = {
      time,
      who: principal,
      action: route.audit.action,
      target: truncateStrings(route.audit.target(req.params as Record<string, string>, failure === undefined ? result : undefined)),
      params,
      result: failure === undefined ? 'ok' : 'error',
      ...(failure === undefined && route.audit.outcome ? { outcome: route.audit.outcome(result) } : {}),
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      clientAddress: req.ip ?? req.socket.remoteAddress ?? 'unknown',
      userAgent: req.get('user-agent')?.slice(0, MAX_AUDITED_STRING) ?? null,
    };
    if (failure !== undefined) {
      const described = describeError(failure);
      const message = described.internal ? `${described.code}; correlation id ${correlationIdOf(res.locals)}` : described.message;
      record.error = { status: described.status, code: described.code, message };
    }
    try {
      await audit.append(record);
      metrics.auditRecords.inc({ action: record.action, result: record.result });
    } catch (err) {
      logger.error({ err, record }, 'audit log: could not record an action');
      // The action's own error, if any, is what the client needs; a success cannot be reported unrecorded.
      if (failure === undefined) throw err;
    }
    if (failure !== undefined) throw failure;
    res.json(result);
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.set('trust proxy', options.trustProxy ?? false);
  app.use(metrics.httpMiddleware());
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  for (const route of routes) {
    const chain: RequestHandler[] = [
      (_req, res, next) => {
        res.locals.route = route.path;
        next();
      },
    ];
    if (route.access !== 'public') chain.push(authenticate(authenticator));
    chain.push(route.audit ? act(route as RouteSpec & { audit: NonNullable<RouteSpec['audit']> }) : read(route));
    app[route.method](route.path, ...chain);
  }
  const dashboardDir = options.dashboardDir ?? null;
  if (dashboardDir && existsSync(join(dashboardDir, 'index.html'))) app.use(dashboard(dashboardDir));
  else if (dashboardDir) logger.info({ dashboardDir }, 'no built dashboard to serve there (in a checkout, run `npm run build:dashboard`)');
  app.use(notFoundHandler);
  app.use(errorMiddleware({ logger }));

  return {
    app,
    metrics,
    openapi,
    routes,
    attachStream: (server) =>
      new StreamServer(server, {
        ...streamOptions, model: options.model, actions: options.actions, authenticator, checkOrigin, metrics, logger, readOnly,
        ...(talkFeeds ? { talkFeeds } : {}),
        ...(options.rebalancer ? { rebalancer: options.rebalancer } : {}),
      }),
  };
}


/**
 * The dashboard: its files (hashed assets cached for a year), and `index.html` for every other GET
 * outside the API so deep links (`/objects/todo/a`) load the app, which routes on the client.
 */
function dashboard(dir: string): RequestHandler {
  const files = express.static(dir, {
    index: false,
    setHeaders: (res, path) => {
      if (path.includes(`${sep}assets${sep}`)) res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
    },
  });
  const index = join(dir, 'index.html');
  const pages = new Map([['/a', join(dir, 'audience.html')]]);
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (req.path.startsWith('/api/') || req.path === '/api' || req.path === '/metrics') return next();
    files(req, res, () => {
      res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
      const page = [...pages].find(([prefix]) => req.path === prefix || req.path.startsWith(`${prefix}/`));
      const file = page && existsSync(page[1]) ? page[1] : index;
      res.sendFile(file, (err) => (err ? next(err) : undefined));
    });
  };
}

/** What the dashboard may load and connect to: itself, its ws stream, inline styles Svelte sets. */
const DASHBOARD_CSP = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

/** Parses params, query and body with the route's schemas; one ZodError naming every wrong field (`query.limit`). */
function validate(route: RouteSpec, req: Request, body: unknown): RouteInput {
  const issues: z.core.$ZodIssue[] = [];
  const parse = (where: 'params' | 'query' | 'body', schema: z.ZodObject | undefined, value: unknown): unknown => {
    if (!schema) return {};
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    for (const issue of result.error.issues) issues.push({ ...issue, path: [where, ...issue.path] });
    return undefined;
  };
  const input = {
    params: parse('params', route.params, { ...req.params }),
    query: parse('query', route.query, { ...(req.query as Record<string, unknown>) }),
    body: parse('body', route.body, body),
  };
  if (issues.length > 0) throw new z.ZodError(issues);
  return input;
}

/** What an action's body was, for the audit log, when it did not validate: itself if small. */
function auditedParams(body: unknown): Record<string, unknown> {
  const json = JSON.stringify(body) ?? 'null';
  if (Buffer.byteLength(json) > MAX_AUDITED_PARAMS_BYTES) return { omitted: `body of ${Buffer.byteLength(json)} bytes` };
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : { body };
}

function truncateStrings<T extends object>(target: T): T {
  return Object.fromEntries(Object.entries(target).map(([k, v]) => [k, typeof v === 'string' ? v.slice(0, MAX_AUDITED_STRING) : v])) as T;
}
