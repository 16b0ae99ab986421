import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { HighlanderError } from '../errors.js';
import type { NodeMetrics } from '../metrics.js';
import { upgradeRequired } from '../transport/peer-server.js';
import { AdminError, handleAdmin, type AdminNode } from './node-admin.js';
import type { NodeGate, RefusalReason } from './node-gate.js';

/**
 * Plain HTTP on the node's ws port, one route table:
 *
 *   GET|HEAD /metrics   the Prometheus text (when metrics are on)
 *   *        /admin/*   the admin endpoints (node-admin.ts), on when the node has a cluster secret
 *   anything else       426: this port speaks ws (`/peer`, `/events`)
 *
 * Every request passes the node's gate first (node-gate.ts, the same as ws upgrades): no browser
 * (`Origin`) ever; with a cluster secret, `Authorization: Bearer <secret>` on every request.
 */

export interface NodeHttpOptions {
  node: AdminNode;
  metrics: NodeMetrics | undefined;
  /** Who may use the port; the admin endpoints are on only when it is guarded by a cluster secret. */
  gate: NodeGate;
  /** A request refused by the gate (counted, and logged at a limited rate). */
  onRefused?: (reason: RefusalReason, address: string, message: string) => void;
  /** An unexpected failure of an endpoint (answered 500 without details): logged by the node. */
  reportError(what: string, err: unknown): void;
}

interface Route {
  /** Whether the route serves `pathname`. */
  matches(pathname: string): boolean;
  serve(req: IncomingMessage, res: ServerResponse, pathname: string): void;
}

export function nodeHttpHandler(options: NodeHttpOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { node, metrics, gate, reportError } = options;
  const routes: Route[] = [];
  if (metrics) routes.push({ matches: (p) => p === '/metrics', serve: (req, res) => serveMetrics(metrics, req, res) });
  routes.push({
    matches: (p) => p.startsWith('/admin/'),
    serve: (req, res, p) => (gate.guarded
      ? serveAdmin(node, req, res, p, reportError)
      : sendJson(res, 404, { error: { code: 'NOT_FOUND', message: 'the admin endpoints are off: start the node with a cluster secret (--cluster-secret), the same as the admin API\'s' } })),
  });
  return (req, res) => {
    const refused = gate.check(req);
    if (refused) {
      options.onRefused?.(refused.reason, req.socket.remoteAddress ?? 'unknown', refused.message);
      return sendJson(res, refused.status, { error: { code: refused.code, message: refused.message } }, refused.status === 401 ? { 'www-authenticate': 'Bearer' } : {});
    }
    const pathname = (req.url ?? '/').split('?')[0]!;
    const route = routes.find((r) => r.matches(pathname));
    if (!route) return upgradeRequired(res);
    route.serve(req, res, pathname);
  };
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

/** Logs an action (evict, migrate, drain, a state replacement) once answered: info when done, warn when refused or failed. */
function logAction(node: AdminNode, req: IncomingMessage, res: ServerResponse, path: string): void {
  const action = req.method === 'POST' ? /^\/admin\/(drain|objects\/[^/]+\/[^/]+\/(evict|migrate))$/ : req.method === 'PUT' ? /^\/admin\/objects\/[^/]+\/[^/]+\/state$/ : undefined;
  if (!action?.test(path)) return;
  const started = performance.now();
  res.once('finish', () => {
    const fields = { event: 'admin.action', method: req.method, path, status: res.statusCode, durationMs: Math.round(performance.now() - started) };
    if (res.statusCode < 400) node.logger.info(fields, `admin action ${path} done`);
    else node.logger.warn(fields, `admin action ${path} answered ${res.statusCode}`);
  });
}
