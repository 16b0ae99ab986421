import { createHash } from 'node:crypto';
import zookeeper from 'node-zookeeper-client';
import type { ACL as AclEntry } from 'node-zookeeper-client';

/**
 * Where everything of one cluster lives in ZooKeeper. Every path the runtime, the admin API, the
 * CLI and the scripts read or write is made here:
 *
 * ```
 * <root>/keyspace                              the layout marker (persistent; KEYSPACE_LAYOUT as JSON)
 * <root>/shard-map                             a sharded cluster's map, without connect strings (persistent; shard-map.ts)
 * <root>/nodes/<node>                          membership (ephemeral, the node's info as JSON)
 * <root>/objects/<type>                        one per object type (persistent)
 * <root>/objects/<type>/<bucket>               one per bucket in use (persistent, never deleted)
 * <root>/objects/<type>/<bucket>/<id>          the object's lock parent (exists while anyone holds or waits)
 * <root>/objects/<type>/<bucket>/<id>/lock-…   the lock queue (ephemeral sequential)
 * ```
 *
 * The bucket is the first three hex digits of SHA-256 of the id (`bucketOf`): stable across
 * versions, processes and languages (`printf %s "$id" | sha256sum | cut -c1-3`).
 *
 * Why 4,096 buckets. A `getChildren` reply must fit the Java client's 1 MB packet limit
 * (`jute.maxbuffer`, 1,048,575 bytes stock); zkCli.sh, Curator and operators' tools fail past it.
 * A reply costs 20 bytes plus 4 + name-length bytes per child; an id is at most 200 bytes
 * (MAX_OBJECT_ID_LENGTH), so a child costs at most 204 bytes. The design's maximum is 4 million
 * held objects of one type (8 million znodes: past the largest single ensemble published, 4 million
 * znodes). 4,000,000 / 4,096 = 977 lock parents per bucket on average; the fullest of 4,096
 * buckets is about 4 standard deviations (√977 ≈ 31) above that, ~1,100. Worst case:
 * 1,100 × 204 B ≈ 224 KB per reply with every id 200 bytes long, ~44 KB with UUIDs — under a
 * quarter of the limit. A type's own listing is 4,096 buckets × 7 B ≈ 28 KB. Four times the
 * design maximum (16 million) still fits (~3,900 × 204 B ≈ 800 KB). Fewer buckets would not hold
 * millions of long ids; more would only cost a full scan more requests (one per bucket in use).
 *
 * `<root>/objects` and each `<root>/objects/<type>` refuse CREATE to everyone but the keyspace
 * writer, an identity every session of this version authenticates as (`KEYSPACE_WRITER_AUTH`; a
 * version gate, not a secret). A node of the previous layout, which made its lock parents directly
 * under `<root>/objects/<type>/`, therefore gets NO_AUTH instead of a lock: it cannot own an object
 * beside a node of this layout (keyspace-guard.ts moves a root over).
 */

/** How many buckets each type's lock parents are spread over. */
export const KEYSPACE_BUCKETS = 4096;
/** Hex digits in a bucket's name (`000`…`fff`). */
export const BUCKET_DIGITS = 3;

/**
 * The layout this version reads and writes, as stored in `<root>/keyspace`. A different value
 * there (or an older root without it) is a cluster this version must not run on as it is.
 */
export const KEYSPACE_LAYOUT = { version: 2, layout: 'objects/<type>/<bucket>/<id>', buckets: KEYSPACE_BUCKETS, hash: 'sha256-hex-prefix' } as const;
export type KeyspaceLayout = typeof KEYSPACE_LAYOUT;

/** `user:password` of the digest identity allowed to create types and buckets (sent by every ZkSession). */
export const KEYSPACE_WRITER_AUTH = 'highlander-keyspace:layout-2';

const { ACL, Id, Permission } = zookeeper;
/** ZooKeeper's digest id: `user:` + base64(SHA-1(`user:password`)). */
const WRITER_ID = `${KEYSPACE_WRITER_AUTH.split(':')[0]}:${createHash('sha1').update(KEYSPACE_WRITER_AUTH).digest('base64')}`;

