import { describe, expect, it } from 'vitest';
import { checkRegisterHistory, searchLinearization, type LinearizabilityResult, type Model, type RegisterOp } from './linearizability.js';
import { seededRandom } from './random.js';

/**
 * The linearizability checker on hand-made register histories (each kind of violation caught, and
 * what a person reads in the log), on random linearizable histories built by running a register
 * with real concurrency (then corrupted), and against an exhaustive permutation checker on small
 * ones. Random histories come from a seeded generator: a failure names its seed.
 */

let nextIndex = 0;

type Fields = Partial<RegisterOp> & Pick<RegisterOp, 'invokedAt'>;

/** An ok op on register r1 by client 0 unless told otherwise; it completes at `completedAt`. */
function op(kind: RegisterOp['kind'], fields: Fields & { completedAt: number }): RegisterOp {
  return { index: nextIndex++, object: 'r1', client: 0, kind, outcome: 'ok', ...fields };
}

const read = (value: unknown, invokedAt: number, completedAt: number, more: Partial<RegisterOp> = {}) => op('read', { value, invokedAt, completedAt, ...more });
const write = (value: unknown, invokedAt: number, completedAt: number, more: Partial<RegisterOp> = {}) => op('write', { value, invokedAt, completedAt, ...more });
const cas = (expected: unknown, next: unknown, result: boolean, invokedAt: number, completedAt: number, more: Partial<RegisterOp> = {}) =>
  op('cas', { expected, next, result, invokedAt, completedAt, ...more });

/** The op never answered (or timed out): it may or may not have taken effect. */
function indeterminate(o: RegisterOp): RegisterOp {
  const { completedAt: _completedAt, result: _result, ...rest } = o;
  return { ...rest, outcome: 'indeterminate', ...(o.kind === 'read' ? { value: undefined } : {}) };
}

/** The op failed: the runtime promised it took no effect. */
function failed(o: RegisterOp): RegisterOp {
  const { result: _result, ...rest } = o;
  return { ...rest, outcome: 'fail', ...(o.kind === 'read' ? { value: undefined } : {}) };
}

function verdictOf(ops: RegisterOp[]): LinearizabilityResult['verdict'] {
  const results = checkRegisterHistory(ops);
  expect(results).toHaveLength(1);
  return results[0]!.verdict;
}

describe('linearizable register histories', () => {
  it('accepts a sequential history, a never-written register reading null', () => {
    expect(verdictOf([read(null, 0, 5), write('v1', 10, 20), read('v1', 30, 40), write('v2', 50, 60), read('v2', 70, 80)])).toBe('linearizable');
  });

  it('accepts a read concurrent with a write that sees either value', () => {
    const before = write('v1', 0, 10);
    expect(verdictOf([before, write('v2', 20, 100), read('v1', 30, 40, { client: 1 })])).toBe('linearizable');
    expect(verdictOf([before, write('v2', 20, 100), read('v2', 30, 40, { client: 1 })])).toBe('linearizable');
    // Two reads by one client, both inside the write: old then new is fine…
    expect(verdictOf([before, write('v2', 20, 100), read('v1', 30, 40, { client: 1 }), read('v2', 50, 60, { client: 1 })])).toBe('linearizable');
    // …new then old is not.
    expect(verdictOf([before, write('v2', 20, 100), read('v2', 30, 40, { client: 1 }), read('v1', 50, 60, { client: 1 })])).toBe('violation');
  });

  it('accepts cas that swapped and cas that did not', () => {
    const ops = [write('v1', 0, 10), cas('v1', 'v2', true, 20, 30), cas('v1', 'v3', false, 40, 50), read('v2', 60, 70), cas(null, 'v4', false, 80, 90), read('v2', 100, 110)];
    expect(verdictOf(ops)).toBe('linearizable');
  });

  it('accepts a history where an indeterminate write must have taken effect', () => {
    // v2's write timed out, yet a later read returns v2: it took effect, even after it timed out.
    const ops = [write('v1', 0, 10), indeterminate(write('v2', 20, 30)), read('v1', 40, 50), read('v2', 60, 70), write('v3', 80, 90), read('v3', 100, 110)];
    expect(verdictOf(ops)).toBe('linearizable');
  });

  it('accepts a history where an indeterminate write must never have taken effect', () => {
    // Reads keep returning v1 long after v2's write was invoked: it never happened (or after everything).
    const ops = [write('v1', 0, 10), indeterminate(write('v2', 20, 30)), read('v1', 40, 50), read('v1', 1000, 1010), read('v1', 5000, 5010)];
    expect(verdictOf(ops)).toBe('linearizable');
  });

  it('accepts an indeterminate cas that must have swapped, and one that must not have', () => {
    const swapped = [write('v1', 0, 10), indeterminate(cas('v1', 'v2', true, 20, 30)), read('v2', 40, 50)];
    expect(verdictOf(swapped)).toBe('linearizable');
    // The register held v1 when the cas could have run, yet it never swapped.
    const never = [write('v1', 0, 10), indeterminate(cas('v1', 'v2', true, 20, 30)), read('v1', 40, 50), read('v1', 60, 70)];
    expect(verdictOf(never)).toBe('linearizable');
    // It cannot have swapped after v3 replaced v1, so v2 must come from before v3.
    const tooLate = [write('v1', 0, 10), indeterminate(cas('v1', 'v2', true, 20, 30)), read('v1', 40, 50), write('v3', 60, 70), read('v2', 80, 90)];
    expect(verdictOf(tooLate)).toBe('violation');
  });

  it('leaves out failed ops and indeterminate reads', () => {
    const ops = [write('v1', 0, 10), failed(write('v2', 20, 30)), failed(read('v2', 40, 50)), { ...indeterminate(read('v1', 60, 70)), value: 'garbage' }, read('v1', 80, 90)];
    expect(verdictOf(ops)).toBe('linearizable');
  });

  it('takes the initial value from the options', () => {
    expect(checkRegisterHistory([read(0, 0, 10)], { initial: 0 })[0]!.verdict).toBe('linearizable');
    expect(checkRegisterHistory([read(0, 0, 10)])[0]!.verdict).toBe('violation');
  });
});

