/**
 * What each node holds, counted from the cluster's active objects: objects per node and type, and
 * a node's busiest objects. One pass over every object; pure; unit-tested.
 */
import { liveRate } from './object-table.ts';
import type { ObjectView } from '@highlander/admin-api/protocol';

export interface NodeCounts {
  /** Objects per owner, then per type. */
  byNode: Map<string, { total: number; byType: Map<string, number> }>;
  /** Every type seen, sorted. */
  types: string[];
}

export function countObjects(objects: Iterable<ObjectView>): NodeCounts {
  const byNode: NodeCounts['byNode'] = new Map();
  const types = new Set<string>();
  for (const o of objects) {
    let entry = byNode.get(o.owner);
    if (!entry) byNode.set(o.owner, (entry = { total: 0, byType: new Map() }));
    entry.total++;
    entry.byType.set(o.type, (entry.byType.get(o.type) ?? 0) + 1);
    types.add(o.type);
  }
  return { byNode, types: [...types].sort() };
}

/** Objects owned by `node`. */
export function countOwnedBy(objects: Iterable<ObjectView>, node: string): number {
  let n = 0;
  for (const o of objects) if (o.owner === node) n++;
  return n;
}

/** The `limit` busiest objects of `node` at `now` (by live calls/s, then by id), with their rate. */
export function busiestObjects(objects: Iterable<ObjectView>, node: string, limit: number, now: number): { object: ObjectView; callsPerSecond: number }[] {
  const top: { object: ObjectView; callsPerSecond: number }[] = [];
  if (limit <= 0) return top;
  const better = (a: { object: ObjectView; callsPerSecond: number }, b: { object: ObjectView; callsPerSecond: number }) =>
    a.callsPerSecond > b.callsPerSecond || (a.callsPerSecond === b.callsPerSecond && `${a.object.type}/${a.object.id}` < `${b.object.type}/${b.object.id}`);
  for (const object of objects) {
    if (object.owner !== node) continue;
    const entry = { object, callsPerSecond: liveRate(object, now) };
    if (top.length === limit && !better(entry, top[top.length - 1]!)) continue;
    // Insert in order: `limit` is small (tens), a node may hold tens of thousands.
    let i = top.length;
    while (i > 0 && better(entry, top[i - 1]!)) i--;
    top.splice(i, 0, entry);
    if (top.length > limit) top.pop();
  }
  return top;
}
