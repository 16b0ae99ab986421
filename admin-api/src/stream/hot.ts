import type { ClusterModel, HotQuery, ModelDelta } from '../contracts.js';
import type { HotDelta, HotSnapshot } from './protocol.js';

/**
 * One client's `hot` subscription: the hottest objects by one figure (GET /api/hot's rows) in a
 * snapshot, then the ranking again after each `stats` interval of any node (or a node leaving),
 * at most once per flush. The rows are computed at the flush, from the model's bounded aggregate
 * (model/hot-objects.ts): nothing is kept per change.
 */
export class HotScope {
  #query: HotQuery | null = null;
  #dirty = false;

  get subscribed(): boolean {
    return this.#query !== null;
  }

  /** A ranking waits for the next flush (one, however many intervals ended). */
  get pendingCount(): number {
    return this.#dirty ? 1 : 0;
  }

  hasPending(): boolean {
    return this.#query !== null && this.#dirty;
  }

  /** Subscribes (again, with a new query) and returns the snapshot to send now. */
  subscribe(model: ClusterModel, query: HotQuery): HotSnapshot {
    this.#query = query;
    this.#dirty = false;
    return { kind: 'snapshot', scope: 'hot', ...echo(query), items: model.hot(query) };
  }

  unsubscribe(): void {
    this.#query = null;
    this.#dirty = false;
  }

  /** Files a model change; true when it is news for this subscription (a node's stats, a node gone). */
  offer(delta: ModelDelta): boolean {
    if (this.#query === null) return false;
    const news = (delta.kind === 'event' && (delta.event.kind === 'stats' || delta.event.kind === 'node.down' || delta.event.kind === 'node.session-lost'))
      || (delta.kind === 'node' && delta.node === null);
    if (news) this.#dirty = true;
    return news;
  }

  /** The ranking now, when an interval ended since the last flush; else null. */
  flush(model: ClusterModel): HotDelta | null {
    if (!this.hasPending()) return null;
    this.#dirty = false;
    const query = this.#query!;
    return { kind: 'delta', scope: 'hot', ...echo(query), items: model.hot(query) };
  }
}

function echo(query: HotQuery): Pick<HotSnapshot, 'by' | 'type' | 'node' | 'limit'> {
  return { by: query.by, limit: query.limit, ...(query.type !== undefined ? { type: query.type } : {}), ...(query.node !== undefined ? { node: query.node } : {}) };
}
