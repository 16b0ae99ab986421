import { session } from './session.svelte.ts';
import { filenameFromDisposition } from './download.ts';

/** What the admin API answered instead of a result: `{ error: { code, message, … } }`, or no answer at all. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Query = Record<string, string | number | boolean | undefined | null>;

/** One REST call to the admin API with the session's token; throws ApiError with the server's message. */
export async function api<T>(
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  /** `token`: send this one instead of the session's (the sign-in form checks a token before keeping it). */
  options: { query?: Query; body?: unknown; signal?: AbortSignal; token?: string } = {},
): Promise<T> {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, String(value));
  }
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = options.token ?? session.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'UNREACHABLE', 'The admin API did not answer: check that it is running and reachable from this browser.');
  }
  const text = await response.text();
  let body: unknown = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: described below
  }
  if (response.ok) return body as T;
  const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  if (response.status === 401) session.signOut();
  throw new ApiError(
    response.status,
    error?.code ?? `HTTP_${response.status}`,
    error?.message ?? `The admin API answered ${response.status} ${response.statusText}${text ? `: ${text.slice(0, 200)}` : ''}`,
    (error ?? {}) as Record<string, unknown>,
  );
}

/** `type/id` as a path: each part encoded. */
export function objectPath(type: string, id: string): string {
  return `${encodeURIComponent(type)}/${encodeURIComponent(id)}`;
}

/**
 * Downloads a file from the admin API with the session's token (a plain link cannot send the
 * header): fetched as a Blob and saved under the server's file name, or `fallbackName`.
 */
export async function downloadFile(path: string, query: Query, fallbackName: string): Promise<string> {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
  let response: Response;
  try {
    response = await fetch(url, { headers: session.token ? { Authorization: `Bearer ${session.token}` } : {} });
  } catch {
    throw new ApiError(0, 'UNREACHABLE', 'The admin API did not answer: check that it is running and reachable from this browser.');
  }
  if (!response.ok) {
    const text = await response.text();
    let error: { code?: string; message?: string } | undefined;
    try {
      error = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
    } catch {
      // not JSON: described below
    }
    if (response.status === 401) session.signOut();
    throw new ApiError(response.status, error?.code ?? `HTTP_${response.status}`, error?.message ?? `The admin API answered ${response.status} ${response.statusText}`);
  }
  const name = filenameFromDisposition(response.headers.get('Content-Disposition'), fallbackName);
  const blob = await response.blob();
  const href = URL.createObjectURL(blob);
  const anchor = document.createElement('a');
  anchor.href = href;
  anchor.download = name;
  anchor.style.display = 'none';
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  // The click has started the download; the URL can go once the browser has read it.
  setTimeout(() => URL.revokeObjectURL(href), 10_000);
  return name;
}
