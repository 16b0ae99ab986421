/**
 * A task that runs one at a time, where asking while it runs means "once more after this one":
 * any number of requests during a run coalesce into a single rerun. For refreshes driven by
 * notifications (a ZooKeeper watch firing, a gap in an event stream): no request is lost, and no
 * more runs are made than needed.
 *
 * ```ts
 * const listing = new CoalescedRun(() => listMembers());
 * watcher.on('changed', () => void listing.request());
 * await listing.request(); // resolves when a run that started after this request has finished
 * ```
 */
export class CoalescedRun {
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(private readonly task: () => Promise<void>) {}

  /** Whether a run is under way. */
  get running(): boolean {
    return this.#running !== undefined;
  }

  /**
   * Runs the task now, or once more after the run under way (`rerun: false`: only join the run under
   * way, for a request it already covers). Resolves when the runs it joined or caused are over; a
   * failing run rejects (and ends the reruns).
   */
  request(rerun = true): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#running) {
      if (rerun) this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          await this.task();
        } while (this.#again && !this.#stopped);
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  /** No run starts after the one under way. */
  stop(): void {
    this.#stopped = true;
  }
}
