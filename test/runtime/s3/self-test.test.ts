import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedRegistry, HighlanderNode, S3StateStore, StoreConditionsIgnored } from '@highlander/runtime';
import { s3Config } from '../../harness/servers.js';
import { objects } from '../../harness/test-objects.js';

/**
 * The S3 store's self-test, which a node runs before it joins: on radosgw (which enforces
 * conditional writes) it passes and leaves nothing behind; on a server that ignores If-None-Match
 * and If-Match — a small HTTP server here that stores whatever it is sent, as some S3 look-alikes
 * do — it fails naming the check, and a node refuses to start on it unless told to skip the test.
 */

let fake: Server;
let fakeEndpoint: string;

beforeAll(async () => {
  const objects = new Map<string, Buffer>();
  fake = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const key = (req.url ?? '').split('?')[0]!;
      if (req.method === 'PUT') {
        const body = Buffer.concat(chunks);
        objects.set(key, body);
        res.writeHead(200, { etag: `"${createHash('md5').update(body).digest('hex')}"` }).end();
      } else if (req.method === 'GET' && objects.has(key)) {
        const body = objects.get(key)!;
        res.writeHead(200, { etag: `"${createHash('md5').update(body).digest('hex')}"`, 'content-length': body.length }).end(body);
      } else if (req.method === 'DELETE') {
        objects.delete(key);
        res.writeHead(204).end();
      } else {
        res.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code></Error>');
      }
    });
  });
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
  fakeEndpoint = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => fake.close(resolve));
});

function radosgwStore(prefix: string): S3StateStore {
  const s3 = s3Config();
  return new S3StateStore({ bucket: s3.bucket, prefix, endpoint: s3.endpoint, region: s3.region, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
}

function fakeStore(): S3StateStore {
  return new S3StateStore({ bucket: 'lax', endpoint: fakeEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'k', secretAccessKey: 's' } });
}

describe('the S3 store self-test', () => {
  it('passes on radosgw and leaves no probe behind', async () => {
    const prefix = `self-test-${process.pid}-${Date.now()}/`;
    const store = radosgwStore(prefix);
    try {
      await store.selfTest();
      const listed = await store.client.send(new ListObjectsV2Command({ Bucket: s3Config().bucket, Prefix: prefix }));
      expect(listed.Contents ?? []).toEqual([]);
      expect((await store.list({})).objects).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('fails on a server that ignores conditional writes, naming the server and the check', async () => {
    const store = fakeStore();
    try {
      const failed = await store.selfTest().then(() => null, (err: unknown) => err);
      expect(failed).toBeInstanceOf(StoreConditionsIgnored);
      expect((failed as StoreConditionsIgnored).message).toContain(fakeEndpoint);
      expect((failed as StoreConditionsIgnored).check).toBe('2 of 2 racing writes with If-None-Match: * succeeded; exactly 1 must');
    } finally {
      await store.close();
    }
  });

  it('keeps a node from starting on such a server, unless it is told (unsafely) to skip the test', async () => {
    const registry = new EmbeddedRegistry();
    const store = fakeStore();
    try {
      const refused = HighlanderNode.create({ name: 'careful', coordinator: registry.coordinator(), store, objects });
      await expect(refused.start()).rejects.toBeInstanceOf(StoreConditionsIgnored);
      expect(refused.status).toBe('stopped');
      expect(registry.members()).toEqual([]);
      const reckless = HighlanderNode.create({ name: 'reckless', coordinator: registry.coordinator(), store, objects, unsafeSkipStoreSelfTest: true });
      await reckless.start();
      expect(reckless.status).toBe('running');
      await reckless.stop();
    } finally {
      await store.close();
    }
  });
});
