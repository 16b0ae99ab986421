/**
 * The audience gateway's protocol as the audience page speaks it. The gateway's own definitions
 * are in audience/src/protocol.ts (and its header in audience/src/gateway.ts); this page mirrors
 * the shapes rather than importing them, so that nothing of the server reaches its bundle.
 * Pure (no DOM), unit-tested.
 */

export type TalkStatus = 'open' | 'closed';

export interface Limits {
  /** Emoji one device may send at once… */
  emojiBurst: number;
  /** …then this many per second. */
  emojiPerSecond: number;
  maxMessageBytes: number;
  /** Messages of any kind one connection may send per second (absent from older gateways). */
  maxMessagesPerSecond?: number;
  /** Questions one device may ask at once, then per minute; votes at once, then per second (absent from older gateways). */
  questionBurst?: number;
  questionsPerMinute?: number;
  voteBurst?: number;
  votesPerSecond?: number;
  /** A question is at most this many characters. */
  maxQuestionLength?: number;
}

export interface WelcomeMessage {
  kind: 'welcome';
  code: string;
  title: string;
  status: TalkStatus;
  /** The curated palette, in order. */
  emoji: string[];
  /** This device's position as the talk has it, or null. */
  position: number | null;
  participants: number;
  /** Increases on every reset of the talk: a new round clears the slider. Absent: round 0. */
  round?: number;
  limits: Limits;
}

export interface RoomMessage {
  kind: 'room';
  participants: number;
  status: TalkStatus;
  round?: number;
}

export interface AckMessage {
  kind: 'ack';
  ref: string;
  /** For a question: its id and status (`pending` while the presenter has not approved it). */
  question?: { id: number; status: QuestionStatus };
}

export type QuestionStatus = 'pending' | 'open' | 'answered' | 'hidden';

/** A question as the room sees it. Its text is plain text: shown as such, never as markup. */
export interface Question {
  id: number;
  text: string;
  votes: number;
  status: 'open' | 'answered';
  at: number;
}

export interface QuestionsMessage {
  kind: 'questions';
  /** Every visible question (after joining), or only what changed. */
  full: boolean;
  approval: boolean;
  onScreen: number | null;
  questions: Question[];
  removed: number[];
  mine?: { voted: number[]; asked: Array<{ id: number; text: string; status: QuestionStatus }> };
}

export type RejectionReason =
  | 'rate-limited' | 'not-curated' | 'closed' | 'too-large' | 'malformed' | 'talk-not-found' | 'room-full' | 'too-many-connections' | 'too-many-devices'
  | 'question-length' | 'qna-full' | 'question-gone';

export interface RejectedMessage {
  kind: 'rejected';
  ref?: string;
  reason: RejectionReason | (string & {});
  message: string;
  retryAfterMs?: number;
}

export type ServerMessage = WelcomeMessage | RoomMessage | AckMessage | RejectedMessage | QuestionsMessage;

export type ClientMessage =
  | { kind: 'position'; value: number; ref: string }
  | { kind: 'emoji'; emoji: string; ref: string }
  | { kind: 'ask'; text: string; ref: string }
  | { kind: 'vote'; question: number; up: boolean; ref: string };

/** A question is at most this many characters, unless the gateway says otherwise. */
export const MAX_QUESTION_LENGTH = 280;
export const MIN_QUESTION_LENGTH = 3;

/** Characters as the gateway counts them (code points, after collapsing blanks). */
export function questionLength(text: string): number {
  return [...text.replace(/\s+/g, ' ').trim()].length;
}

/** The room's questions in the order a phone shows them: most votes first, then the oldest. */
export function sortQuestions(questions: Iterable<Question>): Question[] {
  return [...questions].sort((a, b) => b.votes - a.votes || a.at - b.at || a.id - b.id);
}

/** ws close code of a room code no talk has. */
export const CLOSE_TALK_NOT_FOUND = 4404;
/** Room code letters: uppercase, without the look-alikes I L O 0 1. */
export const CODE_PATTERN = /^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{4,8}$/;
/** The page's anonymous per-device id. */
export const DEVICE_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;
export const MAX_REF_LENGTH = 32;

/** A room code as typed or linked (any case, blanks around it), or null when it cannot be one. */
export function normalizeCode(raw: string | null | undefined): string | null {
  if (typeof raw !== 'string') return null;
  const code = raw.trim().toUpperCase();
  return CODE_PATTERN.test(code) ? code : null;
}

/** The room code of an audience page's path: `/a/<code>` (a trailing slash allowed). */
export function codeFromPath(pathname: string): string | null {
  const match = /^\/a\/([^/]+)\/?$/.exec(pathname);
  if (!match) return null;
  try {
    return normalizeCode(decodeURIComponent(match[1]!));
  } catch {
    return null;
  }
}

export function isDeviceId(raw: unknown): raw is string {
  return typeof raw === 'string' && DEVICE_PATTERN.test(raw);
}

/** A server message, or null for anything that is not one (ignored, never thrown). */
export function parseServerMessage(text: string): ServerMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const message = value as { kind?: unknown };
  switch (message.kind) {
    case 'welcome':
    case 'room':
    case 'ack':
    case 'rejected':
      return value as ServerMessage;
    case 'questions': {
      const m = value as Partial<QuestionsMessage>;
      return Array.isArray(m.questions) && Array.isArray(m.removed) ? (value as QuestionsMessage) : null;
    }
    default:
      return null;
  }
}

/** A 0..100 slider position as the gateway keeps it: a whole number. */
export function clampPosition(value: number): number {
  if (!Number.isFinite(value)) return 50;
  return Math.min(100, Math.max(0, Math.round(value)));
}

/** How a position reads, for the slider's aria-valuetext and the label under it. */
export function describePosition(value: number | null): string {
  if (value === null) return 'not rated yet';
  if (value <= 10) return 'not great';
  if (value <= 35) return 'meh';
  if (value <= 64) return 'okay';
  if (value <= 89) return 'pretty good';
  return 'love it';
}
