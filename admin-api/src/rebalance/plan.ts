/**
 * Automatic rebalancing, the pure part: whether the cluster is balanced, and which objects to move
 * where next. No I/O and no clock of its own (the rebalancer, rebalancer.ts, passes `now`), so it is
 * tested on its own (test/admin-api/rebalance-plan.test.ts).
 *
 * Load is counted in active objects per node: what a node's memory, its lock budget and its share of
 * ZooKeeper's lock znodes grow with. The nodes that take part are those `up` (a full node too: it may
 * give objects away when above the band, but it never takes one, and the mean is over the nodes that may
 * take objects); a draining or unreachable node neither gives nor takes.
 *
 * A node is out of balance when its count is further from the mean than the allowance:
 * `max(mean × thresholdPercent / 100, minDifference)`. The minimum difference keeps tiny clusters from
 * churning (3 objects on 2 nodes are balanced enough). A node above the band gives objects; a node
 * below it that may take them (up, not full) receives them. Moves go from the node with the most
 * objects to the one with the fewest, one object at a time, until every node is inside the band.
 *
 * Which objects: the coldest first (fewest calls per second, then none waiting in their lock queue).
 * A migration holds an object's calls while its state is handed over, so moving a cold object
 * disturbs the fewest calls, and balance is counted in objects: a cold object relieves as much as a
 * hot one. Hot objects stay with their warm owner. An object moved (or tried) within the cool-down is
 * not moved again, nor one with a move in flight, nor one with nodes waiting in its lock queue (a
 * migration or an activation is already under way there).
 */

export interface RebalancePolicy {
  /** A node more than this many percent of the mean above (or below) it is out of balance. */
  thresholdPercent: number;
  /** …and only when it is at least this many objects away from the mean. */
  minDifference: number;
  /** An object moved (or tried) is not moved again within this long. */
  cooldownMs: number;
}

export interface PlanNode {
  name: string;
  status: 'up' | 'draining' | 'unreachable';
  /** At its lock budget: it takes no object. */
  full: boolean;
  /** Active objects it owns, as the model sees them. */
  activations: number;
}

export interface PlanObject {
  type: string;
  id: string;
  owner: string;
  callsPerSecond: number;
  /** Nodes waiting in its lock queue behind the owner. */
  waiting: number;
}

/** A move planned, in flight, or done but not yet seen by the model. */
export interface PlannedMove {
  type: string;
  id: string;
  from: string;
  to: string;
}

export type NodeRole = 'gives' | 'takes' | 'balanced' | 'excluded';

export interface NodeBalance {
  name: string;
  /** Its active objects, counting moves under way as done. */
  objects: number;
  /** `gives`: above the band; `takes`: below it and may take objects; `excluded`: draining, unreachable, or full (and not above the band). */
  role: NodeRole;
  /** Why it takes no part, for `excluded`. */
  excluded?: 'draining' | 'unreachable' | 'full';
}

export interface Balance {
  /** Mean active objects of the nodes that may take objects (up, not full). */
  mean: number;
  /** How far from the mean a node may be. */
  allowance: number;
  balanced: boolean;
  nodes: NodeBalance[];
  /** Moves still needed to bring every node inside the band (an estimate: moves under way count as done). */
  remaining: number;
}

/**
 * The balance of `nodes`, counting the `pending` moves (in flight, or done but not yet in the model)
 * as done: their source has one object fewer, their target one more.
 */
