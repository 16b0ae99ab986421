import type { RebalanceMessage } from '@highlander/admin-api/protocol';
import { stream } from './stream.svelte.ts';

/**
 * The stream's `rebalance` scope, shared: the stream keeps one subscription per scope, and both the
 * banner and the map follow it. Subscribed while anyone listens; a listener that joins late gets the
 * last status at once, as a snapshot (it has not seen the moves listed there happen).
 */
class RebalanceFeed {
  #listeners = new Set<(message: RebalanceMessage) => void>();
  #last: RebalanceMessage | null = null;
  #unsubscribe: (() => void) | null = null;

  listen(handler: (message: RebalanceMessage) => void): () => void {
    this.#listeners.add(handler);
    if (this.#unsubscribe === null) {
      this.#unsubscribe = stream.subscribe({ subscribe: 'rebalance' }, (message) => {
        this.#last = message;
        for (const listener of this.#listeners) listener(message);
      });
    } else if (this.#last !== null) {
      handler({ ...this.#last, kind: 'snapshot' });
    }
    return () => {
      this.#listeners.delete(handler);
      if (this.#listeners.size > 0) return;
      this.#unsubscribe?.();
      this.#unsubscribe = null;
      this.#last = null;
    };
  }
}

export const rebalanceFeed = new RebalanceFeed();
