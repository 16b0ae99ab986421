import type { RequestObserver } from './request-observer.js';

/**
 * The state store contract: one JSON document per object, written only conditionally.
 * The S3 implementation is `S3StateStore`; the embedded one implements the same contract.
 */

/** What the store knows about one stored object. */
export interface StoredObject {
  /** The JSON text of the state, as written. */
  body: string;
  /** Opaque version tag of this write (S3 ETag, without quotes). */
  etag: string;
  /** Epoch of the owner that wrote it (its lock znode's czxid), as a decimal string. */
  epoch: string;
  /** Monotonically increasing write counter of this object. */
  version: number;
  lastModified?: Date;
}

/** How a write is conditioned: on the object not existing, or on its current tag. */
export type WriteCondition = { ifNoneMatch: '*' } | { ifMatch: string };

export interface WriteRequest {
  type: string;
  id: string;
  body: string;
  condition: WriteCondition;
  epoch: string;
  version: number;
}

/** The result of a conditional write: the new tag, or `conflict` when the condition failed. */
export type WriteResult = { ok: true; etag: string } | { ok: false; conflict: true };

export interface StoredObjectSummary {
  type: string;
  id: string;
  key: string;
  /** Bytes stored: the state's JSON and what the store keeps with it (S3: an envelope naming epoch and version). */
  size: number;
  etag: string;
  lastModified: Date | undefined;
}

export interface ListPage {
  objects: StoredObjectSummary[];
  /** Pass back to get the next page; absent on the last page. */
  cursor?: string;
}

export interface StateStore {
  /** Reads one object, or null when it was never stored. Throws `StoreUnavailable`, `StoredStateCorrupt`. */
  read(type: string, id: string): Promise<StoredObject | null>;
  /** Writes one object conditionally. A failed condition is a result, not an error. Throws `StoreUnavailable`. */
  write(request: WriteRequest): Promise<WriteResult>;
  /** Lists stored objects of a type (or all types) by id prefix, one page at a time. */
  list(options: { type?: string; prefix?: string; cursor?: string; limit?: number }): Promise<ListPage>;
  /** Where an object is stored, for messages and events (an S3 key). */
  keyOf(type: string, id: string): string;
  close(): Promise<void>;
  /**
   * Optional: tells `observer` about every request to the storage service (a node's metrics report
   * them as `highlander_s3_*`). Returns the function that stops it.
   */
  observeRequests?(observer: RequestObserver): () => void;
  /**
   * Optional: checks that the storage service enforces the conditional writes fencing rests on, and
   * throws `StoreConditionsIgnored` naming the failed check when it does not. A node runs it at start.
   */
  selfTest?(): Promise<void>;
}
