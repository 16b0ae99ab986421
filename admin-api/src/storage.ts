import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { StateStore } from '@highlander/runtime';
import type { PersistedObject, Storage, StoredSummary } from './contracts.js';
import { HttpError } from './http-error.js';

/**
 * Browsing persisted state through the runtime's state store: the cluster's S3 bucket
 * (`S3StateStore`), or the data folder of an embedded cluster (`FileStateStore`).
 */
export class S3Storage implements Storage {
  /** Signs the cursors this API hands out, so that one it did not is refused rather than sent to the store. */
  readonly #cursorKey = randomBytes(32);

  constructor(private readonly store: StateStore) {}

  async list(query: { type?: string; prefix?: string; cursor?: string; limit: number }): Promise<{ items: StoredSummary[]; cursor?: string }> {
    const page = await this.store.list({
      ...(query.type ? { type: query.type } : {}),
      ...(query.prefix ? { prefix: query.prefix } : {}),
      ...(query.cursor ? { cursor: this.#open(query.cursor, query) } : {}),
      limit: query.limit,
    });
    const items = page.objects.map((o) => ({ type: o.type, id: o.id, key: o.key, size: o.size, etag: o.etag, lastModified: o.lastModified?.getTime() ?? null }));
    return page.cursor ? { items, cursor: this.#seal(page.cursor, query) } : { items };
  }

  /** A store's continuation token as an opaque cursor, signed together with the listing it belongs to. */
  #seal(token: string, query: { type?: string; prefix?: string }): string {
    const body = Buffer.from(token).toString('base64url');
    return `${body}.${this.#tag(body, query)}`;
  }

  #open(cursor: string, query: { type?: string; prefix?: string }): string {
    const [body, tag, ...rest] = cursor.split('.');
    const expected = body === undefined ? '' : this.#tag(body, query);
    if (!body || !tag || rest.length > 0 || tag.length !== expected.length || !timingSafeEqual(Buffer.from(tag), Buffer.from(expected))) {
      throw new HttpError(400, 'INVALID_CURSOR', 'this cursor was not handed out by this admin API for this listing (or the API restarted since): list again from the first page, without a cursor');
    }
    return Buffer.from(body, 'base64url').toString();
  }

  #tag(body: string, query: { type?: string; prefix?: string }): string {
    return createHmac('sha256', this.#cursorKey).update(`${query.type ?? ''}\0${query.prefix ?? ''}\0${body}`).digest('base64url').slice(0, 22);
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
