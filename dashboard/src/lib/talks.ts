/** The admin API's talk routes (audience feedback), as the presenter view calls them. */
import type { ModerationAction, QnaPresenterView, TalkAction, TalkSnapshot, TalkSummary, TalkView } from '@highlander/admin-api/protocol';
import { api, downloadFile } from './api.ts';
import { exportFilename } from './download.ts';

const path = (code: string) => `/api/talks/${encodeURIComponent(code)}`;

/** The newest talks (one page of the store: enough for a presenter's list). */
export async function listTalks(signal?: AbortSignal): Promise<TalkSummary[]> {
  const page = await api<{ items: TalkSummary[]; cursor?: string }>('GET', '/api/talks', { query: { limit: 200 }, ...(signal ? { signal } : {}) });
  return page.items;
}

/** The talk's snapshot (aggregates, recent reactions, timeline) and its join link (null: no gateway known to the admin API). */
export function getTalk(code: string, signal?: AbortSignal): Promise<{ talk: TalkSnapshot; joinUrl: string | null }> {
  return api<{ talk: TalkSnapshot; joinUrl: string | null }>('GET', path(code), signal ? { signal } : {});
}

/** A new talk (open), with its join link. */
export function createTalk(title: string): Promise<TalkView> {
  return api<TalkView>('POST', '/api/talks', { body: { title } });
}

export function talkAction(code: string, action: TalkAction): Promise<TalkView> {
  return api<TalkView>('POST', `${path(code)}/${action}`, { body: {} });
}

/** Saves the talk's export (the server formats it; CSV: the timeline, or the questions); returns the file name. */
export function downloadTalk(code: string, format: 'json' | 'csv', table: 'timeline' | 'questions' = 'timeline'): Promise<string> {
  return downloadFile(`${path(code)}/export`, format === 'csv' ? { format, table } : { format }, exportFilename(code, format, new Date()));
}

/** Approves, answers, reopens, hides, or puts on screen one question; answers every question. */
export function moderateQuestion(code: string, question: number, action: ModerationAction): Promise<QnaPresenterView> {
  return api<QnaPresenterView>('POST', `${path(code)}/questions/moderate`, { body: { question, action } });
}

export function questionSettings(code: string, settings: { approval: boolean }): Promise<QnaPresenterView> {
  return api<QnaPresenterView>('POST', `${path(code)}/questions/settings`, { body: settings });
}
