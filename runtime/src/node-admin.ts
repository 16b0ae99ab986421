import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { HighlanderError, UnknownObjectType } from './errors.js';
import { validateObjectId, validateTypeName } from './names.js';
import type { HighlanderNode } from './node.js';

/**
 * The node's admin endpoints, on its ws port, for the admin API (bearer token = the node's
 * `adminToken`; JSON in and out; errors as `{ error: { code, message } }`):
 *
 *   GET  /admin/activations                    every activation here
 *   GET  /admin/objects/:type/:id              one activation with its in-memory state (404 if not here)
 *   POST /admin/objects/:type/:id/evict        flush and release; answers once the lock is released
 *   POST /admin/objects/:type/:id/migrate      body { "to": "<node>" }; answers once active on the target
 *   POST /admin/drain                          deactivate everything, take no new activations
 *   POST /admin/call                           body { type, id, op, arg?, timeoutMs? }: runs handler or query `op`
 *                                              through the node's normal routing (wherever the object lives);
 *                                              answers { value }; a declared error is 409 OBJECT_REJECTED with
 *                                              `details` { type, id, error, data }
 *   GET  /admin/services                       { node, services: { <name>: info } } of the services added
 *
 * Services running in the node's process (the audience gateway) describe themselves with
 * {@link registerAdminExtension} (their metrics go to `node.metrics.include`): served here, behind the
 * admin token, never on the services' own public ports.
 */

export interface AdminExtension {
  /** Key under `services` in `GET /admin/services`. */
  name: string;
  /** What `GET /admin/services` shows for it (e.g. its public URL). */
  info?: () => unknown;
}

const extensions = new WeakMap<HighlanderNode, AdminExtension[]>();

/** Adds a service's description to the node's admin endpoints; returns the removal function. */
export function registerAdminExtension(node: HighlanderNode, extension: AdminExtension): () => void {
  const list = extensions.get(node) ?? [];
  if (list.some((e) => e.name === extension.name)) throw new TypeError(`admin extension '${extension.name}' is registered twice`);
  list.push(extension);
  extensions.set(node, list);
  return () => {
    const index = list.indexOf(extension);
    if (index >= 0) list.splice(index, 1);
  };
}

const MAX_BODY_BYTES = 64 * 1024;


class AdminError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export function adminHttpHandler(node: HighlanderNode, token: string): (req: IncomingMessage, res: ServerResponse) => void {
  const expected = Buffer.from(`Bearer ${token}`);
  return (req, res) => {
    logAction(node, req, res);
    handle(node, expected, req).then(
      ({ status, body }) => send(res, status, body),
      (err: unknown) => {
        if (err instanceof AdminError) return send(res, err.status, { error: { code: err.code, message: err.message } });
        if (err instanceof HighlanderError) {
          const details = err.details();
          return send(res, err.httpStatus, { error: { code: err.code, message: err.message, ...(Object.keys(details).length > 0 ? { details } : {}) } });
        }
        send(res, 500, { error: { code: 'INTERNAL', message: 'internal error on the node; see its log' } });
        process.emitWarning(`admin endpoint ${req.method} ${req.url} failed: ${(err as Error)?.stack ?? String(err)}`);
      },
    );
  };
}

async function handle(node: HighlanderNode, expected: Buffer, req: IncomingMessage): Promise<{ status: number; body: unknown }> {
  const url = new URL(req.url ?? '/', 'http://node');
  if (!url.pathname.startsWith('/admin/')) throw new AdminError(426, 'UPGRADE_REQUIRED', 'this is a Highlander node: connect with ws to /peer or /events, or use /admin/… with its admin token');
  const given = Buffer.from(req.headers.authorization ?? '');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new AdminError(401, 'UNAUTHENTICATED', 'missing or wrong admin token: send Authorization: Bearer <the node\'s adminToken>');
  }
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent); // ['admin', …]
  const method = req.method ?? 'GET';
  if (method === 'GET' && parts.length === 2 && parts[1] === 'activations') {
    return { status: 200, body: { node: node.name, draining: node.draining, activations: node.activations() } };
  }
  if (method === 'POST' && parts.length === 2 && parts[1] === 'drain') {
    return { status: 200, body: await node.drain() };
  }
  if (method === 'POST' && parts.length === 2 && parts[1] === 'call') {
    return { status: 200, body: { value: await call(node, await readJson(req)) } };
  }
  if (method === 'GET' && parts.length === 2 && parts[1] === 'services') {
    const services = Object.fromEntries((extensions.get(node) ?? []).map((e) => [e.name, e.info?.() ?? {}]));
    return { status: 200, body: { node: node.name, services } };
  }
  if (parts.length >= 4 && parts[1] === 'objects') {
    const type = validateTypeName(parts[2]);
    const id = validateObjectId(parts[3]);
    if (method === 'GET' && parts.length === 4) {
      const details = node.inspect(type, id);
      if (!details) throw new AdminError(404, 'NOT_ACTIVE_HERE', `${type}/${id} is not active on node '${node.name}'`);
      return { status: 200, body: details };
    }
    if (method === 'POST' && parts.length === 5 && parts[4] === 'evict') {
      return { status: 200, body: await node.evict(type, id) };
    }
    if (method === 'POST' && parts.length === 5 && parts[4] === 'migrate') {
      const body = await readJson(req);
      const to = (body as { to?: unknown })?.to;
      if (typeof to !== 'string' || to.length === 0) throw new AdminError(400, 'INVALID_ARGUMENT', 'body must be {"to": "<node name>"}');
      return { status: 200, body: await node.migrate(type, id, to) };
    }
  }
  throw new AdminError(404, 'NOT_FOUND', `no admin endpoint ${method} ${url.pathname}`);
}

/** `POST /admin/call`: a handler or query by name, routed like any call from this node. */
async function call(node: HighlanderNode, body: unknown): Promise<unknown> {
  const { type, id, op, arg, timeoutMs } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof op !== 'string' || op.length === 0) throw new AdminError(400, 'INVALID_ARGUMENT', 'body must be {"type": t, "id": i, "op": "<handler or query>", "arg"?: …, "timeoutMs"?: n}');
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs > 0)) throw new AdminError(400, 'INVALID_ARGUMENT', 'timeoutMs must be a positive number of milliseconds');
  const definition = node.objectType(validateTypeName(type));
  if (!definition) throw new UnknownObjectType(type as string, node.name);
  const options = timeoutMs === undefined ? undefined : { timeoutMs: timeoutMs as number };
  return node.ref(definition, validateObjectId(id)).invoke(op, arg, options);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new AdminError(413, 'PAYLOAD_TOO_LARGE', `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
  } catch {
    throw new AdminError(400, 'INVALID_JSON', 'request body is not JSON');
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Logs an action (evict, migrate, drain) once answered: info when done, warn when refused or failed. */
function logAction(node: HighlanderNode, req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0]!;
  if (req.method !== 'POST' || !/^\/admin\/(drain|objects\/[^/]+\/[^/]+\/(evict|migrate))$/.test(path)) return;
  const started = performance.now();
  res.once('finish', () => {
    const fields = { event: 'admin.action', method: req.method, path, status: res.statusCode, durationMs: Math.round(performance.now() - started) };
    if (res.statusCode < 400) node.logger.info(fields, `admin action ${path} done`);
    else node.logger.warn(fields, `admin action ${path} answered ${res.statusCode}`);
  });
}
