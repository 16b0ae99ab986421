import { objectKey } from '@highlander/runtime';
import type { ClusterModel, ClusterSummary, ModelDelta, NodeView, ObjectView } from '../contracts.js';
import type { ObjectRow, SummaryDelta, SummarySnapshot } from './protocol.js';

/**
 * One client's `summary` subscription: the cluster summary and nodes (and, when asked, every
 * active object as a row) in a snapshot, then the latest view of each node and object that changed
 * since the last flush, with a fresh summary.
 */
export class SummaryScope {
  #subscribed = false;
  readonly #nodes = new Map<string, NodeView | null>();
  readonly #objects = new Map<string, { type: string; id: string; object: ObjectView | null }>();
  /** Something changed that only the summary shows (an event: its cursor). */
  #dirty = false;

  get subscribed(): boolean {
    return this.#subscribed;
  }

  /** Changes waiting for the next flush. */
  get pendingCount(): number {
    return this.#nodes.size + this.#objects.size;
  }

  hasPending(): boolean {
    return this.#subscribed && (this.#dirty || this.#nodes.size > 0 || this.#objects.size > 0);
  }

  /** Subscribes (again: what was pending is in the snapshot). */
  subscribe(): void {
    this.#subscribed = true;
    this.#clear();
  }

  unsubscribe(): void {
    this.#subscribed = false;
    this.#clear();
  }

  /** The snapshot to send right after subscribing. */
  snapshot(model: ClusterModel, withObjects: boolean): SummarySnapshot {
    if (!withObjects) return { kind: 'snapshot', scope: 'summary', summary: model.summary(), nodes: model.nodes() };
    const objects = model.objects({ limit: Number.MAX_SAFE_INTEGER }).items.map(toObjectRow);
    return { kind: 'snapshot', scope: 'summary', summary: model.summary(), nodes: model.nodes(), objects };
  }

  /** Files a model change; true when it is news for this subscription. */
  offer(delta: ModelDelta): boolean {
    if (!this.#subscribed) return false;
    switch (delta.kind) {
      case 'node':
        this.#nodes.set(delta.name, delta.node);
        break;
      case 'object':
        this.#objects.set(objectKey(delta.type, delta.id), { type: delta.type, id: delta.id, object: delta.object });
        break;
      case 'event':
        break;
      case 'lockQueue':
        return false;
    }
    this.#dirty = true;
    return true;
  }

  /** The delta of what changed since the last flush (and forgets it), or null when nothing did. */
  flush(summary: () => ClusterSummary): SummaryDelta | null {
    if (!this.hasPending()) return null;
    const delta: SummaryDelta = {
      kind: 'delta', scope: 'summary', summary: summary(),
      nodes: [...this.#nodes].map(([name, node]) => ({ name, node })),
      objects: [...this.#objects.values()],
    };
    this.#clear();
    return delta;
  }

  #clear(): void {
    this.#nodes.clear();
    this.#objects.clear();
    this.#dirty = false;
  }
}

/** An ObjectView as the tuple the summary snapshot carries (see protocol.ts). */
export function toObjectRow(o: ObjectView): ObjectRow {
  return [o.type, o.id, o.owner, o.epoch, o.activeSince, o.lastCallAt, o.callsPerSecond, o.queueLength, o.waiting];
}
