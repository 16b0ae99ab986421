/**
 * Every error the runtime raises. Each has a stable `name`, a stable string `code`
 * (listed in the README's error table), typed context fields and an optional `cause`.
 * `retryable` tells a caller whether the same call may succeed if sent again.
 *
 * Errors cross node boundaries as {@link SerializedError} and are rebuilt on the caller's
 * side with {@link deserializeError}, so a caller sees the same class wherever the object lives.
 */

export interface SerializedError {
  code: string;
  message: string;
  retryable?: boolean;
  details?: Record<string, unknown>;
}

export class HighlanderError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  constructor(code: string, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options?.retryable ?? false;
  }
  /** Context fields that travel with the error across nodes. */
  details(): Record<string, unknown> {
    return {};
  }
  serialize(): SerializedError {
    return { code: this.code, message: this.message, retryable: this.retryable, details: this.details() };
  }
}

/** An object id that is empty, too long or has characters outside `[A-Za-z0-9._:@-]`. */
export class InvalidObjectId extends HighlanderError {
  constructor(readonly value: unknown, reason: string) {
    super('INVALID_OBJECT_ID', `invalid object id ${describe(value)}: ${reason}`);
  }
  override details() { return { value: this.value }; }
}

/** An object type name that is empty, too long or not `[a-z][a-z0-9-]*`. */
export class InvalidTypeName extends HighlanderError {
  constructor(readonly value: unknown, reason: string) {
    super('INVALID_TYPE_NAME', `invalid object type name ${describe(value)}: ${reason}`);
  }
  override details() { return { value: this.value }; }
}

/** A node name that is empty, too long or has characters outside `[A-Za-z0-9_-]`. */
export class InvalidNodeName extends HighlanderError {
  constructor(readonly value: unknown, reason: string) {
    super('INVALID_NODE_NAME', `invalid node name ${describe(value)}: ${reason}`);
  }
  override details() { return { value: this.value }; }
}

/** The object type is not registered on the node that received the call. */
export class UnknownObjectType extends HighlanderError {
  constructor(readonly type: string, readonly node: string) {
    super('UNKNOWN_OBJECT_TYPE', `object type '${type}' is not registered on node '${node}'; pass it in the node's 'objects' option on every node`);
  }
  override details() { return { type: this.type, node: this.node }; }
}

/** The object type has no handler or query of that name. */
export class UnknownHandler extends HighlanderError {
  constructor(readonly type: string, readonly handler: string, readonly known: string[]) {
    super('UNKNOWN_HANDLER', `object type '${type}' has no handler or query '${handler}' (known: ${known.join(', ') || 'none'})`);
  }
  override details() { return { type: this.type, handler: this.handler, known: this.known }; }
}

/** A new state whose JSON is larger than the node's `maxStateBytes`; nothing was written. */
export class StateTooLarge extends HighlanderError {
  constructor(readonly type: string, readonly id: string, readonly bytes: number, readonly limitBytes: number) {
    super('STATE_TOO_LARGE', `state of ${type}/${id} would be ${bytes} bytes, over the limit of ${limitBytes} bytes (maxStateBytes); the stored state is unchanged`);
  }
  override details() { return { type: this.type, id: this.id, bytes: this.bytes, limitBytes: this.limitBytes }; }
}

/** A state that cannot be stored as JSON (a function, a cycle, a bigint, undefined). */
export class InvalidState extends HighlanderError {
  constructor(readonly type: string, readonly id: string, reason: string) {
    super('INVALID_STATE', `state of ${type}/${id} is not storable as JSON: ${reason}; the stored state is unchanged`);
  }
  override details() { return { type: this.type, id: this.id }; }
}

/** The call did not complete within its timeout. It may or may not have taken effect. */
export class CallTimeout extends HighlanderError {
  constructor(readonly type: string, readonly id: string, readonly handler: string, readonly timeoutMs: number) {
    super('CALL_TIMEOUT', `call '${handler}' on ${type}/${id} did not complete within ${timeoutMs} ms (callTimeoutMs); it may or may not have taken effect`, { retryable: true });
  }
  override details() { return { type: this.type, id: this.id, handler: this.handler, timeoutMs: this.timeoutMs }; }
}

/** A handler threw something that is not a declared object error; state is unchanged. */
export class HandlerFailed extends HighlanderError {
  constructor(readonly type: string, readonly id: string, readonly handler: string, message: string, cause?: unknown) {
    super('HANDLER_FAILED', `handler '${handler}' of ${type}/${id} threw: ${message}; state is unchanged`, { cause });
  }
  override details() { return { type: this.type, id: this.id, handler: this.handler }; }
}

/**
 * A declared, typed error of an object type (see `errors` in `defineObject`), raised by a handler
 * through `ctx.fail.<name>(…)`. Narrow it with `Type.isError(err, 'name')`.
 */
