import type { Logger } from 'pino';
import type { RawData } from 'ws';
import { LiveSocket, type BackoffOptions } from '@highlander/kit';
import { nodeWsOptions, type NodeAccess } from '../node-access.js';
import type { LifecycleEvent, MemberInfo } from '@highlander/runtime';

export interface MemberStreamsOptions {
  /** A member's events in order; `gap`: some were missed before them (the model then reconciles). */
  onEvents(node: string, events: LifecycleEvent[], gap: boolean): void;
  /** A member's stream connected or disconnected. */
  onStatus(node: string, connected: boolean): void;
  logger: Logger;
  /** Delays between reconnection attempts. @default 200 ms doubling to 5 s */
  reconnect?: BackoffOptions;
  /** Ping interval of each stream (a half-open connection is dropped after two). @default 15000 */
  heartbeatMs?: number;
  /** The cluster secret and TLS the nodes' ports ask for. @default none */
  access?: NodeAccess;
}

/** What a node's `/events` endpoint sends (runtime/src/node.ts). */
interface EventsFrame {
  t?: string;
  events?: LifecycleEvent[];
  event?: LifecycleEvent;
  gap?: boolean;
  lastSeq?: number;
}

/**
 * One `/events` stream per member node, kept open with kit's {@link LiveSocket} (reconnect always,
 * with backoff, and a heartbeat): each resumes from the last sequence seen after any disconnect,
 * and reports a gap when the node no longer has the events in between, when the sequence jumps, or
 * when the node restarted under the same name (it numbers from 1 again).
 *
 * ```ts
 * const streams = new MemberStreams({ onEvents, onStatus, logger });
 * streams.follow(member);        // a new process under a known name replaces the old stream
 * streams.unfollow(member.name);
 * streams.close();
 * ```
 */
export class MemberStreams {
  readonly #options: MemberStreamsOptions;
  readonly #streams = new Map<string, MemberStream>();

  constructor(options: MemberStreamsOptions) {
    this.#options = options;
  }

  /** Follows `member`'s events from its first kept one, replacing a stream to an earlier process of that name. */
  follow(member: MemberInfo): void {
    this.#streams.get(member.name)?.close();
    this.#streams.set(member.name, new MemberStream(member, this.#options));
  }

  unfollow(name: string): void {
    this.#streams.get(name)?.close();
    this.#streams.delete(name);
  }

  /** For tests: drops one member's connection as a network failure would (it reconnects and resumes). */
  cut(name: string): void {
    this.#streams.get(name)?.cut();
  }

  close(): void {
    for (const stream of this.#streams.values()) stream.close();
    this.#streams.clear();
  }
}

class MemberStream {
  readonly #node: string;
  readonly #options: MemberStreamsOptions;
  readonly #socket: LiveSocket;
  #lastSeq = 0;
  #closed = false;

  constructor(member: MemberInfo, options: MemberStreamsOptions) {
    this.#node = member.name;
    this.#options = options;
    this.#socket = new LiveSocket({
      url: () => `${member.address}/events?since=${this.#lastSeq}`,
      clientOptions: () => nodeWsOptions(options.access ?? {}),
      reconnect: 'always',
      backoff: options.reconnect ?? { initialMs: 200, maxMs: 5000 },
      ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}),
      onOpen: () => {
        if (!this.#closed) options.onStatus(this.#node, true);
      },
      onMessage: (data) => this.#message(data),
      onClose: ({ code, reason, wasOpen, error }) => {
        if (this.#closed) return;
        if (wasOpen) {
          options.logger.warn({ node: this.#node, code, reason, err: error }, 'model: lost a node event stream; reconnecting');
          options.onStatus(this.#node, false);
        } else {
          // The node is down or restarting: the membership says when it is gone for good; keep trying until then.
          options.logger.debug({ node: this.#node, err: error }, 'model: could not reach a node event stream; retrying');
        }
      },
    });
    this.#socket.connect();
  }

  cut(): void {
    this.#socket.cut();
  }

  close(): void {
    this.#closed = true;
    this.#socket.close();
  }

  #message(data: RawData): void {
    if (this.#closed) return;
    let frame: EventsFrame;
    try {
      frame = JSON.parse(String(data)) as EventsFrame;
    } catch (err) {
      this.#options.logger.warn({ node: this.#node, err }, 'model: a node event stream sent something that is not JSON; reconnecting');
      this.#socket.drop(1007, 'event stream message is not JSON');
      return;
    }
    const events = frame.t === 'events' ? frame.events ?? [] : frame.t === 'event' && frame.event ? [frame.event] : [];
    let gap = frame.t === 'events' && frame.gap === true;
    if (frame.t === 'events' && typeof frame.lastSeq === 'number' && frame.lastSeq < this.#lastSeq) {
      // The node restarted under the same name and numbers from 1 again: start over, and reconcile.
      this.#lastSeq = 0;
      gap = true;
    }
    const fresh: LifecycleEvent[] = [];
    for (const event of events) {
      if (event.seq <= this.#lastSeq) continue;
      // Anything but the next number means events were missed.
      if (this.#lastSeq !== 0 && event.seq !== this.#lastSeq + 1) gap = true;
      this.#lastSeq = event.seq;
      fresh.push(event);
    }
    if (fresh.length > 0 || gap) this.#options.onEvents(this.#node, fresh, gap);
  }
}
