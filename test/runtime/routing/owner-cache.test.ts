import { describe, expect, it } from 'vitest';
import { OwnerCache } from '../../../runtime/src/routing/owner-cache.js';

describe('OwnerCache', () => {
  it('remembers owners, and forgets one on null', () => {
    const cache = new OwnerCache();
    cache.set('counter/a', 'node-b');
    expect(cache.get('counter/a')).toBe('node-b');
    cache.set('counter/a', null);
    expect(cache.get('counter/a')).toBeUndefined();
  });

  it('is bounded: the least recently used entries go first', () => {
    const cache = new OwnerCache(3);
    cache.set('t/1', 'n1');
    cache.set('t/2', 'n2');
    cache.set('t/3', 'n3');
    expect(cache.get('t/1')).toBe('n1'); // used: t/2 is now the oldest
    cache.set('t/4', 'n4');
    expect(cache.size).toBe(3);
    expect(cache.get('t/2')).toBeUndefined();
    expect(cache.get('t/1')).toBe('n1');
    expect(cache.get('t/4')).toBe('n4');
  });

  it('forgets every object of a node that left', () => {
    const cache = new OwnerCache();
    cache.set('t/1', 'gone');
    cache.set('t/2', 'stays');
    cache.set('t/3', 'gone');
    cache.forgetNode('gone');
    expect([cache.get('t/1'), cache.get('t/2'), cache.get('t/3')]).toEqual([undefined, 'stays', undefined]);
    cache.clear();
    expect(cache.size).toBe(0);
  });
});
