import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { HighlanderError } from './errors.js';
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
 */

const MAX_BODY_BYTES = 64 * 1024;

const STATUS: Record<string, number> = {
  INVALID_OBJECT_ID: 400, INVALID_TYPE_NAME: 400, INVALID_ARGUMENT: 400, NOT_ACTIVE_HERE: 404, UNKNOWN_OBJECT_TYPE: 404,
  MIGRATION_REFUSED: 409, NODE_STOPPING: 503, COORDINATOR_UNAVAILABLE: 503, STORE_UNAVAILABLE: 503, CALL_TIMEOUT: 504,
};

class AdminError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export function adminHttpHandler(node: HighlanderNode, token: string): (req: IncomingMessage, res: ServerResponse) => void {
  const expected = Buffer.from(`Bearer ${token}`);
  return (req, res) => {
    handle(node, expected, req).then(
      ({ status, body }) => send(res, status, body),
      (err: unknown) => {
        if (err instanceof AdminError) return send(res, err.status, { error: { code: err.code, message: err.message } });
        if (err instanceof HighlanderError) return send(res, STATUS[err.code] ?? 500, { error: { code: err.code, message: err.message } });
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
