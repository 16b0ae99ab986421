/**
 * Every error the runtime raises. Each has a stable `name`, a stable string `code`
 * (listed in the README's error table), typed context fields, an optional `cause`, and the HTTP
 * status it answers with on any HTTP endpoint (`httpStatus`, a static of its class).
 * `retryable` tells a caller whether the same call may succeed if sent again.
 *
 * Errors cross node boundaries as {@link SerializedError} and are rebuilt on the caller's
 * side with {@link deserializeError} from the one list of classes, {@link ERROR_CLASSES}, so a
 * caller sees the same class wherever the object lives.
 */

export interface SerializedError {
  code: string;
  message: string;
  retryable?: boolean;
  details?: Record<string, unknown>;
}

export class HighlanderError extends Error {
  /** The HTTP status of this class of error; 500 unless the class says otherwise. */
  static readonly httpStatus: number = 500;
  readonly code: string;
  readonly retryable: boolean;
  constructor(code: string, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options?.retryable ?? false;
  }
  /** The HTTP status this error answers with (its class's `httpStatus`). */
  get httpStatus(): number {
    return (this.constructor as typeof HighlanderError).httpStatus;
  }
  /** Context fields that travel with the error across nodes. */
  details(): Record<string, unknown> {
    return {};
  }
  serialize(): SerializedError {
    return { code: this.code, message: this.message, retryable: this.retryable, details: this.details() };
  }
}

/** What travels in `details`, as received (any field may be missing or of another type from a foreign sender). */
type Details = Record<string, unknown>;

/** An object id that is empty, too long or has characters outside `[A-Za-z0-9._:@-]`. */
export class InvalidObjectId extends HighlanderError {
  static readonly code = 'INVALID_OBJECT_ID';
  static override readonly httpStatus = 400;
  constructor(readonly value: unknown, reason: string) {
    super(InvalidObjectId.code, `invalid object id ${describe(value)}: ${reason}`);
  }
  override details() { return { value: this.value }; }
  static revive(d: Details) { return new InvalidObjectId(d.value, ''); }
}

/** An object type name that is empty, too long or not `[a-z][a-z0-9-]*`. */
export class InvalidTypeName extends HighlanderError {
  static readonly code = 'INVALID_TYPE_NAME';
  static override readonly httpStatus = 400;
  constructor(readonly value: unknown, reason: string) {
    super(InvalidTypeName.code, `invalid object type name ${describe(value)}: ${reason}`);
  }
  override details() { return { value: this.value }; }
  static revive(d: Details) { return new InvalidTypeName(d.value, ''); }
}

/** A node name that is empty, too long or has characters outside `[A-Za-z0-9_-]`. */
export class InvalidNodeName extends HighlanderError {
  static readonly code = 'INVALID_NODE_NAME';
  static override readonly httpStatus = 400;
  constructor(readonly value: unknown, reason: string) {
    super(InvalidNodeName.code, `invalid node name ${describe(value)}: ${reason}`);
  }
  override details() { return { value: this.value }; }
  static revive(d: Details) { return new InvalidNodeName(d.value, ''); }
}

/** The object type is not registered on the node that received the call. */
export class UnknownObjectType extends HighlanderError {
  static readonly code = 'UNKNOWN_OBJECT_TYPE';
  static override readonly httpStatus = 404;
  constructor(readonly type: string, readonly node: string) {
    super(UnknownObjectType.code, `object type '${type}' is not registered on node '${node}'; pass it in the node's 'objects' option on every node`);
  }
  override details() { return { type: this.type, node: this.node }; }
  static revive(d: Details) { return new UnknownObjectType(str(d.type), str(d.node)); }
}

/** The object type has no handler or query of that name. */
export class UnknownHandler extends HighlanderError {
  static readonly code = 'UNKNOWN_HANDLER';
  static override readonly httpStatus = 404;
  constructor(readonly type: string, readonly handler: string, readonly known: string[]) {
    super(UnknownHandler.code, `object type '${type}' has no handler or query '${handler}' (known: ${known.join(', ') || 'none'})`);
  }
  override details() { return { type: this.type, handler: this.handler, known: this.known }; }
  static revive(d: Details) { return new UnknownHandler(str(d.type), str(d.handler), Array.isArray(d.known) ? d.known.map(str) : []); }
}

