import { describe, expect, it } from 'vitest';
import type { MemberInfo } from '@highlander/runtime';
import { hashPlacement, leastLoadedPlacement, localPlacement, placementByName, roundRobinPlacement } from '@highlander/runtime';

const member = (name: string, activations = 0): MemberInfo => ({ name, address: `ws://${name}`, pid: 1, startedAt: 0, activations, draining: false });
const nodes = [member('a', 5), member('b', 1), member('c', 3)];
const ctx = (id: string, self = 'a', candidates = nodes) => ({ type: 'todo', id, self, candidates });

describe('placement', () => {
  it('local picks the caller, or the first candidate when the caller takes no activations', () => {
    expect(localPlacement.choose(ctx('x', 'b'))).toBe('b');
    expect(localPlacement.choose(ctx('x', 'z'))).toBe('a');
  });

  it('round-robin cycles through the candidates in order', () => {
    const p = roundRobinPlacement();
    expect(['1', '2', '3', '4'].map((id) => p.choose(ctx(id)))).toEqual(['a', 'b', 'c', 'a']);
  });

  it('least-loaded picks the node with the fewest activations', () => {
    expect(leastLoadedPlacement.choose(ctx('x'))).toBe('b');
  });

  it('hash is stable and moves only the ids of a node that leaves', () => {
    const ids = Array.from({ length: 300 }, (_, i) => `id-${i}`);
    const before = new Map(ids.map((id) => [id, hashPlacement.choose(ctx(id))]));
    expect(new Set(before.values()).size).toBe(3);
    const without = nodes.filter((n) => n.name !== 'c');
    for (const id of ids) {
      const after = hashPlacement.choose(ctx(id, 'a', without));
      if (before.get(id) !== 'c') expect(after).toBe(before.get(id));
    }
  });

  it('an unknown placement name is a clear TypeError', () => {
    expect(() => placementByName('nearest' as never)).toThrow(/unknown placement 'nearest'/);
  });
});
