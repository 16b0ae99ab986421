import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import zookeeper from 'node-zookeeper-client';
import type { ACL as AclEntry, Client, Event, Stat } from 'node-zookeeper-client';
import { CoordinatorUnavailable } from '../errors.js';
import type { RequestObserver } from '../request-observer.js';
import { KEYSPACE_WRITER_AUTH } from './keyspace.js';

/**
 * A ZooKeeper session with what node-zookeeper-client leaves out (notes/zookeeper.md):
 * promises, a timeout on every request, the monotonic time ZooKeeper last answered, and a new
 * client after `expired` (the old one is dead forever).
 *
 * Events: `connected`, `disconnected`, `expired` (the session and every ephemeral znode of it are
 * gone; a new session is being opened), `renewed` (the new session is connected).
 */

export interface ZkSessionOptions {
  /** Comma-separated `host:port` list, optionally with a chroot: `127.0.0.1:2181/highlander`. */
  connect: string;
  /**
   * ZooKeeper session timeout (clamped by the server to 2–20 × tickTime).
   * @default 10000
   */
  sessionTimeoutMs?: number;
  /**
   * Give up on one request after this long.
   * @default 5000
   */
  requestTimeoutMs?: number;
  /** Told about every request: operation, duration, and ZooKeeper's error code (or `TIMEOUT`) when it failed. */
  observe?: RequestObserver;
}

export const { CreateMode, Exception, ACL } = zookeeper;

/** ZooKeeper server error codes newer than node-zookeeper-client 1.1's table (ZooKeeper's `KeeperException.Code`). */
const NEWER_CODES: Record<number, string> = {
  [-12]: 'UNKNOWN_SESSION',
  [-13]: 'NEW_CONFIG_NO_QUORUM',
  [-14]: 'RECONFIG_IN_PROGRESS',
  [-118]: 'SESSION_MOVED',
  [-119]: 'NOT_READONLY',
  [-120]: 'EPHEMERAL_ON_LOCAL_SESSION',
  [-121]: 'NO_WATCHER',
  [-122]: 'REQUEST_TIMEOUT',
  [-123]: 'RECONFIG_DISABLED',
  [-124]: 'SESSION_CLOSED_REQUIRE_SASL_AUTH',
  [-125]: 'QUOTA_EXCEEDED',
  [-127]: 'THROTTLED_OP',
};

type ExceptionFactory = (code: number, path?: string) => Error & { code: number; name: string; getCode(): number };

/**
 * node-zookeeper-client throws from its socket data handler when a server answers a request with an error code
 * missing from its table (ZooKeeper 3.8 answers UNKNOWN_SESSION, -12, to a request racing a forced session
 * expiry): an uncaught exception that ends the process (alexguan/node-zookeeper-client#70). Wrapped once per
 * process: such a code fails that one request with an error carrying the server's code.
 */
export function guardUnknownZooKeeperCodes(): void {
  const table = Exception as unknown as { create: ExceptionFactory & { guarded?: true } };
  if (table.create.guarded) return;
  const create = table.create;
  const guarded = ((code: number, path?: string) => {
    try {
      return create(code, path);
    } catch {
      const error = create(Exception.SYSTEM_ERROR, path);
      error.code = code;
      error.name = NEWER_CODES[code] ?? `CODE_${code}`;
      error.message = `Exception: ${error.name}[${code}]${path ? `@${path}` : ''}`;
      return error;
    }
  }) as ExceptionFactory & { guarded?: true };
  guarded.guarded = true;
  table.create = guarded;
}
guardUnknownZooKeeperCodes();

/**
 * Whether a ZooKeeper error answer shows the session alive when the server handled the request: answers in the
 * API range (`NO_NODE`, `NODE_EXISTS`, `BAD_VERSION`…) do, except those that say the session is not (or no
 * longer) the server's; system errors (`CONNECTION_LOSS`, `UNKNOWN_SESSION`…) do not.
 */
function answerProvesSession(code: number): boolean {
  return code <= Exception.API_ERROR && code !== Exception.SESSION_EXPIRED && code !== -118 && code !== -124;
}
// The types omit the ACL constants; the library exports them.
const OPEN = (zookeeper.ACL as unknown as { OPEN_ACL_UNSAFE: InstanceType<typeof zookeeper.ACL>[] }).OPEN_ACL_UNSAFE;

