import { Keyspace, sortQueue } from '@highlander/runtime/zookeeper';
import type { ZkSession } from '@highlander/runtime/zookeeper';

/** Owners according to ZooKeeper, the truth about them: the lowest lock znode of every object under `root`, bucket by bucket. */
export async function ownersInZooKeeper(zk: ZkSession, root: string): Promise<Map<string, string>> {
  const keyspace = new Keyspace(root);
  const children = (path: string) => zk.getChildren(path).catch(() => [] as string[]);
  const owners = new Map<string, string>();
  for (const type of await children(keyspace.objectsPath)) {
    for (const bucket of await children(keyspace.typePath(type))) {
      for (const id of await children(keyspace.bucketPath(type, bucket))) {
        const head = sortQueue(await children(keyspace.lockParentIn(type, bucket, id)))[0];
        if (head) owners.set(`${type}/${id}`, head.node);
      }
    }
  }
  return owners;
}

/** Every lock parent (`<root>/objects/<type>/<bucket>/<id>`) under `root`, of one type or of all; empty ones too. */
export async function lockParentsInZooKeeper(zk: ZkSession, root: string, onlyType?: string): Promise<string[]> {
  const keyspace = new Keyspace(root);
  const children = (path: string) => zk.getChildren(path).catch(() => [] as string[]);
  const parents: string[] = [];
  for (const type of onlyType === undefined ? await children(keyspace.objectsPath) : [onlyType]) {
    for (const bucket of await children(keyspace.typePath(type))) {
      for (const id of await children(keyspace.bucketPath(type, bucket))) parents.push(keyspace.lockParentIn(type, bucket, id));
    }
  }
  return parents;
}