export function assessBalance(nodes: readonly PlanNode[], pending: readonly PlannedMove[], policy: RebalancePolicy): Balance {
  const counts = new Map(nodes.map((n) => [n.name, n.activations]));
  for (const move of pending) {
    if (counts.has(move.from)) counts.set(move.from, counts.get(move.from)! - 1);
    if (counts.has(move.to)) counts.set(move.to, counts.get(move.to)! + 1);
  }
  // The mean is over the nodes that may take objects: a full node is at its budget whatever the others hold.
  const taking = nodes.filter((n) => n.status === 'up' && !n.full);
  const total = taking.reduce((sum, n) => sum + counts.get(n.name)!, 0);
  const mean = taking.length > 0 ? total / taking.length : 0;
  const allowance = Math.max((mean * policy.thresholdPercent) / 100, policy.minDifference);
  let over = 0;
  let under = 0;
  const views = nodes.map((n): NodeBalance => {
    const objects = counts.get(n.name)!;
    if (n.status !== 'up') return { name: n.name, objects, role: 'excluded', excluded: n.status };
    if (objects > mean + allowance) {
      over += Math.ceil(objects - (mean + allowance));
      return { name: n.name, objects, role: 'gives' };
    }
    if (n.full) return { name: n.name, objects, role: 'excluded', excluded: 'full' };
    if (objects < mean - allowance) {
      under += Math.ceil(mean - allowance - objects);
      return { name: n.name, objects, role: 'takes' };
    }
    return { name: n.name, objects, role: 'balanced' };
  });
  // Nowhere to put an object (no node, or one that would give to itself): nothing to do, so balanced as far as moves go.
  const balanced = taking.length === 0 || (taking.length === 1 && !views.some((v) => v.role === 'gives' && v.name !== taking[0]!.name)) || (over === 0 && under === 0);
  return { mean, allowance, balanced, nodes: views, remaining: balanced ? 0 : Math.max(over, under) };
}

export interface PlanInput {
  nodes: readonly PlanNode[];
  /** Moves in flight or not yet seen by the model (they count as done, and their objects are not moved again). */
  pending: readonly PlannedMove[];
  /** A node's active objects (any order). */
  objectsOf(node: string): readonly PlanObject[];
  /** `type/id` → when it was last moved or tried (ms). */
  lastMoved: ReadonlyMap<string, number>;
  now: number;
  policy: RebalancePolicy;
  /** At most this many moves. */
  limit: number;
}

/** The next moves (at most `limit`) towards balance: none when balanced. */
export function planMoves(input: PlanInput): PlannedMove[] {
  const { nodes, pending, policy } = input;
  const moves: PlannedMove[] = [];
  const busy = new Set(pending.map((m) => objectKey(m.type, m.id)));
  const exhausted = new Set<string>();
  const candidates = new Map<string, PlanObject[]>();
  const movable = (node: string): PlanObject[] => {
    let list = candidates.get(node);
    if (!list) {
      list = input.objectsOf(node)
        .filter((o) => o.owner === node && o.waiting === 0 && !busy.has(objectKey(o.type, o.id)) && !coolingDown(input, o))
        .sort((a, b) => a.callsPerSecond - b.callsPerSecond || cmp(a.type, b.type) || cmp(a.id, b.id));
      candidates.set(node, list);
    }
    return list;
  };
  while (moves.length < input.limit) {
    const balance = assessBalance(nodes, [...pending, ...moves], policy);
    if (balance.balanced) break;
    const full = new Set(nodes.filter((n) => n.full).map((n) => n.name));
    const takers = balance.nodes.filter((n) => n.role !== 'excluded' && !full.has(n.name));
    const givers = balance.nodes.filter((n) => n.role !== 'excluded' && !exhausted.has(n.name));
    const target = minBy(takers);
    if (!target) break;
    // The fullest node that still has an object to give, unless giving one would not narrow the gap.
    const source = [...givers].sort((a, b) => b.objects - a.objects || cmp(a.name, b.name)).find((n) => n.name !== target.name);
    if (!source || source.objects - target.objects < 2) break;
    const object = movable(source.name).shift();
    if (!object) {
      exhausted.add(source.name);
      continue;
    }
    moves.push({ type: object.type, id: object.id, from: source.name, to: target.name });
  }
  return moves;
}

export function objectKey(type: string, id: string): string {
  return `${type}/${id}`;
}

function coolingDown(input: PlanInput, o: PlanObject): boolean {
  const last = input.lastMoved.get(objectKey(o.type, o.id));
  return last !== undefined && input.now - last < input.policy.cooldownMs;
}

function minBy(nodes: readonly NodeBalance[]): NodeBalance | undefined {
  return [...nodes].sort((a, b) => a.objects - b.objects || cmp(a.name, b.name))[0];
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
