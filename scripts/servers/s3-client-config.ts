import type { S3ClientConfig } from '@aws-sdk/client-s3';

/** Where an S3-compatible server is and how to sign for it. */
export interface S3Connection {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * The S3 client configuration that works against radosgw (and every other server tried, see
 * notes/s3.md): path-style addressing, static credentials, and checksums only when an operation
 * requires them. Send string or Buffer bodies, not streams.
 */
export function s3ClientConfig(connection: S3Connection): S3ClientConfig {
  // The pinned SDK supports Node 20; its notice about releases after January 2027 is not actionable here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return {
    endpoint: connection.endpoint,
    region: connection.region,
    forcePathStyle: true,
    credentials: { accessKeyId: connection.accessKeyId, secretAccessKey: connection.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}