export class ObjectRejected<Name extends string = string, Details = unknown> extends HighlanderError {
  constructor(readonly type: string, readonly id: string, readonly error: Name, message: string, readonly data: Details) {
    super('OBJECT_REJECTED', message);
  }
  override details() { return { type: this.type, id: this.id, error: this.error, data: this.data }; }
}

/** The activation lost its ownership (fenced, session lost, evicted) while the call was pending. */
export class OwnershipLost extends HighlanderError {
  constructor(readonly type: string, readonly id: string, readonly reason: string, cause?: unknown) {
    super('OWNERSHIP_LOST', `${type}/${id} lost its owner (${reason}) before the call completed; retry the call`, { retryable: true, cause });
  }
  override details() { return { type: this.type, id: this.id, reason: this.reason }; }
}

/** Another node's write is newer than this owner's: the conditional write was refused (412). */
export class Fenced extends HighlanderError {
  constructor(readonly type: string, readonly id: string, cause?: unknown) {
    super('FENCED', `${type}/${id} was written by a newer owner; this activation was fenced and stopped`, { retryable: true, cause });
  }
  override details() { return { type: this.type, id: this.id }; }
}

/**
 * The state store (S3) could not be reached or answered with an error. When this reaches a caller,
 * the call took no effect. Inside the store layer, `maybeApplied` marks a write whose request may
 * have reached S3 (a timeout, a reset, a 5xx): the runtime then reads the object back to decide.
 */
export class StoreUnavailable extends HighlanderError {
  constructor(readonly operation: string, readonly key: string, cause?: unknown, readonly maybeApplied = false) {
    super('STORE_UNAVAILABLE', `state store ${operation} of '${key}' failed: ${causeMessage(cause)}; nothing was acknowledged, retry when the store is reachable`, { retryable: true, cause });
  }
  override details() { return { operation: this.operation, key: this.key }; }
}

/**
 * The call's outcome is unknown: the write (or the forwarded call) carrying it may or may not have
 * taken effect, and finding out was impossible within the call's timeout. Read the object to see.
 */
export class Indeterminate extends HighlanderError {
  constructor(readonly type: string, readonly id: string, reason: string, cause?: unknown) {
    super('INDETERMINATE', `the outcome of a call on ${type}/${id} is unknown: ${reason}; read the object to find out before retrying a non-idempotent call`, { cause });
  }
  override details() { return { type: this.type, id: this.id }; }
}

/** A stored object that is not valid JSON of an object state. */
export class StoredStateCorrupt extends HighlanderError {
  constructor(readonly key: string, reason: string) {
    super('STORED_STATE_CORRUPT', `stored state at '${key}' cannot be read: ${reason}; fix or delete the stored object`);
  }
  override details() { return { key: this.key }; }
}

/** The coordinator (ZooKeeper) did not answer in time or the session is not connected. */
export class CoordinatorUnavailable extends HighlanderError {
  constructor(readonly operation: string, cause?: unknown) {
    super('COORDINATOR_UNAVAILABLE', `coordinator ${operation} failed: ${causeMessage(cause)}; retry when ZooKeeper is reachable`, { retryable: true, cause });
  }
  override details() { return { operation: this.operation }; }
}

/** Another live process holds this node name. */
export class NodeNameTaken extends HighlanderError {
  constructor(readonly node: string, readonly waitedMs: number) {
    super('NODE_NAME_TAKEN', `node name '${node}' is held by another live process (waited ${waitedMs} ms for it to go away); choose another name or stop that process`);
  }
  override details() { return { node: this.node, waitedMs: this.waitedMs }; }
}

/**
 * The target node could not be reached over its peer connection. `delivered` says whether the
 * request may have reached it: `'no'` (never sent) or `'unknown'` (sent, then the connection failed).
 */
export class NodeUnreachable extends HighlanderError {
  constructor(readonly node: string, cause?: unknown, readonly delivered: 'no' | 'unknown' = 'no') {
    super('NODE_UNREACHABLE', `node '${node}' could not be reached: ${causeMessage(cause)}`, { retryable: true, cause });
  }
  override details() { return { node: this.node, delivered: this.delivered }; }
}

/** The node is stopping or not started and takes no new calls. */
export class NodeStopping extends HighlanderError {
  constructor(readonly node: string) {
    super('NODE_STOPPING', `node '${node}' is not running (stopping or not started)`, { retryable: true });
  }
  override details() { return { node: this.node }; }
}

/** An admin action on an object that is not active on the node asked. */
export class NotActiveHere extends HighlanderError {
  constructor(readonly type: string, readonly id: string, readonly node: string) {
    super('NOT_ACTIVE_HERE', `${type}/${id} is not active on node '${node}'; ask its owner (see the lock queue)`);
  }
  override details() { return { type: this.type, id: this.id, node: this.node }; }
}

