/**
 * The Objects view's table without the DOM: its filters and sort as they read in the URL
 * (`/objects?type=todo&node=node-a&prefix=li&sort=callsPerSecond&order=desc`), selecting and sorting
 * tens of thousands of objects, and which rows a scrolled window shows. Pure; unit-tested.
 */
import type { ObjectView } from '@highlander/admin-api/protocol';

export const SORT_KEYS = ['id', 'type', 'owner', 'activeSince', 'callsPerSecond', 'queueLength'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type SortOrder = 'asc' | 'desc';

export interface ObjectFilter {
  /** Only this type ('' for all). */
  type: string;
  /** Only objects owned by this node ('' for all). */
  node: string;
  /** Only ids starting with this ('' for all). */
  prefix: string;
  sort: SortKey;
  order: SortOrder;
}

export const DEFAULT_FILTER: ObjectFilter = { type: '', node: '', prefix: '', sort: 'id', order: 'asc' };

/** The filter a URL query describes; anything unknown falls back to the default. */
export function parseObjectFilter(query: URLSearchParams): ObjectFilter {
  const asked = query.get('sort') ?? '';
  const sort = (SORT_KEYS as readonly string[]).includes(asked) ? (asked as SortKey) : DEFAULT_FILTER.sort;
  const order = query.get('order');
  return {
    type: query.get('type') ?? '',
    node: query.get('node') ?? '',
    prefix: query.get('prefix') ?? '',
    sort,
    order: order === 'asc' || order === 'desc' ? order : defaultOrder(sort),
  };
}

/** The query values for `router.setQuery`: defaults are left out (undefined removes them from the URL). */
export function filterQuery(filter: ObjectFilter): Record<string, string | undefined> {
  const isDefaultSort = filter.sort === DEFAULT_FILTER.sort && filter.order === DEFAULT_FILTER.order;
  return {
    type: filter.type || undefined,
    node: filter.node || undefined,
    prefix: filter.prefix || undefined,
    // Both or neither, so a shared link reads the same whatever the defaults become.
    sort: isDefaultSort ? undefined : filter.sort,
    order: isDefaultSort ? undefined : filter.order,
  };
}

/** Numbers read best biggest first; names in alphabetical order. */
export function defaultOrder(sort: SortKey): SortOrder {
  return sort === 'callsPerSecond' || sort === 'queueLength' ? 'desc' : 'asc';
}

/** The filter after clicking a column header: the same column flips its order, another starts at its default. */
export function toggleSort(filter: ObjectFilter, sort: SortKey): ObjectFilter {
  if (filter.sort === sort) return { ...filter, order: filter.order === 'asc' ? 'desc' : 'asc' };
  return { ...filter, sort, order: defaultOrder(sort) };
}

/** Whether an object matches the filter's type, node and id prefix. */
export function matchesFilter(object: ObjectView, filter: ObjectFilter): boolean {
  return (!filter.type || object.type === filter.type) && (!filter.node || object.owner === filter.node) && (!filter.prefix || object.id.startsWith(filter.prefix));
}

/**
 * Whether a change to one object (`before` → `after`; undefined: not active) can change the rows
 * selected by `filter` or their order. Figures shown in the rows are read live; only the order and
 * the membership need a new selection.
 */
export function changeMatters(before: ObjectView | undefined, after: ObjectView | undefined, filter: ObjectFilter): boolean {
  const was = before !== undefined && matchesFilter(before, filter);
  const is = after !== undefined && matchesFilter(after, filter);
  if (was !== is) return true;
  if (!was || !before || !after) return false;
  switch (filter.sort) {
    case 'callsPerSecond':
    case 'queueLength':
      return before.callsPerSecond !== after.callsPerSecond || before.queueLength !== after.queueLength || before.lastCallAt !== after.lastCallAt;
    case 'owner':
      return before.owner !== after.owner;
    case 'activeSince':
      return before.activeSince !== after.activeSince;
    default:
      return false; // id and type never change
  }
}

/** How long a call rate stays true without a newer one (the admin API's rule: two 1 s stats intervals and some slack). */
export const RATE_FRESH_MS = 2500;

/**
 * The calls per second an object view implies at `now`. The stream sends a view when the object had
 * calls; one quiet since then keeps its last rate in the store, but is at 0.
 */
export function liveRate(object: Pick<ObjectView, 'callsPerSecond' | 'lastCallAt'>, now: number): number {
  if (object.lastCallAt === null || now - object.lastCallAt > RATE_FRESH_MS) return 0;
  return object.callsPerSecond;
}

/** The mailbox length an object view implies at `now` (stale like its rate). */
export function liveQueue(object: Pick<ObjectView, 'queueLength' | 'lastCallAt'>, now: number): number {
  if (object.lastCallAt === null || now - object.lastCallAt > RATE_FRESH_MS) return 0;
  return object.queueLength;
}

/** A row of the table: the object and the figures it is sorted and shown by at the time of selection. */
export interface ObjectRowView {
  key: string;
  object: ObjectView;
  callsPerSecond: number;
  queueLength: number;
}

/**
 * The objects matching `filter`, sorted by its column (then type, then id: a stable order while
 * figures change). `objects` is keyed `type/id`, as the cluster store keeps them. 50,000 objects
 * take a few tens of milliseconds: plain comparisons, no locale collation; callers re-select only
 * when a change can alter the rows or their order (see `changeMatters`), at most once a second.
 */
export function selectObjects(objects: ReadonlyMap<string, ObjectView>, filter: ObjectFilter, now: number): ObjectRowView[] {
  const rows: ObjectRowView[] = [];
  for (const [key, object] of objects) {
    if (matchesFilter(object, filter)) rows.push({ key, object, callsPerSecond: liveRate(object, now), queueLength: liveQueue(object, now) });
  }
  const sign = filter.order === 'desc' ? -1 : 1;
  const primary = comparator(filter.sort);
  rows.sort((a, b) => sign * primary(a, b) || compare(a.object.type, b.object.type) || compare(a.object.id, b.object.id));
  return rows;
}

function comparator(sort: SortKey): (a: ObjectRowView, b: ObjectRowView) => number {
  switch (sort) {
    case 'id': return (a, b) => compare(a.object.id, b.object.id);
    case 'type': return (a, b) => compare(a.object.type, b.object.type);
    case 'owner': return (a, b) => compare(a.object.owner, b.object.owner);
    case 'activeSince': return (a, b) => a.object.activeSince - b.object.activeSince;
    case 'callsPerSecond': return (a, b) => a.callsPerSecond - b.callsPerSecond;
    case 'queueLength': return (a, b) => a.queueLength - b.queueLength;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface RowWindow {
  /** First row to render (index into the rows). */
  start: number;
  /** One past the last row to render. */
  end: number;
  /** Height of the space above the rendered rows, px. */
  padTopPx: number;
  /** Height of the space below them, px. */
  padBottomPx: number;
}

/**
 * The rows a scroller shows at `scrollTopPx` (plus `overscan` rows either side, so a fast scroll
 * does not flash blank space), and the spacers standing in for the rest.
 */
export function rowWindow(options: { scrollTopPx: number; viewportPx: number; rowPx: number; total: number; overscan?: number }): RowWindow {
  const { total } = options;
  const rowPx = Math.max(1, options.rowPx);
  const overscan = options.overscan ?? 8;
  const maxScroll = Math.max(0, total * rowPx - options.viewportPx);
  const top = Math.min(Math.max(0, options.scrollTopPx), maxScroll);
  const first = Math.floor(top / rowPx);
  const visible = Math.ceil(Math.max(0, options.viewportPx) / rowPx) + 1;
  const start = Math.max(0, first - overscan);
  const end = Math.min(total, first + visible + overscan);
  return { start, end: Math.max(start, end), padTopPx: start * rowPx, padBottomPx: Math.max(0, total - Math.max(start, end)) * rowPx };
}

/** The scrollTop that brings row `index` fully into view (unchanged when it already is). */
export function scrollToRow(index: number, options: { scrollTopPx: number; viewportPx: number; rowPx: number; headerPx?: number }): number {
  const header = options.headerPx ?? 0;
  const top = index * options.rowPx;
  const bottom = top + options.rowPx;
  if (top < options.scrollTopPx) return top;
  if (bottom > options.scrollTopPx + options.viewportPx - header) return bottom - options.viewportPx + header;
  return options.scrollTopPx;
}

/** Which row a key moves the keyboard focus to, from row `index` of `total`, a page being `pageRows` rows. */
export function moveIndex(key: string, index: number, total: number, pageRows: number): number | null {
  if (total === 0) return null;
  const last = total - 1;
  switch (key) {
    case 'ArrowDown': return Math.min(last, index + 1);
    case 'ArrowUp': return Math.max(0, index - 1);
    case 'PageDown': return Math.min(last, index + Math.max(1, pageRows));
    case 'PageUp': return Math.max(0, index - Math.max(1, pageRows));
    case 'Home': return 0;
    case 'End': return last;
    default: return null;
  }
}
