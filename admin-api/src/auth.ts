import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { RequestHandler, Response } from 'express';
import { HttpError } from './http-error.js';
import { STREAM_PROTOCOL } from './stream/protocol.js';

/**
 * Who may use the admin API. Every request carries a bearer token from a configured list; a token
 * has a name (recorded in the audit log) and a role:
 *
 * - `viewer`: every GET and the ws stream;
 * - `operator`: that, and the actions (evict, migrate, drain).
 *
 * HTTP: `Authorization: Bearer <token>`. Missing or unknown token → 401 `UNAUTHENTICATED` with
 * `WWW-Authenticate`; a viewer asking for an action → 403 `FORBIDDEN`; any action while the API is
 * read-only → 403 `READ_ONLY`, whatever the role.
 *
 * ws (`/api/stream`): browsers cannot set headers on a WebSocket, so the token travels as a
 * subprotocol: `new WebSocket(url, ['highlander.v1', 'bearer.' + token])`. The server answers with
 * `highlander.v1` (never echoing the token). Non-browser clients may send `Authorization` instead.
 * A `?token=` query parameter is deliberately not accepted: URLs end up in logs and histories.
 * Hence tokens are limited to characters valid in a subprotocol and a URL: `A-Z a-z 0-9 - . _ ~`.
 */

export type Role = 'viewer' | 'operator';
export const ROLES: readonly Role[] = ['viewer', 'operator'];

export interface TokenConfig {
  /** The secret. Characters `A-Z a-z 0-9 - . _ ~` (usable in a ws subprotocol). */
  token: string;
  role: Role;
  /** Who holds it, as recorded in the audit log. */
  name: string;
}

/** The authenticated caller. */
export interface Principal {
  name: string;
  role: Role;
}

const BEARER_PROTOCOL_PREFIX = 'bearer.';
const TOKEN_CHARS = /^[A-Za-z0-9._~-]+$/;

export type AuthResult = { principal: Principal } | { problem: 'missing' | 'unknown' };

export class TokenAuthenticator {
  readonly #entries: { digest: Buffer; principal: Principal }[];

  /** Throws `TypeError` for an empty list, a malformed or repeated token, or an unknown role. */
  constructor(tokens: readonly TokenConfig[]) {
    if (tokens.length === 0) throw new TypeError('tokens: configure at least one { token, role, name }');
    const seen = new Set<string>();
    this.#entries = tokens.map((t, i) => {
      if (typeof t.token !== 'string' || !TOKEN_CHARS.test(t.token)) {
        throw new TypeError(`tokens[${i}].token: must be non-empty and use only A-Z a-z 0-9 - . _ ~`);
      }
      if (!ROLES.includes(t.role)) throw new TypeError(`tokens[${i}].role: must be one of ${ROLES.join(', ')} (got ${String(t.role)})`);
      if (typeof t.name !== 'string' || t.name.length === 0) throw new TypeError(`tokens[${i}].name: must be a non-empty string`);
      if (seen.has(t.token)) throw new TypeError(`tokens[${i}].token: the same token is configured twice`);
      seen.add(t.token);
      return { digest: digest(t.token), principal: { name: t.name, role: t.role } };
    });
  }

  /**
   * The holder of a token. Compares the token's SHA-256 with every configured one in constant
   * time and without stopping early, so neither the length nor the position of a match leaks.
   */
  verify(token: string): Principal | undefined {
    const given = digest(token);
    let found: Principal | undefined;
    for (const entry of this.#entries) {
      if (timingSafeEqual(given, entry.digest)) found = entry.principal;
    }
    return found;
  }

  /** From an `Authorization` header value. */
  fromAuthorization(header: string | undefined): AuthResult {
    const match = header === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (!match) return { problem: 'missing' };
    return this.#result(match[1]!);
  }

  /** From a ws upgrade request: the `bearer.<token>` subprotocol, else `Authorization`. */
  fromUpgrade(req: IncomingMessage): AuthResult {
    const offered = offeredProtocols(req);
    const bearer = offered.find((p) => p.startsWith(BEARER_PROTOCOL_PREFIX));
    if (bearer !== undefined) return this.#result(bearer.slice(BEARER_PROTOCOL_PREFIX.length));
    return this.fromAuthorization(req.headers.authorization);
  }

  #result(token: string): AuthResult {
    const principal = this.verify(token);
    return principal ? { principal } : { problem: 'unknown' };
  }
}

/** The message and `WWW-Authenticate` value of a 401. */
export function unauthenticated(problem: 'missing' | 'unknown'): { message: string; wwwAuthenticate: string } {
  return problem === 'missing'
    ? { message: 'missing bearer token: send Authorization: Bearer <token>', wwwAuthenticate: 'Bearer realm="highlander-admin"' }
    : { message: 'unknown bearer token', wwwAuthenticate: 'Bearer realm="highlander-admin", error="invalid_token"' };
}

/** Requires a viewer or operator token; puts the caller in `res.locals.principal`. */
export function authenticate(authenticator: TokenAuthenticator): RequestHandler {
  return (req, res, next) => {
    const result = authenticator.fromAuthorization(req.headers.authorization);
    if ('problem' in result) {
      const { message, wwwAuthenticate } = unauthenticated(result.problem);
      res.setHeader('WWW-Authenticate', wwwAuthenticate);
      throw new HttpError(401, 'UNAUTHENTICATED', message);
    }
    res.locals.principal = result.principal;
    next();
  };
}

/** The caller `authenticate` found. */
export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new Error('principalOf: the route has no authenticate middleware');
  return principal;
}

/** May this caller run an action? Read-only refuses everyone, then only operators may. */
export function checkActionAllowed(principal: Principal, readOnly: boolean): void {
  if (readOnly) throw new HttpError(403, 'READ_ONLY', 'the admin API is in read-only mode: no actions are allowed');
  if (principal.role !== 'operator') {
    throw new HttpError(403, 'FORBIDDEN', `token '${principal.name}' has role '${principal.role}'; actions need role 'operator'`);
  }
}

/**
 * The Origin check of ws upgrades (browsers send `Origin`; the stream's cookies-free auth already
 * stops most cross-site use, this stops a page on another site from using a token it was given).
 * Allowed: no `Origin` (not a browser), the same origin as the `Host` the request was sent to, or an
 * origin in the list. Throws `TypeError` for a list entry that is not an origin.
 */
export function originChecker(allowedOrigins: readonly string[]): (req: IncomingMessage) => boolean {
  const allowed = new Set(
    allowedOrigins.map((o, i) => {
      let url: URL;
      try {
        url = new URL(o);
      } catch {
        throw new TypeError(`allowedOrigins[${i}]: '${o}' is not an origin like https://dashboard.example.com`);
      }
      if (url.origin === 'null' || url.origin !== o.replace(/\/$/, '')) {
        throw new TypeError(`allowedOrigins[${i}]: '${o}' is not an origin (scheme://host[:port], no path)`);
      }
      return url.origin;
    }),
  );
  return (req) => {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    if (allowed.has(origin)) return true;
    try {
      const url = new URL(origin);
      return url.origin !== 'null' && req.headers.host !== undefined && url.host.toLowerCase() === req.headers.host.toLowerCase();
    } catch {
      return false;
    }
  };
}

/** The subprotocol to answer with: ours when offered, else none. The token protocol is never echoed. */
export function selectProtocol(protocols: Set<string>): string | false {
  return protocols.has(STREAM_PROTOCOL) ? STREAM_PROTOCOL : false;
}

function offeredProtocols(req: IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol'];
  if (header === undefined) return [];
  return header.split(',').map((p) => p.trim()).filter(Boolean);
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
