import { describe, expect, it } from 'vitest';
import { assessBalance, planMoves, type PlanInput, type PlanNode, type PlanObject, type RebalancePolicy } from '../../admin-api/src/rebalance/plan.js';

/** The rebalancer's pure planning: when a cluster is out of balance, and which objects go where next. */

const POLICY: RebalancePolicy = { thresholdPercent: 20, minDifference: 2, cooldownMs: 60_000 };

function up(name: string, activations: number, extra: Partial<PlanNode> = {}): PlanNode {
  return { name, status: 'up', full: false, activations, ...extra };
}

/** `count` objects on `node`, `c-<node>-<i>`, with calls/s from `rate(i)`. */
function objects(node: string, count: number, rate: (i: number) => number = () => 0): PlanObject[] {
  return Array.from({ length: count }, (_, i) => ({ type: 'counter', id: `c-${node}-${String(i).padStart(3, '0')}`, owner: node, callsPerSecond: rate(i), waiting: 0 }));
}

function input(nodes: PlanNode[], byNode: Record<string, PlanObject[]>, extra: Partial<PlanInput> = {}): PlanInput {
  return { nodes, pending: [], objectsOf: (n) => byNode[n] ?? [], lastMoved: new Map(), now: 1_000_000, policy: POLICY, limit: 100, ...extra };
}

/** Applies moves to the node counts, as the model would once they are done. */
function after(nodes: PlanNode[], moves: Array<{ from: string; to: string }>): PlanNode[] {
  return nodes.map((n) => ({ ...n, activations: n.activations - moves.filter((m) => m.from === n.name).length + moves.filter((m) => m.to === n.name).length }));
}

describe('assessBalance', () => {
  it('is balanced inside the band of max(threshold × mean, minimum difference), and says who gives and who takes outside it', () => {
    expect(assessBalance([up('a', 10), up('b', 9), up('c', 11)], [], POLICY)).toMatchObject({ mean: 10, allowance: 2, balanced: true, remaining: 0 });
    const skewed = assessBalance([up('a', 30), up('b', 10), up('c', 10), up('d', 0)], [], POLICY);
    expect(skewed).toMatchObject({ mean: 12.5, allowance: 2.5, balanced: false });
    expect(skewed.nodes.map((n) => [n.name, n.role])).toEqual([['a', 'gives'], ['b', 'balanced'], ['c', 'balanced'], ['d', 'takes']]);
    // a must give 15 (to 15), d must take 10 (to 10): the larger is what remains.
    expect(skewed.remaining).toBe(15);
  });

  it('does not churn a tiny cluster: within the minimum difference is balanced', () => {
    expect(assessBalance([up('a', 3), up('b', 1)], [], POLICY).balanced).toBe(true);
    expect(assessBalance([up('a', 5), up('b', 0)], [], POLICY).balanced).toBe(false);
  });

  it('counts pending moves as done', () => {
    // Mean 4, band 2..6.
    expect(assessBalance([up('a', 8), up('b', 0)], [{ type: 't', id: '1', from: 'a', to: 'b' }], POLICY).balanced).toBe(false);
    const moves = ['1', '2'].map((id) => ({ type: 't', id, from: 'a', to: 'b' }));
    expect(assessBalance([up('a', 8), up('b', 0)], moves, POLICY)).toMatchObject({ balanced: true, nodes: [{ objects: 6 }, { objects: 2 }] });
  });

  it('leaves draining and unreachable nodes out; a full node is not in the mean, gives above the band and is not waited for below it', () => {
    const balance = assessBalance([up('a', 10), up('b', 10), up('c', 0, { status: 'draining' }), up('d', 40, { status: 'unreachable' }), up('e', 2, { full: true })], [], POLICY);
    expect(balance.nodes.map((n) => [n.name, n.role, n.excluded])).toEqual([
      ['a', 'balanced', undefined], ['b', 'balanced', undefined], ['c', 'excluded', 'draining'], ['d', 'excluded', 'unreachable'], ['e', 'excluded', 'full'],
    ]);
    expect(balance.balanced).toBe(true);
    const fullAbove = assessBalance([up('a', 5), up('b', 5), up('e', 12, { full: true })], [], POLICY);
    expect(fullAbove.nodes.map((n) => n.role)).toEqual(['balanced', 'balanced', 'gives']);
    expect(fullAbove.balanced).toBe(false);
  });

  it('a lone node, or no node that may take an object, is balanced', () => {
    expect(assessBalance([up('a', 100)], [], POLICY).balanced).toBe(true);
    expect(assessBalance([up('a', 100), up('b', 0, { full: true })], [], POLICY).balanced).toBe(true);
  });
});

