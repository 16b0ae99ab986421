import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { argumentJsonSchema, type AnyObjectType, type CallOptions, type Ref } from '../define-object.js';
import { UnknownObjectType } from '../errors.js';
import { validateObjectId, validateTypeName } from '../names.js';

/**
 * The node's admin endpoints, on its ws port, for the admin API (behind the cluster secret,
 * checked by node-http.ts; JSON in and out; errors as `{ error: { code, message, details? } }`
 * with the error's `httpStatus`):
 *
 *   GET  /admin/activations                    every activation here
 *   GET  /admin/objects/:type/:id              one activation with its in-memory state (404 if not here)
 *   POST /admin/objects/:type/:id/evict        flush and release; answers once the lock is released
 *   POST /admin/objects/:type/:id/migrate      body { "to": "<node>" }; answers once active on the target
 *   POST /admin/drain                          deactivate everything, take no new activations
 *   PUT  /admin/objects/:type/:id/state        body { state, expectedVersion, timeoutMs? }: replaces the state
 *                                              through the owner's mailbox (routed like any call) if the object is
 *                                              still at `expectedVersion`; answers { previous, previousVersion };
 *                                              409 VERSION_CONFLICT with the current version and state otherwise
 *   POST /admin/call                           body { type, id, op, arg?, timeoutMs?, queryOnly? }: runs handler or
 *                                              query `op` through the node's normal routing (wherever the object
 *                                              lives); answers { value }; a declared error is 409 OBJECT_REJECTED
 *                                              with `details` { type, id, error, data }; with `queryOnly`, a
 *                                              handler is refused (403 NOT_A_QUERY) before anything runs
 *   GET  /admin/types                          { types: [{ type, handlers, queries, errors, args }] } registered here
 *                                              (args: each operation's argument as JSON Schema, where it has one)
 *   GET  /admin/services                       { node, services: { <name>: info } } of the services added
 *
 * Services running in the node's process (the audience gateway) describe themselves with
 * {@link registerAdminExtension} (their metrics go to `node.metrics.include`): served here, behind the
 * admin token, never on the services' own public ports.
 */

/** What the admin endpoints need from a node (`HighlanderNode` implements it). */
export interface AdminNode {
  readonly name: string;
  readonly draining: boolean;
  readonly logger: Logger;
  activations(): unknown[];
  inspect(type: string, id: string): unknown;
  evict(type: string, id: string): Promise<unknown>;
  migrate(type: string, id: string, to: string): Promise<unknown>;
  drain(): Promise<unknown>;
  objectType(name: string): AnyObjectType | undefined;
  /** Every object type registered on the node. */
  objectTypes(): readonly AnyObjectType[];
  /** Largest state as JSON: bodies carrying a state may be this large, plus their envelope. */
  readonly maxStateBytes: number;
  ref<T extends AnyObjectType>(type: T, id: string): Ref<T>;
}

export interface AdminExtension {
  /** Key under `services` in `GET /admin/services`. */
  name: string;
  /** What `GET /admin/services` shows for it (e.g. its public URL). */
  info?: () => unknown;
}

const extensions = new WeakMap<AdminNode, AdminExtension[]>();

