import type { TestProject } from 'vitest/node';
import { startRadosgw, type RadosgwServer } from '../../scripts/servers/radosgw.js';
import { startZooKeeper, type ZooKeeperCluster } from '../../scripts/servers/zookeeper.js';

/** The bucket every test may use; tests keep to their own key prefix. */
const TEST_BUCKET = 'highlander-test';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Connect string of the shared standalone ZooKeeper. */
    zookeeper: string;
    /** The shared radosgw and its bucket. */
    s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; bucket: string };
  }
}

/**
 * Starts one standalone ZooKeeper and one radosgw for the whole test run and provides their
 * details to tests (read them with test/harness/servers.ts). The servers die with the vitest
 * process even if it is killed; the returned teardown stops them and removes their directories.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [zookeeperResult, radosgwResult] = await Promise.allSettled([startZooKeeper(), startRadosgw()]);
  if (zookeeperResult.status === 'rejected' || radosgwResult.status === 'rejected') {
    await stopAll(
      zookeeperResult.status === 'fulfilled' ? zookeeperResult.value : undefined,
      radosgwResult.status === 'fulfilled' ? radosgwResult.value : undefined,
    );
    const reasons = [zookeeperResult, radosgwResult].flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
    throw reasons.length === 1 ? reasons[0] : new AggregateError(reasons, 'test servers failed to start');
  }
  const zookeeper = zookeeperResult.value;
  const radosgw = radosgwResult.value;
  try {
    await radosgw.createBucket(TEST_BUCKET);
  } catch (error) {
    await stopAll(zookeeper, radosgw);
    throw error;
  }

  project.provide('zookeeper', zookeeper.connectString);
  project.provide('s3', {
    endpoint: radosgw.endpoint,
    region: radosgw.region,
    accessKeyId: radosgw.accessKeyId,
    secretAccessKey: radosgw.secretAccessKey,
    bucket: TEST_BUCKET,
  });
  return () => stopAll(zookeeper, radosgw);
}

async function stopAll(zookeeper: ZooKeeperCluster | undefined, radosgw: RadosgwServer | undefined): Promise<void> {
  await Promise.all([zookeeper?.stop(), radosgw?.stop()]);
}
