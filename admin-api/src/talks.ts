import { HighlanderError, NodeStopping, NodeUnreachable, ObjectRejected, UnknownObjectType } from '@highlander/runtime';
import type { ModerationAction, QnaExport, QnaPresenterView, TalkAggregates, TalkExport, TalkSnapshot, TalkState } from '@highlander/audience';
import { newTalkCode } from '@highlander/audience';
import type { ClusterModel, ModelEvent, Storage } from './contracts.js';
import { HttpError } from './http-error.js';
import type { NodeAdminClient } from './node-admin-client.js';

/**
 * The presenter's side of audience feedback: talks (audience/src/objects.ts) created, opened,
 * closed, reset, read and exported through the nodes. Every call goes to a live node's
 * `POST /admin/call`, which routes it to the talk's owner like any call; a node that does not
 * answer is skipped for the next one. Listing reads the stored talks from S3 (type `talk`).
 *
 * The join link is `<audience URL>/a/<code>`: the configured audience URL (`--audience-url`, the
 * public address of the nodes' audience gateways, e.g. a load balancer), or else the gateway URL a
 * live node reports at `GET /admin/services` (fine on one machine; behind NAT or a proxy, configure it).
 */

export interface TalkSummary {
  code: string;
  title: string;
  status: 'open' | 'closed';
  createdAt: number;
  /** Devices with a position, as last stored. */
  participants: number;
  /** The node holding it now, or null when it is not active. */
  owner: string | null;
}

export interface TalkView {
  talk: TalkAggregates;
  joinUrl: string | null;
}

export interface TalkExportWithEvents extends TalkExport {
  /** The cluster's lifecycle events in the talk's time window that the admin API still holds (nodes, this talk). */
  events: ModelEvent[];
  /** The talk's Q&A: every question (hidden ones too) with its votes, status and voters' pseudonyms. */
  qna: QnaExport;
}

export type TalkAction = 'open' | 'close' | 'reset';

export interface TalkService {
  list(query: { cursor?: string; limit: number }): Promise<{ items: TalkSummary[]; cursor?: string }>;
  create(title: string): Promise<TalkView>;
  act(code: string, action: TalkAction): Promise<TalkView>;
  snapshot(code: string, since?: { reaction?: number; timeline?: number }, timeoutMs?: number): Promise<TalkSnapshot>;
  export(code: string): Promise<TalkExportWithEvents>;
  joinUrl(code: string): Promise<string | null>;
  /** The talk's questions as the presenter sees them (every one, or those changed after `since`). */
  questions(code: string, since?: number, timeoutMs?: number): Promise<QnaPresenterView>;
  moderate(code: string, question: number, action: ModerationAction): Promise<QnaPresenterView>;
  qnaSettings(code: string, settings: { approval: boolean }): Promise<QnaPresenterView>;
}

export interface LiveTalkServiceOptions {
  model: ClusterModel;
  storage: Storage;
  nodes: NodeAdminClient;
  /** The public URL of the audience gateways; without it, a live node's gateway URL. */
  audienceUrl?: string;
  /** @default 10000 */
  callTimeoutMs?: number;
}

/** Codes tried before giving up on finding a free one (31^5 codes: a clash is rare). */
const CREATE_ATTEMPTS = 8;
/** A gateway URL learnt from a node is asked again after this long. */
const AUDIENCE_URL_TTL_MS = 10_000;
const MAX_EXPORT_EVENTS = 5000;

export class LiveTalkService implements TalkService {
  readonly #options: LiveTalkServiceOptions;
  readonly #callTimeoutMs: number;
  #next = 0;
  #learntUrl: { url: string | null; at: number } | undefined;
  /** Codes of talks known to exist (a talk, once created, is never deleted). */
  readonly #existing = new Set<string>();

  constructor(options: LiveTalkServiceOptions) {
    this.#options = options;
    this.#callTimeoutMs = options.callTimeoutMs ?? 10_000;
  }

