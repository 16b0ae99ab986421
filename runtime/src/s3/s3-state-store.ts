import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Agent as HttpsAgent } from 'node:https';
import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { StoreConditionsIgnored, StoreUnavailable, StoredStateCorrupt } from '../errors.js';
import { RequestObservers, type RequestObserver } from '../request-observer.js';
import type { ListPage, StateStore, StoredObject, WriteRequest, WriteResult } from '../state-store.js';

export interface S3StateStoreOptions {
  bucket: string;
  /**
   * Key prefix; objects live at `<prefix><type>/<id>.json`.
   * @default 'objects/'
   */
  prefix?: string;
  /** S3 endpoint URL, e.g. `http://127.0.0.1:7480`. @default the AWS SDK's chain (`AWS_ENDPOINT_URL_S3`, then AWS) */
  endpoint?: string;
  /** @default the AWS SDK's chain (`AWS_REGION`), else 'us-east-1' */
  region?: string;
  /** Static credentials. @default the AWS SDK's credential chain */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** @default true when `endpoint` is set (S3-compatible servers), else false */
  forcePathStyle?: boolean;
  /**
   * Give up on one S3 request after this long (then `StoreUnavailable`).
   * @default 10000
   */
  requestTimeoutMs?: number;
  /**
   * Sockets kept open to S3.
   * @default 256
   */
  maxSockets?: number;
}

/**
 * The longest key prefix: S3 keys are at most 1024 bytes, and a key is `<prefix><type>/<id>.json`
 * with a type of up to 64 bytes and an id of up to 200 (names.ts).
 */
export const MAX_S3_PREFIX_BYTES = 1024 - (64 + 1 + 200 + '.json'.length);

/** The defaults of {@link S3StateStoreOptions}. */
export const S3_DEFAULTS = {
  prefix: 'objects/',
  requestTimeoutMs: 10_000,
  maxSockets: 256,
} as const;

const META_EPOCH = 'highlander-epoch';
/** Where `selfTest` writes its probes: not a type name, so never listed as objects. */
const SELF_TEST_TYPE = '_self-test';
const TYPE_NAME = /^[a-z][a-z0-9-]*$/;
const META_VERSION = 'highlander-version';

/**
 * The state store on S3: `objects/<type>/<id>.json`, each write conditional
 * (If-None-Match `*` to create, If-Match the last ETag to replace), the owner's epoch and the
 * object's version in the object metadata.
 */
export class S3StateStore implements StateStore {
  readonly bucket: string;
  /** The server, for messages: the endpoint, or AWS S3. */
  readonly #endpoint: string;
  readonly prefix: string;
  readonly client: S3Client;
  /**
   * Writes go through a client without automatic retries: a retried conditional PUT whose first
   * attempt landed would fail its own condition. The runtime resolves failed writes by reading back.
   */
  readonly #writer: S3Client;
  readonly #observers = new RequestObservers();

