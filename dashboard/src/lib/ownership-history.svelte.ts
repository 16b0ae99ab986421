import type { HistoryEntry, HistoryPage, ModelEvent } from '@highlander/admin-api/protocol';
import { api, objectPath } from './api.ts';
import { describeError } from './notices.svelte.ts';

/** Entries the object detail asks for (the newest; the CLI and the API page through older ones). */
const LIMIT = 100;
/** Read again at most this often while ownership events arrive. */
const RELOAD_MS = 1000;

/** Events after which the history has changed. */
const OWNERSHIP_EVENTS = new Set<ModelEvent['kind']>(['object.activated', 'object.deactivated', 'object.migrated', 'object.fenced']);

/**
 * One object's ownership history as the admin API keeps it (GET /api/objects/:type/:id/history):
 * read when the view opens and again (throttled) after each activation, deactivation, migration or
 * fenced write the view's stream reports.
 *
 *   const history = new OwnershipHistory('todo', 'a');
 *   $effect(() => history.start());
 *   $effect(() => history.seen(watch.events));
 */
export class OwnershipHistory {
  status = $state<'loading' | 'ready' | 'failed'>('loading');
  problem = $state<string | null>(null);
  /** Newest first. */
  items = $state.raw<HistoryEntry[]>([]);
  /** Older entries exist than those shown. */
  more = $state(false);

  #timer: ReturnType<typeof setTimeout> | null = null;
  #abort = new AbortController();
  #lastCursor = 0;

  constructor(
    readonly type: string,
    readonly id: string,
  ) {}

  /** Reads it now; returns the stop function. */
  start(): () => void {
    this.#abort = new AbortController();
    void this.#load();
    return () => {
      this.#abort.abort();
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
    };
  }

  /** The view's events (newest first): reads again when an ownership event newer than the last one seen is among them. */
  seen(events: readonly ModelEvent[]): void {
    const newest = events.find((e) => OWNERSHIP_EVENTS.has(e.kind));
    if (!newest || newest.cursor <= this.#lastCursor) return;
    this.#lastCursor = newest.cursor;
    this.#timer ??= setTimeout(() => {
      this.#timer = null;
      void this.#load();
    }, RELOAD_MS);
  }

  async #load(): Promise<void> {
    try {
      const page = await api<HistoryPage>('GET', `/api/objects/${objectPath(this.type, this.id)}/history`, { query: { limit: LIMIT }, signal: this.#abort.signal });
      this.items = page.items;
      this.more = page.cursor !== undefined;
      this.status = 'ready';
      this.problem = null;
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') return;
      this.status = 'failed';
      this.problem = describeError(err);
    }
  }
}
