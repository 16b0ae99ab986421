import type { PresenterQuestion, QnaPresenterView, Reaction, TalkAggregates, TalkSnapshot, TimelinePoint } from '@highlander/admin-api/protocol';
import { stream } from './stream.svelte.ts';
import { addLiveSample, mergeReactions, mergeTimeline } from './talk-series.ts';

const ON_SCREEN_KEY = 'highlander.audience.onScreen';

/** The talk whose reactions float over every view on this screen, and how. */
export interface OnScreen {
  code: string;
  /** The floating reactions are not shown. */
  hidden: boolean;
  /** No new reactions float up (those already up finish). */
  paused: boolean;
}

type ReactionListener = (reactions: Reaction[]) => void;

/**
 * The one `talk` subscription of this page (the stream allows one per scope), shared by the
 * presenter view and the floating emoji overlay: it follows the talk the presenter view shows
 * while it is open, else the talk that is live on this screen (remembered in localStorage).
 *
 * Reactions are deduplicated by seq; listeners hear only new ones (not a snapshot's backlog, but
 * after a reconnect the ones missed meanwhile). The timeline is the talk's own points (every
 * ~10 s) plus live samples of the aggregate in between, so the line moves as the room does.
 */
class TalkFeed {
  /** The talk subscribed to. */
  code = $state<string | null>(null);
  /** The talk's aggregates (its reactions and timeline are below). */
  talk = $state.raw<TalkAggregates | null>(null);
  /** The newest reactions, oldest first. */
  reactions = $state.raw<Reaction[]>([]);
  timeline = $state.raw<TimelinePoint[]>([]);
  /** Samples of the aggregate between the timeline's points. */
  live = $state.raw<TimelinePoint[]>([]);
  /** The server's clock minus this browser's (ms), from the latest view. */
  clockOffsetMs = $state(0);
  /** The talk could not be followed (the server's message). */
  error = $state<string | null>(null);
  onScreen = $state<OnScreen | null>(readOnScreen());
  /** The talk's questions (pending and hidden too), by id order; null until the first snapshot. */
  questions = $state.raw<PresenterQuestion[] | null>(null);
  /** The question shown large in presenter mode. */
  questionOnScreen = $state<number | null>(null);
  /** New questions wait for approval. */
  approval = $state(false);

  #viewing: string[] = [];
  #unsubscribe: (() => void) | null = null;
  #lastSeq = 0;
  #round: number | undefined;
  #listeners = new Set<ReactionListener>();

  /** The presenter view shows `code`: follow it until the returned function is called. */
  view(code: string): () => void {
    this.#viewing.push(code);
    this.#sync();
    return () => {
      const i = this.#viewing.lastIndexOf(code);
      if (i !== -1) this.#viewing.splice(i, 1);
      this.#sync();
    };
  }

  /** Makes `code` the talk live on this screen (null: none). */
  show(code: string | null): void {
    this.onScreen = code === null ? null : { code, hidden: false, paused: false, ...(this.onScreen?.code === code ? this.onScreen : {}) };
    writeOnScreen(this.onScreen);
    this.#sync();
  }

  setHidden(hidden: boolean): void {
    if (!this.onScreen) return;
    this.onScreen = { ...this.onScreen, hidden };
    writeOnScreen(this.onScreen);
  }

  setPaused(paused: boolean): void {
    if (!this.onScreen) return;
    this.onScreen = { ...this.onScreen, paused };
    writeOnScreen(this.onScreen);
  }

  /** Takes questions from the stream or from a moderation's answer (all of them when `full`, else the changed ones). */
  takeQuestions(view: QnaPresenterView): void {
    const byId = new Map(view.full || this.questions === null ? [] : this.questions.map((q) => [q.id, q]));
    for (const q of view.questions) byId.set(q.id, q);
    this.questions = [...byId.values()].sort((a, b) => a.id - b.id);
    this.questionOnScreen = view.onScreen;
    this.approval = view.approval;
  }