/** A ZooKeeper error code, or `TIMEOUT` when no answer came in time. */
export class ZkError extends Error {
  constructor(readonly code: number | 'TIMEOUT', message: string, readonly path: string) {
    super(message);
    this.name = 'ZkError';
  }
  get isConnectionLoss(): boolean {
    return this.code === 'TIMEOUT' || this.code === Exception.CONNECTION_LOSS || this.code === Exception.SESSION_EXPIRED;
  }
}

export function isZkCode(err: unknown, code: number): boolean {
  return err instanceof ZkError && err.code === code;
}

type Callback<T> = (error: Error | { getCode(): number } | null, result: T) => void;

export class ZkSession extends EventEmitter {
  readonly connect: string;
  readonly sessionTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly #observe: RequestObserver | undefined;
  /** The keyspace writer's identity (keyspace.ts): what lets this version create types and buckets. */
  readonly #credentials = [{ scheme: 'digest', auth: Buffer.from(KEYSPACE_WRITER_AUTH) }];
  #client: Client;
  #closed = false;
  #connected = false;
  #lastContactMs = performance.now();
  #heartbeat: NodeJS.Timeout | undefined;
  /** The socket of a session handshake under way, and when it was first seen open (see #checkHandshake). */
  #handshake: { socket: object; since: number } | undefined;
  /** Handshakes cut for taking longer than the Java client's connect timeout. */
  #handshakesCut = 0;