/** Adds a service's description to the node's admin endpoints; returns the removal function. */
export function registerAdminExtension(node: AdminNode, extension: AdminExtension): () => void {
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
/** What a body carrying a state or an argument may add to it: its keys, the version, the timeout. */
const ENVELOPE_BYTES = 4096;

/** A refusal of the admin endpoints themselves (not a runtime error): its status, code and message. */
export class AdminError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/**
 * Answers one authenticated request under `/admin/`: resolves with the status and JSON body, or
 * rejects with an `AdminError` or a runtime error.
 */
export async function handleAdmin(node: AdminNode, req: IncomingMessage, pathname: string): Promise<{ status: number; body: unknown }> {
  let parts: string[];
  try {
    parts = pathname.split('/').filter(Boolean).map(decodeURIComponent); // ['admin', …]
  } catch {
    throw new AdminError(400, 'BAD_REQUEST', `the path ${pathname} is not valid percent-encoding`);
  }
  const method = req.method ?? 'GET';
  if (method === 'GET' && parts.length === 2 && parts[1] === 'activations') {
    return { status: 200, body: { node: node.name, draining: node.draining, activations: node.activations() } };
  }
  if (method === 'POST' && parts.length === 2 && parts[1] === 'drain') {
    return { status: 200, body: await node.drain() };
  }
  if (method === 'POST' && parts.length === 2 && parts[1] === 'call') {
    return { status: 200, body: { value: await call(node, await readJson(req, bodyLimit(node))) } };
  }
  if (method === 'GET' && parts.length === 2 && parts[1] === 'types') {
    return { status: 200, body: { node: node.name, types: node.objectTypes().map(describeType) } };
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
    if (method === 'PUT' && parts.length === 5 && parts[4] === 'state') {
      return { status: 200, body: await replace(node, type, id, await readJson(req, bodyLimit(node))) };
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
  throw new AdminError(404, 'NOT_FOUND', `no admin endpoint ${method} ${pathname}`);
}

/** An object type as admin tools see it: the names of its handlers (which change state), queries and declared errors. */
export interface ObjectTypeDescription {
  type: string;
  handlers: string[];
  queries: string[];
  errors: string[];
  /** The JSON Schema of each operation's argument that has one it can express (see `argumentJsonSchema`). */
  args: Record<string, Record<string, unknown>>;
}

function describeType(definition: AnyObjectType): ObjectTypeDescription {
  const handlers: string[] = [];
  const queries: string[] = [];
  const args: Record<string, Record<string, unknown>> = {};
  for (const [name, spec] of definition.operations) {
    (spec.kind === 'query' ? queries : handlers).push(name);
    const schema = argumentJsonSchema(spec);
    if (schema) args[name] = schema;
  }
  return { type: definition.type, handlers, queries, errors: Object.keys(definition.errors), args };
}

/**
 * `POST /admin/call`: a handler or query by name, routed like any call from this node (the ref checks
 * `timeoutMs`). With `queryOnly`, only a query runs: the admin API sends it for callers who may not change state.
 */
async function call(node: AdminNode, body: unknown): Promise<unknown> {
  const { type, id, op, arg, timeoutMs, queryOnly } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof op !== 'string' || op.length === 0 || (queryOnly !== undefined && typeof queryOnly !== 'boolean')) {
    throw new AdminError(400, 'INVALID_ARGUMENT', 'body must be {"type": t, "id": i, "op": "<handler or query>", "arg"?: …, "timeoutMs"?: n, "queryOnly"?: true|false}');
  }
  const definition = node.objectType(validateTypeName(type));
  if (!definition) throw new UnknownObjectType(type as string, node.name);
  const objectId = validateObjectId(id);
  if (queryOnly === true && definition.operations.get(op)?.kind === 'handler') {
    throw new AdminError(403, 'NOT_A_QUERY', `'${op}' of type '${definition.type}' is a handler (it changes state), not a query`);
  }
  const options: CallOptions | undefined = timeoutMs === undefined ? undefined : { timeoutMs: timeoutMs as number };
  return node.ref(definition, objectId).invoke(op, arg, options);
}

/** `PUT /admin/objects/:type/:id/state`: a guarded replacement, routed like any call from this node. */
async function replace(node: AdminNode, type: string, id: string, body: unknown): Promise<unknown> {
  const { state, expectedVersion, timeoutMs, ...rest } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (state === undefined || typeof expectedVersion !== 'number' || Object.keys(rest).length > 0) {
    throw new AdminError(400, 'INVALID_ARGUMENT', 'body must be {"state": <JSON object or array>, "expectedVersion": <the version it replaces>, "timeoutMs"?: n}');
  }
  const definition = node.objectType(type);
  if (!definition) throw new UnknownObjectType(type, node.name);
  return node.ref(definition, id).replace(state, { expectedVersion, ...(timeoutMs === undefined ? {} : { timeoutMs: timeoutMs as number }) });
}

function bodyLimit(node: AdminNode): number {
  return Math.max(MAX_BODY_BYTES, node.maxStateBytes + ENVELOPE_BYTES);
}

async function readJson(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new AdminError(413, 'PAYLOAD_TOO_LARGE', `request body over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
  } catch {
    throw new AdminError(400, 'INVALID_JSON', 'request body is not JSON');
  }
}