/** A new state whose JSON is larger than the node's `maxStateBytes`; nothing was written. */
export class StateTooLarge extends HighlanderError {
  static readonly code = 'STATE_TOO_LARGE';
  static override readonly httpStatus = 413;
  constructor(readonly type: string, readonly id: string, readonly bytes: number, readonly limitBytes: number) {
    super(StateTooLarge.code, `state of ${type}/${id} would be ${bytes} bytes, over the limit of ${limitBytes} bytes (maxStateBytes); the stored state is unchanged`);
  }
  override details() { return { type: this.type, id: this.id, bytes: this.bytes, limitBytes: this.limitBytes }; }
  static revive(d: Details) { return new StateTooLarge(str(d.type), str(d.id), num(d.bytes), num(d.limitBytes)); }
}

/** A state that cannot be stored as JSON (a function, a cycle, a bigint, undefined). */
export class InvalidState extends HighlanderError {
  static readonly code = 'INVALID_STATE';
  static override readonly httpStatus = 400;
  constructor(readonly type: string, readonly id: string, reason: string) {
    super(InvalidState.code, `state of ${type}/${id} is not storable as JSON: ${reason}; the stored state is unchanged`);
  }
  override details() { return { type: this.type, id: this.id }; }
  static revive(d: Details) { return new InvalidState(str(d.type), str(d.id), ''); }
}

/**
 * A replacement of the state guarded by the version the caller saw, while the object is at another
 * one: nothing was written. Carries the current version and the state at it, for the caller to compare.
 */
export class VersionConflict extends HighlanderError {
  static readonly code = 'VERSION_CONFLICT';
  static override readonly httpStatus = 409;
  constructor(readonly type: string, readonly id: string, readonly expectedVersion: number, readonly currentVersion: number, readonly state: unknown) {
    super(VersionConflict.code, `${type}/${id} is at version ${currentVersion}, not ${expectedVersion} as expected: it changed meanwhile; compare the current state and try again with expectedVersion ${currentVersion}`);
  }
  override details() { return { type: this.type, id: this.id, expectedVersion: this.expectedVersion, currentVersion: this.currentVersion, state: this.state }; }
  static revive(d: Details) { return new VersionConflict(str(d.type), str(d.id), num(d.expectedVersion), num(d.currentVersion), d.state); }
}

/** The call did not complete within its timeout. It may or may not have taken effect. */
export class CallTimeout extends HighlanderError {
  static readonly code = 'CALL_TIMEOUT';
  static override readonly httpStatus = 504;
  constructor(readonly type: string, readonly id: string, readonly handler: string, readonly timeoutMs: number) {
    super(CallTimeout.code, `call '${handler}' on ${type}/${id} did not complete within ${timeoutMs} ms (callTimeoutMs); it may or may not have taken effect`, { retryable: true });
  }
  override details() { return { type: this.type, id: this.id, handler: this.handler, timeoutMs: this.timeoutMs }; }
  static revive(d: Details) { return new CallTimeout(str(d.type), str(d.id), str(d.handler), num(d.timeoutMs)); }
}

/** A handler threw something that is not a declared object error; state is unchanged. */
export class HandlerFailed extends HighlanderError {
  static readonly code = 'HANDLER_FAILED';
  static override readonly httpStatus = 500;
  constructor(readonly type: string, readonly id: string, readonly handler: string, message: string, cause?: unknown) {
    super(HandlerFailed.code, `handler '${handler}' of ${type}/${id} threw: ${message}; state is unchanged`, { cause });
  }
  override details() { return { type: this.type, id: this.id, handler: this.handler }; }
  static revive(d: Details) { return new HandlerFailed(str(d.type), str(d.id), str(d.handler), ''); }
}

/**
 * A declared, typed error of an object type (see `errors` in `defineObject`), raised by a handler
 * through `ctx.fail.<name>(…)`. Narrow it with `Type.isError(err, 'name')`.
 */
export class ObjectRejected<Name extends string = string, Data = unknown> extends HighlanderError {
  static readonly code = 'OBJECT_REJECTED';
  static override readonly httpStatus = 409;
  constructor(readonly type: string, readonly id: string, readonly error: Name, message: string, readonly data: Data) {
    super(ObjectRejected.code, message);
  }
  override details() { return { type: this.type, id: this.id, error: this.error, data: this.data }; }
  static revive(d: Details, message: string) { return new ObjectRejected(str(d.type), str(d.id), str(d.error), message, d.data); }
}

