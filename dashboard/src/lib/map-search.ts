/**
 * The cluster map's search box: what the text means, whether it can name an object at all, and
 * which cells it finds.
 *
 *   todo/list-1   that object (or, if it is not active, the active objects of type todo whose id starts so)
 *   todo/         every active object of type todo
 *   list-         every active object whose id starts with list-, of any type
 *
 * The name rules are the runtime's (runtime/src/names.ts); the dashboard takes no code from the
 * server, so they are repeated here and a test checks both agree.
 */

const TYPE_NAME = /^[a-z][a-z0-9-]*$/;
const MAX_TYPE_NAME_LENGTH = 64;
const OBJECT_ID_CHARS = /^[A-Za-z0-9._:@-]*$/;
const MAX_OBJECT_ID_LENGTH = 200;
const EXAMPLE = 'type/id (e.g. todo/list-1), type/, or an id prefix';

export type MapSearch =
  | { kind: 'empty' }
  | { kind: 'invalid'; message: string }
  | { kind: 'query'; type: string | null; id: string; text: string };

export function parseMapSearch(input: string): MapSearch {
  const text = input.trim();
  if (text === '') return { kind: 'empty' };
  const slash = text.indexOf('/');
  const type = slash < 0 ? null : text.slice(0, slash);
  const id = slash < 0 ? text : text.slice(slash + 1);
  if (type !== null) {
    if (type === '') return { kind: 'invalid', message: `nothing before the “/”: write ${EXAMPLE}` };
    if (type.length > MAX_TYPE_NAME_LENGTH) return { kind: 'invalid', message: `a type name is at most ${MAX_TYPE_NAME_LENGTH} characters` };
    if (!TYPE_NAME.test(type)) return { kind: 'invalid', message: `“${type}” is not a type name: a type name starts with a-z and has only a-z 0-9 - (lower case)` };
  }
  if (id.length > MAX_OBJECT_ID_LENGTH) return { kind: 'invalid', message: `an object id is at most ${MAX_OBJECT_ID_LENGTH} characters` };
  if (!OBJECT_ID_CHARS.test(id)) {
    const bad = [...id].find((c) => !OBJECT_ID_CHARS.test(c))!;
    const shown = bad === ' ' ? 'a space' : `“${bad}”`;
    return { kind: 'invalid', message: `${shown} cannot be in an object id: ids use A-Z a-z 0-9 . _ : @ - (${EXAMPLE})` };
  }
  return { kind: 'query', type, id, text };
}

/** The whole key when the search names one object (`type/id`), else null. */
export function exactKey(search: MapSearch): string | null {
  return search.kind === 'query' && search.type !== null && search.id !== '' ? `${search.type}/${search.id}` : null;
}

export interface Found<T> {
  /** At most `limit` of them, the exact object first. */
  shown: T[];
  /** How many match in all. */
  total: number;
  /** The search named one object and it is among them. */
  exact: boolean;
}

/**
 * The active objects a query finds: the named object when it is active, else every object whose id
 * starts with the id part (of the type, when one is given).
 */
export function findOnMap<T extends { key: string; type: string; id: string }>(entries: Iterable<T>, search: MapSearch, limit: number): Found<T> {
  if (search.kind !== 'query') return { shown: [], total: 0, exact: false };
  const key = exactKey(search);
  const shown: T[] = [];
  let total = 0;
  let exact: T | undefined;
  for (const entry of entries) {
    if (key !== null && entry.key === key) {
      exact = entry;
      continue;
    }
    if (search.type !== null && entry.type !== search.type) continue;
    if (!entry.id.startsWith(search.id)) continue;
    total++;
    if (shown.length < limit) shown.push(entry);
  }
  if (exact) return { shown: [exact], total: 1, exact: true };
  return { shown, total, exact: false };
}