  /** Hears new reactions of the followed talk (the listener checks which talk that is: `code`). */
  listen(listener: ReactionListener): () => void {
    this.#listeners.add(listener);
    this.#sync();
    return () => this.#listeners.delete(listener);
  }

  #sync(): void {
    const wanted = this.#viewing.at(-1) ?? this.onScreen?.code ?? null;
    if (wanted === this.code && (wanted === null || this.#unsubscribe)) return;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.code = wanted;
    this.talk = null;
    this.reactions = [];
    this.timeline = [];
    this.live = [];
    this.questions = null;
    this.questionOnScreen = null;
    this.approval = false;
    this.error = null;
    this.#lastSeq = 0;
    this.#round = undefined;
    if (wanted === null) return;
    this.#unsubscribe = stream.subscribe({ subscribe: 'talk', code: wanted }, (message) => {
      if (message.code !== this.code) return; // a late message of the previous talk
      if (message.kind === 'snapshot') {
        this.#snapshot(message.talk);
        this.takeQuestions(message.qna);
      } else if (message.kind === 'delta') {
        this.#delta(message.talk, message.reactions, message.timeline);
        if (message.qna) this.takeQuestions(message.qna);
      }
      else this.error = message.error.message || 'The talk could not be followed.';
    });
  }

  #snapshot(snapshot: TalkSnapshot): void {
    const { reactions: incoming, reactionsGap: _gap, timeline, ...talk } = snapshot;
    // The first snapshot's reactions are history; after a reconnect, those newer than seen are new.
    const first = this.talk === null && this.#lastSeq === 0;
    const newRound = this.#round !== undefined && talk.round !== this.#round;
    this.error = null;
    this.#round = talk.round;
    this.timeline = [...timeline];
    // After a reset the samples are of the previous round; after a reconnect they still hold.
    if (newRound) this.live = [];
    if (first || newRound) {
      const merged = mergeReactions([], incoming, 0);
      this.reactions = merged.kept;
      this.#lastSeq = Math.max(merged.lastSeq, this.#lastSeq);
    } else {
      this.#addReactions(incoming);
    }
    this.#setTalk(talk);
  }

  /** `timeline`: the talk's new points, if any. (A reset comes as a new snapshot.) */
  #delta(talk: TalkAggregates, reactions: Reaction[], timeline: TimelinePoint[] | undefined): void {
    if (timeline && timeline.length > 0) this.timeline = mergeTimeline(this.timeline, timeline);
    this.#setTalk(talk);
    this.#addReactions(reactions);
  }

  /** The aggregates alone: the reactions and timeline are kept apart (deltas carry only what is new). */
  #setTalk(talk: TalkAggregates): void {
    const at = talk.at;
    this.clockOffsetMs = talk.at - Date.now();
    this.talk = talk;
    if (talk.status === 'open' || this.live.length === 0) {
      this.live = addLiveSample(this.live, { t: at, average: talk.average, participants: talk.participants, connected: talk.connected, reactions: 0 });
    }
  }

  #addReactions(incoming: Reaction[]): void {
    if (incoming.length === 0) return;
    const merged = mergeReactions(this.reactions, incoming, this.#lastSeq);
    this.#lastSeq = merged.lastSeq;
    if (merged.fresh.length === 0) return;
    this.reactions = merged.kept;
    for (const listener of this.#listeners) listener(merged.fresh);
  }
}

function readOnScreen(): OnScreen | null {
  try {
    const value = JSON.parse(localStorage.getItem(ON_SCREEN_KEY) ?? 'null') as Partial<OnScreen> | null;
    if (!value || typeof value.code !== 'string' || value.code === '') return null;
    return { code: value.code, hidden: value.hidden === true, paused: value.paused === true };
  } catch {
    return null; // unreadable: nothing is live on this screen
  }
}

function writeOnScreen(value: OnScreen | null): void {
  if (value) localStorage.setItem(ON_SCREEN_KEY, JSON.stringify(value));
  else localStorage.removeItem(ON_SCREEN_KEY);
}

export const talkFeed = new TalkFeed();
