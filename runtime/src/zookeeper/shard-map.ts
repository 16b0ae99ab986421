import { BUCKET_DIGITS, KEYSPACE_BUCKETS, bucketOf, isBucketName } from './keyspace.js';

/**
 * The shard map: which ZooKeeper ensemble holds the lock queues of which buckets (keyspace.ts).
 *
 * The home ensemble (`--zk`) holds every bucket no shard names; each shard names another ensemble
 * and the buckets it holds, as ranges like `800-fff` or single buckets like `a3c`. Every node
 * joins every ensemble (a session each, membership in each), so losing one ensemble stops only the
 * objects of its buckets.
 *
 * Epochs across a map change. An owner's epoch is its lock znode's czxid, which only orders
 * owners within one ensemble. A bucket that moves to another ensemble gets the map's version as
 * its `generation`, and a lock taken there has the epoch `generation × 2⁶⁴ + czxid`
 * ({@link composeEpoch}): any owner after the move outranks every owner before it, whatever the
 * two ensembles' counters say, and the S3 claim (fenced-writer.ts) compares epochs as integers.
 * The home ensemble is generation 0: its epochs are the plain czxids of an unsharded cluster.
 * A bucket's generation therefore only grows: a shard's generation is at least 1, at most the
 * map's version, and a bucket never moves back to the home ensemble (it moves to a new shard).
 */
export interface ShardMap {
  /** Raised with every change of the map. */
  version: number;
  shards: ShardSpec[];
  /**
   * A move under way (shard-move.ts): these buckets leave `from` for the standby shard `to`, whose
   * generation is the map's version. While it lasts no node takes a lock in them anywhere.
   */
  moving?: ShardMove;
}

export interface ShardMove {
  buckets: string[];
  /** `home` or a shard's name. */
  from: string;
  /** A shard with no buckets (a standby). */
  to: string;
}

export interface ShardSpec {
  /** The ensemble's name in the map (metrics, errors, the marker), e.g. `zk-b`. */
  name: string;
  /** Its connect string, e.g. `10.0.0.5:2181,10.0.0.6:2181,10.0.0.7:2181`. */
  connect: string;
  /** Bucket ranges (`800-fff`) or single buckets (`a3c`); none: a standby, which a move can fill (shard-move.ts). */
  buckets: string[];
  /** The map version at which these buckets moved here; epochs of its locks are `generation × 2⁶⁴ + czxid`. */
  generation: number;
}

/** The home ensemble's name in errors, events and the admin API. */
export const HOME_ENSEMBLE = 'home';

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const CONNECT = /^[^\s,/:]+:[0-9]{1,5}(,[^\s,/:]+:[0-9]{1,5})*$/;
const RANGE = /^([0-9a-f]{3})(?:-([0-9a-f]{3}))?$/;

/**
 * What is wrong with a shard map, one sentence each (empty: nothing). Checked: names (unique, not
 * `home`), connect strings, bucket ranges (well-formed, ascending, no bucket in two shards),
 * generations (whole numbers from 1 to the map's version).
 */
export function shardMapProblems(map: ShardMap): string[] {
  const problems: string[] = [];
  if (!Number.isSafeInteger(map.version) || map.version < 1) problems.push(`version must be a whole number from 1 (got ${JSON.stringify(map.version)})`);
  if (!Array.isArray(map.shards)) return [...problems, 'shards must be a list'];
  const owner = new Map<number, string>();
  const names = new Set<string>();
  for (const [i, shard] of map.shards.entries()) {
    const at = `shards[${i}]`;
    if (!NAME.test(shard.name ?? '')) problems.push(`${at}.name must be 1-63 lower-case letters, digits or hyphens (got ${JSON.stringify(shard.name)})`);
    else if (shard.name === HOME_ENSEMBLE) problems.push(`${at}.name: '${HOME_ENSEMBLE}' is the ensemble of --zk; name the shard otherwise`);
    else if (names.has(shard.name)) problems.push(`${at}.name '${shard.name}' is used twice`);
    names.add(shard.name);
    if (!CONNECT.test(shard.connect ?? '')) problems.push(`${at}.connect must be host:port pairs separated by commas (got ${JSON.stringify(shard.connect)})`);
    if (!Number.isSafeInteger(shard.generation) || shard.generation < 1 || shard.generation > map.version) {
      problems.push(`${at}.generation must be a whole number from 1 to the map's version ${map.version} (got ${JSON.stringify(shard.generation)})`);
    }
    if (!Array.isArray(shard.buckets)) {
      problems.push(`${at}.buckets must list ranges like "800-fff" or buckets like "a3c" ([] for a standby)`);
      continue;
    }
    for (const range of shard.buckets) {
      const parsed = parseRange(range);
      if (typeof parsed === 'string') {
        problems.push(`${at}.buckets: ${parsed}`);
        continue;
      }
      for (let b = parsed[0]; b <= parsed[1]; b++) {
        const other = owner.get(b);
        if (other !== undefined && other !== shard.name) {
          problems.push(`${at}.buckets: bucket ${bucketName(b)} is also in shard '${other}'`);
          break;
        }
        owner.set(b, shard.name);
      }
    }
  }
  if (map.moving !== undefined) problems.push(...moveProblems(map, map.moving));
  return problems;
}

