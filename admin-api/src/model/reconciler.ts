import { performance } from 'node:perf_hooks';
import { CoalescedRun, forEachBounded } from '@highlander/kit';
import { objectKey } from '@highlander/runtime';
import type { ClusterSource, LockQueueScan } from '../cluster-source.js';
import type { ClusterSummary } from '../contracts.js';
import type { ClusterState } from './cluster-state.js';

export interface ReconcilerOptions {
  source: ClusterSource;
  state: ClusterState;
  /** Requests in flight to the source during a scan. */
  concurrency: number;
}

/**
 * Checks the model against the source's lock queues (on ZooKeeper, the lock tree): every object
 * with a lock queue has its first entry's node as owner. Objects whose events were missed are added
 * (epoch and active-since from the owner's entry: a lock znode's czxid and ctime) or removed.
 * Concurrent requests share one scan, plus one more when asked for during it by someone whose
 * missed events that scan may not see.
 *
 * ```ts
 * const reconciler = new Reconciler({ source, state, concurrency: 256 });
 * await reconciler.reconcile();                // now
 * void reconciler.reconcile(firstMissedAt);    // after a gap: again only if the running scan began before it
 * ```
 */
export class Reconciler {
  readonly #options: ReconcilerOptions;
  readonly #scans = new CoalescedRun(() => this.#scan());
  /** Wall-clock ms at which the current (or last) scan started. */
  #scanStartedAt = 0;
  #last: ClusterSummary['lastReconcile'] = null;

  constructor(options: ReconcilerOptions) {
    this.#options = options;
  }

  /** When the last scan started (wall-clock ms) and how long it took; null before the first one finished. */
  get last(): ClusterSummary['lastReconcile'] {
    return this.#last;
  }

  /** Reconciles now; `missedBefore`: the wall-clock ms before which the events that call for it happened. */
  reconcile(missedBefore?: number): Promise<void> {
    // A scan under way that started after the missed events happened already sees their outcome.
    return this.#scans.request(!this.#scans.running || missedBefore === undefined || this.#scanStartedAt < missedBefore);
  }

  /** No further scans after the one under way. */
  stop(): void {
    this.#scans.stop();
  }

  async #scan(): Promise<void> {
    const { source, state, concurrency } = this.#options;
    const startedWall = Date.now();
    this.#scanStartedAt = startedWall;
    const started = performance.now();
    const queues = await source.scanLockQueues({ concurrency });
    // Objects the events did not tell us about: read their owner's epoch and start from its lock entry.
    const missing = queues.filter((q) => state.missesOwner(q.type, q.id, q.entries[0].node, startedWall));
    await forEachBounded(missing, concurrency, async (q: LockQueueScan) => {
      const head = q.entries[0];
      let epoch = head.epoch;
      let since = head.waitingSince;
      if (epoch === null || since === null) {
        const read = await source.readLockEntry(q.type, q.id, head.path);
        if (!read) return; // released since the scan listed it
        epoch = read.epoch;
        since = read.waitingSince;
      }
      state.addScanned(q.type, q.id, head.node, epoch, since);
    });
    for (const q of queues) state.setWaiters(q.type, q.id, q.entries.slice(1).map((e) => e.node), q.entries[0].node);
    state.forgetUnscanned(new Set(queues.map((q) => objectKey(q.type, q.id))), startedWall);
    this.#last = { at: startedWall, durationMs: Math.round(performance.now() - started) };
  }
}