describe('violations', () => {
  it('catches a stale read and says which write overwrote the value', () => {
    const ops = [write('v1', 0, 10, { client: 0 }), write('v2', 20, 11_900, { client: 1 }), read('v1', 12_300, 12_345, { client: 3 })];
    const [result] = checkRegisterHistory(ops, { origin: 0 });
    expect(result).toMatchObject({ object: 'r1', verdict: 'violation', ops: 3 });
    const text = result!.explanation!.join('\n');
    expect(text).toContain('register r1: not linearizable');
    expect(text).toContain('holds v2');
    expect(text).toMatch(/client 3 read → v1 ok \[\+12\.300s→\+12\.345s\]: returned v1, but v1 was written by .* but overwritten by #\d+ client 1 write v2 ok \[\+0\.020s→\+11\.900s\], and no later write of v1 exists/);
  });

  it('catches a lost write: a read returns the old value after the new write completed', () => {
    const ops = [write('v1', 0, 10), write('v2', 20, 30), read('v2', 40, 50), read('v1', 60, 70, { client: 2 })];
    expect(verdictOf(ops)).toBe('violation');
    expect(verdictOf([write('v1', 0, 10), write('v2', 20, 30), read('v1', 40, 50)])).toBe('violation');
  });

  it('catches a cas that swapped when the register could not hold its expected value', () => {
    const ops = [write('v1', 0, 10), write('v2', 20, 30), cas('v1', 'v3', true, 40, 50)];
    const [result] = checkRegisterHistory(ops);
    expect(result!.verdict).toBe('violation');
    expect(result!.explanation!.join('\n')).toContain('swapped, so the register held v1, but v1 was written by');
  });

  it('catches a cas that did not swap when the register must have held its expected value', () => {
    const ops = [write('v1', 0, 10), cas('v1', 'v2', false, 20, 30)];
    const [result] = checkRegisterHistory(ops);
    expect(result!.verdict).toBe('violation');
    expect(result!.explanation!.join('\n')).toContain('did not swap, but the register held v1, its expected value');
  });

  it('catches a read of a value never written', () => {
    const [result] = checkRegisterHistory([write('v1', 0, 10), read('v9', 20, 30)]);
    expect(result!.verdict).toBe('violation');
    expect(result!.explanation!.join('\n')).toContain('returned v9, but no op writes v9');
  });

  it('catches a failed write whose value is read later', () => {
    const [result] = checkRegisterHistory([write('v1', 0, 10), failed(write('v2', 20, 30)), read('v2', 40, 50)]);
    expect(result!.verdict).toBe('violation');
    expect(result!.explanation!.join('\n')).toContain('the only write of v2 failed, which promised it took no effect');
  });

  it('keeps a violation on one object out of the verdicts of the others', () => {
    const ops = [
      write('a1', 0, 10, { object: 'a' }),
      write('b1', 0, 10, { object: 'b' }),
      write('a2', 20, 30, { object: 'a' }),
      write('b2', 20, 30, { object: 'b' }),
      read('a2', 40, 50, { object: 'a' }),
      read('b1', 40, 50, { object: 'b' }), // stale
      write('c1', 0, 10, { object: 'c' }),
      read('c1', 20, 30, { object: 'c' }),
    ];
    const results = checkRegisterHistory(ops);
    expect(results.map((r) => [r.object, r.verdict, r.ops])).toEqual([
      ['a', 'linearizable', 3],
      ['b', 'violation', 3],
      ['c', 'linearizable', 2],
    ]);
    expect(results[0]!.explanation).toBeUndefined();
  });

  it('refuses an ok read without a value and an ok cas without a result', () => {
    expect(() => checkRegisterHistory([read(undefined, 0, 10)])).toThrow(TypeError);
    expect(() => checkRegisterHistory([cas('v1', 'v2', true, 0, 10, { result: undefined })])).toThrow(TypeError);
  });
});

describe('the search', () => {
  it('tries every state a nondeterministic op may leave', () => {
    // A coin: `flip` lands on 0 or 1, `peek` returns the side up. Only the second outcome explains the peek.
    type Coin = { kind: 'flip' } | { kind: 'peek' };
    const coin: Model<number, Coin, number | null> = {
      init: () => -1,
      step: (state, input, output) => (input.kind === 'flip' ? [0, 1] : output === undefined || output === state ? [state] : []),
      key: String,
      inputKey: (input) => input.kind,
    };
    const history = (side: number) => [
      { input: { kind: 'flip' } as Coin, call: 0, answer: { at: 10, output: null } },
      { input: { kind: 'peek' } as Coin, call: 20, answer: { at: 30, output: side } },
    ];
    expect(searchLinearization(coin, history(1), 100)).toMatchObject({ verdict: 'linearizable', longest: [0, 1] });
    expect(searchLinearization(coin, history(2), 100).verdict).toBe('violation');
  });

  it('says unknown, never linearizable, when the step budget runs out', () => {
    const ops = generate(seededRandom(7), { objects: ['r1'], clients: 4, ops: 300, indeterminate: 5, failRate: 0.05 });
    expect(checkRegisterHistory(ops)[0]!.verdict).toBe('linearizable');
    const [result] = checkRegisterHistory(ops, { maxSteps: 50 });
    expect(result).toMatchObject({ verdict: 'unknown', steps: 50 });
    expect(result!.explanation![0]).toContain('the search stopped after 50 steps (maxSteps)');
  });

  it('says unknown, never linearizable, when the time budget runs out', () => {
    const ops = generate(seededRandom(7), { objects: ['r1'], clients: 4, ops: 300, indeterminate: 5, failRate: 0.05 });
    // A budget already spent (negative) stops the search at its first look at the clock, whatever the machine.
    const [result] = checkRegisterHistory(ops, { maxMs: -1 });
    expect(result).toMatchObject({ verdict: 'unknown' });
    expect(result!.explanation![0]).toContain('the search stopped after -1 ms (maxMs)');
  });

  it('checks a long history (3,000 ops, 8 clients, 30 indeterminate) to the right verdict', () => {
    const ops = generate(seededRandom(3000), { objects: ['r1'], clients: 8, ops: 3000, indeterminate: 30, failRate: 0.02 });
    expect(ops.filter((o) => o.outcome === 'indeterminate')).toHaveLength(30);
    expect(checkRegisterHistory(ops)[0]).toMatchObject({ verdict: 'linearizable', ops: 3000 });
  });
});

describe('random histories', () => {
  it('accepts histories of a register run with real concurrency, and catches one stale read put in', () => {
    let caught = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const rng = seededRandom(seed);
      const ops = generate(rng, { objects: ['a', 'b', 'c'], clients: 3 + Math.floor(rng() * 6), ops: 60 + Math.floor(rng() * 240), indeterminate: Math.floor(rng() * 8), failRate: 0.05 });
      const results = checkRegisterHistory(ops);
      expect(results.filter((r) => r.verdict !== 'linearizable').map((r) => r.explanation), `seed ${seed}`).toEqual([]);

      const corrupted = corruptRead(ops, rng);
      if (!corrupted) continue;
      caught++;
      const after = checkRegisterHistory(corrupted.ops);
      expect(after.map((r) => [r.object, r.verdict]), `seed ${seed}: read #${corrupted.read.index} made to return ${String(corrupted.read.value)}`).toEqual(
        results.map((r) => [r.object, r.object === corrupted.read.object ? 'violation' : 'linearizable']),
      );
    }
    // Nearly every history has a read to corrupt; a test that corrupts nothing proves nothing.
    expect(caught).toBeGreaterThan(150);
  });

  it('agrees with an exhaustive permutation checker on small histories', () => {
    const counts = { linearizable: 0, violation: 0 };
    for (let seed = 1; seed <= 3000; seed++) {
      const rng = seededRandom(seed);
      const ops = generate(rng, { objects: ['r1'], clients: 2 + Math.floor(rng() * 3), ops: 3 + Math.floor(rng() * 5), indeterminate: Math.floor(rng() * 3), failRate: 0.1, spread: 3 });
      // Half of them with one read changed to any value the run knows, legal or not.
      const reads = ops.filter((o) => o.kind === 'read' && o.outcome === 'ok');
      if (reads.length > 0 && rng() < 0.5) {
        const values = [null, 'nowhere', ...ops.flatMap((o) => [o.value, o.next]).filter((v) => v !== undefined)];
        const target = reads[Math.floor(rng() * reads.length)]!;
        target.value = values[Math.floor(rng() * values.length)];
      }
      const expected = bruteForce(ops) ? 'linearizable' : 'violation';
      counts[expected]++;
      expect(checkRegisterHistory(ops)[0]!.verdict, `seed ${seed}: ${ops.map((o) => JSON.stringify(o)).join('\n')}`).toBe(expected);
    }
    // Both verdicts are well represented, or the comparison says little.
    expect(counts.linearizable).toBeGreaterThan(1000);
    expect(counts.violation).toBeGreaterThan(300);
  });
});

