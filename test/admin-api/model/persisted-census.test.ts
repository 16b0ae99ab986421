import { describe, expect, it } from 'vitest';
import type { Storage, StoredSummary } from '@highlander/admin-api';
import { PersistedCensus } from '../../../admin-api/src/model/persisted-census.js';

/** The persisted objects' counts from a full listing, a page at a time, one listing at a time. */

function stored(type: string, id: string): StoredSummary {
  return { type, id, key: `objects/${type}/${id}.json`, size: 1, etag: 'e', lastModified: null };
}

class PagedStorage {
  readonly items = [stored('todo', 'a'), stored('todo', 'b'), stored('user', 'c')];
  lists = 0;
  failure: Error | null = null;

  async list(query: { cursor?: string; limit: number }): Promise<{ items: StoredSummary[]; cursor?: string }> {
    this.lists++;
    if (this.failure) throw this.failure;
    const start = Number(query.cursor ?? 0);
    const end = start + 2; // pages of two, whatever the limit
    return { items: this.items.slice(start, end), ...(end < this.items.length ? { cursor: String(end) } : {}) };
  }
}

describe('PersistedCensus', () => {
  it('counts every page per type; a count asked for during one does not list again', async () => {
    const storage = new PagedStorage();
    const census = new PersistedCensus(storage as unknown as Storage);
    expect(census.current).toBeNull();
    await Promise.all([census.count(), census.count()]);
    expect(storage.lists).toBe(2);
    expect(census.current).toMatchObject({ objects: 3, byType: { todo: 2, user: 1 }, listedAt: expect.any(Number) });
  });

  it('a failed listing rejects and keeps the last complete count', async () => {
    const storage = new PagedStorage();
    const census = new PersistedCensus(storage as unknown as Storage);
    await census.count();
    storage.failure = new Error('S3 is down');
    await expect(census.count()).rejects.toThrow('S3 is down');
    expect(census.current?.objects).toBe(3);
  });
});