/** A migration that cannot be done: unknown, draining or same target, or the target failed to take over. */
export class MigrationRefused extends HighlanderError {
  constructor(readonly type: string, readonly id: string, readonly to: string, reason: string) {
    super('MIGRATION_REFUSED', `cannot migrate ${type}/${id} to '${to}': ${reason}`);
  }
  override details() { return { type: this.type, id: this.id, to: this.to }; }
}

/** A peer sent something that is not a valid message. */
export class ProtocolError extends HighlanderError {
  constructor(message: string) {
    super('PROTOCOL_ERROR', message);
  }
}

/** A call or payload argument that cannot be sent as JSON, or is larger than the peer message limit. */
export class InvalidArgument extends HighlanderError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

type ErrorFactory = (message: string, details: Record<string, unknown>) => HighlanderError;

const str = (v: unknown) => (typeof v === 'string' ? v : String(v));
const num = (v: unknown) => (typeof v === 'number' ? v : Number(v));

const factories: Record<string, ErrorFactory> = {
  INVALID_OBJECT_ID: (m, d) => withMessage(new InvalidObjectId(d.value, ''), m),
  INVALID_TYPE_NAME: (m, d) => withMessage(new InvalidTypeName(d.value, ''), m),
  INVALID_NODE_NAME: (m, d) => withMessage(new InvalidNodeName(d.value, ''), m),
  UNKNOWN_OBJECT_TYPE: (m, d) => withMessage(new UnknownObjectType(str(d.type), str(d.node)), m),
  UNKNOWN_HANDLER: (m, d) => withMessage(new UnknownHandler(str(d.type), str(d.handler), Array.isArray(d.known) ? d.known.map(str) : []), m),
  STATE_TOO_LARGE: (m, d) => withMessage(new StateTooLarge(str(d.type), str(d.id), num(d.bytes), num(d.limitBytes)), m),
  INVALID_STATE: (m, d) => withMessage(new InvalidState(str(d.type), str(d.id), ''), m),
  CALL_TIMEOUT: (m, d) => withMessage(new CallTimeout(str(d.type), str(d.id), str(d.handler), num(d.timeoutMs)), m),
  HANDLER_FAILED: (m, d) => withMessage(new HandlerFailed(str(d.type), str(d.id), str(d.handler), ''), m),
  OBJECT_REJECTED: (m, d) => new ObjectRejected(str(d.type), str(d.id), str(d.error), m, d.data),
  OWNERSHIP_LOST: (m, d) => withMessage(new OwnershipLost(str(d.type), str(d.id), str(d.reason)), m),
  FENCED: (m, d) => withMessage(new Fenced(str(d.type), str(d.id)), m),
  STORE_UNAVAILABLE: (m, d) => withMessage(new StoreUnavailable(str(d.operation), str(d.key)), m),
  STORED_STATE_CORRUPT: (m, d) => withMessage(new StoredStateCorrupt(str(d.key), ''), m),
  COORDINATOR_UNAVAILABLE: (m, d) => withMessage(new CoordinatorUnavailable(str(d.operation)), m),
  NODE_UNREACHABLE: (m, d) => withMessage(new NodeUnreachable(str(d.node), undefined, d.delivered === 'unknown' ? 'unknown' : 'no'), m),
  INDETERMINATE: (m, d) => withMessage(new Indeterminate(str(d.type), str(d.id), ''), m),
  NODE_STOPPING: (m, d) => withMessage(new NodeStopping(str(d.node)), m),
  PROTOCOL_ERROR: (m) => new ProtocolError(m),
  NOT_ACTIVE_HERE: (m, d) => withMessage(new NotActiveHere(str(d.type), str(d.id), str(d.node)), m),
  MIGRATION_REFUSED: (m, d) => withMessage(new MigrationRefused(str(d.type), str(d.id), str(d.to), ''), m),
  INVALID_ARGUMENT: (m) => new InvalidArgument(m),
};

/** Rebuilds an error that crossed a node boundary as the same class it was on the owner. */
export function deserializeError(e: SerializedError): HighlanderError {
  const factory = factories[e.code];
  if (factory) return factory(e.message, e.details ?? {});
  return new HighlanderError(e.code, e.message, { retryable: e.retryable ?? false });
}


function withMessage<E extends HighlanderError>(err: E, message: string): E {
  err.message = message;
  return err;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  return `of type ${value === null ? 'null' : typeof value}`;
}

export function causeMessage(cause: unknown): string {
  if (cause instanceof Error) return cause.message || cause.name;
  if (cause === undefined) return 'unknown cause';
  return String(cause);
}
