import { Backoff, CoalescedRun, type BackoffOptions } from '@highlander/kit';
import type { MemberInfo } from '../coordinator.js';
import { Keyspace } from './keyspace.js';
import { Exception, isZkCode, type ZkSession } from './zk-session.js';

export interface MembershipWatchOptions {
  /** The cluster's root znode: members are the children of `<root>/nodes`. */
  root: string;
  /** Every live member (sorted by name), after the first listing and after each change. */
  onMembers(members: MemberInfo[]): void;
  /**
   * A listing failed (the watch tries again after a backoff), or a member znode held no readable
   * member info (that member is left out). @default ignored
   */
  onError?(err: unknown): void;
  /** Delays between failed listings; reset after a listing succeeds. @default 250 ms doubling to 5 s */
  retry?: BackoffOptions;
}

/**
 * The cluster's membership as ZooKeeper has it, followed with one children watch on
 * `<root>/nodes` and one data watch per member (each armed at most once at a time: watches are
 * one-shot, and re-armed when they fire). Refreshes triggered while one runs are coalesced into
 * one more. A failed listing is retried with backoff; after the session is renewed (an expiry
 * takes every watch with it) the watches are armed again and the members listed afresh.
 *
 * ```ts
 * const watch = new MembershipWatch(session, { root: '/highlander', onMembers: (members) => console.log(members) });
 * await watch.start(); // the first listing was delivered (or failed; it keeps trying)
 * // later
 * watch.stop();
 * ```
 */
export class MembershipWatch {
  readonly #session: ZkSession;
  readonly #options: MembershipWatchOptions;
  readonly #backoff: Backoff;
  readonly #keyspace: Keyspace;
  #members: MemberInfo[] = [];
  #childrenWatched = false;
  readonly #dataWatched = new Set<string>();
  readonly #listings = new CoalescedRun(() => this.#refreshOnce());
  #retryTimer: NodeJS.Timeout | undefined;
  #started = false;
  #stopped = false;
  readonly #onRenewed = () => {
    // The new session holds none of the old watches: arm them again, and look afresh.
    this.#childrenWatched = false;
    this.#dataWatched.clear();
    this.#trigger();
  };

  constructor(session: ZkSession, options: MembershipWatchOptions) {
    this.#session = session;
    this.#options = options;
    this.#keyspace = new Keyspace(options.root);
    this.#backoff = new Backoff(options.retry ?? { initialMs: 250, maxMs: 5000 });
  }

  /** The live members as last listed, sorted by name. */
  get members(): MemberInfo[] {
    return [...this.#members];
  }

  /** Lists the members and arms the watches. Resolves once the first listing was delivered, or failed (it is retried). */
  start(): Promise<void> {
    if (!this.#started && !this.#stopped) {
      this.#started = true;
      this.#session.on('renewed', this.#onRenewed);
    }
    return this.refresh();
  }

  /** Lists the members now (joining a listing under way, plus one more after it); resolves when delivered or failed. */
  refresh(): Promise<void> {
    if (!this.#started || this.#stopped) return Promise.resolve();
    return this.#listings.request();
  }

  /** Stops delivering; watches still armed in ZooKeeper fire once more and are not re-armed. */
  stop(): void {
    this.#stopped = true;
    this.#listings.stop();
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#session.off('renewed', this.#onRenewed);
  }

  /** A watch fired, a retry is due, or the session was renewed. */
  #trigger(): void {
    // refresh() never rejects: a failed listing is reported through onError and retried.
    void this.refresh();
  }

  async #refreshOnce(): Promise<void> {
    if (this.#stopped) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    let members: MemberInfo[];
    try {
      members = await this.#list();
    } catch (err) {
      if (this.#stopped) return;
      this.#report(err);
      // Membership must stay watched (placement, forwarding, the admin model): try again shortly.
      this.#retryTimer = setTimeout(() => this.#trigger(), this.#backoff.next());
      this.#retryTimer.unref();
      return;
    }
    if (this.#stopped) return;
    this.#backoff.reset();
    this.#members = members;
    try {
      this.#options.onMembers(this.members);
    } catch (err) {
      // The listing itself succeeded: a failing listener is reported, not retried.
      this.#report(err);
    }
  }

  async #list(): Promise<MemberInfo[]> {
    const session = this.#session;
    const parent = this.#keyspace.nodesPath;
    const watchChildren = !this.#childrenWatched;
    this.#childrenWatched = true;
    let names: string[];
    try {
      names = await session.getChildren(parent, watchChildren ? () => {
        this.#childrenWatched = false;
        this.#trigger();
      } : undefined);
    } catch (err) {
      if (watchChildren) this.#childrenWatched = false;
      throw err;
    }
    const infos = await Promise.all(names.map(async (name) => {
      const watchData = !this.#dataWatched.has(name);
      if (watchData) this.#dataWatched.add(name);
      let data: Buffer | undefined;
      try {
        ({ data } = await session.getData(this.#keyspace.memberPath(name), watchData ? () => {
          this.#dataWatched.delete(name);
          this.#trigger();
        } : undefined));
      } catch (err) {
        if (watchData) this.#dataWatched.delete(name);
        // Left between the listing and this read: not a member any more.
        if (isZkCode(err, Exception.NO_NODE)) return null;
        throw err;
      }
      return this.#parse(name, data);
    }));
    return infos.filter((info): info is MemberInfo => info !== null).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  #parse(name: string, data: Buffer | undefined): MemberInfo | null {
    try {
      const info = JSON.parse(data?.toString('utf8') ?? '') as Partial<MemberInfo> | null;
      if (typeof info?.name === 'string' && info.name.length > 0) return info as MemberInfo;
    } catch {
      // Not JSON: reported below like any other unreadable payload.
    }
    this.#report(new Error(`member znode ${this.#keyspace.memberPath(name)} holds no member info; left out`));
    return null;
  }

  #report(err: unknown): void {
    try {
      this.#options.onError?.(err);
    } catch {
      // A failing error handler must not stop the watch.
    }
  }
}
