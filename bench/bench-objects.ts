import { fileURLToPath } from 'node:url';
import { defineObject } from '@highlander/runtime';

/** The object types every benchmark node registers (in process, and in node processes via HIGHLANDER_OBJECTS). */

/** A small counter: `{ value }`, `increment` (a durable update) and `value` (a query). */
export const Counter = defineObject({
  type: 'counter',
  initial: () => ({ value: 0 }),
  handlers: {
    increment: (counter, _arg: null, ctx) => ctx.reply({ value: counter.value + 1 }, counter.value + 1),
  },
  queries: {
    value: (counter) => counter.value,
  },
});

export const objects = [Counter];

/** This module's path, for node processes to load. */
export const BENCH_OBJECTS = fileURLToPath(import.meta.url);