/**
 * The ACL of `<root>/objects` and of every type znode: everyone may read, write, delete and change
 * the ACL; only the keyspace writer may create children (types, buckets).
 */
export const GUARDED_ACL = [
  new ACL(Permission.READ | Permission.WRITE | Permission.DELETE | Permission.ADMIN, new Id('world', 'anyone')),
  new ACL(Permission.ALL, new Id('digest', WRITER_ID)),
];

/** Whether an ACL is {@link GUARDED_ACL}: nobody but the keyspace writer may create children. */
export function isGuardedAcl(acl: readonly AclEntry[]): boolean {
  // node-zookeeper-client names the field `permission`; its published types say `perms`.
  const creators = acl.filter((entry) => ((entry as unknown as { permission: number }).permission & Permission.CREATE) !== 0);
  return creators.length > 0 && creators.every((entry) => entry.id.scheme === 'digest' && entry.id.id === WRITER_ID);
}

const BUCKET_NAME = /^[0-9a-f]{3}$/;

/** The bucket of an object id: the first three hex digits of SHA-256 of its UTF-8 bytes. */
export function bucketOf(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex').slice(0, BUCKET_DIGITS);
}

/** Whether `name` is a bucket's znode name (three lower-case hex digits). */
export function isBucketName(name: string): boolean {
  return BUCKET_NAME.test(name);
}

/** Every bucket name, `000` to `fff`. */
export function allBuckets(): string[] {
  return Array.from({ length: KEYSPACE_BUCKETS }, (_, i) => i.toString(16).padStart(BUCKET_DIGITS, '0'));
}

/** One cluster's paths under its root. Names are not validated here: callers validate ids and types first (names.ts). */
export class Keyspace {
  /** The cluster's root znode, e.g. `/highlander`; '' for paths that mirror a root's (the embedded registry's). */
  readonly root: string;

  constructor(root: string) {
    if (root !== '' && !/^(\/[A-Za-z0-9_.-]+)+$/.test(root)) throw new TypeError(`Keyspace: root must be an absolute znode path like '/highlander' (got '${root}')`);
    this.root = root;
  }

  /** `<root>/keyspace`: the layout marker. */
  get layoutPath(): string {
    return `${this.root}/keyspace`;
  }

  /** `<root>/shard-map`: in a sharded cluster, the shard map every node must run on (shard-map.ts). */
  get shardMapPath(): string {
    return `${this.root}/shard-map`;
  }

  /** `<root>/nodes`: the members' znodes. */
  get nodesPath(): string {
    return `${this.root}/nodes`;
  }

  /** `<root>/objects`: one child per object type. */
  get objectsPath(): string {
    return `${this.root}/objects`;
  }

  memberPath(node: string): string {
    return `${this.nodesPath}/${node}`;
  }

  typePath(type: string): string {
    return `${this.objectsPath}/${type}`;
  }

  bucketPath(type: string, bucket: string): string {
    return `${this.typePath(type)}/${bucket}`;
  }

  /** `<root>/objects/<type>/<bucket>/<id>`: the parent of the object's lock queue. */
  lockParent(type: string, id: string): string {
    return this.lockParentIn(type, bucketOf(id), id);
  }

  /** The lock parent of `id` as listed under `bucket` (a scan's listing; no hash computed). */
  lockParentIn(type: string, bucket: string, id: string): string {
    return `${this.bucketPath(type, bucket)}/${id}`;
  }

  /** The type, bucket and id of a lock parent or lock znode path under this root, or null when it is not one. */
  parse(path: string): { type: string; bucket: string; id: string; lock?: string } | null {
    const prefix = `${this.objectsPath}/`;
    if (!path.startsWith(prefix)) return null;
    const parts = path.slice(prefix.length).split('/');
    if (parts.length !== 3 && parts.length !== 4) return null;
    const [type, bucket, id, lock] = parts as [string, string, string, string | undefined];
    if (!type || !isBucketName(bucket) || !id || bucketOf(id) !== bucket || lock === '') return null;
    return lock === undefined ? { type, bucket, id } : { type, bucket, id, lock };
  }
}
