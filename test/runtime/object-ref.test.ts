import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedRegistry, FileStateStore, HighlanderNode, InvalidArgument, UnknownHandler, defineObject } from '@highlander/runtime';
import { z } from 'zod';
import { Counter, Members, objects } from '../harness/test-objects.js';

/**
 * What a ref checks before any I/O — the operation's name (own handlers and queries only), the
 * call's shape, the timeout, the argument's size — on a real node on the embedded backends.
 */

const Notes = defineObject({
  type: 'notes',
  initial: () => ({ text: '', opened: 0 }),
  handlers: {
    write: (n, text: string) => ({ ...n, text }),
    open: (n) => ({ ...n, opened: n.opened + 1 }), // no argument: call('open', options?)
  },
  queries: { text: (n) => n.text, length: (n, _arg: null) => n.text.length },
});

const LIMIT = 64 * 1024;
let dir: string;
let store: FileStateStore;
let node: HighlanderNode;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'highlander-object-ref-'));
  store = await FileStateStore.create({ dir });
  node = HighlanderNode.create({ name: 'node-a', coordinator: new EmbeddedRegistry().coordinator(), store, objects: [...objects, Notes], maxStateBytes: LIMIT });
  await node.start();
});

afterAll(async () => {
  await node.stop();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('ref: operation names', () => {
  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty', 'nope'])("'%s' is an unknown handler, not something inherited", async (name) => {
    const ref = node.ref(Counter, 'names');
    const err = await ref.invoke(name, null).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownHandler);
    expect(err).toMatchObject({ code: 'UNKNOWN_HANDLER', handler: name });
    await expect((ref.call as (n: string) => Promise<unknown>)(name)).rejects.toBeInstanceOf(UnknownHandler);
  });

  it('an object type refuses a name that is both a handler and a query, and a non-function', () => {
    expect(() => defineObject({ type: 'both', initial: () => ({}), handlers: { x: (s) => s }, queries: { x: () => 1 } })).toThrow(/both a handler and a query/);
    expect(() => defineObject({ type: 'bad', initial: () => ({}), handlers: { x: 5 as never } })).toThrow(/not a function/);
  });
});

describe('ref: argument schemas', () => {
  it('refuses an argument that does not match its schema before it reaches the handler, naming what is wrong', async () => {
    const ref = node.ref(Members, 'schemas');
    await expect(ref.call('add', 'ada')).resolves.toBeUndefined();
    const empty = await ref.invoke('add', '').catch((e: unknown) => e);
    expect(empty).toBeInstanceOf(InvalidArgument);
    expect((empty as Error).message).toMatch(/^the argument of 'add' on set\/schemas is not valid: \(the argument\): /);
    await expect(ref.invoke('add', { element: 'x' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(ref.invoke('has', 42)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await ref.call('has', 'ada')).toBe(true);
    expect(await ref.get()).toEqual({ elements: ['ada'] });
  });

  it('an object type refuses schemas for names it does not have, and schemas that are not schemas', () => {
    expect(() => defineObject({ type: 'typo', initial: () => ({}), handlers: { x: (s) => s }, args: { y: z.string() } as never })).toThrow(/args.y names no handler or query/);
    expect(() => defineObject({ type: 'bad', initial: () => ({}), handlers: { x: (s, _a: string) => s }, args: { x: 'string' as never } })).toThrow(/args.x is not a schema/);
  });
});

describe('ref: the shape of a call', () => {
  it('an operation declared with only (state) takes no argument: the first extra is the options', async () => {
    const ref = node.ref(Notes, 'shape');
    expect(Notes.operations.get('open')?.takesArgument).toBe(false);
    expect(Notes.operations.get('write')?.takesArgument).toBe(true);
    await ref.call('open', { timeoutMs: 5000 });
    await ref.call('write', 'hello', { timeoutMs: 5000 });
    expect(await ref.get()).toEqual({ text: 'hello', opened: 1 });
    expect(await ref.call('text')).toBe('hello');
    expect(await ref.call('length', null)).toBe(5);
    // The options of an argument-less call are checked as options.
    await expect(ref.call('open', { timeoutMs: 0 })).rejects.toBeInstanceOf(InvalidArgument);
  });
});

describe('ref: timeouts', () => {
  it.each([0, -1, 0.5, Number.NaN, 600_001, 1e308, Number.POSITIVE_INFINITY, '5000' as unknown as number])('refuses timeoutMs %s with InvalidArgument before any I/O', async (timeoutMs) => {
    const ref = node.ref(Counter, 'timeouts');
    for (const attempt of [ref.get({ timeoutMs }), ref.put({ value: 1 }, { timeoutMs }), ref.call('increment', null, { timeoutMs }), ref.invoke('value', null, { timeoutMs })]) {
      const err = await attempt.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgument);
      expect((err as Error).message).toMatch(/timeoutMs must be a number of milliseconds from 1 to 600000/);
    }
    expect(await store.read('counter', 'timeouts')).toBeNull();
  });

  it('takes timeouts of 1 ms and 10 minutes', async () => {
    const ref = node.ref(Counter, 'timeout-bounds');
    expect(await ref.call('increment', null, { timeoutMs: 600_000 })).toBe(1);
    // 1 ms is a valid timeout (the call may well time out, but it is not refused).
    const quick = await ref.call('value', { timeoutMs: 1 }).then((v) => v, (e: unknown) => e);
    expect(quick).not.toBeInstanceOf(InvalidArgument);
  });
});

describe('ref: argument size', () => {
  it.each([
    ['a string', 'x'.repeat(LIMIT + 1)],
    ['a string of multi-byte characters', 'é'.repeat(LIMIT / 2 + 1)],
    ['an object', { text: 'x'.repeat(LIMIT) }],
    ['an array', ['x'.repeat(LIMIT)]],
  ])('refuses %s larger than maxStateBytes as JSON, and writes nothing', async (_, arg) => {
    const ref = node.ref(Notes, `big-${typeof arg}`);
    const err = await ref.invoke('write', arg).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgument);
    expect((err as Error).message).toMatch(/over the limit of 65536 \(maxStateBytes\)/);
    expect(await store.read('notes', `big-${typeof arg}`)).toBeNull();
  });

  it('takes a string just under the limit', async () => {
    const ref = node.ref(Counter, 'just-under');
    await expect(ref.invoke('value', 'x'.repeat(LIMIT - 2))).resolves.toBe(0);
  });
});