// ---------------------------------------------------------------------------------------------
// Random histories.


interface GenerateOptions {
  objects: string[];
  clients: number;
  ops: number;
  /** How many ops are indeterminate. */
  indeterminate: number;
  /** Share of ops that fail (and take no effect). */
  failRate: number;
  /** Longest pause of a client between ops, ms. @default 3 */
  spread?: number;
}

/**
 * A history of registers run with real concurrency: each client issues one op at a time; each op
 * takes effect at a random instant inside its interval (an indeterminate write or cas at a random
 * instant after its invocation, possibly after it gave up, or never; a failed op never), and the
 * registers, applied in that order, give every answer. Linearizable by construction.
 */
function generate(rng: () => number, options: GenerateOptions): RegisterOp[] {
  const spread = options.spread ?? 3;
  const clocks = Array.from({ length: options.clients }, () => 0);
  const ops: RegisterOp[] = [];
  let written = 0;
  for (let i = 0; i < options.ops; i++) {
    // The client that is free first invokes next, so ops come in invocation order.
    const client = clocks.indexOf(Math.min(...clocks));
    const invokedAt = clocks[client]! + Math.floor(rng() * spread);
    const completedAt = invokedAt + 1 + Math.floor(rng() * (rng() < 0.05 ? 200 : 20));
    clocks[client] = completedAt;
    const object = options.objects[Math.floor(rng() * options.objects.length)]!;
    const r = rng();
    const kind = r < 0.4 ? 'read' : r < 0.75 ? 'write' : 'cas';
    const o: RegisterOp = { index: i, object, client, kind, invokedAt, completedAt, outcome: rng() < options.failRate ? 'fail' : 'ok' };
    if (kind === 'write') o.value = `v${++written}`;
    if (kind === 'cas') o.next = `v${++written}`;
    ops.push(o);
  }
  for (let n = 0; n < Math.min(options.indeterminate, ops.length); ) {
    const o = ops[Math.floor(rng() * ops.length)]!;
    if (o.outcome === 'indeterminate') continue;
    o.outcome = 'indeterminate';
    if (rng() < 0.5) delete o.completedAt; // never answered; else it timed out at completedAt
    n++;
  }

  // When each op takes effect, if ever.
  const effects: Array<{ at: number; op: RegisterOp }> = [];
  for (const o of ops) {
    const span = (o.completedAt ?? o.invokedAt + 20) - o.invokedAt;
    if (o.outcome === 'ok') effects.push({ at: o.invokedAt + rng() * span, op: o });
    else if (o.outcome === 'indeterminate' && o.kind !== 'read' && rng() < 0.6) effects.push({ at: o.invokedAt + rng() * span * 4, op: o });
  }
  effects.sort((a, b) => a.at - b.at);
  const state = new Map<string, unknown>();
  const seen = new Map<string, unknown[]>();
  const pickExpected = (object: string) => {
    const values = seen.get(object) ?? [null];
    return rng() < 0.5 ? (state.get(object) ?? null) : values[Math.floor(rng() * values.length)];
  };
  for (const { op: o } of effects) {
    const current = state.get(o.object) ?? null;
    if (o.kind === 'read') o.value = current;
    if (o.kind === 'write') state.set(o.object, o.value);
    if (o.kind === 'cas') {
      o.expected = pickExpected(o.object);
      const swapped = current === o.expected;
      if (swapped) state.set(o.object, o.next);
      if (o.outcome === 'ok') o.result = swapped;
    }
    if (o.kind !== 'read') seen.set(o.object, [...(seen.get(o.object) ?? [null]), state.get(o.object)]);
  }
  // Ops that never took effect: a cas still expected something.
  for (const o of ops) if (o.kind === 'cas' && o.expected === undefined) o.expected = pickExpected(o.object);
  return ops;
}

