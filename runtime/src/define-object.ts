import { ObjectRejected } from './errors.js';
import { validateTypeName } from './names.js';

/**
 * Declaring an object type: a type name, an initial state, handlers that change state, queries
 * that only read it, and typed errors that handlers may raise.
 *
 * ```ts
 * const List = defineObject({
 *   type: 'list',
 *   initial: () => ({ title: '', todos: [] as TodoItem[], allowedUsers: [] as string[] }),
 *   errors: { notAllowed: (userId: string) => ({ message: `user ${userId} may not edit this list`, userId }) },
 *   handlers: {
 *     insertTodo(list, arg: { todo: TodoItem; userId: string }, ctx) {
 *       if (!list.allowedUsers.includes(arg.userId)) ctx.fail.notAllowed(arg.userId);
 *       return ctx.reply({ ...list, todos: [arg.todo, ...list.todos] }, list.todos.length + 1);
 *     },
 *   },
 *   queries: { size: (list) => list.todos.length },
 * });
 * ```
 */

/** What a handler returns when it has a reply besides the next state. */
export class Replied<S, R> {
  constructor(readonly state: S, readonly reply: R) {}
}

export type ErrorSpecs = Record<string, (...args: any[]) => { message: string }>;

/** `ctx.fail.<name>(…)` throws the declared error; its type is `never`. */
export type Failers<E extends ErrorSpecs> = { [K in keyof E]: (...args: Parameters<E[K]>) => never };

/** A reference to another object, for handlers that call other objects. */
export interface RefFactory {
  ref<T extends AnyObjectType>(type: T, id: string): Ref<T>;
}

export interface QueryContext<E extends ErrorSpecs> {
  readonly type: string;
  readonly id: string;
  /** The node serving this call (the owner). */
  readonly node: string;
  /** The owner's epoch (its lock znode's czxid): changes whenever the object changes owner. */
  readonly epoch: string;
  readonly fail: Failers<E>;
}

export interface HandlerContext<S, E extends ErrorSpecs> extends QueryContext<E>, RefFactory {
  /** Returns the next state together with a reply for the caller. */
  reply<R>(state: S, reply: R): Replied<S, R>;
}

export type Handler<S, E extends ErrorSpecs> = (state: S, arg: any, ctx: HandlerContext<S, E>) => S | Replied<S, unknown> | Promise<S | Replied<S, unknown>>;
export type Query<S, E extends ErrorSpecs> = (state: Readonly<S>, arg: any, ctx: QueryContext<E>) => unknown;

/**
 * A schema for a handler's or query's argument: anything with zod's `safeParse` (a zod schema, or
 * another library's with the same shape). The runtime depends on no schema library.
 */
export interface ArgumentSchema {
  safeParse(value: unknown): { success: true; data?: unknown } | { success: false; error: { issues?: ReadonlyArray<{ path?: ReadonlyArray<PropertyKey>; message: string }>; message?: string } };
}

export interface ObjectDefinition<S, H extends Record<string, Handler<S, E>>, Q extends Record<string, Query<S, E>>, E extends ErrorSpecs> {
  /** The type name: `[a-z][a-z0-9-]*`, at most 64 characters. Part of ZooKeeper paths and S3 keys. */
  type: string;
  /** The state of an object that was never stored. Must be JSON-serialisable. */
  initial: () => S;
  /** Named handlers: `(state, arg, ctx) => nextState` or `ctx.reply(nextState, reply)`. Persisted before the reply. */
  handlers?: H;
  /** Named read-only queries: `(state, arg, ctx) => reply`. Never persisted. */
  queries?: Q;
  /** Typed errors handlers raise with `ctx.fail.<name>(…)`; callers narrow with `Type.isError(err, name)`. */
  errors?: E;
  /**
   * Optional argument schemas by handler or query name (e.g. zod's `z.object({…})`): an argument that
   * does not match is refused with `INVALID_ARGUMENT` naming what was wrong, by the caller's node before
   * any I/O and again by the owner, so neither a local, a forwarded nor an admin call reaches the handler
   * with it. The handler receives the argument as sent (not the schema's transformed output).
   */
  args?: { [K in keyof H | keyof Q]?: ArgumentSchema };
  /**
   * Deactivate an activation after this long without calls.
   * @default the node's `idleTimeoutMs`
   */
  idleTimeoutMs?: number;
}

/** One handler or query of a type, as the runtime looks it up by name. */
export interface OperationSpec {
  readonly kind: 'handler' | 'query';
  readonly fn: Handler<any, any> | Query<any, any>;
  /**
   * Whether `call(name, …)` passes its first extra argument to the operation. Decided once, when
   * the type is defined: an operation declared with only `(state)` takes no argument, so the first
   * extra of `call` is its options. (A parameter with a default value counts as none: declare
   * `(state, arg?: T)` instead of `(state, arg = x)`.)
   */
  readonly takesArgument: boolean;
  /** The argument's schema, when the type declares one (`args`). */
  readonly schema?: ArgumentSchema;
}

