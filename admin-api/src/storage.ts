import type { StateStore } from '@highlander/runtime';
import type { PersistedObject, Storage, StoredSummary } from './contracts.js';

/**
 * Browsing persisted state through the runtime's state store: the cluster's S3 bucket
 * (`S3StateStore`), or the data folder of an embedded cluster (`FileStateStore`).
 */
export class S3Storage implements Storage {
  constructor(private readonly store: StateStore) {}

  async list(query: { type?: string; prefix?: string; cursor?: string; limit: number }): Promise<{ items: StoredSummary[]; cursor?: string }> {
    const page = await this.store.list({
      ...(query.type ? { type: query.type } : {}),
      ...(query.prefix ? { prefix: query.prefix } : {}),
      ...(query.cursor ? { cursor: query.cursor } : {}),
      limit: query.limit,
    });
    const items = page.objects.map((o) => ({ type: o.type, id: o.id, key: o.key, size: o.size, etag: o.etag, lastModified: o.lastModified?.getTime() ?? null }));
    return page.cursor ? { items, cursor: page.cursor } : { items };
  }

  async get(type: string, id: string): Promise<PersistedObject | null> {
    const stored = await this.store.read(type, id);
    if (!stored) return null;
    return {
      type, id, key: this.store.keyOf(type, id), etag: stored.etag, epoch: stored.epoch, version: stored.version,
      size: Buffer.byteLength(stored.body), lastModified: stored.lastModified?.getTime() ?? null, state: JSON.parse(stored.body),
    };
  }
}
