import { describe, expect, it } from 'vitest';
import { CallTimeout, CoordinatorUnavailable, Indeterminate, NodeStopping, OwnershipLost, StoreUnavailable } from '@highlander/runtime';
import { classifyError, History } from './history.js';

describe('classifyError', () => {
  it('calls that may have taken effect are indeterminate', () => {
    expect(classifyError(new CallTimeout('tally', 't1', 'increment', 5000)).outcome).toBe('indeterminate');
    expect(classifyError(new Indeterminate('tally', 't1', 'write unknown')).outcome).toBe('indeterminate');
    // scripts/cluster.ts: the entry node died with the call in it
    expect(classifyError(new Error('node process node-a exited'))).toMatchObject({ outcome: 'indeterminate', code: 'EXITED' });
    expect(classifyError(new Error('something nobody explained'))).toMatchObject({ outcome: 'indeterminate', code: 'UNKNOWN' });
  });

  it('errors the runtime promises took no effect are failures', () => {
    for (const err of [new OwnershipLost('tally', 't1', 'fenced'), new StoreUnavailable('write', 'k'), new NodeStopping('node-a'), new CoordinatorUnavailable('acquire')]) {
      expect(classifyError(err)).toMatchObject({ outcome: 'fail', code: err.code });
    }
    expect(classifyError(new Error('node process node-a is not running'))).toMatchObject({ outcome: 'fail', code: 'NOT_SENT' });
  });
});

describe('History', () => {
  it('records an ok reply with who served it', () => {
    const history = new History();
    const op = history.invoke({ issuer: 0, type: 'tally', id: 't1', name: 'increment', via: 'node-a' });
    history.ok(op, { value: 3, node: 'node-b', epoch: '42', servedAt: 1234 });
    expect(op).toMatchObject({ outcome: 'ok', value: 3, served: { node: 'node-b', epoch: '42', servedAt: 1234 } });
    expect(op.completedAt).toBeGreaterThanOrEqual(op.invokedAt);
  });
});