/**
 * A copy of the history with one ok read made to return a value that cannot be current: one its
 * writer wrote before an ok write or swap that completed before the read was invoked (values are
 * unique, so nothing brings it back), or the value of a failed write. Undefined if no read qualifies.
 */
function corruptRead(ops: readonly RegisterOp[], rng: () => number): { ops: RegisterOp[]; read: RegisterOp } | undefined {
  const changes = (o: RegisterOp) => o.outcome === 'ok' && (o.kind === 'write' || (o.kind === 'cas' && o.result === true));
  const written = (o: RegisterOp) => (o.kind === 'write' ? o.value : o.next);
  const reads = ops.filter((o) => o.kind === 'read' && o.outcome === 'ok');
  for (let tries = 0; tries < 20 && reads.length > 0; tries++) {
    const target = reads[Math.floor(rng() * reads.length)]!;
    const same = ops.filter((o) => o.object === target.object);
    const failedValues = same.filter((o) => o.outcome === 'fail' && o.kind !== 'read').map(written);
    const stale = same.flatMap((w) =>
      changes(w) && same.some((w2) => changes(w2) && w.completedAt! < w2.invokedAt && w2.completedAt! < target.invokedAt) ? [written(w)] : [],
    );
    const candidates = [...stale, ...failedValues].filter((v) => v !== target.value);
    if (candidates.length === 0) continue;
    const value = candidates[Math.floor(rng() * candidates.length)];
    const read = { ...target, value };
    return { ops: ops.map((o) => (o === target ? read : o)), read };
  }
  return undefined;
}

