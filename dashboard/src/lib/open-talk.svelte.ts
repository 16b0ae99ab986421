import type { TalkSnapshot } from '@highlander/admin-api/protocol';
import { ApiError } from './api.ts';
import { ClusterMarkers } from './cluster-markers.svelte.ts';
import { handleError } from './notices.svelte.ts';
import { talkFeed } from './talk.svelte.ts';
import { getTalk } from './talks.ts';

/**
 * One talk as a page shows it (the presenter's view and presenter mode): the live feed, the REST
 * view for what the stream's deltas may leave out (the join link) and until the snapshot comes, the
 * cluster markers of its timeline, and a clock ticking each second. `start()` returns the stop function.
 *
 *   const open = new OpenTalk(code);
 *   onMount(() => open.start());
 */
export class OpenTalk {
  fetched = $state.raw<TalkSnapshot | null>(null);
  joinUrl = $state<string | null>(null);
  /** The admin API's message when there is no such talk. */
  notFound = $state<string | null>(null);
  now = $state(Date.now());
  readonly markers = new ClusterMarkers();

  constructor(readonly code: string) {}

  start(): () => void {
    const { code } = this;
    const stopFeed = talkFeed.view(code);
    const stopMarkers = this.markers.start(code, () => this.fetched?.createdAt);
    const abort = new AbortController();
    getTalk(code, abort.signal).then(
      (result) => {
        this.fetched = result.talk;
        this.joinUrl = result.joinUrl;
      },
      (err: unknown) => {
        if (err instanceof ApiError && err.status === 404) this.notFound = err.message;
        else handleError(err, `Loading talk ${code}`);
      },
    );
    const timer = setInterval(() => (this.now = Date.now()), 1000);
    return () => {
      stopFeed();
      stopMarkers();
      abort.abort();
      clearInterval(timer);
    };
  }
}