export interface ObjectType<S, H extends Record<string, Handler<S, any>>, Q extends Record<string, Query<S, any>>, E extends ErrorSpecs> {
  readonly type: string;
  readonly initial: () => S;
  readonly handlers: H;
  readonly queries: Q;
  readonly errors: E;
  readonly idleTimeoutMs: number | undefined;
  /**
   * Every handler and query by name: own properties of `handlers` and `queries` only, so a name
   * like `constructor` or `toString` is unknown (`UNKNOWN_HANDLER`) rather than inherited.
   */
  readonly operations: ReadonlyMap<string, OperationSpec>;
  /** Narrows an error caught from a call to one of this type's declared errors. */
  isError<K extends keyof E & string>(err: unknown, name: K): err is ObjectRejected<K, ReturnType<E[K]>>;
}

export type AnyObjectType = ObjectType<any, Record<string, Handler<any, any>>, Record<string, Query<any, any>>, ErrorSpecs>;

export type StateOf<T> = T extends ObjectType<infer S, any, any, any> ? S : never;
type HandlersOf<T> = T extends ObjectType<any, infer H, any, any> ? H : never;
type QueriesOf<T> = T extends ObjectType<any, any, infer Q, any> ? Q : never;

/** The argument list after the state: `[]` when the handler takes no argument, `[arg]` otherwise. */
export type ArgsOf<F> = F extends (state: any, ...rest: infer Rest) => any
  ? Rest extends [] ? [] : Rest extends [infer A, ...any[]] ? (undefined extends A ? [arg?: A] : [arg: A]) : []
  : never;

type HandlerReply<F> = F extends (...args: any[]) => infer Ret
  ? [Extract<Awaited<Ret>, Replied<any, any>>] extends [never] ? undefined : Extract<Awaited<Ret>, Replied<any, any>> extends Replied<any, infer R> ? R : undefined
  : never;

type QueryReply<F> = F extends (...args: any[]) => infer Ret ? Awaited<Ret> : never;

export type OperationName<T> = (keyof HandlersOf<T> | keyof QueriesOf<T>) & string;
export type OperationArgs<T, K> = K extends keyof HandlersOf<T> ? ArgsOf<HandlersOf<T>[K]> : K extends keyof QueriesOf<T> ? ArgsOf<QueriesOf<T>[K]> : never;
export type OperationReply<T, K> = K extends keyof HandlersOf<T> ? HandlerReply<HandlersOf<T>[K]> : K extends keyof QueriesOf<T> ? QueryReply<QueriesOf<T>[K]> : never;

/** Per-call options. */
export interface CallOptions {
  /**
   * Give up (with `CallTimeout`) after this long.
   * @default the node's `callTimeoutMs`
   */
  timeoutMs?: number;
}

/** Options of a guarded replacement of the state. */
export interface ReplaceOptions extends CallOptions {
  /**
   * Replace only if the object is at this stored version (the `version` an admin view or a
   * `VersionConflict` showed); else the replacement fails with `VersionConflict`, nothing written.
   */
  expectedVersion: number;
}

/** What a guarded replacement answers: the state it replaced, and that state's stored version. */
export interface Replaced<S> {
  previous: S;
  previousVersion: number;
}

/** A typed handle on one object, usable from any node: the caller never needs to know where it lives. */
export interface Ref<T extends AnyObjectType> {
  readonly type: string;
  readonly id: string;
  /** The current state (activating the object if needed). */
  get(options?: CallOptions): Promise<StateOf<T>>;
  /** Replaces the state; resolves once the new state is durable. */
  put(state: StateOf<T>, options?: CallOptions): Promise<void>;
  /**
   * Replaces the state through the owner's mailbox like `put`, but only if the object is still at
   * `expectedVersion` (`VersionConflict` otherwise, with the current version and state); resolves
   * once the new state is durable, with the state it replaced. For editing tools: the state is
   * untyped JSON here, checked as every state is (a JSON object or array, within `maxStateBytes`).
   */
  replace(state: unknown, options: ReplaceOptions): Promise<Replaced<StateOf<T>>>;
  /** Runs a handler or a query; resolves with its reply once any state change is durable. */
  call<K extends OperationName<T>>(name: K, ...args: [...OperationArgs<T, K>, options?: CallOptions]): Promise<OperationReply<T, K>>;
  /**
   * Runs a handler or a query by name with one argument (`undefined` for a handler that takes none),
   * untyped: for callers that have only names and JSON, like admin tools.
   */
  invoke(name: string, arg: unknown, options?: CallOptions): Promise<unknown>;
}

/** An omitted `handlers`/`queries`/`errors` is inferred as its constraint (a string-keyed record): make it empty. */
type Declared<T> = string extends keyof T ? {} : T;

