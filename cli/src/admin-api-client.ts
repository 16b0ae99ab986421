import { CliError, EXIT } from './exit-codes.js';

/**
 * The CLI's client of the admin API's REST routes (admin-api/src/routes.ts): bearer token, JSON in
 * and out, and every failure turned into a {@link CliError} with the CLI's exit code — the admin
 * API's `{ error: { code, message } }` (1, or 4 for 401/403), no answer at all or an answer that is
 * not the admin API's (3).
 */

export interface AdminApiClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  token: string | undefined;
  timeoutMs: number;
}

export interface ApiAnswer<T> {
  status: number;
  /** The body as received, for `--json`. */
  text: string;
  body: T;
}

interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown>; correlationId?: string };
}

export class AdminApiClient {
  readonly #base: string;

  constructor(private readonly options: AdminApiClientOptions) {
    this.#base = options.url.replace(/\/+$/, '');
  }

  get<T>(path: string): Promise<ApiAnswer<T>> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body: unknown): Promise<ApiAnswer<T>> {
    return this.request<T>('POST', path, body);
  }

  put<T>(path: string, body: unknown): Promise<ApiAnswer<T>> {
    return this.request<T>('PUT', path, body);
  }

  async request<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<ApiAnswer<T>> {
    const { url, token, timeoutMs } = this.options;
    let response: Response;
    try {
      response = await fetch(`${this.#base}${path}`, {
        method,
        headers: {
          accept: 'application/json',
          'user-agent': 'highlander-cli',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw unreachable(url, method, path, timeoutMs, err);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      throw unreachable(url, method, path, timeoutMs, err);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw notTheAdminApi(url, `answered ${method} ${path} with ${response.status} and a body that is not JSON (${response.headers.get('content-type') ?? 'no content type'})`);
    }
    if (response.ok) return { status: response.status, text, body: json as T };
    if (!isErrorBody(json)) throw notTheAdminApi(url, `answered ${method} ${path} with ${response.status} without the admin API's { error: { code, message } }`);
    const { code, message, correlationId } = json.error;
    const said = `${response.status} ${code}: ${message}${correlationId ? ` (correlation id ${correlationId})` : ''}`;
    if (response.status === 401) {
      const hint = token
        ? 'the token given (--token / HIGHLANDER_API_TOKEN) is not one of the admin API\'s HIGHLANDER_API_TOKENS'
        : 'no token was given: pass --token <token> or set HIGHLANDER_API_TOKEN';
      throw new CliError(EXIT.AUTH, `the admin API at ${url} refused the request, unauthenticated: ${said}\n${hint}`, text);
    }
    if (response.status === 403) {
      const hint = code === 'READ_ONLY'
        ? 'the admin API runs read-only (--read-only / HIGHLANDER_API_READ_ONLY)'
        : 'actions, and handlers that change state, need an operator token';
      throw new CliError(EXIT.AUTH, `the admin API at ${url} refused the request, forbidden: ${said}\n${hint}`, text);
    }
    throw new CliError(EXIT.FAILED, said, text);
  }
}

function isErrorBody(json: unknown): json is ErrorBody {
  const error = (json as ErrorBody | null)?.error;
  return typeof error === 'object' && error !== null && typeof error.code === 'string' && typeof error.message === 'string';
}

function unreachable(url: string, method: string, path: string, timeoutMs: number, err: unknown): CliError {
  const name = (err as Error | undefined)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new CliError(
      EXIT.UNREACHABLE,
      `the admin API at ${url} did not answer ${method} ${path} within ${timeoutMs} ms (--timeout-ms / HIGHLANDER_API_TIMEOUT_MS)` +
        (method !== 'GET' ? '; the action may still complete: look with `highlander show`' : ''),
    );
  }
  const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  const why = cause?.code ?? cause?.message ?? (err as Error | undefined)?.message ?? String(err);
  return new CliError(
    EXIT.UNREACHABLE,
    `cannot reach the admin API at ${url} (${why}): check --api / HIGHLANDER_API_URL, and that the admin API is running and listening there (highlander admin)`,
  );
}

function notTheAdminApi(url: string, what: string): CliError {
  return new CliError(EXIT.UNREACHABLE, `${url} ${what}: is it the admin API? Check --api / HIGHLANDER_API_URL`);
}
