import { ObjectRejected } from './errors.js';

/**
 * How a call ended, in the three kinds the metrics keep apart:
 *
 * - `ok`: it succeeded;
 * - `rejected`: the object refused it on purpose, with one of its declared errors
 *   (`ctx.fail.<name>(…)`, code `OBJECT_REJECTED`): part of the type's contract, like a 409, not a fault;
 * - `error`: anything else (a timeout, an unavailable store or coordinator, a handler that threw
 *   something undeclared, an invalid argument…): something an operator may have to look at.
 *
 * ```ts
 * callOutcomeKind('ok');               // 'ok'
 * callOutcomeKind('OBJECT_REJECTED');  // 'rejected'
 * callOutcomeKind('CALL_TIMEOUT');     // 'error'
 * ```
 */
export type CallOutcomeKind = 'ok' | 'rejected' | 'error';

/** The error codes of declared rejections: the calls counted as `rejected`, not as errors. */
export const DECLARED_REJECTION_CODES: ReadonlySet<string> = new Set([ObjectRejected.code]);

/** The kind of a call's `outcome` label: `ok`, or an error code. */
export function callOutcomeKind(outcome: string): CallOutcomeKind {
  if (outcome === 'ok') return 'ok';
  return DECLARED_REJECTION_CODES.has(outcome) ? 'rejected' : 'error';
}

/** The kind of a call that failed with `error` (anything thrown). */
export function failureKind(error: unknown): Exclude<CallOutcomeKind, 'ok'> {
  return error instanceof ObjectRejected ? 'rejected' : 'error';
}
