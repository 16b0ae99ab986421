import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { argumentJsonSchema, defineObject } from '../../runtime/src/define-object.js';

/** argumentJsonSchema: an operation's argument schema as JSON Schema, for tools; pure. */

const Shape = defineObject({
  type: 'shape',
  initial: () => ({ name: '' }),
  handlers: {
    rename: (s, arg: { name: string; shout?: boolean }) => ({ name: arg.shout ? arg.name.toUpperCase() : arg.name }),
    trimmed: (s, arg: string) => ({ name: arg }),
    custom: (s, arg: string) => ({ name: arg }),
    free: (s, arg: unknown) => ({ name: String(arg) }),
  },
  args: {
    rename: z.object({ name: z.string().min(1), shout: z.boolean().optional() }),
    // A transform: what is described is the input a caller sends.
    trimmed: z.string().transform((v) => v.trim()),
    // Not zod: only safeParse, nothing to describe.
    custom: { safeParse: (v: unknown) => (typeof v === 'string' ? { success: true as const } : { success: false as const, error: { message: 'a string' } }) },
  },
});

describe('argumentJsonSchema', () => {
  it('describes a zod schema as JSON Schema (draft 2020-12), and nothing else', () => {
    expect(argumentJsonSchema(Shape.operations.get('rename')!)).toEqual({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: { name: { type: 'string', minLength: 1 }, shout: { type: 'boolean' } },
      required: ['name'],
    });
    expect(argumentJsonSchema(Shape.operations.get('trimmed')!)).toMatchObject({ type: 'string' });
    expect(argumentJsonSchema(Shape.operations.get('custom')!)).toBeUndefined();
    expect(argumentJsonSchema(Shape.operations.get('free')!)).toBeUndefined();
  });
});