function moveProblems(map: ShardMap, move: ShardMove): string[] {
  const problems: string[] = [];
  const target = map.shards.find((s) => s.name === move.to);
  if (!target) problems.push(`moving.to '${move.to}' is not a shard of the map`);
  else if (target.buckets.length > 0) problems.push(`moving.to '${move.to}' already holds buckets: a move fills a standby shard`);
  else if (target.generation !== map.version) problems.push(`moving.to '${move.to}' must have the map's version ${map.version} as its generation`);
  if (move.from !== HOME_ENSEMBLE && !map.shards.some((s) => s.name === move.from)) problems.push(`moving.from '${move.from}' is not an ensemble of the map`);
  if (!Array.isArray(move.buckets) || move.buckets.length === 0) problems.push('moving.buckets must list at least one range');
  else for (const range of move.buckets) if (typeof parseRange(range) === 'string') problems.push(`moving.buckets: ${parseRange(range) as string}`);
  return problems;
}

/** Bucket numbers as ranges, ascending (`["000-3ff", "a3c"]`). */
export function rangesOf(buckets: Iterable<number>): string[] {
  const sorted = [...new Set(buckets)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    ranges.push(i === j ? bucketName(sorted[i]!) : `${bucketName(sorted[i]!)}-${bucketName(sorted[j]!)}`);
    i = j + 1;
  }
  return ranges;
}

/** The bucket numbers of ranges (already checked). */
export function bucketsIn(ranges: readonly string[]): number[] {
  const out: number[] = [];
  for (const range of ranges) {
    const parsed = parseRange(range);
    if (typeof parsed === 'string') throw new TypeError(parsed);
    for (let b = parsed[0]; b <= parsed[1]; b++) out.push(b);
  }
  return out;
}

function parseRange(range: unknown): [number, number] | string {
  const m = typeof range === 'string' ? RANGE.exec(range) : null;
  if (!m) return `${JSON.stringify(range)} is not a bucket range: use three lower-case hex digits, e.g. "a3c", or two joined by '-', e.g. "800-fff"`;
  const lo = Number.parseInt(m[1]!, 16);
  const hi = m[2] === undefined ? lo : Number.parseInt(m[2], 16);
  if (hi < lo) return `"${range}" runs backwards: put the lower bucket first`;
  return [lo, hi];
}

function bucketName(b: number): string {
  return b.toString(16).padStart(BUCKET_DIGITS, '0');
}

/** An ensemble's share of the keyspace, resolved. */
export interface ShardRoute {
  /** `home` or the shard's name. */
  ensemble: string;
  generation: number;
}

/** The map resolved to a table: bucket → ensemble and generation. Throws a TypeError naming every problem. */
export class ShardTable {
  readonly map: ShardMap;
  readonly #routes: ShardRoute[];

  /** Buckets of a move under way: nobody takes a lock in them. */
  readonly #moving = new Set<number>();

  constructor(map: ShardMap) {
    const problems = shardMapProblems(map);
    if (problems.length > 0) throw new TypeError(`shard map: ${problems.join('; ')}`);
    this.map = map;
    if (map.moving) for (const b of bucketsIn(map.moving.buckets)) this.#moving.add(b);
    const home: ShardRoute = { ensemble: HOME_ENSEMBLE, generation: 0 };
    this.#routes = Array.from({ length: KEYSPACE_BUCKETS }, () => home);
    for (const shard of map.shards) {
      const route: ShardRoute = { ensemble: shard.name, generation: shard.generation };
      for (const range of shard.buckets) {
        const [lo, hi] = parseRange(range) as [number, number];
        for (let b = lo; b <= hi; b++) this.#routes[b] = route;
      }
    }
  }

  /** Where an object's lock queue lives. */
  route(id: string): ShardRoute {
    return this.routeOfBucket(bucketOf(id));
  }

  /** Whether the object's bucket is part of a move under way. */
  isMoving(id: string): boolean {
    return this.#moving.size > 0 && this.#moving.has(Number.parseInt(bucketOf(id), 16));
  }

  /** Every bucket of an ensemble, as numbers. */
  bucketsOf(ensemble: string): number[] {
    const out: number[] = [];
    this.#routes.forEach((route, b) => {
      if (route.ensemble === ensemble) out.push(b);
    });
    return out;
  }

  routeOfBucket(bucket: string): ShardRoute {
    if (!isBucketName(bucket)) throw new TypeError(`not a bucket name: ${JSON.stringify(bucket)}`);
    return this.#routes[Number.parseInt(bucket, 16)]!;
  }

  /** How many buckets each ensemble holds, home first. */
  bucketCounts(): Map<string, number> {
    const counts = new Map<string, number>([[HOME_ENSEMBLE, 0], ...this.map.shards.map((s) => [s.name, 0] as [string, number])]);
    for (const route of this.#routes) counts.set(route.ensemble, counts.get(route.ensemble)! + 1);
    return counts;
  }

  /** The home ensemble's buckets as ranges (`000-7ff`), what no shard names. */
  homeRanges(): string[] {
    const ranges: string[] = [];
    let start = -1;
    for (let b = 0; b <= KEYSPACE_BUCKETS; b++) {
      const home = b < KEYSPACE_BUCKETS && this.#routes[b]!.ensemble === HOME_ENSEMBLE;
      if (home && start < 0) start = b;
      if (!home && start >= 0) {
        ranges.push(start === b - 1 ? bucketName(start) : `${bucketName(start)}-${bucketName(b - 1)}`);
        start = -1;
      }
    }
    return ranges;
  }

  /**
   * What every ensemble's `<root>/shard-map` marker holds: the map without connect strings (those
   * may differ from host to host), so that every node of a cluster can be checked to run on the same map.
   */
  marker(): string {
    return markerOf(this.map);
  }
}

