import { sortQueue } from '@highlander/runtime/zookeeper';
import type { ZkSession } from '@highlander/runtime/zookeeper';

/** Owners according to ZooKeeper, the truth about them: the lowest lock znode of every object under `root`. */
export async function ownersInZooKeeper(zk: ZkSession, root: string): Promise<Map<string, string>> {
  const owners = new Map<string, string>();
  for (const type of await zk.getChildren(`${root}/objects`).catch(() => [] as string[])) {
    for (const id of await zk.getChildren(`${root}/objects/${type}`).catch(() => [] as string[])) {
      const head = sortQueue(await zk.getChildren(`${root}/objects/${type}/${id}`).catch(() => [] as string[]))[0];
      if (head) owners.set(`${type}/${id}`, head.node);
    }
  }
  return owners;
}
