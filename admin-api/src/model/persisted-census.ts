import { performance } from 'node:perf_hooks';
import type { ClusterSummary, Storage } from '../contracts.js';

/**
 * The persisted objects per type, counted with a full listing of the state store (1,000 keys a
 * page), for the summary's `persisted`. One listing at a time: asking while one runs does nothing.
 *
 * ```ts
 * const census = new PersistedCensus(storage);
 * await census.count();
 * census.current; // { objects, byType, listedAt, durationMs }
 * ```
 */
export class PersistedCensus {
  readonly #storage: Storage;
  #current: ClusterSummary['persisted'] = null;
  #listing = false;
  #stopped = false;

  constructor(storage: Storage) {
    this.#storage = storage;
  }

  /** The last complete count; null before the first one. */
  get current(): ClusterSummary['persisted'] {
    return this.#current;
  }

  /** Lists the store and keeps the counts; resolves at once when a listing is under way. Rejects when a page fails. */
  async count(): Promise<void> {
    if (this.#listing || this.#stopped) return;
    this.#listing = true;
    try {
      const started = performance.now();
      const byType: Record<string, number> = {};
      let objects = 0;
      let cursor: string | undefined;
      do {
        const page = await this.#storage.list({ limit: 1000, ...(cursor ? { cursor } : {}) });
        for (const item of page.items) {
          byType[item.type] = (byType[item.type] ?? 0) + 1;
          objects++;
        }
        cursor = page.cursor;
      } while (cursor && !this.#stopped);
      this.#current = { objects, byType, listedAt: Date.now(), durationMs: Math.round(performance.now() - started) };
    } finally {
      this.#listing = false;
    }
  }

  /** Stops a listing under way after its current page. */
  stop(): void {
    this.#stopped = true;
  }
}