/**
 * The specification, by exhaustion: some subset of the indeterminate ops, together with every ok
 * op, runs on a register in some order that respects real time (an ok op that completed before
 * another was invoked comes first) and gives every ok answer. An indeterminate cas whose expected
 * value is there may swap or do nothing.
 */
function bruteForce(ops: readonly RegisterOp[], initial: unknown = null): boolean {
  const kept = ops.filter((o) => o.outcome !== 'fail' && !(o.outcome === 'indeterminate' && o.kind === 'read'));
  const must = kept.filter((o) => o.outcome === 'ok');
  const may = kept.filter((o) => o.outcome === 'indeterminate');
  const precedes = (a: RegisterOp, b: RegisterOp) => a.outcome === 'ok' && a.completedAt! < b.invokedAt;
  const apply = (o: RegisterOp, state: unknown): unknown[] => {
    if (o.kind === 'read') return o.value === state ? [state] : [];
    if (o.kind === 'write') return [o.value];
    if (o.outcome === 'indeterminate') return state === o.expected ? [o.next, state] : [state];
    return o.result === (state === o.expected) ? [o.result ? o.next : state] : [];
  };
  for (let mask = 0; mask < 1 << may.length; mask++) {
    const chosen = [...must, ...may.filter((_, i) => (mask & (1 << i)) !== 0)];
    const used = chosen.map(() => false);
    const order = (depth: number, state: unknown): boolean => {
      if (depth === chosen.length) return true;
      for (let i = 0; i < chosen.length; i++) {
        if (used[i] || chosen.some((other, j) => !used[j] && j !== i && precedes(other, chosen[i]!))) continue;
        used[i] = true;
        for (const next of apply(chosen[i]!, state)) if (order(depth + 1, next)) return true;
        used[i] = false;
      }
      return false;
    };
    if (order(0, initial)) return true;
  }
  return false;
}
