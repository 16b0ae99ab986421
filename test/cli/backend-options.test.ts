import { describe, expect, it } from 'vitest';
import { ADMIN_OPTIONS, NODE_OPTIONS, S3_OPTIONS, ZOOKEEPER_OPTIONS, coordinatorOptions, s3StoreOptions } from '@highlander/cli';
import { parseOptions } from '@highlander/kit';
import { problems } from '../harness/option-checks.js';
import { node } from './option-env.js';

/**
 * What the node and the admin API processes share (cli/src/backend-options.ts): the ZooKeeper and S3
 * options, the static S3 keys that come in pairs, and the coordinator and store options built from them.
 */

describe('ZooKeeper and S3 options', () => {
  it('builds the coordinator and store options from the values', () => {
    const values = node(['--s3-endpoint', 'http://127.0.0.1:7480', '--s3-region', 'eu-west-1'], {
      HIGHLANDER_S3_ACCESS_KEY_ID: 'id', HIGHLANDER_S3_SECRET_ACCESS_KEY: 'secret', HIGHLANDER_ZK_SESSION_TIMEOUT_MS: '4000',
    });
    expect(coordinatorOptions(values)).toEqual({ connect: '127.0.0.1:2181', root: '/highlander', sessionTimeoutMs: 4000, requestTimeoutMs: 5000 });
    expect(s3StoreOptions(values)).toEqual({
      bucket: 'highlander', prefix: 'objects/', requestTimeoutMs: 10_000, endpoint: 'http://127.0.0.1:7480', region: 'eu-west-1',
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
    });
    // Without keys: no credentials, so the AWS SDK's chain applies.
    const parsed = parseOptions(S3_OPTIONS, [], { HIGHLANDER_S3_BUCKET: 'highlander' });
    expect(parsed.help === false && s3StoreOptions(parsed.values)).not.toHaveProperty('credentials');
  });

  it('wants both static S3 keys or neither', () => {
    expect(problems(() => node([], { HIGHLANDER_S3_ACCESS_KEY_ID: 'id' }))).toEqual([
      'give both --s3-access-key-id / HIGHLANDER_S3_ACCESS_KEY_ID and --s3-secret-access-key / HIGHLANDER_S3_SECRET_ACCESS_KEY, or neither (then the AWS credential chain applies)',
    ]);
  });

  it('are shared between nodes and the admin API', () => {
    for (const key of [...Object.keys(ZOOKEEPER_OPTIONS), ...Object.keys(S3_OPTIONS)]) {
      expect(NODE_OPTIONS).toHaveProperty(key);
      expect(ADMIN_OPTIONS).toHaveProperty(key);
    }
  });
});
