import { argumentProblem, type AnyObjectType, type CallOptions, type OperationArgs, type OperationName, type OperationReply, type Ref, type Replaced, type ReplaceOptions, type StateOf } from './define-object.js';
import { InvalidArgument, InvalidState, StateTooLarge, UnknownHandler, causeMessage } from './errors.js';
import type { Invoker, Operation } from './operation.js';

/** The shortest and longest timeout a call may have. Longer would overflow a timer (it would fire at once). */
export const MIN_CALL_TIMEOUT_MS = 1;
export const MAX_CALL_TIMEOUT_MS = 10 * 60_000;

/**
 * A typed handle on one object, over an {@link Invoker}: checks what it can before any I/O (the
 * handler name, the argument, the timeout) and turns `get` / `put` / `call` into an operation.
 * Every refusal is a rejected promise, never a synchronous throw.
 */
export class ObjectRef<T extends AnyObjectType> implements Ref<T> {
  constructor(private readonly invoker: Invoker, private readonly definition: T, readonly id: string) {}

  get type(): string {
    return this.definition.type;
  }

  get(options?: CallOptions): Promise<StateOf<T>> {
    return this.#run({ op: 'get' }, options) as Promise<StateOf<T>>;
  }

  async put(state: StateOf<T>, options?: CallOptions): Promise<void> {
    await this.#run({ op: 'put', state: this.#copyState(state) }, options);
  }

  async replace(state: unknown, options: ReplaceOptions): Promise<Replaced<StateOf<T>>> {
    const expectedVersion = options?.expectedVersion;
    if (!(Number.isSafeInteger(expectedVersion) && expectedVersion >= 0)) {
      throw new InvalidArgument(`expectedVersion must be the stored version the new state replaces, an integer from 0 (got ${String(expectedVersion)})`);
    }
    return this.#run({ op: 'put', state: this.#copyState(state), expectedVersion }, options) as Promise<Replaced<StateOf<T>>>;
  }

  /** A new state as the owner will see it (a JSON copy); one over `maxStateBytes` is refused here, before any I/O. */
  #copyState(state: unknown): unknown {
    let json: string | undefined;
    try {
      json = JSON.stringify(state);
    } catch (err) {
      throw new InvalidState(this.type, this.id, causeMessage(err));
    }
    const bytes = json === undefined ? 0 : Buffer.byteLength(json);
    if (bytes > this.invoker.maxStateBytes) throw new StateTooLarge(this.type, this.id, bytes, this.invoker.maxStateBytes);
    return json === undefined ? undefined : JSON.parse(json);
  }

  /**
   * `call(name, arg, options?)`, or `call(name, options?)` for an operation that takes no argument
   * (declared with only `(state)`; see `OperationSpec.takesArgument`).
   */
  call<K extends OperationName<T>>(name: K, ...args: [...OperationArgs<T, K>, options?: CallOptions]): Promise<OperationReply<T, K>> {
    const spec = this.definition.operations.get(name);
    if (!spec) return Promise.reject(this.#unknown(name));
    const [arg, options] = spec.takesArgument ? [args[0], args[1]] : [undefined, args[0]];
    return this.#call(name, arg, options as CallOptions | undefined) as Promise<OperationReply<T, K>>;
  }

  invoke(name: string, arg: unknown, options?: CallOptions): Promise<unknown> {
    if (!this.definition.operations.has(name)) return Promise.reject(this.#unknown(name));
    return this.#call(name, arg, options);
  }

  /** A call of a known operation: its argument copied as JSON, then run. */
  #call(name: string, arg: unknown, options: CallOptions | undefined): Promise<unknown> {
    let copied: unknown;
    try {
      copied = copyArgument(arg, this.invoker.maxStateBytes);
    } catch (err) {
      return Promise.reject(err);
    }
    const problem = argumentProblem(this.definition.operations.get(name)!, copied);
    if (problem) return Promise.reject(new InvalidArgument(`the argument of '${name}' on ${this.type}/${this.id} is not valid: ${problem}`));
    return this.#run({ op: 'call', name, arg: copied }, options);
  }

  #run(operation: Operation, options: CallOptions | undefined): Promise<unknown> {
    const timeoutMs = options?.timeoutMs ?? this.invoker.callTimeoutMs;
    if (!(typeof timeoutMs === 'number' && timeoutMs >= MIN_CALL_TIMEOUT_MS && timeoutMs <= MAX_CALL_TIMEOUT_MS)) {
      return Promise.reject(new InvalidArgument(`timeoutMs must be a number of milliseconds from ${MIN_CALL_TIMEOUT_MS} to ${MAX_CALL_TIMEOUT_MS} (got ${String(timeoutMs)})`));
    }
    return this.invoker.invoke(this.definition, this.id, operation, timeoutMs);
  }

  #unknown(name: string): UnknownHandler {
    return new UnknownHandler(this.type, name, [...this.definition.operations.keys()]);
  }
}

/**
 * Arguments are passed as JSON wherever the object lives, so a local call sees exactly what a
 * remote one would; whatever its type, one larger than `maxBytes` as JSON is refused.
 */
function copyArgument(arg: unknown, maxBytes: number): unknown {
  if (typeof arg === 'function' || typeof arg === 'bigint' || typeof arg === 'symbol') {
    throw new InvalidArgument(`a call argument must be JSON; got a ${typeof arg}`);
  }
  if (typeof arg === 'string') {
    // At most 6 bytes of JSON per UTF-16 unit (\uXXXX), plus the quotes: measure only when it may be over.
    if (arg.length * 6 + 2 > maxBytes) checkSize(Buffer.byteLength(JSON.stringify(arg)), maxBytes);
    return arg;
  }
  if (typeof arg !== 'object' || arg === null) return arg;
  let json: string | undefined;
  try {
    json = JSON.stringify(arg);
  } catch (err) {
    throw new InvalidArgument(`a call argument must be JSON: ${causeMessage(err)}`);
  }
  if (json === undefined) return undefined; // a toJSON() returning undefined: no argument, as on the wire
  checkSize(Buffer.byteLength(json), maxBytes);
  return JSON.parse(json);
}

function checkSize(bytes: number, maxBytes: number): void {
  if (bytes > maxBytes) throw new InvalidArgument(`a call argument is ${bytes} bytes as JSON, over the limit of ${maxBytes} (maxStateBytes)`);
}
