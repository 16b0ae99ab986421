import { vi } from 'vitest';
import WebSocket from 'ws';
import { timing } from '../harness/timing.js';

/**
 * One audience participant for the tests: a ws connection to a gateway's `/audience/ws`, from its
 * own loopback address (127.0.x.y) so that per-address limits apply to it alone, with every
 * message it received and the outcome (ack or rejection) of every ref it sent.
 */

export interface Outcome {
  kind: 'ack' | 'rejected';
  reason?: string;
  message?: string;
  retryAfterMs?: number;
}

let addressCounter = 0;
/** A loopback address no other participant of this test file uses (Linux routes all of 127/8 to lo). */
export function freshAddress(): string {
  const n = addressCounter++;
  return `127.0.${1 + Math.floor(n / 250)}.${1 + (n % 250)}`;
}

let deviceCounter = 0;
export function freshDevice(label: string): string {
  return `${label}-${process.pid}-${deviceCounter++}-${Math.random().toString(36).slice(2, 10)}`.replace(/[^A-Za-z0-9_-]/g, '_').padEnd(16, '_');
}

export class Participant {
  readonly messages: any[] = [];
  readonly outcomes = new Map<string, Outcome>();
  readonly closed: Promise<{ code: number; reason: string }>;
  #nextRef = 0;

  private constructor(readonly ws: WebSocket, readonly device: string, readonly gateway: string) {
    ws.on('message', (data) => {
      const message = JSON.parse(String(data));
      this.messages.push(message);
      if (message.kind === 'ack') this.outcomes.set(message.ref, { kind: 'ack' });
      if (message.kind === 'rejected' && message.ref) {
        this.outcomes.set(message.ref, { kind: 'rejected', reason: message.reason, message: message.message, retryAfterMs: message.retryAfterMs });
      }
    });
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
    ws.on('error', () => {
      // 'close' follows; tests look at that.
    });
  }

  /** Connects and resolves once the socket is open (the welcome may follow). */
  static async open(gatewayUrl: string, code: string, device: string, localAddress = freshAddress()): Promise<Participant> {
    const ws = new WebSocket(`${gatewayUrl.replace(/^http/, 'ws')}/audience/ws?code=${encodeURIComponent(code)}&device=${encodeURIComponent(device)}`, { localAddress, perMessageDeflate: false });
    const participant = new Participant(ws, device, gatewayUrl);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
      ws.once('error', reject);
    });
    return participant;
  }

  /** Connects and waits for the welcome. */
  static async join(gatewayUrl: string, code: string, device: string, localAddress?: string, timeoutMs: number = timing.eventMs): Promise<Participant> {
    const participant = await Participant.open(gatewayUrl, code, device, localAddress);
    await participant.next((m) => m.kind === 'welcome', timeoutMs);
    return participant;
  }

  get welcome(): any {
    return this.messages.find((m) => m.kind === 'welcome');
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  position(value: number): string {
    const ref = `p${this.#nextRef++}`;
    this.send({ kind: 'position', value, ref });
    return ref;
  }

  emoji(emoji: string): string {
    const ref = `e${this.#nextRef++}`;
    this.send({ kind: 'emoji', emoji, ref });
    return ref;
  }

  /** The first message (received already or later) that matches. */
  next(test: (message: any) => boolean, timeoutMs: number = timing.eventMs): Promise<any> {
    return vi.waitFor(() => {
      const found = this.messages.find(test);
      if (!found) throw new Error(`${this.device}: no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages.slice(-5))}`);
      return found;
    }, { timeout: timeoutMs });
  }

  /** Waits until every ref has an outcome; returns them in order. */
  settled(refs: string[], timeoutMs: number = timing.eventMs): Promise<Outcome[]> {
    return vi.waitFor(() => {
      const missing = refs.filter((r) => !this.outcomes.has(r)).length;
      if (missing > 0) throw new Error(`${this.device}: ${missing} refs without an outcome after ${timeoutMs} ms`);
      return refs.map((r) => this.outcomes.get(r)!);
    }, { timeout: timeoutMs });
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.closed;
  }
}
