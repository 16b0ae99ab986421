import type { RebalanceMessage, RebalanceView } from './protocol.js';

/**
 * One client's `rebalance` subscription: automatic rebalancing's status (as GET /api/rebalance
 * answers it) in a snapshot, then again after the rebalancer changed (a move started or ended,
 * paused, resumed, the lock or the balance changed), at most once per flush. Nothing is kept per
 * change: the status is built at the flush.
 */
export class RebalanceScope {
  #subscribed = false;
  #dirty = false;

  get subscribed(): boolean {
    return this.#subscribed;
  }

  get pendingCount(): number {
    return this.#dirty ? 1 : 0;
  }

  hasPending(): boolean {
    return this.#subscribed && this.#dirty;
  }

  subscribe(status: () => RebalanceView): RebalanceMessage {
    this.#subscribed = true;
    this.#dirty = false;
    return { kind: 'snapshot', scope: 'rebalance', status: status() };
  }

  unsubscribe(): void {
    this.#subscribed = false;
    this.#dirty = false;
  }

  /** The rebalancer changed; true when it is news for this subscription. */
  changed(): boolean {
    if (!this.#subscribed) return false;
    this.#dirty = true;
    return true;
  }

  flush(status: () => RebalanceView): RebalanceMessage | null {
    if (!this.hasPending()) return null;
    this.#dirty = false;
    return { kind: 'delta', scope: 'rebalance', status: status() };
  }
}
