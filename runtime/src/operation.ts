import type { AnyObjectType } from './define-object.js';

/**
 * What travels from a ref to the object, wherever it lives, and the seam between the two.
 *
 * ```
 * ref.call('rename', 'x')  →  Invoker.invoke(Todo, id, { op: 'call', name: 'rename', arg: 'x' }, timeoutMs)
 * ```
 *
 * Everything below the seam (routing, forwarding, activations) imports this file; nothing here
 * imports them.
 */

/** What a caller asks of an object: its state, a new state, or a handler or query by name. */
export type Operation =
  | { op: 'get' }
  /**
   * `expectedVersion`: replace only if the object is at this stored version (or one that differs
   * from it only by owner claims) with nothing newer pending; else `VersionConflict`, nothing written.
   */
  | { op: 'put'; state: unknown; expectedVersion?: number }
  | { op: 'call'; name: string; arg: unknown };

/** Runs operations on objects wherever they live (the node's call router). */
export interface Invoker {
  /** A call's timeout when the caller gives none. */
  readonly callTimeoutMs: number;
  /** Largest state, and call argument, as JSON. */
  readonly maxStateBytes: number;
  /** Runs `operation` on the object `definition`/`id` wherever it lives; settles with its outcome. */
  invoke(definition: AnyObjectType, id: string, operation: Operation, timeoutMs: number): Promise<unknown>;
}

/**
 * This node does not serve the object: the call goes to `owner`, or, when `owner` is null (nobody
 * is known to own it and this node will not activate it), wherever placement says. A value that
 * routing returns, never an error that is thrown.
 */
export class Redirect {
  constructor(readonly owner: string | null) {}
}

/** The name an operation is reported under (`CallTimeout`, stats): the handler's or query's, or `get` / `put`. */
export function operationName(operation: Operation): string {
  return operation.op === 'call' ? operation.name : operation.op;
}

/** Whether an operation only reads the state (`get`, or a query): safe to send again when its outcome is unknown. */
export function isReadOnly(definition: AnyObjectType, operation: Operation): boolean {
  return operation.op === 'get' || (operation.op === 'call' && definition.operations.get(operation.name)?.kind === 'query');
}
