import { describe, expect, it } from 'vitest';
import { check, formatViolations, type ActivationRecord, type CheckInput, type CoordinationState, type FinalState, type Invariant, type LiveActivation } from './checker.js';
import type { ObjectKind, Op } from './history.js';

/**
 * The checker on hand-made histories: a clean one (with failures, indeterminate calls and a handoff
 * between owners) passes, and each kind of violation is caught. A checker that cannot fail is worthless.
 */

let nextIndex = 0;

interface At {
  /** invokedAt; the call completes 10 ms later and is served 5 ms after invocation. */
  at: number;
  epoch?: string;
  node?: string;
}

function base(type: ObjectKind, id: string, name: Op['name'], at: number): Op {
  return { index: nextIndex++, issuer: 0, type, id, name, via: 'node-a', invokedAt: at };
}

function ok(op: Op, { at, epoch = '100', node = 'node-a' }: At): Op {
  return { ...op, completedAt: at + 10, outcome: 'ok', served: { node, epoch, servedAt: at + 5 } };
}

const inc = (id: string, value: number, when: At): Op => ({ ...ok(base('tally', id, 'increment', when.at), when), value });
const add = (id: string, element: string, when: At): Op => ({ ...ok(base('bag', id, 'add', when.at), when), element });
const readTally = (id: string, value: number, when: At): Op => ({ ...ok(base('tally', id, 'read', when.at), when), value });
const readBag = (id: string, elements: string[], when: At): Op => ({ ...ok(base('bag', id, 'read', when.at), when), elements });

function failed(type: ObjectKind, id: string, at: number, element?: string): Op {
  const op = base(type, id, type === 'tally' ? 'increment' : 'add', at);
  return { ...op, ...(element ? { element } : {}), completedAt: at + 10, outcome: 'fail', error: { code: 'OWNERSHIP_LOST', message: 'lost' } };
}

function unknown(type: ObjectKind, id: string, at: number, element?: string): Op {
  const op = base(type, id, type === 'tally' ? 'increment' : 'add', at);
  return { ...op, ...(element ? { element } : {}), completedAt: at + 5000, outcome: 'indeterminate', error: { code: 'CALL_TIMEOUT', message: 'timeout' } };
}

function final(source: string, tally: FinalState['tally'], bag: FinalState['bag'] = {}, register: FinalState['register'] = {}): FinalState {
  return { source, tally, bag, register };
}

const activated = (id: string, epoch: string, node: string, time: number, type = 'tally'): ActivationRecord => ({ type, id, epoch, node, time });

const empty: CoordinationState = { members: [], locks: [], lockParents: [] };

function invariantsOf(input: Partial<CheckInput> & Pick<CheckInput, 'ops'>): Invariant[] {
  const violations = check({ finals: [], activations: [], origin: 0, ...input });
  return [...new Set(violations.map((v) => v.invariant))].sort();
}

