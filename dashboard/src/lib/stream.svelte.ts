import { session } from './session.svelte.ts';
import type { Role } from './types.ts';

export type StreamStatus = 'idle' | 'connecting' | 'live' | 'reconnecting';

type Scope = 'summary' | 'events' | 'object' | 'talk';
type Message = { kind: string; scope?: Scope; [field: string]: unknown };
type Handler = (message: Message) => void;

/** Reconnect delays: quick at first, then every few seconds, with jitter so tabs do not stampede. */
const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 5000];

/**
 * The one ws connection to the admin API's stream (`/api/stream`). Views subscribe to a scope with
 * a handler; after any reconnect every subscription is sent again and the server answers with a
 * fresh snapshot, so the views resync themselves. `status` drives the live indicator.
 */
class Stream {
  status = $state<StreamStatus>('idle');
  /** Why the connection is down, for the indicator's tooltip. */
  problem = $state<string | null>(null);
  /** When the next attempt happens (ms since the epoch), while reconnecting. */
  retryAt = $state<number | null>(null);
  /** When the current connection opened. */
  since = $state<number | null>(null);
  /** Snapshots received over the page's life (a reconnect resyncs with new ones). */
  resyncs = $state(0);

  #ws: WebSocket | null = null;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #subscriptions = new Map<Scope, { message: Record<string, unknown>; handler: Handler }>();

  /** Connects (again) with the session's token. */
  start(): void {
    this.stop();
    if (!session.token) return;
    this.#connect();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const ws = this.#ws;
    this.#ws = null;
    ws?.close(1000, 'leaving');
    this.status = 'idle';
  }

  /** Subscribes to a scope (replacing an earlier subscription to it); returns the unsubscribe function. */
  subscribe(message: { subscribe: Scope; [field: string]: unknown }, handler: Handler): () => void {
    const scope = message.subscribe;
    const entry = { message, handler };
    this.#subscriptions.set(scope, entry);
    this.#send(message);
    return () => {
      if (this.#subscriptions.get(scope) !== entry) return;
      this.#subscriptions.delete(scope);
      this.#send({ unsubscribe: scope });
    };
  }

  #connect(): void {
    const token = session.token;
    if (!token) return;
    this.status = this.#attempt === 0 ? 'connecting' : 'reconnecting';
    const url = new URL('/api/stream', location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    // Browsers cannot set headers on a ws upgrade: the token travels as a subprotocol.
    const ws = new WebSocket(url, ['highlander.v1', `bearer.${token}`]);
    this.#ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
    };
    ws.onmessage = (event) => {
      if (this.#ws !== ws) return;
      let message: Message;
      try {
        message = JSON.parse(String(event.data)) as Message;
      } catch {
        return;
      }
      if (message.kind === 'hello') {
        const hello = message as unknown as { who: { name: string; role: Role }; readOnly?: boolean };
        session.identify(hello.who, hello.readOnly ?? false);
        this.#attempt = 0;
        this.status = 'live';
        this.problem = null;
        this.retryAt = null;
        this.since = Date.now();
        for (const { message: subscription } of this.#subscriptions.values()) this.#send(subscription);
        return;
      }
      if (message.kind === 'snapshot') this.resyncs++;
      if (message.scope) this.#subscriptions.get(message.scope)?.handler(message);
    };
    ws.onclose = (event) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      void this.#closed(opened, event.code, event.reason);
    };
  }

  async #closed(opened: boolean, code: number, reason: string): Promise<void> {
    if (!opened) {
      // A refused upgrade shows no status to scripts: ask the REST API why.
      const why = await probe();
      if (why === 'unauthorized') {
        this.problem = 'The token was refused: sign in again.';
        this.status = 'idle';
        session.signOut();
        return;
      }
      this.problem = why ?? 'The admin API did not answer.';
    } else {
      this.problem = reason ? `Disconnected: ${reason}` : `Disconnected (code ${code}).`;
    }
    const delay = BACKOFF_MS[Math.min(this.#attempt, BACKOFF_MS.length - 1)]! * (0.8 + Math.random() * 0.4);
    this.#attempt++;
    this.status = 'reconnecting';
    this.retryAt = Date.now() + delay;
    this.#timer = setTimeout(() => this.#connect(), delay);
  }

  #send(message: Record<string, unknown>): void {
    if (this.#ws?.readyState === WebSocket.OPEN && this.status === 'live') this.#ws.send(JSON.stringify(message));
  }
}

/** Why a connection was refused: 'unauthorized', a message, or null when the API is unreachable. */
async function probe(): Promise<'unauthorized' | string | null> {
  try {
    const response = await fetch('/api/summary', { headers: session.token ? { Authorization: `Bearer ${session.token}` } : {} });
    if (response.status === 401) return 'unauthorized';
    if (response.ok) return 'The stream was refused although the API answers (a proxy without ws support, or too many clients).';
    const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
    return body?.error?.message ?? `The admin API answered ${response.status}.`;
  } catch {
    return null;
  }
}

export const stream = new Stream();