/** The activation lost its ownership (fenced, session lost, evicted) while the call was pending. */
export class OwnershipLost extends HighlanderError {
  static readonly code = 'OWNERSHIP_LOST';
  static override readonly httpStatus = 503;
  constructor(readonly type: string, readonly id: string, readonly reason: string, cause?: unknown) {
    super(OwnershipLost.code, `${type}/${id} lost its owner (${reason}) before the call completed; retry the call`, { retryable: true, cause });
  }
  override details() { return { type: this.type, id: this.id, reason: this.reason }; }
  static revive(d: Details) { return new OwnershipLost(str(d.type), str(d.id), str(d.reason)); }
}

/** Another node's write is newer than this owner's: the conditional write was refused (412). */
export class Fenced extends HighlanderError {
  static readonly code = 'FENCED';
  static override readonly httpStatus = 503;
  constructor(readonly type: string, readonly id: string, cause?: unknown) {
    super(Fenced.code, `${type}/${id} was written by a newer owner; this activation was fenced and stopped`, { retryable: true, cause });
  }
  override details() { return { type: this.type, id: this.id }; }
  static revive(d: Details) { return new Fenced(str(d.type), str(d.id)); }
}

/**
 * The state store (S3) could not be reached or answered with an error. When this reaches a caller,
 * the call took no effect. Inside the store layer, `maybeApplied` marks a write whose request may
 * have reached S3 (a timeout, a reset, a 5xx): the runtime then reads the object back to decide.
 */
export class StoreUnavailable extends HighlanderError {
  static readonly code = 'STORE_UNAVAILABLE';
  static override readonly httpStatus = 503;
  constructor(readonly operation: string, readonly key: string, cause?: unknown, readonly maybeApplied = false) {
    super(StoreUnavailable.code, `state store ${operation} of '${key}' failed: ${causeMessage(cause)}; nothing was acknowledged, retry when the store is reachable`, { retryable: true, cause });
  }
  override details() { return { operation: this.operation, key: this.key }; }
  static revive(d: Details) { return new StoreUnavailable(str(d.operation), str(d.key)); }
}

/**
 * The state store does not enforce conditional writes (If-None-Match `*`, If-Match a stale ETag):
 * on such a server fencing is void, and a node refuses to start on it (see `unsafeSkipStoreSelfTest`).
 */
export class StoreConditionsIgnored extends HighlanderError {
  static readonly code = 'STORE_CONDITIONS_IGNORED';
  static override readonly httpStatus = 500;
  constructor(readonly server: string, readonly check: string) {
    super(StoreConditionsIgnored.code, `the state store at ${server} does not enforce conditional writes (${check}); fencing cannot work on it: use a server that does (AWS S3, Ceph radosgw), or accept the risk with unsafeSkipStoreSelfTest (--unsafe-skip-store-self-test)`);
  }
  override details() { return { server: this.server, check: this.check }; }
  static revive(d: Details) { return new StoreConditionsIgnored(str(d.server), str(d.check)); }
}

/**
 * The call's outcome is unknown: the write (or the forwarded call) carrying it may or may not have
 * taken effect, and finding out was impossible within the call's timeout. Read the object to see.
 */
export class Indeterminate extends HighlanderError {
  static readonly code = 'INDETERMINATE';
  static override readonly httpStatus = 503;
  constructor(readonly type: string, readonly id: string, reason: string, cause?: unknown) {
    super(Indeterminate.code, `the outcome of a call on ${type}/${id} is unknown: ${reason}; read the object to find out before retrying a non-idempotent call`, { cause });
  }
  override details() { return { type: this.type, id: this.id }; }
  static revive(d: Details) { return new Indeterminate(str(d.type), str(d.id), ''); }
}

/** A stored object that is not valid JSON of an object state. */
export class StoredStateCorrupt extends HighlanderError {
  static readonly code = 'STORED_STATE_CORRUPT';
  static override readonly httpStatus = 500;
  constructor(readonly key: string, reason: string) {
    super(StoredStateCorrupt.code, `stored state at '${key}' cannot be read: ${reason}; fix or delete the stored object`);
  }
  override details() { return { key: this.key }; }
  static revive(d: Details) { return new StoredStateCorrupt(str(d.key), ''); }
}

/** The coordinator (ZooKeeper) did not answer in time or the session is not connected. */
export class CoordinatorUnavailable extends HighlanderError {
  static readonly code = 'COORDINATOR_UNAVAILABLE';
  static override readonly httpStatus = 503;
  constructor(readonly operation: string, cause?: unknown) {
    super(CoordinatorUnavailable.code, `coordinator ${operation} failed: ${causeMessage(cause)}; retry when ZooKeeper is reachable`, { retryable: true, cause });
  }
  override details() { return { operation: this.operation }; }
  static revive(d: Details) { return new CoordinatorUnavailable(str(d.operation)); }
}

