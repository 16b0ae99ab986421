import { describe, expect, it } from 'vitest';
import type { FaultRecord, Op } from './history.js';
import { median, recoveries } from './recovery.js';

let nextIndex = 0;
function op(id: string, invokedAt: number, completedAt: number | undefined, outcome: Op['outcome']): Op {
  return { index: nextIndex++, issuer: 0, type: 'tally', id, name: 'increment', via: 'node-a', invokedAt, ...(completedAt !== undefined ? { completedAt } : {}), ...(outcome ? { outcome } : {}) };
}
const fault = (injectedAt: number, healedAt = injectedAt, blocking = false): FaultRecord => ({ name: 'f', detail: '', injectedAt, healedAt, blocking });

describe('recoveries', () => {
  it('is the time until every object disturbed after the fault is acknowledged again', () => {
    const ops = [
      op('t1', 900, 950, 'ok'), // before the fault
      op('t1', 1000, 1100, 'fail'),
      op('t1', 1200, 1300, 'ok'), // t1 recovered at 1300
      op('t2', 1000, 4000, 'ok'), // slow: t2 recovered when it finally answered, at 4000
      op('t3', 1100, 1150, 'ok'), // undisturbed
    ];
    const [r] = recoveries(ops, [fault(1000)], 10_000, 1500);
    expect(r).toMatchObject({ affected: ['tally/t1', 'tally/t2'], unrecovered: [], recoveredAt: 4000, recoveryMs: 3000 });
  });

  it('counts a blocking fault from its healing, and stops each window at the next fault', () => {
    const ops = [op('t1', 1000, 1100, 'fail'), op('t1', 6000, 6100, 'ok'), op('t2', 8000, 8100, 'fail'), op('t2', 8200, 8300, 'ok')];
    const [first, second] = recoveries(ops, [fault(1000, 6000, true), fault(8000)], 10_000, 1500);
    expect(first).toMatchObject({ affected: ['tally/t1'], recoveryMs: 100 });
    expect(second).toMatchObject({ affected: ['tally/t2'], recoveryMs: 300 });
  });

  it('is null when an object never recovered, or a call never answered', () => {
    expect(recoveries([op('t1', 1000, 1100, 'fail')], [fault(1000)], 10_000, 1500)[0]).toMatchObject({ unrecovered: ['tally/t1'], recoveryMs: null });
    expect(recoveries([op('t1', 1000, undefined, undefined)], [fault(1000)], 10_000, 1500)[0]).toMatchObject({ unrecovered: ['tally/t1'], recoveryMs: null });
  });

  it('is 0 when nothing was disturbed', () => {
    expect(recoveries([op('t1', 1000, 1010, 'ok')], [fault(1000)], 10_000, 1500)[0]).toMatchObject({ affected: [], recoveryMs: 0 });
  });
});

describe('median', () => {
  it('of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNull();
  });
});
