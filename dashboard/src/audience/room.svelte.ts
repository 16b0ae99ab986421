import { Coalescer } from './coalescer.ts';
import { emojiRate, rejectionText } from './feedback-text.ts';
import {
  clampPosition, parseServerMessage, sortQuestions, type ClientMessage, type Limits, type Question, type QuestionStatus, type QuestionsMessage, type ServerMessage,
  type TalkStatus, type WelcomeMessage,
} from './protocol.ts';
import { SILENCE_MS, closeVerdict, reconnectDelayMs } from './reconnect.ts';

export type LinkState =
  /** The first connection is being made. */
  | 'connecting'
  /** Welcomed: feedback flows. */
  | 'live'
  /** The connection dropped: trying again after a backoff (`retryAt`). */
  | 'reconnecting'
  /** No talk has this code: waiting for the person to try again. */
  | 'not-found';

export interface Notice {
  /** Changes with every notice, so the same text shown twice animates twice. */
  id: number;
  tone: 'ok' | 'warn';
  text: string;
}

/** A warning is not replaced by a confirmation for this long. */
const WARNING_HOLD_MS = 4000;

/** Slider positions go out at most this often (5 a second), the latest one winning. */
export const POSITION_INTERVAL_MS = 200;

/**
 * One person in one talk's room: the ws to the audience gateway (same origin, `/audience/ws`),
 * what the talk said about itself, this person's slider and emoji, and what became of them.
 *
 * - Acknowledgements: an `ack` means the feedback is durable in the talk. The slider shows
 *   "sent ✓" once its latest value is acknowledged (an older value's ack is not enough); an emoji
 *   says "sent ✓" when its own ack arrives.
 * - Reconnecting: any drop is retried with backoff (at once when the phone comes back online or
 *   to the foreground; a phone that says it went offline is taken at its word). After the new `welcome` the current slider position is sent again: the
 *   talk keeps one position per device, so sending it twice is harmless.
 * - Emoji in flight when the connection drops are NOT sent again: the gateway acknowledges per
 *   connection and does not recognise a ref across connections, so an emoji whose batch was applied
 *   just before the drop would count twice. The page says they were not confirmed instead.
 * - A silent connection (nothing heard for 8 s while the server speaks every ~2 s) is dropped and
 *   made again: half-open wifi otherwise looks connected forever.
 */
export class AudienceRoom {
  link = $state<LinkState>('connecting');
  title = $state('');
  /** Null until the talk has said. */
  status = $state<TalkStatus | null>(null);
  emoji = $state<string[]>([]);
  /** People in the room (devices connected), as the talk last said. */
  participants = $state<number | null>(null);
  limits = $state<Limits | null>(null);
  /** This person's slider: null until they move it or the talk gives back their earlier one. */
  position = $state<number | null>(null);
  /** The latest slider value: not sent / waiting for its ack / durable in the talk. */
  positionState = $state<'idle' | 'pending' | 'saved'>('idle');
  /** Bumped on every "sent ✓" of the slider, to replay its fade. */
  savedCount = $state(0);
  notice = $state<Notice | null>(null);
  /** Emoji are refused until then (epoch ms), after a rate-limit rejection. */
  emojiPausedUntil = $state(0);
  /** When the next connection attempt happens (epoch ms), while reconnecting. */
  retryAt = $state<number | null>(null);
  /** Attempts since the last welcome. */
  failures = $state(0);
  /** The room's visible questions, most votes first. */
  questions = $state.raw<Question[]>([]);
  /** The question the presenter shows large, if any. */
  onScreen = $state<number | null>(null);
  /** New questions wait for the presenter's approval. */
  approval = $state(false);
  /** Questions this device voted for (its votes in flight included). */
  voted = $state.raw<ReadonlySet<number>>(new Set());
  /** Questions this device asked, with what became of them. */
  asked = $state.raw<Array<{ id: number; text: string; status: QuestionStatus }>>([]);
  /** A question on its way: not sent / waiting for its ack. */
  askState = $state<'idle' | 'sending'>('idle');
  /** Bumped on every acknowledged question (the form clears its text). */
  askedCount = $state(0);

