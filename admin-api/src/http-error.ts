import { randomUUID } from 'node:crypto';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ERROR_CLASSES, HighlanderError } from '@highlander/runtime';

/**
 * The admin API's one HTTP error class and its one error middleware. Every error body is
 * `{ "error": { "code", "message", "details"?, "correlationId"? } }` with a stable `code`.
 *
 * - `HttpError` → its status and code.
 * - A `ZodError` (bad params, query or body) → 400 `VALIDATION_FAILED`, naming every wrong field.
 * - body-parser's errors → 413 `PAYLOAD_TOO_LARGE`, 400 `INVALID_JSON`, 415 `UNSUPPORTED_MEDIA_TYPE`.
 * - A runtime `HighlanderError` → the status its class carries (`httpStatus`), with its own code and
 *   message (they are written for callers); a 500 among them (HANDLER_FAILED, STORED_STATE_CORRUPT) also
 *   gets a correlation id and is logged with the stack.
 * - Anything else → 500 `INTERNAL` with a correlation id (body and `X-Correlation-Id`), logged with the
 *   stack; neither the stack nor the message reaches the client.
 */

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Every code the API itself answers with, and its status (runtime codes are in {@link RUNTIME_ERROR_STATUS}). */
export const API_ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  BAD_REQUEST: 400,
  INVALID_CURSOR: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  READ_ONLY: 403,
  ORIGIN_NOT_ALLOWED: 403,
  NOT_FOUND: 404,
  NODE_NOT_FOUND: 404,
  OBJECT_NOT_FOUND: 404,
  STORED_OBJECT_NOT_FOUND: 404,
  TALK_NOT_FOUND: 404,
  TALK_EXISTS: 409,
  REBALANCE_DISABLED: 409,
  NOT_SHARDED: 409,
  MOVE_REFUSED: 409,
  QUESTION_NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UPGRADE_REQUIRED: 426,
  INTERNAL: 500,
  NOT_READY: 503,
  TOO_MANY_CLIENTS: 503,
  TALKS_UNAVAILABLE: 503,
} as const;

export type ApiErrorCode = keyof typeof API_ERROR_STATUS;

/** The runtime's error codes and their statuses: each error class carries its own (`httpStatus`, runtime/src/errors.ts). */
export const RUNTIME_ERROR_STATUS: Readonly<Record<string, number>> = Object.fromEntries(ERROR_CLASSES.map((c) => [c.code, c.httpStatus]));

/** A runtime error code (one of `ERROR_CLASSES`). */
export type RuntimeErrorCode = string;
export type ErrorCode = ApiErrorCode | RuntimeErrorCode;

/** The status of any code this API may answer with. */
export function statusOf(code: ErrorCode): number {
  const status = code in API_ERROR_STATUS ? API_ERROR_STATUS[code as ApiErrorCode] : RUNTIME_ERROR_STATUS[code];
  if (status === undefined) throw new TypeError(`unknown error code '${code}': neither the API's nor the runtime's`);
  return status;
}

/** What an error becomes on the wire. `internal` errors are logged with their stack. */
export interface ErrorResponse {
  status: number;
  code: string;
  message: string;
  details?: Record<string, unknown>;
  internal: boolean;
}

/** Maps anything thrown to its response; the one place that decides statuses and codes. */
export function describeError(err: unknown): ErrorResponse {
  if (err instanceof HttpError) {
    // Deliberate answers, 5xx included (NOT_READY): nothing to log.
    return { status: err.status, code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}), internal: false };
  }
  if (err instanceof z.ZodError) return validationFailed(err);
  if (err instanceof HighlanderError) {
    const status = err.httpStatus;
    const details = err.details();
    return {
      status, code: err.code, message: err.message,
      ...(Object.keys(details).length > 0 ? { details } : {}), internal: status === 500,
    };
  }
  const parser = expressClientError(err);
  if (parser) return parser;
  if (hasCode(err, 'INVALID_CURSOR')) {
    return { status: 400, code: 'INVALID_CURSOR', message: err instanceof Error ? err.message : 'invalid cursor', internal: false };
  }
  return { status: 500, code: 'INTERNAL', message: 'internal error', internal: true };
}

export interface ErrorMiddlewareOptions {
  logger: Logger;
}

/** The one error middleware: mount it last. */
export function errorMiddleware(options: ErrorMiddlewareOptions): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      // Too late for an error body: let express end the connection.
      next(err);
      return;
    }
    const described = describeError(err);
    const body: Record<string, unknown> = { code: described.code, message: described.message };
    if (described.details) body.details = described.details;
    if (described.internal) {
      const correlationId = correlationIdOf(res.locals);
      body.correlationId = correlationId;
      if (described.code === 'INTERNAL') body.message = `internal error; quote correlation id ${correlationId} to find it in the admin API's log`;
      res.setHeader('X-Correlation-Id', correlationId);
      options.logger.error({ err, correlationId, method: req.method, url: req.originalUrl }, 'request failed');
    }
    if (described.status === 401 && !res.hasHeader('WWW-Authenticate')) res.setHeader('WWW-Authenticate', 'Bearer realm="highlander-admin"');
    res.status(described.status).json({ error: body });
  };
}

/** 404 for every path no route matched. */
export const notFoundHandler: RequestHandler = (req) => {
  throw new HttpError(404, 'NOT_FOUND', `no route ${req.method} ${req.path}; see /api/openapi.json`);
};

/**
 * The correlation id of this response's 500, made once: the audit log records the same id as the
 * response carries.
 */
export function correlationIdOf(locals: Record<string, unknown>): string {
  if (typeof locals.correlationId !== 'string') locals.correlationId = randomUUID();
  return locals.correlationId as string;
}

function validationFailed(err: z.ZodError): ErrorResponse {
  const issues = err.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
  const fields = [...new Set(issues.map((i) => i.path))];
  const first = issues[0];
  const message = first
    ? `invalid ${fields.join(', ')}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`
    : 'invalid request';
  return { status: 400, code: 'VALIDATION_FAILED', message, details: { issues }, internal: false };
}

/** `['query', 'limit']` → `query.limit`; an unrecognised key is named by the issue's message. */
function formatPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replaceAll('.[', '[');
}

/** body-parser's (and express's) client errors, recognised by their `type` and `status`. */
function expressClientError(err: unknown): ErrorResponse | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const limit = 'limit' in err && typeof err.limit === 'number' ? err.limit : undefined;
  switch ('type' in err ? err.type : undefined) {
    case 'entity.too.large':
      return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: `request body is over the limit of ${limit ?? '?'} bytes`, ...(limit ? { details: { limitBytes: limit } } : {}), internal: false };
    case 'entity.parse.failed':
      return { status: 400, code: 'INVALID_JSON', message: 'request body is not valid JSON (an object is expected)', internal: false };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: err instanceof Error ? err.message : 'unsupported body encoding', internal: false };
    case 'request.aborted':
    case 'request.size.invalid':
      return { status: 400, code: 'INVALID_JSON', message: 'request body was incomplete', internal: false };
    default: {
      // Other client errors raised by express itself: http-errors marked `expose`, and the router's
      // URIError for a path parameter that is not valid percent-encoding.
      const status = 'status' in err && typeof err.status === 'number' ? err.status : 0;
      const clientError = ('expose' in err && err.expose === true) || err instanceof URIError;
      if (clientError && status >= 400 && status < 500 && err instanceof Error) return { status: 400, code: 'BAD_REQUEST', message: err.message, internal: false };
      return undefined;
    }
  }
}

function hasCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === code;
}
