import type { TalkFeeds } from '../talk-feed.js';
import type { TalkError, TalkMessage } from './protocol.js';

/** What the `talk` scope needs from its connection. */
export interface TalkScopeHost {
  /** The shared pollers; without them, a subscription is answered TALKS_UNAVAILABLE. */
  feeds: TalkFeeds | undefined;
  /** Whether the connection takes another message now (not dropped, not too slow). */
  canSend(): boolean;
  send(message: TalkMessage | TalkError): void;
}

/**
 * One client's `talk` subscription (one talk at a time): the talk's feed, polled by talk-feed.ts
 * and shared between the clients following the same talk, passed on as it comes. An error message
 * (no such talk) ends the subscription.
 */
export class TalkScope {
  readonly #host: TalkScopeHost;
  #talk: { code: string; stop: () => void } | null = null;

  constructor(host: TalkScopeHost) {
    this.#host = host;
  }

  /** Follows talk `code` instead of the one followed so far. */
  subscribe(code: string): void {
    this.unsubscribe();
    const feeds = this.#host.feeds;
    if (!feeds) {
      this.#host.send({ kind: 'error', scope: 'talk', code, error: { code: 'TALKS_UNAVAILABLE', message: 'this admin API has no talk service' } });
      return;
    }
    const subscription = { code, stop: () => {} };
    this.#talk = subscription;
    subscription.stop = feeds.subscribe(code, (message) => {
      if (this.#talk !== subscription || !this.#host.canSend()) return;
      if (message.kind === 'error') this.#talk = null;
      this.#host.send(message);
    });
  }

  unsubscribe(): void {
    const talk = this.#talk;
    this.#talk = null;
    talk?.stop();
  }
}
