import { Replied, makeFailers, type AnyObjectType, type Failers, type HandlerContext, type Ref, type RefFactory } from '../define-object.js';

/** What a context reads from its activation. */
export interface ContextSource {
  readonly definition: AnyObjectType;
  readonly id: string;
  readonly epoch: string;
}

/**
 * The `ctx` that handlers and queries receive: who is serving (type, id, node, epoch), the
 * object's declared errors (`ctx.fail.<name>(…)`), `ctx.reply(state, reply)`, and refs to other
 * objects. One per activation, made on first use.
 */
export class ObjectContext implements HandlerContext<any, any> {
  #fail: Failers<any> | undefined;

  constructor(private readonly source: ContextSource, private readonly refs: RefFactory, readonly node: string) {}

  get type(): string {
    return this.source.definition.type;
  }

  get id(): string {
    return this.source.id;
  }

  get epoch(): string {
    return this.source.epoch;
  }

  get fail(): Failers<any> {
    return (this.#fail ??= makeFailers(this.source.definition, this.source.id));
  }

  reply<S, R>(state: S, reply: R): Replied<S, R> {
    return new Replied(state, reply);
  }

  ref<T extends AnyObjectType>(type: T, id: string): Ref<T> {
    return this.refs.ref(type, id);
  }
}