/** `generation × 2⁶⁴ + czxid` as a decimal string; generation 0 leaves the czxid as it is. */
export function composeEpoch(generation: number, czxid: string): string {
  if (generation === 0) return czxid;
  return ((BigInt(generation) << 64n) + BigInt(czxid)).toString();
}

/**
 * The marker text of a map (what `<root>/shard-map` holds): without connect strings, and without
 * standby shards unless a move fills one, so that listing a standby does not change the map.
 */
export function markerOf(map: ShardMap): string {
  const shards = map.shards.filter((s) => s.buckets.length > 0 || map.moving?.to === s.name).map((s) => ({ name: s.name, buckets: s.buckets, generation: s.generation }));
  return JSON.stringify({ version: map.version, shards, ...(map.moving ? { moving: map.moving } : {}) });
}

/**
 * The map a marker describes, with connect strings from `connects` (the node's own file). Throws
 * a TypeError naming an ensemble the file does not list, or what else is wrong.
 */
export function mapFromMarker(text: string, connects: ReadonlyMap<string, string>): ShardMap {
  let parsed: { version?: unknown; shards?: Array<{ name?: unknown; buckets?: unknown; generation?: unknown }>; moving?: ShardMove };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new TypeError(`the shard map marker is not JSON: ${JSON.stringify(text.slice(0, 100))}`);
  }
  const shards = (Array.isArray(parsed.shards) ? parsed.shards : []).map((s) => {
    const connect = connects.get(String(s.name));
    if (connect === undefined) throw new TypeError(`the cluster's shard map uses ensemble '${String(s.name)}', which this process's --zk-shards file does not list`);
    return { name: String(s.name), connect, buckets: s.buckets as string[], generation: s.generation as number };
  });
  // Standby shards of the file stay known (a later move may fill them).
  for (const [name, connect] of connects) {
    if (name !== HOME_ENSEMBLE && !shards.some((s) => s.name === name)) shards.push({ name, connect, buckets: [], generation: parsed.version as number });
  }
  const map: ShardMap = { version: parsed.version as number, shards, ...(parsed.moving ? { moving: parsed.moving } : {}) };
  const problems = shardMapProblems(map);
  if (problems.length > 0) throw new TypeError(`the cluster's shard map: ${problems.join('; ')}`);
  return map;
}

/** The map of a move's first step: `buckets` (all of one ensemble now) marked as moving to the standby `to`, version raised. */
export function planMove(map: ShardMap, buckets: readonly string[], to: string): ShardMap {
  if (map.moving) throw new TypeError(`a move is under way already (buckets ${map.moving.buckets.join(', ')} to ${map.moving.to}): finish or abort it first`);
  const table = new ShardTable(map);
  const numbers = bucketsIn(buckets);
  const sources = new Set(numbers.map((b) => table.routeOfBucket(bucketName(b)).ensemble));
  if (sources.size !== 1) throw new TypeError(`the buckets to move must all be in one ensemble; ${rangesOf(numbers).join(', ')} are in ${[...sources].join(', ')}`);
  const from = [...sources][0]!;
  if (from === to) throw new TypeError(`the buckets are in ${to} already`);
  const version = map.version + 1;
  const shards = map.shards.map((s) => (s.name === to ? { ...s, generation: version } : s));
  const next: ShardMap = { version, shards, moving: { buckets: rangesOf(numbers), from, to } };
  const problems = shardMapProblems(next);
  if (problems.length > 0) throw new TypeError(problems.join('; '));
  return next;
}

/** The map once a move is done: its buckets belong to the target shard. */
export function completeMove(map: ShardMap): ShardMap {
  const move = map.moving;
  if (!move) throw new TypeError('no move is under way');
  const moved = new Set(bucketsIn(move.buckets));
  const shards = map.shards.map((s) => {
    if (s.name === move.to) return { ...s, buckets: rangesOf(moved) };
    if (s.name === move.from) return { ...s, buckets: rangesOf(bucketsIn(s.buckets).filter((b) => !moved.has(b))) };
    return s;
  });
  return { version: map.version, shards };
}

/** The map after an aborted move: as before it, under a new version (versions only grow). */
export function abortMove(map: ShardMap, before: ShardMap): ShardMap {
  return { ...before, version: map.version + 1, shards: before.shards };
}