  readonly code: string;
  readonly #device: string;
  readonly #url: string;
  #ws: WebSocket | null = null;
  #round: number | null = null;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #watchdog: ReturnType<typeof setInterval> | null = null;
  #lastHeardAt = 0;
  #nextRef = 1;
  #noticeId = 1;
  #noticeAt = 0;
  #latestPositionRef: string | null = null;
  /** Emoji sent on this connection and not acknowledged yet, by ref. */
  #unackedEmoji = new Map<string, string>();
  /** The question sent on this connection and not acknowledged yet. */
  #unackedQuestion: { ref: string; text: string } | null = null;
  /** Votes sent on this connection and not acknowledged yet, by ref. */
  #unackedVotes = new Map<string, { question: number; up: boolean }>();
  #questionMap = new Map<number, Question>();
  #stopped = false;
  readonly #positions = new Coalescer<number>({ intervalMs: POSITION_INTERVAL_MS, send: (value) => this.#sendPosition(value) });
  readonly #wake = () => this.#reconnectNow();
  /** The phone says it lost the network: the socket is dead even if it does not know yet. */
  readonly #offline = () => {
    if (this.#ws === null) return;
    this.#drop(4000, 'offline');
    this.#closed(1006, '');
  };
  readonly #visible = () => {
    if (document.visibilityState === 'visible') this.#reconnectNow();
  };

  constructor(code: string, device: string, origin: URL = new URL(location.href)) {
    this.code = code;
    this.#device = device;
    const url = new URL('/audience/ws', origin);
    url.protocol = origin.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('code', code);
    url.searchParams.set('device', device);
    this.#url = url.href;
  }

  get canSend(): boolean {
    return this.link === 'live' && this.status === 'open';
  }

  start(): void {
    this.#stopped = false;
    addEventListener('online', this.#wake);
    addEventListener('offline', this.#offline);
    document.addEventListener('visibilitychange', this.#visible);
    this.#watchdog = setInterval(() => this.#checkSilence(), 2000);
    this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    removeEventListener('online', this.#wake);
    removeEventListener('offline', this.#offline);
    document.removeEventListener('visibilitychange', this.#visible);
    if (this.#watchdog) clearInterval(this.#watchdog);
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#positions.cancel();
    this.#drop(1000, 'leaving');
  }

  /** The slider moved: shown at once, sent coalesced. */
  move(value: number): void {
    if (this.status === 'closed') return;
    const position = clampPosition(value);
    this.position = position;
    this.positionState = 'pending';
    // Not connected: shown now, sent after the next welcome.
    if (this.link === 'live') this.#positions.set(position);
  }

  /** An emoji tapped: sent at once (the gateway limits the rate and says so). */
  react(emoji: string): void {
    if (!this.canSend) return;
    if (Date.now() < this.emojiPausedUntil) {
      this.#say('warn', `Slow down: ${emojiRate(this.limits)}`);
      return;
    }
    const ref = this.#ref('e');
    this.#unackedEmoji.set(ref, emoji);
    this.#send({ kind: 'emoji', emoji, ref });
  }

  /** Sends a question (the gateway cleans and checks it too). */
  ask(text: string): void {
    if (!this.canSend || this.askState === 'sending') return;
    const ref = this.#ref('q');
    this.#unackedQuestion = { ref, text };
    this.askState = 'sending';
    this.#send({ kind: 'ask', text, ref });
  }

  /** Votes for a question, or takes the vote back when this device voted for it already. */
  toggleVote(question: number): void {
    if (!this.canSend) return;
    const up = !this.voted.has(question);
    const ref = this.#ref('v');
    this.#unackedVotes.set(ref, { question, up });
    this.#setVoted(question, up);
    this.#send({ kind: 'vote', question, up, ref });
  }

  /** After "no such talk": the person checked the code and tries again. */
  retry(): void {
    this.failures = 0;
    this.#reconnectNow(true);
  }

  // ---- connection ----

  #connect(): void {
    if (this.#stopped) return;
    this.#retryTimer = null;
    this.retryAt = null;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.#url);
    } catch {
      this.#closed(1006, '');
      return;
    }
    this.#ws = ws;
    this.#lastHeardAt = Date.now();
    ws.onmessage = (event) => {
      if (this.#ws !== ws) return;
      this.#lastHeardAt = Date.now();
      const message = parseServerMessage(String(event.data));
      if (message) this.#receive(message);
    };
    ws.onclose = (event) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      this.#closed(event.code, event.reason);
    };
  }

  /** Forgets the current ws (its events are ignored from now on) and closes it. */
  #drop(code: number, reason: string): void {
    const ws = this.#ws;
    this.#ws = null;
    if (!ws) return;
    ws.onmessage = null;
    ws.onclose = null;
    try {
      ws.close(code, reason);
    } catch {
      // already closing: nothing more to do with it
    }
  }

  #closed(code: number, reason: string): void {
    this.#lostInFlight();
    if (this.#stopped) return;
    const verdict = closeVerdict(code, reason);
    if (verdict.action === 'stop') {
      this.link = 'not-found';
      this.status = null;
      return;
    }
    this.link = this.link === 'connecting' && this.failures === 0 && this.status === null ? 'connecting' : 'reconnecting';
    this.#schedule(reconnectDelayMs(this.failures));
    this.failures++;
  }

  #schedule(delayMs: number): void {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.retryAt = Date.now() + delayMs;
    this.#retryTimer = setTimeout(() => this.#connect(), delayMs);
  }

  /** Back online or in the foreground: don't wait out the backoff. */
  #reconnectNow(force = false): void {
    if (this.#stopped) return;
    if (this.link === 'not-found' && !force) return;
    if (this.#ws !== null || (this.#retryTimer === null && !force)) return;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    if (force) this.link = 'connecting';
    this.#connect();
  }

  #checkSilence(): void {
    if (this.#ws === null || Date.now() - this.#lastHeardAt < SILENCE_MS) return;
    // Half-open (the wifi went, the socket did not notice): give up on it and connect again.
    this.#drop(4000, 'silent');
    this.#closed(1006, '');
  }

  /** The connection went: its unacknowledged emoji are reported, its slider value will be resent. */
  #lostInFlight(): void {
    this.#positions.reset();
    this.#latestPositionRef = null;
    if (this.positionState === 'saved') this.positionState = 'idle';
    const lost = [...this.#unackedEmoji.values()];
    this.#unackedEmoji.clear();
    if (lost.length > 0) this.#say('warn', `${lost.join('')} not confirmed: the connection dropped`);
    // Votes are known again with the next welcome's questions; a question is not sent twice.
    this.#unackedVotes.clear();
    if (this.#unackedQuestion) {
      this.#unackedQuestion = null;
      this.askState = 'idle';
      this.#say('warn', 'Your question was not confirmed: the connection dropped. Check the list before asking again');
    }
  }

  // ---- messages ----

  #receive(message: ServerMessage): void {
    switch (message.kind) {
      case 'welcome':
        return this.#welcome(message);
      case 'room':
        this.participants = message.participants;
        this.#setStatus(message.status);
        this.#setRound(message.round ?? 0);
        return;
      case 'ack':
        return this.#ack(message.ref, message.question);
      case 'questions':
        return this.#questionsMessage(message);
      case 'rejected': {
        const ref = message.ref;
        const emoji = ref === undefined ? undefined : this.#unackedEmoji.get(ref);
        if (ref !== undefined) this.#unackedEmoji.delete(ref);
        const vote = ref === undefined ? undefined : this.#unackedVotes.get(ref);
        if (vote && ref !== undefined) {
          this.#unackedVotes.delete(ref);
          this.#setVoted(vote.question, !vote.up);
        }
        if (ref !== undefined && this.#unackedQuestion?.ref === ref) {
          this.#unackedQuestion = null;
          this.askState = 'idle';
        }
        const about = emoji !== undefined ? 'emoji' : ref?.startsWith('p') ? 'position' : ref?.startsWith('q') ? 'question' : ref?.startsWith('v') ? 'vote' : null;
        if (about === 'position' && ref === this.#latestPositionRef) this.positionState = 'idle';
        if (about === 'emoji' && message.reason === 'rate-limited' && message.retryAfterMs) {
          this.emojiPausedUntil = Date.now() + message.retryAfterMs;
        }
        if (message.reason === 'closed') this.#setStatus('closed');
        // No such talk: the close that follows (4404) shows its own panel.
        if (message.reason !== 'talk-not-found') this.#say('warn', rejectionText(message, about, this.limits));
        return;
      }
    }
  }

  #welcome(welcome: WelcomeMessage): void {
    const round = welcome.round ?? 0;
    const sameRound = this.#round === null || this.#round === round;
    this.link = 'live';
    this.failures = 0;
    this.title = welcome.title;
    this.emoji = welcome.emoji;
    this.participants = welcome.participants;
    this.limits = welcome.limits;
    this.#setStatus(welcome.status);
    this.#round = round;
    if (!sameRound) this.#newRound();
    // A new connection: nothing has been sent on it yet.
    this.#positions.reset();
    if (this.position !== null && sameRound && this.status === 'open') {
      // Moved while disconnected, or not acknowledged before the drop: send the current value (again).
      this.positionState = 'pending';
      this.#positions.set(this.position);
    } else if (this.position === null && welcome.position !== null) {
      this.position = welcome.position;
      this.positionState = 'saved';
    }
  }

  #ack(ref: string, question?: { id: number; status: QuestionStatus }): void {
    if (this.#unackedQuestion?.ref === ref) {
      const { text } = this.#unackedQuestion;
      this.#unackedQuestion = null;
      this.askState = 'idle';
      this.askedCount++;
      if (question) this.asked = [...this.asked.filter((q) => q.id !== question.id), { id: question.id, text, status: question.status }];
      this.#say('ok', question?.status === 'pending' ? 'Question sent ✓ It shows once the presenter approves it' : 'Question sent ✓');
      return;
    }
    if (this.#unackedVotes.delete(ref)) return;
    const emoji = this.#unackedEmoji.get(ref);
    if (emoji !== undefined) {
      this.#unackedEmoji.delete(ref);
      this.#say('ok', `${emoji} sent ✓`);
      return;
    }
    if (ref === this.#latestPositionRef && this.#positions.pending === undefined) {
      this.positionState = 'saved';
      this.savedCount++;
    }
  }

  #questionsMessage(message: QuestionsMessage): void {
    if (message.full) this.#questionMap.clear();
    for (const q of message.questions) this.#questionMap.set(q.id, q);
    for (const id of message.removed) this.#questionMap.delete(id);
    this.questions = sortQuestions(this.#questionMap.values());
    this.onScreen = message.onScreen;
    this.approval = message.approval;
    if (message.mine) {
      // What the talk has, plus the votes still on their way.
      const voted = new Set(message.mine.voted);
      for (const { question, up } of this.#unackedVotes.values()) {
        if (up) voted.add(question);
        else voted.delete(question);
      }
      this.voted = voted;
      this.asked = message.mine.asked;
    }
    // A question of mine that shows now was approved (or hidden, if it went).
    const visible = new Map(message.questions.map((q) => [q.id, q.status]));
    if (this.asked.some((q) => visible.has(q.id) && visible.get(q.id) !== q.status) || message.removed.some((id) => this.asked.some((q) => q.id === id))) {
      this.asked = this.asked.map((q) => (visible.has(q.id) ? { ...q, status: visible.get(q.id)! } : message.removed.includes(q.id) && q.status !== 'pending' ? { ...q, status: 'hidden' } : q));
    }
  }

  #setVoted(question: number, up: boolean): void {
    if (this.voted.has(question) === up) return;
    const next = new Set(this.voted);
    if (up) next.add(question);
    else next.delete(question);
    this.voted = next;
  }

  #setStatus(status: TalkStatus): void {
    if (status === this.status) return;
    this.status = status;
    if (status === 'closed') {
      this.#positions.cancel();
      if (this.positionState === 'pending') this.positionState = 'idle';
    }
  }

  #setRound(round: number): void {
    if (this.#round === null || round === this.#round) return;
    this.#round = round;
    this.#newRound();
  }

  /** The presenter reset the talk: earlier ratings are gone, the slider starts afresh. */
  #newRound(): void {
    this.#positions.cancel();
    this.position = null;
    this.positionState = 'idle';
    this.#say('ok', 'New round: the presenter reset the room');
  }

  #sendPosition(value: number): void {
    if (this.link !== 'live' || this.status !== 'open') return; // resent after the next welcome
    const ref = this.#ref('p');
    this.#latestPositionRef = ref;
    this.#send({ kind: 'position', value, ref });
  }

  #send(message: ClientMessage): void {
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(message));
  }

  #ref(prefix: 'p' | 'e' | 'q' | 'v'): string {
    return `${prefix}${this.#nextRef++}`;
  }

  /** A warning stays up a while: the acks of a burst must not bury the "Slow down" that came first. */
  #say(tone: Notice['tone'], text: string): void {
    if (tone === 'ok' && this.notice?.tone === 'warn' && Date.now() - this.#noticeAt < WARNING_HOLD_MS) return;
    this.notice = { id: this.#noticeId++, tone, text };
    this.#noticeAt = Date.now();
  }
}
