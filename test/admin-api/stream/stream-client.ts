import { afterEach, expect, vi } from 'vitest';
import { WebSocket } from 'ws';
import type { ServerMessage } from '@highlander/admin-api/protocol';
import { VIEWER, startAdmin, type AdminServer } from '../admin-server.js';

/**
 * A real ws client of the admin API's stream for the tests in this folder, and the server they
 * share (started per test with `start()`, closed after each).
 */

/** Keeps every message, to read them in order. */
export class StreamClient {
  readonly messages: any[] = [];
  #read = 0;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.messages.push(JSON.parse(String(data)) as ServerMessage));
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The next unread message matching `match` (skipping the others), within 5 s. */
  async next(match: (m: any) => boolean = () => true): Promise<any> {
    const index = await vi.waitFor(() => {
      const found = this.messages.findIndex((m, i) => i >= this.#read && match(m));
      if (found < 0) throw new Error(`no matching message; got ${JSON.stringify(this.messages.slice(this.#read))}`);
      return found;
    }, { timeout: 5000, interval: 5 });
    this.#read = index + 1;
    return this.messages[index];
  }

  /** Unread messages matching `match`, without consuming them. */
  unread(match: (m: any) => boolean): any[] {
    return this.messages.slice(this.#read).filter(match);
  }
}

export function open(server: AdminServer, options: { token?: string; origin?: string; protocols?: string[]; headers?: Record<string, string> } = {}): WebSocket {
  const protocols = options.protocols ?? (options.token ? ['highlander.v1', `bearer.${options.token}`] : []);
  return new WebSocket(server.wsUrl, protocols, { ...(options.origin ? { origin: options.origin } : {}), ...(options.headers ? { headers: options.headers } : {}) });
}

/** The status and body of a refused upgrade. */
export function refused(ws: WebSocket): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => reject(new Error('the upgrade was accepted')));
    ws.once('error', () => {}); // the refusal also surfaces as an error after unexpected-response
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
  });
}

export const isDelta = (scope: string) => (m: any) => m.kind === 'delta' && m.scope === scope;
export const isSnapshot = (scope: string) => (m: any) => m.kind === 'snapshot' && m.scope === scope;

let current: AdminServer | undefined;
const clients: StreamClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await current?.close();
  current = undefined;
});

/** Starts the admin API over a fake cluster for this test (closed after it). */
export async function start(options: Parameters<typeof startAdmin>[0] = {}): Promise<AdminServer> {
  current = await startAdmin(options);
  return current;
}

/** Tracks a client of a socket opened otherwise, to close it after the test. */
export function track(client: StreamClient): StreamClient {
  clients.push(client);
  return client;
}

/** A client connected to this test's server (closed after it), past the hello. */
export async function client(token = VIEWER, origin?: string): Promise<StreamClient> {
  const ws = open(current!, { token, ...(origin ? { origin } : {}) });
  const c = track(new StreamClient(ws));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  expect(ws.protocol).toBe('highlander.v1');
  await c.next((m) => m.kind === 'hello');
  return c;
}
