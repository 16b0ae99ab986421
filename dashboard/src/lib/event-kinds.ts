/**
 * Lifecycle event kinds as the Events view shows them: their category (the colour), a one-line
 * description of each event, and the timeline's filter with its URL form. Pure, unit-tested.
 */
import { formatBytes, formatDuration, formatLatency, formatCount } from './format.ts';
import type { ModelEvent } from '@highlander/admin-api/protocol';

export type EventCategory = 'lifecycle' | 'lock' | 'failure' | 'stats';

export const CATEGORIES: readonly { category: EventCategory; label: string }[] = [
  { category: 'lifecycle', label: 'Lifecycle' },
  { category: 'lock', label: 'Lock' },
  { category: 'failure', label: 'Failure' },
  { category: 'stats', label: 'Stats' },
];

/** Every kind (runtime/src/events.ts), with the category it belongs to. */
export const EVENT_KINDS: Readonly<Record<string, EventCategory>> = {
  'node.up': 'lifecycle',
  'node.down': 'lifecycle',
  'node.joined': 'lifecycle',
  'node.left': 'lifecycle',
  'node.draining': 'lifecycle',
  'node.drained': 'lifecycle',
  'object.activated': 'lifecycle',
  'object.persisted': 'lifecycle',
  'object.deactivated': 'lifecycle',
  'object.migrated': 'lifecycle',
  'lock.queued': 'lock',
  'lock.acquired': 'lock',
  'lock.released': 'lock',
  'object.fenced': 'failure',
  'object.persist-failed': 'failure',
  'node.session-lost': 'failure',
  stats: 'stats',
};

export const KINDS_BY_CATEGORY: Readonly<Record<EventCategory, readonly string[]>> = {
  lifecycle: Object.keys(EVENT_KINDS).filter((k) => EVENT_KINDS[k] === 'lifecycle'),
  lock: Object.keys(EVENT_KINDS).filter((k) => EVENT_KINDS[k] === 'lock'),
  failure: Object.keys(EVENT_KINDS).filter((k) => EVENT_KINDS[k] === 'failure'),
  stats: ['stats'],
};

/** Deactivations that happened because ownership was lost are failures, whatever their kind says. */
const FAILED_DEACTIVATIONS = new Set(['fenced', 'session-lost']);

/** The category an event is shown (and coloured) as; a kind this dashboard does not know is lifecycle. */
export function categoryOf(event: Pick<ModelEvent, 'kind'> & { reason?: unknown }): EventCategory {
  if (event.kind === 'object.deactivated' && FAILED_DEACTIVATIONS.has(String(event.reason))) return 'failure';
  return EVENT_KINDS[event.kind] ?? 'lifecycle';
}

const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);
const str = (v: unknown): string => (v === undefined || v === null ? '?' : String(v));
const calls = (v: unknown): string => `${formatCount(num(v))} ${num(v) === 1 ? 'call' : 'calls'}`;

/** What happened, in a line: the fields of the event that matter for its kind. */
export function describeEvent(e: ModelEvent): string {
  switch (e.kind) {
    case 'node.up': return `up at ${str(e.address)}`;
    case 'node.down': return `down (${str(e.reason)})`;
    case 'node.joined': return `sees ${str(e.peer)} join at ${str(e.address)}`;
    case 'node.left': return `sees ${str(e.peer)} leave`;
    case 'node.draining': return `draining: ${formatCount(num(e.remaining))} of ${formatCount(num(e.total))} left`;
    case 'node.drained': return `drained ${formatCount(num(e.deactivated))} objects in ${formatDuration(num(e.durationMs))}`;
    case 'node.session-lost': return `ZooKeeper session lost${typeof e.ensemble === 'string' ? ` with ensemble ${e.ensemble}` : ''}: ${formatCount(num(e.activationsDropped))} activations dropped`;
    case 'lock.queued': return `queued at position ${str(e.position)} behind ${str(e.owner)}`;
    case 'lock.acquired': return `epoch ${str(e.epoch)} after waiting ${formatLatency(num(e.waitedMs))}`;
    case 'lock.released': return `epoch ${str(e.epoch)}`;
    case 'object.activated':
      return `epoch ${str(e.epoch)}, ${e.stored ? `version ${str(e.version)} loaded` : 'new (nothing stored)'} in ${formatLatency(num(e.loadMs))}`;
    case 'object.persisted':
      return `version ${str(e.version)}, ${formatBytes(num(e.bytes))} after ${calls(e.calls)}, PUT ${formatLatency(num(e.putMs))}`;
    case 'object.persist-failed': return `${calls(e.calls)} not persisted: ${str(e.error)}`;
    case 'object.deactivated': return `${str(e.reason)} after ${formatDuration(num(e.activeMs))} (epoch ${str(e.epoch)})`;
    case 'object.migrated': return `${str(e.from)} → ${str(e.to)} in ${formatDuration(num(e.durationMs))}`;
    case 'object.fenced': return `epoch ${str(e.epoch)} fenced: a newer owner wrote first`;
    case 'stats': {
      const byType = (e.byType ?? {}) as Record<string, { calls: number; errors: number; rejected?: number }>;
      const total = Object.values(byType).reduce((sum, t) => sum + t.calls, 0);
      const errors = Object.values(byType).reduce((sum, t) => sum + t.errors, 0);
      const rejected = Object.values(byType).reduce((sum, t) => sum + (t.rejected ?? 0), 0);
      const seconds = num(e.intervalMs) / 1000;
      const failed = [errors ? `${formatCount(errors)} ${errors === 1 ? 'error' : 'errors'}` : '', rejected ? `${formatCount(rejected)} rejected` : ''].filter(Boolean).join(', ');
      return `${calls(total)}${failed ? ` (${failed})` : ''} in ${formatDuration(num(e.intervalMs))}` +
        `${seconds > 0 ? ` · ${(total / seconds).toFixed(1).replace(/\.0$/, '')}/s` : ''} · ${formatCount(num(e.activations))} active`;
    }
    default: return '';
  }
}

