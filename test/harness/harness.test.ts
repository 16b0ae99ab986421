import { randomUUID } from 'node:crypto';
import {
  GetObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import zookeeper, { type Client } from 'node-zookeeper-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startRadosgw, type RadosgwServer } from '../../scripts/servers/radosgw.js';
import { s3ClientConfig } from '../../scripts/servers/s3-client-config.js';
import { startZooKeeper, type ZooKeeperCluster } from '../../scripts/servers/zookeeper.js';
import { s3Config, zookeeperConnect } from './servers.js';
import { timing } from './timing.js';

const clients: Client[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

async function connect(connectString: string): Promise<Client> {
  const client = zookeeper.createClient(connectString, { sessionTimeout: 5000, retries: 0 });
  clients.push(client);
  await withTimeout(new Promise<void>((resolve) => {
    client.once('connected', resolve);
    client.connect();
  }), `connect to ${connectString}`);
  return client;
}

function call<T>(what: string, operation: (callback: (error: unknown, result: T) => void) => void): Promise<T> {
  return withTimeout(
    new Promise<T>((resolve, reject) => {
      operation((error, result) => (error ? reject(error) : resolve(result)));
    }),
    what,
  );
}

/** node-zookeeper-client has no request timeout; a request to a dead quorum would hang the test. */
function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timing.harnessRequestMs} ms`)), timing.harnessRequestMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Retries an idempotent operation whose request was in flight when its server died. */
async function retryOnConnectionLoss<T>(operation: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const lost = (error as { code?: number }).code === zookeeper.Exception.CONNECTION_LOSS;
      if (!lost || attempt === 5) throw error;
    }
  }
}

function getData(client: Client, path: string): Promise<string> {
  return call<Buffer>(`getData ${path}`, (done) => client.getData(path, (error, data) => done(error, data))).then(
    (data) => data.toString('utf8'),
  );
}

describe('ZooKeeper harness', () => {
  it('provides a standalone server that a client can write to and read from', async () => {
    const client = await connect(zookeeperConnect());
    const path = `/harness-${randomUUID()}`;
    await call(`create ${path}`, (done) => client.create(path, Buffer.from('hello'), zookeeper.CreateMode.PERSISTENT, done));
    expect(await getData(client, path)).toBe('hello');
    await call(`remove ${path}`, (done) => client.remove(path, (error) => done(error, undefined)));
  });

  describe('a 3-server ensemble', () => {
    let cluster: ZooKeeperCluster | undefined;
    afterAll(async () => {
      await cluster?.stop();
    });

    it('elects one leader, survives losing it, and takes the old leader back as a follower', async () => {
      cluster = await startZooKeeper({ servers: 3 });
      expect(cluster.connectString.split(',')).toHaveLength(3);
      const modes = await Promise.all(cluster.servers.map((server) => server.mode()));
      expect(modes.sort()).toEqual(['follower', 'follower', 'leader']);

      const client = await connect(cluster.connectString);
      const path = `/ensemble-${randomUUID()}`;
      await call(`create ${path}`, (done) => client.create(path, Buffer.from('before'), zookeeper.CreateMode.PERSISTENT, done));

      const oldLeader = await cluster.leader();
      oldLeader.kill('SIGKILL');
      const newLeader = await cluster.leader();
      expect(newLeader.id).not.toBe(oldLeader.id);
      expect(await oldLeader.mode()).toBe('down');

      await retryOnConnectionLoss(() =>
        call(`setData ${path}`, (done) => client.setData(path, Buffer.from('after'), -1, done)),
      );
      expect(await retryOnConnectionLoss(() => getData(client, path))).toBe('after');

      await oldLeader.start();
      expect(await oldLeader.mode()).toBe('follower');
    }, timing.zkEnsembleTestMs);
  });

  describe('a 3-server ensemble behind quorum proxies', () => {
    let cluster: ZooKeeperCluster | undefined;
    afterAll(async () => {
      await cluster?.stop();
    });

    it('isolates its leader: the others elect a new one and keep serving, the old one stops serving, and it rejoins when healed', async () => {
      cluster = await startZooKeeper({ servers: 3, quorumProxies: true });
      const oldLeader = await cluster.leader();
      const others = cluster.servers.filter((server) => server !== oldLeader);
      const client = await connect(others.map((server) => `127.0.0.1:${server.clientPort}`).join(','));
      const path = `/isolated-${randomUUID()}`;
      await call(`create ${path}`, (done) => client.create(path, Buffer.from('before'), zookeeper.CreateMode.PERSISTENT, done));

      cluster.isolate(oldLeader.id);
      // Every JVM keeps running; the majority elects a leader of its own (the election's dial-backs cross the proxies too).
      await expect.poll(async () => (await Promise.all(others.map((server) => server.mode()))).sort(), { timeout: timing.zkElectionMs, interval: timing.pollMs })
        .toEqual(['follower', 'leader']);
      await expect.poll(() => oldLeader.mode(), { timeout: timing.zkElectionMs, interval: timing.pollMs }).toBe('down');
      await retryOnConnectionLoss(() => call(`setData ${path}`, (done) => client.setData(path, Buffer.from('during'), -1, done)));

      cluster.heal();
      await expect.poll(() => oldLeader.mode(), { timeout: timing.zkElectionMs, interval: timing.pollMs }).toBe('follower');
      const rejoined = await connect(`127.0.0.1:${oldLeader.clientPort}`);
      // A follower serves once it has synchronised with the leader: the write made without it is there.
      expect(await retryOnConnectionLoss(() => getData(rejoined, path))).toBe('during');
    }, timing.zkEnsembleTestMs);
  });
});

describe('radosgw harness', () => {
  it('provides the shared bucket', async () => {
    const config = s3Config();
    const s3 = new S3Client(s3ClientConfig(config));
    try {
      const head = await s3.send(new HeadBucketCommand({ Bucket: config.bucket }));
      expect(head.$metadata.httpStatusCode).toBe(200);
    } finally {
      s3.destroy();
    }
  });

  describe('an own radosgw', () => {
    let radosgw: RadosgwServer | undefined;
    let s3: S3Client | undefined;
    afterAll(async () => {
      s3?.destroy();
      await radosgw?.stop();
    });

    it('refuses a conditional overwrite with 412 and keeps objects across a gateway restart', async () => {
      radosgw = await startRadosgw();
      const bucket = 'harness';
      await radosgw.createBucket(bucket);
      s3 = new S3Client({ ...s3ClientConfig(radosgw), maxAttempts: 1 });
      const key = `objects/${randomUUID()}`;

      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'first', IfNoneMatch: '*' }));
      const overwrite = s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'second', IfNoneMatch: '*' }));
      const refusal = await overwrite.then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refusal).toBeInstanceOf(S3ServiceException);
      expect((refusal as S3ServiceException).$metadata.httpStatusCode).toBe(412);

      const gatewayPid = radosgw.gatewayPid;
      await radosgw.stopGateway();
      await expect(s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).rejects.toThrow();
      await radosgw.startGateway();
      expect(radosgw.gatewayPid).not.toBe(gatewayPid);

      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      expect(await object.Body?.transformToString()).toBe('first');
    });
  });
});