/** Another live process holds this node name. */
export class NodeNameTaken extends HighlanderError {
  static readonly code = 'NODE_NAME_TAKEN';
  static override readonly httpStatus = 409;
  constructor(readonly node: string, readonly waitedMs: number) {
    super(NodeNameTaken.code, `node name '${node}' is held by another live process (waited ${waitedMs} ms for it to go away); choose another name or stop that process`);
  }
  override details() { return { node: this.node, waitedMs: this.waitedMs }; }
  static revive(d: Details) { return new NodeNameTaken(str(d.node), num(d.waitedMs)); }
}

/**
 * The cluster's ZooKeeper root is not in the layout this version uses (runtime/src/zookeeper/keyspace.ts):
 * another layout's marker, or a root of the previous layout whose lock queues are still held. The node
 * does not start, so no object can have an owner in each layout.
 */
export class KeyspaceLayoutMismatch extends HighlanderError {
  static readonly code = 'KEYSPACE_LAYOUT_MISMATCH';
  static override readonly httpStatus = 409;
  constructor(readonly root: string, readonly found: string, remedy: string) {
    super(KeyspaceLayoutMismatch.code, `ZooKeeper root '${root}' is not in this version's keyspace layout: ${found}; ${remedy}`);
  }
  override details() { return { root: this.root, found: this.found }; }
  static revive(d: Details) { return new KeyspaceLayoutMismatch(str(d.root), str(d.found), ''); }
}

/**
 * A node's shard map (`--zk-shards`) differs from the one its cluster runs on (`<root>/shard-map`
 * in each ensemble), or a sharded node met live nodes without a map: starting would put two owners'
 * lock queues in two ensembles.
 */
export class ShardMapMismatch extends HighlanderError {
  static readonly code = 'SHARD_MAP_MISMATCH';
  static override readonly httpStatus = 409;
  constructor(readonly root: string, readonly found: string, remedy: string) {
    super(ShardMapMismatch.code, `ZooKeeper root '${root}' runs on another shard map: ${found}${remedy ? `; ${remedy}` : ''}`);
  }
  override details() { return { root: this.root, found: this.found }; }
  static revive(d: Details) { return new ShardMapMismatch(str(d.root), str(d.found), ''); }
}

/**
 * The target node could not be reached over its peer connection. `delivered` says whether the
 * request may have reached it: `'no'` (never sent) or `'unknown'` (sent, then the connection failed).
 */
export class NodeUnreachable extends HighlanderError {
  static readonly code = 'NODE_UNREACHABLE';
  static override readonly httpStatus = 503;
  constructor(readonly node: string, cause?: unknown, readonly delivered: 'no' | 'unknown' = 'no') {
    super(NodeUnreachable.code, `node '${node}' could not be reached: ${causeMessage(cause)}`, { retryable: true, cause });
  }
  override details() { return { node: this.node, delivered: this.delivered }; }
  static revive(d: Details) { return new NodeUnreachable(str(d.node), undefined, d.delivered === 'unknown' ? 'unknown' : 'no'); }
}

/** The node is stopping or not started and takes no new calls. */
export class NodeStopping extends HighlanderError {
  static readonly code = 'NODE_STOPPING';
  static override readonly httpStatus = 503;
  constructor(readonly node: string) {
    super(NodeStopping.code, `node '${node}' is not running (stopping or not started)`, { retryable: true });
  }
  override details() { return { node: this.node }; }
  static revive(d: Details) { return new NodeStopping(str(d.node)); }
}

/**
 * No node taking activations has room for one more lock: each is at its lock budget (`lockBudgetBytes`,
 * the lock paths ZooKeeper deletes in one transaction when its session ends). `node` names the one
 * that refused last.
 */
export class NodeFull extends HighlanderError {
  static readonly code = 'NODE_FULL';
  static override readonly httpStatus = 503;
  constructor(readonly node: string, readonly lockBytes: number, readonly budgetBytes: number) {
    super(NodeFull.code, `node '${node}' holds ${lockBytes} bytes of lock paths of its budget of ${budgetBytes} (lockBudgetBytes) and takes no new activation; `
      + 'wait for idle objects to deactivate, add nodes, or raise the budget within what a ZooKeeper transaction may hold (docs/deployment.md, Sizing)', { retryable: true });
  }
  override details() { return { node: this.node, lockBytes: this.lockBytes, budgetBytes: this.budgetBytes }; }
  static revive(d: Details) { return new NodeFull(str(d.node), num(d.lockBytes), num(d.budgetBytes)); }
}

