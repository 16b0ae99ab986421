import { afterAll, expect, it } from 'vitest';
import { S3StateStore } from '@highlander/runtime';
import { claim } from '../../../runtime/src/activation/fenced-writer.js';
import { s3Config } from '../../harness/servers.js';

/**
 * Activation reads the stored state while it acquires the lock, and the claim takes that read as
 * its first. Against radosgw: an earlier owner's write that lands between that read and the claim
 * is kept (the claim's conditional write fails on the stale ETag, and it reads again), never
 * overwritten with the stale state.
 */

const s3 = s3Config();
const store = new S3StateStore({
  bucket: s3.bucket, endpoint: s3.endpoint, region: s3.region,
  credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  prefix: `early-read-${process.pid}-${Date.now().toString(36)}/objects/`,
});

afterAll(() => store.close());

it('keeps a write of the earlier owner that lands between the early read and the claim', async () => {
  const target = { type: 'counter', id: 'e1' };
  const first = await store.write({ ...target, body: '{"value":1}', epoch: '100', version: 1, condition: { ifNoneMatch: '*' } });
  if (!first.ok) throw new Error('the first write was refused');
  const earlyRead = store.read(target.type, target.id);
  expect((await earlyRead)?.body).toBe('{"value":1}');
  // The earlier owner (epoch 100) writes once more before its lock is gone…
  const last = await store.write({ ...target, body: '{"value":2}', epoch: '100', version: 2, condition: { ifMatch: first.etag } });
  if (!last.ok) throw new Error('the earlier owner\'s last write was refused');
  // …and the new owner (epoch 200) claims with the read it made before.
  const claimed = await claim(store, target, '200', () => '{"value":0}', earlyRead);
  expect(claimed).toMatchObject({ body: '{"value":2}', version: 3, existed: true });
  expect(await store.read(target.type, target.id)).toMatchObject({ body: '{"value":2}', epoch: '200', version: 3 });
});

it('keeps an object the earlier owner created after an early read found nothing', async () => {
  const target = { type: 'counter', id: 'e2' };
  const earlyRead = store.read(target.type, target.id);
  expect(await earlyRead).toBeNull();
  const created = await store.write({ ...target, body: '{"value":5}', epoch: '100', version: 1, condition: { ifNoneMatch: '*' } });
  if (!created.ok) throw new Error('the create was refused');
  const claimed = await claim(store, target, '200', () => '{"value":0}', earlyRead);
  expect(claimed).toMatchObject({ body: '{"value":5}', version: 2, existed: true });
  expect(await store.read(target.type, target.id)).toMatchObject({ body: '{"value":5}', epoch: '200', version: 2 });
});
