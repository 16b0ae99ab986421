/**
 * The hot objects as the dashboard shows them (the admin API's `hot` scope): the rankings and their
 * labels, and how strongly each hot object stands out on the cluster map. Pure; unit-tested.
 */
import type { HotObjectView, HotRanking } from '@highlander/admin-api/protocol';

export const RANKINGS: ReadonlyArray<{ key: HotRanking; label: string; column: string }> = [
  { key: 'calls', label: 'Calls/s', column: 'Calls/s' },
  { key: 'errors', label: 'Error rate', column: 'Errors' },
  { key: 'p99', label: 'p99', column: 'p99' },
  { key: 'queue', label: 'Mailbox', column: 'Mailbox' },
  { key: 'state', label: 'State size', column: 'State' },
];

/** A ranking named in a URL, or the default (calls). */
export function rankingOf(value: string | null): HotRanking {
  return RANKINGS.find((r) => r.key === value)?.key ?? 'calls';
}

/** Hot objects ringed on the map at most. */
export const MAP_HOT_LIMIT = 20;

/**
 * How strongly each hot object stands out on the map, 0..1: its calls per second against the
 * hottest's, on a square-root scale so that the second-busiest still shows. Objects without calls
 * are left out.
 */
export function heat(rows: readonly HotObjectView[]): Array<{ key: string; node: string; callsPerSecond: number; intensity: number }> {
  const hottest = Math.max(0, ...rows.map((r) => r.callsPerSecond));
  if (hottest === 0) return [];
  return rows
    .filter((r) => r.callsPerSecond > 0)
    .map((r) => ({ key: `${r.type}/${r.id}`, node: r.node, callsPerSecond: r.callsPerSecond, intensity: Math.sqrt(r.callsPerSecond / hottest) }));
}