describe('checker', () => {
  it('passes a clean history: failures, indeterminate calls and a handoff between owners', () => {
    const ops = [
      inc('t1', 1, { at: 100 }),
      failed('tally', 't1', 120),
      inc('t1', 2, { at: 140 }),
      unknown('tally', 't1', 160), // may or may not have taken effect
      readTally('t1', 2, { at: 200 }),
      // handoff: node-a's epoch 100 served until 205, node-b's epoch 200 activated at 300
      inc('t1', 4, { at: 310, epoch: '200', node: 'node-b' }),
      readTally('t1', 4, { at: 330, epoch: '200', node: 'node-b' }),
      add('b1', 'x', { at: 100 }),
      failed('bag', 'b1', 120, 'y'),
      unknown('bag', 'b1', 130, 'z'),
      readBag('b1', ['x'], { at: 150 }),
    ];
    const activations = [activated('t1', '100', 'node-a', 50), activated('t1', '200', 'node-b', 300), activated('b1', '100', 'node-a', 50, 'bag')];
    const finals = [final('node-b (read)', { t1: 4 }, { b1: ['x', 'z'] }), final('s3', { t1: 4 }, { b1: ['x', 'z'] })];
    const live: LiveActivation[] = [
      { node: 'node-b', type: 'tally', id: 't1', epoch: '200', status: 'active' },
      { node: 'node-a', type: 'bag', id: 'b1', epoch: '100', status: 'active' },
    ];
    const running = {
      liveNodes: ['node-a', 'node-b'],
      activations: live,
      coordination: {
        members: ['node-a', 'node-b'],
        locks: [
          { type: 'tally', id: 't1', name: 'lock-node-b-01-aa-0000000003', node: 'node-b', epoch: '200' },
          { type: 'bag', id: 'b1', name: 'lock-node-a-02-bb-0000000000', node: 'node-a', epoch: '100' },
        ],
        lockParents: ['/r/objects/tally/t1', '/r/objects/bag/b1'],
      },
    };
    const violations = check({ ops, finals, activations, running, stopped: empty, origin: 0 });
    expect(formatViolations(violations)).toBe('none');
  });

  describe('counter', () => {
    it('catches a value acknowledged twice', () => {
      expect(invariantsOf({ ops: [inc('t1', 1, { at: 0 }), inc('t1', 1, { at: 20 })], finals: [final('s3', { t1: 2 })] })).toEqual(['duplicate-ack']);
    });

    it('catches acknowledged increments lost from the final value', () => {
      const ops = [inc('t1', 1, { at: 0 }), inc('t1', 2, { at: 20 }), inc('t1', 3, { at: 40 })];
      expect(invariantsOf({ ops, finals: [final('s3', { t1: 2 })] })).toEqual(['acked-value-lost', 'final-below-acked']);
    });

    it('catches a failed increment that took effect', () => {
      const ops = [inc('t1', 1, { at: 0 }), failed('tally', 't1', 20), inc('t1', 3, { at: 40 })];
      // 2 acknowledged, 0 indeterminate: at most 2, and 3 was acknowledged, so the failed call counted.
      expect(invariantsOf({ ops, finals: [final('s3', { t1: 3 })] })).toEqual(['final-above-possible']);
    });

    it('accepts indeterminate increments that took effect, and catches an acknowledged value above the final one', () => {
      const ops = [inc('t1', 1, { at: 0 }), unknown('tally', 't1', 20), unknown('tally', 't1', 30), inc('t1', 4, { at: 40 })];
      expect(invariantsOf({ ops, finals: [final('s3', { t1: 4 })] })).toEqual([]);
      expect(invariantsOf({ ops, finals: [final('s3', { t1: 3 })] })).toEqual(['acked-value-lost']);
    });

    it('catches a read that saw more than survived', () => {
      const ops = [inc('t1', 1, { at: 0 }), unknown('tally', 't1', 20), readTally('t1', 2, { at: 40 })];
      expect(invariantsOf({ ops, finals: [final('s3', { t1: 1 })] })).toEqual(['read-above-final']);
    });
  });

  describe('set', () => {
    it('catches an acknowledged element missing at the end', () => {
      const ops = [add('b1', 'x', { at: 0 }), add('b1', 'y', { at: 20 })];
      expect(invariantsOf({ ops, finals: [final('s3', {}, { b1: ['x'] })] })).toEqual(['set-acked-missing']);
    });

    it('catches an element whose add failed, or that nobody added', () => {
      const ops = [add('b1', 'x', { at: 0 }), failed('bag', 'b1', 20, 'y')];
      expect(invariantsOf({ ops, finals: [final('s3', {}, { b1: ['x', 'y'] })] })).toEqual(['set-unexplained-element']);
      expect(invariantsOf({ ops, finals: [final('s3', {}, { b1: ['x', 'ghost'] })] })).toEqual(['set-unexplained-element']);
    });

    it('catches an element a read returned that is gone at the end', () => {
      const ops = [add('b1', 'x', { at: 0 }), unknown('bag', 'b1', 20, 'y'), readBag('b1', ['x', 'y'], { at: 40 })];
      expect(invariantsOf({ ops, finals: [final('s3', {}, { b1: ['x'] })] })).toEqual(['set-read-element-lost']);
    });
  });

  describe('final states', () => {
    it('catches an object that could not be read', () => {
      expect(invariantsOf({ ops: [inc('t1', 1, { at: 0 })], finals: [final('node-a (read)', { t1: null })] })).toEqual(['final-unreadable']);
    });

    it('catches a node and S3 that disagree', () => {
      const ops = [inc('t1', 1, { at: 0 }), unknown('tally', 't1', 20), add('b1', 'x', { at: 0 }), unknown('bag', 'b1', 20, 'y')];
      const finals = [final('node-a (read)', { t1: 2 }, { b1: ['x', 'y'] }), final('s3', { t1: 1 }, { b1: ['x'] })];
      const violations = check({ ops, finals, activations: [], origin: 0 });
      expect(violations.map((v) => `${v.invariant} ${v.subject}`)).toEqual(['final-sources-disagree tally/t1', 'final-sources-disagree bag/b1']);
    });

    it('catches registers whose node and S3 values disagree, or that one source could not read', () => {
      const finals = [final('node-a (read)', {}, {}, { r1: { value: 'v2' }, r2: { value: null }, r3: null }), final('s3', {}, {}, { r1: { value: 'v1' }, r2: { value: null }, r3: { value: 'v3' } })];
      const violations = check({ ops: [], finals, activations: [], origin: 0 });
      expect(violations.map((v) => `${v.invariant} ${v.subject}`)).toEqual(['final-sources-disagree register/r1', 'final-unreadable register/r3']);
    });
  });

  describe('registers', () => {
    const writeReg = (id: string, value: string, when: At): Op => ({ ...ok(base('register', id, 'write', when.at), when), written: value });
    const readReg = (id: string, value: string | null, when: At): Op => ({ ...ok(base('register', id, 'read', when.at), when), read: value });
    const casReg = (id: string, expected: string | null, next: string, swapped: boolean, when: At): Op => ({ ...ok(base('register', id, 'cas', when.at), when), expected, written: next, swapped });

    it('passes a linearizable register history, a timed-out write taking effect late included', () => {
      const late: Op = { ...base('register', 'r1', 'write', 60), written: 'v3', completedAt: 5060, outcome: 'indeterminate', error: { code: 'CALL_TIMEOUT', message: 'timeout' } };
      const ops = [readReg('r1', null, { at: 0 }), writeReg('r1', 'v1', { at: 20 }), casReg('r1', 'v1', 'v2', true, { at: 40 }), late, readReg('r1', 'v2', { at: 80 }), readReg('r1', 'v3', { at: 200 })];
      expect(invariantsOf({ ops })).toEqual([]);
    });

    it('catches a stale read, naming the write that overwrote the value', () => {
      const ops = [writeReg('r1', 'v1', { at: 0 }), writeReg('r1', 'v2', { at: 20 }), readReg('r1', 'v1', { at: 40 })];
      const violations = check({ ops, finals: [], activations: [], origin: 0 });
      expect(violations.map((v) => `${v.invariant} ${v.subject}`)).toEqual(['not-linearizable register/r1']);
      expect(formatViolations(violations)).toContain('v1 was written by #');
      expect(formatViolations(violations)).toContain('write v2');
    });

    it('catches a write that failed (a promise of no effect) but is read later', () => {
      const ops = [writeReg('r1', 'v1', { at: 0 }), { ...base('register', 'r1', 'write', 20), written: 'v2', completedAt: 30, outcome: 'fail', error: { code: 'OWNERSHIP_LOST', message: 'lost' } } satisfies Op, readReg('r1', 'v2', { at: 40 })];
      expect(invariantsOf({ ops })).toEqual(['not-linearizable']);
    });

    it('reports a search that ran out of steps instead of passing it', () => {
      const ops = [writeReg('r1', 'v1', { at: 0 }), writeReg('r1', 'v2', { at: 0 }), readReg('r1', 'v1', { at: 0 }), readReg('r1', 'v2', { at: 20 })];
      expect(invariantsOf({ ops, linearizabilitySteps: 1 })).toEqual(['linearizability-unknown']);
      expect(invariantsOf({ ops })).toEqual([]);
    });

    it('catches an acknowledged read whose reply carried no value', () => {
      const ops = [ok(base('register', 'r1', 'read', 0), { at: 0 })];
      expect(invariantsOf({ ops })).toEqual(['not-linearizable']);
    });
  });

  describe('serving', () => {
    it('catches two epochs serving in overlapping intervals', () => {
      const ops = [
        inc('t1', 1, { at: 0, epoch: '100', node: 'node-a' }),
        inc('t1', 2, { at: 20, epoch: '200', node: 'node-b' }),
        inc('t1', 3, { at: 40, epoch: '100', node: 'node-a' }), // the old owner again, after the new one served
      ];
      expect(invariantsOf({ ops, finals: [final('s3', { t1: 3 })] })).toEqual(['overlapping-epochs']);
    });

    it('catches a zombie serving after a newer epoch activated (the SIGSTOP case)', () => {
      const ops = [
        inc('t1', 1, { at: 0, epoch: '100', node: 'node-a' }),
        // node-a is paused; node-b activates epoch 200 at 5000 but nobody calls it yet;
        // node-a resumes and answers a read from memory at 6005
        readTally('t1', 1, { at: 6000, epoch: '100', node: 'node-a' }),
        inc('t1', 2, { at: 7000, epoch: '200', node: 'node-b' }),
      ];
      const activations = [activated('t1', '100', 'node-a', -10), activated('t1', '200', 'node-b', 5000)];
      expect(invariantsOf({ ops, activations, finals: [final('s3', { t1: 2 })] })).toEqual(['stale-serve']);
    });

    it('catches a reply served before its epoch activated, or with no lock at all', () => {
      const early = [inc('t1', 1, { at: 0, epoch: '100' })];
      expect(invariantsOf({ ops: early, activations: [activated('t1', '100', 'node-a', 50)], finals: [final('s3', { t1: 1 })] })).toEqual(['served-before-activation']);
      const unlocked = [inc('t1', 1, { at: 0, epoch: '0' })];
      expect(invariantsOf({ ops: unlocked, finals: [final('s3', { t1: 1 })] })).toEqual(['served-before-activation']);
    });

    it('catches a read that missed a write acknowledged before it was invoked', () => {
      const tally = [inc('t1', 1, { at: 0 }), inc('t1', 2, { at: 20 }), readTally('t1', 1, { at: 100 })];
      expect(invariantsOf({ ops: tally, finals: [final('s3', { t1: 2 })] })).toEqual(['stale-read']);
      const bag = [add('b1', 'x', { at: 0 }), readBag('b1', [], { at: 100 })];
      expect(invariantsOf({ ops: bag, finals: [final('s3', {}, { b1: ['x'] })] })).toEqual(['stale-read']);
      // A read concurrent with the write may miss it.
      const concurrent = [add('b1', 'x', { at: 0 }), readBag('b1', [], { at: 5 })];
      expect(invariantsOf({ ops: concurrent, finals: [final('s3', {}, { b1: ['x'] })] })).toEqual([]);
    });
  });

  describe('ZooKeeper leaks', () => {
    const lock = (id: string, node: string, epoch: string) => ({ type: 'tally', id, name: `lock-${node}-01-aa-000000000${epoch.length}`, node, epoch });
    const active = (id: string, node: string, epoch: string): LiveActivation => ({ node, type: 'tally', id, epoch, status: 'active' });

    it('with the nodes up: a stray member, a missing member, two owners, a lock nobody holds, an activation without its lock', () => {
      const running = {
        liveNodes: ['node-a', 'node-b'],
        coordination: {
          members: ['node-a', 'node-c'],
          locks: [lock('t1', 'node-a', '100'), lock('t2', 'node-b', '300'), lock('t4', 'node-c', '400')],
          lockParents: [],
        },
        activations: [active('t1', 'node-a', '100'), active('t2', 'node-b', '300'), active('t2', 'node-a', '250'), active('t3', 'node-b', '500')],
      };
      const violations = check({ ops: [], finals: [], activations: [], running });
      expect(violations.map((v) => `${v.invariant} ${v.subject}`).sort()).toEqual([
        'duplicate-owner tally/t2',
        'leaked-lock tally/t4', // held by node-c, which is not running
        'leaked-node node-c',
        'member-missing node-b',
        'unlocked-activation tally/t2', // node-a's epoch 250 has no lock
        'unlocked-activation tally/t3',
      ]);
    });

    it('after every node stopped: member znodes, lock znodes and lock parents left', () => {
      const stopped = { members: ['node-a'], locks: [lock('t1', 'node-a', '100')], lockParents: ['/r/objects/tally/t1', '/r/objects/tally/t9'] };
      const violations = check({ ops: [], finals: [], activations: [], stopped });
      expect(violations.map((v) => `${v.invariant} ${v.subject}`).sort()).toEqual([
        'leaked-lock tally/t1',
        'leaked-lock-parent /r/objects/tally/t1',
        'leaked-lock-parent /r/objects/tally/t9',
        'leaked-node node-a',
      ]);
    });
  });

  it('explains a violation with the ops that show it', () => {
    const ops = [inc('t1', 1, { at: 1000 }), inc('t1', 1, { at: 2000, node: 'node-b', epoch: '200' })];
    const text = formatViolations(check({ ops, finals: [], activations: [], origin: 0 }));
    expect(text).toContain('[duplicate-ack] tally/t1: value 1 acknowledged to 2 increments');
    expect(text).toContain('tally/t1 increment via node-a [+2.000s→+2.010s] ok value=1 served by node-b epoch 200 at +2.005s');
  });
});
