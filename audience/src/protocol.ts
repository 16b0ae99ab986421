import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { z } from 'zod';

/**
 * The audience protocol's vocabulary, shared by the gateway (audience/src/gateway.ts), the talk
 * object (objects.ts) and the admin API: room codes, device ids, the curated emoji, the messages
 * both ways, and the validation of what a client sends. The protocol itself is documented in the
 * header of gateway.ts.
 */

/** Room code letters: uppercase, without the look-alikes I L O 0 1. */
export const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
/** A room code: 4 to 8 letters of {@link CODE_ALPHABET}. */
export const CODE_PATTERN = /^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{4,8}$/;
/** Length of the codes the admin API hands out (31^5 ≈ 28.6 million codes). */
export const NEW_CODE_LENGTH = 5;
/** An anonymous per-device id, made by the audience page and kept in its local storage. */
export const DEVICE_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;
/** A client's reference for one message, echoed in its `ack` or `rejected`. */
export const MAX_REF_LENGTH = 32;

/** The only emoji a talk accepts, in palette order. */
export const CURATED_EMOJI: readonly string[] = Object.freeze(['👏', '❤️', '😂', '🎉', '🤯', '🔥', '👍', '🤔', '😮', '🙌']);
const CURATED = new Set(CURATED_EMOJI);

export function isCuratedEmoji(emoji: unknown): emoji is string {
  return typeof emoji === 'string' && CURATED.has(emoji);
}