  async list(query: { cursor?: string; limit: number }): Promise<{ items: TalkSummary[]; cursor?: string }> {
    const { storage, model } = this.#options;
    const page = await storage.list({ type: 'talk', limit: query.limit, ...(query.cursor ? { cursor: query.cursor } : {}) });
    const stored = await Promise.all(page.items.map((item) => storage.get('talk', item.id)));
    const items: TalkSummary[] = [];
    for (const object of stored) {
      const state = object?.state as TalkState | undefined;
      // A code someone only looked up is stored with its initial state: not a talk.
      if (!object || !state || state.createdAt === null || state.createdAt === undefined) continue;
      items.push({
        code: object.id, title: state.title, status: state.status, createdAt: state.createdAt,
        participants: Object.keys(state.positions ?? {}).length, owner: model.object('talk', object.id)?.owner ?? null,
      });
    }
    items.sort((a, b) => b.createdAt - a.createdAt);
    return { items, ...(page.cursor ? { cursor: page.cursor } : {}) };
  }

  async create(title: string): Promise<TalkView> {
    for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
      const code = newTalkCode();
      try {
        const talk = await this.#call<TalkAggregates>(code, 'create', { title });
        return { talk, joinUrl: await this.joinUrl(code) };
      } catch (err) {
        if (err instanceof HttpError && err.code === 'TALK_EXISTS') continue;
        throw err;
      }
    }
    throw new HttpError(503, 'TALKS_UNAVAILABLE', `no free talk code after ${CREATE_ATTEMPTS} tries; try again`);
  }

  async act(code: string, action: TalkAction): Promise<TalkView> {
    const talk = await this.#call<TalkAggregates>(code, action, null);
    return { talk, joinUrl: await this.joinUrl(code) };
  }

  snapshot(code: string, since: { reaction?: number; timeline?: number } = {}, timeoutMs?: number): Promise<TalkSnapshot> {
    return this.#call<TalkSnapshot>(code, 'snapshot', {
      ...(since.reaction !== undefined ? { sinceReaction: since.reaction } : {}),
      ...(since.timeline !== undefined ? { sinceTimeline: since.timeline } : {}),
    }, timeoutMs);
  }

  async export(code: string): Promise<TalkExportWithEvents> {
    const [exported, qna] = await Promise.all([this.#call<TalkExport>(code, 'export', null), this.#call<QnaExport>(code, 'export', null, undefined, 'qna')]);
    return { ...exported, events: this.#eventsOf(code, exported.createdAt), qna };
  }

  questions(code: string, since?: number, timeoutMs?: number): Promise<QnaPresenterView> {
    return this.#call<QnaPresenterView>(code, 'presenter', since === undefined ? {} : { since }, timeoutMs, 'qna');
  }

  moderate(code: string, question: number, action: ModerationAction): Promise<QnaPresenterView> {
    return this.#call<QnaPresenterView>(code, 'moderate', { question, action }, undefined, 'qna');
  }

  qnaSettings(code: string, settings: { approval: boolean }): Promise<QnaPresenterView> {
    return this.#call<QnaPresenterView>(code, 'settings', settings, undefined, 'qna');
  }

  async joinUrl(code: string): Promise<string | null> {
    const base = this.#options.audienceUrl ?? (await this.#learnAudienceUrl());
    return base === null ? null : `${base.replace(/\/+$/, '')}/a/${code}`;
  }

  /**
   * Runs `op` on talk `code` (or on its Q&A, `type` qna) through a live node; tries the next node
   * when one does not answer. A code nobody created is answered TALK_NOT_FOUND from the state store,
   * without activating (and so writing) anything.
   */
  async #call<T>(code: string, op: string, arg: unknown, timeoutMs = this.#callTimeoutMs, type: 'talk' | 'qna' = 'talk'): Promise<T> {
    if (op !== 'create' && !(await this.#exists(code))) throw new HttpError(404, 'TALK_NOT_FOUND', `no talk with code ${code}`, { code });
    const live = this.#options.model.nodes().filter((n) => n.status !== 'unreachable');
    if (live.length === 0) throw new HttpError(503, 'TALKS_UNAVAILABLE', 'no live node to reach the talks through');
    // The talk's owner first when the model knows it (one hop less), then the others in turn.
    const owner = this.#options.model.object(type, code)?.owner;
    const start = this.#next++ % live.length;
    const nodes = [...live.slice(start), ...live.slice(0, start)].sort((a, b) => Number(b.name === owner) - Number(a.name === owner));
    let last: unknown;
    for (const node of nodes) {
      try {
        const reply = await this.#options.nodes.request<{ value: T }>(node.address, node.name, 'POST', '/call', { type, id: code, op, arg, timeoutMs }, timeoutMs + 2000);
        return reply.value;
      } catch (err) {
        if (err instanceof ObjectRejected) throw talkError(code, err);
        // This node cannot take it (down, stopping, or without the audience types): the next one may.
        if (err instanceof NodeUnreachable || err instanceof NodeStopping || err instanceof UnknownObjectType) {
          last = err;
          continue;
        }
        throw err;
      }
    }
    if (last instanceof UnknownObjectType) {
      throw new HttpError(503, 'TALKS_UNAVAILABLE', 'no node hosts talks: start the nodes with --audience-port (HIGHLANDER_AUDIENCE_PORT)');
    }
    throw last instanceof HighlanderError ? last : new HttpError(503, 'TALKS_UNAVAILABLE', 'no node answered');
  }

  async #exists(code: string): Promise<boolean> {
    if (this.#existing.has(code)) return true;
    const stored = await this.#options.storage.get('talk', code);
    const createdAt = (stored?.state as Partial<TalkState> | undefined)?.createdAt;
    if (createdAt === null || createdAt === undefined) return false;
    this.#existing.add(code);
    return true;
  }

  async #learnAudienceUrl(): Promise<string | null> {
    const cached = this.#learntUrl;
    if (cached && Date.now() - cached.at < AUDIENCE_URL_TTL_MS) return cached.url;
    let url: string | null = null;
    for (const node of this.#options.model.nodes().filter((n) => n.status === 'up')) {
      try {
        const reply = await this.#options.nodes.request<{ services?: { audience?: { url?: string } } }>(node.address, node.name, 'GET', '/services', undefined, 2000);
        const found = reply.services?.audience?.url;
        if (typeof found === 'string') {
          url = found;
          break;
        }
      } catch {
        // Not answering, or an older node without /admin/services: ask the next one.
      }
    }
    this.#learntUrl = { url, at: Date.now() };
    return url;
  }

  #eventsOf(code: string, since: number): ModelEvent[] {
    const events: ModelEvent[] = [];
    let cursor = 0;
    for (let pages = 0; pages < 1000; pages++) {
      const page = this.#options.model.events(cursor, 1000);
      for (const event of page.events) {
        if (event.time < since) continue;
        const isNode = event.kind.startsWith('node.');
        const isTalk = 'type' in event && event.type === 'talk' && 'id' in event && event.id === code;
        if (isNode || isTalk) events.push(event);
      }
      if (page.events.length < 1000 || page.cursor <= cursor) break;
      cursor = page.cursor;
    }
    return events.slice(-MAX_EXPORT_EVENTS);
  }
}

function talkError(code: string, err: ObjectRejected): HttpError {
  switch (err.error) {
    case 'notFound':
      return new HttpError(404, 'TALK_NOT_FOUND', `no talk with code ${code}`, { code });
    case 'exists':
      return new HttpError(409, 'TALK_EXISTS', `a talk with code ${code} exists already`, { code });
    case 'noQuestion':
      return new HttpError(404, 'QUESTION_NOT_FOUND', err.message, { code });
    default:
      return new HttpError(400, 'BAD_REQUEST', err.message);
  }
}

/** The questions as CSV, most votes first: one row per question (hidden ones too), text quoted as a CSV field. */
export function questionsCsv(exported: TalkExportWithEvents): string {
  const lines = ['id,asked,status,votes,on_screen,text'];
  const questions = [...exported.qna.questions].sort((a, b) => b.votes - a.votes || a.id - b.id);
  for (const q of questions) {
    lines.push([q.id, new Date(q.at).toISOString(), q.status, q.votes, q.id === exported.qna.onScreen, csvField(q.text)].join(','));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A CSV field: quoted, quotes doubled; a leading = + - @ gets an apostrophe so that a spreadsheet
 * does not run audience text as a formula.
 */
function csvField(text: string): string {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return `"${safe.replaceAll('"', '""')}"`;
}

/** The timeline as CSV, one row per point (every 10 s while open); the JSON export has everything else. */
export function timelineCsv(exported: TalkExport): string {
  const lines = ['time,average,participants,connected,reactions'];
  for (const p of exported.timeline) {
    lines.push([new Date(p.t).toISOString(), p.average ?? '', p.participants, p.connected, p.reactions].join(','));
  }
  return `${lines.join('\n')}\n`;
}
