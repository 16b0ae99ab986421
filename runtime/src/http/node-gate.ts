import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Who may use a node's port, decided in one place for ws upgrades (`/peer`, `/events`) and HTTP
 * (`/admin/…`, `/metrics`) alike:
 *
 * - a request with an `Origin` header comes from a browser page: refused (403), whatever it carries
 *   (browsers open cross-origin websockets, so any page on the operator's machine could reach a node);
 * - with a cluster secret, a request without `Authorization: Bearer <secret>` (the scheme in any
 *   case, the secret compared in constant time) is refused (401).
 *
 * Refusals are counted by reason; their log lines are limited to one per address per interval.
 */
export type RefusalReason = 'origin' | 'unauthenticated' | 'malformed-frame' | 'bad-request';

export interface Refusal {
  status: 401 | 403;
  code: 'UNAUTHENTICATED' | 'ORIGIN_NOT_ALLOWED';
  reason: RefusalReason;
  message: string;
}

export class NodeGate {
  readonly #secret: Buffer | undefined;

  constructor(secret: string | undefined) {
    this.#secret = secret === undefined ? undefined : Buffer.from(secret);
  }

  /** Whether a cluster secret guards the port. */
  get guarded(): boolean {
    return this.#secret !== undefined;
  }

  /** Undefined when the request may go on; else why not, with the answer to give. */
  check(req: IncomingMessage): Refusal | undefined {
    if (req.headers.origin !== undefined) {
      return {
        status: 403, code: 'ORIGIN_NOT_ALLOWED', reason: 'origin',
        message: 'a node\'s port serves cluster members only, never a browser page (the request has an Origin header): use the admin API and its dashboard',
      };
    }
    if (this.#secret !== undefined && !bearerMatches(req.headers.authorization, this.#secret)) {
      return {
        status: 401, code: 'UNAUTHENTICATED', reason: 'unauthenticated',
        message: 'missing or wrong cluster secret: send Authorization: Bearer <the cluster secret> (the nodes\' and the admin API\'s --cluster-secret)',
      };
    }
    return undefined;
  }
}

/** Whether an `Authorization` header is `Bearer <secret>` (the scheme in any case), compared in constant time. */
export function bearerMatches(header: string | undefined, secret: string | Buffer): boolean {
  const match = /^([A-Za-z]+) +(.+)$/.exec(header ?? '');
  if (!match || match[1]!.toLowerCase() !== 'bearer') return false;
  const given = Buffer.from(match[2]!);
  const expected = typeof secret === 'string' ? Buffer.from(secret) : secret;
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Logs refusals at most once per remote address per `intervalMs` (with how many were not logged
 * since), so a client hammering the port cannot flood the log. Remembers at most `maxAddresses`.
 */
export class RefusalLog {
  readonly #last = new Map<string, { at: number; quiet: number }>();

  constructor(private readonly log: (address: string, refusal: { reason: RefusalReason; message: string }, notLogged: number) => void,
    private readonly intervalMs = 60_000, private readonly maxAddresses = 10_000) {}

  note(address: string, refusal: { reason: RefusalReason; message: string }, now = Date.now()): void {
    const seen = this.#last.get(address);
    if (seen && now - seen.at < this.intervalMs) {
      seen.quiet++;
      return;
    }
    this.#last.delete(address);
    if (this.#last.size >= this.maxAddresses) this.#last.delete(this.#last.keys().next().value!);
    this.#last.set(address, { at: now, quiet: 0 });
    this.log(address, refusal, seen?.quiet ?? 0);
  }
}