/** Why the gateway refused something; every one is counted in `highlander_audience_rejections_total{reason}`. */
export const REJECTION_REASONS = [
  'rate-limited', 'not-curated', 'closed', 'too-large', 'malformed', 'talk-not-found', 'room-full', 'too-many-connections', 'too-many-devices',
  'question-length', 'qna-full', 'question-gone',
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

export type TalkStatus = 'open' | 'closed';

/** A room code as typed by a person (any case, surrounding blanks), or null when it cannot be one. */
export function normalizeCode(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const code = raw.trim().toUpperCase();
  return CODE_PATTERN.test(code) ? code : null;
}

export function isDeviceId(raw: unknown): raw is string {
  return typeof raw === 'string' && DEVICE_PATTERN.test(raw);
}

/** A fresh random room code. */
export function newTalkCode(length = NEW_CODE_LENGTH): string {
  let code = '';
  for (let i = 0; i < length; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}

/** A participant's pseudonym in a talk: 22 characters of A-Z a-z 0-9 _ - (a 128-bit keyed hash). */
export const PSEUDONYM_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/**
 * A device id is a secret of its device: reconnecting with it is how a phone speaks for itself
 * again. The talk, its exports, the attendee objects and every API know a participant only by its
 * pseudonym: an HMAC-SHA-256 of the device id under the talk's own random key (`TalkState.secret`),
 * which no one can turn back into the device id. Every gateway of the cluster computes the same one.
 */
export function devicePseudonym(talkSecret: string, device: string): string {
  return createHmac('sha256', talkSecret).update(device).digest('base64url').slice(0, 22);
}

/** A fresh talk key for {@link devicePseudonym}. */
export function newTalkSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** The id of one participant's `attendee` object (`participant`: its pseudonym). */
export function attendeeId(code: string, participant: string): string {
  return `${code}.${participant}`;
}

// ---- questions (the talk's Q&A, qna.ts) ----

/** A question is at most this many characters (code points) after cleaning. */
export const MAX_QUESTION_LENGTH = 280;
/** …and at least this many. */
export const MIN_QUESTION_LENGTH = 3;

export type QuestionStatus = 'pending' | 'open' | 'answered' | 'hidden';

/** A question as phones see it. */
export interface PublicQuestion {
  id: number;
  text: string;
  votes: number;
  status: 'open' | 'answered';
  at: number;
}

/**
 * A question as typed, made safe to store and show as text: control characters become spaces
 * (newlines too), bidirectional overrides go, blanks are collapsed and trimmed, NFC. Null when
 * what is left is shorter than {@link MIN_QUESTION_LENGTH} or longer than {@link MAX_QUESTION_LENGTH}
 * characters.
 */
export function cleanQuestion(raw: string): string | null {
  const text = raw
    .normalize('NFC')
    .replace(/[\u202A-\u202E\u2066-\u2069\u200E\u200F]/g, '')
    .replace(/[\p{Cc}\u2028\u2029]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const length = [...text].length;
  return length < MIN_QUESTION_LENGTH || length > MAX_QUESTION_LENGTH ? null : text;
}

// ---- messages ----

export interface WelcomeMessage {
  kind: 'welcome';
  code: string;
  title: string;
  status: TalkStatus;
  emoji: readonly string[];
  /** This device's position as the talk has it (or as this gateway is about to write it), or null. */
  position: number | null;
  participants: number;
  /** Increases on every reset of the talk; a client clears its slider when it changes. */
  round: number;
  limits: {
    emojiBurst: number; emojiPerSecond: number; maxMessageBytes: number; maxMessagesPerSecond: number;
    questionBurst: number; questionsPerMinute: number; voteBurst: number; votesPerSecond: number; maxQuestionLength: number;
  };
}

export interface RoomMessage {
  kind: 'room';
  participants: number;
  status: TalkStatus;
  round: number;
}

export interface AckMessage {
  kind: 'ack';
  ref: string;
  /** For an `ask`: the new question's id and status (`pending` while it waits for the presenter's approval). */
  question?: { id: number; status: QuestionStatus };
}

/**
 * The talk's questions as this device may see them: on joining every visible one (`full`), then
 * what changed. `mine` (with `full` only): the questions this device voted for and the ones it
 * asked, pending ones included.
 */
export interface QuestionsMessage {
  kind: 'questions';
  full: boolean;
  approval: boolean;
  onScreen: number | null;
  questions: PublicQuestion[];
  /** Questions not to show any more (hidden by the presenter). */
  removed: number[];
  mine?: { voted: number[]; asked: Array<{ id: number; text: string; status: QuestionStatus }> };
}

export interface RejectedMessage {
  kind: 'rejected';
  ref?: string;
  reason: RejectionReason;
  message: string;
  retryAfterMs?: number;
}

export type ServerMessage = WelcomeMessage | RoomMessage | AckMessage | RejectedMessage | QuestionsMessage;

export type ClientMessage =
  | { kind: 'position'; value: number; ref?: string }
  | { kind: 'emoji'; emoji: string; ref?: string }
  | { kind: 'ask'; text: string; ref?: string }
  | { kind: 'vote'; question: number; up: boolean; ref?: string };

export type ParsedClientMessage =
  | { ok: true; message: ClientMessage }
  | { ok: false; reason: 'malformed' | 'not-curated' | 'question-length'; message: string; ref?: string };

const Ref = z.string().min(1).max(MAX_REF_LENGTH);
/** Before cleaning: generous, so that a question with blanks to collapse is not refused for them. */
const AskMessage = z.strictObject({ kind: z.literal('ask'), text: z.string().max(MAX_QUESTION_LENGTH * 4), ref: Ref.optional() });
const VoteMessage = z.strictObject({ kind: z.literal('vote'), question: z.int().min(1).max(Number.MAX_SAFE_INTEGER), up: z.boolean(), ref: Ref.optional() });

/** The first problem zod found, as a person reads it: the field, then what is wrong. */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  if (issue.code === 'unrecognized_keys') return `unknown field ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  return `${issue.path.length > 0 ? `"${issue.path.join('.')}"` : 'the message'}: ${issue.message}`;
}

/**
 * Validates one client message (JSON text). A position is a number from 0 to 100, kept as a whole
 * number; an emoji must be one of {@link CURATED_EMOJI}; `ref`, when given, a string of at most 32
 * characters. The failure says what was wrong and what to send instead.
 */
export function parseClientMessage(text: string): ParsedClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'malformed', message: 'not JSON: send {"kind":"position","value":0..100,"ref":"…"} or {"kind":"emoji","emoji":"👏","ref":"…"}' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'malformed', message: 'expected a JSON object with a "kind" of "position" or "emoji"' };
  }
  const message = value as Record<string, unknown>;
  const rawRef = message.ref;
  if (rawRef !== undefined && (typeof rawRef !== 'string' || rawRef.length === 0 || rawRef.length > MAX_REF_LENGTH)) {
    return { ok: false, reason: 'malformed', message: `"ref" must be a string of 1 to ${MAX_REF_LENGTH} characters` };
  }
  const ref = rawRef as string | undefined;
  const withRef = ref === undefined ? {} : { ref };
  switch (message.kind) {
    case 'position': {
      const v = message.value;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 100) {
        return { ok: false, reason: 'malformed', message: '"value" of a position must be a number from 0 (not great) to 100 (love it)', ...withRef };
      }
      if (Object.keys(message).some((k) => k !== 'kind' && k !== 'value' && k !== 'ref')) {
        return { ok: false, reason: 'malformed', message: 'a position has only "kind", "value" and "ref"', ...withRef };
      }
      return { ok: true, message: { kind: 'position', value: Math.round(v), ...withRef } };
    }
    case 'emoji': {
      if (Object.keys(message).some((k) => k !== 'kind' && k !== 'emoji' && k !== 'ref')) {
        return { ok: false, reason: 'malformed', message: 'an emoji message has only "kind", "emoji" and "ref"', ...withRef };
      }
      if (!isCuratedEmoji(message.emoji)) {
        return { ok: false, reason: 'not-curated', message: `only these emoji are accepted: ${CURATED_EMOJI.join(' ')}`, ...withRef };
      }
      return { ok: true, message: { kind: 'emoji', emoji: message.emoji, ...withRef } };
    }
    case 'ask': {
      const parsed = AskMessage.safeParse(message);
      if (!parsed.success) {
        const tooLong = parsed.error.issues.some((i) => i.path[0] === 'text' && i.code === 'too_big');
        return tooLong
          ? { ok: false, reason: 'question-length', message: `a question is at most ${MAX_QUESTION_LENGTH} characters`, ...withRef }
          : { ok: false, reason: 'malformed', message: `a question is {"kind":"ask","text":"…","ref":"…"}: ${firstIssue(parsed.error)}`, ...withRef };
      }
      const text = cleanQuestion(parsed.data.text);
      if (text === null) {
        return { ok: false, reason: 'question-length', message: `a question is ${MIN_QUESTION_LENGTH} to ${MAX_QUESTION_LENGTH} characters`, ...withRef };
      }
      return { ok: true, message: { kind: 'ask', text, ...withRef } };
    }
    case 'vote': {
      const parsed = VoteMessage.safeParse(message);
      if (!parsed.success) return { ok: false, reason: 'malformed', message: `a vote is {"kind":"vote","question":<id>,"up":true|false,"ref":"…"}: ${firstIssue(parsed.error)}`, ...withRef };
      return { ok: true, message: { kind: 'vote', question: parsed.data.question, up: parsed.data.up, ...withRef } };
    }
    default:
      return { ok: false, reason: 'malformed', message: '"kind" must be "position", "emoji", "ask" or "vote"', ...withRef };
  }
}
