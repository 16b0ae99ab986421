import { performance } from 'node:perf_hooks';
import { Backoff, sleep } from '@highlander/kit';
import { Fenced, Indeterminate, StoreUnavailable, causeMessage } from '../errors.js';
import type { StateStore, StoredObject } from '../state-store.js';

/**
 * The fencing protocol of one object's stored state, in one place. The owner's epoch is its lock
 * znode's czxid (globally monotonic), recorded with every write:
 *
 * - **claim**, on activation: read the stored object and write it back conditionally (If-Match its
 *   ETag, or If-None-Match `*` when absent) with our epoch, so that any write of an earlier owner
 *   still in flight fails from now on. A stored epoch newer than ours means we are the stale one.
 * - **write**: every later write is conditional on the ETag we last wrote. A failed condition is
 *   resolved by reading the object back: our epoch there means our own write (its answer was lost,
 *   or an earlier one we counted as failed landed), and we write on top of it; any other epoch
 *   means a newer owner: `Fenced`.
 * - **read-back**: a write whose request may have reached the store but whose answer never came is
 *   decided by what is stored, never by guessing, retrying the read until the callers' deadline.
 */

/** The object a writer writes: its type and id. */
export interface WriteTarget {
  readonly type: string;
  readonly id: string;
}

/** What the owner holds after a claim or a write: the body as stored, its ETag and version. */
export interface Durable {
  body: string;
  etag: string;
  version: number;
}

/** One state change to make durable. */
export interface FencedWrite {
  body: string;
  epoch: string;
  /** The version this write records (the stored version + 1). */
  version: number;
  /** The ETag this owner last wrote (undefined: the object must not exist). */
  etag: string | undefined;
  /** An interrupted write is read back until a little before this (monotonic ms). */
  deadline: number;
}

/**
 * A newer owner was found while reading back an interrupted write: this owner is fenced, and the
 * outcome of the calls the write carried is unknown (`indeterminate`).
 */
export class FencedUncertain extends Error {
  constructor(readonly indeterminate: Indeterminate) {
    super(indeterminate.message);
  }
}

/** How long before the callers' deadline the read-back of an interrupted write gives up. */
const READ_BACK_MARGIN_MS = 50;
/** A conflicting claim means someone wrote between our read and our write; after this many, give up fenced. */
const MAX_CLAIM_ATTEMPTS = 6;

/**
 * Claims the stored object for `epoch`: returns what is stored then (the stored state, or the
 * initial one written now) and whether it existed. Throws `Fenced` when a newer owner has claimed
 * it, and whatever the store or `initialBody` throws.
 *
 * `earlyRead` is a read of the object started before the lock was held (activation starts it
 * beside the lock acquisition, to save a round trip). It may be stale — an earlier owner can write
 * between that read and our lock — and that is safe: the claim writes on condition of the ETag it
 * read (or of the object's absence), so a stale read makes that write fail and the claim reads
 * again; and epochs only grow, so a stale read never shows a newer epoch than the store holds.
 * A failed early read is not an answer either: the claim reads again.
 */
export async function claim(
  store: StateStore, target: WriteTarget, epoch: string, initialBody: () => string, earlyRead?: Promise<StoredObject | null>,
): Promise<Durable & { existed: boolean }> {
  const { type, id } = target;
  let existed = false; // as the last read that was not of our own claim saw it
  for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
    const stored = attempt === 0 && earlyRead ? await earlyRead.catch(() => store.read(type, id)) : await store.read(type, id);
    if (stored?.epoch !== epoch) existed = stored !== null;
    if (stored && BigInt(stored.epoch) > BigInt(epoch)) throw new Fenced(type, id); // a newer owner has claimed it: we are the stale one
    if (stored && stored.epoch === epoch) return { body: stored.body, etag: stored.etag, version: stored.version, existed }; // our own claim, whose answer was lost
    const body = stored ? stored.body : initialBody();
    const version = (stored?.version ?? 0) + 1;
    const result = await store.write({ type, id, body, epoch, version, condition: stored ? { ifMatch: stored.etag } : { ifNoneMatch: '*' } });
    if (result.ok) return { body, etag: result.etag, version, existed };
    // Someone wrote between our read and our claim (an earlier owner's last write): read again.
  }
  throw new Fenced(type, id);
}

/**
 * Writes one state change conditionally on the ETag this owner last wrote. Resolves once it is
 * durable. Throws `Fenced` (a newer owner; no effect), `FencedUncertain` (a newer owner, and this
 * write's outcome unknown), `StoreUnavailable` (no effect) or `Indeterminate` (unknown outcome).
 * `onStoreDown` is called once when reading back an interrupted write finds the store unreachable.
 */
export async function writeFenced(store: StateStore, target: WriteTarget, write: FencedWrite, onStoreDown: (error: StoreUnavailable) => void): Promise<Durable> {
  const { type, id } = target;
  const { body, epoch, version } = write;
  let result;
  try {
    result = await store.write({ type, id, body, epoch, version, condition: write.etag === undefined ? { ifNoneMatch: '*' } : { ifMatch: write.etag } });
  } catch (err) {
    if (err instanceof StoreUnavailable && err.maybeApplied) return readBack(store, target, write, err, onStoreDown);
    throw err;
  }
  if (result.ok) return { body, etag: result.etag, version };
  const stored = await store.read(type, id);
  if (stored && stored.epoch === epoch) {
    if (stored.version === version && stored.body === body) return { body, etag: stored.etag, version };
    const again = await store.write({ type, id, body, epoch, version: stored.version + 1, condition: { ifMatch: stored.etag } });
    if (again.ok) return { body, etag: again.etag, version: stored.version + 1 };
  }
  throw new Fenced(type, id);
}

/**
 * A write whose request may have reached the store but whose answer never came: read the object
 * back (with backoff, until `write.deadline`) and decide by what is stored. Ours → done; our epoch
 * with another version or body → it did not land (`StoreUnavailable`); another epoch → a newer owner
 * took over and may or may not have seen it (`FencedUncertain`); unreadable → `Indeterminate`.
 */
async function readBack(store: StateStore, target: WriteTarget, write: FencedWrite, cause: StoreUnavailable, onStoreDown: (error: StoreUnavailable) => void): Promise<Durable> {
  const { type, id } = target;
  const { body, epoch, version } = write;
  const backoff = new Backoff({ initialMs: 50, maxMs: 500, jitter: false });
  let lastError: unknown = cause;
  let reportedDown = false;
  for (;;) {
    let stored: StoredObject | null;
    try {
      stored = await store.read(type, id);
    } catch (err) {
      lastError = err;
      if (!reportedDown) {
        reportedDown = true;
        onStoreDown(err instanceof StoreUnavailable ? err : cause);
      }
      // Give up a little before the callers' deadline, so they learn "indeterminate" rather than a bare timeout.
      const remaining = write.deadline - READ_BACK_MARGIN_MS - performance.now();
      if (remaining <= 0) break;
      await sleep(Math.min(backoff.next(), remaining));
      continue;
    }
    if (stored && stored.epoch === epoch && stored.version === version && stored.body === body) return { body, etag: stored.etag, version };
    if (!stored || stored.epoch === epoch) throw cause;
    throw new FencedUncertain(new Indeterminate(type, id, `the write was interrupted (${cause.message}) and a newer owner (epoch ${stored.epoch}) has taken over since`, cause));
  }
  throw new Indeterminate(type, id, `the write was interrupted (${cause.message}) and reading it back failed until the call's timeout (${causeMessage(lastError)})`, lastError);
}
