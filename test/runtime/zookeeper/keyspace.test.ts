import zookeeper from 'node-zookeeper-client';
import { describe, expect, it } from 'vitest';
import { MAX_OBJECT_ID_LENGTH } from '@highlander/runtime';
import { GUARDED_ACL, KEYSPACE_BUCKETS, Keyspace, allBuckets, bucketOf, isBucketName, isGuardedAcl } from '@highlander/runtime/zookeeper';

/**
 * The one module that lays out a cluster's paths in ZooKeeper: stable buckets (an operator's shell
 * computes the same ones), paths, and the sizes that keep every listing within a stock Java
 * client's 1 MB packet limit.
 */

/** The Java client's stock limit on one packet (jute.maxbuffer, 0xfffff). */
const JAVA_CLIENT_MAX_PACKET_BYTES = 0xfffff;

describe('keyspace', () => {
  it('puts an id in the bucket named by the first three hex digits of its SHA-256, as `sha256sum` prints it', () => {
    // printf %s "$id" | sha256sum | cut -c1-3
    expect(bucketOf('a')).toBe('ca9');
    expect(bucketOf('groceries')).toBe('121');
    expect(bucketOf('list-1')).toBe('b1f');
    expect(bucketOf('obj-0000001')).toBe('ab1');
    expect(bucketOf('x:y@z.w-_')).toBe('202');
  });

  it('lays out members, types, buckets and lock parents under the root', () => {
    const keyspace = new Keyspace('/highlander');
    expect(keyspace.layoutPath).toBe('/highlander/keyspace');
    expect(keyspace.memberPath('node-a')).toBe('/highlander/nodes/node-a');
    expect(keyspace.typePath('list')).toBe('/highlander/objects/list');
    expect(keyspace.lockParent('list', 'groceries')).toBe('/highlander/objects/list/121/groceries');
    expect(keyspace.lockParentIn('list', '121', 'groceries')).toBe(keyspace.lockParent('list', 'groceries'));
    expect(new Keyspace('').lockParent('list', 'groceries')).toBe('/objects/list/121/groceries');
  });

  it('reads a lock parent or lock path back, and nothing that is not one', () => {
    const keyspace = new Keyspace('/h');
    expect(keyspace.parse('/h/objects/list/121/groceries')).toEqual({ type: 'list', bucket: '121', id: 'groceries' });
    expect(keyspace.parse('/h/objects/list/121/groceries/lock-a-1-0-0000000001'))
      .toEqual({ type: 'list', bucket: '121', id: 'groceries', lock: 'lock-a-1-0-0000000001' });
    for (const path of [
      '/h/objects/list/groceries', // the previous layout: no bucket
      '/h/objects/list/000/groceries', // the wrong bucket for the id
      '/h/objects/list/121', '/h/nodes/a', '/other/objects/list/121/groceries', '/h/objects/list/121/groceries/', '',
    ]) expect(keyspace.parse(path), path).toBeNull();
  });

  it('refuses a root that is not an absolute znode path', () => {
    for (const root of ['highlander', '/', '/a/', '/a b', '/a//b']) expect(() => new Keyspace(root), root).toThrow(TypeError);
  });

  it('names 4,096 buckets, each three hex digits', () => {
    const buckets = allBuckets();
    expect(buckets).toHaveLength(KEYSPACE_BUCKETS);
    expect(new Set(buckets).size).toBe(KEYSPACE_BUCKETS);
    expect(buckets.every(isBucketName)).toBe(true);
    for (const name of ['', '12', '1234', 'ABC', 'g00', 'lock-1']) expect(isBucketName(name), name).toBe(false);
  });

  it('spreads ids evenly enough that the fullest bucket stays near the mean', () => {
    const counts = new Map<string, number>();
    const ids = KEYSPACE_BUCKETS * 50;
    for (let i = 0; i < ids; i++) {
      const bucket = bucketOf(`obj-${String(i).padStart(7, '0')}`);
      counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
    }
    expect(counts.size).toBe(KEYSPACE_BUCKETS);
    // Mean 50, standard deviation ~7: a uniform hash keeps every bucket within ±6σ.
    expect(Math.max(...counts.values())).toBeLessThan(50 + 6 * 7);
    expect(Math.min(...counts.values())).toBeGreaterThan(50 - 6 * 7);
  });

  it('keeps a bucket listing of 4 million objects of one type, every id at its longest, under a quarter of the Java client limit', () => {
    // The fullest of 4,096 buckets at 4M ids: mean 977, +4σ ≈ 1,100 (keyspace.ts). A reply is 20 bytes plus 4 + length per child.
    const fullestBucket = Math.ceil(4_000_000 / KEYSPACE_BUCKETS + 4 * Math.sqrt(4_000_000 / KEYSPACE_BUCKETS));
    expect(20 + fullestBucket * (4 + MAX_OBJECT_ID_LENGTH)).toBeLessThan(JAVA_CLIENT_MAX_PACKET_BYTES / 4);
    // The type's own listing: every bucket.
    expect(20 + KEYSPACE_BUCKETS * (4 + 3)).toBeLessThan(JAVA_CLIENT_MAX_PACKET_BYTES / 4);
  });

  it('lets only the keyspace writer create types and buckets', () => {
    expect(isGuardedAcl(GUARDED_ACL)).toBe(true);
    const open = (zookeeper.ACL as unknown as { OPEN_ACL_UNSAFE: typeof GUARDED_ACL }).OPEN_ACL_UNSAFE;
    expect(isGuardedAcl(open)).toBe(false);
    expect(isGuardedAcl([])).toBe(false);
  });
});
