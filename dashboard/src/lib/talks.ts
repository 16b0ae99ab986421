/** The admin API's talk routes (audience feedback), as the presenter view calls them. */
import { api, downloadFile } from './api.ts';
import { exportFilename } from './download.ts';
import type { TalkListItem, TalkView } from './types.ts';

const path = (code: string) => `/api/talks/${encodeURIComponent(code)}`;

/** A talk and the address of its audience page (null: no gateway known to the admin API). */
export interface TalkWithJoinUrl {
  talk: TalkView;
  joinUrl: string | null;
}

/** The newest talks (one page of the store: enough for a presenter's list). */
export async function listTalks(signal?: AbortSignal): Promise<TalkListItem[]> {
  const page = await api<{ items: TalkListItem[]; cursor?: string }>('GET', '/api/talks', { query: { limit: 200 }, ...(signal ? { signal } : {}) });
  return page.items;
}

/** The talk's snapshot (aggregates, recent reactions, timeline) and its join link. */
export function getTalk(code: string, signal?: AbortSignal): Promise<TalkWithJoinUrl> {
  return api<TalkWithJoinUrl>('GET', path(code), signal ? { signal } : {});
}

export function createTalk(title: string): Promise<TalkWithJoinUrl> {
  return api<TalkWithJoinUrl>('POST', '/api/talks', { body: { title } });
}

export type TalkAction = 'open' | 'close' | 'reset';

export function talkAction(code: string, action: TalkAction): Promise<TalkWithJoinUrl> {
  return api<TalkWithJoinUrl>('POST', `${path(code)}/${action}`, { body: {} });
}

/** Saves the talk's export (the server formats it); returns the file name. */
export function downloadTalk(code: string, format: 'json' | 'csv'): Promise<string> {
  return downloadFile(`${path(code)}/export`, { format }, exportFilename(code, format, new Date()));
}
