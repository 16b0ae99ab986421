import { describe, expect, it } from 'vitest';
import { parseLockName, sortQueue } from '@highlander/runtime/zookeeper';

describe('lock znode names', () => {
  it('parses node, session and sequence, also for node names with dashes', () => {
    expect(parseLockName('lock-node-a-0123abcd-9f8e7d6c-0000000042')).toEqual({ node: 'node-a', session: '0123abcd', sequence: 42 });
    expect(parseLockName('something-else')).toBeNull();
  });

  it('orders the queue by sequence, not by name', () => {
    const queue = sortQueue([
      'lock-zeta-aa-11-0000000003',
      'lock-alpha-bb-22-0000000010',
      'lock-mid-cc-33-0000000001',
      'not-a-lock',
    ]);
    expect(queue.map((e) => e.node)).toEqual(['mid', 'zeta', 'alpha']);
  });
});
