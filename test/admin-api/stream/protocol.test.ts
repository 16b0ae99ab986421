import { describe, expect, it } from 'vitest';
import { StreamScope, SubscribeMessage, UnsubscribeMessage } from '@highlander/admin-api/protocol';

/** The protocol's client messages as the server validates them (the server's messages are types: the compiler checks them). */

describe('stream protocol: client messages', () => {
  it.each<[unknown]>([
    [{ subscribe: 'summary' }],
    [{ subscribe: 'summary', objects: true }],
    [{ subscribe: 'events', since: 0 }],
    [{ subscribe: 'object', type: 'todo', id: 'groceries-2024' }],
    [{ subscribe: 'talk', code: 'ABCDE' }],
    [{ subscribe: 'hot' }],
    [{ subscribe: 'hot', by: 'p99', type: 'todo', node: 'node-a', limit: 200 }],
  ])('%j is a subscription', (message) => {
    expect(SubscribeMessage.safeParse(message).success).toBe(true);
  });

  it.each<[unknown]>([
    [{ subscribe: 'summary', extra: 1 }],
    [{ subscribe: 'events', since: 1.5 }],
    [{ subscribe: 'object', type: 'Todo', id: 'a' }],
    [{ subscribe: 'talk', code: 'abcde' }],
    [{ subscribe: 'hot', by: 'latency' }],
    [{ subscribe: 'hot', limit: '5' }],
    [{ subscribe: 'hot', limit: 0 }],
    [{ subscribe: 'hot', node: 'no such' }],
  ])('%j is refused', (message) => {
    expect(SubscribeMessage.safeParse(message).success).toBe(false);
  });

  it('unsubscribes from one of the six scopes', () => {
    expect(StreamScope.options).toEqual(['summary', 'events', 'object', 'talk', 'hot', 'rebalance']);
    for (const scope of StreamScope.options) expect(UnsubscribeMessage.parse({ unsubscribe: scope })).toEqual({ unsubscribe: scope });
    expect(UnsubscribeMessage.safeParse({ unsubscribe: 'all' }).success).toBe(false);
  });
});
