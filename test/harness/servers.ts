/**
 * The servers started by test/harness/global-setup.ts, as tests see them. Read them here and
 * nowhere else, so that where they come from can change in one place.
 *
 * @example
 * const client = createClient(zookeeperConnect());
 * const s3 = new S3Client(s3ClientConfig(s3Config()));
 */
import { inject, type ProvidedContext } from 'vitest';
import type {} from './global-setup.js'; // the ProvidedContext declarations

/** Connect string of the shared standalone ZooKeeper, e.g. `127.0.0.1:40123`. */
export function zookeeperConnect(): string {
  return inject('zookeeper');
}

/** Endpoint, region, credentials and bucket of the shared radosgw. */
export function s3Config(): ProvidedContext['s3'] {
  return inject('s3');
}
