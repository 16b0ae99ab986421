/**
 * The Events view's list: newest first, each event (by its cluster-wide cursor) once, bounded.
 * Pure, unit-tested.
 */
import type { ModelEvent } from '@highlander/admin-api/protocol';

/**
 * `incoming` (oldest first, as the API sends them) put in front of `newestFirst`, leaving out events
 * already there (by cursor), keeping at most `max`. Returns the list and how many were new.
 */
export function prependEvents(newestFirst: ModelEvent[], incoming: ModelEvent[], max: number): { events: ModelEvent[]; added: number } {
  const newest = newestFirst[0]?.cursor ?? -Infinity;
  const fresh: ModelEvent[] = [];
  for (let i = incoming.length - 1; i >= 0; i--) {
    const event = incoming[i]!;
    if (event.cursor > newest) fresh.push(event);
  }
  if (fresh.length === 0) return { events: newestFirst, added: 0 };
  // Deltas come in cursor order; anything else (a snapshot after a reconnect) is sorted.
  if (fresh.some((e, i) => i > 0 && e.cursor >= fresh[i - 1]!.cursor)) fresh.sort((a, b) => b.cursor - a.cursor);
  return { events: fresh.concat(newestFirst.slice(0, Math.max(0, max - fresh.length))).slice(0, max), added: fresh.length };
}

/** Two lists of events as one, newest first, each cursor once, at most `max`. */
export function mergeEvents(a: ModelEvent[], b: ModelEvent[], max: number): ModelEvent[] {
  const byCursor = new Map<number, ModelEvent>();
  for (const e of a) byCursor.set(e.cursor, e);
  for (const e of b) byCursor.set(e.cursor, e);
  return [...byCursor.values()].sort((x, y) => y.cursor - x.cursor).slice(0, max);
}
