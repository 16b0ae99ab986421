import type { ModelEvent } from '@highlander/admin-api/protocol';
import { api } from './api.ts';
import { clusterEvents, type EventBatch } from './cluster-events.svelte.ts';
import { mergeEvents, prependEvents } from './event-list.ts';
import { handleError, notify } from './notices.svelte.ts';

/** Events kept in the browser at most (the newest). */
export const MAX_EVENTS = 5000;
/** Events per `GET /api/events` page. */
const PAGE_SIZE = 1000;

/** Events the timeline did not receive: those with a cursor strictly between `after` and `before`. */
export interface EventGap {
  after: number;
  before: number;
}

/**
 * The Events view's live timeline: the cluster's events (cluster-events.svelte.ts), newest first, at most MAX_EVENTS.
 * Paused, it keeps what arrives aside (`pending`) until resumed. After a reconnect the stream sends
 * a fresh snapshot (the newest events); when that does not reach back to what the timeline already
 * has, the events in between are a `gap`, which `fillGap` fetches from `GET /api/events`.
 */
export class EventTimeline {
  /** Shown, newest first. */
  events = $state.raw<ModelEvent[]>([]);
  /** Arrived while paused, newest first. */
  pending = $state.raw<ModelEvent[]>([]);
  paused = $state(false);
  /** The first snapshot has arrived. */
  loaded = $state(false);
  gap = $state<EventGap | null>(null);
  fetching = $state<'older' | 'gap' | null>(null);
  /** The API keeps nothing older than the oldest event here. */
  olderExhausted = $state(false);
  #abort = new AbortController();

  /** Follows the events; returns the function that stops (and cancels fetches). */
  start(): () => void {
    this.#abort = new AbortController();
    const unfollow = clusterEvents.follow((batch) => this.#receive(batch));
    return () => {
      unfollow();
      this.#abort.abort();
    };
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.events = prependEvents(this.events, [...this.pending].reverse(), MAX_EVENTS).events;
    this.pending = [];
    this.paused = false;
  }

  /** Fetches the newest events of the gap (as many as the timeline keeps). */
  async fillGap(): Promise<void> {
    const gap = this.gap;
    if (!gap || this.fetching) return;
    this.fetching = 'gap';
    const wanted = gap.before - gap.after - 1;
    let since = Math.max(gap.after, gap.before - 1 - MAX_EVENTS);
    const fetched: ModelEvent[] = [];
    try {
      while (since < gap.before - 1) {
        const page = await api<{ events: ModelEvent[]; cursor: number }>('GET', '/api/events', { query: { since, limit: PAGE_SIZE }, signal: this.#abort.signal });
        fetched.push(...page.events.filter((e) => e.cursor > gap.after && e.cursor < gap.before));
        if (page.events.length < PAGE_SIZE || page.cursor <= since) break;
        since = page.cursor;
      }
      this.events = mergeEvents(this.events, fetched, MAX_EVENTS);
      this.gap = null;
      const kept = Math.min(wanted, MAX_EVENTS);
      notify(
        `Fetched ${fetched.length} skipped events`,
        fetched.length < kept ? `${kept - fetched.length} of them are no longer kept by the admin API.` : wanted > MAX_EVENTS ? `The ${wanted - MAX_EVENTS} oldest did not fit in the timeline.` : '',
      );
    } catch (err) {
      handleError(err, 'Fetching skipped events');
    } finally {
      this.fetching = null;
    }
  }

  /** Fetches events older than the oldest here, while the timeline has room for them. */
  async loadOlder(): Promise<void> {
    const oldest = this.events.at(-1)?.cursor;
    const room = Math.min(PAGE_SIZE, MAX_EVENTS - this.events.length - this.pending.length);
    if (oldest === undefined || room <= 0 || this.fetching) return;
    this.fetching = 'older';
    try {
      const since = Math.max(0, oldest - 1 - room);
      const page = await api<{ events: ModelEvent[]; cursor: number }>('GET', '/api/events', { query: { since, limit: room }, signal: this.#abort.signal });
      const older = page.events.filter((e) => e.cursor < oldest);
      this.events = mergeEvents(this.events, older, MAX_EVENTS);
      // The API's oldest event is later than asked for: nothing before it is kept.
      if (older.length === 0 || since === 0 || (page.events[0]?.cursor ?? Infinity) > since + 1) this.olderExhausted = true;
    } catch (err) {
      handleError(err, 'Loading older events');
    } finally {
      this.fetching = null;
    }
  }

  #receive(batch: EventBatch): void {
    const incoming = batch.events;
    if (batch.kind === 'snapshot') {
      const newest = this.pending[0]?.cursor ?? this.events[0]?.cursor;
      const cursor = batch.cursor;
      if (newest !== undefined && cursor < newest) {
        // The admin API restarted and numbers its events from 1 again: start over.
        this.events = [...incoming].reverse().slice(0, MAX_EVENTS);
        this.pending = [];
        this.gap = null;
        this.olderExhausted = false;
      } else {
        const first = incoming[0]?.cursor;
        // Missed while disconnected: the snapshot (the newest events) starts after what is here.
        if (newest !== undefined && first !== undefined && (batch.gap || first > newest + 1)) {
          this.gap = { after: this.gap?.after ?? newest, before: first };
        }
        this.#add(incoming);
      }
      this.loaded = true;
    } else {
      this.#add(incoming);
    }
  }

  #add(incoming: ModelEvent[]): void {
    if (incoming.length === 0) return;
    if (this.paused) {
      const newest = this.events[0]?.cursor ?? -Infinity;
      this.pending = prependEvents(this.pending, incoming.filter((e) => e.cursor > newest), MAX_EVENTS).events;
    } else {
      this.events = prependEvents(this.events, incoming, MAX_EVENTS).events;
    }
  }
}
