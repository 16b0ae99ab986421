import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { argumentOf, formOf } from '../../dashboard/src/lib/arg-form.ts';

/** The dashboard's argument forms, from the JSON Schema zod writes for the types' `args`. */
const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input' });

describe('argument forms', () => {
  it('draws a form for a value or an object of plain fields, and none for anything else', () => {
    expect(formOf(json(z.string().min(1).max(100)))).toEqual({ shape: 'value', fields: [{ name: '', kind: 'string', required: true, hint: 'at least 1 character, at most 100' }] });
    const todo = formOf(json(z.object({ title: z.string(), done: z.boolean().optional(), priority: z.number().int().min(0), colour: z.enum(['red', 'green']) })));
    expect(todo).toEqual({
      shape: 'object',
      fields: [
        { name: 'title', kind: 'string', required: true },
        { name: 'done', kind: 'boolean', required: false },
        { name: 'priority', kind: 'integer', required: true, hint: 'from 0' },
        { name: 'colour', kind: 'enum', required: true, options: ['red', 'green'] },
      ],
    });
    expect(formOf(json(z.object({ tags: z.array(z.string()) })))).toBeUndefined();
    expect(formOf(json(z.object({ todo: z.object({ id: z.string() }) })))).toBeUndefined();
    expect(formOf(undefined)).toBeUndefined();
  });

  it('makes the argument from the values, and says what is missing or wrong', () => {
    const form = formOf(json(z.object({ title: z.string(), note: z.string().optional(), done: z.boolean().optional(), priority: z.number().int() })))!;
    expect(argumentOf(form, { title: 'milk', note: '', done: true, priority: '2' })).toEqual({ ok: true, value: { title: 'milk', done: true, priority: 2 } });
    expect(argumentOf(form, { title: 'milk', priority: '' })).toEqual({ ok: false, problem: 'priority is required' });
    expect(argumentOf(form, { title: 'milk', priority: '2.5' })).toEqual({ ok: false, problem: 'priority must be a whole number' });
    const value = formOf(json(z.number()))!;
    expect(argumentOf(value, { '': '4.5' })).toEqual({ ok: true, value: 4.5 });
    expect(argumentOf(value, { '': 'x' })).toEqual({ ok: false, problem: 'the argument must be a number' });
  });
});
