import { describe, expect, it } from 'vitest';
import {
  HOME_ENSEMBLE, ShardTable, abortMove, bucketOf, completeMove, composeEpoch, mapFromMarker, markerOf, planMove, rangesOf, shardMapProblems, type ShardMap,
} from '@highlander/runtime/zookeeper';

/** The shard map's pure logic: checks, the bucket table, the marker and epochs across generations. */

const shard = (over: Partial<ShardMap['shards'][number]> = {}) => ({ name: 'zk-b', connect: '127.0.0.1:2182', buckets: ['800-fff'], generation: 1, ...over });

describe('shard map', () => {
  it('routes each bucket to its shard, and the rest to the home ensemble at generation 0', () => {
    const table = new ShardTable({ version: 3, shards: [shard(), shard({ name: 'zk-c', connect: 'zk-c1:2181,zk-c2:2181', buckets: ['400-4ff', '1a3'], generation: 3 })] });
    expect(table.routeOfBucket('000')).toEqual({ ensemble: HOME_ENSEMBLE, generation: 0 });
    expect(table.routeOfBucket('7ff')).toEqual({ ensemble: HOME_ENSEMBLE, generation: 0 });
    expect(table.routeOfBucket('800')).toEqual({ ensemble: 'zk-b', generation: 1 });
    expect(table.routeOfBucket('fff')).toEqual({ ensemble: 'zk-b', generation: 1 });
    expect(table.routeOfBucket('4a0')).toEqual({ ensemble: 'zk-c', generation: 3 });
    expect(table.routeOfBucket('1a3')).toEqual({ ensemble: 'zk-c', generation: 3 });
    expect(table.routeOfBucket('1a4')).toEqual({ ensemble: HOME_ENSEMBLE, generation: 0 });
    expect(table.route('a')).toEqual(table.routeOfBucket(bucketOf('a')));
    expect(Object.fromEntries(table.bucketCounts())).toEqual({ home: 0x800 - 0x101, 'zk-b': 0x800, 'zk-c': 0x101 });
    expect(table.homeRanges()).toEqual(['000-1a2', '1a4-3ff', '500-7ff']);
    expect(() => table.routeOfBucket('80')).toThrow(TypeError);
  });

  it('lists every problem of a bad map, each saying what to write', () => {
    expect(shardMapProblems({ version: 1, shards: [shard()] })).toEqual([]);
    expect(shardMapProblems({ version: 0, shards: [] })).toEqual([expect.stringContaining('version must be a whole number from 1')]);
    expect(shardMapProblems({ version: 1, shards: [shard({ name: 'home' })] })).toEqual([expect.stringContaining("'home' is the ensemble of --zk")]);
    expect(shardMapProblems({ version: 1, shards: [shard({ name: 'ZK_B' })] })).toEqual([expect.stringContaining('lower-case letters, digits or hyphens')]);
    expect(shardMapProblems({ version: 1, shards: [shard(), shard({ buckets: ['100'] })] })).toEqual([expect.stringContaining("'zk-b' is used twice")]);
    expect(shardMapProblems({ version: 1, shards: [shard({ connect: 'zk-b:2181/chroot' })] })).toEqual([expect.stringContaining('host:port pairs')]);
    expect(shardMapProblems({ version: 1, shards: [shard({ generation: 2 })] })).toEqual([expect.stringContaining("from 1 to the map's version 1 (got 2)")]);
    expect(shardMapProblems({ version: 2, shards: [shard({ generation: 0 })] })).toEqual([expect.stringContaining('(got 0)')]);
    expect(shardMapProblems({ version: 1, shards: [shard({ buckets: [] })] })).toEqual([]); // a standby
    expect(shardMapProblems({ version: 1, shards: [shard({ buckets: 'fff' as unknown as string[] })] })).toEqual([expect.stringContaining('[] for a standby')]);
    expect(shardMapProblems({ version: 1, shards: [shard({ buckets: ['fff-800'] })] })).toEqual([expect.stringContaining('runs backwards')]);
    expect(shardMapProblems({ version: 1, shards: [shard({ buckets: ['80'] })] })).toEqual([expect.stringContaining('three lower-case hex digits')]);
    expect(shardMapProblems({ version: 1, shards: [shard({ buckets: ['8FF'] })] })).toEqual([expect.stringContaining('three lower-case hex digits')]);
    expect(shardMapProblems({ version: 2, shards: [shard(), shard({ name: 'zk-c', buckets: ['a00'], generation: 2 })] }))
      .toEqual([expect.stringContaining("bucket a00 is also in shard 'zk-b'")]);
    // Several problems at once are all named.
    expect(shardMapProblems({ version: 1, shards: [shard({ name: 'home', connect: '', generation: 5 })] })).toHaveLength(3);
    expect(() => new ShardTable({ version: 1, shards: [shard({ buckets: ['zzz'] })] })).toThrow(/shard map: shards\[0\]\.buckets: "zzz"/);
  });

  it('keeps connect strings out of the marker, so hosts may name an ensemble differently', () => {
    const a = new ShardTable({ version: 1, shards: [shard({ connect: '10.0.0.5:2181' })] });
    const b = new ShardTable({ version: 1, shards: [shard({ connect: 'zk-b.internal:2181' })] });
    expect(a.marker()).toBe(b.marker());
    expect(JSON.parse(a.marker())).toEqual({ version: 1, shards: [{ name: 'zk-b', buckets: ['800-fff'], generation: 1 }] });
    expect(new ShardTable({ version: 2, shards: [shard({ generation: 2 })] }).marker()).not.toBe(a.marker());
  });

  it('orders epochs across generations: any lock of a later generation outranks every lock of an earlier one', () => {
    const largestCzxid = ((1n << 63n) - 1n).toString();
    expect(composeEpoch(0, '12345')).toBe('12345');
    expect(BigInt(composeEpoch(1, '1'))).toBeGreaterThan(BigInt(composeEpoch(0, largestCzxid)));
    expect(BigInt(composeEpoch(2, '1'))).toBeGreaterThan(BigInt(composeEpoch(1, largestCzxid)));
    expect(BigInt(composeEpoch(1, '7'))).toBeLessThan(BigInt(composeEpoch(1, '8')));
    expect(composeEpoch(1, '5')).toBe((2n ** 64n + 5n).toString());
  });

  it('plans a move to a standby, completes it, or aborts it under a higher version', () => {
    const before: ShardMap = { version: 3, shards: [shard({ buckets: ['800-fff'], generation: 2 }), shard({ name: 'zk-c', connect: '127.0.0.1:2183', buckets: [], generation: 1 })] };
    const moving = planMove(before, ['c00-fff'], 'zk-c');
    expect(moving).toMatchObject({ version: 4, moving: { buckets: ['c00-fff'], from: 'zk-b', to: 'zk-c' } });
    expect(moving.shards.find((s) => s.name === 'zk-c')!.generation).toBe(4);
    const table = new ShardTable(moving);
    expect(table.isMoving(idIn('c12'))).toBe(true);
    expect(table.isMoving(idIn('812'))).toBe(false);
    // While moving, the buckets still route to their source (no lock is taken there: the coordinator refuses).
    expect(table.routeOfBucket('c12')).toEqual({ ensemble: 'zk-b', generation: 2 });
    const done = completeMove(moving);
    expect(done.moving).toBeUndefined();
    expect(done.shards.map((s) => [s.name, s.buckets, s.generation])).toEqual([['zk-b', ['800-bff'], 2], ['zk-c', ['c00-fff'], 4]]);
    expect(new ShardTable(done).routeOfBucket('c12')).toEqual({ ensemble: 'zk-c', generation: 4 });
    const aborted = abortMove(moving, before);
    expect(aborted.version).toBe(5);
    expect(new ShardTable(aborted).routeOfBucket('c12')).toEqual({ ensemble: 'zk-b', generation: 2 });
    // From the home ensemble too; refused: across ensembles, into a shard that holds buckets, twice at once.
    expect(completeMove(planMove(before, ['000-0ff'], 'zk-c')).shards.find((s) => s.name === 'zk-c')!.buckets).toEqual(['000-0ff']);
    expect(() => planMove(before, ['700-8ff'], 'zk-c')).toThrow(/must all be in one ensemble; 700-8ff are in home, zk-b/);
    expect(() => planMove(before, ['000-0ff'], 'zk-b')).toThrow(/already holds buckets/);
    expect(() => planMove(moving, ['000-0ff'], 'zk-c')).toThrow(/a move is under way already/);
    expect(rangesOf([5, 1, 2, 3, 0xfff])).toEqual(['001-003', '005', 'fff']);
  });

  it('reads the cluster\'s map from its marker with this process\'s connect strings, and refuses one naming an unknown ensemble', () => {
    const map: ShardMap = { version: 2, shards: [shard({ generation: 2 })] };
    const connects = new Map([[HOME_ENSEMBLE, '127.0.0.1:2181'], ['zk-b', 'b:2181'], ['zk-c', 'c:2181']]);
    const read = mapFromMarker(markerOf(map), connects);
    expect(read.shards).toEqual([{ name: 'zk-b', connect: 'b:2181', buckets: ['800-fff'], generation: 2 }, { name: 'zk-c', connect: 'c:2181', buckets: [], generation: 2 }]);
    // A standby is not in the marker: listing one does not change the map.
    expect(markerOf(read)).toBe(markerOf(map));
    expect(() => mapFromMarker(markerOf(map), new Map([[HOME_ENSEMBLE, 'a:1']]))).toThrow(/uses ensemble 'zk-b', which this process's --zk-shards file does not list/);
    expect(() => mapFromMarker('{', connects)).toThrow(/not JSON/);
  });
});

/** An id whose bucket is `bucket`. */
function idIn(bucket: string): string {
  for (let i = 0; ; i++) if (bucketOf(`o-${i}`) === bucket) return `o-${i}`;
}
