import { describe, expect, it } from 'vitest';
import { InvalidNodeName, InvalidObjectId, InvalidTypeName } from '@highlander/runtime';
import { validateNodeName, validateObjectId, validateTypeName } from '@highlander/runtime';
import { defineObject } from '@highlander/runtime';

describe('names', () => {
  it('accepts ids made of the allowed characters', () => {
    for (const id of ['a', 'user:42', 'x.y-z_w@host', '0'.repeat(200)]) expect(validateObjectId(id)).toBe(id);
  });

  it.each([
    ['', 'must not be empty'],
    ['a b', 'allowed characters'],
    ['a/b', 'allowed characters'],
    ['..', 'reserved'],
    ['x'.repeat(201), 'at most 200'],
  ])('refuses the id %j with InvalidObjectId naming it', (id, reason) => {
    const err = (() => { try { validateObjectId(id); } catch (e) { return e; } })() as InvalidObjectId;
    expect(err).toBeInstanceOf(InvalidObjectId);
    expect(err.code).toBe('INVALID_OBJECT_ID');
    expect(err.message).toContain(reason);
    expect(err.value).toBe(id);
  });

  it('refuses non-string ids', () => {
    expect(() => validateObjectId(42)).toThrow(InvalidObjectId);
  });

  it('checks type and node names', () => {
    expect(() => validateTypeName('Todo')).toThrow(InvalidTypeName);
    expect(validateTypeName('todo-list')).toBe('todo-list');
    expect(() => validateNodeName('node a')).toThrow(InvalidNodeName);
    expect(() => defineObject({ type: 'Bad Type', initial: () => ({}) })).toThrow(InvalidTypeName);
  });
});
