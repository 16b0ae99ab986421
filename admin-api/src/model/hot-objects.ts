import { roundMs } from '@highlander/kit';
import type { LifecycleEvent } from '@highlander/runtime';
import type { HotObjectView, HotQuery, HotRanking } from '../contracts.js';

type StatsEvent = Extract<LifecycleEvent, { kind: 'stats' }>;

/** One node's latest `stats` event, as rows. */
interface NodeEntries {
  rows: HotObjectView[];
  /** Wall-clock ms of the event's arrival, and its interval: the rows count until they are stale. */
  at: number;
  intervalMs: number;
}

/** A row's figure for a ranking. */
export const HOT_FIGURES: Readonly<Record<HotRanking, (row: HotObjectView) => number>> = {
  calls: (r) => r.callsPerSecond,
  errors: (r) => r.errorRate,
  p99: (r) => r.p99Ms,
  queue: (r) => r.queue,
  state: (r) => r.stateBytes,
};

/**
 * The hottest objects, from each node's latest `stats` event: the objects it lists (the busiest
 * of the interval, at most 1,000 per node) with their calls per second, error rate, p99 latency,
 * mailbox length and state size. No per-call events and nothing per active object: it holds at
 * most nodes × 1,000 rows, replaced per node at each interval, so its memory and the cost of a
 * query are bounded by that, however many objects are active.
 *
 * A node's rows count while its latest event is fresh (it sends none in an interval without calls)
 * and go when it leaves. Ranked by one figure, highest first; ties by calls per second, then type
 * and id, so the order is stable between intervals.
 *
 * ```ts
 * const hot = new HotObjects();
 * hot.update(statsEvent, Date.now());
 * hot.query({ by: 'p99', limit: 20 }, Date.now());
 * ```
 */
export class HotObjects {
  readonly #byNode = new Map<string, NodeEntries>();

  /**
   * Replaces the node's rows with those of its latest `stats` event (`now`: its arrival). They date
   * from the event's time when that is earlier: an old event replayed from a node's backlog (a new
   * model, a resumed stream) is not shown as current.
   */
  update(event: StatsEvent, now: number): void {
    const perSecond = 1000 / event.intervalMs;
    const rows = (event.objects ?? []).map((o): HotObjectView => ({
      type: o.type,
      id: o.id,
      node: event.node,
      callsPerSecond: roundMs(o.calls * perSecond),
      // Figures absent from nodes of earlier versions count as 0.
      errorRate: o.calls > 0 ? roundMs((o.errors ?? 0) / o.calls, 4) : 0,
      p99Ms: o.p99Ms ?? 0,
      queue: o.queue,
      stateBytes: o.stateBytes ?? 0,
    }));
    this.#byNode.set(event.node, { rows, at: Math.min(now, event.time), intervalMs: event.intervalMs });
  }

  /** A node left: its rows go with it. */
  dropNode(node: string): void {
    this.#byNode.delete(node);
  }

  /** Rows held (for tests and the benchmark: at most nodes × 1,000). */
  get size(): number {
    let n = 0;
    for (const entries of this.#byNode.values()) n += entries.rows.length;
    return n;
  }

  /** The top `limit` rows by `by` among the fresh nodes' rows, filtered by type and node. */
  query(query: HotQuery, now: number): HotObjectView[] {
    const candidates: HotObjectView[] = [];
    for (const [node, entries] of this.#byNode) {
      if (query.node !== undefined && node !== query.node) continue;
      if (!isFresh(entries, now)) continue;
      for (const row of entries.rows) if (query.type === undefined || row.type === query.type) candidates.push(row);
    }
    return topRows(candidates, query.by, query.limit);
  }
}

/** A node's rows are for its last interval; with no event for two intervals (and a margin), it has no calls. */
function isFresh(entries: NodeEntries, now: number): boolean {
  return now - entries.at < 2 * entries.intervalMs + 500;
}

/** Orders rows by `by`, highest first, ties by calls per second, then type and id. */
export function compareRows(by: HotRanking): (a: HotObjectView, b: HotObjectView) => number {
  const figure = HOT_FIGURES[by];
  return (a, b) => figure(b) - figure(a) || b.callsPerSecond - a.callsPerSecond || cmp(a.type, b.type) || cmp(a.id, b.id) || cmp(a.node, b.node);
}

/**
 * The first `limit` of `rows` in {@link compareRows} order. A ranking by a figure the rows lack
 * (no errors anywhere) still lists rows: the ties fall back to calls per second.
 */
export function topRows(rows: readonly HotObjectView[], by: HotRanking, limit: number): HotObjectView[] {
  const compare = compareRows(by);
  // Few wanted of many: keep a sorted window of `limit` rows (O(n log limit) compares at worst, O(n) typically).
  if (limit * 8 < rows.length) {
    const top: HotObjectView[] = [];
    for (const row of rows) {
      if (top.length === limit && compare(row, top[limit - 1]!) >= 0) continue;
      let lo = 0;
      let hi = top.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compare(row, top[mid]!) < 0) hi = mid;
        else lo = mid + 1;
      }
      top.splice(lo, 0, row);
      if (top.length > limit) top.pop();
    }
    return top;
  }
  return [...rows].sort(compare).slice(0, limit);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
