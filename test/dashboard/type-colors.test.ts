import { describe, expect, it } from 'vitest';
import { TypeColorMemory, type ColorStorage } from '../../dashboard/src/lib/type-colors.ts';

function storage(): ColorStorage & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) };
}

describe('TypeColorMemory', () => {
  it('gives each type its own colour, the same whatever order types are first seen in together', () => {
    const a = new TypeColorMemory().colors(['todo', 'list', 'user']);
    const b = new TypeColorMemory().colors(['user', 'todo', 'list']);
    expect(new Set(['todo', 'list', 'user'].map(a)).size).toBe(3);
    for (const t of ['todo', 'list', 'user']) expect(a(t)).toBe(b(t));
  });

  it('keeps a type\'s colour when other types appear, even ones sorting before it', () => {
    const memory = new TypeColorMemory();
    const before = memory.colors(['todo', 'user']);
    const colours = { todo: before('todo'), user: before('user') };
    const after = memory.colors(['alpha', 'aaa', 'todo', 'user', 'list']);
    expect(after('todo')).toBe(colours.todo);
    expect(after('user')).toBe(colours.user);
    expect(new Set(['aaa', 'alpha', 'list', 'todo', 'user'].map(after)).size).toBe(5);
  });

  it('remembers colours across page loads through its storage, and survives storage it cannot read', () => {
    const saved = storage();
    const first = new TypeColorMemory(saved).colors(['todo', 'user']);
    const reloaded = new TypeColorMemory(saved).colors(['aaa', 'user', 'todo']);
    expect(reloaded('todo')).toBe(first('todo'));
    expect(reloaded('user')).toBe(first('user'));
    const broken = storage();
    broken.data.set('highlander.typeColors', '{not json');
    expect(() => new TypeColorMemory(broken).colors(['todo'])).not.toThrow();
  });

  it('repeats colours only once the ten of the palette are taken', () => {
    const types = Array.from({ length: 12 }, (_, i) => `t${String(i).padStart(2, '0')}`);
    const colour = new TypeColorMemory().colors(types);
    expect(new Set(types.slice(0, 10).map(colour)).size).toBe(10);
    expect(colour('t10')).toBe(colour('t00'));
  });
});