// No defaults on the type parameters: a default stops TypeScript from typing handler parameters from `initial`.
export function defineObject<S, H extends Record<string, Handler<S, E>>, Q extends Record<string, Query<S, E>>, E extends ErrorSpecs>(
  definition: ObjectDefinition<S, H, Q, E>,
): ObjectType<S, Declared<H>, Declared<Q>, Declared<E>> {
  const type = validateTypeName(definition.type);
  const handlers = (definition.handlers ?? {}) as H;
  const queries = (definition.queries ?? {}) as Q;
  const errors = (definition.errors ?? {}) as E;
  const operations = new Map<string, OperationSpec>();
  const schemas = (definition.args ?? {}) as Record<string, ArgumentSchema | undefined>;
  for (const [kind, table] of [['handler', handlers], ['query', queries]] as const) {
    for (const name of Object.keys(table)) {
      const fn = table[name];
      if (typeof fn !== 'function') throw new TypeError(`object type '${type}': ${kind} '${name}' is not a function`);
      if (operations.has(name)) throw new TypeError(`object type '${type}': '${name}' is both a handler and a query`);
      const schema = Object.hasOwn(schemas, name) ? schemas[name] : undefined;
      operations.set(name, { kind, fn, takesArgument: fn.length >= 2, ...(schema ? { schema } : {}) });
    }
  }
  for (const [name, schema] of Object.entries(schemas)) {
    if (!operations.has(name)) throw new TypeError(`object type '${type}': args.${name} names no handler or query`);
    if (typeof schema?.safeParse !== 'function') throw new TypeError(`object type '${type}': args.${name} is not a schema (it has no safeParse)`);
  }
  if (typeof definition.initial !== 'function') throw new TypeError(`object type '${type}': 'initial' must be a function returning the initial state`);
  if (definition.idleTimeoutMs !== undefined && !(definition.idleTimeoutMs > 0)) {
    throw new TypeError(`object type '${type}': idleTimeoutMs must be a positive number of milliseconds`);
  }
  const objectType: ObjectType<S, H, Q, E> = {
    type,
    initial: definition.initial,
    handlers,
    queries,
    errors,
    idleTimeoutMs: definition.idleTimeoutMs,
    operations,
    isError<K extends keyof E & string>(err: unknown, name: K): err is ObjectRejected<K, ReturnType<E[K]>> {
      return err instanceof ObjectRejected && err.type === type && err.error === name;
    },
  };
  return objectType as unknown as ObjectType<S, Declared<H>, Declared<Q>, Declared<E>>;
}

/**
 * Checks a call's argument against its operation's schema, if any; returns why it does not match
 * (each wrong field with its message), or undefined.
 */
/**
 * The JSON Schema of an operation's argument, when its schema can say (Standard JSON Schema, which
 * zod 4 schemas implement: `schema['~standard'].jsonSchema.input`); undefined without a schema, or
 * when the schema cannot be written as JSON Schema (a transform, a custom check). For tools only
 * (the dashboard draws a form from it): calls are checked with `safeParse`, never with this.
 */
export function argumentJsonSchema(spec: OperationSpec): Record<string, unknown> | undefined {
  const standard = (spec.schema as { '~standard'?: { jsonSchema?: { input?: (options: { target: string }) => unknown } } } | undefined)?.['~standard'];
  const input = standard?.jsonSchema?.input;
  if (typeof input !== 'function') return undefined;
  try {
    const schema = input.call(standard!.jsonSchema, { target: 'draft-2020-12' });
    return typeof schema === 'object' && schema !== null ? (schema as Record<string, unknown>) : undefined;
  } catch {
    return undefined; // not expressible as JSON Schema: the UI offers the JSON editor
  }
}

export function argumentProblem(spec: OperationSpec, arg: unknown): string | undefined {
  if (!spec.schema) return undefined;
  const result = spec.schema.safeParse(arg);
  if (result.success) return undefined;
  const issues = result.error.issues ?? [];
  if (issues.length === 0) return result.error.message ?? 'it does not match the schema';
  return issues.slice(0, 5).map((i) => `${i.path && i.path.length > 0 ? i.path.map(String).join('.') : '(the argument)'}: ${i.message}`).join('; ')
    + (issues.length > 5 ? ` (and ${issues.length - 5} more)` : '');
}

/** Builds `ctx.fail` for one object: each declared error becomes a function that throws it. */
export function makeFailers<E extends ErrorSpecs>(objectType: { type: string; errors: E }, id: string): Failers<E> {
  const failers: Record<string, (...args: unknown[]) => never> = {};
  for (const [name, spec] of Object.entries(objectType.errors)) {
    failers[name] = (...args: unknown[]) => {
      const data = spec(...args);
      throw new ObjectRejected(objectType.type, id, name, data.message, data);
    };
  }
  return failers as Failers<E>;
}
