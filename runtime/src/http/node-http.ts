import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { HighlanderError } from '../errors.js';
import type { NodeMetrics } from '../metrics.js';
import { upgradeRequired } from '../transport/peer-server.js';
import { AdminError, handleAdmin, type AdminNode } from './node-admin.js';

/**
 * Plain HTTP on the node's ws port, one route table:
 *
 *   GET|HEAD /metrics   the Prometheus text (when metrics are on); behind the admin token when one is set
 *   *        /admin/*   the admin endpoints (node-admin.ts), when an admin token is set; always behind it
 *   anything else       426: this port speaks ws (`/peer`, `/events`)
 *
 * The token is checked in one place ({@link bearerMatches}): `Authorization: Bearer <token>`, the
 * scheme in any case, compared in constant time.
 */

export interface NodeHttpOptions {
  node: AdminNode;
  metrics: NodeMetrics | undefined;
  adminToken: string | undefined;
  /** An unexpected failure of an endpoint (answered 500 without details): logged by the node. */
  reportError(what: string, err: unknown): void;
}

interface Route {
  /** Whether the route serves `pathname`. */
  matches(pathname: string): boolean;
  /** Whether the request must carry the admin token (when one is set). */
  guarded: boolean;
  serve(req: IncomingMessage, res: ServerResponse, pathname: string): void;
}

export function nodeHttpHandler(options: NodeHttpOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { node, metrics, adminToken, reportError } = options;
  const routes: Route[] = [];
  if (metrics) routes.push({ matches: (p) => p === '/metrics', guarded: true, serve: (req, res) => serveMetrics(metrics, req, res) });
  if (adminToken) routes.push({ matches: (p) => p.startsWith('/admin/'), guarded: true, serve: (req, res, p) => serveAdmin(node, req, res, p, reportError) });
  return (req, res) => {
    const pathname = (req.url ?? '/').split('?')[0]!;
    const route = routes.find((r) => r.matches(pathname));
    if (!route) return upgradeRequired(res);
    if (route.guarded && adminToken !== undefined && !bearerMatches(req.headers.authorization, adminToken)) {
      return sendJson(res, 401, { error: { code: 'UNAUTHENTICATED', message: 'missing or wrong admin token: send Authorization: Bearer <the node\'s adminToken>' } }, { 'www-authenticate': 'Bearer' });
    }
    route.serve(req, res, pathname);
  };
}

/** Whether an `Authorization` header is `Bearer <token>` (the scheme in any case), compared in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^([A-Za-z]+) +(.+)$/.exec(header ?? '');
  if (!match || match[1]!.toLowerCase() !== 'bearer') return false;
  const given = Buffer.from(match[2]!);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function serveMetrics(metrics: NodeMetrics, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJson(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: `${req.method} /metrics: use GET` } }, { allow: 'GET, HEAD' });
    return;
  }
  metrics.text().then(
    (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(req.method === 'HEAD' ? undefined : text),
    (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(err as Error)?.message ?? String(err)}\n`),
  );
}

function serveAdmin(node: AdminNode, req: IncomingMessage, res: ServerResponse, pathname: string, reportError: NodeHttpOptions['reportError']): void {
  logAction(node, req, res, pathname);
  handleAdmin(node, req, pathname).then(
    ({ status, body }) => sendJson(res, status, body),
    (err: unknown) => {
      if (err instanceof AdminError) return sendJson(res, err.status, { error: { code: err.code, message: err.message } });
      if (err instanceof HighlanderError) {
        const details = err.details();
        return sendJson(res, err.httpStatus, { error: { code: err.code, message: err.message, ...(Object.keys(details).length > 0 ? { details } : {}) } });
      }
      sendJson(res, 500, { error: { code: 'INTERNAL', message: 'internal error on the node; see its log' } });
      reportError(`admin endpoint ${req.method} ${pathname}`, err);
    },
  );
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

/** Logs an action (evict, migrate, drain) once answered: info when done, warn when refused or failed. */
function logAction(node: AdminNode, req: IncomingMessage, res: ServerResponse, path: string): void {
  if (req.method !== 'POST' || !/^\/admin\/(drain|objects\/[^/]+\/[^/]+\/(evict|migrate))$/.test(path)) return;
  const started = performance.now();
  res.once('finish', () => {
    const fields = { event: 'admin.action', method: req.method, path, status: res.statusCode, durationMs: Math.round(performance.now() - started) };
    if (res.statusCode < 400) node.logger.info(fields, `admin action ${path} done`);
    else node.logger.warn(fields, `admin action ${path} answered ${res.statusCode}`);
  });
}
