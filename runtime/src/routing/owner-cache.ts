import { LRUCache } from 'lru-cache';

/**
 * The last known owner of objects owned elsewhere, so that a call goes straight to the owner
 * instead of asking ZooKeeper or placement each time. Bounded: the least recently used entries go
 * first. An entry is only a hint: it is dropped on any sign that it is stale (the owner redirected,
 * failed, or left the cluster), and a wrong one costs one redirect.
 */
export class OwnerCache {
  readonly #owners: LRUCache<string, string>;

  constructor(readonly maxEntries = 100_000) {
    this.#owners = new LRUCache({ max: maxEntries });
  }

  get size(): number {
    return this.#owners.size;
  }

  /** The owner last seen for `key`, if any. */
  get(key: string): string | undefined {
    return this.#owners.get(key);
  }

  /** Remembers `owner` for `key`; `null` (nobody known) forgets it. */
  set(key: string, owner: string | null): void {
    if (owner === null) this.#owners.delete(key);
    else this.#owners.set(key, owner);
  }

  delete(key: string): void {
    this.#owners.delete(key);
  }

  /** Forgets every object of a node that left the cluster. */
  forgetNode(node: string): void {
    const stale: string[] = [];
    this.#owners.forEach((owner, key) => {
      if (owner === node) stale.push(key);
    });
    for (const key of stale) this.#owners.delete(key);
  }

  clear(): void {
    this.#owners.clear();
  }
}
