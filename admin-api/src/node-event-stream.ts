import WebSocket from 'ws';
import type { LifecycleEvent } from '@highlander/runtime';

export interface NodeEventStreamOptions {
  node: string;
  /** The node's ws address, e.g. `ws://127.0.0.1:7101`. */
  address: string;
  /** Receives events in order; `gap` is true when some were missed (the model then reconciles). */
  onEvents(events: LifecycleEvent[], gap: boolean): void;
  onStatus(connected: boolean): void;
  /**
   * Wait before reconnecting after a failure (doubles up to 5 s).
   * @default 200
   */
  reconnectDelayMs?: number;
}

/**
 * One node's `/events` stream, kept open: resumes from the last sequence seen after any
 * disconnect, and reports a gap when the node no longer has the events in between (or when the
 * sequence jumps).
 */
export class NodeEventStream {
  #ws: WebSocket | undefined;
  #lastSeq = 0;
  #closed = false;
  #delayMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: NodeEventStreamOptions) {
    this.#delayMs = options.reconnectDelayMs ?? 200;
    this.#connect();
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  get connected(): boolean {
    return this.#ws?.readyState === WebSocket.OPEN;
  }

  /** Drops the connection (the stream reconnects and resumes from the last sequence). */
  cut(): void {
    this.#ws?.terminate();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#ws?.terminate();
  }

  #connect(): void {
    if (this.#closed) return;
    const ws = new WebSocket(`${this.options.address}/events?since=${this.#lastSeq}`, { perMessageDeflate: false });
    this.#ws = ws;
    ws.on('open', () => {
      this.#delayMs = this.options.reconnectDelayMs ?? 200;
      this.options.onStatus(true);
    });
    ws.on('message', (data) => {
      let message: { t?: string; events?: LifecycleEvent[]; event?: LifecycleEvent; gap?: boolean; lastSeq?: number };
      try {
        message = JSON.parse(String(data));
      } catch {
        ws.close(1007, 'event stream message is not JSON');
        return;
      }
      const events = message.t === 'events' ? message.events ?? [] : message.t === 'event' && message.event ? [message.event] : [];
      let gap = message.t === 'events' && message.gap === true;
      if (message.t === 'events' && typeof message.lastSeq === 'number' && message.lastSeq < this.#lastSeq) {
        // The node restarted under the same name and numbers from 1 again: start over, and reconcile.
        this.#lastSeq = 0;
        gap = true;
      }
      const fresh: LifecycleEvent[] = [];
      for (const event of events) {
        if (event.seq <= this.#lastSeq) continue;
        // A restarted node numbers from 1 again: anything but the next number means events were missed.
        if (this.#lastSeq !== 0 && event.seq !== this.#lastSeq + 1) gap = true;
        this.#lastSeq = event.seq;
        fresh.push(event);
      }
      if (fresh.length > 0 || gap) this.options.onEvents(fresh, gap);
    });
    ws.on('error', () => {
      // 'close' follows and schedules the reconnect.
    });
    ws.on('close', () => {
      if (this.#ws === ws) this.#ws = undefined;
      this.options.onStatus(false);
      if (this.#closed) return;
      this.#timer = setTimeout(() => this.#connect(), this.#delayMs);
      this.#timer.unref();
      this.#delayMs = Math.min(this.#delayMs * 2, 5000);
    });
  }
}
