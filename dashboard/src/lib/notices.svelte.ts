import { ApiError } from './api.ts';

export interface Notice {
  id: number;
  level: 'error' | 'success' | 'info';
  title: string;
  message: string;
}

/**
 * The one place errors reach the user: `handleError(err, 'Evicting todo/a')` shows the server's
 * message (never a stack); `notify` shows a result. Notices close by themselves after a while.
 */
class Notices {
  items = $state<Notice[]>([]);
  #next = 1;

  push(level: Notice['level'], title: string, message: string, ttlMs = level === 'error' ? 12_000 : 5000): void {
    const id = this.#next++;
    this.items = [...this.items.slice(-4), { id, level, title, message }];
    setTimeout(() => this.dismiss(id), ttlMs);
  }

  dismiss(id: number): void {
    this.items = this.items.filter((n) => n.id !== id);
  }
}

export const notices = new Notices();

/** What went wrong, in the words the user should read. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) return err.status > 0 ? `${err.message} (${err.code})` : err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function handleError(err: unknown, what: string): void {
  if ((err as Error)?.name === 'AbortError') return;
  notices.push('error', `${what} failed`, describeError(err));
}

export function notify(title: string, message = ''): void {
  notices.push('success', title, message);
}