export interface EventFilter {
  /** Kinds shown. */
  kinds: ReadonlySet<string>;
  /** Only this node's events ('' for every node). */
  node: string;
  /** Only events of objects whose `type/id` contains this, ignoring case ('' for every event). */
  object: string;
}

export const DEFAULT_KINDS: ReadonlySet<string> = new Set([...KINDS_BY_CATEGORY.lifecycle, ...KINDS_BY_CATEGORY.lock, ...KINDS_BY_CATEGORY.failure]);

/** Whether a category is shown entirely, partly or not at all. */
export function categoryState(kinds: ReadonlySet<string>, category: EventCategory): 'all' | 'some' | 'none' {
  const own = KINDS_BY_CATEGORY[category];
  const shown = own.filter((k) => kinds.has(k)).length;
  return shown === own.length ? 'all' : shown > 0 ? 'some' : 'none';
}

/** Clicking a category: shows all of its kinds unless they all are shown already, then hides them. */
export function toggleCategory(kinds: ReadonlySet<string>, category: EventCategory): Set<string> {
  const next = new Set(kinds);
  const show = categoryState(kinds, category) !== 'all';
  for (const kind of KINDS_BY_CATEGORY[category]) {
    if (show) next.add(kind);
    else next.delete(kind);
  }
  return next;
}

export function matchesFilter(event: ModelEvent, filter: EventFilter): boolean {
  // A kind this dashboard does not know is shown with its category (lifecycle).
  const kindShown = event.kind in EVENT_KINDS ? filter.kinds.has(event.kind) : categoryState(filter.kinds, 'lifecycle') !== 'none';
  if (!kindShown) return false;
  if (filter.node && event.node !== filter.node) return false;
  if (filter.object) {
    if (!('type' in event)) return false;
    if (!`${event.type}/${event.id}`.toLowerCase().includes(filter.object.toLowerCase())) return false;
  }
  return true;
}

/**
 * The filter in the address bar: `show` lists categories and kinds (`show=failure,lock.acquired`),
 * absent for the default (everything but stats); `node`; `object`.
 */
export function filterFromQuery(query: URLSearchParams): EventFilter {
  const show = query.get('show');
  let kinds: Set<string>;
  if (show === null) {
    kinds = new Set(DEFAULT_KINDS);
  } else {
    kinds = new Set();
    for (const part of show.split(',').map((p) => p.trim()).filter(Boolean)) {
      if (part in KINDS_BY_CATEGORY) for (const k of KINDS_BY_CATEGORY[part as EventCategory]) kinds.add(k);
      else if (part in EVENT_KINDS) kinds.add(part);
    }
  }
  return { kinds, node: query.get('node') ?? '', object: query.get('object') ?? '' };
}

export function filterToQuery(filter: EventFilter): Record<string, string | undefined> {
  let show: string | undefined;
  const isDefault = filter.kinds.size === DEFAULT_KINDS.size && [...DEFAULT_KINDS].every((k) => filter.kinds.has(k));
  if (!isDefault) {
    const parts: string[] = [];
    for (const { category } of CATEGORIES) {
      const state = categoryState(filter.kinds, category);
      if (state === 'all') parts.push(category);
      else if (state === 'some') parts.push(...KINDS_BY_CATEGORY[category].filter((k) => filter.kinds.has(k)));
    }
    // Nothing shown still has to differ from the default.
    show = parts.length > 0 ? parts.join(',') : 'none';
  }
  return { show, node: filter.node || undefined, object: filter.object || undefined };
}