  private constructor(options: ZkSessionOptions) {
    super();
    this.connect = options.connect;
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? 10_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5_000;
    const observe = options.observe;
    this.#observe = observe && ((sample) => {
      try {
        observe(sample);
      } catch {
        // An observer (metrics) must not change the outcome of a request.
      }
    });
    this.#client = this.#newClient();
  }

  /** Opens a session and waits until it is connected (or `requestTimeoutMs` passed). */
  static async open(options: ZkSessionOptions): Promise<ZkSession> {
    const session = new ZkSession(options);
    try {
      await session.waitConnected(Math.max(session.requestTimeoutMs, session.sessionTimeoutMs));
    } catch (err) {
      session.close();
      throw err;
    }
    // Often enough that one late heartbeat on a busy event loop does not let the read lease lapse.
    session.#heartbeat = setInterval(() => session.#beat(), Math.max(100, Math.floor(session.negotiatedTimeoutMs / 6)));
    session.#heartbeat.unref();
    return session;
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Hex id of the current session (changes after an expiry). */
  get sessionId(): string {
    return this.#client.getSessionId().toString('hex');
  }

  /** The raw session credentials, for tests that force an expiry with a second client. */
  get credentials(): { sessionId: Buffer; sessionPassword: Buffer } {
    return { sessionId: this.#client.getSessionId(), sessionPassword: this.#client.getSessionPassword() };
  }

  /** Monotonic time (performance.now()) at which ZooKeeper last answered this process. */
  get lastContactMs(): number {
    return this.#lastContactMs;
  }

  waitConnected(timeoutMs: number): Promise<void> {
    if (this.#connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('connected', onConnected);
        reject(new CoordinatorUnavailable(`connect to ${this.connect}`, new Error(`no connection within ${timeoutMs} ms`)));
      }, timeoutMs);
      const onConnected = () => {
        clearTimeout(timer);
        resolve();
      };
      this.once('connected', onConnected);
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#client.removeAllListeners();
    this.#client.close();
    this.#connected = false;
  }

  // ---- requests ----

  /** Creates a znode, open to everyone unless `acl` says otherwise. */
  create(path: string, data: Buffer | undefined, mode: number, acl: AclEntry[] = OPEN): Promise<string> {
    return this.#request<string>('create', path, (cb) => this.#client.create(path, data ?? Buffer.alloc(0), acl, mode, cb));
  }

  /** Replaces a znode's ACL (any version). */
  setACL(path: string, acl: AclEntry[]): Promise<void> {
    return this.#request<void>('setACL', path, (cb) => this.#client.setACL(path, acl, -1, (error) => cb(error, undefined)));
  }

  getACL(path: string): Promise<AclEntry[]> {
    return this.#request<AclEntry[]>('getACL', path, (cb) => this.#client.getACL(path, (error, acls) => cb(error, acls)));
  }

  remove(path: string, version = -1): Promise<void> {
    return this.#request<void>('delete', path, (cb) => this.#client.remove(path, version, (error) => cb(error, undefined)));
  }

  exists(path: string, watcher?: (event: Event) => void): Promise<Stat | null> {
    return this.#request<Stat | null>('exists', path, (cb) => watcher ? this.#client.exists(path, watcher, cb) : this.#client.exists(path, cb));
  }

  getChildren(path: string, watcher?: (event: Event) => void): Promise<string[]> {
    return this.#request<string[]>('getChildren', path, (cb) => watcher ? this.#client.getChildren(path, watcher, cb) : this.#client.getChildren(path, cb));
  }

  /** The children and the parent's stat, in one request. */
  getChildrenAndStat(path: string): Promise<{ children: string[]; stat: Stat }> {
    return this.#request('getChildren', path, (cb: Callback<{ children: string[]; stat: Stat }>) => {
      this.#client.getChildren(path, (error, children, stat) => cb(error, { children, stat }));
    });
  }

  getData(path: string, watcher?: (event: Event) => void): Promise<{ data: Buffer | undefined; stat: Stat }> {
    return this.#request('getData', path, (cb: Callback<{ data: Buffer | undefined; stat: Stat }>) => {
      const done = (error: Error | { getCode(): number } | null, data: Buffer, stat: Stat) => cb(error, { data, stat });
      if (watcher) this.#client.getData(path, watcher, done);
      else this.#client.getData(path, done);
    });
  }

  setData(path: string, data: Buffer, version = -1): Promise<Stat> {
    return this.#request<Stat>('setData', path, (cb) => this.#client.setData(path, data, version, cb));
  }

  /** Creates persistent znodes for every missing level of `path` (never ephemeral: see notes/zookeeper.md). */
  mkdirp(path: string): Promise<void> {
    return this.#request<void>('mkdirp', path, (cb) => this.#client.mkdirp(path, cb as Callback<unknown>));
  }

  /**
   * Runs a multi-op atomically. `ops` receive the transaction builder. Note: the client turns
   * version 0 into "any version", so never rely on a check of version 0 here.
   */
  multi(path: string, build: (tx: ReturnType<Client['transaction']>) => void): Promise<Array<{ path?: string }>> {
    return this.#request('multi', path, (cb: Callback<Array<{ path?: string }>>) => {
      const tx = this.#client.transaction();
      build(tx);
      tx.commit(cb);
    });
  }

  /** The session timeout the server granted (it clamps the requested one to 2–20 × tickTime). */
  get negotiatedTimeoutMs(): number {
    return this.#client.getSessionTimeout() || this.sessionTimeoutMs;
  }

  /**
   * Resolves once `path` is deleted (or is already absent), or after `timeoutMs` at the latest, so
   * the caller looks again; rejects if ZooKeeper cannot be asked. One exists-watch, one-shot.
   */
  waitForDeletion(path: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.exists(path, done).then((stat) => {
        if (!stat) done();
      }, (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  #request<T>(operation: string, path: string, start: (cb: Callback<T>) => void): Promise<T> {
    if (this.#closed) return Promise.reject(new ZkError(Exception.CONNECTION_LOSS, `${operation} ${path}: session closed`, path));
    // An answer proves the session was alive when the request was *sent* (the server resets the
    // session's timer on every packet), so contact is dated from the send time, not the answer's.
    const sentAt = performance.now();
    const contact = () => {
      if (sentAt > this.#lastContactMs) this.#lastContactMs = sentAt;
    };
    const observe = this.#observe;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        observe?.({ operation, durationMs: performance.now() - sentAt, error: 'TIMEOUT' });
        reject(new ZkError('TIMEOUT', `${operation} ${path}: no answer from ZooKeeper within ${this.requestTimeoutMs} ms`, path));
      }, this.requestTimeoutMs);
      start((error, result) => {
        if (settled) return; // answered after we gave up: the caller already treats it as connection loss
        settled = true;
        clearTimeout(timer);
        if (error) {
          const code = typeof (error as { getCode?: () => number }).getCode === 'function' ? (error as { getCode(): number }).getCode() : Exception.SYSTEM_ERROR;
          observe?.({ operation, durationMs: performance.now() - sentAt, error: zkCodeName(code) });
          // Any answer from a server, even an error, proves the session was alive just now.
          if (answerProvesSession(code)) contact();
          reject(new ZkError(code, `${operation} ${path}: ${(error as Error).message ?? String(error)}`, path));
          return;
        }
        observe?.({ operation, durationMs: performance.now() - sentAt });
        contact();
        // exists() reports a missing node as an undefined stat; the types say Stat.
        resolve((result ?? null) as T);
      });
    });
  }

  // ---- lifecycle of the underlying client ----

  #newClient(): Client {
    const client = zookeeper.createClient(this.connect, {
      sessionTimeout: this.sessionTimeoutMs,
      spinDelay: 100,
      // A retried create could leave a duplicate lock znode: retries stay off, losses are recovered by name.
      retries: 0,
    });
    // Sent again by the client on every reconnect; a renewed session gets it here.
    for (const credential of this.#credentials) client.addAuthInfo(credential.scheme, credential.auth);
    client.on('connected', () => {
      this.#connected = true;
      // The server just accepted this session: it was alive a round trip ago at most (loopback to LAN
      // round trips are far inside the read lease's margin).
      this.#lastContactMs = performance.now();
      this.emit('connected');
    });
    client.on('disconnected', () => {
      this.#connected = false;
      this.emit('disconnected');
    });
    client.on('expired', () => this.#onExpired(client));
    client.connect();
    return client;
  }

  #onExpired(client: Client): void {
    if (this.#closed || client !== this.#client) return;
    this.#connected = false;
    client.removeAllListeners();
    client.close();
    this.#client = this.#newClient();
    this.once('connected', () => this.emit('renewed'));
    this.emit('expired');
  }

  /** Handshakes cut because the server accepted the connection and did not answer (see #checkHandshake). */
  get handshakesCut(): number {
    return this.#handshakesCut;
  }

  /**
   * node-zookeeper-client bounds the TCP connect with a timeout, but not the session handshake after
   * it: a server that accepts the connection and never answers leaves the client waiting for good.
   * Seen here when a ZooKeeper server restarts: a connection made while it starts up can stay
   * unanswered (the test of a shard's outage found nodes that never came back). The Java client
   * bounds connect and handshake together by sessionTimeout / servers; here a handshake open longer
   * than a third of that (at least a second: one on loopback or a LAN takes milliseconds) is cut,
   * early enough that the session can still be resumed; the client then connects again. Reaches into the client's connection manager (node-zookeeper-client 1.1.3, pinned).
   */
  #checkHandshake(): void {
    const socket = (this.#client as unknown as { connectionManager?: { socket?: { destroyed: boolean; connecting: boolean; destroy(): void } } })
      .connectionManager?.socket;
    if (this.#connected || !socket || socket.destroyed || socket.connecting) {
      this.#handshake = undefined;
      return;
    }
    const now = performance.now();
    if (this.#handshake?.socket !== socket) {
      this.#handshake = { socket, since: now };
      return;
    }
    const servers = this.connect.split('/')[0]!.split(',').length;
    if (now - this.#handshake.since > Math.max(1000, this.sessionTimeoutMs / (3 * servers))) {
      this.#handshake = undefined;
      this.#handshakesCut++;
      socket.destroy();
    }
  }

  /** Keeps `lastContactMs` fresh while idle; the request itself is the proof of contact. While disconnected, watches the handshake. */
  #beat(): void {
    if (!this.#connected) {
      this.#checkHandshake();
      return;
    }
    this.exists('/').catch(() => {
      // A failed heartbeat only means lastContactMs does not advance; the client reconnects by itself.
    });
  }
}

/** ZooKeeper's error codes by number (`-101` → `NO_NODE`), from the client library's own table. */
const CODE_NAMES = new Map<number, string>([
  ...Object.entries(NEWER_CODES).map(([code, name]) => [Number(code), name] as [number, string]),
  ...Object.entries(Exception).flatMap(([name, value]) => (typeof value === 'number' ? [[value, name] as [number, string]] : [])),
]);

/** The name of a ZooKeeper error code (`NO_NODE`), or `CODE_<n>` for one the client library does not know. */
export function zkCodeName(code: number): string {
  return CODE_NAMES.get(code) ?? `CODE_${code}`;
}

/** The czxid of a znode as a decimal string: the owner's epoch. */
export function czxidOf(stat: Stat): string {
  return Buffer.from(stat.czxid).readBigInt64BE(0).toString();
}
