import type { HelloMessage, MessageOf, ScopeMessage, ServerMessage, StreamScope, SubscribeMessage } from '@highlander/admin-api/protocol';
import { session } from './session.svelte.ts';

export type StreamStatus = 'idle' | 'connecting' | 'live' | 'reconnecting';

/** The subscription message of scope `S`. */
export type SubscriptionOf<S extends StreamScope> = Extract<SubscribeMessage, { subscribe: S }>;

/** The protocol this client speaks (checked against the server's type). */
const PROTOCOL: HelloMessage['protocol'] = 'highlander.v1';

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
  #subscriptions = new Map<StreamScope, { message: SubscribeMessage; deliver: (message: ScopeMessage) => void }>();

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

  /**
   * Subscribes to a scope (replacing an earlier subscription to it): `handler` gets that scope's
   * snapshots, deltas and errors (protocol.ts in @highlander/admin-api). Returns the unsubscribe function.
   */
  subscribe<S extends StreamScope>(message: SubscriptionOf<S>, handler: (message: MessageOf<S>) => void): () => void {
    const scope: S = message.subscribe;
    const entry = {
      message,
      deliver: (received: ScopeMessage) => {
        if (inScope(received, scope)) handler(received);
      },
    };
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
    const ws = new WebSocket(url, [PROTOCOL, `bearer.${token}`]);
    this.#ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
    };
    ws.onmessage = (event) => {
      if (this.#ws !== ws) return;
      // The admin API's own stream (same origin, authenticated): its messages are as protocol.ts types them.
      let message: ServerMessage;
      try {
        message = JSON.parse(String(event.data));
      } catch {
        return;
      }
      if (message.kind === 'hello') {
        session.identify(message.who, message.readOnly);
        this.#attempt = 0;
        this.status = 'live';
        this.problem = null;
        this.retryAt = null;
        this.since = Date.now();
        for (const { message: subscription } of this.#subscriptions.values()) this.#send(subscription);
        return;
      }
      if (message.kind === 'unsubscribed') return;
      if (message.kind === 'snapshot') this.resyncs++;
      this.#subscriptions.get(message.scope)?.deliver(message);
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

  #send(message: SubscribeMessage | { unsubscribe: StreamScope }): void {
    if (this.#ws?.readyState === WebSocket.OPEN && this.status === 'live') this.#ws.send(JSON.stringify(message));
  }
}

/** Whether `message` belongs to subscriptions of `scope`. */
function inScope<S extends StreamScope>(message: ScopeMessage, scope: S): message is MessageOf<S> {
  return message.scope === scope;
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