/** An admin action on an object that is not active on the node asked. */
export class NotActiveHere extends HighlanderError {
  static readonly code = 'NOT_ACTIVE_HERE';
  static override readonly httpStatus = 404;
  constructor(readonly type: string, readonly id: string, readonly node: string) {
    super(NotActiveHere.code, `${type}/${id} is not active on node '${node}'; ask its owner (see the lock queue)`);
  }
  override details() { return { type: this.type, id: this.id, node: this.node }; }
  static revive(d: Details) { return new NotActiveHere(str(d.type), str(d.id), str(d.node)); }
}

/** A migration that cannot be done: unknown, draining or same target, or the target failed to take over. */
export class MigrationRefused extends HighlanderError {
  static readonly code = 'MIGRATION_REFUSED';
  static override readonly httpStatus = 409;
  constructor(readonly type: string, readonly id: string, readonly to: string, reason: string) {
    super(MigrationRefused.code, `cannot migrate ${type}/${id} to '${to}': ${reason}`);
  }
  override details() { return { type: this.type, id: this.id, to: this.to }; }
  static revive(d: Details) { return new MigrationRefused(str(d.type), str(d.id), str(d.to), ''); }
}

/** A peer sent something that is not a valid message. */
export class ProtocolError extends HighlanderError {
  static readonly code = 'PROTOCOL_ERROR';
  static override readonly httpStatus = 400;
  constructor(message: string) {
    super(ProtocolError.code, message);
  }
  static revive(_d: Details, message: string) { return new ProtocolError(message); }
}

/** A call argument or option that cannot be used: not JSON, over `maxStateBytes` as JSON, a timeout out of range. */
export class InvalidArgument extends HighlanderError {
  static readonly code = 'INVALID_ARGUMENT';
  static override readonly httpStatus = 400;
  constructor(message: string) {
    super(InvalidArgument.code, message);
  }
  static revive(_d: Details, message: string) { return new InvalidArgument(message); }
}

/** An error class as the registry sees it: its code and status, and how to rebuild one from the wire. */
export interface ErrorClass {
  readonly code: string;
  readonly httpStatus: number;
  readonly prototype: HighlanderError;
  /** An instance from the `details` of a serialized one (its message is then set to the one received). */
  revive(details: Details, message: string): HighlanderError;
}

/** Every error class of the runtime: the one list `deserializeError` rebuilds errors from. */
export const ERROR_CLASSES: readonly ErrorClass[] = [
  InvalidObjectId, InvalidTypeName, InvalidNodeName, UnknownObjectType, UnknownHandler, StateTooLarge, InvalidState,
  CallTimeout, HandlerFailed, ObjectRejected, OwnershipLost, Fenced, StoreUnavailable, Indeterminate, StoredStateCorrupt,
  CoordinatorUnavailable, NodeNameTaken, NodeUnreachable, NodeStopping, NodeFull, NotActiveHere, MigrationRefused, ProtocolError,
  InvalidArgument, StoreConditionsIgnored, KeyspaceLayoutMismatch, VersionConflict,
  ShardMapMismatch,
];

const BY_CODE = new Map<string, ErrorClass>(ERROR_CLASSES.map((c) => [c.code, c]));

/** Rebuilds an error that crossed a node boundary as the same class it was on the owner. */
export function deserializeError(e: SerializedError): HighlanderError {
  const errorClass = BY_CODE.get(e.code);
  if (!errorClass) return new HighlanderError(e.code, e.message, { retryable: e.retryable ?? false });
  const error = errorClass.revive(e.details ?? {}, e.message);
  error.message = e.message;
  return error;
}

/** The HTTP status of a runtime error (its class's `httpStatus`), or undefined for anything else. */
export function httpStatusOf(err: unknown): number | undefined {
  return err instanceof HighlanderError ? err.httpStatus : undefined;
}

const str = (v: unknown) => (typeof v === 'string' ? v : String(v));
const num = (v: unknown) => (typeof v === 'number' ? v : Number(v));

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  return `of type ${value === null ? 'null' : typeof value}`;
}

export function causeMessage(cause: unknown): string {
  if (cause instanceof Error) return cause.message || cause.name;
  if (cause === undefined) return 'unknown cause';
  return String(cause);
}
