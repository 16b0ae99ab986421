/**
 * An object's lifecycle events as the object detail lists them: in words, newest first, with runs
 * of `object.persisted` (one per call on a busy object) folded into one line. Pure; unit-tested.
 */
import { formatBytes, formatDuration, formatLatency } from './format.ts';
import type { ModelEvent } from '@highlander/admin-api/protocol';

/** One line of the list: an event, or a run of persists folded into its newest one. */
export interface EventLine {
  /** The newest event of the line. */
  event: ModelEvent;
  /** Events folded into this line (1 for a single event). */
  count: number;
  /** The first version of a folded run of persists. */
  fromVersion?: number;
  text: string;
  tone: 'ok' | 'warn' | 'danger' | 'muted';
}

/** Adds new events to a newest-first list, skipping ones already in it (by cursor), keeping at most `max`. */
export function addEvents(list: readonly ModelEvent[], incoming: readonly ModelEvent[], max = 200): ModelEvent[] {
  if (incoming.length === 0) return list as ModelEvent[];
  const seen = new Set(list.map((e) => e.cursor));
  const fresh = incoming.filter((e) => !seen.has(e.cursor)).sort((a, b) => b.cursor - a.cursor);
  return [...fresh, ...list].sort((a, b) => b.cursor - a.cursor).slice(0, max);
}

/** Newest-first events as lines, consecutive persists folded. */
export function eventLines(events: readonly ModelEvent[]): EventLine[] {
  const lines: EventLine[] = [];
  for (const event of events) {
    const previous = lines.at(-1);
    if (event.kind === 'object.persisted' && previous?.event.kind === 'object.persisted' && previous.event.node === event.node) {
      previous.count++;
      previous.fromVersion = num(event.version);
      previous.text = describeEvent(previous.event, previous.count, previous.fromVersion);
      continue;
    }
    lines.push({ event, count: 1, text: describeEvent(event), tone: toneOf(event) });
  }
  return lines;
}

/** An event of one object in words (the object itself is implied). */
export function describeEvent(event: ModelEvent, count = 1, fromVersion?: number): string {
  const e = event as ModelEvent & Record<string, unknown>;
  const node = event.node;
  switch (event.kind) {
    case 'lock.queued':
      return `${node} queued for the lock at position ${num(e.position)}, behind ${str(e.owner)}`;
    case 'lock.acquired':
      return `${node} acquired the lock (epoch ${str(e.epoch)}) after waiting ${formatLatency(num(e.waitedMs))}`;
    case 'lock.released':
      return `${node} released the lock (epoch ${str(e.epoch)})`;
    case 'object.activated':
      return e.stored
        ? `activated on ${node} at version ${num(e.version)}, loaded from storage in ${formatLatency(num(e.loadMs))}`
        : `activated on ${node}: new, nothing was stored (${formatLatency(num(e.loadMs))})`;
    case 'object.persisted':
      return count > 1
        ? `persisted ${count} times by ${node}, versions ${fromVersion ?? '?'}–${num(e.version)} (last ${formatBytes(num(e.bytes))} in ${formatLatency(num(e.putMs))})`
        : `persisted version ${num(e.version)} by ${node}: ${formatBytes(num(e.bytes))} after ${plural(num(e.calls), 'call')}, in ${formatLatency(num(e.putMs))}`;
    case 'object.persist-failed':
      return `persisting on ${node} failed after ${plural(num(e.calls), 'call')}: ${str(e.error)}`;
    case 'object.deactivated':
      return `deactivated on ${node} (${str(e.reason)}) after ${formatDuration(num(e.activeMs))} active`;
    case 'object.migrated':
      return `migrated from ${str(e.from)} to ${str(e.to)} in ${formatLatency(num(e.durationMs))}`;
    case 'object.fenced':
      return `fenced on ${node}: its epoch ${str(e.epoch)} is stale, another owner took over`;
    default:
      return `${event.kind} on ${node}`;
  }
}

function toneOf(event: ModelEvent): EventLine['tone'] {
  switch (event.kind) {
    case 'object.activated':
    case 'lock.acquired':
    case 'object.migrated':
      return 'ok';
    case 'object.persist-failed':
    case 'object.fenced':
      return 'danger';
    case 'object.deactivated':
    case 'lock.queued':
      return 'warn';
    default:
      return 'muted';
  }
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number.NaN;
}

function str(v: unknown): string {
  return v === undefined || v === null ? '?' : String(v);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
