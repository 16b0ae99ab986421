/**
 * What a backend reports about each request it makes to its server (ZooKeeper, S3), for metrics:
 * the operation, how long it took, and how it failed. A backend takes observers with
 * `observeRequests(observer)` (optional in the `Coordinator` and `StateStore` contracts;
 * `ZooKeeperCoordinator` and `S3StateStore` implement it); a node with metrics subscribes to its
 * own. The backends never import a metrics library.
 *
 * ```ts
 * const stop = store.observeRequests?.(({ operation, durationMs, error }) => console.log(operation, durationMs, error ?? 'ok'));
 * ```
 */

export interface RequestSample {
  /**
   * ZooKeeper: `create`, `delete`, `exists`, `getChildren`, `getData`, `setData`, `mkdirp`, `multi`.
   * S3: `get`, `put`, `list`.
   */
  operation: string;
  /** From sending the request to its answer (or to giving up), on the monotonic clock. */
  durationMs: number;
  /**
   * Absent when the server answered as expected (an S3 GET of a missing object included). Otherwise
   * a short name from a small set: ZooKeeper's error code (`NO_NODE`, `NODE_EXISTS`, `BAD_VERSION`,
   * `NOT_EMPTY`, `CONNECTION_LOSS`, `SESSION_EXPIRED`, … or `TIMEOUT` when no answer came in time);
   * S3: `conflict` (412/409: a conditional write's condition failed), `timeout`, `network` (no
   * HTTP answer), `server` (5xx), `client` (another 4xx).
   */
  error?: string;
}

export type RequestObserver = (sample: RequestSample) => void;

/** The observers of one backend. A faulty observer never breaks a request or the other observers. */
export class RequestObservers {
  #observers = new Set<RequestObserver>();

  /** Adds an observer; returns the function that removes it. */
  add(observer: RequestObserver): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  get active(): boolean {
    return this.#observers.size > 0;
  }

  notify(sample: RequestSample): void {
    for (const observer of this.#observers) {
      try {
        observer(sample);
      } catch {
        // Metrics must not change the outcome of a request: an observer's failure is its own.
      }
    }
  }
}