  constructor(options: S3StateStoreOptions) {
    // The pinned SDK supports Node 20; its notice about releases after January 2027 is not actionable here.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    if (!options.bucket) throw new TypeError('S3StateStore: bucket is required');
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? S3_DEFAULTS.prefix;
    if (Buffer.byteLength(this.prefix) > MAX_S3_PREFIX_BYTES) {
      throw new TypeError(`S3StateStore: prefix is ${Buffer.byteLength(this.prefix)} bytes; at most ${MAX_S3_PREFIX_BYTES}, so that every key (<prefix><type>/<id>.json) stays within S3's 1024 bytes`);
    }
    const requestTimeout = options.requestTimeoutMs ?? S3_DEFAULTS.requestTimeoutMs;
    const maxSockets = options.maxSockets ?? S3_DEFAULTS.maxSockets;
    const config: S3ClientConfig = {
      region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
      forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
      // Checksums only where required: some S3-compatible servers store aws-chunked bodies raw.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        requestTimeout,
        connectionTimeout: Math.min(requestTimeout, 3_000),
        httpAgent: new Agent({ keepAlive: true, maxSockets }),
        httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
      },
    };
    if (options.endpoint) config.endpoint = options.endpoint;
    this.#endpoint = `${options.endpoint ?? 'AWS S3'} (bucket ${options.bucket})`;
    if (options.credentials) config.credentials = options.credentials;
    this.client = new S3Client(config);
    this.#writer = new S3Client({ ...config, maxAttempts: 1 });
  }

  keyOf(type: string, id: string): string {
    return `${this.prefix}${type}/${id}.json`;
  }

  /**
   * Checks, on a probe object of its own (`<prefix>_self-test/<uuid>.json`, deleted after), that the
   * server enforces what fencing rests on: of two racing writes with If-None-Match `*` exactly one
   * wins, and a write with If-Match a stale ETag fails. Throws `StoreConditionsIgnored` naming the
   * failed check (servers that silently ignore these conditions exist), `StoreUnavailable` when the
   * server cannot be asked.
   */
  async selfTest(): Promise<void> {
    const server = this.#endpoint;
    const probe = { type: SELF_TEST_TYPE, id: randomUUID(), epoch: '0' };
    try {
      // Not counted in the metrics: the conflicts it provokes are the point, not errors.
      const write = (request: WriteRequest) => this.#write(request, false);
      const [first, second] = await Promise.all([1, 2].map((n) => write({ ...probe, body: `{"probe":${n}}`, version: n, condition: { ifNoneMatch: '*' } })));
      const created = [first!, second!].filter((r) => r.ok);
      if (created.length !== 1) throw new StoreConditionsIgnored(server, `${created.length} of 2 racing writes with If-None-Match: * succeeded; exactly 1 must`);
      const stale = (created[0] as { etag: string }).etag;
      const overwrite = await write({ ...probe, body: '{"probe":3}', version: 3, condition: { ifMatch: stale } });
      if (!overwrite.ok) throw new StoreConditionsIgnored(server, 'a write with If-Match the current ETag failed');
      const late = await write({ ...probe, body: '{"probe":4}', version: 4, condition: { ifMatch: stale } });
      if (late.ok) throw new StoreConditionsIgnored(server, 'a write with If-Match a stale ETag succeeded');
    } finally {
      // Best effort: a probe left behind (no s3:DeleteObject) is a few bytes, and never listed.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(probe.type, probe.id) })).catch(() => undefined);
    }
  }

  /**
   * Tells `observer` about every S3 request (the node's metrics use it): `get`, `put` or `list`, its
   * duration, and how it failed (`conflict` for a failed condition). Returns the function that stops it.
   */
  observeRequests(observer: RequestObserver): () => void {
    return this.#observers.add(observer);
  }

  async read(type: string, id: string): Promise<StoredObject | null> {
    const key = this.keyOf(type, id);
    const started = performance.now();
    let response;
    try {
      response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      const missing = statusOf(err) === 404;
      this.#observe('get', started, missing ? undefined : err);
      if (missing) return null;
      throw new StoreUnavailable('read', key, err);
    }
    let body: string;
    try {
      body = (await response.Body?.transformToString('utf8')) ?? '';
    } catch (err) {
      this.#observe('get', started, err);
      throw new StoreUnavailable('read', key, err);
    }
    this.#observe('get', started);
    body = unwrap(body);
    try {
      JSON.parse(body);
    } catch (err) {
      throw new StoredStateCorrupt(key, `not JSON (${(err as Error).message})`);
    }
    const version = Number(response.Metadata?.[META_VERSION] ?? 0);
    return {
      body,
      etag: unquote(response.ETag ?? ''),
      epoch: response.Metadata?.[META_EPOCH] ?? '0',
      version: Number.isFinite(version) ? version : 0,
      ...(response.LastModified ? { lastModified: response.LastModified } : {}),
    };
  }

  write(request: WriteRequest): Promise<WriteResult> {
    return this.#write(request, true);
  }

  /** A conditional PUT; `observed`: told to the request observers (the self-test's expected 412s are not). */
  async #write(request: WriteRequest, observed: boolean): Promise<WriteResult> {
    const key = this.keyOf(request.type, request.id);
    const condition = 'ifMatch' in request.condition
      // Sent unquoted: radosgw refuses the quoted form, AWS accepts both.
      ? { IfMatch: request.condition.ifMatch }
      : { IfNoneMatch: '*' };
    const started = performance.now();
    try {
      const response = await this.#writer.send(new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: wrap(request),
        ContentType: 'application/json',
        Metadata: { [META_EPOCH]: request.epoch, [META_VERSION]: String(request.version) },
        ...condition,
      }));
      if (observed) this.#observe('put', started);
      return { ok: true, etag: unquote(response.ETag ?? '') };
    } catch (err) {
      if (observed) this.#observe('put', started, err);
      const status = statusOf(err);
      // 412: the condition failed. 409: AWS's answer to a concurrent conditional write on the same key.
      if (status === 412 || status === 409) return { ok: false, conflict: true };
      throw new StoreUnavailable('write', key, err, mayHaveReachedStore(err, status));
    }
  }

  async list(options: { type?: string; prefix?: string; cursor?: string; limit?: number }): Promise<ListPage> {
    const typePart = options.type ? `${options.type}/${options.prefix ?? ''}` : '';
    const prefix = `${this.prefix}${typePart}`;
    const started = performance.now();
    try {
      const response = await this.client.send(new ListObjectsV2Command({
        Bucket: this.bucket,
        Prefix: prefix,
        MaxKeys: Math.min(Math.max(options.limit ?? 100, 1), 1000),
        ...(options.cursor ? { ContinuationToken: options.cursor } : {}),
      }));
      this.#observe('list', started);
      const objects = (response.Contents ?? []).flatMap((item) => {
        const rest = item.Key?.slice(this.prefix.length) ?? '';
        const slash = rest.indexOf('/');
        // Not an object's state: a stray key, or a self-test probe.
        if (slash < 0 || !rest.endsWith('.json') || !TYPE_NAME.test(rest.slice(0, slash))) return [];
        return [{
          type: rest.slice(0, slash),
          id: rest.slice(slash + 1, -'.json'.length),
          key: item.Key ?? '',
          size: item.Size ?? 0,
          etag: unquote(item.ETag ?? ''),
          lastModified: item.LastModified,
        }];
      });
      return response.IsTruncated && response.NextContinuationToken ? { objects, cursor: response.NextContinuationToken } : { objects };
    } catch (err) {
      this.#observe('list', started, err);
      throw new StoreUnavailable('list', prefix, err);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
    this.#writer.destroy();
  }

  #observe(operation: 'get' | 'put' | 'list', started: number, err?: unknown): void {
    if (!this.#observers.active) return;
    this.#observers.notify({ operation, durationMs: performance.now() - started, ...(err === undefined ? {} : { error: requestErrorKind(err) }) });
  }
}

