import { afterAll, beforeAll, expect, it } from 'vitest';
import { Cluster, uniqueRoot, type ClusterConfig } from '../../scripts/cluster.js';
import { startRadosgw, type RadosgwServer } from '../../scripts/servers/radosgw.js';
import { S3StateStore, StoreUnavailable } from '@highlander/runtime';
import { TEST_OBJECTS } from '../harness/test-objects.js';
import { zookeeperConnect } from '../harness/servers.js';
import { hold, timing } from '../harness/timing.js';

/**
 * An S3 outage under load, on a radosgw of its own (the shared one stays up for other tests):
 * writes that cannot reach the store fail exactly the calls they carried, with StoreUnavailable;
 * nothing acknowledged is lost; service resumes when the gateway is back.
 */

let rgw: RadosgwServer;
let cluster: Cluster | undefined;

beforeAll(async () => {
  rgw = await startRadosgw();
  await rgw.createBucket('outage');
});

afterAll(async () => {
  await cluster?.stop();
  await rgw?.stop();
});

it('a store outage fails the calls it hit, loses no acknowledged write, and service resumes', async () => {
  const config: ClusterConfig = {
    zookeeper: zookeeperConnect(),
    s3: { endpoint: rgw.endpoint, region: rgw.region, accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey, bucket: 'outage' },
    root: uniqueRoot('outage'),
    sessionTimeoutMs: timing.sessionTimeoutMs,
    objectsModule: TEST_OBJECTS,
    callTimeoutMs: timing.outageCallMs,
  };
  cluster = await Cluster.start(config, 2);
  const [a, b] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
  await a.call('counter', 'hot', 'increment', null);
  const acknowledged: number[] = [1];
  const failures: unknown[] = [];
  let running = true;
  const worker = async (node: typeof a) => {
    while (running) {
      try {
        acknowledged.push(await node.call<number>('counter', 'hot', 'increment', null));
      } catch (err) {
        failures.push(err);
        await hold(timing.retryPauseMs);
      }
    }
  };
  const workers = Array.from({ length: 8 }, (_, i) => worker(i % 2 === 0 ? a : b));
  try {
    await hold(timing.storeOutageLoadMs);
    await rgw.stopGateway();
    await hold(timing.storeOutageMs);
    // The outage is felt: calls fail while the gateway is down.
    await expect.poll(() => failures.length, { timeout: timing.eventMs }).toBeGreaterThan(0);
    await rgw.startGateway();
    // Service resumes by itself: calls are acknowledged again.
    const ackedBeforeRecovery = acknowledged.length;
    await expect.poll(() => acknowledged.length, { timeout: timing.eventMs }).toBeGreaterThan(ackedBeforeRecovery);
  } finally {
    running = false;
    await Promise.all(workers);
  }

  for (const err of failures) expect(err).toBeInstanceOf(StoreUnavailable);
  expect(new Set(acknowledged).size).toBe(acknowledged.length); // no value acknowledged twice
  const store = new S3StateStore({
    bucket: 'outage', prefix: `${config.root.slice(1)}/objects/`, endpoint: rgw.endpoint, region: rgw.region,
    credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
  });
  const stored = await store.read('counter', 'hot');
  await store.close();
  // Exactly the acknowledged increments are durable: none lost, none of the failed ones kept.
  expect(JSON.parse(stored!.body).value).toBe(acknowledged.length);
  expect(Math.max(...acknowledged)).toBe(acknowledged.length);
});
