import { describe, expect, it } from 'vitest';
import {
  CallTimeout, CoordinatorUnavailable, Fenced, HandlerFailed, Indeterminate, InvalidArgument, NodeStopping, NodeUnreachable, ObjectRejected,
  OwnershipLost, StateTooLarge, StoreUnavailable, UnknownHandler, type HighlanderError,
} from '@highlander/runtime';
import { reroutable } from '../../../runtime/src/routing/call-router.js';

/**
 * The router's policy: which failures it routes again within the call's timeout. The routing
 * itself (forwarding, redirects, failover) is exercised on real nodes in test/runtime/node.test.ts
 * and test/cluster/.
 */
describe('reroutable: what the router tries again', () => {
  it.each<[HighlanderError, boolean]>([
    [new OwnershipLost('t', 'i', 'fenced'), true],
    [new Fenced('t', 'i'), true],
    [new NodeStopping('n'), true],
    [new CoordinatorUnavailable('acquire'), true],
    [new NodeUnreachable('n', undefined, 'no'), true],
    // The request may have reached the owner: a write's outcome is unknown, never sent again blindly.
    [new NodeUnreachable('n', undefined, 'unknown'), false],
    // Retryable for the application, but not routed again: it may have taken effect / S3 is down (fail fast).
    [new CallTimeout('t', 'i', 'h', 10), false],
    [new StoreUnavailable('write', 'k'), false],
    [new Indeterminate('t', 'i', 'r'), false],
    [new HandlerFailed('t', 'i', 'h', 'boom'), false],
    [new ObjectRejected('t', 'i', 'e', 'no', {}), false],
    [new UnknownHandler('t', 'h', []), false],
    [new StateTooLarge('t', 'i', 2, 1), false],
    [new InvalidArgument('bad'), false],
  ])('%s → %s', (err, expected) => {
    expect(reroutable(err)).toBe(expected);
  });

  it('is a different set from the errors marked retryable', () => {
    expect(new CallTimeout('t', 'i', 'h', 10).retryable).toBe(true);
    expect(reroutable(new CallTimeout('t', 'i', 'h', 10))).toBe(false);
    expect(reroutable(new Error('plain'))).toBe(false);
  });
});