/** How an S3 request failed, in the few words of `RequestSample.error`. */
function requestErrorKind(err: unknown): string {
  const status = statusOf(err);
  if (status === 412 || status === 409) return 'conflict';
  if (status !== undefined) return status >= 500 ? 'server' : 'client';
  const { name, code } = (err ?? {}) as { name?: string; code?: string };
  if (name === 'TimeoutError' || code === 'ETIMEDOUT' || name === 'AbortError') return 'timeout';
  return 'network';
}

/** Errors that prove the request never reached S3: nothing was applied. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Whether a failed write may still have been applied (then the runtime reads the object back). */
function mayHaveReachedStore(err: unknown, status: number | undefined): boolean {
  if (status !== undefined) return status >= 500; // a 4xx is a refusal; a 5xx may follow a partial success
  const code = (err as { code?: string; cause?: { code?: string } })?.code ?? (err as { cause?: { code?: string } })?.cause?.code;
  return !(code !== undefined && NOT_SENT.has(code));
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

/**
 * The stored document: the state inside an envelope naming the writer's epoch and the version.
 * S3's ETag is the MD5 of the bytes, so without it a claim that rewrites an unchanged state would
 * keep the tag, and an older owner's If-Match on that tag would still succeed: the envelope makes
 * every write's bytes, and so its tag, unique. The state's own text is kept byte for byte.
 */
function wrap(request: WriteRequest): string {
  return `${ENVELOPE_START}${JSON.stringify(request.epoch)},"version":${request.version}},"state":${request.body}}`;
}

const ENVELOPE_START = '{"highlander":{"epoch":';
const ENVELOPE_HEAD = /^\{"highlander":\{"epoch":"\d+","version":\d+\},"state":/;

/** The state's text from a stored document (documents written before the envelope are the state itself). */
function unwrap(stored: string): string {
  if (!stored.startsWith(ENVELOPE_START)) return stored;
  const head = ENVELOPE_HEAD.exec(stored);
  if (!head || !stored.endsWith('}')) return stored;
  return stored.slice(head[0].length, -1);
}

function unquote(etag: string): string {
  return etag.startsWith('"') && etag.endsWith('"') ? etag.slice(1, -1) : etag;
}
