import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EmbeddedRegistry, NODE_DEFAULTS, type HighlanderNodeOptions } from '@highlander/runtime';
import { compileNodeOptions } from '../../runtime/src/node-options.js';
import { objects } from '../harness/test-objects.js';

const base = (): HighlanderNodeOptions => ({
  name: 'node-a', coordinator: new EmbeddedRegistry().coordinator(), store: {} as never, objects,
});

describe('node options', () => {
  it('compile to NODE_DEFAULTS when not given', () => {
    const compiled = compileNodeOptions(base());
    for (const [name, value] of Object.entries(NODE_DEFAULTS)) {
      if (name === 'placement') expect(compiled.placement.name).toBe(value);
      else expect(compiled[name as keyof typeof compiled], name).toBe(value);
    }
    expect(compiled.advertiseHost).toBe('127.0.0.1');
    expect(compileNodeOptions({ ...base(), host: '0.0.0.0', clusterSecret: 'a-cluster-secret-of-some-length' }).advertiseHost).toBe('127.0.0.1');
  });

  it('document the same defaults in their @default JSDoc as NODE_DEFAULTS holds', () => {
    const source = readFileSync(new URL('../../runtime/src/node-options.ts', import.meta.url), 'utf8');
    for (const [name, value] of Object.entries(NODE_DEFAULTS)) {
      const doc = new RegExp(`@default (\\S+)\\n\\s*\\*/\\n\\s*${name}\\?:`).exec(source);
      expect(doc, `@default of ${name}`).not.toBeNull();
      expect(doc![1], name).toBe(typeof value === 'string' ? `'${value}'` : String(value));
    }
  });

  it.each<[string, Partial<HighlanderNodeOptions>, RegExp]>([
    ['no coordinator', { coordinator: undefined as never }, /coordinator is required/],
    ['no objects', { objects: [] }, /objects must list/],
    ['a port out of range', { port: 70000 }, /port must be/],
    ['a zero call timeout', { callTimeoutMs: 0 }, /callTimeoutMs must be a positive number/],
    ['a call timeout over 10 minutes', { callTimeoutMs: 600_001 }, /callTimeoutMs must be at most 600000/],
    ['a negative state limit', { maxStateBytes: -1 }, /maxStateBytes must be a positive number/],
    ['an unknown placement', { placement: 'nearest' as never }, /unknown placement/],
  ])('refuse %s with a TypeError', (_, override, message) => {
    expect(() => compileNodeOptions({ ...base(), ...override })).toThrow(TypeError);
    expect(() => compileNodeOptions({ ...base(), ...override })).toThrow(message);
  });
});
