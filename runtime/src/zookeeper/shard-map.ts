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
}

export interface ShardSpec {
  /** The ensemble's name in the map (metrics, errors, the marker), e.g. `zk-b`. */
  name: string;
  /** Its connect string, e.g. `10.0.0.5:2181,10.0.0.6:2181,10.0.0.7:2181`. */
  connect: string;
  /** Bucket ranges (`800-fff`) or single buckets (`a3c`). */
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
    if (!Array.isArray(shard.buckets) || shard.buckets.length === 0) {
      problems.push(`${at}.buckets must list at least one range like "800-fff" or bucket like "a3c"`);
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
  return problems;
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

  constructor(map: ShardMap) {
    const problems = shardMapProblems(map);
    if (problems.length > 0) throw new TypeError(`shard map: ${problems.join('; ')}`);
    this.map = map;
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
    return JSON.stringify({ version: this.map.version, shards: this.map.shards.map((s) => ({ name: s.name, buckets: s.buckets, generation: s.generation })) });
  }
}

/** `generation × 2⁶⁴ + czxid` as a decimal string; generation 0 leaves the czxid as it is. */
export function composeEpoch(generation: number, czxid: string): string {
  if (generation === 0) return czxid;
  return ((BigInt(generation) << 64n) + BigInt(czxid)).toString();
}
