import { fileURLToPath } from 'node:url';
import { defineObject } from '../../runtime/src/index.js';
import { objects as todoObjects } from '../../examples/todo/objects.js';

/** Object types the tests use, registered on every test node beside the seed's todo app. */

export const Counter = defineObject({
  type: 'counter',
  initial: () => ({ value: 0 }),
  handlers: {
    increment: (counter, _arg: null, ctx) => ctx.reply({ value: counter.value + 1 }, counter.value + 1),
    add: (counter, by: number, ctx) => ctx.reply({ value: counter.value + by }, counter.value + by),
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
});

export const Quick = defineObject({
  type: 'quick',
  initial: () => ({ touched: 0 }),
  idleTimeoutMs: 500,
  handlers: {
    touch: (q, _arg: null, ctx) => ctx.reply({ touched: q.touched + 1 }, q.touched + 1),
  },
});

export const objects = [...todoObjects, Counter, Members, Quick];

/** This module's path, for node processes to load (HIGHLANDER_OBJECTS). */
export const TEST_OBJECTS = fileURLToPath(import.meta.url);
