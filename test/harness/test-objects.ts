import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { defineObject } from '@highlander/runtime';
import { objects as todoObjects } from '@highlander/example-todo';

/** Object types the tests use, registered on every test node beside the seed's todo app. */

export const Counter = defineObject({
  type: 'counter',
  initial: () => ({ value: 0 }),
  handlers: {
    increment: (counter, _arg: null, ctx) => ctx.reply({ value: counter.value + 1 }, counter.value + 1),
    add: (counter, by: number, ctx) => ctx.reply({ value: counter.value + by }, counter.value + by),
    /** Keeps the counter busy for `delayMs` (timing.slowHandlerMs in the tests), then increments it. */
    async slowIncrement(counter, delayMs: number, ctx) {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return ctx.reply({ value: counter.value + 1 }, counter.value + 1);
    },
    explode(counter) {
      counter.value = -999; // mutates, then throws: the state must stay unchanged
      throw new Error('boom');
    },
    grow: (counter, bytes: number) => ({ ...counter, padding: 'x'.repeat(bytes) }),
  },
  queries: {
    value: (counter) => counter.value,
    /** A query that throws for 0: how a failing query is answered, here and forwarded. */
    dividedBy: (counter, by: number) => {
      if (by === 0) throw new Error('division by zero');
      return counter.value / by;
    },
  },
});

export const Members = defineObject({
  type: 'set',
  initial: () => ({ elements: [] as string[] }),
  handlers: {
    add: (set, element: string) => (set.elements.includes(element) ? set : { elements: [...set.elements, element] }),
  },
  queries: {
    has: (set, element: string) => set.elements.includes(element),
  },
  /** Elements are short non-empty strings: any other argument is refused before it reaches a handler. */
  args: { add: z.string().min(1).max(100), has: z.string() },
});

export const Quick = defineObject({
  type: 'quick',
  initial: () => ({ touched: 0 }),
  idleTimeoutMs: 500,
  handlers: {
    touch: (q, _arg: null, ctx) => ctx.reply({ touched: q.touched + 1 }, q.touched + 1),
  },
});

/** Who served a call and when: lets the fault suite's checker compare the serving intervals of epochs. */
export interface Served {
  node: string;
  epoch: string;
  /** Wall-clock ms when the handler ran on the owner (all processes share this machine's clock). */
  servedAt: number;
}

/** The fault suite's counter: `increment` returns the new value and who served it. */
export const Tally = defineObject({
  type: 'tally',
  initial: () => ({ value: 0 }),
  handlers: {
    increment: (t, _arg: null, ctx) => ctx.reply({ value: t.value + 1 }, { value: t.value + 1, node: ctx.node, epoch: ctx.epoch, servedAt: Date.now() }),
  },
  queries: {
    read: (t, _arg: null, ctx) => ({ value: t.value, node: ctx.node, epoch: ctx.epoch, servedAt: Date.now() }),
  },
});

/** The fault suite's set: `add` a unique element; `read` returns every element and who served it. */
export const Bag = defineObject({
  type: 'bag',
  initial: () => ({ elements: [] as string[] }),
  handlers: {
    add: (b, element: string, ctx) => ctx.reply(
      b.elements.includes(element) ? b : { elements: [...b.elements, element] },
      { node: ctx.node, epoch: ctx.epoch, servedAt: Date.now() },
    ),
  },
  queries: {
    read: (b, _arg: null, ctx) => ({ elements: b.elements, node: ctx.node, epoch: ctx.epoch, servedAt: Date.now() }),
  },
});

/**
 * The fault suite's register, for the linearizability checker: `write` a unique value, `cas` from an
 * expected value to a new one (replying whether it swapped), `read` the value; every reply says who
 * served it. A failed `cas` leaves the state as it was.
 */
export const Register = defineObject({
  type: 'register',
  initial: () => ({ value: null as string | null }),
  handlers: {
    write: (_r, value: string, ctx) => ctx.reply({ value }, { node: ctx.node, epoch: ctx.epoch, servedAt: Date.now() }),
    cas: (r, arg: { expected: string | null; next: string }, ctx) => {
      const swapped = r.value === arg.expected;
      return ctx.reply(swapped ? { value: arg.next } : r, { swapped, node: ctx.node, epoch: ctx.epoch, servedAt: Date.now() });
    },
  },
  queries: {
    read: (r, _arg: null, ctx) => ({ value: r.value, node: ctx.node, epoch: ctx.epoch, servedAt: Date.now() }),
  },
});

export const objects = [...todoObjects, Counter, Members, Quick, Tally, Bag, Register];

/** This module's path, for node processes to load (HIGHLANDER_OBJECTS). */
export const TEST_OBJECTS = fileURLToPath(import.meta.url);
