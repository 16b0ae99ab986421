import type { Logger } from 'pino';
import { Backoff, sleep } from '@highlander/kit';
import type { QnaPresenterView, TalkAggregates, TalkSnapshot } from '@highlander/audience';
import { describeError } from './http-error.js';
import type { TalkMessage } from './stream/protocol.js';
import type { TalkService } from './talks.js';

/**
 * The presenter's live feed of one talk, for the ws stream's `talk` scope (stream/talk.ts; the
 * messages are in stream/protocol.ts): while at least one client subscribes to a talk, its snapshot
 * query is polled every `intervalMs` (150 ms) through a live node, asking only for the reactions and
 * timeline points after the last ones seen, and so is its Q&A (only the questions changed since the
 * version seen); the clients get a snapshot (on subscribing, and again
 * after a reset), then a delta whenever something changed, or an error when there is no such talk.
 * One poll loop per talk, shared by its subscribers; none when nobody subscribes. A failing poll (the
 * owner failing over, a node restarting) is retried with backoff, up to 2 s apart.
 */

export interface TalkFeedsOptions {
  talks: TalkService;
  logger: Logger;
  /** @default 150 */
  intervalMs?: number;
  /** Each poll gives up after this long (the talk's owner may be failing over). @default 5000 */
  pollTimeoutMs?: number;
}

/** Reactions kept in the snapshot a late subscriber gets. */
const SNAPSHOT_REACTIONS = 500;
const MAX_BACKOFF_MS = 2000;

export class TalkFeeds {
  readonly #feeds = new Map<string, TalkFeed>();
  readonly #options: Required<TalkFeedsOptions>;

  constructor(options: TalkFeedsOptions) {
    this.#options = { intervalMs: 150, pollTimeoutMs: 5000, ...options };
  }

  /** Talks being polled now. */
  get activeFeeds(): number {
    return this.#feeds.size;
  }

  /** Delivers the talk's messages to `listener` until the returned function is called (or an error message). */
  subscribe(code: string, listener: (message: TalkMessage) => void): () => void {
    let feed = this.#feeds.get(code);
    if (!feed) {
      feed = new TalkFeed(code, this.#options, () => this.#feeds.delete(code));
      this.#feeds.set(code, feed);
    }
    return feed.add(listener);
  }
}

class TalkFeed {
  readonly #listeners = new Set<(message: TalkMessage) => void>();
  /** Listeners that still need a snapshot. */
  readonly #fresh = new Set<(message: TalkMessage) => void>();
  #latest: TalkSnapshot | undefined;
  /** Every question, as the clients were last told. */
  #qna: QnaPresenterView | undefined;
  #running = false;
  #stopped = false;
  readonly #backoff: Backoff;

  constructor(
    readonly code: string,
    private readonly options: Required<TalkFeedsOptions>,
    private readonly onEmpty: () => void,
  ) {
    this.#backoff = new Backoff({ initialMs: Math.min(MAX_BACKOFF_MS, 2 * options.intervalMs), maxMs: MAX_BACKOFF_MS });
  }

