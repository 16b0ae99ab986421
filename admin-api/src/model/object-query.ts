import type { ObjectQuery, ObjectView, Page } from '../contracts.js';

/** What a query filters on before it builds a view. */
export interface QueriedObject {
  type: string;
  id: string;
  owner: string;
}

/**
 * One page of the objects matching `query` (type, owner node, id prefix), sorted by `query.sort`
 * (then by `type/id`, so that the order is total), after `query.cursor`. Keyset pagination: a
 * cursor is the last item of the previous page, so the next page starts right after it even if
 * objects came or went meanwhile. `view` builds each matching object's view (filtering comes first:
 * only matches pay for one). Throws {@link InvalidCursor} for a cursor this function did not hand out.
 *
 * ```ts
 * const page = queryObjects(records, { node: 'node-a', sort: 'id', limit: 3 }, toView);
 * const next = queryObjects(records, { node: 'node-a', sort: 'id', limit: 3, cursor: page.cursor }, toView);
 * ```
 */
export function queryObjects<T extends QueriedObject>(objects: Iterable<T>, query: ObjectQuery, view: (object: T) => ObjectView): Page<ObjectView> {
  const matching: ObjectView[] = [];
  for (const o of objects) {
    if (query.type && o.type !== query.type) continue;
    if (query.node && o.owner !== query.node) continue;
    if (query.idPrefix && !o.id.startsWith(query.idPrefix)) continue;
    matching.push(view(o));
  }
  const compare = comparator(query);
  matching.sort(compare);
  let start = 0;
  if (query.cursor) {
    const after = decodeCursor(query.cursor);
    start = matching.findIndex((o) => compare(o, after) > 0);
    if (start < 0) start = matching.length;
  }
  const items = matching.slice(start, start + query.limit);
  const last = items.at(-1);
  return {
    items,
    total: matching.length,
    ...(last && start + query.limit < matching.length ? { cursor: encodeCursor(last) } : {}),
  };
}

function comparator(query: ObjectQuery): (a: ObjectView, b: ObjectView) => number {
  const sort = query.sort ?? 'id';
  const direction = query.order === 'desc' ? -1 : 1;
  const keyOf = (o: ObjectView) => `${o.type}/${o.id}`;
  return (a, b) => {
    const av = a[sort];
    const bv = b[sort];
    if (av !== bv) return (av < bv ? -1 : 1) * direction;
    const ak = keyOf(a);
    const bk = keyOf(b);
    return ak === bk ? 0 : ak < bk ? -1 : 1;
  };
}

function encodeCursor(o: ObjectView): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

function decodeCursor(cursor: string): ObjectView {
  try {
    const o = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as ObjectView;
    if (typeof o.type !== 'string' || typeof o.id !== 'string') throw new Error('not a cursor');
    return o;
  } catch {
    throw new InvalidCursor(cursor);
  }
}

/** A cursor that this API did not hand out. */
export class InvalidCursor extends Error {
  readonly code = 'INVALID_CURSOR';
  constructor(readonly cursor: string) {
    super(`cursor '${cursor.slice(0, 40)}' is not one this API returned; start again without a cursor`);
    this.name = 'InvalidCursor';
  }
}
