/**
 * A form for an operation's argument, drawn from its JSON Schema (GET /api/types `args`) when the
 * schema is simple enough to be a form: a string, number, integer or boolean (an enum of strings
 * too), or an object whose properties are all such. Anything else is edited as JSON. Pure; unit-tested.
 * The node checks every argument with the type's own schema: the form only helps fill it in.
 */

export type FieldKind = 'string' | 'number' | 'integer' | 'boolean' | 'enum';

export interface FormField {
  /** The property name ('' for an argument that is itself a value). */
  name: string;
  kind: FieldKind;
  required: boolean;
  /** The choices of an enum. */
  options?: string[];
  /** What the schema says of it, for a hint ("at least 1 character", "an integer from 0"). */
  hint?: string;
}

export interface ArgForm {
  /** `value`: the argument is one value; `object`: the fields are its properties. */
  shape: 'value' | 'object';
  fields: FormField[];
}

type Schema = Record<string, unknown>;

function fieldOf(name: string, schema: unknown, required: boolean): FormField | undefined {
  if (typeof schema !== 'object' || schema === null) return undefined;
  const s = schema as Schema;
  if (Array.isArray(s.enum) && s.enum.length > 0 && s.enum.every((v) => typeof v === 'string')) {
    return { name, kind: 'enum', required, options: s.enum as string[] };
  }
  const type = s.type;
  if (type !== 'string' && type !== 'number' && type !== 'integer' && type !== 'boolean') return undefined;
  const hints: string[] = [];
  if (typeof s.minLength === 'number' && s.minLength > 0) hints.push(`at least ${s.minLength} character${s.minLength === 1 ? '' : 's'}`);
  if (typeof s.maxLength === 'number') hints.push(`at most ${s.maxLength}`);
  // zod writes the safe-integer range for every integer: only a narrower bound says something.
  if (typeof s.minimum === 'number' && s.minimum > Number.MIN_SAFE_INTEGER) hints.push(`from ${s.minimum}`);
  if (typeof s.maximum === 'number' && s.maximum < Number.MAX_SAFE_INTEGER) hints.push(`up to ${s.maximum}`);
  return { name, kind: type, required, ...(hints.length > 0 ? { hint: hints.join(', ') } : {}) };
}

/** The form for `schema`, or undefined when it is not one (edit the argument as JSON). */
export function formOf(schema: unknown): ArgForm | undefined {
  if (typeof schema !== 'object' || schema === null) return undefined;
  const s = schema as Schema;
  const single = fieldOf('', s, true);
  if (single) return { shape: 'value', fields: [single] };
  if (s.type !== 'object' || typeof s.properties !== 'object' || s.properties === null) return undefined;
  const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
  const fields: FormField[] = [];
  for (const [name, property] of Object.entries(s.properties as Schema)) {
    const field = fieldOf(name, property, required.has(name));
    if (!field) return undefined;
    fields.push(field);
  }
  return fields.length > 0 ? { shape: 'object', fields } : undefined;
}

/** What the form holds: text for every field but a boolean's checkbox. */
export type FormValues = Record<string, string | boolean>;

/** The argument the form's values make, or what is missing or wrong (as the form says it). */
export function argumentOf(form: ArgForm, values: FormValues): { ok: true; value: unknown } | { ok: false; problem: string } {
  const out: Record<string, unknown> = {};
  for (const field of form.fields) {
    const raw = values[field.name];
    const label = field.name === '' ? 'the argument' : field.name;
    if (field.kind === 'boolean') {
      out[field.name] = raw === true;
      continue;
    }
    const text = typeof raw === 'string' ? raw : '';
    if (text === '' && field.kind !== 'string') {
      if (field.required) return { ok: false, problem: `${label} is required` };
      continue;
    }
    if (field.kind === 'number' || field.kind === 'integer') {
      const n = Number(text);
      if (!Number.isFinite(n) || (field.kind === 'integer' && !Number.isInteger(n))) {
        return { ok: false, problem: `${label} must be ${field.kind === 'integer' ? 'a whole number' : 'a number'}` };
      }
      out[field.name] = n;
    } else {
      if (text === '' && !field.required) continue;
      out[field.name] = text;
    }
  }
  return { ok: true, value: form.shape === 'value' ? out[''] : out };
}
