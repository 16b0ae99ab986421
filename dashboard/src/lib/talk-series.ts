/**
 * Keeping a talk's reactions and timeline as the stream's `talk` scope delivers them: a snapshot,
 * then deltas with the new reactions, after any reconnect a snapshot again. Pure, unit-tested.
 */
import type { Reaction, TimelinePoint } from '@highlander/admin-api/protocol';

/** Reactions kept for the presenter's feed. */
export const MAX_KEPT_REACTIONS = 200;

/**
 * Adds `incoming` to the kept reactions (oldest first, at most `max`), ignoring any already known
 * (seq ≤ `lastSeq`, or repeated within `incoming`). `fresh` are the ones never seen before: what
 * floats over the screen.
 */
export function mergeReactions(
  kept: readonly Reaction[],
  incoming: readonly Reaction[],
  lastSeq: number,
  max = MAX_KEPT_REACTIONS,
): { kept: Reaction[]; fresh: Reaction[]; lastSeq: number } {
  const fresh: Reaction[] = [];
  let seq = lastSeq;
  for (const reaction of [...incoming].sort((a, b) => a.seq - b.seq)) {
    if (reaction.seq <= seq) continue;
    fresh.push(reaction);
    seq = reaction.seq;
  }
  if (fresh.length === 0) return { kept: [...kept], fresh, lastSeq };
  const merged = [...kept, ...fresh];
  return { kept: merged.length > max ? merged.slice(merged.length - max) : merged, fresh, lastSeq: seq };
}

/** The timeline with `incoming` points added: those after the last known time, in time order. */
export function mergeTimeline(known: readonly TimelinePoint[], incoming: readonly TimelinePoint[]): TimelinePoint[] {
  const last = known.at(-1)?.t ?? -Infinity;
  const added = incoming.filter((p) => p.t > last).sort((a, b) => a.t - b.t);
  return added.length === 0 ? [...known] : [...known, ...added];
}

/**
 * Live samples between the talk's own timeline points (it adds one every ~10 s), so the line moves
 * as the room does: the latest aggregate is appended when at least `everyMs` passed since the
 * previous sample; the oldest go beyond `max` (the talk's points keep the longer history).
 */
export function addLiveSample(live: readonly TimelinePoint[], sample: TimelinePoint, everyMs = 2000, max = 1800): TimelinePoint[] {
  const previous = live.at(-1);
  if (previous && sample.t - previous.t < everyMs) return [...live];
  const kept = [...live, sample];
  return kept.length > max ? kept.slice(kept.length - max) : kept;
}

/**
 * The talk's timeline and the live samples, in time order (a sample at a point's time gives way to
 * it), ending with `current` (the latest aggregate) when it is newer than all of them: the line
 * ends where the gauge is.
 */
export function combinedTimeline(timeline: readonly TimelinePoint[], live: readonly TimelinePoint[], current?: TimelinePoint): TimelinePoint[] {
  const times = new Set(timeline.map((p) => p.t));
  const points = [...timeline, ...live.filter((p) => !times.has(p.t))].sort((a, b) => a.t - b.t);
  if (current && current.t > (points.at(-1)?.t ?? -Infinity)) points.push(current);
  return points;
}

/** Totals per emoji, most used first, then in palette order for ties (palette order if given). */
export function sortedTotals(totals: Readonly<Record<string, number>>, palette: readonly string[] = []): Array<{ emoji: string; count: number }> {
  const order = (emoji: string) => {
    const i = palette.indexOf(emoji);
    return i === -1 ? palette.length : i;
  };
  return Object.entries(totals)
    .filter(([, count]) => count > 0)
    .map(([emoji, count]) => ({ emoji, count }))
    .sort((a, b) => b.count - a.count || order(a.emoji) - order(b.emoji) || (a.emoji < b.emoji ? -1 : 1));
}