describe('planMoves', () => {
  it('fills a new node from the fullest ones until every node is inside the band, and no further', () => {
    const nodes = [up('a', 30), up('b', 10), up('c', 10), up('d', 0)];
    const moves = planMoves(input(nodes, { a: objects('a', 30), b: objects('b', 10), c: objects('c', 10) }));
    // Mean 12.5, band 10..15: only a gives; d fills first (always the emptiest), then the others share.
    expect(moves.every((m) => m.from === 'a')).toBe(true);
    expect(moves.slice(0, 10).every((m) => m.to === 'd')).toBe(true);
    expect(new Set(moves.map((m) => m.id)).size).toBe(moves.length);
    const balanced = after(nodes, moves);
    expect(balanced.map((n) => n.activations)).toEqual([15, 12, 12, 11]);
    expect(assessBalance(balanced, [], POLICY).balanced).toBe(true);
    // It stops at the band: one move fewer would leave d below it.
    expect(assessBalance(after(nodes, moves.slice(0, -1)), [], POLICY).balanced).toBe(false);
    expect(planMoves(input(balanced, {}))).toEqual([]);
  });

  it('moves the coldest objects first; objects with nodes waiting in their lock queue stay', () => {
    const a = objects('a', 8, (i) => 100 - i * 10);
    a[7]!.waiting = 1; // the coldest, but something already waits for it
    const moves = planMoves(input([up('a', 8), up('b', 0)], { a }));
    // Mean 4, band 2..6: two moves, the two coldest without waiters.
    expect(moves.map((m) => m.id)).toEqual(['c-a-006', 'c-a-005']);
  });

  it('never moves an object again within the cool-down, nor one with a move under way', () => {
    // Mean 6, band 4..8: with the pending move, three more.
    const a = objects('a', 12);
    const lastMoved = new Map([['counter/c-a-000', 1_000_000 - 59_999], ['counter/c-a-001', 1_000_000 - 60_000]]);
    const pending = [{ type: 'counter', id: 'c-a-002', from: 'a', to: 'b' }];
    const moves = planMoves(input([up('a', 12), up('b', 0)], { a }, { lastMoved, pending }));
    // c-a-000 cools down still, c-a-001 just came out of it, c-a-002 is under way (and counts as done).
    expect(moves.map((m) => m.id)).toEqual(['c-a-001', 'c-a-003', 'c-a-004']);
  });

  it('takes from the next fullest node when the fullest has nothing it may move', () => {
    const lastMoved = new Map(objects('a', 12).map((o) => [`counter/${o.id}`, 1_000_000]));
    const moves = planMoves(input([up('a', 12), up('b', 11), up('c', 0)], { a: objects('a', 12), b: objects('b', 11) }, { lastMoved, limit: 1 }));
    expect(moves).toEqual([{ type: 'counter', id: 'c-b-000', from: 'b', to: 'c' }]);
  });

  it('never targets a full, draining or unreachable node, and respects the limit', () => {
    const nodes = [up('a', 20), up('b', 0, { full: true }), up('c', 0, { status: 'draining' }), up('d', 0, { status: 'unreachable' }), up('e', 0)];
    const moves = planMoves(input(nodes, { a: objects('a', 20) }, { limit: 3 }));
    expect(moves).toHaveLength(3);
    expect(moves.every((m) => m.to === 'e' && m.from === 'a')).toBe(true);
    // Nowhere to go: nothing planned.
    expect(planMoves(input([up('a', 20), up('b', 0, { full: true })], { a: objects('a', 20) }))).toEqual([]);
  });
});