  add(listener: (message: TalkMessage) => void): () => void {
    this.#listeners.add(listener);
    if (this.#latest && this.#qna) listener({ kind: 'snapshot', scope: 'talk', code: this.code, talk: this.#latest, qna: this.#qna });
    else this.#fresh.add(listener);
    if (!this.#running) void this.#run();
    return () => {
      this.#listeners.delete(listener);
      this.#fresh.delete(listener);
      if (this.#listeners.size === 0) this.#stop();
    };
  }

  #stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.onEmpty();
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (!this.#stopped && this.#listeners.size > 0) {
        const started = Date.now();
        let backoffMs = 0;
        try {
          await this.#poll();
          this.#backoff.reset();
        } catch (err) {
          const described = describeError(err);
          if (described.code === 'TALK_NOT_FOUND') {
            const message: TalkMessage = { kind: 'error', scope: 'talk', code: this.code, error: { code: described.code, message: described.message } };
            for (const listener of [...this.#listeners]) listener(message);
            this.#listeners.clear();
            this.#stop();
            return;
          }
          // The owner failing over, a node restarting: keep polling; the presenter sees the next change.
          if (this.#backoff.attempts % 20 === 0) this.options.logger.warn({ err, code: this.code }, 'talk feed: poll failed, retrying');
          backoffMs = this.#backoff.next();
        }
        const wait = Math.max(this.options.intervalMs, backoffMs) - (Date.now() - started);
        if (wait > 0) await sleep(wait);
      }
    } finally {
      this.#running = false;
    }
  }

  async #poll(): Promise<void> {
    const { talks, pollTimeoutMs } = this.options;
    const latest = this.#latest;
    if (!latest || !this.#qna) {
      const [snapshot, qna] = await Promise.all([talks.snapshot(this.code, {}, pollTimeoutMs), talks.questions(this.code, undefined, pollTimeoutMs)]);
      this.#qna = qna;
      this.#snapshot(snapshot);
      return;
    }
    const since = { reaction: latest.reactionSeq, ...(latest.timeline.length > 0 ? { timeline: latest.timeline.at(-1)!.t } : {}) };
    const [next, questions] = await Promise.all([talks.snapshot(this.code, since, pollTimeoutMs), talks.questions(this.code, this.#qna.version, pollTimeoutMs)]);
    if (this.#stopped) return;
    const qna = this.#mergeQna(questions);
    if (next.round !== latest.round) {
      // Reset: everything the clients hold is stale. Start over with a full snapshot.
      this.#latest = undefined;
      for (const listener of this.#listeners) this.#fresh.add(listener);
      this.#snapshot(await talks.snapshot(this.code, {}, pollTimeoutMs));
      return;
    }
    const { reactions, reactionsGap, timeline, ...aggregates } = next;
    const { reactions: _r, reactionsGap: _g, timeline: _t, ...previous } = latest;
    this.#latest = {
      ...aggregates,
      reactions: [...latest.reactions, ...reactions].slice(-SNAPSHOT_REACTIONS),
      reactionsGap: false,
      timeline: [...latest.timeline, ...timeline],
    };
    const changed = reactions.length > 0 || timeline.length > 0 || qna !== undefined || !sameExceptTime(aggregates, previous);
    // Listeners that subscribed during this poll get the merged snapshot, which already has this delta.
    const justSnapshotted = new Set(this.#fresh);
    this.#sendFresh();
    if (!changed) return;
    const delta: TalkMessage = {
      kind: 'delta', scope: 'talk', code: this.code, talk: aggregates, reactions,
      ...(timeline.length > 0 ? { timeline } : {}), ...(reactionsGap ? { reactionsGap: true as const } : {}), ...(qna ? { qna } : {}),
    };
    for (const listener of this.#listeners) if (!justSnapshotted.has(listener)) listener(delta);
  }

  /** Takes the questions changed since the last poll; what the clients must be told, if anything. */
  #mergeQna(next: QnaPresenterView): QnaPresenterView | undefined {
    const known = this.#qna!;
    if (next.full) {
      this.#qna = next;
      return next.version === known.version ? undefined : next;
    }
    const settings = next.approval !== known.approval || next.onScreen !== known.onScreen || next.count !== known.count;
    const byId = new Map(known.questions.map((q) => [q.id, q]));
    for (const q of next.questions) byId.set(q.id, q);
    this.#qna = { ...next, full: true, questions: [...byId.values()].sort((a, b) => a.id - b.id) };
    return next.questions.length > 0 || settings ? next : undefined;
  }

  #snapshot(snapshot: TalkSnapshot): void {
    if (this.#stopped) return;
    this.#latest = snapshot;
    this.#sendFresh();
  }

  #sendFresh(): void {
    if (!this.#latest || !this.#qna || this.#fresh.size === 0) return;
    const message: TalkMessage = { kind: 'snapshot', scope: 'talk', code: this.code, talk: this.#latest, qna: this.#qna };
    for (const listener of this.#fresh) listener(message);
    this.#fresh.clear();
  }
}

function sameExceptTime(a: TalkAggregates, b: TalkAggregates): boolean {
  return JSON.stringify({ ...a, at: 0 }) === JSON.stringify({ ...b, at: 0 });
}
